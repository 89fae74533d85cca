//! The text of the PDFs telemed writes, read back the way a reader's copy and search
//! do: each page's content stream, its fonts' ToUnicode maps (two-byte codes,
//! Identity-H) and `/ActualText` spans. Enough for telemed's own output (krilla's),
//! not a general PDF parser.

use std::collections::HashMap;
use std::io::Read;

/// One indirect object: its dictionary text and its (inflated) stream.
struct Object {
    dict: String,
    stream: Vec<u8>,
}

/// The text of every page, pages separated by a form feed, lines (baselines) by
/// newlines.
pub fn pdf_text(pdf: &[u8]) -> String {
    let objects = objects(pdf);
    pages(&objects)
        .map(|page| {
            let fonts = reference(&page.dict, "/Resources")
                .and_then(|r| objects.get(&r))
                .map(|resources| fonts_of(&resources.dict, &objects))
                .unwrap_or_default();
            page_text(content_of(page, &objects), &fonts)
        })
        .collect::<Vec<_>>()
        .join("\u{c}")
}

/// The filled shapes of every page (straight-edged, as telemed draws a QR code), each
/// as its bounding box `[left, top, right, bottom]` in points from the page's top-left.
pub fn filled_boxes(pdf: &[u8]) -> Vec<[f32; 4]> {
    let objects = objects(pdf);
    let mut boxes = Vec::new();
    for page in pages(&objects) {
        let content = String::from_utf8_lossy(content_of(page, &objects)).into_owned();
        let mut numbers: Vec<f32> = Vec::new();
        let mut shape: Option<[f32; 4]> = None;
        for token in content.split_whitespace() {
            if let Ok(n) = token.parse() {
                numbers.push(n);
                continue;
            }
            if let ("m" | "l", [.., x, y]) = (token, numbers.as_slice()) {
                let b = shape.get_or_insert([*x, *y, *x, *y]);
                *b = [b[0].min(*x), b[1].min(*y), b[2].max(*x), b[3].max(*y)];
            }
            if token == "h" {
                boxes.extend(shape.take());
            }
            numbers.clear();
        }
    }
    boxes
}

/// The page objects in the order they were written.
fn pages(objects: &HashMap<u32, Object>) -> impl Iterator<Item = &Object> {
    let mut ids: Vec<&u32> = objects.keys().collect();
    ids.sort();
    ids.into_iter()
        .map(|id| &objects[id])
        .filter(|o| o.dict.contains("/Type/Page/") || o.dict.contains("/Type/Page>"))
}

fn content_of<'o>(page: &Object, objects: &'o HashMap<u32, Object>) -> &'o [u8] {
    reference(&page.dict, "/Contents")
        .and_then(|r| objects.get(&r))
        .map(|c| c.stream.as_slice())
        .unwrap_or_default()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn objects(pdf: &[u8]) -> HashMap<u32, Object> {
    let mut out = HashMap::new();
    let mut at = 0;
    while let Some(start) = find(&pdf[at..], b" 0 obj\n").map(|i| at + i) {
        let number_start = pdf[..start]
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let number: u32 = std::str::from_utf8(&pdf[number_start..start])
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let body_start = start + 7;
        let end = find(&pdf[body_start..], b"\nendobj").map_or(pdf.len(), |i| body_start + i);
        let body = &pdf[body_start..end];
        let (dict, stream) = match find(body, b">>\nstream\n") {
            Some(i) => {
                let raw = &body[i + 10..];
                let raw = &raw[..find(raw, b"\nendstream").unwrap_or(raw.len())];
                let dict = String::from_utf8_lossy(&body[..i + 2]).into_owned();
                let stream = if dict.contains("/FlateDecode") {
                    let mut inflated = Vec::new();
                    flate2::read::ZlibDecoder::new(raw)
                        .read_to_end(&mut inflated)
                        .map(|_| inflated)
                        .unwrap_or_default()
                } else {
                    raw.to_vec()
                };
                (dict, stream)
            }
            None => (String::from_utf8_lossy(body).into_owned(), Vec::new()),
        };
        out.insert(number, Object { dict, stream });
        at = end;
    }
    out
}

/// The object number after `key` in `dict` (`/Key 12 0 R`).
fn reference(dict: &str, key: &str) -> Option<u32> {
    let rest = &dict[dict.find(key)? + key.len()..];
    rest.trim_start().split(' ').next()?.parse().ok()
}

/// Each font resource name of a resource dictionary with its code → text map.
fn fonts_of(
    resources: &str,
    objects: &HashMap<u32, Object>,
) -> HashMap<String, HashMap<u16, String>> {
    let mut fonts = HashMap::new();
    let Some(start) = resources.find("/Font<<") else {
        return fonts;
    };
    let list = &resources[start + 7..];
    let list = &list[..list.find(">>").unwrap_or(list.len())];
    for entry in list.split('/').skip(1) {
        let mut parts = entry.split(' ');
        let (Some(name), Some(id)) = (parts.next(), parts.next()) else {
            continue;
        };
        let map = id
            .parse()
            .ok()
            .and_then(|id: u32| objects.get(&id))
            .and_then(|font| reference(&font.dict, "/ToUnicode"))
            .and_then(|cmap| objects.get(&cmap))
            .map(|cmap| to_unicode(&String::from_utf8_lossy(&cmap.stream)))
            .unwrap_or_default();
        fonts.insert(name.to_owned(), map);
    }
    fonts
}

fn hex_units(hex: &str) -> Vec<u16> {
    (0..hex.len() / 4)
        .filter_map(|i| u16::from_str_radix(&hex[4 * i..4 * i + 4], 16).ok())
        .collect()
}

fn utf16(units: &[u16]) -> String {
    char::decode_utf16(units.iter().copied())
        .map(|c| c.unwrap_or('\u{fffd}'))
        .collect()
}

/// A ToUnicode CMap's `bfchar` and `bfrange` entries.
fn to_unicode(cmap: &str) -> HashMap<u16, String> {
    let mut map = HashMap::new();
    let hexes = |line: &str| -> Vec<String> {
        line.split('<')
            .skip(1)
            .filter_map(|t| t.split('>').next())
            .map(str::to_owned)
            .collect()
    };
    let mut section = "";
    for line in cmap.lines() {
        if line.ends_with("beginbfchar") {
            section = "char";
        } else if line.ends_with("beginbfrange") {
            section = "range";
        } else if line.starts_with("end") {
            section = "";
        } else if section == "char" {
            if let [code, text] = hexes(line).as_slice() {
                if let Some(code) = hex_units(code).first() {
                    map.insert(*code, utf16(&hex_units(text)));
                }
            }
        } else if section == "range" {
            if let [from, to, text] = hexes(line).as_slice() {
                let (Some(&from), Some(&to)) = (hex_units(from).first(), hex_units(to).first())
                else {
                    continue;
                };
                let mut units = hex_units(text);
                for code in from..=to {
                    map.insert(code, utf16(&units));
                    if let Some(last) = units.last_mut() {
                        *last += 1;
                    }
                }
            }
        }
    }
    map
}

/// The bytes of a literal string starting after its `(`, and where it ends.
fn literal(content: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 1;
    while i < content.len() {
        let b = content[i];
        i += 1;
        match b {
            b'\\' if i < content.len() => {
                let e = content[i];
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'0'..=b'7' => {
                        let mut value = u32::from(e - b'0');
                        for _ in 0..2 {
                            match content.get(i) {
                                Some(d @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(value as u8);
                    }
                    other => out.push(other),
                }
            }
            b'(' => {
                depth += 1;
                out.push(b);
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    (out, i)
}

/// A PDF text string (`/ActualText`): UTF-16BE after a byte-order mark, else Latin-1.
fn text_string(bytes: &[u8]) -> String {
    match bytes {
        [0xfe, 0xff, rest @ ..] => utf16(
            &rest
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        ),
        _ => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

fn page_text(content: &[u8], fonts: &HashMap<String, HashMap<u16, String>>) -> String {
    let mut text = String::new();
    let mut font: Option<&HashMap<u16, String>> = None;
    let mut last_name = String::new();
    let mut baseline: Option<f32> = None;
    // The marked-content spans open: an `/ActualText` span's text stands for the
    // glyphs in it (the outermost one's, when they nest).
    let mut spans: Vec<Option<String>> = Vec::new();
    // An `/ActualText` read, for the span its `BDC` opens.
    let mut pending: Option<String> = None;
    let in_actual = |spans: &[Option<String>]| spans.iter().any(Option::is_some);
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'(' => {
                let (bytes, next) = literal(content, i + 1);
                i = next;
                if last_name == "ActualText" {
                    pending = Some(text_string(&bytes));
                    last_name.clear();
                    continue;
                }
                if in_actual(&spans) {
                    continue;
                }
                if let Some(map) = font {
                    for pair in bytes.chunks(2).filter(|p| p.len() == 2) {
                        let code = u16::from_be_bytes([pair[0], pair[1]]);
                        text.push_str(map.get(&code).map_or("\u{fffd}", String::as_str));
                    }
                }
            }
            b'<' if last_name == "ActualText" => {
                let end = content[i..]
                    .iter()
                    .position(|b| *b == b'>')
                    .map_or(content.len(), |e| i + e);
                let hex = String::from_utf8_lossy(&content[i + 1..end]).into_owned();
                let bytes: Vec<u8> = (0..hex.len() / 2)
                    .filter_map(|k| u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).ok())
                    .collect();
                pending = Some(text_string(&bytes));
                last_name.clear();
                i = end + 1;
            }
            b'/' => {
                let start = i + 1;
                i = start;
                while i < content.len() && !b" /[]()<>\n".contains(&content[i]) {
                    i += 1;
                }
                last_name = String::from_utf8_lossy(&content[start..i]).into_owned();
                if let Some(map) = fonts.get(&last_name) {
                    font = Some(map);
                }
            }
            _ => {
                let rest = &content[i..];
                if rest.starts_with(b"BDC") || rest.starts_with(b"BMC") {
                    spans.push(pending.take());
                    i += 3;
                } else if rest.starts_with(b"EMC") {
                    if let Some(Some(t)) = spans.pop() {
                        if !in_actual(&spans) {
                            text.push_str(&t);
                        }
                    }
                    i += 3;
                } else if rest.starts_with(b"Tm") {
                    // A new line where the text matrix moves to another baseline.
                    let before = String::from_utf8_lossy(&content[i.saturating_sub(40)..i]);
                    let y: Option<f32> = before
                        .split_whitespace()
                        .last()
                        .and_then(|y| y.parse().ok());
                    if y.is_some() && y != baseline {
                        if baseline.is_some() {
                            text.push('\n');
                        }
                        baseline = y;
                    }
                    i += 2;
                } else {
                    i += 1;
                }
            }
        }
    }
    text
}
