//! The SOAP note templates in the writer's language: a specialty's name and the prompts
//! that prefill the four parts of a new note. The keys are the domain's
//! (`NOTE_TEMPLATES`); each language names every one (the match is exhaustive over
//! them, and a test proves it).

use telemed_domain::record::Soap;

use super::Texts;

/// A template as one language has it.
pub struct NoteTemplate {
    pub key: &'static str,
    pub name: &'static str,
    pub subjective: &'static str,
    pub objective: &'static str,
    pub assessment: &'static str,
    pub plan: &'static str,
}

impl NoteTemplate {
    /// A new note's four parts, prefilled with the prompts: each prompt a line of its
    /// own, ending with a line break so the clinician writes below the last one.
    pub fn soap(&self) -> Soap {
        let prompts = |lines: &str| {
            if lines.is_empty() {
                String::new()
            } else {
                format!("{lines}\n")
            }
        };
        Soap {
            subjective: prompts(self.subjective),
            objective: prompts(self.objective),
            assessment: prompts(self.assessment),
            plan: prompts(self.plan),
        }
    }
}

/// The template `key` in the language of `t`; None for a key that is not one.
pub fn note_template(t: &Texts, key: &str) -> Option<NoteTemplate> {
    let (key, name, subjective, objective, plan) = match key {
        "general" => (
            "general",
            t.tpl_general,
            t.tpl_general_s,
            t.tpl_general_o,
            t.tpl_general_p,
        ),
        "dermatology" => (
            "dermatology",
            t.tpl_dermatology,
            t.tpl_dermatology_s,
            t.tpl_dermatology_o,
            t.tpl_dermatology_p,
        ),
        "psychiatry" => (
            "psychiatry",
            t.tpl_psychiatry,
            t.tpl_psychiatry_s,
            t.tpl_psychiatry_o,
            t.tpl_psychiatry_p,
        ),
        "cardiology" => (
            "cardiology",
            t.tpl_cardiology,
            t.tpl_cardiology_s,
            t.tpl_cardiology_o,
            t.tpl_cardiology_p,
        ),
        _ => return None,
    };
    Some(NoteTemplate {
        key,
        name,
        subjective,
        objective,
        assessment: "",
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use telemed_domain::record::NOTE_TEMPLATES;

    #[test]
    fn every_template_exists_in_every_language() {
        for lang in Lang::ALL {
            for key in NOTE_TEMPLATES {
                let template = note_template(lang.texts(), key)
                    .unwrap_or_else(|| panic!("{lang:?} has no template {key}"));
                assert_eq!(template.key, key);
                assert!(!template.name.is_empty() && !template.subjective.is_empty());
            }
        }
        assert!(note_template(Lang::En.texts(), "surgery").is_none());
    }

    #[test]
    fn prompts_are_lines_to_write_under() {
        let soap = note_template(Lang::Es.texts(), "general").unwrap().soap();
        assert_eq!(soap.subjective, "Motivo de consulta:\nEnfermedad actual:\n");
        assert_eq!(soap.assessment, "");
    }
}
