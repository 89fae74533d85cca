//! Live updates: the `Bus` carries events between server nodes, the `Hub` keeps this
//! node's open WebSockets per person and hands each event to the right ones, and `ws`
//! is the one authenticated WebSocket a browser tab (or an API client) holds.
//!
//! Events name what happened and ids, never health data: a client told "a message
//! arrived in thread T" fetches it over HTTP, where membership is checked and audited.

pub mod bus;
pub mod hub;
pub mod ws;

pub use bus::{Bus, Envelope, Listener, LiveEvent};
pub use hub::Hub;
