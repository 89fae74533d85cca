//! OperationOutcome: how every FHIR error is answered.

use serde_json::{json, Value};

/// The issue type (http://hl7.org/fhir/issue-type) for an error code of telemed's.
pub fn issue_code(error_code: &str) -> &'static str {
    match error_code {
        "invalid" => "invalid",
        "unprocessable" => "processing",
        "unauthenticated" => "login",
        "forbidden" => "forbidden",
        "not_found" => "not-found",
        "conflict" | "precondition_failed" => "conflict",
        "rate_limited" => "throttled",
        "too_large" => "too-long",
        "unavailable" => "transient",
        "unsupported_media_type" | "method_not_allowed" | "not_acceptable" => "not-supported",
        _ => "exception",
    }
}

/// An OperationOutcome with one error issue. `diagnostics` is safe to show (no internal
/// detail); the request id lets an operator find the log line.
pub fn error(error_code: &str, message: &str, expression: Option<&str>, request_id: &str) -> Value {
    let mut issue = json!({
        "severity": "error",
        "code": issue_code(error_code),
        "details": { "text": message },
        "diagnostics": format!("{message} (request {request_id})"),
    });
    if let Some(e) = expression {
        issue["expression"] = json!([e]);
    }
    json!({ "resourceType": "OperationOutcome", "issue": [issue] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_names_its_issue_type_and_the_request() {
        let o = error("not_found", "not found", None, "r-1");
        assert_eq!(o["issue"][0]["code"], "not-found");
        assert_eq!(o["issue"][0]["diagnostics"], "not found (request r-1)");
        let o = error("invalid", "bad date", Some("date"), "r-2");
        assert_eq!(o["issue"][0]["expression"][0], "date");
        assert_eq!(issue_code("internal"), "exception");
    }
}
