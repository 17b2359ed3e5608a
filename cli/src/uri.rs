//! `passcode uri show` and `passcode uri code`: read an `otpauth://` key URI.

use passcode::{Hotp, MinLength, OtpKind, ParsedKeyUri, SecretError, Totp, UriError, UriOptions};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::args::{UriArgs, UriCodeArgs, UriShowArgs};
use crate::clock;
use crate::codes::{print_hotp, print_totp};
use crate::error::{CliError, Context as _};
use crate::output::{self, KindFields};
use crate::secret::{self, Source};

#[derive(Serialize)]
struct UriOutput<'a> {
    #[serde(flatten)]
    kind: KindFields,
    issuer: Option<String>,
    account: String,
    secret_bits: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

/// `passcode uri show`.
pub(crate) fn show(args: UriShowArgs, json: bool) -> Result<(), CliError> {
    let (text, source) = read(&args.uri)?;
    let uri = parse(&text, &args.uri, &source)?;
    // A key longer than 128 bytes is kept only as its hashes: nothing to show.
    let revealed = match args.reveal {
        true => Some(Zeroizing::new(
            uri.secret()
                .try_to_base32()
                .map_err(|e| CliError::new(format!("--reveal: {e}")))?
                .to_string(),
        )),
        false => None,
    };
    let fields = UriOutput {
        kind: uri.kind().into(),
        issuer: uri.issuer().map(|issuer| issuer.to_string()),
        account: uri.account().to_string(),
        secret_bits: uri.secret().key_len().saturating_mul(8),
        secret: revealed.as_ref().map(|secret| secret.as_str()),
    };
    if json {
        return output::json(&fields);
    }
    let kind = &fields.kind;
    let mut lines = vec![("type", kind.r#type.to_owned())];
    if let Some(issuer) = &fields.issuer {
        lines.push(("issuer", printable(issuer)));
    }
    lines.push(("account", printable(&fields.account)));
    lines.push(("algorithm", kind.algorithm.to_owned()));
    lines.push(("digits", kind.digits.to_string()));
    if let Some(period) = kind.period {
        lines.push(("period", format!("{period} seconds")));
    }
    if let Some(counter) = kind.counter {
        lines.push(("counter", counter.to_string()));
    }
    let mut text = Zeroizing::new(String::new());
    for (name, value) in lines {
        text.push_str(&format!("{name:<10} {value}\n"));
    }
    match &fields.secret {
        Some(secret) => text.push_str(&format!("{:<10} {secret}\n", "secret")),
        None => text.push_str(&format!(
            "{:<10} hidden, {} bits (--reveal shows it)\n",
            "secret", fields.secret_bits
        )),
    }
    output::text(&text)
}

/// `passcode uri code`.
pub(crate) fn code(args: UriCodeArgs, json: bool) -> Result<(), CliError> {
    let (text, source) = read(&args.uri)?;
    let uri = parse(&text, &args.uri, &source)?;
    match uri.kind() {
        OtpKind::Totp(config) => {
            let totp = Totp::new(uri.secret(), config).context("cannot use the secret")?;
            let time = clock::time_or_now(args.time)?;
            print_totp(&totp, time, None, json)
        }
        OtpKind::Hotp { config, counter } => {
            if args.time.is_some() {
                return Err(CliError::new(
                    "--time applies to totp URIs, and this is a hotp URI: its code is the \
                     one of its counter",
                ));
            }
            let hotp = Hotp::new(uri.secret(), config).context("cannot use the secret")?;
            print_hotp(&hotp, counter, None, json)
        }
    }
}

/// The URI text: the argument, or standard input for `-`.
fn read(args: &UriArgs) -> Result<(Zeroizing<String>, Source), CliError> {
    if args.uri == "-" {
        Ok((secret::read_stdin("key URI: ")?, Source::Stdin))
    } else {
        Ok((Zeroizing::new(args.uri.clone()), Source::Argument("URI")))
    }
}

fn parse<'a>(text: &'a str, args: &UriArgs, source: &Source) -> Result<ParsedKeyUri<'a>, CliError> {
    let min = if args.allow_short_secret {
        MinLength::Bits80
    } else {
        MinLength::Bits128
    };
    let options = UriOptions::new()
        .with_min_length(min)
        .with_issuer_mismatch_allowed(args.allow_issuer_mismatch);
    let uri = ParsedKeyUri::parse_with(text.trim(), options).map_err(|e| match e {
        UriError::Secret(e @ SecretError::TooShort { .. }) => secret::secret_error(e, source),
        UriError::IssuerMismatch => CliError::new(format!(
            "invalid key URI in {source}: {e}; accept it with --allow-issuer-mismatch"
        )),
        e => CliError::new(format!("invalid key URI in {source}: {e}")),
    })?;
    secret::warn_if_short(uri.secret(), source);
    Ok(uri)
}

/// Text from a URI made safe for a terminal: control characters, which
/// could move the cursor or recolor the screen, are shown escaped.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_escapes_control_characters_only() {
        assert_eq!(super::printable("Café: a@b"), "Café: a@b");
        assert_eq!(super::printable("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(super::printable("\u{9b}"), "\\u{9b}");
    }
}
