//! A picture as attached to a message or the record (PNG, JPEG, GIF, WebP): recognised
//! by its signature, its size checked from the header, and only then decoded into a
//! thumbnail, as the upload path does. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemed_domain::files::MediaType;
use telemed_server::imaging::{check_picture_size, thumbnail};

fuzz_target!(
    // telemed catches panics in the decoders it runs on uploads (an unreadable file,
    // not a failed request); libFuzzer's hook would abort before that. A panic that
    // escapes still fails the run, in libfuzzer-sys.
    init: std::panic::set_hook(Box::new(|info| eprintln!("{info}"))),
    |bytes: &[u8]| {
    let Some(media) = MediaType::sniff(bytes) else {
        return;
    };
    if check_picture_size(bytes, media).is_ok() {
        let _ = thumbnail(bytes, media);
    }
});
