//! The command line of `passcode-server`: its commands and their
//! arguments, as clap reads them (the binary runs them).
//!
//! A doc comment here is a command's or an argument's `--help` text, so
//! the plumbing clap needs (a subcommand's field, a value's variant) has
//! none rather than one that would print.
#![allow(missing_docs)]
// The same reason: a URL in a doc comment is printed by --help as written.
#![allow(rustdoc::bare_urls)]

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::ServeArgs;

/// The Authy and Twilio Verify v2 APIs, self-hosted. With no command,
/// `serve`.
#[derive(Debug, Parser)]
#[command(
    name = "passcode-server",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(Box<ServeArgs>),
    /// Exit 0 when a server answers `GET /health`.
    Healthcheck {
        /// The server's address [default: 127.0.0.1:8080].
        #[arg(long, env = "PASSCODE_LISTEN")]
        listen: Option<SocketAddr>,
        /// The server's TLS certificate file, when it serves HTTPS: the
        /// check trusts that certificate alone.
        #[arg(long, env = "PASSCODE_TLS_CERT")]
        tls_cert: Option<PathBuf>,
    },
    /// Manage applications, offline, in the same database.
    App(AppArgs),
    /// Bring users in from another service, with their ids.
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// Move users from one API to another inside this server.
    Migrate {
        #[command(subcommand)]
        to: MigrateTo,
    },
    /// Copy a SQLite database, running server or not, as of one commit,
    /// and check the copy (PostgreSQL: use pg_dump).
    Backup {
        /// The database, as for `serve`.
        #[arg(long, env = "PASSCODE_DATABASE_URL")]
        database: Option<String>,
        /// The copy to make (a new file).
        #[arg(long)]
        to: PathBuf,
    },
    /// Print a shell's completion script on standard output, e.g.
    /// `passcode-server completions bash >
    /// /usr/share/bash-completion/completions/passcode-server`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output: `passcode-server
    /// manual | man -l -`.
    Manual,
    /// Put a backup in place of the SQLite database, with the server
    /// stopped: codes accepted after the backup was taken could be
    /// accepted again.
    Restore {
        /// The database, as for `serve`.
        #[arg(long, env = "PASSCODE_DATABASE_URL")]
        database: Option<String>,
        /// The backup.
        #[arg(long)]
        from: PathBuf,
        /// Restore: without this, say what would be replaced and stop.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// Users from Authy, each keeping its Authy id; a re-run skips the
    /// users already there. Either from a file (`--from`: JSON lines of
    /// `authy_id`, `country_code`, `phone_number`, the body of `GET
    /// users/{id}/phone_number`, and an optional `email`), or from a
    /// running Authy-compatible API (`--from-api` with `--api-key-file`
    /// and `--ids`), at most 1,500 requests a minute, waiting as its 429s
    /// and Retry-After ask.
    Authy {
        /// The application the users belong to.
        #[arg(long)]
        app: i64,
        /// The JSON lines file.
        #[arg(
            long,
            required_unless_present = "from_api",
            conflicts_with = "from_api"
        )]
        from: Option<PathBuf>,
        /// The API's base URL, e.g. https://api.authy.com.
        #[arg(long, requires_all = ["api_key_file", "ids"])]
        from_api: Option<String>,
        /// A file holding the application's API key at the source.
        #[arg(long, requires = "from_api")]
        api_key_file: Option<PathBuf>,
        /// The Authy ids to import, one a line.
        #[arg(long, requires = "from_api")]
        ids: Option<PathBuf>,
        /// Requests a minute to the source at most.
        #[arg(long, default_value_t = 1500, requires = "from_api")]
        per_minute: u32,
        /// The database, as for `serve`.
        #[arg(long, env = "PASSCODE_DATABASE_URL")]
        database: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make an API key and print its SID and secret (shown once).
    Create {
        /// The application.
        id: i64,
        /// Its name.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List an application's API keys (never their secrets).
    List {
        /// The application.
        id: i64,
    },
    /// Delete an API key: requests signed with it are refused at once.
    Delete {
        /// The application.
        id: i64,
        /// The key's SID (`SK...`).
        sid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateTo {
    /// Turn each Authy authenticator of an application into a verified
    /// TOTP factor of the Verify service's entity `authy-{authy_id}`,
    /// sharing its seed and its used-step state: the user's authenticator
    /// app keeps working, and a code used on one API is refused on the
    /// other. A re-run skips what is there.
    AuthyToVerify {
        /// The application.
        #[arg(long)]
        app: i64,
        /// Its Verify service (`VA...`).
        #[arg(long)]
        service: String,
        /// The database, as for `serve`.
        #[arg(long, env = "PASSCODE_DATABASE_URL")]
        database: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The database, as for `serve`.
    #[arg(long, env = "PASSCODE_DATABASE_URL", global = true)]
    pub database: Option<String>,
    /// Print JSON only.
    #[arg(long, global = true)]
    pub json: bool,
    /// Create the SQLite database when it does not exist (without it, a
    /// mistyped path is an error, not a new empty database).
    #[arg(long, global = true)]
    pub init: bool,
    #[command(subcommand)]
    pub command: AppCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl From<Switch> for bool {
    fn from(s: Switch) -> bool {
        s == Switch::On
    }
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an application and print its API key.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        /// Keep a key the clients already hold (16 to 128 printable characters).
        #[arg(long)]
        api_key: Option<String>,
        /// Digits of SMS and voice tokens.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u8).range(6..=8))]
        token_length: u8,
        /// The sandbox of the clients' live test suites.
        #[arg(long)]
        sandbox: bool,
    },
    /// List applications.
    List,
    /// Change an application's settings.
    Set {
        /// Its id.
        id: i64,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(u8).range(6..=8))]
        token_length: Option<u8>,
        #[arg(long)]
        sms: Option<Switch>,
        #[arg(long)]
        calls: Option<Switch>,
        #[arg(long)]
        phone_export: Option<Switch>,
        #[arg(long)]
        generic_tokens: Option<Switch>,
        #[arg(long)]
        custom_messages: Option<Switch>,
        /// `on` makes `0000000` verify every user and `0000` approve
        /// every phone verification: refused for an application with
        /// users unless `--force` is given.
        #[arg(long)]
        sandbox: Option<Switch>,
        /// Switch the sandbox on even though the application has users.
        #[arg(long)]
        force: bool,
    },
    /// Give an application a new API key (the old one stops working).
    RotateKey {
        /// Its id.
        id: i64,
    },
    /// API keys of an application's Verify v2 account (`SK...:secret`).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Give an application a new auth token for the Verify v2 API (the old
    /// one stops working), and an account SID the first time.
    RotateToken {
        /// Its id.
        id: i64,
    },
    /// Delete an application with its users (asks for `--yes`).
    Delete {
        /// Its id.
        id: i64,
        /// Delete it: without this, say what would be deleted and stop.
        #[arg(long)]
        yes: bool,
    },
}
