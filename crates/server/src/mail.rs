//! Email: what telemed sends (in the reader's language, never with clinical content),
//! queued in the outbox inside the caller's transaction and delivered by `run_sender`
//! over SMTP with retries.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use telemed_domain::{Email, Result};
use telemed_store::{outbox, Conn, Store};
use tokio::sync::Notify;

use crate::config::{Config, SmtpConfig};
use crate::delivery::{Carrier, Handed, Outbox};
use crate::i18n::{args, Lang};

/// An email telemed sends. Links carry single-use tokens; nothing clinical.
pub enum Mail<'a> {
    VerifyEmail {
        link: &'a str,
    },
    AccountExists {
        sign_in: &'a str,
        reset: &'a str,
    },
    ResetPassword {
        link: &'a str,
    },
    /// A patient's sign-in code: the digits and how long they are good for.
    SignInCode {
        code: &'a str,
        minutes: i64,
    },
    Invitation {
        link: &'a str,
        role: &'a str,
    },
    /// An invitation to see someone's record on their behalf: a link only; who invited
    /// and whose record are shown after sign-in, to the account with this address.
    ProxyInvitation {
        link: &'a str,
        days: i64,
    },
    /// A secure message arrived: a link only, never the message.
    NewMessage {
        link: &'a str,
    },
    /// A clinician opened the record in an emergency (break-the-glass): when, and a
    /// link to the access log; neither who nor why (those are behind the sign-in).
    EmergencyAccess {
        when: &'a str,
        link: &'a str,
    },
    /// A visit was booked, is coming up, or was cancelled. Date, time and a link only.
    Visit {
        notice: VisitNotice,
        when: &'a str,
        link: &'a str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitNotice {
    Booked,
    Reminder,
    Cancelled,
    Rescheduled,
    /// To the clinician: a patient booked a visit with them.
    PatientBooked,
    /// To the clinician: their patient cancelled.
    PatientCancelled,
    /// To the clinician: their patient moved the visit.
    PatientRescheduled,
    /// To the patient: their clinician started a video visit now and waits in it.
    StartNow,
}

impl VisitNotice {
    /// Whether the clinician (not the patient) is the one told.
    pub fn to_clinician(self) -> bool {
        matches!(
            self,
            VisitNotice::PatientBooked
                | VisitNotice::PatientCancelled
                | VisitNotice::PatientRescheduled
        )
    }

    /// The in-app notification kind.
    pub fn kind(self) -> &'static str {
        match self {
            VisitNotice::Booked => "visit.booked",
            VisitNotice::Reminder => "visit.reminder",
            VisitNotice::Cancelled => "visit.cancelled",
            VisitNotice::Rescheduled => "visit.rescheduled",
            VisitNotice::PatientCancelled => "visit.patient_cancelled",
            VisitNotice::PatientRescheduled => "visit.patient_rescheduled",
            VisitNotice::PatientBooked => "visit.patient_booked",
            VisitNotice::StartNow => "visit.start_now",
        }
    }
}

impl Mail<'_> {
    /// The subject and text in `lang`, signed with the clinic's name (`clinic`); the
    /// words are the language's (`mail_*` in its Fluent file).
    fn compose(&self, lang: Lang, clinic: &str) -> (String, String) {
        let t = lang.texts();
        let (subject, body) = match self {
            Mail::VerifyEmail { link } => (
                t.mail_verify_email_subject(args::MailVerifyEmailSubject {
                    clinic: clinic.into(),
                }),
                t.mail_verify_email_body(args::MailVerifyEmailBody {
                    clinic: clinic.into(),
                    link: (*link).into(),
                }),
            ),
            Mail::SignInCode { code, minutes } => (
                t.mail_sign_in_code_subject(args::MailSignInCodeSubject {
                    clinic: clinic.into(),
                    code: (*code).into(),
                }),
                t.mail_sign_in_code_body(args::MailSignInCodeBody {
                    clinic: clinic.into(),
                    code: (*code).into(),
                    minutes: (*minutes).into(),
                }),
            ),
            Mail::AccountExists { sign_in, reset } => (
                t.mail_account_exists_subject(args::MailAccountExistsSubject {
                    clinic: clinic.into(),
                }),
                t.mail_account_exists_body(args::MailAccountExistsBody {
                    clinic: clinic.into(),
                    reset: (*reset).into(),
                    sign_in: (*sign_in).into(),
                }),
            ),
            Mail::ResetPassword { link } => (
                t.mail_reset_password_subject(args::MailResetPasswordSubject {
                    clinic: clinic.into(),
                }),
                t.mail_reset_password_body(args::MailResetPasswordBody {
                    link: (*link).into(),
                }),
            ),
            Mail::ProxyInvitation { link, days } => (
                t.mail_proxy_invitation_subject(args::MailProxyInvitationSubject {
                    clinic: clinic.into(),
                }),
                t.mail_proxy_invitation_body(args::MailProxyInvitationBody {
                    days: (*days).into(),
                    link: (*link).into(),
                }),
            ),
            Mail::NewMessage { link } => (
                t.mail_new_message_subject(args::MailNewMessageSubject {
                    clinic: clinic.into(),
                }),
                t.mail_new_message_body(args::MailNewMessageBody {
                    link: (*link).into(),
                }),
            ),
            Mail::EmergencyAccess { when, link } => (
                t.mail_emergency_access_subject(args::MailEmergencyAccessSubject {
                    clinic: clinic.into(),
                }),
                t.mail_emergency_access_body(args::MailEmergencyAccessBody {
                    link: (*link).into(),
                    when: (*when).into(),
                }),
            ),
            Mail::Invitation { link, role } => (
                t.mail_invitation_subject(args::MailInvitationSubject {
                    clinic: clinic.into(),
                }),
                t.mail_invitation_body(args::MailInvitationBody {
                    clinic: clinic.into(),
                    link: (*link).into(),
                    role: (*role).into(),
                }),
            ),
            Mail::Visit { notice, when, link } => match notice {
                VisitNotice::Booked => (
                    t.mail_visit_booked_subject(args::MailVisitBookedSubject {
                        clinic: clinic.into(),
                    }),
                    t.mail_visit_booked_body(args::MailVisitBookedBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
                VisitNotice::Reminder => (
                    t.mail_visit_reminder_subject(args::MailVisitReminderSubject {
                        clinic: clinic.into(),
                    }),
                    t.mail_visit_reminder_body(args::MailVisitReminderBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
                VisitNotice::Cancelled => (
                    t.mail_visit_cancelled_subject(args::MailVisitCancelledSubject {
                        clinic: clinic.into(),
                    }),
                    t.mail_visit_cancelled_body(args::MailVisitCancelledBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
                VisitNotice::Rescheduled => (
                    t.mail_visit_rescheduled_subject(args::MailVisitRescheduledSubject {
                        clinic: clinic.into(),
                    }),
                    t.mail_visit_rescheduled_body(args::MailVisitRescheduledBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
                VisitNotice::PatientBooked => (
                    t.mail_visit_patient_booked_subject(args::MailVisitPatientBookedSubject {
                        clinic: clinic.into(),
                    }),
                    t.mail_visit_patient_booked_body(args::MailVisitPatientBookedBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
                VisitNotice::PatientCancelled => (
                    t.mail_visit_patient_cancelled_subject(
                        args::MailVisitPatientCancelledSubject {
                            clinic: clinic.into(),
                        },
                    ),
                    t.mail_visit_patient_cancelled_body(args::MailVisitPatientCancelledBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
                VisitNotice::PatientRescheduled => (
                    t.mail_visit_patient_rescheduled_subject(
                        args::MailVisitPatientRescheduledSubject {
                            clinic: clinic.into(),
                        },
                    ),
                    t.mail_visit_patient_rescheduled_body(args::MailVisitPatientRescheduledBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
                VisitNotice::StartNow => (
                    t.mail_visit_start_now_subject(args::MailVisitStartNowSubject {
                        clinic: clinic.into(),
                    }),
                    t.mail_visit_start_now_body(args::MailVisitStartNowBody {
                        link: (*link).into(),
                        when: (*when).into(),
                    }),
                ),
            },
        };
        // A Fluent text ends at its last word; a mail's text ends with a line break.
        (subject, body + "\n")
    }
}

/// Queues `mail` to `to` in the caller's transaction; it is sent after the commit.
pub async fn enqueue(
    conn: &mut Conn,
    to: &Email,
    mail: Mail<'_>,
    letter: Letter<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    enqueue_with_calendar(conn, to, mail, None, letter, now).await
}

/// How a mail is written: in the reader's language, in the clinic's name.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    pub lang: Lang,
    pub clinic: &'a str,
}

/// Queues `mail` with an iCalendar attachment.
pub async fn enqueue_with_calendar(
    conn: &mut Conn,
    to: &Email,
    mail: Mail<'_>,
    calendar: Option<&str>,
    letter: Letter<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let (subject, body) = mail.compose(letter.lang, letter.clinic);
    outbox::enqueue(conn, to.as_str(), &subject, &body, calendar, now).await
}

/// Delivers queued mail until the process ends. Without SMTP configured it leaves mail
/// queued (readable in the admin outbox).
pub async fn run_sender(
    store: Store,
    config: Arc<Config>,
    clock: Arc<dyn telemed_domain::Clock>,
    wake: Arc<Notify>,
) {
    let Some(smtp) = config.smtp.clone() else {
        tracing::warn!(
            "no SMTP server is configured: mail stays in the outbox (admin pages show it)"
        );
        if config.demo {
            print_demo_mail(store, wake).await;
        }
        return;
    };
    let transport = match transport(&smtp) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "the SMTP settings are not usable; mail stays in the outbox");
            return;
        }
    };
    let from: Option<Mailbox> = smtp.from.parse().ok();
    let outbox = Outbox {
        store: &store,
        clock: clock.as_ref(),
        channel: outbox::EMAIL,
        keep_bodies: config.demo,
        wake: &wake,
    };
    outbox.deliver_forever(&Smtp { transport, from }).await;
}

/// The clinic's SMTP server, where email leaves.
struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// `smtp.from`, when it is an address.
    from: Option<Mailbox>,
}

impl Carrier for Smtp {
    async fn carry(&self, mail: &outbox::OutboxMail) -> Handed {
        let Some(from) = &self.from else {
            return Handed::Later("smtp.from is not a valid address".to_owned());
        };
        // The SMTP reply may quote the address: it goes to the outbox row, not the log.
        match deliver(&self.transport, from, mail).await {
            Ok(()) => Handed::Taken(None),
            Err(e) => Handed::Later(e),
        }
    }
}

/// The demo (made-up people, no SMTP server): each new mail's recipient, subject,
/// links and codes are also printed on the terminal, so that signing up, a sign-in code
/// or a reset can be tried without reading the admin outbox. Mail stays queued.
async fn print_demo_mail(store: Store, wake: Arc<Notify>) {
    let mut seen: std::collections::HashSet<String> = match store.recent_mail(500).await {
        Ok(mail) => mail.into_iter().map(|m| m.id).collect(),
        Err(_) => Default::default(),
    };
    loop {
        if let Ok(mut recent) = store.recent_mail(50).await {
            recent.reverse();
            for mail in recent.into_iter().filter(|m| seen.insert(m.id.clone())) {
                println!("\n✉ demo mail to {}: {}", mail.to_addr, mail.subject);
                for line in mail.body_text.lines().map(str::trim).filter(|l| {
                    l.contains("http") || (l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
                }) {
                    println!("  {line}");
                }
            }
        }
        crate::delivery::pause(&wake).await;
    }
}

fn transport(
    smtp: &SmtpConfig,
) -> std::result::Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let mut builder = match smtp.security.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
        "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?,
    }
    .port(smtp.port)
    .timeout(Some(StdDuration::from_secs(20)));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

async fn deliver(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    mail: &telemed_store::outbox::OutboxMail,
) -> std::result::Result<(), String> {
    let to: Mailbox = mail
        .to_addr
        .parse()
        .map_err(|e| format!("bad recipient: {e}"))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone());
    let message = match &mail.calendar {
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body_text.clone()),
        Some(ics) => {
            let method = if ics.contains("METHOD:CANCEL") {
                "CANCEL"
            } else {
                "REQUEST"
            };
            let calendar_type =
                ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .map_err(|e| format!("calendar content type: {e}"))?;
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(mail.body_text.clone()))
                    .singlepart(
                        Attachment::new("telemed-visit.ics".into())
                            .body(ics.clone(), calendar_type),
                    ),
            )
        }
    }
    .map_err(|e| format!("cannot build the message: {e}"))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_mail() -> Vec<Mail<'static>> {
        let link = "https://clinic.example/x?token=abc";
        let mut all = vec![
            Mail::VerifyEmail { link },
            Mail::AccountExists {
                sign_in: link,
                reset: link,
            },
            Mail::ResetPassword { link },
            Mail::SignInCode {
                code: "042917",
                minutes: 10,
            },
            Mail::Invitation {
                link,
                role: "clinician",
            },
            Mail::ProxyInvitation { link, days: 1 },
            Mail::NewMessage { link },
            Mail::EmergencyAccess {
                when: "7 Dec 2026, 13:17",
                link,
            },
        ];
        for notice in [
            VisitNotice::Booked,
            VisitNotice::Reminder,
            VisitNotice::Cancelled,
            VisitNotice::Rescheduled,
            VisitNotice::PatientBooked,
            VisitNotice::PatientCancelled,
            VisitNotice::PatientRescheduled,
            VisitNotice::StartNow,
        ] {
            all.push(Mail::Visit {
                notice,
                when: "7 Dec 2026, 13:17",
                link,
            });
        }
        all
    }

    /// Every mail reads whole in every language: the clinic named, the link or code
    /// given, no Fluent placeholder left, one line break at the end.
    #[test]
    fn every_mail_is_written_in_every_language() {
        for lang in Lang::ALL {
            for mail in every_mail() {
                let (subject, body) = mail.compose(lang, "Clínica Sol");
                assert!(subject.contains("Clínica Sol"), "{lang:?}: {subject}");
                assert!(
                    body.contains("https://clinic.example/x?token=abc") || body.contains("042917"),
                    "{lang:?}: {body}"
                );
                assert!(!subject.contains('{') && !body.contains('{'), "{body}");
                assert!(body.ends_with(".\n") || body.ends_with("abc\n"), "{body:?}");
                assert!(!body.ends_with("\n\n"), "{body:?}");
            }
        }
    }

    #[test]
    fn a_code_stands_on_a_line_of_its_own_and_plurals_follow_the_language() {
        let (subject, body) = Mail::SignInCode {
            code: "042917",
            minutes: 10,
        }
        .compose(Lang::En, "Sol");
        assert_eq!(subject, "Your Sol sign-in code: 042917");
        assert!(
            body.starts_with("Hello,\n\nYour code to sign in to Sol is:\n\n042917\n\nType it"),
            "{body:?}"
        );
        assert!(body.contains("for 10 minutes."), "{body}");
        let one_day = |lang| {
            Mail::ProxyInvitation { link: "L", days: 1 }
                .compose(lang, "Sol")
                .1
        };
        assert!(one_day(Lang::En).contains("(valid for one day)"));
        assert!(one_day(Lang::Es).contains("(válido un día)"));
    }
}
