//! Bundles: searchset pages with their links, and a resource's history.

use serde_json::{json, Value};

/// A resource's history, newest version first: each entry the version as it was, with
/// the interaction that made it (the first a create, later ones updates).
pub fn history(base: &str, versions: Vec<Value>, self_link: String) -> Value {
    let oldest = versions.len();
    let entries: Vec<Value> = versions
        .into_iter()
        .enumerate()
        .map(|(i, resource)| {
            let rt = resource["resourceType"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let id = resource["id"].as_str().unwrap_or_default().to_owned();
            let version = resource["meta"]["versionId"]
                .as_str()
                .unwrap_or("1")
                .to_owned();
            let created = i + 1 == oldest && version == "1";
            object([
                ("fullUrl", json!(format!("{base}/{rt}/{id}"))),
                ("resource", resource),
                (
                    "request",
                    json!({
                        "method": if created { "POST" } else { "PUT" },
                        "url": if created { rt.clone() } else { format!("{rt}/{id}") },
                    }),
                ),
                (
                    "response",
                    json!({
                        "status": if created { "201 Created" } else { "200 OK" },
                        "etag": format!("W/\"{version}\""),
                    }),
                ),
            ])
        })
        .collect();
    object([
        ("resourceType", json!("Bundle")),
        ("type", json!("history")),
        ("total", json!(entries.len())),
        ("link", json!([{ "relation": "self", "url": self_link }])),
        ("entry", Value::Array(entries)),
    ])
}

/// A JSON object of `fields`, the values moved in (`json!` would copy each one).
fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A searchset page. `matches` are the resources found, `included` those pulled in by
/// `_include`; `links` are (relation, url).
pub fn searchset(
    base: &str,
    matches: Vec<Value>,
    included: Vec<Value>,
    total: Option<i64>,
    links: Vec<(&str, String)>,
    ignored: &[String],
) -> Value {
    let entry = |resource: Value, mode: &str| {
        let url = format!(
            "{base}/{}/{}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default()
        );
        object([
            ("fullUrl", Value::String(url)),
            ("resource", resource),
            ("search", json!({ "mode": mode })),
        ])
    };
    let mut entries: Vec<Value> = matches.into_iter().map(|r| entry(r, "match")).collect();
    entries.extend(included.into_iter().map(|r| entry(r, "include")));
    // What the search left out of what was asked: the client must know its results
    // are broader than its query.
    if !ignored.is_empty() {
        let issues: Vec<Value> = ignored
            .iter()
            .map(|name| {
                json!({
                    "severity": "warning",
                    "code": "not-supported",
                    "diagnostics": format!(
                        "the search parameter '{name}' is not supported and was ignored \
                         (send Prefer: handling=strict to have such a search refused)"
                    ),
                    "expression": [name],
                })
            })
            .collect();
        entries.push(object([
            (
                "resource",
                json!({ "resourceType": "OperationOutcome", "issue": issues }),
            ),
            ("search", json!({ "mode": "outcome" })),
        ]));
    }
    let links = links
        .into_iter()
        .map(|(relation, url)| json!({ "relation": relation, "url": url }))
        .collect();
    let mut bundle = object([
        ("resourceType", json!("Bundle")),
        ("type", json!("searchset")),
        ("link", Value::Array(links)),
    ]);
    if let Some(t) = total {
        bundle["total"] = json!(t);
    }
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}
