//! The CapabilityStatement, written from the table of types and search parameters the
//! server checks requests against.

use serde_json::{json, Value};

use crate::types::ResourceType;

/// The Bulk Data Access export operation.
const BULK_EXPORT: &str = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export";

pub fn statement(base: &str, software_version: &str, released: &str) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|t| {
            let params: Vec<Value> = t
                .search_params()
                .iter()
                .map(|p| {
                    json!({ "name": p.name, "definition": p.definition, "type": p.kind.as_str(), "documentation": p.doc })
                })
                .collect();
            let mut interactions = vec![json!({ "code": "read" }), json!({ "code": "search-type" })];
            if t.keeps_history() {
                interactions.push(json!({ "code": "vread" }));
                interactions.push(json!({ "code": "history-instance", "documentation": "Versions kept from the first status change on." }));
            }
            if *t == ResourceType::MedicationRequest {
                interactions.push(json!({ "code": "create", "documentation": "Signs a prescription (intent order): the prescriber's current second-factor code in the X-Second-Factor header, each code once; the checks run, and a finding that needs a stated reason is refused (sign over it in telemed's pad or API)." }));
            }
            if t.writable() {
                interactions.push(json!({ "code": "create" }));
                let update = match t {
                    ResourceType::Appointment => "Cancellation only (status cancelled, with cancelationReason); create books a free Slot, or start + Practitioner + serviceType, under the booking page's rules.",
                    ResourceType::Patient => "The demographics telemed keeps.",
                    _ => "Status and end only: chart entries are not edited; a correction is a new resource and the old one entered-in-error.",
                };
                interactions.push(json!({ "code": "update", "documentation": update }));
            }
            let mut r = json!({
                "type": t.as_str(),
                "interaction": interactions,
                "conditionalCreate": t.writable(),
                "versioning": "versioned",
                "readHistory": t.keeps_history(),
                "searchParam": params,
            });
            if !t.includes().is_empty() {
                let names: Vec<&str> = t.includes().iter().map(|i| i.name).collect();
                r["searchInclude"] = json!(names);
            }
            if *t == ResourceType::Patient {
                r["operation"] = json!([
                    { "name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything" },
                    { "name": "export", "definition": BULK_EXPORT,
                      "documentation": "Bulk Data export of the patients the caller may read (NDJSON; Prefer: respond-async)." },
                ]);
            }
            if t.is_clinical() {
                r["documentation"] = json!(
                    "Searches name the patient (patient= or subject=) unless the token has a patient context."
                );
            }
            r
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released,
        "publisher": "telemed",
        "kind": "instance",
        "software": { "name": "telemed", "version": software_version },
        "implementation": { "description": "telemed FHIR R4 API", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every read and search is decided by the patient record's access policy and audited. A search parameter telemed does not know is ignored and named in the Bundle's outcome entry (Prefer: handling=lenient, the default), or refused with 400 (Prefer: handling=strict). Paging: _count (at most 1000) and the next/previous links. A resource another system sends is kept and returned as written; what telemed cannot keep is refused with 422 naming the element.",
            "security": {
                "cors": true,
                "service": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR" }] }],
                "description": "OAuth 2 (SMART App Launch: authorization code with PKCE; see .well-known/smart-configuration), or personal API tokens, which stand for SMART user/*.rs (records:read) and user/*.cruds (records:write).",
            },
            "resource": resources,
            "operation": [
                { "name": "export", "definition": BULK_EXPORT,
                  "documentation": "Patient/$export, and Group/{clinician id}/$export for a clinician's patients (no system-level export)." },
            ],
            "interaction": [
                { "code": "transaction", "documentation": "Creates (POST, with ifNoneExist), updates (PUT Type/id, with ifMatch) and reads (GET) in one; the writes all or nothing. Entries may refer to each other by urn:uuid fullUrl, and a subject, patient or result reference may be a search that matches exactly one resource. Reads run after the writes commit. Appointments are booked on their own or in a batch. No DELETE: chart entries are marked entered-in-error." },
                { "code": "batch", "documentation": "Creates (POST, with ifNoneExist), updates (PUT Type/id, with ifMatch) and reads (GET), each entry on its own as if sent alone." },
            ],
        }],
    })
}
