//! Interop of `otpauth://` key URIs with `pyotp` (Python), both ways, over
//! seeded-random accounts, issuers, secrets and parameters: URIs pyotp
//! writes read in `passcode` to the same values, and URIs `passcode` writes
//! read in pyotp to the same values and the same codes.
//!
//! Without the tools these tests fail, saying how to install them;
//! `PASSCODE_INTEROP=skip` skips them instead (`tests/support/tools.rs`).
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{
    Algorithm, Digits, Hotp, HotpConfig, KeyUri, OtpKind, ParsedKeyUri, Period, Secret, Totp,
    TotpConfig, UriError,
};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use serde_json::{Value, json};

#[path = "support/tools.rs"]
mod tools;

const SEED: u64 = 0x6f74_7061_7574_6821;
const CASES: usize = 400;
/// Of `CASES`, at least this many must be compared field by field (the rest
/// may fall on a documented pyotp limit).
const COMPARED: usize = 250;
const TIMES: [u64; 5] = [0, 59, 1_111_111_109, 2_000_000_000, 4_102_444_800];

/// Characters that need escaping in a label or a query, characters that
/// must not be, and multi-byte UTF-8.
const CHARACTERS: &[char] = &[
    ' ', ':', '@', '+', '%', '&', '=', '?', '/', '#', '-', '.', '_', '~', '\'', ',', ';', 'a', 'b',
    'Z', '0', '7', 'é', 'ü', 'ß', '中', '😀',
];

/// Runs `tests/interop/pyotp_uri.py` over `requests`, one answer each.
fn pyotp(requests: &[Value]) -> Vec<Value> {
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let answers: Vec<Value> = tools::python("pyotp_uri.py", &input)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), requests.len());
    answers
}

#[derive(Debug, Clone)]
struct Case {
    key: Vec<u8>,
    kind: OtpKind,
    issuer: Option<String>,
    account: String,
}

fn text(rng: &mut StdRng) -> String {
    let len = rng.random_range(1..=16);
    (0..len)
        .map(|_| CHARACTERS[rng.random_range(0..CHARACTERS.len())])
        .collect()
}

impl Case {
    /// A random case whose TOTP period is drawn from `periods`.
    fn random(rng: &mut StdRng, periods: fn(&mut StdRng) -> u64) -> Self {
        let mut key = vec![0; rng.random_range(16..=64)];
        rng.fill_bytes(&mut key);
        let algorithm =
            [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][rng.random_range(0..3)];
        // Mostly 6 to 8 digits, which every reader takes; 9 and 10 too.
        let digits = if rng.random_bool(0.85) {
            rng.random_range(6..=8)
        } else {
            rng.random_range(9..=10)
        };
        let digits = Digits::new(digits).unwrap();
        let kind = if rng.random_bool(0.7) {
            let config = TotpConfig::new()
                .with_algorithm(algorithm)
                .with_digits(digits)
                .with_period(Period::new(periods(rng)).unwrap());
            OtpKind::Totp(config)
        } else {
            let counter = match rng.random_range(0..4) {
                0 => 0,
                1 => u64::MAX,
                2 => rng.random_range(0..1000),
                _ => rng.random(),
            };
            let config = HotpConfig::new()
                .with_algorithm(algorithm)
                .with_digits(digits);
            OtpKind::Hotp { config, counter }
        };
        Case {
            key,
            kind,
            issuer: rng.random_bool(0.75).then(|| text(rng)),
            account: text(rng),
        }
    }

    fn secret(&self) -> Secret {
        Secret::from_bytes(&self.key).unwrap()
    }

    fn algorithm(&self) -> Algorithm {
        match self.kind {
            OtpKind::Totp(config) => config.algorithm(),
            OtpKind::Hotp { config, .. } => config.algorithm(),
        }
    }

    fn digits(&self) -> u8 {
        match self.kind {
            OtpKind::Totp(config) => config.digits().get(),
            OtpKind::Hotp { config, .. } => config.digits().get(),
        }
    }
}

/// `passcode`'s codes for a kind: TOTP at each of `TIMES`, HOTP at its counter.
fn codes(secret: &Secret, kind: OtpKind) -> Vec<String> {
    match kind {
        OtpKind::Totp(config) => {
            let totp = Totp::new(secret, config).unwrap();
            TIMES
                .iter()
                .map(|&time| totp.generate(time).unwrap().to_string())
                .collect()
        }
        OtpKind::Hotp { config, counter } => {
            vec![
                Hotp::new(secret, config)
                    .unwrap()
                    .generate(counter)
                    .to_string(),
            ]
        }
    }
}

fn any_period(rng: &mut StdRng) -> u64 {
    match rng.random_range(0..10) {
        0..=3 => 30,
        4 => 60,
        5 => 1,
        6 => 120,
        7 => rng.random_range(2..=119),
        // Longer than pyotp takes (see below).
        8 => [121, 300, 3600][rng.random_range(0..3)],
        _ => rng.random_range(121..=u64::MAX),
    }
}

/// pyotp's TOTP refuses periods above 120 seconds, so it cannot write them.
fn pyotp_period(rng: &mut StdRng) -> u64 {
    match rng.random_range(0..6) {
        0..=2 => 30,
        3 => 60,
        4 => [1, 120][rng.random_range(0..2)],
        _ => rng.random_range(1..=120),
    }
}

#[test]
fn pyotp_reads_what_passcode_writes() {
    if !tools::pyotp_present() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut cases = Vec::new();
    let mut uris = Vec::new();
    while cases.len() < CASES {
        let case = Case::random(&mut rng, any_period);
        let secret = case.secret();
        let uri = match &case.issuer {
            Some(issuer) => KeyUri::with_issuer(&secret, case.kind, issuer, &case.account),
            None => KeyUri::new(&secret, case.kind, &case.account),
        };
        // Refused by design and tested in tests/uri.rs: not for pyotp.
        if case.issuer.is_none() && case.account.contains(':') {
            assert_eq!(uri.err(), Some(UriError::AmbiguousAccount));
            continue;
        }
        uris.push(uri.unwrap().to_string());
        cases.push(case);
    }
    let requests: Vec<Value> = uris
        .iter()
        .map(|uri| json!({"op": "read", "uri": uri, "times": TIMES}))
        .collect();
    let answers = pyotp(&requests);

    let mut compared = 0;
    for ((case, uri), answer) in cases.iter().zip(&uris).zip(&answers) {
        let context = format!("{uri}\n{case:?}\n{answer}");
        let totp_period = match case.kind {
            OtpKind::Totp(config) => Some(config.period().seconds()),
            OtpKind::Hotp { .. } => None,
        };
        // pyotp quirk: `parse_uri` takes only 6, 7 or 8 digits, although its
        // own OTP classes (and RFC 4226 and this crate) allow 6 to 10.
        if case.digits() > 8 {
            assert_eq!(
                answer["error"], "ValueError: Digits may only be 6, 7, or 8",
                "{context}"
            );
            continue;
        }
        // pyotp quirk: its TOTP refuses periods above 120 seconds (its
        // reading of NIST SP 800-63B); the format sets no limit.
        if totp_period.is_some_and(|period| period > 120) {
            assert_eq!(
                answer["error"], "ValueError: interval must be positive and at most 120 seconds",
                "{context}"
            );
            continue;
        }
        let secret = case.secret();
        let mut expected = json!({
            "kind": if totp_period.is_some() { "totp" } else { "hotp" },
            "secret": secret.to_base32().to_string(),
            "account": case.account,
            "issuer": case.issuer,
            "algorithm": case.algorithm().name(),
            "digits": case.digits(),
            "codes": codes(&secret, case.kind),
        });
        match case.kind {
            OtpKind::Totp(config) => expected["period"] = json!(config.period().seconds()),
            OtpKind::Hotp { counter, .. } => expected["counter"] = json!(counter),
        }
        assert_eq!(*answer, expected, "{context}");
        compared += 1;
    }
    assert!(compared >= COMPARED, "only {compared} cases compared");
}

#[test]
fn passcode_reads_what_pyotp_writes() {
    if !tools::pyotp_present() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(SEED ^ 1);
    let cases: Vec<Case> = (0..CASES)
        .map(|_| Case::random(&mut rng, pyotp_period))
        .collect();
    let requests: Vec<Value> = cases
        .iter()
        .map(|case| {
            // The secret as exports spell it: upper or lower case, with or
            // without padding (which pyotp's URI then carries as `%3D`).
            let mut secret = data_encoding::BASE32_NOPAD.encode(&case.key);
            if rng.random_bool(0.3) {
                secret = secret.to_lowercase();
            }
            if rng.random_bool(0.3) {
                secret = data_encoding::BASE32.encode(&case.key);
            }
            let (kind, period, counter) = match case.kind {
                OtpKind::Totp(config) => ("totp", config.period().seconds(), 0),
                OtpKind::Hotp { counter, .. } => ("hotp", 30, counter),
            };
            json!({
                "op": "write",
                "kind": kind,
                "secret": secret,
                "account": case.account,
                "issuer": case.issuer,
                "algorithm": case.algorithm().name(),
                "digits": case.digits(),
                "period": period,
                "counter": counter,
                "times": TIMES,
            })
        })
        .collect();
    let answers = pyotp(&requests);

    let mut compared = 0;
    for (case, answer) in cases.iter().zip(&answers) {
        let uri = answer["uri"].as_str().unwrap();
        let context = format!("{uri}\n{case:?}");
        let parsed = ParsedKeyUri::parse(uri);
        let (issuer, account) = match (&case.issuer, case.account.split_once(':')) {
            // pyotp quirk: without an issuer it writes a colon in the account
            // name as `%3A`, and the Key Uri Format reads `%3A` in a label as
            // the issuer separator (pyotp's own reader splits only at a
            // literal colon). So the part before the first colon comes back
            // as the issuer, and an account that ends at that colon is empty.
            (None, Some((prefix, rest))) => {
                if rest.is_empty() {
                    assert_eq!(parsed.err(), Some(UriError::EmptyAccount), "{context}");
                    continue;
                }
                // An empty prefix leaves no issuer, and an issuer-less
                // account with a colon is refused, as it is when written.
                if prefix.is_empty() && rest.contains(':') {
                    assert_eq!(parsed.err(), Some(UriError::AmbiguousAccount), "{context}");
                    continue;
                }
                ((!prefix.is_empty()).then(|| prefix.to_owned()), rest)
            }
            (issuer, _) => (issuer.clone(), case.account.as_str()),
        };
        let parsed = parsed.map_err(|e| format!("{context}\n{e}")).unwrap();
        assert_eq!(parsed.account(), account, "{context}");
        assert_eq!(
            parsed.issuer().map(|issuer| issuer.to_string()),
            issuer,
            "{context}"
        );
        assert_eq!(parsed.secret().as_bytes(), case.key, "{context}");
        assert_eq!(parsed.kind(), case.kind, "{context}");
        let pyotp_codes: Vec<String> = serde_json::from_value(answer["codes"].clone()).unwrap();
        assert_eq!(
            codes(parsed.secret(), parsed.kind()),
            pyotp_codes,
            "{context}"
        );
        compared += 1;
    }
    assert!(compared >= COMPARED, "only {compared} cases compared");
}
