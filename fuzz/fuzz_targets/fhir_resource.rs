//! A FHIR resource body as a client sends it: held to the resource limits without
//! building anything, then read as every resource type telemed accepts. Nothing may
//! panic, and what the bounded measure lets through must parse within its shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemed_fhir::bounded::{measure, Limits};
use telemed_fhir::types::ResourceType;

fuzz_target!(|body: &[u8]| {
    let Ok(shape) = measure(body, &Limits::RESOURCE) else {
        return;
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    assert!(shape.depth <= Limits::RESOURCE.max_depth);
    for rt in ResourceType::ALL {
        let _ = telemed_fhir::input::parse(rt, &json);
    }
    let _ = telemed_fhir::input::patient(&json);
    let _ = telemed_fhir::input::medication_order(&json);
});
