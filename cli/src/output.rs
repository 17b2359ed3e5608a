//! Standard output: text or one JSON object, and nothing else. A closed
//! pipe (`passcode totp --window 3 | head -1`) is not an error: the reader
//! has what it wanted.

use std::io::{self, Write as _};

use passcode::OtpKind;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::CliError;

/// Writes `text` to standard output as it is.
pub(crate) fn text(text: &str) -> Result<(), CliError> {
    bytes(text.as_bytes())
}

/// Writes `bytes` (an image, say) to standard output as they are.
pub(crate) fn bytes(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    let written = stdout.write_all(bytes).and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::new(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

/// Writes `value` as one line of JSON, the one object of this run.
pub(crate) fn json(value: &impl Serialize) -> Result<(), CliError> {
    // Some objects hold a secret (`new`, `uri show --reveal`).
    let mut line = Zeroizing::new(
        serde_json::to_string(value)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?,
    );
    line.push('\n');
    text(&line)
}

/// A signed offset or drift as people write it: `-1`, `0`, `+2`.
pub(crate) fn signed(value: i64) -> String {
    if value > 0 {
        format!("+{value}")
    } else {
        value.to_string()
    }
}

/// What a key URI's kind says, as `new` and `uri show` print it.
#[derive(Serialize)]
pub(crate) struct KindFields {
    pub(crate) r#type: &'static str,
    pub(crate) algorithm: &'static str,
    pub(crate) digits: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) counter: Option<u64>,
}

impl From<OtpKind> for KindFields {
    fn from(kind: OtpKind) -> Self {
        match kind {
            OtpKind::Totp(config) => Self {
                r#type: "totp",
                algorithm: config.algorithm().name(),
                digits: config.digits().get(),
                period: Some(config.period().seconds()),
                counter: None,
            },
            OtpKind::Hotp { config, counter } => Self {
                r#type: "hotp",
                algorithm: config.algorithm().name(),
                digits: config.digits().get(),
                period: None,
                counter: Some(counter),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signed_shows_the_sign_of_nonzero_values() {
        assert_eq!(super::signed(-1), "-1");
        assert_eq!(super::signed(0), "0");
        assert_eq!(super::signed(2), "+2");
    }
}
