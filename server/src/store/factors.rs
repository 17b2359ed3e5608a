//! Verify's entities, TOTP factors and challenges, each row owned by its
//! application and removed with it (and with its entity or service).

use async_trait::async_trait;

use super::{Device, Result};

/// A Verify entity: one identity of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRow {
    /// Its place in the service's list.
    pub seq: i64,
    /// `YE` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its service.
    pub service_sid: String,
    /// The application's name for it.
    pub identity: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
}

/// A TOTP factor.
#[derive(Clone, PartialEq, Eq)]
pub struct FactorRow {
    /// Its place in the entity's list.
    pub seq: i64,
    /// `YF` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its entity.
    pub entity_seq: i64,
    /// The Authy authenticator whose seed and state it shares.
    pub device_id: Option<i64>,
    /// Its own seed, sealed under the master key.
    pub sealed_seed: Option<Vec<u8>>,
    /// Its settings, a JSON document the domain reads and writes.
    pub settings: String,
    /// Its version, for [`FactorStore::update_factor`].
    pub version: i64,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

impl std::fmt::Debug for FactorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactorRow")
            .field("seq", &self.seq)
            .field("sid", &self.sid)
            .field("entity_seq", &self.entity_seq)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// A challenge of a factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    /// Its place in the entity's list.
    pub seq: i64,
    /// `YC` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its entity.
    pub entity_seq: i64,
    /// Its factor.
    pub factor_seq: i64,
    /// `pending`, `approved`, `denied` (`expired` is read from the time).
    pub status: String,
    /// Its details, hidden details and metadata, a JSON document.
    pub details: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
    /// When it expires.
    pub expires_at: i64,
    /// When it was answered.
    pub responded_at: Option<i64>,
}

/// Which challenges a list shows.
#[derive(Debug, Clone, Default)]
pub struct ChallengeFilter {
    /// Only this factor's.
    pub factor_seq: Option<i64>,
    /// Only those stored with this status.
    pub status: Option<String>,
    /// Newest first.
    pub descending: bool,
    /// Only those expiring after this time (pending ones still live).
    pub expires_after: Option<i64>,
    /// Only those expired at this time.
    pub expired_at: Option<i64>,
}

/// The rows of Verify's factors.
#[async_trait]
pub trait FactorStore {
    /// Stores a new entity; false when the service has the identity.
    async fn create_entity(&self, row: &EntityRow) -> Result<bool>;
    /// The entity `identity` of a service.
    async fn entity(
        &self,
        app_id: i64,
        service_sid: &str,
        identity: &str,
    ) -> Result<Option<EntityRow>>;
    /// Up to `limit` of a service's entities after `after_seq`.
    async fn entities(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<EntityRow>>;
    /// Deletes an entity with its factors and challenges.
    async fn delete_entity(&self, app_id: i64, service_sid: &str, identity: &str) -> Result<bool>;

    /// Stores a new factor; `None` when the entity has one of the device.
    async fn create_factor(&self, row: &FactorRow) -> Result<Option<FactorRow>>;
    /// The factor `sid` of an entity.
    async fn factor(&self, app_id: i64, entity_seq: i64, sid: &str) -> Result<Option<FactorRow>>;
    /// Up to `limit` of an entity's factors after `after_seq`.
    async fn factors(
        &self,
        app_id: i64,
        entity_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<FactorRow>>;
    /// Replaces a factor's settings if its version is still `version`.
    async fn update_factor(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> Result<bool>;
    /// Deletes a factor with its challenges.
    async fn delete_factor(&self, app_id: i64, sid: &str) -> Result<bool>;

    /// Stores a new challenge; returns it with its place.
    async fn create_challenge(&self, row: &ChallengeRow) -> Result<ChallengeRow>;
    /// The challenge `sid` of an entity.
    async fn challenge(
        &self,
        app_id: i64,
        entity_seq: i64,
        sid: &str,
    ) -> Result<Option<ChallengeRow>>;
    /// Up to `limit` of an entity's challenges past `after` (a place, in
    /// the list's order).
    async fn challenges(
        &self,
        app_id: i64,
        entity_seq: i64,
        filter: &ChallengeFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChallengeRow>>;
    /// Up to `limit` of the authenticators of the application's users,
    /// by id, after `after_id`: what a migration to Verify walks.
    async fn app_devices(&self, app_id: i64, after_id: i64, limit: u32) -> Result<Vec<Device>>;

    /// Answers a pending challenge: sets `status` only if it is still
    /// `pending`; false when it was answered meanwhile.
    async fn respond_challenge(
        &self,
        app_id: i64,
        sid: &str,
        status: &str,
        now: i64,
    ) -> Result<bool>;
}
