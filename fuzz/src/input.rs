//! `arbitrary` inputs that reach the edges often: uniform `u64`s almost
//! never land on zero, `u64::MAX` or a 30-second period.

use arbitrary::Arbitrary;
use passcode::rand_core::{TryCryptoRng, TryRng};
use passcode::{Algorithm, Digits, HotpConfig, Period, TotpConfig};

/// An instant or a counter.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Time {
    Zero,
    Max,
    /// `u64::MAX - n`.
    NearMax(u8),
    Small(u16),
    /// Around now: 2023 plus up to 136 years.
    Recent(u32),
    Any(u64),
}

impl Time {
    pub fn get(self) -> u64 {
        match self {
            Self::Zero => 0,
            Self::Max => u64::MAX,
            Self::NearMax(n) => u64::MAX - u64::from(n),
            Self::Small(n) => u64::from(n),
            Self::Recent(n) => 1_700_000_000 + u64::from(n),
            Self::Any(n) => n,
        }
    }
}

/// A move of the clock: forward, back, or to anywhere.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Move {
    Forward(u16),
    Back(u16),
    To(Time),
}

impl Move {
    pub fn apply(self, now: u64) -> u64 {
        match self {
            Self::Forward(n) => now.saturating_add(u64::from(n)),
            Self::Back(n) => now.saturating_sub(u64::from(n)),
            Self::To(time) => time.get(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AnyAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl AnyAlgorithm {
    pub fn get(self) -> Algorithm {
        match self {
            Self::Sha1 => Algorithm::Sha1,
            Self::Sha256 => Algorithm::Sha256,
            Self::Sha512 => Algorithm::Sha512,
        }
    }
}

/// A TOTP period in seconds, never zero.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AnyPeriod {
    Thirty,
    Sixty,
    One,
    Small(u8),
    Any(u64),
}

impl AnyPeriod {
    pub fn get(self) -> u64 {
        match self {
            Self::Thirty => 30,
            Self::Sixty => 60,
            Self::One => 1,
            Self::Small(n) => u64::from(n).max(1),
            Self::Any(n) => n.max(1),
        }
    }
}

/// The TOTP parameters, in both `passcode`'s and the reference's form.
#[derive(Arbitrary, Debug, Clone)]
pub struct TotpParams {
    pub algorithm: AnyAlgorithm,
    /// Truncated to 200 bytes; may be empty.
    pub key: Vec<u8>,
    /// 6 to 10, taken modulo 5.
    pub digits: u8,
    pub period: AnyPeriod,
    pub t0: AnyT0,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AnyT0 {
    Unix,
    Some(Time),
}

impl TotpParams {
    pub fn key(&self) -> &[u8] {
        &self.key[..self.key.len().min(200)]
    }

    pub fn digits(&self) -> u8 {
        6 + self.digits % 5
    }

    pub fn config(&self) -> TotpConfig {
        TotpConfig::new()
            .with_algorithm(self.algorithm.get())
            .with_digits(Digits::new(self.digits()).expect("6 to 10"))
            .with_period(Period::new(self.period.get()).expect("non-zero"))
            .with_t0(match self.t0 {
                AnyT0::Unix => 0,
                AnyT0::Some(t0) => t0.get(),
            })
    }

    /// The same algorithm and digits, for HOTP over the same key.
    pub fn hotp_config(&self) -> HotpConfig {
        let config = self.config();
        HotpConfig::new()
            .with_algorithm(config.algorithm())
            .with_digits(config.digits())
    }

    pub fn reference(&self) -> crate::reference::Totp {
        let config = self.config();
        crate::reference::Totp {
            credential: crate::reference::Credential {
                algorithm: self.algorithm.get(),
                key: self.key().to_vec(),
                digits: self.digits(),
            },
            period: config.period().seconds(),
            t0: config.t0(),
        }
    }
}

/// How a fuzz input types a code.
#[derive(Arbitrary, Debug, Clone)]
pub enum TypedCode {
    /// Anything at all, mostly malformed.
    Text(String),
    /// The right code of the step (or counter) `offset` away from a chosen
    /// base, optionally with one separator, so that matches are hit.
    Offset {
        offset: i8,
        separator: Option<(u8, bool)>,
    },
}

impl TypedCode {
    /// The text typed, given the code of each step (`offset` already reduced
    /// by the caller's `reduce`).
    pub fn text(
        &self,
        base: u64,
        reduce: impl Fn(i8) -> i64,
        code: impl Fn(u64) -> String,
    ) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Offset { offset, separator } => {
                let mut text = code(base.wrapping_add_signed(reduce(*offset)));
                if let Some((at, hyphen)) = separator {
                    let at = 1 + usize::from(*at) % (text.len() - 1);
                    text.insert(at, if *hyphen { '-' } else { ' ' });
                }
                text
            }
        }
    }
}

/// A random number generator that replays the bytes it was given, then
/// zeros: the fuzzer chooses the nonces.
#[derive(Debug)]
pub struct ReplayRng<'a> {
    bytes: &'a [u8],
}

impl<'a> ReplayRng<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }
}

impl TryRng for ReplayRng<'_> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut word = [0; 4];
        self.try_fill_bytes(&mut word)?;
        Ok(u32::from_le_bytes(word))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut word = [0; 8];
        self.try_fill_bytes(&mut word)?;
        Ok(u64::from_le_bytes(word))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for slot in dst {
            *slot = match self.bytes.split_first() {
                Some((first, rest)) => {
                    self.bytes = rest;
                    *first
                }
                None => 0,
            };
        }
        Ok(())
    }
}

/// Only for fuzzing: the bytes are the fuzzer's, not secret.
impl TryCryptoRng for ReplayRng<'_> {}
