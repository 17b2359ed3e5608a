//! [`RateLimitStore`] on PostgreSQL.

use async_trait::async_trait;

use super::{Postgres, StoreError};
use crate::store::{BucketRow, RateLimitRow, RateLimitStore, Result};

const LIMIT: &str =
    "seq, sid, app_id, service_sid, unique_name, description, created_at, updated_at";
const BUCKET: &str =
    "seq, sid, app_id, rate_limit_seq, max_count, interval_seconds, created_at, updated_at";

fn limit_row(r: &tokio_postgres::Row) -> RateLimitRow {
    RateLimitRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        service_sid: r.get(3),
        unique_name: r.get(4),
        description: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
    }
}

fn bucket_row(r: &tokio_postgres::Row) -> BucketRow {
    BucketRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        rate_limit_seq: r.get(3),
        max: r.get(4),
        interval: r.get(5),
        created_at: r.get(6),
        updated_at: r.get(7),
    }
}

#[async_trait]
impl RateLimitStore for Postgres {
    async fn create_rate_limit(&self, row: &RateLimitRow) -> Result<bool> {
        self.exec(
            "INSERT INTO verify_rate_limits (sid, app_id, service_sid, unique_name, description, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                &row.sid,
                &row.app_id,
                &row.service_sid,
                &row.unique_name,
                &row.description,
                &row.created_at,
                &row.updated_at,
            ],
        )
        .await
        .map(|n| n == 1)
    }

    async fn rate_limit(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> Result<Option<RateLimitRow>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {LIMIT} FROM verify_rate_limits \
                     WHERE sid = $1 AND app_id = $2 AND service_sid = $3"
                ),
                &[&sid, &app_id, &service_sid],
            )
            .await?
            .as_ref()
            .map(limit_row))
    }

    async fn rate_limit_named(
        &self,
        app_id: i64,
        service_sid: &str,
        unique_name: &str,
    ) -> Result<Option<RateLimitRow>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {LIMIT} FROM verify_rate_limits \
                     WHERE unique_name = $1 AND app_id = $2 AND service_sid = $3"
                ),
                &[&unique_name, &app_id, &service_sid],
            )
            .await?
            .as_ref()
            .map(limit_row))
    }

    async fn rate_limits(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<RateLimitRow>> {
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {LIMIT} FROM verify_rate_limits WHERE app_id = $1 AND service_sid = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&app_id, &service_sid, &after_seq, &limit],
            )
            .await?
            .iter()
            .map(limit_row)
            .collect())
    }

    async fn describe_rate_limit(
        &self,
        app_id: i64,
        sid: &str,
        description: &str,
        now: i64,
    ) -> Result<bool> {
        self.exec(
            "UPDATE verify_rate_limits SET description = $3, updated_at = $4 \
             WHERE sid = $1 AND app_id = $2",
            &[&sid, &app_id, &description, &now],
        )
        .await
        .map(|n| n == 1)
    }

    async fn delete_rate_limit(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_rate_limits", app_id, sid).await
    }

    async fn create_bucket(&self, row: &BucketRow) -> Result<bool> {
        self.exec(
            "INSERT INTO verify_buckets (sid, app_id, rate_limit_seq, max_count, interval_seconds, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                &row.sid,
                &row.app_id,
                &row.rate_limit_seq,
                &row.max,
                &row.interval,
                &row.created_at,
                &row.updated_at,
            ],
        )
        .await
        .map(|n| n == 1)
    }

    async fn bucket(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        sid: &str,
    ) -> Result<Option<BucketRow>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {BUCKET} FROM verify_buckets \
                     WHERE sid = $1 AND app_id = $2 AND rate_limit_seq = $3"
                ),
                &[&sid, &app_id, &rate_limit_seq],
            )
            .await?
            .as_ref()
            .map(bucket_row))
    }

    async fn buckets(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<BucketRow>> {
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {BUCKET} FROM verify_buckets WHERE app_id = $1 AND rate_limit_seq = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&app_id, &rate_limit_seq, &after_seq, &limit],
            )
            .await?
            .iter()
            .map(bucket_row)
            .collect())
    }

    async fn set_bucket(
        &self,
        app_id: i64,
        sid: &str,
        max: i64,
        interval: i64,
        now: i64,
    ) -> Result<bool> {
        // An interval another bucket of the limit has violates the unique
        // constraint (23505): refused as false.
        match self
            .exec(
                "UPDATE verify_buckets SET max_count = $3, interval_seconds = $4, updated_at = $5 \
                 WHERE sid = $1 AND app_id = $2",
                &[&sid, &app_id, &max, &interval, &now],
            )
            .await
        {
            Ok(n) => Ok(n == 1),
            Err(StoreError::Internal(why))
                if why.contains("verify_buckets_rate_limit_seq_interval_seconds_key") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn delete_bucket(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_buckets", app_id, sid).await
    }
}
