//! The embedded database: SQLite in WAL mode.
//!
//! One connection writes, on a thread of its own; requests hand it jobs.
//! The writer takes every job waiting, runs each inside a savepoint of one
//! transaction, commits once and only then answers them all (group commit):
//! with `synchronous=FULL` a code is on disk as used before its 200 leaves,
//! and the fsync is paid once per batch, not once per request. Reads go to
//! a small pool of reader connections, which WAL lets run beside the
//! writer; a read that is stale by the time its write arrives loses the
//! compare-and-set and is retried, so staleness never decides anything.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{
    App, AppPatch, Counter, Device, Imported, MonthStats, NewApp, Result, Store, StoreError, User,
    UserStates, Versioned,
};

/// The schema, one file a version, applied in order.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_verify.sql"),
    include_str!("../../migrations/sqlite/0003_factors.sql"),
    include_str!("../../migrations/sqlite/0004_rate_limits.sql"),
    include_str!("../../migrations/sqlite/0005_state_owners.sql"),
];

mod apps;
mod factors;
mod rate_limits;
mod states;
mod stats;
mod users;
mod verify;

/// Jobs the writer takes into one transaction at most.
const MAX_BATCH: usize = 256;
/// How long a connection waits for another process's lock (an offline
/// `app` command) before the request is answered 503.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// Reader connections kept open.
const READERS: usize = 8;

/// Whether a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it is answered.
    #[default]
    Full,
    /// `synchronous=NORMAL`: faster; a power loss can forget the last
    /// commits, and with them that a code was used.
    Normal,
}

impl Durability {
    /// How long the writer, under load, waits to gather more jobs into a
    /// commit: nothing where the fsync already gathers them.
    const fn gather(self) -> Duration {
        match self {
            Self::Full => Duration::ZERO,
            Self::Normal => Duration::from_micros(150),
        }
    }
}

type Reply = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;

/// The SQLite store.
pub struct Sqlite {
    /// Why the last commit failed, until one succeeds: `/ready` is 503
    /// meanwhile (a read still works on a full disk; a write does not).
    failing: Arc<Mutex<Option<String>>>,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

fn classify(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{
        CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, SystemIoFailure,
    };
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | CannotOpen | DiskFull | SystemIoFailure) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => internal(e),
    }
}

/// Creates the database file with mode 0600 when it does not exist (SQLite
/// then gives its WAL and shared-memory files the same mode), and takes
/// group's and others' access from an existing one and its WAL and SHM
/// files, saying so: they hold phone numbers and sealed seeds.
fn private_files(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let file = PathBuf::from(file);
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_file() && mode & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))?;
                tracing::warn!(file = %file.display(), "the database file was open to group or others: now 0600");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Copies the database at `from` into `to` with SQLite's online backup
/// API, all pages in one step: one read transaction, so the copy is the
/// database as of one commit whatever is written meanwhile (a plain file
/// copy of a live WAL database is not). Then checks the copy with
/// `PRAGMA integrity_check`. `to` is created (mode 0600) and must not
/// exist; `from` must.
///
/// # Errors
/// A message naming the file and the cause.
pub fn backup(from: &Path, to: &Path) -> std::result::Result<(), String> {
    if !from.is_file() {
        return Err(format!("{}: no database there", from.display()));
    }
    if to.exists() {
        return Err(format!("{}: already exists; give a new path", to.display()));
    }
    let source = open_existing(from)?;
    crate::crypto::create_private_dir(to).map_err(|e| format!("{}: {e}", to.display()))?;
    private_files(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut copy = Connection::open(to).map_err(|e| format!("{}: {e}", to.display()))?;
    copy_pages(&source, &mut copy).map_err(|e| format!("{}: {e}", to.display()))?;
    integrity(&copy).map_err(|e| format!("{}: {e}", to.display()))
}

/// Puts the backup at `from` in place of the database at `to` (created
/// when missing), after checking the backup's integrity. The server must
/// be stopped: codes accepted after the backup was taken are not used any
/// more once it is restored.
///
/// # Errors
/// A message naming the file and the cause.
pub fn restore(from: &Path, to: &Path) -> std::result::Result<(), String> {
    let source = open_existing(from)?;
    integrity(&source).map_err(|e| format!("{}: {e}", from.display()))?;
    crate::crypto::create_private_dir(to).map_err(|e| format!("{}: {e}", to.display()))?;
    private_files(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut target = Connection::open(to).map_err(|e| format!("{}: {e}", to.display()))?;
    copy_pages(&source, &mut target).map_err(|e| format!("{}: {e}", to.display()))?;
    integrity(&target).map_err(|e| format!("{}: {e}", to.display()))
}

fn open_existing(path: &Path) -> std::result::Result<Connection, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(conn)
}

/// Every page of `from` into `to` in one step, retried while a writer holds
/// the lock, for at most 30 seconds.
fn copy_pages(from: &Connection, to: &mut Connection) -> rusqlite::Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let backup = Backup::new(from, to)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            _ if std::time::Instant::now() >= deadline => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("the database stayed locked for 30 seconds".into()),
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn integrity(conn: &Connection) -> std::result::Result<(), String> {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(format!("integrity check: {verdict}"))
    }
}

fn open(path: &Path, durability: Durability) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(classify)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(classify)?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON;"
    ))
    .map_err(classify)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // BEGIN IMMEDIATE takes the write lock first, so two processes starting
    // on one file apply each migration once.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(classify)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(classify)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(classify)?;
    let known = i64::try_from(MIGRATIONS.len()).map_err(internal)?;
    if current > known {
        return Err(internal(format!(
            "the database is at schema version {current}, newer than this server's {known}"
        )));
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(current).map_err(internal)?)
    {
        tx.execute_batch(sql).map_err(classify)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )
        .map_err(classify)?;
    }
    tx.commit().map_err(classify)
}

/// Statements through the connection's cache: each SQL text is parsed once
/// per connection, not once per request.
trait Cached {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// The user's devices, oldest first.
fn devices_of(c: &Connection, user_id: i64) -> Result<Vec<Device>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT id, user_id, uid, sealed_seed, created_at FROM devices WHERE user_id = ?1 ORDER BY id",
        )
        .map_err(classify)?;
    let rows = stmt
        .query_map([user_id], |r| {
            let uid: Vec<u8> = r.get(2)?;
            Ok(Device {
                id: r.get(0)?,
                user_id: r.get(1)?,
                uid: uid.try_into().unwrap_or([0; 16]),
                sealed_seed: r.get(3)?,
                created_at: r.get(4)?,
            })
        })
        .map_err(classify)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
}

/// Runs `job` inside a savepoint: its writes stay only if it succeeds.
fn in_savepoint<R>(conn: &Connection, job: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
    conn.run("SAVEPOINT job", []).map_err(classify)?;
    let result = job(conn);
    if result.is_err() {
        conn.run("ROLLBACK TO job", []).map_err(classify)?;
    }
    conn.run("RELEASE job", []).map_err(classify)?;
    result
}

/// Keeps why commits fail, and logs it once an interval with the count
/// of failed commits, and once when they succeed again.
struct CommitHealth {
    failing: Arc<Mutex<Option<String>>>,
    log: crate::telemetry::Every,
}

impl CommitHealth {
    fn failed(&mut self, why: &rusqlite::Error) {
        let why = why.to_string();
        if let Some(commits) = self.log.due(std::time::Instant::now()) {
            tracing::error!(cause = %why, commits, "commits fail: writes answer 503 and /ready is 503");
        }
        if let Ok(mut failing) = self.failing.lock() {
            *failing = Some(why);
        }
    }

    fn succeeded(&mut self) {
        if let Ok(mut failing) = self.failing.lock()
            && failing.take().is_some()
        {
            tracing::info!("commits succeed again");
        }
    }
}

/// Moves the jobs already waiting into `batch`, up to [`MAX_BATCH`].
fn take_waiting(jobs: &mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

fn writer_loop(
    conn: &Connection,
    jobs: &mpsc::Receiver<Job>,
    gather: Duration,
    mut health: CommitHealth,
) {
    let mut busy = false;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        take_waiting(jobs, &mut batch);
        // Under load, a commit that does not wait for the disk would hold
        // only the few jobs that arrived during the last one: wait a little
        // for more, so that commits stay shared. The writer sleeps through
        // the wait and then takes what came, rather than waking for each
        // job: a wake-up a request cost more CPU than the shared commits
        // saved, and `normal` ran slower than `full` (docs/speed.md).
        if busy && !gather.is_zero() && batch.len() < MAX_BATCH {
            std::thread::sleep(gather);
            take_waiting(jobs, &mut batch);
        }
        busy = batch.len() > 1;
        if let Err(e) = conn.run("BEGIN IMMEDIATE", []) {
            // Dropping the jobs unanswered tells each caller that nothing
            // was written (the store answers 503).
            health.failed(&e);
            drop(batch);
            continue;
        }
        let replies: Vec<Reply> = batch.into_iter().map(|job| job(conn)).collect();
        let committed = match conn.run("COMMIT", []) {
            Ok(_) => {
                health.succeeded();
                true
            }
            Err(e) => {
                health.failed(&e);
                let _ = conn.run("ROLLBACK", []);
                false
            }
        };
        for reply in replies {
            reply(committed);
        }
    }
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or migrated.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        crate::crypto::create_private_dir(path)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        private_files(path).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut conn = open(path, durability)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let failing = Arc::new(Mutex::new(None));
        let health = CommitHealth {
            failing: Arc::clone(&failing),
            log: crate::telemetry::Every::new(Duration::from_secs(10)),
        };
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(&conn, &rx, durability.gather(), health))
            .map_err(internal)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(open(path, durability)?);
        }
        Ok(Self {
            failing,
            writer: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            readers: Mutex::new(readers),
            path: path.to_owned(),
        })
    }

    /// Runs `f` on the writer, in the next batch; answers after its commit.
    async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let started = std::time::Instant::now();
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn: &Connection| {
            let result = in_savepoint(conn, f);
            Box::new(move |committed: bool| {
                let _ = tx.send(if committed {
                    result
                } else {
                    Err(StoreError::Unavailable("the commit failed".into()))
                });
            })
        });
        let sender = self
            .writer
            .lock()
            .map_err(|_| internal("writer lock poisoned"))?
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        sender
            .send(job)
            .map_err(|_| StoreError::Unavailable("the writer stopped".into()))?;
        let result = rx
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the writer dropped the job".into())));
        crate::telemetry::database("write", started);
        result
    }

    /// Runs `f` on a reader connection, on the calling thread.
    ///
    /// In WAL mode a reader takes no lock a writer holds and reads the last
    /// commit, so these point queries (microseconds, by primary key or a
    /// unique index) do not wait on the writer; running them in place costs
    /// less than handing each to a blocking thread and back, which measured
    /// as most of a request's CPU time here.
    async fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        self.reader(false, f)
    }

    /// [`read`](Self::read) for `f`s of several statements: they run in
    /// one read transaction, so they see one commit, and the connection
    /// takes its WAL read lock and checks its page cache once, not once a
    /// statement (a commit between two of them would empty its cache
    /// again). A single statement is its own transaction already, and
    /// `BEGIN` and `COMMIT` around it would only cost.
    async fn snapshot<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        self.reader(true, f)
    }

    fn reader<R>(&self, snapshot: bool, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let started = std::time::Instant::now();
        let taken = self
            .readers
            .lock()
            .map_err(|_| internal("reader lock poisoned"))?
            .pop();
        let conn = match taken {
            Some(conn) => conn,
            None => open(&self.path, Durability::Full)?,
        };
        if snapshot {
            conn.run("BEGIN", []).map_err(classify)?;
        }
        let result = f(&conn);
        // A read transaction's end fails only on a broken connection,
        // which is then not kept.
        let ended = !snapshot || conn.run("COMMIT", []).is_ok();
        if ended
            && let Ok(mut pool) = self.readers.lock()
            && pool.len() < READERS
        {
            pool.push(conn);
        }
        crate::telemetry::database("read", started);
        result
    }

    /// Deletes the row `sid` of the application from `table` (a fixed name
    /// of this module, never input); false when there is none.
    async fn delete_owned(&self, table: &'static str, app_id: i64, sid: &str) -> Result<bool> {
        let sid = sid.to_owned();
        self.write(move |c| {
            c.run(
                &format!("DELETE FROM {table} WHERE sid = ?1 AND app_id = ?2"),
                params![sid, app_id],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    /// Stops the writer after the jobs already queued.
    pub fn close(&self) {
        if let Ok(mut writer) = self.writer.lock() {
            writer.take();
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        self.close();
    }
}

const APP_COLUMNS: &str = "id, name, token_length, sms_enabled, calls_enabled, phone_export_enabled, \
     generic_tokens_enabled, custom_messages_enabled, sandbox";

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<App> {
    app_row_at(r, 0)
}

/// An application read from the columns at `at` onwards (after a join's
/// own columns).
fn app_row_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<App> {
    Ok(App {
        id: r.get(at)?,
        name: r.get(at + 1)?,
        token_length: r.get(at + 2)?,
        sms_enabled: r.get(at + 3)?,
        calls_enabled: r.get(at + 4)?,
        phone_export_enabled: r.get(at + 5)?,
        generic_tokens_enabled: r.get(at + 6)?,
        custom_messages_enabled: r.get(at + 7)?,
        sandbox: r.get(at + 8)?,
    })
}

/// [`APP_COLUMNS`] of the table `a` of a join.
const JOINED_APP_COLUMNS: &str = "a.id, a.name, a.token_length, a.sms_enabled, a.calls_enabled, \
     a.phone_export_enabled, a.generic_tokens_enabled, a.custom_messages_enabled, a.sandbox";

const USER_COLUMNS: &str = "id, app_id, country_code, phone, email, created_at, registered";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        app_id: r.get(1)?,
        country_code: r.get(2)?,
        phone: r.get(3)?,
        email: r.get(4)?,
        created_at: r.get(5)?,
        registered: r.get(6)?,
    })
}

fn get_app(conn: &Connection, id: i64) -> Result<Option<App>> {
    conn.row(
        &format!("SELECT {APP_COLUMNS} FROM apps WHERE id = ?1"),
        [id],
        app_row,
    )
    .optional()
    .map_err(classify)
}

/// A `key, value, version` row of `states`.
fn state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Versioned)> {
    Ok((
        r.get(0)?,
        Versioned {
            value: r.get(1)?,
            version: r.get(2)?,
        },
    ))
}

/// The sandbox's own user, as Authy's sandbox had it.
pub const SANDBOX_USER: (i64, u16, &str) = (51, 1, "3054562345");

#[async_trait]
impl Store for Sqlite {
    async fn ping(&self) -> Result<()> {
        self.read(|c| c.row("SELECT 1", [], |_| Ok(())).map_err(classify))
            .await?;
        // While commits fail, ready only once a write commits again: a
        // probe that changes one meta row (a page in the WAL, which a full
        // disk refuses).
        let failing = self.failing.lock().ok().and_then(|f| f.clone());
        if let Some(why) = failing {
            self.write(|c| {
                c.run(
                    "INSERT INTO meta (key, value) VALUES ('ready_probe', randomblob(8)) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [],
                )
                .map(drop)
                .map_err(classify)
            })
            .await
            .map_err(|_| StoreError::Unavailable(format!("the last commit failed: {why}")))?;
        }
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_owned();
        self.read(move |c| {
            c.row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(classify)
        })
        .await
    }

    async fn init_meta(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.write(move |c| {
            c.run(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, value],
            )
            .map_err(classify)?;
            c.row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .map_err(classify)
        })
        .await
    }
}
