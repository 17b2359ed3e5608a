//! The SMS verification state machine, rule by rule, at its boundaries.
#![cfg(feature = "sha256")]
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "support/uniform.rs"]
mod uniform;

use passcode::{
    Code, CodeError, ParamError, Secret, SmsCheck, SmsError, SmsPolicy, SmsStatus, SmsVerification,
    SmsVerifier,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const PHONE: &str = "+14155552671";
const T: u64 = 1_700_000_000;

fn verifier(policy: SmsPolicy) -> SmsVerifier {
    SmsVerifier::new(&Secret::from_bytes(&[0x42; 32]).unwrap(), policy).unwrap()
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

/// A well-formed code that is not `code`.
fn wrong(code: &Code) -> String {
    let digits: String = code
        .as_str()
        .bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect();
    digits
}

#[test]
fn policy_bounds() {
    assert_eq!(SmsPolicy::new().with_digits(3), Err(ParamError::SmsDigits));
    assert_eq!(SmsPolicy::new().with_digits(11), Err(ParamError::SmsDigits));
    assert!(SmsPolicy::new().with_digits(4).is_ok());
    assert!(SmsPolicy::new().with_digits(10).is_ok());
    assert_eq!(SmsPolicy::new().with_validity(0), Err(ParamError::Duration));
    assert_eq!(SmsPolicy::new().with_max_checks(0), Err(ParamError::Limit));
    assert_eq!(SmsPolicy::new().with_max_sends(0), Err(ParamError::Limit));
    let defaults = SmsPolicy::default();
    assert_eq!(
        (
            defaults.digits(),
            defaults.validity(),
            defaults.max_checks(),
            defaults.max_sends()
        ),
        (6, 600, 5, 5)
    );
}

#[test]
fn codes_have_the_policy_length() {
    for digits in 4..=10 {
        let verifier = verifier(SmsPolicy::new().with_digits(digits).unwrap());
        let (_, code) = verifier.start(&mut rng(), PHONE, T);
        assert_eq!(code.as_str().len(), usize::from(digits));
        assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
}

#[test]
fn approve_once() {
    let verifier = verifier(SmsPolicy::new());
    let (mut state, code) = verifier.start(&mut rng(), PHONE, T);
    assert_eq!(state.status(), SmsStatus::Pending);
    assert_eq!(
        verifier.check(&mut state, PHONE, code.as_str(), T + 10),
        Ok(SmsCheck::Approved)
    );
    assert_eq!(state.status(), SmsStatus::Approved);
    // Used up: the same code, again, is not approved.
    assert_eq!(
        verifier.check(&mut state, PHONE, code.as_str(), T + 11),
        Ok(SmsCheck::NotPending)
    );
    assert_eq!(
        verifier.resend(&mut state, PHONE, T + 12),
        Err(SmsError::NotPending)
    );
}

#[test]
fn resend_repeats_the_code_up_to_the_limit() {
    let verifier = verifier(SmsPolicy::new().with_max_sends(3).unwrap());
    let (mut state, code) = verifier.start(&mut rng(), PHONE, T);
    assert_eq!(state.sends(), 1);
    assert_eq!(verifier.resend(&mut state, PHONE, T + 1).unwrap(), code);
    assert_eq!(verifier.resend(&mut state, PHONE, T + 2).unwrap(), code);
    assert_eq!(state.sends(), 3);
    assert_eq!(
        verifier.resend(&mut state, PHONE, T + 3),
        Err(SmsError::TooManySends)
    );
    assert_eq!(state.sends(), 3, "a refused resend is not counted");
    // The code still checks after the last send.
    assert_eq!(
        verifier.check(&mut state, PHONE, code.as_str(), T + 4),
        Ok(SmsCheck::Approved)
    );
}

#[test]
fn expiry_at_the_boundary() {
    let verifier = verifier(SmsPolicy::new().with_validity(600).unwrap());
    let (state, code) = verifier.start(&mut rng(), PHONE, T);
    assert_eq!(state.expires_at(), T + 600);

    let mut last_second = state;
    assert_eq!(
        verifier.check(&mut last_second, PHONE, code.as_str(), T + 599),
        Ok(SmsCheck::Approved)
    );
    let mut at_expiry = state;
    assert_eq!(
        verifier.check(&mut at_expiry, PHONE, code.as_str(), T + 600),
        Ok(SmsCheck::Expired)
    );
    assert_eq!(at_expiry.checks(), 0, "an expired check is not counted");
    assert_eq!(
        verifier.resend(&mut at_expiry, PHONE, T + 600),
        Err(SmsError::Expired)
    );
    let mut before = state;
    assert_eq!(verifier.resend(&mut before, PHONE, T + 599).unwrap(), code);
}

#[test]
fn the_last_allowed_attempt() {
    let verifier = verifier(SmsPolicy::new().with_max_checks(3).unwrap());
    let (mut state, code) = verifier.start(&mut rng(), PHONE, T);
    let wrong = wrong(&code);
    assert_eq!(
        verifier.check(&mut state, PHONE, &wrong, T),
        Ok(SmsCheck::Incorrect { remaining: 2 })
    );
    assert_eq!(
        verifier.check(&mut state, PHONE, &wrong, T),
        Ok(SmsCheck::Incorrect { remaining: 1 })
    );
    // The third and last check may still succeed.
    let mut last_right = state;
    assert_eq!(
        verifier.check(&mut last_right, PHONE, code.as_str(), T),
        Ok(SmsCheck::Approved)
    );
    // Or fail, after which even the right code is refused without comparison.
    assert_eq!(
        verifier.check(&mut state, PHONE, &wrong, T),
        Ok(SmsCheck::Incorrect { remaining: 0 })
    );
    assert_eq!(
        verifier.check(&mut state, PHONE, code.as_str(), T),
        Ok(SmsCheck::TooManyAttempts)
    );
    assert_eq!(state.checks(), 3);
    assert_eq!(
        verifier.resend(&mut state, PHONE, T),
        Err(SmsError::TooManyAttempts)
    );
}

#[test]
fn malformed_input_is_not_counted() {
    let verifier = verifier(SmsPolicy::new());
    let (mut state, _) = verifier.start(&mut rng(), PHONE, T);
    for input in ["", "12345", "1234567", "12a456", "１２３４５６"] {
        assert!(
            verifier.check(&mut state, PHONE, input, T).is_err(),
            "{input:?}"
        );
    }
    assert_eq!(
        verifier.check(&mut state, PHONE, "12345", T),
        Err(CodeError::WrongLength { expected: 6 })
    );
    assert_eq!(state.checks(), 0);
}

#[test]
fn codes_are_bound_to_subject_and_key() {
    let verifier = verifier(SmsPolicy::new());
    let (state, code) = verifier.start(&mut rng(), PHONE, T);
    let mut other_subject = state;
    assert_eq!(
        verifier.check(&mut other_subject, "+14155552672", code.as_str(), T),
        Ok(SmsCheck::Incorrect { remaining: 4 })
    );
    let other_key =
        SmsVerifier::new(&Secret::from_bytes(&[0x43; 32]).unwrap(), SmsPolicy::new()).unwrap();
    let mut other = state;
    assert_eq!(
        other_key.check(&mut other, PHONE, code.as_str(), T),
        Ok(SmsCheck::Incorrect { remaining: 4 })
    );
    // Two verifications of one subject get unrelated codes (distinct nonces).
    let mut rng = rng();
    let codes: std::collections::HashSet<String> = (0..50)
        .map(|_| verifier.start(&mut rng, PHONE, T).1.to_string())
        .collect();
    assert!(codes.len() > 45, "{} distinct of 50", codes.len());
}

#[test]
fn cancel_stops_a_verification() {
    let verifier = verifier(SmsPolicy::new());
    let (mut state, code) = verifier.start(&mut rng(), PHONE, T);
    state.cancel();
    assert_eq!(state.status(), SmsStatus::Canceled);
    assert_eq!(
        verifier.check(&mut state, PHONE, code.as_str(), T),
        Ok(SmsCheck::NotPending)
    );
    assert_eq!(
        verifier.resend(&mut state, PHONE, T),
        Err(SmsError::NotPending)
    );
}

#[test]
fn clock_going_backwards_does_not_expire_or_revive() {
    let verifier = verifier(SmsPolicy::new());
    let (state, code) = verifier.start(&mut rng(), PHONE, T);
    // An expired verification stays expired whatever the clock later says...
    let mut expired = state;
    assert_eq!(
        verifier.check(&mut expired, PHONE, code.as_str(), T + 601),
        Ok(SmsCheck::Expired)
    );
    // ...because expiry is judged on each call from the stored deadline.
    assert_eq!(expired.expires_at(), T + 600);
}

#[test]
fn times_at_the_top_of_the_range() {
    let verifier = verifier(SmsPolicy::new());
    let (state, code) = verifier.start(&mut rng(), PHONE, u64::MAX);
    assert_eq!(state.expires_at(), u64::MAX);
    let mut at_max = state;
    assert_eq!(
        verifier.check(&mut at_max, PHONE, code.as_str(), u64::MAX),
        Ok(SmsCheck::Expired)
    );
    let (state, code) = verifier.start(&mut rng(), PHONE, u64::MAX - 10);
    let mut near = state;
    assert_eq!(
        verifier.check(&mut near, PHONE, code.as_str(), u64::MAX - 1),
        Ok(SmsCheck::Approved)
    );
}

#[test]
fn state_round_trips_and_hides_the_nonce() {
    let verifier = verifier(SmsPolicy::new());
    let (mut state, code) = verifier.start(&mut rng(), PHONE, T);
    let _ = verifier.check(&mut state, PHONE, &wrong(&code), T + 1);
    let bytes = state.to_bytes();
    assert_eq!(bytes.len(), SmsVerification::ENCODED_LEN);
    let restored = SmsVerification::from_bytes(&bytes).unwrap();
    assert_eq!(restored, state);
    let mut restored = restored;
    assert_eq!(
        verifier.check(&mut restored, PHONE, code.as_str(), T + 2),
        Ok(SmsCheck::Approved)
    );
    let shown = format!("{state:?}");
    assert!(
        shown.starts_with("SmsVerification { created_at: 1700000000"),
        "{shown}"
    );
    assert!(!shown.contains("nonce"), "{shown}");
}

/// Digits are uniform: a chi-square test over 200,000 digits from seeded
/// starts. `byte mod 10` without rejection would favour 0-5 by 4% and fail.
#[test]
fn digits_are_uniform() {
    let verifier = verifier(SmsPolicy::new().with_digits(10).unwrap());
    let mut rng = rng();
    uniform::assert_uniform_digits(
        (0..20_000).map(|_| verifier.start(&mut rng, PHONE, T).1.as_str().to_owned()),
    );
}

/// Regression: a check (or a resend) at a time before `created_at` was
/// judged only against `expires_at`, so a server clock that stepped back
/// extended the code's validity by as much. Such a call is refused without
/// a comparison and counts nothing; at the creation time itself, and later,
/// the verification works as before.
#[test]
fn check_before_created_at_is_refused() {
    let verifier = verifier(SmsPolicy::new());
    let (state, code) = verifier.start(&mut rng(), PHONE, T);
    let mut earlier = state;
    for now in [0, T - 3600, T - 1] {
        assert_eq!(
            verifier.check(&mut earlier, PHONE, code.as_str(), now),
            Ok(SmsCheck::BeforeCreation)
        );
        assert_eq!(
            verifier.resend(&mut earlier, PHONE, now),
            Err(SmsError::BeforeCreation)
        );
    }
    assert_eq!(earlier, state, "nothing was counted");
    assert_eq!(verifier.resend(&mut earlier, PHONE, T).as_ref(), Ok(&code));
    assert_eq!(
        verifier.check(&mut earlier, PHONE, code.as_str(), T),
        Ok(SmsCheck::Approved)
    );
    // Not pending wins over the time, as it does over expiry.
    assert_eq!(
        verifier.check(&mut earlier, PHONE, code.as_str(), T - 1),
        Ok(SmsCheck::NotPending)
    );
    assert!(!SmsError::BeforeCreation.to_string().is_empty());
}
