//! SMART App Launch scopes (v2, with the v1 forms apps still send): what a token may do
//! with which resource types, and in which context. Scopes only narrow what the token's
//! owner may do; the record's access policy still decides every read and write.

use std::fmt;

use telemed_domain::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `patient/…`: the launch patient's compartment only.
    Patient,
    /// `user/…`: whatever the user may see.
    User,
    /// `system/…`: backend services (not granted to apps here).
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Interaction {
    fn letter(self) -> char {
        match self {
            Interaction::Create => 'c',
            Interaction::Read => 'r',
            Interaction::Update => 'u',
            Interaction::Delete => 'd',
            Interaction::Search => 's',
        }
    }
}

/// One resource scope, e.g. `patient/Observation.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    pub context: Context,
    /// `None` for `*`.
    pub resource: Option<String>,
    /// A subset of "cruds", in that order.
    pub permissions: String,
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ctx = match self.context {
            Context::Patient => "patient",
            Context::User => "user",
            Context::System => "system",
        };
        write!(
            f,
            "{ctx}/{}.{}",
            self.resource.as_deref().unwrap_or("*"),
            self.permissions
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    pub resources: Vec<ResourceScope>,
    pub launch_patient: bool,
    pub openid: bool,
    pub fhir_user: bool,
    pub offline_access: bool,
}

fn permissions(s: &str) -> Option<String> {
    match s {
        "read" => return Some("rs".into()),
        "write" => return Some("cud".into()),
        "*" => return Some("cruds".into()),
        _ => {}
    }
    // v2: letters of "cruds", each at most once, in that order.
    let mut rest = "cruds".chars();
    for c in s.chars() {
        rest.by_ref().find(|x| *x == c)?;
    }
    (!s.is_empty()).then(|| s.to_owned())
}

impl Scopes {
    /// Parses a space-separated scope string. Unknown or malformed scopes are an error
    /// (`invalid_scope` at the authorization server), not dropped in silence.
    pub fn parse(s: &str) -> Result<Scopes> {
        let mut out = Scopes::default();
        for word in s.split_whitespace() {
            match word {
                "launch/patient" => out.launch_patient = true,
                "openid" => out.openid = true,
                "fhirUser" => out.fhir_user = true,
                "offline_access" => out.offline_access = true,
                "online_access" => {}
                _ => out.resources.push(parse_resource_scope(word)?),
            }
        }
        Ok(out)
    }

    /// What of these scopes `allowed` covers: an app is granted at most what it was
    /// registered for, scope by scope and letter by letter.
    pub fn within(&self, allowed: &Scopes) -> Scopes {
        let resources = self
            .resources
            .iter()
            .filter_map(|s| {
                let letters: String = s
                    .permissions
                    .chars()
                    .filter(|c| {
                        allowed.resources.iter().any(|a| {
                            a.context == s.context
                                && (a.resource.is_none() || a.resource == s.resource)
                                && a.permissions.contains(*c)
                        })
                    })
                    .collect();
                (!letters.is_empty()).then(|| ResourceScope {
                    permissions: letters,
                    ..s.clone()
                })
            })
            .collect();
        Scopes {
            resources,
            launch_patient: self.launch_patient && allowed.launch_patient,
            openid: self.openid && allowed.openid,
            fhir_user: self.fhir_user && allowed.fhir_user,
            offline_access: self.offline_access && allowed.offline_access,
        }
    }

    /// Whether some scope lets the token do `interaction` on `resource_type`.
    pub fn allows(&self, resource_type: &str, interaction: Interaction) -> bool {
        self.resources.iter().any(|s| {
            s.context != Context::System
                && s.resource.as_deref().is_none_or(|r| r == resource_type)
                && s.permissions.contains(interaction.letter())
        })
    }

    /// A token whose every resource scope is `patient/…` reaches one compartment only.
    pub fn patient_context(&self) -> bool {
        !self.resources.is_empty() && self.resources.iter().all(|s| s.context == Context::Patient)
    }

    /// The scopes in their canonical form, space-separated.
    pub fn to_scope_string(&self) -> String {
        let mut words: Vec<String> = vec![];
        if self.launch_patient {
            words.push("launch/patient".into());
        }
        if self.openid {
            words.push("openid".into());
        }
        if self.fhir_user {
            words.push("fhirUser".into());
        }
        if self.offline_access {
            words.push("offline_access".into());
        }
        words.extend(self.resources.iter().map(ResourceScope::to_string));
        words.join(" ")
    }
}

fn parse_resource_scope(word: &str) -> Result<ResourceScope> {
    let invalid = || Error::invalid("scope", format!("'{word}' is not a scope telemed grants"));
    if word.contains('?') {
        return Err(Error::invalid(
            "scope",
            format!("'{word}': scopes with search parameters are not supported"),
        ));
    }
    let (ctx, rest) = word.split_once('/').ok_or_else(invalid)?;
    let context = match ctx {
        "patient" => Context::Patient,
        "user" => Context::User,
        "system" => Context::System,
        _ => return Err(invalid()),
    };
    let (resource, perms) = rest.rsplit_once('.').ok_or_else(invalid)?;
    let resource = match resource {
        "*" => None,
        r if !r.is_empty() && r.chars().all(|c| c.is_ascii_alphabetic()) => Some(r.to_owned()),
        _ => return Err(invalid()),
    };
    Ok(ResourceScope {
        context,
        resource,
        permissions: permissions(perms).ok_or_else(invalid)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_and_v1_scopes_grant_what_they_say() {
        let s = Scopes::parse(
            "launch/patient openid fhirUser patient/Observation.rs patient/Patient.read",
        )
        .unwrap();
        assert!(s.launch_patient && s.openid && s.fhir_user && !s.offline_access);
        assert!(s.allows("Observation", Interaction::Read));
        assert!(s.allows("Observation", Interaction::Search));
        assert!(!s.allows("Observation", Interaction::Create));
        assert!(!s.allows("Condition", Interaction::Read));
        assert!(s.allows("Patient", Interaction::Search));
        assert!(s.patient_context());

        let u = Scopes::parse("user/*.cruds").unwrap();
        assert!(u.allows("Condition", Interaction::Delete));
        assert!(!u.patient_context());
        assert_eq!(u.to_scope_string(), "user/*.cruds");
        assert_eq!(
            Scopes::parse("user/Condition.write").unwrap().resources[0].permissions,
            "cud"
        );
        assert!(!Scopes::parse("system/*.rs")
            .unwrap()
            .allows("Patient", Interaction::Read));
    }

    #[test]
    fn an_app_gets_at_most_what_it_was_registered_for() {
        let allowed =
            Scopes::parse("launch/patient patient/*.rs user/Patient.r offline_access").unwrap();
        let asked = Scopes::parse("launch/patient openid patient/Observation.cruds user/Patient.rs user/Condition.rs offline_access").unwrap();
        let got = asked.within(&allowed);
        assert_eq!(
            got.to_scope_string(),
            "launch/patient offline_access patient/Observation.rs user/Patient.r"
        );
    }

    #[test]
    fn malformed_scopes_are_refused() {
        for bad in [
            "patient/Observation.sr",
            "patient/Observation.rr",
            "patient/Observation.",
            "clinic/Observation.rs",
            "patient/Obs-ervation.rs",
            "patient/Observation.rs?category=laboratory",
            "admin",
        ] {
            assert!(Scopes::parse(bad).is_err(), "{bad}");
        }
    }
}
