//! FHIR search parameters as they arrive in a query string or a posted form: decoded
//! into pairs as the server decodes them (serde_urlencoded), then parsed for every
//! resource type, strictly and leniently. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemed_fhir::search::{parse, Handling};
use telemed_fhir::types::ResourceType;

fuzz_target!(|query: &[u8]| {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(query) else {
        return;
    };
    for rt in ResourceType::ALL {
        for handling in [Handling::Strict, Handling::Lenient] {
            let _ = parse(rt, &pairs, handling);
        }
    }
});
