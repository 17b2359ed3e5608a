//! Reading the secret so that it stays out of shell history: from the
//! argument, a file, the environment or standard input, in that order, with
//! every copy of its text wiped after use.

use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal as _, Read};
use std::path::{Path, PathBuf};

use passcode::{MinLength, Secret, SecretError};
use zeroize::Zeroizing;

use crate::args::SecretArgs;
use crate::error::CliError;

/// The environment variable a secret is read from.
pub(crate) const ENV_VAR: &str = "PASSCODE_SECRET";

/// The most text read from a file or standard input. A 128-byte secret
/// takes 256 hex digits; a little room for spaces and line breaks is ample,
/// and reading stops well before a mistaken device or huge file fills memory.
const MAX_INPUT: u64 = 4096;

/// Where a secret or key URI came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Argument(&'static str),
    File(PathBuf),
    Environment,
    Stdin,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Argument(name) => write!(f, "the {name} argument"),
            Self::File(path) => write!(f, "the file '{}'", path.display()),
            Self::Environment => write!(f, "the {ENV_VAR} environment variable"),
            Self::Stdin => f.write_str("standard input"),
        }
    }
}

/// The secret the arguments point to, checked by the library.
pub(crate) fn read(args: SecretArgs) -> Result<Secret, CliError> {
    let SecretArgs {
        secret,
        secret_file,
        hex,
        allow_short_secret,
    } = args;
    let secret = secret.map(Zeroizing::new);
    let (text, source) = match (secret, secret_file) {
        (Some(arg), _) if arg.as_str() == "-" => (read_stdin("secret: ")?, Source::Stdin),
        (Some(arg), _) => (arg, Source::Argument("SECRET")),
        (None, Some(path)) => (read_file(&path)?, Source::File(path)),
        (None, None) => match std::env::var_os(ENV_VAR) {
            Some(value) => {
                let value = value.into_string().map_err(|_| {
                    CliError::new(format!(
                        "invalid secret in {}: not UTF-8",
                        Source::Environment
                    ))
                })?;
                (Zeroizing::new(value), Source::Environment)
            }
            None => {
                return Err(CliError::new(format!(
                    "no secret given: pass it as the SECRET argument, with --secret-file PATH, \
                     in the {ENV_VAR} environment variable, or as '-' to read standard input"
                )));
            }
        },
    };
    decode(&text, hex, allow_short_secret, &source)
}

/// Decodes secret text from `source`: base32 (case, spaces, line breaks and
/// `=` padding ignored) or hex. Warns on stderr when a short secret is let in.
pub(crate) fn decode(
    text: &str,
    hex: bool,
    allow_short_secret: bool,
    source: &Source,
) -> Result<Secret, CliError> {
    let min = if allow_short_secret {
        MinLength::Bits80
    } else {
        MinLength::Bits128
    };
    // Only ASCII whitespace is dropped; anything else reaches the decoder,
    // which refuses it.
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    // A whole key URI where a secret belongs is a common slip (it is what
    // `passcode new` prints); say so rather than "not base32".
    if compact
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("otpauth:"))
    {
        let how = match source {
            Source::File(path) => format!(
                "`passcode uri code - < '{0}'` prints its code, `passcode uri show - < '{0}'` \
                 its fields",
                path.display()
            ),
            _ => "give it to `passcode uri code -` (its code) or `passcode uri show -` (its \
                  fields) on standard input"
                .to_owned(),
        };
        return Err(CliError::new(format!(
            "{source} holds a key URI (otpauth://...), not a secret: {how}"
        )));
    }
    let secret = if hex {
        let bytes = decode_hex(&compact).ok_or_else(|| {
            CliError::new(format!(
                "invalid secret in {source}: not hexadecimal (two digits 0-9, a-f per byte)"
            ))
        })?;
        Secret::from_bytes_with_min(&bytes, min)
    } else {
        Secret::from_base32_with_min(&compact, min)
    }
    .map_err(|e| secret_error(e, source))?;
    warn_if_short(&secret, source);
    Ok(secret)
}

/// A warning on stderr for a secret below 128 bits, which only
/// `--allow-short-secret` lets through.
pub(crate) fn warn_if_short(secret: &Secret, source: &Source) {
    let bits = secret.key_len().saturating_mul(8);
    if bits < 128 {
        crate::error::eprint_line(&format!(
            "warning: the secret in {source} has only {bits} bits, fewer than the 128 RFC 4226 \
             requires; used because of --allow-short-secret"
        ));
    }
}

/// The message for a refused secret: its source and the library's reason.
pub(crate) fn secret_error(e: SecretError, source: &Source) -> CliError {
    match e {
        SecretError::TooShort { min_bits: 128 } => CliError::new(format!(
            "invalid secret in {source}: {e} (RFC 4226 §4); a legacy secret of at least 80 \
             bits is accepted with --allow-short-secret"
        )),
        e => CliError::new(format!("invalid secret in {source}: {e}")),
    }
}

/// Hex digits, two per byte, in either case; `None` for anything else.
fn decode_hex(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks_exact(2) {
        let [high, low] = pair else { return None };
        let high = char::from(*high).to_digit(16)?;
        let low = char::from(*low).to_digit(16)?;
        bytes.push(u8::try_from(high << 4 | low).ok()?);
    }
    Some(bytes)
}

/// All of standard input, or one line typed without echo when it is a
/// terminal (a secret typed on screen is as exposed as one in history).
pub(crate) fn read_stdin(prompt: &str) -> Result<Zeroizing<String>, CliError> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return crate::signals::prompt_hidden(prompt)
            .map(Zeroizing::new)
            .map_err(|e| CliError::new(format!("cannot read {}: {e}", Source::Stdin)));
    }
    read_bounded(stdin.lock(), &Source::Stdin)
}

fn read_file(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let source = Source::File(path.to_owned());
    let file = File::open(path).map_err(|e| CliError::new(format!("cannot read {source}: {e}")))?;
    read_bounded(file, &source)
}

/// Reads at most [`MAX_INPUT`] bytes of UTF-8 text.
fn read_bounded(reader: impl Read, source: &Source) -> Result<Zeroizing<String>, CliError> {
    let mut bytes = Zeroizing::new(Vec::new());
    reader
        .take(MAX_INPUT.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read {source}: {e}")))?;
    if u64::try_from(bytes.len()).map_or(true, |len| len > MAX_INPUT) {
        return Err(CliError::new(format!(
            "{source} holds more than {MAX_INPUT} bytes: expected a secret or a key URI"
        )));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::new(format!("{source} is not UTF-8 text")))?;
    Ok(Zeroizing::new(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_both_cases_and_refuses_the_rest() {
        assert_eq!(decode_hex("00ffA0").unwrap().as_slice(), &[0, 255, 160]);
        assert_eq!(decode_hex("").unwrap().as_slice(), &[] as &[u8]);
        assert!(decode_hex("abc").is_none());
        assert!(decode_hex("0g").is_none());
        assert!(decode_hex("+1").is_none());
        assert!(decode_hex("é0").is_none());
    }

    #[test]
    fn base32_is_lenient_about_case_spaces_lines_and_padding() {
        let source = Source::Argument("SECRET");
        let expected = Secret::from_bytes(b"12345678901234567890").unwrap();
        for text in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq\n",
            "gezd gnbv gy3t qojq\r\n\tgezd gnbv gy3t qojq",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====",
        ] {
            assert_eq!(decode(text, false, false, &source).unwrap(), expected);
        }
        let hex = "3132333435363738393031323334353637383930";
        assert_eq!(decode(hex, true, false, &source).unwrap(), expected);
    }

    #[test]
    fn short_secrets_need_the_flag_and_name_it() {
        let source = Source::Environment;
        let error = decode("JBSWY3DPEHPK3PXP", false, false, &source).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("--allow-short-secret"), "{message}");
        assert!(message.contains(ENV_VAR), "{message}");
        assert!(!message.contains("JBSWY3DPEHPK3PXP"));
        assert!(decode("JBSWY3DPEHPK3PXP", false, true, &source).is_ok());
        // Below 80 bits nothing helps.
        let error = decode("JBSWY3DP", false, true, &source).unwrap_err();
        assert!(error.to_string().contains("80 bits"), "{error}");
    }

    #[test]
    fn refused_secrets_are_never_echoed() {
        let source = Source::File(PathBuf::from("key.txt"));
        for (text, hex) in [("NOT*BASE32SECRET", false), ("zz11zz11zz11zz11", true)] {
            let message = decode(text, hex, false, &source).unwrap_err().to_string();
            assert!(message.contains("'key.txt'"), "{message}");
            assert!(!message.contains(text), "{message}");
        }
    }
}
