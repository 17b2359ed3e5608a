//! One small error enum per concern. All are `Copy`, `#[non_exhaustive]`, and
//! say what was wrong with an input without repeating the input: an error
//! message can be logged without leaking a secret or a code.

use core::fmt;

use crate::Algorithm;

/// Why a secret key was refused.
///
/// ```
/// use passcode::{Secret, SecretError};
///
/// let error = Secret::from_base32("not base32!").unwrap_err();
/// assert_eq!(error, SecretError::InvalidBase32);
/// assert!(error.to_string().starts_with("secret is not base32"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretError {
    /// The key has no bytes.
    Empty,
    /// The key is shorter than the minimum in force ([`MinLength`](crate::MinLength)).
    TooShort {
        /// The minimum that was in force, in bits.
        min_bits: u16,
    },
    /// A random key longer than [`Secret::MAX_LEN`](crate::Secret::MAX_LEN)
    /// bytes was asked of [`Secret::generate_len`](crate::Secret::generate_len).
    /// (A longer key given by the caller is accepted, and kept hashed.)
    TooLong,
    /// The secret was built from a key longer than
    /// [`Secret::MAX_LEN`](crate::Secret::MAX_LEN) bytes and keeps only the
    /// key's digests ([`Secret::is_hashed`](crate::Secret::is_hashed)): it
    /// generates and verifies codes, but cannot give the key back.
    KeyNotKept,
    /// The text is not base32: a character outside `A-Z`, `2-7` (in either
    /// case), or data after `=` padding.
    InvalidBase32,
    /// Base32 letters, but as many as no byte string encodes to (8n + 1, 3
    /// or 6): a character is missing or extra, often from copying. The
    /// count, spaces and padding aside, is not secret (a secret's length is
    /// treated as public).
    Base32Length {
        /// The number of base32 characters (at most `u32::MAX`).
        chars: u32,
    },
    /// This build of `passcode` leaves the algorithm out (see the `sha1`,
    /// `sha256` and `sha512` cargo features).
    AlgorithmDisabled(Algorithm),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("secret is empty"),
            Self::TooShort { min_bits } => {
                write!(f, "secret is shorter than the minimum of {min_bits} bits")
            }
            Self::TooLong => write!(
                f,
                "a random secret can be at most {} bytes",
                crate::Secret::MAX_LEN
            ),
            Self::KeyNotKept => write!(
                f,
                "secret was longer than {} bytes and is kept only as its hashes: it cannot be written out",
                crate::Secret::MAX_LEN
            ),
            Self::Base32Length { chars } => write!(
                f,
                "secret has {chars} base32 characters, a length no key encodes to: \
                 a character is missing or extra"
            ),
            Self::InvalidBase32 => f.write_str(
                "secret is not base32 (letters A-Z and digits 2-7, spaces and trailing '=' ignored)",
            ),
            Self::AlgorithmDisabled(algorithm) => write!(
                f,
                "{algorithm} is not available: passcode was built without its cargo feature"
            ),
        }
    }
}

impl core::error::Error for SecretError {}

/// A parameter outside the range the RFCs and this crate allow.
///
/// ```
/// use passcode::{ParamError, Period};
///
/// assert_eq!(Period::new(0), Err(ParamError::Period));
/// assert_eq!(ParamError::Period.to_string(), "period must be at least one second");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamError {
    /// Digits outside [`Digits::MIN`](crate::Digits::MIN)..=[`Digits::MAX`](crate::Digits::MAX).
    Digits,
    /// A TOTP period of zero seconds.
    Period,
    /// A window side wider than [`Window::MAX_STEPS`](crate::Window::MAX_STEPS).
    Window,
    /// A HOTP look-ahead wider than [`LookAhead::MAX`](crate::LookAhead::MAX).
    LookAhead,
    /// A resynchronization look-ahead wider than [`ResyncWindow::MAX`](crate::ResyncWindow::MAX).
    ResyncWindow,
    /// SMS code digits outside 4..=10.
    SmsDigits,
    /// A validity, delay or rate-limit period of zero seconds, or a maximum
    /// delay below the base delay.
    Duration,
    /// A limit (checks, sends, quota, burst, code count) of zero, or a burst
    /// above its quota, or a count above what the state holds.
    Limit,
    /// A remembered drift bound wider than [`Window::MAX_STEPS`](crate::Window::MAX_STEPS).
    Drift,
    /// The random generator kept drawing backup codes the set already held:
    /// it is broken.
    RepeatingRng,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Digits => write!(
                f,
                "digits must be {} to {}",
                crate::Digits::MIN,
                crate::Digits::MAX
            ),
            Self::Period => f.write_str("period must be at least one second"),
            Self::Window => write!(
                f,
                "a verification window may reach at most {} steps behind and ahead",
                crate::Window::MAX_STEPS
            ),
            Self::LookAhead => write!(
                f,
                "a HOTP look-ahead may be at most {} counters",
                crate::LookAhead::MAX
            ),
            Self::ResyncWindow => write!(
                f,
                "a HOTP resynchronization window may be at most {} counters",
                crate::ResyncWindow::MAX
            ),
            Self::SmsDigits => f.write_str("SMS codes must have 4 to 10 digits"),
            Self::Duration => f.write_str(
                "durations must be at least one second, and a maximum delay at least its base",
            ),
            Self::Limit => f.write_str(
                "limits must be at least 1, a burst at most its quota, and a count within capacity",
            ),
            Self::Drift => write!(
                f,
                "remembered drift may be at most {} steps",
                crate::Window::MAX_STEPS
            ),
            Self::RepeatingRng => f.write_str(
                "the random generator keeps repeating itself: backup codes must all differ",
            ),
        }
    }
}

impl core::error::Error for ParamError {}

/// Why user input is not a well-formed code. Returned before any secret work.
///
/// ```
/// use passcode::{Code, CodeError, Digits};
///
/// assert_eq!(Code::parse("12345o", Digits::SIX).err(), Some(CodeError::InvalidCharacter));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodeError {
    /// The input is longer than [`Code::MAX_INPUT_LEN`](crate::Code::MAX_INPUT_LEN) bytes.
    TooLong,
    /// A character that is neither an ASCII digit nor a space or hyphen.
    InvalidCharacter,
    /// A space or hyphen that does not sit between two digits, or a mix of
    /// spaces and hyphens.
    MisplacedSeparator,
    /// The input does not hold exactly the configured number of digits.
    WrongLength {
        /// The number of digits expected.
        expected: u8,
    },
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(
                f,
                "code is longer than {} bytes",
                crate::Code::MAX_INPUT_LEN
            ),
            Self::InvalidCharacter => {
                f.write_str("code may hold only ASCII digits, spaces and hyphens")
            }
            Self::MisplacedSeparator => f.write_str(
                "a space or hyphen in a code must sit between two digits, and they cannot be mixed",
            ),
            Self::WrongLength { expected } => write!(f, "code must have {expected} digits"),
        }
    }
}

impl core::error::Error for CodeError {}

/// A time, time step or counter outside what the computation can represent.
///
/// ```
/// use passcode::{StepError, TotpConfig};
///
/// assert_eq!(TotpConfig::new().with_t0(1_000).step(999), Err(StepError::BeforeT0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StepError {
    /// The time is before the configured T0.
    BeforeT0,
    /// The window, or the counter to store next, reaches past `u64::MAX`.
    Overflow,
    /// The system clock reads a time before 1970-01-01T00:00:00Z.
    ClockBeforeUnixEpoch,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BeforeT0 => "time is before T0",
            Self::Overflow => "window or next counter reaches past the largest 64-bit counter",
            Self::ClockBeforeUnixEpoch => "system clock is set before the Unix epoch",
        })
    }
}

impl core::error::Error for StepError {}

/// Why stored state bytes were refused by a `from_bytes`.
///
/// Nothing is read from bytes that fail any check: a value either decodes
/// whole and consistent, or not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateError {
    /// Not the length this kind of state encodes to.
    Length,
    /// Another kind of state, or not `passcode` state at all.
    Foreign,
    /// A version of the encoding this release does not read.
    Version,
    /// The checksum does not match: the bytes were damaged.
    Checksum,
    /// The fields decode but contradict each other.
    Invalid,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Length => "state has the wrong length",
            Self::Foreign => "bytes are not this kind of passcode state",
            Self::Version => "state was written by an unsupported version",
            Self::Checksum => "state checksum does not match: the bytes are damaged",
            Self::Invalid => "state fields are inconsistent",
        })
    }
}

impl core::error::Error for StateError {}

/// Why a code was not accepted.
///
/// The outcome says only what a caller needs to act on: never which digit or
/// which step was close.
///
/// ```
/// use passcode::{CodeError, Totp, TotpConfig, VerifyError, Window};
///
/// let totp = Totp::from_key(&[7; 20], TotpConfig::new())?;
/// match totp.verify("12 34", 1_700_000_000, Window::default()) {
///     Ok(matched) => println!("accepted step {}", matched.step),
///     Err(VerifyError::Malformed(e)) => assert_eq!(e, CodeError::WrongLength { expected: 6 }),
///     Err(other) => println!("rejected: {other}"),
/// }
/// # Ok::<(), passcode::SecretError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is not a well-formed code; no secret work was done.
    Malformed(CodeError),
    /// The code matches no eligible time step or counter.
    Invalid,
    /// The code matches only time steps at or before the last accepted one
    /// (RFC 6238 §5.2: a code is accepted once).
    Replayed,
    /// The window cannot be placed at this time or counter.
    OutOfRange(StepError),
    /// Too many recent failures: no check is made before `retry_at` (Unix
    /// seconds), so no secret work is done (RFC 4226 §7.3).
    Throttled {
        /// The first time a check will be made again.
        retry_at: u64,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed code: {e}"),
            Self::Invalid => f.write_str("invalid code"),
            Self::Replayed => f.write_str("code was already used"),
            Self::OutOfRange(e) => write!(f, "cannot verify: {e}"),
            Self::Throttled { retry_at } => {
                write!(f, "too many failed attempts: try again at {retry_at}")
            }
        }
    }
}

impl core::error::Error for VerifyError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Malformed(e) => Some(e),
            Self::OutOfRange(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CodeError> for VerifyError {
    fn from(e: CodeError) -> Self {
        Self::Malformed(e)
    }
}

impl From<StepError> for VerifyError {
    fn from(e: StepError) -> Self {
        Self::OutOfRange(e)
    }
}
