//! The OpenAPI 3.1 document served at `/api/openapi.json`.

use utoipa::OpenApi as _;

pub fn document() -> utoipa::openapi::OpenApi {
    crate::api::ApiDoc::openapi()
}
