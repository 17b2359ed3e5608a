//! The compare-and-set machinery: the loop that loads a state, lets a
//! step decide, and writes it back only if nobody changed it meanwhile
//! (the encodings are in `stored.rs`).

use super::*;

/// The grain a rate limit's expiry is rounded up to, in seconds.
const EXPIRY_GRAIN: u64 = 60;

/// How often a compare-and-set is retried before the request gives up with
/// 503; each round has a winner, so this bounds the contention one request
/// can meet, not correctness.
pub(super) const CAS_ROUNDS: usize = 200;

/// Waits a random time before a compare-and-set is tried again: up to
/// 1 ms after the first lost round, doubling to at most 32 ms. Contenders
/// that lost together would otherwise load the same version again, and
/// again only one would win each round; spread out, each commit finds
/// some of them with a fresh read, so a burst on one key (an
/// application's send limit) drains instead of giving up with 503.
pub(super) async fn backoff(round: usize) {
    use rand::RngExt;
    let cap = 1_000u64 << round.min(6).saturating_sub(1);
    let wait = rand::rng().random_range(0..=cap);
    tokio::time::sleep(std::time::Duration::from_micros(wait)).await;
}

/// How long after one of its events `limit`'s state is full again, which
/// decides the same as no state: at most. The library's limit lets
/// `burst` events run ahead of time by one spacing each, a spacing being
/// `period / (quota - burst + 1)` seconds (`rate.rs`), so a state it
/// accepted an event into is at most `burst` spacings ahead of the event.
/// The test below holds the library to it.
pub(super) fn refill_bound(limit: RateLimit) -> u64 {
    let divisor = u64::from(limit.quota().saturating_sub(limit.burst())).saturating_add(1);
    limit
        .period()
        .saturating_mul(u64::from(limit.burst()))
        .div_ceil(divisor)
}

/// The `register` of [`Domain::update_from`] for a check whose
/// answer is `Ok` when it accepts: the user `user` names, on acceptance.
pub(super) fn on_acceptance<T, E>(user: Option<i64>) -> impl Fn(&Result<T, E>) -> Option<i64> {
    move |answer| user.filter(|_| answer.is_ok())
}

/// What `step` decided about a state.
pub(super) enum Step<T> {
    /// Write the changed state, then answer `T`.
    Write(T),
    /// Answer `T` and write nothing.
    Keep(T),
}

impl Domain {
    /// Loads `key`, lets `step` decide, and writes the result back by
    /// compare-and-set, starting over when another writer won.
    pub(super) async fn update<S: Stored, T>(
        &self,
        key: &StateKey,
        init: impl Fn() -> Option<S>,
        step: impl FnMut(Option<S>) -> Result<(Option<S>, Step<T>), Error>,
    ) -> Result<T, Error> {
        self.update_with(key, None, init, step, S::expires_at, |_| None)
            .await
    }

    /// [`update`](Self::update), whose first round decides on `read` (the
    /// state as read together with others, `Some(None)` where there was
    /// none) instead of loading it. The version read with it still decides:
    /// if the state changed since, the compare-and-set loses and the next
    /// round loads it afresh. When `register` names a user for the answer
    /// being written, the same write marks that user as having logged in
    /// once; a step that answers without writing (`Step::Keep`, or no state
    /// to write) registers no one.
    pub(super) async fn update_from<S: Stored, T>(
        &self,
        key: &StateKey,
        read: Option<Option<Versioned>>,
        init: impl Fn() -> Option<S>,
        step: impl FnMut(Option<S>) -> Result<(Option<S>, Step<T>), Error>,
        register: impl Fn(&T) -> Option<i64>,
    ) -> Result<T, Error> {
        self.update_with(key, read, init, step, S::expires_at, register)
            .await
    }

    /// The loop of them all, writing the expiry `lifetime` gives the state
    /// and marking the user `register` names for the answer registered.
    async fn update_with<S: Stored, T>(
        &self,
        key: &StateKey,
        mut read: Option<Option<Versioned>>,
        init: impl Fn() -> Option<S>,
        mut step: impl FnMut(Option<S>) -> Result<(Option<S>, Step<T>), Error>,
        lifetime: impl Fn(&S) -> Option<u64>,
        register: impl Fn(&T) -> Option<i64>,
    ) -> Result<T, Error> {
        for round in 0..CAS_ROUNDS {
            if round > 0 {
                backoff(round).await;
            }
            let loaded = match read.take() {
                Some(read) => read,
                None => self.store.load(&key.key).await?,
            };
            let (current, version) = match &loaded {
                Some(v) => match S::decode(&v.value) {
                    Some(state) => (Some(state), Some(v.version)),
                    None => {
                        tracing::error!(
                            key = key_kind(&key.key),
                            "a stored state does not decode; refusing to overwrite it"
                        );
                        return Err(Error::Internal);
                    }
                },
                None => (init(), None),
            };
            let (next, decision) = step(current)?;
            let answer = match decision {
                Step::Keep(answer) => return Ok(answer),
                Step::Write(answer) => answer,
            };
            let Some(next) = next else { return Ok(answer) };
            let expires_at = lifetime(&next).map(unix);
            let value = next.encode();
            // Only here, with the state written, does `register` apply.
            let written = match register(&answer) {
                Some(user) => {
                    self.store
                        .cas_registering(key, version, &value, expires_at, user)
                        .await?
                }
                None => self.store.cas(key, version, &value, expires_at).await?,
            };
            if written {
                return Ok(answer);
            }
        }
        tracing::warn!(key = key_kind(&key.key), "compare-and-set kept losing");
        Err(Error::Unavailable)
    }

    /// Takes one unit of `limit` under `key`; the state expires once full
    /// again.
    pub(super) async fn take(
        &self,
        key: &StateKey,
        limit: RateLimit,
        now: u64,
        why: Limit,
    ) -> Result<(), Error> {
        // Rounded up to the minute: a later expiry is as safe, and an
        // expiry that changes at most once a minute lets PostgreSQL update
        // a busy limit's row in place (an indexed column that changes at
        // every take makes each update write every index again).
        let full = now
            .saturating_add(refill_bound(limit))
            .div_ceil(EXPIRY_GRAIN)
            .saturating_mul(EXPIRY_GRAIN);
        self.take_until(key, limit, now, why, full).await
    }

    /// [`take`](Self::take), the state expiring at `until` (a window's
    /// end, after which nothing reads it).
    pub(super) async fn take_until(
        &self,
        key: &StateKey,
        limit: RateLimit,
        now: u64,
        why: Limit,
        until: u64,
    ) -> Result<(), Error> {
        self.update_with(
            key,
            None,
            || Some(RateLimitState::new()),
            |state| {
                let mut state = state.unwrap_or_default();
                match limit.check(&mut state, now) {
                    Ok(()) => Ok((Some(state), Step::Write(()))),
                    Err(_) => {
                        crate::telemetry::rate_limited(why.label());
                        Err(Error::Limited(why))
                    }
                }
            },
            |_| Some(until),
            |_| None,
        )
        .await
    }
}

/// A time of the domain (Unix seconds) as the store keeps it.
pub(super) fn unix(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limits_state_is_full_again_within_its_refill_bound() {
        // Full: `burst` events at once pass again, which only a state
        // no further ahead than now allows.
        let full_at = |state: RateLimitState, limit: RateLimit, t: u64| {
            let mut probe = state;
            (0..limit.burst()).all(|_| limit.check(&mut probe, t).is_ok())
        };
        for (quota, period, burst) in [
            (5, 300, 5),
            (20, 86_400, 10),
            (600, 60, 100),
            (3, 30 * 86_400, 3),
            (1500, 60, 25),
            (5, 3600, 5),
            (7, 100, 1),
            (1, 1, 1),
        ] {
            let limit = RateLimit::new(quota, period, burst).unwrap();
            let bound = refill_bound(limit);
            let t0 = 1_700_000_000;
            // The furthest ahead a state gets: every event it allows, at
            // once, then more as they are allowed, for two periods.
            let mut state = RateLimitState::new();
            let mut last = t0;
            for t in t0..t0 + 2 * period.min(10_000) {
                while limit.check(&mut state, t).is_ok() {
                    last = t;
                }
            }
            assert!(
                full_at(state, limit, last + bound),
                "{quota}/{period}s burst {burst}: not full {bound} s after the last event"
            );
            let mut fresh = RateLimitState::new();
            assert!(limit.check(&mut fresh, t0).is_ok());
            assert!(full_at(fresh, limit, t0 + bound));
        }
    }
}
