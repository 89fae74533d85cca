#!/usr/bin/env python3
"""What SQLite's synchronous=FULL costs against NORMAL on this machine's disk, in WAL
mode as telemed runs it: single-row write transactions, alternating runs, each in a
fresh database file in the folder given (default: a temporary folder on /work)."""

import os
import sqlite3
import sys
import tempfile
import time

folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(dir="/work" if os.path.isdir("/work") else None)
commits = 2000
for mode in ["NORMAL", "FULL", "NORMAL", "FULL"]:
    path = os.path.join(folder, "sync-cost.db")
    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={mode}")
    db.execute("CREATE TABLE t (x TEXT)")
    started = time.perf_counter()
    for _ in range(commits):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", ("x" * 200,))
        db.execute("COMMIT")
    took = time.perf_counter() - started
    print(f"{mode:6} {commits / took:8.0f} commits/s {took / commits * 1e6:7.0f} us/commit")
    db.close()
