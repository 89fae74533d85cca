//! Bundles: searchset pages with their links.

use serde_json::{json, Value};

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
