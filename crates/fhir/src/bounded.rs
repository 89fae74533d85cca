//! A JSON body measured before any value is built from it. Parsing JSON into a tree
//! costs many times the body's size (a `[0,0,0,…]` of 1 MB is half a million values),
//! so a FHIR body is first walked without allocating: its nesting depth, its number of
//! values and the length of its strings are held to limits, and text PostgreSQL cannot
//! store (NUL) is refused, before the server spends memory on it. The walk also proves
//! the body is well-formed JSON, so a refusal names the first limit it broke.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// What one JSON body may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Objects and arrays nested inside each other, the outermost counting 1.
    pub max_depth: usize,
    /// Every value counts one: each object, array, string, number, boolean and null.
    pub max_values: usize,
    /// The longest string or key, in bytes after unescaping.
    pub max_string_bytes: usize,
}

impl Limits {
    /// One resource (create, update): deeper than any FHIR R4 resource nests and far
    /// more elements than a clinical resource holds.
    pub const RESOURCE: Limits = Limits {
        max_depth: 48,
        max_values: 100_000,
        max_string_bytes: 1024 * 1024,
    };

    /// A transaction or batch Bundle: a resource's depth plus the bundle's own levels.
    pub const BUNDLE: Limits = Limits {
        max_depth: 56,
        max_values: 500_000,
        max_string_bytes: 1024 * 1024,
    };
}

/// How much a body holds, once it is known to be within its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub values: usize,
    /// Of the values, the objects (each a map of its own).
    pub objects: usize,
    /// The bytes of all strings and keys, unescaped.
    pub text_bytes: usize,
    pub depth: usize,
}

impl Shape {
    /// What the body's tree (`serde_json::Value`) takes in memory, from above: measured
    /// with serde_json 1.0 on 64-bit Linux, a value takes 42 to 67 bytes at its peak
    /// while its array grows, and an object's map adds one node of some 560 bytes
    /// (`[{"a":0},…]` is 84 bytes of memory per byte of body).
    pub fn tree_bytes(&self) -> usize {
        self.values
            .saturating_mul(72)
            .saturating_add(self.objects.saturating_mul(600))
            .saturating_add(self.text_bytes.saturating_mul(2))
    }
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not well-formed JSON, or something after the value.
    NotJson,
    TooDeep {
        max: usize,
    },
    TooManyValues {
        max: usize,
    },
    StringTooLong {
        max: usize,
    },
    /// A NUL character (U+0000) in a string or key.
    Nul,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotJson => write!(f, "the body is not JSON"),
            Refusal::TooDeep { max } => {
                write!(f, "the body nests deeper than {max} levels")
            }
            Refusal::TooManyValues { max } => {
                write!(f, "the body holds more than {max} JSON values")
            }
            Refusal::StringTooLong { max } => {
                write!(f, "a string in the body is longer than {max} bytes")
            }
            Refusal::Nul => write!(f, "the NUL character (U+0000) is not accepted in text"),
        }
    }
}

/// Walks `body` without building it and answers its shape, or the first limit broken.
pub fn measure(body: &[u8], limits: &Limits) -> Result<Shape, Refusal> {
    let mut tally = Tally {
        limits,
        values: 0,
        objects: 0,
        text_bytes: 0,
        deepest: 0,
        refusal: None,
    };
    let mut reader = serde_json::Deserializer::from_slice(body);
    let walked = Walk {
        tally: &mut tally,
        depth: 0,
    }
    .deserialize(&mut reader)
    .and_then(|()| reader.end());
    match (walked, tally.refusal) {
        (_, Some(refusal)) => Err(refusal),
        (Err(_), None) => Err(Refusal::NotJson),
        (Ok(()), None) => Ok(Shape {
            values: tally.values,
            objects: tally.objects,
            text_bytes: tally.text_bytes,
            depth: tally.deepest,
        }),
    }
}

struct Tally<'l> {
    limits: &'l Limits,
    values: usize,
    objects: usize,
    text_bytes: usize,
    deepest: usize,
    refusal: Option<Refusal>,
}

impl Tally<'_> {
    /// Stops the walk, keeping the reason (serde's error carries only text).
    fn refuse<E: de::Error>(&mut self, refusal: Refusal) -> E {
        let e = E::custom(&refusal);
        self.refusal = Some(refusal);
        e
    }

    fn count<E: de::Error>(&mut self) -> Result<(), E> {
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(self.refuse(Refusal::TooManyValues {
                max: self.limits.max_values,
            }));
        }
        Ok(())
    }

    fn text<E: de::Error>(&mut self, s: &str) -> Result<(), E> {
        if s.len() > self.limits.max_string_bytes {
            return Err(self.refuse(Refusal::StringTooLong {
                max: self.limits.max_string_bytes,
            }));
        }
        if s.contains('\0') {
            return Err(self.refuse(Refusal::Nul));
        }
        self.text_bytes += s.len();
        Ok(())
    }

    fn enter<E: de::Error>(&mut self, depth: usize) -> Result<(), E> {
        self.count()?;
        if depth > self.limits.max_depth {
            return Err(self.refuse(Refusal::TooDeep {
                max: self.limits.max_depth,
            }));
        }
        self.deepest = self.deepest.max(depth);
        Ok(())
    }
}

/// One value at `depth` (the containers around it).
struct Walk<'t, 'l> {
    tally: &'t mut Tally<'l>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.tally.count()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.tally.count()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.tally.count()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.tally.count()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.tally.count()
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.tally.count()?;
        self.tally.text(s)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let depth = self.depth + 1;
        self.tally.enter(depth)?;
        while items
            .next_element_seed(Walk {
                tally: &mut *self.tally,
                depth,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
        let depth = self.depth + 1;
        self.tally.enter(depth)?;
        self.tally.objects += 1;
        while members
            .next_key_seed(Key {
                tally: &mut *self.tally,
            })?
            .is_some()
        {
            members.next_value_seed(Walk {
                tally: &mut *self.tally,
                depth,
            })?;
        }
        Ok(())
    }
}

/// An object's key: held to the string limits, not counted as a value.
struct Key<'t, 'l> {
    tally: &'t mut Tally<'l>,
}

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.tally.text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        max_depth: 3,
        max_values: 10,
        max_string_bytes: 8,
    };

    #[test]
    fn a_resource_within_limits_is_measured() {
        let body = br#"{"resourceType":"Patient","name":[{"family":"L\u00f3pez"}],"active":true}"#;
        let shape = measure(body, &Limits::RESOURCE).unwrap();
        // object, string, array, object, string, boolean
        assert_eq!(
            shape,
            Shape {
                values: 6,
                objects: 2,
                // the keys, "Patient" and "López" (6 bytes)
                text_bytes: 12 + 7 + 4 + 6 + 6 + 6,
                depth: 3
            }
        );
    }

    #[test]
    fn each_limit_is_named_when_broken() {
        assert_eq!(
            measure(b"[[[[1]]]]", &SMALL),
            Err(Refusal::TooDeep { max: 3 })
        );
        assert_eq!(measure(b"[[[1]]]", &SMALL).map(|s| s.depth), Ok(3));
        assert_eq!(
            measure(b"[0,0,0,0,0,0,0,0,0,0]", &SMALL),
            Err(Refusal::TooManyValues { max: 10 })
        );
        assert_eq!(
            measure(b"[0,0,0,0,0,0,0,0,0]", &SMALL).map(|s| s.values),
            Ok(10)
        );
        assert_eq!(
            measure(br#"["123456789"]"#, &SMALL),
            Err(Refusal::StringTooLong { max: 8 })
        );
        assert_eq!(
            measure(br#"{"123456789":1}"#, &SMALL),
            Err(Refusal::StringTooLong { max: 8 })
        );
        // Escapes are measured after unescaping: eight characters of two bytes each.
        assert_eq!(
            measure(br#"["\u00e9\u00e9\u00e9\u00e9\u00e9"]"#, &SMALL),
            Err(Refusal::StringTooLong { max: 8 })
        );
    }

    #[test]
    fn nul_is_refused_in_values_and_keys() {
        assert_eq!(measure(br#"{"a":"x\u0000y"}"#, &SMALL), Err(Refusal::Nul));
        assert_eq!(measure(br#"{"\u0000":1}"#, &SMALL), Err(Refusal::Nul));
    }

    #[test]
    fn malformed_and_trailing_input_is_not_json() {
        for body in [
            &b""[..],
            b"{",
            b"{\"a\":}",
            b"[1,]",
            b"{} {}",
            b"\xff",
            b"[1] x",
        ] {
            assert_eq!(measure(body, &SMALL), Err(Refusal::NotJson), "{body:?}");
        }
    }

    #[test]
    fn nesting_far_past_the_limit_stops_at_the_limit() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            measure(body.as_bytes(), &Limits::RESOURCE),
            Err(Refusal::TooDeep { max: 48 })
        );
    }
}
