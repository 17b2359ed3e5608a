//! The deterministic constant-time check. Every key is marked undefined for
//! valgrind's memcheck before it is used; memcheck then reports any branch
//! taken, or memory address computed, from data derived from it. The
//! library releases (marks defined) only what it means to make public: the
//! accept or reject bit and the matched step or counter (see
//! `src/declassify.rs`). Run through `run.sh`, which fails on any report.
//!
//! `--canary` instead branches on a secret on purpose, so `run.sh` can show
//! that a leak is in fact reported.

use core::ffi::c_void;

use crabgrind::memcheck::{MemState, mark_memory};
use passcode::{
    BackupFormat, BackupVerifier, Digits, Hotp, HotpConfig, LookAhead, ResyncWindow, Secret,
    SmsCheck, SmsPolicy, SmsVerifier, Totp, TotpConfig, Window,
};
use rand::SeedableRng;

fn mark(bytes: &[u8], state: MemState) {
    mark_memory(bytes.as_ptr().cast::<c_void>(), bytes.len(), state).expect("run under valgrind");
}

/// A copy of `bytes` that memcheck treats as secret.
fn secret(bytes: &[u8]) -> Vec<u8> {
    let copy = bytes.to_vec();
    mark(&copy, MemState::Undefined);
    copy
}

/// What a user types: public, even though it came from a secret.
fn typed(text: &str) -> String {
    let copy = text.to_owned();
    mark(copy.as_bytes(), MemState::Defined);
    copy
}

fn totp() {
    for (seed, algorithm, code) in [
        (
            &b"12345678901234567890"[..],
            passcode::Algorithm::Sha1,
            "07081804",
        ),
        (
            b"12345678901234567890123456789012",
            passcode::Algorithm::Sha256,
            "68084774",
        ),
        (
            b"1234567890123456789012345678901234567890123456789012345678901234",
            passcode::Algorithm::Sha512,
            "25091201",
        ),
    ] {
        let key = secret(seed);
        let config = TotpConfig::new()
            .with_algorithm(algorithm)
            .with_digits(Digits::EIGHT);
        let totp = Totp::from_key(&key, config).unwrap();
        let window = Window::new(2, 2).unwrap();
        let matched = totp.verify(code, 1_111_111_109, window).unwrap();
        assert_eq!(matched.step, 0x0235_23ec);
        assert!(totp.verify("12345678", 1_111_111_109, window).is_err());
        assert!(
            totp.verify_after(code, 1_111_111_109, window, matched.step)
                .is_err()
        );
        // A key longer than the hash's block is hashed first.
        let long = secret(&[0x5a; 200]);
        let totp = Totp::from_key(&long, config).unwrap();
        assert!(totp.verify("12345678", 1_111_111_109, window).is_err());
    }
}

fn hotp() {
    let key = secret(b"12345678901234567890");
    let hotp = Hotp::from_key(&key, HotpConfig::new()).unwrap();
    assert_eq!(
        hotp.verify("520489", 0, LookAhead::new(10).unwrap())
            .unwrap()
            .counter,
        9
    );
    assert!(
        hotp.verify("000000", 0, LookAhead::new(10).unwrap())
            .is_err()
    );
    let resync = hotp.resync("399871", "520489", 0, ResyncWindow::new(20).unwrap());
    assert_eq!(resync.unwrap().counter, 9);
}

fn sms() {
    let key = Secret::from_bytes(&secret(&[0x11; 32])).unwrap();
    let verifier = SmsVerifier::new(&key, SmsPolicy::new()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let (mut state, code) = verifier.start(&mut rng, "+14155552671", 1_000);
    let code = typed(code.as_str());
    let wrong = typed(if code == "000000" { "000001" } else { "000000" });
    let mut wrong_state = state;
    assert!(matches!(
        verifier.check(&mut wrong_state, "+14155552671", &wrong, 1_001),
        Ok(SmsCheck::Incorrect { .. })
    ));
    assert_eq!(
        verifier.check(&mut state, "+14155552671", &code, 1_001),
        Ok(SmsCheck::Approved)
    );
}

fn backup() {
    let key = Secret::from_bytes(&secret(&[0x22; 32])).unwrap();
    let verifier = BackupVerifier::new(&key).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let (mut set, codes) = verifier
        .generate(&mut rng, BackupFormat::Chars10, 10)
        .unwrap();
    let code = typed(codes[4].as_str());
    assert_eq!(verifier.check(&mut set, &code), Ok(9));
    assert!(verifier.check(&mut set, &code).is_err());
    assert!(verifier.check(&mut set, &typed("ABCDE-FGHJK")).is_err());
}

fn main() {
    if std::env::args().any(|a| a == "--canary") {
        let key = secret(b"12345678901234567890");
        if key[3] == b'4' {
            println!("canary: branched on a secret byte");
        }
        return;
    }
    totp();
    hotp();
    sms();
    backup();
    println!(
        "constant-time check: TOTP, HOTP, SMS and backup-code verification ran with undefined keys"
    );
}
