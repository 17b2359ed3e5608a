//! Key material and codes never show in `Debug`; secrets compare in constant
//! time by value and can be wiped.

use passcode::{Code, Digits, Hotp, HotpConfig, Secret, Totp, TotpConfig};
use zeroize::Zeroize;

const KEY: &[u8] =
    b"\x9a\x3f\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x01\x02";

/// Every way the key could be spelled in a debug string.
fn spellings(key: &[u8]) -> Vec<String> {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        hex.clone(),
        hex.to_uppercase(),
        format!("{:?}", &key[..4]),
        data_encoding::BASE32_NOPAD.encode(key)[..8].to_owned(),
        format!("{}, {}", key[0], key[1]),
    ]
}

#[test]
fn debug_never_shows_the_key() {
    let secret = Secret::from_bytes(KEY).unwrap();
    let totp = Totp::new(&secret, TotpConfig::new()).unwrap();
    let hotp = Hotp::new(&secret, HotpConfig::new()).unwrap();
    let shown = [
        format!("{secret:?}"),
        format!("{secret:#?}"),
        format!("{:?}", secret.to_base32()),
        format!("{totp:?}"),
        format!("{hotp:?}"),
    ];
    assert_eq!(shown[0], "Secret { .. }");
    assert_eq!(shown[2], "Base32 { .. }");
    assert_eq!(
        shown[3],
        "Totp { algorithm: Sha1, digits: Digits(6), period: 30, t0: 0, .. }"
    );
    assert_eq!(shown[4], "Hotp { algorithm: Sha1, digits: Digits(6), .. }");
    for text in &shown {
        for spelling in spellings(KEY) {
            assert!(!text.contains(&spelling), "{text} shows {spelling}");
        }
    }
}

#[test]
fn debug_never_shows_a_code() {
    let code = Code::parse("987654", Digits::SIX).unwrap();
    assert_eq!(format!("{code:?}"), "Code { .. }");
    assert_eq!(format!("{code}"), "987654");
    assert_eq!(format!("{code:>8}"), "  987654");
}

#[test]
fn secrets_compare_by_value() {
    let a = Secret::from_bytes(&[1; 20]).unwrap();
    let mut other = [1; 20];
    other[19] = 2;
    assert_eq!(a, Secret::from_bytes(&[1; 20]).unwrap());
    assert_ne!(a, Secret::from_bytes(&other).unwrap());
    assert_ne!(a, Secret::from_bytes(&[1; 21]).unwrap());
    let codes = (
        Code::parse("123456", Digits::SIX).unwrap(),
        Code::parse("123 456", Digits::SIX).unwrap(),
    );
    assert_eq!(codes.0, codes.1);
    assert_ne!(codes.0, Code::parse("123457", Digits::SIX).unwrap());
}

#[test]
fn zeroize_clears_the_key() {
    let mut secret = Secret::from_bytes(KEY).unwrap();
    secret.zeroize();
    assert!(secret.as_bytes().is_empty());
    assert_eq!(secret.to_base32().to_string(), "");
}
