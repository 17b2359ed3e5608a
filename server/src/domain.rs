//! The verbs of the API, over the library, the store and a sender. Nothing
//! here knows HTTP or SQL: each verb takes the application, the time (read
//! once per request) and typed inputs, and returns a typed outcome or an
//! [`Error`].
//!
//! One type, [`Domain`], with an `impl` block per concept, each in the
//! file of its name: `users` (create, status, delete, the sandbox's user
//! 51), `tokens` (SMS and voice tokens, and verifying a token against every
//! credential), `credentials` (TOTP authenticators: enrol, check, replace,
//! QR link, export), `verifications` (phone verifications), `delivery`
//! (send limits, messages, the SMS verifier), `lookup` (phone metadata and
//! export), `stats` (counters and conversions), `sweep` (expired states); Verify's `accounts`,
//! `services`, `verify` (its verifications) and `destinations` (numbers and
//! e-mail addresses, and their SIDs), `attempts`, `entities`, `factors`,
//! `challenges`, `buckets`, `webhooks` and `migrate` (Authy to Verify);
//! `tenants` (the applications, for the offline commands and any admin
//! page);
//! under them `stored` (each state's encoding and expiry), `cas` (the
//! compare-and-set loop), `keys` (state keys and their owners) and `error`
//! (why a verb refused).

use std::sync::Arc;

use passcode::{
    KeyUri, OtpKind, RateLimit, RateLimitState, Secret, SmsCheck, SmsError, SmsPolicy,
    SmsVerification, SmsVerifier, Totp, TotpConfig, TotpPolicy, TotpState, VerifyError,
};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::crypto::MasterKey;
use crate::messages::{self, Lang};
use crate::phone::{LineType, Phone};
use crate::sender::{Channel, Message, Sender};
use crate::store::sqlite::SANDBOX_USER;
use crate::store::{
    App, Counter, Device, MonthStats, StateKey, Store, User, UserStates, Versioned,
};

mod accounts;
mod attempts;
mod buckets;
mod cas;
mod challenges;
mod credentials;
mod delivery;
mod destinations;
mod entities;
mod error;
mod factors;
mod keys;
mod lookup;
mod migrate;
mod services;
mod stats;
mod stored;
mod sweep;
mod tenants;
mod tokens;
mod users;
mod verifications;
mod verify;
mod webhooks;

use cas::*;
use credentials::*;
use delivery::{Starter, Wording};
use keys::*;
use stored::*;
use tokens::*;

pub use accounts::{AccountToken, NewApiKey, create_api_key, rotate_token};
pub use attempts::{AttemptQuery, VerifyAttempt};
pub use buckets::{Bucket, VerifyRateLimit};
pub use challenges::{Challenge, ChallengeQuery, ChallengeStatus};
pub use credentials::Enrolled;
pub use entities::Entity;
pub use error::{Error, Feature, Field};
pub use factors::{Alg, Factor, FactorRequest, NewFactor, TotpProfile};
pub use lookup::PhoneInfo;
pub use migrate::{Migrated, migrate_authy_to_verify};
pub use services::{ServicePatch, ServiceSettings, VerifyService, verify_service};
pub use stats::year_month;
pub use tenants::{
    NewTenant, change_tenant, create_tenant, delete_tenant, real_users, rotate_api_key, tenant,
    tenants,
};
pub use tokens::{Matched, Sent, UserRead};
pub use users::Status;
pub use verifications::{StartRequest, Started, VerificationState, VerificationStatus};
pub use verify::{
    CheckFor, Checked, SendAttempt, Verification, VerifyStart, VerifyStatus, VerifyUpdate,
};
pub use webhooks::{EVENT_TYPES, Webhook, WebhookSettings};

/// Seconds an SMS or voice token stays valid.
const TOKEN_VALIDITY: u64 = 600;
/// Seconds a phone verification stays valid (Authy: about 600).
const VERIFICATION_VALIDITY: u64 = 600;
/// Seconds a QR code link answers.
const QR_VALIDITY: u64 = 600;

/// The sandbox's universal token and verification code.
const SANDBOX_TOKEN: &str = "0000000";
const SANDBOX_CODE: &str = "0000";

/// The abuse limits, all kept in the database.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sends to one destination: a short-term cooldown.
    pub destination_burst: RateLimit,
    /// Sends to one destination per day.
    pub destination_daily: RateLimit,
    /// Sends by one application per minute.
    pub app_sends: RateLimit,
    /// Phone number exports per user (3 a month).
    pub export_user: RateLimit,
    /// Phone number exports per application (1500 a minute).
    pub export_app: RateLimit,
    /// Wrong TOTP codes per authenticator, over a day: a budget that a
    /// success does not give back (the library's throttle, which a success
    /// clears, keeps the short delays).
    pub totp_guesses: RateLimit,
}

impl Default for Limits {
    fn default() -> Self {
        // Each unwrap_or is unreachable: the arguments are valid constants.
        let limit = |quota, period, burst| {
            RateLimit::new(quota, period, burst).unwrap_or_else(|_| unreachable_limit())
        };
        Self {
            // 5 sends at once (a verification's own limit, which Verify
            // answers at the sixth with 60203), then one a minute.
            destination_burst: limit(5, 300, 5),
            destination_daily: limit(20, 86_400, 10),
            app_sends: limit(600, 60, 100),
            export_user: limit(3, 30 * 86_400, 3),
            // Authy: 1500 a minute; a burst of 25 keeps the sustained rate
            // near it while never exceeding 1500 in any minute.
            export_app: limit(1500, 60, 25),
            // 100 at once, then one every 14.4 minutes (a sustained rate
            // of 199 - 100 + 1 = 100 a day), never 200 in any 24 hours:
            // each a 3 in 10^6 chance (six digits, one step either way).
            totp_guesses: limit(199, 86_400, 100),
        }
    }
}

/// Which limit refused a request: each surface words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Sends to one destination in a short time.
    DestinationBurst,
    /// Sends to one destination in a day.
    DestinationDaily,
    /// Sends by one application.
    ApplicationSends,
    /// Sends of one user's token.
    TokenSends,
    /// Sends of one phone verification's code.
    VerificationSends,
    /// Checks of one phone verification's code.
    VerificationChecks,
    /// Failed tokens of one user (the throttle and the guess budget).
    FailedTokens,
    /// Phone number exports of one user.
    ExportUser,
    /// Phone number exports of one application.
    ExportApplication,
    /// Secret exports of one user.
    SecretExport,
    /// Wrong codes verifying one new Verify factor.
    FactorVerifications,
    /// A bucket of a Verify service's own rate limit.
    ServiceRateLimit,
}

impl Limit {
    /// The name metrics count it under.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::DestinationBurst => "destination_burst",
            Self::DestinationDaily => "destination_daily",
            Self::ApplicationSends => "application_sends",
            Self::TokenSends => "token_sends",
            Self::VerificationSends => "verification_sends",
            Self::VerificationChecks => "verification_checks",
            Self::FailedTokens => "failed_tokens",
            Self::ExportUser => "export_user",
            Self::ExportApplication => "export_application",
            Self::SecretExport => "secret_export",
            Self::FactorVerifications => "factor_verifications",
            Self::ServiceRateLimit => "service_rate_limit",
        }
    }
}

fn unreachable_limit() -> RateLimit {
    // RateLimit::new(1, 1, 1) is valid; this is only a total fallback.
    RateLimit::new(1, 1, 1).unwrap_or_else(|_| std::process::abort())
}

/// Counters gathered since the last flush, by application, month and kind.
type Counters = std::collections::HashMap<(i64, i32, u8, Counter), i64>;

/// Everything the verbs need.
pub struct Domain {
    store: Arc<dyn Store>,
    key: Arc<MasterKey>,
    sender: Arc<dyn Sender>,
    limits: Limits,
    counters: Arc<std::sync::Mutex<Counters>>,
    /// Verify approvals whose sends are not marked converted yet.
    conversions: Arc<std::sync::Mutex<Vec<crate::store::Conversion>>>,
    /// Held for a whole flush: a flush that finds the counters drained by
    /// another still in flight waits for its writes, so `app/stats` and
    /// the attempts never read the store between the drain and the commit.
    flushing: Arc<tokio::sync::Mutex<()>>,
    /// Where Verify webhook events go; none: they are not sent.
    events: Option<Arc<crate::sender::outbox::Outbox<crate::sender::events::Event>>>,
    /// Where e-mail goes; none: the e-mail channel is refused.
    mailer: Option<Arc<crate::sender::mail::Mailer>>,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

pub(super) fn now_i64(now: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX)
}

impl Domain {
    /// The domain over `store`, sealing under `key`, delivering by `sender`.
    #[must_use]
    pub fn new(
        store: Arc<dyn Store>,
        key: Arc<MasterKey>,
        sender: Arc<dyn Sender>,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            key,
            sender,
            limits,
            counters: Arc::default(),
            conversions: Arc::default(),
            flushing: Arc::new(tokio::sync::Mutex::const_new(())),
            events: None,
            mailer: None,
        }
    }

    /// The same domain, sending Verify webhook events through `events`.
    #[must_use]
    pub fn with_events(
        mut self,
        events: Arc<crate::sender::outbox::Outbox<crate::sender::events::Event>>,
    ) -> Self {
        self.events = Some(events);
        self
    }

    /// The same domain, delivering e-mail through `mailer`.
    #[must_use]
    pub fn with_mailer(mut self, mailer: Arc<crate::sender::mail::Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures the README gives: 100 wrong codes at once, then one
    /// every 14.4 minutes, never 200 in any 24 hours.
    #[test]
    fn the_guess_budget_is_100_then_one_every_864_seconds() {
        let limit = Limits::default().totp_guesses;
        let mut state = RateLimitState::new();
        let t0 = 1_700_000_000;
        for _ in 0..100 {
            assert!(limit.check(&mut state, t0).is_ok());
        }
        assert!(limit.check(&mut state, t0).is_err());
        assert!(limit.check(&mut state, t0 + 863).is_err());
        assert!(limit.check(&mut state, t0 + 864).is_ok());
        let mut day = 101;
        for t in (t0 + 865..t0 + 86_400).step_by(60) {
            day += usize::from(limit.check(&mut state, t).is_ok());
        }
        assert!(day < 200, "{day} in a day");
    }
}
