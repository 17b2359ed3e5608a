//! Every persisted state decodes only from its own, whole, undamaged bytes:
//! each damaged byte, each wrong length, another kind's bytes, another
//! version, and well-checksummed but contradictory fields are all refused
//! with their typed error.
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{
    HotpState, RateLimit, RateLimitState, StateError, Totp, TotpConfig, TotpPolicy, TotpState,
};

/// Re-seals `bytes` with a correct checksum (CRC-32 from `crc32fast`, an
/// independent implementation), so only the field checks can object.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let body = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// Checks the rules every encoding keeps, for one sample of one type.
fn check_encoding<T: PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, StateError>,
    value: &T,
) {
    assert_eq!(&decode(bytes).unwrap(), value, "round trip");
    assert_eq!(
        reseal(bytes.to_vec()),
        bytes,
        "crc32fast agrees with the stored checksum"
    );
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.to_vec();
            damaged[i] ^= 1 << bit;
            assert!(
                decode(&damaged).is_err(),
                "flipping bit {bit} of byte {i} went unnoticed"
            );
        }
    }
    assert_eq!(
        decode(&bytes[..bytes.len() - 1]).err(),
        Some(StateError::Length)
    );
    assert_eq!(
        decode(&[bytes, &[0]].concat()).err(),
        Some(StateError::Length)
    );
    assert_eq!(decode(&[]).err(), Some(StateError::Length));
    let mut newer = bytes.to_vec();
    newer[2] = 2;
    assert_eq!(decode(&reseal(newer)).err(), Some(StateError::Version));
    let mut not_ours = bytes.to_vec();
    not_ours[0] = b'X';
    assert_eq!(decode(&reseal(not_ours)).err(), Some(StateError::Foreign));
}

fn used_totp_state() -> TotpState {
    let totp = Totp::from_key(&[5; 20], TotpConfig::new()).unwrap();
    let mut state = TotpState::new();
    let code = totp.generate(1_000_030).unwrap().to_string();
    totp.check(&TotpPolicy::new(), &mut state, &code, 1_000_000)
        .unwrap();
    let _ = totp.check(&TotpPolicy::new(), &mut state, "000000", 1_000_000);
    state
}

#[test]
fn totp_state() {
    let state = used_totp_state();
    assert_eq!(state.last_step(), Some(1_000_030 / 30));
    check_encoding(&state.to_bytes(), TotpState::from_bytes, &state);
    check_encoding(
        &TotpState::new().to_bytes(),
        TotpState::from_bytes,
        &TotpState::new(),
    );
    // Field checks: a drift beyond the window bound, unknown flags, a step
    // stored without its flag.
    let bytes = state.to_bytes().to_vec();
    for (offset, value) in [(12, 21u8), (12, 0x80), (13, 0xeb), (3, 4)] {
        let mut bad = bytes.clone();
        bad[offset] = value;
        assert_eq!(
            TotpState::from_bytes(&reseal(bad)).err(),
            Some(StateError::Invalid),
            "{offset}"
        );
    }
    let mut stray = TotpState::new().to_bytes().to_vec();
    stray[11] = 1; // a last step with the "has a last step" flag clear
    assert_eq!(
        TotpState::from_bytes(&reseal(stray)).err(),
        Some(StateError::Invalid)
    );
}

#[test]
fn hotp_state() {
    let state = HotpState::new(u64::MAX);
    check_encoding(&state.to_bytes(), HotpState::from_bytes, &state);
}

#[test]
fn rate_limit_state() {
    let limit = RateLimit::new(5, 60, 2).unwrap();
    let mut state = RateLimitState::new();
    limit.check(&mut state, u64::MAX).unwrap();
    check_encoding(&state.to_bytes(), RateLimitState::from_bytes, &state);
    // An arrival time without a unit, or a unit without one.
    let mut bad = RateLimitState::new().to_bytes().to_vec();
    bad[18] = 1;
    assert_eq!(
        RateLimitState::from_bytes(&reseal(bad)).err(),
        Some(StateError::Invalid)
    );
    let mut bad = state.to_bytes().to_vec();
    bad[19..23].copy_from_slice(&[0; 4]);
    assert_eq!(
        RateLimitState::from_bytes(&reseal(bad)).err(),
        Some(StateError::Invalid)
    );
}

#[test]
fn kinds_do_not_mix() {
    let totp = TotpState::new().to_bytes();
    let hotp = HotpState::new(1).to_bytes();
    let rate = RateLimitState::new().to_bytes();
    // Same magic and version, other kind: refused as foreign, whatever the length.
    assert_eq!(
        HotpState::from_bytes(&totp).err(),
        Some(StateError::Foreign)
    );
    assert_eq!(
        TotpState::from_bytes(&hotp).err(),
        Some(StateError::Foreign)
    );
    assert_eq!(
        TotpState::from_bytes(&rate).err(),
        Some(StateError::Foreign)
    );
    assert_eq!(
        RateLimitState::from_bytes(&hotp).err(),
        Some(StateError::Foreign)
    );
}

#[cfg(feature = "sha256")]
mod keyed {
    use super::*;
    use passcode::{
        BackupCodes, BackupFormat, BackupVerifier, Secret, SmsPolicy, SmsVerification, SmsVerifier,
    };
    use rand::SeedableRng;

    #[test]
    fn sms_verification() {
        let verifier =
            SmsVerifier::new(&Secret::from_bytes(&[1; 32]).unwrap(), SmsPolicy::new()).unwrap();
        let (state, _) = verifier.start(&mut rand::rngs::StdRng::seed_from_u64(1), "+15550100", 77);
        check_encoding(&state.to_bytes(), SmsVerification::from_bytes, &state);
        let bytes = state.to_bytes().to_vec();
        // Expiry before creation, no send, an unknown status.
        let mut bad = bytes.clone();
        bad[27..35].copy_from_slice(&0u64.to_be_bytes());
        assert_eq!(
            SmsVerification::from_bytes(&reseal(bad)).err(),
            Some(StateError::Invalid)
        );
        let mut bad = bytes.clone();
        bad[36] = 0;
        assert_eq!(
            SmsVerification::from_bytes(&reseal(bad)).err(),
            Some(StateError::Invalid)
        );
        let mut bad = bytes;
        bad[37] = 3;
        assert_eq!(
            SmsVerification::from_bytes(&reseal(bad)).err(),
            Some(StateError::Invalid)
        );
        assert_eq!(
            SmsVerification::from_bytes(&TotpState::new().to_bytes()).err(),
            Some(StateError::Foreign)
        );
    }

    #[test]
    fn backup_codes() {
        let verifier = BackupVerifier::new(&Secret::from_bytes(&[2; 32]).unwrap()).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let (set, _) = verifier
            .generate(&mut rng, BackupFormat::Chars10, 10)
            .unwrap();
        check_encoding(&set.to_bytes(), BackupCodes::from_bytes, &set);
        let bytes = set.to_bytes().to_vec();
        // No codes, more than fit, a tag or a used bit past the count, an
        // unknown format.
        for (offset, value) in [
            (259, 0u8),
            (259, 17),
            (3 + 16 * 12, 1),
            (260, 0x80),
            (262, 9),
        ] {
            let mut bad = bytes.clone();
            bad[offset] = value;
            assert_eq!(
                BackupCodes::from_bytes(&reseal(bad)).err(),
                Some(StateError::Invalid),
                "{offset}"
            );
        }
    }
}
