//! PostgreSQL, for a fleet of nodes sharing one database.
//!
//! The same statements as SQLite, through a pool (`deadpool-postgres` over
//! `tokio-postgres`). Every compare-and-set is one `UPDATE ... WHERE
//! version = $n` (or one `INSERT ... ON CONFLICT DO NOTHING`), atomic in
//! PostgreSQL whatever the number of nodes; PostgreSQL commits concurrent
//! transactions together on its own. Every call is bounded: waiting for a
//! connection, connecting and each statement time out after two seconds, so
//! a database that is down is answered 503 quickly, and the pool reconnects
//! by itself once it is back.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::tls::PostgresTls;
use tokio_postgres::types::ToSql;

use super::sqlite::SANDBOX_USER;
use super::{
    App, AppPatch, Counter, Device, Imported, MonthStats, NewApp, Result, Store, StoreError, User,
    UserStates, Versioned,
};

/// The schema, one file a version, applied in order.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_state_keys_collate_c.sql"),
    include_str!("../../migrations/postgres/0003_verify.sql"),
    include_str!("../../migrations/postgres/0004_factors.sql"),
    include_str!("../../migrations/postgres/0005_rate_limits.sql"),
    include_str!("../../migrations/postgres/0006_state_owners.sql"),
];

mod apps;
mod factors;
mod rate_limits;
mod states;
mod stats;
mod users;
mod verify;

/// The bound on each wait: for a connection, to connect, for a statement.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The advisory lock that serializes migrations of nodes starting together.
const MIGRATION_LOCK: i64 = 0x7061_7373_636f_6465;

/// The PostgreSQL store.
pub struct Postgres {
    pool: Pool,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("Postgres").finish_non_exhaustive()
    }
}

fn classify(e: &tokio_postgres::Error) -> StoreError {
    if e.is_closed() {
        return StoreError::Unavailable("the connection closed".into());
    }
    match e.code().map(tokio_postgres::error::SqlState::code) {
        // Connection exceptions, operator intervention (a shutdown, a
        // restart), insufficient resources, a statement timeout, and a
        // transaction PostgreSQL rolled back (a serialization failure, a
        // deadlock it broke): each passes, and the request may be tried
        // again.
        Some(code)
            if code.starts_with("08")
                || code.starts_with("57")
                || code.starts_with("53")
                || code.starts_with("40") =>
        {
            StoreError::Unavailable(e.to_string())
        }
        None => StoreError::Unavailable(e.to_string()),
        Some(_) => StoreError::Internal(e.to_string()),
    }
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    classify(&e)
}

impl Postgres {
    /// Connects a pool of `size` connections to `url` and migrates the
    /// database (several nodes starting at once migrate it once).
    ///
    /// # Errors
    /// [`StoreError`] when the URL is wrong or the database cannot be
    /// reached or migrated.
    pub async fn connect(url: &str, size: usize) -> Result<Self> {
        let (tls, url) = PostgresTls::split_url(url).map_err(StoreError::Internal)?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|_| StoreError::Internal("the PostgreSQL URL is not valid".into()))?;
        config.connect_timeout(TIMEOUT);
        let recycling = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls.client_config().map_err(StoreError::Internal)? {
            None => Manager::from_config(config, NoTls, recycling()),
            Some(client) => Manager::from_config(
                config,
                tokio_postgres_rustls::MakeRustlsConnect::new(client),
                recycling(),
            ),
        };
        let pool = Pool::builder(manager)
            .max_size(size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(TIMEOUT))
            .create_timeout(Some(TIMEOUT))
            .recycle_timeout(Some(TIMEOUT))
            .build()
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let store = Self { pool };
        store.migrate(MIGRATIONS).await?;
        Ok(store)
    }

    /// Applies `migrations` not applied yet, under an advisory lock.
    ///
    /// # Errors
    /// [`StoreError`] when a migration fails (nothing of it stays).
    pub async fn migrate(&self, migrations: &[&str]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .await
            .map_err(pg)?;
        let row = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .await
            .map_err(pg)?;
        let current: i32 = row.get(0);
        let known = i32::try_from(migrations.len()).unwrap_or(i32::MAX);
        if current > known {
            return Err(StoreError::Internal(format!(
                "the database is at schema version {current}, newer than this server's {known}"
            )));
        }
        for (version, sql) in (1..=known)
            .zip(migrations)
            .skip(usize::try_from(current).unwrap_or(0))
        {
            tx.batch_execute(sql).await.map_err(pg)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)
    }

    async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(|e| {
            // With its causes: "error performing TLS handshake" alone does
            // not say that the certificate names another host.
            let mut message = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(next) = cause {
                message.push_str(": ");
                message.push_str(&next.to_string());
                cause = next.source();
            }
            StoreError::Unavailable(message)
        })
    }

    /// One statement, bounded in time.
    async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        bounded(async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(pg)?;
            client.execute(&statement, params).await.map_err(pg)
        })
        .await
    }

    /// Deletes the row `sid` of the application from `table` (a fixed name
    /// of this module, never input); false when there is none.
    async fn delete_owned(&self, table: &'static str, app_id: i64, sid: &str) -> Result<bool> {
        self.exec(
            &format!("DELETE FROM {table} WHERE sid = $1 AND app_id = $2"),
            &[&sid, &app_id],
        )
        .await
        .map(|n| n == 1)
    }

    async fn rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        bounded(async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(pg)?;
            client.query(&statement, params).await.map_err(pg)
        })
        .await
    }

    async fn row(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }
}

async fn bounded<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        })
}

/// How many columns [`APP_COLUMNS`] names.
const APP_COLUMN_COUNT: usize = 9;

const APP_COLUMNS: &str = "id, name, token_length, sms_enabled, calls_enabled, phone_export_enabled, \
     generic_tokens_enabled, custom_messages_enabled, sandbox";

fn app_row(r: &tokio_postgres::Row) -> App {
    app_row_at(r, 0)
}

/// An application read from the columns at `at` onwards (after a join's
/// own columns).
fn app_row_at(r: &tokio_postgres::Row, at: usize) -> App {
    App {
        id: r.get(at),
        name: r.get(at + 1),
        token_length: u8::try_from(r.get::<_, i16>(at + 2)).unwrap_or(7),
        sms_enabled: r.get(at + 3),
        calls_enabled: r.get(at + 4),
        phone_export_enabled: r.get(at + 5),
        generic_tokens_enabled: r.get(at + 6),
        custom_messages_enabled: r.get(at + 7),
        sandbox: r.get(at + 8),
    }
}

/// [`APP_COLUMNS`] of the table `a` of a join.
const JOINED_APP_COLUMNS: &str = "a.id, a.name, a.token_length, a.sms_enabled, a.calls_enabled, \
     a.phone_export_enabled, a.generic_tokens_enabled, a.custom_messages_enabled, a.sandbox";

const USER_COLUMNS: &str = "id, app_id, country_code, phone, email, created_at, registered";

fn user_row(r: &tokio_postgres::Row) -> User {
    user_row_at(r, 0)
}

/// A user read from the columns at `at` onwards.
fn user_row_at(r: &tokio_postgres::Row, at: usize) -> User {
    User {
        id: r.get(at),
        app_id: r.get(at + 1),
        country_code: u16::try_from(r.get::<_, i32>(at + 2)).unwrap_or(0),
        phone: r.get(at + 3),
        email: r.get(at + 4),
        created_at: r.get(at + 5),
        registered: r.get(at + 6),
    }
}

fn device_row(r: &tokio_postgres::Row) -> Device {
    let uid: Vec<u8> = r.get(2);
    Device {
        id: r.get(0),
        user_id: r.get(1),
        uid: uid.try_into().unwrap_or([0; 16]),
        sealed_seed: r.get(3),
        created_at: r.get(4),
    }
}

#[async_trait]
impl Store for Postgres {
    async fn ping(&self) -> Result<()> {
        self.row("SELECT 1", &[]).await.map(drop)
    }

    async fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .row("SELECT value FROM meta WHERE key = $1", &[&key])
            .await?
            .map(|r| r.get(0)))
    }

    async fn init_meta(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &value],
        )
        .await?;
        self.row("SELECT value FROM meta WHERE key = $1", &[&key])
            .await?
            .map(|r| r.get(0))
            .ok_or_else(|| StoreError::Internal("a meta value vanished".into()))
    }
}
