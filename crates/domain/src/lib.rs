//! telemed's domain: typed ids, validated values, roles and permissions, the `Clock`,
//! the audit record and its hash chain, and the one error type. No IO lives here.

pub mod access;
pub mod audit;
pub mod clinic;
pub mod clinical_time;
pub mod clock;
pub mod documents;
pub mod email;
pub mod error;
pub mod files;
pub mod ids;
pub mod names;
pub mod oauth;
pub mod password;
pub mod prescribing;
pub mod query;
pub mod record;
pub mod role;
pub mod schedule;
pub mod schedule_text;
pub mod terminology;
pub mod video;
pub mod views;

pub use clock::{Clock, ManualClock, SystemClock};
pub use email::Email;
pub use error::{Error, Result};
pub use files::MediaType;
pub use ids::{
    ApiTokenId, AppointmentId, BlobId, DocumentId, EntryId, GuestId, InvitationId, MessageId,
    NoteId, OAuthClientId, OAuthGrantId, PeerId, SessionId, ThreadId, UserId,
};
pub use role::{Permission, Role};
