//! Account services shared by the web UI, the API and the command line: sign-in with
//! throttling and MFA, registration and verification, password reset, invitations,
//! role changes, API tokens. Each write commits with its audit entry.

pub mod admin;
pub mod api_tokens;
pub mod mfa;
pub mod recovery;
pub mod registration;
pub mod signin;

use telemed_domain::password::NewPassword;
use telemed_domain::{Email, Result};

/// Parses a new password against the policy, with the person's own email and name as
/// words it must not lean on.
pub fn new_password(raw: &str, email: &Email, name: &str) -> Result<NewPassword> {
    let local = email.as_str().split('@').next().unwrap_or_default();
    NewPassword::parse(raw, &[email.as_str(), local, name])
}
