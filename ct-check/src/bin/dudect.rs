//! The statistical constant-time check (DudeCT, Reparaz et al. 2016): times
//! each verify path on two classes of inputs interleaved at random, and
//! reports Welch's t between the classes. |t| above 5 would be evidence of a
//! timing difference; see SECURITY.md for how to run it and its last result.
//! Not a CI gate: timing on a shared machine is noisy.

use dudect_bencher::rand::RngExt;
use dudect_bencher::{BenchRng, Class, CtRunner, ctbench_main};
use passcode::{
    BackupFormat, BackupVerifier, Secret, SmsPolicy, SmsVerifier, Totp, TotpConfig, Window,
};

const KEY: &[u8] = b"12345678901234567890";
const TIME: u64 = 1_111_111_109;
const SAMPLES: usize = 200_000;

fn totp() -> Totp {
    Totp::from_key(KEY, TotpConfig::new()).expect("a 20-byte key")
}

/// A six-digit code no step of the default window has.
fn wrong_code(totp: &Totp, rng: &mut BenchRng) -> String {
    loop {
        let code = format!("{:06}", rng.random_range(0..1_000_000u32));
        if totp.verify(&code, TIME, Window::ONE_STEP).is_err() {
            return code;
        }
    }
}

fn classes(rng: &mut BenchRng) -> Vec<Class> {
    (0..SAMPLES)
        .map(|_| {
            if rng.random::<bool>() {
                Class::Left
            } else {
                Class::Right
            }
        })
        .collect()
}

/// Left: the right code. Right: random wrong codes. The outcome (accept
/// or reject) is public and the code after it differs, so a small, stable
/// difference here is expected; the pairs below hold the outcome fixed.
fn totp_right_vs_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    let totp = totp();
    let right = totp.generate(TIME).expect("after T0").to_string();
    let inputs: Vec<(Class, String)> = classes(rng)
        .into_iter()
        .map(|class| match class {
            Class::Left => (class, right.clone()),
            Class::Right => (class, wrong_code(&totp, rng)),
        })
        .collect();
    for (class, code) in inputs {
        runner.run_one(class, || totp.verify(&code, TIME, Window::ONE_STEP).is_ok());
    }
}

/// Left: a wrong code one digit away from the right one. Right: a random
/// wrong code. Both are rejected the same way, so any difference would come
/// from how close the guess was: the leak a digit-by-digit comparison has.
fn totp_near_vs_far_miss(runner: &mut CtRunner, rng: &mut BenchRng) {
    let totp = totp();
    let right = totp.generate(TIME).expect("after T0").to_string();
    let last = if right.ends_with('0') { '1' } else { '0' };
    let near: String = right[..5].chars().chain(core::iter::once(last)).collect();
    assert!(
        totp.verify(&near, TIME, Window::ONE_STEP).is_err(),
        "the near miss collides"
    );
    let inputs: Vec<(Class, String)> = classes(rng)
        .into_iter()
        .map(|class| match class {
            Class::Left => (class, near.clone()),
            Class::Right => (class, wrong_code(&totp, rng)),
        })
        .collect();
    for (class, code) in inputs {
        runner.run_one(class, || totp.verify(&code, TIME, Window::ONE_STEP).is_ok());
    }
}

/// Left: the code of the oldest step of the window. Right: the newest. Both
/// steps are already used, so both are `Replayed`: only which candidate
/// matched differs, and it must not show.
fn totp_oldest_vs_newest_step(runner: &mut CtRunner, rng: &mut BenchRng) {
    let totp = totp();
    let now = TIME / 30;
    let oldest = totp.generate_step(now - 1).to_string();
    let newest = totp.generate_step(now + 1).to_string();
    for class in classes(rng) {
        let code = if matches!(class, Class::Left) {
            &oldest
        } else {
            &newest
        };
        runner.run_one(class, || {
            totp.verify_after(code, TIME, Window::ONE_STEP, now + 1)
                .is_ok()
        });
    }
}

/// Left: a wrong SMS code one digit from the right one. Right: another
/// wrong code. Both are `Incorrect`.
fn sms_near_vs_far_miss(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = Secret::from_bytes(&[7; 32]).expect("32 bytes");
    let verifier = SmsVerifier::new(&key, SmsPolicy::new()).expect("HMAC keys");
    let (state, code) = verifier.start(rng, "+14155552671", 1_000);
    let right = code.to_string();
    let flip = |c: char| if c == '0' { '1' } else { '0' };
    let near: String = right[..5]
        .chars()
        .chain(right[5..].chars().map(flip))
        .collect();
    let far: String = right
        .chars()
        .map(|c| if c == '5' { '6' } else { '5' })
        .collect();
    for class in classes(rng) {
        let input = if matches!(class, Class::Left) {
            &near
        } else {
            &far
        };
        runner.run_one(class, || {
            let mut fresh = state;
            verifier.check(&mut fresh, "+14155552671", input, 1_001)
        });
    }
}

/// Left: the first backup code of the set. Right: the last.
fn backup_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = Secret::from_bytes(&[8; 32]).expect("32 bytes");
    let verifier = BackupVerifier::new(&key).expect("HMAC keys");
    let (set, codes) = verifier
        .generate(rng, BackupFormat::Chars10, 16)
        .expect("16 fit");
    let (first, last) = (codes[0].to_string(), codes[15].to_string());
    for class in classes(rng) {
        let input = if matches!(class, Class::Left) {
            &first
        } else {
            &last
        };
        runner.run_one(class, || {
            let mut fresh = set;
            verifier.check(&mut fresh, input)
        });
    }
}

ctbench_main!(
    totp_right_vs_wrong,
    totp_near_vs_far_miss,
    totp_oldest_vs_newest_step,
    sms_near_vs_far_miss,
    backup_first_vs_last
);
