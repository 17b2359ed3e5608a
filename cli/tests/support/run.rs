//! Runs the built `passcode` binary with a clean environment: no
//! `PASSCODE_SECRET` or `NO_COLOR` from the developer's shell, standard
//! input empty unless given, standard output a pipe (not a terminal).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run of `passcode` did.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    /// The one JSON object on standard output.
    #[allow(dead_code)]
    pub(crate) fn json(&self) -> serde_json::Value {
        assert_eq!(self.stdout.lines().count(), 1, "one line of JSON: {self:?}");
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// Asserts status 0 and returns standard output.
    #[allow(dead_code)]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "{self:?}");
        &self.stdout
    }

    /// Asserts a usage or input error: status 2, nothing on standard
    /// output, one line on standard error that starts with `error:`.
    #[allow(dead_code)]
    pub(crate) fn usage_error(&self) -> &str {
        assert_eq!(self.code, 2, "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "one line: {self:?}");
        assert!(self.stderr.starts_with("error: "), "{self:?}");
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        self.stderr.trim_end()
    }
}

/// A `passcode` command line to run.
pub(crate) struct Run {
    command: Command,
    stdin: Option<Vec<u8>>,
}

/// `passcode` with these arguments.
pub(crate) fn passcode<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_passcode"));
    command
        .args(args)
        .env_remove("PASSCODE_SECRET")
        .env_remove("NO_COLOR")
        // Were anything to panic, a backtrace would show in the tests.
        .env("RUST_BACKTRACE", "1");
    Run {
        command,
        stdin: None,
    }
}

impl Run {
    #[allow(dead_code)]
    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    #[allow(dead_code)]
    pub(crate) fn env_remove(mut self, name: &str) -> Self {
        self.command.env_remove(name);
        self
    }

    #[allow(dead_code)]
    pub(crate) fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    #[allow(dead_code)]
    pub(crate) fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    pub(crate) fn run(mut self) -> Output {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = self.stdin.unwrap_or_default();
        let writer = std::thread::spawn(move || {
            // The binary may exit without reading; that is not a failure here.
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Output {
            code: output
                .status
                .code()
                .expect("exited, not killed by a signal"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

/// A fresh directory under the target directory for files a test writes.
#[allow(dead_code)]
pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
