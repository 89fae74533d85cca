//! Video visits: who may be in a visit's room, what a browser reports about call
//! quality, and the telehealth consent a patient gives before their first video visit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, GuestId, Result, UserId};

/// Most people in one call (the browsers connect to each other in a full mesh).
pub const MAX_PARTICIPANTS: usize = 4;

/// The consent text's version; a new text needs a new version, and patients accept it
/// again before their next video visit.
pub const TELEHEALTH_CONSENT_VERSION: &str = "2026-11";
pub const TELEHEALTH_CONSENT: &str = "telehealth";

/// Someone in a visit's room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Participant {
    Patient(UserId),
    Clinician(UserId),
    Guest(GuestId),
}

impl Participant {
    pub fn kind(&self) -> ParticipantKind {
        match self {
            Participant::Patient(_) => ParticipantKind::Patient,
            Participant::Clinician(_) => ParticipantKind::Clinician,
            Participant::Guest(_) => ParticipantKind::Guest,
        }
    }

    /// The id as stored: a user id, or a guest's.
    pub fn id_text(&self) -> String {
        match self {
            Participant::Patient(u) | Participant::Clinician(u) => u.to_string(),
            Participant::Guest(g) => g.to_string(),
        }
    }

    pub fn from_parts(kind: ParticipantKind, id: &str) -> Result<Participant> {
        Ok(match kind {
            ParticipantKind::Patient => Participant::Patient(id.parse()?),
            ParticipantKind::Clinician => Participant::Clinician(id.parse()?),
            ParticipantKind::Guest => Participant::Guest(id.parse()?),
        })
    }

    /// Whether this participant runs the visit (admits, ends, invites).
    pub fn hosts(&self) -> bool {
        matches!(self, Participant::Clinician(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantKind {
    Patient,
    Clinician,
    Guest,
}

impl ParticipantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantKind::Patient => "patient",
            ParticipantKind::Clinician => "clinician",
            ParticipantKind::Guest => "guest",
        }
    }
}

impl fmt::Display for ParticipantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ParticipantKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "patient" => Ok(ParticipantKind::Patient),
            "clinician" => Ok(ParticipantKind::Clinician),
            "guest" => Ok(ParticipantKind::Guest),
            _ => Err(Error::invalid("participant", "unknown participant kind")),
        }
    }
}

/// A browser's call-quality report: averages over its call so far, from `getStats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quality {
    /// Round-trip time of the selected candidate pair, in milliseconds.
    pub rtt_ms: i64,
    /// Packets lost per thousand received.
    pub loss_permille: i64,
    /// Received media bitrate, in kilobits per second.
    pub bitrate_kbps: i64,
    /// Whether media went through a TURN relay.
    pub relayed: bool,
}

impl Quality {
    /// Checks the figures are physically possible (a browser cannot report a negative
    /// round trip or lose more than everything).
    pub fn validated(self) -> Result<Quality> {
        if !(0..=60_000).contains(&self.rtt_ms) {
            return Err(Error::invalid("rtt_ms", "must be 0 to 60000"));
        }
        if !(0..=1000).contains(&self.loss_permille) {
            return Err(Error::invalid("loss_permille", "must be 0 to 1000"));
        }
        if !(0..=1_000_000).contains(&self.bitrate_kbps) {
            return Err(Error::invalid("bitrate_kbps", "must be 0 to 1000000"));
        }
        Ok(self)
    }

    /// How the call felt, for the indicator: good, fair or poor.
    pub fn grade(&self) -> &'static str {
        if self.loss_permille > 50 || self.rtt_ms > 400 {
            "poor"
        } else if self.loss_permille > 20 || self.rtt_ms > 200 {
            "fair"
        } else {
            "good"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_round_trip_through_their_stored_form() {
        for p in [
            Participant::Patient(UserId::new()),
            Participant::Clinician(UserId::new()),
            Participant::Guest(GuestId::new()),
        ] {
            let back = Participant::from_parts(p.kind(), &p.id_text()).unwrap();
            assert_eq!(back, p);
            assert_eq!(
                p.kind().as_str().parse::<ParticipantKind>().unwrap(),
                p.kind()
            );
        }
        assert!("admin".parse::<ParticipantKind>().is_err());
        assert!(Participant::Clinician(UserId::new()).hosts());
        assert!(!Participant::Guest(GuestId::new()).hosts());
    }

    #[test]
    fn impossible_quality_reports_are_refused() {
        let q = Quality {
            rtt_ms: 40,
            loss_permille: 3,
            bitrate_kbps: 900,
            relayed: false,
        };
        assert_eq!(q.validated().unwrap().grade(), "good");
        assert!(Quality { rtt_ms: -1, ..q }.validated().is_err());
        assert!(Quality {
            loss_permille: 1001,
            ..q
        }
        .validated()
        .is_err());
        assert!(Quality {
            bitrate_kbps: -5,
            ..q
        }
        .validated()
        .is_err());
        assert_eq!(
            Quality {
                loss_permille: 30,
                ..q
            }
            .grade(),
            "fair"
        );
        assert_eq!(Quality { rtt_ms: 900, ..q }.grade(), "poor");
    }
}
