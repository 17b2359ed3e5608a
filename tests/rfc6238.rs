//! RFC 6238 Appendix B: the TOTP test values, with the Appendix A seeds
//! (20 bytes for SHA-1, 32 for SHA-256, 64 for SHA-512), 8 digits, X = 30,
//! T0 = 0.
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{Algorithm, Digits, Totp, TotpConfig, Window};

const SEED_SHA1: &[u8] = b"12345678901234567890";
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

/// (time, T as printed in the appendix, TOTP, mode)
const APPENDIX_B: [(u64, u64, &str, Algorithm); 18] = [
    (59, 0x0000_0000_0000_0001, "94287082", Algorithm::Sha1),
    (59, 0x0000_0000_0000_0001, "46119246", Algorithm::Sha256),
    (59, 0x0000_0000_0000_0001, "90693936", Algorithm::Sha512),
    (
        1_111_111_109,
        0x0000_0000_0235_23ec,
        "07081804",
        Algorithm::Sha1,
    ),
    (
        1_111_111_109,
        0x0000_0000_0235_23ec,
        "68084774",
        Algorithm::Sha256,
    ),
    (
        1_111_111_109,
        0x0000_0000_0235_23ec,
        "25091201",
        Algorithm::Sha512,
    ),
    (
        1_111_111_111,
        0x0000_0000_0235_23ed,
        "14050471",
        Algorithm::Sha1,
    ),
    (
        1_111_111_111,
        0x0000_0000_0235_23ed,
        "67062674",
        Algorithm::Sha256,
    ),
    (
        1_111_111_111,
        0x0000_0000_0235_23ed,
        "99943326",
        Algorithm::Sha512,
    ),
    (
        1_234_567_890,
        0x0000_0000_0273_ef07,
        "89005924",
        Algorithm::Sha1,
    ),
    (
        1_234_567_890,
        0x0000_0000_0273_ef07,
        "91819424",
        Algorithm::Sha256,
    ),
    (
        1_234_567_890,
        0x0000_0000_0273_ef07,
        "93441116",
        Algorithm::Sha512,
    ),
    (
        2_000_000_000,
        0x0000_0000_03f9_40aa,
        "69279037",
        Algorithm::Sha1,
    ),
    (
        2_000_000_000,
        0x0000_0000_03f9_40aa,
        "90698825",
        Algorithm::Sha256,
    ),
    (
        2_000_000_000,
        0x0000_0000_03f9_40aa,
        "38618901",
        Algorithm::Sha512,
    ),
    (
        20_000_000_000,
        0x0000_0000_27bc_86aa,
        "65353130",
        Algorithm::Sha1,
    ),
    (
        20_000_000_000,
        0x0000_0000_27bc_86aa,
        "77737706",
        Algorithm::Sha256,
    ),
    (
        20_000_000_000,
        0x0000_0000_27bc_86aa,
        "47863826",
        Algorithm::Sha512,
    ),
];

fn totp(algorithm: Algorithm) -> Totp {
    let seed = match algorithm {
        Algorithm::Sha1 => SEED_SHA1,
        Algorithm::Sha256 => SEED_SHA256,
        _ => SEED_SHA512,
    };
    let config = TotpConfig::new()
        .with_algorithm(algorithm)
        .with_digits(Digits::EIGHT);
    Totp::from_key(seed, config).unwrap()
}

#[test]
fn time_steps() {
    for (time, step, _, _) in APPENDIX_B {
        assert_eq!(TotpConfig::new().step(time), Ok(step), "T at {time}");
    }
}

#[test]
fn codes() {
    for (time, step, code, algorithm) in APPENDIX_B {
        let totp = totp(algorithm);
        assert_eq!(
            totp.generate(time).unwrap().as_str(),
            code,
            "{algorithm} at {time}"
        );
        assert_eq!(
            totp.generate_step(step).as_str(),
            code,
            "{algorithm} at step {step}"
        );
    }
}

#[test]
fn codes_verify_at_their_time_with_no_drift() {
    for (time, step, code, algorithm) in APPENDIX_B {
        let matched = totp(algorithm).verify(code, time, Window::CURRENT).unwrap();
        assert_eq!(
            (matched.step, matched.drift),
            (step, 0),
            "{algorithm} at {time}"
        );
    }
}

/// The same codes, seen from a verifier whose clock is two steps ahead of
/// the device: accepted with drift -2 in a window two steps behind, refused
/// in a window one step behind.
#[test]
fn codes_verify_from_a_later_clock() {
    for (time, step, code, algorithm) in APPENDIX_B {
        let totp = totp(algorithm);
        let later = time + 60;
        let matched = totp
            .verify(code, later, Window::new(2, 0).unwrap())
            .unwrap();
        assert_eq!((matched.step, matched.drift), (step, -2));
        assert!(
            totp.verify(code, later, Window::new(1, 5).unwrap())
                .is_err()
        );
    }
}

/// T0 shifts every step: with T0 = 30 the step of time 89 is 1.
#[test]
fn t0_shifts_the_steps() {
    let config = TotpConfig::new().with_digits(Digits::EIGHT).with_t0(30);
    let totp = Totp::from_key(SEED_SHA1, config).unwrap();
    assert_eq!(totp.generate(89).unwrap().as_str(), "94287082");
}

/// Steps below 0 do not exist, so a window that reaches below step 0 checks
/// the steps that do, as `oathtool` does: the SHA-1 code of time 59 (step 1)
/// verifies with two steps behind, the code of step 0 verifies at time 10
/// with one step behind, and a late T0 changes nothing.
#[test]
fn window_reaching_below_step_zero_checks_the_steps_that_exist() {
    let totp = totp(Algorithm::Sha1);
    for window in [Window::new(1, 1).unwrap(), Window::new(2, 1).unwrap()] {
        let matched = totp.verify("94287082", 59, window).unwrap();
        assert_eq!((matched.step, matched.drift), (1, 0), "{window:?}");
        let matched = totp.verify_after("94287082", 59, window, 0).unwrap();
        assert_eq!((matched.step, matched.drift), (1, 0), "{window:?}");
    }
    // HOTP(0) of the Appendix A seed, 8 digits: step 0, at times 0 to 29.
    let step_zero = totp.generate_step(0);
    for time in [0, 10, 29] {
        let matched = totp
            .verify(step_zero.as_str(), time, Window::new(20, 0).unwrap())
            .unwrap();
        assert_eq!((matched.step, matched.drift), (0, 0));
    }
    // From step 1, step 0 is one behind; the window's step -1 is not checked.
    let matched = totp
        .verify(step_zero.as_str(), 30, Window::new(2, 0).unwrap())
        .unwrap();
    assert_eq!((matched.step, matched.drift), (0, -1));
    assert_eq!(
        totp.verify_after(step_zero.as_str(), 30, Window::new(2, 0).unwrap(), 0),
        Err(passcode::VerifyError::Replayed)
    );
    // The same with a non-zero T0: its first step is step 0.
    let late = Totp::from_key(
        SEED_SHA1,
        TotpConfig::new().with_digits(Digits::EIGHT).with_t0(1_000),
    )
    .unwrap();
    let matched = late
        .verify("94287082", 1_030, Window::new(3, 3).unwrap())
        .unwrap();
    assert_eq!((matched.step, matched.drift), (1, 0));
    let matched = late
        .verify(step_zero.as_str(), 1_000, Window::default())
        .unwrap();
    assert_eq!((matched.step, matched.drift), (0, 0));
    // No step exists before T0 at all: still an error.
    assert_eq!(
        late.verify("94287082", 999, Window::default()),
        Err(passcode::VerifyError::OutOfRange(
            passcode::StepError::BeforeT0
        ))
    );
}
