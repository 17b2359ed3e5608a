//! `passcode sms`: a uniformly random numeric code.
//!
//! A bare code needs no key: the library's `SmsVerifier` derives codes from
//! an application key to check them later, which this one-shot print does
//! not do. `Code::random` draws the digits by rejection sampling, so every
//! code is equally likely.

use passcode::Code;
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
    let code = Code::random(&mut rand::rng(), args.digits)
        .context(format_args!("--digits {}", args.digits))?;
    if json {
        output::json(&SmsOutput {
            code: code.as_str(),
            digits: args.digits,
        })
    } else {
        output::text(&format!("{code}\n"))
    }
}
