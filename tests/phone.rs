//! Normalizing national numbers into E.164.

use passcode::{PhoneError, PhoneNumber};

#[test]
fn separators_the_authy_api_accepts() {
    for (code, national, e164) in [
        (1, "4155552671", "+14155552671"),
        (1, "415-555-2671", "+14155552671"),
        (1, "415.555.2671", "+14155552671"),
        (1, "415 555 2671", "+14155552671"),
        (1, "415-555.2671", "+14155552671"),
        (44, "20 7946 0958", "+442079460958"),
        (351, "912 345 678", "+351912345678"),
        (49, "0301234567", "+490301234567"),
    ] {
        let number = PhoneNumber::from_national(code, national)
            .unwrap_or_else(|e| panic!("{national}: {e}"));
        assert_eq!(number.as_str(), e164);
        assert_eq!(number.to_string(), e164);
    }
}

#[test]
fn everything_else_is_refused() {
    let cases: &[(u16, &str, PhoneError)] = &[
        (0, "4155552671", PhoneError::CountryCode),
        (1000, "4155552671", PhoneError::CountryCode),
        (1, "(415) 555-2671", PhoneError::InvalidCharacter),
        (1, "+14155552671", PhoneError::InvalidCharacter),
        (1, "415/555/2671", PhoneError::InvalidCharacter),
        (1, "415_555_2671", PhoneError::InvalidCharacter),
        (1, "415 555 2671 x12", PhoneError::InvalidCharacter),
        (1, "４１５5552671", PhoneError::InvalidCharacter),
        (1, "415\t5552671", PhoneError::InvalidCharacter),
        (1, "-4155552671", PhoneError::MisplacedSeparator),
        (1, "4155552671-", PhoneError::MisplacedSeparator),
        (1, "415--5552671", PhoneError::MisplacedSeparator),
        (1, "415 -5552671", PhoneError::MisplacedSeparator),
        (1, " ", PhoneError::MisplacedSeparator),
        (1, "", PhoneError::TooShort),
        (1, "555", PhoneError::TooShort),
        (1, "415555267100000", PhoneError::TooLong),
        (999, "1234567890123", PhoneError::TooLong),
    ];
    for (code, national, expected) in cases {
        assert_eq!(
            PhoneNumber::from_national(*code, national),
            Err(*expected),
            "{code} {national:?}"
        );
    }
    // 15 digits in all is the E.164 maximum.
    assert_eq!(
        PhoneNumber::from_national(1, "41555526710000")
            .unwrap()
            .as_str(),
        "+141555526710000"
    );
    assert_eq!(
        PhoneNumber::from_national(999, "123456789012")
            .unwrap()
            .as_str(),
        "+999123456789012"
    );
}
