//! The compare-and-set machinery: each state's stored encoding, and the
//! loop that loads a state, lets a step decide, and writes it back only if
//! nobody changed it meanwhile.

use super::*;

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

/// A state the store keeps, in the library's encoding.
pub(super) trait Stored: Sized + Copy {
    fn decode(bytes: &[u8]) -> Option<Self>;
    fn encode(&self) -> Vec<u8>;
}

impl Stored for TotpState {
    fn decode(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes).ok()
    }
    fn encode(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
}

/// An authenticator's state: the library's TOTP state (the last step
/// used, the drift, the failures its throttle counts) and the day's budget
/// of wrong guesses, written together by one compare-and-set. Rows written
/// before the budget existed hold the TOTP state alone. A retired
/// authenticator (being replaced by a new enrolment) accepts nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Guarded {
    pub(super) totp: TotpState,
    pub(super) guesses: RateLimitState,
    pub(super) retired: bool,
}

/// The whole state of a retired authenticator.
pub(super) const RETIRED: &[u8] = b"retired";

impl Stored for Guarded {
    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes == RETIRED {
            return Some(Self {
                retired: true,
                ..Self::default()
            });
        }
        let (totp, guesses) = bytes.split_at_checked(TotpState::ENCODED_LEN)?;
        Some(Self {
            totp: TotpState::from_bytes(totp).ok()?,
            guesses: if guesses.is_empty() {
                RateLimitState::new()
            } else {
                RateLimitState::from_bytes(guesses).ok()?
            },
            retired: false,
        })
    }
    fn encode(&self) -> Vec<u8> {
        if self.retired {
            return RETIRED.to_vec();
        }
        let mut out = self.totp.to_bytes().to_vec();
        out.extend_from_slice(&self.guesses.to_bytes());
        out
    }
}

impl Stored for RateLimitState {
    fn decode(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes).ok()
    }
    fn encode(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
}

/// An SMS verification with the digit count its codes were made with and,
/// once approved, a keyed tag of the code it approved: a later attempt
/// with the same code is then a replay (60019), while the code itself is
/// never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) digits: u8,
    pub(super) state: SmsVerification,
    pub(super) used: Option<[u8; 32]>,
}

impl Stored for Pending {
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&digits, rest) = bytes.split_first()?;
        let (state, used) = rest.split_at_checked(SmsVerification::ENCODED_LEN)?;
        Some(Self {
            digits,
            state: SmsVerification::from_bytes(state).ok()?,
            used: match used.len() {
                0 => None,
                32 => Some(used.try_into().ok()?),
                _ => return None,
            },
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.digits];
        out.extend_from_slice(&self.state.to_bytes());
        if let Some(tag) = &self.used {
            out.extend_from_slice(tag);
        }
        out
    }
}

/// What a QR code link points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QrLink {
    pub(super) user_id: i64,
    pub(super) device_id: i64,
    pub(super) expires_at: u64,
}

impl Stored for QrLink {
    fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: [u8; 24] = bytes.try_into().ok()?;
        let (a, rest) = bytes.split_at(8);
        let (b, c) = rest.split_at(8);
        Some(Self {
            user_id: i64::from_be_bytes(a.try_into().ok()?),
            device_id: i64::from_be_bytes(b.try_into().ok()?),
            expires_at: u64::from_be_bytes(c.try_into().ok()?),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.user_id.to_be_bytes());
        out.extend_from_slice(&self.device_id.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out
    }
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
        key: &str,
        init: impl Fn() -> Option<S>,
        step: impl FnMut(Option<S>) -> Result<(Option<S>, Step<T>), ApiError>,
    ) -> Result<T, ApiError> {
        self.update_from(key, None, init, step).await
    }

    /// [`update`](Self::update), whose first round decides on `read` (the
    /// state as read together with others, `Some(None)` where there was
    /// none) instead of loading it. The version read with it still decides:
    /// if the state changed since, the compare-and-set loses and the next
    /// round loads it afresh.
    pub(super) async fn update_from<S: Stored, T>(
        &self,
        key: &str,
        mut read: Option<Option<Versioned>>,
        init: impl Fn() -> Option<S>,
        mut step: impl FnMut(Option<S>) -> Result<(Option<S>, Step<T>), ApiError>,
    ) -> Result<T, ApiError> {
        for round in 0..CAS_ROUNDS {
            if round > 0 {
                backoff(round).await;
            }
            let loaded = match read.take() {
                Some(read) => read,
                None => self.store.load(key).await?,
            };
            let (current, version) = match &loaded {
                Some(v) => match S::decode(&v.value) {
                    Some(state) => (Some(state), Some(v.version)),
                    None => {
                        tracing::error!(
                            key = key_kind(key),
                            "a stored state does not decode; refusing to overwrite it"
                        );
                        return Err(ApiError::Internal);
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
            if self.store.cas(key, version, &next.encode()).await? {
                return Ok(answer);
            }
        }
        tracing::warn!(key = key_kind(key), "compare-and-set kept losing");
        Err(ApiError::Unavailable)
    }

    /// Takes one unit of `limit` under `key`.
    pub(super) async fn take(
        &self,
        key: &str,
        limit: RateLimit,
        now: u64,
        why: Limit,
    ) -> Result<(), ApiError> {
        self.update(
            key,
            || Some(RateLimitState::new()),
            |state| {
                let mut state = state.unwrap_or_default();
                match limit.check(&mut state, now) {
                    Ok(()) => Ok((Some(state), Step::Write(()))),
                    Err(_) => {
                        crate::telemetry::rate_limited(why.label());
                        Err(ApiError::TooManyRequests(why))
                    }
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_wrappers_round_trip_and_refuse_garbage() {
        let link = QrLink {
            user_id: 1000,
            device_id: 7,
            expires_at: 1_700_000_000,
        };
        assert_eq!(QrLink::decode(&link.encode()), Some(link));
        assert_eq!(QrLink::decode(&[0; 23]), None);
        assert_eq!(Pending::decode(&[]), None);
        assert_eq!(Pending::decode(&[6, 1, 2, 3]), None);
        let verifier =
            SmsVerifier::new(&Secret::from_bytes(&[1; 32]).unwrap(), SmsPolicy::new()).unwrap();
        let (state, _) = verifier.start(&mut rand::rng(), "s", 10);
        for used in [None, Some([9; 32])] {
            let pending = Pending {
                digits: 6,
                state,
                used,
            };
            assert_eq!(Pending::decode(&pending.encode()), Some(pending));
        }
        let mut long = Pending {
            digits: 6,
            state,
            used: None,
        }
        .encode();
        long.push(0);
        assert_eq!(Pending::decode(&long), None);
    }
}
