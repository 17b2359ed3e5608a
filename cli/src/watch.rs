//! `passcode totp --watch`: the live code and a countdown bar, redrawn in
//! place on one terminal line until Ctrl-C.

use std::io::{self, IsTerminal as _, Write as _};
use std::sync::atomic::Ordering;
use std::time::Duration;

use passcode::Totp;

use crate::clock;
use crate::error::CliError;
use crate::signals;

/// Cells in the countdown bar.
const BAR_WIDTH: u64 = 30;
/// How often the line is redrawn and Ctrl-C is noticed.
const TICK: Duration = Duration::from_millis(200);

const HIDE_CURSOR: &str = "\x1b[?25l";
const SHOW_CURSOR: &str = "\x1b[?25h";
/// Back to the start of the line, and clear it.
const REDRAW: &str = "\r\x1b[2K";

/// Refuses to run without a terminal: redrawing makes no sense in a file or
/// a pipe, and a script wants `passcode totp` without `--watch`.
pub(crate) fn require_terminal() -> Result<(), CliError> {
    if io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(CliError::new(
            "--watch needs a terminal on standard output, to redraw the code in place; \
             in a script or pipe, use 'passcode totp' without --watch",
        ))
    }
}

/// One frame: the code, a bar of the time left in its step, and the
/// seconds left, e.g. `287082  ██████████░░░░░  12s`.
pub(crate) fn frame(code: &str, seconds_left: u64, period: u64, width: u64) -> String {
    // Rounded up, so the bar empties only as the step ends.
    let full = u128::from(seconds_left.min(period)) * u128::from(width);
    let filled = full.div_ceil(u128::from(period.max(1)));
    let filled = u64::try_from(filled).unwrap_or(width).min(width);
    let bar: String = (0..width)
        .map(|cell| if cell < filled { '█' } else { '░' })
        .collect();
    format!("{code}  {bar} {seconds_left:>3}s")
}

/// The frame for a terminal `columns` wide: the bar narrows to fit, and
/// what still does not fit is cut off. The line stays short of the last
/// column: a line that reaches it wraps on some terminals, and `\r` then
/// redraws only the last row, so each tick would leave a stale copy above.
pub(crate) fn fitted_frame(code: &str, seconds_left: u64, period: u64, columns: u16) -> String {
    let room = usize::from(columns).saturating_sub(1);
    let without_bar = frame(code, seconds_left, period, 0).chars().count();
    let bar = room.saturating_sub(without_bar);
    let bar = u64::try_from(bar).map_or(BAR_WIDTH, |bar| bar.min(BAR_WIDTH));
    let line: String = frame(code, seconds_left, period, bar)
        .chars()
        .take(room)
        .collect();
    line.trim_end().to_owned()
}

/// The terminal's width in columns, read at every tick so that a resized
/// window is followed; 80 when it cannot be read.
fn columns() -> u16 {
    terminal_size::terminal_size().map_or(80, |(terminal_size::Width(width), _)| width)
}

/// Restores the cursor and ends the line however the loop ends.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let mut stdout = io::stdout().lock();
        // Nothing more can be done if the terminal is gone.
        let _ = writeln!(stdout, "{SHOW_CURSOR}");
        let _ = stdout.flush();
    }
}

/// Redraws until Ctrl-C (or SIGTERM), then restores the terminal; exit 0.
/// The caller has checked [`require_terminal`] before reading the secret.
pub(crate) fn run(totp: &Totp) -> Result<(), CliError> {
    let stop = signals::stop_flag()?;
    let config = totp.config();
    let period = config.period().seconds();
    let draw = |text: &str| -> Result<(), CliError> {
        let mut stdout = io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::new(format!("cannot write to the terminal: {e}")))
    };
    draw(HIDE_CURSOR)?;
    let _restore = Restore;
    while !stop.load(Ordering::SeqCst) {
        let time = clock::now()?;
        let (step, seconds_left) = clock::step(config, time)?;
        let code = totp.generate_step(step);
        draw(&format!(
            "{REDRAW}{}",
            fitted_frame(code.as_str(), seconds_left, period, columns())
        ))?;
        std::thread::sleep(TICK);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{BAR_WIDTH, fitted_frame, frame};

    /// A line as wide as the terminal or wider wraps, and `\r` then redraws
    /// only its last row: every tick would leave a stale copy above.
    #[test]
    fn a_narrow_terminal_gets_a_line_that_does_not_wrap() {
        for columns in 0..=120_u16 {
            for (code, left, period) in [
                ("287082", 12, 30),
                ("0123456789", 59, 60),
                ("123456", 30, 30),
            ] {
                let line = fitted_frame(code, left, period, columns);
                let width = line.chars().count();
                assert!(width < usize::from(columns).max(1), "{columns}: {line:?}");
                assert!(line.chars().all(|c| !c.is_control()), "{line:?}");
                // The code is cut last: it stays whole while it fits.
                if usize::from(columns) > code.len() {
                    assert!(line.starts_with(code), "{columns}: {line:?}");
                }
            }
        }
        // Wide terminals get the whole frame; the bar shrinks first.
        assert_eq!(
            fitted_frame("287082", 15, 30, 80),
            frame("287082", 15, 30, BAR_WIDTH)
        );
        assert_eq!(fitted_frame("287082", 15, 30, 20), "287082  ███░░░  15s");
        assert_eq!(fitted_frame("287082", 15, 30, 14), "287082    15s");
        assert_eq!(fitted_frame("287082", 15, 30, 8), "287082");
        assert_eq!(fitted_frame("287082", 15, 30, 4), "287");
    }

    #[test]
    fn a_full_step_fills_the_bar() {
        assert_eq!(frame("287082", 30, 30, 10), "287082  ██████████  30s");
    }

    #[test]
    fn the_bar_shrinks_with_the_time_left_rounded_up() {
        assert_eq!(frame("287082", 15, 30, 10), "287082  █████░░░░░  15s");
        assert_eq!(frame("287082", 1, 30, 10), "287082  █░░░░░░░░░   1s");
        assert_eq!(frame("0123456789", 59, 60, 4), "0123456789  ████  59s");
    }

    #[test]
    fn a_frame_has_no_control_codes_and_huge_periods_do_not_overflow() {
        let line = frame("000000", u64::MAX, u64::MAX, 30);
        assert!(line.chars().all(|c| !c.is_control()));
        assert_eq!(line.chars().filter(|c| *c == '█').count(), 30);
    }
}
