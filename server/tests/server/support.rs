//! What the store and fleet tests share: fresh databases of each kind.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use passcode_server::sender::{Message, SendError, Sender};

use passcode_server::store::Store;
use passcode_server::store::postgres::Postgres;
use passcode_server::store::sqlite::{Durability, Sqlite};

/// A sender that keeps every message, for the tests to read codes from.
#[derive(Default)]
pub(crate) struct Recorder(pub(crate) Mutex<Vec<Message>>);

#[async_trait]
impl Sender for Recorder {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        self.0.lock().unwrap().push(message.clone());
        Ok(())
    }
}

impl Recorder {
    /// The last message sent.
    pub(crate) fn last(&self) -> Message {
        self.0.lock().unwrap().last().unwrap().clone()
    }
}

/// The cluster the PostgreSQL half runs against, from
/// `PASSCODE_TEST_POSTGRES_URL` (a database the tests may create others
/// next to). With `PASSCODE_REQUIRE_POSTGRES=1` (CI) its absence fails the
/// tests instead of skipping that half.
pub(crate) fn postgres_url() -> Option<String> {
    let url = std::env::var("PASSCODE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("PASSCODE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("PASSCODE_REQUIRE_POSTGRES=1 but PASSCODE_TEST_POSTGRES_URL is not set");
    }
    if url.is_none() {
        eprintln!("SKIPPED the PostgreSQL half: PASSCODE_TEST_POSTGRES_URL is not set");
    }
    url
}

/// A new, empty database on the test cluster; its URL.
pub(crate) async fn fresh_postgres(base: &str) -> String {
    fresh_postgres_with(base, "").await
}

/// [`fresh_postgres`] with a linguistic collation (ICU en-US), which orders
/// ':' and ';' by other rules than their bytes.
pub(crate) async fn fresh_postgres_linguistic(base: &str) -> String {
    fresh_postgres_with(
        base,
        "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'",
    )
    .await
}

/// [`fresh_postgres`], created with `options` (`CREATE DATABASE name
/// options`).
async fn fresh_postgres_with(base: &str, options: &str) -> String {
    let name = format!("passcode_test_{}", hex::encode(rand_bytes()));
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name} {options}"))
        .await
        .unwrap();
    let cut = base.rfind('/').unwrap();
    let (head, tail) = base.split_at(cut);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{head}/{name}{query}")
}

fn rand_bytes() -> [u8; 8] {
    let mut bytes = [0u8; 8];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
}

/// Each kind of store the suite runs against: SQLite always, PostgreSQL
/// when a cluster is given. The temporary directory lives as long as the
/// store.
pub(crate) async fn stores() -> Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Sqlite::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
    let mut out: Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> =
        vec![("sqlite", Arc::new(sqlite), Some(dir))];
    if let Some(base) = postgres_url() {
        let url = fresh_postgres(&base).await;
        out.push((
            "postgres",
            Arc::new(Postgres::connect(&url, 8).await.unwrap()),
            None,
        ));
    }
    out
}
