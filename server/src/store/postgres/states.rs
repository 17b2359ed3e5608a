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
        self.cas_and(key, expected, value, expires_at, None).await
    }

    async fn cas_registering(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
        user_id: i64,
    ) -> Result<bool> {
        self.cas_and(key, expected, value, expires_at, Some(user_id))
            .await
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

/// A compare-and-set statement: the write `s`, then, with `register`,
/// the user (its last parameter) marked as having logged in once when `s`
/// wrote; it answers how many rows `s` wrote.
///
/// An update that registers locks the user's row first (`l`, which `s`
/// waits for): deleting a user locks its row, then its states (by the
/// foreign key's cascade), and a statement that locked the state first and
/// the user second could deadlock with it. An insert locks no existing
/// state, so it needs no `l`.
macro_rules! cas_statement {
    ($write:expr) => {
        concat!(
            "WITH s AS (",
            $write,
            " RETURNING 1) SELECT count(*) FROM s"
        )
    };
    ($write:expr, register $user:literal) => {
        concat!("WITH s AS (", $write, " RETURNING 1)", registered!($user))
    };
    ($write:expr, lock and register $user:literal) => {
        concat!(
            "WITH l AS (SELECT 1 FROM users WHERE id = ",
            $user,
            " FOR NO KEY UPDATE), s AS (",
            $write,
            " AND EXISTS (SELECT 1 FROM l) RETURNING 1)",
            registered!($user)
        )
    };
}

/// The rest of a registering [`cas_statement`] after `s`.
macro_rules! registered {
    ($user:literal) => {
        concat!(
            ", r AS (UPDATE users SET registered = TRUE WHERE id = ",
            $user,
            " AND NOT registered AND EXISTS (SELECT 1 FROM s)) SELECT count(*) FROM s"
        )
    };
}

macro_rules! insert_state {
    () => {
        "INSERT INTO states (key, app_id, user_id, expires_at, value, version) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING"
    };
}

macro_rules! update_state {
    () => {
        "UPDATE states SET value = $2, expires_at = $3, version = version + 1 \
         WHERE key = $1 AND version = $4"
    };
}

impl Postgres {
    /// The compare-and-set of both [`StateStore::cas`] and
    /// [`StateStore::cas_registering`]: one statement, whose `WITH` also
    /// marks `register` as registered when it writes.
    async fn cas_and(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
        register: Option<i64>,
    ) -> Result<bool> {
        let first = first_version();
        let user = register.unwrap_or_default();
        let (sql, mut params): (&str, Vec<&(dyn ToSql + Sync)>) = match &expected {
            None => (
                if register.is_some() {
                    cas_statement!(insert_state!(), register "$7")
                } else {
                    cas_statement!(insert_state!())
                },
                vec![
                    &key.key,
                    &key.owner.app_id,
                    &key.owner.user_id,
                    &expires_at,
                    &value,
                    &first,
                ],
            ),
            Some(version) => (
                if register.is_some() {
                    cas_statement!(update_state!(), lock and register "$5")
                } else {
                    cas_statement!(update_state!())
                },
                vec![&key.key, &value, &expires_at, version],
            ),
        };
        if register.is_some() {
            params.push(&user);
        }
        let written: i64 = bounded(async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(pg)?;
            let row = client.query_one(&statement, &params).await.map_err(|e| {
                // The owner was deleted since it was read.
                if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
                    StoreError::Conflict
                } else {
                    pg(e)
                }
            })?;
            Ok(row.get(0))
        })
        .await?;
        Ok(written == 1)
    }
}
