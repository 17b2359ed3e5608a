//! `twilio`: Programmable Messaging for SMS and Programmable Voice for
//! calls, with an account SID, an auth token and a sender number. The base
//! URL is a setting so tests run against a local fake.

use std::time::Duration;

use async_trait::async_trait;

use super::outbox::{Attempt, Gateway};
use super::webhook::judge;
use super::{Channel, Message};
use crate::redacted::Redacted;

/// Twilio's settings.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    /// `AC...`.
    pub account_sid: String,
    /// The auth token.
    pub auth_token: Redacted,
    /// The number messages come from, E.164.
    pub from: String,
    /// `https://api.twilio.com` unless testing.
    pub base_url: String,
}

/// The Twilio gateway.
#[derive(Debug)]
pub struct Twilio {
    settings: TwilioSettings,
    http: reqwest::Client,
}

impl Twilio {
    /// A gateway with these settings.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: TwilioSettings) -> Result<Self, String> {
        // Never follow a redirect: it would post the code (and its
        // signature) to another host. A 3xx is a refused delivery.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { settings, http })
    }
}

/// Twilio's voice for a message's language.
fn voice_language(locale: &str) -> &'static str {
    match locale {
        "es" => "es-ES",
        "pt" => "pt-BR",
        "fr" => "fr-FR",
        "de" => "de-DE",
        "it" => "it-IT",
        _ => "en-US",
    }
}

/// TwiML that says `text` in `locale`'s language.
#[must_use]
pub fn twiml(text: &str, locale: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<Response><Say language=\"{}\">{escaped}</Say></Response>",
        voice_language(locale)
    )
}

#[async_trait]
impl Gateway for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn attempt(&self, message: &Message) -> Attempt {
        let s = &self.settings;
        let base = s.base_url.trim_end_matches('/');
        let (resource, content) = match message.channel {
            Channel::Sms => ("Messages", ("Body", message.body.clone())),
            Channel::Call => ("Calls", ("Twiml", twiml(&message.body, message.locale))),
            // E-mail goes through the mailer; the domain never hands it here.
            Channel::Email => return Attempt::Fail("e-mail is not an SMS or a call".into()),
        };
        let url = format!(
            "{base}/2010-04-01/Accounts/{}/{resource}.json",
            s.account_sid
        );
        let form = [
            ("To", message.to.as_str()),
            ("From", s.from.as_str()),
            (content.0, content.1.as_str()),
        ];
        let sent = self
            .http
            .post(url)
            .basic_auth(&s.account_sid, Some(s.auth_token.expose()))
            .form(&form)
            .send()
            .await;
        match sent {
            Ok(response) => judge(response.status()),
            Err(e) if e.is_timeout() => Attempt::Retry("timed out".into()),
            Err(_) => Attempt::Retry("connection failed".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twiml_escapes_and_names_the_voice() {
        assert_eq!(
            twiml("a<b & \"c\"", "es"),
            "<Response><Say language=\"es-ES\">a&lt;b &amp; &quot;c&quot;</Say></Response>"
        );
        assert!(twiml("x", "zz").contains("en-US"));
    }
}
