//! Phone numbers as the API takes them: a calling code and a national
//! number, checked against number metadata (the `phonenumber` crate, a port
//! of libphonenumber), or only for shape in sandbox mode.

use passcode::PhoneNumber;
use phonenumber::{Mode, Type};

/// A phone number the API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// Calling code.
    pub country_code: u16,
    /// National number, digits only.
    pub national: String,
    /// E.164, such as `+14155552671`.
    pub e164: String,
    /// `+CC NATIONAL` as Authy wrote it in messages (`+1 775-461-5609`).
    pub display: String,
    /// The number's type from the metadata, `None` in sandbox mode.
    kind: Option<Type>,
}

/// A number that is not valid (or, in the sandbox, not of a valid shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidNumber;

/// What kind of line a number is, as far as the metadata knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineType {
    /// A mobile number.
    Cellphone,
    /// A fixed line.
    Landline,
    /// Internet telephony.
    Voip,
    /// A range the metadata does not tell apart (all of +1 is "fixed line
    /// or mobile"), or a special range.
    Unknown,
}

impl LineType {
    /// The word the API answers with.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cellphone => "cellphone",
            Self::Landline => "landline",
            Self::Voip => "voip",
            Self::Unknown => "unknown",
        }
    }
}

impl Phone {
    /// Checks `national` under `country_code`. Dashes, dots and spaces
    /// between digits are allowed, as clients send them. In sandbox mode
    /// only the shape is checked (8 to 15 national digits, any calling
    /// code) and the number is shown as it was sent.
    ///
    /// # Errors
    /// [`InvalidNumber`]; the caller answers with the endpoint's own error.
    pub fn parse(country_code: u64, national: &str, sandbox: bool) -> Result<Self, InvalidNumber> {
        let country_code = u16::try_from(country_code).map_err(|_| InvalidNumber)?;
        let national = national.trim();
        let normalized =
            PhoneNumber::from_national(country_code, national).map_err(|_| InvalidNumber)?;
        let e164 = normalized.as_str().to_owned();
        let digits: String = national.chars().filter(char::is_ascii_digit).collect();
        if sandbox {
            if !(8..=15).contains(&digits.len()) {
                return Err(InvalidNumber);
            }
            return Ok(Self {
                country_code,
                display: format!("+{country_code} {national}"),
                national: digits,
                e164,
                kind: None,
            });
        }
        let parsed = phonenumber::parse(None, &e164).map_err(|_| InvalidNumber)?;
        if !parsed.is_valid() || parsed.code().value() != country_code {
            return Err(InvalidNumber);
        }
        let international = parsed.format().mode(Mode::International).to_string();
        let kind = parsed.number_type(&phonenumber::metadata::DATABASE);
        Ok(Self {
            country_code,
            // libphonenumber writes +1 numbers as "+1 775-461-5609", the
            // form Authy's messages used.
            display: international,
            national: parsed.national().value().to_string(),
            e164,
            kind: Some(kind),
        })
    }

    /// The line type; sandbox numbers are landlines, as Authy's sandbox
    /// said of every number.
    #[must_use]
    pub fn line_type(&self) -> LineType {
        match self.kind {
            None => LineType::Landline,
            Some(Type::Mobile) => LineType::Cellphone,
            Some(Type::FixedLine) => LineType::Landline,
            Some(Type::Voip) => LineType::Voip,
            Some(_) => LineType::Unknown,
        }
    }

    /// `+57-XXX-XXX-XX12`: the masked form of SMS and call responses.
    #[must_use]
    pub fn masked(country_code: u16, national: &str) -> String {
        format!("+{country_code}-XXX-XXX-XX{}", last(national, 2))
    }
}

/// `XXX-XXX-9302`: the masked form of the status response.
#[must_use]
pub fn masked_last4(national: &str) -> String {
    format!("XXX-XXX-{}", last(national, 4))
}

/// `444-555-6666` for ten digits; other lengths as digits.
#[must_use]
pub fn dashed(national: &str) -> String {
    if national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &national[..3], &national[3..6], &national[6..])
    } else {
        national.to_owned()
    }
}

fn last(text: &str, n: usize) -> &str {
    let start = text.len().saturating_sub(n);
    text.get(start..).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_us_number_reads_as_authy_wrote_it() {
        let phone = Phone::parse(1, "775-461-5609", false).unwrap();
        assert_eq!(phone.e164, "+17754615609");
        assert_eq!(phone.display, "+1 775-461-5609");
        assert_eq!(phone.national, "7754615609");
        // All of +1 is "fixed line or mobile" in the metadata.
        assert_eq!(phone.line_type(), LineType::Unknown);
    }

    #[test]
    fn types_come_from_the_metadata() {
        // A UK mobile range and a London fixed line.
        assert_eq!(
            Phone::parse(44, "7400 123456", false).unwrap().line_type(),
            LineType::Cellphone
        );
        assert_eq!(
            Phone::parse(44, "20 7946 0018", false).unwrap().line_type(),
            LineType::Landline
        );
    }

    #[test]
    fn invalid_numbers_are_refused_outside_the_sandbox() {
        assert!(Phone::parse(1, "111-111-1111", false).is_err());
        assert!(Phone::parse(1, "12", false).is_err());
        assert!(Phone::parse(1, "abc", false).is_err());
        assert!(Phone::parse(70_000, "7754615609", false).is_err());
        assert!(Phone::parse(0, "7754615609", false).is_err());
    }

    #[test]
    fn the_sandbox_checks_only_the_shape() {
        let phone = Phone::parse(54, "317-338-9302", true).unwrap();
        assert_eq!(phone.display, "+54 317-338-9302");
        assert_eq!(phone.line_type(), LineType::Landline);
        assert!(Phone::parse(1, "111-111-1111", true).is_ok());
        assert!(Phone::parse(1, "1234567", true).is_err());
        assert!(Phone::parse(1, "1234567890123456", true).is_err());
    }

    #[test]
    fn masks_show_only_the_last_digits() {
        assert_eq!(Phone::masked(57, "3001234512"), "+57-XXX-XXX-XX12");
        assert_eq!(masked_last4("3054569302"), "XXX-XXX-9302");
        assert_eq!(dashed("4445556666"), "444-555-6666");
    }
}
