//! A person's mobile number for text messages: typed with its country code, confirmed
//! by a six-digit code sent to it (ten minutes, five tries, five codes an hour), then
//! used for the notices they choose by text. Each step commits with its audit entry;
//! the number itself goes in no log and no audit detail.

use chrono::Duration;
use telemed_domain::{Error, Result};
use telemed_store::mobile::{self, Confirmation};
use telemed_store::throttle::ThrottleRule;
use telemed_store::users::User;

use crate::audit::Event;
use crate::change::Change;
use crate::context::Ctx;
use crate::crypto::token_hash;
use crate::i18n::Lang;
use crate::sms::{self, Text};
use crate::AppState;

pub const MOBILE_CODE_MINUTES: i64 = 10;

/// Codes a person may have sent in an hour (each text costs the clinic, and a number
/// typed need not be theirs).
const CODES_PER_HOUR: ThrottleRule = ThrottleRule {
    max_events: 5,
    window: Duration::hours(1),
    lockout: Duration::hours(1),
};

/// A mobile number as E.164 (`+34600111222`): the country code first, then 7 to 14
/// digits; spaces, dots, dashes and brackets as people write them are dropped.
pub fn parse_number(raw: &str) -> Result<String> {
    let kept: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
        .collect();
    let digits = kept.strip_prefix('+').unwrap_or_default();
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(kept)
    } else {
        Err(Error::invalid(
            "mobile",
            "write the number with its country code, such as +34 600 111 222",
        ))
    }
}

fn code_hash(user: &User, code: &str) -> String {
    token_hash(&format!("mobile-code:{}:{code}", user.id))
}

/// Sends a code to `raw` (the number `user` typed) and sets it waiting for it.
pub async fn send_code(state: &AppState, ctx: &Ctx, user: &User, raw: &str) -> Result<()> {
    if state.config.sms.is_none() {
        return Err(Error::invalid(
            "mobile",
            "text messages are not set up at this clinic",
        ));
    }
    let number = parse_number(raw)?;
    let now = state.clock.now();
    state
        .store
        .spend(
            &[(
                token_hash(&format!("mobile-codes:{}", user.id)),
                CODES_PER_HOUR,
            )],
            now,
        )
        .await?;
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let mut change = Change::begin(state).await?;
    mobile::await_confirmation(
        change.tx(),
        user.id,
        &number,
        &code_hash(user, &code),
        now + Duration::minutes(MOBILE_CODE_MINUTES),
    )
    .await?;
    let lang = Lang::from_code(&user.locale).unwrap_or(ctx.lang);
    let text = Text::ConfirmMobile {
        code: &code,
        minutes: MOBILE_CODE_MINUTES,
    };
    sms::queue(change.tx(), &number, &text, ctx.clinic.letter(lang), now).await?;
    change.audit(
        Event::new(ctx, now, "account.mobile.code", "user")
            .by(user.id, user.role)
            .on(user.id)
            .build(),
    );
    change.commit().await?;
    state.sms_wake.notify_one();
    Ok(())
}

/// Confirms the waiting number with `code`; it becomes the number texts go to.
pub async fn confirm(state: &AppState, ctx: &Ctx, user: &User, code: &str) -> Result<()> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    let taken = mobile::confirm(change.tx(), user.id, &code_hash(user, code.trim()), now).await?;
    let outcome = match taken {
        Confirmation::Confirmed(_) => None,
        Confirmation::Wrong => Some(Error::invalid("mobile_code", "that code is not right")),
        Confirmation::NothingWaiting => Some(Error::invalid(
            "mobile_code_gone",
            "no code is waiting: send a new one",
        )),
    };
    let event = Event::new(ctx, now, "account.mobile.confirm", "user")
        .by(user.id, user.role)
        .on(user.id);
    match outcome {
        None => {
            change.audit(event.build());
            change.commit().await
        }
        Some(refusal) => {
            // The try counts (and is audited) even though the code was refused.
            change.audit(
                event
                    .outcome(telemed_domain::audit::Outcome::Denied)
                    .build(),
            );
            change.commit().await?;
            Err(refusal)
        }
    }
}

/// Forgets the person's number: no text goes to them any more.
pub async fn remove(state: &AppState, ctx: &Ctx, user: &User) -> Result<()> {
    let now = state.clock.now();
    let mut change = Change::begin(state).await?;
    mobile::remove(change.tx(), user.id).await?;
    change.audit(
        Event::new(ctx, now, "account.mobile.remove", "user")
            .by(user.id, user.role)
            .on(user.id)
            .build(),
    );
    change.commit().await
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_are_read_as_people_write_them() {
        assert_eq!(parse_number(" +34 600 11-12.22 ").unwrap(), "+34600111222");
        assert_eq!(parse_number("+1 (415) 867-5310").unwrap(), "+14158675310");
        for refused in ["600111222", "+34", "+34 600 abc 222", "+0034600111222", ""] {
            assert!(parse_number(refused).is_err(), "{refused}");
        }
    }
}
