use core::fmt;

use crate::code::{Code, Digits, Typed};
use crate::hmac::Mac;
use crate::window::{LookAhead, ResyncWindow, scan, scan_pair};
use crate::{Algorithm, Secret, SecretError, StepError, VerifyError};

/// HOTP parameters: the algorithm and the number of digits.
///
/// ```
/// use passcode::{Algorithm, Digits, HotpConfig};
///
/// let config = HotpConfig::new().with_digits(Digits::EIGHT);
/// assert_eq!(config.algorithm(), Algorithm::Sha1);
/// assert_eq!(config.digits(), Digits::EIGHT);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HotpConfig {
    algorithm: Algorithm,
    digits: Digits,
}

impl HotpConfig {
    /// SHA-1 and six digits, the RFC 4226 defaults.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
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
}

/// A successful HOTP verification.
///
/// ```
/// use passcode::{Hotp, HotpConfig, LookAhead};
///
/// let hotp = Hotp::from_key(b"12345678901234567890", HotpConfig::new())?;
/// let matched = hotp.verify("287082", 0, LookAhead::new(3)?)?;
/// assert_eq!((matched.counter, matched.next_counter), (1, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HotpMatch {
    /// The counter whose code matched.
    pub counter: u64,
    /// The counter to store for the next verification: one past the match,
    /// so this code and every earlier one are never accepted again.
    pub next_counter: u64,
}

impl HotpMatch {
    fn at(counter: u64) -> Result<Self, VerifyError> {
        let next_counter = counter.checked_add(1).ok_or(StepError::Overflow)?;
        Ok(Self {
            counter,
            next_counter,
        })
    }
}

/// A HOTP generator and verifier (RFC 4226) with its key prepared once.
///
/// Build one per credential and keep it while the credential is in use: the
/// HMAC key schedule runs once here, so each candidate a verification checks
/// costs two hash compressions. The prepared key is wiped on drop.
///
/// ```
/// use passcode::{Hotp, HotpConfig, LookAhead};
///
/// // RFC 4226 Appendix D.
/// let hotp = Hotp::from_key(b"12345678901234567890", HotpConfig::new())?;
/// assert_eq!(hotp.generate(1).as_str(), "287082");
///
/// // The user pressed the button twice; the server had counter 0 stored.
/// let matched = hotp.verify("359152", 0, LookAhead::new(5)?)?;
/// assert_eq!((matched.counter, matched.next_counter), (2, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Hotp {
    mac: Mac,
    config: HotpConfig,
}

impl Hotp {
    /// Keys HOTP with a [`Secret`].
    ///
    /// ```
    /// use passcode::{Hotp, HotpConfig, Secret};
    ///
    /// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// let hotp = Hotp::new(&secret, HotpConfig::default())?;
    /// assert_eq!(hotp.generate(0).as_str(), "755224");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::AlgorithmDisabled`] when this build leaves the
    /// configured algorithm out.
    pub fn new(secret: &Secret, config: HotpConfig) -> Result<Self, SecretError> {
        Self::from_key(secret.hmac_key(config.algorithm)?, config)
    }

    /// Keys HOTP with raw key bytes of any non-zero length, as HMAC accepts
    /// (keys longer than the hash's block are hashed first). No minimum
    /// length is enforced here; [`Secret`] enforces one.
    ///
    /// ```
    /// use passcode::{Hotp, HotpConfig, SecretError};
    ///
    /// // A 200-byte key is hashed to 20 bytes first, as HMAC specifies.
    /// assert!(Hotp::from_key(&[1; 200], HotpConfig::new()).is_ok());
    /// assert_eq!(Hotp::from_key(&[], HotpConfig::new()).err(), Some(SecretError::Empty));
    /// ```
    ///
    /// # Errors
    /// [`SecretError::Empty`] for an empty key, and
    /// [`SecretError::AlgorithmDisabled`] as in [`new`](Self::new).
    pub fn from_key(key: &[u8], config: HotpConfig) -> Result<Self, SecretError> {
        Ok(Self {
            mac: Mac::new(config.algorithm, key)?,
            config,
        })
    }

    /// The configuration this instance was built with.
    ///
    /// ```
    /// use passcode::{Digits, Hotp, HotpConfig};
    ///
    /// let hotp = Hotp::from_key(&[7; 20], HotpConfig::new().with_digits(Digits::EIGHT))?;
    /// assert_eq!(hotp.config().digits(), Digits::EIGHT);
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    #[must_use]
    pub fn config(&self) -> HotpConfig {
        self.config
    }

    /// The code for `counter`, leading zeros kept.
    ///
    /// ```
    /// use passcode::{Digits, Hotp, HotpConfig};
    ///
    /// let config = HotpConfig::new().with_digits(Digits::new(10)?);
    /// let hotp = Hotp::from_key(b"12345678901234567890", config)?;
    /// // RFC 4226 Appendix D, count 7: the whole truncated value 82162583.
    /// assert_eq!(hotp.generate(7).as_str(), "0082162583");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn generate(&self, counter: u64) -> Code {
        Code::from_value(self.mac.truncated(counter), self.config.digits)
    }

    /// Checks `code` against counters `counter..=counter + look_ahead`
    /// (RFC 4226 §7.4), every one of them in constant time, and returns the
    /// newest matching counter and the counter to store next. Never looks
    /// behind `counter`: store [`HotpMatch::next_counter`] after a success and
    /// every used code is refused from then on.
    ///
    /// ```
    /// use passcode::{Hotp, HotpConfig, LookAhead, VerifyError};
    ///
    /// let hotp = Hotp::from_key(b"12345678901234567890", HotpConfig::new())?;
    /// let window = LookAhead::new(3)?;
    /// let first = hotp.verify("755224", 0, window)?;
    /// // The same code again, against the stored next counter, is refused.
    /// assert_eq!(hotp.verify("755224", first.next_counter, window), Err(VerifyError::Invalid));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] before any secret work when `code` is not
    /// a well-formed code; [`VerifyError::OutOfRange`] with
    /// [`StepError::Overflow`] when the window or the next counter would pass
    /// `u64::MAX`; [`VerifyError::Invalid`] when no counter matches.
    pub fn verify(
        &self,
        code: &str,
        counter: u64,
        look_ahead: LookAhead,
    ) -> Result<HotpMatch, VerifyError> {
        let input = Typed::parse(code, self.config.digits)?;
        let last = last_counter(counter, look_ahead.get())?;
        let scan = scan(
            &self.mac,
            self.config.digits,
            [counter..=last],
            &input,
            None,
        );
        HotpMatch::at(scan.outcome()?)
    }

    /// Resynchronizes a counter that has fallen far behind the device
    /// (RFC 4226 §7.4): `first` and `second` must be the codes of two
    /// consecutive counters `c` and `c + 1`, with `c` in
    /// `counter..=counter + window`. On success the match is `c + 1`.
    ///
    /// ```
    /// use passcode::{Hotp, HotpConfig, ResyncWindow};
    ///
    /// let hotp = Hotp::from_key(b"12345678901234567890", HotpConfig::new())?;
    /// // Codes 8 and 9 of RFC 4226 Appendix D, with counter 0 stored.
    /// let matched = hotp.resync("399871", "520489", 0, ResyncWindow::new(100)?)?;
    /// assert_eq!((matched.counter, matched.next_counter), (9, 10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn resync(
        &self,
        first: &str,
        second: &str,
        counter: u64,
        window: ResyncWindow,
    ) -> Result<HotpMatch, VerifyError> {
        let first = Typed::parse(first, self.config.digits)?;
        let second = Typed::parse(second, self.config.digits)?;
        let last = last_counter(counter, window.get().saturating_add(1))?;
        let scan = scan_pair(
            &self.mac,
            self.config.digits,
            counter..=last,
            &first,
            &second,
        );
        HotpMatch::at(scan.outcome()?)
    }

    pub(crate) fn mac(&self) -> &Mac {
        &self.mac
    }
}

/// The last counter of a window, which must leave room for a next counter.
fn last_counter(counter: u64, ahead: u16) -> Result<u64, StepError> {
    counter
        .checked_add(u64::from(ahead))
        .filter(|last| *last < u64::MAX)
        .ok_or(StepError::Overflow)
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("algorithm", &self.config.algorithm)
            .field("digits", &self.config.digits)
            .finish_non_exhaustive()
    }
}
