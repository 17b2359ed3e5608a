//! Interop with two independent implementations: `oathtool` (OATH Toolkit,
//! C) and `pyotp` (Python). Thousands of random keys, algorithms, lengths,
//! periods, start times and times, with the edges of 32-bit time among them;
//! every code must agree three ways, and `passcode` must verify the others'
//! codes.
//!
//! Without the tools these tests fail, saying how to install them;
//! `PASSCODE_INTEROP=skip` skips them instead (`tests/support/tools.rs`).
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{Algorithm, Digits, Hotp, HotpConfig, LookAhead, Period, Totp, TotpConfig, Window};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

#[path = "support/tools.rs"]
mod tools;

const SEED: u64 = 0x7061_7373_636f_6465;
const TOTP_CASES: usize = 2000;
const HOTP_CASES: usize = 300;

/// 2100-01-01T00:00:00Z.
const YEAR_2100: u64 = 4_102_444_800;
const SPECIAL_TIMES: [u64; 12] = [
    0,
    1,
    29,
    30,
    59,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) - 1,
    1 << 32,
    YEAR_2100 - 1,
    YEAR_2100,
    20_000_000_000,
];

#[derive(Debug)]
struct Case {
    key: Vec<u8>,
    algorithm: Algorithm,
    digits: u8,
    period: u64,
    t0: u64,
    time: u64,
}

impl Case {
    fn random(rng: &mut StdRng, digits: std::ops::RangeInclusive<u8>) -> Self {
        let len = rng.random_range(10..=129);
        let mut key = vec![0; len];
        rng.fill_bytes(&mut key);
        let algorithm =
            [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][rng.random_range(0..3)];
        let time = if rng.random_bool(0.4) {
            SPECIAL_TIMES[rng.random_range(0..SPECIAL_TIMES.len())]
        } else {
            rng.random_range(0..=2 * YEAR_2100)
        };
        let t0 = if rng.random_bool(0.7) {
            0
        } else {
            rng.random_range(0..=time)
        };
        Case {
            key,
            algorithm,
            digits: rng.random_range(digits),
            period: [10, 30, 60][rng.random_range(0..3)],
            t0,
            time,
        }
    }

    fn hex(&self) -> String {
        self.key.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn totp(&self) -> Totp {
        let config = TotpConfig::new()
            .with_algorithm(self.algorithm)
            .with_digits(Digits::new(self.digits).unwrap())
            .with_period(Period::new(self.period).unwrap())
            .with_t0(self.t0);
        Totp::from_key(&self.key, config).unwrap()
    }

    fn oathtool_totp(&self) -> String {
        let mode = format!("--totp={}", self.algorithm.name().to_lowercase());
        tools::oathtool(&[
            &mode,
            &format!("--digits={}", self.digits),
            &format!("--time-step-size={}s", self.period),
            &format!("--start-time=@{}", self.t0),
            &format!("--now=@{}", self.time),
            &self.hex(),
        ])
        .trim()
        .to_owned()
    }

    /// pyotp has no T0; TOTP with T0 at time t is TOTP at t - T0.
    fn pyotp_line(&self) -> String {
        format!(
            "totp {} {} {} {} {}",
            self.hex(),
            self.algorithm.name(),
            self.digits,
            self.period,
            self.time - self.t0
        )
    }
}

fn pyotp(lines: &[String]) -> Vec<String> {
    let output = tools::python("pyotp_codes.py", &(lines.join("\n") + "\n"));
    let codes: Vec<String> = output.lines().map(str::to_owned).collect();
    assert_eq!(codes.len(), lines.len());
    codes
}

#[test]
fn totp_agrees_with_oathtool_and_pyotp() {
    if !tools::oathtool_and_pyotp_present() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    // oathtool prints 6 to 8 digits; pyotp also takes 9 and 10.
    let cases: Vec<Case> = (0..TOTP_CASES)
        .map(|_| Case::random(&mut rng, 6..=8))
        .collect();
    let long: Vec<Case> = (0..200).map(|_| Case::random(&mut rng, 9..=10)).collect();
    let python = pyotp(
        &cases
            .iter()
            .chain(&long)
            .map(Case::pyotp_line)
            .collect::<Vec<_>>(),
    );
    for (case, pyotp_code) in cases.iter().chain(&long).zip(&python) {
        let totp = case.totp();
        let ours = totp.generate(case.time).unwrap();
        assert_eq!(ours.as_str(), pyotp_code, "pyotp disagrees: {case:?}");
        if case.digits <= 8 {
            assert_eq!(
                ours.as_str(),
                case.oathtool_totp(),
                "oathtool disagrees: {case:?}"
            );
        }
        let matched = totp.verify(pyotp_code, case.time, Window::CURRENT).unwrap();
        assert_eq!(Ok(matched.step), totp.config().step(case.time));
    }
}

#[test]
fn hotp_agrees_with_oathtool_and_pyotp() {
    if !tools::oathtool_and_pyotp_present() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(SEED ^ 1);
    let cases: Vec<(Case, u64)> = (0..HOTP_CASES)
        .map(|i| {
            let counter = match i % 4 {
                0 => rng.random_range(0..1000),
                1 => rng.random::<u32>().into(),
                2 => rng.random_range(0..u64::MAX),
                _ => [0, (1 << 32) - 1, 1 << 32, u64::MAX - 1][i / 4 % 4],
            };
            (Case::random(&mut rng, 6..=8), counter)
        })
        .collect();
    let lines: Vec<String> = cases
        .iter()
        .map(|(case, counter)| {
            format!(
                "hotp {} {} {} {counter}",
                case.hex(),
                case.algorithm.name(),
                case.digits
            )
        })
        .collect();
    let python = pyotp(&lines);
    for ((case, counter), pyotp_code) in cases.iter().zip(&python) {
        let config = HotpConfig::new()
            .with_algorithm(case.algorithm)
            .with_digits(Digits::new(case.digits).unwrap());
        let hotp = Hotp::from_key(&case.key, config).unwrap();
        let ours = hotp.generate(*counter);
        assert_eq!(
            ours.as_str(),
            pyotp_code,
            "pyotp disagrees: {case:?} counter {counter}"
        );
        // oathtool's HOTP is HMAC-SHA-1 only.
        if case.algorithm == Algorithm::Sha1 {
            let oath = tools::oathtool(&[
                "--hotp",
                &format!("--digits={}", case.digits),
                &format!("--counter={counter}"),
                &case.hex(),
            ]);
            assert_eq!(
                ours.as_str(),
                oath.trim(),
                "oathtool disagrees: {case:?} counter {counter}"
            );
        }
        let matched = hotp
            .verify(pyotp_code, *counter, LookAhead::new(0).unwrap())
            .unwrap();
        assert_eq!(matched.next_counter, counter + 1);
    }
}
