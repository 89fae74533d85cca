//! Email: what telemed sends (in the reader's language, never with clinical content),
//! queued in the outbox inside the caller's transaction and delivered by `run_sender`
//! over SMTP with retries.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use telemed_domain::{Email, Result};
use telemed_store::{outbox, Conn, Store};
use tokio::sync::Notify;

use crate::config::{Config, SmtpConfig};
use crate::i18n::Lang;

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
    /// The subject and text in `lang`, signed with the clinic's name (`clinic`).
    fn compose(&self, lang: Lang, clinic: &str) -> (String, String) {
        let es = lang == Lang::Es;
        match self {
            Mail::VerifyEmail { link } => {
                if es {
                    (format!("Confirme su correo para {clinic}"), format!("Hola:\n\nPara confirmar su dirección y activar su cuenta de {clinic}, abra este enlace (válido 24 horas):\n\n{link}\n\nSi no creó una cuenta, ignore este mensaje.\n"))
                } else {
                    (format!("Confirm your email for {clinic}"), format!("Hello,\n\nTo confirm your address and activate your {clinic} account, open this link (valid for 24 hours):\n\n{link}\n\nIf you did not create an account, ignore this message.\n"))
                }
            }
            Mail::SignInCode { code, minutes } => {
                if es {
                    (format!("Su código para entrar en {clinic}: {code}"), format!("Hola:\n\nSu código para entrar en {clinic} es:\n\n    {code}\n\nEscríbalo en la página donde lo pidió. Vale {minutes} minutos y una sola vez.\n\nSi no lo pidió, ignore este mensaje: nadie puede entrar sin el código.\n"))
                } else {
                    (format!("Your {clinic} sign-in code: {code}"), format!("Hello,\n\nYour code to sign in to {clinic} is:\n\n    {code}\n\nType it on the page where you asked for it. It works once, for {minutes} minutes.\n\nIf you did not ask for it, ignore this message: no one can sign in without the code.\n"))
                }
            }
            Mail::AccountExists { sign_in, reset } => {
                if es {
                    (format!("Ya tiene una cuenta de {clinic}"), format!("Hola:\n\nAlguien intentó crear una cuenta de {clinic} con esta dirección, pero ya tiene una.\n\nIniciar sesión: {sign_in}\nSi olvidó su contraseña: {reset}\n\nSi no fue usted, ignore este mensaje.\n"))
                } else {
                    (format!("You already have a {clinic} account"), format!("Hello,\n\nSomeone tried to create a {clinic} account with this address, but you already have one.\n\nSign in: {sign_in}\nForgot your password: {reset}\n\nIf this was not you, ignore this message.\n"))
                }
            }
            Mail::ResetPassword { link } => {
                if es {
                    (format!("Restablecer su contraseña de {clinic}"), format!("Hola:\n\nPara elegir una contraseña nueva, abra este enlace (válido 1 hora):\n\n{link}\n\nSi no lo pidió, ignore este mensaje: su contraseña no cambia.\n"))
                } else {
                    (format!("Reset your {clinic} password"), format!("Hello,\n\nTo choose a new password, open this link (valid for 1 hour):\n\n{link}\n\nIf you did not ask for this, ignore this message: your password stays the same.\n"))
                }
            }
            Mail::ProxyInvitation { link, days } => {
                if es {
                    (format!("Invitación para acceder a una historia en {clinic}"), format!("Hola:\n\nUn paciente de la clínica le invitó a ver su historia clínica en su nombre (como familiar o cuidador). Para ver quién le invitó y aceptar o rechazar, inicie sesión con esta dirección de correo y abra (válido {days} días):\n\n{link}\n\nSi no tiene cuenta, regístrese como paciente con esta misma dirección. Si no espera esta invitación, ignore este mensaje: nada cambia sin su respuesta.\n"))
                } else {
                    (format!("An invitation to access a record on {clinic}"), format!("Hello,\n\nA patient of the clinic invited you to see their health record on their behalf (as a relative or carer). To see who invited you and accept or decline, sign in with this email address and open (valid for {days} days):\n\n{link}\n\nIf you have no account, register as a patient with this same address. If you do not expect this invitation, ignore this message: nothing changes without your answer.\n"))
                }
            }
            Mail::NewMessage { link } => {
                if es {
                    (format!("Tiene un mensaje nuevo en {clinic}"), format!("Hola:\n\nTiene un mensaje seguro nuevo. Léalo aquí (tras iniciar sesión):\n\n{link}\n\nPor su privacidad, el mensaje no se envía por correo.\n"))
                } else {
                    (format!("You have a new message on {clinic}"), format!("Hello,\n\nYou have a new secure message. Read it here (sign-in required):\n\n{link}\n\nFor your privacy, the message itself is not sent by email.\n"))
                }
            }
            Mail::EmergencyAccess { when, link } => {
                if es {
                    (format!("Acceso de emergencia a su historia en {clinic}"), format!("Hola:\n\nEl {when}, un profesional sin relación asistencial con usted abrió su historia clínica por una emergencia. Estos accesos quedan registrados con su motivo y la clínica los revisa.\n\nVea quién y por qué (tras iniciar sesión):\n\n{link}\n\nSi algo no le parece correcto, contacte con la clínica.\n"))
                } else {
                    (format!("Emergency access to your {clinic} record"), format!("Hello,\n\nOn {when}, a clinician without a care relationship with you opened your health record in an emergency. Such access is recorded with its reason and reviewed by the clinic.\n\nSee who and why (sign-in required):\n\n{link}\n\nIf something looks wrong, contact the clinic.\n"))
                }
            }
            Mail::Visit { notice, when, link } => match (notice, es) {
                (VisitNotice::Booked, false) => (format!("Your {clinic} visit is booked"), format!("Hello,\n\nYour visit is booked for {when}.\n\nSee or change it: {link}\n\nThe attached invitation adds it to your calendar.\n")),
                (VisitNotice::Booked, true) => (format!("Su cita de {clinic} está reservada"), format!("Hola:\n\nSu cita está reservada para el {when}.\n\nVerla o cambiarla: {link}\n\nLa invitación adjunta la añade a su calendario.\n")),
                (VisitNotice::Reminder, false) => (format!("Reminder: your {clinic} visit"), format!("Hello,\n\nA reminder of your visit on {when}.\n\nDetails: {link}\n")),
                (VisitNotice::Reminder, true) => (format!("Recordatorio: su cita de {clinic}"), format!("Hola:\n\nLe recordamos su cita del {when}.\n\nDetalles: {link}\n")),
                (VisitNotice::Cancelled, false) => (format!("Your {clinic} visit is cancelled"), format!("Hello,\n\nYour visit on {when} is cancelled.\n\nBook another time: {link}\n")),
                (VisitNotice::Cancelled, true) => (format!("Su cita de {clinic} está cancelada"), format!("Hola:\n\nSu cita del {when} está cancelada.\n\nReservar otra hora: {link}\n")),
                (VisitNotice::Rescheduled, false) => (format!("Your {clinic} visit has a new time"), format!("Hello,\n\nYour visit is now on {when}.\n\nSee or change it: {link}\n\nThe attached invitation updates your calendar.\n")),
                (VisitNotice::Rescheduled, true) => (format!("Su cita de {clinic} tiene una hora nueva"), format!("Hola:\n\nSu cita es ahora el {when}.\n\nVerla o cambiarla: {link}\n\nLa invitación adjunta actualiza su calendario.\n")),
                (VisitNotice::PatientBooked, false) => (format!("A patient booked a {clinic} visit with you"), format!("Hello,\n\nA patient booked a visit with you on {when}.\n\nYour day: {link}\n")),
                (VisitNotice::PatientBooked, true) => (format!("Un paciente reservó una cita de {clinic} con usted"), format!("Hola:\n\nUn paciente reservó una cita con usted el {when}.\n\nSu día: {link}\n")),
                (VisitNotice::PatientCancelled, false) => (format!("A {clinic} visit was cancelled by the patient"), format!("Hello,\n\nThe patient cancelled the visit on {when}. The time is free again.\n\nYour day: {link}\n")),
                (VisitNotice::PatientCancelled, true) => (format!("Un paciente canceló una cita de {clinic}"), format!("Hola:\n\nEl paciente canceló la cita del {when}. La hora vuelve a estar libre.\n\nSu día: {link}\n")),
                (VisitNotice::PatientRescheduled, false) => (format!("A {clinic} visit was moved by the patient"), format!("Hello,\n\nThe patient moved a visit; it is now on {when}.\n\nYour day: {link}\n")),
                (VisitNotice::StartNow, false) => (format!("Your clinician is waiting for you now ({clinic})"), format!("Hello,\n\nYour clinician has started a video visit with you and is waiting for you now ({when}).\n\nJoin it: {link}\n\nIf you are not signed in on this device, that page emails you a code to sign in with (or use your password).\n")),
                (VisitNotice::StartNow, true) => (format!("Su profesional le espera ahora ({clinic})"), format!("Hola:\n\nSu profesional ha iniciado una videoconsulta con usted y le espera ahora ({when}).\n\nEntrar: {link}\n\nSi no ha iniciado sesión en este dispositivo, esa página le envía por correo un código para entrar (o use su contraseña).\n")),
                (VisitNotice::PatientRescheduled, true) => (format!("Un paciente cambió la hora de una cita de {clinic}"), format!("Hola:\n\nEl paciente cambió una cita; ahora es el {when}.\n\nSu día: {link}\n")),
            },
            Mail::Invitation { link, role } => {
                if es {
                    (format!("Invitación a {clinic}"), format!("Hola:\n\nLe invitaron a unirse a {clinic} como {role}. Para crear su cuenta, abra este enlace (válido 7 días):\n\n{link}\n"))
                } else {
                    (format!("Your invitation to {clinic}"), format!("Hello,\n\nYou have been invited to join {clinic} as {role}. To create your account, open this link (valid for 7 days):\n\n{link}\n"))
                }
            }
        }
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
    loop {
        let now = clock.now();
        match store.claim_due_mail(now, Duration::minutes(5), 20).await {
            Ok(batch) => {
                for mail in batch {
                    let result = match &from {
                        Some(from) => deliver(&transport, from, &mail).await,
                        None => Err("smtp.from is not a valid address".to_owned()),
                    };
                    let now = clock.now();
                    let stored = match result {
                        Ok(()) => store.mark_mail_sent(&mail.id, now, config.demo).await,
                        Err(e) => {
                            // The SMTP reply may quote the address: it goes to the outbox row, not the log.
                            tracing::warn!(
                                attempt = mail.attempts + 1,
                                "sending mail failed; will retry (the admin outbox shows why)"
                            );
                            let backoff =
                                Duration::seconds(30 * (1i64 << mail.attempts.clamp(0, 7)));
                            store.mark_mail_failed(&mail.id, &e, now + backoff).await
                        }
                    };
                    if let Err(e) = stored {
                        tracing::error!(error = ?e, "recording the mail outcome failed");
                    }
                }
            }
            // An outage is logged by the store, once in a while.
            Err(telemed_domain::Error::Unavailable { .. }) => {}
            Err(e) => tracing::error!(error = ?e, "reading the mail outbox failed"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(StdDuration::from_secs(5)) => {}
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
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(StdDuration::from_secs(5)) => {}
        }
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
