//! A live-connection client for tests: opens `/ws` with the headers a browser or an
//! API client would send and reads events as JSON.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct LiveClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed(Option<u16>),
    TimedOut,
}

impl LiveClient {
    /// Connects to `base` + `/ws` with these headers; the HTTP status on refusal.
    /// Returns once the server said it is ready.
    pub async fn connect(base: &str, headers: &[(&str, String)]) -> Result<Self, u16> {
        let url = format!("{}/ws", base.replacen("http", "ws", 1));
        let mut request = url
            .into_client_request()
            .unwrap_or_else(|e| panic!("ws request: {e}"));
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                request.headers_mut().insert(name, value);
            }
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => {
                let mut client = LiveClient { socket };
                let ready = client
                    .next_event(Duration::from_secs(5))
                    .await
                    .unwrap_or_else(|e| panic!("no ready event: {e:?}"));
                assert_eq!(ready["type"], "ready");
                Ok(client)
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("ws connect: {e}"),
        }
    }

    /// With a bearer token (an API client).
    pub async fn with_token(base: &str, token: &str) -> Result<Self, u16> {
        Self::connect(base, &[("authorization", format!("Bearer {token}"))]).await
    }

    /// The next event (text frame) within `wait`, skipping pings.
    pub async fn next_event(&mut self, wait: Duration) -> Result<Value, Ended> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match next {
                Err(_) => return Err(Ended::TimedOut),
                Ok(None) => return Err(Ended::Closed(None)),
                Ok(Some(Err(_))) => return Err(Ended::Closed(None)),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Ok(serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("event is not JSON: {e}: {text}")))
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(Ended::Closed(frame.map(|f| u16::from(f.code))))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Sends a JSON frame.
    pub async fn send_json(&mut self, frame: &Value) -> bool {
        self.send_text(&frame.to_string()).await
    }

    /// The next event of type `kind` within `wait`, skipping others.
    pub async fn expect(&mut self, kind: &str, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Ok(event) if event["type"] == kind => return event,
                Ok(_) => continue,
                Err(e) => panic!("no {kind} event: {e:?}"),
            }
        }
    }

    /// Sends `frame` and returns the reply to it (`joined`, `ok` or `error`), skipping
    /// room events that arrive meanwhile.
    pub async fn request(&mut self, frame: &Value) -> Value {
        assert!(self.send_json(frame).await, "connection closed");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Ok(event)
                    if ["joined", "ok", "error", "pong"]
                        .contains(&event["type"].as_str().unwrap_or_default()) =>
                {
                    return event
                }
                Ok(_) => continue,
                Err(e) => panic!("no reply to {frame}: {e:?}"),
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) -> bool {
        self.socket.send(Message::Text(text.into())).await.is_ok()
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> bool {
        self.socket
            .send(Message::Binary(bytes.into()))
            .await
            .is_ok()
    }
}
