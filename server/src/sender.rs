//! Delivery of SMS and voice messages, and of e-mail (`mail`).
//!
//! `log` prints each message, code included (for development only: the one
//! place a code is ever logged, and the server warns at start that nothing
//! is delivered); `file:PATH` appends one JSON line per message;
//! `webhook:URL` posts that line, signed; `twilio` hands it to Twilio. The
//! network senders queue the message and deliver it off the request path.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod events;
pub mod mail;
pub mod outbox;
pub mod twilio;
pub mod webhook;

use crate::redacted::Redacted;

use async_trait::async_trait;
use serde::Serialize;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A text message.
    Sms,
    /// A voice call.
    Call,
    /// An e-mail (Verify's `email` channel), through the mailer alone.
    Email,
}

/// One message to deliver.
#[derive(Clone, Serialize)]
pub struct Message {
    /// The application sending it.
    pub app_id: i64,
    /// The destination in E.164.
    pub to: String,
    /// SMS or call.
    pub channel: Channel,
    /// The language tag of the text.
    pub locale: &'static str,
    /// The text (or what the call says).
    pub body: String,
    /// The code it carries.
    pub code: String,
}

// The code and the body (which holds it) are secret.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("app_id", &self.app_id)
            .field("channel", &self.channel)
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

/// A delivery failed; the request is answered 503.
#[derive(Debug)]
pub struct SendError(pub String);

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "delivery failed: {}", self.0)
    }
}

impl std::error::Error for SendError {}

/// Delivers messages.
#[async_trait]
pub trait Sender: Send + Sync + 'static {
    /// Delivers one message (or queues it for delivery).
    async fn send(&self, message: &Message) -> Result<(), SendError>;

    /// Delivers what is queued, for at most `within`; at shutdown.
    async fn flush(&self, within: Duration) {
        let _ = within;
    }
}

/// Which sender, from `--sender`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderSpec {
    /// Print messages to the log.
    Log,
    /// Append JSON lines to a file.
    File(PathBuf),
    /// POST each line to a URL, signed with the webhook secret.
    Webhook(String),
    /// Twilio Messaging and Voice.
    Twilio,
}

/// The secrets the network senders need, from the environment or the
/// config file, never from flags (which other users of the machine see).
#[derive(Debug, Clone, Default)]
pub struct SenderSecrets {
    /// `PASSCODE_WEBHOOK_SECRET`.
    pub webhook_secret: Option<Redacted>,
    /// `PASSCODE_TWILIO_ACCOUNT_SID`.
    pub twilio_account_sid: Option<String>,
    /// `PASSCODE_TWILIO_AUTH_TOKEN`.
    pub twilio_auth_token: Option<Redacted>,
    /// `PASSCODE_TWILIO_FROM`.
    pub twilio_from: Option<String>,
    /// `PASSCODE_TWILIO_BASE_URL` (default `https://api.twilio.com`).
    pub twilio_base_url: Option<String>,
}

impl std::str::FromStr for SenderSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            None if text == "log" => Ok(Self::Log),
            None if text == "twilio" => Ok(Self::Twilio),
            Some(("file", path)) if !path.is_empty() => Ok(Self::File(PathBuf::from(path))),
            Some(("webhook", url)) if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(Self::Webhook(url.to_owned()))
            }
            _ => Err("a sender is `log`, `file:PATH`, `webhook:URL` or `twilio`".into()),
        }
    }
}

impl SenderSpec {
    /// The sender. The network senders start their delivery worker, so
    /// this runs inside the runtime.
    ///
    /// # Errors
    /// When the file cannot be opened, or a secret the sender needs is
    /// missing.
    pub fn build(
        &self,
        secrets: &SenderSecrets,
        retry: outbox::Retry,
    ) -> Result<Arc<dyn Sender>, SendError> {
        let missing = |name: &str| SendError(format!("{name} is not set"));
        match self {
            Self::Log => {
                tracing::warn!(
                    "sender is `log`: messages are printed to this log and NOT delivered"
                );
                Ok(Arc::new(LogSender))
            }
            Self::File(path) => Ok(Arc::new(FileSender::open(path.clone())?)),
            Self::Webhook(url) => {
                let secret = secrets.webhook_secret.clone().ok_or_else(|| {
                    missing("PASSCODE_WEBHOOK_SECRET (or webhook_secret in the config file)")
                })?;
                let gateway = webhook::Webhook::new(url.clone(), secret).map_err(SendError)?;
                Ok(Arc::new(outbox::Outbox::start(Arc::new(gateway), retry)))
            }
            Self::Twilio => {
                let settings = twilio::TwilioSettings {
                    account_sid: secrets
                        .twilio_account_sid
                        .clone()
                        .ok_or_else(|| missing("PASSCODE_TWILIO_ACCOUNT_SID"))?,
                    auth_token: secrets
                        .twilio_auth_token
                        .clone()
                        .ok_or_else(|| missing("PASSCODE_TWILIO_AUTH_TOKEN"))?,
                    from: secrets
                        .twilio_from
                        .clone()
                        .ok_or_else(|| missing("PASSCODE_TWILIO_FROM"))?,
                    base_url: secrets
                        .twilio_base_url
                        .clone()
                        .unwrap_or_else(|| "https://api.twilio.com".into()),
                };
                let gateway = twilio::Twilio::new(settings).map_err(SendError)?;
                Ok(Arc::new(outbox::Outbox::start(Arc::new(gateway), retry)))
            }
        }
    }
}

/// Prints messages.
#[derive(Debug)]
pub struct LogSender;

#[async_trait]
impl Sender for LogSender {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        tracing::info!(
            target: "passcode_server::delivery",
            app_id = message.app_id,
            to = %message.to,
            channel = ?message.channel,
            body = %message.body,
            "message (not delivered: log sender)"
        );
        Ok(())
    }
}

/// Appends one JSON line per message.
#[derive(Debug)]
pub struct FileSender {
    file: Mutex<std::fs::File>,
}

impl FileSender {
    /// Opens `path` for appending, creating it with mode 0600.
    ///
    /// # Errors
    /// When it cannot be opened.
    pub fn open(path: PathBuf) -> Result<Self, SendError> {
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(|e| SendError(format!("{}: {e}", path.display())))?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }
}

#[async_trait]
impl Sender for FileSender {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let mut line = serde_json::to_vec(message).map_err(|e| SendError(e.to_string()))?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| SendError("file lock poisoned".into()))?;
        // One write of the whole line: with O_APPEND, lines of several
        // processes never interleave.
        file.write_all(&line).map_err(|e| SendError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("log".parse::<SenderSpec>(), Ok(SenderSpec::Log));
        assert_eq!(
            "file:/tmp/x".parse::<SenderSpec>(),
            Ok(SenderSpec::File("/tmp/x".into()))
        );
        assert!("file:".parse::<SenderSpec>().is_err());
        assert!("smtp:x".parse::<SenderSpec>().is_err());
        assert_eq!("twilio".parse::<SenderSpec>(), Ok(SenderSpec::Twilio));
        assert_eq!(
            "webhook:https://hooks.example/sms".parse::<SenderSpec>(),
            Ok(SenderSpec::Webhook("https://hooks.example/sms".into()))
        );
        assert!("webhook:ftp://x".parse::<SenderSpec>().is_err());
    }

    #[tokio::test]
    async fn the_file_sender_writes_one_json_line_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let sender = FileSender::open(path.clone()).unwrap();
        let message = Message {
            app_id: 3,
            to: "+14155552671".into(),
            channel: Channel::Sms,
            locale: "en",
            body: "Your Acme verification code is: 1234567".into(),
            code: "1234567".into(),
        };
        sender.send(&message).await.unwrap();
        sender.send(&message).await.unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let line = text.lines().next().unwrap();
        assert_eq!(
            line,
            r#"{"app_id":3,"to":"+14155552671","channel":"sms","locale":"en","body":"Your Acme verification code is: 1234567","code":"1234567"}"#
        );
        assert_eq!(text.lines().count(), 2);
        assert!(!format!("{message:?}").contains("1234567"));
    }
}
