//! `passcode`, the command-line tool of the `passcode` library: enroll a
//! TOTP or HOTP secret with a QR code, print and verify codes, read key
//! URIs, draw SMS codes. Built only on the library's public API.
//!
//! Exit status: 0 success, 1 `verify` found the code invalid, 2 a usage or
//! input error, reported as one line on standard error.

// Every workspace lint applies here as in the library, `unwrap_used`,
// `expect_used` and `panic` above all: a CLI must never panic.

mod args;
mod codes;
mod error;
mod new;
mod output;
mod qr;
mod secret;
mod sms;
mod uri;
mod verify;
mod watch;

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::args::{Cli, Command, UriCommand};
use crate::error::{CliError, eprint_line};
use crate::verify::Verdict;

/// Exit status of a usage or input error.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    // A panic would be a bug; even then, one line and no backtrace.
    std::panic::set_hook(Box::new(|info| {
        let info = info.to_string().replace('\n', " ");
        eprint_line(&format!(
            "error: internal error (a bug in passcode): {info}"
        ));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    match run(cli) {
        Ok(Verdict::Valid) => ExitCode::SUCCESS,
        Ok(Verdict::Invalid) => ExitCode::from(1),
        Err(e) => {
            eprint_line(&format!("error: {e}"));
            ExitCode::from(USAGE)
        }
    }
}

fn run(cli: Cli) -> Result<Verdict, CliError> {
    let json = cli.json;
    match cli.command {
        Command::New(args) => new::new(args, json),
        Command::Totp(args) => codes::totp(args, json),
        Command::Hotp(args) => codes::hotp(args, json),
        Command::Verify(args) => return verify::verify(args, json),
        Command::Uri(UriCommand::Show(args)) => uri::show(args, json),
        Command::Uri(UriCommand::Code(args)) => uri::code(args, json),
        Command::Sms(args) => sms::sms(args, json),
    }
    .map(|()| Verdict::Valid)
}

/// Help and version go where clap prints them (help asked for, and the
/// version, to standard output with status 0; help for a bare `passcode` to
/// standard error with status 2); a usage error becomes one line on
/// standard error with status 2.
fn clap_exit(e: &clap::Error) -> ExitCode {
    match e.kind() {
        // Clap repeats a stray word as it was typed, and a stray word is
        // often a secret given twice or in the wrong place.
        ErrorKind::UnknownArgument if !names_an_option(e) => {
            eprint_line(
                "error: unexpected extra argument (not repeated here: it may be a secret) \
                 (see --help)",
            );
            ExitCode::from(USAGE)
        }
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Nothing more can be done if the output is gone.
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE))
        }
        _ => {
            eprint_line(&one_line(&e.render().to_string()));
            ExitCode::from(USAGE)
        }
    }
}

/// Whether the argument clap refused looks like an option (`--frobnicate`),
/// which is safe to repeat.
fn names_an_option(e: &clap::Error) -> bool {
    matches!(
        e.get(ContextKind::InvalidArg),
        Some(ContextValue::String(arg)) if arg.starts_with('-')
    )
}

/// Clap's usage error on one line: its message and tips, without the usage
/// summary that follows or clap's own pointer to the help (which value
/// errors carry without a usage summary), and one pointer to the help.
fn one_line(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:"))
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect();
    let mut line = String::new();
    for part in message {
        if !line.is_empty() {
            line.push_str(if part.starts_with("tip:") { "; " } else { " " });
        }
        line.push_str(part);
    }
    if !line.starts_with("error:") {
        line.insert_str(0, "error: ");
    }
    line.push_str(" (see --help)");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let rendered = "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' as \
                        a value, use '-- --bogus'\n\nUsage: passcode totp [OPTIONS] [SECRET]\n";
        assert_eq!(
            one_line(rendered),
            "error: unexpected argument '--bogus' found; tip: to pass '--bogus' as a value, use \
             '-- --bogus' (see --help)"
        );
        let rendered = "error: the following required arguments were not provided:\n  \
                        --code <CODE>\n\nUsage: passcode verify --code <CODE> [SECRET]\n\n\
                        For more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "error: the following required arguments were not provided: --code <CODE> (see --help)"
        );
        let rendered = "error: invalid value 'six' for '--digits <N>': invalid digit found in \
                        string\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "error: invalid value 'six' for '--digits <N>': invalid digit found in string (see \
             --help)"
        );
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
