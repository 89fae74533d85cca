//! PostgreSQL tests of the `telemed` command run when TELEMED_TEST_DATABASE_URL is set
//! (otherwise they are listed as ignored, with the reason).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(telemed_pg)");
    println!("cargo::rerun-if-env-changed=TELEMED_TEST_DATABASE_URL");
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=telemed_pg");
    }
}
