//! Base32 secrets in and out.
//!
//! - Bytes of an allowed length survive `Secret::from_bytes` ->
//!   `to_base32()` -> `Secret::from_base32`, also lower-cased, with spaces
//!   inserted and `=` padding appended; `to_base32()` is `data-encoding`'s
//!   unpadded RFC 4648 base32; lengths out of range get their exact error.
//!   A key longer than `Secret::MAX_LEN` is kept hashed: equal however it
//!   is built, with no base32 to write.
//! - Any text into `from_base32` never panics and agrees with a reference
//!   decoder: `data-encoding` after the documented normalization (spaces
//!   dropped anywhere, `=` only at the end, either case).
//!
//! `passcode` decodes with `base32ct`, which ignores the unused low bits of
//! the last character (`...AA` and `...AB` decode to the same byte when the
//! last character only carries padding bits), where `data-encoding`'s
//! `BASE32_NOPAD` refuses non-zero trailing bits. The reference therefore
//! decodes with `check_trailing_bits` off; such texts are accepted, and
//! their secret re-encodes to the canonical form.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use data_encoding::{BASE32_NOPAD, Encoding, Specification};
use libfuzzer_sys::fuzz_target;
use passcode::{MinLength, Secret, SecretError};

#[derive(Arbitrary, Debug)]
enum Input {
    /// Raw key bytes, and how to dress their base32 up.
    Bytes {
        bytes: Vec<u8>,
        legacy: bool,
        /// Positions (modulo the length) at which to insert a space.
        spaces: Vec<u8>,
        lower: bool,
        /// How many `=` to append (taken modulo 8).
        padding: u8,
    },
    /// Any text at all.
    Text { text: String, legacy: bool },
    /// Text over the base32 alphabet in both cases, spaces and `=`, so that
    /// it decodes often.
    Symbols { symbols: Vec<u8>, legacy: bool },
}

/// RFC 4648 base32 without padding, ignoring non-zero trailing bits.
static LENIENT: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.check_trailing_bits = false;
    spec.encoding().expect("a valid specification")
});

const SYMBOLS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz =";

fn min_len(legacy: bool) -> (MinLength, usize, u16) {
    if legacy {
        (MinLength::Bits80, 10, 80)
    } else {
        (MinLength::Bits128, 16, 128)
    }
}

/// The secret's bytes or error for decoded `bytes`, by the documented rules.
fn length_rules(bytes: Vec<u8>, legacy: bool) -> Result<Vec<u8>, SecretError> {
    let (_, min, min_bits) = min_len(legacy);
    match bytes.len() {
        0 => Err(SecretError::Empty),
        n if n < min => Err(SecretError::TooShort { min_bits }),
        _ => Ok(bytes),
    }
}

/// The reference decoder.
fn reference(text: &str, legacy: bool) -> Result<Vec<u8>, SecretError> {
    let no_spaces: String = text.chars().filter(|&c| c != ' ').collect();
    let body = no_spaces.trim_end_matches('=');
    if body.contains('=') {
        return Err(SecretError::InvalidBase32);
    }
    // A foreign character is reported before a length no byte string
    // encodes to; the latter names the count.
    let upper = body.to_ascii_uppercase();
    if !upper
        .bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    {
        return Err(SecretError::InvalidBase32);
    }
    let bytes = LENIENT.decode(upper.as_bytes()).map_err(|e| match e.kind {
        data_encoding::DecodeKind::Length => SecretError::Base32Length {
            chars: u32::try_from(upper.len()).unwrap_or(u32::MAX),
        },
        _ => SecretError::InvalidBase32,
    })?;
    length_rules(bytes, legacy)
}

fn round_trip(bytes: Vec<u8>, legacy: bool, spaces: &[u8], lower: bool, padding: u8) {
    let (min, ..) = min_len(legacy);
    let secret = Secret::from_bytes_with_min(&bytes, min);
    let expected = length_rules(bytes.clone(), legacy);
    assert_eq!(secret.as_ref().map(|_| ()), expected.as_ref().map(|_| ()));
    let Ok(secret) = secret else { return };
    assert_eq!(secret.key_len(), bytes.len());
    if secret.is_hashed() {
        // Kept as its digests: the same key in base32 gives an equal
        // secret, and there is no base32 to write.
        assert!(
            Secret::from_base32_with_min(&BASE32_NOPAD.encode(&bytes), min).as_ref() == Ok(&secret)
        );
        assert_eq!(secret.try_to_base32().err(), Some(SecretError::KeyNotKept));
        assert_eq!(secret.to_base32().to_string(), "");
        return;
    }
    assert_eq!(secret.as_bytes(), bytes.as_slice());

    let encoded = secret.to_base32().to_string();
    assert_eq!(encoded, BASE32_NOPAD.encode(&bytes));
    let mut text: Vec<char> = if lower {
        encoded.to_ascii_lowercase().chars().collect()
    } else {
        encoded.chars().collect()
    };
    for &at in spaces {
        text.insert(usize::from(at) % (text.len() + 1), ' ');
    }
    text.extend(std::iter::repeat_n('=', usize::from(padding % 8)));
    let text: String = text.into_iter().collect();
    for text in [&encoded, &text] {
        let decoded = Secret::from_base32_with_min(text, min);
        assert!(
            decoded.as_ref() == Ok(&secret),
            "{text:?} does not decode to its bytes"
        );
    }
}

fn decode(text: &str, legacy: bool) {
    let (min, ..) = min_len(legacy);
    let decoded = Secret::from_base32_with_min(text, min);
    let expected = reference(text, legacy);
    match (&decoded, &expected) {
        (Ok(secret), Ok(bytes)) => {
            let same = Secret::from_bytes_with_min(bytes, min);
            assert!(same.as_ref() == Ok(secret), "{text:?}");
            if secret.is_hashed() {
                return;
            }
            let canonical = secret.to_base32().to_string();
            let again = Secret::from_base32_with_min(&canonical, min);
            assert!(
                again.as_ref() == Ok(secret),
                "{canonical:?} does not decode back"
            );
        }
        (Err(error), Err(reference)) => assert_eq!(error, reference, "{text:?}"),
        _ => panic!(
            "{text:?}: passcode says {:?}, the reference {expected:?}",
            decoded.as_ref().map(Secret::as_bytes)
        ),
    }
}

fuzz_target!(|input: Input| match input {
    Input::Bytes {
        bytes,
        legacy,
        spaces,
        lower,
        padding,
    } => round_trip(bytes, legacy, &spaces, lower, padding),
    Input::Text { text, legacy } => decode(&text, legacy),
    Input::Symbols { symbols, legacy } => {
        let text: String = symbols
            .iter()
            .map(|&b| char::from(SYMBOLS[usize::from(b) % SYMBOLS.len()]))
            .collect();
        decode(&text, legacy);
    }
});
