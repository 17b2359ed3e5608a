//! RFC 2104 §2: HMAC hashes a key longer than the hash's block before use.
//! A `Secret` built from a key longer than `Secret::MAX_LEN` keeps only the
//! key's digests; its codes must be exactly those of the `hmac` crate keyed
//! with the whole key, for every algorithm and every way of building it.
#![cfg(all(feature = "sha1", feature = "sha256", feature = "sha512"))]
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use hmac::{KeyInit, Mac};
use passcode::{
    Algorithm, Digits, Hotp, HotpConfig, KeyUri, MinLength, OtpKind, Secret, SecretError, Totp,
    TotpConfig, UriError, Window,
};

const ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

/// HOTP of `counter` from the `hmac` crate and RFC 4226 §5.3 truncation.
fn reference(algorithm: Algorithm, key: &[u8], counter: u64, digits: u32) -> String {
    fn run<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
        mac.update(&counter.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    let mac = match algorithm {
        Algorithm::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, counter),
        Algorithm::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, counter),
        _ => run::<hmac::Hmac<sha2::Sha512>>(key, counter),
    };
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let word = u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    let code = u64::from(word) % 10u64.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// A key of `len` bytes that is not a repetition of one byte.
fn key(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 + 7).to_le_bytes()[0]).collect()
}

/// Every way a caller builds a `Secret` from user input.
fn secrets(key: &[u8]) -> Vec<Secret> {
    let base32 = data_encoding::BASE32_NOPAD.encode(key);
    let spaced: String = base32
        .to_lowercase()
        .chars()
        .enumerate()
        .flat_map(|(i, c)| (i % 4 == 0).then_some(' ').into_iter().chain([c]))
        .collect();
    vec![
        Secret::from_bytes(key).unwrap(),
        Secret::from_bytes_with_min(key, MinLength::Bits80).unwrap(),
        Secret::from_base32(&base32).unwrap(),
        Secret::from_base32_with_min(&spaced, MinLength::Bits80).unwrap(),
    ]
}

/// Regression: keys longer than 128 bytes were refused ("secret is longer
/// than 128 bytes"), where HMAC, oathtool and pyotp take them. Such a key is
/// kept as its digests and gives the `hmac` crate's codes.
#[test]
fn keys_longer_than_max_len_give_the_codes_of_the_whole_key() {
    for len in [129, 200, 1000] {
        let key = key(len);
        for algorithm in ALGORITHMS {
            let digits = Digits::EIGHT;
            let expected: Vec<String> = (0..6).map(|c| reference(algorithm, &key, c, 8)).collect();
            for secret in secrets(&key) {
                assert!(secret.is_hashed() && secret.key_len() == len);
                let hotp = Hotp::new(
                    &secret,
                    HotpConfig::new()
                        .with_algorithm(algorithm)
                        .with_digits(digits),
                )
                .unwrap();
                let codes: Vec<String> = (0..6).map(|c| hotp.generate(c).to_string()).collect();
                assert_eq!(codes, expected, "{algorithm} with a {len}-byte key");
                let config = TotpConfig::new()
                    .with_algorithm(algorithm)
                    .with_digits(digits);
                let totp = Totp::new(&secret, config).unwrap();
                // Time 59 is step 1.
                assert_eq!(totp.generate(59).unwrap().as_str(), expected[1]);
                let matched = totp.verify(&expected[2], 89, Window::default()).unwrap();
                assert_eq!((matched.step, matched.drift), (2, 0));
                assert_eq!(
                    Totp::from_key(&key, config)
                        .unwrap()
                        .generate(59)
                        .unwrap()
                        .as_str(),
                    expected[1]
                );
            }
        }
    }
}

/// At and below `MAX_LEN` the key is kept as it is.
#[test]
fn keys_up_to_max_len_are_kept() {
    for len in [16, 64, 65, 127, 128] {
        let key = key(len);
        for secret in secrets(&key) {
            assert!(!secret.is_hashed());
            assert_eq!(secret.as_bytes(), key.as_slice());
            for algorithm in ALGORITHMS {
                let config = HotpConfig::new().with_algorithm(algorithm);
                let hotp = Hotp::new(&secret, config).unwrap();
                assert_eq!(hotp.generate(3).as_str(), reference(algorithm, &key, 3, 6));
            }
        }
    }
}

/// A hashed secret cannot give its key back: every way out either says so
/// with `KeyNotKept` or writes nothing (and nothing is not a key anyone
/// accepts), and equality follows the key.
#[test]
fn hashed_secrets_cannot_be_written_out() {
    let key = key(200);
    let secret = Secret::from_bytes(&key).unwrap();
    assert_eq!(secret.as_bytes(), &[] as &[u8]);
    assert_eq!(secret.try_as_bytes(), Err(SecretError::KeyNotKept));
    assert_eq!(secret.to_base32().to_string(), "");
    assert_eq!(secret.try_to_base32().err(), Some(SecretError::KeyNotKept));
    assert_eq!(
        Secret::from_bytes(secret.as_bytes()).err(),
        Some(SecretError::Empty)
    );
    assert_eq!(
        Totp::from_key(secret.as_bytes(), TotpConfig::new()).err(),
        Some(SecretError::Empty)
    );
    let kind = OtpKind::Totp(TotpConfig::new());
    let refused = Some(UriError::Secret(SecretError::KeyNotKept));
    assert_eq!(KeyUri::new(&secret, kind, "alice").err(), refused);
    assert_eq!(
        KeyUri::with_issuer(&secret, kind, "ACME", "alice").err(),
        refused
    );
    assert_eq!(format!("{secret:?}"), "Secret { .. }");
    assert!(!SecretError::KeyNotKept.to_string().is_empty());

    // Equal to the same key however built; unequal to another key, to the
    // same key one byte longer, and to a short key that holds its digests.
    for other in secrets(&key) {
        assert!(other == secret);
    }
    let mut changed = key.clone();
    changed[150] ^= 1;
    assert!(Secret::from_bytes(&changed).unwrap() != secret);
    let mut longer = key.clone();
    longer.push(0);
    assert!(Secret::from_bytes(&longer).unwrap() != secret);
    let mut digests = Vec::new();
    for algorithm in ALGORITHMS {
        digests.extend(hmac_key_digest(algorithm, &key));
    }
    assert!(Secret::from_bytes(&digests).unwrap() != secret);
}

fn hmac_key_digest(algorithm: Algorithm, key: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    match algorithm {
        Algorithm::Sha1 => sha1::Sha1::digest(key).to_vec(),
        Algorithm::Sha256 => sha2::Sha256::digest(key).to_vec(),
        _ => sha2::Sha512::digest(key).to_vec(),
    }
}

/// The application keys of SMS and backup codes take long keys too, as the
/// `hmac` crate does: a verifier built from the hashed secret accepts the
/// codes of one built from the key's SHA-256 digest, which is what HMAC-SHA-256
/// keys itself with (RFC 2104 §2).
#[test]
fn sms_keys_longer_than_max_len_key_hmac_sha256_with_their_digest() {
    use passcode::{SmsCheck, SmsPolicy, SmsVerifier};
    use rand::SeedableRng;
    let key = key(300);
    let digest = Secret::from_bytes(&hmac_key_digest(Algorithm::Sha256, &key)).unwrap();
    let long = SmsVerifier::new(&Secret::from_bytes(&key).unwrap(), SmsPolicy::new()).unwrap();
    let short = SmsVerifier::new(&digest, SmsPolicy::new()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let (mut state, code) = short.start(&mut rng, "+14155552671", 1_000);
    assert_eq!(
        long.check(&mut state, "+14155552671", code.as_str(), 1_001),
        Ok(SmsCheck::Approved)
    );
}
