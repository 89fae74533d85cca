//! The design system's rules, checked against the stylesheet and the templates: every
//! colour is a token of the light and the dark theme, every text colour is readable (WCAG
//! AA) on the surfaces it is drawn on in both, and every icon a page calls is in the
//! sprite (and every icon of the sprite is called somewhere).

use std::collections::{BTreeMap, BTreeSet};

const STYLESHEET: &str = include_str!("../../assets/telemed.css");
const SPRITE: &str = include_str!("../../templates/icons.html");
const DARK: &str = "@media (prefers-color-scheme: dark) {";

/// Text on a surface, as the stylesheet draws it; each pair must reach 4.5:1 in both themes.
const TEXT_ON_SURFACE: &[(&str, &[&str])] = &[
    (
        "ink",
        &[
            "bg",
            "card",
            "surface",
            "field",
            "brand-soft",
            "danger-soft",
            "ok-soft",
            "warn-soft",
        ],
    ),
    ("muted", &["bg", "card", "surface", "field"]),
    ("brand", &["bg", "card", "surface", "brand-soft"]),
    ("brand-ink", &["brand", "danger"]),
    ("bar-ink", &["bar"]),
    ("danger", &["bg", "card", "danger-soft"]),
    ("ok", &["card", "ok-soft"]),
    ("warn", &["card", "warn-soft"]),
    ("stage-ink", &["stage", "stage-tile"]),
];

/// Borders that tell a control from its surface need 3:1 (WCAG 1.4.11).
const CONTROL_EDGES: &[(&str, &str)] = &[("muted", "field"), ("brand", "card")];

/// The `--name: #rrggbb` tokens declared in one block of the stylesheet.
fn colour_tokens(block: &str) -> BTreeMap<String, (f64, f64, f64)> {
    let mut tokens = BTreeMap::new();
    let mut uncommented = String::new();
    let mut rest = block;
    while let Some((before, after)) = rest.split_once("/*") {
        uncommented.push_str(before);
        rest = after.split_once("*/").map_or("", |(_, tail)| tail);
    }
    uncommented.push_str(rest);
    for declaration in uncommented.split(';') {
        // The first declaration of a block follows its selector: `:root { --ink: …`.
        let declaration = declaration.rsplit('{').next().unwrap_or_default();
        let Some((name, value)) = declaration.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        let (Some(name), Some(hex)) = (name.strip_prefix("--"), value.strip_prefix('#')) else {
            continue;
        };
        assert_eq!(hex.len(), 6, "--{name} is written #rrggbb");
        let channel = |i: usize| f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        tokens.insert(name.to_owned(), (channel(0), channel(2), channel(4)));
    }
    tokens
}

/// The light theme's block (the first `:root`) and the dark theme's.
fn themes() -> (&'static str, &'static str) {
    let light_start = STYLESHEET.find(":root {").expect("a :root block");
    let light_end = light_start + STYLESHEET[light_start..].find("\n}\n").expect("its end");
    let dark_start = STYLESHEET.find(DARK).expect("a dark theme");
    let dark_end = dark_start + STYLESHEET[dark_start..].find("\n}\n").expect("its end");
    (
        &STYLESHEET[light_start..light_end],
        &STYLESHEET[dark_start..dark_end],
    )
}

fn luminance((r, g, b): (f64, f64, f64)) -> f64 {
    let linear = |c: f64| {
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

fn contrast(a: (f64, f64, f64), b: (f64, f64, f64)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn contrast_is_computed_as_wcag_defines_it() {
    assert!((contrast((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)) - 21.0).abs() < 1e-9);
    assert!((contrast((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) - 1.0).abs() < 1e-9);
    // #777777 on white is the classic just-failing grey (4.48:1).
    let grey = 119.0 / 255.0;
    let ratio = contrast((grey, grey, grey), (1.0, 1.0, 1.0));
    assert!(ratio > 4.4 && ratio < 4.5, "{ratio}");
}

#[test]
fn every_text_colour_is_readable_on_its_surfaces_in_both_themes() {
    let (light, dark) = themes();
    let mut failures = Vec::new();
    for (theme, block) in [("light", light), ("dark", dark)] {
        let tokens = colour_tokens(block);
        let colour = |name: &str| {
            *tokens
                .get(name)
                .unwrap_or_else(|| panic!("the {theme} theme has no --{name}"))
        };
        let pairs = TEXT_ON_SURFACE
            .iter()
            .flat_map(|(ink, surfaces)| surfaces.iter().map(move |s| (*ink, *s, 4.5)))
            .chain(CONTROL_EDGES.iter().map(|(edge, s)| (*edge, *s, 3.0)));
        for (fore, back, needed) in pairs {
            let ratio = contrast(colour(fore), colour(back));
            if ratio < needed {
                failures.push(format!(
                    "{theme}: --{fore} on --{back} is {ratio:.2}:1, needs {needed}:1"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_dark_theme_redefines_every_colour_of_the_light_one() {
    let (light, dark) = themes();
    let light: BTreeSet<_> = colour_tokens(light).into_keys().collect();
    let dark: BTreeSet<_> = colour_tokens(dark).into_keys().collect();
    assert!(light.len() > 20, "{light:?}");
    assert_eq!(light, dark);
}

#[test]
fn no_colour_is_written_outside_the_tokens() {
    let (light, dark) = themes();
    let rest = STYLESHEET.replace(light, "").replace(dark, "");
    let written: Vec<&str> = rest
        .lines()
        .filter(|line| {
            line.contains("rgb")
                || line
                    .split('#')
                    .skip(1)
                    .any(|after| after.starts_with(|c: char| c.is_ascii_hexdigit()))
        })
        .collect();
    assert!(
        written.is_empty(),
        "colours outside the tokens: {written:#?}"
    );
}

/// The names in `use href="#i-…"` of the sprite's symbols and of the templates' calls.
fn icon_calls() -> BTreeMap<String, Vec<String>> {
    let mut calls: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for piece in text.split("ui::icon(\"").skip(1) {
            let name = piece.split('"').next().unwrap().to_owned();
            calls.entry(name).or_default().push(file.clone());
        }
    }
    calls
}

#[test]
fn every_icon_called_is_in_the_sprite_and_every_symbol_is_called() {
    let symbols: BTreeSet<String> = SPRITE
        .split("<symbol id=\"i-")
        .skip(1)
        .map(|piece| piece.split('"').next().unwrap().to_owned())
        .collect();
    let calls = icon_calls();
    let missing: Vec<_> = calls
        .iter()
        .filter(|(name, _)| !symbols.contains(*name))
        .collect();
    assert!(missing.is_empty(), "icons not in the sprite: {missing:?}");
    let unused: Vec<_> = symbols.iter().filter(|s| !calls.contains_key(*s)).collect();
    assert!(unused.is_empty(), "symbols no page calls: {unused:?}");
}
