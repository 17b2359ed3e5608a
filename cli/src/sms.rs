//! `passcode sms`: a uniformly random numeric code.
//!
//! A bare code needs no key: the library's `SmsVerifier` derives codes from
//! an application key to check them later, which this one-shot print does
//! not do.

use passcode::SmsPolicy;
use rand::RngExt as _;
use serde::Serialize;

use crate::args::SmsArgs;
use crate::error::{CliError, Context as _};
use crate::output;

#[derive(Serialize)]
struct SmsOutput<'a> {
    code: &'a str,
    digits: u8,
}

/// `passcode sms`.
pub(crate) fn sms(args: SmsArgs, json: bool) -> Result<(), CliError> {
    // The library's policy holds the rule for SMS code lengths (4 to 10).
    let policy = SmsPolicy::new()
        .with_digits(args.digits)
        .context(format_args!("--digits {}", args.digits))?;
    let mut rng = rand::rng();
    let code = random_code(policy.digits(), || rng.random::<u8>());
    if json {
        output::json(&SmsOutput {
            code: &code,
            digits: policy.digits(),
        })
    } else {
        output::text(&format!("{code}\n"))
    }
}

/// `digits` decimal digits, each uniform if `random_byte` is.
///
/// Rejection sampling: a byte below 250 gives the digit `byte % 10`, each
/// digit from exactly 25 of those 250 bytes; a byte from 250 to 255 would
/// favour the digits 0 to 5 and is drawn again (6 times in 256). Independent
/// uniform digits make every code equally likely.
fn random_code(digits: u8, mut random_byte: impl FnMut() -> u8) -> String {
    (0..digits)
        .map(|_| {
            loop {
                let byte = random_byte();
                if byte < 250 {
                    break char::from(b'0' + byte % 10);
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_from_250_up_are_drawn_again() {
        let mut bytes = [250, 255, 3, 249, 251, 120].into_iter();
        let code = random_code(3, || bytes.next().unwrap());
        assert_eq!(code, "390");
        assert_eq!(bytes.next(), None);
    }

    #[test]
    fn every_accepted_byte_maps_to_a_digit_equally_often() {
        let mut counts = [0u32; 10];
        for byte in 0..250u8 {
            let code = random_code(1, || byte);
            counts[usize::from(code.as_bytes()[0] - b'0')] += 1;
        }
        assert_eq!(counts, [25; 10]);
    }

    #[test]
    fn codes_have_the_requested_length() {
        let mut rng = rand::rng();
        for digits in 4..=10 {
            let code = random_code(digits, || rng.random::<u8>());
            assert_eq!(code.len(), usize::from(digits));
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
