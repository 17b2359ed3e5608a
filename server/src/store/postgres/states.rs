//! [`StateStore`]: the consumable states, on PostgreSQL.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::StateStore;

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

    async fn cas(&self, key: &str, expected: Option<i64>, value: &[u8]) -> Result<bool> {
        let changed = match expected {
            None => {
                self.exec(
                    "INSERT INTO states (key, value, version) VALUES ($1, $2, 1) ON CONFLICT (key) DO NOTHING",
                    &[&key, &value],
                )
                .await?
            }
            Some(version) => {
                self.exec(
                    "UPDATE states SET value = $2, version = version + 1 WHERE key = $1 AND version = $3",
                    &[&key, &value, &version],
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

    async fn scan_states(&self, after: &str, limit: u32) -> Result<Vec<(String, Versioned)>> {
        // Keys collate as C (migration 0002): this order is the bytes'.
        let rows = self
            .rows(
                "SELECT key, value, version FROM states WHERE key > $1 ORDER BY key LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get(0),
                    Versioned {
                        value: r.get(1),
                        version: r.get(2),
                    },
                )
            })
            .collect())
    }

    async fn remove_if(&self, key: &str, version: i64, value: &[u8]) -> Result<bool> {
        self.exec(
            "DELETE FROM states WHERE key = $1 AND version = $2 AND value = $3",
            &[&key, &version, &value],
        )
        .await
        .map(|n| n == 1)
    }
}
