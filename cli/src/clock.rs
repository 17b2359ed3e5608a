//! The time codes are made for: `--time` or the system clock, and its step.
//! Its own module, so that `codes` and `watch` both read it without
//! reading each other.

use std::time::{SystemTime, UNIX_EPOCH};

use passcode::{StepError, TotpConfig};

use crate::error::CliError;

/// `--time`, or else the system clock.
pub(crate) fn time_or_now(time: Option<u64>) -> Result<u64, CliError> {
    time.map_or_else(now, Ok)
}

/// The system clock in Unix seconds.
pub(crate) fn now() -> Result<u64, CliError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .map_err(|_| CliError::new(StepError::ClockBeforeUnixEpoch.to_string()))
}

/// The time step of `time` and the seconds left in it, or an error that
/// names both times.
pub(crate) fn step(config: TotpConfig, time: u64) -> Result<(u64, u64), CliError> {
    let explain = |e| match e {
        StepError::BeforeT0 => CliError::new(format!(
            "time {time} is before T0 {} (--t0): there is no time step yet",
            config.t0()
        )),
        e => CliError::new(format!("time {time}: {e}")),
    };
    let step = config.step(time).map_err(explain)?;
    let seconds_left = config.seconds_left(time).map_err(explain)?;
    Ok((step, seconds_left))
}
