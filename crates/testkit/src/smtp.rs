//! A small SMTP server for tests: it speaks enough of RFC 5321 (EHLO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT) for telemed's real SMTP client to deliver to it, and keeps every
//! message so a test can read it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    /// The message as sent: headers and encoded body.
    pub raw: String,
}

impl ReceivedMail {
    /// A header's value, with folded continuation lines joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self
            .raw
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ");
        let prefix = format!("{}:", name.to_lowercase());
        head.split("\r\n")
            .find(|l| l.to_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The code of a sign-in code mail: the six digits that end its subject (and are
    /// in its text).
    pub fn sign_in_code(&self) -> String {
        let subject = self.subject();
        let code: String = subject
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        assert_eq!(code.len(), 6, "{subject}");
        assert!(self.body().contains(&code), "{}", self.body());
        code
    }

    /// The subject, with RFC 2047 encoded words (`=?utf-8?b?...?=`) decoded.
    pub fn subject(&self) -> String {
        let raw = self.header("Subject").unwrap_or_default();
        raw.split_whitespace()
            .map(decode_encoded_word)
            .collect::<Vec<_>>()
            .join("")
    }

    /// The body, decoded from quoted-printable or base64 as its header says.
    pub fn body(&self) -> String {
        let body = self
            .raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        match self
            .header("Content-Transfer-Encoding")
            .map(|e| e.to_lowercase())
            .as_deref()
        {
            Some("quoted-printable") => decode_quoted_printable(body),
            Some("base64") => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            _ => body.to_owned(),
        }
    }

    /// The decoded body of the first MIME part whose Content-Type starts with `prefix`
    /// (e.g. `text/calendar`), for multipart messages.
    pub fn part(&self, prefix: &str) -> Option<String> {
        let content_type = self.header("Content-Type")?;
        let boundary = content_type
            .split("boundary=")
            .nth(1)?
            .trim_matches('"')
            .split(';')
            .next()?
            .trim_matches('"')
            .to_owned();
        for part in self.raw.split(&format!("--{boundary}")).skip(1) {
            let part = part.trim_start_matches("\r\n");
            let mail = ReceivedMail {
                recipients: Vec::new(),
                raw: part.to_owned(),
            };
            if mail
                .header("Content-Type")
                .is_some_and(|ct| ct.to_lowercase().starts_with(prefix))
            {
                return Some(mail.body());
            }
        }
        None
    }

    /// The path and query of the first link in the body that contains `fragment`.
    pub fn link_path(&self, fragment: &str) -> Option<String> {
        let body = self.body();
        let url = body
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(fragment))?;
        let after_scheme = url.split_once("://")?.1;
        after_scheme.find('/').map(|i| after_scheme[i..].to_owned())
    }
}

fn decode_encoded_word(word: &str) -> String {
    let Some(inner) = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?=")) else {
        return format!("{word} ");
    };
    let mut parts = inner.splitn(3, '?');
    let (_charset, encoding, text) = (
        parts.next(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    match encoding.to_ascii_lowercase().as_str() {
        "b" => String::from_utf8_lossy(
            &base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default(),
        )
        .into_owned(),
        "q" => decode_quoted_printable(&text.replace('_', " ")),
        _ => word.to_owned(),
    }
}

fn decode_quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
}

impl SmtpSink {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let sink = SmtpSink {
            port,
            received: Arc::default(),
            arrived: Arc::default(),
        };
        let accept = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let session = accept.clone();
                tokio::spawn(async move {
                    let _ = session.serve(stream).await;
                });
            }
        });
        Ok(sink)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits (up to 20 s) for a message to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> ReceivedMail {
        self.wait_for_nth(to, subject, 1).await
    }

    /// Waits for the `n`th such message and returns it.
    pub async fn wait_for_nth(&self, to: &str, subject: &str, n: usize) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.arrived.notified();
            let matching: Vec<ReceivedMail> = self
                .all()
                .into_iter()
                .filter(|m| {
                    m.recipients.iter().any(|r| r.eq_ignore_ascii_case(to))
                        && m.subject().contains(subject)
                })
                .collect();
            if let Some(m) = matching.into_iter().nth(n - 1) {
                return m;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no mail to {to} with subject containing {subject:?} within 20 s; received: {:?}", self.all().iter().map(|m| m.subject()).collect::<Vec<_>>());
            }
        }
    }

    async fn serve(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 telemed-test-sink ESMTP\r\n").await?;
        let mut recipients = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-telemed-test-sink\r\n250 8BITMIME\r\n"
            } else if command.starts_with("HELO")
                || command.starts_with("MAIL FROM")
                || command.starts_with("NOOP")
            {
                b"250 OK\r\n"
            } else if command.starts_with("RSET") {
                recipients.clear();
                b"250 OK\r\n"
            } else if command.starts_with("RCPT TO") {
                let addr = line.trim_end()[8..]
                    .trim()
                    .trim_start_matches(':')
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_owned();
                recipients.push(addr);
                b"250 OK\r\n"
            } else if command == "DATA" {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    raw.push_str(
                        line.strip_prefix('.')
                            .filter(|_| line.starts_with(".."))
                            .unwrap_or(&line),
                    );
                }
                if let Ok(mut all) = self.received.lock() {
                    all.push(ReceivedMail {
                        recipients: std::mem::take(&mut recipients),
                        raw,
                    });
                }
                self.arrived.notify_waiters();
                b"250 OK queued\r\n"
            } else if command == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"502 not implemented\r\n"
            };
            write.write_all(reply).await?;
        }
    }
}
