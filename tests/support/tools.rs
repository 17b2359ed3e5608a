//! Running the independent implementations the interop tests compare with.
//!
//! A missing tool fails its tests, with how to install it, so that a skip
//! never hides in a passing summary; `PASSCODE_INTEROP=skip` turns that
//! failure into a skip (a `SKIPPED:` line on stderr, shown with
//! `--nocapture`) for a machine that cannot have the tool.
//! `PASSCODE_INTEROP=require` (set by `.ci/run`) is the default, spelled out.
// A test helper: a panic here is the failure report. Each test binary that
// includes it uses only some of it.
#![allow(clippy::expect_used, clippy::panic, dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// What `PASSCODE_INTEROP` says to do about a missing tool.
pub(crate) const SETTING: &str = "PASSCODE_INTEROP";

/// Whether the tests that need a tool run (`Ok(true)`), are skipped
/// (`Ok(false)`), or fail with the message in `Err`; `found` says whether
/// the tool ran, `setting` is the value of [`SETTING`], `install` how to
/// get the tool.
pub(crate) fn decide(found: bool, setting: Option<&str>, install: &str) -> Result<bool, String> {
    match (setting, found) {
        (None | Some("require"), true) | (Some("skip"), true) => Ok(true),
        (None | Some("require"), false) => Err(format!(
            "interop tests need {install}: install it, or set {SETTING}=skip to skip them"
        )),
        (Some("skip"), false) => {
            eprintln!("SKIPPED: {install} not found ({SETTING}=skip)");
            Ok(false)
        }
        (Some(other), _) => Err(format!(
            "{SETTING} is 'require' (the default) or 'skip', not '{other}'"
        )),
    }
}

/// Whether `command` runs successfully; if not, skips or fails as
/// [`decide`] says, naming `install`.
pub(crate) fn available(command: &[&str], install: &str) -> bool {
    let (program, args) = command.split_first().expect("a command");
    let found = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    let setting = std::env::var(SETTING).ok();
    match decide(found, setting.as_deref(), install) {
        Ok(run) => run,
        Err(message) => panic!("{message}"),
    }
}

/// Whether `pyotp` can be imported, as [`available`] decides.
pub(crate) fn pyotp_present() -> bool {
    available(
        &["python3", "-c", "import pyotp"],
        "pyotp (pip install pyotp)",
    )
}

/// Whether both `oathtool` and `pyotp` are there, as [`available`] decides.
pub(crate) fn oathtool_and_pyotp_present() -> bool {
    available(
        &["oathtool", "--version"],
        "oathtool (apt-get install oathtool)",
    ) && pyotp_present()
}

/// Runs `oathtool` with `args` and returns its standard output as printed.
pub(crate) fn oathtool(args: &[&str]) -> String {
    let output = Command::new("oathtool")
        .args(args)
        .output()
        .expect("oathtool runs");
    assert!(
        output.status.success(),
        "oathtool {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs a Python script from `tests/interop/` with `input` on its
/// standard input, and returns its standard output.
pub(crate) fn python(script: &str, input: &str) -> String {
    let path = format!("{}/tests/interop/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("a piped stdin");
    let input = input.to_owned();
    // Written from another thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python3 finishes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed: {stderr}");
    writer
        .join()
        .expect("the writer thread")
        .expect("input written");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[cfg(test)]
mod decide_tests {
    use super::decide;

    #[test]
    fn a_missing_interop_tool_fails_unless_skip_is_set() {
        let install = "oathtool (apt-get install oathtool)";
        for setting in [None, Some("require"), Some("skip")] {
            assert_eq!(decide(true, setting, install), Ok(true), "{setting:?}");
        }
        for setting in [None, Some("require")] {
            let message = decide(false, setting, install).unwrap_err();
            assert!(message.contains(install), "{message}");
            assert!(message.contains("PASSCODE_INTEROP=skip"), "{message}");
        }
        assert_eq!(decide(false, Some("skip"), install), Ok(false));
        for setting in ["", "1", "yes", "Skip", "optional"] {
            for found in [true, false] {
                let message = decide(found, Some(setting), install).unwrap_err();
                assert!(message.contains("PASSCODE_INTEROP"), "{message}");
            }
        }
    }
}
