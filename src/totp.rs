use core::fmt;
use core::num::NonZeroU64;

use crate::code::{Code, Digits, Typed};
use crate::window::{Window, scan, union};
use crate::{Algorithm, Hotp, HotpConfig, ParamError, Secret, SecretError, StepError, VerifyError};

/// The TOTP time step `X` in seconds (RFC 6238 §4.1): never zero.
///
/// ```
/// use passcode::Period;
///
/// assert_eq!(Period::default().seconds(), 30);
/// assert_eq!(Period::new(60)?.seconds(), 60);
/// assert!(Period::new(0).is_err());
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u64", into = "u64"))]
pub struct Period(NonZeroU64);

impl Period {
    /// Thirty seconds, the RFC 6238 default.
    pub const THIRTY_SECONDS: Self = Self(NonZeroU64::MIN.saturating_add(29));

    /// A period of `seconds`.
    ///
    /// # Errors
    /// [`ParamError::Period`] for zero.
    pub const fn new(seconds: u64) -> Result<Self, ParamError> {
        match NonZeroU64::new(seconds) {
            Some(seconds) => Ok(Self(seconds)),
            None => Err(ParamError::Period),
        }
    }

    /// The period in seconds.
    #[must_use]
    pub const fn seconds(self) -> u64 {
        self.0.get()
    }
}

impl Default for Period {
    fn default() -> Self {
        Self::THIRTY_SECONDS
    }
}

impl TryFrom<u64> for Period {
    type Error = ParamError;

    fn try_from(seconds: u64) -> Result<Self, ParamError> {
        Self::new(seconds)
    }
}

impl From<Period> for u64 {
    fn from(period: Period) -> u64 {
        period.seconds()
    }
}

/// TOTP parameters: algorithm, digits, period `X` and start time `T0`.
///
/// ```
/// use passcode::{Algorithm, Digits, Period, TotpConfig};
///
/// let config = TotpConfig::new()
///     .with_algorithm(Algorithm::Sha256)
///     .with_digits(Digits::EIGHT)
///     .with_period(Period::new(60)?);
/// assert_eq!(config.t0(), 0);
/// assert_eq!(TotpConfig::default().period().seconds(), 30);
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TotpConfig {
    algorithm: Algorithm,
    digits: Digits,
    period: Period,
    t0: u64,
}

impl TotpConfig {
    /// SHA-1, six digits, 30-second steps from the Unix epoch: what every
    /// authenticator app assumes when a provisioning URI says nothing else.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
            period: Period::THIRTY_SECONDS,
            t0: 0,
        }
    }

    /// The same configuration with another algorithm.
    #[must_use]
    pub const fn with_algorithm(self, algorithm: Algorithm) -> Self {
        Self { algorithm, ..self }
    }

    /// The same configuration with another digit count.
    #[must_use]
    pub const fn with_digits(self, digits: Digits) -> Self {
        Self { digits, ..self }
    }

    /// The same configuration with another period.
    #[must_use]
    pub const fn with_period(self, period: Period) -> Self {
        Self { period, ..self }
    }

    /// The same configuration with another start time, in Unix seconds.
    #[must_use]
    pub const fn with_t0(self, t0: u64) -> Self {
        Self { t0, ..self }
    }

    /// The algorithm.
    #[must_use]
    pub const fn algorithm(self) -> Algorithm {
        self.algorithm
    }

    /// The digit count.
    #[must_use]
    pub const fn digits(self) -> Digits {
        self.digits
    }

    /// The time step.
    #[must_use]
    pub const fn period(self) -> Period {
        self.period
    }

    /// The Unix time at which step 0 begins.
    #[must_use]
    pub const fn t0(self) -> u64 {
        self.t0
    }

    /// The time step containing `time`: `floor((time - T0) / X)` (RFC 6238 §4.2).
    ///
    /// ```
    /// let config = passcode::TotpConfig::new();
    /// assert_eq!(config.step(59), Ok(1));
    /// assert_eq!(config.with_t0(100).step(99), Err(passcode::StepError::BeforeT0));
    /// ```
    ///
    /// # Errors
    /// [`StepError::BeforeT0`] when `time` is before T0.
    pub fn step(self, time: u64) -> Result<u64, StepError> {
        let since_t0 = time.checked_sub(self.t0).ok_or(StepError::BeforeT0)?;
        Ok(since_t0 / self.period.0)
    }

    /// Seconds until the step containing `time` ends: 1 to the period.
    ///
    /// ```
    /// let config = passcode::TotpConfig::new();
    /// assert_eq!(config.seconds_left(60), Ok(30));
    /// assert_eq!(config.seconds_left(89), Ok(1));
    /// ```
    ///
    /// # Errors
    /// [`StepError::BeforeT0`] when `time` is before T0.
    pub fn seconds_left(self, time: u64) -> Result<u64, StepError> {
        let since_t0 = time.checked_sub(self.t0).ok_or(StepError::BeforeT0)?;
        Ok(self
            .period
            .seconds()
            .saturating_sub(since_t0 % self.period.0))
    }

    fn hotp(self) -> HotpConfig {
        HotpConfig::new()
            .with_algorithm(self.algorithm)
            .with_digits(self.digits)
    }
}

/// A successful TOTP verification.
///
/// ```
/// use passcode::{Totp, TotpConfig, Window};
///
/// let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new())?;
/// let matched = totp.verify("287082", 89, Window::new(1, 0)?)?;
/// assert_eq!((matched.step, matched.drift), (1, -1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TotpMatch {
    /// The time step whose code matched. Store it as the last accepted step
    /// and pass it to [`Totp::verify_after`] next time.
    pub step: u64,
    /// The matched step minus the current step: negative when the device's
    /// clock runs behind the verifier's (RFC 6238 §6).
    pub drift: i64,
}

/// A TOTP generator and verifier (RFC 6238) with its key prepared once.
///
/// Build one per credential and keep it while the credential is in use: the
/// HMAC key schedule runs once here, so each step a verification checks costs
/// two hash compressions. The prepared key is wiped on drop.
///
/// ```
/// use passcode::{Algorithm, Digits, Totp, TotpConfig, Window};
///
/// // RFC 6238 Appendix B, SHA-1 at T = 59.
/// let config = TotpConfig::new().with_digits(Digits::EIGHT);
/// let totp = Totp::from_key(b"12345678901234567890", config)?;
/// assert_eq!(totp.generate(59)?.as_str(), "94287082");
///
/// // Thirty seconds later the code is one step old and still inside the window.
/// let matched = totp.verify("94287082", 89, Window::default())?;
/// assert_eq!((matched.step, matched.drift), (1, -1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Totp {
    hotp: Hotp,
    config: TotpConfig,
}

impl Totp {
    /// Keys TOTP with a [`Secret`].
    ///
    /// ```
    /// use passcode::{Secret, Totp, TotpConfig};
    ///
    /// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// let totp = Totp::new(&secret, TotpConfig::default())?;
    /// assert_eq!(totp.generate(59)?.as_str(), "287082");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::AlgorithmDisabled`] when this build leaves the
    /// configured algorithm out.
    pub fn new(secret: &Secret, config: TotpConfig) -> Result<Self, SecretError> {
        Self::from_key(secret.hmac_key(config.algorithm)?, config)
    }

    /// Keys TOTP with raw key bytes of any non-zero length, as HMAC accepts.
    /// No minimum length is enforced here; [`Secret`] enforces one.
    ///
    /// ```
    /// use passcode::{Algorithm, Digits, SecretError, Totp, TotpConfig};
    ///
    /// // RFC 6238 Appendix B, SHA-256 with its 32-byte seed, at T = 59.
    /// let config = TotpConfig::new().with_algorithm(Algorithm::Sha256).with_digits(Digits::EIGHT);
    /// let totp = Totp::from_key(b"12345678901234567890123456789012", config)?;
    /// assert_eq!(totp.generate(59)?.as_str(), "46119246");
    /// assert_eq!(Totp::from_key(b"", config).err(), Some(SecretError::Empty));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::Empty`] for an empty key, and
    /// [`SecretError::AlgorithmDisabled`] as in [`new`](Self::new).
    pub fn from_key(key: &[u8], config: TotpConfig) -> Result<Self, SecretError> {
        Ok(Self {
            hotp: Hotp::from_key(key, config.hotp())?,
            config,
        })
    }

    /// The configuration this instance was built with.
    ///
    /// ```
    /// use passcode::{Totp, TotpConfig};
    ///
    /// let totp = Totp::from_key(&[7; 20], TotpConfig::new().with_t0(60))?;
    /// assert_eq!(totp.config().t0(), 60);
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    #[must_use]
    pub fn config(&self) -> TotpConfig {
        self.config
    }

    /// The code for the time step containing `time` (Unix seconds).
    ///
    /// ```
    /// use passcode::{StepError, Totp, TotpConfig};
    ///
    /// let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new().with_t0(30))?;
    /// // Step 0 runs from T0 = 30 to 59, so its code is HOTP(0).
    /// assert_eq!(totp.generate(30)?.as_str(), "755224");
    /// assert_eq!(totp.generate(29).err(), Some(StepError::BeforeT0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`StepError::BeforeT0`] when `time` is before T0.
    pub fn generate(&self, time: u64) -> Result<Code, StepError> {
        Ok(self.generate_step(self.config.step(time)?))
    }

    /// The code for time step `step`, e.g. to show the codes around now.
    ///
    /// ```
    /// use passcode::{Totp, TotpConfig};
    ///
    /// let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new())?;
    /// let step = totp.config().step(1_111_111_109)?;
    /// assert_eq!(totp.generate_step(step), totp.generate(1_111_111_109)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn generate_step(&self, step: u64) -> Code {
        self.hotp.generate(step)
    }

    /// Checks `code` against every step of `window` around the step
    /// containing `time`, all in constant time, and returns the newest
    /// matching step and its drift.
    ///
    /// This does not know which codes were used before; a server should
    /// call [`verify_after`](Self::verify_after) with the last accepted step,
    /// so that a code is accepted once (RFC 6238 §5.2).
    ///
    /// ```
    /// use passcode::{Totp, TotpConfig, VerifyError, Window};
    ///
    /// let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new())?;
    /// let code = totp.generate(1_000_000_000)?;
    /// // The device's clock runs 40 seconds fast: its code is one step ahead.
    /// let matched = totp.verify(code.as_str(), 1_000_000_000 - 40, Window::new(1, 1)?)?;
    /// assert_eq!(matched.drift, 1);
    /// // Two steps fast is outside a one-step window.
    /// let result = totp.verify(code.as_str(), 1_000_000_000 - 70, Window::new(1, 1)?);
    /// assert_eq!(result, Err(VerifyError::Invalid));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] before any secret work when `code` is not
    /// a well-formed code; [`VerifyError::OutOfRange`] when `time` is before
    /// T0 (no step exists at all) or the window reaches past `u64::MAX`;
    /// [`VerifyError::Invalid`] when no step matches. A window that reaches
    /// below step 0 checks the steps that exist: steps below 0 do not.
    pub fn verify(&self, code: &str, time: u64, window: Window) -> Result<TotpMatch, VerifyError> {
        self.verify_inner(code, time, 0, window, None)
    }

    /// [`verify`](Self::verify), accepting only steps after `last_step`, the
    /// step of the last accepted code. A code that matches only steps at or
    /// before it is [`VerifyError::Replayed`].
    ///
    /// ```
    /// use passcode::{Digits, Totp, TotpConfig, VerifyError, Window};
    ///
    /// let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new().with_digits(Digits::EIGHT))?;
    /// let first = totp.verify("94287082", 59, Window::default())?;
    /// assert_eq!(
    ///     totp.verify_after("94287082", 60, Window::default(), first.step),
    ///     Err(VerifyError::Replayed)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and [`VerifyError::Replayed`].
    pub fn verify_after(
        &self,
        code: &str,
        time: u64,
        window: Window,
        last_step: u64,
    ) -> Result<TotpMatch, VerifyError> {
        self.verify_inner(code, time, 0, window, Some(last_step))
    }

    /// The verification behind [`verify`](Self::verify), with the window
    /// placed both around the clock's step and around the step `shift`
    /// steps from it (a remembered drift, for [`check`](Self::check)); the
    /// drift reported stays relative to the clock.
    // Inlined so that in `verify`, where `shift` is 0, placing the window
    // costs what it did before `check` shared this path.
    #[inline]
    pub(crate) fn verify_inner(
        &self,
        code: &str,
        time: u64,
        shift: i8,
        window: Window,
        last_step: Option<u64>,
    ) -> Result<TotpMatch, VerifyError> {
        let input = Typed::parse(code, self.config.digits)?;
        let now = self.config.step(time)?;
        // The window around the clock's own step is always checked. A
        // remembered drift goes stale when the device's clock is corrected;
        // a window placed only around it would then refuse every right code,
        // and no success could ever teach the drift back.
        let clock = window.steps(now, 0)?;
        let predicted = if shift == 0 {
            None
        } else {
            window.steps(now, shift)?
        };
        let scan = scan(
            self.hotp.mac(),
            self.config.digits,
            union(clock, predicted).into_iter().flatten(),
            &input,
            last_step,
        );
        Ok(TotpMatch::new(scan.outcome()?, now))
    }
}

impl TotpMatch {
    /// A match at `step` seen from a clock at step `now`.
    pub(crate) fn new(step: u64, now: u64) -> Self {
        Self {
            step,
            drift: signed_difference(step, now),
        }
    }
}

/// `a - b` for steps at most a window apart.
fn signed_difference(a: u64, b: u64) -> i64 {
    let distance = a.abs_diff(b);
    if a >= b {
        0i64.saturating_add_unsigned(distance)
    } else {
        0i64.saturating_sub_unsigned(distance)
    }
}

#[cfg(feature = "std")]
impl Totp {
    /// [`generate`](Self::generate) at the system clock's current time.
    ///
    /// ```
    /// use passcode::{Totp, TotpConfig, Window};
    ///
    /// let totp = Totp::from_key(&[7; 20], TotpConfig::new())?;
    /// let code = totp.generate_now()?;
    /// assert!(totp.verify_now(code.as_str(), Window::default()).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`StepError::ClockBeforeUnixEpoch`] when the system clock reads
    /// before 1970, and [`StepError::BeforeT0`].
    pub fn generate_now(&self) -> Result<Code, StepError> {
        self.generate(unix_now()?)
    }

    /// [`verify`](Self::verify) at the system clock's current time (see
    /// [`generate_now`](Self::generate_now) for an example).
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and [`StepError::ClockBeforeUnixEpoch`].
    pub fn verify_now(&self, code: &str, window: Window) -> Result<TotpMatch, VerifyError> {
        self.verify(code, unix_now()?, window)
    }

    /// [`verify_after`](Self::verify_after) at the system clock's current time.
    ///
    /// ```
    /// use passcode::{Totp, TotpConfig, VerifyError, Window};
    ///
    /// let totp = Totp::from_key(&[7; 20], TotpConfig::new())?;
    /// let code = totp.generate_now()?;
    /// let first = totp.verify_now(code.as_str(), Window::default())?;
    /// let again = totp.verify_after_now(code.as_str(), Window::default(), first.step);
    /// assert_eq!(again, Err(VerifyError::Replayed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`verify_after`](Self::verify_after), and
    /// [`StepError::ClockBeforeUnixEpoch`].
    pub fn verify_after_now(
        &self,
        code: &str,
        window: Window,
        last_step: u64,
    ) -> Result<TotpMatch, VerifyError> {
        self.verify_after(code, unix_now()?, window, last_step)
    }
}

/// The system clock in Unix seconds.
#[cfg(feature = "std")]
fn unix_now() -> Result<u64, StepError> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .map_err(|_| StepError::ClockBeforeUnixEpoch)
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("algorithm", &self.config.algorithm)
            .field("digits", &self.config.digits)
            .field("period", &self.config.period.seconds())
            .field("t0", &self.config.t0)
            .finish_non_exhaustive()
    }
}
