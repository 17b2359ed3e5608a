//! The command line as `clap` reads it: every command, option and help text.
//! Values are checked here only for their type; ranges are checked by the
//! library's own constructors (`Digits::new`, `Period::new`, `Window::new`,
//! ...), so the CLI and the library cannot disagree about a bound.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "One-time passcodes at the terminal: enroll a TOTP or HOTP secret with a QR \
code, print and verify codes (RFC 4226, RFC 6238), read otpauth:// key URIs.";

const MAIN_AFTER: &str = "\
Examples:
  passcode new --issuer ACME --account alice@example.com   # a secret, its URI and a QR code
  passcode totp -            # the current code; type or pipe the secret on standard input
  passcode verify --code 123456 --secret-file key.txt && echo accepted

The secret comes from the SECRET argument, --secret-file PATH, the PASSCODE_SECRET
environment variable, or standard input when SECRET is '-'. Prefer the last three:
an argument stays in the shell's history.

Exit status: 0 success; 1 'verify' found the code invalid; 2 a usage or input error.
With --json every command prints one JSON object on standard output (see each
command's help for its keys); errors still go to standard error, one line each.";

const NEW_AFTER: &str = "\
Examples:
  passcode new --issuer ACME --account alice@example.com
  passcode new --algorithm sha256 --digits 8 --qr-png alice.png --no-qr
  passcode new --hotp --counter 0 --account token-17 --json

The QR code is drawn with Unicode half blocks; with colors on a terminal (unless
NO_COLOR is set), otherwise light modules are drawn for a dark background
(--qr-invert for a light one). Files written with --qr-png or --qr-svg hold the
secret: they are created new, readable by their owner only; an existing file is
replaced only with --force, and a symbolic link or special file never is.

JSON: {\"secret\", \"uri\", \"type\": \"totp\"|\"hotp\", \"issuer\": string|null, \"account\",
\"algorithm\", \"digits\", \"period\" (totp) or \"counter\" (hotp), \"qr_png\" and \"qr_svg\"
(paths, when written)}";

const TOTP_AFTER: &str = "\
Examples:
  PASSCODE_SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ passcode totp
  passcode totp --secret-file key.txt --time 1111111109 --digits 8
  passcode totp --secret-file key.txt --window 1     # the previous, current and next codes
  passcode totp --secret-file key.txt --watch        # live code with a countdown; Ctrl-C quits

JSON: {\"type\": \"totp\", \"code\", \"step\", \"time\", \"seconds_left\", \"algorithm\", \"digits\",
\"period\", \"t0\", and with --window \"codes\": [{\"offset\", \"step\", \"code\"}, ...]}";

const HOTP_AFTER: &str = "\
Examples:
  passcode hotp --counter 0 --secret-file key.txt
  passcode hotp --counter 41 --window 4 - < key.txt   # counters 41 to 45

JSON: {\"type\": \"hotp\", \"code\", \"counter\", \"algorithm\", \"digits\", and with --window
\"codes\": [{\"offset\", \"counter\", \"code\"}, ...]}";

const VERIFY_AFTER: &str = "\
Examples:
  passcode verify --code 287082 --secret-file key.txt
  passcode verify --code 287082 --behind 2 --ahead 0 --time 1700000000 - < key.txt
  passcode verify --hotp --counter 5 --ahead 10 --code 254676 --secret-file key.txt

Prints the matched time step (or counter) and its drift from the current one, and
for HOTP the counter to store next. Exit status 0 when the code is valid, 1 when it
is not, 2 on a usage or input error (including a code of the wrong length).

JSON: {\"valid\": true, \"step\", \"drift\"} for TOTP, {\"valid\": true, \"counter\", \"drift\",
\"next_counter\"} for HOTP, {\"valid\": false} for an invalid code";

const URI_SHOW_AFTER: &str = "\
Examples:
  passcode uri show 'otpauth://totp/ACME:alice?secret=...&issuer=ACME'
  passcode uri show --reveal - < enrollment.txt

JSON: {\"type\", \"issuer\": string|null, \"account\", \"algorithm\", \"digits\", \"period\" (totp)
or \"counter\" (hotp), \"secret_bits\", and \"secret\" only with --reveal}";

const URI_CODE_AFTER: &str = "\
Examples:
  passcode uri code - < enrollment.txt
  passcode uri code --time 1700000000 'otpauth://totp/ACME:alice?secret=...'

JSON: {\"type\": \"totp\"|\"hotp\", \"code\", ...}: the object 'passcode totp --json' prints
for a totp URI, or 'passcode hotp --json' at the URI's counter for a hotp URI";

const SMS_AFTER: &str = "\
Examples:
  passcode sms
  passcode sms --digits 8 --json

Each digit is drawn from the operating system's cryptographic generator by
rejection sampling: a random byte below 250 gives the digit byte mod 10, and a
byte of 250 or more is drawn again, so every digit, and every code, is equally
likely (no modulo bias).

JSON: {\"code\", \"digits\"}";

/// The `passcode` command line.
#[derive(Debug, Parser)]
#[command(
    name = "passcode",
    version,
    about = ABOUT,
    after_help = MAIN_AFTER,
    propagate_version = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// Print one JSON object on standard output instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a secret; print it in base32, as an otpauth:// URI and as a QR code.
    #[command(after_help = NEW_AFTER)]
    New(NewArgs),
    /// Print the TOTP code for now or another time (RFC 6238).
    #[command(after_help = TOTP_AFTER)]
    Totp(TotpArgs),
    /// Print the HOTP code for a counter (RFC 4226).
    #[command(after_help = HOTP_AFTER)]
    Hotp(HotpArgs),
    /// Check a code: exit 0 when valid, 1 when not.
    #[command(after_help = VERIFY_AFTER)]
    Verify(VerifyArgs),
    /// Read otpauth:// key URIs.
    #[command(subcommand)]
    Uri(UriCommand),
    /// Print a random numeric code, for SMS or voice verification.
    #[command(after_help = SMS_AFTER)]
    Sms(SmsArgs),
    /// Print a shell's completion script, e.g. `passcode completions bash >
    /// /usr/share/bash-completion/completions/passcode`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `passcode manual | man -l -`.
    Manual,
}

/// The hash function under HMAC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum AlgorithmArg {
    /// HMAC-SHA-1, what nearly every authenticator app uses.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl From<AlgorithmArg> for passcode::Algorithm {
    fn from(algorithm: AlgorithmArg) -> Self {
        match algorithm {
            AlgorithmArg::Sha1 => Self::Sha1,
            AlgorithmArg::Sha256 => Self::Sha256,
            AlgorithmArg::Sha512 => Self::Sha512,
        }
    }
}

/// Where the secret comes from, and how it is written.
#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    /// The secret in base32 (or hex with --hex), or '-' to read it from standard input.
    /// Without it: --secret-file, then the PASSCODE_SECRET environment variable.
    #[arg(value_name = "SECRET")]
    pub(crate) secret: Option<String>,

    /// Read the secret from this file.
    #[arg(long, value_name = "PATH", conflicts_with = "secret")]
    pub(crate) secret_file: Option<PathBuf>,

    /// The secret is hexadecimal, not base32.
    #[arg(long)]
    pub(crate) hex: bool,

    /// Accept a legacy secret shorter than 128 bits (80 at least), with a warning.
    #[arg(long)]
    pub(crate) allow_short_secret: bool,
}

/// The parameters every code has.
#[derive(Debug, Args)]
pub(crate) struct CodeArgs {
    /// The HMAC hash function.
    #[arg(long, value_enum, ignore_case = true, default_value_t)]
    pub(crate) algorithm: AlgorithmArg,

    /// Digits per code, 6 to 10.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub(crate) digits: u8,
}

/// The TOTP clock.
#[derive(Debug, Args)]
pub(crate) struct ClockArgs {
    /// Seconds per time step.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) period: u64,

    /// Unix time at which step 0 begins.
    #[arg(long, value_name = "UNIX", default_value_t = 0)]
    pub(crate) t0: u64,

    /// Unix time to use instead of the system clock.
    #[arg(long, value_name = "UNIX")]
    pub(crate) time: Option<u64>,
}

/// `passcode new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The service the account belongs to, shown by authenticator apps.
    #[arg(long)]
    pub(crate) issuer: Option<String>,

    /// The account name [default: $USER, else "user"].
    #[arg(long)]
    pub(crate) account: Option<String>,

    #[command(flatten)]
    pub(crate) code: CodeArgs,

    /// Seconds per time step (TOTP).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30,
        conflicts_with = "hotp"
    )]
    pub(crate) period: u64,

    /// A counter-based (HOTP) secret instead of a time-based one.
    #[arg(long)]
    pub(crate) hotp: bool,

    /// The counter of the first HOTP code.
    #[arg(long, value_name = "C", default_value_t = 0, requires = "hotp")]
    pub(crate) counter: u64,

    /// Also write the QR code to this new PNG file ('-': to standard output, instead of the
    /// text).
    #[arg(long, value_name = "FILE")]
    pub(crate) qr_png: Option<PathBuf>,

    /// Also write the QR code to this new SVG file ('-': to standard output, instead of the
    /// text).
    #[arg(long, value_name = "FILE")]
    pub(crate) qr_svg: Option<PathBuf>,

    /// Replace an existing --qr-png or --qr-svg file (a regular file; never a symbolic link).
    #[arg(long)]
    pub(crate) force: bool,

    /// Do not draw the QR code on standard output.
    #[arg(long)]
    pub(crate) no_qr: bool,

    /// Draw dark modules instead of light ones (for light backgrounds, without colors).
    #[arg(long, conflicts_with = "no_qr")]
    pub(crate) qr_invert: bool,
}

/// `passcode totp`.
#[derive(Debug, Args)]
pub(crate) struct TotpArgs {
    #[command(flatten)]
    pub(crate) secret: SecretArgs,

    #[command(flatten)]
    pub(crate) code: CodeArgs,

    #[command(flatten)]
    pub(crate) clock: ClockArgs,

    /// Also print the codes of N steps before and after.
    #[arg(long, value_name = "N")]
    pub(crate) window: Option<u8>,

    /// Show the live code with a countdown bar, redrawn in place, until Ctrl-C.
    #[arg(long, conflicts_with_all = ["time", "window"])]
    pub(crate) watch: bool,
}

/// `passcode hotp`.
#[derive(Debug, Args)]
pub(crate) struct HotpArgs {
    #[command(flatten)]
    pub(crate) secret: SecretArgs,

    #[command(flatten)]
    pub(crate) code: CodeArgs,

    /// The counter.
    #[arg(long, value_name = "C")]
    pub(crate) counter: u64,

    /// Also print the codes of the next N counters (a verifier's look-ahead).
    #[arg(long, value_name = "N")]
    pub(crate) window: Option<u8>,
}

/// `passcode verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) secret: SecretArgs,

    /// The code to check.
    #[arg(long)]
    pub(crate) code: String,

    /// Check a TOTP code (the default).
    #[arg(long, conflicts_with = "hotp")]
    pub(crate) totp: bool,

    /// Check a HOTP code against --counter and the --ahead counters after it.
    #[arg(long, requires = "counter", conflicts_with_all = ["behind", "period", "t0", "time"])]
    pub(crate) hotp: bool,

    /// The HOTP counter stored for this credential.
    #[arg(long, value_name = "C", requires = "hotp")]
    pub(crate) counter: Option<u64>,

    /// Time steps accepted before the current one (TOTP), 0 to 20.
    #[arg(long, value_name = "B", default_value_t = 1)]
    pub(crate) behind: u8,

    /// Steps accepted after the current one (TOTP, 0 to 20) or counters after --counter (HOTP,
    /// 0 to 50).
    #[arg(long, value_name = "A", default_value_t = 1)]
    pub(crate) ahead: u16,

    #[command(flatten)]
    pub(crate) params: CodeArgs,

    #[command(flatten)]
    pub(crate) clock: ClockArgs,
}

/// `passcode uri`.
#[derive(Debug, Subcommand)]
pub(crate) enum UriCommand {
    /// Print the fields of a key URI (the secret only with --reveal).
    #[command(after_help = URI_SHOW_AFTER)]
    Show(UriShowArgs),
    /// Print the current code of a key URI.
    #[command(after_help = URI_CODE_AFTER)]
    Code(UriCodeArgs),
}

/// How to read a key URI.
#[derive(Debug, Args)]
pub(crate) struct UriArgs {
    /// The otpauth:// URI, or '-' to read it from standard input (it holds the secret:
    /// an argument stays in the shell's history).
    #[arg(value_name = "URI")]
    pub(crate) uri: String,

    /// Accept a legacy secret shorter than 128 bits (80 at least), with a warning.
    #[arg(long)]
    pub(crate) allow_short_secret: bool,

    /// Accept an issuer parameter that differs from the label's issuer (the parameter wins).
    #[arg(long)]
    pub(crate) allow_issuer_mismatch: bool,
}

/// `passcode uri show`.
#[derive(Debug, Args)]
pub(crate) struct UriShowArgs {
    #[command(flatten)]
    pub(crate) uri: UriArgs,

    /// Print the secret too.
    #[arg(long)]
    pub(crate) reveal: bool,
}

/// `passcode uri code`.
#[derive(Debug, Args)]
pub(crate) struct UriCodeArgs {
    #[command(flatten)]
    pub(crate) uri: UriArgs,

    /// Unix time to use instead of the system clock (totp URIs).
    #[arg(long, value_name = "UNIX")]
    pub(crate) time: Option<u64>,
}

/// `passcode sms`.
#[derive(Debug, Args)]
pub(crate) struct SmsArgs {
    /// Digits in the code, 4 to 10.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub(crate) digits: u8,
}
