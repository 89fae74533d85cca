//! Pictures made from uploaded files: thumbnails of photos, and for DICOM images the
//! header and a PNG a browser can show (windowed: CT in Hounsfield units). Everything
//! here decodes untrusted bytes, so sizes are capped before memory is given out, and it
//! is CPU work: call it from `spawn_blocking`.

use std::borrow::Cow;
use std::io::Cursor;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::{ConvertOptions, PixelDecoder, VoiLutOption};
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use telemed_domain::documents::DicomHeader;
use telemed_domain::{Error, MediaType, Result};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Longest side of a DICOM preview, in pixels.
pub const PREVIEW_SIDE: u32 = 1024;
/// Largest picture decoded: 12,000 px a side, 256 MiB of pixels.
const MAX_SIDE: u32 = 12_000;
const MAX_PIXEL_BYTES: u64 = 256 * 1024 * 1024;

/// A picture made for the browser, encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub media_type: MediaType,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A named VOI window for CT, in Hounsfield units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

/// The usual CT windows, by the name the viewer offers.
pub const CT_WINDOWS: [(&str, Window); 4] = [
    (
        "soft_tissue",
        Window {
            center: 40.0,
            width: 400.0,
        },
    ),
    (
        "lung",
        Window {
            center: -600.0,
            width: 1500.0,
        },
    ),
    (
        "bone",
        Window {
            center: 400.0,
            width: 1800.0,
        },
    ),
    (
        "brain",
        Window {
            center: 40.0,
            width: 80.0,
        },
    ),
];

impl Window {
    /// The linear VOI function of DICOM PS3.3 C.11.2.1.2.1, to 0..=255.
    pub fn apply(&self, value: f64) -> u8 {
        if self.width <= 1.0 {
            return if value < self.center - 0.5 { 0 } else { 255 };
        }
        let y = ((value - (self.center - 0.5)) / (self.width - 1.0) + 0.5) * 255.0;
        y.round().clamp(0.0, 255.0) as u8
    }
}

/// The window the file gives (its first Window Center / Width).
fn file_window(object: &DefaultDicomObject) -> Option<Window> {
    let center = float(object, tags::WINDOW_CENTER)?;
    let width = float(object, tags::WINDOW_WIDTH).filter(|w| *w > 0.0)?;
    Some(Window { center, width })
}

/// A window spanning the values present, for images that name none.
fn full_range(values: &[f64]) -> Window {
    let (low, high) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if low > high {
        return Window {
            center: 0.0,
            width: 1.0,
        };
    }
    Window {
        center: (low + high) / 2.0 + 0.5,
        width: (high - low + 1.0).max(1.0),
    }
}

pub fn ct_window(name: &str) -> Option<Window> {
    CT_WINDOWS.iter().find(|(n, _)| *n == name).map(|(_, w)| *w)
}

fn unreadable(what: &str) -> Error {
    Error::invalid("file", format!("the {what} could not be read"))
}

/// Refuses a picture larger than telemed shows (`MAX_SIDE` a side), read from its header
/// alone: a file of a few kilobytes can claim 40,000 × 40,000 pixels and make whoever
/// opens it decode gigabytes (a message attachment is decoded by the recipient's
/// browser). Files that are not pictures pass.
pub fn check_picture_size(bytes: &[u8], media: MediaType) -> Result<()> {
    guarded("picture", || picture_size_within(bytes, media))
}

fn picture_size_within(bytes: &[u8], media: MediaType) -> Result<()> {
    let format = match media {
        MediaType::Png => ImageFormat::Png,
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Gif => ImageFormat::Gif,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Pdf | MediaType::Dicom => return Ok(()),
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| unreadable("picture"))?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::invalid(
            "file",
            format!(
                "the picture is {width} × {height} pixels; at most {MAX_SIDE} a side is accepted"
            ),
        ));
    }
    Ok(())
}

/// A small JPEG of a photo (PNG, JPEG, GIF, WebP), turned upright by its EXIF
/// orientation. `None` for files that are not pictures.
pub fn thumbnail(bytes: &[u8], media: MediaType) -> Result<Option<Rendered>> {
    guarded("picture", || photo_thumbnail(bytes, media))
}

fn photo_thumbnail(bytes: &[u8], media: MediaType) -> Result<Option<Rendered>> {
    let format = match media {
        MediaType::Png => ImageFormat::Png,
        MediaType::Jpeg => ImageFormat::Jpeg,
        MediaType::Gif => ImageFormat::Gif,
        MediaType::Webp => ImageFormat::WebP,
        MediaType::Pdf | MediaType::Dicom => return Ok(None),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXEL_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| unreadable("picture"))?;
    let orientation = decoder.orientation().map_err(|_| unreadable("picture"))?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|_| unreadable("picture"))?;
    picture.apply_orientation(orientation);
    Ok(Some(jpeg_thumbnail(&picture)?))
}

fn jpeg_thumbnail(picture: &DynamicImage) -> Result<Rendered> {
    let small = picture
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .into_rgb8();
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
        .encode_image(&small)
        .map_err(|e| Error::internal(format!("encoding a thumbnail: {e}")))?;
    Ok(Rendered {
        media_type: MediaType::Jpeg,
        width: small.width(),
        height: small.height(),
        bytes,
    })
}

fn png(picture: &DynamicImage) -> Result<Rendered> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .map_err(|e| Error::internal(format!("encoding a preview: {e}")))?;
    Ok(Rendered {
        media_type: MediaType::Png,
        width: picture.width(),
        height: picture.height(),
        bytes,
    })
}

/// What telemed makes of a DICOM file: its header, and where its pixels could be
/// decoded, a PNG preview and a thumbnail.
#[derive(Debug, Clone)]
pub struct DicomRead {
    pub header: DicomHeader,
    pub preview: Option<Rendered>,
    pub thumbnail: Option<Rendered>,
}

/// Parses a DICOM Part 10 file. A file without the study/series/instance identifiers
/// is refused; a valid file whose pixels cannot be decoded here (a compression telemed
/// does not read, or no image at all) is kept without a preview.
pub fn read_dicom(bytes: &[u8]) -> Result<DicomRead> {
    let object = guarded("DICOM file", || parse_dicom(bytes))?;
    let header = guarded("DICOM file", || dicom_header(&object))?;
    let rendered = guarded("image in this DICOM file", || render_dicom(&object, None));
    let (preview, thumbnail) = match rendered {
        Ok(picture) => (Some(png(&picture)?), Some(jpeg_thumbnail(&picture)?)),
        Err(e) => {
            tracing::info!(reason = %e, transfer_syntax = %header.transfer_syntax, "no preview for a DICOM file");
            (None, None)
        }
    };
    Ok(DicomRead {
        header,
        preview,
        thumbnail,
    })
}

/// Renders a stored DICOM file again with another window (the viewer's CT presets).
pub fn render_dicom_with(bytes: &[u8], window: Window) -> Result<Rendered> {
    let object = guarded("DICOM file", || parse_dicom(bytes))?;
    let picture = guarded("image in this DICOM file", || {
        render_dicom(&object, Some(window))
    })
    .map_err(|_| unreadable("image in this DICOM file"))?;
    png(&picture)
}

/// Runs a decoder of other people's code on an uploaded file. A panic in it (fuzzing
/// found an out-of-bounds index in the DICOM RLE decoder on a damaged file) means that
/// file cannot be read: a clear 400, or a DICOM file kept without a preview, rather than
/// a failed request.
fn guarded<T>(what: &str, decode: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .unwrap_or_else(|_| Err(unreadable(what)))
}

fn parse_dicom(bytes: &[u8]) -> Result<DefaultDicomObject> {
    if MediaType::sniff(bytes) != Some(MediaType::Dicom) {
        return Err(Error::invalid("file", "this is not a DICOM Part 10 file"));
    }
    // The parser allocates what an element declares before reading it.
    if !crate::dicom_lengths::lengths_fit(bytes) {
        return Err(unreadable("DICOM file"));
    }
    // `from_reader` starts at the "DICM" magic, after the 128-byte preamble.
    dicom_object::from_reader(&bytes[128..]).map_err(|_| unreadable("DICOM file"))
}

fn text(object: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let element = object.element_opt(tag).ok()??;
    let value: Cow<'_, str> = element.to_str().ok()?;
    let cleaned: String = value
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

fn int(object: &DefaultDicomObject, tag: Tag) -> Option<i64> {
    object.element_opt(tag).ok()??.to_int::<i64>().ok()
}

fn float(object: &DefaultDicomObject, tag: Tag) -> Option<f64> {
    object
        .element_opt(tag)
        .ok()??
        .to_float64()
        .ok()
        .filter(|v| v.is_finite())
}

fn dicom_header(object: &DefaultDicomObject) -> Result<DicomHeader> {
    let required = |tag: Tag, name: &str| {
        text(object, tag).ok_or_else(|| {
            Error::invalid(
                "file",
                format!("the DICOM file has no {name}; it cannot be filed"),
            )
        })
    };
    let meta = object.meta();
    let uid = |s: &str| {
        s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned()
    };
    Ok(DicomHeader {
        study_uid: required(tags::STUDY_INSTANCE_UID, "Study Instance UID")?,
        series_uid: required(tags::SERIES_INSTANCE_UID, "Series Instance UID")?,
        sop_instance_uid: uid(&meta.media_storage_sop_instance_uid),
        sop_class_uid: uid(meta.media_storage_sop_class_uid()),
        transfer_syntax: uid(meta.transfer_syntax()),
        modality: text(object, tags::MODALITY),
        study_date: text(object, tags::STUDY_DATE),
        study_description: text(object, tags::STUDY_DESCRIPTION),
        series_description: text(object, tags::SERIES_DESCRIPTION),
        series_number: int(object, tags::SERIES_NUMBER),
        instance_number: int(object, tags::INSTANCE_NUMBER),
        body_part: text(object, tags::BODY_PART_EXAMINED),
        patient_name: text(object, tags::PATIENT_NAME)
            .map(|n| n.replace('^', " ").trim().to_owned()),
        patient_identifier: text(object, tags::PATIENT_ID),
        rows: int(object, tags::ROWS),
        columns: int(object, tags::COLUMNS),
        frames: int(object, tags::NUMBER_OF_FRAMES).or(Some(1)),
        window_center: float(object, tags::WINDOW_CENTER),
        window_width: float(object, tags::WINDOW_WIDTH).filter(|w| *w > 0.0),
    })
}

/// The first frame as a picture: monochrome through the window asked for, else the file's
/// own window, else (CT) the soft-tissue window, else stretched to its range; colour
/// as it is. At most `PREVIEW_SIDE` pixels a side. (A VOI LUT table in the file is not
/// applied: its window values are.)
fn render_dicom(object: &DefaultDicomObject, window: Option<Window>) -> Result<DynamicImage> {
    let rows = int(object, tags::ROWS).unwrap_or(0);
    let columns = int(object, tags::COLUMNS).unwrap_or(0);
    let samples = int(object, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let bits = int(object, tags::BITS_ALLOCATED).unwrap_or(16);
    let frame_bytes = rows
        .checked_mul(columns)
        .and_then(|n| n.checked_mul(samples))
        .and_then(|n| n.checked_mul(bits.max(8) / 8))
        .unwrap_or(i64::MAX);
    if rows <= 0
        || columns <= 0
        || rows > i64::from(MAX_SIDE)
        || columns > i64::from(MAX_SIDE)
        || frame_bytes as u64 > MAX_PIXEL_BYTES
    {
        return Err(Error::invalid("file", "the image is empty or too large"));
    }
    if !crate::dicom_lengths::rle_fragments_fit(object) {
        return Err(unreadable("image in this DICOM file"));
    }
    let decoded = object
        .decode_pixel_data_frame(0)
        .map_err(|e| Error::invalid("file", format!("pixel data: {e}")))?;
    let (width, height) = (decoded.columns(), decoded.rows());
    let bad = |e: dicom_pixeldata::Error| Error::invalid("file", format!("pixel data: {e}"));
    let picture = if decoded.samples_per_pixel() == 1 {
        // Modality rescale (e.g. to Hounsfield units) by the library; the window here.
        let options = ConvertOptions::new().with_voi_lut(VoiLutOption::Identity);
        let values: Vec<f64> = decoded
            .to_vec_frame_with_options(0, &options)
            .map_err(bad)?;
        let window = window
            .or_else(|| file_window(object))
            .or_else(|| {
                (text(object, tags::MODALITY).as_deref() == Some("CT"))
                    .then(|| ct_window("soft_tissue"))
                    .flatten()
            })
            .unwrap_or_else(|| full_range(&values));
        let mut pixels: Vec<u8> = values.iter().map(|v| window.apply(*v)).collect();
        if decoded.photometric_interpretation().as_str() == "MONOCHROME1" {
            pixels.iter_mut().for_each(|p| *p = 255 - *p);
        }
        DynamicImage::ImageLuma8(
            GrayImage::from_raw(width, height, pixels)
                .ok_or_else(|| Error::invalid("file", "pixel data shorter than the image"))?,
        )
    } else if decoded.samples_per_pixel() == 3 {
        let options = ConvertOptions::new().with_voi_lut(VoiLutOption::Identity);
        let pixels: Vec<u8> = decoded
            .to_vec_frame_with_options(0, &options)
            .map_err(bad)?;
        DynamicImage::ImageRgb8(
            RgbImage::from_raw(width, height, pixels)
                .ok_or_else(|| Error::invalid("file", "pixel data shorter than the image"))?,
        )
    } else {
        return Err(Error::invalid("file", "unsupported samples per pixel"));
    };
    Ok(if width.max(height) > PREVIEW_SIDE {
        picture.resize(
            PREVIEW_SIDE,
            PREVIEW_SIDE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        picture
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of `width` × `height` as its header says (no pixels at all): what a
    /// picture bomb looks like to a reader of headers.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        fn crc32(data: &[u8]) -> u32 {
            let mut crc = 0xFFFF_FFFFu32;
            for byte in data {
                crc ^= u32::from(*byte);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let mut chunk = b"IHDR".to_vec();
        chunk.extend_from_slice(&width.to_be_bytes());
        chunk.extend_from_slice(&height.to_be_bytes());
        chunk.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
        // An empty image data chunk and the end: readers look that far for the header.
        for name in [b"IDAT", b"IEND"] {
            png.extend_from_slice(&0u32.to_be_bytes());
            png.extend_from_slice(name);
            png.extend_from_slice(&crc32(name).to_be_bytes());
        }
        png
    }

    #[test]
    fn a_picture_larger_than_telemed_shows_is_refused_from_its_header() {
        let bomb = png_header(40_000, 40_000);
        let refused = check_picture_size(&bomb, MediaType::Png).unwrap_err();
        assert!(refused.to_string().contains("40000 × 40000"), "{refused}");
        assert!(check_picture_size(&png_header(4_000, 3_000), MediaType::Png).is_ok());
        assert!(check_picture_size(b"%PDF-1.4", MediaType::Pdf).is_ok());
    }

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read(dir.join("../testkit/tests/fixtures/dicom").join(name)).unwrap()
    }

    #[test]
    fn samples_render_where_their_compression_is_read() {
        for name in ["CT_small.dcm", "MR_small.dcm", "SC_rgb_rle.dcm"] {
            let object = parse_dicom(&fixture(name)).unwrap();
            let r = render_dicom(&object, None);
            assert!(r.is_ok(), "{name}: {:?}", r.err());
        }
        // 12-bit JPEG (extended): not decoded here; the file is still read and kept.
        let bytes = fixture("JPEG-lossy.dcm");
        let read = read_dicom(&bytes).unwrap();
        assert_eq!(read.header.modality.as_deref(), Some("NM"));
        assert!(read.preview.is_none() && read.thumbnail.is_none());
    }

    #[test]
    fn the_linear_window_follows_the_standard() {
        let w = Window {
            center: 40.0,
            width: 400.0,
        };
        assert_eq!(w.apply(-160.0), 0);
        assert_eq!(w.apply(240.0), 255);
        assert_eq!(w.apply(40.0), 128);
        let thin = Window {
            center: 10.0,
            width: 1.0,
        };
        assert_eq!((thin.apply(9.0), thin.apply(10.0)), (0, 255));
        assert!(parse_dicom(b"not dicom").is_err());
    }
}
