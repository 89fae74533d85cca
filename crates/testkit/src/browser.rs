//! Headless Debian Chromium for UI tests, driven over the DevTools protocol. Never a
//! downloaded browser: `TELEMED_CHROMIUM` or /usr/bin/chromium.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;

use crate::{totp_code, TestApp, TestUser};

pub struct TestBrowser {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    profile: PathBuf,
}

pub fn chromium_path() -> PathBuf {
    std::env::var_os("TELEMED_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

impl TestBrowser {
    pub async fn launch() -> anyhow::Result<Self> {
        Self::launch_with(None).await
    }

    /// A browser with a phone's screen (390 × 844 CSS pixels, touch, mobile), as
    /// patients mostly have.
    pub async fn launch_phone() -> anyhow::Result<Self> {
        Self::launch_with(Some(chromiumoxide::handler::viewport::Viewport {
            width: 390,
            height: 844,
            device_scale_factor: Some(1.0),
            emulating_mobile: true,
            is_landscape: false,
            has_touch: true,
        }))
        .await
    }

    /// `viewport`: an emulated screen; None for the window's own (1280 × 900).
    async fn launch_with(
        viewport: Option<chromiumoxide::handler::viewport::Viewport>,
    ) -> anyhow::Result<Self> {
        let exe = chromium_path();
        if !exe.exists() {
            return Err(anyhow!(
                "Chromium is not installed at {} (apt-get install chromium)",
                exe.display()
            ));
        }
        let profile =
            std::env::temp_dir().join(format!("telemed-chromium-{}", uuid::Uuid::new_v4()));
        let config = BrowserConfig::builder()
            .chrome_executable(&exe)
            .new_headless_mode()
            .no_sandbox()
            .user_data_dir(&profile)
            .window_size(1280, 900)
            .viewport(viewport)
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(30))
            .args([
                "--disable-gpu",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--allow-loopback-in-peer-connection",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ])
            .build()
            .map_err(|e| anyhow!("browser config: {e}"))?;
        let (browser, mut events) = Browser::launch(config)
            .await
            .context("launching Chromium")?;
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        Ok(TestBrowser {
            browser,
            handler,
            profile,
        })
    }

    pub async fn open(&self, url: &str) -> anyhow::Result<Page> {
        let page = self
            .browser
            .new_page(url)
            .await
            .with_context(|| format!("opening {url}"))?;
        page.wait_for_navigation().await?;
        Ok(page)
    }

    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Chooses a file in a file input, as a person would with the file picker.
pub async fn choose_file(
    page: &Page,
    selector: &str,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
    let input = wait_for(page, selector).await?;
    let params = SetFileInputFilesParams {
        files: vec![path.display().to_string()],
        node_id: None,
        backend_node_id: Some(input.backend_node_id),
        object_id: None,
    };
    page.execute(params).await?;
    Ok(())
}

/// Types into the field matched by `selector`. Text beyond ASCII, which the DevTools
/// key events cannot type, is inserted as an input method would.
pub async fn fill(page: &Page, selector: &str, text: &str) -> anyhow::Result<()> {
    // A page that is still replacing its document can hand out a node that is gone by
    // the click; look again then.
    let mut attempts = 0;
    let field = loop {
        let field = wait_for(page, selector).await?;
        match field.click().await {
            Ok(_) => break field,
            Err(_) if attempts < 10 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if text.is_ascii() {
        field.type_str(text).await?;
    } else {
        page.execute(chromiumoxide::cdp::browser_protocol::input::InsertTextParams::new(text))
            .await?;
    }
    Ok(())
}

/// Presses a key as a keyboard does (`Tab`, `Enter`, `Space`…), on whatever has the
/// focus; `shift` held for `Shift+Tab`.
pub async fn press(page: &Page, key: &str, shift: bool) -> anyhow::Result<()> {
    use chromiumoxide::cdp::browser_protocol::input::{
        DispatchKeyEventParams, DispatchKeyEventType,
    };
    let (code, text, key_name) = match key {
        "Tab" => (9, None, "Tab"),
        "Enter" => (13, Some("\r"), "Enter"),
        "Space" => (32, Some(" "), " "),
        other => anyhow::bail!("no key code for {other}"),
    };
    for kind in [DispatchKeyEventType::KeyDown, DispatchKeyEventType::KeyUp] {
        let mut event = DispatchKeyEventParams::builder()
            .r#type(kind.clone())
            .key(key_name)
            .code(if key == "Space" { "Space" } else { key })
            .windows_virtual_key_code(code)
            .native_virtual_key_code(code)
            .modifiers(if shift { 8 } else { 0 });
        if let (Some(text), DispatchKeyEventType::KeyDown) = (text, &kind) {
            event = event.text(text);
        }
        page.execute(event.build().map_err(|e| anyhow!(e))?).await?;
    }
    Ok(())
}

/// Presses Tab until the focused element matches `selector` (at most 80 times):
/// what someone without a mouse does to reach it. Fails when it is never reached.
pub async fn tab_to(page: &Page, selector: &str) -> anyhow::Result<()> {
    let focused = format!(
        "!!document.activeElement && document.activeElement.matches({})",
        serde_json::to_string(selector)?
    );
    for _ in 0..80 {
        press(page, "Tab", false).await?;
        if page
            .evaluate(focused.as_str())
            .await?
            .into_value::<bool>()?
        {
            return Ok(());
        }
    }
    Err(anyhow!("Tab never reaches {selector}"))
}

/// Types `text` into whatever has the focus.
pub async fn type_text(page: &Page, text: &str) -> anyhow::Result<()> {
    page.execute(chromiumoxide::cdp::browser_protocol::input::InsertTextParams::new(text))
        .await?;
    Ok(())
}

/// Clicks `selector` and waits for the page it leads to.
pub async fn click_and_wait(page: &Page, selector: &str) -> anyhow::Result<()> {
    page.find_element(selector)
        .await
        .with_context(|| format!("no {selector}"))?
        .click()
        .await?;
    page.wait_for_navigation().await?;
    Ok(())
}

pub async fn text_of(page: &Page, selector: &str) -> anyhow::Result<String> {
    let mut attempts = 0;
    loop {
        match wait_for(page, selector).await?.inner_text().await {
            Ok(text) => return Ok(text.unwrap_or_default()),
            Err(_) if attempts < 10 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Saves a full-page PNG under target/screenshots/ for review.
pub async fn screenshot(page: &Page, name: &str) -> anyhow::Result<PathBuf> {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.png"));
    // A page just loaded may still be committing its navigation, or not have drawn its
    // first frame (a full-page capture asked for then waits until it times out): wait
    // until the page as it now is answers, has loaded and has had two animation frames
    // (or a second has passed: a page in a background tab gets no frames).
    // The page's screen, once it is drawn: "phone" or "wide"; an error while the
    // page's new document replaces the old one, tried again.
    let mut screen_now = None;
    for _ in 0..50 {
        screen_now = page
            .evaluate(
                "new Promise(done => { \
                   const now = () => document.readyState === 'complete' ? (window.innerWidth < 600 ? 'phone' : 'wide') : ''; \
                   requestAnimationFrame(() => requestAnimationFrame(() => done(now()))); \
                   setTimeout(() => done(now()), 1000); })",
            )
            .await
            .ok()
            .and_then(|v| v.into_value::<String>().ok())
            .filter(|s| !s.is_empty());
        if screen_now.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(screen_now) = screen_now else {
        return Err(anyhow!("{name}: the page did not finish loading"));
    };
    let on_a_phone = screen_now == "phone";
    let png = page
        .screenshot(
            ScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .full_page(true)
                .build(),
        )
        .await
        .context("screenshot")?;
    std::fs::write(&path, png)?;
    // A full-page capture leaves the page at the window's own size: a phone's page is
    // given its screen back.
    give_back_screen(page, on_a_phone).await?;
    Ok(path)
}

/// Whether the page is shown on a phone-sized screen now.
async fn on_a_phone(page: &Page) -> anyhow::Result<bool> {
    Ok(page
        .evaluate("window.innerWidth < 600")
        .await?
        .into_value::<bool>()?)
}

/// An emulated screen `width` × `height` CSS pixels.
fn screen(
    width: i64,
    height: i64,
    mobile: bool,
) -> anyhow::Result<chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams>
{
    chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams::builder()
        .width(width)
        .height(height)
        .device_scale_factor(1.0)
        .mobile(mobile)
        .build()
        .map_err(|e| anyhow!("screen: {e}"))
}

/// Puts the page back on a phone's screen (`launch_phone`'s), or on the window's own.
async fn give_back_screen(page: &Page, phone: bool) -> anyhow::Result<()> {
    if phone {
        page.execute(screen(390, 844, true)?).await?;
    } else {
        page.execute(
            chromiumoxide::cdp::browser_protocol::emulation::ClearDeviceMetricsOverrideParams::default(),
        )
        .await?;
    }
    Ok(())
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

/// axe-core, vendored (`crates/testkit/axe`, MPL-2.0): the accessibility rules the
/// journeys' pages are checked against.
static AXE: &str = include_str!("../axe/axe.min.js");

/// The serious and critical violations axe-core finds on the page as it is now, under
/// the WCAG 2.0, 2.1 and 2.2 A and AA rules: one line each, with the rule, its help
/// text and the first offending elements. (Run over the DevTools protocol, so the
/// pages' strict Content-Security-Policy stays as it is.)
pub async fn accessibility_violations(page: &Page) -> anyhow::Result<Vec<String>> {
    page.evaluate(AXE).await.context("loading axe-core")?;
    let found = page
        .evaluate(
            "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', \
             'wcag21a', 'wcag21aa', 'wcag22aa'] }, resultTypes: ['violations'] })\
             .then(r => r.violations\
               .filter(v => v.impact === 'serious' || v.impact === 'critical')\
               .map(v => `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.slice(0, 4)\
                 .map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').split('\\n')[1])\
                 .join(' | ')))",
        )
        .await
        .context("running axe-core")?;
    Ok(found.into_value()?)
}

/// Shows the page as on a device set to the dark theme (`dark`), or as set again.
async fn dark_theme(page: &Page, dark: bool) -> anyhow::Result<()> {
    use chromiumoxide::cdp::browser_protocol::emulation::{MediaFeature, SetEmulatedMediaParams};
    let scheme = if dark { "dark" } else { "light" };
    page.execute(
        SetEmulatedMediaParams::builder()
            .feature(MediaFeature::new("prefers-color-scheme", scheme))
            .build(),
    )
    .await?;
    Ok(())
}

/// Fails the test when axe-core finds a serious or critical violation on the page, in
/// the light theme or the dark one (contrast included); `what` names the page in the
/// message.
pub async fn assert_accessible(page: &Page, what: &str) {
    let mut found = Vec::new();
    for dark in [false, true] {
        dark_theme(page, dark).await.expect("the theme is emulated");
        let theme = if dark { "dark" } else { "light" };
        let violations = accessibility_violations(page)
            .await
            .expect("axe-core runs on the page");
        found.extend(violations.into_iter().map(|v| format!("{theme}: {v}")));
    }
    dark_theme(page, false)
        .await
        .expect("the theme is restored");
    assert!(found.is_empty(), "{what}: {found:#?}");
}

/// A page of a journey as it is now: photographed (`screenshot`) and checked by
/// axe-core (`assert_accessible`).
pub async fn look(page: &Page, name: &str) {
    screenshot(page, name).await.expect("a screenshot");
    assert_accessible(page, name).await;
    docs_screenshots(page, name)
        .await
        .expect("the docs' screenshots");
}

/// The journeys' pages that `docs/screenshots` shows (the README's tour), and the name
/// each has there.
const DOCS_PAGES: [(&str, &str); 13] = [
    ("04-sign-in", "sign-in"),
    ("05-patient-home", "patient-home"),
    ("13-week-view", "free-times"),
    ("16-clinician-day", "clinician-day"),
    ("16b-clinician-week", "clinician-week"),
    ("17-device-check", "device-check"),
    ("19-waiting-queue", "waiting-queue"),
    ("21-patient-thread-live", "messages"),
    ("41-patient-record-uploaded", "patient-record"),
    ("46-code-finder-phone", "code-finder"),
    ("51-on-demand-waiting-phone", "on-demand-queue"),
    ("61-room-prescription-signed", "visit-room-prescribing"),
    ("73-menu-phone", "menu"),
];

/// The tour's pages the README also shows on a phone set to the dark theme.
const DARK_DOCS_PAGES: [&str; 3] = ["patient-home", "free-times", "clinician-week"];

/// When `TELEMED_DOCS_SCREENSHOTS` names a folder (`docs/screenshots`), the tour's pages
/// are saved there too, as the screen shows them on a laptop (1280 × 900) and on a
/// phone (390 × 844), a few also in the dark theme; the page then gets back the screen
/// and theme its test gave it.
async fn docs_screenshots(page: &Page, name: &str) -> anyhow::Result<()> {
    let Some(dir) = std::env::var_os("TELEMED_DOCS_SCREENSHOTS").map(PathBuf::from) else {
        return Ok(());
    };
    let Some((_, docs_name)) = DOCS_PAGES.iter().find(|(journey, _)| *journey == name) else {
        return Ok(());
    };
    std::fs::create_dir_all(&dir)?;
    let phone = on_a_phone(page).await?;
    let sizes = [
        ("laptop", 1280, 900, false),
        ("phone", 390, 844, true),
        ("phone-dark", 390, 844, true),
    ];
    for (size, width, height, mobile) in sizes {
        let dark = size.ends_with("dark");
        if dark && !DARK_DOCS_PAGES.contains(docs_name) {
            continue;
        }
        dark_theme(page, dark).await?;
        page.execute(screen(width, height, mobile)?).await?;
        // The layout follows the new width before the picture is taken.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = page
            .screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .build(),
            )
            .await?;
        std::fs::write(dir.join(format!("{docs_name}-{size}.png")), png)?;
    }
    dark_theme(page, false).await?;
    give_back_screen(page, phone).await?;
    Ok(())
}

/// Evaluates a JavaScript expression, retrying until it is true (15 s); panics if it
/// never is.
pub async fn until(page: &Page, expression: &str) {
    for _ in 0..150 {
        let yes = page
            .evaluate(expression)
            .await
            .ok()
            .and_then(|v| v.into_value::<bool>().ok())
            .unwrap_or(false);
        if yes {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never true: {expression}");
}

/// Waits (up to 15 s) until `selector` is on the page, e.g. after a form submission.
pub async fn wait_for(page: &Page, selector: &str) -> anyhow::Result<chromiumoxide::Element> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(el) = page.find_element(selector).await {
            return Ok(el);
        }
        if tokio::time::Instant::now() > deadline {
            let url = page.url().await.ok().flatten().unwrap_or_default();
            return Err(anyhow!("{selector} did not appear (at {url})"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page's path is `path`.
pub async fn wait_for_path(page: &Page, path: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let url = page.url().await?.unwrap_or_default();
        let current = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
            .unwrap_or_default();
        let loaded = page
            .evaluate("document.readyState")
            .await
            .ok()
            .and_then(|r| r.into_value::<String>().ok())
            .is_some_and(|s| s == "complete");
        if current.split('?').next() == Some(path) && loaded {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(anyhow!("expected {path}, still at {url}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs `user` in for the first time and reads the TOTP key off the enrolment page.
pub async fn sign_in_to_enrolment(page: &Page, user: &TestUser) -> String {
    fill(page, "#email", &user.email).await.unwrap();
    fill(page, "#password", &user.password).await.unwrap();
    submit(page).await;
    wait_for_path(page, "/account/mfa").await.unwrap();
    let secret = wait_for(page, "#totp-secret")
        .await
        .unwrap()
        .inner_text()
        .await
        .unwrap();
    secret.unwrap_or_default().trim().to_owned()
}

/// Submits the page's main form.
pub async fn submit(page: &Page) {
    page.find_element("main form button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Signs a clinician in through TOTP enrolment; the page ends on the recovery codes.
pub async fn sign_in_clinician(app: &TestApp, page: &Page, clinician: &TestUser) {
    let secret = sign_in_to_enrolment(page, clinician).await;
    fill(
        page,
        "#code",
        &totp_code(&secret, telemed_domain::Clock::now(&app.clock)),
    )
    .await
    .unwrap();
    submit(page).await;
    wait_for(page, "#recovery-codes").await.unwrap();
}

/// Signs a patient in with email and password; the page ends on the home page.
pub async fn sign_in_patient(page: &Page, patient: &TestUser) {
    fill(page, "#email", &patient.email).await.unwrap();
    fill(page, "#password", &patient.password).await.unwrap();
    submit(page).await;
    wait_for_path(page, "/").await.unwrap();
}
