//! Rate limits as a pure state machine: the generic cell rate algorithm
//! (GCRA, ITU-T I.371, in its virtual-scheduling form), in exact integer
//! arithmetic.

use core::fmt;

use crate::state::{Kind, Reader, Writer, encoded_len};
use crate::{ParamError, StateError};

/// A rate limit: never more than `quota` allowed events in any window of
/// `period` seconds, and at most `burst` of them at once.
///
/// Those two promises fix the sustained rate at `quota - burst + 1` events
/// per `period`: the GCRA spaces events `period / (quota - burst + 1)`
/// seconds apart and lets `burst` of them come early. A burst of 1 gives the
/// full quota, evenly spaced; a burst equal to the quota lets it all come at
/// once, then one per period. Times are whole seconds, so a limit of many
/// events per second needs a burst of about that many.
///
/// Two of the Authy API's limits:
///
/// ```
/// use passcode::RateLimit;
///
/// // 3 per month per user: 2 at once, and never a third within 30 days.
/// let per_user = RateLimit::new(3, 30 * 24 * 3600, 2)?;
/// // 1,500 per minute per application, 25 in any one second.
/// let per_app = RateLimit::new(1_500, 60, 25)?;
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "RateLimitRepr", into = "RateLimitRepr")
)]
pub struct RateLimit {
    quota: u32,
    period: u64,
    burst: u32,
}

impl RateLimit {
    /// At most `quota` events in any `period` seconds, `burst` at once.
    ///
    /// # Errors
    /// [`ParamError::Limit`] for a zero quota or burst, or a burst above the
    /// quota; [`ParamError::Duration`] for a zero period.
    pub const fn new(quota: u32, period: u64, burst: u32) -> Result<Self, ParamError> {
        if quota == 0 || burst == 0 || burst > quota {
            return Err(ParamError::Limit);
        }
        if period == 0 {
            return Err(ParamError::Duration);
        }
        Ok(Self {
            quota,
            period,
            burst,
        })
    }

    /// Events allowed in any window of [`period`](Self::period).
    #[must_use]
    pub const fn quota(self) -> u32 {
        self.quota
    }

    /// The window, in seconds.
    #[must_use]
    pub const fn period(self) -> u64 {
        self.period
    }

    /// Events allowed at once.
    #[must_use]
    pub const fn burst(self) -> u32 {
        self.burst
    }

    /// The spacing divisor: events are `period / divisor` seconds apart.
    /// Time is counted in units of `1 / divisor` seconds, in which the
    /// spacing is exactly `period` units.
    const fn divisor(self) -> u32 {
        // 1 <= burst <= quota, so this is 1..=quota.
        self.quota.saturating_sub(self.burst).saturating_add(1)
    }

    /// Asks for one event at `now` (Unix seconds) and updates `state`.
    ///
    /// ```
    /// use passcode::{RateLimit, RateLimitState, RateLimited};
    ///
    /// let limit = RateLimit::new(2, 60, 2)?;
    /// let mut state = RateLimitState::new();
    /// assert!(limit.check(&mut state, 1_000).is_ok());
    /// assert!(limit.check(&mut state, 1_000).is_ok());
    /// // Two at once leave the sustained rate, one a minute: the third waits.
    /// assert_eq!(limit.check(&mut state, 1_010), Err(RateLimited { retry_at: 1_060 }));
    /// assert!(limit.check(&mut state, 1_060).is_ok());
    /// # Ok::<(), passcode::ParamError>(())
    /// ```
    ///
    /// # Errors
    /// [`RateLimited`] with the first time the event would be allowed
    /// (`u64::MAX` when that lies beyond it); the state is unchanged.
    pub fn check(&self, state: &mut RateLimitState, now: u64) -> Result<(), RateLimited> {
        let divisor = self.divisor();
        let unit = u128::from(divisor);
        let now_units = u128::from(now).saturating_mul(unit);
        let spacing = u128::from(self.period);
        let tolerance = u128::from(self.burst.saturating_sub(1)).saturating_mul(spacing);
        let tat = state.arrival_in(divisor).max(now_units);
        if tat.saturating_sub(now_units) > tolerance {
            let earliest = tat.saturating_sub(tolerance).div_ceil(unit);
            return Err(RateLimited {
                retry_at: u64::try_from(earliest).unwrap_or(u64::MAX),
            });
        }
        state.tat = tat.saturating_add(spacing);
        state.unit = divisor;
        Ok(())
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RateLimitRepr {
    quota: u32,
    period: u64,
    burst: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<RateLimitRepr> for RateLimit {
    type Error = ParamError;

    fn try_from(repr: RateLimitRepr) -> Result<Self, ParamError> {
        Self::new(repr.quota, repr.period, repr.burst)
    }
}

#[cfg(feature = "serde")]
impl From<RateLimit> for RateLimitRepr {
    fn from(limit: RateLimit) -> Self {
        Self {
            quota: limit.quota,
            period: limit.period,
            burst: limit.burst,
        }
    }
}

/// An event was refused by a [`RateLimit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimited {
    /// The first time (Unix seconds) the event would be allowed.
    pub retry_at: u64,
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limit reached: try again at {}", self.retry_at)
    }
}

impl core::error::Error for RateLimited {}

/// What a caller stores per limited subject: the GCRA's theoretical
/// arrival time.
///
/// ```
/// use passcode::RateLimitState;
///
/// let state = RateLimitState::new();
/// assert_eq!(RateLimitState::from_bytes(&state.to_bytes())?, state);
/// # Ok::<(), passcode::StateError>(())
/// ```
// Invariant: unit == 0 exactly when tat == 0 (a state never used).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RateLimitState {
    /// The theoretical arrival time, in units of `1 / unit` seconds.
    tat: u128,
    unit: u32,
}

impl RateLimitState {
    /// The length of [`to_bytes`](Self::to_bytes).
    pub const ENCODED_LEN: usize = encoded_len(20);

    /// A subject with no events yet.
    #[must_use]
    pub const fn new() -> Self {
        Self { tat: 0, unit: 0 }
    }

    /// The arrival time in units of `1 / divisor` seconds. A state kept
    /// under another limit is rounded up to whole seconds first, so a
    /// change of limit never allows more than either would.
    fn arrival_in(&self, divisor: u32) -> u128 {
        if self.unit == divisor || self.unit == 0 {
            return self.tat;
        }
        self.tat
            .div_ceil(u128::from(self.unit))
            .saturating_mul(u128::from(divisor))
    }

    /// The stable byte encoding (see the crate documentation).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut w = Writer::new(Kind::RateLimitState);
        w.u128(self.tat);
        w.put(&self.unit.to_be_bytes());
        w.finish()
    }

    /// Decodes [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`StateError`] for bytes of the wrong length, kind or version, a
    /// checksum mismatch, or contradictory fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        let mut r = Reader::open(bytes, Kind::RateLimitState, Self::ENCODED_LEN)?;
        let tat = r.u128();
        let unit = u32::from_be_bytes(r.array());
        if (unit == 0) != (tat == 0) {
            return Err(StateError::Invalid);
        }
        Ok(Self { tat, unit })
    }
}

crate::state::serde_via_bytes!(RateLimitState);
