//! FHIR search parameters, parsed against the resource type's table
//! (`types::ResourceType::search_params`). An unsupported modifier or a malformed value
//! is an error naming the parameter. A parameter telemed does not know is, as R4 says,
//! ignored by default (`Prefer: handling=lenient`) and named in the Bundle's outcome
//! entry, so the client sees that its search was broader than asked; with
//! `Prefer: handling=strict` it is an error.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use telemed_domain::query::{CodeMatch, TextMatch, TimeCond};
use telemed_domain::{Error, Result};

use crate::types::{ParamDef, ParamKind, ResourceType, SortDef};

pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 1000;

/// One value of a parameter, typed by the parameter's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Token(CodeMatch),
    Date(TimeCond),
    Text(TextMatch),
    /// The id of the referenced resource (its type already checked).
    Reference(String),
}

/// A parameter as given once: its values are alternatives (comma-separated).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub param: &'static ParamDef,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    None,
    Estimate,
    Accurate,
}

/// What to do with a search parameter telemed does not know (`Prefer: handling=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handling {
    /// Ignore it and say so in the Bundle (R4's default).
    #[default]
    Lenient,
    /// Refuse the search.
    Strict,
}

impl Handling {
    /// From a `Prefer` header (`handling=strict`, among other preferences).
    pub fn from_prefer(prefer: Option<&str>) -> Handling {
        let strict = prefer.is_some_and(|p| {
            p.split([',', ';'])
                .any(|pref| pref.trim().eq_ignore_ascii_case("handling=strict"))
        });
        if strict {
            Handling::Strict
        } else {
            Handling::Lenient
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub resource_type: ResourceType,
    pub filters: Vec<Filter>,
    pub count: usize,
    pub offset: usize,
    pub sort: Vec<(&'static SortDef, bool)>,
    pub include: Vec<crate::types::Include>,
    pub total: Total,
    /// Parameters ignored under lenient handling, as the client named them.
    pub ignored: Vec<String>,
}

impl Search {
    /// The filters on one target, for the query builders.
    pub fn on(&self, target: crate::types::Target) -> impl Iterator<Item = &Filter> {
        self.filters
            .iter()
            .filter(move |f| f.param.target == target)
    }
}

/// Splits on `sep` where it is not escaped with a backslash (FHIR escapes `\,` `\|` `\$`).
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    if let Some(last) = parts.last_mut() {
                        if next != sep {
                            last.push('\\');
                        }
                        last.push(next);
                    }
                }
            }
            c if c == sep => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c)
                }
            }
        }
    }
    parts
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn bad(param: &'static str, message: impl Into<String>) -> Error {
    Error::invalid(param, message)
}

/// Parses a search request's parameters (query string or form body, in order).
pub fn parse(
    resource_type: ResourceType,
    pairs: &[(String, String)],
    handling: Handling,
) -> Result<Search> {
    let mut search = Search {
        resource_type,
        filters: vec![],
        count: DEFAULT_COUNT,
        offset: 0,
        sort: vec![],
        include: vec![],
        total: Total::Estimate,
        ignored: vec![],
    };
    let mut only_count = false;
    for (key, raw) in pairs {
        let (name, modifier) = match key.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (key.as_str(), None),
        };
        match name {
            "_count" => {
                search.count = raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_COUNT)
                    .ok_or_else(|| {
                        bad(
                            "_count",
                            format!("_count must be a number from 0 to {MAX_COUNT}"),
                        )
                    })?
            }
            "_offset" => {
                search.offset = raw
                    .parse::<usize>()
                    .map_err(|_| bad("_offset", "_offset must be a non-negative number"))?
            }
            "_total" => {
                search.total = match raw.as_str() {
                    "none" => Total::None,
                    "estimate" => Total::Estimate,
                    "accurate" => Total::Accurate,
                    _ => return Err(bad("_total", "_total must be none, estimate or accurate")),
                }
            }
            "_sort" => {
                for key in raw.split(',') {
                    let (descending, key) = match key.strip_prefix('-') {
                        Some(k) => (true, k),
                        None => (false, key),
                    };
                    let def = resource_type
                        .sorts()
                        .iter()
                        .find(|s| s.name == key)
                        .ok_or_else(|| {
                            bad(
                                "_sort",
                                format!(
                                    "{} cannot be sorted by '{key}'; it can by: {}",
                                    resource_type.as_str(),
                                    names(resource_type.sorts().iter().map(|s| s.name))
                                ),
                            )
                        })?;
                    search.sort.push((def, descending));
                }
            }
            "_include" => {
                let found = resource_type
                    .includes()
                    .iter()
                    .find(|i| i.name == raw.as_str())
                    .ok_or_else(|| {
                        bad(
                            "_include",
                            format!(
                                "_include of {} supports: {}",
                                resource_type.as_str(),
                                names(resource_type.includes().iter().map(|i| i.name))
                            ),
                        )
                    })?;
                search.include.push(*found);
            }
            "_format" => {
                if !matches!(
                    raw.as_str(),
                    "json" | "application/json" | "application/fhir+json"
                ) {
                    return Err(bad("_format", "only JSON is served (_format=json)"));
                }
            }
            "_summary" => match raw.as_str() {
                // The number of matches and nothing else.
                "count" => only_count = true,
                "false" => {}
                _ => return Err(bad("_summary", "_summary takes count or false")),
            },
            "_pretty" => {}
            _ => {
                let Some(param) = resource_type
                    .search_params()
                    .iter()
                    .find(|p| p.name == name)
                else {
                    if handling == Handling::Lenient {
                        search.ignored.push(key.clone());
                        continue;
                    }
                    return Err(bad(
                        "search",
                        format!(
                            "{} has no search parameter '{name}'; it has: {}",
                            resource_type.as_str(),
                            names(resource_type.search_params().iter().map(|p| p.name))
                        ),
                    ));
                };
                let values = split_unescaped(raw, ',')
                    .iter()
                    .map(|v| parse_value(param, modifier, v))
                    .collect::<Result<Vec<_>>>()?;
                search.filters.push(Filter { param, values });
            }
        }
    }
    if only_count {
        search.count = 0;
        search.total = Total::Accurate;
    }
    Ok(search)
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

fn parse_value(param: &'static ParamDef, modifier: Option<&str>, raw: &str) -> Result<Value> {
    let unsupported = || {
        bad(
            param.name,
            format!(
                "the modifier ':{}' is not supported on {}",
                modifier.unwrap_or_default(),
                param.name
            ),
        )
    };
    if raw.is_empty() {
        return Err(bad(param.name, format!("{} needs a value", param.name)));
    }
    match param.kind {
        ParamKind::String => {
            let v = unescape(raw);
            Ok(Value::Text(match modifier {
                None => TextMatch::Start(v),
                Some("exact") => TextMatch::Exact(v),
                Some("contains") => TextMatch::Contains(v),
                Some(_) => return Err(unsupported()),
            }))
        }
        ParamKind::Token => {
            if modifier.is_some() {
                return Err(unsupported());
            }
            let parts = split_unescaped(raw, '|');
            let nonempty = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
            Ok(Value::Token(match parts.as_slice() {
                [code] => CodeMatch {
                    system: None,
                    code: Some(code.clone()),
                },
                [system, code] => CodeMatch {
                    system: Some(system.clone()),
                    code: nonempty(code),
                },
                _ => return Err(bad(param.name, format!("{} takes system|code", param.name))),
            }))
        }
        ParamKind::Date => {
            if modifier.is_some() {
                return Err(unsupported());
            }
            Ok(Value::Date(parse_date(param.name, raw)?))
        }
        ParamKind::Reference => {
            let to = param
                .target
                .referenced()
                .map(ResourceType::as_str)
                .unwrap_or_default();
            match modifier {
                None => {}
                Some(m) if m == to => {}
                Some(_) => return Err(unsupported()),
            }
            let id = match raw.rsplit_once('/') {
                Some((before, id)) => {
                    let kind = before.rsplit('/').next().unwrap_or_default();
                    if kind != to {
                        return Err(bad(param.name, format!("{} refers to a {to}", param.name)));
                    }
                    id
                }
                None => raw,
            };
            Ok(Value::Reference(id.to_owned()))
        }
    }
}

/// A date parameter: an optional prefix, then a date or date-time whose precision sets
/// the range it stands for (a year, a month, a day, a minute, a second). A time without
/// a zone is taken as UTC.
pub fn parse_date(param: &'static str, raw: &str) -> Result<TimeCond> {
    let (prefix, value) =
        if raw.len() > 2 && raw.as_bytes()[..2].iter().all(u8::is_ascii_alphabetic) {
            raw.split_at(2)
        } else {
            ("eq", raw)
        };
    let (lo, hi) = date_range(value).ok_or_else(|| {
        bad(
            param,
            format!("{param} must be a date (YYYY, YYYY-MM, YYYY-MM-DD) or a date-time"),
        )
    })?;
    Ok(match prefix {
        "eq" => TimeCond::Within(lo, hi),
        "ne" => TimeCond::Outside(lo, hi),
        "lt" | "eb" => TimeCond::Before(lo),
        "le" => TimeCond::Before(hi),
        "gt" | "sa" => TimeCond::AtOrAfter(hi),
        "ge" => TimeCond::AtOrAfter(lo),
        _ => {
            return Err(bad(
                param,
                format!(
                    "{param}: the prefix '{prefix}' is not one of eq, ne, lt, le, gt, ge, sa, eb"
                ),
            ))
        }
    })
}

/// The instants a date of some precision stands for: [start, end).
pub fn date_range(s: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    match s.len() {
        4 => {
            let y: i32 = s.parse().ok()?;
            let start = day(NaiveDate::from_ymd_opt(y, 1, 1)?)?;
            Some((start, day(NaiveDate::from_ymd_opt(y + 1, 1, 1)?)?))
        }
        7 => {
            let d = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()?;
            let next = d.checked_add_months(chrono::Months::new(1))?;
            Some((day(d)?, day(next)?))
        }
        10 => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            Some((day(d)?, day(d.succ_opt()?)?))
        }
        _ => {
            let has_zone = s.ends_with('Z') || s.get(10..).unwrap_or_default().contains(['+', '-']);
            let zoned = if has_zone {
                s.to_owned()
            } else {
                format!("{s}Z")
            };
            // hh:mm without seconds stands for the minute.
            if let Ok(t) =
                DateTime::parse_from_str(&zoned.replace('Z', "+00:00"), "%Y-%m-%dT%H:%M%:z")
            {
                let t = t.with_timezone(&Utc);
                return Some((t, t + Duration::minutes(1)));
            }
            let t = DateTime::parse_from_rfc3339(&zoned)
                .ok()?
                .with_timezone(&Utc);
            let precise = zoned.contains('.');
            let width = if precise {
                Duration::milliseconds(1)
            } else {
                Duration::seconds(1)
            };
            let start = if precise {
                t
            } else {
                Utc.timestamp_opt(t.timestamp(), 0).single()?
            };
            Some((start, start + width))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Target;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dates_stand_for_the_range_of_their_precision() {
        assert_eq!(
            date_range("2024"),
            Some((at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z")))
        );
        assert_eq!(
            date_range("2024-02"),
            Some((at("2024-02-01T00:00:00Z"), at("2024-03-01T00:00:00Z")))
        );
        assert_eq!(
            date_range("2024-12-31"),
            Some((at("2024-12-31T00:00:00Z"), at("2025-01-01T00:00:00Z")))
        );
        assert_eq!(
            date_range("2024-03-05T10:30:00+02:00"),
            Some((at("2024-03-05T08:30:00Z"), at("2024-03-05T08:30:01Z")))
        );
        assert_eq!(
            date_range("2024-03-05T10:30Z"),
            Some((at("2024-03-05T10:30:00Z"), at("2024-03-05T10:31:00Z")))
        );
        for bad in [
            "24",
            "2024-13",
            "2024-02-30",
            "yesterday",
            "2024-03-05T25:00:00Z",
        ] {
            assert_eq!(date_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn prefixes_become_conditions_on_the_range() {
        let (lo, hi) = (at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z"));
        let cases = [
            ("2024", TimeCond::Within(lo, hi)),
            ("eq2024", TimeCond::Within(lo, hi)),
            ("ne2024", TimeCond::Outside(lo, hi)),
            ("lt2024", TimeCond::Before(lo)),
            ("le2024", TimeCond::Before(hi)),
            ("gt2024", TimeCond::AtOrAfter(hi)),
            ("ge2024", TimeCond::AtOrAfter(lo)),
            ("sa2024", TimeCond::AtOrAfter(hi)),
            ("eb2024", TimeCond::Before(lo)),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_date("date", raw).unwrap(), want, "{raw}");
        }
        assert!(parse_date("date", "ap2024").is_err());
    }

    #[test]
    fn tokens_strings_and_references_parse_with_escapes() {
        let s = parse(
            ResourceType::Observation,
            &q(&[
                ("code", "http://loinc.org|8867-4,|x\\,y,http://loinc.org|"),
                ("patient", "Patient/abc"),
                ("date", "ge2024-01-01"),
                ("date", "lt2025"),
                ("_count", "10"),
                ("_sort", "-date,_lastUpdated"),
                ("_include", "Observation:patient"),
            ]),
            Handling::Lenient,
        )
        .unwrap();
        let code = s.on(Target::Code).next().unwrap();
        assert_eq!(
            code.values,
            vec![
                Value::Token(CodeMatch {
                    system: Some("http://loinc.org".into()),
                    code: Some("8867-4".into())
                }),
                Value::Token(CodeMatch {
                    system: Some(String::new()),
                    code: Some("x,y".into())
                }),
                Value::Token(CodeMatch {
                    system: Some("http://loinc.org".into()),
                    code: None
                }),
            ]
        );
        assert_eq!(
            s.on(Target::Patient).next().unwrap().values,
            vec![Value::Reference("abc".into())]
        );
        assert_eq!(s.on(Target::Effective).count(), 2);
        assert_eq!(s.count, 10);
        assert_eq!(
            s.sort
                .iter()
                .map(|(d, desc)| (d.name, *desc))
                .collect::<Vec<_>>(),
            vec![("date", true), ("_lastUpdated", false)]
        );
        assert_eq!(
            s.include.iter().map(|i| i.name).collect::<Vec<_>>(),
            ["Observation:patient"]
        );

        let p = parse(
            ResourceType::Patient,
            &q(&[("name:exact", "Ana López")]),
            Handling::Lenient,
        )
        .unwrap();
        assert_eq!(
            p.filters[0].values,
            vec![Value::Text(TextMatch::Exact("Ana López".into()))]
        );
    }

    #[test]
    fn an_unknown_parameter_is_ignored_and_named_unless_handling_is_strict() {
        let pairs = q(&[("colour", "red"), ("code", "8867-4"), ("_elements", "id")]);
        let s = parse(ResourceType::Observation, &pairs, Handling::Lenient).unwrap();
        assert_eq!(s.ignored, ["colour", "_elements"]);
        assert_eq!(s.filters.len(), 1);
        assert!(parse(ResourceType::Observation, &pairs, Handling::Strict).is_err());
        assert_eq!(
            Handling::from_prefer(Some("return=minimal, handling=strict")),
            Handling::Strict
        );
        assert_eq!(
            Handling::from_prefer(Some("handling=lenient")),
            Handling::Lenient
        );
        assert_eq!(Handling::from_prefer(None), Handling::Lenient);
        // A malformed value of a known parameter is refused however handled.
        assert!(parse(
            ResourceType::Observation,
            &q(&[("date", "last-week")]),
            Handling::Lenient
        )
        .is_err());
    }

    #[test]
    fn what_is_not_understood_is_refused_with_the_parameter_named() {
        let refused = |pairs: &[(&str, &str)], field: &str| match parse(
            ResourceType::Observation,
            &q(pairs),
            Handling::Strict,
        ) {
            Err(Error::Invalid { field: f, message }) => {
                assert_eq!(f, field, "{pairs:?}: {message}")
            }
            other => panic!("{pairs:?} gave {other:?}"),
        };
        refused(&[("colour", "red")], "search");
        refused(&[("code:text", "pulse")], "code");
        refused(&[("date", "last-week")], "date");
        refused(&[("date", "ap2024")], "date");
        refused(&[("_count", "1001")], "_count");
        refused(&[("_count", "-1")], "_count");
        refused(&[("_sort", "colour")], "_sort");
        refused(&[("_include", "Observation:performer")], "_include");
        refused(&[("_format", "xml")], "_format");
        refused(&[("patient", "Practitioner/1")], "patient");
        refused(&[("code", "a|b|c")], "code");
        refused(&[("status", "")], "status");
    }
}
