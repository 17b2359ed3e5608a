//! The one persistence seam.
//!
//! Configuration (applications, users, devices) is plain rows. Everything
//! that decides whether a code is accepted (a device's `TotpState`, a
//! user's SMS token, a phone verification, each rate-limit bucket) is the
//! library's state encoding kept in one table of versioned values, read
//! with its version and written back by compare-and-set: the write happens
//! only if the version is still the one read, so two requests (or two
//! nodes) can never both spend the same code. Nothing authoritative is kept
//! in process memory. Each state names its owner (an application, and a
//! user for a user's), whose deletion deletes it by a foreign key, and its
//! expiry, past which one statement sweeps it.

use async_trait::async_trait;

mod factors;
pub mod postgres;
mod rate_limits;
pub mod sqlite;
mod verify;

pub use factors::{ChallengeFilter, ChallengeRow, EntityRow, FactorRow, FactorStore};
pub use rate_limits::{BucketRow, RateLimitRow, RateLimitStore};
pub use verify::{
    Account, ApiKey, AttemptFilter, AttemptRow, Conversion, VerifyServiceRow, VerifyStore,
    WebhookRow,
};

/// An application (a tenant), as the API sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Digits of SMS and voice tokens (6 to 8).
    pub token_length: u8,
    /// Whether tokens may be sent by SMS.
    pub sms_enabled: bool,
    /// Whether tokens may be sent by voice call.
    pub calls_enabled: bool,
    /// Whether `users/{id}/phone_number` and `secret/export` answer.
    pub phone_export_enabled: bool,
    /// Whether `users/{id}/secret` may enrol generic authenticators.
    pub generic_tokens_enabled: bool,
    /// Whether `custom_message` is accepted.
    pub custom_messages_enabled: bool,
    /// The sandbox of the Authy clients' live test suites.
    pub sandbox: bool,
}

/// A new application's settings.
#[derive(Debug, Clone)]
pub struct NewApp {
    /// Its name.
    pub name: String,
    /// SHA-256 of its API key.
    pub key_hash: [u8; 32],
    /// Digits of SMS and voice tokens.
    pub token_length: u8,
    /// Sandbox mode.
    pub sandbox: bool,
}

/// Changes to an application's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct AppPatch {
    /// New name.
    pub name: Option<String>,
    /// New token length.
    pub token_length: Option<u8>,
    /// SMS on or off.
    pub sms_enabled: Option<bool>,
    /// Calls on or off.
    pub calls_enabled: Option<bool>,
    /// Phone export on or off.
    pub phone_export_enabled: Option<bool>,
    /// Generic tokens on or off.
    pub generic_tokens_enabled: Option<bool>,
    /// Custom messages on or off.
    pub custom_messages_enabled: Option<bool>,
    /// Sandbox on or off.
    pub sandbox: Option<bool>,
}

/// A user of one application, keyed by country code and phone number.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Its global id (the `authy_id`).
    pub id: i64,
    /// The application it belongs to.
    pub app_id: i64,
    /// Calling code.
    pub country_code: u16,
    /// National number, digits only.
    pub phone: String,
    /// The email it was registered with.
    pub email: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// Whether the user has logged in with a token once.
    pub registered: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the phone number or the email.
        f.debug_struct("User")
            .field("id", &self.id)
            .field("app_id", &self.app_id)
            .field("country_code", &self.country_code)
            .field("created_at", &self.created_at)
            .field("registered", &self.registered)
            .finish_non_exhaustive()
    }
}

/// The email of a sandbox application's own user (+1 305-456-2345), which
/// tells it from a real user with that number.
pub const SANDBOX_EMAIL: &str = "sandbox@example.com";

impl User {
    /// Whether this is a sandbox application's own user.
    #[must_use]
    pub fn is_sandbox_seed(&self) -> bool {
        let (_, country_code, phone) = sqlite::SANDBOX_USER;
        self.email == SANDBOX_EMAIL && self.country_code == country_code && self.phone == phone
    }
}

/// What became of a user brought in with its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Created with its id.
    Created,
    /// Already there, the same user of the same application: a re-run.
    Present,
    /// The id belongs to another user (of this application or another).
    IdTaken,
    /// The application already has a user with this phone, under this id.
    PhoneTaken(i64),
}

impl Imported {
    /// What importing user `id` becomes, from who holds the id (its
    /// application, calling code and phone) and which id the application
    /// has for the number; `None`: create it. Both engines read the two
    /// and let this decide.
    pub(crate) fn decide(
        holder: Option<(i64, u16, &str)>,
        holder_of_phone: Option<i64>,
        wanted: (i64, u16, &str),
    ) -> Option<Self> {
        match (holder, holder_of_phone) {
            (Some(held), _) if held == wanted => Some(Self::Present),
            (Some(_), _) => Some(Self::IdTaken),
            (None, Some(other)) => Some(Self::PhoneTaken(other)),
            (None, None) => None,
        }
    }
}

/// A generic authenticator enrolled for a user.
#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id.
    pub id: i64,
    /// Its owner.
    pub user_id: i64,
    /// A random id the seed's ciphertext is bound to.
    pub uid: [u8; 16],
    /// The seed, encrypted under the master key.
    pub sealed_seed: Vec<u8>,
    /// When it was enrolled (Unix seconds).
    pub created_at: i64,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A consumable state and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The library's encoding of the state.
    pub value: Vec<u8>,
    /// The version to pass to [`StateStore::cas`].
    pub version: i64,
}

/// A user with everything a verification reads: its devices and the
/// states it owns, read together (one statement on PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStates {
    /// The user.
    pub user: User,
    /// Its devices, oldest first.
    pub devices: Vec<Device>,
    /// Every state the user owns, by key.
    pub states: Vec<(String, Versioned)>,
}

impl UserStates {
    /// The state under `key` as it was read, if there was one.
    #[must_use]
    pub fn state(&self, key: &str) -> Option<Versioned> {
        self.states
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

/// One month of an application's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonthStats {
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u8,
    /// API calls.
    pub api_calls: i64,
    /// Successful token verifications.
    pub auths: i64,
    /// Voice calls placed.
    pub calls: i64,
    /// SMS sent.
    pub sms: i64,
    /// Users created.
    pub users: i64,
}

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// An authenticated API call.
    ApiCall,
    /// A token accepted.
    Auth,
    /// A call placed.
    Call,
    /// An SMS sent.
    Sms,
    /// A user created.
    User,
}

impl Counter {
    /// What a send by `channel` counts: a call, or an SMS (the Authy
    /// statistics have no e-mail; the Verify surface counts e-mail in its
    /// attempts).
    #[must_use]
    pub fn sent(channel: crate::sender::Channel) -> Self {
        match channel {
            crate::sender::Channel::Call => Self::Call,
            crate::sender::Channel::Sms | crate::sender::Channel::Email => Self::Sms,
        }
    }

    /// The column of the `stats` table it adds to (a fixed name, never
    /// input, so it may be written into the statement).
    #[must_use]
    pub fn column(self) -> &'static str {
        match self {
            Self::ApiCall => "api_calls",
            Self::Auth => "auths",
            Self::Call => "calls",
            Self::Sms => "sms",
            Self::User => "users",
        }
    }
}

/// Why the store failed.
#[derive(Debug)]
pub enum StoreError {
    /// The database cannot be reached, is busy past the timeout, or a
    /// write failed to commit: answered 503, nothing half-written.
    Unavailable(String),
    /// A write that refers to a row that is gone (a state whose owner was
    /// deleted meanwhile).
    Conflict,
    /// A fault that is not the caller's: answered 500, cause logged.
    Internal(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "database unavailable: {why}"),
            Self::Conflict => f.write_str("the row a write refers to is gone"),
            Self::Internal(why) => write!(f, "database error: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The result of a store call.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The persistence seam, one implementation per database: the server's
/// own metadata here, each aggregate in a trait of its own (applications,
/// users and their devices, states, counters; Verify's in theirs), each
/// implemented in a file of its name under each engine's module.
#[async_trait]
pub trait Store:
    AppStore
    + UserStore
    + StateStore
    + StatsStore
    + VerifyStore
    + FactorStore
    + RateLimitStore
    + Send
    + Sync
    + 'static
{
    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;

    /// A value of the server's own metadata (the master key check).
    async fn meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets `key` to `value` only if it has no value yet; returns the value
    /// that is stored afterwards (so concurrent first starts agree).
    async fn init_meta(&self, key: &str, value: &[u8]) -> Result<Vec<u8>>;
}

/// Applications.
#[async_trait]
pub trait AppStore: Send + Sync {
    /// Creates an application. A sandbox application also gets its own
    /// user +1 305-456-2345, as Authy's sandbox had: stored as user 51 for
    /// the first (ids are global), under a new id for the others, which the
    /// service shows as 51.
    async fn create_app(&self, new: NewApp, now: i64) -> Result<App>;
    /// The application whose key hashes to `key_hash`.
    async fn app_by_key_hash(&self, key_hash: &[u8; 32]) -> Result<Option<App>>;
    /// The application `id`.
    async fn app(&self, id: i64) -> Result<Option<App>>;
    /// Every application, by id.
    async fn apps(&self) -> Result<Vec<App>>;
    /// Applies `patch`; `None` when there is no such application.
    async fn update_app(&self, id: i64, patch: AppPatch) -> Result<Option<App>>;
    /// Replaces the key hash; false when there is no such application.
    async fn set_app_key(&self, id: i64, key_hash: &[u8; 32]) -> Result<bool>;
    /// Deletes an application with its users, devices and states.
    async fn delete_app(&self, id: i64) -> Result<bool>;
}

/// Users and their devices.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user of `app_id` with this phone, created with `email` if there
    /// is none; `true` when it was created now.
    async fn upsert_user(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> Result<(User, bool)>;
    /// The user `id` if it belongs to `app_id`.
    async fn user(&self, app_id: i64, id: i64) -> Result<Option<User>>;
    /// Creates the user of `app_id` with its id (an Authy id kept by the
    /// application), unless the id or the phone is taken; ids that
    /// `upsert_user` hands out later are above every imported one.
    async fn import_user(
        &self,
        id: i64,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> Result<Imported>;
    /// The user of `app_id` with this phone number.
    async fn user_by_phone(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
    ) -> Result<Option<User>>;
    /// The user `id` if it belongs to `app_id`, with its devices and every
    /// state it owns, read at once: what a verification needs before its compare-and-set. A state
    /// read here is only a first guess; its version decides, as after
    /// [`StateStore::load`].
    async fn user_with_states(&self, app_id: i64, id: i64) -> Result<Option<UserStates>>;
    /// The application whose key hashes to `key_hash` and, if it has a
    /// user `id`, that user as [`user_with_states`](Self::user_with_states)
    /// reads it: what a verification by API key reads before its
    /// compare-and-set, in one read (one statement, one round trip, on
    /// PostgreSQL). `None`: no application has the key.
    async fn app_with_user(
        &self,
        key_hash: &[u8; 32],
        id: i64,
    ) -> Result<Option<(App, Option<UserStates>)>>;
    /// The user `id`, whichever application it belongs to (for links that
    /// carry no API key, such as a QR code's).
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;
    /// Marks the user as having logged in once.
    async fn set_registered(&self, id: i64) -> Result<()>;
    /// Deletes the user of `app_id` with its devices and states.
    async fn delete_user(&self, app_id: i64, id: i64) -> Result<bool>;

    /// Enrols a device.
    async fn add_device(&self, device: Device) -> Result<Device>;
    /// The user's devices, oldest first.
    async fn devices(&self, user_id: i64) -> Result<Vec<Device>>;
    /// Deletes the user's device `device_id`; false when there is none.
    async fn remove_device(&self, user_id: i64, device_id: i64) -> Result<bool>;
}

/// Whose a state is: deleting the application, or the user, deletes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The application.
    pub app_id: i64,
    /// The user, for a user's states.
    pub user_id: Option<i64>,
}

/// Where a state is kept: its key and its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey {
    /// The key it is stored, read and compared under.
    pub key: String,
    /// Its owner.
    pub owner: Owner,
}

impl StateKey {
    /// An application's state.
    #[must_use]
    pub fn app(app_id: i64, key: String) -> Self {
        let owner = Owner {
            app_id,
            user_id: None,
        };
        Self { key, owner }
    }

    /// A user's state.
    #[must_use]
    pub fn user(app_id: i64, user_id: i64, key: String) -> Self {
        let owner = Owner {
            app_id,
            user_id: Some(user_id),
        };
        Self { key, owner }
    }
}

/// The version a new state starts at: random, not 1 for every state. A
/// state removed (swept, or its device's) and made again would otherwise
/// start again at the version a request read before the removal, and that
/// request's compare-and-set would overwrite the new state as if nothing
/// had changed.
pub(crate) fn first_version() -> i64 {
    use rand::RngExt;
    rand::rng().random_range(1..1i64 << 62)
}

/// The consumable states every code decision reads and writes by
/// compare-and-set. Each row names its owner, whose deletion deletes it
/// (a foreign key), and when it stops deciding anything.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// A consumable state with its version.
    async fn load(&self, key: &str) -> Result<Option<Versioned>>;
    /// Writes `value` if the stored version is still `expected` (`None`:
    /// only if there is no value yet), and `expires_at` (Unix seconds;
    /// `None`: never) with it. False when another writer won.
    /// [`StoreError::Conflict`] when the owner is gone.
    async fn cas(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
    ) -> Result<bool>;
    /// [`cas`](Self::cas) of a state of user `user_id` that, when it
    /// writes, also marks the user as having logged in once, in the same
    /// transaction: a user's first accepted token is one write (one round
    /// trip on PostgreSQL), not two.
    async fn cas_registering(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
        user_id: i64,
    ) -> Result<bool>;
    /// Removes a consumable state, whatever its version.
    async fn remove(&self, key: &str) -> Result<()>;
    /// Removes up to `limit` states whose `expires_at` is at or before
    /// `now`, in one statement; how many it removed. A state written
    /// meanwhile with a later expiry stays.
    async fn sweep(&self, now: i64, limit: u32) -> Result<u64>;
}

/// Monthly counters.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Adds `n` to a monthly counter of an application.
    async fn count(
        &self,
        app_id: i64,
        year: i32,
        month: u8,
        counter: Counter,
        n: i64,
    ) -> Result<()>;
    /// The application's months, oldest first.
    async fn stats(&self, app_id: i64) -> Result<Vec<MonthStats>>;
    /// Users of the application.
    async fn user_count(&self, app_id: i64) -> Result<i64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_number_email_or_seed() {
        let user = User {
            id: 1000,
            app_id: 1,
            country_code: 1,
            phone: "7754615609".into(),
            email: "someone@example.com".into(),
            created_at: 7,
            registered: true,
        };
        let device = Device {
            id: 3,
            user_id: 1000,
            uid: [0xab; 16],
            sealed_seed: b"SEALEDSEED".to_vec(),
            created_at: 7,
        };
        let shown = format!(
            "{:?}",
            UserStates {
                user,
                devices: vec![device],
                states: vec![],
            }
        );
        assert!(shown.contains("id: 1000"), "{shown}");
        for secret in [
            "7754615609",
            "someone@example.com",
            "SEALEDSEED",
            "83, 69, 65",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
