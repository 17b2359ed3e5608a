//! Arbitrary bytes into every persisted state's `from_bytes` (`TotpState`,
//! `HotpState`, `RateLimitState`, `SmsVerification`, `BackupCodes`), as
//! they come and again with a correct CRC-32 (from `crc32fast`) in their
//! last four bytes, so that the field checks behind the checksum are
//! reached:
//!
//! - nothing panics, and at most one type accepts any bytes;
//! - whatever decodes encodes back to exactly the input: the encoding is
//!   canonical, so equal states have equal bytes and no two byte strings
//!   name one state;
//! - a checksum error means the checksum really is wrong, and no bytes with
//!   a wrong checksum get as far as the field checks (`Invalid`);
//! - serde (hex text in JSON) accepts exactly what `from_bytes` accepts,
//!   in either case of hex, and writes the lower-case hex of the bytes.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use passcode::{BackupCodes, HotpState, RateLimitState, SmsVerification, StateError, TotpState};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `bytes` as a `T` and checks the properties; whether it decoded.
fn check<T, const N: usize>(
    bytes: &[u8],
    json: &[String; 2],
    from_bytes: fn(&[u8]) -> Result<T, StateError>,
    to_bytes: fn(&T) -> [u8; N],
) -> bool
where
    T: PartialEq + Debug + Serialize + DeserializeOwned,
{
    let decoded = from_bytes(bytes);
    let checksum_ok = bytes.len() >= 4 && {
        let (body, stored) = bytes.split_at(bytes.len() - 4);
        crc32fast::hash(body).to_be_bytes() == stored
    };
    match &decoded {
        Ok(value) => {
            assert_eq!(
                to_bytes(value).as_slice(),
                bytes,
                "{value:?} is not canonical"
            );
            assert!(checksum_ok);
        }
        Err(StateError::Checksum) => assert!(!checksum_ok, "a good checksum refused"),
        Err(StateError::Invalid) => assert!(checksum_ok, "fields read from damaged bytes"),
        Err(_) => {}
    }

    for text in json {
        let via_serde = serde_json::from_str::<T>(text);
        assert_eq!(
            via_serde.as_ref().ok(),
            decoded.as_ref().ok(),
            "serde and from_bytes disagree on {text}"
        );
    }
    if let Ok(value) = &decoded {
        assert_eq!(serde_json::to_string(value).expect("serializes"), json[0]);
    }
    decoded.is_ok()
}

/// `bytes` as a JSON string of hex digits: lower case, then upper case.
fn json_hex(bytes: &[u8]) -> [String; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(2 * bytes.len() + 2);
    text.push('"');
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text.push('"');
    let upper = text.to_ascii_uppercase();
    [text, upper]
}

fn check_all(bytes: &[u8]) {
    let json = json_hex(bytes);
    let accepted = [
        check(bytes, &json, TotpState::from_bytes, TotpState::to_bytes),
        check(bytes, &json, HotpState::from_bytes, HotpState::to_bytes),
        check(
            bytes,
            &json,
            RateLimitState::from_bytes,
            RateLimitState::to_bytes,
        ),
        check(
            bytes,
            &json,
            SmsVerification::from_bytes,
            SmsVerification::to_bytes,
        ),
        check(bytes, &json, BackupCodes::from_bytes, BackupCodes::to_bytes),
    ];
    assert!(
        accepted.iter().filter(|&&ok| ok).count() <= 1,
        "more than one type accepts {bytes:02x?}"
    );
}

fuzz_target!(|data: &[u8]| {
    check_all(data);
    if data.len() >= 4 {
        let mut sealed = data.to_vec();
        let body = sealed.len() - 4;
        let crc = crc32fast::hash(&sealed[..body]);
        sealed[body..].copy_from_slice(&crc.to_be_bytes());
        check_all(&sealed);
    }
});
