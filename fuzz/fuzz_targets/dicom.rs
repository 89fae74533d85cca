//! A DICOM file as uploaded to the record: read (identifiers, then a preview and a
//! thumbnail when its pixels decode), and rendered again with a CT window as the viewer
//! asks. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemed_server::imaging::{ct_window, read_dicom, render_dicom_with};

fuzz_target!(
    // telemed catches panics in the decoders it runs on uploads (an unreadable file,
    // not a failed request); libFuzzer's hook would abort before that. A panic that
    // escapes still fails the run, in libfuzzer-sys.
    init: std::panic::set_hook(Box::new(|info| eprintln!("{info}"))),
    |bytes: &[u8]| {
    if read_dicom(bytes).is_ok() {
        if let Some(window) = ct_window("lung") {
            let _ = render_dicom_with(bytes, window);
        }
    }
});
