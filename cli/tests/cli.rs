//! The built `passcode` binary, run as a user or a script would: every
//! command, every exit status, JSON parsed and checked field by field,
//! secrets from every source and never in an error, and QR codes decoded
//! back to the URI they were drawn from.
//!
//! Codes are checked against the RFC 4226 and RFC 6238 test vectors here;
//! `interop.rs` checks them against `oathtool` and `pyotp`.
// In a test, a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/qr_read.rs"]
mod qr_read;
#[path = "support/run.rs"]
mod support;

use passcode::{OtpKind, ParsedKeyUri, Secret};
use serde_json::{Value, json};
use support::{Output, passcode, scratch_dir};

/// The RFC 4226 and RFC 6238 SHA-1 seed, "12345678901234567890".
const RFC_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_HEX: &str = "3132333435363738393031323334353637383930";

/// RFC 6238 Appendix B: time, SHA-1, SHA-256 and SHA-512 codes (8 digits).
const RFC6238: &[(u64, &str, &str, &str)] = &[
    (59, "94287082", "46119246", "90693936"),
    (1_111_111_109, "07081804", "68084774", "25091201"),
    (1_111_111_111, "14050471", "67062674", "99943326"),
    (1_234_567_890, "89005924", "91819424", "93441116"),
    (2_000_000_000, "69279037", "90698825", "38618901"),
    (20_000_000_000, "65353130", "77737706", "47863826"),
];

/// RFC 4226 Appendix D: the codes of counters 0 to 9.
const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

/// The RFC 6238 seed of each algorithm, in hex.
fn rfc6238_seed_hex(algorithm: &str) -> String {
    let len = match algorithm {
        "sha1" => 20,
        "sha256" => 32,
        _ => 64,
    };
    b"1234567890"
        .iter()
        .cycle()
        .take(len)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

// ---------------------------------------------------------------- help

const SUBCOMMANDS: &[&[&str]] = &[
    &[],
    &["new"],
    &["totp"],
    &["hotp"],
    &["verify"],
    &["uri", "show"],
    &["uri", "code"],
    &["sms"],
];

#[test]
fn every_help_shows_an_example_and_exits_0() {
    for command in SUBCOMMANDS {
        for flag in ["--help", "-h"] {
            let out = passcode(command.iter().copied().chain([flag])).run();
            let help = out.ok();
            let examples = help
                .split("Examples:\n")
                .nth(1)
                .expect("an Examples section");
            assert!(
                examples.lines().next().unwrap().contains("passcode "),
                "{help}"
            );
            assert!(!help.contains('\x1b'), "no colors in a pipe: {help}");
            assert_eq!(out.stderr, "");
        }
    }
    // The JSON keys are documented in each command's help.
    for command in SUBCOMMANDS.iter().skip(1) {
        let help = passcode(command.iter().copied().chain(["--help"])).run();
        assert!(help.ok().contains("JSON: {"), "{command:?}");
    }
    let uri = passcode(["uri", "--help"]).run();
    assert!(uri.ok().contains("show"));
    let help = passcode(["help", "verify"]).run();
    assert!(help.ok().contains("--code <CODE>"));
}

#[test]
fn version_exits_0() {
    let version = env!("CARGO_PKG_VERSION");
    for command in [&["--version"][..], &["-V"]] {
        let out = passcode(command).run();
        assert_eq!(out.ok(), format!("passcode {version}\n"));
    }
    let out = passcode(["totp", "--version"]).run();
    assert_eq!(out.ok(), format!("passcode-totp {version}\n"));
}

#[test]
fn no_command_prints_the_help_and_exits_2() {
    let out = passcode::<_, &str>([]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("Usage: passcode"), "{out:?}");
    let uri = passcode(["uri"]).run();
    assert_eq!(uri.code, 2);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["frobnicate"], "unrecognized command"),
        (&["totp", "--bogus"], "unknown option"),
        (
            &["totp", "--digits", "six"],
            "invalid value for '--digits <N>'",
        ),
        (
            &["totp", "--time", "-5"],
            "unexpected argument that starts with '-'",
        ),
        (
            &["totp", "--algorithm", "md5"],
            "invalid value for '--algorithm <ALGORITHM>'",
        ),
        (&["hotp", RFC_BASE32], "--counter <C>"),
        (&["verify", RFC_BASE32], "--code <CODE>"),
        (
            &["verify", RFC_BASE32, "--code", "1", "--hotp"],
            "--counter <C>",
        ),
        (
            &["verify", RFC_BASE32, "--code", "1", "--counter", "1"],
            "--hotp",
        ),
        (
            &[
                "verify",
                "--code",
                "1",
                "--totp",
                "--hotp",
                "--counter",
                "1",
            ],
            "'--totp' cannot be used with '--hotp'",
        ),
        (
            &[
                "verify",
                "--code",
                "1",
                "--hotp",
                "--counter",
                "1",
                "--behind",
                "2",
            ],
            "cannot be used with '--behind <B>'",
        ),
        (
            &[
                "verify",
                "--code",
                "1",
                "--hotp",
                "--counter",
                "1",
                "--time",
                "2",
            ],
            "cannot be used with '--time <UNIX>'",
        ),
        (
            &["totp", "--watch", "--time", "5", RFC_BASE32],
            "'--watch' cannot be used with '--time <UNIX>'",
        ),
        (&["new", "--counter", "5"], "--hotp"),
        (
            &["new", "--hotp", "--period", "60"],
            "'--hotp' cannot be used with '--period <SECONDS>'",
        ),
        (&["uri", "show"], "<URI>"),
        (
            &["totp", RFC_BASE32, "--secret-file", "key.txt"],
            "'[SECRET]' cannot be used with '--secret-file <PATH>'",
        ),
    ];
    for (args, expected) in cases {
        let out = passcode(*args).run();
        let line = out.usage_error();
        assert!(line.contains(expected), "{args:?}: {line}");
        assert!(line.ends_with("(see --help)"), "{args:?}: {line}");
    }
}

#[test]
fn value_errors_point_to_the_help_once() {
    for args in [
        &["totp", "--digits", "six"][..],
        &["totp", "--digits"],
        &["totp", "--algorithm", "md5"],
        &["hotp", "--counter", "-1x"],
        &["totp", "--bogus"],
    ] {
        let out = passcode(args).run();
        let line = out.usage_error();
        assert_eq!(line.matches("--help").count(), 1, "{args:?}: {line}");
        assert!(line.ends_with("(see --help)"), "{args:?}: {line}");
    }
}

#[test]
fn out_of_range_parameters_are_named_with_the_library_rule() {
    const S: &str = RFC_BASE32;
    let cases: &[(&[&str], &str)] = &[
        (
            &["totp", S, "--digits", "5"],
            "--digits 5: digits must be 6 to 10",
        ),
        (
            &["totp", S, "--digits", "11"],
            "--digits 11: digits must be 6 to 10",
        ),
        (
            &["totp", S, "--period", "0"],
            "--period 0: period must be at least one second",
        ),
        (
            &["hotp", S, "--counter", "0", "--digits", "4"],
            "--digits 4",
        ),
        (
            &["verify", S, "--code", "123456", "--behind", "21"],
            "--behind 21 --ahead 1: a verification window may reach at most 20 steps",
        ),
        (
            &["verify", S, "--code", "123456", "--ahead", "300"],
            "--behind 1 --ahead 300",
        ),
        (
            &[
                "verify",
                S,
                "--code",
                "123456",
                "--hotp",
                "--counter",
                "18446744073709551615",
            ],
            "(--counter 18446744073709551615 --ahead 1): window or next counter reaches past",
        ),
        (
            &[
                "verify",
                S,
                "--code",
                "123456",
                "--hotp",
                "--counter",
                "0",
                "--ahead",
                "51",
            ],
            "--ahead 51: a HOTP look-ahead may be at most 50 counters",
        ),
        (
            &["sms", "--digits", "3"],
            "--digits 3: SMS codes must have 4 to 10 digits",
        ),
        (
            &["sms", "--digits", "11"],
            "--digits 11: SMS codes must have 4 to 10 digits",
        ),
        (
            &["new", "--digits", "12"],
            "--digits 12: digits must be 6 to 10",
        ),
        (&["new", "--period", "0"], "--period 0"),
    ];
    for (args, expected) in cases {
        let out = passcode(*args).run();
        let line = out.usage_error();
        assert!(line.contains(expected), "{args:?}: {line}");
    }
}

// ---------------------------------------------------------------- totp

#[test]
fn totp_matches_the_rfc_6238_vectors() {
    for (time, sha1, sha256, sha512) in RFC6238 {
        for (algorithm, expected) in [("sha1", sha1), ("sha256", sha256), ("sha512", sha512)] {
            let out = passcode([
                "totp",
                "--hex",
                &rfc6238_seed_hex(algorithm),
                "--algorithm",
                algorithm,
                "--digits",
                "8",
                "--time",
                &time.to_string(),
            ])
            .run();
            assert_eq!(out.ok(), format!("{expected}\n"), "{algorithm} at {time}");
            assert_eq!(out.stderr, "");
        }
    }
    // Algorithm names in any case, and six digits by default.
    let out = passcode(["totp", RFC_BASE32, "--algorithm", "SHA1", "--time", "59"]).run();
    assert_eq!(out.ok(), "287082\n");
}

#[test]
fn totp_json_has_every_field() {
    let out = passcode([
        "totp",
        RFC_BASE32,
        "--json",
        "--time",
        "1111111109",
        "--digits",
        "8",
    ])
    .run();
    assert_eq!(
        out.json(),
        json!({
            "type": "totp",
            "code": "07081804",
            "step": 37_037_036,
            "time": 1_111_111_109,
            "seconds_left": 1,
            "algorithm": "SHA1",
            "digits": 8,
            "period": 30,
            "t0": 0,
        })
    );
    // --json before the command works too.
    let out = passcode([
        "--json", "totp", RFC_BASE32, "--time", "61", "--period", "60",
    ])
    .run();
    let value = out.json();
    assert_eq!(value["step"], 1);
    assert_eq!(value["seconds_left"], 59);
    assert_eq!(value["period"], 60);
}

#[test]
fn totp_window_prints_the_neighbouring_codes() {
    let out = passcode(["totp", RFC_BASE32, "--time", "100", "--window", "2"]).run();
    // Step 3 is current; steps 1 to 5 are HOTP codes 1 to 5.
    assert_eq!(
        lines(out.ok()),
        [
            " -2  step 1  287082",
            " -1  step 2  359152",
            "  0  step 3  969429  <- current",
            " +1  step 4  338314",
            " +2  step 5  254676",
        ]
    );
    let out = passcode([
        "totp", RFC_BASE32, "--time", "100", "--window", "1", "--json",
    ])
    .run();
    let value = out.json();
    assert_eq!(value["code"], "969429");
    assert_eq!(
        value["codes"],
        json!([
            {"offset": -1, "step": 2, "code": "359152"},
            {"offset": 0, "step": 3, "code": "969429"},
            {"offset": 1, "step": 4, "code": "338314"},
        ])
    );
    // No steps below 0.
    let out = passcode(["totp", RFC_BASE32, "--time", "0", "--window", "2", "--json"]).run();
    let offsets: Vec<i64> = out.json()["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 1, 2]);
}

#[test]
fn totp_t0_shifts_the_steps_and_a_time_before_it_is_an_error() {
    // Step 0 runs from T0 = 30 to 59, so its code is HOTP(0).
    let out = passcode(["totp", RFC_BASE32, "--t0", "30", "--time", "30", "--json"]).run();
    let value = out.json();
    assert_eq!(
        (value["code"].as_str(), value["step"].as_u64()),
        (Some("755224"), Some(0))
    );
    assert_eq!(value["t0"], 30);
    let out = passcode(["totp", RFC_BASE32, "--t0", "30", "--time", "29"]).run();
    assert_eq!(
        out.usage_error(),
        "error: time 29 is before T0 30 (--t0): there is no time step yet"
    );
    // The system clock is long past 1000.
    let out = passcode(["totp", RFC_BASE32, "--t0", "99999999999"]).run();
    assert!(out.usage_error().contains("is before T0 99999999999"));
}

#[test]
fn totp_without_time_uses_the_clock() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let value = passcode(["totp", RFC_BASE32, "--json"]).run().json();
    let time = value["time"].as_u64().unwrap();
    assert!(time >= before && time <= before + 60, "{value}");
    let expected = passcode(["totp", RFC_BASE32, "--time", &time.to_string()]).run();
    assert_eq!(
        format!("{}\n", value["code"].as_str().unwrap()),
        expected.ok()
    );
}

#[test]
fn watch_refuses_to_run_without_a_terminal() {
    let out = passcode(["totp", RFC_BASE32, "--watch"]).run();
    let line = out.usage_error();
    assert!(line.contains("--watch needs a terminal"), "{line}");
    let out = passcode(["totp", RFC_BASE32, "--watch", "--json"]).run();
    assert!(out.usage_error().contains("cannot print JSON"));
    // Refused before the secret is looked for.
    let out = passcode(["totp", "--watch"]).run();
    assert!(out.usage_error().contains("--watch needs a terminal"));
}

// ---------------------------------------------------------------- hotp

#[test]
fn hotp_matches_the_rfc_4226_vectors() {
    for (counter, expected) in RFC4226.iter().enumerate() {
        let out = passcode(["hotp", "--counter", &counter.to_string(), RFC_BASE32]).run();
        assert_eq!(out.ok(), format!("{expected}\n"));
    }
    let out = passcode(["hotp", "--counter", "7", "--digits", "10", "--hex", RFC_HEX]).run();
    assert_eq!(out.ok(), "0082162583\n");
}

#[test]
fn hotp_json_and_window() {
    let value = passcode(["hotp", "--counter", "3", RFC_BASE32, "--json"])
        .run()
        .json();
    assert_eq!(
        value,
        json!({"type": "hotp", "code": "969429", "counter": 3, "algorithm": "SHA1", "digits": 6})
    );
    let out = passcode(["hotp", "--counter", "8", "--window", "1", RFC_BASE32]).run();
    assert_eq!(
        lines(out.ok()),
        [
            "  0  counter 8  399871  <- current",
            " +1  counter 9  520489"
        ]
    );
    let value = passcode([
        "hotp",
        "--counter",
        "8",
        "--window",
        "1",
        RFC_BASE32,
        "--json",
    ])
    .run()
    .json();
    assert_eq!(
        value["codes"],
        json!([
            {"offset": 0, "counter": 8, "code": "399871"},
            {"offset": 1, "counter": 9, "code": "520489"},
        ])
    );
    // The last counters exist; there is nothing past u64::MAX to print.
    let max = u64::MAX.to_string();
    let value = passcode([
        "hotp",
        "--counter",
        &max,
        "--window",
        "3",
        RFC_BASE32,
        "--json",
    ])
    .run()
    .json();
    assert_eq!(value["codes"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------- verify

#[test]
fn verify_prints_the_step_and_drift_and_exits_0() {
    // 359152 is the code of step 2 (times 60 to 89).
    let cases = [
        ("60", "valid: step 2 (drift 0)"),
        ("90", "valid: step 2 (drift -1)"),
        ("59", "valid: step 2 (drift +1)"),
    ];
    for (time, expected) in cases {
        let out = passcode(["verify", RFC_BASE32, "--code", "359152", "--time", time]).run();
        assert_eq!(out.ok(), format!("{expected}\n"));
    }
    let value = passcode([
        "verify", RFC_BASE32, "--code", "359 152", "--time", "90", "--json",
    ])
    .run()
    .json();
    assert_eq!(value, json!({"valid": true, "step": 2, "drift": -1}));
    // --totp is the default, said explicitly.
    let out = passcode([
        "verify", "--totp", RFC_BASE32, "--code", "287082", "--time", "59",
    ])
    .run();
    assert_eq!(out.code, 0);
}

/// Steps below 0 do not exist: early in the epoch (or just after T0) the
/// window holds the steps that do, and RFC 4226's code of counter 0 (step 0)
/// is checked as `oathtool` checks it.
#[test]
fn verify_checks_the_steps_that_exist_near_step_0() {
    for args in [
        &["--time", "10"][..],
        &["--time", "0", "--behind", "5"],
        &["--t0", "100", "--time", "110"],
    ] {
        let out = passcode(
            ["verify", RFC_BASE32, "--code", "755224"]
                .iter()
                .chain(args.iter()),
        )
        .run();
        assert_eq!(out.ok(), "valid: step 0 (drift 0)\n", "{args:?}");
    }
    let out = passcode(["verify", RFC_BASE32, "--code", "287082", "--time", "10"]).run();
    assert_eq!(out.ok(), "valid: step 1 (drift +1)\n");
}

#[test]
fn verify_exits_1_for_an_invalid_code() {
    let out = passcode(["verify", RFC_BASE32, "--code", "287082", "--time", "120"]).run();
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "invalid\n", "")
    );
    let out = passcode([
        "verify", RFC_BASE32, "--code", "287082", "--time", "120", "--json",
    ])
    .run();
    assert_eq!(out.code, 1);
    assert_eq!(out.json(), json!({"valid": false}));
    // A narrower window: one step behind is no longer accepted.
    let out = passcode([
        "verify", RFC_BASE32, "--code", "287082", "--time", "89", "--behind", "0",
    ])
    .run();
    assert_eq!(out.code, 1);
    // A wider one accepts two steps behind.
    let out = passcode([
        "verify", RFC_BASE32, "--code", "287082", "--time", "119", "--behind", "2", "--json",
    ])
    .run();
    assert_eq!(out.json(), json!({"valid": true, "step": 1, "drift": -2}));
}

#[test]
fn verify_hotp_looks_ahead_only() {
    let value = passcode([
        "verify",
        RFC_BASE32,
        "--hotp",
        "--counter",
        "3",
        "--ahead",
        "3",
        "--code",
        "254676",
        "--json",
    ])
    .run()
    .json();
    assert_eq!(
        value,
        json!({"valid": true, "counter": 5, "drift": 2, "next_counter": 6})
    );
    let out = passcode([
        "verify",
        RFC_BASE32,
        "--hotp",
        "--counter",
        "3",
        "--ahead",
        "3",
        "--code",
        "254676",
    ])
    .run();
    assert_eq!(out.ok(), "valid: counter 5 (drift +2), next counter 6\n");
    // The default look-ahead is 1: counter 5 is out of reach from 3.
    let out = passcode([
        "verify",
        RFC_BASE32,
        "--hotp",
        "--counter",
        "3",
        "--code",
        "254676",
    ])
    .run();
    assert_eq!(out.code, 1);
    // Never behind: the code of counter 2 is refused at counter 3.
    let out = passcode([
        "verify",
        RFC_BASE32,
        "--hotp",
        "--counter",
        "3",
        "--ahead",
        "50",
        "--code",
        "359152",
        "--json",
    ])
    .run();
    assert_eq!((out.code, out.json()), (1, json!({"valid": false})));
}

#[test]
fn verify_input_errors_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--code", "28708"],
            "error: --code: code must have 6 digits",
        ),
        (
            &["--code", "2870821"],
            "error: --code: code must have 6 digits",
        ),
        (
            &["--code", "28708x"],
            "error: --code: code may hold only ASCII digits",
        ),
        (
            &["--code", "287082", "--t0", "100", "--time", "99"],
            "is before T0 100",
        ),
        (
            &[
                "--code",
                "287082",
                "--hotp",
                "--counter",
                &u64::MAX.to_string(),
            ],
            "past the largest 64-bit counter",
        ),
    ];
    for (args, expected) in cases {
        let out = passcode(["verify", RFC_BASE32].iter().chain(args.iter())).run();
        let line = out.usage_error();
        assert!(line.contains(expected), "{args:?}: {line}");
    }
}

// ---------------------------------------------------------------- secrets

#[test]
fn the_secret_comes_from_argument_file_environment_or_stdin() {
    let dir = scratch_dir("secret-sources");
    let file = dir.join("key.txt");
    std::fs::write(&file, format!("{}\n", RFC_BASE32.to_lowercase())).unwrap();
    let file = file.to_str().unwrap();
    let totp = ["totp", "--time", "59"];
    let expected = "287082\n";

    let argument = passcode(totp.iter().chain(&[RFC_BASE32])).run();
    assert_eq!(argument.ok(), expected);
    let from_file = passcode(totp.iter().chain(&["--secret-file", file])).run();
    assert_eq!(from_file.ok(), expected);
    let environment = passcode(totp).env("PASSCODE_SECRET", RFC_BASE32).run();
    assert_eq!(environment.ok(), expected);
    let stdin = passcode(totp.iter().chain(&["-"]))
        .stdin(format!("{RFC_BASE32}\n"))
        .run();
    assert_eq!(stdin.ok(), expected);

    // The argument and the file come before the environment.
    let wrong = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let out = passcode(totp.iter().chain(&[RFC_BASE32]))
        .env("PASSCODE_SECRET", wrong)
        .run();
    assert_eq!(out.ok(), expected);
    let out = passcode(totp.iter().chain(&["--secret-file", file]))
        .env("PASSCODE_SECRET", wrong)
        .run();
    assert_eq!(out.ok(), expected);
    let out = passcode(totp.iter().chain(&["-"]))
        .env("PASSCODE_SECRET", wrong)
        .stdin(RFC_BASE32)
        .run();
    assert_eq!(out.ok(), expected);

    // Hex from each source too.
    let hex_file = dir.join("key.hex");
    std::fs::write(&hex_file, RFC_HEX.to_uppercase()).unwrap();
    let hex = ["hotp", "--counter", "1", "--hex"];
    for out in [
        passcode(hex.iter().chain(&[RFC_HEX])).run(),
        passcode(
            hex.iter()
                .chain(&["--secret-file", hex_file.to_str().unwrap()]),
        )
        .run(),
        passcode(hex).env("PASSCODE_SECRET", RFC_HEX).run(),
        passcode(hex.iter().chain(&["-"])).stdin(RFC_HEX).run(),
    ] {
        assert_eq!(out.ok(), "287082\n");
    }
}

/// Regression: a 33-letter secret was reported as "not base32", and a
/// secret file holding a whole key URI too. The first names the length; the
/// second says it is a key URI and how to read one. Neither echoes the text.
#[test]
fn secret_errors_name_a_bad_length_and_a_key_uri() {
    let long = format!("{RFC_BASE32}A");
    let out = passcode(["totp", "--time", "59", &long]).run();
    let line = out.usage_error();
    assert!(line.contains("33 base32 characters"), "{line}");
    assert!(
        !line.contains("not base32") && !line.contains(&long),
        "{line}"
    );

    let dir = scratch_dir("secret-file-uri");
    let file = dir.join("alice.uri");
    let uri = format!("otpauth://totp/ACME:alice?secret={RFC_BASE32}&issuer=ACME\n");
    std::fs::write(&file, &uri).unwrap();
    let file = file.to_str().unwrap();
    let out = passcode(["totp", "--time", "59", "--secret-file", file]).run();
    let line = out.usage_error();
    assert!(line.contains("holds a key URI"), "{line}");
    assert!(line.contains("passcode uri code -"), "{line}");
    assert!(line.contains(file), "{line}");
    assert!(
        !line.contains(RFC_BASE32) && !line.contains("not base32"),
        "{line}"
    );
    // The command it suggests works.
    let out = passcode(["uri", "code", "-", "--time", "59"])
        .stdin(uri.clone())
        .run();
    assert_eq!(out.ok(), "287082\n");
    // From other sources the message says the same, without a path.
    let out = passcode(["totp", "--time", "59", "-"]).stdin(uri).run();
    assert!(out.usage_error().contains("holds a key URI"), "{out:?}");
}

#[test]
fn base32_secrets_are_read_leniently() {
    for secret in [
        "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
        "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====",
        "  gezd gnbv gy3t qojq\ngezd gnbv gy3t qojq\n\n",
    ] {
        let out = passcode(["totp", "--time", "59", "-"]).stdin(secret).run();
        assert_eq!(out.ok(), "287082\n", "{secret:?}");
        let out = passcode(["totp", "--time", "59", secret]).run();
        assert_eq!(out.ok(), "287082\n", "{secret:?}");
    }
}

#[test]
fn a_missing_secret_names_every_source() {
    let out = passcode(["totp"]).run();
    let line = out.usage_error();
    for source in ["SECRET argument", "--secret-file", "PASSCODE_SECRET", "'-'"] {
        assert!(line.contains(source), "{line}");
    }
}

#[test]
fn short_secrets_are_refused_unless_allowed_with_a_warning() {
    // 80 bits: the legacy length many services issued.
    let legacy = "JBSWY3DPEHPK3PXP";
    let out = passcode(["totp", legacy, "--time", "0"]).run();
    let line = out.usage_error();
    assert!(line.contains("the SECRET argument"), "{line}");
    assert!(line.contains("128 bits"), "{line}");
    assert!(line.contains("--allow-short-secret"), "{line}");

    let out = passcode(["totp", legacy, "--time", "0", "--allow-short-secret"]).run();
    assert_eq!(out.ok(), "282760\n");
    assert!(out.stderr.starts_with("warning: "), "{out:?}");
    assert!(out.stderr.contains("80 bits"), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1);

    // Below 80 bits nothing helps.
    let out = passcode(["totp", "JBSWY3DP", "--allow-short-secret"]).run();
    assert!(out.usage_error().contains("80 bits"));

    // Key URIs too.
    let uri = format!("otpauth://totp/alice?secret={legacy}");
    let out = passcode(["uri", "code", &uri, "--time", "0"]).run();
    assert!(out.usage_error().contains("--allow-short-secret"));
    let out = passcode(["uri", "code", &uri, "--time", "0", "--allow-short-secret"]).run();
    assert_eq!(out.ok(), "282760\n");
    assert!(out.stderr.starts_with("warning: "));
}

#[test]
fn secret_errors_name_their_source() {
    let dir = scratch_dir("secret-errors");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n").unwrap();
    let binary = dir.join("binary.txt");
    std::fs::write(&binary, [0xff, 0xfe, 0x41]).unwrap();
    let missing = dir.join("missing.txt");
    let cases: Vec<(Output, &str)> = vec![
        (
            passcode(["totp", "NOT*BASE32"]).run(),
            "invalid secret in the SECRET argument: secret is not base32",
        ),
        (
            passcode(["totp", "--secret-file", empty.to_str().unwrap()]).run(),
            "empty.txt': secret is empty",
        ),
        (
            passcode(["totp", "--secret-file", binary.to_str().unwrap()]).run(),
            "binary.txt' is not UTF-8 text",
        ),
        (
            passcode(["totp", "--secret-file", missing.to_str().unwrap()]).run(),
            "cannot read the file",
        ),
        (
            passcode(["totp"]).env("PASSCODE_SECRET", "").run(),
            "invalid secret in the PASSCODE_SECRET environment variable: secret is empty",
        ),
        (
            passcode(["totp", "-"]).stdin("").run(),
            "invalid secret in standard input: secret is empty",
        ),
        (
            passcode(["totp", "--hex", "-"]).stdin("abc").run(),
            "invalid secret in standard input: not hexadecimal",
        ),
        (
            passcode(["totp", "-"]).stdin("A".repeat(5000)).run(),
            "standard input holds more than 4096 bytes",
        ),
        (
            passcode(["totp", &"A".repeat(401)]).run(),
            "401 base32 characters",
        ),
    ];
    for (out, expected) in cases {
        let line = out.usage_error();
        assert!(line.contains(expected), "{line}");
    }
}

#[test]
fn secrets_never_appear_in_errors() {
    // Secrets that are refused, and valid ones given with a bad option.
    let dir = scratch_dir("secret-leaks");
    let secrets = [
        "NOTBASE32SECRET1", // '1' is not base32
        "ABCDEFGHIJKLMNOP", // 80 bits, too short
        RFC_BASE32,
    ];
    for secret in secrets {
        let file = dir.join("key.txt");
        std::fs::write(&file, secret).unwrap();
        let file = file.to_str().unwrap();
        let uri = format!("otpauth://totp/alice?secret={secret}&digits=5");
        let runs = [
            passcode(["totp", secret, "--digits", "5"]).run(),
            passcode(["totp", secret, "--t0", "99999999999"]).run(),
            passcode(["totp", "--secret-file", file, "--period", "0"]).run(),
            passcode(["hotp", "--counter", "0", "--hex", secret]).run(),
            passcode(["verify", "--code", "12345", secret]).run(),
            passcode(["verify", "--code", "123456", "--behind", "25"])
                .env("PASSCODE_SECRET", secret)
                .run(),
            passcode(["verify", "--code", "abcdef", "-"])
                .stdin(secret)
                .run(),
            passcode(["totp", secret, "--secret-file", file]).run(),
            passcode(["uri", "show", &uri]).run(),
            passcode(["uri", "code", "-"]).stdin(uri.clone()).run(),
            passcode(["uri", "show", &uri.replace("otpauth", "otpauth2")]).run(),
            // A stray word, which clap would repeat.
            passcode(["new", secret]).run(),
            passcode(["hotp", "--counter", "0", secret, secret]).run(),
        ];
        for out in runs {
            assert_eq!(out.code, 2, "{out:?}");
            for needle in [secret.to_owned(), secret.to_lowercase()] {
                assert!(!out.stderr.contains(&needle), "{secret} leaked: {out:?}");
            }
        }
    }
}

// ---------------------------------------------------------------- uri

const URI: &str = "otpauth://totp/ACME%20Co:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
                   &issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60";

#[test]
fn uri_show_prints_the_fields_and_hides_the_secret() {
    let out = passcode(["uri", "show", URI]).run();
    assert_eq!(
        lines(out.ok()),
        [
            "type       totp",
            "issuer     ACME Co",
            "account    alice@example.com",
            "algorithm  SHA256",
            "digits     8",
            "period     60 seconds",
            "secret     hidden, 160 bits (--reveal shows it)",
        ]
    );
    assert!(!out.stdout.contains(RFC_BASE32));
    let out = passcode(["uri", "show", "--reveal", URI]).run();
    assert!(out.ok().ends_with(&format!("secret     {RFC_BASE32}\n")));

    let value = passcode(["uri", "show", URI, "--json"]).run().json();
    assert_eq!(
        value,
        json!({
            "type": "totp",
            "issuer": "ACME Co",
            "account": "alice@example.com",
            "algorithm": "SHA256",
            "digits": 8,
            "period": 60,
            "secret_bits": 160,
        })
    );
    let value = passcode(["uri", "show", "--reveal", "--json", "-"])
        .stdin(format!("{URI}\n"))
        .run()
        .json();
    assert_eq!(value["secret"], RFC_BASE32);
}

#[test]
fn uri_show_reads_hotp_and_uris_without_issuer() {
    let uri = "otpauth://hotp/token%2017?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq&counter=42";
    let value = passcode(["uri", "show", uri, "--json"]).run().json();
    assert_eq!(
        value,
        json!({
            "type": "hotp",
            "issuer": null,
            "account": "token 17",
            "algorithm": "SHA1",
            "digits": 6,
            "counter": 42,
            "secret_bits": 160,
        })
    );
    let out = passcode(["uri", "show", uri]).run();
    assert!(out.ok().contains("counter    42\n"));
    assert!(!out.stdout.contains("issuer"));
}

/// The library refuses control and bidirectional formatting characters in
/// an issuer or account, so they never reach the terminal.
#[test]
fn uri_show_refuses_control_characters_from_the_uri() {
    for uri in [
        "otpauth://totp/Evil%1B%5B2J:alice%07?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "otpauth://totp/moc.%E2%80%AEknab:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    ] {
        for json in [false, true] {
            let mut args = vec!["uri", "show", uri];
            if json {
                args.push("--json");
            }
            let out = passcode(args).run();
            assert_eq!(out.code, 2, "{out:?}");
            assert!(
                out.stderr
                    .contains("control, line-separator or bidirectional"),
                "{out:?}"
            );
            assert!(!out.stderr.chars().any(|c| c.is_control() && c != '\n'));
        }
    }
}

#[test]
fn uri_errors_exit_2() {
    let cases = [
        (
            "https://example.com",
            "key URI does not start with otpauth://",
        ),
        ("otpauth://totp/alice", "key URI has no secret parameter"),
        (
            "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=5",
            "digits",
        ),
        (
            "otpauth://totp/A:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=B",
            "--allow-issuer-mismatch",
        ),
        (
            "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "no counter",
        ),
    ];
    for (uri, expected) in cases {
        for command in ["show", "code"] {
            let out = passcode(["uri", command, uri]).run();
            let line = out.usage_error();
            assert!(
                line.contains("the URI argument") || line.contains(expected),
                "{line}"
            );
            assert!(line.contains(expected), "{line}");
        }
    }
    let mismatch = "otpauth://totp/A:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=B";
    let value = passcode(["uri", "show", mismatch, "--allow-issuer-mismatch", "--json"])
        .run()
        .json();
    assert_eq!(value["issuer"], "B");
}

#[test]
fn uri_code_prints_the_code_of_the_uri() {
    // SHA-256, 8 digits, 60-second steps: the same as `passcode totp` with those options.
    for time in ["59", "1111111109", "2000000000"] {
        let from_uri = passcode(["uri", "code", URI, "--time", time]).run();
        let direct = passcode([
            "totp",
            RFC_BASE32,
            "--algorithm",
            "sha256",
            "--digits",
            "8",
            "--period",
            "60",
            "--time",
            time,
        ])
        .run();
        assert_eq!(from_uri.ok(), direct.ok());
        let from_uri = passcode(["uri", "code", URI, "--time", time, "--json"])
            .run()
            .json();
        let direct = passcode([
            "totp",
            RFC_BASE32,
            "--algorithm",
            "sha256",
            "--digits",
            "8",
            "--period",
            "60",
            "--time",
            time,
            "--json",
        ])
        .run()
        .json();
        assert_eq!(from_uri, direct);
    }
    let hotp = "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=7";
    assert_eq!(passcode(["uri", "code", hotp]).run().ok(), "162583\n");
    let value = passcode(["uri", "code", "-", "--json"])
        .stdin(hotp)
        .run()
        .json();
    assert_eq!(
        value,
        json!({"type": "hotp", "code": "162583", "counter": 7, "algorithm": "SHA1", "digits": 6})
    );
    let out = passcode(["uri", "code", hotp, "--time", "5"]).run();
    assert!(out.usage_error().contains("--time applies to totp URIs"));
}

// ---------------------------------------------------------------- sms

#[test]
fn sms_prints_random_numeric_codes() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10 {
        let out = passcode(["sms"]).run();
        let code = out.ok().trim_end();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        seen.insert(code.to_owned());
    }
    assert!(seen.len() > 1, "ten runs gave one code: {seen:?}");
    for digits in [4u64, 10] {
        let value = passcode(["sms", "--digits", &digits.to_string(), "--json"])
            .run()
            .json();
        assert_eq!(value["digits"], digits);
        let code = value["code"].as_str().unwrap();
        assert_eq!(code.len() as u64, digits);
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        assert_eq!(value.as_object().unwrap().len(), 2);
    }
}

// ---------------------------------------------------------------- new

/// The `secret` and `uri` lines of `passcode new`, and what follows.
fn new_text(out: &Output) -> (String, String, Vec<String>) {
    let text = out.ok();
    let mut lines = text.lines();
    let secret = lines
        .next()
        .unwrap()
        .strip_prefix("secret  ")
        .unwrap()
        .to_owned();
    let uri = lines
        .next()
        .unwrap()
        .strip_prefix("uri     ")
        .unwrap()
        .to_owned();
    (secret, uri, lines.map(str::to_owned).collect())
}

#[test]
fn new_prints_a_secret_and_its_uri() {
    let out = passcode([
        "new",
        "--issuer",
        "ACME Co",
        "--account",
        "alice@example.com",
    ])
    .run();
    assert_eq!(out.stderr, "");
    let (secret, uri, _) = new_text(&out);
    // 160 bits for SHA-1, in upper-case unpadded base32.
    assert_eq!(secret.len(), 32);
    assert!(
        secret
            .bytes()
            .all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7'))
    );
    assert_eq!(
        uri,
        format!("otpauth://totp/ACME%20Co:alice@example.com?secret={secret}&issuer=ACME%20Co")
    );
    let parsed = ParsedKeyUri::parse(&uri).unwrap();
    assert_eq!(parsed.secret(), &Secret::from_base32(&secret).unwrap());
    // Plain half blocks in a pipe: no colors or control codes.
    assert!(!out.stdout.contains('\x1b'));

    // Every run draws a new secret.
    let (again, _, _) = new_text(&passcode(["new", "--account", "alice"]).run());
    assert_ne!(secret, again);
}

#[test]
fn new_json_describes_the_enrollment() {
    let value = passcode([
        "new",
        "--json",
        "--issuer",
        "ACME",
        "--account",
        "bob",
        "--algorithm",
        "sha512",
        "--digits",
        "8",
        "--period",
        "60",
    ])
    .run()
    .json();
    let secret = value["secret"].as_str().unwrap();
    // 512 bits: 103 base32 characters.
    assert_eq!(secret.len(), 103);
    assert_eq!(
        value,
        json!({
            "secret": secret,
            "uri": format!(
                "otpauth://totp/ACME:bob?secret={secret}&issuer=ACME&algorithm=SHA512&digits=8&period=60"
            ),
            "type": "totp",
            "issuer": "ACME",
            "account": "bob",
            "algorithm": "SHA512",
            "digits": 8,
            "period": 60,
        })
    );

    let value = passcode([
        "new",
        "--json",
        "--hotp",
        "--counter",
        "5",
        "--account",
        "token",
        "--algorithm",
        "sha256",
    ])
    .run()
    .json();
    let secret = value["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 52);
    assert_eq!(
        value,
        json!({
            "secret": secret,
            "uri": format!("otpauth://hotp/token?secret={secret}&algorithm=SHA256&counter=5"),
            "type": "hotp",
            "issuer": null,
            "account": "token",
            "algorithm": "SHA256",
            "digits": 6,
            "counter": 5,
        })
    );
    let parsed = ParsedKeyUri::parse(value["uri"].as_str().unwrap()).unwrap();
    assert!(matches!(parsed.kind(), OtpKind::Hotp { counter: 5, .. }));
}

#[test]
fn new_codes_agree_with_totp_for_the_printed_secret() {
    let value = passcode([
        "new",
        "--json",
        "--account",
        "a",
        "--digits",
        "7",
        "--period",
        "45",
    ])
    .run()
    .json();
    let secret = value["secret"].as_str().unwrap();
    let uri = value["uri"].as_str().unwrap();
    for time in ["0", "1700000000"] {
        let from_uri = passcode(["uri", "code", uri, "--time", time]).run();
        let direct = passcode(["totp", "--digits", "7", "--period", "45", "--time", time])
            .env("PASSCODE_SECRET", secret)
            .run();
        assert_eq!(from_uri.ok(), direct.ok());
    }
}

#[test]
fn new_account_defaults_to_the_login_name() {
    let value = passcode(["new", "--json"])
        .env("USER", "carol")
        .run()
        .json();
    assert_eq!(value["account"], "carol");
    let value = passcode(["new", "--json"])
        .env_remove("USER")
        .env_remove("USERNAME")
        .run()
        .json();
    assert_eq!(value["account"], "user");
}

#[test]
fn new_refuses_labels_that_cannot_be_written() {
    let cases: &[(&[&str], &str)] = &[
        (&["--account", "acme:alice"], "needs an issuer"),
        (&["--account", ""], "--account: key URI has no account name"),
        (
            &["--issuer", "", "--account", "a"],
            "--issuer: key URI issuer is empty",
        ),
        (
            &["--account", &"a".repeat(5000)],
            "shorten --issuer or --account",
        ),
    ];
    for (args, expected) in cases {
        let out = passcode(["new"].iter().chain(args.iter())).run();
        let line = out.usage_error();
        assert!(line.contains(expected), "{line}");
    }
    // An account that fits a URI but not a QR code.
    let out = passcode(["new", "--account", &"a".repeat(3000)]).run();
    assert!(out.usage_error().contains("too long for a QR code"));
}

// ---------------------------------------------------------------- QR codes

#[test]
fn the_terminal_qr_code_decodes_to_the_uri() {
    for (extra, drawn_is_dark) in [(None, false), (Some("--qr-invert"), true)] {
        let out = passcode(
            [
                "new",
                "--issuer",
                "ACME Co",
                "--account",
                "alice@example.com",
            ]
            .into_iter()
            .chain(extra),
        )
        .run();
        let (_, uri, rest) = new_text(&out);
        assert_eq!(rest[0], "", "a blank line before the code");
        let drawing = &rest[1..];
        assert!(
            drawing.len() <= 23,
            "fits a 24-line terminal: {}",
            drawing.len()
        );
        let width = drawing[0].chars().count();
        assert!(drawing.iter().all(|line| line.chars().count() == width));
        assert_eq!(
            qr_read::decode(&qr_read::unpack_half_blocks(drawing, drawn_is_dark)),
            uri
        );
    }
    // Long secrets and HOTP too.
    let out = passcode(["new", "--algorithm", "sha512", "--hotp", "--account", "bob"]).run();
    let (_, uri, rest) = new_text(&out);
    assert_eq!(
        qr_read::decode(&qr_read::unpack_half_blocks(&rest[1..], false)),
        uri
    );
    // --no-qr leaves it out.
    let out = passcode(["new", "--no-qr", "--account", "bob"]).run();
    assert_eq!(out.ok().lines().count(), 2);
}

/// Reads a PNG file into modules, one pixel each (the test decodes at any scale).
fn read_png(path: &std::path::Path) -> Vec<Vec<bool>> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let (w, h) = (info.width as usize, info.height as usize);
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| pixels[y * info.line_size + x] < 128)
                .collect()
        })
        .collect()
}

/// Reads the SVG that qrcode writes (a background rectangle and one path of
/// `M{x} {y}h{w}v{h}H{x}V{y}` rectangles) into modules, one unit each.
fn read_svg(path: &std::path::Path) -> Vec<Vec<bool>> {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<?xml"), "{svg}");
    let attribute = |name: &str| -> usize {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[start..].split('"').next().unwrap().parse().unwrap()
    };
    let (w, h) = (attribute("width"), attribute("height"));
    let mut modules = vec![vec![false; w]; h];
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let [x, y, dx, dy, ..] = numbers[..] else {
            panic!("rectangle {rect:?}")
        };
        for row in &mut modules[y..y + dy] {
            row[x..x + dx].fill(true);
        }
    }
    modules
}

#[test]
fn qr_files_decode_to_the_uri_and_only_their_owner_reads_them() {
    let dir = scratch_dir("qr-files");
    let png = dir.join("alice.png");
    let svg = dir.join("alice.svg");
    let value = passcode([
        "new",
        "--json",
        "--issuer",
        "ACME",
        "--account",
        "alice",
        "--qr-png",
        png.to_str().unwrap(),
        "--qr-svg",
        svg.to_str().unwrap(),
    ])
    .run()
    .json();
    let uri = value["uri"].as_str().unwrap();
    assert_eq!(value["qr_png"], png.to_str().unwrap());
    assert_eq!(value["qr_svg"], svg.to_str().unwrap());
    assert_eq!(qr_read::decode(&read_png(&png)), uri);
    assert_eq!(qr_read::decode(&read_svg(&svg)), uri);
    #[cfg(unix)]
    for file in [&png, &svg] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }

    // Text output names the files; with --force an existing file is replaced
    // and narrowed.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&png, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = passcode([
        "new",
        "--no-qr",
        "--account",
        "bob",
        "--force",
        "--qr-png",
        png.to_str().unwrap(),
    ])
    .run();
    let (_, uri, rest) = new_text(&out);
    assert_eq!(rest, [format!("qr png  {}", png.display())]);
    assert_eq!(qr_read::decode(&read_png(&png)), uri);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&png).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let out = passcode([
        "new",
        "--qr-png",
        dir.join("no/such/dir.png").to_str().unwrap(),
    ])
    .run();
    assert!(out.usage_error().contains("cannot create"));
}

/// `passcode new` with these QR file options, in `dir`.
fn new_with_files(dir: &std::path::Path, options: &[&str]) -> Output {
    let args = ["new", "--no-qr", "--account", "alice"];
    passcode(args.iter().chain(options)).current_dir(dir).run()
}

#[test]
fn qr_files_never_replace_an_existing_file_without_force() {
    let dir = scratch_dir("qr-existing");
    for option in ["--qr-png", "--qr-svg"] {
        let file = dir.join("existing");
        std::fs::write(&file, "keep").unwrap();
        let out = new_with_files(&dir, &[option, "existing"]);
        let line = out.usage_error();
        assert!(line.contains("'existing' already exists"), "{line}");
        assert!(line.contains("--force"), "{line}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
        new_with_files(&dir, &["--force", option, "existing"]).ok();
        assert_ne!(std::fs::read(&file).unwrap(), b"keep");
    }
}

#[cfg(unix)]
#[test]
fn qr_files_never_follow_a_symlink() {
    let dir = scratch_dir("qr-symlink");
    let target = dir.join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink("target.txt", dir.join("link.png")).unwrap();
    std::os::unix::fs::symlink("missing.txt", dir.join("dangling.svg")).unwrap();
    for options in [
        &["--qr-png", "link.png"][..],
        &["--force", "--qr-png", "link.png"],
        &["--qr-svg", "dangling.svg"],
        &["--force", "--qr-svg", "dangling.svg"],
    ] {
        let out = new_with_files(&dir, options);
        let line = out.usage_error();
        assert!(!line.contains("internal"), "{line}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(!dir.join("missing.txt").exists(), "{options:?}");
        for link in ["link.png", "dangling.svg"] {
            let meta = std::fs::symlink_metadata(dir.join(link)).unwrap();
            assert!(meta.file_type().is_symlink(), "{options:?}: {link}");
        }
    }
    let line = new_with_files(&dir, &["--force", "--qr-png", "link.png"])
        .usage_error()
        .to_owned();
    assert!(line.contains("symbolic link"), "{line}");
}

#[cfg(unix)]
#[test]
fn qr_files_never_write_or_chmod_a_device() {
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
    let dir = scratch_dir("qr-device");
    // A copy of /dev/null where root may make one; otherwise /dev/null,
    // whose mode only root could change.
    let copy = dir.join("null");
    let made = std::process::Command::new("mknod")
        .args([copy.to_str().unwrap(), "c", "1", "3"])
        .status()
        .is_ok_and(|status| status.success());
    let device = if made {
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o666)).unwrap();
        copy
    } else {
        std::path::PathBuf::from("/dev/null")
    };
    let mode = || std::fs::metadata(&device).unwrap().permissions().mode();
    let before = mode();
    for force in [false, true] {
        let mut options = vec!["--qr-png", device.to_str().unwrap()];
        if force {
            options.insert(0, "--force");
        }
        let line = new_with_files(&dir, &options).usage_error().to_owned();
        let expected = if force {
            "not a regular file"
        } else {
            "already exists"
        };
        assert!(line.contains(expected), "{line}");
        assert_eq!(mode(), before, "{}", device.display());
        assert!(
            std::fs::metadata(&device)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
}

#[test]
fn qr_png_and_svg_to_the_same_path_are_refused() {
    let dir = scratch_dir("qr-same");
    for (png, svg) in [("qr", "qr"), ("qr", "./qr"), ("-", "-")] {
        let out = new_with_files(&dir, &["--qr-png", png, "--qr-svg", svg]);
        let line = out.usage_error();
        assert!(line.contains("the same file"), "{line}");
        assert!(!dir.join("qr").exists());
    }
}

#[test]
fn qr_file_dash_is_standard_output() {
    let dir = scratch_dir("qr-stdout");
    // SVG: the file alone on standard output, no text around it.
    let out = new_with_files(&dir, &["--qr-svg", "-"]);
    let svg = out.ok();
    assert!(svg.starts_with("<?xml"), "{svg}");
    assert!(!svg.contains("secret  "), "{svg}");
    let file = dir.join("from-stdout.svg");
    std::fs::write(&file, svg).unwrap();
    let uri = qr_read::decode(&read_svg(&file));
    assert!(uri.starts_with("otpauth://totp/alice?secret="), "{uri}");
    assert!(!dir.join("-").exists());
    // PNG: binary on standard output.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_passcode"))
        .args(["new", "--account", "alice", "--qr-png", "-"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let file = dir.join("from-stdout.png");
    std::fs::write(&file, &output.stdout).unwrap();
    let uri = qr_read::decode(&read_png(&file));
    assert!(uri.starts_with("otpauth://totp/alice?secret="), "{uri}");
    assert!(!dir.join("-").exists());
    // JSON and an image cannot share standard output.
    let line = new_with_files(&dir, &["--json", "--qr-svg", "-"])
        .usage_error()
        .to_owned();
    assert!(line.contains("--json"), "{line}");
}

#[test]
fn the_readme_installs_with_the_lock_file_and_names_the_toolchain() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let installs: Vec<&str> = readme
        .lines()
        .filter(|line| line.contains("cargo install"))
        .collect();
    assert!(!installs.is_empty());
    for line in installs {
        assert!(line.contains("--locked"), "{line}");
    }
    let top: String = readme.lines().take(12).collect();
    let rust = format!("Rust {}", env!("CARGO_PKG_RUST_VERSION"));
    assert!(top.contains(&rust), "{rust} near the top of the README");
}

// ---------------------------------------------------------------- output

#[test]
fn json_is_one_object_for_every_command() {
    let runs: Vec<(Output, Option<&str>)> = vec![
        (passcode(["new", "--json", "--account", "a"]).run(), None),
        (passcode(["totp", "--json", RFC_BASE32]).run(), None),
        (
            passcode(["hotp", "--json", "--counter", "0", RFC_BASE32]).run(),
            None,
        ),
        (
            passcode([
                "verify", "--json", "--code", "000000", RFC_BASE32, "--time", "59",
            ])
            .run(),
            Some("valid"),
        ),
        (passcode(["uri", "show", "--json", URI]).run(), None),
        (passcode(["uri", "code", "--json", URI]).run(), None),
        (passcode(["sms", "--json"]).run(), None),
    ];
    for (out, key) in runs {
        let value: Value = out.json();
        assert!(value.is_object(), "{value}");
        if let Some(key) = key {
            assert!(value.get(key).is_some(), "{value}");
        }
        // snake_case keys, all of them.
        fn keys(value: &Value, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        found.push(key.clone());
                        keys(value, found);
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| keys(v, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        keys(&value, &mut found);
        for key in found {
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()),
                "{key}"
            );
        }
    }
}

#[test]
fn output_to_a_pipe_has_no_control_codes() {
    let runs = [
        passcode(["new", "--account", "a"]).run(),
        passcode(["totp", RFC_BASE32, "--window", "3"]).run(),
        passcode(["hotp", "--counter", "0", RFC_BASE32, "--window", "3"]).run(),
        passcode(["verify", "--code", "287082", RFC_BASE32, "--time", "59"]).run(),
        passcode(["uri", "show", URI]).run(),
        passcode(["sms"]).run(),
        passcode(["--help"]).run(),
        passcode(["totp", "--digits", "x"]).run(),
    ];
    for out in runs {
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.chars().any(|c| c.is_control() && c != '\n'),
                "{out:?}"
            );
        }
    }
}

/// HOTP of `counter` by Python's standard `hmac` module (an implementation
/// independent of this workspace), or `None` without `python3`.
fn python_hotp(algorithm: &str, key_hex: &str, counter: u64, digits: u32) -> Option<String> {
    let script = "import hmac, hashlib, struct, sys
alg, key, counter, digits = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mac = hmac.new(key, struct.pack('>Q', counter), getattr(hashlib, alg)).digest()
offset = mac[-1] & 15
word = struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7fffffff
print(str(word % 10 ** digits).zfill(digits))";
    let output = std::process::Command::new("python3")
        .args(["-c", script, algorithm, key_hex])
        .args([counter.to_string(), digits.to_string()])
        .output()
        .ok()?;
    assert!(output.status.success(), "{output:?}");
    Some(String::from_utf8(output.stdout).unwrap())
}

/// Regression: keys longer than 128 bytes were refused ("secret is longer
/// than 128 bytes"), where oathtool and pyotp compute the code. A 129-byte
/// and a 300-byte key, in hex and base32, give Python's HMAC codes (or,
/// without Python, those of the library keyed with the raw bytes).
#[test]
fn keys_longer_than_128_bytes_give_their_codes() {
    for len in [129usize, 300] {
        let key: Vec<u8> = (0..len).map(|i| (i * 37 + 11).to_le_bytes()[0]).collect();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        for (algorithm, python, lib) in [
            ("sha1", "sha1", passcode::Algorithm::Sha1),
            ("sha256", "sha256", passcode::Algorithm::Sha256),
            ("sha512", "sha512", passcode::Algorithm::Sha512),
        ] {
            let expected = python_hotp(python, &hex, 1, 8).unwrap_or_else(|| {
                let config = passcode::TotpConfig::new()
                    .with_algorithm(lib)
                    .with_digits(passcode::Digits::EIGHT);
                let totp = passcode::Totp::from_key(&key, config).unwrap();
                format!("{}\n", totp.generate(59).unwrap())
            });
            let args = [
                "totp",
                "--time",
                "59",
                "--digits",
                "8",
                "--algorithm",
                algorithm,
            ];
            let out = passcode(args.iter().chain(&["--hex", &hex])).run();
            assert_eq!(out.ok(), expected, "{algorithm}, {len} bytes, hex");
            let out = passcode(args.iter().chain(&["-"]))
                .stdin(base32_of(&key))
                .run();
            assert_eq!(out.ok(), expected, "{algorithm}, {len} bytes, base32");
        }
    }
}

/// RFC 4648 base32 without padding.
fn base32_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(ALPHABET[(bits >> (35 - 5 * i) & 31) as usize]));
        }
    }
    out
}
