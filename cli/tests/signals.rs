//! Ctrl-C and SIGTERM at the hidden `secret:` prompt, on a real
//! pseudo-terminal: the terminal echoes again afterwards, and the process
//! ends by the signal, as it would without the prompt.
//!
//! The pseudo-terminal is driven by `pty/interrupt_prompt.py` (python3's
//! `pty` and `termios` modules); a missing python3 is treated as a missing
//! interop tool (`tests/support/tools.rs`).
// In a test, a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

#[path = "../../tests/support/tools.rs"]
mod tools;

use std::process::Command;

/// The lines the script prints, run against `passcode` with `args`.
fn interrupt_prompt(how: &str, args: &[&str]) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pty/interrupt_prompt.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(how)
        .arg(env!("CARGO_BIN_EXE_passcode"))
        .args(args)
        .env_remove("PASSCODE_SECRET")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

fn assert_restored(how: &str, signal: u8, args: &[&str]) {
    if !tools::available(&["python3", "--version"], "python3") {
        return;
    }
    let lines = interrupt_prompt(how, args);
    assert_eq!(
        lines,
        [
            "echo at start True".to_owned(),
            "echo at the prompt False".to_owned(),
            "echo after True".to_owned(),
            format!("signal {signal}"),
            "exit None".to_owned(),
        ],
        "{how} {args:?}"
    );
}

#[test]
fn ctrl_c_at_the_secret_prompt_restores_echo() {
    assert_restored("ctrl-c", 2, &["totp", "-"]);
    assert_restored("ctrl-c", 2, &["verify", "--code", "123456", "-"]);
}

#[test]
fn sigterm_at_the_secret_prompt_restores_echo() {
    assert_restored("sigterm", 15, &["totp", "-"]);
    assert_restored("sigterm", 15, &["uri", "show", "-"]);
}

/// `totp --watch -` prompts, then watches: one handler serves both.
#[test]
fn ctrl_c_at_the_prompt_of_watch_restores_echo() {
    assert_restored("ctrl-c", 2, &["totp", "--watch", "-"]);
}
