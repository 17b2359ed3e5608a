//! `passcode new`: enrollment. A new secret, its key URI, and the URI as a
//! QR code for an authenticator app to scan.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use passcode::{Algorithm, HotpConfig, KeyUri, OtpKind, Period, Secret, TotpConfig, UriError};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::args::NewArgs;
use crate::codes::digits;
use crate::error::{CliError, Context as _};
use crate::output::{self, KindFields};
use crate::qr::{self, Style};

#[derive(Serialize)]
struct NewOutput<'a> {
    secret: &'a str,
    uri: &'a str,
    #[serde(flatten)]
    kind: KindFields,
    issuer: Option<&'a str>,
    account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_png: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_svg: Option<String>,
}

/// `passcode new`.
pub(crate) fn new(args: NewArgs, json: bool) -> Result<(), CliError> {
    check_qr_files(&args, json)?;
    let algorithm = Algorithm::from(args.code.algorithm);
    let digits = digits(args.code.digits)?;
    let kind = if args.hotp {
        let config = HotpConfig::new()
            .with_algorithm(algorithm)
            .with_digits(digits);
        OtpKind::Hotp {
            config,
            counter: args.counter,
        }
    } else {
        let period = Period::new(args.period).context(format_args!("--period {}", args.period))?;
        let config = TotpConfig::new()
            .with_algorithm(algorithm)
            .with_digits(digits)
            .with_period(period);
        OtpKind::Totp(config)
    };
    let account = args.account.clone().unwrap_or_else(default_account);
    // As long as the hash's output (RFC 4226 §4 recommends 160 bits for SHA-1).
    let secret = Secret::generate(&mut rand::rng(), algorithm);
    let uri = match &args.issuer {
        Some(issuer) => KeyUri::with_issuer(&secret, kind, issuer, &account),
        None => KeyUri::new(&secret, kind, &account),
    }
    .map_err(|e| uri_error(e, &args, &account))?;
    let uri = Zeroizing::new(uri.to_string());
    let base32 = Zeroizing::new(secret.to_base32().to_string());

    // An image for standard output is its only output.
    let mut to_stdout = None;
    if let Some(path) = &args.qr_png {
        let image = qr::png(&uri)?;
        if is_stdout(path) {
            to_stdout = Some(image);
        } else {
            qr::write_private(path, &image, args.force)?;
        }
    }
    if let Some(path) = &args.qr_svg {
        let image = qr::svg(&uri)?;
        if is_stdout(path) {
            to_stdout = Some(Zeroizing::new(image.as_bytes().to_vec()));
        } else {
            qr::write_private(path, image.as_bytes(), args.force)?;
        }
    }
    if let Some(image) = to_stdout {
        return output::bytes(&image);
    }
    let qr_png = args.qr_png.as_ref().map(|path| path.display().to_string());
    let qr_svg = args.qr_svg.as_ref().map(|path| path.display().to_string());

    if json {
        return output::json(&NewOutput {
            secret: &base32,
            uri: &uri,
            kind: kind.into(),
            issuer: args.issuer.as_deref(),
            account: &account,
            qr_png,
            qr_svg,
        });
    }
    let mut text = Zeroizing::new(format!("secret  {}\nuri     {}\n", *base32, *uri));
    for (label, path) in [("qr png", &qr_png), ("qr svg", &qr_svg)] {
        if let Some(path) = path {
            text.push_str(&format!("{label}  {path}\n"));
        }
    }
    if !args.no_qr {
        let style = if args.qr_invert {
            Style::DarkDrawn
        } else if std::io::stdout().is_terminal() && !no_color() {
            Style::Colored
        } else {
            Style::LightDrawn
        };
        text.push('\n');
        text.push_str(&qr::terminal(&uri, style)?);
    }
    output::text(&text)
}

/// `-` as a file name: standard output.
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Refuses, before anything is written, QR files that cannot all be
/// written: one path for both, an image and other output both on standard
/// output, a PNG on a terminal, or a file that must not be replaced.
fn check_qr_files(args: &NewArgs, json: bool) -> Result<(), CliError> {
    let files = [("--qr-png", &args.qr_png), ("--qr-svg", &args.qr_svg)];
    let files = files
        .into_iter()
        .filter_map(|(option, path)| Some((option, path.as_deref()?)));
    if let (Some(png), Some(svg)) = (&args.qr_png, &args.qr_svg) {
        if same_file(png, svg) {
            return Err(CliError::new(
                "--qr-png and --qr-svg name the same file: give each its own",
            ));
        }
    }
    for (option, path) in files {
        if !is_stdout(path) {
            qr::check_writable(path, args.force)?;
        } else if json {
            return Err(CliError::new(format!(
                "--json and {option} - both write to standard output: give {option} a file name"
            )));
        } else if option == "--qr-png" && std::io::stdout().is_terminal() {
            return Err(CliError::new(
                "--qr-png -: standard output is a terminal; redirect it to a file",
            ));
        }
    }
    Ok(())
}

/// Whether two file names name the same file: the same text, or the same
/// name in the same directory once the directory is resolved (`qr` and
/// `./qr`).
fn same_file(a: &Path, b: &Path) -> bool {
    let resolved = |path: &Path| -> Option<PathBuf> {
        if is_stdout(path) {
            return None;
        }
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        Some(parent.canonicalize().ok()?.join(path.file_name()?))
    };
    a == b || resolved(a).is_some_and(|a| Some(a) == resolved(b))
}

/// The login name, as `google-authenticator` labels its secrets.
fn default_account() -> String {
    ["USER", "USERNAME"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "user".to_owned())
}

/// `NO_COLOR` set to anything but the empty string (<https://no-color.org>).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

fn uri_error(e: UriError, args: &NewArgs, account: &str) -> CliError {
    match e {
        UriError::EmptyAccount | UriError::AmbiguousAccount if args.account.is_none() => {
            CliError::new(format!(
                "the default account name '{account}' cannot be used: {e}; give one with --account"
            ))
        }
        UriError::EmptyAccount => CliError::new(format!("--account: {e}")),
        UriError::AmbiguousAccount => {
            CliError::new(format!("--account '{account}': {e}; add --issuer"))
        }
        UriError::EmptyIssuer => CliError::new(format!("--issuer: {e}")),
        UriError::TooLong => CliError::new(format!("{e}: shorten --issuer or --account")),
        e => CliError::new(e.to_string()),
    }
}
