//! Verify's rate limits (a name a verification can be limited by) and
//! their buckets (at most `max` in `interval` seconds).

use async_trait::async_trait;

use super::Result;

/// A rate limit of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRow {
    /// Its place in the service's list.
    pub seq: i64,
    /// `RK` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its service.
    pub service_sid: String,
    /// The name verifications give it by.
    pub unique_name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// A bucket of a rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRow {
    /// Its place in the rate limit's list.
    pub seq: i64,
    /// `BL` and 32 hex digits.
    pub sid: String,
    /// Its application.
    pub app_id: i64,
    /// Its rate limit.
    pub rate_limit_seq: i64,
    /// At most this many...
    pub max: i64,
    /// ... in this many seconds.
    pub interval: i64,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// The rows of Verify's rate limits.
#[async_trait]
pub trait RateLimitStore {
    /// Stores a new rate limit; false when the service has the name.
    async fn create_rate_limit(&self, row: &RateLimitRow) -> Result<bool>;
    /// The rate limit `sid` of a service.
    async fn rate_limit(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> Result<Option<RateLimitRow>>;
    /// The rate limit of a service by its unique name.
    async fn rate_limit_named(
        &self,
        app_id: i64,
        service_sid: &str,
        unique_name: &str,
    ) -> Result<Option<RateLimitRow>>;
    /// Up to `limit` of a service's rate limits after `after_seq`.
    async fn rate_limits(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<RateLimitRow>>;
    /// Sets a rate limit's description.
    async fn describe_rate_limit(
        &self,
        app_id: i64,
        sid: &str,
        description: &str,
        now: i64,
    ) -> Result<bool>;
    /// Deletes a rate limit with its buckets.
    async fn delete_rate_limit(&self, app_id: i64, sid: &str) -> Result<bool>;

    /// Stores a new bucket; false when the rate limit has the interval.
    async fn create_bucket(&self, row: &BucketRow) -> Result<bool>;
    /// The bucket `sid` of a rate limit.
    async fn bucket(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        sid: &str,
    ) -> Result<Option<BucketRow>>;
    /// Up to `limit` of a rate limit's buckets after `after_seq`.
    async fn buckets(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<BucketRow>>;
    /// Sets a bucket's max and interval; false when gone or the interval is
    /// taken.
    async fn set_bucket(
        &self,
        app_id: i64,
        sid: &str,
        max: i64,
        interval: i64,
        now: i64,
    ) -> Result<bool>;
    /// Deletes a bucket.
    async fn delete_bucket(&self, app_id: i64, sid: &str) -> Result<bool>;
}
