//! [`RateLimitStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{Cached, Sqlite, classify};
use crate::store::{BucketRow, RateLimitRow, RateLimitStore, Result};

const LIMIT: &str =
    "seq, sid, app_id, service_sid, unique_name, description, created_at, updated_at";
const BUCKET: &str =
    "seq, sid, app_id, rate_limit_seq, max_count, interval_seconds, created_at, updated_at";

fn limit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RateLimitRow> {
    Ok(RateLimitRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        service_sid: r.get(3)?,
        unique_name: r.get(4)?,
        description: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

fn bucket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BucketRow> {
    Ok(BucketRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        rate_limit_seq: r.get(3)?,
        max: r.get(4)?,
        interval: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

/// A write that a unique constraint may refuse: false then.
fn unless_taken(result: rusqlite::Result<usize>) -> Result<bool> {
    match result {
        Ok(n) => Ok(n == 1),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            Ok(false)
        }
        Err(e) => Err(classify(e)),
    }
}

#[async_trait]
impl RateLimitStore for Sqlite {
    async fn create_rate_limit(&self, row: &RateLimitRow) -> Result<bool> {
        let row = row.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO verify_rate_limits (sid, app_id, service_sid, unique_name, description, \
                 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![
                    row.sid,
                    row.app_id,
                    row.service_sid,
                    row.unique_name,
                    row.description,
                    row.created_at,
                    row.updated_at
                ],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn rate_limit(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> Result<Option<RateLimitRow>> {
        let (service_sid, sid) = (service_sid.to_owned(), sid.to_owned());
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {LIMIT} FROM verify_rate_limits \
                     WHERE sid = ?1 AND app_id = ?2 AND service_sid = ?3"
                ),
                params![sid, app_id, service_sid],
                limit_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn rate_limit_named(
        &self,
        app_id: i64,
        service_sid: &str,
        unique_name: &str,
    ) -> Result<Option<RateLimitRow>> {
        let (service_sid, name) = (service_sid.to_owned(), unique_name.to_owned());
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {LIMIT} FROM verify_rate_limits \
                     WHERE unique_name = ?1 AND app_id = ?2 AND service_sid = ?3"
                ),
                params![name, app_id, service_sid],
                limit_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn rate_limits(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<RateLimitRow>> {
        let service_sid = service_sid.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {LIMIT} FROM verify_rate_limits WHERE app_id = ?1 AND service_sid = ?2 \
                     AND seq > ?3 ORDER BY seq LIMIT ?4"
                ))
                .map_err(classify)?;
            let rows = stmt
                .query_map(params![app_id, service_sid, after_seq, limit], limit_row)
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn describe_rate_limit(
        &self,
        app_id: i64,
        sid: &str,
        description: &str,
        now: i64,
    ) -> Result<bool> {
        let (sid, description) = (sid.to_owned(), description.to_owned());
        self.write(move |c| {
            c.run(
                "UPDATE verify_rate_limits SET description = ?3, updated_at = ?4 \
                 WHERE sid = ?1 AND app_id = ?2",
                params![sid, app_id, description, now],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn delete_rate_limit(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_rate_limits", app_id, sid).await
    }

    async fn create_bucket(&self, row: &BucketRow) -> Result<bool> {
        let row = row.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO verify_buckets (sid, app_id, rate_limit_seq, max_count, interval_seconds, \
                 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![
                    row.sid,
                    row.app_id,
                    row.rate_limit_seq,
                    row.max,
                    row.interval,
                    row.created_at,
                    row.updated_at
                ],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn bucket(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        sid: &str,
    ) -> Result<Option<BucketRow>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {BUCKET} FROM verify_buckets \
                     WHERE sid = ?1 AND app_id = ?2 AND rate_limit_seq = ?3"
                ),
                params![sid, app_id, rate_limit_seq],
                bucket_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn buckets(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<BucketRow>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {BUCKET} FROM verify_buckets WHERE app_id = ?1 AND rate_limit_seq = ?2 \
                     AND seq > ?3 ORDER BY seq LIMIT ?4"
                ))
                .map_err(classify)?;
            let rows = stmt
                .query_map(
                    params![app_id, rate_limit_seq, after_seq, limit],
                    bucket_row,
                )
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn set_bucket(
        &self,
        app_id: i64,
        sid: &str,
        max: i64,
        interval: i64,
        now: i64,
    ) -> Result<bool> {
        let sid = sid.to_owned();
        self.write(move |c| {
            unless_taken(c.run(
                "UPDATE verify_buckets SET max_count = ?3, interval_seconds = ?4, updated_at = ?5 \
                 WHERE sid = ?1 AND app_id = ?2",
                params![sid, app_id, max, interval, now],
            ))
        })
        .await
    }

    async fn delete_bucket(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_buckets", app_id, sid).await
    }
}
