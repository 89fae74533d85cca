//! The ICE servers a browser gets for a call: STUN as configured, and TURN with
//! time-limited credentials in the TURN REST API form that coturn's `use-auth-secret`
//! checks: the user name is `<expiry unix time>:<opaque id>` and the password is
//! base64(HMAC-SHA1(shared secret, user name)). Nothing is stored; the TURN server
//! recomputes the password and refuses it after the expiry.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;

use crate::config::VideoConfig;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What a browser needs to build its `RTCPeerConnection`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IceConfig {
    pub ice_servers: Vec<IceServer>,
    /// `all` or `relay`.
    pub ice_transport_policy: String,
}

/// The TURN REST API credential for `who` (an opaque id, never a name: TURN servers
/// log user names) valid until `expires`.
pub fn turn_credential(secret: &str, who: &str, expires: DateTime<Utc>) -> (String, String) {
    let username = format!("{}:{who}", expires.timestamp());
    let password = match Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(username.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes a key of any length; this arm cannot be reached.
        Err(_) => String::new(),
    };
    (username, password)
}

/// The ICE configuration for one tab (`who`: its peer id), as of `now`.
pub fn ice_config(config: &VideoConfig, who: &str, now: DateTime<Utc>) -> IceConfig {
    let mut ice_servers = Vec::new();
    if !config.stun_urls.is_empty() {
        ice_servers.push(IceServer {
            urls: config.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (config.turn_urls.is_empty(), &config.turn_secret) {
        let expires = now + chrono::Duration::minutes(config.turn_credential_minutes);
        let (username, credential) = turn_credential(secret, who, expires);
        ice_servers.push(IceServer {
            urls: config.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
        });
    }
    IceConfig {
        ice_servers,
        ice_transport_policy: config.ice_transport_policy.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn credentials_follow_the_turn_rest_api() {
        // Computed independently: Python's hmac.new(secret, user, sha1), base64.
        let expires = Utc.timestamp_opt(1_785_000_000, 0).unwrap();
        let (user, password) = turn_credential("north-wind-secret", "peer-1", expires);
        assert_eq!(user, "1785000000:peer-1");
        assert_eq!(password, "a9RrQMKl9l5rg8Bjw7UGqT6Imhw=");
        let (_, other) = turn_credential("another-secret", "peer-1", expires);
        assert_ne!(other, password);
    }

    #[test]
    fn turn_entries_appear_only_when_configured() {
        let now = Utc.timestamp_opt(1_785_000_000, 0).unwrap();
        let none = ice_config(&VideoConfig::default(), "p", now);
        assert!(none.ice_servers.is_empty());
        assert_eq!(none.ice_transport_policy, "all");
        let config = VideoConfig {
            stun_urls: vec!["stun:t.example:3478".into()],
            turn_urls: vec!["turn:t.example:3478".into()],
            turn_secret: Some("s".into()),
            turn_credential_minutes: 60,
            ..VideoConfig::default()
        };
        let ice = ice_config(&config, "p", now);
        assert_eq!(ice.ice_servers.len(), 2);
        let turn = &ice.ice_servers[1];
        assert_eq!(turn.username.as_deref(), Some("1785003600:p"));
        let json = serde_json::to_value(&ice).unwrap();
        assert_eq!(json["iceServers"][0]["urls"][0], "stun:t.example:3478");
        assert!(json["iceServers"][0].get("username").is_none());
        assert_eq!(json["iceTransportPolicy"], "all");
    }
}
