//! One `SmsVerifier` with a random policy, driven by a random sequence of
//! starts, resends, checks (the right code, a wrong one, any text), cancels,
//! clock moves (back, forward, to `u64::MAX`) and round trips of the state
//! through its bytes. Every outcome must be the one a plain model of the
//! documented flow predicts, and on top of the model:
//!
//! - a verification is approved at most once, only with the right code,
//!   only before it expires, never after a cancel, never after its checks
//!   ran out;
//! - checks never exceed `max_checks`, sends never exceed `max_sends`;
//! - a resend that succeeds returns the code the start returned.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode::{
    CodeError, Secret, SmsCheck, SmsError, SmsPolicy, SmsStatus, SmsVerification, SmsVerifier,
};
use passcode_fuzz::input::{Move, ReplayRng, Time};
use passcode_fuzz::reference::parse_code;

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 16],
    /// 4 to 10, taken modulo 7.
    digits: u8,
    validity: Validity,
    /// Zero means one.
    max_checks: u8,
    max_sends: u8,
    subject: String,
    start: Time,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Validity {
    Default,
    Short(u8),
    Any(u64),
    Forever,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Start {
        nonce: [u8; 16],
    },
    Resend,
    CheckRight,
    /// The right code with the digit at `at` changed by `1 + by % 9`.
    CheckWrong {
        at: u8,
        by: u8,
    },
    CheckText(String),
    Cancel,
    Clock(Move),
    RoundTrip,
}

/// What the documentation says the stored verification holds.
#[derive(Debug)]
struct Model {
    code: String,
    created: u64,
    expires: u64,
    checks: u8,
    sends: u8,
    status: SmsStatus,
    approvals: u32,
}

fuzz_target!(|input: Input| {
    let validity = match input.validity {
        Validity::Default => 600,
        Validity::Short(n) => u64::from(n).max(1),
        Validity::Any(n) => n.max(1),
        Validity::Forever => u64::MAX,
    };
    let digits = 4 + input.digits % 7;
    let (max_checks, max_sends) = (input.max_checks.max(1), input.max_sends.max(1));
    let policy = SmsPolicy::new()
        .with_digits(digits)
        .and_then(|p| p.with_validity(validity))
        .and_then(|p| p.with_max_checks(max_checks))
        .and_then(|p| p.with_max_sends(max_sends))
        .expect("a valid policy");
    let key = Secret::from_bytes(&input.key).expect("16 bytes");
    let verifier = SmsVerifier::new(&key, policy).expect("any key");
    let subject = input.subject.as_str();
    let mut now = input.start.get();
    let mut current: Option<(SmsVerification, Model)> = None;

    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Start { nonce } => {
                let (state, code) = verifier.start(&mut ReplayRng::new(&nonce), subject, now);
                let code = code.to_string();
                assert_eq!(code.len(), usize::from(digits));
                assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
                let expires = (u128::from(now) + u128::from(validity)).min(u128::from(u64::MAX));
                let model = Model {
                    code,
                    created: now,
                    expires: expires as u64,
                    checks: 0,
                    sends: 1,
                    status: SmsStatus::Pending,
                    approvals: 0,
                };
                current = Some((state, model));
            }
            Op::Clock(step) => now = step.apply(now),
            _ => {}
        }
        let Some((state, model)) = current.as_mut() else {
            continue;
        };
        match op {
            Op::Start { .. } | Op::Clock(_) => {}
            Op::Resend => {
                let expected = if model.status != SmsStatus::Pending {
                    Err(SmsError::NotPending)
                } else if now < model.created {
                    Err(SmsError::BeforeCreation)
                } else if now >= model.expires {
                    Err(SmsError::Expired)
                } else if model.checks >= max_checks {
                    Err(SmsError::TooManyAttempts)
                } else if model.sends >= max_sends {
                    Err(SmsError::TooManySends)
                } else {
                    model.sends += 1;
                    Ok(model.code.clone())
                };
                let resent = verifier.resend(state, subject, now);
                assert_eq!(resent.map(|code| code.to_string()), expected);
            }
            Op::CheckRight | Op::CheckWrong { .. } | Op::CheckText(_) => {
                let typed = match op {
                    Op::CheckRight => model.code.clone(),
                    Op::CheckWrong { at, by } => {
                        let mut wrong = model.code.clone().into_bytes();
                        let at = usize::from(at) % wrong.len();
                        wrong[at] = b'0' + (wrong[at] - b'0' + 1 + by % 9) % 10;
                        String::from_utf8(wrong).expect("digits")
                    }
                    Op::CheckText(text) => text,
                    _ => unreachable!(),
                };
                let before = (model.status, model.checks);
                let expected = expect_check(model, &typed, digits, max_checks, now);
                let outcome = verifier.check(state, subject, &typed, now);
                assert_eq!(outcome, expected, "{typed:?} at {now}, {model:?}");
                if outcome == Ok(SmsCheck::Approved) {
                    assert_eq!(model.approvals, 1, "approved twice");
                    assert_eq!(before.0, SmsStatus::Pending, "approved when not pending");
                    assert!(
                        model.created <= now && now < model.expires,
                        "approved at {now}, expired at {}",
                        model.expires
                    );
                    assert!(before.1 < max_checks, "approved with no checks left");
                    assert_eq!(parse_code(&typed, digits).as_ref(), Ok(&model.code));
                }
            }
            Op::Cancel => {
                state.cancel();
                if model.status == SmsStatus::Pending {
                    model.status = SmsStatus::Canceled;
                }
            }
            Op::RoundTrip => {
                let decoded = SmsVerification::from_bytes(&state.to_bytes());
                assert_eq!(decoded.as_ref(), Ok(&*state));
                *state = decoded.expect("just checked");
            }
        }
        assert_eq!(
            (state.created_at(), state.expires_at()),
            (model.created, model.expires)
        );
        assert_eq!((state.checks(), state.sends()), (model.checks, model.sends));
        assert_eq!(state.status(), model.status);
        assert!(state.checks() <= max_checks && state.sends() <= max_sends);
    }
});

/// The documented outcome of a check, applied to the model: refusals
/// without a comparison first, then malformed input (not counted), then a
/// counted comparison.
fn expect_check(
    model: &mut Model,
    typed: &str,
    digits: u8,
    max_checks: u8,
    now: u64,
) -> Result<SmsCheck, CodeError> {
    if model.status != SmsStatus::Pending {
        return Ok(SmsCheck::NotPending);
    }
    if now < model.created {
        return Ok(SmsCheck::BeforeCreation);
    }
    if now >= model.expires {
        return Ok(SmsCheck::Expired);
    }
    if model.checks >= max_checks {
        return Ok(SmsCheck::TooManyAttempts);
    }
    let typed = parse_code(typed, digits)?;
    model.checks += 1;
    if typed == model.code {
        model.status = SmsStatus::Approved;
        model.approvals += 1;
        Ok(SmsCheck::Approved)
    } else {
        Ok(SmsCheck::Incorrect {
            remaining: max_checks - model.checks,
        })
    }
}
