//! What a server remembers about each enrolled authenticator, and the one
//! `check` that applies all of it: throttling after failures (RFC 4226 §7.3),
//! remembered clock drift (RFC 6238 §6) and replay protection (RFC 6238
//! §5.2; for HOTP, the counter).

use crate::state::{Kind, Reader, Writer, encoded_len};
use crate::{
    Hotp, HotpMatch, LookAhead, ParamError, ResyncWindow, StateError, Throttle, Totp, TotpMatch,
    VerifyError, Window,
};

/// How [`Totp::check`] treats one credential: the window, how much clock
/// drift to remember, and the throttle.
///
/// ```
/// use passcode::{Throttle, TotpPolicy, Window};
///
/// let policy = TotpPolicy::new()
///     .with_window(Window::new(1, 1)?)
///     .with_max_drift(4)?
///     .with_throttle(Throttle::new().with_free_failures(5));
/// assert_eq!(policy.max_drift(), 4);
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "TotpPolicyRepr", into = "TotpPolicyRepr")
)]
pub struct TotpPolicy {
    window: Window,
    max_drift: u8,
    throttle: Throttle,
}

/// The serialized form of [`TotpPolicy`], checked on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct TotpPolicyRepr {
    window: Window,
    max_drift: u8,
    throttle: Throttle,
}

#[cfg(feature = "serde")]
impl TryFrom<TotpPolicyRepr> for TotpPolicy {
    type Error = ParamError;

    fn try_from(repr: TotpPolicyRepr) -> Result<Self, ParamError> {
        Self::new()
            .with_window(repr.window)
            .with_throttle(repr.throttle)
            .with_max_drift(repr.max_drift)
    }
}

#[cfg(feature = "serde")]
impl From<TotpPolicy> for TotpPolicyRepr {
    fn from(policy: TotpPolicy) -> Self {
        Self {
            window: policy.window,
            max_drift: policy.max_drift,
            throttle: policy.throttle,
        }
    }
}

impl TotpPolicy {
    /// One step either way, drift remembered up to 10 steps (five minutes at
    /// 30-second steps), and the default [`Throttle`].
    #[must_use]
    pub const fn new() -> Self {
        Self {
            window: Window::ONE_STEP,
            max_drift: 10,
            throttle: Throttle::new(),
        }
    }

    /// The same policy with another window, placed around the clock's own
    /// step and, when a drift is remembered, around the step it predicts
    /// too.
    #[must_use]
    pub const fn with_window(self, window: Window) -> Self {
        Self { window, ..self }
    }

    /// The same policy, remembering at most `max_drift` steps of drift either
    /// way (0 turns drift tracking off).
    ///
    /// # Errors
    /// [`ParamError::Drift`] above [`Window::MAX_STEPS`].
    pub const fn with_max_drift(self, max_drift: u8) -> Result<Self, ParamError> {
        if max_drift > Window::MAX_STEPS {
            return Err(ParamError::Drift);
        }
        Ok(Self { max_drift, ..self })
    }

    /// The same policy with another throttle.
    #[must_use]
    pub const fn with_throttle(self, throttle: Throttle) -> Self {
        Self { throttle, ..self }
    }

    /// The window.
    #[must_use]
    pub const fn window(self) -> Window {
        self.window
    }

    /// The largest drift remembered, in steps.
    #[must_use]
    pub const fn max_drift(self) -> u8 {
        self.max_drift
    }

    /// The throttle.
    #[must_use]
    pub const fn throttle(self) -> Throttle {
        self.throttle
    }
}

impl Default for TotpPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// The failure count and the wait it imposes, shared by both states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Failures {
    count: u32,
    retry_at: u64,
}

impl Failures {
    fn check(self, now: u64) -> Result<(), VerifyError> {
        if now < self.retry_at {
            Err(VerifyError::Throttled {
                retry_at: self.retry_at,
            })
        } else {
            Ok(())
        }
    }

    fn record(&mut self, throttle: Throttle, now: u64) {
        self.count = self.count.saturating_add(1);
        let delay = throttle.delay_after(self.count);
        if delay > 0 {
            self.retry_at = now.saturating_add(delay);
        }
    }
}

/// What a server stores for one TOTP authenticator: the last accepted step,
/// the remembered drift, and the failures. Start with
/// [`TotpState::new`], pass it to every [`Totp::check`], and store it after
/// each one.
///
/// ```
/// use passcode::TotpState;
///
/// let state = TotpState::new();
/// let bytes = state.to_bytes();
/// assert_eq!(TotpState::from_bytes(&bytes)?, state);
/// assert_eq!(bytes.len(), TotpState::ENCODED_LEN);
/// # Ok::<(), passcode::StateError>(())
/// ```
// Invariant: |drift| and |pending_drift| are at most Window::MAX_STEPS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TotpState {
    last_step: Option<u64>,
    drift: i8,
    pending_drift: Option<i8>,
    failures: Failures,
}

impl TotpState {
    /// The length of [`to_bytes`](Self::to_bytes).
    pub const ENCODED_LEN: usize = encoded_len(23);

    /// A credential never checked.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            last_step: None,
            drift: 0,
            pending_drift: None,
            failures: Failures {
                count: 0,
                retry_at: 0,
            },
        }
    }

    /// The step of the last accepted code.
    #[must_use]
    pub const fn last_step(&self) -> Option<u64> {
        self.last_step
    }

    /// The remembered drift, in steps: where the device's clock stood at the
    /// last consistent observations.
    #[must_use]
    pub const fn drift(&self) -> i8 {
        self.drift
    }

    /// Consecutive failures since the last success.
    #[must_use]
    pub const fn failures(&self) -> u32 {
        self.failures.count
    }

    /// The time before which checks are refused (0 when none is pending).
    #[must_use]
    pub const fn retry_at(&self) -> u64 {
        self.failures.retry_at
    }

    /// The stable byte encoding (see the crate documentation).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut w = Writer::new(Kind::TotpState);
        w.u8(u8::from(self.last_step.is_some()) | u8::from(self.pending_drift.is_some()) << 1);
        w.u64(self.last_step.unwrap_or(0));
        w.put(&self.drift.to_be_bytes());
        w.put(&self.pending_drift.unwrap_or(0).to_be_bytes());
        w.put(&self.failures.count.to_be_bytes());
        w.u64(self.failures.retry_at);
        w.finish()
    }

    /// Decodes [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`StateError`] for bytes of the wrong length, kind or version, a
    /// checksum mismatch, or contradictory fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        let mut r = Reader::open(bytes, Kind::TotpState, Self::ENCODED_LEN)?;
        let flags = r.u8();
        let last_step = r.u64();
        let drift = i8::from_be_bytes(r.array());
        let pending = i8::from_be_bytes(r.array());
        let count = u32::from_be_bytes(r.array());
        let retry_at = r.u64();
        let in_bound = |d: i8| d.unsigned_abs() <= Window::MAX_STEPS;
        let (has_last, has_pending) = (flags & 1 != 0, flags & 2 != 0);
        if flags > 3
            || !in_bound(drift)
            || !in_bound(pending)
            || (!has_last && last_step != 0)
            || (!has_pending && pending != 0)
        {
            return Err(StateError::Invalid);
        }
        Ok(Self {
            last_step: has_last.then_some(last_step),
            drift,
            pending_drift: has_pending.then_some(pending),
            failures: Failures { count, retry_at },
        })
    }

    /// Learns from an accepted step `observed` steps from the clock's own
    /// (RFC 6238 §6): a new drift is adopted only when two successive
    /// accepted codes agree on it, and never beyond `max_drift`.
    fn observe(&mut self, observed: i64, max_drift: u8) {
        let bound = i64::from(max_drift);
        let observed = i8::try_from(observed.clamp(bound.saturating_neg(), bound)).unwrap_or(0);
        if observed == self.drift {
            self.pending_drift = None;
        } else if self.pending_drift == Some(observed) {
            self.drift = observed;
            self.pending_drift = None;
        } else {
            self.pending_drift = Some(observed);
        }
    }
}

impl Totp {
    /// Checks `code` at `now` against one credential's `state`, applying the
    /// policy, and updates the state. Store the state after every call.
    ///
    /// In order: while a throttle delay runs, the check is refused with no
    /// secret work. A malformed code, or a time the window cannot be placed
    /// at, returns its error and leaves the state as it was. Otherwise the
    /// window is placed around the clock's own step and around the step the
    /// remembered drift predicts (every step of both is computed), only
    /// steps after the last accepted one are eligible, and the newest match
    /// wins. A success records its step, clears the failures and learns the
    /// drift; an invalid or replayed code counts a failure. Because the
    /// clock's own window is always checked, a device whose clock was
    /// corrected is still accepted, and teaches the drift back.
    ///
    /// ```
    /// use passcode::{Digits, Totp, TotpConfig, TotpPolicy, TotpState, VerifyError};
    ///
    /// let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new().with_digits(Digits::EIGHT))?;
    /// let policy = TotpPolicy::new();
    /// let mut state = TotpState::new();
    ///
    /// let matched = totp.check(&policy, &mut state, "94287082", 59)?;
    /// assert_eq!(state.last_step(), Some(matched.step));
    /// // The same code again is a replay, and counts as a failure.
    /// assert_eq!(totp.check(&policy, &mut state, "94287082", 60), Err(VerifyError::Replayed));
    /// assert_eq!(state.failures(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`VerifyError::Throttled`], [`VerifyError::Malformed`],
    /// [`VerifyError::OutOfRange`], [`VerifyError::Invalid`] and
    /// [`VerifyError::Replayed`], as above.
    pub fn check(
        &self,
        policy: &TotpPolicy,
        state: &mut TotpState,
        code: &str,
        now: u64,
    ) -> Result<TotpMatch, VerifyError> {
        state.failures.check(now)?;
        // A drift learned under a looser policy goes only as far as this one
        // allows.
        let bound = i8::try_from(policy.max_drift).unwrap_or(i8::MAX);
        let shift = state.drift.clamp(bound.saturating_neg(), bound);
        match self.verify_inner(code, now, shift, policy.window, state.last_step) {
            Ok(matched) => {
                state.last_step = Some(matched.step);
                state.failures = Failures::default();
                state.observe(matched.drift, policy.max_drift);
                Ok(matched)
            }
            Err(error @ (VerifyError::Invalid | VerifyError::Replayed)) => {
                state.failures.record(policy.throttle, now);
                Err(error)
            }
            Err(error) => Err(error),
        }
    }
}

/// How [`Hotp::check`] treats one credential: the look-ahead and the throttle.
///
/// ```
/// use passcode::{HotpPolicy, LookAhead};
///
/// let policy = HotpPolicy::new().with_look_ahead(LookAhead::new(20)?);
/// assert_eq!(policy.look_ahead().get(), 20);
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HotpPolicy {
    look_ahead: LookAhead,
    throttle: Throttle,
}

impl HotpPolicy {
    /// A look-ahead of 10 counters and the default [`Throttle`].
    #[must_use]
    pub const fn new() -> Self {
        Self {
            look_ahead: LookAhead::TEN,
            throttle: Throttle::new(),
        }
    }

    /// The same policy with another look-ahead.
    #[must_use]
    pub const fn with_look_ahead(self, look_ahead: LookAhead) -> Self {
        Self { look_ahead, ..self }
    }

    /// The same policy with another throttle.
    #[must_use]
    pub const fn with_throttle(self, throttle: Throttle) -> Self {
        Self { throttle, ..self }
    }

    /// The look-ahead.
    #[must_use]
    pub const fn look_ahead(self) -> LookAhead {
        self.look_ahead
    }

    /// The throttle.
    #[must_use]
    pub const fn throttle(self) -> Throttle {
        self.throttle
    }
}

impl Default for HotpPolicy {
    fn default() -> Self {
        Self::new()
    }
}

/// What a server stores for one HOTP authenticator: the next counter and
/// the failures.
///
/// ```
/// use passcode::HotpState;
///
/// let state = HotpState::new(0);
/// assert_eq!(HotpState::from_bytes(&state.to_bytes())?, state);
/// # Ok::<(), passcode::StateError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HotpState {
    counter: u64,
    failures: Failures,
}

impl HotpState {
    /// The length of [`to_bytes`](Self::to_bytes).
    pub const ENCODED_LEN: usize = encoded_len(20);

    /// A credential whose next code is that of `counter`.
    #[must_use]
    pub const fn new(counter: u64) -> Self {
        Self {
            counter,
            failures: Failures {
                count: 0,
                retry_at: 0,
            },
        }
    }

    /// The counter the next code is expected at.
    #[must_use]
    pub const fn counter(&self) -> u64 {
        self.counter
    }

    /// Consecutive failures since the last success.
    #[must_use]
    pub const fn failures(&self) -> u32 {
        self.failures.count
    }

    /// The time before which checks are refused (0 when none is pending).
    #[must_use]
    pub const fn retry_at(&self) -> u64 {
        self.failures.retry_at
    }

    /// The stable byte encoding (see the crate documentation).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut w = Writer::new(Kind::HotpState);
        w.u64(self.counter);
        w.put(&self.failures.count.to_be_bytes());
        w.u64(self.failures.retry_at);
        w.finish()
    }

    /// Decodes [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`StateError`] for bytes of the wrong length, kind or version, or a
    /// checksum mismatch.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        let mut r = Reader::open(bytes, Kind::HotpState, Self::ENCODED_LEN)?;
        let counter = r.u64();
        let count = u32::from_be_bytes(r.array());
        let retry_at = r.u64();
        Ok(Self {
            counter,
            failures: Failures { count, retry_at },
        })
    }

    fn settle(
        &mut self,
        result: Result<HotpMatch, VerifyError>,
        throttle: Throttle,
        now: u64,
    ) -> Result<HotpMatch, VerifyError> {
        match &result {
            Ok(matched) => {
                self.counter = matched.next_counter;
                self.failures = Failures::default();
            }
            Err(VerifyError::Invalid) => self.failures.record(throttle, now),
            Err(_) => {}
        }
        result
    }
}

impl Hotp {
    /// Checks `code` at `now` against one credential's `state`: refused with
    /// no secret work while a throttle delay runs; otherwise verified over the
    /// policy's look-ahead from the stored counter. A success stores the
    /// counter after the match and clears the failures; an invalid code counts
    /// a failure; a malformed code or a counter out of range changes nothing.
    ///
    /// ```
    /// use passcode::{Hotp, HotpConfig, HotpPolicy, HotpState, VerifyError};
    ///
    /// let hotp = Hotp::from_key(b"12345678901234567890", HotpConfig::new())?;
    /// let mut state = HotpState::new(0);
    /// hotp.check(&HotpPolicy::new(), &mut state, "359152", 1_000)?;
    /// assert_eq!(state.counter(), 3);
    /// assert_eq!(hotp.check(&HotpPolicy::new(), &mut state, "359152", 1_001), Err(VerifyError::Invalid));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`VerifyError::Throttled`], [`VerifyError::Malformed`],
    /// [`VerifyError::OutOfRange`] and [`VerifyError::Invalid`].
    pub fn check(
        &self,
        policy: &HotpPolicy,
        state: &mut HotpState,
        code: &str,
        now: u64,
    ) -> Result<HotpMatch, VerifyError> {
        state.failures.check(now)?;
        let result = self.verify(code, state.counter, policy.look_ahead);
        state.settle(result, policy.throttle, now)
    }

    /// [`resync`](Self::resync) applied to one credential's `state`, with
    /// the same throttling as [`check`](Self::check).
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_resync(
        &self,
        policy: &HotpPolicy,
        state: &mut HotpState,
        codes: (&str, &str),
        window: ResyncWindow,
        now: u64,
    ) -> Result<HotpMatch, VerifyError> {
        state.failures.check(now)?;
        let result = self.resync(codes.0, codes.1, state.counter, window);
        state.settle(result, policy.throttle, now)
    }
}

crate::state::serde_via_bytes!(TotpState);
crate::state::serde_via_bytes!(HotpState);
