//! RFC 4226 Appendix D: the HOTP test values for the secret
//! "12345678901234567890" (the intermediate HMAC values are checked in
//! `src/hmac.rs`, where the HMAC is visible).
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{Digits, Hotp, HotpConfig, LookAhead, ResyncWindow, VerifyError};

const SECRET: &[u8] = b"12345678901234567890";

/// (count, truncated value as hex, as decimal, 6-digit HOTP)
const APPENDIX_D: [(u64, u32, u32, &str); 10] = [
    (0, 0x4c93_cf18, 1_284_755_224, "755224"),
    (1, 0x4139_7eea, 1_094_287_082, "287082"),
    (2, 0x082f_ef30, 137_359_152, "359152"),
    (3, 0x66ef_7655, 1_726_969_429, "969429"),
    (4, 0x61c5_938a, 1_640_338_314, "338314"),
    (5, 0x33c0_83d4, 868_254_676, "254676"),
    (6, 0x7256_c032, 1_918_287_922, "287922"),
    (7, 0x04e5_b397, 82_162_583, "162583"),
    (8, 0x2823_443f, 673_399_871, "399871"),
    (9, 0x2679_dc69, 645_520_489, "520489"),
];

fn hotp(digits: u8) -> Hotp {
    Hotp::from_key(
        SECRET,
        HotpConfig::new().with_digits(Digits::new(digits).unwrap()),
    )
    .unwrap()
}

#[test]
fn six_digit_codes() {
    let hotp = hotp(6);
    for (count, _, _, code) in APPENDIX_D {
        assert_eq!(hotp.generate(count).as_str(), code, "count {count}");
    }
}

/// A 10-digit code is the whole 31-bit truncated value (10^10 > 2^31), so it
/// shows the "Truncated" column of the appendix, zero-padded.
#[test]
fn truncated_values() {
    let hotp = hotp(10);
    for (count, hex, decimal, _) in APPENDIX_D {
        assert_eq!(hex, decimal, "the appendix's two columns agree");
        let code = hotp.generate(count);
        assert_eq!(code.as_str(), format!("{decimal:010}"), "count {count}");
    }
}

/// Seven to nine digits keep the low digits of the same values.
#[test]
fn other_lengths_reduce_the_same_values() {
    for digits in 7..=9u8 {
        let hotp = hotp(digits);
        let modulus = 10u32.pow(u32::from(digits));
        for (count, _, decimal, _) in APPENDIX_D {
            let expected = format!("{:0width$}", decimal % modulus, width = usize::from(digits));
            assert_eq!(hotp.generate(count).as_str(), expected);
        }
    }
}

#[test]
fn each_code_verifies_at_its_counter_and_advances_past_it() {
    let hotp = hotp(6);
    let exact = LookAhead::new(0).unwrap();
    for (count, _, _, code) in APPENDIX_D {
        let matched = hotp.verify(code, count, exact).unwrap();
        assert_eq!((matched.counter, matched.next_counter), (count, count + 1));
        assert_eq!(
            hotp.verify(
                code,
                matched.next_counter,
                LookAhead::new(LookAhead::MAX).unwrap()
            ),
            Err(VerifyError::Invalid),
            "count {count} is never accepted again once passed"
        );
    }
}

#[test]
fn look_ahead_finds_a_later_counter() {
    let hotp = hotp(6);
    let matched = hotp
        .verify("520489", 0, LookAhead::new(9).unwrap())
        .unwrap();
    assert_eq!((matched.counter, matched.next_counter), (9, 10));
    assert_eq!(
        hotp.verify("520489", 0, LookAhead::new(8).unwrap()),
        Err(VerifyError::Invalid),
        "one counter short of the code"
    );
}

#[test]
fn resync_needs_two_consecutive_codes() {
    let hotp = hotp(6);
    let window = ResyncWindow::new(10).unwrap();
    let matched = hotp.resync("287922", "162583", 0, window).unwrap();
    assert_eq!((matched.counter, matched.next_counter), (7, 8));
    // Codes 6 and 8 are not consecutive.
    assert_eq!(
        hotp.resync("287922", "399871", 0, window),
        Err(VerifyError::Invalid)
    );
    // In the wrong order.
    assert_eq!(
        hotp.resync("162583", "287922", 0, window),
        Err(VerifyError::Invalid)
    );
    // The first code must sit inside the window: counter 6 is 6 past 0.
    let narrow = ResyncWindow::new(5).unwrap();
    assert_eq!(
        hotp.resync("287922", "162583", 0, narrow),
        Err(VerifyError::Invalid)
    );
    let just = ResyncWindow::new(6).unwrap();
    assert_eq!(hotp.resync("287922", "162583", 0, just).unwrap().counter, 7);
}
