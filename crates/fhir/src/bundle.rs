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

/// A resource for a bundle: built as JSON, or already written out (an entry kept as
/// its sender wrote it, with telemed's id and meta spliced in: `resources::entry_resource`).
pub enum Resource {
    Json(Value),
    Written {
        /// `Type/id`, for the entry's fullUrl.
        path: String,
        text: String,
    },
}

impl From<Value> for Resource {
    fn from(v: Value) -> Resource {
        Resource::Json(v)
    }
}

impl Resource {
    /// As JSON (a written one is parsed: for the rare callers that look inside).
    pub fn into_value(self) -> Value {
        match self {
            Resource::Json(v) => v,
            Resource::Written { text, .. } => serde_json::from_str(&text).unwrap_or_default(),
        }
    }

    /// Written out.
    pub fn into_text(self) -> String {
        match self {
            Resource::Json(v) => v.to_string(),
            Resource::Written { text, .. } => text,
        }
    }

    fn path(&self) -> String {
        match self {
            Resource::Json(v) => format!(
                "{}/{}",
                v["resourceType"].as_str().unwrap_or_default(),
                v["id"].as_str().unwrap_or_default()
            ),
            Resource::Written { path, .. } => path.clone(),
        }
    }
}

/// A searchset page, written out. `matches` are the resources found, `included` those
/// pulled in by `_include`; `links` are (relation, url); `ignored` names the search
/// parameters left out (an OperationOutcome entry says so). Written rather than built
/// as JSON so that resources kept as their senders wrote them go in as they are.
pub fn searchset(
    base: &str,
    matches: Vec<Resource>,
    included: Vec<Resource>,
    total: Option<i64>,
    links: Vec<(&str, String)>,
    ignored: &[String],
) -> String {
    let entry = |resource: Resource, mode: &str| {
        let url = Value::String(format!("{base}/{}", resource.path()));
        format!(
            "{{\"fullUrl\":{url},\"resource\":{},\"search\":{{\"mode\":\"{mode}\"}}}}",
            resource.into_text()
        )
    };
    let mut entries: Vec<String> = matches.into_iter().map(|r| entry(r, "match")).collect();
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
        let outcome = json!({
            "resource": { "resourceType": "OperationOutcome", "issue": issues },
            "search": { "mode": "outcome" },
        });
        entries.push(outcome.to_string());
    }
    let links: Vec<Value> = links
        .into_iter()
        .map(|(relation, url)| json!({ "relation": relation, "url": url }))
        .collect();
    let mut head = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
    });
    if let Some(t) = total {
        head["total"] = json!(t);
    }
    let head = head.to_string();
    let head = head.strip_suffix('}').unwrap_or(&head);
    if entries.is_empty() {
        format!("{head}}}")
    } else {
        format!("{head},\"entry\":[{}]}}", entries.join(","))
    }
}
