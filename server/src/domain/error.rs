//! What a verb refuses, in the domain's words: no HTTP status and no code
//! of either surface. The Authy surface maps it in `crate::error`, the
//! Verify surface in `api/verify/error.rs`, each to its own body.

use crate::sender::Channel;
use crate::store::StoreError;

use super::Limit;

/// A field a refusal names, as the request named it.
pub type Field = &'static str;

/// A feature an application (or the server) has switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// SMS.
    Sms,
    /// Voice calls.
    Calls,
    /// E-mail: the server has no mailer.
    Email,
    /// Generic authenticator (TOTP) tokens.
    GenericTokens,
    /// The phone number export.
    PhoneExport,
    /// The secret export (migration tools).
    SecretExport,
}

/// Why a verb refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No such thing, or not the application's.
    NotFound,
    /// No such user in the application.
    UserNotFound,
    /// No verification pending for the number, written `+CC NATIONAL`.
    NoPendingVerification(String),
    /// A limit refused it.
    Limited(Limit),
    /// A parameter is malformed or out of range.
    Invalid {
        /// The parameter's name.
        name: Field,
        /// Why.
        reason: String,
    },
    /// The phone number is not one.
    InvalidPhone,
    /// A user that cannot be created, and the fields at fault.
    InvalidUser(Vec<Field>),
    /// The feature is off.
    Disabled(Feature),
    /// A token that matches nothing.
    WrongToken,
    /// A token that matched and was used already.
    ReplayedToken,
    /// A verification code that is not the one sent.
    WrongCode,
    /// The message could not be handed to its gateway.
    NotDelivered(Channel),
    /// The thing exists already (a Verify entity, factor, rate limit...).
    Conflict(&'static str),
    /// A Verify factor that is not verified yet.
    FactorUnverified,
    /// A Verify challenge past its expiry.
    ChallengeExpired,
    /// A Verify challenge answered already.
    ChallengeAnswered,
    /// The change would put the application's users at risk (the sandbox,
    /// whose `0000000` verifies every one): it has this many.
    HasUsers(i64),
    /// The database cannot be reached or is too busy.
    Unavailable,
    /// A fault of the server; the cause is logged, not answered.
    Internal,
}

/// Words for an operator (the offline commands print them); each surface
/// words a refusal its own way for its clients.
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found"),
            Self::UserNotFound => f.write_str("no such user"),
            Self::NoPendingVerification(number) => {
                write!(f, "no verification pending for {number}")
            }
            Self::Limited(limit) => write!(f, "refused by the {} limit", limit.label()),
            Self::Invalid { name, reason } => write!(f, "{name}: {reason}"),
            Self::InvalidPhone => f.write_str("not a phone number"),
            Self::InvalidUser(fields) => write!(f, "invalid: {}", fields.join(", ")),
            Self::Disabled(feature) => write!(f, "{feature:?} is disabled"),
            Self::WrongToken => f.write_str("the token is wrong"),
            Self::ReplayedToken => f.write_str("the token was used already"),
            Self::WrongCode => f.write_str("the code is wrong"),
            Self::NotDelivered(channel) => write!(f, "the {channel:?} could not be delivered"),
            Self::Conflict(what) => write!(f, "{what} exists already"),
            Self::FactorUnverified => f.write_str("the factor is not verified"),
            Self::ChallengeExpired => f.write_str("the challenge expired"),
            Self::ChallengeAnswered => f.write_str("the challenge was answered already"),
            Self::HasUsers(users) => write!(f, "the application has {users} users"),
            Self::Unavailable => f.write_str("the database is unavailable"),
            Self::Internal => f.write_str("an internal error (see the log)"),
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(why) => {
                // One line an interval, however many requests it refuses.
                static LOG: crate::telemetry::SharedEvery =
                    crate::telemetry::SharedEvery::new(std::time::Duration::from_secs(10));
                if let Some(requests) = LOG.due() {
                    tracing::warn!(%why, requests, "database unavailable: answering 503");
                }
                Self::Unavailable
            }
            // The state's owner was deleted while the verb ran.
            StoreError::Conflict => Self::NotFound,
            StoreError::Internal(why) => {
                tracing::error!(%why, "database error");
                Self::Internal
            }
        }
    }
}
