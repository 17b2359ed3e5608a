//! Verify's rate limits and buckets: a service names a limit
//! (`UniqueName`), gives it buckets (at most `max` in `interval` seconds),
//! and a verification passes `RateLimits={"name":"value"}`: each bucket of
//! the named limit takes one unit for the value, by compare-and-set, so the
//! limit holds across nodes like every other. The value (an IP address, a
//! user's id, a number) is kept only as a keyed tag in the state's key.

use super::accounts::{new_sid, sid_bytes};
use super::services::VerifyService;
use super::*;
use crate::store::{BucketRow, RateLimitRow};

/// Rate limits one service may have.
pub(super) const MAX_RATE_LIMITS: u32 = 100;
/// Buckets one rate limit may have.
pub(super) const MAX_BUCKETS: u32 = 20;

/// A rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRateLimit {
    /// `RK` and 32 hex digits.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// The name verifications give it by.
    pub unique_name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
    /// Its place in the list.
    pub seq: i64,
}

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `BL` and 32 hex digits.
    pub sid: String,
    /// Its rate limit's SID.
    pub rate_limit_sid: String,
    /// Its service.
    pub service_sid: String,
    /// At most this many...
    pub max: u32,
    /// ... in this many seconds.
    pub interval: u32,
    /// When it was created.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
    /// Its place in the list.
    pub seq: i64,
}

fn limit_view(row: RateLimitRow) -> VerifyRateLimit {
    VerifyRateLimit {
        sid: row.sid,
        service_sid: row.service_sid,
        unique_name: row.unique_name,
        description: row.description,
        created_at: u64::try_from(row.created_at).unwrap_or(0),
        updated_at: u64::try_from(row.updated_at).unwrap_or(0),
        seq: row.seq,
    }
}

fn bucket_view(limit: &VerifyRateLimit, row: BucketRow) -> Bucket {
    Bucket {
        sid: row.sid,
        rate_limit_sid: limit.sid.clone(),
        service_sid: limit.service_sid.clone(),
        max: u32::try_from(row.max).unwrap_or(0),
        interval: u32::try_from(row.interval).unwrap_or(0),
        created_at: u64::try_from(row.created_at).unwrap_or(0),
        updated_at: u64::try_from(row.updated_at).unwrap_or(0),
        seq: row.seq,
    }
}

fn invalid(name: &'static str, reason: &str) -> Error {
    Error::Invalid {
        name,
        reason: reason.into(),
    }
}

/// A unique name Verify takes: 1 to 191 letters, digits, `-`, `_`, `.`.
fn valid_name(name: &str) -> bool {
    (1..=191).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The most a bucket may allow a window.
pub(super) const MAX_MAX: u32 = 100_000;

/// A bucket's limit within one window: `max` at once (the window is the
/// bucket's interval; each window has its own state, so a bucket allows
/// `max` in each fixed window of `interval` seconds).
fn bucket_limit(max: u32, interval: u32) -> Result<RateLimit, Error> {
    if max == 0 || max > MAX_MAX {
        return Err(invalid("Max", "1 to 100000"));
    }
    if interval == 0 {
        return Err(invalid("Interval", "1 or more seconds"));
    }
    RateLimit::new(max, u64::from(interval), max).map_err(|_| invalid("Max", "1 to 100000"))
}

/// The state key of what bucket `seq` has taken in the window ending at
/// `window_end` for a value's tag: the value is in no key.
fn bucket_key(app_id: i64, seq: i64, window_end: u64, tag: &[u8; 32]) -> StateKey {
    let key = format!(
        "app:{app_id}:bucket:{seq}:{window_end}:{}",
        hex::encode(&tag[..16])
    );
    StateKey::app(app_id, key)
}

impl Domain {
    /// Creates a rate limit of the service.
    ///
    /// # Errors
    /// [`Error::Invalid`], [`Error::Conflict`] for a name
    /// the service has.
    pub async fn create_rate_limit(
        &self,
        app: &App,
        service: &VerifyService,
        unique_name: &str,
        description: Option<String>,
        now: u64,
    ) -> Result<VerifyRateLimit, Error> {
        if !valid_name(unique_name) {
            return Err(invalid(
                "UniqueName",
                "1 to 191 letters, digits, '-', '_' or '.'",
            ));
        }
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 255)
        {
            return Err(invalid("Description", "at most 255 characters"));
        }
        let count = self
            .store
            .rate_limits(app.id, &service.sid, 0, MAX_RATE_LIMITS)
            .await?
            .len();
        if count >= MAX_RATE_LIMITS as usize {
            return Err(invalid(
                "UniqueName",
                "a service has at most 100 rate limits",
            ));
        }
        let row = RateLimitRow {
            seq: 0,
            sid: new_sid("RK"),
            app_id: app.id,
            service_sid: service.sid.clone(),
            unique_name: unique_name.to_owned(),
            description,
            created_at: now_i64(now),
            updated_at: now_i64(now),
        };
        if !self.store.create_rate_limit(&row).await? {
            return Err(Error::Conflict("RateLimit"));
        }
        self.rate_limit(app, service, &row.sid).await
    }

    /// The service's rate limit `sid`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn rate_limit(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
    ) -> Result<VerifyRateLimit, Error> {
        if sid_bytes("RK", sid).is_none() {
            return Err(Error::NotFound);
        }
        self.store
            .rate_limit(app.id, &service.sid, sid)
            .await?
            .map(limit_view)
            .ok_or(Error::NotFound)
    }

    /// Up to `limit` of the service's rate limits after place `after`.
    ///
    /// # Errors
    /// A store failure.
    pub async fn rate_limits(
        &self,
        app: &App,
        service: &VerifyService,
        after: i64,
        limit: u32,
    ) -> Result<Vec<VerifyRateLimit>, Error> {
        Ok(self
            .store
            .rate_limits(app.id, &service.sid, after, limit)
            .await?
            .into_iter()
            .map(limit_view)
            .collect())
    }

    /// Sets a rate limit's description.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`].
    pub async fn describe_rate_limit(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
        description: &str,
        now: u64,
    ) -> Result<VerifyRateLimit, Error> {
        if description.chars().count() > 255 {
            return Err(invalid("Description", "at most 255 characters"));
        }
        self.rate_limit(app, service, sid).await?;
        self.store
            .describe_rate_limit(app.id, sid, description, now_i64(now))
            .await?;
        self.rate_limit(app, service, sid).await
    }

    /// Deletes a rate limit with its buckets.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_rate_limit(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
    ) -> Result<(), Error> {
        self.rate_limit(app, service, sid).await?;
        if !self.store.delete_rate_limit(app.id, sid).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Adds a bucket to a rate limit.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`],
    /// [`Error::Conflict`] for an interval the limit has.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_bucket(
        &self,
        app: &App,
        service: &VerifyService,
        rate_limit: &str,
        max: u32,
        interval: u32,
        now: u64,
    ) -> Result<Bucket, Error> {
        let limit = self.rate_limit(app, service, rate_limit).await?;
        bucket_limit(max, interval)?;
        let count = self
            .store
            .buckets(app.id, limit.seq, 0, MAX_BUCKETS)
            .await?
            .len();
        if count >= MAX_BUCKETS as usize {
            return Err(invalid("Interval", "a rate limit has at most 20 buckets"));
        }
        let row = BucketRow {
            seq: 0,
            sid: new_sid("BL"),
            app_id: app.id,
            rate_limit_seq: limit.seq,
            max: i64::from(max),
            interval: i64::from(interval),
            created_at: now_i64(now),
            updated_at: now_i64(now),
        };
        if !self.store.create_bucket(&row).await? {
            return Err(Error::Conflict("Bucket"));
        }
        self.bucket(app, service, rate_limit, &row.sid).await
    }

    /// The bucket `sid` of a rate limit.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn bucket(
        &self,
        app: &App,
        service: &VerifyService,
        rate_limit: &str,
        sid: &str,
    ) -> Result<Bucket, Error> {
        let limit = self.rate_limit(app, service, rate_limit).await?;
        if sid_bytes("BL", sid).is_none() {
            return Err(Error::NotFound);
        }
        self.store
            .bucket(app.id, limit.seq, sid)
            .await?
            .map(|row| bucket_view(&limit, row))
            .ok_or(Error::NotFound)
    }

    /// Up to `limit` of a rate limit's buckets after place `after`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn buckets(
        &self,
        app: &App,
        service: &VerifyService,
        rate_limit: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Bucket>, Error> {
        let rate_limit = self.rate_limit(app, service, rate_limit).await?;
        Ok(self
            .store
            .buckets(app.id, rate_limit.seq, after, limit)
            .await?
            .into_iter()
            .map(|row| bucket_view(&rate_limit, row))
            .collect())
    }

    /// Changes a bucket's max or interval.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`],
    /// [`Error::Conflict`].
    #[allow(clippy::too_many_arguments)]
    pub async fn update_bucket(
        &self,
        app: &App,
        service: &VerifyService,
        rate_limit: &str,
        sid: &str,
        max: Option<u32>,
        interval: Option<u32>,
        now: u64,
    ) -> Result<Bucket, Error> {
        let bucket = self.bucket(app, service, rate_limit, sid).await?;
        let (max, interval) = (
            max.unwrap_or(bucket.max),
            interval.unwrap_or(bucket.interval),
        );
        bucket_limit(max, interval)?;
        if !self
            .store
            .set_bucket(
                app.id,
                sid,
                i64::from(max),
                i64::from(interval),
                now_i64(now),
            )
            .await?
        {
            return Err(Error::Conflict("Bucket"));
        }
        self.bucket(app, service, rate_limit, sid).await
    }

    /// Deletes a bucket.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_bucket(
        &self,
        app: &App,
        service: &VerifyService,
        rate_limit: &str,
        sid: &str,
    ) -> Result<(), Error> {
        self.bucket(app, service, rate_limit, sid).await?;
        if !self.store.delete_bucket(app.id, sid).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Takes one unit of every bucket of each named rate limit for its
    /// value (`RateLimits` of a verification), before anything is sent.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `RateLimits` for a name the
    /// service does not have, [`Error::Limited`] with
    /// `Limit::ServiceRateLimit` when a bucket is empty.
    pub(super) async fn take_rate_limits(
        &self,
        app: &App,
        service: &VerifyService,
        values: &[(String, String)],
        now: u64,
    ) -> Result<(), Error> {
        for (name, value) in values {
            if !valid_name(name) {
                return Err(invalid(
                    "RateLimits",
                    "a rate limit the service does not have",
                ));
            }
            let limit = self
                .store
                .rate_limit_named(app.id, &service.sid, name)
                .await?
                .ok_or_else(|| invalid("RateLimits", "a rate limit the service does not have"))?;
            let tag = self.keyed_tag(
                b"passcode-server rate limit value v1\0",
                &[limit.sid.as_bytes(), value.as_bytes()],
            );
            for bucket in self
                .store
                .buckets(app.id, limit.seq, 0, MAX_BUCKETS)
                .await?
            {
                let (max, interval) = (
                    u32::try_from(bucket.max).unwrap_or(1),
                    u32::try_from(bucket.interval).unwrap_or(1),
                );
                let window_end =
                    (now / u64::from(interval.max(1)) + 1) * u64::from(interval.max(1));
                // Nothing reads the state after its window.
                self.take_until(
                    &bucket_key(app.id, bucket.seq, window_end, &tag),
                    bucket_limit(max, interval)?,
                    now,
                    Limit::ServiceRateLimit,
                    window_end,
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_key_names_its_window_and_no_value() {
        let key = bucket_key(3, 9, 1_700_000_040, &[7; 32]);
        // The upgrade to owned states (migration 0005/0006) reads the
        // window's end of a state written before from its key.
        assert_eq!(
            key.key,
            "app:3:bucket:9:1700000040:07070707070707070707070707070707"
        );
        assert_eq!(key.owner.app_id, 3);
        assert!(bucket_limit(MAX_MAX + 1, 60).is_err());
        assert!(bucket_limit(0, 60).is_err());
        assert!(bucket_limit(5, 0).is_err());
        // The window's limit allows its max at once.
        let limit = bucket_limit(5, 60).unwrap();
        let mut state = RateLimitState::new();
        assert!((0..5).all(|_| limit.check(&mut state, 1_000).is_ok()));
        assert!(limit.check(&mut state, 1_000).is_err());
    }

    #[test]
    fn unique_names_are_checked() {
        for good in ["end_user_ip_address", "a", "x.y-z_1"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "with space", "ü", &"a".repeat(192)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
