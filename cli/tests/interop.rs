//! The `passcode` binary against two independent implementations: its codes
//! equal `oathtool`'s (OATH Toolkit, C) for the same secret and time, over
//! algorithms, digits, periods, start times and every secret source; and a
//! URI from `passcode new`, read by `pyotp.parse_uri` (Python), gives the
//! same codes as `passcode totp --time` and `passcode hotp`.
//!
//! Without the tools these tests fail, saying how to install them;
//! `PASSCODE_INTEROP=skip` skips them instead (`tests/support/tools.rs`).
// In a test, a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/run.rs"]
mod support;
// The library's rule for missing interop tools, and its tool runners.
#[path = "../../tests/support/tools.rs"]
mod tools;

use std::sync::atomic::{AtomicUsize, Ordering};

use passcode::{MinLength, Secret};
use serde_json::json;
use support::passcode;

/// A deterministic stream of test numbers (SplitMix64).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap();
        items[index]
    }

    fn key(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn base32(key: &[u8]) -> String {
    Secret::from_bytes_with_min(key, MinLength::Bits80)
        .unwrap()
        .to_base32()
        .to_string()
}

/// How a test hands the secret to `passcode`: each source in turn, in
/// base32 or hex.
#[derive(Debug, Clone, Copy)]
enum Source {
    Argument,
    File,
    Environment,
    Stdin,
}

const SOURCES: [Source; 4] = [
    Source::Argument,
    Source::File,
    Source::Environment,
    Source::Stdin,
];

/// Runs `passcode <args>` with `key` given through `source`, and returns
/// its standard output.
fn passcode_with(args: &[String], key: &[u8], source: Source, as_hex: bool) -> String {
    let text = if as_hex { hex(key) } else { base32(key) };
    let mut args = args.to_vec();
    if as_hex {
        args.push("--hex".into());
    }
    if key.len() < 16 {
        args.push("--allow-short-secret".into());
    }
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "interop-key-{}",
        FILES.fetch_add(1, Ordering::Relaxed)
    ));
    let run = match source {
        Source::Argument => {
            args.push(text);
            passcode(&args)
        }
        Source::File => {
            std::fs::write(&file, format!("{text}\n")).unwrap();
            args.extend(["--secret-file".into(), file.to_str().unwrap().into()]);
            passcode(&args)
        }
        Source::Environment => passcode(&args).env("PASSCODE_SECRET", &text),
        Source::Stdin => {
            args.push("-".into());
            passcode(&args).stdin(text)
        }
    };
    let out = run.run();
    assert_eq!(out.code, 0, "{args:?} via {source:?}: {out:?}");
    out.stdout
}

const ALGORITHMS: [&str; 3] = ["sha1", "sha256", "sha512"];
const TIMES: [u64; 8] = [
    0,
    59,
    1_111_111_109,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) - 1,
    4_102_444_800,
    20_000_000_000,
];

#[test]
fn totp_codes_match_oathtool() {
    if !tools::oathtool_and_pyotp_present() {
        return;
    }
    let mut numbers = Numbers(0x636c_6920_746f_7470);
    for case in 0..48usize {
        let algorithm = ALGORITHMS[case % 3];
        let digits = 6 + numbers.below(3);
        let period = numbers.pick(&[30, 60, 10, 45]);
        let time = if case % 2 == 0 {
            numbers.pick(&TIMES)
        } else {
            numbers.below(40_000_000_000)
        };
        let t0 = if case % 3 == 0 {
            numbers.below(time + 1)
        } else {
            0
        };
        // Legacy 80-bit keys, the recommended lengths, and longer ones.
        let len = numbers.pick(&[10, 16, 20, 32, 64, 100]);
        let key = numbers.key(len);
        let source = SOURCES[case % 4];

        let args: Vec<String> = [
            "totp".to_owned(),
            format!("--algorithm={algorithm}"),
            format!("--digits={digits}"),
            format!("--period={period}"),
            format!("--t0={t0}"),
            format!("--time={time}"),
        ]
        .into();
        let ours = passcode_with(&args, &key, source, case % 5 == 0);
        let theirs = tools::oathtool(&[
            &format!("--totp={algorithm}"),
            &format!("--digits={digits}"),
            &format!("--time-step-size={period}s"),
            &format!("--start-time=@{t0}"),
            &format!("--now=@{time}"),
            &hex(&key),
        ]);
        assert_eq!(
            ours, theirs,
            "{args:?} with a {len}-byte key via {source:?}"
        );
    }
}

#[test]
fn totp_window_matches_oathtool_window() {
    if !tools::oathtool_and_pyotp_present() {
        return;
    }
    let mut numbers = Numbers(7);
    for algorithm in ALGORITHMS {
        let key = numbers.key(32);
        let time = 1_700_000_000 + numbers.below(1_000_000);
        let args: Vec<String> = [
            "totp".to_owned(),
            "--json".to_owned(),
            format!("--algorithm={algorithm}"),
            format!("--time={time}"),
            "--window=4".to_owned(),
        ]
        .into();
        let out = passcode_with(&args, &key, Source::Stdin, false);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        // oathtool's window counts forward from the current step.
        let ours: Vec<&str> = value["codes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["offset"].as_i64().unwrap() >= 0)
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        let theirs = tools::oathtool(&[
            &format!("--totp={algorithm}"),
            &format!("--now=@{time}"),
            "--window=4",
            &hex(&key),
        ]);
        assert_eq!(ours, theirs.lines().collect::<Vec<_>>(), "{algorithm}");
    }
}

#[test]
fn hotp_codes_match_oathtool() {
    if !tools::oathtool_and_pyotp_present() {
        return;
    }
    let mut numbers = Numbers(0x636c_6920_686f_7470);
    for case in 0..24usize {
        // oathtool's HOTP is HMAC-SHA-1 only.
        let digits = 6 + numbers.below(3);
        let counter = match case % 4 {
            0 => numbers.below(1000),
            1 => numbers.below(1 << 32),
            2 => numbers.next() >> 1,
            _ => [0, (1 << 32) - 1, 1 << 32, u64::MAX - 3][case / 4 % 4],
        };
        let len = numbers.pick(&[10, 20, 40]);
        let key = numbers.key(len);
        let source = SOURCES[case % 4];
        let args: Vec<String> = [
            "hotp".to_owned(),
            format!("--counter={counter}"),
            format!("--digits={digits}"),
            "--window=3".to_owned(),
        ]
        .into();
        let ours = passcode_with(&args, &key, source, case % 3 == 0);
        let ours: Vec<&str> = ours
            .lines()
            .map(|line| line.split_whitespace().nth(3).unwrap())
            .collect();
        let theirs = tools::oathtool(&[
            "--hotp",
            &format!("--digits={digits}"),
            &format!("--counter={counter}"),
            "--window=3",
            &hex(&key),
        ]);
        assert_eq!(
            ours,
            theirs.lines().collect::<Vec<_>>(),
            "{args:?} via {source:?}"
        );
    }
}

#[test]
fn verify_accepts_oathtool_codes() {
    if !tools::oathtool_and_pyotp_present() {
        return;
    }
    let mut numbers = Numbers(99);
    for (algorithm, drift) in [("sha1", -1i64), ("sha256", 0), ("sha512", 1)] {
        let key = numbers.key(20);
        let time = 1_700_000_000u64;
        // The code of the step `drift` away from the verifier's.
        let device_time = time.checked_add_signed(drift * 30).unwrap();
        let code = tools::oathtool(&[
            &format!("--totp={algorithm}"),
            &format!("--now=@{device_time}"),
            &hex(&key),
        ]);
        let out = passcode([
            "verify",
            "--json",
            "--algorithm",
            algorithm,
            "--time",
            &time.to_string(),
            "--code",
            code.trim(),
        ])
        .env("PASSCODE_SECRET", &base32(&key))
        .run();
        let step = time / 30;
        assert_eq!(
            out.json(),
            json!({"valid": true, "step": step.checked_add_signed(drift).unwrap(), "drift": drift})
        );
    }
    let key = numbers.key(20);
    let code = tools::oathtool(&["--hotp", "--counter=12", &hex(&key)]);
    let out = passcode([
        "verify",
        "--hotp",
        "--counter",
        "10",
        "--ahead",
        "5",
        "--hex",
        "--code",
        code.trim(),
        &hex(&key),
    ])
    .run();
    assert_eq!(out.ok(), "valid: counter 12 (drift +2), next counter 13\n");
}

/// Codes pyotp computes for a URI: `at` is a Unix time for TOTP and, for
/// HOTP, an offset from the URI's counter, as `pyotp`'s `at` takes them.
fn pyotp_codes(uri: &str, at: &[u64]) -> Vec<String> {
    let request = json!({"uri": uri, "at": at}).to_string();
    serde_json::from_str(&tools::python("pyotp_uri_codes.py", &request)).unwrap()
}

#[test]
fn a_new_uri_read_by_pyotp_gives_the_same_codes() {
    if !tools::oathtool_and_pyotp_present() {
        return;
    }
    let times = [59, 1_111_111_109, 1_700_000_000, 4_102_444_800];
    let totp_options: [&[&str]; 4] = [
        &[],
        &["--algorithm", "sha256", "--digits", "8", "--period", "60"],
        &["--algorithm", "sha512", "--digits", "7", "--period", "15"],
        &["--issuer", "ACME Co"],
    ];
    for options in totp_options {
        let new = passcode(
            ["new", "--json", "--account", "alice+2fa@example.com"]
                .iter()
                .chain(options),
        )
        .run();
        let value = new.json();
        let (uri, secret) = (
            value["uri"].as_str().unwrap(),
            value["secret"].as_str().unwrap(),
        );
        let theirs = pyotp_codes(uri, &times);
        for (time, theirs) in times.iter().zip(theirs) {
            let time = time.to_string();
            // The same parameters on the command line, the secret from the environment.
            let mut args = vec!["totp", "--time", &time];
            for pair in options.chunks(2) {
                if matches!(pair[0], "--algorithm" | "--digits" | "--period") {
                    args.extend(pair);
                }
            }
            let direct = passcode(&args).env("PASSCODE_SECRET", secret).run();
            assert_eq!(direct.ok(), format!("{theirs}\n"), "{uri} at {time}");
            let from_uri = passcode(["uri", "code", "-", "--time", &time])
                .stdin(uri)
                .run();
            assert_eq!(from_uri.ok(), format!("{theirs}\n"), "{uri} at {time}");
        }
    }

    // pyotp's HOTP `at(n)` is the code of counter `counter + n`, the URI's
    // counter being where the token starts.
    let offsets = [0, 1, 5, 1 << 32];
    for algorithm in ALGORITHMS {
        let new = passcode([
            "new",
            "--json",
            "--hotp",
            "--counter",
            "5",
            "--algorithm",
            algorithm,
            "--digits",
            "8",
        ])
        .run();
        let value = new.json();
        let (uri, secret) = (
            value["uri"].as_str().unwrap(),
            value["secret"].as_str().unwrap(),
        );
        let theirs = pyotp_codes(uri, &offsets);
        for (offset, theirs) in offsets.iter().zip(&theirs) {
            let counter = (5 + offset).to_string();
            let direct = passcode([
                "hotp",
                "--counter",
                &counter,
                "--algorithm",
                algorithm,
                "--digits",
                "8",
                "-",
            ])
            .stdin(secret)
            .run();
            assert_eq!(
                direct.ok(),
                format!("{theirs}\n"),
                "{uri} counter {counter}"
            );
        }
        // `uri code` gives the code of the URI's own counter.
        let from_uri = passcode(["uri", "code", uri]).run();
        assert_eq!(from_uri.ok(), format!("{}\n", theirs[0]));
    }
}
