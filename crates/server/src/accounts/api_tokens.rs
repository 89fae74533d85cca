//! Personal access tokens: made by their owner, with scopes no wider than the owner's
//! own permissions (and, when made through the API, than the token used to make them).

use chrono::Duration;
use telemed_domain::access::Principal;
use telemed_domain::{ApiTokenId, Error, Permission, Result};
use telemed_store::tokens::{self, NewApiToken};

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::{random_token, token_hash};
use crate::AppState;

pub const TOKEN_PREFIX: &str = "tm_pat_";
pub const MAX_DAYS: i64 = 366;

pub struct NewToken<'a> {
    pub name: &'a str,
    pub scopes: Vec<Permission>,
    pub days: i64,
}

/// Creates a token and returns it with its secret, which is shown this once.
pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    owner: &Principal,
    new: NewToken<'_>,
) -> Result<(ApiTokenId, String)> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "name the token in 1 to 80 characters",
        ));
    }
    if new.scopes.is_empty() {
        return Err(Error::invalid("scopes", "choose at least one scope"));
    }
    if let Some(p) = new.scopes.iter().find(|p| !owner.can(**p)) {
        return Err(Error::invalid(
            "scopes",
            format!("you cannot grant the scope {}", p.as_str()),
        ));
    }
    if !(1..=MAX_DAYS).contains(&new.days) {
        return Err(Error::invalid(
            "days",
            format!("a token lasts 1 to {MAX_DAYS} days"),
        ));
    }
    let now = state.clock.now();
    let secret = random_token(TOKEN_PREFIX);
    let mut change = Change::begin(state).await?;
    let token = NewApiToken {
        user_id: owner.user_id,
        name,
        token_hash: &token_hash(&secret),
        scopes: &new.scopes,
        expires_at: now + Duration::days(new.days),
    };
    let id = tokens::insert(change.tx(), token, now).await?;
    let scopes = telemed_domain::role::format_scopes(&new.scopes);
    let record = Event::new(ctx, now, "token.create", "api_token")
        .by(owner.user_id, owner.role)
        .on(id)
        .detail(format!("scopes {scopes}"))
        .build();
    change.audit(record);
    change.commit().await?;
    Ok((id, secret))
}

pub async fn revoke(state: &AppState, ctx: &Ctx, owner: &Principal, id: ApiTokenId) -> Result<()> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    tokens::revoke(change.tx(), owner.user_id, id, now).await?;
    let record = Event::new(ctx, now, "token.revoke", "api_token")
        .by(owner.user_id, owner.role)
        .on(id)
        .build();
    change.audit(record);
    change.commit().await?;
    Ok(())
}
