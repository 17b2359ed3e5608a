//! Naive reference implementations of what `passcode` documents.

use hmac::{KeyInit, Mac};
use passcode::{Algorithm, CodeError, StepError, VerifyError};

/// HMAC(key, counter as 8 big-endian bytes) with the `hmac` crate.
pub fn hmac(algorithm: Algorithm, key: &[u8], counter: u64) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(&counter.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        Algorithm::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, counter),
        Algorithm::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, counter),
        Algorithm::Sha512 => run::<hmac::Hmac<sha2::Sha512>>(key, counter),
        other => unreachable!("no reference for {other:?}"),
    }
}

/// RFC 4226 §5.3 dynamic truncation, indexing the digest directly.
pub fn truncate(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let word = [
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ];
    u32::from_be_bytes(word) & 0x7fff_ffff
}

/// The HOTP code of `counter` as text: `truncated % 10^digits` in `u64`,
/// zero-padded.
pub fn code(algorithm: Algorithm, key: &[u8], counter: u64, digits: u8) -> String {
    let value = u64::from(truncate(&hmac(algorithm, key, counter))) % 10u64.pow(u32::from(digits));
    format!("{value:0width$}", width = usize::from(digits))
}

/// `Code::parse`'s documented rules, checked group by group rather than in
/// one pass: at most 32 bytes; ASCII digits, optionally split into non-empty
/// groups by one kind of separator (a space or a hyphen); exactly `digits`
/// digits. Returns the digits.
///
/// When input breaks several rules, the one met first reading from the left
/// is reported: a separator fault before the first foreign character wins
/// over that character, and a trailing separator counts only when no foreign
/// character follows it.
pub fn parse_code(input: &str, digits: u8) -> Result<String, CodeError> {
    let bytes = input.as_bytes();
    if bytes.len() > 32 {
        return Err(CodeError::TooLong);
    }
    let allowed = |b: &u8| b.is_ascii_digit() || *b == b' ' || *b == b'-';
    let foreign = bytes.iter().position(|b| !allowed(b));
    let clean = &bytes[..foreign.unwrap_or(bytes.len())];
    if let Some(separator) = clean.iter().copied().find(|b| !b.is_ascii_digit()) {
        let groups: Vec<&[u8]> = clean.split(|b| *b == separator).collect();
        let (last, inner) = groups.split_last().expect("split yields a group");
        let all_digits = |group: &[u8]| group.iter().all(u8::is_ascii_digit);
        let inner_bad = inner.iter().any(|g| g.is_empty() || !all_digits(g));
        let last_bad = !all_digits(last) || (last.is_empty() && foreign.is_none());
        if inner_bad || last_bad {
            return Err(CodeError::MisplacedSeparator);
        }
    }
    if foreign.is_some() {
        return Err(CodeError::InvalidCharacter);
    }
    let plain: String = clean
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| char::from(*b))
        .collect();
    if plain.len() != usize::from(digits) {
        return Err(CodeError::WrongLength { expected: digits });
    }
    Ok(plain)
}

/// One HOTP/TOTP credential as the reference sees it.
#[derive(Debug, Clone)]
pub struct Credential {
    pub algorithm: Algorithm,
    pub key: Vec<u8>,
    pub digits: u8,
}

impl Credential {
    pub fn code(&self, counter: u64) -> String {
        code(self.algorithm, &self.key, counter, self.digits)
    }

    /// TOTP verification around each of `centers` (RFC 6238 §5.2): the
    /// steps from `center - behind` to `center + ahead` that exist (none
    /// below 0; no window may reach past `u64::MAX`), all windows together;
    /// of the steps after `last` whose code is `typed`, the newest wins,
    /// with its drift from `clock`; a code matching only steps at or before
    /// `last` is a replay.
    pub fn verify_around(
        &self,
        typed: &str,
        clock: u64,
        centers: &[i128],
        behind: u8,
        ahead: u8,
        last: Option<u64>,
    ) -> Result<(u64, i64), VerifyError> {
        let mut steps = std::collections::BTreeSet::new();
        for &center in centers {
            let first = (center - i128::from(behind)).max(0);
            let end = center + i128::from(ahead);
            if end > i128::from(u64::MAX) {
                return Err(VerifyError::OutOfRange(StepError::Overflow));
            }
            if end >= 0 {
                steps.extend(first as u64..=end as u64);
            }
        }
        let matches: Vec<u64> = steps
            .into_iter()
            .filter(|&s| self.code(s) == typed)
            .collect();
        let fresh = matches
            .iter()
            .copied()
            .filter(|&s| last.is_none_or(|l| s > l))
            .max();
        match fresh {
            Some(step) => Ok((step, (i128::from(step) - i128::from(clock)) as i64)),
            None if !matches.is_empty() => Err(VerifyError::Replayed),
            None => Err(VerifyError::Invalid),
        }
    }

    /// HOTP verification (RFC 4226 §7.4): counters `counter` to
    /// `counter + look_ahead`, the newest match wins and the next counter is
    /// one past it. Every counter of the window must leave room for its next
    /// counter, so a window reaching `u64::MAX` is refused whatever matches.
    pub fn hotp_verify(
        &self,
        input: &str,
        counter: u64,
        look_ahead: u16,
    ) -> Result<(u64, u64), VerifyError> {
        let typed = parse_code(input, self.digits)?;
        let end = u128::from(counter) + u128::from(look_ahead);
        if end + 1 > u128::from(u64::MAX) {
            return Err(VerifyError::OutOfRange(StepError::Overflow));
        }
        (counter..=end as u64)
            .filter(|&c| self.code(c) == typed)
            .max()
            .map(|c| (c, c + 1))
            .ok_or(VerifyError::Invalid)
    }

    /// HOTP resynchronization (RFC 4226 §7.4): the newest `c` from `counter`
    /// to `counter + window` whose code is `first` and whose successor's is
    /// `second`; the match is `c + 1`, the next counter `c + 2`.
    pub fn hotp_resync(
        &self,
        first: &str,
        second: &str,
        counter: u64,
        window: u16,
    ) -> Result<(u64, u64), VerifyError> {
        let first = parse_code(first, self.digits)?;
        let second = parse_code(second, self.digits)?;
        let end = u128::from(counter) + u128::from(window);
        if end + 2 > u128::from(u64::MAX) {
            return Err(VerifyError::OutOfRange(StepError::Overflow));
        }
        (counter..=end as u64)
            .filter(|&c| self.code(c) == first && self.code(c + 1) == second)
            .max()
            .map(|c| (c + 1, c + 2))
            .ok_or(VerifyError::Invalid)
    }
}

/// The TOTP parameters on top of a credential.
#[derive(Debug, Clone)]
pub struct Totp {
    pub credential: Credential,
    pub period: u64,
    pub t0: u64,
}

impl Totp {
    /// `floor((time - T0) / X)` (RFC 6238 §4.2).
    pub fn step(&self, time: u64) -> Result<u64, StepError> {
        if time < self.t0 {
            return Err(StepError::BeforeT0);
        }
        Ok((time - self.t0) / self.period)
    }

    /// `Totp::verify` / `verify_after`: parse, place the window around the
    /// current step, compare.
    pub fn verify(
        &self,
        input: &str,
        time: u64,
        behind: u8,
        ahead: u8,
        last: Option<u64>,
    ) -> Result<(u64, i64), VerifyError> {
        let typed = parse_code(input, self.credential.digits)?;
        let now = self.step(time)?;
        self.credential
            .verify_around(&typed, now, &[i128::from(now)], behind, ahead, last)
    }
}

/// The throttle's documented delay after `failures` consecutive failures:
/// none for the first `free` failures, then `base` doubling with each
/// further failure, capped at `max`. In `u128`, without saturation.
pub fn throttle_delay(free: u32, base: u64, max: u64, failures: u32) -> u64 {
    if failures <= free {
        return 0;
    }
    let doublings = failures - free - 1;
    let delay = if doublings >= 64 {
        u128::MAX
    } else {
        u128::from(base) << doublings
    };
    delay.min(u128::from(max)) as u64
}

/// The references themselves, against the RFCs' test vectors and the
/// examples in `passcode`'s documentation: a reference that shared a bug
/// with the library would hide it from every target.
#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &[u8] = b"12345678901234567890";

    fn sha1(digits: u8) -> Credential {
        Credential {
            algorithm: Algorithm::Sha1,
            key: RFC_KEY.to_vec(),
            digits,
        }
    }

    #[test]
    fn rfc4226_appendix_d() {
        let codes = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, expected) in (0u64..).zip(codes) {
            assert_eq!(sha1(6).code(counter), expected, "counter {counter}");
        }
        // Count 7 keeps its whole truncated value with ten digits.
        assert_eq!(sha1(10).code(7), "0082162583");
    }

    #[test]
    fn rfc6238_appendix_b() {
        let seeds: [(Algorithm, &[u8]); 3] = [
            (Algorithm::Sha1, RFC_KEY),
            (Algorithm::Sha256, b"12345678901234567890123456789012"),
            (
                Algorithm::Sha512,
                b"1234567890123456789012345678901234567890123456789012345678901234",
            ),
        ];
        let vectors: [(u64, [&str; 3]); 3] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1_111_111_109, ["07081804", "68084774", "25091201"]),
            (20_000_000_000, ["65353130", "77737706", "47863826"]),
        ];
        for (time, codes) in vectors {
            for ((algorithm, key), expected) in seeds.iter().zip(codes) {
                let totp = Totp {
                    credential: Credential {
                        algorithm: *algorithm,
                        key: key.to_vec(),
                        digits: 8,
                    },
                    period: 30,
                    t0: 0,
                };
                let step = totp.step(time).unwrap();
                assert_eq!(
                    totp.credential.code(step),
                    expected,
                    "{algorithm} at {time}"
                );
            }
        }
    }

    #[test]
    fn parse_code_follows_the_documented_examples() {
        assert_eq!(parse_code("123-456", 6), Ok("123456".into()));
        assert_eq!(parse_code("012 345", 6), Ok("012345".into()));
        assert_eq!(parse_code("1 2 3 4 5 6", 6), Ok("123456".into()));
        assert_eq!(
            parse_code("12345", 6),
            Err(CodeError::WrongLength { expected: 6 })
        );
        assert_eq!(
            parse_code("", 6),
            Err(CodeError::WrongLength { expected: 6 })
        );
        assert_eq!(
            parse_code("123  456", 6),
            Err(CodeError::MisplacedSeparator)
        );
        assert_eq!(parse_code("12345６", 6), Err(CodeError::InvalidCharacter));
        assert_eq!(parse_code("12345o", 6), Err(CodeError::InvalidCharacter));
        assert_eq!(parse_code(&"1".repeat(33), 6), Err(CodeError::TooLong));
        for misplaced in [
            "-123456", "123456-", "123-456 ", "12-34 56", "123 -456", "-a",
        ] {
            assert_eq!(
                parse_code(misplaced, 6),
                Err(CodeError::MisplacedSeparator),
                "{misplaced:?}"
            );
        }
        // A foreign character ends the reading: the separator before it is
        // not trailing.
        assert_eq!(parse_code("123-a", 6), Err(CodeError::InvalidCharacter));
    }

    #[test]
    fn verify_around_follows_the_documented_examples() {
        let totp = Totp {
            credential: sha1(6),
            period: 30,
            t0: 0,
        };
        assert_eq!(totp.verify("287082", 89, 1, 0, None), Ok((1, -1)));
        assert_eq!(
            totp.verify("287082", 89, 0, 0, None),
            Err(VerifyError::Invalid)
        );
        assert_eq!(
            totp.verify("287082", 89, 1, 0, Some(1)),
            Err(VerifyError::Replayed)
        );
        // Step -1 does not exist; step 0 is checked.
        assert_eq!(
            totp.verify("287082", 29, 1, 0, None),
            Err(VerifyError::Invalid)
        );
        assert_eq!(totp.verify("755224", 29, 3, 0, None), Ok((0, 0)));
        let late = Totp { t0: 100, ..totp };
        assert_eq!(
            late.verify("287082", 99, 0, 0, None),
            Err(VerifyError::OutOfRange(StepError::BeforeT0))
        );
    }

    #[test]
    fn hotp_follows_the_documented_examples() {
        let hotp = sha1(6);
        assert_eq!(hotp.hotp_verify("359152", 0, 5), Ok((2, 3)));
        assert_eq!(hotp.hotp_verify("755224", 1, 3), Err(VerifyError::Invalid));
        assert_eq!(hotp.hotp_resync("399871", "520489", 0, 100), Ok((9, 10)));
        assert_eq!(
            hotp.hotp_verify("755224", u64::MAX - 3, 3),
            Err(VerifyError::OutOfRange(StepError::Overflow))
        );
    }

    #[test]
    fn throttle_delay_follows_the_documented_example() {
        let delays: Vec<u64> = [2, 3, 4, 100].map(|f| throttle_delay(2, 5, 60, f)).to_vec();
        assert_eq!(delays, [0, 5, 10, 60]);
        assert_eq!(throttle_delay(0, u64::MAX, u64::MAX, u32::MAX), u64::MAX);
    }
}
