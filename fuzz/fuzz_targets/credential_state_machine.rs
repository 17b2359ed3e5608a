//! `Totp::check` and `Hotp::check` against one credential each, with a
//! random policy, driven by a random sequence of codes (the device's code
//! with clock skew, replays of accepted codes, random codes, any text),
//! clock moves back and forth, and round trips of the state through its
//! bytes.
//!
//! Each outcome must be the reference verdict for the state as it stands
//! (the window around the clock's step and around the step the remembered
//! drift predicts, only steps after the last accepted one), and on top of
//! that:
//!
//! - no TOTP step is accepted twice, and accepted steps strictly increase;
//! - a check before `retry_at` is always `Throttled` and changes nothing;
//! - a failure counts once and waits the documented delay; a success
//!   clears the failures; malformed input and an out-of-range window change
//!   nothing;
//! - the remembered drift stays within the policy's bound;
//! - the HOTP counter only moves forward, and only to a match plus one;
//! - states survive a round trip through their bytes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode::{
    Hotp, HotpPolicy, HotpState, LookAhead, Throttle, Totp, TotpPolicy, TotpState, VerifyError,
    Window,
};
use passcode_fuzz::input::{Move, Time, TotpParams};
use passcode_fuzz::reference::{parse_code, throttle_delay};

#[derive(Arbitrary, Debug)]
struct Input {
    params: TotpParams,
    /// Each side taken modulo 21.
    behind: u8,
    ahead: u8,
    /// Taken modulo 21.
    max_drift: u8,
    free_failures: u8,
    base_delay: Delay,
    /// Added to the base delay for the maximum.
    extra_delay: Delay,
    start: Time,
    counter: Time,
    /// Taken modulo 51.
    look_ahead: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Delay {
    Small(u8),
    Any(u64),
    Max,
}

impl Delay {
    fn get(self) -> u64 {
        match self {
            Self::Small(n) => u64::from(n),
            Self::Any(n) => n,
            Self::Max => u64::MAX,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Totp(Typed),
    /// The next login: one period later, the device's code with the same
    /// `skew` as before (modulo 26), so that drift is learned.
    TotpNextPeriod {
        skew: i8,
    },
    Hotp(Typed),
    Clock(Move),
    /// The clock to the start of an early TOTP step, where a window reaches
    /// step 0.
    ClockToStep(u8),
    RoundTrip,
}

#[derive(Arbitrary, Debug)]
enum Typed {
    /// TOTP: the code of the current step plus `skew` (modulo 26).
    /// HOTP: the code of the stored counter plus `skew` (modulo 64).
    Current {
        skew: i8,
    },
    /// A code accepted before (the newest if `back` is 0).
    Replay {
        back: u8,
    },
    Random(u32),
    Text(String),
}

/// A state and the codes accepted against it, newest last.
struct Tracked<S> {
    state: S,
    accepted: Vec<(u64, String)>,
}

impl Typed {
    fn text(
        &self,
        base: u64,
        skew_mod: i8,
        digits: u8,
        accepted: &[(u64, String)],
        code: impl Fn(u64) -> String,
    ) -> String {
        match self {
            Self::Current { skew } => code(base.wrapping_add_signed(i64::from(skew % skew_mod))),
            Self::Replay { back } => match accepted
                .iter()
                .rev()
                .nth(usize::from(*back) % accepted.len().max(1))
            {
                Some((_, text)) => text.clone(),
                None => code(base),
            },
            Self::Random(n) => {
                let value = u64::from(*n) % 10u64.pow(u32::from(digits));
                format!("{value:0width$}", width = usize::from(digits))
            }
            Self::Text(text) => text.clone(),
        }
    }
}

/// What a failure does to `(failures, retry_at)`: one more failure, and
/// the wait the throttle documents for that many, counted from `now`.
fn after_failure(throttle: Throttle, failures: u32, retry_at: u64, now: u64) -> (u32, u64) {
    let failures = failures.saturating_add(1);
    let delay = throttle_delay(
        throttle.free_failures(),
        throttle.base_delay(),
        throttle.max_delay(),
        failures,
    );
    assert_eq!(throttle.delay_after(failures), delay);
    if delay == 0 {
        (failures, retry_at)
    } else {
        (failures, now.saturating_add(delay))
    }
}

fuzz_target!(|input: Input| {
    let params = &input.params;
    let key = params.key();
    if key.is_empty() {
        return;
    }
    let config = params.config();
    let totp = Totp::from_key(key, config).expect("any non-empty key");
    let hotp = Hotp::from_key(key, params.hotp_config()).expect("any non-empty key");
    let reference = params.reference();
    let credential = &reference.credential;
    let digits = credential.digits;

    let base_delay = input.base_delay.get().max(1);
    let throttle = Throttle::new()
        .with_free_failures(u32::from(input.free_failures))
        .with_delays(
            base_delay,
            base_delay.saturating_add(input.extra_delay.get()),
        )
        .expect("0 < base <= max");
    let window = Window::new(input.behind % 21, input.ahead % 21).expect("0 to 20");
    let max_drift = input.max_drift % 21;
    let totp_policy = TotpPolicy::new()
        .with_window(window)
        .with_max_drift(max_drift)
        .expect("0 to 20")
        .with_throttle(throttle);
    let look_ahead = u16::from(input.look_ahead % 51);
    let hotp_policy = HotpPolicy::new()
        .with_look_ahead(LookAhead::new(look_ahead).expect("0 to 50"))
        .with_throttle(throttle);

    let mut now = input.start.get();
    let mut t = Tracked {
        state: TotpState::new(),
        accepted: Vec::new(),
    };
    let mut h = Tracked {
        state: HotpState::new(input.counter.get()),
        accepted: Vec::new(),
    };

    for op in input.ops.into_iter().take(48) {
        match op {
            Op::Clock(step) => now = step.apply(now),
            Op::ClockToStep(step) => {
                now = reference
                    .t0
                    .saturating_add(u64::from(step).saturating_mul(reference.period));
            }
            Op::RoundTrip => {
                assert_eq!(TotpState::from_bytes(&t.state.to_bytes()), Ok(t.state));
                assert_eq!(HotpState::from_bytes(&h.state.to_bytes()), Ok(h.state));
            }
            Op::Totp(_) | Op::TotpNextPeriod { .. } => {
                let typed = match op {
                    Op::Totp(typed) => typed,
                    Op::TotpNextPeriod { skew } => {
                        now = now.saturating_add(reference.period);
                        Typed::Current { skew }
                    }
                    _ => unreachable!(),
                };
                let clock = reference.step(now);
                let typed = typed.text(clock.unwrap_or(0), 26, digits, &t.accepted, |s| {
                    credential.code(s)
                });
                let before = t.state;
                let expected = if now < before.retry_at() {
                    Err(VerifyError::Throttled {
                        retry_at: before.retry_at(),
                    })
                } else {
                    parse_code(&typed, digits)
                        .map_err(VerifyError::Malformed)
                        .and_then(|plain| Ok((plain, clock?)))
                        .and_then(|(plain, clock)| {
                            let predicted = i128::from(clock) + i128::from(before.drift());
                            credential.verify_around(
                                &plain,
                                clock,
                                &[i128::from(clock), predicted],
                                window.behind(),
                                window.ahead(),
                                before.last_step(),
                            )
                        })
                };
                let outcome = totp.check(&totp_policy, &mut t.state, &typed, now);
                assert_eq!(
                    outcome.map(|m| (m.step, m.drift)),
                    expected,
                    "TOTP {typed:?} at {now} against {before:?}",
                );
                let state = t.state;
                match expected {
                    Ok((step, drift)) => {
                        assert!(
                            t.accepted.last().is_none_or(|(last, _)| step > *last),
                            "step {step} accepted after {:?}",
                            t.accepted.last(),
                        );
                        t.accepted.push((step, typed));
                        assert_eq!(state.last_step(), Some(step));
                        assert_eq!((state.failures(), state.retry_at()), (0, 0));
                        let bound = i64::from(max_drift);
                        let observed = drift.clamp(-bound, bound);
                        assert!(
                            i64::from(state.drift()) == observed || state.drift() == before.drift(),
                            "drift {} after {} with {observed} observed",
                            state.drift(),
                            before.drift(),
                        );
                    }
                    Err(VerifyError::Invalid | VerifyError::Replayed) => {
                        assert_eq!(
                            (state.failures(), state.retry_at()),
                            after_failure(throttle, before.failures(), before.retry_at(), now),
                        );
                        assert_eq!(
                            (state.last_step(), state.drift()),
                            (before.last_step(), before.drift())
                        );
                    }
                    Err(_) => {
                        assert_eq!(state, before, "a refusal without a check changed the state")
                    }
                }
                assert!(state.drift().unsigned_abs() <= max_drift);
            }
            Op::Hotp(typed) => {
                let before = h.state;
                let typed = typed.text(before.counter(), 64, digits, &h.accepted, |c| {
                    credential.code(c)
                });
                let expected = if now < before.retry_at() {
                    Err(VerifyError::Throttled {
                        retry_at: before.retry_at(),
                    })
                } else {
                    credential.hotp_verify(&typed, before.counter(), look_ahead)
                };
                let outcome = hotp.check(&hotp_policy, &mut h.state, &typed, now);
                assert_eq!(
                    outcome.map(|m| (m.counter, m.next_counter)),
                    expected,
                    "HOTP {typed:?} at {now} against {before:?}",
                );
                let state = h.state;
                match expected {
                    Ok((counter, next)) => {
                        assert!(counter >= before.counter() && next == counter + 1);
                        assert_eq!(state.counter(), next);
                        assert_eq!((state.failures(), state.retry_at()), (0, 0));
                        h.accepted.push((counter, typed));
                    }
                    Err(VerifyError::Invalid) => {
                        assert_eq!(state.counter(), before.counter());
                        assert_eq!(
                            (state.failures(), state.retry_at()),
                            after_failure(throttle, before.failures(), before.retry_at(), now),
                        );
                    }
                    Err(_) => {
                        assert_eq!(state, before, "a refusal without a check changed the state")
                    }
                }
                assert!(
                    state.counter() >= before.counter(),
                    "the counter moved back"
                );
            }
        }
    }
});
