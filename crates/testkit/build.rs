//! Decides which optional parts of the suite run, and says so in the test list:
//! PostgreSQL tests run when TELEMED_TEST_DATABASE_URL is set; browser tests when
//! Chromium is installed or TELEMED_REQUIRE_BROWSER=1 (then a missing browser fails);
//! the call through a TURN relay when coturn's turnserver is installed too (or required);
//! the FHIR validation when the validators of tools/fhir-validate are installed, or
//! TELEMED_REQUIRE_FHIR_VALIDATORS=1; the OpenAPI conformance run when schemathesis
//! (tools/openapi-conformance) is installed, or TELEMED_REQUIRE_OPENAPI_CONFORMANCE=1.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(telemed_pg)");
    println!("cargo::rustc-check-cfg=cfg(telemed_browser)");
    println!("cargo::rustc-check-cfg=cfg(telemed_turn)");
    println!("cargo::rustc-check-cfg=cfg(telemed_fhir_validators)");
    println!("cargo::rustc-check-cfg=cfg(telemed_openapi_conformance)");
    println!("cargo::rerun-if-env-changed=TELEMED_REQUIRE_OPENAPI_CONFORMANCE");
    println!("cargo::rerun-if-env-changed=TELEMED_REQUIRE_FHIR_VALIDATORS");
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
    // The independent FHIR validators (tools/fhir-validate): @medplum/core from npm and
    // fhir.resources from PyPI.
    // The checkout this build is for (read at run time: the script may have been
    // compiled for another checkout sharing the target folder).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let tools = std::path::Path::new(&manifest).join("../../tools/fhir-validate");
    let medplum = tools.join("node_modules/@medplum/core/package.json");
    println!("cargo::rerun-if-changed={}", medplum.display());
    let python_models = std::process::Command::new("python3")
        .args(["-c", "import fhir.resources.R4B"])
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("TELEMED_REQUIRE_FHIR_VALIDATORS").is_ok_and(|v| v == "1");
    if required || (medplum.exists() && python_models) {
        println!("cargo::rustc-cfg=telemed_fhir_validators");
    }
    let schemathesis = std::process::Command::new("python3")
        .args(["-c", "import schemathesis"])
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("TELEMED_REQUIRE_OPENAPI_CONFORMANCE").is_ok_and(|v| v == "1");
    if required || schemathesis {
        println!("cargo::rustc-cfg=telemed_openapi_conformance");
    }
}
