//! A database made by an earlier release is migrated at start and keeps
//! serving: its key check, its application key, its user, the sealed seed
//! of its authenticator and its pending SMS token all still work.
//!
//! `fixtures/release-0.1.0.sql` is the dump of a database that release 0.1.0
//! (schema version 1) made through its API; every later migration runs over
//! it here.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use passcode::{Secret, Totp, TotpConfig};
use passcode_server::crypto::{KEY_CHECK, MasterKey, key_hash};
use passcode_server::sender::LogSender;
use passcode_server::service::{Limits, Matched, Service};
use passcode_server::store::Store;
use passcode_server::store::sqlite::{Durability, Sqlite};

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
        .execute_batch(include_str!("fixtures/release-0.1.0.sql"))
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
    let service = Service::new(
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
