//! Every bad input or configuration returns its exact typed error, never a
//! panic.
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{
    Algorithm, Code, CodeError, Digits, Hotp, HotpConfig, LookAhead, MinLength, ParamError, Period,
    ResyncWindow, Secret, SecretError, StepError, Totp, TotpConfig, VerifyError, Window,
};

const KEY: &[u8] = b"12345678901234567890";

fn totp(config: TotpConfig) -> Totp {
    Totp::from_key(KEY, config).unwrap()
}

fn hotp() -> Hotp {
    Hotp::from_key(KEY, HotpConfig::new()).unwrap()
}

#[test]
fn digits_outside_6_to_10() {
    for digits in [0, 1, 4, 5, 11, 12, u8::MAX] {
        assert_eq!(Digits::new(digits), Err(ParamError::Digits), "{digits}");
    }
    for digits in 6..=10 {
        assert_eq!(Digits::new(digits).map(Digits::get), Ok(digits));
    }
}

#[test]
fn zero_period() {
    assert_eq!(Period::new(0), Err(ParamError::Period));
    assert_eq!(Period::new(1).map(Period::seconds), Ok(1));
    assert_eq!(Period::new(u64::MAX).map(Period::seconds), Ok(u64::MAX));
}

#[test]
fn windows_past_their_bounds() {
    assert_eq!(Window::new(21, 0), Err(ParamError::Window));
    assert_eq!(Window::new(0, 21), Err(ParamError::Window));
    assert_eq!(Window::new(u8::MAX, u8::MAX), Err(ParamError::Window));
    assert!(Window::new(20, 20).is_ok());
    assert_eq!(LookAhead::new(51), Err(ParamError::LookAhead));
    assert_eq!(LookAhead::new(u16::MAX), Err(ParamError::LookAhead));
    assert_eq!(ResyncWindow::new(1001), Err(ParamError::ResyncWindow));
}

#[test]
fn empty_secrets() {
    assert_eq!(Secret::from_bytes(&[]).err(), Some(SecretError::Empty));
    for text in ["", "   ", "====", "  ==  "] {
        assert_eq!(
            Secret::from_base32(text).err(),
            Some(SecretError::Empty),
            "{text:?}"
        );
    }
    assert_eq!(
        Totp::from_key(&[], TotpConfig::new()).err(),
        Some(SecretError::Empty)
    );
    assert_eq!(
        Hotp::from_key(&[], HotpConfig::new()).err(),
        Some(SecretError::Empty)
    );
}

#[test]
fn short_secrets() {
    let short = SecretError::TooShort { min_bits: 128 };
    assert_eq!(Secret::from_bytes(&[1; 15]).err(), Some(short));
    assert!(Secret::from_bytes(&[1; 16]).is_ok());
    // 80 bits is the floor, even when asked for legacy secrets.
    let legacy = SecretError::TooShort { min_bits: 80 };
    assert_eq!(
        Secret::from_bytes_with_min(&[1; 9], MinLength::Bits80).err(),
        Some(legacy)
    );
    assert!(Secret::from_bytes_with_min(&[1; 10], MinLength::Bits80).is_ok());
    // 16 base32 characters are 80 bits.
    assert_eq!(Secret::from_base32("JBSWY3DPEHPK3PXP").err(), Some(short));
    assert_eq!(
        // 15 characters are 9 bytes.
        Secret::from_base32_with_min("JBSWY3DPEHPK3PX", MinLength::Bits80).err(),
        Some(legacy)
    );
    assert_eq!(
        Secret::generate_len(&mut rand::rng(), 15).err(),
        Some(short)
    );
}

/// Keys longer than `Secret::MAX_LEN` are accepted (and kept hashed, see
/// `tests/rfc2104.rs`); only a random key that long is refused.
#[test]
fn long_secrets() {
    assert!(Secret::from_bytes(&[1; 129]).unwrap().is_hashed());
    assert!(!Secret::from_bytes(&[1; 128]).unwrap().is_hashed());
    let text_129 = "A".repeat(207); // 207 characters decode to 129 bytes
    assert_eq!(Secret::from_base32(&text_129).unwrap().key_len(), 129);
    let huge = "A".repeat(100_000);
    assert_eq!(Secret::from_base32(&huge).unwrap().key_len(), 62_500);
    assert_eq!(
        Secret::generate_len(&mut rand::rng(), 129).err(),
        Some(SecretError::TooLong)
    );
    assert_eq!(
        Secret::generate_len(&mut rand::rng(), usize::MAX).err(),
        Some(SecretError::TooLong)
    );
}

#[test]
fn text_that_is_not_base32() {
    let cases = [
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", // '1' is not in the alphabet
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ0",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ8",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ!",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJé",
        "GEZDGNBVGY3TQOJQ-GEZDGNBVGY3TQOJQ", // hyphens are not ignored
        "GEZDGNBVGY3TQOJQ\tGEZDGNBVGY3TQOJQ", // nor tabs
        "GEZDGNBVGY3TQOJQ=GEZDGNBVGY3TQOJQ", // data after padding
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1A", // a bad letter and a bad length
    ];
    for text in cases {
        assert_eq!(
            Secret::from_base32(text).err(),
            Some(SecretError::InvalidBase32),
            "{text:?}"
        );
    }
}

/// Regression: base32 letters only, but of a length no byte string encodes
/// to (8n + 1, 3 or 6 characters), were reported as "not base32", which
/// sends the user looking for a wrong letter. The error names the length.
#[test]
fn base32_of_an_impossible_length_names_the_length() {
    let cases = [
        ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA", 33), // a 1-character tail
        ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQAAA", 35), // 3-character tail
        ("gezdgnbvgy3tqojqgezdgnbvgy3tqojqaaaaaa", 38), // 6-character tail
        ("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ A===", 33), // spaces, padding
    ];
    for (text, chars) in cases {
        let error = Secret::from_base32(text).unwrap_err();
        assert_eq!(error, SecretError::Base32Length { chars }, "{text:?}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("{chars} base32 characters")),
            "{message}"
        );
        assert!(!message.contains("not base32"), "{message}");
    }
    // Lengths that encode bytes are fine.
    for len in [32, 34, 36, 37, 39, 40] {
        assert!(Secret::from_base32(&"A".repeat(len)).is_ok(), "{len}");
    }
}

#[cfg(not(feature = "sha256"))]
#[test]
fn disabled_algorithm() {
    let config = TotpConfig::new().with_algorithm(Algorithm::Sha256);
    assert_eq!(
        Totp::from_key(KEY, config).err(),
        Some(SecretError::AlgorithmDisabled(Algorithm::Sha256))
    );
    assert!(!Algorithm::Sha256.is_enabled());
}

#[test]
fn malformed_codes() {
    let six = Digits::SIX;
    let wrong_length = CodeError::WrongLength { expected: 6 };
    let cases: &[(&str, CodeError)] = &[
        ("", wrong_length),
        ("12345", wrong_length),
        ("1234567", wrong_length),
        ("123 45", wrong_length),
        ("12a456", CodeError::InvalidCharacter),
        ("１２３４５６", CodeError::InvalidCharacter),
        ("123\t456", CodeError::InvalidCharacter),
        ("123_456", CodeError::InvalidCharacter),
        ("+123456", CodeError::InvalidCharacter),
        ("123456\n", CodeError::InvalidCharacter),
        ("\u{0}123456", CodeError::InvalidCharacter),
        (" 123456", CodeError::MisplacedSeparator),
        ("123456 ", CodeError::MisplacedSeparator),
        ("-123456", CodeError::MisplacedSeparator),
        ("123456-", CodeError::MisplacedSeparator),
        ("123  456", CodeError::MisplacedSeparator),
        ("123--456", CodeError::MisplacedSeparator),
        ("123 -456", CodeError::MisplacedSeparator),
        ("12 34-56", CodeError::MisplacedSeparator),
        ("-", CodeError::MisplacedSeparator),
    ];
    for (input, expected) in cases {
        assert_eq!(Code::parse(input, six).err(), Some(*expected), "{input:?}");
    }
    // Length is checked before anything else, at 32 bytes.
    assert_eq!(
        Code::parse(&"1".repeat(33), six).err(),
        Some(CodeError::TooLong)
    );
    assert_eq!(
        Code::parse(&"x".repeat(33), six).err(),
        Some(CodeError::TooLong)
    );
    let longest = "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6"; // 31 bytes, 16 digits
    assert_eq!(Code::parse(longest, six).err(), Some(wrong_length));
    assert_eq!(Code::parse(&"1".repeat(32), six).err(), Some(wrong_length));
}

#[test]
fn grouped_codes_parse() {
    for input in ["123456", "123 456", "123-456", "12 34 56", "1-2-3-4-5-6"] {
        assert_eq!(
            Code::parse(input, Digits::SIX).unwrap().as_str(),
            "123456",
            "{input:?}"
        );
    }
    let ten = Digits::new(10).unwrap();
    assert_eq!(
        Code::parse("01234 56789", ten).unwrap().as_str(),
        "0123456789"
    );
}

#[test]
fn verify_rejects_malformed_input_first() {
    let totp = totp(TotpConfig::new().with_t0(1000));
    // Malformed wins over an out-of-range time: no secret work is done.
    assert_eq!(
        totp.verify("12345", 0, Window::default()),
        Err(VerifyError::Malformed(CodeError::WrongLength {
            expected: 6
        }))
    );
    assert_eq!(
        hotp().verify("abcdef", u64::MAX, LookAhead::new(0).unwrap()),
        Err(VerifyError::Malformed(CodeError::InvalidCharacter))
    );
    assert_eq!(
        hotp().resync("123456", "12345", 0, ResyncWindow::new(1).unwrap()),
        Err(VerifyError::Malformed(CodeError::WrongLength {
            expected: 6
        }))
    );
}

#[test]
fn random_code_lengths() {
    for len in [0, 1, 3, 11, u8::MAX] {
        assert_eq!(
            Code::random(&mut rand::rng(), len).err(),
            Some(ParamError::SmsDigits),
            "{len}"
        );
    }
    for len in 4..=10 {
        assert_eq!(
            Code::random(&mut rand::rng(), len).unwrap().as_str().len(),
            usize::from(len)
        );
    }
}

#[test]
fn time_before_t0() {
    let totp = totp(TotpConfig::new().with_t0(1000));
    assert_eq!(totp.generate(999).err(), Some(StepError::BeforeT0));
    assert_eq!(totp.config().seconds_left(999), Err(StepError::BeforeT0));
    // Step edges: a full period at the start of a step, 1 at its last second.
    assert_eq!(totp.config().seconds_left(1000), Ok(30));
    assert_eq!(totp.config().seconds_left(1029), Ok(1));
    assert_eq!(
        totp.config().seconds_left(u64::MAX),
        Ok(30 - (u64::MAX - 1000) % 30)
    );
    assert_eq!(
        TotpConfig::new().with_t0(u64::MAX).step(0),
        Err(StepError::BeforeT0)
    );
    assert_eq!(
        totp.verify("123456", 999, Window::default()),
        Err(VerifyError::OutOfRange(StepError::BeforeT0))
    );
    assert_eq!(
        totp.verify_after("123456", 0, Window::default(), 0),
        Err(VerifyError::OutOfRange(StepError::BeforeT0))
    );
    assert!(totp.generate(1000).is_ok());
}

/// Steps below 0 do not exist: a window reaching below step 0 is not an
/// error, it checks the steps that do.
#[test]
fn window_below_step_zero() {
    let totp = totp(TotpConfig::new());
    let code = totp.generate(0).unwrap();
    assert_eq!(
        totp.verify(code.as_str(), 29, Window::new(1, 0).unwrap())
            .unwrap()
            .step,
        0
    );
    // Step 1 minus one step is step 0: in range.
    assert_eq!(
        totp.verify(code.as_str(), 30, Window::new(1, 0).unwrap())
            .unwrap()
            .step,
        0
    );
    assert_eq!(
        totp.verify(code.as_str(), 0, Window::new(0, 3).unwrap())
            .unwrap()
            .step,
        0
    );
}

#[test]
fn window_past_the_last_step() {
    let per_second = TotpConfig::new().with_period(Period::new(1).unwrap());
    let totp = totp(per_second);
    let last = totp.generate(u64::MAX).unwrap();
    assert_eq!(
        totp.verify(last.as_str(), u64::MAX, Window::new(0, 1).unwrap()),
        Err(VerifyError::OutOfRange(StepError::Overflow))
    );
    let matched = totp
        .verify(last.as_str(), u64::MAX, Window::new(1, 0).unwrap())
        .unwrap();
    assert_eq!((matched.step, matched.drift), (u64::MAX, 0));
    // With 30-second steps the largest time is far from the largest step.
    let totp = self::totp(TotpConfig::new());
    let code = totp.generate(u64::MAX).unwrap();
    assert!(
        totp.verify(code.as_str(), u64::MAX, Window::new(20, 20).unwrap())
            .is_ok()
    );
}

#[test]
fn hotp_counter_at_the_top() {
    let hotp = hotp();
    let exact = LookAhead::new(0).unwrap();
    let top = hotp.generate(u64::MAX);
    // Counter u64::MAX has a code, but no next counter to store after it.
    assert_eq!(
        hotp.verify(top.as_str(), u64::MAX, exact),
        Err(VerifyError::OutOfRange(StepError::Overflow))
    );
    assert_eq!(
        hotp.verify(top.as_str(), u64::MAX - 3, LookAhead::new(3).unwrap()),
        Err(VerifyError::OutOfRange(StepError::Overflow))
    );
    let below = hotp.generate(u64::MAX - 1);
    let matched = hotp
        .verify(below.as_str(), u64::MAX - 3, LookAhead::new(2).unwrap())
        .unwrap();
    assert_eq!(
        (matched.counter, matched.next_counter),
        (u64::MAX - 1, u64::MAX)
    );
    // Resync matches a pair (c, c + 1) and stores c + 2.
    assert_eq!(
        hotp.resync(
            "123456",
            "123456",
            u64::MAX - 1,
            ResyncWindow::new(0).unwrap()
        ),
        Err(VerifyError::OutOfRange(StepError::Overflow))
    );
    let (c1, c2) = (hotp.generate(u64::MAX - 2), hotp.generate(u64::MAX - 1));
    let window = ResyncWindow::new(0).unwrap();
    let matched = hotp
        .resync(c1.as_str(), c2.as_str(), u64::MAX - 2, window)
        .unwrap();
    assert_eq!(
        (matched.counter, matched.next_counter),
        (u64::MAX - 1, u64::MAX)
    );
}

#[test]
fn errors_are_copy_display_and_error() {
    fn check<E: Copy + std::fmt::Display + std::error::Error>(error: E) -> String {
        let copy = error;
        copy.to_string()
    }
    let messages = [
        check(SecretError::Empty),
        check(SecretError::TooShort { min_bits: 128 }),
        check(SecretError::TooLong),
        check(SecretError::InvalidBase32),
        check(SecretError::AlgorithmDisabled(Algorithm::Sha512)),
        check(ParamError::Digits),
        check(ParamError::Period),
        check(ParamError::Window),
        check(ParamError::LookAhead),
        check(ParamError::ResyncWindow),
        check(CodeError::TooLong),
        check(CodeError::InvalidCharacter),
        check(CodeError::MisplacedSeparator),
        check(CodeError::WrongLength { expected: 8 }),
        check(StepError::BeforeT0),
        check(StepError::Overflow),
        check(StepError::ClockBeforeUnixEpoch),
        check(VerifyError::Invalid),
        check(VerifyError::Replayed),
        check(VerifyError::Malformed(CodeError::TooLong)),
        check(VerifyError::OutOfRange(StepError::Overflow)),
        check(SecretError::Base32Length { chars: 33 }),
        check(SecretError::KeyNotKept),
    ];
    assert_eq!(
        messages[1],
        "secret is shorter than the minimum of 128 bits"
    );
    assert_eq!(messages[5], "digits must be 6 to 10");
    assert_eq!(messages[13], "code must have 8 digits");
    assert_eq!(messages[19], "malformed code: code is longer than 32 bytes");
    let unique: std::collections::HashSet<_> = messages.iter().collect();
    assert_eq!(unique.len(), messages.len(), "every message is distinct");
    assert!(std::error::Error::source(&VerifyError::Malformed(CodeError::TooLong)).is_some());
}
