//! [`StateStore`]: the consumable states, on PostgreSQL.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::{StateKey, StateStore, first_version};

#[async_trait]
impl StateStore for Postgres {
    async fn load(&self, key: &str) -> Result<Option<Versioned>> {
        Ok(self
            .row("SELECT value, version FROM states WHERE key = $1", &[&key])
            .await?
            .map(|r| Versioned {
                value: r.get(0),
                version: r.get(1),
            }))
    }

    async fn cas(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
    ) -> Result<bool> {
        let changed = match expected {
            None => {
                bounded(async {
                    let client = self.client().await?;
                    let statement = client
                        .prepare_cached(
                            "INSERT INTO states (key, app_id, user_id, expires_at, value, version) \
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
                        )
                        .await
                        .map_err(pg)?;
                    let first = first_version();
                    let params: [&(dyn ToSql + Sync); 6] = [
                        &key.key,
                        &key.owner.app_id,
                        &key.owner.user_id,
                        &expires_at,
                        &value,
                        &first,
                    ];
                    client.execute(&statement, &params).await.map_err(|e| {
                        // The owner was deleted since it was read.
                        if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
                        {
                            StoreError::Conflict
                        } else {
                            pg(e)
                        }
                    })
                })
                .await?
            }
            Some(version) => {
                self.exec(
                    "UPDATE states SET value = $2, expires_at = $3, version = version + 1 \
                     WHERE key = $1 AND version = $4",
                    &[&key.key, &value, &expires_at, &version],
                )
                .await?
            }
        };
        Ok(changed == 1)
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.exec("DELETE FROM states WHERE key = $1", &[&key])
            .await
            .map(drop)
    }

    async fn sweep(&self, now: i64, limit: u32) -> Result<u64> {
        // The outer condition is checked again on a row that changed while
        // the statement waited for it: a state written meanwhile with a
        // later expiry stays.
        self.exec(
            "DELETE FROM states WHERE key IN \
             (SELECT key FROM states WHERE expires_at <= $1 LIMIT $2) AND expires_at <= $1",
            &[&now, &i64::from(limit)],
        )
        .await
    }
}
