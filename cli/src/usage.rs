//! Usage errors in our own words. Clap's messages repeat what was typed (a
//! stray word, an option's value, an unknown command), and what was typed
//! is often the secret: given twice, after an option that was missing its
//! value, or where a command was expected. So clap's text is never printed
//! for an error; each [`ErrorKind`] gets a message here, and the only words
//! it quotes from clap's context are those of the command line's own
//! definition (commands, options, value names, possible values), checked
//! against that definition word by word.

use std::collections::BTreeSet;
use std::num::{IntErrorKind, ParseIntError};

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// What to do with a clap error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// Help or version asked for (or help for a bare command): print clap's
    /// text, which holds nothing typed, and exit with clap's status.
    Clap,
    /// A usage error: this line on standard error, exit status 2.
    Line(String),
}

/// The words of a command line's definition: the only words a usage error
/// may quote.
#[derive(Debug)]
pub(crate) struct Vocabulary {
    words: BTreeSet<String>,
}

impl Vocabulary {
    /// Every command name and alias, long and short option, value name and
    /// possible value of `command` and its subcommands.
    pub(crate) fn of(command: &clap::Command) -> Self {
        let mut words = BTreeSet::new();
        // Clap adds these while it parses.
        for word in ["help", "--help", "-h", "--version", "-V"] {
            words.insert(word.to_owned());
        }
        collect(command, &mut words);
        Self { words }
    }

    /// `text` when each of its words is one of ours, as clap renders them
    /// (`--digits <N>`, `[SECRET]`, `<URI>...`); `None` for anything else.
    fn quote<'a>(&self, text: &'a str) -> Option<&'a str> {
        let known = |word: &str| {
            let word = word.strip_suffix("...").unwrap_or(word);
            let bare = word
                .strip_prefix('<')
                .and_then(|w| w.strip_suffix('>'))
                .or_else(|| word.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
                .unwrap_or(word);
            self.words.contains(bare)
        };
        (!text.is_empty() && text.split(' ').all(known)).then_some(text)
    }
}

fn collect(command: &clap::Command, words: &mut BTreeSet<String>) {
    words.insert(command.get_name().to_owned());
    if let Some(bin) = command.get_bin_name() {
        words.extend(bin.split(' ').map(str::to_owned));
    }
    words.extend(command.get_all_aliases().map(str::to_owned));
    for arg in command.get_arguments() {
        words.insert(arg.get_id().as_str().to_owned());
        if let Some(long) = arg.get_long() {
            words.insert(format!("--{long}"));
        }
        if let Some(short) = arg.get_short() {
            words.insert(format!("-{short}"));
        }
        for name in arg.get_value_names().into_iter().flatten() {
            words.insert(name.as_str().to_owned());
        }
        for value in arg.get_possible_values() {
            words.extend(value.get_name_and_aliases().map(str::to_owned));
        }
    }
    for sub in command.get_subcommands() {
        collect(sub, words);
    }
}

/// The report for a clap error. No word the user typed is quoted unless it
/// is one of `vocabulary`.
pub(crate) fn report(e: &clap::Error, vocabulary: &Vocabulary) -> Report {
    let quote = |kind| quoted(e, kind, vocabulary);
    let arg = || quote(ContextKind::InvalidArg).unwrap_or_else(|| "an argument".to_owned());
    let message = match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => return Report::Clap,
        ErrorKind::InvalidValue
            if typed(e, ContextKind::InvalidValue).is_some_and(str::is_empty) =>
        {
            format!("a value is required for {} but none was supplied", arg())
        }
        ErrorKind::InvalidValue => {
            let mut message = format!("invalid value for {}", arg());
            if let Some(values) = quote(ContextKind::ValidValue) {
                message.push_str(&format!(" (possible values: {values})"));
            }
            message
        }
        ErrorKind::ValueValidation => {
            format!("invalid value for {}: {}", arg(), why_invalid(e))
        }
        ErrorKind::UnknownArgument => {
            let mut message = match (
                quote(ContextKind::InvalidArg),
                typed(e, ContextKind::InvalidArg),
            ) {
                (Some(arg), _) => format!("unexpected argument {arg}"),
                (None, Some(arg)) if arg.starts_with("--") => {
                    "unknown option (not repeated here: it may be a secret)".to_owned()
                }
                (None, Some(arg)) if arg.starts_with('-') => {
                    "unexpected argument that starts with '-' (not repeated here: it may be a \
                     secret); an option's value that starts with '-' is written --option=VALUE"
                        .to_owned()
                }
                (None, _) => {
                    "unexpected argument (not repeated here: it may be a secret)".to_owned()
                }
            };
            if let Some(similar) = quote(ContextKind::SuggestedArg) {
                message.push_str(&format!("; similar: {similar}"));
            }
            message
        }
        ErrorKind::InvalidSubcommand => {
            let mut message = match quote(ContextKind::InvalidSubcommand) {
                Some(command) => format!("unrecognized command {command}"),
                None => "unrecognized command (not repeated here: it may be a secret)".to_owned(),
            };
            if let Some(similar) = quote(ContextKind::SuggestedSubcommand) {
                message.push_str(&format!("; similar: {similar}"));
            } else if typed(e, ContextKind::InvalidSubcommand).is_some_and(|c| {
                c.get(..8)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("otpauth:"))
            }) {
                message.push_str("; a key URI goes after 'uri show' or 'uri code'");
            }
            message
        }
        ErrorKind::NoEquals => format!("{} takes its value after '='", arg()),
        ErrorKind::TooManyValues => format!("unexpected value for {}", arg()),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("wrong number of values for {}", arg())
        }
        ErrorKind::ArgumentConflict => {
            let first = quote(ContextKind::InvalidArg)
                .or_else(|| quote(ContextKind::InvalidSubcommand))
                .unwrap_or_else(|| "an argument".to_owned());
            let others = quote(ContextKind::PriorArg)
                .unwrap_or_else(|| "one or more of the other arguments".to_owned());
            format!("the argument {first} cannot be used with {others}")
        }
        ErrorKind::MissingRequiredArgument => match quote(ContextKind::InvalidArg) {
            Some(args) => format!("the following required arguments were not provided: {args}"),
            None => "a required argument was not provided".to_owned(),
        },
        ErrorKind::MissingSubcommand => match quote(ContextKind::ValidSubcommand) {
            Some(commands) => format!("a command is required: one of {commands}"),
            None => "a command is required".to_owned(),
        },
        ErrorKind::InvalidUtf8 => "an argument is not valid UTF-8".to_owned(),
        ErrorKind::Io | ErrorKind::Format => "cannot write the usage message".to_owned(),
        _ => "invalid command line".to_owned(),
    };
    Report::Line(format!("error: {message} (see --help)"))
}

/// A context value as typed, never to be printed.
fn typed(e: &clap::Error, kind: ContextKind) -> Option<&str> {
    match e.get(kind) {
        Some(ContextValue::String(text)) => Some(text),
        _ => None,
    }
}

/// A context value in quotes (a list joined with commas), when every word
/// of it is one of the vocabulary's.
fn quoted(e: &clap::Error, kind: ContextKind, vocabulary: &Vocabulary) -> Option<String> {
    let quote = |text: &str| vocabulary.quote(text).map(|text| format!("'{text}'"));
    match e.get(kind)? {
        ContextValue::String(text) => quote(text),
        ContextValue::Strings(texts) if !texts.is_empty() => texts
            .iter()
            .map(|text| quote(text))
            .collect::<Option<Vec<_>>>()
            .map(|texts| texts.join(", ")),
        _ => None,
    }
}

/// Why a value was refused, without the value: clap's integer parsers
/// report a `ParseIntError` (whose text never includes its input) or a
/// range error that repeats the value.
fn why_invalid(e: &clap::Error) -> &'static str {
    let parse = std::error::Error::source(e).and_then(|s| s.downcast_ref::<ParseIntError>());
    match parse.map(ParseIntError::kind) {
        Some(IntErrorKind::Empty) => "empty",
        Some(IntErrorKind::PosOverflow | IntErrorKind::NegOverflow) => "the number is too large",
        Some(_) => "not a whole number",
        None => "out of range",
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;
    use crate::args::Cli;

    const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn only_the_definitions_words_are_quoted() {
        let vocabulary = Vocabulary::of(&Cli::command());
        for ours in ["--digits <N>", "[SECRET]", "<URI>", "sha256", "totp", "-h"] {
            assert_eq!(vocabulary.quote(ours), Some(ours));
        }
        for typed in [
            SECRET,
            "--digits <N> x",
            "--digits=6",
            "<SECRETS>",
            "",
            " ",
            "--",
        ] {
            assert_eq!(vocabulary.quote(typed), None, "{typed:?}");
        }
    }

    /// Every kind of error, with a secret in every place of its context:
    /// none is quoted, whatever clap puts where.
    #[test]
    fn no_error_kind_quotes_a_typed_word() {
        let vocabulary = Vocabulary::of(&Cli::command());
        let kinds = [
            ErrorKind::InvalidValue,
            ErrorKind::UnknownArgument,
            ErrorKind::InvalidSubcommand,
            ErrorKind::NoEquals,
            ErrorKind::ValueValidation,
            ErrorKind::TooManyValues,
            ErrorKind::TooFewValues,
            ErrorKind::WrongNumberOfValues,
            ErrorKind::ArgumentConflict,
            ErrorKind::MissingRequiredArgument,
            ErrorKind::MissingSubcommand,
            ErrorKind::InvalidUtf8,
            ErrorKind::Io,
            ErrorKind::Format,
        ];
        let contexts = [
            ContextKind::InvalidSubcommand,
            ContextKind::InvalidArg,
            ContextKind::PriorArg,
            ContextKind::ValidSubcommand,
            ContextKind::ValidValue,
            ContextKind::InvalidValue,
            ContextKind::SuggestedCommand,
            ContextKind::SuggestedSubcommand,
            ContextKind::SuggestedArg,
            ContextKind::SuggestedValue,
            ContextKind::TrailingArg,
            ContextKind::Suggested,
            ContextKind::Custom,
        ];
        let values = [
            ContextValue::String(SECRET.to_owned()),
            ContextValue::String(format!("--digits {SECRET}")),
            ContextValue::Strings(vec!["--digits <N>".to_owned(), SECRET.to_owned()]),
        ];
        for kind in kinds {
            for value in &values {
                let mut e = clap::Error::new(kind);
                for context in contexts {
                    e.insert(context, value.clone());
                }
                let Report::Line(line) = report(&e, &vocabulary) else {
                    panic!("{kind:?} is not help or version");
                };
                assert!(!line.contains(SECRET), "{kind:?}: {line}");
                assert!(line.starts_with("error: ") && line.ends_with(" (see --help)"));
                assert_eq!(line.matches("--help").count(), 1, "{line}");
                assert!(!line.contains('\n'), "{line}");
            }
        }
        for kind in [
            ErrorKind::DisplayHelp,
            ErrorKind::DisplayVersion,
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand,
        ] {
            assert_eq!(report(&clap::Error::new(kind), &vocabulary), Report::Clap);
        }
    }
}
