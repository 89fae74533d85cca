//! The kinds of file telemed accepts, recognised by their first bytes. What a client
//! says a file is (its name, its Content-Type) is never trusted: a file is what its
//! content shows, or it is refused.

use crate::{Error, Result};

/// Bytes as whole megabytes (MiB), rounded up: how storage figures read everywhere (a
/// quota refusal, the admin's usage column), so that they agree.
pub fn megabytes(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
    /// A DICOM Part 10 file (`DICM` after the 128-byte preamble).
    Dicom,
}

impl MediaType {
    pub const ALL: [MediaType; 6] = [
        MediaType::Png,
        MediaType::Jpeg,
        MediaType::Gif,
        MediaType::Webp,
        MediaType::Pdf,
        MediaType::Dicom,
    ];

    /// Recognises a file by its signature.
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        let starts = |sig: &[u8]| bytes.starts_with(sig);
        if starts(b"\x89PNG\r\n\x1a\n") {
            Some(MediaType::Png)
        } else if starts(b"\xff\xd8\xff") {
            Some(MediaType::Jpeg)
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            Some(MediaType::Gif)
        } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(MediaType::Webp)
        } else if starts(b"%PDF-") {
            Some(MediaType::Pdf)
        } else if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
            Some(MediaType::Dicom)
        } else {
            None
        }
    }

    /// The MIME type files of this kind are served with.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Gif => "image/gif",
            MediaType::Webp => "image/webp",
            MediaType::Pdf => "application/pdf",
            MediaType::Dicom => "application/dicom",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Png => "png",
            MediaType::Jpeg => "jpg",
            MediaType::Gif => "gif",
            MediaType::Webp => "webp",
            MediaType::Pdf => "pdf",
            MediaType::Dicom => "dcm",
        }
    }

    /// The stored name (`png`, `pdf`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Png => "png",
            MediaType::Jpeg => "jpeg",
            MediaType::Gif => "gif",
            MediaType::Webp => "webp",
            MediaType::Pdf => "pdf",
            MediaType::Dicom => "dicom",
        }
    }

    pub fn parse(s: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// A browser can show it as a picture.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            MediaType::Png | MediaType::Jpeg | MediaType::Gif | MediaType::Webp
        )
    }
}

/// Checks an upload against what a place accepts: its content must be one of `allowed`
/// and it must fit in `max_bytes`. The refusal names what is accepted.
pub fn accept(bytes: &[u8], allowed: &[MediaType], max_bytes: usize) -> Result<MediaType> {
    if bytes.len() > max_bytes {
        return Err(Error::TooLarge);
    }
    if bytes.is_empty() {
        return Err(Error::invalid("file", "the file is empty"));
    }
    MediaType::sniff(bytes)
        .filter(|m| allowed.contains(m))
        .ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|m| m.extension()).collect();
            Error::UnsupportedMediaType(format!(
                "this file type is not accepted here; send {}",
                names.join(", ")
            ))
        })
}

/// A file name safe to show and to put in a Content-Disposition header: the last path
/// part, control characters, quotes and the invisible formatting characters that
/// reorder or hide text (U+202E, a right-to-left override, makes `invoice` + override +
/// `fdp.exe` show as `invoiceexe.pdf`) removed, at most 120 characters; never empty.
pub fn clean_file_name(name: &str, media: MediaType) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | ';') && !reorders_text(*c))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        format!("file.{}", media.extension())
    } else {
        cleaned
    }
}

/// Bidirectional overrides, isolates and marks, and zero-width characters.
fn reorders_text(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_reads_in_whole_megabytes_rounded_up() {
        let mib = 1024 * 1024;
        assert_eq!(megabytes(0), 0);
        assert_eq!(megabytes(1), 1, "a byte stored is not nothing");
        assert_eq!(megabytes(mib), 1);
        assert_eq!(megabytes(mib + 1), 2);
        // The refusal and the admin's figures say the same.
        let refusal = Error::QuotaExceeded {
            used: mib + 1,
            incoming: 1,
            quota: 3 * mib,
        }
        .to_string();
        assert!(refusal.contains("take 2 MB of the 3 MB"), "{refusal}");
    }

    #[test]
    fn content_decides_not_the_name() {
        assert_eq!(
            MediaType::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(MediaType::Png)
        );
        assert_eq!(MediaType::sniff(b"%PDF-1.7\n"), Some(MediaType::Pdf));
        assert_eq!(
            MediaType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(MediaType::Webp)
        );
        let mut dicom = vec![0u8; 128];
        dicom.extend_from_slice(b"DICM\x02\x00");
        assert_eq!(MediaType::sniff(&dicom), Some(MediaType::Dicom));
        assert_eq!(MediaType::sniff(b"<html><script>"), None);
        assert_eq!(MediaType::sniff(b"MZ\x90\x00"), None);
        for m in MediaType::ALL {
            assert_eq!(MediaType::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn accept_checks_kind_and_size() {
        let png = b"\x89PNG\r\n\x1a\n0123";
        assert_eq!(accept(png, &[MediaType::Png], 100).unwrap(), MediaType::Png);
        assert!(matches!(
            accept(png, &[MediaType::Png], 5),
            Err(Error::TooLarge)
        ));
        assert!(matches!(
            accept(b"%PDF-1.4", &[MediaType::Png], 100),
            Err(Error::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            accept(b"", &[MediaType::Png], 100),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(
            clean_file_name("C:\\x\\scan \"1\".pdf", MediaType::Pdf),
            "scan 1.pdf"
        );
        assert_eq!(
            clean_file_name("../../etc/passwd", MediaType::Png),
            "passwd"
        );
        assert_eq!(clean_file_name("..", MediaType::Png), "file.png");
        assert_eq!(clean_file_name("a\r\nb.jpg", MediaType::Jpeg), "ab.jpg");
        assert_eq!(
            clean_file_name("invoice\u{202E}fdp.exe", MediaType::Pdf),
            "invoicefdp.exe"
        );
        assert_eq!(
            clean_file_name("scan\u{2067}\u{200B}.png", MediaType::Png),
            "scan.png"
        );
        assert_eq!(clean_file_name("café ñ.jpg", MediaType::Jpeg), "café ñ.jpg");
    }
}
