//! The one kind of failure the tool reports: a line on standard error and
//! exit status 2. Messages name the input at fault and what was expected,
//! and never include a secret: the library's errors never repeat their
//! input, and the messages built here name a secret's source, not its text.

use std::fmt;

/// A usage or input error: printed as one line, exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CliError(String);

impl CliError {
    /// An error with this message (one line, no trailing period needed).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Turns a library error into a [`CliError`] naming the input it is about.
pub(crate) trait Context<T> {
    /// `what: error`, e.g. `--digits 5: digits must be 6 to 10`.
    fn context(self, what: impl fmt::Display) -> Result<T, CliError>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T, CliError> {
        self.map_err(|e| CliError::new(format!("{what}: {e}")))
    }
}

/// Writes one line to standard error. A closed standard error is ignored:
/// there is nowhere left to report it.
pub(crate) fn eprint_line(line: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
