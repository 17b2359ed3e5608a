//! E-mail delivery: the Verify surface's `email` channel, over SMTP to a
//! relay (`--mailer`), off the request path through an [`Outbox`].
//!
//! The relay's own answers can repeat the recipient's address, so a
//! failure is logged by its SMTP code or its kind alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rustls::pki_types::pem::PemObject;

use super::SendError;
use super::outbox::{Attempt, Gateway, Item, Outbox, Retry};
use crate::redacted::Redacted;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain at first, then STARTTLS, which the relay must
    /// offer (never sent in clear when it does not).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://...?tls=none`: no TLS, for a relay on this machine only.
    Plain,
}

/// `--mailer`: where e-mail goes.
///
/// `smtp://[USER@]HOST[:PORT]` (STARTTLS; port 587) or
/// `smtps://[USER@]HOST[:PORT]` (implicit TLS; port 465), with `?ca=PATH`
/// to trust the PEM certificate at `PATH` alone instead of the Mozilla
/// roots; `smtp://HOST:PORT?tls=none` for a relay on a loopback address.
/// The user's password comes from `PASSCODE_SMTP_PASSWORD` or the config
/// file's `smtp_password`, never from the URL, which other users of the
/// machine can read in the process list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailerSpec {
    /// TLS, and how.
    pub security: Security,
    /// The relay's name or address (a name is what its certificate is
    /// checked against).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The user to authenticate as, if any.
    pub user: Option<String>,
    /// A CA certificate (PEM) to trust alone.
    pub ca: Option<PathBuf>,
}

const SPEC_HELP: &str = "a mailer is smtp://[USER@]HOST[:PORT] (STARTTLS) or \
                         smtps://[USER@]HOST[:PORT] (TLS), with an optional ?ca=PATH, \
                         or smtp://HOST:PORT?tls=none on a loopback address";

impl std::str::FromStr for MailerSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|_| SPEC_HELP.to_owned())?;
        let mut security = match url.scheme() {
            "smtp" => Security::StartTls,
            "smtps" => Security::Implicit,
            _ => return Err(SPEC_HELP.into()),
        };
        if url.password().is_some() {
            return Err(
                "the mailer URL holds a password: give it in PASSCODE_SMTP_PASSWORD \
                        or the config file's smtp_password instead, out of the process list"
                    .into(),
            );
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(SPEC_HELP.into());
        }
        // Loopback by its address alone: a name such as localhost is what
        // the resolver says it is.
        let loopback = match url.host() {
            // smtp is not one of the URL standard's special schemes: its
            // host comes as text, an IPv4 address included.
            Some(url::Host::Domain(name)) => name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(SPEC_HELP.into()),
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(SPEC_HELP.into()),
        };
        let mut ca = None;
        let mut seen = Vec::new();
        for (name, value) in url.query_pairs() {
            if seen.contains(&name) {
                return Err(format!("the mailer URL gives {name} twice"));
            }
            match (&*name, &*value) {
                ("tls", "none") if security == Security::StartTls => security = Security::Plain,
                ("ca", path) if !path.is_empty() => ca = Some(PathBuf::from(path)),
                _ => return Err(SPEC_HELP.into()),
            }
            seen.push(name);
        }
        if security == Security::Plain {
            if !loopback {
                return Err("tls=none sends the password and every code in clear: \
                            it is refused but for a relay on a loopback address \
                            (127.0.0.1 or [::1])"
                    .into());
            }
            if ca.is_some() {
                return Err("ca= has no use with tls=none".into());
            }
        }
        let user = match url.username() {
            "" => None,
            user => Some(
                percent_encoding::percent_decode_str(user)
                    .decode_utf8()
                    .map_err(|_| "the mailer URL's user is not UTF-8".to_owned())?
                    .into_owned(),
            ),
        };
        Ok(Self {
            security,
            host,
            port: url.port().unwrap_or(match security {
                Security::Implicit => 465,
                Security::StartTls | Security::Plain => 587,
            }),
            user,
            ca,
        })
    }
}

/// One e-mail to deliver.
#[derive(Clone)]
pub struct Mail {
    /// The application sending it.
    pub app_id: i64,
    /// Its sender (the request's, or the server's `--mail-from`).
    pub from: Mailbox,
    /// Its recipient.
    pub to: Address,
    /// Its subject.
    pub subject: String,
    /// Its text, which carries the code.
    pub body: String,
}

// The recipient and the text (which holds the code) are secret.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Item for Mail {
    fn app_id(&self) -> i64 {
        self.app_id
    }
    fn kind(&self) -> &'static str {
        "email"
    }
}

/// The SMTP relay as a gateway.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    deadline: Duration,
}

/// The longest one delivery may take, from the connection to the relay's
/// last answer: the transport's own timeout bounds each step, not a relay
/// that answers slowly at every one.
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").finish_non_exhaustive()
    }
}

impl Smtp {
    /// A client of the relay `spec` names, authenticating with `password`
    /// where it names a user. It connects at the first delivery.
    ///
    /// # Errors
    /// A user without a password (or the reverse), a CA file that cannot
    /// be read, TLS settings rustls refuses.
    pub fn new(spec: &MailerSpec, password: Option<&Redacted>) -> Result<Self, String> {
        let tls = || -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(spec.host.clone());
            if let Some(path) = &spec.ca {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("the mailer's CA {}: {e}", path.display()))?;
                // lettre takes a file without a certificate (a key, say)
                // as an empty set of roots, which every relay then fails.
                let found = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
                    .filter(Result::is_ok)
                    .count();
                let cert = Certificate::from_pem(&pem)
                    .ok()
                    .filter(|_| found > 0)
                    .ok_or_else(|| {
                        format!("the mailer's CA {}: not a PEM certificate", path.display())
                    })?;
                builder = builder
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert);
            }
            builder
                .build_rustls()
                .map_err(|e| format!("the mailer's TLS settings: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&spec.host)
            .port(spec.port)
            .timeout(Some(Duration::from_secs(10)))
            .tls(match spec.security {
                Security::StartTls => Tls::Required(tls()?),
                Security::Implicit => Tls::Wrapper(tls()?),
                Security::Plain => Tls::None,
            });
        match (&spec.user, password) {
            (Some(user), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (Some(_), None) => {
                return Err("the mailer names a user: give its password in \
                            PASSCODE_SMTP_PASSWORD (or smtp_password in the config file)"
                    .into());
            }
            (None, Some(_)) => {
                return Err(
                    "PASSCODE_SMTP_PASSWORD is set but the mailer URL names no user \
                            (smtp://USER@HOST)"
                        .into(),
                );
            }
            (None, None) => {}
        }
        Ok(Self {
            transport: builder.build(),
            deadline: ATTEMPT_DEADLINE,
        })
    }

    /// The same gateway, giving each delivery at most `deadline`.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

/// What a failure may say in a log: the relay's code or the failure's
/// kind, never the relay's text (which can repeat the address).
fn reason(error: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = error.status() {
        format!("the relay answered {code}")
    } else if error.is_timeout() {
        "the relay did not answer in time".into()
    } else if let Some(tls) = rustls_cause(error) {
        // rustls's words name the certificate's fault, never the mail.
        format!("TLS with the relay failed: {tls}")
    } else if error.is_tls() {
        "TLS with the relay failed".into()
    } else {
        "the relay could not be reached".into()
    }
}

/// The rustls error under `error`, if any: a handshake refused comes as an
/// I/O error that holds it (whose `source` skips it).
fn rustls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(inner);
        }
        next = e.source();
    }
    None
}

#[async_trait]
impl Gateway<Mail> for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn attempt(&self, mail: &Mail) -> Attempt {
        let message = lettre::Message::builder()
            .from(mail.from.clone())
            .to(Mailbox::new(None, mail.to.clone()))
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone());
        let Ok(message) = message else {
            return Attempt::Fail("the message could not be written".into());
        };
        match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Ok(Ok(_)) => Attempt::Delivered,
            Ok(Err(e)) if e.is_permanent() => Attempt::Fail(reason(&e)),
            Ok(Err(e)) => Attempt::Retry(reason(&e)),
            Err(_) => Attempt::Retry("the relay did not answer in time".into()),
        }
    }
}

/// The e-mail side of delivery: the queue in front of the relay and the
/// sender used where a request names none.
pub struct Mailer {
    outbox: Outbox<Mail>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

impl Mailer {
    /// Starts the delivery worker for `gateway`; mail goes out from `from`
    /// unless a request names its own sender.
    #[must_use]
    pub fn start(gateway: Arc<dyn Gateway<Mail>>, from: Mailbox, retry: Retry) -> Self {
        Self {
            outbox: Outbox::start(gateway, retry),
            from,
        }
    }

    /// The sender where a request names none.
    #[must_use]
    pub fn default_from(&self) -> &Mailbox {
        &self.from
    }

    /// Queues `mail`.
    ///
    /// # Errors
    /// The queue is full or closed.
    pub fn send(&self, mail: Mail) -> Result<(), SendError> {
        self.outbox.enqueue(mail)
    }

    /// Delivers what is queued, for at most `within`; at shutdown.
    pub async fn flush(&self, within: Duration) {
        self.outbox.close(within).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailer_urls_read_as_documented() {
        let spec: MailerSpec = "smtp://mailer%40example.com@relay.example.com"
            .parse()
            .unwrap();
        assert_eq!(spec.security, Security::StartTls);
        assert_eq!(spec.host, "relay.example.com");
        assert_eq!(spec.port, 587);
        assert_eq!(spec.user.as_deref(), Some("mailer@example.com"));
        let spec: MailerSpec = "smtps://relay.example.com:2465?ca=/etc/ca.pem"
            .parse()
            .unwrap();
        assert_eq!(
            (spec.security, spec.port, spec.user, spec.ca),
            (
                Security::Implicit,
                2465,
                None,
                Some(PathBuf::from("/etc/ca.pem"))
            )
        );
        assert_eq!(
            "smtps://relay.example.com"
                .parse::<MailerSpec>()
                .unwrap()
                .port,
            465
        );
        let plain: MailerSpec = "smtp://127.0.0.1:2525?tls=none".parse().unwrap();
        assert_eq!((plain.security, plain.port), (Security::Plain, 2525));
        let v6: MailerSpec = "smtp://[::1]:25?tls=none".parse().unwrap();
        assert_eq!(v6.security, Security::Plain);
        assert_eq!(v6.host, "::1");
    }

    #[test]
    fn mailer_urls_that_would_leak_or_mislead_are_refused() {
        for (text, says) in [
            (
                "smtp://u:hunter2@relay.example.com",
                "PASSCODE_SMTP_PASSWORD",
            ),
            ("smtp://relay.example.com:25?tls=none", "loopback"),
            ("smtp://localhost:25?tls=none", "loopback"),
            ("smtp://127.0.0.1.example.com:25?tls=none", "loopback"),
            ("smtps://127.0.0.1:25?tls=none", "a mailer is"),
            ("smtp://127.0.0.1?tls=none&ca=/x", "no use"),
            ("smtp://relay.example.com?ca=/a&ca=/b", "twice"),
            ("smtp://relay.example.com?tls=maybe", "a mailer is"),
            ("smtp://relay.example.com/path", "a mailer is"),
            ("http://relay.example.com", "a mailer is"),
            ("relay.example.com:25", "a mailer is"),
            ("smtp://", "a mailer is"),
        ] {
            let error = text.parse::<MailerSpec>().unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = std::env::temp_dir().join(format!("passcode-mail-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key.pem");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let spec: MailerSpec = format!("smtps://relay.example.com?ca={}", key.display())
            .parse()
            .unwrap();
        let error = Smtp::new(&spec, None).err().unwrap();
        assert!(error.contains("not a PEM certificate"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_user_needs_a_password_and_a_password_a_user() {
        let with_user: MailerSpec = "smtp://u@relay.example.com".parse().unwrap();
        assert!(Smtp::new(&with_user, None).is_err());
        let without: MailerSpec = "smtp://relay.example.com".parse().unwrap();
        let password = Redacted::new("hunter2".into());
        let error = Smtp::new(&without, Some(&password)).err().unwrap();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(Smtp::new(&with_user, Some(&password)).is_ok());
        assert!(Smtp::new(&without, None).is_ok());
    }

    #[test]
    fn a_mail_shows_nothing_of_its_recipient_or_text_in_debug() {
        let mail = Mail {
            app_id: 7,
            from: "Acme <no-reply@acme.test>".parse().unwrap(),
            to: "alice@example.com".parse().unwrap(),
            subject: "Your Acme verification code".into(),
            body: "Your Acme verification code is: 123456".into(),
        };
        let shown = format!("{mail:?}");
        assert!(
            !shown.contains("alice") && !shown.contains("123456"),
            "{shown}"
        );
    }
}
