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
            json!({
                "fullUrl": format!("{base}/{rt}/{id}"),
                "resource": resource,
                "request": {
                    "method": if created { "POST" } else { "PUT" },
                    "url": if created { rt.clone() } else { format!("{rt}/{id}") },
                },
                "response": {
                    "status": if created { "201 Created" } else { "200 OK" },
                    "etag": format!("W/\"{version}\""),
                },
            })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "history",
        "total": entries.len(),
        "link": [{ "relation": "self", "url": self_link }],
        "entry": entries,
    })
}

/// A searchset page. `matches` are the resources found, `included` those pulled in by
/// `_include`; `links` are (relation, url).
pub fn searchset(
    base: &str,
    matches: Vec<Value>,
    included: Vec<Value>,
    total: Option<i64>,
    links: Vec<(&str, String)>,
) -> Value {
    let entry = |resource: Value, mode: &str| {
        let url = format!(
            "{base}/{}/{}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default()
        );
        json!({ "fullUrl": url, "resource": resource, "search": { "mode": mode } })
    };
    let mut entries: Vec<Value> = matches.into_iter().map(|r| entry(r, "match")).collect();
    entries.extend(included.into_iter().map(|r| entry(r, "include")));
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links.into_iter().map(|(relation, url)| json!({ "relation": relation, "url": url })).collect::<Vec<_>>(),
        "entry": entries,
    });
    if let Some(t) = total {
        bundle["total"] = json!(t);
    }
    if bundle["entry"].as_array().is_some_and(Vec::is_empty) {
        if let Some(o) = bundle.as_object_mut() {
            o.remove("entry");
        }
    }
    bundle
}
