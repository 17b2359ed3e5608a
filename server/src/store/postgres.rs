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
    UserStates, Versioned, app_range, user_range,
};

/// The schema, one file a version, applied in order.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_state_keys_collate_c.sql"),
    include_str!("../../migrations/postgres/0003_verify.sql"),
    include_str!("../../migrations/postgres/0004_factors.sql"),
    include_str!("../../migrations/postgres/0005_rate_limits.sql"),
];

mod factors;
mod rate_limits;
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
        // restart), insufficient resources, a statement timeout.
        Some(code)
            if code.starts_with("08") || code.starts_with("57") || code.starts_with("53") =>
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
    User {
        id: r.get(0),
        app_id: r.get(1),
        country_code: u16::try_from(r.get::<_, i32>(2)).unwrap_or(0),
        phone: r.get(3),
        email: r.get(4),
        created_at: r.get(5),
        registered: r.get(6),
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

    async fn create_app(&self, new: NewApp, now: i64) -> Result<App> {
        bounded(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg)?;
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO apps (name, key_hash, token_length, sandbox, created_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING {APP_COLUMNS}"
                    ),
                    &[
                        &new.name,
                        &new.key_hash.as_slice(),
                        &i16::from(new.token_length),
                        &new.sandbox,
                        &now,
                    ],
                )
                .await
                .map_err(pg)?;
            let app = app_row(&row);
            if new.sandbox {
                let (user, cc, phone) = SANDBOX_USER;
                let seeded = tx
                    .execute(
                        "INSERT INTO users (id, app_id, country_code, phone, email, created_at) \
                         VALUES ($1, $2, $3, $4, 'sandbox@example.com', $5) ON CONFLICT DO NOTHING",
                        &[&user, &app.id, &i32::from(cc), &phone, &now],
                    )
                    .await
                    .map_err(pg)?;
                if seeded == 0 {
                    tx.execute(
                        "INSERT INTO users (app_id, country_code, phone, email, created_at) \
                         VALUES ($1, $2, $3, 'sandbox@example.com', $4)",
                        &[&app.id, &i32::from(cc), &phone, &now],
                    )
                    .await
                    .map_err(pg)?;
                }
            }
            tx.commit().await.map_err(pg)?;
            Ok(app)
        })
        .await
    }

    async fn app(&self, id: i64) -> Result<Option<App>> {
        Ok(self
            .row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"),
                &[&id],
            )
            .await?
            .map(|r| app_row(&r)))
    }

    async fn app_by_key_hash(&self, key_hash: &[u8; 32]) -> Result<Option<App>> {
        Ok(self
            .row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE key_hash = $1"),
                &[&key_hash.as_slice()],
            )
            .await?
            .map(|r| app_row(&r)))
    }

    async fn apps(&self) -> Result<Vec<App>> {
        Ok(self
            .rows(&format!("SELECT {APP_COLUMNS} FROM apps ORDER BY id"), &[])
            .await?
            .iter()
            .map(app_row)
            .collect())
    }

    async fn update_app(&self, id: i64, patch: AppPatch) -> Result<Option<App>> {
        let row = self
            .row(
                &format!(
                    "UPDATE apps SET name = COALESCE($2, name), token_length = COALESCE($3, token_length), \
                     sms_enabled = COALESCE($4, sms_enabled), calls_enabled = COALESCE($5, calls_enabled), \
                     phone_export_enabled = COALESCE($6, phone_export_enabled), \
                     generic_tokens_enabled = COALESCE($7, generic_tokens_enabled), \
                     custom_messages_enabled = COALESCE($8, custom_messages_enabled), \
                     sandbox = COALESCE($9, sandbox) WHERE id = $1 RETURNING {APP_COLUMNS}"
                ),
                &[
                    &id,
                    &patch.name,
                    &patch.token_length.map(i16::from),
                    &patch.sms_enabled,
                    &patch.calls_enabled,
                    &patch.phone_export_enabled,
                    &patch.generic_tokens_enabled,
                    &patch.custom_messages_enabled,
                    &patch.sandbox,
                ],
            )
            .await?;
        Ok(row.map(|r| app_row(&r)))
    }

    async fn set_app_key(&self, id: i64, key_hash: &[u8; 32]) -> Result<bool> {
        Ok(self
            .exec(
                "UPDATE apps SET key_hash = $2 WHERE id = $1",
                &[&id, &key_hash.as_slice()],
            )
            .await?
            == 1)
    }

    async fn delete_app(&self, id: i64) -> Result<bool> {
        bounded(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg)?;
            let users = tx
                .query("SELECT id FROM users WHERE app_id = $1", &[&id])
                .await
                .map_err(pg)?;
            for user in users {
                let [low, high] = user_range(user.get(0));
                tx.execute(
                    "DELETE FROM states WHERE key >= $1 AND key < $2",
                    &[&low, &high],
                )
                .await
                .map_err(pg)?;
            }
            let [low, high] = app_range(id);
            tx.execute(
                "DELETE FROM states WHERE key >= $1 AND key < $2",
                &[&low, &high],
            )
            .await
            .map_err(pg)?;
            let deleted = tx
                .execute("DELETE FROM apps WHERE id = $1", &[&id])
                .await
                .map_err(pg)?
                == 1;
            tx.commit().await.map_err(pg)?;
            Ok(deleted)
        })
        .await
    }

    async fn upsert_user(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> Result<(User, bool)> {
        let cc = i32::from(country_code);
        let created = self
            .exec(
                "INSERT INTO users (app_id, country_code, phone, email, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (app_id, country_code, phone) DO NOTHING",
                &[&app_id, &cc, &phone, &email, &now],
            )
            .await?
            == 1;
        let user = self
            .row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND country_code = $2 AND phone = $3"),
                &[&app_id, &cc, &phone],
            )
            .await?
            .map(|r| user_row(&r))
            .ok_or_else(|| StoreError::Internal("a user vanished".into()))?;
        Ok((user, created))
    }

    async fn user(&self, app_id: i64, id: i64) -> Result<Option<User>> {
        Ok(self
            .row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND app_id = $2"),
                &[&id, &app_id],
            )
            .await?
            .map(|r| user_row(&r)))
    }

    async fn user_with_states(&self, app_id: i64, id: i64) -> Result<Option<UserStates>> {
        // One statement, so one round trip: the user, its devices as
        // arrays, and the states of its key range as arrays (NULL where
        // there are none).
        let [low, high] = user_range(id);
        let Some(r) = self
            .row(
                "SELECT u.id, u.app_id, u.country_code, u.phone, u.email, u.created_at, u.registered, \
                 d.ids, d.uids, d.seeds, d.created, s.keys, s.vals, s.versions \
                 FROM users u \
                 CROSS JOIN LATERAL (SELECT array_agg(id ORDER BY id), array_agg(uid ORDER BY id), \
                   array_agg(sealed_seed ORDER BY id), array_agg(created_at ORDER BY id) \
                   FROM devices WHERE user_id = u.id) d(ids, uids, seeds, created) \
                 CROSS JOIN LATERAL (SELECT array_agg(key ORDER BY key), array_agg(value ORDER BY key), \
                   array_agg(version ORDER BY key) \
                   FROM states WHERE key >= $3 AND key < $4) s(keys, vals, versions) \
                 WHERE u.id = $1 AND u.app_id = $2",
                &[&id, &app_id, &low, &high],
            )
            .await?
        else {
            return Ok(None);
        };
        let user = user_row(&r);
        let list = |i: usize| -> Vec<i64> { r.get::<_, Option<Vec<i64>>>(i).unwrap_or_default() };
        let bytes =
            |i: usize| -> Vec<Vec<u8>> { r.get::<_, Option<Vec<Vec<u8>>>>(i).unwrap_or_default() };
        let devices = list(7)
            .into_iter()
            .zip(bytes(8))
            .zip(bytes(9))
            .zip(list(10))
            .map(|(((device, uid), sealed_seed), created_at)| Device {
                id: device,
                user_id: user.id,
                uid: uid.try_into().unwrap_or([0; 16]),
                sealed_seed,
                created_at,
            })
            .collect();
        let keys: Vec<String> = r.get::<_, Option<Vec<String>>>(11).unwrap_or_default();
        let states = keys
            .into_iter()
            .zip(bytes(12))
            .zip(list(13))
            .map(|((key, value), version)| (key, Versioned { value, version }))
            .collect();
        Ok(Some(UserStates {
            user,
            devices,
            states,
        }))
    }

    async fn import_user(
        &self,
        id: i64,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> Result<Imported> {
        let cc = i32::from(country_code);
        bounded(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg)?;
            // One importer at a time: the checks and the insert decide
            // together.
            tx.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", &[])
                .await
                .map_err(pg)?;
            let holder = tx
                .query_opt(
                    "SELECT app_id, country_code, phone FROM users WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(pg)?
                .map(|r| (r.get::<_, i64>(0), r.get::<_, i32>(1), r.get::<_, String>(2)));
            let holder_of_phone: Option<i64> = tx
                .query_opt(
                    "SELECT id FROM users WHERE app_id = $1 AND country_code = $2 AND phone = $3",
                    &[&app_id, &cc, &phone],
                )
                .await
                .map_err(pg)?
                .map(|r| r.get(0));
            // A calling code outside u16 is no user this import could match.
            let held = holder.as_ref().map(|(a, c, p)| {
                (*a, u16::try_from(*c).unwrap_or(u16::MAX), p.as_str())
            });
            if let Some(decided) =
                Imported::decide(held, holder_of_phone, (app_id, country_code, phone))
            {
                return Ok(decided);
            }
            tx.execute(
                "INSERT INTO users (id, app_id, country_code, phone, email, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id, &app_id, &cc, &phone, &email, &now],
            )
            .await
            .map_err(pg)?;
            // The sequence never hands this id out: it moves past it.
            tx.execute(
                "SELECT setval('users_id_seq', GREATEST($1, (SELECT last_value FROM users_id_seq)))",
                &[&id],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            Ok(Imported::Created)
        })
        .await
    }

    async fn user_by_phone(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
    ) -> Result<Option<User>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND country_code = $2 AND phone = $3"
                ),
                &[&app_id, &i32::from(country_code), &phone],
            )
            .await?
            .map(|r| user_row(&r)))
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        Ok(self
            .row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
                &[&id],
            )
            .await?
            .map(|r| user_row(&r)))
    }

    async fn remove_device(&self, user_id: i64, device_id: i64) -> Result<bool> {
        self.exec(
            "DELETE FROM devices WHERE id = $1 AND user_id = $2",
            &[&device_id, &user_id],
        )
        .await
        .map(|n| n == 1)
    }

    async fn set_registered(&self, id: i64) -> Result<()> {
        self.exec(
            "UPDATE users SET registered = TRUE WHERE id = $1 AND NOT registered",
            &[&id],
        )
        .await
        .map(drop)
    }

    async fn delete_user(&self, app_id: i64, id: i64) -> Result<bool> {
        bounded(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg)?;
            let deleted = tx
                .execute(
                    "DELETE FROM users WHERE id = $1 AND app_id = $2",
                    &[&id, &app_id],
                )
                .await
                .map_err(pg)?
                == 1;
            if deleted {
                let [low, high] = user_range(id);
                tx.execute(
                    "DELETE FROM states WHERE key >= $1 AND key < $2",
                    &[&low, &high],
                )
                .await
                .map_err(pg)?;
            }
            tx.commit().await.map_err(pg)?;
            Ok(deleted)
        })
        .await
    }

    async fn add_device(&self, device: Device) -> Result<Device> {
        let row = self
            .row(
                "INSERT INTO devices (user_id, uid, sealed_seed, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&device.user_id, &device.uid.as_slice(), &device.sealed_seed, &device.created_at],
            )
            .await?
            .ok_or_else(|| StoreError::Internal("no id returned".into()))?;
        Ok(Device {
            id: row.get(0),
            ..device
        })
    }

    async fn devices(&self, user_id: i64) -> Result<Vec<Device>> {
        Ok(self
            .rows(
                "SELECT id, user_id, uid, sealed_seed, created_at FROM devices WHERE user_id = $1 ORDER BY id",
                &[&user_id],
            )
            .await?
            .iter()
            .map(device_row)
            .collect())
    }

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

    async fn remove(&self, key: &str) -> Result<()> {
        self.exec("DELETE FROM states WHERE key = $1", &[&key])
            .await
            .map(drop)
    }

    async fn count(
        &self,
        app_id: i64,
        year: i32,
        month: u8,
        counter: Counter,
        n: i64,
    ) -> Result<()> {
        let column = counter.column();
        self.exec(
            &format!(
                "INSERT INTO stats (app_id, year, month, {column}) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (app_id, year, month) DO UPDATE SET {column} = stats.{column} + $4"
            ),
            &[&app_id, &year, &i16::from(month), &n],
        )
        .await
        .map(drop)
    }

    async fn stats(&self, app_id: i64) -> Result<Vec<MonthStats>> {
        Ok(self
            .rows(
                "SELECT year, month, api_calls, auths, calls, sms, users FROM stats \
                 WHERE app_id = $1 ORDER BY year, month",
                &[&app_id],
            )
            .await?
            .iter()
            .map(|r| MonthStats {
                year: r.get(0),
                month: u8::try_from(r.get::<_, i16>(1)).unwrap_or(1),
                api_calls: r.get(2),
                auths: r.get(3),
                calls: r.get(4),
                sms: r.get(5),
                users: r.get(6),
            })
            .collect())
    }

    async fn user_count(&self, app_id: i64) -> Result<i64> {
        Ok(self
            .row("SELECT COUNT(*) FROM users WHERE app_id = $1", &[&app_id])
            .await?
            .map_or(0, |r| r.get(0)))
    }
}
