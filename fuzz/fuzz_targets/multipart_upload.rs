//! An upload form as a browser or API client posts it: multipart/form-data read by the
//! server's own form reader (field names, the file's size limit, UTF-8 fields), then the
//! file recognised by its signature, its picture size checked from the header, and its
//! name made safe. Nothing may panic; a file past the limit is refused.
#![no_main]

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use telemed_domain::files::{clean_file_name, MediaType};

const MAX_FILE: usize = 64 * 1024;

fuzz_target!(
    // telemed catches panics in the decoders it runs on uploads (an unreadable file,
    // not a failed request); libFuzzer's hook would abort before that. A panic that
    // escapes still fails the run, in libfuzzer-sys.
    init: std::panic::set_hook(Box::new(|info| eprintln!("{info}"))),
    |body: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let request = Request::builder()
            .method("POST")
            .header("content-type", "multipart/form-data; boundary=telemed-fuzz")
            .body(Body::from(body.to_vec()))
            .expect("a request");
        let Ok(mut form) = Multipart::from_request(request, &()).await else {
            return;
        };
        let Ok(upload) = telemed_server::api::read_upload(&mut form, MAX_FILE).await else {
            return;
        };
        assert!(upload.bytes.len() <= MAX_FILE);
        if let Some(media) = MediaType::sniff(&upload.bytes) {
            let _ = telemed_server::imaging::check_picture_size(&upload.bytes, media);
            let name = clean_file_name(&upload.file_name, media);
            assert!(!name.contains('/') && !name.contains('\u{202e}'));
        }
    });
});
