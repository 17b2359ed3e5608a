use core::fmt;

/// A phone number in E.164 form (`+` and up to 15 digits), built from a
/// country code and a national number the way the Authy API takes them.
///
/// The national number may have single dashes, periods or spaces between
/// its digits, or nothing; anything else (a `+`, parentheses, letters, a
/// leading or doubled separator) is refused. Trunk prefixes such as a
/// leading `0` are kept as given: which countries drop them is not this
/// function's to know.
///
/// ```
/// use passcode::{PhoneError, PhoneNumber};
///
/// assert_eq!(PhoneNumber::from_national(1, "415-555.2671")?.as_str(), "+14155552671");
/// assert_eq!(PhoneNumber::from_national(44, "20 7946 0958")?.as_str(), "+442079460958");
/// assert_eq!(PhoneNumber::from_national(1, "(415) 555-2671"), Err(PhoneError::InvalidCharacter));
/// # Ok::<(), PhoneError>(())
/// ```
// Invariant: text[..len] is '+' and 5 to 15 ASCII digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    text: [u8; 16],
    len: u8,
}

/// Why a phone number was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PhoneError {
    /// The country code is not 1 to 999.
    CountryCode,
    /// A character other than a digit, dash, period or space.
    InvalidCharacter,
    /// A separator at the start or end, or two in a row.
    MisplacedSeparator,
    /// Fewer than 4 digits in the national number.
    TooShort,
    /// More than 15 digits with the country code (E.164's limit).
    TooLong,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CountryCode => "country code must be 1 to 999",
            Self::InvalidCharacter => {
                "phone number may hold only digits, with dashes, periods or spaces between them"
            }
            Self::MisplacedSeparator => {
                "a dash, period or space in a phone number must sit between two digits"
            }
            Self::TooShort => "national number must have at least 4 digits",
            Self::TooLong => "phone number must have at most 15 digits with its country code",
        })
    }
}

impl core::error::Error for PhoneError {}

impl PhoneNumber {
    /// Normalizes `national` under `country_code` to E.164.
    ///
    /// # Errors
    /// [`PhoneError`] says which rule the input broke.
    pub fn from_national(country_code: u16, national: &str) -> Result<Self, PhoneError> {
        if !(1..=999).contains(&country_code) {
            return Err(PhoneError::CountryCode);
        }
        let mut number = Self {
            text: [0; 16],
            len: 0,
        };
        number.push(b'+')?;
        let mut code = [0u8; 5];
        let code = format_decimal(country_code, &mut code);
        for &digit in code {
            number.push(digit)?;
        }
        let mut national_digits = 0usize;
        let mut after_digit = false;
        for &byte in national.as_bytes() {
            match byte {
                b'0'..=b'9' => {
                    number.push(byte)?;
                    national_digits = national_digits.saturating_add(1);
                    after_digit = true;
                }
                b'-' | b'.' | b' ' if after_digit => after_digit = false,
                b'-' | b'.' | b' ' => return Err(PhoneError::MisplacedSeparator),
                _ => return Err(PhoneError::InvalidCharacter),
            }
        }
        if national_digits > 0 && !after_digit {
            return Err(PhoneError::MisplacedSeparator);
        }
        if national_digits < 4 {
            return Err(PhoneError::TooShort);
        }
        Ok(number)
    }

    fn push(&mut self, byte: u8) -> Result<(), PhoneError> {
        let slot = self
            .text
            .get_mut(usize::from(self.len))
            .ok_or(PhoneError::TooLong)?;
        *slot = byte;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// The number as E.164 text, such as `+14155552671`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        let text = self.text.get(..usize::from(self.len)).unwrap_or_default();
        core::str::from_utf8(text).unwrap_or_default()
    }
}

/// `value` in decimal, without leading zeros, in the end of `out`.
fn format_decimal(mut value: u16, out: &mut [u8; 5]) -> &[u8] {
    let mut start = out.len();
    for slot in out.iter_mut().rev() {
        let [.., digit] = (value % 10).to_be_bytes();
        *slot = b'0' | digit;
        value /= 10;
        start = start.saturating_sub(1);
        if value == 0 {
            break;
        }
    }
    out.get(start..).unwrap_or_default()
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.as_str()).finish()
    }
}
