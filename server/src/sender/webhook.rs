//! `webhook:URL`: a POST of the message's JSON line, signed.
//!
//! Headers: `X-Passcode-Timestamp` (Unix seconds) and
//! `X-Passcode-Signature: v1=HEX`, where HEX is HMAC-SHA-256 under the
//! configured secret of `TIMESTAMP.BODY`. A receiver recomputes it, compares
//! in constant time, and refuses stale timestamps.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Message;
use super::outbox::{Attempt, Gateway};
use crate::redacted::Redacted;

/// The webhook gateway.
#[derive(Debug)]
pub struct Webhook {
    url: String,
    secret: Redacted,
    http: reqwest::Client,
}

impl Webhook {
    /// A gateway posting to `url`, signing with `secret`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: String, secret: Redacted) -> Result<Self, String> {
        // Never follow a redirect: it would post the code (and its
        // signature) to another host. A 3xx is a refused delivery.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { url, secret, http })
    }
}

/// `v1=HEX` for `body` sent at `timestamp`.
#[must_use]
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| std::process::abort());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sorts an HTTP status into an attempt's outcome.
pub(crate) fn judge(status: reqwest::StatusCode) -> Attempt {
    if status.is_success() {
        Attempt::Delivered
    } else if status.is_redirection() {
        Attempt::Fail(format!("status {status}: redirects are not followed"))
    } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        Attempt::Retry(format!("status {status}"))
    } else {
        Attempt::Fail(format!("status {status}"))
    }
}

#[async_trait]
impl Gateway for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn attempt(&self, message: &Message) -> Attempt {
        let Ok(body) = serde_json::to_vec(message) else {
            return Attempt::Fail("the message did not serialize".into());
        };
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signed = signature(self.secret.expose().as_bytes(), timestamp, &body);
        let sent = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Passcode-Timestamp", timestamp.to_string())
            .header("X-Passcode-Signature", signed)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => judge(response.status()),
            // No detail: a reqwest error can carry the URL, which may hold
            // a token of the receiver's.
            Err(e) if e.is_timeout() => Attempt::Retry("timed out".into()),
            Err(_) => Attempt::Retry("connection failed".into()),
        }
    }
}
