//! Settings: flags over `PASSCODE_*` variables over a TOML file over
//! defaults. Unknown keys in the file are refused.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Deserialize;

use crate::domain::Limits;
use crate::redacted::Redacted;
use crate::sender::mail::MailerSpec;
use crate::sender::{SenderSecrets, SenderSpec};
use crate::store::sqlite::Durability;
use crate::tls::TlsFiles;
use passcode::RateLimit;

/// The default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default database.
pub const DEFAULT_DATABASE: &str = "sqlite:passcode-data/passcode.db";
/// The default master key file.
pub const DEFAULT_MASTER_KEY: &str = "passcode-data/master.key";

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The options of `serve`, as flags and variables.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PASSCODE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// A second address for `/health`, `/ready` and `/metrics` alone; with
    /// it, `--listen` does not serve `/metrics`. Keep it private: metrics
    /// need no key [default: none, all on --listen].
    #[arg(long, env = "PASSCODE_OPS_LISTEN")]
    pub ops_listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (the server's
    /// certificate first); needs --tls-key. SIGHUP reads both files again
    /// without dropping a connection [default: plain HTTP].
    #[arg(long, env = "PASSCODE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "PASSCODE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// `sqlite:PATH` (or a bare path), or `postgres://USER@HOST:PORT/DB`,
    /// over TLS with `?sslmode=verify-full&sslrootcert=CA.pem` (or
    /// `verify-ca`, `require`, `prefer`: libpq's meanings)
    /// [default: sqlite:passcode-data/passcode.db].
    #[arg(long, env = "PASSCODE_DATABASE_URL")]
    pub database: Option<String>,
    /// File holding the 32-byte master key as 64 hex characters; created
    /// when missing [default: passcode-data/master.key].
    #[arg(long, env = "PASSCODE_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Where messages go [default: log]: `log` (development: printed, code
    /// included, not delivered); `file:PATH` (one JSON line a message);
    /// `webhook:URL` (a signed POST of that line; reads
    /// PASSCODE_WEBHOOK_SECRET); `twilio` (Twilio's Messages and Calls;
    /// reads PASSCODE_TWILIO_ACCOUNT_SID, PASSCODE_TWILIO_AUTH_TOKEN,
    /// PASSCODE_TWILIO_FROM).
    #[arg(long, env = "PASSCODE_SENDER")]
    pub sender: Option<SenderSpec>,
    /// Where e-mail goes (Verify's `email` channel) [default: none, the
    /// channel refused]: `smtp://[USER@]HOST[:PORT]` (STARTTLS, 587) or
    /// `smtps://[USER@]HOST[:PORT]` (TLS, 465), `?ca=PATH` to trust that CA
    /// alone; `smtp://HOST:PORT?tls=none` on a loopback address only. The
    /// user's password: PASSCODE_SMTP_PASSWORD.
    #[arg(long, env = "PASSCODE_MAILER", requires = "mail_from")]
    pub mailer: Option<MailerSpec>,
    /// The sender of e-mail where a request names none, as
    /// `Name <address>` or an address.
    #[arg(long, env = "PASSCODE_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// A TOML file with any of these settings.
    #[arg(long, env = "PASSCODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// `full`: a used code is on disk before its answer; `normal`: faster,
    /// and a power loss can forget the last commits [default: full].
    #[arg(long, env = "PASSCODE_DURABILITY")]
    pub durability: Option<Durability>,
    /// `text` or `json` [default: text].
    #[arg(long, env = "PASSCODE_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Base URL written into QR code links [default: from the request's Host].
    #[arg(long, env = "PASSCODE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// PostgreSQL connections in this node's pool [default: 16].
    #[arg(long, env = "PASSCODE_POOL_SIZE")]
    pub pool_size: Option<usize>,
    /// Seconds a stop waits for requests in flight and queued deliveries
    /// [default: 10].
    #[arg(long, env = "PASSCODE_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<u64>,
    /// The most connections open at once; past it new ones are closed at
    /// once [default: half the open-file limit, at most 10000].
    #[arg(long, env = "PASSCODE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a connection may take to send a request head, and may stay
    /// idle between requests [default: 10].
    #[arg(long, env = "PASSCODE_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Seconds a request body may take to arrive [default: 10].
    #[arg(long, env = "PASSCODE_BODY_TIMEOUT")]
    pub body_timeout: Option<u64>,
    /// Seconds an answer may wait for the client to read it [default: 10].
    #[arg(long, env = "PASSCODE_WRITE_TIMEOUT")]
    pub write_timeout: Option<u64>,
}

/// The same settings in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    limits: Option<FileLimits>,
    listen: Option<SocketAddr>,
    ops_listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    database: Option<String>,
    master_key_file: Option<PathBuf>,
    sender: Option<String>,
    mailer: Option<String>,
    mail_from: Option<String>,
    smtp_password: Option<Redacted>,
    durability: Option<Durability>,
    log_format: Option<LogFormat>,
    public_url: Option<String>,
    shutdown_timeout: Option<u64>,
    pool_size: Option<usize>,
    max_connections: Option<usize>,
    header_timeout: Option<u64>,
    body_timeout: Option<u64>,
    write_timeout: Option<u64>,
    webhook_secret: Option<Redacted>,
    twilio_account_sid: Option<String>,
    twilio_auth_token: Option<Redacted>,
    twilio_from: Option<String>,
    twilio_base_url: Option<String>,
}

/// `[limits]` in the config file: each a `{ quota, period, burst }`, at
/// most `quota` in any `period` seconds and `burst` at once; a limit left
/// out keeps its default.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    destination_burst: Option<FileLimit>,
    destination_daily: Option<FileLimit>,
    app_sends: Option<FileLimit>,
    export_user: Option<FileLimit>,
    export_app: Option<FileLimit>,
    totp_guesses: Option<FileLimit>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimit {
    quota: u32,
    period: u64,
    burst: u32,
}

impl FileLimits {
    /// The defaults with the file's limits over them.
    fn resolve(self) -> Result<Limits, String> {
        let mut limits = Limits::default();
        let slots = [
            (
                "destination_burst",
                self.destination_burst,
                &mut limits.destination_burst,
            ),
            (
                "destination_daily",
                self.destination_daily,
                &mut limits.destination_daily,
            ),
            ("app_sends", self.app_sends, &mut limits.app_sends),
            ("export_user", self.export_user, &mut limits.export_user),
            ("export_app", self.export_app, &mut limits.export_app),
            ("totp_guesses", self.totp_guesses, &mut limits.totp_guesses),
        ];
        for (name, given, slot) in slots {
            if let Some(l) = given {
                *slot = RateLimit::new(l.quota, l.period, l.burst).map_err(|e| {
                    format!("config file: limits.{name}: {e} (a quota and a burst of at least 1, a burst at most the quota, a period of at least 1 second)")
                })?;
            }
        }
        Ok(limits)
    }
}

/// Which database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Database {
    /// `sqlite:PATH`, `sqlite://PATH`, `postgres://...`,
    /// `postgresql://...`, or a bare path (SQLite).
    ///
    /// # Errors
    /// An empty path.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        if path.is_empty() {
            return Err("the database path is empty".into());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// The settings `serve` runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// The operators' address (`/health`, `/ready`, `/metrics`), if any.
    pub ops_listen: Option<SocketAddr>,
    /// HTTPS on every listener, or plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Database.
    pub database: Database,
    /// Master key file.
    pub master_key_file: PathBuf,
    /// Sender.
    pub sender: SenderSpec,
    /// The mailer, its sender and its password, if e-mail is delivered.
    pub mailer: Option<MailSettings>,
    /// Durability.
    pub durability: Durability,
    /// Log format.
    pub log_format: LogFormat,
    /// Public URL.
    pub public_url: Option<String>,
    /// How long a stop waits for requests in flight and queued deliveries.
    pub shutdown_timeout: std::time::Duration,
    /// The network senders' secrets.
    pub secrets: SenderSecrets,
    /// PostgreSQL pool size.
    pub pool_size: usize,
    /// The most connections open at once; `None` derives it from the
    /// open-file limit at start.
    pub max_connections: Option<usize>,
    /// The deadline for a request head, and for an idle connection.
    pub header_timeout: std::time::Duration,
    /// The deadline for a request body.
    pub body_timeout: std::time::Duration,
    /// The deadline for an answer the client does not read.
    pub write_timeout: std::time::Duration,
    /// The abuse limits (`[limits]` in the config file over the defaults).
    pub limits: Limits,
}

impl ServeArgs {
    /// Layers these over the config file (if any) and the defaults.
    ///
    /// # Errors
    /// A message naming the file or setting that is wrong.
    pub fn resolve(&self) -> Result<Settings, String> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let sender = match (&self.sender, &file.sender) {
            (Some(spec), _) => spec.clone(),
            (None, Some(text)) => text
                .parse()
                .map_err(|e| format!("config file: sender: {e}"))?,
            (None, None) => SenderSpec::Log,
        };
        let database = self
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        Ok(Settings {
            listen: self.listen.or(file.listen).unwrap_or_else(default_listen),
            ops_listen: self.ops_listen.or(file.ops_listen),
            tls: match (
                self.tls_cert.clone().or(file.tls_cert),
                self.tls_key.clone().or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => {
                    return Err(
                        "tls_cert and tls_key go together: give both, or neither for plain HTTP"
                            .into(),
                    );
                }
            },
            database: Database::parse(&database)?,
            master_key_file: self
                .master_key_file
                .clone()
                .or(file.master_key_file)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_MASTER_KEY)),
            sender,
            mailer: MailSettings::resolve(
                self.mailer.clone(),
                file.mailer,
                self.mail_from.clone().or(file.mail_from),
                env("PASSCODE_SMTP_PASSWORD")
                    .map(Redacted::new)
                    .or(file.smtp_password),
            )?,
            durability: self.durability.or(file.durability).unwrap_or_default(),
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            public_url: self.public_url.clone().or(file.public_url),
            shutdown_timeout: std::time::Duration::from_secs(
                self.shutdown_timeout
                    .or(file.shutdown_timeout)
                    .unwrap_or(10),
            ),
            pool_size: self.pool_size.or(file.pool_size).unwrap_or(16),
            max_connections: self.max_connections.or(file.max_connections),
            header_timeout: seconds(self.header_timeout.or(file.header_timeout), 10)?,
            body_timeout: seconds(self.body_timeout.or(file.body_timeout), 10)?,
            write_timeout: seconds(self.write_timeout.or(file.write_timeout), 10)?,
            limits: file.limits.unwrap_or_default().resolve()?,
            // Secrets come from the environment over the file, never flags.
            secrets: SenderSecrets {
                webhook_secret: env("PASSCODE_WEBHOOK_SECRET")
                    .map(Redacted::new)
                    .or(file.webhook_secret),
                twilio_account_sid: env("PASSCODE_TWILIO_ACCOUNT_SID").or(file.twilio_account_sid),
                twilio_auth_token: env("PASSCODE_TWILIO_AUTH_TOKEN")
                    .map(Redacted::new)
                    .or(file.twilio_auth_token),
                twilio_from: env("PASSCODE_TWILIO_FROM").or(file.twilio_from),
                twilio_base_url: env("PASSCODE_TWILIO_BASE_URL").or(file.twilio_base_url),
            },
        })
    }
}

/// Where e-mail goes: `--mailer`, `--mail-from` and the password.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The relay.
    pub spec: MailerSpec,
    /// The sender where a request names none.
    pub from: lettre::message::Mailbox,
    /// The relay user's password.
    pub password: Option<Redacted>,
}

impl MailSettings {
    fn resolve(
        flag: Option<MailerSpec>,
        file: Option<String>,
        from: Option<String>,
        password: Option<Redacted>,
    ) -> Result<Option<Self>, String> {
        let spec = match (flag, file) {
            (Some(spec), _) => spec,
            (None, Some(text)) => text
                .parse()
                .map_err(|e| format!("config file: mailer: {e}"))?,
            (None, None) if password.is_some() => {
                return Err("an SMTP password is set but no mailer: give --mailer".into());
            }
            (None, None) => return Ok(None),
        };
        let from = from
            .ok_or("a mailer needs --mail-from (or mail_from in the config file)")?
            .parse()
            .map_err(|_| "mail_from is not an address or `Name <address>`".to_owned())?;
        Ok(Some(Self {
            spec,
            from,
            password,
        }))
    }
}

/// A deadline in seconds: 1 to one hour.
fn seconds(given: Option<u64>, default: u64) -> Result<std::time::Duration, String> {
    match given.unwrap_or(default) {
        s @ 1..=3600 => Ok(std::time::Duration::from_secs(s)),
        s => Err(format!("a timeout of {s} seconds: give 1 to 3600")),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The default listen address.
#[must_use]
pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config file {}: {}", path.display(), e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `packaging/passcode-server.toml` sets every setting the file takes,
    /// and its limits are the defaults it says they are.
    #[test]
    fn the_example_configuration_is_whole_and_true() {
        let text = include_str!("../packaging/passcode-server.toml");
        let file: FileConfig = toml::from_str(text).unwrap();
        let debug = format!("{file:?}");
        assert!(!debug.contains("None"), "a setting is missing: {debug}");
        let limits = file.limits.unwrap();
        assert!(!format!("{limits:?}").contains("None"), "{limits:?}");
        let resolved = limits.resolve().unwrap();
        let default = Limits::default();
        for (name, a, b) in [
            (
                "destination_burst",
                resolved.destination_burst,
                default.destination_burst,
            ),
            (
                "destination_daily",
                resolved.destination_daily,
                default.destination_daily,
            ),
            ("app_sends", resolved.app_sends, default.app_sends),
            ("export_user", resolved.export_user, default.export_user),
            ("export_app", resolved.export_app, default.export_app),
            ("totp_guesses", resolved.totp_guesses, default.totp_guesses),
        ] {
            assert_eq!(
                (a.quota(), a.period(), a.burst()),
                (b.quota(), b.period(), b.burst()),
                "{name}"
            );
        }
    }

    /// The configuration the Debian package installs resolves, on
    /// loopback, with the service's state directory for its files.
    #[test]
    fn the_packaged_configuration_starts_as_it_is() {
        let args = ServeArgs {
            config: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/packaging/etc/passcode-server.toml"
            ))),
            ..ServeArgs::default()
        };
        let settings = args.resolve().unwrap();
        assert!(settings.listen.ip().is_loopback());
        assert!(settings.ops_listen.unwrap().ip().is_loopback());
        assert_eq!(settings.database, Database::Sqlite("passcode.db".into()));
        assert_eq!(settings.master_key_file, PathBuf::from("master.key"));
        assert_eq!(settings.tls, None);
    }

    /// The unit keeps the hardening the packaging promises.
    #[test]
    fn the_service_unit_is_hardened() {
        let unit = include_str!("../packaging/passcode-server.service");
        for line in [
            "DynamicUser=yes",
            "StateDirectory=passcode-server",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=\n",
            "AmbientCapabilities=\n",
            "LimitNOFILE=65536",
            "UMask=0077",
            // SIGHUP reloads the TLS certificate.
            "ExecReload=/bin/kill -HUP $MAINPID",
        ] {
            assert!(unit.contains(line), "{line:?} is not in the unit");
        }
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            Database::parse("sqlite:a/b.db"),
            Ok(Database::Sqlite("a/b.db".into()))
        );
        assert_eq!(
            Database::parse("sqlite:///abs.db"),
            Ok(Database::Sqlite("/abs.db".into()))
        );
        assert_eq!(Database::parse("x.db"), Ok(Database::Sqlite("x.db".into())));
        assert_eq!(
            Database::parse("postgres://u@h/d"),
            Ok(Database::Postgres("postgres://u@h/d".into()))
        );
        assert!(Database::parse("sqlite:").is_err());
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nsender = \"file:/tmp/m\"\ndurability = \"normal\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..ServeArgs::default()
        };
        let s = args.resolve().unwrap();
        assert_eq!(s.listen, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(s.sender, SenderSpec::File("/tmp/m".into()));
        assert_eq!(s.durability, Durability::Normal);
        assert_eq!(
            s.database,
            Database::Sqlite("passcode-data/passcode.db".into())
        );
    }

    #[test]
    fn limits_come_from_the_file_over_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let resolve = |text: &str| {
            std::fs::write(&path, text).unwrap();
            ServeArgs {
                config: Some(path.clone()),
                ..ServeArgs::default()
            }
            .resolve()
        };
        let set = resolve(
            "[limits]\napp_sends = { quota = 60, period = 60, burst = 10 }\ntotp_guesses = { quota = 50, period = 86400, burst = 20 }\n",
        )
        .unwrap();
        assert_eq!(set.limits.app_sends, RateLimit::new(60, 60, 10).unwrap());
        assert_eq!(
            set.limits.totp_guesses,
            RateLimit::new(50, 86_400, 20).unwrap()
        );
        assert_eq!(
            set.limits.destination_burst,
            Limits::default().destination_burst,
            "a limit left out keeps its default"
        );
        let bad = resolve("[limits]\napp_sends = { quota = 5, period = 60, burst = 6 }\n");
        assert!(bad.unwrap_err().contains("limits.app_sends"));
        let unknown = resolve("[limits]\nsends = { quota = 5, period = 60, burst = 5 }\n");
        assert!(unknown.unwrap_err().contains("sends"));
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let error = args.resolve().unwrap_err();
        assert!(error.contains("listne"), "{error}");
    }
}
