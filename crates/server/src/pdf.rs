//! Readable documents — a patient's record export, a prescription — as A4 PDFs: a title,
//! headings, wrapped body text, QR codes and a footer on every page.
//!
//! Written with krilla, the fonts embedded and subset (only the glyphs a document uses),
//! so every reader shows the same letters and text prints as it was written. Noto Sans
//! (shipped in `fonts/`, SIL Open Font License) covers the Latin alphabets, Vietnamese
//! included, Greek and Cyrillic. A clinic adds fonts for other scripts
//! (`record.pdf_fonts`): for a character Noto Sans lacks they are tried in order. A
//! character that no font has prints as a box, its text stays in the file (to copy and
//! search), and the document says so at its end.

use std::path::PathBuf;
use std::sync::Arc;

use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::tagging::{ContentTag, SpanTag};
use krilla::text::{Font, TextDirection};
use krilla::{Data, Document};
use telemed_domain::Error;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

static NOTO_SANS_REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static NOTO_SANS_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");

/// Said at the end of a document that holds characters no font has.
const UNPRINTABLE_NOTE: &str = "Some characters have no font on this server and print as \
boxes; the record keeps them as written. / Algunos caracteres no tienen fuente en este \
servidor y se imprimen como recuadros; el registro los conserva tal como se escribieron.";

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

    fn bold(self) -> bool {
        matches!(self, Style::Title | Style::Heading)
    }

    fn leading(self) -> f32 {
        self.size() * 1.35
    }
}

/// One font file: krilla's handle to draw with, its bytes to measure with.
#[derive(Clone)]
struct Face {
    font: Font,
    bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
}

impl Face {
    fn load(bytes: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Option<Face> {
        ttf_parser::Face::parse((*bytes).as_ref(), 0).ok()?;
        let font = Font::new(Data::from(bytes.clone()), 0)?;
        Some(Face { font, bytes })
    }
}

/// A regular and a bold face; a clinic's added font serves as both.
#[derive(Clone)]
struct Family {
    regular: Face,
    bold: Face,
}

/// The fonts documents are written in: Noto Sans, then the clinic's added fonts.
#[derive(Clone)]
pub struct Fonts {
    families: Vec<Family>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fonts({} families)", self.families.len())
    }
}

impl Fonts {
    /// Noto Sans alone.
    pub fn bundled() -> Result<Fonts, String> {
        let face = |bytes: &'static [u8]| {
            Face::load(Arc::new(bytes)).ok_or("the bundled Noto Sans does not load")
        };
        Ok(Fonts {
            families: vec![Family {
                regular: face(NOTO_SANS_REGULAR)?,
                bold: face(NOTO_SANS_BOLD)?,
            }],
        })
    }

    /// Noto Sans, then each of `paths` (TrueType or OpenType, the first font of a
    /// collection) for the characters the fonts before it lack.
    pub fn with_fallbacks(paths: &[PathBuf]) -> Result<Fonts, String> {
        let mut fonts = Fonts::bundled()?;
        for path in paths {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("reading the PDF font {}: {e}", path.display()))?;
            let face = Face::load(Arc::new(bytes)).ok_or_else(|| {
                format!(
                    "the PDF font {} is not a TrueType or OpenType font",
                    path.display()
                )
            })?;
            fonts.families.push(Family {
                regular: face.clone(),
                bold: face,
            });
        }
        Ok(fonts)
    }
}

/// What is drawn on a page, in points from its top-left corner.
#[derive(Debug)]
enum Mark {
    Text {
        x: f32,
        baseline: f32,
        style: Style,
        run: Run,
    },
    /// Filled rectangles, one path: `(x, y, width, height)`.
    Squares(Vec<(f32, f32, f32, f32)>),
}

/// Characters drawn in one font.
#[derive(Debug, PartialEq)]
struct Run {
    family: usize,
    text: String,
    /// No font has these characters: drawn as boxes, their text kept as the span's
    /// `/ActualText` (what readers copy and search).
    unprintable: bool,
}

/// Builds a document page by page; `finish` writes it.
pub struct PdfWriter<'f> {
    fonts: &'f Fonts,
    /// Parsed once per document, to measure text: `[regular, bold]` per family.
    faces: Vec<[ttf_parser::Face<'f>; 2]>,
    pages: Vec<Vec<Mark>>,
    current: Vec<Mark>,
    /// Where the next line's top is, from the top of the page.
    y: f32,
    title: String,
    /// Whether some character had no font.
    unprintable: bool,
}

impl<'f> PdfWriter<'f> {
    pub fn new(title: &str, fonts: &'f Fonts) -> Result<Self, Error> {
        let parse = |face: &'f Face| {
            ttf_parser::Face::parse((*face.bytes).as_ref(), 0)
                .map_err(|e| Error::internal(format!("a PDF font does not parse: {e}")))
        };
        let mut faces = Vec::with_capacity(fonts.families.len());
        for family in &fonts.families {
            faces.push([parse(&family.regular)?, parse(&family.bold)?]);
        }
        Ok(PdfWriter {
            faces,
            fonts,
            pages: Vec::new(),
            current: Vec::new(),
            y: MARGIN,
            title: title.to_owned(),
            unprintable: false,
        })
    }

    pub fn title(&mut self, text: &str) {
        self.paragraph(text, Style::Title);
        self.gap(4.0);
    }

    /// A section heading, kept with at least two lines after it.
    pub fn heading(&mut self, text: &str) {
        if self.y + Style::Heading.leading() + 2.0 * Style::Body.leading() > PAGE_HEIGHT - MARGIN {
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
        let module = width / (qr.size() + 8) as f32;
        if self.y + width > PAGE_HEIGHT - MARGIN {
            self.new_page();
        }
        let top = self.y;
        // One rectangle per horizontal run of dark modules, each a hair taller and wider
        // so that no seam of light shows between them.
        let mut squares = Vec::new();
        for row in 0..qr.size() {
            let mut x = 0;
            while x < qr.size() {
                if !qr.get_module(x, row) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < qr.size() && qr.get_module(x, row) {
                    x += 1;
                }
                squares.push((
                    MARGIN + (start + 4) as f32 * module,
                    top + (row + 4) as f32 * module,
                    ((x - start) as f32 + 0.02) * module,
                    1.02 * module,
                ));
            }
        }
        self.current.push(Mark::Squares(squares));
        self.y = top + width;
        Ok(())
    }

    pub fn gap(&mut self, points: f32) {
        self.y += points;
    }

    fn paragraph(&mut self, text: &str, style: Style) {
        for line in text.split('\n') {
            for wrapped in self.wrap(line, style) {
                self.line(wrapped, style);
            }
        }
    }

    fn line(&mut self, text: String, style: Style) {
        if self.y + style.leading() > PAGE_HEIGHT - MARGIN {
            self.new_page();
        }
        self.y += style.leading();
        self.draw(MARGIN, self.y - style.size() * 0.3, text, style);
    }

    /// Places `text` with its baseline at `baseline`, one mark per run of characters
    /// that one font draws.
    fn draw(&mut self, x: f32, baseline: f32, text: String, style: Style) {
        let mut x = x;
        for run in self.runs(&text, style) {
            let width = self.width_in(run.family, &run.text, style);
            self.current.push(Mark::Text {
                x,
                baseline,
                style,
                run,
            });
            x += width;
        }
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.current));
        self.y = MARGIN;
    }

    fn face(&self, family: usize, style: Style) -> &ttf_parser::Face<'f> {
        &self.faces[family][usize::from(style.bold())]
    }

    /// Splits `text` into runs each drawn in one font: a character stays in the run
    /// it is in when that font has it (spaces always do), else goes to the first
    /// font that has it. Those that no font has make runs of their own in Noto Sans
    /// (boxes), and are noted.
    fn runs(&mut self, text: &str, style: Style) -> Vec<Run> {
        let families = self.faces.len();
        let mut runs: Vec<Run> = Vec::new();
        for c in text.chars() {
            let current = runs.last().filter(|r| !r.unprintable).map(|r| r.family);
            let has = |f: usize| self.face(f, style).glyph_index(c).is_some();
            let (family, unprintable) = match pick_family(c, current, families, has) {
                Some(f) => (f, false),
                None => {
                    self.unprintable = true;
                    (0, true)
                }
            };
            match runs.last_mut() {
                Some(r) if r.family == family && r.unprintable == unprintable => r.text.push(c),
                _ => runs.push(Run {
                    family,
                    text: c.to_string(),
                    unprintable,
                }),
            }
        }
        runs
    }

    /// The advance of `c` in points, in the font that would draw it after `current`.
    fn advance(&self, c: char, current: Option<usize>, style: Style) -> (usize, f32) {
        let has = |f: usize| self.face(f, style).glyph_index(c).is_some();
        let family = pick_family(c, current, self.faces.len(), has).unwrap_or(current.unwrap_or(0));
        (family, self.advance_in(family, c, style))
    }

    fn advance_in(&self, family: usize, c: char, style: Style) -> f32 {
        let face = self.face(family, style);
        let glyph = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        let units = face.glyph_hor_advance(glyph).unwrap_or(0);
        f32::from(units) * style.size() / f32::from(face.units_per_em())
    }

    fn width_in(&self, family: usize, text: &str, style: Style) -> f32 {
        text.chars()
            .map(|c| self.advance_in(family, c, style))
            .sum()
    }

    /// Splits a line into lines that fit the text width, at spaces where possible; a
    /// word longer than a line is cut.
    fn wrap(&self, line: &str, style: Style) -> Vec<String> {
        let mut lines = Vec::new();
        let mut current = String::new();
        let mut width = 0.0;
        let mut family = None;
        for word in line.split(' ') {
            let mut word_family = family;
            let space = if current.is_empty() {
                0.0
            } else {
                let (f, w) = self.advance(' ', word_family, style);
                word_family = Some(f);
                w
            };
            let mut word_width = 0.0;
            for c in word.chars() {
                let (f, w) = self.advance(c, word_family, style);
                word_family = Some(f);
                word_width += w;
            }
            if width + space + word_width <= TEXT_WIDTH {
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(word);
                width += space + word_width;
                family = word_family;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
                width = 0.0;
            }
            for c in word.chars() {
                let (f, w) = self.advance(c, family, style);
                if width + w > TEXT_WIDTH && !current.is_empty() {
                    lines.push(std::mem::take(&mut current));
                    width = 0.0;
                }
                current.push(c);
                width += w;
                family = Some(f);
            }
        }
        lines.push(current);
        lines
    }

    /// The finished file: every page gets a footer with the title and "page n of N".
    pub fn finish(mut self) -> Result<Vec<u8>, Error> {
        if self.unprintable {
            self.gap(8.0);
            self.small(UNPRINTABLE_NOTE);
        }
        if !self.current.is_empty() || self.pages.is_empty() {
            self.pages.push(std::mem::take(&mut self.current));
        }
        let total = self.pages.len();
        let footer_baseline = PAGE_HEIGHT - MARGIN / 2.0;
        for n in 0..total {
            self.current = Vec::new();
            let title = self.title.clone();
            self.draw(MARGIN, footer_baseline, title, Style::Small);
            let count = format!("page {} of {total}", n + 1);
            let width: f32 = count
                .chars()
                .map(|c| self.advance_in(0, c, Style::Small))
                .sum();
            self.draw(
                PAGE_WIDTH - MARGIN - width,
                footer_baseline,
                count,
                Style::Small,
            );
            let footer = std::mem::take(&mut self.current);
            self.pages[n].extend(footer);
        }

        let mut document = Document::new();
        document.set_metadata(
            krilla::metadata::Metadata::new()
                .title(self.title.clone())
                .producer("telemed".into()),
        );
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| Error::internal("the A4 page size"))?;
        for marks in &self.pages {
            let mut page = document.start_page_with(settings.clone());
            let mut surface = page.surface();
            for mark in marks {
                match mark {
                    Mark::Text {
                        x,
                        baseline,
                        style,
                        run,
                    } => {
                        let family = &self.fonts.families[run.family];
                        let face = if style.bold() {
                            &family.bold
                        } else {
                            &family.regular
                        };
                        if run.unprintable {
                            surface.start_tagged(ContentTag::Span(SpanTag {
                                actual_text: Some(&run.text),
                                ..SpanTag::empty()
                            }));
                        }
                        surface.draw_text(
                            Point::from_xy(*x, *baseline),
                            face.font.clone(),
                            style.size(),
                            &run.text,
                            false,
                            TextDirection::Auto,
                        );
                        if run.unprintable {
                            surface.end_tagged();
                        }
                    }
                    Mark::Squares(squares) => {
                        let mut path = PathBuilder::new();
                        for (x, y, width, height) in squares {
                            if let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) {
                                path.push_rect(rect);
                            }
                        }
                        if let Some(path) = path.finish() {
                            surface.draw_path(&path);
                        }
                    }
                }
            }
            surface.finish();
            page.finish();
        }
        document
            .finish()
            .map_err(|e| Error::internal(format!("writing a PDF: {e:?}")))
    }
}

/// Which font draws `c`: the current run's when it has it (or `c` is a space), else the
/// first that has it; `None` when none has.
fn pick_family(
    c: char,
    current: Option<usize>,
    families: usize,
    has: impl Fn(usize) -> bool,
) -> Option<usize> {
    if let Some(f) = current {
        if c == ' ' || has(f) {
            return Some(f);
        }
    }
    (0..families).find(|f| has(*f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::io::Read;

    /// The inflated bodies of a PDF's streams.
    fn streams(pdf: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = pdf;
        while let Some(start) = find(rest, b"stream\n") {
            let body = &rest[start + 7..];
            let end = find(body, b"\nendstream").unwrap_or(body.len());
            let mut inflated = Vec::new();
            if flate2::read::ZlibDecoder::new(&body[..end])
                .read_to_end(&mut inflated)
                .is_ok()
            {
                out.push(inflated);
            } else {
                out.push(body[..end].to_vec());
            }
            rest = &body[(end + 10).min(body.len())..];
        }
        out
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Every character the fonts' ToUnicode maps say the document draws.
    fn characters_drawn(pdf: &[u8]) -> BTreeSet<char> {
        let mut chars = BTreeSet::new();
        for s in streams(pdf) {
            let text = String::from_utf8_lossy(&s);
            if !text.contains("begincmap") {
                continue;
            }
            for hex in text.split('<').skip(1).filter_map(|t| t.split('>').next()) {
                if hex.len() < 4 || hex.len() % 4 != 0 {
                    continue;
                }
                let units: Vec<u16> = (0..hex.len())
                    .step_by(4)
                    .filter_map(|i| u16::from_str_radix(&hex[i..i + 4], 16).ok())
                    .collect();
                chars.extend(char::decode_utf16(units).filter_map(Result::ok));
            }
        }
        chars
    }

    fn pages(pdf: &[u8]) -> usize {
        let raw = String::from_utf8_lossy(pdf);
        raw.matches("/Type/Page").count() - raw.matches("/Type/Pages").count()
    }

    #[test]
    fn names_in_any_latin_greek_or_cyrillic_script_are_embedded_as_written() {
        let fonts = Fonts::bundled().unwrap();
        let mut w = PdfWriter::new("Record of Nguyễn Văn Ánh", &fonts).unwrap();
        w.title("Nguyễn Văn Ánh");
        w.heading("Ελένη Παπαδοπούλου");
        w.text("Иван Петров — Zoë Łukasz Øster «ç»");
        for i in 0..200 {
            w.text(&format!("Line {i}: Psoriasis (vulgaris) \\ since 2019"));
        }
        assert!(!w.unprintable);
        let pdf = w.finish().unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let drawn = characters_drawn(&pdf);
        for c in "Nguyễn Văn Ánh Ελένη Παπαδοπούλου Иван Петров Zoë Łukasz Øster «ç» \\()—"
            .chars()
            .filter(|c| *c != ' ')
        {
            assert!(drawn.contains(&c), "{c} is not drawn");
        }
        let raw = String::from_utf8_lossy(&pdf);
        assert!(raw.contains("/FontFile2"), "the fonts are embedded");
        assert!(raw.contains("+NotoSans-Regular"), "subset of Noto Sans");
        assert!(raw.contains("+NotoSans-Bold"));
        // 200 lines do not fit on one page; every page has its footer.
        let n = pages(&pdf);
        assert!(n >= 4, "{n} pages");
        // Subset: far smaller than the two fonts (about 1 MB).
        assert!(pdf.len() < 120_000, "{} bytes", pdf.len());
    }

    #[test]
    fn a_character_no_font_has_is_kept_and_the_document_says_so() {
        let fonts = Fonts::bundled().unwrap();
        let mut w = PdfWriter::new("Record", &fonts).unwrap();
        w.text("Wang 王芳");
        assert!(w.unprintable);
        let pdf = w.finish().unwrap();
        let text = streams(&pdf)
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<String>();
        // krilla keeps the characters drawn as boxes as the text they stand for.
        assert!(
            text.contains("/ActualText"),
            "the text behind the boxes is kept"
        );
        let drawn = characters_drawn(&pdf);
        for c in "recuadros".chars() {
            assert!(drawn.contains(&c), "the note is printed: {c}");
        }
    }

    #[test]
    fn a_font_is_chosen_per_character_keeping_runs_together() {
        // Font 0 has Latin, font 1 has Han.
        let has = |c: char| move |f: usize| if c.is_ascii() { f == 0 } else { f == 1 };
        assert_eq!(pick_family('a', None, 2, has('a')), Some(0));
        assert_eq!(pick_family('王', Some(0), 2, has('王')), Some(1));
        assert_eq!(
            pick_family(' ', Some(1), 2, has(' ')),
            Some(1),
            "a space stays"
        );
        assert_eq!(pick_family('b', Some(1), 2, has('b')), Some(0));
        assert_eq!(pick_family('王', None, 1, has('王')), None);
    }

    #[test]
    fn long_lines_wrap_within_the_text_width() {
        let fonts = Fonts::bundled().unwrap();
        let w = PdfWriter::new("t", &fonts).unwrap();
        let long = "word ".repeat(60);
        let lines = w.wrap(long.trim(), Style::Body);
        assert!(lines.len() >= 2 && lines.len() <= 4, "{lines:?}");
        assert!(lines.iter().all(|l| !l.starts_with(' ')));
        for l in &lines {
            assert!(w.width_in(0, l, Style::Body) <= TEXT_WIDTH + 0.01);
        }
        let unbroken = "x".repeat(400);
        assert!(w.wrap(&unbroken, Style::Body).len() >= 3);
    }

    #[test]
    fn a_file_that_is_not_a_font_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("telemed-font-{}", std::process::id()));
        std::fs::write(&dir, b"not a font").unwrap();
        let e = Fonts::with_fallbacks(std::slice::from_ref(&dir)).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(e.contains("is not a TrueType or OpenType font"), "{e}");
        let missing = Fonts::with_fallbacks(&[PathBuf::from("/nonexistent/font.ttf")]);
        assert!(missing.unwrap_err().contains("/nonexistent/font.ttf"));
        let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fonts/NotoSans-Bold.ttf");
        assert_eq!(Fonts::with_fallbacks(&[shipped]).unwrap().families.len(), 2);
    }
}
