//! A small PDF writer for readable documents such as a patient's record export: A4
//! pages of wrapped text in the standard Helvetica fonts (no font files embedded, so the
//! output is small and every PDF reader has them), a title, headings, body text and a
//! page footer. Text is encoded as WinAnsi, which covers the Latin alphabets of
//! western Europe; other characters print as `?`.

use std::fmt::Write as _;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Title,
    Heading,
    Body,
    Small,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Style::Title => 18.0,
            Style::Heading => 13.0,
            Style::Body => 10.0,
            Style::Small => 8.5,
        }
    }

    fn font(self) -> &'static str {
        match self {
            Style::Title | Style::Heading => "F2",
            Style::Body | Style::Small => "F1",
        }
    }

    fn leading(self) -> f32 {
        self.size() * 1.35
    }
}

/// Builds a PDF page by page.
#[derive(Debug, Default)]
pub struct PdfWriter {
    pages: Vec<String>,
    current: String,
    /// Baseline of the next line, from the bottom of the page.
    y: f32,
    title: String,
}

impl PdfWriter {
    pub fn new(title: &str) -> Self {
        let mut w = PdfWriter {
            title: title.to_owned(),
            ..Default::default()
        };
        w.y = PAGE_HEIGHT - MARGIN;
        w
    }

    pub fn title(&mut self, text: &str) {
        self.paragraph(text, Style::Title);
        self.gap(4.0);
    }

    /// A section heading, kept with at least two lines after it.
    pub fn heading(&mut self, text: &str) {
        if self.y - Style::Heading.leading() - 2.0 * Style::Body.leading() < MARGIN {
            self.new_page();
        }
        self.gap(8.0);
        self.paragraph(text, Style::Heading);
        self.gap(2.0);
    }

    /// Body text; line breaks in `text` are kept, long lines wrapped.
    pub fn text(&mut self, text: &str) {
        self.paragraph(text, Style::Body);
    }

    /// Smaller, secondary text (dates, authors).
    pub fn small(&mut self, text: &str) {
        self.paragraph(text, Style::Small);
    }

    /// A QR code of `text` (error correction medium), `width` points wide, drawn as
    /// vector squares at the left margin: sharp at any print size.
    pub fn qr(&mut self, text: &str, width: f32) -> Result<(), String> {
        let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
            .map_err(|e| format!("QR: {e:?}"))?;
        // A quiet zone of four modules on every side, as readers expect.
        let modules = qr.size() + 8;
        let module = width / modules as f32;
        if self.y - width < MARGIN {
            self.new_page();
        }
        let top = self.y;
        // In module units: one rectangle per horizontal run of dark modules, each run
        // drawn a hair taller and wider so that no seam of light shows between them.
        let _ = writeln!(
            self.current,
            "q 0 g {module:.4} 0 0 {module:.4} {MARGIN:.2} {:.2} cm",
            top - width
        );
        let rows = qr.size();
        for y in 0..rows {
            let mut x = 0;
            while x < rows {
                if !qr.get_module(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < rows && qr.get_module(x, y) {
                    x += 1;
                }
                let _ = writeln!(
                    self.current,
                    "{} {} {}.02 1.02 re f",
                    start + 4,
                    rows + 3 - y,
                    x - start
                );
            }
        }
        let _ = writeln!(self.current, "Q");
        self.y = top - width;
        Ok(())
    }

    pub fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    fn paragraph(&mut self, text: &str, style: Style) {
        for line in text.split('\n') {
            for wrapped in wrap(line, style.size()) {
                self.line(&wrapped, style);
            }
        }
    }

    fn line(&mut self, text: &str, style: Style) {
        if self.y - style.leading() < MARGIN {
            self.new_page();
        }
        self.y -= style.leading();
        let _ = writeln!(
            self.current,
            "BT /{} {} Tf {} {} Td ({}) Tj ET",
            style.font(),
            style.size(),
            MARGIN,
            self.y,
            escape(text)
        );
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.current));
        self.y = PAGE_HEIGHT - MARGIN;
    }

    /// The finished file: every page gets a footer with the title and "page n of N".
    pub fn finish(mut self) -> Vec<u8> {
        if !self.current.is_empty() || self.pages.is_empty() {
            self.pages.push(std::mem::take(&mut self.current));
        }
        let total = self.pages.len();
        let mut objects: Vec<String> = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            String::new(), // the page tree, filled in below
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .into(),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
                .into(),
            format!("<< /Title ({}) /Producer (telemed) >>", escape(&self.title)),
        ];
        let mut kids = Vec::with_capacity(total);
        for (n, content) in self.pages.iter().enumerate() {
            let footer = format!(
                "BT /F1 8 Tf {MARGIN} {} Td ({}) Tj ET\nBT /F1 8 Tf {} {} Td (page {} of {total}) Tj ET\n",
                MARGIN / 2.0,
                escape(&self.title),
                PAGE_WIDTH - MARGIN - 50.0,
                MARGIN / 2.0,
                n + 1
            );
            let stream = format!("{content}{footer}");
            let page_id = objects.len() + 1;
            objects.push(format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                page_id + 1
            ));
            objects.push(format!(
                "<< /Length {} >>\nstream\n{stream}endstream",
                stream.len()
            ));
            kids.push(format!("{page_id} 0 R"));
        }
        objects[1] = format!(
            "<< /Type /Pages /Kids [{}] /Count {total} >>",
            kids.join(" ")
        );
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for offset in offsets {
            let _ = writeln!(table, "{offset:010} 00000 n ");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        );
        out.extend_from_slice(table.as_bytes());
        out
    }
}

/// The WinAnsi byte for a character, `?` when it has none.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '\t' => b' ',
        _ => b'?',
    }
}

/// A PDF string literal's body: WinAnsi bytes, with `( ) \` escaped and bytes above
/// ASCII written as octal escapes, so the file stays 7-bit text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.chars().map(win_ansi) {
        match byte {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(byte as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => {
                let _ = write!(out, "\\{byte:03o}");
            }
        }
    }
    out
}

/// Approximate Helvetica advance width of a character, in thousandths of an em.
fn advance(c: char) -> f32 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 260.0,
        ' ' | 'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | '/' | '-' => 320.0,
        'm' | 'w' | 'M' | 'W' | '@' => 850.0,
        'A'..='Z' | '%' | '&' => 690.0,
        _ => 556.0,
    }
}

/// Splits a line into lines that fit the text width at `size` points, at spaces where
/// possible.
fn wrap(line: &str, size: f32) -> Vec<String> {
    let max = TEXT_WIDTH * 1000.0 / size;
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut width = 0.0;
    for word in line.split(' ') {
        let word_width: f32 = word.chars().map(advance).sum();
        let space = if current.is_empty() {
            0.0
        } else {
            advance(' ')
        };
        if width + space + word_width <= max {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
            width += space + word_width;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
            width = 0.0;
        }
        // A word longer than a line is cut.
        for c in word.chars() {
            let w = advance(c);
            if width + w > max {
                lines.push(std::mem::take(&mut current));
                width = 0.0;
            }
            current.push(c);
            width += w;
        }
    }
    lines.push(current);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(pdf: &[u8]) -> String {
        String::from_utf8_lossy(pdf).into_owned()
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let mut w = PdfWriter::new("Record of Ana López");
        w.title("Record of Ana López");
        w.heading("Problems");
        for i in 0..200 {
            w.text(&format!("Line {i}: Psoriasis (vulgaris) \\ since 2019"));
        }
        let pdf = w.finish();
        let s = text_of(&pdf);
        assert!(s.starts_with("%PDF-1.4"));
        assert!(s.ends_with("%%EOF\n"));
        let startxref: usize = s
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let table = std::str::from_utf8(&pdf[startxref..]).unwrap();
        assert!(table.starts_with("xref\n"));
        let offsets: Vec<usize> = table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().unwrap())
            .collect();
        for (i, offset) in offsets.iter().enumerate() {
            assert!(
                pdf[*offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
        // 200 lines do not fit on one page; every page says how many there are.
        let pages = s.matches("/Type /Page ").count();
        assert!(pages >= 4, "{pages}");
        assert_eq!(s.matches(&format!(" of {pages}) Tj")).count(), pages);
        assert!(s.contains(r"(Line 7: Psoriasis \(vulgaris\) \\ since 2019) Tj"));
        assert!(s.contains(r"L\363pez"), "ó as WinAnsi octal");
        // Each stream's /Length is its byte count.
        let body = std::str::from_utf8(&pdf[15..]).unwrap();
        for part in body.split("<< /Length ").skip(1) {
            let (n, rest) = part.split_once(" >>\nstream\n").unwrap();
            let n: usize = n.parse().unwrap();
            assert!(rest[n..].starts_with("endstream"));
        }
    }

    #[test]
    fn long_lines_wrap_and_unknown_characters_show_as_question_marks() {
        let long = "word ".repeat(60);
        let lines = wrap(long.trim(), 10.0);
        assert!(lines.len() >= 2 && lines.len() <= 4, "{lines:?}");
        assert!(lines.iter().all(|l| !l.starts_with(' ')));
        let unbroken = "x".repeat(400);
        assert!(wrap(&unbroken, 10.0).len() >= 3);
        assert_eq!(escape("Zoë 北京"), "Zo\\353 ??");
    }
}
