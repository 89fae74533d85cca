//! The OpenAPI document says exactly what the server does: schemathesis (PyPI, not
//! telemed's code) generates requests from `/api/openapi.json` and checks each answer
//! against it — no 5xx, no status the operation does not list, bodies valid against
//! their schemas, invalid input refused with a 4xx, authentication enforced. See
//! tools/openapi-conformance.

#[cfg(telemed_openapi_conformance)]
mod run {
    use std::process::Command;

    use telemed_domain::Role;
    use telemed_testkit::{Backend, TestApp};

    /// Runs schemathesis against a clinic with a clinician, a patient and a visit
    /// between them, as the clinician (whose token reaches the most operations).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_api_answers_as_its_openapi_document_says() {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            // The run sends a few thousand requests from one address.
            c.login.max_failures_per_address = 1_000_000;
            c.limits.uploads_per_hour_staff = 100_000;
        })
        .await;
        let clinician = app.create_user(Role::Clinician).await;
        let patient = app.create_user(Role::Patient).await;
        let visit = app.book_video_visit(&clinician, &patient).await;
        let token = app.token_for(&clinician, None).await;
        // Query parameters are refused as strictly as bodies, with a message for people.
        let http = app.client();
        for query in [
            "/api/v1/appointments?to=tomorrow",
            "/api/v1/appointments?from=2026-13-01T00:00:00Z",
            "/api/v1/appointments?from=1&from=2",
            "/api/v1/clinicians?visit_kind=hologram",
            "/api/v1/threads?archived=yes",
            "/api/v1/threads?archived=1",
            "/api/v1/threads?colour=red",
        ] {
            let r = http
                .get(app.url(query))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert_eq!(status, 400, "{query}: {body}");
            assert!(
                !message.contains("Failed to deserialize") && !message.contains('`'),
                "{query}: {message}"
            );
        }
        let report = std::env::temp_dir().join(format!("telemed-openapi-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&report).unwrap();
        // Real ids for the operations on a patient, a visit and a clinician, so that the
        // run reaches each handler's own rules, not only its 404.
        let config = report.join("schemathesis.toml");
        std::fs::write(
            &config,
            format!(
                "[[operations]]\ninclude-path-regex = '^/api/v1/patients/[{{]id[}}]'\n\
                 parameters = {{ \"path.id\" = \"{}\" }}\n\
                 [[operations]]\ninclude-path-regex = '^/api/v1/appointments/[{{]id[}}]'\n\
                 parameters = {{ \"path.id\" = \"{}\" }}\n\
                 [[operations]]\ninclude-path-regex = '^/api/v1/(clinicians|users)/[{{]id[}}]'\n\
                 parameters = {{ \"path.id\" = \"{}\" }}\n",
                patient.id,
                visit["id"].as_str().unwrap(),
                clinician.id
            ),
        )
        .unwrap();
        let base = app.url("");
        // Fuzzing repeats until the budget is spent.
        let max_time =
            std::env::var("TELEMED_CONFORMANCE_SECONDS").unwrap_or_else(|_| "240".into());
        let run_dir = report.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("python3")
                // Its cache goes in the working folder: the run's own, not the repo.
                .current_dir(&report)
                .args(["-m", "schemathesis.cli", "--config-file"])
                .arg(&config)
                .arg("run")
                .arg(format!("{base}/api/openapi.json"))
                .args(["--url", &base])
                .args(["-H", &format!("Authorization: Bearer {token}")])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_schema_conformance,negative_data_rejection,ignored_auth",
                ])
                .args(["--phases", "examples,coverage,fuzzing"])
                .args([
                    "--max-examples",
                    "15",
                    "--max-time",
                    &max_time,
                    // One worker: with two, CPython 3.11's `ast.parse` (hypothesis
                    // describing its strategies) races, and the run dies of "AST
                    // constructor recursion depth mismatch": the tool failing, not the API.
                    "--workers",
                    "1",
                ])
                .args(["--generation-deterministic", "--no-color"])
                .arg("--report-dir")
                .arg(&report)
                // More arguments for a closer look (`--include-path-regex …`, `--report har`).
                .args(
                    std::env::var("TELEMED_CONFORMANCE_ARGS")
                        .unwrap_or_default()
                        .split_whitespace(),
                )
                .env("SCHEMATHESIS_HOOKS", "")
                .output()
        })
        .await
        .unwrap()
        .expect("schemathesis runs: pip install -r tools/openapi-conformance/requirements.txt");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "the API does not answer as its OpenAPI document says:\n{stdout}\n{stderr}"
        );
        // What was tried, for the log (`--nocapture`).
        let summary = stdout.split("WARNINGS").nth(1).unwrap_or(&stdout);
        eprintln!("schemathesis:{summary}");
        let _ = std::fs::remove_dir_all(&run_dir);
        app.shutdown().await;
    }
}

#[cfg(not(telemed_openapi_conformance))]
#[test]
#[ignore = "schemathesis not installed: pip install -r tools/openapi-conformance/requirements.txt"]
fn the_api_answers_as_its_openapi_document_says_not_run() {}
