//! The GCRA rate limiter: exact at its boundaries, never more than the
//! quota in any window, no overflow at any time.
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use passcode::{ParamError, RateLimit, RateLimitState, RateLimited};
use proptest::prelude::*;

const MONTH: u64 = 30 * 24 * 3600;

#[test]
fn parameters() {
    assert_eq!(RateLimit::new(0, 60, 1), Err(ParamError::Limit));
    assert_eq!(RateLimit::new(3, 60, 0), Err(ParamError::Limit));
    assert_eq!(RateLimit::new(3, 60, 4), Err(ParamError::Limit));
    assert_eq!(RateLimit::new(3, 0, 1), Err(ParamError::Duration));
    let limit = RateLimit::new(1_500, 60, 25).unwrap();
    assert_eq!(
        (limit.quota(), limit.period(), limit.burst()),
        (1_500, 60, 25)
    );
}

/// 3 a month, evenly spaced: one every 10 days, to the second.
#[test]
fn even_spacing_is_exact_at_the_boundary() {
    let limit = RateLimit::new(3, MONTH, 1).unwrap();
    let mut state = RateLimitState::new();
    let t = 1_700_000_000;
    assert!(limit.check(&mut state, t).is_ok());
    let next = t + MONTH / 3;
    assert_eq!(
        limit.check(&mut state, next - 1),
        Err(RateLimited { retry_at: next })
    );
    assert!(limit.check(&mut state, next).is_ok());
    assert!(limit.check(&mut state, next + MONTH / 3).is_ok());
}

/// 1,500 a minute with bursts of 25: the sustained spacing is 60/1476 s,
/// not a whole number of seconds. The counts are those of an independent
/// exact-rational simulation of the GCRA (Python `fractions.Fraction`,
/// tolerance 24 x 60/1476 s, 100 requests each second from t = 1000):
/// 25 at t, 1445 over the next 59 seconds, 25 at t + 60.
#[test]
fn fractional_spacing_is_exact() {
    let limit = RateLimit::new(1_500, 60, 25).unwrap();
    let mut state = RateLimitState::new();
    let t = 1_000;
    let mut allowed_in = |second: u64| {
        (0..100)
            .filter(|_| limit.check(&mut state, second).is_ok())
            .count()
    };
    assert_eq!(allowed_in(t), 25);
    let next_59: usize = (t + 1..t + 60).map(&mut allowed_in).sum();
    assert_eq!(next_59, 1_445);
    assert_eq!(allowed_in(t + 60), 25);
}

#[test]
fn a_refusal_changes_nothing() {
    let limit = RateLimit::new(2, 60, 2).unwrap();
    let mut state = RateLimitState::new();
    limit.check(&mut state, 0).unwrap();
    limit.check(&mut state, 0).unwrap();
    let before = state;
    for t in 1..60 {
        assert_eq!(
            limit.check(&mut state, t),
            Err(RateLimited { retry_at: 60 })
        );
    }
    assert_eq!(state, before);
}

#[test]
fn clock_going_backwards_allows_nothing_extra() {
    let limit = RateLimit::new(2, 100, 2).unwrap();
    let mut state = RateLimitState::new();
    limit.check(&mut state, 1_000).unwrap();
    limit.check(&mut state, 1_000).unwrap();
    for t in [999, 500, 0] {
        assert!(limit.check(&mut state, t).is_err(), "at {t}");
    }
    assert!(limit.check(&mut state, 1_100).is_ok());
}

#[test]
fn times_at_the_top_of_the_range() {
    let limit = RateLimit::new(u32::MAX, u64::MAX, 1).unwrap();
    let mut state = RateLimitState::new();
    assert!(limit.check(&mut state, u64::MAX).is_ok());
    let refused = limit.check(&mut state, u64::MAX).unwrap_err();
    assert_eq!(refused.retry_at, u64::MAX);
    let limit = RateLimit::new(1, u64::MAX, 1).unwrap();
    let mut state = RateLimitState::new();
    assert!(limit.check(&mut state, 1).is_ok());
    // The next event is due at 1 + u64::MAX, past the last representable
    // second: the retry time saturates there.
    assert_eq!(
        limit.check(&mut state, 2),
        Err(RateLimited { retry_at: u64::MAX })
    );
    assert_eq!(
        limit.check(&mut state, u64::MAX),
        Err(RateLimited { retry_at: u64::MAX })
    );
}

/// A state kept under one limit, checked under another, is rounded up to
/// whole seconds: the change never lets more through than either limit.
#[test]
fn changing_the_limit_is_conservative() {
    let strict = RateLimit::new(3, 10, 1).unwrap(); // one per 10/3 s
    let mut state = RateLimitState::new();
    strict.check(&mut state, 0).unwrap(); // next at 3.33 s under `strict`
    let loose = RateLimit::new(1, 4, 1).unwrap(); // one per 4 s
    assert_eq!(loose.check(&mut state, 3), Err(RateLimited { retry_at: 4 }));
    assert!(loose.check(&mut state, 4).is_ok());
}

#[test]
fn state_round_trips() {
    let limit = RateLimit::new(5, 60, 3).unwrap();
    let mut state = RateLimitState::new();
    limit.check(&mut state, 123).unwrap();
    let restored = RateLimitState::from_bytes(&state.to_bytes()).unwrap();
    assert_eq!(restored, state);
}

proptest! {
    /// For any limit and any sequence of requests (the clock may stall or go
    /// back), no window of `period` seconds ever holds more than `quota`
    /// allowed events, and a refusal's retry time is when the next event
    /// would in fact be allowed.
    #[test]
    fn never_more_than_the_quota_in_any_window(
        quota in 1u32..=12,
        burst_share in 0u32..=100,
        period in 1u64..=50,
        steps in prop::collection::vec((-3i64..=20, 1usize..=4), 1..120),
    ) {
        let burst = 1 + (quota - 1) * burst_share / 100;
        let limit = RateLimit::new(quota, period, burst).unwrap();
        let mut state = RateLimitState::new();
        let mut now = 1_000u64;
        let mut allowed: Vec<u64> = Vec::new();
        for (advance, requests) in steps {
            now = now.checked_add_signed(advance).unwrap();
            for _ in 0..requests {
                match limit.check(&mut state, now) {
                    Ok(()) => allowed.push(now),
                    Err(RateLimited { retry_at }) => {
                        prop_assert!(retry_at > now);
                        let mut probe = state;
                        prop_assert!(limit.check(&mut probe, retry_at - 1).is_err());
                        prop_assert!(limit.check(&mut probe, retry_at).is_ok());
                    }
                }
            }
        }
        for &start in &allowed {
            let in_window = allowed.iter().filter(|&&t| start <= t && t < start + period).count();
            prop_assert!(in_window <= quota as usize, "{in_window} events in [{start}, {})", start + period);
        }
    }
}
