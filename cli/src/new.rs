//! `passcode new`: enrollment. A new secret, its key URI, and the URI as a
//! QR code for an authenticator app to scan.

use std::io::IsTerminal as _;

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

    if let Some(path) = &args.qr_png {
        qr::png(&uri, path)?;
    }
    if let Some(path) = &args.qr_svg {
        qr::svg(&uri, path)?;
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
