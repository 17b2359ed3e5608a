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

    /// TOTP verification around `center` (RFC 6238 §5.2): every step from
    /// `center - behind` to `center + ahead` must exist in `u64`; of the
    /// steps after `last` whose code is `typed`, the newest wins, with its
    /// drift from `clock`; a code matching only steps at or before `last` is
    /// a replay.
    pub fn verify_around(
        &self,
        typed: &str,
        clock: u64,
        center: i128,
        behind: u8,
        ahead: u8,
        last: Option<u64>,
    ) -> Result<(u64, i64), VerifyError> {
        let first = center - i128::from(behind);
        let end = center + i128::from(ahead);
        if first < 0 {
            return Err(VerifyError::OutOfRange(StepError::BelowZero));
        }
        if end > i128::from(u64::MAX) {
            return Err(VerifyError::OutOfRange(StepError::Overflow));
        }
        let (first, end) = (first as u64, end as u64);
        let matches: Vec<u64> = (first..=end).filter(|&s| self.code(s) == typed).collect();
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
            .verify_around(&typed, now, i128::from(now), behind, ahead, last)
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
