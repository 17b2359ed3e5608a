use core::fmt;

use rand_core::CryptoRng;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::decimal::Modulus;
use crate::{CodeError, ParamError, decimal, declassify};

/// The number of digits in a HOTP or TOTP code: 6 to 10 (RFC 4226 §5.3).
///
/// ```
/// use passcode::Digits;
///
/// assert_eq!(Digits::default(), Digits::SIX);
/// assert_eq!(Digits::new(8)?.get(), 8);
/// assert!(Digits::new(5).is_err());
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u8", into = "u8"))]
pub struct Digits(u8);

impl Digits {
    /// The fewest digits RFC 4226 allows.
    pub const MIN: u8 = 6;
    /// The most digits: a 31-bit truncated value has at most 10 decimal digits.
    pub const MAX: u8 = 10;
    /// Six digits, the default of every authenticator app.
    pub const SIX: Self = Self(6);
    /// Seven digits.
    pub const SEVEN: Self = Self(7);
    /// Eight digits, as in the RFC 6238 test vectors.
    pub const EIGHT: Self = Self(8);

    /// Checks that `digits` is in `6..=10`.
    ///
    /// # Errors
    /// [`ParamError::Digits`] outside that range.
    pub const fn new(digits: u8) -> Result<Self, ParamError> {
        if digits >= Self::MIN && digits <= Self::MAX {
            Ok(Self(digits))
        } else {
            Err(ParamError::Digits)
        }
    }

    /// The digit count.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `value mod 10^digits` (RFC 4226 §5.3, step 3) for a 31-bit `value`,
    /// in constant time (see `decimal.rs`).
    pub(crate) fn reduce(self, value: u32) -> u32 {
        self.modulus().remainder(value)
    }

    /// The modulus `10^digits`, chosen by the public digit count: taken once
    /// for a whole window.
    pub(crate) const fn modulus(self) -> Modulus {
        match self.0 {
            6 => const { Modulus::new(1_000_000) },
            7 => const { Modulus::new(10_000_000) },
            8 => const { Modulus::new(100_000_000) },
            9 => const { Modulus::new(1_000_000_000) },
            // 10 digits: 10^10 exceeds every 31-bit value, which is therefore
            // its own remainder (and 10^10 would overflow a u32).
            _ => Modulus::NONE,
        }
    }
}

impl Default for Digits {
    fn default() -> Self {
        Self::SIX
    }
}

impl TryFrom<u8> for Digits {
    type Error = ParamError;

    fn try_from(digits: u8) -> Result<Self, ParamError> {
        Self::new(digits)
    }
}

impl From<Digits> for u8 {
    fn from(digits: Digits) -> u8 {
        digits.0
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A one-time code: up to ten ASCII digits, leading zeros kept, no heap.
///
/// A code is a short-lived credential, so `Debug` does not print it, equality
/// is constant-time, and the digits are wiped on drop. `Display` and
/// [`as_str`](Self::as_str) give the digits for sending to the user.
///
/// ```
/// use passcode::{Code, Digits};
///
/// let code = Code::parse("012 345", Digits::SIX)?;
/// assert_eq!(code.as_str(), "012345");
/// assert_eq!(code.to_string(), "012345");
/// assert_eq!(format!("{code:?}"), "Code { .. }");
/// # Ok::<(), passcode::CodeError>(())
/// ```
// Invariant: `digits[..len]` are ASCII digits and `digits[len..]` are zero.
#[derive(Clone)]
pub struct Code {
    digits: [u8; 10],
    len: u8,
}

impl Code {
    /// The longest input [`parse`](Self::parse) reads; longer input is
    /// refused before it is scanned.
    pub const MAX_INPUT_LEN: usize = 32;

    /// Parses user input strictly: exactly `digits` ASCII digits, optionally
    /// split into groups by single spaces or by single hyphens (`"123 456"`,
    /// `"123-456"`; not both kinds in one code). Nothing is trimmed.
    ///
    /// ```
    /// use passcode::{Code, CodeError, Digits};
    ///
    /// assert_eq!(Code::parse("123-456", Digits::SIX)?.as_str(), "123456");
    /// assert_eq!(Code::parse("12345", Digits::SIX).err(), Some(CodeError::WrongLength { expected: 6 }));
    /// assert_eq!(Code::parse("123  456", Digits::SIX).err(), Some(CodeError::MisplacedSeparator));
    /// assert_eq!(Code::parse("12345６", Digits::SIX).err(), Some(CodeError::InvalidCharacter));
    /// # Ok::<(), CodeError>(())
    /// ```
    ///
    /// # Errors
    /// [`CodeError`] says which rule the input broke.
    pub fn parse(input: &str, digits: Digits) -> Result<Self, CodeError> {
        Self::parse_len(input, digits.get())
    }

    /// [`parse`](Self::parse) for any length from 1 to 10 (SMS codes are
    /// shorter than authenticator codes).
    pub(crate) fn parse_len(input: &str, expected: u8) -> Result<Self, CodeError> {
        let mut code = Self {
            digits: [0; 10],
            len: expected,
        };
        // `read` checks the count before anything is returned; digits past
        // the tenth are counted but not stored.
        let mut slots = code.digits.iter_mut();
        read(input, expected, |digit| {
            if let Some(slot) = slots.next() {
                *slot = b'0' | digit;
            }
        })?;
        Ok(code)
    }

    /// A uniformly random code of `len` digits, 4 to 10: for one-time codes
    /// that are stored and compared rather than derived (an
    /// [`SmsVerifier`](crate::SmsVerifier) derives its own). Every digit is
    /// uniform: bytes are drawn by rejection sampling, never reduced with a
    /// modulo bias.
    ///
    /// ```
    /// let code = passcode::Code::random(&mut rand::rng(), 8)?;
    /// assert_eq!(code.as_str().len(), 8);
    /// assert!(passcode::Code::random(&mut rand::rng(), 3).is_err());
    /// # Ok::<(), passcode::ParamError>(())
    /// ```
    ///
    /// # Errors
    /// [`ParamError::SmsDigits`] outside 4..=10.
    pub fn random<R: CryptoRng + ?Sized>(rng: &mut R, len: u8) -> Result<Self, ParamError> {
        if !(4..=10).contains(&len) {
            return Err(ParamError::SmsDigits);
        }
        let mut digits = [0u8; 10];
        decimal::random_digits(rng, digits.get_mut(..usize::from(len)).unwrap_or_default());
        let code = Self::from_ascii(digits, len);
        digits.zeroize();
        Ok(code)
    }

    /// A code of `len` ASCII digits already written.
    pub(crate) fn from_ascii(digits: [u8; 10], len: u8) -> Self {
        let mut code = Self { digits, len };
        for slot in code.digits.iter_mut().skip(usize::from(len)) {
            *slot = 0;
        }
        code
    }

    /// The code of a truncated HOTP value (RFC 4226 §5.3): `value mod 10^n`
    /// written with `n` digits, leading zeros kept.
    pub(crate) fn from_value(value: u32, digits: Digits) -> Self {
        let mut code = Self {
            digits: [0; 10],
            len: digits.get(),
        };
        let places = code.digits.get_mut(..usize::from(digits.get()));
        decimal::write_digits(digits.reduce(value), places.unwrap_or_default());
        code
    }

    /// The digits, as text.
    ///
    /// ```
    /// let code = passcode::Code::parse("000-123", passcode::Digits::SIX)?;
    /// assert_eq!(code.as_str(), "000123");
    /// # Ok::<(), passcode::CodeError>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        let digits = self.digits.get(..usize::from(self.len)).unwrap_or_default();
        // Whoever asks for the text shows or sends it: released here.
        declassify::release(digits);
        core::str::from_utf8(digits).unwrap_or_default()
    }
}

/// Reads `input` by [`Code::parse`]'s rules, handing each digit's value
/// (0 to 9) to `digit` in order, and checks that there were `expected`.
fn read(input: &str, expected: u8, mut digit: impl FnMut(u8)) -> Result<(), CodeError> {
    let bytes = input.as_bytes();
    if bytes.len() > Code::MAX_INPUT_LEN {
        return Err(CodeError::TooLong);
    }
    let mut count = 0u8;
    let mut separator = None;
    let mut after_digit = false;
    for &byte in bytes {
        match byte {
            b'0'..=b'9' => {
                digit(byte & 0x0f);
                count = count.saturating_add(1);
                after_digit = true;
            }
            b' ' | b'-' => {
                if !after_digit || separator.is_some_and(|s| s != byte) {
                    return Err(CodeError::MisplacedSeparator);
                }
                separator = Some(byte);
                after_digit = false;
            }
            _ => return Err(CodeError::InvalidCharacter),
        }
    }
    if separator.is_some() && !after_digit {
        return Err(CodeError::MisplacedSeparator);
    }
    if count != expected || expected > Digits::MAX {
        return Err(CodeError::WrongLength { expected });
    }
    Ok(())
}

/// A code typed by its user, kept only as its decimal value: all that a
/// verification compares. Read by [`Code::parse`]'s rules; codes of the
/// same length are equal exactly when their values are. Wiped on drop.
pub(crate) struct Typed(u64);

impl Typed {
    /// [`Code::parse_len`] without keeping the digits.
    pub(crate) fn parse_len(input: &str, expected: u8) -> Result<Self, CodeError> {
        let mut value = 0u64;
        read(input, expected, |digit| {
            // Accepted only with at most ten digits, below 10^10 < 2^64;
            // longer input wraps harmlessly before it is refused.
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
        })?;
        Ok(Self(value))
    }

    /// [`Code::parse`] without keeping the digits.
    pub(crate) fn parse(input: &str, digits: Digits) -> Result<Self, CodeError> {
        Self::parse_len(input, digits.get())
    }

    /// The code's decimal value.
    pub(crate) fn value(&self) -> u64 {
        self.0
    }
}

impl Drop for Typed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for Code {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.digits.ct_eq(&other.digits) & self.len.ct_eq(&other.len)
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl ZeroizeOnDrop for Code {}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reduce_keeps_the_low_digits() {
        let value = 1_284_755_224;
        assert_eq!(Digits::SIX.reduce(value), 755_224);
        assert_eq!(Digits::SEVEN.reduce(value), 4_755_224);
        assert_eq!(Digits::EIGHT.reduce(value), 84_755_224);
        assert_eq!(Digits(9).reduce(value), 284_755_224);
        assert_eq!(Digits(10).reduce(value), value);
    }

    #[test]
    fn from_value_pads_with_zeros() {
        assert_eq!(Code::from_value(5, Digits::SIX).as_str(), "000005");
        assert_eq!(
            Code::from_value(0x7fff_ffff, Digits(10)).as_str(),
            "2147483647"
        );
        assert_eq!(Code::from_value(12, Digits(10)).as_str(), "0000000012");
    }

    #[test]
    fn typed_values() {
        assert_eq!(Typed::parse("0000000012", Digits(10)).unwrap().value(), 12);
        assert_eq!(
            Typed::parse("99999-99999", Digits(10)).unwrap().value(),
            9_999_999_999
        );
        assert_eq!(Typed::parse_len("0042", 4).unwrap().value(), 42);
    }

    proptest! {
        /// A typed code is refused exactly when `Code` refuses the same
        /// input, with the same error, and otherwise holds the value of
        /// its digits as the standard library reads them.
        #[test]
        fn typed_reads_as_code_does(
            input in prop_oneof!["[0-9 a-]{0,40}", "[0-9]{1,5}([ -]?[0-9]{1,5}){0,2}"],
            expected in 1u8..=12,
        ) {
            let code = Code::parse_len(&input, expected);
            let typed = Typed::parse_len(&input, expected);
            prop_assert_eq!(code.as_ref().err(), typed.as_ref().err());
            if let (Ok(code), Ok(typed)) = (code, typed) {
                prop_assert_eq!(code.as_str().parse::<u64>().ok(), Some(typed.value()));
                prop_assert_eq!(code.as_str().len(), usize::from(expected));
            }
        }
    }
}
