//! Reads the translations in `locales/` (one Fluent file per language, `en.ftl` first)
//! and writes the Rust that serves them (`$OUT_DIR/catalogue.rs`, included by
//! `src/i18n.rs`): the `Lang` enum with one variant per file, the `Texts` struct with
//! one field per message without variables, and one method (with a struct naming its
//! arguments) per message with variables.
//!
//! The build stops, naming file and key, when a file does not parse, a language lacks a
//! key English has or has one English lacks, or a message uses other variables than
//! its English: an incomplete translation never ships.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement, Resource};

type Failure = Box<dyn std::error::Error>;

/// One message of a file: its variables, and its English text for the docs.
struct Message {
    variables: BTreeSet<String>,
    text: String,
}

struct Language {
    code: String,
    path: PathBuf,
    messages: BTreeMap<String, Message>,
    order: Vec<String>,
}

fn main() -> Result<(), Failure> {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR")?).join("locales");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut languages = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_some_and(|e| e == "ftl") {
            languages.push(read_language(&path)?);
        }
    }
    languages.sort_by_key(|l| (l.code != "en", l.code.clone()));
    let Some(english) = languages.first().filter(|l| l.code == "en") else {
        return Err(format!("{} has no en.ftl, the reference language", dir.display()).into());
    };
    let mut problems = Vec::new();
    for other in &languages[1..] {
        problems.extend(compare(english, other));
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{problem}");
        }
        let count = problems.len();
        return Err(format!("{count} problems in the translations, listed above").into());
    }
    let out = Path::new(&std::env::var("OUT_DIR")?).join("catalogue.rs");
    std::fs::write(out, generate(&languages))?;
    Ok(())
}

fn read_language(path: &Path) -> Result<Language, Failure> {
    let code = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase()))
        .ok_or_else(|| {
            format!(
                "{}: name a language file by its code, e.g. fr.ftl",
                path.display()
            )
        })?
        .to_owned();
    let source = std::fs::read_to_string(path)?;
    let resource: Resource<&str> =
        fluent_syntax::parser::parse(source.as_str()).map_err(|(_, errors)| {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| {
                    let line = source[..e.pos.start.min(source.len())]
                        .matches('\n')
                        .count()
                        + 1;
                    format!("{}:{line}: {:?}", path.display(), e.kind)
                })
                .collect();
            lines.join("\n")
        })?;
    let mut messages = BTreeMap::new();
    let mut order = Vec::new();
    for entry in &resource.body {
        match entry {
            Entry::Message(m) => {
                let id = m.id.name.to_owned();
                let Some(value) = &m.value else {
                    return Err(format!("{}: {id} has no text", path.display()).into());
                };
                if !m.attributes.is_empty() {
                    return Err(format!(
                        "{}: {id}: attributes are not used by telemed",
                        path.display()
                    )
                    .into());
                }
                let mut variables = BTreeSet::new();
                pattern_variables(value, &mut variables);
                let text = value
                    .elements
                    .iter()
                    .map(|e| match e {
                        PatternElement::TextElement { value } => (*value).to_owned(),
                        PatternElement::Placeable { .. } => "{…}".to_owned(),
                    })
                    .collect::<String>();
                if messages
                    .insert(id.clone(), Message { variables, text })
                    .is_some()
                {
                    return Err(format!("{}: {id} is written twice", path.display()).into());
                }
                order.push(id);
            }
            Entry::Junk { content } => {
                return Err(format!("{}: cannot read {content:?}", path.display()).into());
            }
            _ => {}
        }
    }
    Ok(Language {
        code,
        path: path.to_owned(),
        messages,
        order,
    })
}

fn pattern_variables(pattern: &Pattern<&str>, into: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let PatternElement::Placeable { expression } = element {
            expression_variables(expression, into);
        }
    }
}

fn expression_variables(expression: &Expression<&str>, into: &mut BTreeSet<String>) {
    match expression {
        Expression::Select { selector, variants } => {
            inline_variables(selector, into);
            for v in variants {
                pattern_variables(&v.value, into);
            }
        }
        Expression::Inline(inline) => inline_variables(inline, into),
    }
}

fn inline_variables(inline: &InlineExpression<&str>, into: &mut BTreeSet<String>) {
    match inline {
        InlineExpression::VariableReference { id } => {
            into.insert(id.name.to_owned());
        }
        InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_variables(a, into);
            }
            for a in &arguments.named {
                inline_variables(&a.value, into);
            }
        }
        InlineExpression::Placeable { expression } => expression_variables(expression, into),
        _ => {}
    }
}

/// What keeps `other` from standing in for English, one line each.
fn compare(english: &Language, other: &Language) -> Vec<String> {
    let file = other.path.display();
    let mut problems = Vec::new();
    for (key, message) in &english.messages {
        match other.messages.get(key) {
            None => problems.push(format!(
                "{file}: {key} is missing (English: {:?})",
                message.text
            )),
            Some(m) if m.variables != message.variables => problems.push(format!(
                "{file}: {key} uses {:?}, English uses {:?}",
                m.variables, message.variables
            )),
            Some(_) => {}
        }
    }
    for key in other.messages.keys() {
        if !english.messages.contains_key(key) {
            problems.push(format!("{file}: {key} is not in en.ftl"));
        }
    }
    problems
}

fn camel(key: &str) -> String {
    key.split(['_', '-'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn field(key: &str) -> String {
    key.replace('-', "_")
}

fn generate(languages: &[Language]) -> String {
    let english = &languages[0];
    let mut out = String::new();
    let variants: Vec<String> = languages.iter().map(|l| camel(&l.code)).collect();
    let _ = writeln!(
        out,
        "/// The languages telemed speaks: one for each file in `crates/server/locales`.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\npub enum Lang {{ {} }}\n",
        variants.join(", ")
    );
    let _ = writeln!(
        out,
        "impl Lang {{\n    pub const ALL: [Lang; {n}] = [{all}];\n\n    pub fn code(self) -> &'static str {{\n        match self {{ {codes} }}\n    }}\n\n    /// The language's Fluent file.\n    fn source(self) -> &'static str {{\n        match self {{ {sources} }}\n    }}\n}}\n",
        n = languages.len(),
        all = variants.iter().map(|v| format!("Lang::{v}")).collect::<Vec<_>>().join(", "),
        codes = languages
            .iter()
            .zip(&variants)
            .map(|(l, v)| format!("Lang::{v} => {:?},", l.code))
            .collect::<String>(),
        sources = languages
            .iter()
            .zip(&variants)
            .map(|(l, v)| format!("Lang::{v} => include_str!({:?}),", l.path.display().to_string()))
            .collect::<String>(),
    );
    let _ =
        writeln!(
        out,
        "/// Every message's key, in the order of en.ftl.\npub const KEYS: [&str; {}] = [{}];\n",
        english.order.len(),
        english.order.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
    );
    let plain: Vec<&String> = english
        .order
        .iter()
        .filter(|k| english.messages[*k].variables.is_empty())
        .collect();
    let with_variables: Vec<&String> = english
        .order
        .iter()
        .filter(|k| !english.messages[*k].variables.is_empty())
        .collect();
    out.push_str("/// Every text of the UI in one language: the texts without variables as fields, ready\n/// to print; those with variables as methods (see `args`).\npub struct Texts {\n    lang: Lang,\n    bundle: Bundle,\n");
    for key in &plain {
        let _ = writeln!(
            out,
            "    /// {:?}\n    pub {}: &'static str,",
            english.messages[*key].text,
            field(key)
        );
    }
    out.push_str("}\n\nimpl Texts {\n    fn load(lang: Lang) -> Texts {\n        let bundle = bundle(lang);\n        Texts {\n");
    for key in &plain {
        let _ = writeln!(out, "            {}: plain(&bundle, {key:?}),", field(key));
    }
    out.push_str("            lang,\n            bundle,\n        }\n    }\n\n    /// Every text without variables, as (key, text).\n");
    let _ = writeln!(
        out,
        "    pub fn plain_texts(&self) -> [(&'static str, &'static str); {}] {{\n        [{}]\n    }}\n",
        plain.len(),
        plain.iter().map(|k| format!("({k:?}, self.{})", field(k))).collect::<Vec<_>>().join(", ")
    );
    for key in &with_variables {
        let message = &english.messages[*key];
        let sets: String = message
            .variables
            .iter()
            .map(|v| format!("        values.set({v:?}, args.{});\n", field(v)))
            .collect();
        let _ = writeln!(
            out,
            "    /// {:?}\n    pub fn {}(&self, args: args::{}<'_>) -> String {{\n        let mut values = FluentArgs::new();\n{sets}        format(&self.bundle, {key:?}, &values)\n    }}\n",
            message.text,
            field(key),
            camel(key),
        );
    }
    out.push_str("}\n\n/// The values the texts with variables take, named as the Fluent files name them.\npub mod args {\n    use fluent_bundle::FluentValue;\n");
    for key in &with_variables {
        let fields: String = english.messages[*key]
            .variables
            .iter()
            .map(|v| format!("        pub {}: FluentValue<'a>,\n", field(v)))
            .collect();
        let _ = writeln!(
            out,
            "\n    /// The values of `{key}`.\n    pub struct {}<'a> {{\n{fields}    }}",
            camel(key)
        );
    }
    out.push_str("}\n");
    out
}
