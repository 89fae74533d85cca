//! A first pass over an uploaded DICOM Part 10 file that checks every element's
//! declared length against the bytes the file holds, before the parser sees it. The
//! parser (dicom-parser) allocates a value's declared length before reading it, so a
//! 3 KB file declaring a 4 GB string made it allocate and zero 4 GB (found by the
//! `dicom` fuzz target). This pass allocates nothing. The same for the header of RLE
//! compressed frames, before the decoder reads it (`rle_fragments_fit`).

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use telemed_domain::MediaType;

/// Nested sequences followed at most (real files nest a few levels).
const MAX_DEPTH: usize = 32;
const UNDEFINED: u32 = u32::MAX;
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

#[derive(Clone, Copy, PartialEq)]
enum Syntax {
    ImplicitLittle,
    ExplicitLittle,
    ExplicitBig,
}

/// Whether every element, item and fragment of the file declares a length that fits in
/// what follows it. `false` for anything that cannot be walked.
pub fn lengths_fit(bytes: &[u8]) -> bool {
    if MediaType::sniff(bytes) != Some(MediaType::Dicom) {
        return false;
    }
    let mut r = Reader { bytes, pos: 132 };
    let Some(syntax) = file_meta(&mut r) else {
        return false;
    };
    walk(&mut r, syntax, bytes.len(), 0).is_some()
}

/// RLE Lossless (PS3.5 Annex G): each frame's fragment opens with a 64-byte header, the
/// number of segments (1 to 15) and where each starts. Whether every fragment's header
/// says so, with offsets in order and within the fragment. The decoder takes the
/// number as it comes (a vector of that many offsets: 12 GB from a 3 KB file, found by
/// fuzzing) and slices the fragment at the offsets.
pub fn rle_fragments_fit(object: &dicom_object::DefaultDicomObject) -> bool {
    const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
    if object
        .meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        != RLE_LOSSLESS
    {
        return true;
    }
    let Ok(element) = object.element(dicom_dictionary_std::tags::PIXEL_DATA) else {
        return false;
    };
    let Some(fragments) = element.value().fragments() else {
        return false;
    };
    let word = |f: &[u8], i: usize| -> Option<usize> {
        let b: [u8; 4] = f.get(4 * i..4 * i + 4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    fragments.iter().all(|f| {
        let Some(segments) = word(f, 0) else {
            return false;
        };
        if f.len() < 64 || !(1..=15).contains(&segments) {
            return false;
        }
        let offsets: Option<Vec<usize>> = (1..=segments).map(|i| word(f, i)).collect();
        offsets.is_some_and(|o| {
            o[0] == 64 && o.windows(2).all(|w| w[0] <= w[1]) && o.iter().all(|x| *x <= f.len())
        })
    })
}

/// Walks the file meta group (always explicit VR little endian); the data set's
/// transfer syntax.
fn file_meta(r: &mut Reader) -> Option<Syntax> {
    let mut syntax = Syntax::ExplicitLittle;
    while r.remaining() >= 8 && r.peek_u16(false)? == 0x0002 {
        let (tag, vr) = (r.tag(false)?, r.vr()?);
        let len = r.explicit_length(vr, false)?;
        let value = r.take(len)?;
        if tag == (0x0002, 0x0010) {
            let uid = std::str::from_utf8(value).ok()?;
            syntax = match uid.trim_end_matches(['\0', ' ']) {
                "1.2.840.10008.1.2" => Syntax::ImplicitLittle,
                "1.2.840.10008.1.2.2" => Syntax::ExplicitBig,
                _ => Syntax::ExplicitLittle,
            };
        }
    }
    Some(syntax)
}

/// Walks elements up to `end`, or to the delimiter that closes an undefined length.
fn walk(r: &mut Reader, syntax: Syntax, end: usize, depth: usize) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let big = syntax == Syntax::ExplicitBig;
    while r.pos < end {
        let tag = r.tag(big)?;
        if tag.0 == 0xFFFE {
            let len = r.u32(big)?;
            match tag.1 {
                // An item of a sequence: elements, up to its length or its delimiter.
                0xE000 => within(r, syntax, len, end, depth)?,
                // The end of an undefined-length item or sequence.
                0xE00D | 0xE0DD => return (len == 0).then_some(()),
                _ => return None,
            }
            continue;
        }
        let (vr, len) = match syntax {
            Syntax::ImplicitLittle => (implicit_vr(tag), r.u32(false)?),
            _ => {
                let vr = r.vr()?;
                (Some(vr), r.explicit_length(vr, big)?)
            }
        };
        if vr == Some(VR::SQ) || (len == UNDEFINED && tag != PIXEL_DATA && vr != Some(VR::OB)) {
            within(r, syntax, len, end, depth)?;
        } else if len == UNDEFINED {
            fragments(r, big)?;
        } else {
            r.skip(len, end)?;
        }
    }
    (r.pos == end).then_some(())
}

/// A sequence's or item's content: `len` bytes of elements, or elements up to a delimiter.
fn within(r: &mut Reader, syntax: Syntax, len: u32, end: usize, depth: usize) -> Option<()> {
    if len == UNDEFINED {
        return walk(r, syntax, end, depth + 1);
    }
    let inner_end = r.pos.checked_add(usize::try_from(len).ok()?)?;
    if inner_end > end {
        return None;
    }
    walk(r, syntax, inner_end, depth + 1)
}

/// Encapsulated pixel data: items of raw fragments up to the sequence delimiter.
fn fragments(r: &mut Reader, big: bool) -> Option<()> {
    let end = r.bytes.len();
    loop {
        let tag = r.tag(big)?;
        let len = r.u32(big)?;
        match tag {
            (0xFFFE, 0xE000) if len != UNDEFINED => r.skip(len, end)?,
            (0xFFFE, 0xE0DD) => return (len == 0).then_some(()),
            _ => return None,
        }
    }
}

/// The VR the standard gives a tag, for implicit-VR data sets (only sequences matter).
fn implicit_vr(tag: (u16, u16)) -> Option<VR> {
    let entry = StandardDataDictionary.by_tag(Tag(tag.0, tag.1))?;
    match entry.vr() {
        VirtualVr::Exact(vr) => Some(vr),
        _ => None,
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, len: u32) -> Option<&'a [u8]> {
        let len = usize::try_from(len).ok()?;
        let end = self.pos.checked_add(len)?;
        let value = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(value)
    }

    fn skip(&mut self, len: u32, end: usize) -> Option<()> {
        let to = self.pos.checked_add(usize::try_from(len).ok()?)?;
        if to > end {
            return None;
        }
        self.pos = to;
        Some(())
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.bytes.get(self.pos..self.pos.checked_add(N)?)?;
        self.pos += N;
        bytes.try_into().ok()
    }

    fn peek_u16(&self, big: bool) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(self.pos..self.pos + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u16(&mut self, big: bool) -> Option<u16> {
        let b = self.array::<2>()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&mut self, big: bool) -> Option<u32> {
        let b = self.array::<4>()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn tag(&mut self, big: bool) -> Option<(u16, u16)> {
        Some((self.u16(big)?, self.u16(big)?))
    }

    fn vr(&mut self) -> Option<VR> {
        VR::from_binary(self.array::<2>()?)
    }

    /// An explicit-VR length: four bytes after two reserved ones for the long VRs, two
    /// bytes for the others.
    fn explicit_length(&mut self, vr: VR, big: bool) -> Option<u32> {
        use VR::*;
        match vr {
            OB | OD | OF | OL | OV | OW | SQ | SV | UC | UN | UR | UT | UV => {
                self.array::<2>()?;
                self.u32(big)
            }
            _ => self.u16(big).map(u32::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testkit/tests/fixtures/dicom")
            .join(name);
        std::fs::read(path).unwrap_or_default()
    }

    #[test]
    fn real_files_fit() {
        for name in [
            "CT_small.dcm",
            "MR_small.dcm",
            "JPEG-lossy.dcm",
            "SC_rgb_rle.dcm",
            "rtplan.dcm",
            "rle_overrun.dcm",
        ] {
            let file = fixture(name);
            assert!(!file.is_empty(), "{name} is missing");
            assert!(lengths_fit(&file), "{name}");
        }
    }

    #[test]
    fn a_length_past_the_end_does_not_fit() {
        let file = fixture("length_past_the_end.dcm");
        assert!(!file.is_empty());
        assert!(!lengths_fit(&file));
        // Any real file cut short does not fit either.
        let ct = fixture("CT_small.dcm");
        assert!(!lengths_fit(&ct[..ct.len() - 100]));
        assert!(!lengths_fit(b"not a DICOM file"));
    }

    #[test]
    fn rle_headers_are_checked() {
        let read = |name: &str| dicom_object::from_reader(&fixture(name)[128..]).ok();
        let rle = read("SC_rgb_rle.dcm").expect("a real RLE file");
        assert!(rle_fragments_fit(&rle));
        let ct = read("CT_small.dcm").expect("an uncompressed file");
        assert!(rle_fragments_fit(&ct), "other transfer syntaxes pass");
        let claims = read("rle_segment_count.dcm").expect("it parses");
        assert!(!rle_fragments_fit(&claims));
    }
}
