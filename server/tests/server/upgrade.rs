//! A database made by an earlier release is migrated at start and keeps
//! serving: its key check, its application key, its user, the sealed seed
//! of its authenticator and its pending SMS token all still work.
//!
//! `tests/fixtures/release-0.1.0.sql` is the dump of a database that
//! release 0.1.0 (schema version 1) made through its API; every later
//! migration runs over it here.

use crate::support;

use std::sync::Arc;

use passcode::{RateLimit, RateLimitState, Secret, Totp, TotpConfig};
use passcode_server::crypto::{KEY_CHECK, MasterKey, key_hash};
use passcode_server::domain::{Domain, Limits, Matched};
use passcode_server::sender::LogSender;
use passcode_server::store::postgres::{MIGRATIONS, Postgres};
use passcode_server::store::sqlite::{Durability, Sqlite};
use passcode_server::store::{StateKey, StateStore, Store, UserStore, Versioned};

const KEY: &str = "UpgradeKeyUpgradeKey0123456789ab";
const SEED: &str = "VZMRVJ435BFVHDNGCVPZ44XTWW3OB4GF";
const SMS_CODE: &str = "4285870";
/// When the SMS token was sent (it is valid for ten minutes).
const SENT_AT: u64 = 1_795_526_733;

#[tokio::test]
async fn a_release_0_1_0_database_is_migrated_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let restore = rusqlite::Connection::open(&path).unwrap();
    // A dump lists tables by name, not by their references.
    restore.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    restore
        .execute_batch(include_str!("../fixtures/release-0.1.0.sql"))
        .unwrap();
    drop(restore);
    let store: Arc<dyn Store> = Arc::new(Sqlite::open(&path, Durability::Full).unwrap());
    let key = MasterKey::from_bytes(&[7; 32]);
    let check = store.meta(KEY_CHECK).await.unwrap().unwrap();
    assert!(key.verify_check(&check).is_ok());
    assert!(
        MasterKey::from_bytes(&[8; 32])
            .verify_check(&check)
            .is_err()
    );
    let app = store
        .app_by_key_hash(&key_hash(KEY))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.name, "Release 0.1.0");
    let service = Domain::new(
        Arc::clone(&store),
        Arc::new(key),
        Arc::new(LogSender),
        Limits::default(),
    );
    let now = SENT_AT + 60;
    let matched = service
        .verify_token(&app, 1000, SMS_CODE, now)
        .await
        .unwrap();
    assert!(matches!(matched, Matched::Sms { .. }), "{matched:?}");
    let totp = Totp::new(&Secret::from_base32(SEED).unwrap(), TotpConfig::new()).unwrap();
    let code = totp.generate(now).unwrap().to_string();
    assert!(matches!(
        service.verify_token(&app, 1000, &code, now).await,
        Ok(Matched::Device { .. })
    ));
    assert!(
        service.verify_token(&app, 1000, &code, now).await.is_err(),
        "a replay"
    );
    // A new user after the upgrade continues the ids.
    let user = service
        .create_user(
            &app,
            Some("new@example.com"),
            Some("775-461-5610"),
            Some(1),
            now,
        )
        .await
        .unwrap();
    assert_eq!(user.id, 1001);
}

#[tokio::test]
async fn a_postgres_database_at_schema_1_is_migrated_and_keeps_its_states() {
    // Schema 1 as release 0.1.0 applied it, on a database with a
    // linguistic collation, where its key ranges missed the user's states.
    let Some(base) = support::postgres_url() else {
        return;
    };
    let url = support::fresh_postgres_linguistic(&base).await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        .await
        .unwrap();
    client.batch_execute(MIGRATIONS[0]).await.unwrap();
    client
        .batch_execute(
            "INSERT INTO schema_version (version) VALUES (1);
             INSERT INTO apps (id, name, key_hash, token_length, created_at)
                 VALUES (1, 'Old', '\\x01', 7, 0);
             INSERT INTO users (id, app_id, country_code, phone, email, created_at)
                 VALUES (1000, 1, 1, '7754615609', 'x@y.com', 0),
                        (10000, 1, 1, '7754615610', 'x@y.com', 0);
             INSERT INTO states (key, value, version) VALUES
                 ('user:1000:token', '\\x0102', 4),
                 ('user:10000:token', '\\x03', 1);",
        )
        .await
        .unwrap();

    let store = Postgres::connect(&url, 2).await.unwrap();
    let found = store.user_with_states(1, 1000).await.unwrap().unwrap();
    assert_eq!(
        found.states,
        vec![(
            "user:1000:token".to_owned(),
            Versioned {
                value: vec![1, 2],
                version: 4
            }
        )]
    );
    let token = StateKey::user(1, 1000, "user:1000:token".to_owned());
    assert!(store.cas(&token, Some(4), &[5], None).await.unwrap());
    assert!(store.delete_user(1, 1000).await.unwrap());
    assert_eq!(store.load("user:1000:token").await.unwrap(), None);
    assert_eq!(
        store.load("user:10000:token").await.unwrap().unwrap().value,
        vec![3]
    );
    let version: i32 = client
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(usize::try_from(version).unwrap(), MIGRATIONS.len());
}

/// A database of the schema before states named their owners (SQLite 4,
/// PostgreSQL 5): applications 1 and 2, users 1000 (of 1), 1001 and
/// 300000 (of 2), and a state of every kind that schema kept, some of
/// owners long gone. `blob` writes a byte string as the engine's literal.
fn states_before_owners(blob: fn(&[u8]) -> String) -> String {
    let (_, sent) = number_limit();
    let mut qr_link = 300_000i64.to_be_bytes().to_vec();
    qr_link.extend_from_slice(&[0; 16]);
    let mut lost_link = 77i64.to_be_bytes().to_vec();
    lost_link.extend_from_slice(&[0; 16]);
    let states = [
        ("user:1000:device:3", b"d".to_vec()),
        ("user:1000:token", b"t".to_vec()),
        ("user:999:token", b"no such user".to_vec()),
        ("user:1001:secret_export", b"e".to_vec()),
        ("qr:abc", qr_link),
        ("qr:gone", lost_link),
        ("app:1:verification:+15555550100", b"v".to_vec()),
        ("app:2:dest:+15555550100:day", sent.to_bytes().to_vec()),
        ("app:1:sends", RateLimitState::new().to_bytes().to_vec()),
        ("user:1000000000000000000:device:1", b"big".to_vec()),
        ("app:2:bucket:7:1765000000:abcd", b"b".to_vec()),
        ("app:10:sends", b"no such application".to_vec()),
        ("app:1:factor:9", b"f".to_vec()),
        ("unknown", b"w".to_vec()),
    ]
    .iter()
    .map(|(key, value)| format!("('{key}', {}, 3)", blob(value)))
    .collect::<Vec<_>>()
    .join(", ");
    format!(
        "INSERT INTO apps (id, name, key_hash, token_length, created_at) \
             VALUES (1, 'A', {}, 7, 0), (2, 'B', {}, 7, 0);
         INSERT INTO users (id, app_id, country_code, phone, email, created_at) \
             VALUES (1000, 1, 1, '7754615609', 'x@y.com', 0), \
                    (1001, 2, 1, '7754615609', 'x@y.com', 0), \
                    (300000, 2, 1, '7754615610', 'x@y.com', 0), \
                    (1000000000000000000, 2, 1, '7754615611', 'x@y.com', 0);
         INSERT INTO states (key, value, version) VALUES {states};",
        blob(&[1]),
        blob(&[2]),
    )
}

/// A number's daily send limit with its default settings (20 a day, 10 at
/// once: one every 86,400 / 11 s), and its state after one send at
/// 1,700,000,000: full again 7,855 s later (86,400 / 11, rounded up).
fn number_limit() -> (RateLimit, RateLimitState) {
    let limit = RateLimit::new(20, 86_400, 10).unwrap();
    let mut state = RateLimitState::new();
    limit.check(&mut state, 1_700_000_000).unwrap();
    (limit, state)
}

/// What the migration made of [`states_before_owners`]: each state with
/// its owner (application, user) and expiry, by key. `upgraded_at` is
/// when the migration ran, to the second or later; a day from it bounds
/// the codes, links and a number's limits.
fn assert_owned(rows: &[(String, i64, Option<i64>, Option<i64>)], upgraded_at: (i64, i64)) {
    let day = |row: &(String, i64, Option<i64>, Option<i64>)| {
        let expires = row.3.unwrap_or_default();
        assert!(
            (upgraded_at.0 + 86_400..=upgraded_at.1 + 86_400).contains(&expires),
            "{row:?}"
        );
        (row.0.clone(), row.1, row.2, None)
    };
    let seen: Vec<(String, i64, Option<i64>, Option<i64>)> = rows
        .iter()
        .map(|row| match row.0.as_str() {
            "user:1000:token" | "qr:abc" | "app:1:verification:+15555550100" => day(row),
            _ => row.clone(),
        })
        .collect();
    // The number's limit expires when the library finds it full again.
    let (limit, sent) = number_limit();
    let full = |t: u64| {
        let mut probe = sent;
        (0..limit.burst()).all(|_| limit.check(&mut probe, t).is_ok())
    };
    assert!(!full(1_700_000_000 + 7_854) && full(1_700_000_000 + 7_855));
    let owned = |key: &str, app: i64, user: Option<i64>, expires: Option<i64>| {
        (key.to_owned(), app, user, expires)
    };
    assert_eq!(
        seen,
        vec![
            owned("app:1:factor:9", 1, None, None),
            owned("app:1:sends", 1, None, Some(0)),
            owned("app:1:verification:+15555550100", 1, None, None),
            owned(
                "app:2:bucket:7:1765000000:abcd",
                2,
                None,
                Some(1_765_000_000)
            ),
            owned("app:2:dest:+15555550100:day", 2, None, Some(1_700_007_855)),
            owned("qr:abc", 2, Some(300_000), None),
            // '0' sorts before ':'.
            owned(
                "user:1000000000000000000:device:1",
                2,
                Some(1_000_000_000_000_000_000),
                None,
            ),
            owned("user:1000:device:3", 1, Some(1000), None),
            owned("user:1000:token", 1, Some(1000), None),
            owned("user:1001:secret_export", 2, Some(1001), None),
        ]
    );
}

fn unix_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.unwrap().as_secs()).unwrap()
}

/// Deleting a user, then an application, takes their states with them:
/// the migrated rows' owners hold.
async fn owners_take_their_states(store: &dyn Store) {
    assert!(store.delete_user(1, 1000).await.unwrap());
    assert_eq!(store.load("user:1000:device:3").await.unwrap(), None);
    assert_eq!(store.load("user:1000:token").await.unwrap(), None);
    assert!(store.load("app:1:factor:9").await.unwrap().is_some());
    assert!(store.delete_app(2).await.unwrap());
    for key in [
        "qr:abc",
        "user:1001:secret_export",
        "app:2:dest:+15555550100:day",
    ] {
        assert_eq!(store.load(key).await.unwrap(), None, "{key}");
    }
    assert!(
        store
            .load("app:1:verification:+15555550100")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn sqlite_states_get_their_owners_and_expiries_from_their_keys() {
    use passcode_server::store::sqlite::MIGRATIONS as SQLITE;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema4.db");
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "PRAGMA foreign_keys = ON; CREATE TABLE schema_version (version INTEGER NOT NULL)",
    )
    .unwrap();
    for (version, sql) in (1..).zip(&SQLITE[..4]) {
        old.execute_batch(sql).unwrap();
        old.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )
        .unwrap();
    }
    let blob = |bytes: &[u8]| format!("X'{}'", hex::encode(bytes));
    old.execute_batch(&states_before_owners(blob)).unwrap();
    drop(old);
    let before = unix_now();
    let store = Sqlite::open(&path, Durability::Full).unwrap();
    let after = unix_now();
    let db = rusqlite::Connection::open(&path).unwrap();
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = db
        .prepare("SELECT key, app_id, user_id, expires_at FROM states ORDER BY key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_owned(&rows, (before, after));
    let value = store.load("user:1000:token").await.unwrap().unwrap();
    assert_eq!((value.value, value.version), (b"t".to_vec(), 3));
    owners_take_their_states(&store).await;
}

#[tokio::test]
async fn postgres_states_get_their_owners_and_expiries_from_their_keys() {
    let Some(base) = support::postgres_url() else {
        return;
    };
    let url = support::fresh_postgres(&base).await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        .await
        .unwrap();
    for (version, sql) in (1..).zip(&MIGRATIONS[..5]) {
        client.batch_execute(sql).await.unwrap();
        client
            .execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )
            .await
            .unwrap();
    }
    let blob = |bytes: &[u8]| format!("'\\x{}'::bytea", hex::encode(bytes));
    client
        .batch_execute(&states_before_owners(blob))
        .await
        .unwrap();
    let before = unix_now();
    let store = Postgres::connect(&url, 2).await.unwrap();
    let after = unix_now();
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = client
        .query(
            "SELECT key, app_id, user_id, expires_at FROM states ORDER BY key",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_owned(&rows, (before, after));
    let value = store.load("user:1000:token").await.unwrap().unwrap();
    assert_eq!((value.value, value.version), (b"t".to_vec(), 3));
    owners_take_their_states(&store).await;
}
