//! The audit trail: every event recorded, the chain verified, tampering found, and
//! concurrent appends from many requests keeping one chain.

use telemed_domain::audit::{AuditRecord, Outcome};
use telemed_domain::Role;
use telemed_store::audit::{AuditFilter, ChainBreak};
use telemed_testkit::{Backend, TestApp};

async fn sign_in_events(app: &TestApp) -> Vec<telemed_store::audit::AuditEntry> {
    app.flush_audit().await;
    app.state()
        .store
        .search_audit(&AuditFilter {
            action_prefix: Some("auth.".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn events_carry_who_what_and_where(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let web = app.web();
    web.sign_in(&patient.email, "not the password").await;
    web.sign_in(&patient.email, &patient.password).await;
    let events = sign_in_events(&app).await;
    let ok = events
        .iter()
        .find(|e| e.action == "auth.sign_in" && e.outcome == Outcome::Success)
        .expect("success recorded");
    assert_eq!(ok.actor, Some(patient.id));
    assert_eq!(ok.actor_role, Some(Role::Patient));
    assert_eq!(ok.client_addr.as_deref(), Some("127.0.0.1"));
    assert!(ok.request_id.as_deref().is_some_and(|r| r.len() == 16));
    let failed = events
        .iter()
        .find(|e| e.outcome == Outcome::Failure)
        .expect("failure recorded");
    assert_eq!(failed.detail.as_deref(), Some("bad_credentials"));
    // No email, name or password anywhere in the trail.
    let all = app
        .state()
        .store
        .search_audit(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let text = format!("{all:?}");
    assert!(
        !text.contains(&patient.email)
            && !text.contains("not the password")
            && !text.contains("Test patient")
    );
    app.shutdown().await;
}

async fn tampering_is_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..3 {
        app.create_user(Role::Patient).await;
    }
    let store = &app.state().store;
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!((report.entries, report.first_break.clone()), (3, None));

    sqlx::query("UPDATE audit_log SET outcome = 'denied' WHERE seq = 2")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_break,
        Some(ChainBreak::Altered { seq: 2 })
    );
    sqlx::query("UPDATE audit_log SET outcome = 'success' WHERE seq = 2")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_break,
        None,
        "restored"
    );

    // Rewriting a row together with its hash still breaks the next link.
    let record = sqlx::query_scalar::<_, String>("SELECT prev_hash FROM audit_log WHERE seq = 2")
        .fetch_one(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET detail = 'edited', hash = $1 WHERE seq = 2")
        .bind(record)
        .execute(store.pool())
        .await
        .unwrap();
    let b = store.verify_audit_chain().await.unwrap().first_break;
    assert_eq!(b, Some(ChainBreak::Altered { seq: 2 }));
    app.shutdown().await;
}

async fn removed_and_truncated_entries_are_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..4 {
        app.create_user(Role::Patient).await;
    }
    let store = &app.state().store;
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_break,
        Some(ChainBreak::Truncated {
            last_seq: 3,
            head_seq: 4
        })
    );
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store.verify_audit_chain().await.unwrap().first_break,
        Some(ChainBreak::Missing { after: 1, next: 3 })
    );
    app.shutdown().await;
}

async fn concurrent_reads_and_writes_keep_one_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clinician = app.create_user(Role::Clinician).await;
    let patient = app.create_user(Role::Patient).await;
    let token = app.token_for(&clinician, None).await;
    let client = app.client();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (client, token, url) = (
            client.clone(),
            token.clone(),
            app.url(&format!("/api/v1/patients/{}", patient.id)),
        );
        let web = app.web();
        let patient_email = patient.email.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                // Writes: failed sign-ins append in their own transactions.
                web.sign_in(&patient_email, "wrong password for the test")
                    .await
                    .0
                    .as_u16()
            } else {
                // Reads: audited through the batching writer.
                client
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        }));
    }
    let mut ok_reads = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 200 || status == 401 || status == 429, "{status}");
        ok_reads += usize::from(status == 200);
    }
    assert_eq!(ok_reads, 40);
    app.flush_audit().await;
    let report = app.state().store.verify_audit_chain().await.unwrap();
    assert_eq!(report.first_break, None);
    let reads = app
        .state()
        .store
        .search_audit(&AuditFilter {
            patient: Some(patient.id),
            action_prefix: Some("record.demographics.".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(reads.len(), 40, "every read was audited, none twice");
    app.shutdown().await;
}

/// A batch large enough to take every statement shape the append uses (64, 16, 4 and
/// 1 rows) is stored whole, in order, and the head follows it.
async fn a_large_batch_keeps_the_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.state().store;
    let before = store.verify_audit_chain().await.unwrap().entries;
    let records: Vec<AuditRecord> = (0..151)
        .map(|i| AuditRecord {
            at: app.state().clock.now(),
            actor: None,
            actor_role: None,
            action: "test.batch".into(),
            resource_type: "test".into(),
            resource_id: Some(format!("r{i}")),
            patient: None,
            outcome: Outcome::Success,
            client_addr: None,
            request_id: None,
            detail: (i % 2 == 0).then(|| format!("d{i}")),
        })
        .collect();
    store.append_audit(&records).await.unwrap();
    store.append_audit(&records[..3]).await.unwrap();
    let report = store.verify_audit_chain().await.unwrap();
    assert_eq!((report.entries, report.first_break), (before + 154, None));
    let stored = store
        .search_audit(&AuditFilter {
            action_prefix: Some("test.batch".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let order: Vec<usize> = (0..151).chain(0..3).collect();
    assert_eq!(stored.len(), order.len(), "every entry once");
    for (e, i) in stored.iter().rev().zip(order) {
        let r = &records[i];
        assert_eq!(
            (&e.resource_id, &e.detail, e.outcome),
            (&r.resource_id, &r.detail, r.outcome),
            "entries in the batch's order, as given"
        );
    }
    app.shutdown().await;
}

async fn shutdown_commits_queued_read_entries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let patient = app.create_user(Role::Patient).await;
    let token = app.token_for(&patient, None).await;
    for _ in 0..5 {
        let r = app
            .client()
            .get(app.url(&format!("/api/v1/patients/{}", patient.id)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let backend = app.backend;
    // Shut the app down, then read its database with a fresh store.
    let db = app.shutdown_keep_db().await;
    let store = telemed_store::Store::connect(&db.url, 2).await.unwrap();
    let reads: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'record.demographics.read'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(reads, 5, "{backend:?}");
    assert_eq!(store.verify_audit_chain().await.unwrap().first_break, None);
    store.close().await;
    drop(db);
}

on_both_databases!(
    events_carry_who_what_and_where,
    tampering_is_found,
    removed_and_truncated_entries_are_found,
    concurrent_reads_and_writes_keep_one_chain,
    a_large_batch_keeps_the_chain,
    shutdown_commits_queued_read_entries,
);
