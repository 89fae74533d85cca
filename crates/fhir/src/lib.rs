//! telemed's FHIR R4 layer, free of IO: which resource types and search parameters are
//! served (`types`), how search parameters parse (`search`) and become store queries
//! (`query`), SMART scopes (`scopes`), rows as resources (`resources`), Bundles,
//! OperationOutcomes and the CapabilityStatement.

pub mod booking;
pub mod bounded;
pub mod bundle;
pub mod capability;
pub mod input;
pub mod outcome;
pub mod query;
pub mod resources;
pub mod scopes;
pub mod search;
pub mod types;

pub use scopes::{Interaction, Scopes};
pub use search::Search;
pub use types::ResourceType;

/// The media type of FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
