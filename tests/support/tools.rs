//! Running the independent implementations the interop tests compare with.
//!
//! A missing tool makes a test print how to install it and pass, unless
//! `PASSCODE_INTEROP=require` (set by `.ci/run`), which makes it a failure.
// A test helper: a panic here is the failure report. Each test binary that
// includes it uses only some of it.
#![allow(clippy::expect_used, dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Whether `command` runs successfully; if not, skips or fails as above,
/// naming `install`.
pub(crate) fn available(command: &[&str], install: &str) -> bool {
    let (program, args) = command.split_first().expect("a command");
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let message = format!("interop tests need {install}");
        assert!(
            std::env::var("PASSCODE_INTEROP").as_deref() != Ok("require"),
            "{message}"
        );
        eprintln!("skipped: {message}");
    }
    ok
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
