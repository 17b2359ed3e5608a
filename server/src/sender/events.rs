//! Verify webhooks: factor and challenge events, posted form-encoded to
//! each webhook of the service, signed as every Twilio webhook is:
//! `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL followed by each
//! parameter's name and value, names sorted)), which the SDKs'
//! `RequestValidator` checks. Delivered through an [`Outbox`] with its
//! retries.
//!
//! [`Outbox`]: super::outbox::Outbox

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};

use super::outbox::{Attempt, Gateway, Item};
use super::webhook::judge;

/// One event for one webhook, signed.
#[derive(Clone)]
pub struct Event {
    /// The application it is for.
    pub app_id: i64,
    /// Where it goes.
    pub url: String,
    /// Its parameters, form-encoded in the body.
    pub params: Vec<(String, String)>,
    /// `X-Twilio-Signature`.
    pub signature: String,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Item for Event {
    fn app_id(&self) -> i64 {
        self.app_id
    }
    fn kind(&self) -> &'static str {
        "verify webhook"
    }
}

/// `X-Twilio-Signature` of a form POST of `params` to `url`, under the
/// account's auth token.
#[must_use]
pub fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| std::process::abort());
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Posts events.
#[derive(Debug)]
pub struct EventGateway {
    http: reqwest::Client,
}

impl EventGateway {
    /// A gateway that follows no redirect and waits 5 s at most.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http })
    }
}

#[async_trait]
impl Gateway<Event> for EventGateway {
    fn name(&self) -> &'static str {
        "verify_webhook"
    }

    async fn attempt(&self, event: &Event) -> Attempt {
        let body = event
            .params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        match self
            .http
            .post(&event.url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", &event.signature)
            .body(body)
            .send()
            .await
        {
            Ok(response) => judge(response.status()),
            Err(e) => Attempt::Retry(if e.is_timeout() {
                "timed out".into()
            } else {
                "could not connect".into()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_twilios_published_example() {
        // The worked example of Twilio's webhook security page
        // (twilio.com/docs/usage/security), also the SDKs' validator's.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }
}
