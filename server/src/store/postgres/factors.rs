//! [`FactorStore`] on PostgreSQL.

use async_trait::async_trait;

use super::{Postgres, device_row};
use crate::store::{
    ChallengeFilter, ChallengeRow, Device, EntityRow, FactorRow, FactorStore, Result,
};

const ENTITY: &str = "seq, sid, app_id, service_sid, identity, created_at";
const FACTOR: &str = "seq, sid, app_id, entity_seq, device_id, sealed_seed, settings, version, created_at, updated_at";
const CHALLENGE: &str = "seq, sid, app_id, entity_seq, factor_seq, status, details, created_at, \
     updated_at, expires_at, responded_at";

fn entity_row(r: &tokio_postgres::Row) -> EntityRow {
    EntityRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        service_sid: r.get(3),
        identity: r.get(4),
        created_at: r.get(5),
    }
}

fn factor_row(r: &tokio_postgres::Row) -> FactorRow {
    FactorRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        entity_seq: r.get(3),
        device_id: r.get(4),
        sealed_seed: r.get(5),
        settings: r.get(6),
        version: r.get(7),
        created_at: r.get(8),
        updated_at: r.get(9),
    }
}

fn challenge_row(r: &tokio_postgres::Row) -> ChallengeRow {
    ChallengeRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        entity_seq: r.get(3),
        factor_seq: r.get(4),
        status: r.get(5),
        details: r.get(6),
        created_at: r.get(7),
        updated_at: r.get(8),
        expires_at: r.get(9),
        responded_at: r.get(10),
    }
}

#[async_trait]
impl FactorStore for Postgres {
    async fn create_entity(&self, row: &EntityRow) -> Result<bool> {
        self.exec(
            "INSERT INTO verify_entities (sid, app_id, service_sid, identity, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[
                &row.sid,
                &row.app_id,
                &row.service_sid,
                &row.identity,
                &row.created_at,
            ],
        )
        .await
        .map(|n| n == 1)
    }

    async fn entity(
        &self,
        app_id: i64,
        service_sid: &str,
        identity: &str,
    ) -> Result<Option<EntityRow>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {ENTITY} FROM verify_entities \
                     WHERE app_id = $1 AND service_sid = $2 AND identity = $3"
                ),
                &[&app_id, &service_sid, &identity],
            )
            .await?
            .as_ref()
            .map(entity_row))
    }

    async fn entities(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<EntityRow>> {
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {ENTITY} FROM verify_entities WHERE app_id = $1 AND service_sid = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&app_id, &service_sid, &after_seq, &limit],
            )
            .await?
            .iter()
            .map(entity_row)
            .collect())
    }

    async fn delete_entity(&self, app_id: i64, service_sid: &str, identity: &str) -> Result<bool> {
        self.exec(
            "DELETE FROM verify_entities WHERE app_id = $1 AND service_sid = $2 AND identity = $3",
            &[&app_id, &service_sid, &identity],
        )
        .await
        .map(|n| n == 1)
    }

    async fn create_factor(&self, row: &FactorRow) -> Result<Option<FactorRow>> {
        Ok(self
            .row(
                &format!(
                    "INSERT INTO verify_factors (sid, app_id, entity_seq, device_id, sealed_seed, \
                     settings, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING \
                     RETURNING {FACTOR}"
                ),
                &[
                    &row.sid,
                    &row.app_id,
                    &row.entity_seq,
                    &row.device_id,
                    &row.sealed_seed,
                    &row.settings,
                    &row.version,
                    &row.created_at,
                    &row.updated_at,
                ],
            )
            .await?
            .as_ref()
            .map(factor_row))
    }

    async fn factor(&self, app_id: i64, entity_seq: i64, sid: &str) -> Result<Option<FactorRow>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {FACTOR} FROM verify_factors \
                     WHERE sid = $1 AND app_id = $2 AND entity_seq = $3"
                ),
                &[&sid, &app_id, &entity_seq],
            )
            .await?
            .as_ref()
            .map(factor_row))
    }

    async fn factors(
        &self,
        app_id: i64,
        entity_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<FactorRow>> {
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {FACTOR} FROM verify_factors WHERE app_id = $1 AND entity_seq = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&app_id, &entity_seq, &after_seq, &limit],
            )
            .await?
            .iter()
            .map(factor_row)
            .collect())
    }

    async fn update_factor(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> Result<bool> {
        self.exec(
            "UPDATE verify_factors SET settings = $4, version = version + 1, updated_at = $5 \
             WHERE sid = $1 AND app_id = $2 AND version = $3",
            &[&sid, &app_id, &version, &settings, &now],
        )
        .await
        .map(|n| n == 1)
    }

    async fn delete_factor(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_factors", app_id, sid).await
    }

    async fn create_challenge(&self, row: &ChallengeRow) -> Result<ChallengeRow> {
        let seq: i64 = self
            .row(
                "INSERT INTO verify_challenges (sid, app_id, entity_seq, factor_seq, status, details, \
                 created_at, updated_at, expires_at, responded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
                &[
                    &row.sid,
                    &row.app_id,
                    &row.entity_seq,
                    &row.factor_seq,
                    &row.status,
                    &row.details,
                    &row.created_at,
                    &row.updated_at,
                    &row.expires_at,
                    &row.responded_at,
                ],
            )
            .await?
            .map(|r| r.get(0))
            .unwrap_or_default();
        Ok(ChallengeRow { seq, ..row.clone() })
    }

    async fn challenge(
        &self,
        app_id: i64,
        entity_seq: i64,
        sid: &str,
    ) -> Result<Option<ChallengeRow>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {CHALLENGE} FROM verify_challenges \
                     WHERE sid = $1 AND app_id = $2 AND entity_seq = $3"
                ),
                &[&sid, &app_id, &entity_seq],
            )
            .await?
            .as_ref()
            .map(challenge_row))
    }

    async fn challenges(
        &self,
        app_id: i64,
        entity_seq: i64,
        filter: &ChallengeFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChallengeRow>> {
        // Two fixed statements (the order is not a parameter); the filters
        // are parameters that match everything when unset.
        let (order, bound, after) = if filter.descending {
            ("DESC", "seq < $5", after.unwrap_or(i64::MAX))
        } else {
            ("ASC", "seq > $5", after.unwrap_or(0))
        };
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {CHALLENGE} FROM verify_challenges WHERE app_id = $1 AND entity_seq = $2 \
                     AND ($3::BIGINT IS NULL OR factor_seq = $3) AND ($4::TEXT IS NULL OR status = $4) \
                     AND {bound} AND ($7::BIGINT IS NULL OR expires_at > $7) \
                     AND ($8::BIGINT IS NULL OR expires_at <= $8) ORDER BY seq {order} LIMIT $6"
                ),
                &[
                    &app_id,
                    &entity_seq,
                    &filter.factor_seq,
                    &filter.status,
                    &after,
                    &limit,
                    &filter.expires_after,
                    &filter.expired_at,
                ],
            )
            .await?
            .iter()
            .map(challenge_row)
            .collect())
    }

    async fn app_devices(&self, app_id: i64, after_id: i64, limit: u32) -> Result<Vec<Device>> {
        let limit = i64::from(limit);
        Ok(self
            .rows(
                "SELECT d.id, d.user_id, d.uid, d.sealed_seed, d.created_at FROM devices d \
                 JOIN users u ON u.id = d.user_id WHERE u.app_id = $1 AND d.id > $2 \
                 ORDER BY d.id LIMIT $3",
                &[&app_id, &after_id, &limit],
            )
            .await?
            .iter()
            .map(device_row)
            .collect())
    }

    async fn respond_challenge(
        &self,
        app_id: i64,
        sid: &str,
        status: &str,
        now: i64,
    ) -> Result<bool> {
        self.exec(
            "UPDATE verify_challenges SET status = $3, responded_at = $4, updated_at = $4 \
             WHERE sid = $1 AND app_id = $2 AND status = 'pending'",
            &[&sid, &app_id, &status, &now],
        )
        .await
        .map(|n| n == 1)
    }
}
