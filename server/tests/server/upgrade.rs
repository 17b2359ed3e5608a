//! A database made by an earlier release is migrated at start and keeps
//! serving: its key check, its application key, its user, the sealed seed
//! of its authenticator and its pending SMS token all still work.
//!
//! `tests/fixtures/release-0.1.0.sql` is the dump of a database that
//! release 0.1.0 (schema version 1) made through its API; every later
//! migration runs over it here.

use crate::support;

use std::sync::Arc;

use passcode::{Secret, Totp, TotpConfig};
use passcode_server::crypto::{KEY_CHECK, MasterKey, key_hash};
use passcode_server::domain::{Domain, Limits, Matched};
use passcode_server::sender::LogSender;
use passcode_server::store::postgres::{MIGRATIONS, Postgres};
use passcode_server::store::sqlite::{Durability, Sqlite};
use passcode_server::store::{StateStore, Store, UserStore, Versioned};

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
    assert!(store.cas("user:1000:token", Some(4), &[5]).await.unwrap());
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
