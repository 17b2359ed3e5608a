//! Phone numbers as the API takes them: a calling code and a national
//! number, checked against number metadata (the `phonenumber` crate, a port
//! of libphonenumber), or only for shape in sandbox mode.

use passcode::PhoneNumber;
use phonenumber::{Mode, Type};

/// A phone number the API accepted. Its `Debug` shows none of the number.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone {
    /// Calling code.
    pub country_code: u16,
    /// National number, digits only.
    pub national: String,
    /// E.164, such as `+14155552671`.
    pub e164: String,
    /// `+CC NATIONAL` as Authy wrote it in messages (`+1 775-461-5609`).
    pub display: String,
    /// Whether the number was read against the metadata (not in sandbox
    /// mode), which then knows its line type.
    checked: bool,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("country_code", &self.country_code)
            .finish_non_exhaustive()
    }
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
    /// Loads the numbering plans (libphonenumber's metadata, decoded at
    /// first use) and compiles the patterns of the North American plan, so
    /// that no request waits for them: the first number parsed in a
    /// process took 71 ms, the next 7 to 27 µs, and the first of another
    /// country about 5 ms (release build, 2-core Xeon). A server calls it
    /// before it serves.
    pub fn warm_up() {
        // A fixed, public example number: the result does not matter.
        let _ = Self::parse(1, "201-555-0123", false);
    }

    /// Checks `national` under `country_code`. Dashes, dots and spaces
    /// between digits are allowed, as clients send them. In sandbox mode
    /// only the shape is checked (8 to 15 national digits, any calling
    /// code) and the number is shown as it was sent.
    ///
    /// # Errors
    /// [`InvalidNumber`]; the caller answers with the endpoint's own error.
    pub fn parse(country_code: u64, national: &str, sandbox: bool) -> Result<Self, InvalidNumber> {
        match Self::read(country_code, national, sandbox)? {
            Reading::Shape(phone) => Ok(phone),
            Reading::Parsed(country_code, parsed) => Self::from_parsed(country_code, &parsed),
        }
    }

    /// The E.164 form [`parse`](Self::parse) gives the number, or an error
    /// where it gives one for a number of no valid form, for finding what
    /// was stored under that form. The metadata's validity check and the
    /// international form are left out: they were two thirds of a check's
    /// reading of its number. Outside the sandbox, only numbers `parse`
    /// accepted are stored under their form, and validity depends on that
    /// form alone (its calling code and national number), so a number that
    /// reads to a form stored by a reading of the same sandbox setting is
    /// valid. A caller that finds nothing under the form, or finds what the
    /// sandbox stored, asks `parse` which answer to give, as it would have
    /// first.
    ///
    /// # Errors
    /// [`InvalidNumber`] for a number that has no E.164 form at all.
    pub fn e164_of(
        country_code: u64,
        national: &str,
        sandbox: bool,
    ) -> Result<String, InvalidNumber> {
        match Self::read(country_code, national, sandbox)? {
            Reading::Shape(phone) => Ok(phone.e164),
            Reading::Parsed(country_code, parsed) => {
                if parsed.code().value() != country_code {
                    return Err(InvalidNumber);
                }
                Ok(e164(&parsed))
            }
        }
    }

    /// The reading both [`parse`](Self::parse) and
    /// [`e164_of`](Self::e164_of) start with.
    fn read(country_code: u64, national: &str, sandbox: bool) -> Result<Reading, InvalidNumber> {
        let country_code = u16::try_from(country_code).map_err(|_| InvalidNumber)?;
        let national = national.trim();
        let normalized =
            PhoneNumber::from_national(country_code, national).map_err(|_| InvalidNumber)?;
        let digits: String = national.chars().filter(char::is_ascii_digit).collect();
        if sandbox {
            if !(8..=15).contains(&digits.len()) {
                return Err(InvalidNumber);
            }
            return Ok(Reading::Shape(Self {
                country_code,
                display: format!("+{country_code} {national}"),
                national: digits,
                e164: normalized.as_str().to_owned(),
                checked: false,
            }));
        }
        // The national number as dialled in its country, parsed under the
        // calling code's main region: libphonenumber's rules then drop a
        // trunk prefix (UK 07400 123456 is +44 7400 123456) and keep a
        // leading zero that belongs to the number (Italy +39 06 6982 1234,
        // Cote d'Ivoire, Gabon, Congo). Every other form of the number
        // (delivery, storage, rate-limit keys, messages) is this one's.
        let parsed = match main_region(country_code) {
            Some(region) => phonenumber::parse(Some(region), &digits),
            None => phonenumber::parse(None, normalized.as_str()),
        }
        .map_err(|_| InvalidNumber)?;
        Ok(Reading::Parsed(country_code, parsed))
    }

    /// The accepted form of a number libphonenumber has read.
    fn from_parsed(
        country_code: u16,
        parsed: &phonenumber::PhoneNumber,
    ) -> Result<Self, InvalidNumber> {
        if !parsed.is_valid() || parsed.code().value() != country_code {
            return Err(InvalidNumber);
        }
        let international = parsed.format().mode(Mode::International).to_string();
        Ok(Self {
            country_code,
            // libphonenumber writes +1 numbers as "+1 775-461-5609", the
            // form Authy's messages used.
            display: international,
            // With its leading zeros (Italy's 0), which `value()` drops.
            national: parsed.national().to_string(),
            e164: e164(parsed),
            checked: true,
        })
    }

    /// Checks a number in E.164 (`+` and 1 to 15 digits), as the Verify
    /// surface takes it, by the same rules as [`parse`](Self::parse).
    ///
    /// # Errors
    /// [`InvalidNumber`].
    pub fn parse_e164(text: &str, sandbox: bool) -> Result<Self, InvalidNumber> {
        let (country_code, national) = split_e164(text)?;
        let phone = Self::parse(u64::from(country_code), national, sandbox)?;
        // The calling code and national number must be the text's own, not
        // a reading of it that drops digits.
        if phone.e164 != text {
            return Err(InvalidNumber);
        }
        Ok(phone)
    }

    /// [`e164_of`](Self::e164_of) for a number in E.164: the form
    /// [`parse_e164`](Self::parse_e164) accepts it in, which is `text`
    /// itself, for finding what was stored under it.
    ///
    /// # Errors
    /// [`InvalidNumber`] where `text` is no number's E.164 form.
    pub fn e164_key(text: &str, sandbox: bool) -> Result<&str, InvalidNumber> {
        let (country_code, national) = split_e164(text)?;
        if Self::e164_of(u64::from(country_code), national, sandbox)? != text {
            return Err(InvalidNumber);
        }
        Ok(text)
    }

    /// The number's region as ISO 3166 alpha-2 (the calling code's main
    /// region), or `ZZ` where the metadata has none.
    #[must_use]
    pub fn region(&self) -> String {
        main_region(self.country_code).map_or_else(|| "ZZ".to_owned(), |id| id.as_ref().to_owned())
    }

    /// The line type; sandbox numbers are landlines, as Authy's sandbox
    /// said of every number. Asked of the metadata here, not when the
    /// number is read: it is most of a reading's cost (a check, which
    /// never asks, spent a quarter of its instructions on it).
    #[must_use]
    pub fn line_type(&self) -> LineType {
        if !self.checked {
            return LineType::Landline;
        }
        let kind = phonenumber::parse(None, &self.e164)
            .map(|parsed| parsed.number_type(&phonenumber::metadata::DATABASE));
        match kind {
            Ok(Type::Mobile) => LineType::Cellphone,
            Ok(Type::FixedLine) => LineType::Landline,
            Ok(Type::Voip) => LineType::Voip,
            Ok(_) | Err(_) => LineType::Unknown,
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

/// What [`Phone::read`] made of a number.
enum Reading {
    /// A sandbox number, checked for its shape only.
    Shape(Phone),
    /// The calling code asked for, and libphonenumber's reading.
    Parsed(u16, phonenumber::PhoneNumber),
}

/// A read number's E.164 form, written as libphonenumber's formatter writes
/// it (`+`, the calling code, the national number with its leading zeros),
/// without the formatter, which matches the plan's formatting patterns
/// first for every form it writes, E.164 too.
fn e164(parsed: &phonenumber::PhoneNumber) -> String {
    format!("+{}{}", parsed.code().value(), parsed.national())
}

/// `+` and 1 to 15 digits, split into the calling code and the rest.
fn split_e164(text: &str) -> Result<(u16, &str), InvalidNumber> {
    let digits = text.strip_prefix('+').ok_or(InvalidNumber)?;
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidNumber);
    }
    // The calling code is the first one to three digits that name one
    // (ITU's codes are prefix-free, so at most one does), and the rest is
    // read as `parse` reads a national number: one reading, under the
    // code's main region. libphonenumber's own reading of a whole
    // international number searches the regions first, which made a Verify
    // check's reading of a number dearer than Authy's.
    (1..=3)
        .filter_map(|n| {
            let (code, rest) = digits.split_at_checked(n)?;
            let code: u16 = code.parse().ok()?;
            phonenumber::metadata::DATABASE.region(&code)?;
            Some((code, rest))
        })
        .next()
        .ok_or(InvalidNumber)
}

/// The main region of a calling code (`GB` for 44), `None` for the
/// non-geographic ones (800, 870, ...).
fn main_region(country_code: u16) -> Option<phonenumber::country::Id> {
    let regions = phonenumber::metadata::DATABASE.region(&country_code)?;
    regions.first()?.parse().ok()
}

fn last(text: &str, n: usize) -> &str {
    let start = text.len().saturating_sub(n);
    text.get(start..).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_read_as_their_national_forms_do() {
        let us = Phone::parse_e164("+17754615609", false).unwrap();
        assert_eq!(us, Phone::parse(1, "775-461-5609", false).unwrap());
        let it = Phone::parse_e164("+390669821234", false).unwrap();
        assert_eq!((it.country_code, it.national.as_str()), (39, "0669821234"));
        for bad in [
            "17754615609",
            "+",
            "+1775461560912345",
            "+1 775 461 5609",
            "+1775461560x",
            "+999123",
            "",
        ] {
            assert_eq!(Phone::parse_e164(bad, false), Err(InvalidNumber), "{bad}");
            assert_eq!(Phone::e164_key(bad, false), Err(InvalidNumber), "{bad}");
        }
    }

    #[test]
    fn a_checks_reading_leaves_validity_to_what_was_stored() {
        // Read, with a form, but not valid: `parse` refuses it, and no
        // verification is ever stored under the form.
        // (+1 200 is no area code.)
        assert!(Phone::parse(1, "200-555-0123", false).is_err());
        assert_eq!(
            Phone::e164_of(1, "200-555-0123", false).as_deref(),
            Ok("+12005550123")
        );
        assert_eq!(Phone::e164_key("+12005550123", false), Ok("+12005550123"));
        assert!(Phone::parse_e164("+12005550123", false).is_err());
        // libphonenumber reads +1 111-111-1111 as +1 11111111, which is
        // not the text's E.164 form.
        assert!(Phone::e164_of(1, "111-111-1111", false).is_ok());
        assert_eq!(Phone::e164_key("+11111111111", false), Err(InvalidNumber));
        // No form at all: refused by both readings.
        for (cc, national) in [
            (1, "12"),
            (1, "abc"),
            (70_000, "7754615609"),
            (0, "7754615609"),
        ] {
            assert_eq!(
                Phone::e164_of(cc, national, false),
                Err(InvalidNumber),
                "+{cc} {national}"
            );
        }
        // An international prefix where the number should be reads to no
        // other number's form.
        assert!(Phone::e164_of(44, "00 7400 123456", false).is_err());
        // The sandbox's reading is the same in both.
        for (cc, national) in [(57, "300 123 4567"), (1, "111-111-1111")] {
            assert_eq!(
                Phone::e164_of(cc, national, true),
                Ok(Phone::parse(cc, national, true).unwrap().e164)
            );
        }
    }

    #[test]
    fn a_us_number_reads_as_authy_wrote_it() {
        let phone = Phone::parse(1, "775-461-5609", false).unwrap();
        assert_eq!(phone.e164, "+17754615609");
        assert_eq!(phone.display, "+1 775-461-5609");
        assert_eq!(phone.national, "7754615609");
        // All of +1 is "fixed line or mobile" in the metadata.
        assert_eq!(phone.line_type(), LineType::Unknown);
    }

    /// D7: numbers whose national form keeps its 0 lost it (Italy went to
    /// `+39669821234`), and a UK trunk 0 was kept (`+4407400123456`).
    /// Each number is libphonenumber's own example for its region and
    /// type (`exampleNumber` in its `PhoneNumberMetadata.xml`), or the
    /// numbers of the finding, written as they are dialled at home.
    #[test]
    fn numbers_are_e164_by_libphonenumbers_rules() {
        let cases: [(u64, &str, &str); 22] = [
            (39, "06 6982 1234", "+390669821234"),
            (39, "02 1234 5678", "+390212345678"),
            (39, "312 345 6789", "+393123456789"),
            (225, "07 07 12 34 56", "+2250707123456"),
            (225, "01 23 45 67 89", "+2250123456789"),
            (225, "21 23 45 67 89", "+2252123456789"),
            (241, "06 03 12 34", "+24106031234"),
            (241, "01 44 12 34", "+24101441234"),
            (242, "06 123 4567", "+242061234567"),
            (242, "22 212 3456", "+242222123456"),
            (44, "07400 123456", "+447400123456"),
            (44, "7400 123456", "+447400123456"),
            (44, "01212 345678", "+441212345678"),
            (49, "030 123456", "+4930123456"),
            (49, "30123456", "+4930123456"),
            (49, "01512 3456789", "+4915123456789"),
            (55, "11 96123-4567", "+5511961234567"),
            (55, "11 2345-6789", "+551123456789"),
            (91, "081234 56789", "+918123456789"),
            (91, "74104 10123", "+917410410123"),
            (1, "201-555-0123", "+12015550123"),
            (1, "1 201 555 0123", "+12015550123"),
        ];
        for (cc, national, e164) in cases {
            let phone = Phone::parse(cc, national, false)
                .unwrap_or_else(|_| panic!("+{cc} {national} is valid"));
            assert_eq!(phone.e164, e164, "+{cc} {national}");
            // Verify's E.164 reads as the national form does.
            assert_eq!(Phone::parse_e164(e164, false), Ok(phone.clone()), "{e164}");
            // Stored as the national number with its own zeros, so the
            // e164 built from the stored user is the same number.
            assert_eq!(format!("+{cc}{}", phone.national), e164, "+{cc} {national}");
            // A check's reading finds the form the start stored.
            assert_eq!(Phone::e164_of(cc, national, false).as_deref(), Ok(e164));
            assert_eq!(Phone::e164_key(e164, false), Ok(e164));
        }
        // An international prefix where the number should be: not a
        // second form of the same number.
        assert!(Phone::parse(44, "00 7400 123456", false).is_err());
        assert!(Phone::parse(39, "006 6982 1234", false).is_err());
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
