//! One `RateLimit` with random parameters and one subject's state, asked
//! at random times: forward, backward, and near `u64::MAX`.
//!
//! - No half-open window of `period` seconds holds more than `quota`
//!   allowed events, and no single second more than `burst`, however the
//!   clock moved between them.
//! - A refusal leaves the state as it was, and its `retry_at` is the first
//!   time the request would be allowed: at `retry_at - 1` it is refused, at
//!   `retry_at` allowed (checked on copies of the state). A `retry_at` of
//!   `u64::MAX` may mean "never"; then `u64::MAX - 1` is refused.
//! - The state survives a round trip through its bytes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode::{RateLimit, RateLimitState, RateLimited};
use passcode_fuzz::input::{Move, Time};

#[derive(Arbitrary, Debug)]
struct Input {
    quota: Count,
    period: Seconds,
    /// 1 to the quota, taken modulo the quota.
    burst: u32,
    start: Time,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Count {
    Small(u8),
    Any(u32),
}

#[derive(Arbitrary, Debug)]
enum Seconds {
    Small(u16),
    Month,
    Any(u64),
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// One request now.
    Request,
    /// Up to 16 requests in the same second.
    Requests(u8),
    Clock(Move),
    RoundTrip,
}

fuzz_target!(|input: Input| {
    let quota = match input.quota {
        Count::Small(n) => u32::from(n),
        Count::Any(n) => n,
    }
    .max(1);
    let period = match input.period {
        Seconds::Small(n) => u64::from(n),
        Seconds::Month => 30 * 24 * 3600,
        Seconds::Any(n) => n,
    }
    .max(1);
    let burst = 1 + input.burst % quota;
    let limit = RateLimit::new(quota, period, burst).expect("valid parameters");
    let mut state = RateLimitState::new();
    let mut now = input.start.get();
    let mut allowed: Vec<u64> = Vec::new();

    for op in input.ops.into_iter().take(128) {
        let requests = match op {
            Op::Request => 1,
            Op::Requests(n) => n % 17,
            Op::Clock(step) => {
                now = step.apply(now);
                0
            }
            Op::RoundTrip => {
                let decoded = RateLimitState::from_bytes(&state.to_bytes());
                assert_eq!(decoded, Ok(state));
                0
            }
        };
        for _ in 0..requests {
            let before = state;
            match limit.check(&mut state, now) {
                Ok(()) => allowed.push(now),
                Err(RateLimited { retry_at }) => {
                    assert_eq!(state, before, "a refusal changed the state");
                    assert!(
                        retry_at > now || retry_at == u64::MAX,
                        "refused at {now}, told to retry at {retry_at}"
                    );
                    let at = |time: u64| limit.check(&mut state.clone(), time);
                    if retry_at < u64::MAX {
                        assert!(
                            at(retry_at - 1).is_err(),
                            "allowed before retry_at {retry_at}"
                        );
                        assert_eq!(at(retry_at), Ok(()), "refused at retry_at {retry_at}");
                    } else {
                        assert!(at(u64::MAX - 1).is_err());
                    }
                }
            }
        }
    }

    allowed.sort_unstable();
    let mut end = 0;
    for (start, &from) in allowed.iter().enumerate() {
        // Events in [from, from + period).
        let until = u128::from(from) + u128::from(period);
        while end < allowed.len() && u128::from(allowed[end]) < until {
            end += 1;
        }
        assert!(
            end - start <= quota as usize,
            "{} events allowed in [{from}, {until}) under {limit:?}",
            end - start,
        );
        let same = allowed[start..end]
            .iter()
            .take_while(|&&t| t == from)
            .count();
        assert!(
            same <= burst as usize,
            "{same} events allowed at {from} under {limit:?}"
        );
    }
});
