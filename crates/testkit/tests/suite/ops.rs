//! Operations endpoints, the error format, security headers, the OpenAPI document.

use telemed_testkit::{Backend, TestApp};

async fn health_readiness_and_metrics(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let metrics = c
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "telemed_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("telemed_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    app.shutdown().await;
}

/// With the database gone, readiness says so, and requests that need it are answered
/// 503 with Retry-After on every surface (FHIR: an OperationOutcome `transient`), not a
/// 500 that looks like a bug.
async fn readiness_fails_when_the_database_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(telemed_domain::Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    app.state().store.close().await;
    let r = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let r = app
        .client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "the API");
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    let r = app
        .client()
        .get(app.url("/fhir/R4/Patient?name=x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "FHIR");
    assert!(r.headers().contains_key("retry-after"));
    let outcome: serde_json::Value = r.json().await.unwrap();
    assert_eq!(outcome["issue"][0]["code"], "transient", "{outcome}");
    assert_eq!(
        app.client()
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn errors_have_one_format_with_a_request_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client();
    let r = c.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let rid = r
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["request_id"], rid);
    // The UI gets a page, in the browser's language.
    let r = c
        .get(app.url("/no-such-page"))
        .header("accept", "text/html")
        .header("accept-language", "es")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("No encontramos esa página"), "{html}");
    // Wrong method.
    let r = c.delete(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    app.shutdown().await;
}

async fn security_headers_are_on_every_response(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/login", "/healthz", "/api/v1/me"] {
        let r = app.client().get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
        assert_eq!(h.get("cache-control").unwrap(), "no-store");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
    // Pages carry no inline script.
    let html = app
        .client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("onclick="),
        "inline script in the login page"
    );
    app.shutdown().await;
}

async fn openapi_document_describes_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: serde_json::Value = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/users/{id}",
        "/api/v1/patients/{id}",
        "/api/v1/audit",
        "/healthz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    app.shutdown().await;
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.max_body_bytes = 4096).await;
    let r = app
        .client()
        .post(app.url("/api/v1/tokens"))
        .header("content-type", "application/json")
        .body("x".repeat(10_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");
    app.shutdown().await;
}

/// Each FHIR route reads at most what it needs: one resource elsewhere, a bundle at the
/// base; a body within its bytes but holding more JSON values than a resource does is
/// refused before its tree is built, naming the limit; nothing is stored.
async fn fhir_bodies_are_bounded_per_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(telemed_domain::Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let http = reqwest::Client::new();
    let entries = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap()
    };
    let before = entries().await;
    let post = |path: &str, body: String| {
        http.post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/fhir+json")
            .body(body)
            .send()
    };
    let observation = |padding: &str| {
        format!(
            r#"{{"resourceType":"Patient","name":[{{"family":"Bounds","given":["Ada"]}}]{padding}}}"#
        )
    };
    // 1.5 MiB: more than a resource may be, less than a bundle.
    let spaces = " ".repeat(1536 * 1024);
    let declared = refused_from_the_header(&app, "/fhir/R4/Patient", &token, spaces.len()).await;
    assert_eq!(
        declared, 413,
        "a resource past max_resource_bytes, refused unread"
    );
    let r = post(
        "/fhir/R4",
        format!(r#"{{"resourceType":"Bundle","type":"batch","entry":[]{spaces}}}"#),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "the same size is a bundle's to take");
    let declared = refused_from_the_header(&app, "/fhir/R4", &token, 9 * 1024 * 1024).await;
    assert_eq!(
        declared, 413,
        "a bundle past max_bundle_bytes, refused unread"
    );
    // 400,000 numbers in under 1 MiB: a tree of many megabytes, refused unbuilt.
    let zeros = vec!["0"; 400_000].join(",");
    let r = post(
        "/fhir/R4/Patient",
        observation(&format!(r#","note":[{zeros}]"#)),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let outcome: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        outcome["issue"][0]["details"]["text"], "the body holds more than 100000 JSON values",
        "{outcome}"
    );
    let deep = format!(r#","x":{}1{}"#, "[".repeat(200), "]".repeat(200));
    let r = post("/fhir/R4/Patient", observation(&deep)).await.unwrap();
    assert_eq!(r.status(), 400, "nesting past the limit");
    assert_eq!(entries().await, before, "nothing stored");
    // What a resource may hold is still taken.
    let r = post("/fhir/R4/Patient", observation("")).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    app.shutdown().await;
}

/// The status a request declaring a `length`-byte body gets before sending any of it.
async fn refused_from_the_header(app: &TestApp, path: &str, token: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.url("").trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {token}\r\ncontent-type: application/fhir+json\r\ncontent-length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("answered before the body was sent")
        .unwrap();
    let status = String::from_utf8_lossy(&answer[..n]);
    status
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status:?}"))
}

/// SQLite syncs its log at every commit (synchronous=FULL): an acknowledged write
/// survives a power cut, not only a crash of the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_are_synced() {
    let db = telemed_testkit::TestDb::create(Backend::Sqlite)
        .await
        .unwrap();
    let store = telemed_store::Store::connect(&db.url, 2).await.unwrap();
    let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(level, 2, "FULL");
    store.close().await;
}

/// SQLite's write-ahead log is copied back into the database file by a background task
/// (commits never do it themselves): the file takes in what was written without any
/// further write, and the log does not grow without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_is_checkpointed_in_the_background() {
    let db = telemed_testkit::TestDb::create(Backend::Sqlite)
        .await
        .unwrap();
    let store = telemed_store::Store::connect(&db.url, 4).await.unwrap();
    store.migrate().await.unwrap();
    let file = db.files_dir.join("telemed.db");
    sqlx::query("CREATE TABLE filler (x TEXT NOT NULL)")
        .execute(store.pool())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let before = std::fs::metadata(&file).unwrap().len();
    let mut tx = store.begin_write().await.unwrap();
    for _ in 0..2_000 {
        sqlx::query("INSERT INTO filler (x) VALUES ($1)")
            .bind("x".repeat(2_000))
            .execute(&mut **tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let written = 2_000 * 2_000;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = std::fs::metadata(&file).unwrap().len();
        if now >= before + written {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {now} bytes (was {before}): nothing copied it back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    store.close().await;
}

/// A NUL character (U+0000), which PostgreSQL cannot store in text and SQLite would
/// keep unseen, is refused with the same 400 on both databases, wherever it comes: a
/// JSON body, a form, a search's address, a FHIR resource; nothing is stored.
async fn nul_characters_are_refused_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(telemed_domain::Role::Patient).await;
    let token = app.token_for(&patient, None).await;
    let http = reqwest::Client::new();
    let tokens = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(app.state().store.pool())
            .await
            .unwrap()
    };
    let before = tokens().await;
    let r = http
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name": "laptop\u0000", "scopes": ["profile"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NUL"),
        "{body}"
    );
    assert_eq!(tokens().await, before, "nothing stored");
    let r = http
        .get(app.url("/fhir/R4/Patient?name=ana%00"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a search's address");
    let r = http
        .post(app.url("/fhir/R4/AllergyIntolerance"))
        .bearer_auth(&token)
        .header("content-type", "application/fhir+json")
        .body(format!(
            r#"{{"resourceType": "AllergyIntolerance", "patient": {{"reference": "Patient/{}"}}, "code": {{"text": "Latex\u0000"}}}}"#,
            patient.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a FHIR resource");
    let r = app
        .web()
        .post(
            "/login",
            &[("email", "a\0b@clinic.example"), ("password", "x")],
        )
        .await;
    assert_eq!(r.status(), 400, "a form");
    app.shutdown().await;
}

/// `/metrics` answers this machine connecting directly, or the bearer of the metrics
/// token when one is set; a request forwarded by a proxy, or without the token, is
/// refused.
async fn metrics_are_for_this_machine_or_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::new();
    let status = |r: reqwest::Response| r.status().as_u16();
    let direct = http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(status(direct), 200, "this machine, directly");
    let proxied = http
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(status(proxied), 403, "through a proxy");
    app.shutdown().await;

    let token = "metrics-scraper-token-0123456789";
    let app = TestApp::spawn_with(backend, |c| c.metrics_token = Some(token.into())).await;
    let none = http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        status(none),
        403,
        "a token is set: this machine needs it too"
    );
    let wrong = http
        .get(app.url("/metrics"))
        .bearer_auth("metrics-scraper-token-0123456780")
        .send()
        .await
        .unwrap();
    assert_eq!(status(wrong), 403);
    let right = http
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(status(right), 200);
    app.shutdown().await;
}

on_both_databases!(
    metrics_are_for_this_machine_or_the_token,
    nul_characters_are_refused_alike,
    health_readiness_and_metrics,
    readiness_fails_when_the_database_is_gone,
    errors_have_one_format_with_a_request_id,
    security_headers_are_on_every_response,
    openapi_document_describes_the_api,
    oversized_bodies_are_refused,
    fhir_bodies_are_bounded_per_route,
);

/// PostgreSQL out of reach (the network path to it cut: connections in the pool end,
/// new ones are refused): requests are answered 503 with Retry-After within the pool's
/// wait, nothing is a 500; when the path is back, telemed recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_pg),
    ignore = "PostgreSQL not configured: set TELEMED_TEST_DATABASE_URL to run"
)]
async fn a_postgres_outage_is_503_and_recovers_by_itself() {
    use telemed_testkit::cut::{target_of, CuttablePath};
    let server = std::env::var("TELEMED_TEST_DATABASE_URL").unwrap();
    let path = CuttablePath::start(target_of(&server)).await.unwrap();
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database_url = path.url_through(&c.database_url);
    })
    .await;
    let clinician = app.create_user(telemed_domain::Role::Clinician).await;
    let token = app.token_for(&clinician, None).await;
    let http = reqwest::Client::new();
    let me = || http.get(app.url("/api/v1/me")).bearer_auth(&token).send();
    assert_eq!(me().await.unwrap().status(), 200);

    path.cut();
    for _ in 0..3 {
        let r = me().await.unwrap();
        assert_eq!(r.status(), 503, "while PostgreSQL is out of reach");
        assert!(r.headers().contains_key("retry-after"));
    }
    let r = http
        .get(app.url(&format!("/fhir/R4/Patient/{}", clinician.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let r = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);

    path.restore();
    let back = std::time::Instant::now();
    loop {
        let status = me().await.unwrap().status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "only 503 until it is back");
        assert!(
            back.elapsed() < std::time::Duration::from_secs(30),
            "telemed did not recover"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.shutdown().await;
}

/// A pooled PostgreSQL connection the server closed while it sat idle is pinged when it
/// is next handed out (after a second unused) and replaced: no query fails for it. A
/// busy connection is not pinged before each use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(telemed_pg),
    ignore = "PostgreSQL not configured: set TELEMED_TEST_DATABASE_URL to run"
)]
async fn a_server_connection_closed_while_idle_is_replaced() {
    use sqlx::Connection;
    let db = telemed_testkit::TestDb::create(Backend::Postgres)
        .await
        .unwrap();
    let store = telemed_store::Store::connect(&db.url, 4).await.unwrap();
    let backend_of = || async {
        sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
            .fetch_one(store.pool())
            .await
    };
    // Four connections open, then idle.
    let opened: Vec<i32> = futures::future::join_all((0..4).map(|_| async {
        let mut conn = store.pool().acquire().await.unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        pid
    }))
    .await;
    // The server ends every one of them (from a connection outside the pool).
    let mut admin = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    for pid in &opened {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(*pid)
            .execute(&mut admin)
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let answered = futures::future::join_all((0..4).map(|_| backend_of())).await;
    for pid in answered {
        let pid = pid.expect("a query after the server closed idle connections");
        assert!(!opened.contains(&pid), "served by a replaced connection");
    }
    store.close().await;
    drop(db);
}
