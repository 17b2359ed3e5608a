//! [`StateStore`]: the consumable states, on SQLite.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::StateStore;

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

    async fn cas(&self, key: &str, expected: Option<i64>, value: &[u8]) -> Result<bool> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.write(move |c| {
            let changed = match expected {
                None => c.run(
                    "INSERT INTO states (key, value, version) VALUES (?1, ?2, 1) ON CONFLICT (key) DO NOTHING",
                    params![key, value],
                ),
                Some(version) => c.run(
                    "UPDATE states SET value = ?2, version = version + 1 WHERE key = ?1 AND version = ?3",
                    params![key, value, version],
                ),
            };
            changed.map(|n| n == 1).map_err(classify)
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

    async fn scan_states(&self, after: &str, limit: u32) -> Result<Vec<(String, Versioned)>> {
        let after = after.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT key, value, version FROM states WHERE key > ?1 ORDER BY key LIMIT ?2",
                )
                .map_err(classify)?;
            let rows = stmt
                .query_map(params![after, limit], state_row)
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn remove_if(&self, key: &str, version: i64, value: &[u8]) -> Result<bool> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.write(move |c| {
            c.execute(
                "DELETE FROM states WHERE key = ?1 AND version = ?2 AND value = ?3",
                params![key, version, value],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }
}
