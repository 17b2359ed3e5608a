//! [`FactorStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{Cached, Sqlite, classify};
use crate::store::{
    ChallengeFilter, ChallengeRow, Device, EntityRow, FactorRow, FactorStore, Result,
};

const ENTITY: &str = "seq, sid, app_id, service_sid, identity, created_at";
const FACTOR: &str = "seq, sid, app_id, entity_seq, device_id, sealed_seed, settings, version, created_at, updated_at";
const CHALLENGE: &str = "seq, sid, app_id, entity_seq, factor_seq, status, details, created_at, \
     updated_at, expires_at, responded_at";

fn entity_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntityRow> {
    Ok(EntityRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        service_sid: r.get(3)?,
        identity: r.get(4)?,
        created_at: r.get(5)?,
    })
}

fn factor_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FactorRow> {
    Ok(FactorRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        entity_seq: r.get(3)?,
        device_id: r.get(4)?,
        sealed_seed: r.get(5)?,
        settings: r.get(6)?,
        version: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

fn challenge_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChallengeRow> {
    Ok(ChallengeRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        entity_seq: r.get(3)?,
        factor_seq: r.get(4)?,
        status: r.get(5)?,
        details: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        expires_at: r.get(9)?,
        responded_at: r.get(10)?,
    })
}

fn all<T>(
    c: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare_cached(sql).map_err(classify)?;
    let rows = stmt.query_map(params, f).map_err(classify)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
}

#[async_trait]
impl FactorStore for Sqlite {
    async fn create_entity(&self, row: &EntityRow) -> Result<bool> {
        let row = row.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO verify_entities (sid, app_id, service_sid, identity, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![
                    row.sid,
                    row.app_id,
                    row.service_sid,
                    row.identity,
                    row.created_at
                ],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn entity(
        &self,
        app_id: i64,
        service_sid: &str,
        identity: &str,
    ) -> Result<Option<EntityRow>> {
        let (service_sid, identity) = (service_sid.to_owned(), identity.to_owned());
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {ENTITY} FROM verify_entities \
                     WHERE app_id = ?1 AND service_sid = ?2 AND identity = ?3"
                ),
                params![app_id, service_sid, identity],
                entity_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn entities(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<EntityRow>> {
        let service_sid = service_sid.to_owned();
        self.read(move |c| {
            all(
                c,
                &format!(
                    "SELECT {ENTITY} FROM verify_entities WHERE app_id = ?1 AND service_sid = ?2 \
                     AND seq > ?3 ORDER BY seq LIMIT ?4"
                ),
                params![app_id, service_sid, after_seq, limit],
                entity_row,
            )
        })
        .await
    }

    async fn delete_entity(&self, app_id: i64, service_sid: &str, identity: &str) -> Result<bool> {
        let (service_sid, identity) = (service_sid.to_owned(), identity.to_owned());
        self.write(move |c| {
            c.run(
                "DELETE FROM verify_entities WHERE app_id = ?1 AND service_sid = ?2 AND identity = ?3",
                params![app_id, service_sid, identity],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn create_factor(&self, row: &FactorRow) -> Result<Option<FactorRow>> {
        let row = row.clone();
        self.write(move |c| {
            let inserted = c
                .run(
                    "INSERT INTO verify_factors (sid, app_id, entity_seq, device_id, sealed_seed, \
                     settings, version, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                    params![
                        row.sid,
                        row.app_id,
                        row.entity_seq,
                        row.device_id,
                        row.sealed_seed,
                        row.settings,
                        row.version,
                        row.created_at,
                        row.updated_at
                    ],
                )
                .map_err(classify)?;
            if inserted == 0 {
                return Ok(None);
            }
            c.row(
                &format!("SELECT {FACTOR} FROM verify_factors WHERE sid = ?1"),
                [&row.sid],
                factor_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn factor(&self, app_id: i64, entity_seq: i64, sid: &str) -> Result<Option<FactorRow>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {FACTOR} FROM verify_factors \
                     WHERE sid = ?1 AND app_id = ?2 AND entity_seq = ?3"
                ),
                params![sid, app_id, entity_seq],
                factor_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn factors(
        &self,
        app_id: i64,
        entity_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<FactorRow>> {
        self.read(move |c| {
            all(
                c,
                &format!(
                    "SELECT {FACTOR} FROM verify_factors WHERE app_id = ?1 AND entity_seq = ?2 \
                     AND seq > ?3 ORDER BY seq LIMIT ?4"
                ),
                params![app_id, entity_seq, after_seq, limit],
                factor_row,
            )
        })
        .await
    }

    async fn update_factor(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> Result<bool> {
        let (sid, settings) = (sid.to_owned(), settings.to_owned());
        self.write(move |c| {
            c.run(
                "UPDATE verify_factors SET settings = ?4, version = version + 1, updated_at = ?5 \
                 WHERE sid = ?1 AND app_id = ?2 AND version = ?3",
                params![sid, app_id, version, settings, now],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn delete_factor(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_factors", app_id, sid).await
    }

    async fn create_challenge(&self, row: &ChallengeRow) -> Result<ChallengeRow> {
        let row = row.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO verify_challenges (sid, app_id, entity_seq, factor_seq, status, details, \
                 created_at, updated_at, expires_at, responded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    row.sid,
                    row.app_id,
                    row.entity_seq,
                    row.factor_seq,
                    row.status,
                    row.details,
                    row.created_at,
                    row.updated_at,
                    row.expires_at,
                    row.responded_at
                ],
            )
            .map_err(classify)?;
            Ok(ChallengeRow {
                seq: c.last_insert_rowid(),
                ..row
            })
        })
        .await
    }

    async fn challenge(
        &self,
        app_id: i64,
        entity_seq: i64,
        sid: &str,
    ) -> Result<Option<ChallengeRow>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {CHALLENGE} FROM verify_challenges \
                     WHERE sid = ?1 AND app_id = ?2 AND entity_seq = ?3"
                ),
                params![sid, app_id, entity_seq],
                challenge_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn challenges(
        &self,
        app_id: i64,
        entity_seq: i64,
        filter: &ChallengeFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChallengeRow>> {
        let filter = filter.clone();
        self.read(move |c| {
            // Two fixed statements (the order is not a parameter); the
            // filters are parameters that match everything when unset.
            let (order, bound, after) = if filter.descending {
                ("DESC", "seq < ?5", after.unwrap_or(i64::MAX))
            } else {
                ("ASC", "seq > ?5", after.unwrap_or(0))
            };
            all(
                c,
                &format!(
                    "SELECT {CHALLENGE} FROM verify_challenges WHERE app_id = ?1 AND entity_seq = ?2 \
                     AND (?3 IS NULL OR factor_seq = ?3) AND (?4 IS NULL OR status = ?4) AND {bound} \
                     AND (?7 IS NULL OR expires_at > ?7) AND (?8 IS NULL OR expires_at <= ?8) \
                     ORDER BY seq {order} LIMIT ?6"
                ),
                params![
                    app_id,
                    entity_seq,
                    filter.factor_seq,
                    filter.status,
                    after,
                    limit,
                    filter.expires_after,
                    filter.expired_at
                ],
                challenge_row,
            )
        })
        .await
    }

    async fn app_devices(&self, app_id: i64, after_id: i64, limit: u32) -> Result<Vec<Device>> {
        self.read(move |c| {
            all(
                c,
                "SELECT d.id, d.user_id, d.uid, d.sealed_seed, d.created_at FROM devices d \
                 JOIN users u ON u.id = d.user_id WHERE u.app_id = ?1 AND d.id > ?2 \
                 ORDER BY d.id LIMIT ?3",
                params![app_id, after_id, limit],
                |r| {
                    let uid: Vec<u8> = r.get(2)?;
                    Ok(Device {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        uid: uid.try_into().unwrap_or([0; 16]),
                        sealed_seed: r.get(3)?,
                        created_at: r.get(4)?,
                    })
                },
            )
        })
        .await
    }

    async fn respond_challenge(
        &self,
        app_id: i64,
        sid: &str,
        status: &str,
        now: i64,
    ) -> Result<bool> {
        let (sid, status) = (sid.to_owned(), status.to_owned());
        self.write(move |c| {
            c.run(
                "UPDATE verify_challenges SET status = ?3, responded_at = ?4, updated_at = ?4 \
                 WHERE sid = ?1 AND app_id = ?2 AND status = 'pending'",
                params![sid, app_id, status, now],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }
}
