//! Backup codes: generated once, stored as keyed hashes, each usable once.
#![cfg(feature = "sha256")]
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "support/uniform.rs"]
mod uniform;

use passcode::{BackupCodes, BackupError, BackupFormat, BackupVerifier, ParamError, Secret};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn verifier() -> BackupVerifier {
    BackupVerifier::new(&Secret::from_bytes(&[9; 32]).unwrap()).unwrap()
}

#[test]
fn counts_and_formats() {
    let verifier = verifier();
    let mut rng = StdRng::seed_from_u64(1);
    assert_eq!(
        verifier.generate(&mut rng, BackupFormat::Digits8, 0).err(),
        Some(ParamError::Limit)
    );
    assert_eq!(
        verifier.generate(&mut rng, BackupFormat::Digits8, 17).err(),
        Some(ParamError::Limit)
    );
    let (set, codes) = verifier
        .generate(&mut rng, BackupFormat::Digits8, 16)
        .unwrap();
    assert_eq!((set.count(), set.remaining(), codes.len()), (16, 16, 16));
    for code in codes.iter() {
        let text = code.as_str();
        assert_eq!(text.len(), 9, "{text}");
        assert_eq!(&text[4..5], " ");
        assert!(
            text.bytes()
                .filter(|b| *b != b' ')
                .all(|b| b.is_ascii_digit())
        );
    }
    let (_, codes) = verifier
        .generate(&mut rng, BackupFormat::Chars10, 10)
        .unwrap();
    for code in codes.iter() {
        let text = code.as_str();
        assert_eq!((text.len(), &text[5..6]), (11, "-"), "{text}");
        assert!(!text.contains(['0', 'O', '1', 'I']), "{text}");
    }
}

#[test]
fn each_code_works_once_in_any_order() {
    let verifier = verifier();
    let (mut set, codes) = verifier
        .generate(&mut StdRng::seed_from_u64(2), BackupFormat::Chars10, 10)
        .unwrap();
    for (i, code) in codes.iter().enumerate().rev() {
        assert_eq!(
            verifier.check(&mut set, code.as_str()),
            Ok(u8::try_from(i).unwrap()),
            "code {i}"
        );
        assert_eq!(
            verifier.check(&mut set, code.as_str()),
            Err(BackupError::Invalid)
        );
    }
    assert_eq!(set.remaining(), 0);
}

#[test]
fn typing_variations() {
    let verifier = verifier();
    let (set, codes) = verifier
        .generate(&mut StdRng::seed_from_u64(3), BackupFormat::Chars10, 1)
        .unwrap();
    let shown = codes[0].as_str().to_owned();
    let plain: String = shown.chars().filter(|c| *c != '-').collect();
    let spaced = format!("{} {}", &plain[..5], &plain[5..]);
    for typed in [shown.clone(), shown.to_lowercase(), plain.clone(), spaced] {
        let mut fresh = set;
        assert_eq!(verifier.check(&mut fresh, &typed), Ok(0), "{typed:?}");
    }
    for typed in [
        format!("-{plain}"),
        format!("{plain}-"),
        format!("{}--{}", &plain[..5], &plain[5..]),
        plain[..9].to_owned(),
        format!("{plain}2"),
        plain.replace(&plain[..1], "0"),
        String::new(),
        "x".repeat(40),
    ] {
        let mut fresh = set;
        assert_eq!(
            verifier.check(&mut fresh, &typed),
            Err(BackupError::Malformed),
            "{typed:?}"
        );
    }
    let digits = verifier
        .generate(&mut StdRng::seed_from_u64(3), BackupFormat::Digits8, 1)
        .unwrap();
    let mut digit_set = digits.0;
    assert_eq!(
        verifier.check(&mut digit_set, &plain),
        Err(BackupError::Malformed)
    );
    let typed: String = digits.1[0].as_str().chars().filter(|c| *c != ' ').collect();
    assert_eq!(verifier.check(&mut digit_set, &typed), Ok(0));
}

#[test]
fn codes_are_bound_to_the_key() {
    let (mut set, codes) = verifier()
        .generate(&mut StdRng::seed_from_u64(4), BackupFormat::Chars10, 3)
        .unwrap();
    let other = BackupVerifier::new(&Secret::from_bytes(&[10; 32]).unwrap()).unwrap();
    assert_eq!(
        other.check(&mut set, codes[0].as_str()),
        Err(BackupError::Invalid)
    );
    assert_eq!(set.remaining(), 3);
}

#[test]
fn stored_set_round_trips_without_the_codes() {
    let verifier = verifier();
    let (mut set, codes) = verifier
        .generate(&mut StdRng::seed_from_u64(5), BackupFormat::Chars10, 10)
        .unwrap();
    verifier.check(&mut set, codes[2].as_str()).unwrap();
    let bytes = set.to_bytes();
    let mut restored = BackupCodes::from_bytes(&bytes).unwrap();
    assert_eq!(restored, set);
    assert_eq!(
        verifier.check(&mut restored, codes[2].as_str()),
        Err(BackupError::Invalid)
    );
    assert_eq!(verifier.check(&mut restored, codes[3].as_str()), Ok(8));
    for code in codes.iter() {
        let symbols: Vec<u8> = code.as_str().bytes().filter(|b| *b != b'-').collect();
        assert!(
            !bytes.windows(symbols.len()).any(|w| w == symbols),
            "a code is stored in clear"
        );
    }
    assert_eq!(format!("{:?}", codes[0]), "BackupCode { .. }");
    assert!(!format!("{set:?}").contains(&codes[0].as_str()[..5]));
}

/// Generated digits are uniform: chi-square over 80,000 digits.
#[test]
fn digits_are_uniform() {
    let verifier = verifier();
    let mut rng = StdRng::seed_from_u64(6);
    uniform::assert_uniform_digits((0..625).flat_map(|_| {
        let (_, codes) = verifier
            .generate(&mut rng, BackupFormat::Digits8, 16)
            .unwrap();
        codes
            .iter()
            .map(|code| code.as_str().to_owned())
            .collect::<Vec<_>>()
    }));
}

/// A generator that repeats one block `repeats` times, then counts: each
/// block of 16 bytes below 250, so each is exactly one 8-digit code.
struct Repeating {
    repeats: usize,
    calls: usize,
}

impl rand_core::TryRng for Repeating {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        unimplemented!("backup codes draw bytes")
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        unimplemented!("backup codes draw bytes")
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        let block = if self.calls < self.repeats {
            0
        } else {
            self.calls
        };
        for (i, byte) in dst.iter_mut().enumerate() {
            *byte = u8::try_from((block * 16 + i) % 250).unwrap();
        }
        self.calls += 1;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Repeating {}

/// A code the set already holds is drawn again, so no text is accepted
/// twice; a generator that never stops repeating is refused.
#[test]
fn codes_in_a_set_all_differ() {
    let verifier = verifier();
    let mut rng = Repeating {
        repeats: 3,
        calls: 0,
    };
    let (mut set, codes) = verifier
        .generate(&mut rng, BackupFormat::Digits8, 4)
        .unwrap();
    let texts: Vec<String> = codes.iter().map(|c| c.as_str().to_owned()).collect();
    for (i, text) in texts.iter().enumerate() {
        assert!(!texts[..i].contains(text), "{text} twice in {texts:?}");
    }
    for text in &texts {
        verifier.check(&mut set, text).unwrap();
        assert_eq!(verifier.check(&mut set, text), Err(BackupError::Invalid));
    }

    let mut broken = Repeating {
        repeats: usize::MAX,
        calls: 0,
    };
    assert_eq!(
        verifier
            .generate(&mut broken, BackupFormat::Digits8, 2)
            .err(),
        Some(ParamError::RepeatingRng)
    );
}
