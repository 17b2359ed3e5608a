//! `passcode verify`: exit 0 for a valid code, 1 for an invalid one.

use passcode::{Hotp, LookAhead, Totp, VerifyError, Window};
use serde::Serialize;

use crate::args::VerifyArgs;
use crate::clock;
use crate::codes::{hotp_config, totp_config};
use crate::error::{CliError, Context as _};
use crate::{output, secret};

/// Whether the code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Valid,
    Invalid,
}

#[derive(Serialize)]
struct VerifyOutput {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counter: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drift: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_counter: Option<u64>,
}

const INVALID: VerifyOutput = VerifyOutput {
    valid: false,
    step: None,
    counter: None,
    drift: None,
    next_counter: None,
};

/// `passcode verify`.
pub(crate) fn verify(args: VerifyArgs, json: bool) -> Result<Verdict, CliError> {
    match args.counter {
        Some(counter) if args.hotp => verify_hotp(args, counter, json),
        _ => verify_totp(args, json),
    }
}

fn verify_totp(args: VerifyArgs, json: bool) -> Result<Verdict, CliError> {
    let config = totp_config(&args.params, &args.clock)?;
    let ahead = u8::try_from(args.ahead).unwrap_or(u8::MAX);
    let window = Window::new(args.behind, ahead).context(format_args!(
        "--behind {} --ahead {}",
        args.behind, args.ahead
    ))?;
    let time = clock::time_or_now(args.clock.time)?;
    // A time before T0 is reported as such, before the secret is read.
    clock::step(config, time)?;
    let secret = secret::read(args.secret)?;
    let totp = Totp::new(&secret, config).context("cannot use the secret")?;
    let result = totp.verify(&args.code, time, window);
    let matched = match result {
        Ok(matched) => matched,
        Err(VerifyError::Invalid) => return invalid(json),
        Err(e) => {
            let window = format!(
                "--behind {} --ahead {} at time {time}",
                args.behind, args.ahead
            );
            return Err(verify_error(e, &window));
        }
    };
    if json {
        output::json(&VerifyOutput {
            step: Some(matched.step),
            drift: Some(matched.drift),
            ..VALID
        })?;
    } else {
        output::text(&format!(
            "valid: step {} (drift {})\n",
            matched.step,
            output::signed(matched.drift)
        ))?;
    }
    Ok(Verdict::Valid)
}

fn verify_hotp(args: VerifyArgs, counter: u64, json: bool) -> Result<Verdict, CliError> {
    let config = hotp_config(&args.params)?;
    let look_ahead = LookAhead::new(args.ahead).context(format_args!("--ahead {}", args.ahead))?;
    let secret = secret::read(args.secret)?;
    let hotp = Hotp::new(&secret, config).context("cannot use the secret")?;
    let matched = match hotp.verify(&args.code, counter, look_ahead) {
        Ok(matched) => matched,
        Err(VerifyError::Invalid) => return invalid(json),
        Err(e) => {
            let window = format!("--counter {counter} --ahead {}", args.ahead);
            return Err(verify_error(e, &window));
        }
    };
    // Never negative: HOTP looks ahead only.
    let drift = i64::try_from(matched.counter.saturating_sub(counter)).unwrap_or(i64::MAX);
    if json {
        output::json(&VerifyOutput {
            counter: Some(matched.counter),
            drift: Some(drift),
            next_counter: Some(matched.next_counter),
            ..VALID
        })?;
    } else {
        output::text(&format!(
            "valid: counter {} (drift {}), next counter {}\n",
            matched.counter,
            output::signed(drift),
            matched.next_counter
        ))?;
    }
    Ok(Verdict::Valid)
}

const VALID: VerifyOutput = VerifyOutput {
    valid: true,
    ..INVALID
};

fn invalid(json: bool) -> Result<Verdict, CliError> {
    if json {
        output::json(&INVALID)?;
    } else {
        output::text("invalid\n")?;
    }
    Ok(Verdict::Invalid)
}

/// Errors other than "invalid": a malformed code or a window that does not
/// fit. Input errors, exit status 2.
/// `window` names the options that placed the window.
fn verify_error(e: VerifyError, window: &str) -> CliError {
    match e {
        VerifyError::Malformed(e) => CliError::new(format!("--code: {e}")),
        VerifyError::OutOfRange(e) => {
            CliError::new(format!("cannot place the window ({window}): {e}"))
        }
        e => CliError::new(e.to_string()),
    }
}
