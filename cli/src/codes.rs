//! `passcode totp` and `passcode hotp`: print a code, or the codes around it.

use passcode::{Digits, Hotp, HotpConfig, Period, Totp, TotpConfig};
use serde::Serialize;

use crate::args::{ClockArgs, CodeArgs, HotpArgs, TotpArgs};
use crate::clock::{step, time_or_now};
use crate::error::{CliError, Context as _};
use crate::{output, secret, watch};

/// `passcode totp`.
pub(crate) fn totp(args: TotpArgs, json: bool) -> Result<(), CliError> {
    if args.watch && json {
        return Err(CliError::new(
            "--watch redraws a terminal line and cannot print JSON: use --json without --watch",
        ));
    }
    if args.watch {
        // Refused before the secret is read: a script gets the error at once.
        watch::require_terminal()?;
    }
    let config = totp_config(&args.code, &args.clock)?;
    let secret = secret::read(args.secret)?;
    let totp = Totp::new(&secret, config).context("cannot use the secret")?;
    if args.watch {
        return watch::run(&totp);
    }
    let time = time_or_now(args.clock.time)?;
    print_totp(&totp, time, args.window, json)
}

/// `passcode hotp`.
pub(crate) fn hotp(args: HotpArgs, json: bool) -> Result<(), CliError> {
    let config = hotp_config(&args.code)?;
    let secret = secret::read(args.secret)?;
    let hotp = Hotp::new(&secret, config).context("cannot use the secret")?;
    print_hotp(&hotp, args.counter, args.window, json)
}

/// The TOTP configuration of the options, each checked by the library.
pub(crate) fn totp_config(code: &CodeArgs, clock: &ClockArgs) -> Result<TotpConfig, CliError> {
    let period = Period::new(clock.period).context(format_args!("--period {}", clock.period))?;
    Ok(TotpConfig::new()
        .with_algorithm(code.algorithm.into())
        .with_digits(digits(code.digits)?)
        .with_period(period)
        .with_t0(clock.t0))
}

/// The HOTP configuration of the options.
pub(crate) fn hotp_config(code: &CodeArgs) -> Result<HotpConfig, CliError> {
    Ok(HotpConfig::new()
        .with_algorithm(code.algorithm.into())
        .with_digits(digits(code.digits)?))
}

pub(crate) fn digits(digits: u8) -> Result<Digits, CliError> {
    Digits::new(digits).context(format_args!("--digits {digits}"))
}

/// `a - b` for numbers at most a window apart.
fn offset(a: u64, b: u64) -> i64 {
    i64::try_from(i128::from(a) - i128::from(b)).unwrap_or(0)
}

#[derive(Serialize)]
struct TotpOutput<'a> {
    r#type: &'static str,
    code: &'a str,
    step: u64,
    time: u64,
    seconds_left: u64,
    algorithm: &'static str,
    digits: u8,
    period: u64,
    t0: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    codes: Option<Vec<StepCode>>,
}

#[derive(Serialize)]
struct StepCode {
    offset: i64,
    step: u64,
    code: String,
}

/// Prints the code at `time`, and with `window` the codes of the steps
/// around it (those that exist: none below step 0).
pub(crate) fn print_totp(
    totp: &Totp,
    time: u64,
    window: Option<u8>,
    json: bool,
) -> Result<(), CliError> {
    let config = totp.config();
    let (now, seconds_left) = step(config, time)?;
    let code = totp.generate_step(now);
    let period = config.period().seconds();
    let codes = window.map(|n| {
        let n = u64::from(n);
        (now.saturating_sub(n)..=now.saturating_add(n))
            .map(|step| StepCode {
                offset: offset(step, now),
                step,
                code: totp.generate_step(step).to_string(),
            })
            .collect::<Vec<_>>()
    });
    if json {
        return output::json(&TotpOutput {
            r#type: "totp",
            code: code.as_str(),
            step: now,
            time,
            seconds_left,
            algorithm: config.algorithm().name(),
            digits: config.digits().get(),
            period,
            t0: config.t0(),
            codes,
        });
    }
    match codes {
        None => output::text(&format!("{code}\n")),
        Some(codes) => output::text(&table(
            codes
                .iter()
                .map(|c| (c.offset, c.step, c.code.as_str(), c.offset == 0)),
            "step",
        )),
    }
}

#[derive(Serialize)]
struct HotpOutput<'a> {
    r#type: &'static str,
    code: &'a str,
    counter: u64,
    algorithm: &'static str,
    digits: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    codes: Option<Vec<CounterCode>>,
}

#[derive(Serialize)]
struct CounterCode {
    offset: i64,
    counter: u64,
    code: String,
}

/// Prints the code of `counter`, and with `window` the codes of the
/// counters after it: the look-ahead a verifier accepts (RFC 4226 §7.4).
pub(crate) fn print_hotp(
    hotp: &Hotp,
    counter: u64,
    window: Option<u8>,
    json: bool,
) -> Result<(), CliError> {
    let config = hotp.config();
    let code = hotp.generate(counter);
    let codes = window.map(|n| {
        (counter..=counter.saturating_add(u64::from(n)))
            .map(|c| CounterCode {
                offset: offset(c, counter),
                counter: c,
                code: hotp.generate(c).to_string(),
            })
            .collect::<Vec<_>>()
    });
    if json {
        return output::json(&HotpOutput {
            r#type: "hotp",
            code: code.as_str(),
            counter,
            algorithm: config.algorithm().name(),
            digits: config.digits().get(),
            codes,
        });
    }
    match codes {
        None => output::text(&format!("{code}\n")),
        Some(codes) => output::text(&table(
            codes
                .iter()
                .map(|c| (c.offset, c.counter, c.code.as_str(), c.offset == 0)),
            "counter",
        )),
    }
}

/// One line per code: offset, step or counter, code, and a mark on the
/// current one.
fn table<'a>(rows: impl Iterator<Item = (i64, u64, &'a str, bool)>, what: &str) -> String {
    rows.map(|(offset, number, code, current)| {
        let mark = if current { "  <- current" } else { "" };
        format!(
            "{:>3}  {what} {number}  {code}{mark}\n",
            output::signed(offset)
        )
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_offsets_and_marks_the_current_code() {
        let rows = [(-1, 9, "111111", false), (0, 10, "222222", true)];
        assert_eq!(
            table(rows.into_iter(), "step"),
            " -1  step 9  111111\n  0  step 10  222222  <- current\n"
        );
    }

    #[test]
    fn offset_is_signed() {
        assert_eq!(offset(3, 5), -2);
        assert_eq!(offset(5, 3), 2);
        assert_eq!(offset(u64::MAX, u64::MAX - 20), 20);
    }
}
