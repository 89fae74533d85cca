//! A licensed interaction knowledge base, as CSV (RFC 4180: commas, double quotes
//! around fields that hold them, a header line): `a,b,severity,mechanism,advice`, where
//! a side is an ingredient's generic name or `class:<id>` of a known class. Read whole
//! or refused naming the line: a knowledge base is never taken in part.

use std::collections::HashSet;

use super::starter::parse_agent;
use super::{Agent, Interaction, Severity};
use crate::{Error, Result};

const HEADER: [&str; 5] = ["a", "b", "severity", "mechanism", "advice"];

fn bad(line: usize, what: impl std::fmt::Display) -> Error {
    Error::invalid("csv", format!("line {line}: {what}"))
}

/// The records of a CSV text, each with the line it starts on.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                other => field.push(other),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                any = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' => {}
            '\n' => {
                if any || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    out.push((start, std::mem::take(&mut fields)));
                }
                any = false;
                line += 1;
                start = line;
            }
            other => {
                field.push(other);
                any = true;
            }
        }
    }
    if quoted {
        return Err(bad(start, "a quoted field is not closed"));
    }
    if any || !field.is_empty() {
        fields.push(field);
        out.push((start, fields));
    }
    Ok(out)
}

/// The interactions of a CSV knowledge base. `classes` are the class ids a `class:`
/// side may name. Repeated pairs (either way round) are refused.
pub fn read(text: &str, classes: &HashSet<String>) -> Result<Vec<Interaction>> {
    let mut rows = records(text)?.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err(bad(1, "the file is empty"));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if header != HEADER {
        return Err(bad(1, format!("the header is {}", HEADER.join(","))));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (line, row) in rows {
        let [a, b, severity, mechanism, advice] = row.as_slice() else {
            return Err(bad(line, format!("{} fields, not 5", row.len())));
        };
        let side = |s: &str| -> Result<Agent> {
            let s = s.trim();
            if s.is_empty() || s == "class:" {
                return Err(bad(line, "a side is empty"));
            }
            let agent = parse_agent(s);
            if let Agent::Class(id) = &agent {
                if !classes.contains(id) {
                    return Err(bad(line, format!("no class {id}")));
                }
            }
            Ok(agent)
        };
        let (a, b) = (side(a)?, side(b)?);
        let severity = Severity::parse(severity).map_err(|_| {
            bad(
                line,
                format!("severity {severity:?}: one of contraindicated, major, moderate, minor"),
            )
        })?;
        if mechanism.trim().is_empty() || advice.trim().is_empty() {
            return Err(bad(line, "the mechanism and the advice are needed"));
        }
        let key = if a <= b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        if !seen.insert(key) {
            return Err(bad(line, "this pair is already listed"));
        }
        out.push(Interaction {
            a,
            b,
            severity,
            mechanism: mechanism.trim().to_owned(),
            advice: advice.trim().to_owned(),
        });
    }
    if out.is_empty() {
        return Err(bad(2, "no interaction listed"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> HashSet<String> {
        ["nsaids".to_owned(), "ssris".to_owned()].into()
    }

    #[test]
    fn a_knowledge_base_reads_with_quoted_fields_and_classes() {
        let text = "a,b,severity,mechanism,advice\r\n\
                    Warfarin Sodium,class:nsaids,major,\"Bleeding risk, additive\",\"Prefer \"\"acetaminophen\"\"\"\n\
                    class:ssris,linezolid,contraindicated,Serotonin syndrome,\"Do not\ncombine\"\n";
        let found = read(text, &classes()).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].a, Agent::Ingredient("warfarin".into()));
        assert_eq!(found[0].b, Agent::Class("nsaids".into()));
        assert_eq!(found[0].mechanism, "Bleeding risk, additive");
        assert_eq!(found[0].advice, "Prefer \"acetaminophen\"");
        assert_eq!(found[1].advice, "Do not\ncombine");
        assert_eq!(found[1].severity, Severity::Contraindicated);
    }

    #[test]
    fn a_knowledge_base_is_refused_whole_naming_the_line() {
        let refused = |text: &str, words: &str| {
            let err = read(text, &classes()).unwrap_err().to_string();
            assert!(err.contains(words), "{err} lacks {words}");
        };
        let head = "a,b,severity,mechanism,advice\n";
        refused("", "line 1: the file is empty");
        refused("x,y\n", "line 1: the header");
        refused(
            &format!("{head}warfarin,class:opioids,major,m,a\n"),
            "line 2: no class opioids",
        );
        refused(
            &format!("{head}warfarin,aspirin,severe,m,a\n"),
            "line 2: severity",
        );
        refused(
            &format!("{head}warfarin,aspirin,major,m\n"),
            "line 2: 4 fields",
        );
        refused(
            &format!("{head}warfarin,aspirin,major,,a\n"),
            "line 2: the mechanism",
        );
        refused(
            &format!("{head}a1,b1,minor,m,a\nb1,A1,major,m,a\n"),
            "line 3: this pair is already listed",
        );
        refused(
            &format!("{head}a1,b1,minor,\"m,a\n"),
            "line 2: a quoted field is not closed",
        );
        refused(head, "no interaction listed");
    }
}
