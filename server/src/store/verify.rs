//! The Verify surface's own rows: each application's account (its SID and
//! the hash of its auth token) and its Verify services. Their
//! verifications are states, like the phone verifications they share
//! codes with.

use async_trait::async_trait;

use super::Result;

/// An application's account on the Verify surface.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The application.
    pub app_id: i64,
    /// `AC` and 32 hex digits.
    pub sid: String,
    /// SHA-256 of the auth token.
    pub token_hash: [u8; 32],
    /// The auth token sealed under the master key, once the server has
    /// seen it (it signs webhooks).
    pub sealed_token: Option<Vec<u8>>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("app_id", &self.app_id)
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

/// A Verify webhook of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Its place in the service's list.
    pub seq: i64,
    /// `YW` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its service.
    pub service_sid: String,
    /// Its settings, a JSON document the domain reads and writes.
    pub settings: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// A verification approved: its sends are marked converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The application.
    pub app_id: i64,
    /// The verification's SID.
    pub verification_sid: String,
    /// When it was approved (Unix seconds).
    pub at: i64,
}

/// One send of a Verify verification's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// Its place in the application's list.
    pub seq: i64,
    /// `VL` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its service.
    pub service_sid: String,
    /// Its verification.
    pub verification_sid: String,
    /// `sms` or `call`.
    pub channel: String,
    /// The number's region (ISO 3166 alpha-2).
    pub country: String,
    /// The number, masked.
    pub masked_to: String,
    /// A keyed tag of the number, to find its attempts by.
    pub to_tag: String,
    /// Digits of the code.
    pub code_length: i64,
    /// The message's language.
    pub locale: String,
    /// Whether its verification was approved.
    pub converted: bool,
    /// When it was sent (Unix seconds).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// Which attempts a list or a summary counts; `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct AttemptFilter {
    /// Of this service.
    pub service_sid: Option<String>,
    /// Of this verification.
    pub verification_sid: Option<String>,
    /// By this channel.
    pub channel: Option<String>,
    /// To this region.
    pub country: Option<String>,
    /// To the number with this tag.
    pub to_tag: Option<String>,
    /// Converted (true) or not (false).
    pub converted: Option<bool>,
    /// Sent at or after.
    pub created_after: Option<i64>,
    /// Sent before.
    pub created_before: Option<i64>,
}

/// An API key of an application's account.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `SK` and 32 hex digits.
    pub sid: String,
    /// The application.
    pub app_id: i64,
    /// Its name.
    pub friendly_name: String,
    /// SHA-256 of its secret.
    pub secret_hash: [u8; 32],
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("sid", &self.sid)
            .field("app_id", &self.app_id)
            .field("friendly_name", &self.friendly_name)
            .finish_non_exhaustive()
    }
}

/// A Verify service as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyServiceRow {
    /// Its place in the application's list.
    pub seq: i64,
    /// `VA` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its settings, a JSON document the domain reads and writes.
    pub settings: String,
    /// Its version, for [`VerifyStore::update_verify_service`].
    pub version: i64,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it was last changed (Unix seconds).
    pub updated_at: i64,
}

/// The Verify surface's rows.
#[async_trait]
pub trait VerifyStore {
    /// Sets the application's account (a new one, or a new token for the
    /// one it has, under the same SID); false when there is no such
    /// application, or the SID belongs to another one.
    async fn set_account(&self, account: &Account) -> Result<bool>;
    /// The application's account.
    async fn account(&self, app_id: i64) -> Result<Option<Account>>;
    /// The account with this SID.
    async fn account_by_sid(&self, sid: &str) -> Result<Option<Account>>;
    /// The account with this SID and its application, read at once: what
    /// every Verify request's authentication reads.
    async fn account_with_app(&self, sid: &str) -> Result<Option<(Account, super::App)>>;
    /// Keeps the sealed auth token of the application's account if the
    /// token is still the one hashed to `token_hash` and none is kept yet.
    async fn seal_account_token(
        &self,
        app_id: i64,
        token_hash: &[u8; 32],
        sealed: &[u8],
    ) -> Result<bool>;

    /// Records a send.
    async fn record_attempt(&self, row: &AttemptRow) -> Result<()>;
    /// Marks the sends of each verification converted, in one write.
    async fn convert_attempts(&self, conversions: &[Conversion]) -> Result<()>;
    /// The attempt `sid`.
    async fn attempt(&self, app_id: i64, sid: &str) -> Result<Option<AttemptRow>>;
    /// Up to `limit` of the application's attempts after `after_seq`, by
    /// the filter.
    async fn attempts(
        &self,
        app_id: i64,
        filter: &AttemptFilter,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AttemptRow>>;
    /// How many attempts the filter matches, and how many are converted.
    async fn attempt_totals(&self, app_id: i64, filter: &AttemptFilter) -> Result<(i64, i64)>;

    /// Stores a new webhook.
    async fn create_webhook(&self, row: &WebhookRow) -> Result<()>;
    /// The webhook `sid` of a service.
    async fn webhook(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> Result<Option<WebhookRow>>;
    /// Up to `limit` of a service's webhooks after `after_seq`.
    async fn webhooks(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<WebhookRow>>;
    /// Replaces a webhook's settings.
    async fn update_webhook(
        &self,
        app_id: i64,
        sid: &str,
        settings: &str,
        now: i64,
    ) -> Result<bool>;
    /// Deletes a webhook.
    async fn delete_webhook(&self, app_id: i64, sid: &str) -> Result<bool>;

    /// Stores a new API key.
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;
    /// The API key `sid`.
    async fn api_key(&self, sid: &str) -> Result<Option<ApiKey>>;
    /// The application's API keys, oldest first.
    async fn api_keys(&self, app_id: i64) -> Result<Vec<ApiKey>>;
    /// Deletes the application's API key `sid`; false when there is none.
    async fn delete_api_key(&self, app_id: i64, sid: &str) -> Result<bool>;

    /// Stores a new service (its `seq` is the store's); false when the SID
    /// is taken.
    async fn create_verify_service(&self, row: &VerifyServiceRow) -> Result<bool>;
    /// The application's service `sid`.
    async fn verify_service(&self, app_id: i64, sid: &str) -> Result<Option<VerifyServiceRow>>;
    /// Whether the application has the service `sid`.
    async fn verify_service_exists(&self, app_id: i64, sid: &str) -> Result<bool>;
    /// The state `key` if the application's service `sid` exists
    /// (`Some(None)`: it exists and there is no state), in one read: what a
    /// Verify check needs before its compare-and-set. `None`: no such
    /// service.
    async fn service_state(
        &self,
        app_id: i64,
        sid: &str,
        key: &str,
    ) -> Result<Option<Option<super::Versioned>>>;
    /// Up to `limit` of the application's services after `after_seq`, in
    /// the order they were created.
    async fn verify_services(
        &self,
        app_id: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<VerifyServiceRow>>;
    /// Replaces the settings of the application's service `sid` if its
    /// version is still `version`; false when it changed or is gone.
    async fn update_verify_service(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> Result<bool>;
    /// Deletes the application's service `sid`; false when there is none.
    async fn delete_verify_service(&self, app_id: i64, sid: &str) -> Result<bool>;
}
