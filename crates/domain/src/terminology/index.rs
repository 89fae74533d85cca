//! A code system's type-ahead index, held in memory: every recordable, active concept,
//! the postings of each folded word of its names, its codes in key order and its place
//! by name length. A search marks the concepts each typed word's range reaches, keeps
//! those every word reached, and walks them shortest name first: the cost is the
//! postings the words reach (bounded by the system's size), not how rare the
//! combination is, so every keystroke costs about the same.

use super::{code_key, words, Category, Concept, Typed};

/// One concept as a search shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    pub code: &'a str,
    pub display: &'a str,
    /// The name in the language asked for, when the concept has one.
    pub name: Option<&'a str>,
}

struct Entry {
    code: String,
    key: String,
    display: String,
    category: Option<Category>,
    names: Vec<(String, String)>,
}

/// See the module's documentation.
pub struct Index {
    entries: Vec<Entry>,
    /// Entry numbers by (name length, code).
    shortest: Vec<u32>,
    /// Entry numbers by code key.
    by_key: Vec<u32>,
    /// Each word once, sorted, with the entries whose names have it.
    words: Vec<(String, Vec<u32>)>,
}

impl Index {
    /// Builds the index of `concepts`, leaving out those one may not record or that
    /// their release retired.
    pub fn new(concepts: Vec<Concept>) -> Index {
        let entries: Vec<Entry> = concepts
            .into_iter()
            .filter(|c| c.active && c.selectable)
            .map(|c| Entry {
                key: code_key(&c.code),
                code: c.code,
                display: c.display,
                category: c.category,
                names: c.names,
            })
            .collect();
        let mut postings: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
        for (i, e) in entries.iter().enumerate() {
            let mut all = words(&e.display);
            for (_, name) in &e.names {
                all.extend(words(name));
            }
            all.sort();
            all.dedup();
            for w in all {
                postings.entry(w).or_default().push(i as u32);
            }
        }
        let mut shortest: Vec<u32> = (0..entries.len() as u32).collect();
        shortest.sort_by(|&a, &b| {
            let (a, b) = (&entries[a as usize], &entries[b as usize]);
            (a.display.chars().count(), &a.code).cmp(&(b.display.chars().count(), &b.code))
        });
        let mut by_key: Vec<u32> = (0..entries.len() as u32).collect();
        by_key.sort_by(|&a, &b| entries[a as usize].key.cmp(&entries[b as usize].key));
        Index {
            entries,
            shortest,
            by_key,
            words: postings.into_iter().collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Concepts (of `category`, when given) whose code starts with the code typed, in
    /// code order, then those whose names have a word starting with each word typed,
    /// shortest names first; at most `limit`. `lang` picks the name shown.
    pub fn search<'a>(
        &'a self,
        typed: &Typed,
        category: Option<Category>,
        lang: &str,
        limit: usize,
    ) -> Vec<Hit<'a>> {
        let wanted = |e: &Entry| category.is_none() || e.category == category;
        let mut out: Vec<u32> = Vec::new();
        if let Some(key) = &typed.code {
            let from = self
                .by_key
                .partition_point(|&i| self.entries[i as usize].key.as_str() < key.as_str());
            out.extend(
                self.by_key[from..]
                    .iter()
                    .take_while(|&&i| self.entries[i as usize].key.starts_with(key.as_str()))
                    .filter(|&&i| wanted(&self.entries[i as usize]))
                    .take(limit),
            );
        }
        if !typed.words.is_empty() && out.len() < limit {
            let mut all: Option<Vec<u64>> = None;
            for w in &typed.words {
                let reached = self.reached(w);
                all = Some(match all {
                    None => reached,
                    Some(mut so_far) => {
                        so_far.iter_mut().zip(&reached).for_each(|(a, b)| *a &= b);
                        so_far
                    }
                });
            }
            let all = all.unwrap_or_default();
            for &i in &self.shortest {
                if out.len() >= limit {
                    break;
                }
                let hit = all[i as usize / 64] & (1 << (i % 64)) != 0;
                if hit && wanted(&self.entries[i as usize]) && !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out.into_iter()
            .map(|i| {
                let e = &self.entries[i as usize];
                Hit {
                    code: &e.code,
                    display: &e.display,
                    name: e
                        .names
                        .iter()
                        .find(|(l, _)| l == lang)
                        .map(|(_, n)| n.as_str()),
                }
            })
            .collect()
    }

    /// The entries some word starting with `prefix` belongs to, as a bit set.
    fn reached(&self, prefix: &str) -> Vec<u64> {
        let mut bits = vec![0u64; self.entries.len().div_ceil(64)];
        let from = self.words.partition_point(|(w, _)| w.as_str() < prefix);
        for (_, entries) in self.words[from..]
            .iter()
            .take_while(|(w, _)| w.starts_with(prefix))
        {
            for &i in entries {
                bits[i as usize / 64] |= 1 << (i % 64);
            }
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::super::CodeSystem;
    use super::*;

    fn concept(code: &str, display: &str, selectable: bool) -> Concept {
        Concept {
            system: CodeSystem::Icd10Cm,
            code: code.into(),
            display: display.into(),
            category: None,
            selectable,
            active: true,
            names: vec![],
        }
    }

    fn codes(index: &Index, q: &str) -> Vec<String> {
        index
            .search(&Typed::parse(q).unwrap(), None, "en", 10)
            .into_iter()
            .map(|h| h.code.to_owned())
            .collect()
    }

    #[test]
    fn words_narrow_and_short_names_come_first() {
        let mut retired = concept("L23.8", "Allergic contact dermatitis due to plants", true);
        retired.active = false;
        let index = Index::new(vec![
            concept("L23", "Allergic contact dermatitis", false),
            concept(
                "L23.9",
                "Allergic contact dermatitis, unspecified cause",
                true,
            ),
            concept(
                "L24.9",
                "Irritant contact dermatitis, unspecified cause",
                true,
            ),
            concept("L30.9", "Dermatitis, unspecified", true),
            retired,
        ]);
        assert_eq!(index.len(), 3);
        assert_eq!(codes(&index, "derm"), ["L30.9", "L23.9", "L24.9"]);
        assert_eq!(codes(&index, "contact derm"), ["L23.9", "L24.9"]);
        assert_eq!(codes(&index, "derm allerg"), ["L23.9"]);
        assert_eq!(codes(&index, "derm zzz"), Vec::<String>::new());
        // A code first, then the words it also matches.
        assert_eq!(codes(&index, "l23"), ["L23.9"]);
        assert_eq!(codes(&index, "L2"), ["L23.9", "L24.9"]);
        assert!(codes(&index, "").is_empty());
    }

    #[test]
    fn names_in_other_languages_are_found_and_shown() {
        let mut heart = concept("8867-4", "Heart rate", true);
        heart.system = CodeSystem::Loinc;
        heart.category = Some(Category::VitalSigns);
        heart.names = vec![("es".into(), "Frecuencia cardiaca".into())];
        let mut glucose = concept("2345-7", "Glucose [Mass/volume] in Serum or Plasma", true);
        glucose.category = Some(Category::Laboratory);
        let index = Index::new(vec![heart, glucose]);
        let typed = Typed::parse("frecuencia").unwrap();
        let hits = index.search(&typed, Some(Category::VitalSigns), "es", 5);
        assert_eq!(hits[0].name, Some("Frecuencia cardiaca"));
        assert_eq!(hits[0].display, "Heart rate");
        let glucose = Typed::parse("glucose").unwrap();
        assert!(index
            .search(&glucose, Some(Category::VitalSigns), "en", 5)
            .is_empty());
        assert_eq!(index.search(&glucose, None, "en", 5)[0].name, None);
    }
}
