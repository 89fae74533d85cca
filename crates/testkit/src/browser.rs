//! Headless Debian Chromium for UI tests, driven over the DevTools protocol. Never a
//! downloaded browser: `TELEMED_CHROMIUM` or /usr/bin/chromium.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;

pub struct TestBrowser {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    profile: PathBuf,
}

pub fn chromium_path() -> PathBuf {
    std::env::var_os("TELEMED_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

impl TestBrowser {
    pub async fn launch() -> anyhow::Result<Self> {
        let exe = chromium_path();
        if !exe.exists() {
            return Err(anyhow!("Chromium is not installed at {} (apt-get install chromium)", exe.display()));
        }
        let profile = std::env::temp_dir().join(format!("telemed-chromium-{}", uuid::Uuid::new_v4()));
        let config = BrowserConfig::builder()
            .chrome_executable(&exe)
            .new_headless_mode()
            .no_sandbox()
            .user_data_dir(&profile)
            .window_size(1280, 900)
            .viewport(None)
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
        let (browser, mut events) = Browser::launch(config).await.context("launching Chromium")?;
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        Ok(TestBrowser { browser, handler, profile })
    }

    pub async fn open(&self, url: &str) -> anyhow::Result<Page> {
        let page = self.browser.new_page(url).await.with_context(|| format!("opening {url}"))?;
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

/// Types into the field matched by `selector`.
pub async fn fill(page: &Page, selector: &str, text: &str) -> anyhow::Result<()> {
    page.find_element(selector).await.with_context(|| format!("no {selector}"))?.click().await?.type_str(text).await?;
    Ok(())
}

/// Clicks `selector` and waits for the page it leads to.
pub async fn click_and_wait(page: &Page, selector: &str) -> anyhow::Result<()> {
    page.find_element(selector).await.with_context(|| format!("no {selector}"))?.click().await?;
    page.wait_for_navigation().await?;
    Ok(())
}

pub async fn text_of(page: &Page, selector: &str) -> anyhow::Result<String> {
    Ok(page.find_element(selector).await.with_context(|| format!("no {selector}"))?.inner_text().await?.unwrap_or_default())
}

/// Saves a full-page PNG under target/screenshots/ for review.
pub async fn screenshot(page: &Page, name: &str) -> anyhow::Result<PathBuf> {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.png"));
    let png = page
        .screenshot(ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).full_page(true).build())
        .await
        .context("screenshot")?;
    std::fs::write(&path, png)?;
    Ok(path)
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}
