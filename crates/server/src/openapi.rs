//! The OpenAPI 3.1 document served at `/api/openapi.json`: generated from the handlers
//! and types, then completed with the errors every operation can answer because of the
//! layers in front of its handler, so that the document lists every status the server
//! gives (checked by the suite's `api_conformance`, which runs schemathesis against it).

use std::sync::LazyLock;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use utoipa::OpenApi as _;

use crate::AppState;

/// Serves the document at `/api/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(served))
}

async fn served() -> Json<&'static Value> {
    Json(document())
}

/// The document, made once per process.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(made);
    &DOCUMENT
}

fn made() -> Value {
    let mut doc = serde_json::to_value(crate::api::ApiDoc::openapi()).unwrap_or_default();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for (method, operation) in item.as_object_mut().into_iter().flatten() {
                if HTTP_METHODS.contains(&method.as_str()) {
                    add_layer_errors(path, operation);
                }
            }
        }
    }
    doc
}

const HTTP_METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// A query parameter is absent or has a value: it cannot be null on the wire, so the
/// `null` alternative utoipa gives an `Option<T>` is dropped (absence is `required:
/// false`). Left in, it documents a value no client can send.
fn without_null(schema: &mut Value) {
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(options)) = o.get_mut(key) else {
            continue;
        };
        options.retain(|s| s.get("type") != Some(&json!("null")));
        if options.len() == 1 {
            let only = options.remove(0);
            o.remove(key);
            if let Value::Object(only) = only {
                o.extend(only);
            }
        }
    }
    if let Some(Value::Array(types)) = o.get_mut("type") {
        types.retain(|t| t.as_str() != Some("null"));
        if types.len() == 1 {
            let only = types.remove(0);
            o.insert("type".into(), only);
        }
    }
}

/// The errors the extractors and limits before any handler produce:
///
/// | status | when | by |
/// |---|---|---|
/// | 401 | no bearer token, or one unknown, expired or revoked | `ApiUser` |
/// | 403 | the token's scopes, or its owner's role, do not allow the operation | `ApiUser::require` |
/// | 400 | a path id that is not one, a malformed query or JSON body | path, `ApiQuery`, `ApiJson` |
///
/// It also states what the server checks of every path and query parameter: ids are
/// UUIDs, a `{section}` is one of the chart's, and a query parameter is never null.
/// | 404 | no such resource, or one the caller may not see (answered alike) | the handler's store read |
/// | 413 | a body over the limit | `RequestBodyLimit` |
/// | 415 | a body that is not `application/json` (uploads: not `multipart/form-data`) | `ApiJson`, `Multipart` |
fn add_layer_errors(path: &str, operation: &mut Value) {
    for p in operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let (location, name) = (p["in"].clone(), p["name"].clone());
        let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else {
            continue;
        };
        if location == "query" {
            let mut value = Value::Object(std::mem::take(schema));
            without_null(&mut value);
            if let Value::Object(o) = value {
                *schema = o;
            }
        } else if location == "path" && schema.get("type") == Some(&json!("string")) {
            // Every id in a path is one of telemed's UUIDs; a section is a chart's.
            if name == "section" {
                let sections = telemed_domain::record::Section::CHART.map(|s| s.as_str());
                schema.insert("enum".into(), json!(sections));
            } else {
                schema.insert("format".into(), json!("uuid"));
            }
        }
    }
    let secured = operation.get("security").is_some();
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let has_query = parameters.iter().any(|p| p["in"] == "query");
    let has_path = path.contains('{');
    let has_body = operation.get("requestBody").is_some();
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    };
    if secured {
        add(
            "401",
            "No bearer token, or one that is unknown, expired or revoked.",
        );
        add(
            "403",
            "The token's scopes, or its owner's role, do not allow this.",
        );
    }
    if has_path || has_query || has_body {
        add(
            "400",
            "An id, query parameter or body that is malformed or out of range (the message says which).",
        );
    }
    if has_path {
        add(
            "404",
            "No such resource, or one the caller may not see (answered alike).",
        );
    }
    if has_body {
        add("413", "The body is larger than allowed.");
        add(
            "415",
            "The body is not in the media type the operation takes.",
        );
    }
}

fn error_response(description: &str) -> Value {
    let mut content = Map::new();
    content.insert(
        "application/json".into(),
        json!({ "schema": { "$ref": "#/components/schemas/ErrorBody" } }),
    );
    json!({ "description": description, "content": content })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_lists_the_errors_its_layers_give() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() > 40);
        // Query structs are query parameters, optional unless the handler needs them.
        let from = &doc["paths"]["/api/v1/appointments"]["get"]["parameters"][0];
        assert_eq!(
            (from["name"].as_str(), from["in"].as_str()),
            (Some("from"), Some("query"))
        );
        assert_ne!(from["required"], true);
        let id = &doc["paths"]["/api/v1/patients/{id}"]["get"]["parameters"][0];
        assert_eq!(id["schema"]["format"], "uuid");
        // The notification groups the document states are the ones the store knows.
        assert_eq!(
            doc["components"]["schemas"]["NoticePreference"]["properties"]["group"]["pattern"],
            format!(
                "^({})$",
                telemed_store::notifications::NOTICE_GROUPS.join("|")
            )
        );
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                if !HTTP_METHODS.contains(&method.as_str()) {
                    continue;
                }
                let responses = op["responses"].as_object().unwrap();
                if op.get("security").is_some() {
                    for status in ["401", "403"] {
                        assert!(responses.contains_key(status), "{method} {path}: {status}");
                    }
                }
                if path.contains('{') {
                    assert!(responses.contains_key("400"), "{method} {path}");
                    assert!(responses.contains_key("404"), "{method} {path}");
                }
                if op.get("requestBody").is_some() {
                    assert!(responses.contains_key("415"), "{method} {path}");
                }
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let schema = p["schema"].to_string();
                    assert!(!schema.contains("\"null\""), "{method} {path}: {schema}");
                }
            }
        }
    }
}
