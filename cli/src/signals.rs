//! SIGINT (Ctrl-C), SIGTERM and SIGHUP, with one handler for the whole run
//! (handlers are process-wide, and `totp --watch -` both prompts and
//! watches). While a hidden prompt has the terminal's echo off, a signal
//! first puts the terminal's settings back, then ends the process as the
//! signal would have; while `--watch` redraws, it asks the loop to stop;
//! at any other time it ends the process as the signal would.
//!
//! `signal-hook` installs the handler, which only writes to a pipe; the
//! work is done on a thread of ours, where anything may be done. So nothing
//! here needs `unsafe`, which the workspace forbids.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::error::CliError;

/// What a signal does now.
struct State {
    /// The terminal and its settings from before a hidden prompt.
    #[cfg(unix)]
    terminal: Option<(std::fs::File, rustix::termios::Termios)>,
    /// Set by a signal instead of ending the process.
    stop: Option<Arc<AtomicBool>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    #[cfg(unix)]
    terminal: None,
    stop: None,
});

/// Whether the handler is installed, or why it could not be.
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

fn state() -> MutexGuard<'static, State> {
    // A panic while it was held changes nothing that a signal needs.
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn install() -> Result<(), CliError> {
    INSTALLED
        .get_or_init(|| spawn_handler().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| CliError::new(format!("cannot catch Ctrl-C: {e}")))
}

#[cfg(unix)]
fn spawn_handler() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                on_signal(signal);
            }
        })?;
    Ok(())
}

#[cfg(unix)]
fn on_signal(signal: i32) {
    let mut state = state();
    if let Some(stop) = &state.stop {
        stop.store(true, Ordering::SeqCst);
        return;
    }
    if let Some((terminal, settings)) = state.terminal.take() {
        use std::io::Write as _;
        // Nothing more can be done if the terminal is gone.
        let _ =
            rustix::termios::tcsetattr(&terminal, rustix::termios::OptionalActions::Now, &settings);
        // The prompt's line was never ended.
        let _ = (&terminal).write_all(b"\n");
    }
    drop(state);
    end_as(signal);
}

/// Ends the process as `signal` would have without a handler.
#[cfg(unix)]
fn end_as(signal: i32) {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    // Only if the signal could not end it.
    std::process::exit(128_i32.saturating_add(signal));
}

#[cfg(not(unix))]
fn spawn_handler() -> io::Result<()> {
    Ok(())
}

/// A flag a signal sets instead of ending the process, for as long as the
/// process runs.
pub(crate) fn stop_flag() -> Result<Arc<AtomicBool>, CliError> {
    install()?;
    let stop = Arc::new(AtomicBool::new(false));
    state().stop = Some(Arc::clone(&stop));
    #[cfg(not(unix))]
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| CliError::new(format!("cannot catch Ctrl-C: {e}")))?;
    }
    Ok(stop)
}

/// One line typed at the terminal without echo, after `prompt`. A signal
/// while it is typed restores the terminal before it ends the process, and
/// so does Ctrl-C, which the prompt reads as a character and raises as
/// SIGINT.
pub(crate) fn prompt_hidden(prompt: &str) -> io::Result<String> {
    install().map_err(|e| io::Error::other(e.to_string()))?;
    let _guard = TerminalGuard::save();
    let line = rpassword::prompt_password(prompt);
    #[cfg(unix)]
    if line
        .as_ref()
        .is_err_and(|e| e.kind() == io::ErrorKind::Interrupted)
    {
        // The terminal is restored; end as the handler would, rather than
        // race it with an error message.
        end_as(signal_hook::consts::SIGINT);
    }
    line
}

/// While alive, a signal restores the terminal's settings from the moment
/// it was made.
struct TerminalGuard;

impl TerminalGuard {
    fn save() -> Self {
        // The terminal the prompt uses; without one there is nothing to
        // restore.
        #[cfg(unix)]
        if let Ok(terminal) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        {
            if let Ok(settings) = rustix::termios::tcgetattr(&terminal) {
                state().terminal = Some((terminal, settings));
            }
        }
        Self
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            state().terminal = None;
        }
    }
}
