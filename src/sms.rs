//! SMS and voice verification codes: the phone-verification flow of the
//! Authy API. Start a verification for a subject (a phone number, say) and
//! send the code; send the same code again while it is valid; check what the
//! user types, with expiry and an attempt limit. A code is valid from its
//! creation (`created_at`) until its expiry: a check or resend at an earlier
//! time (a server clock that stepped back) is refused.
//!
//! The code is derived, not stored: HMAC-SHA-256 under an application key,
//! over the subject and a random nonce. The state a caller stores holds the
//! nonce and the counters, so a leaked database alone reveals no pending
//! code, and a resend can repeat the code without keeping it.

use core::fmt;

use hmac::{KeyInit, Mac};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use crate::state::{Kind, Reader, Writer, encoded_len};
use crate::{Code, CodeError, ParamError, Secret, SecretError, StateError, decimal, declassify};

/// The rules for SMS verifications: code length 4 to 10 digits (default 6),
/// validity (default 10 minutes), at most 5 checks and 5 sends by default.
///
/// ```
/// use passcode::SmsPolicy;
///
/// let policy = SmsPolicy::new().with_digits(8)?.with_validity(300)?;
/// assert_eq!((policy.digits(), policy.validity(), policy.max_checks()), (8, 300, 5));
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "SmsPolicyRepr", into = "SmsPolicyRepr")
)]
pub struct SmsPolicy {
    digits: u8,
    validity: u64,
    max_checks: u8,
    max_sends: u8,
}

impl SmsPolicy {
    /// Six digits, valid for 600 seconds, 5 checks, 5 sends: the Authy
    /// defaults.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            digits: 6,
            validity: 600,
            max_checks: 5,
            max_sends: 5,
        }
    }

    /// The same policy with codes of `digits` digits.
    ///
    /// # Errors
    /// [`ParamError::SmsDigits`] outside 4..=10.
    pub const fn with_digits(self, digits: u8) -> Result<Self, ParamError> {
        if digits < 4 || digits > 10 {
            return Err(ParamError::SmsDigits);
        }
        Ok(Self { digits, ..self })
    }

    /// The same policy with codes valid for `seconds` after the start.
    ///
    /// # Errors
    /// [`ParamError::Duration`] for zero.
    pub const fn with_validity(self, seconds: u64) -> Result<Self, ParamError> {
        if seconds == 0 {
            return Err(ParamError::Duration);
        }
        Ok(Self {
            validity: seconds,
            ..self
        })
    }

    /// The same policy allowing `checks` checks per verification.
    ///
    /// # Errors
    /// [`ParamError::Limit`] for zero.
    pub const fn with_max_checks(self, checks: u8) -> Result<Self, ParamError> {
        if checks == 0 {
            return Err(ParamError::Limit);
        }
        Ok(Self {
            max_checks: checks,
            ..self
        })
    }

    /// The same policy allowing `sends` sends (the first one included).
    ///
    /// # Errors
    /// [`ParamError::Limit`] for zero.
    pub const fn with_max_sends(self, sends: u8) -> Result<Self, ParamError> {
        if sends == 0 {
            return Err(ParamError::Limit);
        }
        Ok(Self {
            max_sends: sends,
            ..self
        })
    }

    /// Digits in a code.
    #[must_use]
    pub const fn digits(self) -> u8 {
        self.digits
    }

    /// Seconds a code stays valid after the start.
    #[must_use]
    pub const fn validity(self) -> u64 {
        self.validity
    }

    /// Checks allowed per verification.
    #[must_use]
    pub const fn max_checks(self) -> u8 {
        self.max_checks
    }

    /// Sends allowed per verification, the first one included.
    #[must_use]
    pub const fn max_sends(self) -> u8 {
        self.max_sends
    }
}

impl Default for SmsPolicy {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SmsPolicyRepr {
    digits: u8,
    validity: u64,
    max_checks: u8,
    max_sends: u8,
}

#[cfg(feature = "serde")]
impl TryFrom<SmsPolicyRepr> for SmsPolicy {
    type Error = ParamError;

    fn try_from(repr: SmsPolicyRepr) -> Result<Self, ParamError> {
        Self::new()
            .with_digits(repr.digits)?
            .with_validity(repr.validity)?
            .with_max_checks(repr.max_checks)?
            .with_max_sends(repr.max_sends)
    }
}

#[cfg(feature = "serde")]
impl From<SmsPolicy> for SmsPolicyRepr {
    fn from(policy: SmsPolicy) -> Self {
        Self {
            digits: policy.digits,
            validity: policy.validity,
            max_checks: policy.max_checks,
            max_sends: policy.max_sends,
        }
    }
}

/// Where a verification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SmsStatus {
    /// Waiting for the right code (it may still have expired or run out of
    /// checks: see [`SmsVerifier::check`]).
    Pending,
    /// The right code was checked; the verification is used up.
    Approved,
    /// Canceled by the caller.
    Canceled,
}

/// One verification, as the caller stores it: the nonce the code is derived
/// from, its times and counters, never the code itself. Store it after
/// every call that takes it mutably.
///
/// ```
/// use passcode::{Secret, SmsPolicy, SmsVerification, SmsVerifier};
///
/// let verifier = SmsVerifier::new(&Secret::from_bytes(&[7; 32])?, SmsPolicy::new())?;
/// let (state, _code) = verifier.start(&mut rand::rng(), "+14155552671", 1_000);
/// let bytes = state.to_bytes();
/// assert_eq!(SmsVerification::from_bytes(&bytes)?, state);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// Invariant: created_at <= expires_at, sends >= 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmsVerification {
    nonce: [u8; 16],
    created_at: u64,
    expires_at: u64,
    checks: u8,
    sends: u8,
    status: SmsStatus,
}

impl SmsVerification {
    /// The length of [`to_bytes`](Self::to_bytes).
    pub const ENCODED_LEN: usize = encoded_len(35);

    /// When the verification started: checks and resends before it are
    /// refused.
    #[must_use]
    pub const fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The first time at which the code is no longer accepted.
    #[must_use]
    pub const fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Checks made so far.
    #[must_use]
    pub const fn checks(&self) -> u8 {
        self.checks
    }

    /// Sends made so far, the first one included.
    #[must_use]
    pub const fn sends(&self) -> u8 {
        self.sends
    }

    /// Pending, approved or canceled.
    #[must_use]
    pub const fn status(&self) -> SmsStatus {
        self.status
    }

    /// Cancels the verification: no check approves it afterwards.
    pub fn cancel(&mut self) {
        if self.status == SmsStatus::Pending {
            self.status = SmsStatus::Canceled;
        }
    }

    /// The stable byte encoding (see the crate documentation).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut w = Writer::new(Kind::SmsVerification);
        w.put(&self.nonce);
        w.u64(self.created_at);
        w.u64(self.expires_at);
        w.u8(self.checks);
        w.u8(self.sends);
        w.u8(match self.status {
            SmsStatus::Pending => 0,
            SmsStatus::Approved => 1,
            SmsStatus::Canceled => 2,
        });
        w.finish()
    }

    /// Decodes [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`StateError`] for bytes of the wrong length, kind or version, a
    /// checksum mismatch, or contradictory fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        let mut r = Reader::open(bytes, Kind::SmsVerification, Self::ENCODED_LEN)?;
        let nonce = r.array();
        let (created_at, expires_at) = (r.u64(), r.u64());
        let (checks, sends) = (r.u8(), r.u8());
        let status = match r.u8() {
            0 => SmsStatus::Pending,
            1 => SmsStatus::Approved,
            2 => SmsStatus::Canceled,
            _ => return Err(StateError::Invalid),
        };
        if expires_at < created_at || sends == 0 {
            return Err(StateError::Invalid);
        }
        Ok(Self {
            nonce,
            created_at,
            expires_at,
            checks,
            sends,
            status,
        })
    }
}

impl fmt::Debug for SmsVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsVerification")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("checks", &self.checks)
            .field("sends", &self.sends)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

crate::state::serde_via_bytes!(SmsVerification);

/// Why a code was not re-sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SmsError {
    /// The verification was approved or canceled.
    NotPending,
    /// The code has expired; start a new verification.
    Expired,
    /// The code was sent as often as the policy allows.
    TooManySends,
    /// The checks are used up; start a new verification.
    TooManyAttempts,
    /// The time is before the verification's `created_at`: the clock
    /// stepped back, and sending then would stretch the code's validity.
    BeforeCreation,
}

impl fmt::Display for SmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotPending => "verification is no longer pending",
            Self::Expired => "verification code has expired",
            Self::TooManySends => "verification code was sent too many times",
            Self::TooManyAttempts => "verification has no checks left",
            Self::BeforeCreation => "time is before the verification was created",
        })
    }
}

impl core::error::Error for SmsError {}

/// The outcome of [`SmsVerifier::check`]: exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub enum SmsCheck {
    /// The code is right. The verification is now used up: checking it
    /// again returns [`NotPending`](Self::NotPending).
    Approved,
    /// The code is wrong; `remaining` checks are left.
    Incorrect {
        /// Checks left before [`TooManyAttempts`](Self::TooManyAttempts).
        remaining: u8,
    },
    /// The checks are used up; no comparison was made.
    TooManyAttempts,
    /// The code has expired; no comparison was made.
    Expired,
    /// The verification was already approved or canceled.
    NotPending,
    /// The time is before the verification's `created_at`: the clock
    /// stepped back. No comparison was made and nothing was counted; a
    /// code is valid only from its creation to its expiry, so a clock set
    /// back cannot stretch its validity.
    BeforeCreation,
}

/// Starts, re-sends and checks verification codes under one application key.
///
/// ```
/// use passcode::{Secret, SmsCheck, SmsPolicy, SmsVerifier};
///
/// let key = Secret::generate_len(&mut rand::rng(), 32)?;
/// let verifier = SmsVerifier::new(&key, SmsPolicy::new())?;
///
/// // Start: send `code` to the phone, store `state`.
/// let (mut state, code) = verifier.start(&mut rand::rng(), "+14155552671", 1_000);
/// // A resend within the validity repeats the same code.
/// assert_eq!(verifier.resend(&mut state, "+14155552671", 1_030)?, code);
/// // The user types it back.
/// let outcome = verifier.check(&mut state, "+14155552671", code.as_str(), 1_060)?;
/// assert_eq!(outcome, SmsCheck::Approved);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SmsVerifier {
    key: hmac::Hmac<sha2::Sha256>,
    policy: SmsPolicy,
}

/// Domain separation for the code derivation.
const LABEL: &[u8] = b"passcode sms code v1\0";

impl SmsVerifier {
    /// A verifier under the application key `key`, which every code is
    /// derived from. Keep it secret and stable: changing it invalidates every
    /// pending verification.
    ///
    /// # Errors
    /// [`SecretError::TooLong`] if the HMAC implementation refuses the key;
    /// HMAC takes keys of any length, so it does not.
    pub fn new(key: &Secret, policy: SmsPolicy) -> Result<Self, SecretError> {
        let key =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(key.hmac_key(crate::Algorithm::Sha256)?)
                .map_err(|_| SecretError::TooLong)?;
        Ok(Self { key, policy })
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> SmsPolicy {
        self.policy
    }

    /// Starts a verification for `subject` at `now`: returns the state to
    /// store and the code to send.
    pub fn start<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        subject: &str,
        now: u64,
    ) -> (SmsVerification, Code) {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let state = SmsVerification {
            nonce,
            created_at: now,
            expires_at: now.saturating_add(self.policy.validity),
            checks: 0,
            sends: 1,
            status: SmsStatus::Pending,
        };
        let code = self.code(&state, subject);
        (state, code)
    }

    /// The same code again, for another send, and counts the send. The
    /// Authy API sends the same value until it is used or expires.
    ///
    /// # Errors
    /// [`SmsError`] when the verification is not pending, `now` is before
    /// its `created_at`, it has expired, has no checks left, or was sent as
    /// often as the policy allows.
    pub fn resend(
        &self,
        state: &mut SmsVerification,
        subject: &str,
        now: u64,
    ) -> Result<Code, SmsError> {
        if state.status != SmsStatus::Pending {
            return Err(SmsError::NotPending);
        }
        if now < state.created_at {
            return Err(SmsError::BeforeCreation);
        }
        if now >= state.expires_at {
            return Err(SmsError::Expired);
        }
        if state.checks >= self.policy.max_checks {
            return Err(SmsError::TooManyAttempts);
        }
        if state.sends >= self.policy.max_sends {
            return Err(SmsError::TooManySends);
        }
        state.sends = state.sends.saturating_add(1);
        Ok(self.code(state, subject))
    }

    /// Checks `code` for `subject` at `now` and updates `state`.
    ///
    /// A verification that is not pending, is checked before its
    /// `created_at` (a clock that stepped back), has expired (at `expires_at`
    /// exactly and after), or has no checks left is refused without a
    /// comparison. Otherwise the check is counted and the code compared in
    /// constant time: a match approves the verification and uses it up.
    ///
    /// # Errors
    /// [`CodeError`] when `code` is not a well-formed code of the policy's
    /// length; such input is not counted as a check.
    pub fn check(
        &self,
        state: &mut SmsVerification,
        subject: &str,
        code: &str,
        now: u64,
    ) -> Result<SmsCheck, CodeError> {
        if state.status != SmsStatus::Pending {
            return Ok(SmsCheck::NotPending);
        }
        // The code is valid from `created_at` to `expires_at` only: a server
        // clock that steps back must not stretch that span.
        if now < state.created_at {
            return Ok(SmsCheck::BeforeCreation);
        }
        if now >= state.expires_at {
            return Ok(SmsCheck::Expired);
        }
        if state.checks >= self.policy.max_checks {
            return Ok(SmsCheck::TooManyAttempts);
        }
        let input = Code::parse_len(code, self.policy.digits)?;
        state.checks = state.checks.saturating_add(1);
        if declassify::choice(self.code(state, subject).ct_eq(&input)) {
            state.status = SmsStatus::Approved;
            Ok(SmsCheck::Approved)
        } else {
            Ok(SmsCheck::Incorrect {
                remaining: self.policy.max_checks.saturating_sub(state.checks),
            })
        }
    }

    /// HMAC-SHA-256(key, label || nonce || subject length || subject ||
    /// block), read as a stream of bytes, each below 250 giving one uniform
    /// digit (see `decimal::digit_from_byte`).
    fn code(&self, state: &SmsVerification, subject: &str) -> Code {
        let mut digits = [b'0'; 10];
        let wanted = usize::from(self.policy.digits);
        let mut filled = 0usize;
        // 32 bytes a block give 10 digits unless more than 22 of 32 bytes
        // are skipped (a chance of about 2^-100); the bound keeps the loop
        // finite regardless.
        for block in 0..=u8::MAX {
            let mut mac = self.key.clone();
            mac.update(LABEL);
            mac.update(&state.nonce);
            mac.update(
                &u64::try_from(subject.len())
                    .unwrap_or(u64::MAX)
                    .to_be_bytes(),
            );
            mac.update(subject.as_bytes());
            mac.update(&[block]);
            let mut stream = mac.finalize().into_bytes();
            for &byte in stream.iter() {
                if let (Some(digit), Some(slot)) =
                    (decimal::digit_from_byte(byte), digits.get_mut(filled))
                {
                    if filled < wanted {
                        *slot = digit;
                        filled = filled.saturating_add(1);
                    }
                }
            }
            zeroize::Zeroize::zeroize(stream.as_mut_slice());
            if filled >= wanted {
                break;
            }
        }
        let code = Code::from_ascii(digits, self.policy.digits);
        zeroize::Zeroize::zeroize(&mut digits);
        code
    }
}

impl fmt::Debug for SmsVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsVerifier")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
