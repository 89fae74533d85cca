//! The demo clinic in Spanish, page by page: each demo login (patient, clinician,
//! staff, admin, pharmacist) chooses Spanish and follows every link it is shown; no
//! page may show a text of the English catalogue that Spanish words differently, nor
//! an English day or month name. This is the check that a new page or label cannot
//! ship half translated.

use std::collections::{BTreeSet, VecDeque};

use telemed_domain::Clock as _;
use telemed_server::i18n::Lang;

use telemed_testkit::WebClient;

use crate::demo::{printed_password, Demo};
use crate::Folder;

/// Pages each login visits at most: enough for every kind of page the demo reaches.
const PAGES_PER_LOGIN: usize = 120;

/// Links that are not pages to read: files, feeds, the live socket, signing out.
fn is_page(path: &str) -> bool {
    const NOT_PAGES: [&str; 12] = [
        "/logout",
        "/static/",
        "/ws",
        "/files/",
        "/download",
        "/export",
        ".pdf",
        ".ics",
        "/feed",
        "/thumbnail",
        "/raw",
        "/api/",
    ];
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/fhir")
        && !NOT_PAGES.iter().any(|n| path.contains(n))
}

/// What a reader sees of a page: its text without markup, scripts or styles, with
/// the common entities read and white space folded.
fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag = &rest[open..];
        // Scripts and styles are not read; nor is a text field that says it holds
        // another language (the admin's English consent text beside the Spanish one).
        let opening = &tag[..tag.find('>').unwrap_or(tag.len())];
        let other_language = opening.starts_with("<textarea") && opening.contains(" lang=\"en\"");
        let skip_to = ["<script", "<style"]
            .iter()
            .find(|t| tag.starts_with(**t))
            .and_then(|t| tag.find(&format!("</{}", &t[1..])))
            .or_else(|| other_language.then(|| tag.find("</textarea")).flatten());
        let after = match skip_to {
            Some(end) => open + end,
            None => open,
        };
        let close = rest[after..].find('>').map(|c| after + c);
        if skip_to.is_none() {
            // What a tag says aloud or on hover is read too.
            let inside = &rest[open..close.unwrap_or(rest.len())];
            for attribute in ["aria-label=\"", "placeholder=\"", "title=\"", "alt=\""] {
                for said in inside.split(attribute).skip(1) {
                    text.push_str(said.split('"').next().unwrap_or_default());
                    text.push(' ');
                }
            }
        }
        rest = match close {
            Some(close) => &rest[close + 1..],
            None => "",
        };
    }
    text.push_str(rest);
    let text = text
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The English phrases that must not appear on a Spanish page: each English text's
/// pieces between placeholders and line breaks, long enough (two words, 12 letters)
/// not to occur by chance, where the Spanish text says something else.
fn english_phrases() -> Vec<(&'static str, String)> {
    let mut phrases = vec![];
    for ((key, en), (_, es)) in Lang::En.words().into_iter().zip(Lang::Es.words()) {
        let es = es.concat();
        for piece in en.iter().flat_map(|piece| piece.split('\n')) {
            let piece = piece.split_whitespace().collect::<Vec<_>>().join(" ");
            let piece = piece.trim_matches(|c: char| c.is_ascii_punctuation() || c == ' ');
            if piece.len() >= 12 && piece.contains(' ') && !es.contains(piece) {
                phrases.push((key, piece.to_owned()));
            }
        }
    }
    phrases
}

const ENGLISH_NAMES: [&str; 18] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The hrefs of a page's links, as paths on this site.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .map(|href| href.split('#').next().unwrap_or_default().to_owned())
        .filter(|href| is_page(href))
        .collect()
}

/// Signs `email` in, enrolling the second factor where the role must, and switches
/// the account to Spanish.
async fn spanish_session(base: &str, email: &str, password: &str) -> WebClient {
    let web = WebClient::for_site(base);
    let (status, next) = web.sign_in(email, password).await;
    assert_eq!(status, 303, "sign-in of {email}");
    if next.as_deref() == Some("/account/mfa") {
        web.enrol_totp(telemed_domain::SystemClock.now()).await;
    }
    let r = web
        .post("/language", &[("lang", "es"), ("back", "/")])
        .await;
    assert!(r.status().is_redirection(), "language of {email}");
    web
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_demo_reads_in_spanish() {
    let folder = Folder::new();
    let demo = Demo::start(&folder).await;
    let printed = demo.logins();
    let password = printed_password(&printed);
    // One login of each role: "  clinician  dr.garcia@… Dr. …".
    let mut roles = BTreeSet::new();
    let logins: Vec<String> = printed
        .iter()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (role, email) = (words.next()?, words.next()?);
            (l.starts_with("  ") && email.contains('@') && roles.insert(role.to_owned()))
                .then(|| email.to_owned())
        })
        .collect();
    assert!(logins.len() >= 4, "{printed:?}");

    let phrases = english_phrases();
    assert!(
        phrases.len() > 200,
        "the catalogue is read: {}",
        phrases.len()
    );
    let mut found = BTreeSet::new();
    let mut pages = 0;
    // Pages that name a month in Spanish: dates are shown, and in Spanish.
    let mut dated = 0;
    let spanish_months: Vec<&str> = Lang::Es
        .texts()
        .months
        .split(',')
        .chain(Lang::Es.texts().months_short.split(','))
        .map(str::trim)
        .collect();
    for email in &logins {
        let web = spanish_session(&demo.base, email, &password).await;
        let mut seen = BTreeSet::from(["/".to_owned()]);
        let mut queue = VecDeque::from(["/".to_owned()]);
        while let Some(path) = queue.pop_front() {
            if seen.len() > PAGES_PER_LOGIN {
                break;
            }
            let r = web.get(&path).await;
            let html_page = r
                .headers()
                .get("content-type")
                .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/html"));
            if !r.status().is_success() || !html_page {
                continue;
            }
            let html = r.text().await.unwrap();
            pages += 1;
            let text = visible_text(&html);
            for (key, phrase) in &phrases {
                if text.contains(phrase.as_str()) {
                    found.insert(format!("{path}: {key} \"{phrase}\""));
                }
            }
            if text
                .split(|c: char| !c.is_alphanumeric())
                .any(|word| spanish_months.contains(&word))
            {
                dated += 1;
            }
            for name in ENGLISH_NAMES {
                if text
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|word| word == name)
                {
                    found.insert(format!("{path}: English \"{name}\""));
                }
            }
            for link in links(&html) {
                if seen.insert(link.clone()) {
                    queue.push_back(link);
                }
            }
        }
    }
    assert!(pages > 40, "the logins reached the clinic's pages: {pages}");
    assert!(
        dated > 10,
        "pages with dates in Spanish: {dated} of {pages}"
    );
    assert!(
        found.is_empty(),
        "{} English texts on Spanish pages:\n{}",
        found.len(),
        found.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn what_a_reader_sees_of_a_page() {
    let html = "<p>Hola <b>Ana</b> &amp; co</p><script>var x = \"Monday\";</script>\n<style>p{}</style><a href=\"/x?a=1&amp;b=2#top\" title=\"Semana\">ir</a>";
    assert_eq!(visible_text(html), "Hola Ana & co Semana ir");
    assert_eq!(links(html), vec!["/x?a=1&b=2"]);
    assert!(!is_page("/logout") && !is_page("https://elsewhere") && is_page("/calendar"));
}
