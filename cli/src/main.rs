//! `passcode`, the command-line tool of the `passcode` library: enroll a
//! TOTP or HOTP secret with a QR code, print and verify codes, read key
//! URIs, draw SMS codes. Built only on the library's public API.
//!
//! Exit status: 0 success, 1 `verify` found the code invalid, 2 a usage or
//! input error, reported as one line on standard error.

// Every workspace lint applies here as in the library, `unwrap_used`,
// `expect_used` and `panic` above all: a CLI must never panic.

mod args;
mod clock;
mod codes;
mod error;
mod new;
mod output;
mod qr;
mod secret;
mod signals;
mod sms;
mod uri;
mod usage;
mod verify;
mod watch;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command, UriCommand};
use crate::error::{CliError, Context as _, eprint_line};
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
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "passcode",
                &mut std::io::stdout().lock(),
            );
            Ok(())
        }
        Command::Manual => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout().lock())
                .context("standard output")
        }
    }
    .map(|()| Verdict::Valid)
}

/// Help and version go where clap prints them (help asked for, and the
/// version, to standard output with status 0; help for a bare `passcode` to
/// standard error with status 2); a usage error becomes one line of our own
/// on standard error with status 2, quoting nothing the user typed.
fn clap_exit(e: &clap::Error) -> ExitCode {
    use clap::CommandFactory as _;
    match usage::report(e, &usage::Vocabulary::of(&Cli::command())) {
        usage::Report::Clap => {
            // Nothing more can be done if the output is gone.
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE))
        }
        usage::Report::Line(line) => {
            eprint_line(&line);
            ExitCode::from(USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
