//! Typed ids. Each wraps a UUID, parses once at the edge, and cannot be mixed up with
//! another kind of id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// An id from a URL path: one that does not parse names nothing, so it is
            /// `NotFound`, like an id that names nothing stored.
            pub fn from_path(s: &str) -> crate::Result<Self> {
                s.parse().map_err(|_| crate::Error::NotFound)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;

            fn from_str(s: &str) -> crate::Result<Self> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| crate::Error::invalid("id", concat!("not a valid ", stringify!($name))))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    )))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

typed_id!(
    /// A person with an account: patient, clinician, staff member or admin.
    UserId
);
typed_id!(
    /// A web sign-in session (the cookie holds a secret, not this id).
    SessionId
);
typed_id!(
    /// A personal access token for the API.
    ApiTokenId
);
typed_id!(
    /// An invitation for a clinician or staff member.
    InvitationId
);
typed_id!(
    /// An app registered by an admin to use the FHIR API through OAuth 2 (its client_id).
    OAuthClientId
);
typed_id!(
    /// An authorization a user gave an app: its tokens live and die with it.
    OAuthGrantId
);
typed_id!(
    /// A booked (or cancelled) visit.
    AppointmentId
);
typed_id!(
    /// A conversation between a patient and their care team, or between clinicians.
    ThreadId
);
typed_id!(
    /// One message in a thread.
    MessageId
);
typed_id!(
    /// One entry in a patient's chart: a problem, allergy, medication, immunization,
    /// vital sign, lab result or history item.
    EntryId
);
typed_id!(
    /// A visit note (SOAP), draft or signed.
    NoteId
);
typed_id!(
    /// A document or image in a patient's record (its file is a blob).
    DocumentId
);
typed_id!(
    /// A stored file (encrypted at rest): an attachment, a document, an image.
    BlobId
);
typed_id!(
    /// One browser tab in a visit's room (a new one each time a tab joins).
    PeerId
);
typed_id!(
    /// A guest of one visit, invited by a single-use link; also the invite's id.
    GuestId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = UserId::new();
        assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
        assert!("not-a-uuid".parse::<UserId>().is_err());
        assert!("".parse::<SessionId>().is_err());
    }
}
