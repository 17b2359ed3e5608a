//! [`StateStore`]: the consumable states, on SQLite.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::{StateKey, StateStore, first_version};

#[async_trait]
impl StateStore for Sqlite {
    async fn load(&self, key: &str) -> Result<Option<Versioned>> {
        let key = key.to_owned();
        self.read(move |c| {
            c.row(
                "SELECT value, version FROM states WHERE key = ?1",
                [key],
                |r| {
                    Ok(Versioned {
                        value: r.get(0)?,
                        version: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn cas(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
    ) -> Result<bool> {
        let (key, value) = (key.clone(), value.to_vec());
        let first = first_version();
        self.write(move |c| cas_in(c, &key, expected, &value, expires_at, first))
            .await
    }

    async fn cas_registering(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
        user_id: i64,
    ) -> Result<bool> {
        let (key, value) = (key.clone(), value.to_vec());
        let first = first_version();
        self.write(move |c| {
            let written = cas_in(c, &key, expected, &value, expires_at, first)?;
            if written {
                c.run(
                    "UPDATE users SET registered = 1 WHERE id = ?1 AND registered = 0",
                    [user_id],
                )
                .map_err(classify)?;
            }
            Ok(written)
        })
        .await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.write(move |c| {
            c.run("DELETE FROM states WHERE key = ?1", [key])
                .map(drop)
                .map_err(classify)
        })
        .await
    }

    async fn sweep(&self, now: i64, limit: u32) -> Result<u64> {
        self.write(move |c| {
            c.run(
                "DELETE FROM states WHERE rowid IN \
                 (SELECT rowid FROM states WHERE expires_at <= ?1 LIMIT ?2)",
                params![now, limit],
            )
            .map(|n| n as u64)
            .map_err(classify)
        })
        .await
    }
}

/// The compare-and-set of [`StateStore::cas`], on the writer's connection;
/// a new state starts at version `first`.
fn cas_in(
    c: &Connection,
    key: &StateKey,
    expected: Option<i64>,
    value: &[u8],
    expires_at: Option<i64>,
    first: i64,
) -> Result<bool> {
    let changed = match expected {
        None => c.run(
            "INSERT INTO states (key, app_id, user_id, expires_at, value, version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key) DO NOTHING",
            params![
                key.key,
                key.owner.app_id,
                key.owner.user_id,
                expires_at,
                value,
                first
            ],
        ),
        Some(version) => c.run(
            "UPDATE states SET value = ?2, expires_at = ?3, version = version + 1 \
             WHERE key = ?1 AND version = ?4",
            params![key.key, value, expires_at, version],
        ),
    };
    match changed {
        Ok(n) => Ok(n == 1),
        // The owner was deleted since it was read.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            Err(StoreError::Conflict)
        }
        Err(e) => Err(classify(e)),
    }
}
