//! Per-credential checks: throttling, remembered drift and replay, rule by
//! rule, and a property test that no code is ever accepted twice.
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{
    CodeError, Hotp, HotpConfig, HotpPolicy, HotpState, LookAhead, ParamError, ResyncWindow,
    StepError, Throttle, Totp, TotpConfig, TotpPolicy, TotpState, VerifyError, Window,
};
use proptest::prelude::*;

const KEY: &[u8] = b"12345678901234567890";
const T: u64 = 1_700_000_010; // 10 s into a step

fn totp() -> Totp {
    Totp::from_key(KEY, TotpConfig::new()).unwrap()
}

/// The code a device shows at `time`.
fn code_at(totp: &Totp, time: u64) -> String {
    totp.generate(time).unwrap().to_string()
}

/// A code that matches no step near `time` (checked, not assumed).
fn wrong_near(totp: &Totp, time: u64) -> String {
    (0u32..)
        .map(|n| format!("{:06}", n * 7_919 % 1_000_000))
        .find(|c| totp.verify(c, time, Window::new(20, 20).unwrap()).is_err())
        .unwrap()
}

#[test]
fn policy_bounds() {
    assert_eq!(TotpPolicy::new().with_max_drift(21), Err(ParamError::Drift));
    assert!(TotpPolicy::new().with_max_drift(20).is_ok());
    assert_eq!(
        Throttle::new().with_delays(0, 10),
        Err(ParamError::Duration)
    );
    assert_eq!(
        Throttle::new().with_delays(10, 9),
        Err(ParamError::Duration)
    );
    assert_eq!(TotpPolicy::default(), TotpPolicy::new());
}

#[test]
fn throttle_delays_double_to_their_cap() {
    let throttle = Throttle::new()
        .with_free_failures(3)
        .with_delays(2, 30)
        .unwrap();
    let delays: Vec<u64> = (0..=9).map(|n| throttle.delay_after(n)).collect();
    assert_eq!(delays, [0, 0, 0, 0, 2, 4, 8, 16, 30, 30]);
    assert_eq!(throttle.delay_after(u32::MAX), 30);
    let lockout = Throttle::new()
        .with_free_failures(0)
        .with_delays(u64::MAX, u64::MAX)
        .unwrap();
    assert_eq!(lockout.delay_after(1), u64::MAX);
}

#[test]
fn accept_then_replay() {
    let totp = totp();
    let policy = TotpPolicy::new();
    let mut state = TotpState::new();
    let code = code_at(&totp, T);
    let matched = totp.check(&policy, &mut state, &code, T).unwrap();
    assert_eq!((state.last_step(), matched.drift), (Some(T / 30), 0));
    // Within the same step and the next, the code is a replay.
    assert_eq!(
        totp.check(&policy, &mut state, &code, T + 5),
        Err(VerifyError::Replayed)
    );
    assert_eq!(
        totp.check(&policy, &mut state, &code, T + 30),
        Err(VerifyError::Replayed)
    );
    // The next step's code is fine.
    assert!(
        totp.check(&policy, &mut state, &code_at(&totp, T + 30), T + 30)
            .is_ok()
    );
    assert_eq!(state.failures(), 0, "a success clears the failures");
}

#[test]
fn failures_throttle_without_secret_work() {
    let totp = totp();
    let throttle = Throttle::new()
        .with_free_failures(2)
        .with_delays(10, 100)
        .unwrap();
    let policy = TotpPolicy::new().with_throttle(throttle);
    let mut state = TotpState::new();
    let wrong = wrong_near(&totp, T);
    assert_eq!(
        totp.check(&policy, &mut state, &wrong, T),
        Err(VerifyError::Invalid)
    );
    assert_eq!(
        totp.check(&policy, &mut state, &wrong, T),
        Err(VerifyError::Invalid)
    );
    assert_eq!(state.retry_at(), 0, "two free failures");
    assert_eq!(
        totp.check(&policy, &mut state, &wrong, T),
        Err(VerifyError::Invalid)
    );
    assert_eq!((state.failures(), state.retry_at()), (3, T + 10));

    // During the delay even the right code is refused, and so is malformed
    // input: the throttle is checked before anything else is read.
    let right = code_at(&totp, T + 5);
    let throttled = Err(VerifyError::Throttled { retry_at: T + 10 });
    assert_eq!(totp.check(&policy, &mut state, &right, T + 5), throttled);
    assert_eq!(
        totp.check(&policy, &mut state, "not a code", T + 9),
        throttled
    );
    assert_eq!(state.failures(), 3, "refused checks are not failures");

    // At the retry time exactly, checks resume; a further failure doubles.
    let wrong = wrong_near(&totp, T + 10);
    assert_eq!(
        totp.check(&policy, &mut state, &wrong, T + 10),
        Err(VerifyError::Invalid)
    );
    assert_eq!(state.retry_at(), T + 10 + 20);
    // The delay is in the state, so it survives a restart.
    let mut restarted = TotpState::from_bytes(&state.to_bytes()).unwrap();
    assert_eq!(
        totp.check(&policy, &mut restarted, &code_at(&totp, T + 29), T + 29),
        Err(VerifyError::Throttled { retry_at: T + 30 })
    );
    assert!(
        totp.check(&policy, &mut restarted, &code_at(&totp, T + 30), T + 30)
            .is_ok()
    );
    assert_eq!((restarted.failures(), restarted.retry_at()), (0, 0));
}

#[test]
fn malformed_and_out_of_range_change_nothing() {
    let totp = Totp::from_key(KEY, TotpConfig::new().with_t0(T)).unwrap();
    let policy = TotpPolicy::new();
    let mut state = TotpState::new();
    assert_eq!(
        totp.check(&policy, &mut state, "12345", T + 60),
        Err(VerifyError::Malformed(CodeError::WrongLength {
            expected: 6
        }))
    );
    assert_eq!(
        totp.check(&policy, &mut state, "123456", T - 1),
        Err(VerifyError::OutOfRange(StepError::BeforeT0))
    );
    assert_eq!(state, TotpState::new());
    // A window past the last step.
    let one_second = TotpConfig::new().with_period(passcode::Period::new(1).unwrap());
    let totp = Totp::from_key(KEY, one_second).unwrap();
    assert_eq!(
        totp.check(&policy, &mut state, "123456", u64::MAX),
        Err(VerifyError::OutOfRange(StepError::Overflow))
    );
    assert_eq!(state, TotpState::new());
}

/// A device whose clock runs ahead: each accepted code shows the drift,
/// the verifier adopts it once two codes agree, and then follows the device
/// further than its window alone reaches.
#[test]
fn drift_is_learned_when_consistent() {
    let totp = totp();
    let policy = TotpPolicy::new().with_window(Window::new(1, 1).unwrap());
    let mut state = TotpState::new();
    let mut now = T;
    let device = |now: u64, ahead: u64| code_at(&totp, now + 30 * ahead);

    // One step ahead: inside the window, drift seen once, not yet adopted.
    assert_eq!(
        totp.check(&policy, &mut state, &device(now, 1), now)
            .unwrap()
            .drift,
        1
    );
    assert_eq!(state.drift(), 0);
    now += 60;
    // Seen again: adopted.
    assert_eq!(
        totp.check(&policy, &mut state, &device(now, 1), now)
            .unwrap()
            .drift,
        1
    );
    assert_eq!(state.drift(), 1);
    now += 60;
    // Now two steps ahead is inside the window moved by the drift...
    assert_eq!(
        totp.check(&policy, &mut state, &device(now, 2), now)
            .unwrap()
            .drift,
        2
    );
    now += 60;
    assert_eq!(
        totp.check(&policy, &mut state, &device(now, 2), now)
            .unwrap()
            .drift,
        2
    );
    assert_eq!(state.drift(), 2);
    now += 60;
    // ...and three, which a fresh state would refuse.
    assert!(
        totp.check(&policy, &mut TotpState::new(), &device(now, 3), now)
            .is_err()
    );
    assert_eq!(
        totp.check(&policy, &mut state, &device(now, 3), now)
            .unwrap()
            .drift,
        3
    );
}

/// A drift learned under one policy reaches no further than a stricter
/// policy allows: with tracking turned off, the window is back around the
/// clock.
#[test]
fn a_stricter_policy_bounds_a_learned_drift() {
    let totp = totp();
    let loose = TotpPolicy::new().with_window(Window::new(1, 1).unwrap());
    let mut state = TotpState::new();
    let mut now = T;
    for ahead in [1, 1, 2, 2, 3, 3] {
        totp.check(&loose, &mut state, &code_at(&totp, now + 30 * ahead), now)
            .unwrap();
        now += 60;
    }
    assert_eq!(state.drift(), 3);

    // Three steps ahead is inside the learned window, not inside ±1.
    let off = loose.with_max_drift(0).unwrap();
    let ahead = code_at(&totp, now + 90);
    assert_eq!(
        totp.check(&off, &mut state.clone(), &ahead, now),
        Err(VerifyError::Invalid)
    );
    let one = loose.with_max_drift(1).unwrap();
    assert_eq!(
        totp.check(&one, &mut state.clone(), &ahead, now),
        Err(VerifyError::Invalid)
    );
    // Two steps ahead is inside ±1 around a drift bounded to 1.
    let matched = totp
        .check(&one, &mut state, &code_at(&totp, now + 60), now)
        .unwrap();
    assert_eq!(matched.drift, 2);
}

#[test]
fn inconsistent_drift_is_not_adopted() {
    let totp = totp();
    let policy = TotpPolicy::new();
    let mut state = TotpState::new();
    for (i, ahead) in [1i64, -1, 1, -1, 1, -1].into_iter().enumerate() {
        let now = T + 300 * i as u64;
        let device_time = now.checked_add_signed(30 * ahead).unwrap();
        totp.check(&policy, &mut state, &code_at(&totp, device_time), now)
            .unwrap();
        assert_eq!(state.drift(), 0, "observation {i}");
    }
}

#[test]
fn drift_stays_within_its_bound() {
    let totp = totp();
    let policy = TotpPolicy::new().with_max_drift(1).unwrap();
    let mut state = TotpState::new();
    for i in 0..8u64 {
        let now = T + 300 * i;
        let ahead = 1 + i.min(1); // one step ahead, then two, relative to the clock
        let _ = totp.check(&policy, &mut state, &code_at(&totp, now + 30 * ahead), now);
        assert!(state.drift() <= 1, "drift {} after {i}", state.drift());
    }
    let off = TotpPolicy::new().with_max_drift(0).unwrap();
    let mut state = TotpState::new();
    for i in 0..4u64 {
        let now = T + 300 * i;
        totp.check(&off, &mut state, &code_at(&totp, now + 30), now)
            .unwrap();
        assert_eq!(state.drift(), 0);
    }
}

#[test]
fn clock_going_backwards_cannot_replay() {
    let totp = totp();
    let policy = TotpPolicy::new().with_window(Window::new(3, 1).unwrap());
    let mut state = TotpState::new();
    totp.check(&policy, &mut state, &code_at(&totp, T), T)
        .unwrap();
    // The server clock jumps back a minute: older codes are all used.
    for back in [30, 60, 90] {
        let earlier = T - back;
        assert_eq!(
            totp.check(&policy, &mut state, &code_at(&totp, earlier), earlier),
            Err(VerifyError::Replayed)
        );
    }
}

#[test]
fn times_at_the_top_of_the_range() {
    let per_second = TotpConfig::new().with_period(passcode::Period::new(1).unwrap());
    let totp = Totp::from_key(KEY, per_second).unwrap();
    let policy = TotpPolicy::new().with_window(Window::new(1, 0).unwrap());
    let mut state = TotpState::new();
    let top = code_at(&totp, u64::MAX);
    assert_eq!(
        totp.check(&policy, &mut state, &top, u64::MAX)
            .unwrap()
            .step,
        u64::MAX
    );
    // A window reaching past the top is out of range, not a panic.
    let ahead = TotpPolicy::new().with_window(Window::new(0, 1).unwrap());
    assert_eq!(
        totp.check(&ahead, &mut TotpState::new(), &top, u64::MAX),
        Err(VerifyError::OutOfRange(StepError::Overflow))
    );
    // Throttle arithmetic saturates at the top of time.
    let throttle = Throttle::new()
        .with_free_failures(0)
        .with_delays(10, 10)
        .unwrap();
    let mut state = TotpState::new();
    let policy = TotpPolicy::new().with_throttle(throttle);
    let totp = self::totp();
    let wrong = wrong_near(&totp, u64::MAX);
    assert_eq!(
        totp.check(&policy, &mut state, &wrong, u64::MAX - 3),
        Err(VerifyError::Invalid)
    );
    assert_eq!(state.retry_at(), u64::MAX);
}

/// Regression (found by the credential_state_machine fuzz target): a
/// remembered drift that moves the window below step 0 once returned
/// `Overflow`. Steps below 0 do not exist, so the window holds the steps
/// that do and the check is made.
#[test]
fn negative_drift_near_step_zero_checks_the_steps_that_exist() {
    let totp = totp();
    let policy = TotpPolicy::new().with_window(Window::new(0, 1).unwrap());
    let mut state = TotpState::new();
    // Teach the state a drift of -1 early on: the device twice one step behind.
    for now in [150, 300] {
        totp.check(
            &policy.with_window(Window::new(1, 1).unwrap()),
            &mut state,
            &code_at(&totp, now - 30),
            now,
        )
        .unwrap();
    }
    assert_eq!(state.drift(), -1);
    // At step 0 the predicted step would be -1: step 0 is checked, and its
    // code is older than the last accepted one.
    assert_eq!(
        totp.check(&policy, &mut state, &code_at(&totp, 0), 10),
        Err(VerifyError::Replayed)
    );
}

#[test]
fn hotp_state_advances_and_throttles() {
    let hotp = Hotp::from_key(KEY, HotpConfig::new()).unwrap();
    let throttle = Throttle::new()
        .with_free_failures(1)
        .with_delays(5, 5)
        .unwrap();
    let policy = HotpPolicy::new()
        .with_look_ahead(LookAhead::new(3).unwrap())
        .with_throttle(throttle);
    let mut state = HotpState::new(0);
    // RFC 4226 Appendix D: counter 2's code, two presses ahead.
    assert_eq!(
        hotp.check(&policy, &mut state, "359152", 100)
            .unwrap()
            .counter,
        2
    );
    assert_eq!(state.counter(), 3);
    assert_eq!(
        hotp.check(&policy, &mut state, "359152", 101),
        Err(VerifyError::Invalid)
    );
    assert_eq!(
        hotp.check(&policy, &mut state, "755224", 102),
        Err(VerifyError::Invalid)
    );
    assert_eq!(state.retry_at(), 107);
    assert_eq!(
        hotp.check(&policy, &mut state, "969429", 106),
        Err(VerifyError::Throttled { retry_at: 107 })
    );
    assert_eq!(
        hotp.check(&policy, &mut state, "969429", 107)
            .unwrap()
            .next_counter,
        4
    );
    // Far ahead: resynchronize with two consecutive codes (counters 8 and 9).
    assert_eq!(
        hotp.check(&policy, &mut state, "399871", 108),
        Err(VerifyError::Invalid)
    );
    let window = ResyncWindow::new(10).unwrap();
    let matched = hotp
        .check_resync(&policy, &mut state, ("399871", "520489"), window, 109)
        .unwrap();
    assert_eq!(
        (matched.counter, state.counter(), state.failures()),
        (9, 10, 0)
    );
    // The counter at the top cannot move on: out of range, state unchanged.
    let mut top = HotpState::new(u64::MAX);
    let code = hotp.generate(u64::MAX).to_string();
    assert_eq!(
        hotp.check(&policy, &mut top, &code, 0),
        Err(VerifyError::OutOfRange(StepError::Overflow))
    );
    assert_eq!(top, HotpState::new(u64::MAX));
}

/// One action of a client against a server's stored state.
#[derive(Debug, Clone)]
enum Action {
    /// The device's current code, its clock `skew` steps off.
    Current { skew: i8 },
    /// A code seen before, replayed.
    Replay(usize),
    /// A random code.
    Guess(u32),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (-2i8..=2).prop_map(|skew| Action::Current { skew }),
        any::<prop::sample::Index>().prop_map(|i| Action::Replay(i.index(usize::MAX))),
        (0u32..1_000_000).prop_map(Action::Guess),
    ]
}

proptest! {
    /// Whatever a client sends, and however the server clock moves (it may
    /// go back), no step is ever accepted twice, accepted steps only rise,
    /// and the state survives a round trip through its bytes at every turn.
    #[test]
    fn no_code_is_ever_accepted_twice(
        key in prop::collection::vec(any::<u8>(), 16..=40),
        moves in prop::collection::vec((-40i64..=100, action()), 1..60),
    ) {
        let totp = Totp::from_key(&key, TotpConfig::new()).unwrap();
        let throttle = Throttle::new().with_free_failures(5).with_delays(1, 4).unwrap();
        let policy = TotpPolicy::new().with_window(Window::new(2, 2).unwrap()).with_throttle(throttle);
        let mut state = TotpState::new();
        let mut now = 1_000_000u64;
        let mut seen: Vec<String> = Vec::new();
        let mut accepted: Vec<u64> = Vec::new();
        for (advance, action) in moves {
            now = now.checked_add_signed(advance).unwrap();
            let code = match action {
                Action::Current { skew } => code_at(&totp, now.checked_add_signed(30 * i64::from(skew)).unwrap()),
                Action::Replay(i) if !seen.is_empty() => seen[i % seen.len()].clone(),
                Action::Replay(_) => code_at(&totp, now),
                Action::Guess(n) => format!("{n:06}"),
            };
            seen.push(code.clone());
            if let Ok(matched) = totp.check(&policy, &mut state, &code, now) {
                prop_assert!(!accepted.contains(&matched.step), "step {} accepted twice", matched.step);
                prop_assert!(accepted.last().is_none_or(|last| matched.step > *last));
                prop_assert_eq!(state.last_step(), Some(matched.step));
                accepted.push(matched.step);
            }
            state = TotpState::from_bytes(&state.to_bytes()).unwrap();
        }
    }
}

/// Regression: a device that ran 1, then 2, then 3 steps fast (three logins
/// each) taught a drift of 3; once its clock was corrected, every right code
/// was refused, because the window was placed only around the remembered
/// drift, and no success could teach the drift back. The window around the
/// clock's own step is always checked too, and two successes there bring
/// the remembered drift back to 0. The same for a slow clock.
#[test]
fn corrected_clock_after_learned_drift_is_accepted() {
    let totp = totp();
    let policy = TotpPolicy::new();
    for sign in [1i64, -1] {
        let mut state = TotpState::new();
        let mut now = T;
        for skew in 1..=3 {
            for _ in 0..3 {
                now += 300;
                let device = now.checked_add_signed(sign * skew * 30).unwrap();
                let matched = totp
                    .check(&policy, &mut state, &code_at(&totp, device), now)
                    .unwrap();
                assert_eq!(matched.drift, sign * skew);
            }
        }
        assert_eq!(i64::from(state.drift()), 3 * sign);
        // The device's clock is corrected: 100 logins, each accepted.
        for login in 0..100 {
            now += 300;
            let matched = totp
                .check(&policy, &mut state, &code_at(&totp, now), now)
                .unwrap_or_else(|e| panic!("login {login} after the correction: {e}"));
            assert_eq!(matched.drift, 0);
            if login >= 1 {
                assert_eq!(state.drift(), 0, "login {login}");
            }
        }
        assert_eq!(state.failures(), 0);
    }
}
