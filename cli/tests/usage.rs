//! Usage errors of the built `passcode` binary never repeat a secret: one
//! command line for each kind of error clap reports, with the secret where
//! that error would quote it, then thousands of random command lines mixing
//! the real commands and options with secret-shaped words.
// In a test, a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/run.rs"]
mod support;

use std::ffi::OsString;

use support::{Output, passcode, scratch_dir};

/// The RFC 4226 seed in base32.
const BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// Another secret, in lower case, as some authenticators export it.
const LOWER: &str = "hxdmvjecjjwsrb3hwizr4ifugftmxboz";
/// The RFC 4226 seed in hex.
const HEX: &str = "3132333435363738393031323334353637383930";
/// An 80-bit secret, refused without --allow-short-secret.
const SHORT: &str = "JBSWY3DPEHPK3PXP";
/// The secret of [`URI`].
const URI_SECRET: &str = "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA";
const URI: &str = "otpauth://totp/ACME:alice?secret=KRUGKIDROVUWG2ZAMJZG653OEBTG66BA&issuer=ACME";

/// Every secret-shaped word the tests type.
const SECRETS: [&str; 5] = [BASE32, LOWER, HEX, SHORT, URI];
/// What must never appear on standard error: each secret, in either case.
const NEEDLES: [&str; 5] = [BASE32, LOWER, HEX, SHORT, URI_SECRET];

/// Asserts that `out` is a usage or input error that repeats no secret.
fn assert_secret_free(args: &[OsString], out: &Output) {
    for needle in NEEDLES {
        for needle in [
            needle.to_owned(),
            needle.to_lowercase(),
            needle.to_uppercase(),
        ] {
            assert!(
                !out.stderr.contains(&needle),
                "{args:?} repeated a secret: {out:?}"
            );
        }
    }
    assert!(!out.stderr.contains("internal error"), "{args:?}: {out:?}");
}

fn run(args: &[OsString]) -> Output {
    passcode(args).run()
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[test]
fn no_clap_error_kind_repeats_a_secret() {
    let s = BASE32;
    let json_eq = format!("--json={s}");
    let hex_eq = format!("--hex={s}");
    let dashed = format!("--{s}");
    // (the error kind clap reports, the command line)
    let cases: &[(&str, &[&str])] = &[
        ("InvalidSubcommand", &[s]),
        ("InvalidSubcommand", &["help", s]),
        ("InvalidSubcommand", &["help", "totp", s]),
        ("InvalidSubcommand", &["uri", URI]),
        ("InvalidSubcommand", &["uri", s]),
        ("UnknownArgument", &["totp", s, s]),
        ("UnknownArgument", &["new", s]),
        ("UnknownArgument", &["sms", LOWER]),
        ("UnknownArgument", &["uri", "show", URI, URI]),
        ("UnknownArgument", &["totp", &dashed]),
        ("UnknownArgument", &["hotp", "--counter", "1", "--", s, HEX]),
        ("InvalidValue", &["totp", "--algorithm", s]),
        ("InvalidValue", &["new", "--algorithm", LOWER]),
        ("ValueValidation", &["hotp", "--counter", s]),
        ("ValueValidation", &["totp", "--time", s]),
        ("ValueValidation", &["totp", "--time", HEX]),
        ("ValueValidation", &["totp", "--digits", s]),
        ("ValueValidation", &["totp", "--digits", HEX]),
        ("ValueValidation", &["totp", "--period", s]),
        ("ValueValidation", &["totp", "--t0", s]),
        ("ValueValidation", &["totp", "--window", s]),
        ("ValueValidation", &["verify", "--code", "1", "--behind", s]),
        (
            "ValueValidation",
            &["verify", "--code", "1", "--ahead", HEX],
        ),
        ("ValueValidation", &["uri", "code", "--time", s]),
        ("ValueValidation", &["sms", "--digits", s]),
        ("TooManyValues", &["totp", &json_eq]),
        ("TooManyValues", &["totp", &hex_eq]),
        ("ArgumentConflict", &["totp", s, "--secret-file", "key.txt"]),
        ("ArgumentConflict", &["totp", "--watch", "--time", "5", s]),
        ("MissingRequiredArgument", &["verify", s]),
        ("MissingRequiredArgument", &["hotp", s]),
        ("MissingSubcommand", &["--json"]),
        ("DisplayHelpOnMissingArgumentOrSubcommand", &[]),
        ("DisplayHelpOnMissingArgumentOrSubcommand", &["uri"]),
    ];
    for (kind, args) in cases {
        let args = os(args);
        let out = run(&args);
        assert_secret_free(&args, &out);
        if kind.starts_with("Display") {
            assert_eq!(out.code, 2, "{kind} {args:?}: {out:?}");
            assert!(out.stderr.contains("Usage: passcode"), "{kind}: {out:?}");
        } else {
            let line = out.usage_error();
            assert!(line.ends_with("(see --help)"), "{kind} {args:?}: {line}");
        }
    }

    // A secret that is not UTF-8 where text is expected.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt as _;
        let mut bytes = BASE32.as_bytes().to_vec();
        bytes.push(0xff);
        for args in [
            vec![OsString::from("totp"), OsString::from_vec(bytes.clone())],
            vec![
                OsString::from("verify"),
                OsString::from("--code"),
                OsString::from_vec(bytes.clone()),
            ],
        ] {
            let out = run(&args);
            assert_secret_free(&args, &out);
            assert!(out.usage_error().contains("not valid UTF-8"), "{out:?}");
        }
    }

    // Help and version asked for beside a secret print neither. (The help's
    // examples show the RFC secret, so this is another.)
    for args in [["totp", LOWER, "--help"], ["totp", LOWER, "--version"]] {
        let args = os(&args);
        let out = run(&args);
        out.ok();
        assert!(!out.stdout.to_lowercase().contains(LOWER), "{out:?}");
    }
}

/// The word-quoting messages still name the options and commands at fault.
#[test]
fn usage_errors_name_what_is_ours_and_hide_what_was_typed() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["totp", "--digits", "six"],
            "invalid value for '--digits <N>': not a whole number",
        ),
        (
            &["totp", "--digits", "300"],
            "invalid value for '--digits <N>': out of range",
        ),
        (
            &["totp", "--algorithm", "md5"],
            "invalid value for '--algorithm <ALGORITHM>' (possible values: 'sha1', 'sha256', \
             'sha512')",
        ),
        (
            &["totp", "--digits"],
            "a value is required for '--digits <N>'",
        ),
        (&["totp", "--json=yes"], "unexpected value for '--json'"),
        (
            &["totp", "--digit", "6"],
            "unknown option (not repeated here: it may be a secret); similar: '--digits'",
        ),
        (&["sms", "--period", "6"], "unexpected argument '--period'"),
        (
            &["tot"],
            "unrecognized command (not repeated here: it may be a secret); similar: 'hotp', 'totp'",
        ),
        (
            &["uri", URI],
            "a key URI goes after 'uri show' or 'uri code'",
        ),
        (
            &["totp", "--time", "-5"],
            "an option's value that starts with '-' is written --option=VALUE",
        ),
        (&["--json"], "a command is required: one of 'new', 'totp'"),
    ];
    for (args, expected) in cases {
        let out = passcode(*args).run();
        let line = out.usage_error();
        assert!(line.contains(expected), "{args:?}: {line}");
    }
}

/// SplitMix64: a fixed seed gives the same command lines on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

#[test]
fn random_command_lines_never_repeat_a_secret() {
    const RUNS: usize = 3000;
    const COMMANDS: &[&str] = &[
        "",
        "new",
        "totp",
        "hotp",
        "verify",
        "uri",
        "uri show",
        "uri code",
        "sms",
        "help",
        "help totp",
    ];
    // Options of every command, with and without values: given to the
    // wrong command, or with a secret as their value, they are errors.
    const OPTIONS: &[&str] = &[
        "--json",
        "--hex",
        "--allow-short-secret",
        "--algorithm",
        "--digits",
        "--period",
        "--t0",
        "--time",
        "--window",
        "--watch",
        "--counter",
        "--code",
        "--totp",
        "--hotp",
        "--behind",
        "--ahead",
        "--issuer",
        "--account",
        "--no-qr",
        "--qr-invert",
        "--reveal",
        "--allow-issuer-mismatch",
        "--force",
        "--",
        "-",
    ];
    const VALUES: &[&str] = &["0", "1", "6", "30", "59", "sha256", "-5", "300", ""];
    let dir = scratch_dir("usage-random");
    let key = dir.join("key.txt");
    std::fs::write(&key, BASE32).unwrap();
    let key = key.to_str().unwrap().to_owned();
    let missing = dir.join("missing.txt").to_str().unwrap().to_owned();
    let unwritable = dir.join("no/such/dir/qr").to_str().unwrap().to_owned();

    let mut random = Random(0x7061_7373_636f_6465);
    let mut usage_errors = 0;
    for _ in 0..RUNS {
        let mut args: Vec<String> = random
            .pick(COMMANDS)
            .split(' ')
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect();
        for _ in 0..random.below(6) {
            let word = match random.below(8) {
                0 | 1 => random.pick(&SECRETS).to_owned(),
                2 => format!("{}={}", random.pick(OPTIONS), random.pick(&SECRETS)),
                3 => random.pick(VALUES).to_owned(),
                // A path is named in the error about it: the user typed it
                // as a path. So paths get paths, never a secret; QR files
                // go to a directory that does not exist.
                4 => {
                    let (option, path) = match random.below(4) {
                        0 => ("--secret-file", &key),
                        1 => ("--secret-file", &missing),
                        2 => ("--qr-png", &unwritable),
                        _ => ("--qr-svg", &unwritable),
                    };
                    args.push(option.to_owned());
                    path.clone()
                }
                _ => random.pick(OPTIONS).to_owned(),
            };
            args.push(word);
        }
        let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
        let out = run(&args);
        assert_secret_free(&args, &out);
        assert!(matches!(out.code, 0..=2), "{args:?}: {out:?}");
        if out.stderr.lines().any(|line| line.starts_with("error:")) {
            assert_eq!(out.code, 2, "{args:?}: {out:?}");
            usage_errors += 1;
        }
    }
    // Most random command lines are wrong: the test exercised the errors.
    assert!(usage_errors > RUNS / 2, "{usage_errors} usage errors");
}
