//! Decides which optional parts of the suite run, and says so in the test list:
//! PostgreSQL tests run when TELEMED_TEST_DATABASE_URL is set; browser tests when
//! Chromium is installed or TELEMED_REQUIRE_BROWSER=1 (then a missing browser fails);
//! the call through a TURN relay when coturn's turnserver is installed too (or required).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(telemed_pg)");
    println!("cargo::rustc-check-cfg=cfg(telemed_browser)");
    println!("cargo::rustc-check-cfg=cfg(telemed_turn)");
    println!("cargo::rerun-if-changed=/usr/bin/turnserver");
    println!("cargo::rerun-if-env-changed=TELEMED_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=TELEMED_REQUIRE_BROWSER");
    println!("cargo::rerun-if-env-changed=TELEMED_CHROMIUM");
    if std::env::var_os("TELEMED_TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=telemed_pg");
    }
    let chromium = std::env::var("TELEMED_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    println!("cargo::rerun-if-changed={chromium}");
    let required = std::env::var("TELEMED_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let browser = std::path::Path::new(&chromium).exists();
    if required || browser {
        println!("cargo::rustc-cfg=telemed_browser");
    }
    if required || (browser && std::path::Path::new("/usr/bin/turnserver").exists()) {
        println!("cargo::rustc-cfg=telemed_turn");
    }
}
