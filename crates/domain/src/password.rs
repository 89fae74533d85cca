//! The password policy: a new password is accepted only when long enough and not easy
//! to guess (zxcvbn's dictionary of common passwords, names and patterns, plus the
//! user's own email and name).

use std::fmt;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// zxcvbn score 3: "safely unguessable: moderate protection from offline slow-hash".
const MIN_STRENGTH: u8 = 3;

/// A password that passed the policy. It never prints.
pub struct NewPassword(String);

impl NewPassword {
    /// `user_inputs` are words the password must not lean on: the email, the name.
    pub fn parse(raw: &str, user_inputs: &[&str]) -> crate::Result<Self> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(crate::Error::invalid(
                "password",
                format!("use at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(crate::Error::invalid(
                "password",
                format!("use at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        // The inputs whole and in words, so "ana.lopez@example.org" also counts "lopez".
        let mut words: Vec<String> = user_inputs.iter().map(|w| w.to_lowercase()).collect();
        for input in user_inputs {
            words.extend(
                input
                    .to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.chars().count() >= 3)
                    .map(str::to_owned),
            );
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let strength = zxcvbn::zxcvbn(raw, &words);
        if u8::from(strength.score()) < MIN_STRENGTH {
            return Err(crate::Error::invalid(
                "password",
                "this password is too common or too easy to guess; try a few unrelated words",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::NewPassword;

    #[test]
    fn rejects_short_common_and_personal_passwords() {
        assert!(NewPassword::parse("short", &[]).is_err());
        assert!(NewPassword::parse("password123", &[]).is_err());
        assert!(NewPassword::parse("qwertyuiop", &[]).is_err());
        assert!(NewPassword::parse(
            "lopezanamaria",
            &["anamaria.lopez@example.org", "Ana Maria Lopez"]
        )
        .is_err());
        assert!(NewPassword::parse("quimpersxylobrandt", &[]).is_ok());
        assert!(
            NewPassword::parse(
                "quimpersxylobrandt",
                &["x@example.org", "Xylobrandt Quimpers"]
            )
            .is_err(),
            "the person's own name"
        );
        assert!(NewPassword::parse(&"x".repeat(129), &[]).is_err());
    }

    #[test]
    fn accepts_a_long_unusual_passphrase() {
        assert!(NewPassword::parse("violet kettle orbit 42 sandals", &[]).is_ok());
    }
}
