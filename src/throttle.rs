use crate::ParamError;

/// How failed checks slow down the next ones (RFC 4226 §7.3).
///
/// After `free_failures` consecutive failures, each further failure makes
/// the next check wait: `base_delay` seconds, doubling with each failure, up
/// to `max_delay`. The wait is kept in the credential's state, so it survives
/// restarts, and a check during the wait does no secret work. A success
/// clears it.
///
/// The default allows 3 free failures, then waits 1, 2, 4, ... seconds, up
/// to 15 minutes: a guesser then gets about 100 attempts a day, so a
/// six-digit code with a three-step window holds out for about nine years on
/// average (each success of the real user clears the count, though).
/// A `max_delay` of `u64::MAX` turns the last delay into a lockout.
///
/// ```
/// use passcode::Throttle;
///
/// let throttle = Throttle::new().with_free_failures(2).with_delays(5, 60)?;
/// assert_eq!(throttle.delay_after(2), 0);
/// assert_eq!(throttle.delay_after(3), 5);
/// assert_eq!(throttle.delay_after(4), 10);
/// assert_eq!(throttle.delay_after(100), 60);
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "ThrottleRepr", into = "ThrottleRepr")
)]
pub struct Throttle {
    free_failures: u32,
    base_delay: u64,
    max_delay: u64,
}

impl Throttle {
    /// Three free failures, then 1 second doubling up to 900.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            free_failures: 3,
            base_delay: 1,
            max_delay: 900,
        }
    }

    /// The same throttle, with `free_failures` failures before any delay.
    #[must_use]
    pub const fn with_free_failures(self, free_failures: u32) -> Self {
        Self {
            free_failures,
            ..self
        }
    }

    /// The same throttle with other delays.
    ///
    /// # Errors
    /// [`ParamError::Duration`] when `base_delay` is zero or `max_delay` is
    /// below it.
    pub const fn with_delays(self, base_delay: u64, max_delay: u64) -> Result<Self, ParamError> {
        if base_delay == 0 || max_delay < base_delay {
            return Err(ParamError::Duration);
        }
        Ok(Self {
            base_delay,
            max_delay,
            ..self
        })
    }

    /// Failures allowed before the first delay.
    #[must_use]
    pub const fn free_failures(self) -> u32 {
        self.free_failures
    }

    /// The first delay, in seconds.
    #[must_use]
    pub const fn base_delay(self) -> u64 {
        self.base_delay
    }

    /// The longest delay, in seconds.
    #[must_use]
    pub const fn max_delay(self) -> u64 {
        self.max_delay
    }

    /// The wait, in seconds, after `failures` consecutive failures.
    #[must_use]
    pub const fn delay_after(self, failures: u32) -> u64 {
        let Some(doublings) = failures.checked_sub(self.free_failures) else {
            return 0;
        };
        let Some(doublings) = doublings.checked_sub(1) else {
            return 0;
        };
        let factor = match 1u64.checked_shl(doublings) {
            Some(factor) => factor,
            None => u64::MAX,
        };
        let delay = self.base_delay.saturating_mul(factor);
        if delay < self.max_delay {
            delay
        } else {
            self.max_delay
        }
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ThrottleRepr {
    free_failures: u32,
    base_delay: u64,
    max_delay: u64,
}

#[cfg(feature = "serde")]
impl TryFrom<ThrottleRepr> for Throttle {
    type Error = ParamError;

    fn try_from(repr: ThrottleRepr) -> Result<Self, ParamError> {
        Self::new()
            .with_free_failures(repr.free_failures)
            .with_delays(repr.base_delay, repr.max_delay)
    }
}

#[cfg(feature = "serde")]
impl From<Throttle> for ThrottleRepr {
    fn from(throttle: Throttle) -> Self {
        Self {
            free_failures: throttle.free_failures,
            base_delay: throttle.base_delay,
            max_delay: throttle.max_delay,
        }
    }
}
