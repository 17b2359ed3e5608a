//! The API over real HTTP: the app in-process on 127.0.0.1:0 with a fixed
//! clock, a recording sender and a fresh SQLite file per test. Golden
//! bodies are the recorded ones of `AUTHY-API.md`, byte for byte.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use passcode::{ParsedKeyUri, Totp, TotpConfig};
use passcode_server::api::{self, Clock, Shared};
use passcode_server::connections::{self, ConnectionLimits};
use passcode_server::crypto::{MasterKey, key_hash};
use passcode_server::domain::{Domain, Limits, StartRequest};
use passcode_server::sender::Channel;
use passcode_server::store::sqlite::{Durability, Sqlite};
use passcode_server::store::{
    self, App, AppPatch, Counter, Device, MonthStats, NewApp, StateKey, Store, User, Versioned,
};

mod attacks;
mod verify;
mod xml;

/// 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000;
const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const KEY_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const JSON_TYPE: &str = "application/json;charset=utf-8";

use super::support::Recorder;

struct Server {
    base: String,
    clock: Arc<AtomicU64>,
    sent: Arc<Recorder>,
    store: Arc<dyn Store>,
    /// The same store as the server's domain calls it.
    watched: Arc<Watched>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A server with application 1 (key A, named "Test") and application 2
/// (key B, named "Other"); `sandbox` makes application 1 a sandbox.
async fn start(sandbox: bool) -> Server {
    start_with(sandbox, Limits::default()).await
}

/// [`start`] with other rate limits.
async fn start_with(sandbox: bool, limits: Limits) -> Server {
    let connections = ConnectionLimits::for_open_files(1024);
    start_bounded(sandbox, limits, connections, Duration::from_secs(10)).await
}

/// [`start_with`] with other connection limits and body deadline.
async fn start_bounded(
    sandbox: bool,
    limits: Limits,
    connections: ConnectionLimits,
    body_timeout: Duration,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Sqlite::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
    let store: Arc<dyn Store> = Arc::new(sqlite);
    for (name, key, sandbox) in [("Test", KEY_A, sandbox), ("Other", KEY_B, false)] {
        store
            .create_app(
                NewApp {
                    name: name.into(),
                    key_hash: key_hash(key),
                    token_length: 7,
                    sandbox,
                },
                0,
            )
            .await
            .unwrap();
    }
    let clock = Arc::new(AtomicU64::new(T0));
    let read = Arc::clone(&clock);
    let clock_fn: Clock = Arc::new(move || read.load(Ordering::SeqCst));
    let sent = Arc::new(Recorder::default());
    let events = passcode_server::sender::outbox::Outbox::start(
        Arc::new(passcode_server::sender::events::EventGateway::new().unwrap()),
        passcode_server::sender::outbox::Retry {
            attempts: 3,
            first_delay: Duration::from_millis(20),
        },
    );
    let watched = Arc::new(Watched::new(Arc::clone(&store), Duration::ZERO));
    let service = Domain::new(
        watched.clone(),
        Arc::new(MasterKey::from_bytes(&[5; 32])),
        sent.clone(),
        limits,
    )
    .with_events(Arc::new(events));
    let app = api::router(Arc::new(Shared {
        domain: service,
        clock: clock_fn,
        public_url: None,
        body_timeout,
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(connections::serve(
        listener,
        app,
        connections,
        connections.slots(),
        None,
        std::future::pending(),
    ));
    Server {
        base: format!("http://{addr}"),
        clock,
        sent,
        store,
        watched,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Server {
    /// Every state as the database file holds it, by key: its key, owner
    /// (application, user) and expiry.
    fn states(&self) -> Vec<(String, i64, Option<i64>, Option<i64>)> {
        let db = rusqlite::Connection::open(self._dir.path().join("t.db")).unwrap();
        let mut stmt = db
            .prepare("SELECT key, app_id, user_id, expires_at FROM states ORDER BY key")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// Every state's key.
    fn state_keys(&self) -> Vec<String> {
        self.states().into_iter().map(|row| row.0).collect()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, key: &str, path: &str) -> Answer {
        let url = format!("{}/protected/json/{path}", self.base);
        self.send(self.http.get(url).header("X-Authy-API-Key", key))
            .await
    }

    async fn post_json(&self, key: &str, path: &str, body: &str) -> Answer {
        let url = format!("{}/protected/json/{path}", self.base);
        self.send(
            self.http
                .post(url)
                .header("X-Authy-API-Key", key)
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
        )
        .await
    }

    async fn create_user(&self, key: &str, phone: &str) -> i64 {
        let body = format!(
            r#"{{"user":{{"email":"u@example.com","cellphone":"{phone}","country_code":"1"}}}}"#
        );
        let answer = self.post_json(key, "users/new", &body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        value["user"]["id"].as_i64().unwrap()
    }

    /// Turns phone number export on for application `app`.
    async fn enable_export(&self, app: i64) {
        let patch = AppPatch {
            phone_export_enabled: Some(true),
            ..AppPatch::default()
        };
        self.store.update_app(app, patch).await.unwrap();
    }

    fn last_code(&self) -> String {
        self.sent.0.lock().unwrap().last().unwrap().code.clone()
    }

    fn advance(&self, seconds: u64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }
}

fn assert_answer(answer: &Answer, status: u16, body: &str) {
    assert_eq!((answer.status, answer.body.as_str()), (status, body));
    assert_eq!(answer.content_type, JSON_TYPE);
}

// Recorded bodies (AUTHY-API.md §1.4, §2), byte for byte.
const INVALID_KEY: &str = r#"{"message":"Invalid API key","success":false,"errors":{"message":"Invalid API key"},"error_code":"60001"}"#;
const USER_NOT_FOUND: &str = r#"{"message":"User not found.","success":false,"errors":{"message":"User not found."},"error_code":"60026"}"#;
const USER_NOT_VALID: &str = r#"{"message":"User was not valid","success":false,"errors":{"cellphone":"is invalid","message":"User was not valid"},"cellphone":"is invalid","error_code":"60027"}"#;
const TOKEN_INVALID: &str = r#"{"message":"Token is invalid","token":"is invalid","success":false,"errors":{"message":"Token is invalid"},"error_code":"60020"}"#;
const VERIFICATION_INCORRECT: &str = r#"{"message":"Verification code is incorrect","success":false,"errors":{"message":"Verification code is incorrect"},"error_code":"60022"}"#;

#[tokio::test]
async fn create_user_status_and_delete_answer_the_recorded_bodies() {
    let s = start(false).await;
    let created = s
        .post_json(
            KEY_A,
            "users/new",
            r#"{"user":{"email":"a@b.com","cellphone":"775-461-5609","country_code":1}}"#,
        )
        .await;
    assert_answer(
        &created,
        200,
        r#"{"message":"User created successfully.","user":{"id":1000},"success":true}"#,
    );
    // The same phone again (even with another email) is the same user.
    let again = s
        .post_json(
            KEY_A,
            "users/new",
            r#"{"user":{"email":"c@d.com","cellphone":"7754615609","country_code":"1"}}"#,
        )
        .await;
    assert_answer(
        &again,
        200,
        r#"{"message":"User created successfully.","user":{"id":1000},"success":true}"#,
    );
    let status = s.get(KEY_A, "users/1000/status").await;
    assert_answer(
        &status,
        200,
        r#"{"status":{"authy_id":1000,"confirmed":false,"registered":false,"account_disabled":false,"country_code":1,"phone_number":"XXX-XXX-5609","has_hard_token":false,"devices":[],"detailed_devices":[]},"message":"User status.","success":true}"#,
    );
    for path in [
        "users/1000/remove",
        "users/1000/delete",
        "users/delete/1000",
    ] {
        let user = s.create_user(KEY_A, "775-461-5609").await;
        let path = path.replace("1000", &user.to_string());
        let deleted = s.post_json(KEY_A, &path, "").await;
        assert_answer(
            &deleted,
            200,
            r#"{"message":"User was added to remove.","success":true}"#,
        );
        assert_answer(
            &s.get(KEY_A, &format!("users/{user}/status")).await,
            404,
            USER_NOT_FOUND,
        );
    }
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let s = start(false).await;
    let bad_phone = s
        .post_json(
            KEY_A,
            "users/new",
            r#"{"user":{"email":"a@b.com","cellphone":"12","country_code":1}}"#,
        )
        .await;
    assert_answer(&bad_phone, 400, USER_NOT_VALID);
    let bad_email = s
        .post_json(
            KEY_A,
            "users/new",
            r#"{"user":{"email":"testexample.com","cellphone":"775-461-5609","country_code":1}}"#,
        )
        .await;
    assert_eq!(bad_email.status, 400);
    let value: serde_json::Value = serde_json::from_str(&bad_email.body).unwrap();
    assert_eq!(value["errors"]["email"], "is invalid");
    assert_eq!(value["error_code"], "60027");
}

#[tokio::test]
async fn keys_come_from_the_header_or_a_parameter() {
    let s = start(false).await;
    let url = format!("{}/protected/json/app/details", s.base);
    let details = r#"{"app":{"app_id":1,"name":"Test","plan":"pay_as_you_go","sms_enabled":true,"phone_calls_enabled":true,"onetouch_enabled":false},"message":"Application information.","success":true}"#;
    assert_answer(
        &s.send(s.http.get(format!("{url}?api_key={KEY_A}"))).await,
        200,
        details,
    );
    let form = s
        .send(
            s.http
                .get(&url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("api_key={KEY_A}")),
        )
        .await;
    assert_answer(&form, 200, details);
    assert_answer(&s.send(s.http.get(&url)).await, 401, INVALID_KEY);
    assert_answer(
        &s.send(s.http.get(&url).header("X-Authy-API-Key", "wrong"))
            .await,
        401,
        INVALID_KEY,
    );
    assert_answer(
        &s.send(s.http.get(format!("{url}?api_key=wrong"))).await,
        401,
        INVALID_KEY,
    );
}

#[tokio::test]
async fn an_sms_token_is_accepted_once() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let sent = s.get(KEY_A, &format!("sms/{user}")).await;
    assert_answer(
        &sent,
        200,
        r#"{"success":true,"message":"SMS token was sent","cellphone":"+1-XXX-XXX-XX09"}"#,
    );
    let message = s.sent.0.lock().unwrap().last().unwrap().clone();
    assert_eq!(
        (message.to.as_str(), message.code.len()),
        ("+17754615609", 7)
    );
    assert_eq!(
        message.body,
        format!("Your Test verification code is: {}", message.code)
    );
    // A resend within the validity repeats the code.
    s.advance(30);
    s.get(KEY_A, &format!("call/{user}?force=true")).await;
    assert_eq!(s.last_code(), message.code);
    let ok = s
        .get(KEY_A, &format!("verify/{}/{user}", message.code))
        .await;
    assert_answer(
        &ok,
        200,
        &format!(
            r#"{{"message":"Token is valid.","token":"is valid","success":"true","device":{{"id":null,"os_type":"sms","registration_date":{T0},"registration_method":null,"registration_region":null,"registration_city":null,"country":null,"region":null,"city":null,"ip":null,"last_account_recovery_at":null,"last_sync_date":null}}}}"#
        )
        .replace(r#""registration_method":null,"#, r#""registration_method":null,"registration_country":null,"#),
    );
    let replay = s
        .get(KEY_A, &format!("verify/{}/{user}", message.code))
        .await;
    assert_eq!(replay.status, 401);
    assert!(
        replay.body.contains(r#""error_code":"60019""#)
            && replay.body.contains(r#""token":"is invalid""#),
        "{}",
        replay.body
    );
    let wrong = s.get(KEY_A, &format!("verify/{}/{user}", "1234567")).await;
    assert_answer(&wrong, 401, TOKEN_INVALID);
}

#[tokio::test]
async fn an_sms_token_expires() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    s.get(KEY_A, &format!("sms/{user}")).await;
    let code = s.last_code();
    s.advance(600);
    assert_answer(
        &s.get(KEY_A, &format!("verify/{code}/{user}")).await,
        401,
        TOKEN_INVALID,
    );
}

/// Enrols a generic authenticator and returns its TOTP.
async fn enrol(s: &Server, key: &str, user: i64) -> Totp {
    let answer = s
        .post_json(key, &format!("users/{user}/secret"), "{}")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let uri = value["uri"].as_str().unwrap();
    let parsed = ParsedKeyUri::parse(uri).unwrap();
    assert!(value["qr_code"].as_str().unwrap().starts_with(&s.base));
    Totp::new(parsed.secret(), TotpConfig::new()).unwrap()
}

#[tokio::test]
async fn a_generic_authenticator_code_is_accepted_once_and_its_qr_code_is_served() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let answer = s
        .post_json(
            KEY_A,
            &format!("users/{user}/secret"),
            r#"{"label":"alice"}"#,
        )
        .await;
    let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(value["label"], "alice");
    assert_eq!(value["issuer"], "Test");
    let png = s
        .http
        .get(value["qr_code"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let totp = Totp::new(
        ParsedKeyUri::parse(value["uri"].as_str().unwrap())
            .unwrap()
            .secret(),
        TotpConfig::new(),
    )
    .unwrap();
    let code = totp.generate(s.now()).unwrap().to_string();
    let ok = s.get(KEY_A, &format!("verify/{code}/{user}")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.starts_with(
        r#"{"message":"Token is valid.","token":"is valid","success":"true","device":{"id":"#
    ));
    let replay = s.get(KEY_A, &format!("verify/{code}/{user}")).await;
    assert_eq!(replay.status, 401);
    assert!(
        replay.body.contains(r#""error_code":"60019""#),
        "{}",
        replay.body
    );
    // The status lists the device; an SMS without force is not needed.
    assert!(
        s.get(KEY_A, &format!("users/{user}/status"))
            .await
            .body
            .contains(r#""devices":["authenticator"]"#)
    );
    let ignored = s.get(KEY_A, &format!("sms/{user}")).await;
    assert_answer(
        &ignored,
        200,
        r#"{"message":"Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it anyway.","cellphone":"+1-XXX-XXX-XX09","device":"authenticator","ignored":true,"success":true}"#,
    );
    // The QR link expires.
    s.advance(600);
    let gone = s
        .http
        .get(value["qr_code"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn a_verification_reads_once_and_writes_once() {
    // What a decision costs the store: the application and the user read
    // together, then the compare-and-set, whose write also marks a user's
    // first accepted token. On PostgreSQL each is one round trip.
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let totp = enrol(&s, KEY_A, user).await;
    let unregistered = s.store.user(1, user).await.unwrap().unwrap();
    assert!(!unregistered.registered);
    s.watched.take_calls();
    let code = totp.generate(s.now()).unwrap().to_string();
    let first = s.get(KEY_A, &format!("verify/{code}/{user}")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(s.watched.take_calls(), ["app_with_user", "cas_registering"]);
    assert!(s.store.user(1, user).await.unwrap().unwrap().registered);
    s.advance(30);
    let code = totp.generate(s.now()).unwrap().to_string();
    let again = s.get(KEY_A, &format!("verify/{code}/{user}")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(s.watched.take_calls(), ["app_with_user", "cas"]);
    // A wrong code is written too: it spends a guess.
    let wrong = if code == "123456" { "654321" } else { "123456" };
    let refused = s.get(KEY_A, &format!("verify/{wrong}/{user}")).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(s.watched.take_calls(), ["app_with_user", "cas"]);
    // The key of another application finds not this user, and a wrong key
    // no application.
    let stranger = s.get(KEY_B, &format!("verify/{code}/{user}")).await;
    assert_eq!(stranger.status, 404, "{}", stranger.body);
    assert!(
        stranger.body.contains(r#""error_code":"60026""#),
        "{}",
        stranger.body
    );
    let bad_key = s.get("wrong", &format!("verify/{code}/{user}")).await;
    assert_eq!(bad_key.status, 401, "{}", bad_key.body);
    assert_eq!(s.watched.take_calls(), ["app_with_user", "app_with_user"]);
    // A path that names no user checks the key first, as every route does.
    let bad_id = s.get("wrong", &format!("verify/{code}/tony")).await;
    assert_eq!(bad_id.status, 401, "{}", bad_id.body);
    let no_user = s.get(KEY_A, &format!("verify/{code}/tony")).await;
    assert_eq!(no_user.status, 404, "{}", no_user.body);
    assert_eq!(
        s.watched.take_calls(),
        ["app_by_key_hash", "app_by_key_hash"]
    );

    // A user's first SMS token registers it in the write that spends it.
    let texted = s.create_user(KEY_A, "775-461-5610").await;
    assert_eq!(s.get(KEY_A, &format!("sms/{texted}")).await.status, 200);
    let token = s.last_code();
    s.watched.take_calls();
    let ok = s.get(KEY_A, &format!("verify/{token}/{texted}")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(s.watched.take_calls(), ["app_with_user", "cas_registering"]);
    assert!(s.store.user(1, texted).await.unwrap().unwrap().registered);
}

#[tokio::test]
async fn a_sweep_removes_a_backlog_twenty_five_states_a_statement() {
    // Short writes, so that requests' commits are not held up behind one.
    let s = start(false).await;
    let app = s.store.app(1).await.unwrap().unwrap();
    for i in 0..60 {
        let key = StateKey::app(app.id, format!("app:{}:old:{i}", app.id));
        assert!(s.store.cas(&key, None, b"x", Some(1)).await.unwrap());
    }
    let kept = StateKey::app(app.id, format!("app:{}:kept", app.id));
    assert!(s.store.cas(&kept, None, b"x", None).await.unwrap());
    let service = Domain::new(
        s.watched.clone(),
        Arc::new(MasterKey::from_bytes(&[5; 32])),
        Arc::new(Recorder::default()),
        Limits::default(),
    );
    s.watched.take_calls();
    assert_eq!(service.sweep(s.now()).await.unwrap(), 60);
    assert_eq!(s.watched.take_calls(), ["sweep", "sweep", "sweep"]);
    assert!(s.store.load(&kept.key).await.unwrap().is_some());
    assert_eq!(service.sweep(s.now()).await.unwrap(), 0);
}

#[tokio::test]
async fn the_sandbox_token_registers_its_user_once() {
    // The sandbox's token spends no state: the registration is a write of
    // its own, and only the first time.
    let s = start(true).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    s.watched.take_calls();
    for round in 0..2 {
        let ok = s.get(KEY_A, &format!("verify/0000000/{user}")).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let expected: &[&str] = if round == 0 {
            &["app_with_user", "set_registered"]
        } else {
            &["app_with_user"]
        };
        assert_eq!(s.watched.take_calls(), expected, "round {round}");
        assert!(s.store.user(1, user).await.unwrap().unwrap().registered);
    }
}

#[tokio::test]
async fn a_hundred_concurrent_verifications_of_one_code_give_one_200() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let totp = enrol(&s, KEY_A, user).await;
    let code = totp.generate(s.now()).unwrap().to_string();
    let path = format!("verify/{code}/{user}");
    let answers = futures::future::join_all((0..100).map(|_| s.get(KEY_A, &path))).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers
        .iter()
        .filter(|a| a.status == 401 || a.status == 429)
        .count();
    assert_eq!(
        (ok, refused),
        (1, 99),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_hundred_concurrent_checks_of_one_verification_code_give_one_200() {
    let s = start(false).await;
    let started = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            r#"{"via":"sms","country_code":1,"phone_number":"775-461-5609"}"#,
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let code = s.last_code();
    let path = format!(
        "phones/verification/check?country_code=1&phone_number=775-461-5609&verification_code={code}"
    );
    let answers = futures::future::join_all((0..100).map(|_| s.get(KEY_A, &path))).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        answers.iter().all(|a| a.status == 200 || a.status == 404),
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_last_unit_of_a_quota_goes_to_exactly_one_request() {
    let s = start(false).await;
    s.enable_export(1).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let path = format!("users/{user}/phone_number");
    let answers = futures::future::join_all((0..100).map(|_| s.get(KEY_A, &path))).await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(ok.len(), 3, "3 a month per user");
    assert_eq!(
        ok[0].body,
        format!(
            r#"{{"phone_number":"775-461-5609","country_code":"1","e164":"+17754615609","updated_at":"2023-11-14T22:13:20Z"}}"#
        )
    );
    let refused = answers.iter().find(|a| a.status == 429).unwrap();
    assert!(
        refused.body.contains(r#""error_code":"60003""#),
        "{}",
        refused.body
    );
}

/// A store that notes each call of its applications, users and states, in
/// order, and whose compare-and-set takes `delay` more, as across a
/// network: contenders that load together meet again at the next round.
struct Watched {
    inner: Arc<dyn Store>,
    delay: Duration,
    calls: std::sync::Mutex<Vec<&'static str>>,
}

impl Watched {
    fn new(inner: Arc<dyn Store>, delay: Duration) -> Self {
        Self {
            inner,
            delay,
            calls: std::sync::Mutex::default(),
        }
    }

    fn note(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }

    /// The calls since the last time they were taken.
    fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[async_trait]
impl store::VerifyStore for Watched {
    async fn verify_service_exists(&self, app_id: i64, sid: &str) -> store::Result<bool> {
        self.inner.verify_service_exists(app_id, sid).await
    }
    async fn service_state(
        &self,
        app_id: i64,
        sid: &str,
        key: &str,
    ) -> store::Result<Option<Option<Versioned>>> {
        self.inner.service_state(app_id, sid, key).await
    }
    async fn account_with_app(&self, sid: &str) -> store::Result<Option<(store::Account, App)>> {
        self.inner.account_with_app(sid).await
    }
    async fn record_attempt(&self, row: &store::AttemptRow) -> store::Result<()> {
        self.inner.record_attempt(row).await
    }
    async fn convert_attempts(&self, conversions: &[store::Conversion]) -> store::Result<()> {
        self.inner.convert_attempts(conversions).await
    }
    async fn attempt(&self, app_id: i64, sid: &str) -> store::Result<Option<store::AttemptRow>> {
        self.inner.attempt(app_id, sid).await
    }
    async fn attempts(
        &self,
        app_id: i64,
        filter: &store::AttemptFilter,
        after_seq: i64,
        limit: u32,
    ) -> store::Result<Vec<store::AttemptRow>> {
        self.inner.attempts(app_id, filter, after_seq, limit).await
    }
    async fn attempt_totals(
        &self,
        app_id: i64,
        filter: &store::AttemptFilter,
    ) -> store::Result<(i64, i64)> {
        self.inner.attempt_totals(app_id, filter).await
    }
    async fn seal_account_token(
        &self,
        app_id: i64,
        token_hash: &[u8; 32],
        sealed: &[u8],
    ) -> store::Result<bool> {
        self.inner
            .seal_account_token(app_id, token_hash, sealed)
            .await
    }
    async fn create_webhook(&self, row: &store::WebhookRow) -> store::Result<()> {
        self.inner.create_webhook(row).await
    }
    async fn webhook(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> store::Result<Option<store::WebhookRow>> {
        self.inner.webhook(app_id, service_sid, sid).await
    }
    async fn webhooks(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> store::Result<Vec<store::WebhookRow>> {
        self.inner
            .webhooks(app_id, service_sid, after_seq, limit)
            .await
    }
    async fn update_webhook(
        &self,
        app_id: i64,
        sid: &str,
        settings: &str,
        now: i64,
    ) -> store::Result<bool> {
        self.inner.update_webhook(app_id, sid, settings, now).await
    }
    async fn delete_webhook(&self, app_id: i64, sid: &str) -> store::Result<bool> {
        self.inner.delete_webhook(app_id, sid).await
    }
    async fn create_api_key(&self, key: &store::ApiKey) -> store::Result<()> {
        self.inner.create_api_key(key).await
    }
    async fn api_key(&self, sid: &str) -> store::Result<Option<store::ApiKey>> {
        self.inner.api_key(sid).await
    }
    async fn api_keys(&self, app_id: i64) -> store::Result<Vec<store::ApiKey>> {
        self.inner.api_keys(app_id).await
    }
    async fn delete_api_key(&self, app_id: i64, sid: &str) -> store::Result<bool> {
        self.inner.delete_api_key(app_id, sid).await
    }
    async fn set_account(&self, account: &store::Account) -> store::Result<bool> {
        self.inner.set_account(account).await
    }
    async fn account(&self, app_id: i64) -> store::Result<Option<store::Account>> {
        self.inner.account(app_id).await
    }
    async fn account_by_sid(&self, sid: &str) -> store::Result<Option<store::Account>> {
        self.inner.account_by_sid(sid).await
    }
    async fn create_verify_service(&self, row: &store::VerifyServiceRow) -> store::Result<bool> {
        self.inner.create_verify_service(row).await
    }
    async fn verify_service(
        &self,
        app_id: i64,
        sid: &str,
    ) -> store::Result<Option<store::VerifyServiceRow>> {
        self.inner.verify_service(app_id, sid).await
    }
    async fn verify_services(
        &self,
        app_id: i64,
        after_seq: i64,
        limit: u32,
    ) -> store::Result<Vec<store::VerifyServiceRow>> {
        self.inner.verify_services(app_id, after_seq, limit).await
    }
    async fn update_verify_service(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> store::Result<bool> {
        self.inner
            .update_verify_service(app_id, sid, version, settings, now)
            .await
    }
    async fn delete_verify_service(&self, app_id: i64, sid: &str) -> store::Result<bool> {
        self.inner.delete_verify_service(app_id, sid).await
    }
}

#[async_trait]
impl store::FactorStore for Watched {
    async fn create_entity(&self, row: &store::EntityRow) -> store::Result<bool> {
        self.inner.create_entity(row).await
    }
    async fn entity(
        &self,
        app_id: i64,
        service_sid: &str,
        identity: &str,
    ) -> store::Result<Option<store::EntityRow>> {
        self.inner.entity(app_id, service_sid, identity).await
    }
    async fn entities(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> store::Result<Vec<store::EntityRow>> {
        self.inner
            .entities(app_id, service_sid, after_seq, limit)
            .await
    }
    async fn delete_entity(
        &self,
        app_id: i64,
        service_sid: &str,
        identity: &str,
    ) -> store::Result<bool> {
        self.inner
            .delete_entity(app_id, service_sid, identity)
            .await
    }
    async fn create_factor(
        &self,
        row: &store::FactorRow,
    ) -> store::Result<Option<store::FactorRow>> {
        self.inner.create_factor(row).await
    }
    async fn factor(
        &self,
        app_id: i64,
        entity_seq: i64,
        sid: &str,
    ) -> store::Result<Option<store::FactorRow>> {
        self.inner.factor(app_id, entity_seq, sid).await
    }
    async fn factors(
        &self,
        app_id: i64,
        entity_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> store::Result<Vec<store::FactorRow>> {
        self.inner
            .factors(app_id, entity_seq, after_seq, limit)
            .await
    }
    async fn update_factor(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> store::Result<bool> {
        self.inner
            .update_factor(app_id, sid, version, settings, now)
            .await
    }
    async fn delete_factor(&self, app_id: i64, sid: &str) -> store::Result<bool> {
        self.inner.delete_factor(app_id, sid).await
    }
    async fn create_challenge(
        &self,
        row: &store::ChallengeRow,
    ) -> store::Result<store::ChallengeRow> {
        self.inner.create_challenge(row).await
    }
    async fn challenge(
        &self,
        app_id: i64,
        entity_seq: i64,
        sid: &str,
    ) -> store::Result<Option<store::ChallengeRow>> {
        self.inner.challenge(app_id, entity_seq, sid).await
    }
    async fn challenges(
        &self,
        app_id: i64,
        entity_seq: i64,
        filter: &store::ChallengeFilter,
        after: Option<i64>,
        limit: u32,
    ) -> store::Result<Vec<store::ChallengeRow>> {
        self.inner
            .challenges(app_id, entity_seq, filter, after, limit)
            .await
    }
    async fn app_devices(
        &self,
        app_id: i64,
        after_id: i64,
        limit: u32,
    ) -> store::Result<Vec<Device>> {
        self.inner.app_devices(app_id, after_id, limit).await
    }
    async fn respond_challenge(
        &self,
        app_id: i64,
        sid: &str,
        status: &str,
        now: i64,
    ) -> store::Result<bool> {
        self.inner.respond_challenge(app_id, sid, status, now).await
    }
}

#[async_trait]
impl store::RateLimitStore for Watched {
    async fn create_rate_limit(&self, row: &store::RateLimitRow) -> store::Result<bool> {
        self.inner.create_rate_limit(row).await
    }
    async fn rate_limit(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> store::Result<Option<store::RateLimitRow>> {
        self.inner.rate_limit(app_id, service_sid, sid).await
    }
    async fn rate_limit_named(
        &self,
        app_id: i64,
        service_sid: &str,
        unique_name: &str,
    ) -> store::Result<Option<store::RateLimitRow>> {
        self.inner
            .rate_limit_named(app_id, service_sid, unique_name)
            .await
    }
    async fn rate_limits(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> store::Result<Vec<store::RateLimitRow>> {
        self.inner
            .rate_limits(app_id, service_sid, after_seq, limit)
            .await
    }
    async fn describe_rate_limit(
        &self,
        app_id: i64,
        sid: &str,
        description: &str,
        now: i64,
    ) -> store::Result<bool> {
        self.inner
            .describe_rate_limit(app_id, sid, description, now)
            .await
    }
    async fn delete_rate_limit(&self, app_id: i64, sid: &str) -> store::Result<bool> {
        self.inner.delete_rate_limit(app_id, sid).await
    }
    async fn create_bucket(&self, row: &store::BucketRow) -> store::Result<bool> {
        self.inner.create_bucket(row).await
    }
    async fn bucket(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        sid: &str,
    ) -> store::Result<Option<store::BucketRow>> {
        self.inner.bucket(app_id, rate_limit_seq, sid).await
    }
    async fn buckets(
        &self,
        app_id: i64,
        rate_limit_seq: i64,
        after_seq: i64,
        limit: u32,
    ) -> store::Result<Vec<store::BucketRow>> {
        self.inner
            .buckets(app_id, rate_limit_seq, after_seq, limit)
            .await
    }
    async fn set_bucket(
        &self,
        app_id: i64,
        sid: &str,
        max: i64,
        interval: i64,
        now: i64,
    ) -> store::Result<bool> {
        self.inner.set_bucket(app_id, sid, max, interval, now).await
    }
    async fn delete_bucket(&self, app_id: i64, sid: &str) -> store::Result<bool> {
        self.inner.delete_bucket(app_id, sid).await
    }
}

#[async_trait]
impl Store for Watched {
    async fn ping(&self) -> store::Result<()> {
        self.inner.ping().await
    }
    async fn meta(&self, key: &str) -> store::Result<Option<Vec<u8>>> {
        self.inner.meta(key).await
    }
    async fn init_meta(&self, key: &str, value: &[u8]) -> store::Result<Vec<u8>> {
        self.inner.init_meta(key, value).await
    }
}

#[async_trait]
impl store::AppStore for Watched {
    async fn create_app(&self, new: NewApp, now: i64) -> store::Result<App> {
        self.note("create_app");
        self.inner.create_app(new, now).await
    }
    async fn app_by_key_hash(&self, key_hash: &[u8; 32]) -> store::Result<Option<App>> {
        self.note("app_by_key_hash");
        self.inner.app_by_key_hash(key_hash).await
    }
    async fn app(&self, id: i64) -> store::Result<Option<App>> {
        self.note("app");
        self.inner.app(id).await
    }
    async fn apps(&self) -> store::Result<Vec<App>> {
        self.note("apps");
        self.inner.apps().await
    }
    async fn update_app(&self, id: i64, patch: AppPatch) -> store::Result<Option<App>> {
        self.note("update_app");
        self.inner.update_app(id, patch).await
    }
    async fn set_app_key(&self, id: i64, key_hash: &[u8; 32]) -> store::Result<bool> {
        self.note("set_app_key");
        self.inner.set_app_key(id, key_hash).await
    }
    async fn delete_app(&self, id: i64) -> store::Result<bool> {
        self.note("delete_app");
        self.inner.delete_app(id).await
    }
}

#[async_trait]
impl store::UserStore for Watched {
    async fn upsert_user(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> store::Result<(User, bool)> {
        self.note("upsert_user");
        self.inner
            .upsert_user(app_id, country_code, phone, email, now)
            .await
    }
    async fn user(&self, app_id: i64, id: i64) -> store::Result<Option<User>> {
        self.note("user");
        self.inner.user(app_id, id).await
    }
    async fn import_user(
        &self,
        id: i64,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> store::Result<store::Imported> {
        self.note("import_user");
        self.inner
            .import_user(id, app_id, country_code, phone, email, now)
            .await
    }
    async fn user_by_phone(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
    ) -> store::Result<Option<User>> {
        self.note("user_by_phone");
        self.inner.user_by_phone(app_id, country_code, phone).await
    }
    async fn user_with_states(
        &self,
        app_id: i64,
        id: i64,
    ) -> store::Result<Option<store::UserStates>> {
        self.note("user_with_states");
        self.inner.user_with_states(app_id, id).await
    }
    async fn app_with_user(
        &self,
        key_hash: &[u8; 32],
        id: i64,
    ) -> store::Result<Option<(App, Option<store::UserStates>)>> {
        self.note("app_with_user");
        self.inner.app_with_user(key_hash, id).await
    }
    async fn user_by_id(&self, id: i64) -> store::Result<Option<User>> {
        self.note("user_by_id");
        self.inner.user_by_id(id).await
    }
    async fn set_registered(&self, id: i64) -> store::Result<()> {
        self.note("set_registered");
        self.inner.set_registered(id).await
    }
    async fn delete_user(&self, app_id: i64, id: i64) -> store::Result<bool> {
        self.note("delete_user");
        self.inner.delete_user(app_id, id).await
    }
    async fn add_device(&self, device: Device) -> store::Result<Device> {
        self.note("add_device");
        self.inner.add_device(device).await
    }
    async fn devices(&self, user_id: i64) -> store::Result<Vec<Device>> {
        self.note("devices");
        self.inner.devices(user_id).await
    }
    async fn remove_device(&self, user_id: i64, device_id: i64) -> store::Result<bool> {
        self.note("remove_device");
        self.inner.remove_device(user_id, device_id).await
    }
}

#[async_trait]
impl store::StateStore for Watched {
    async fn load(&self, key: &str) -> store::Result<Option<Versioned>> {
        self.note("load");
        self.inner.load(key).await
    }
    async fn cas(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
    ) -> store::Result<bool> {
        self.note("cas");
        tokio::time::sleep(self.delay).await;
        self.inner.cas(key, expected, value, expires_at).await
    }
    async fn cas_registering(
        &self,
        key: &StateKey,
        expected: Option<i64>,
        value: &[u8],
        expires_at: Option<i64>,
        user_id: i64,
    ) -> store::Result<bool> {
        self.note("cas_registering");
        tokio::time::sleep(self.delay).await;
        self.inner
            .cas_registering(key, expected, value, expires_at, user_id)
            .await
    }
    async fn remove(&self, key: &str) -> store::Result<()> {
        self.note("remove");
        self.inner.remove(key).await
    }
    async fn sweep(&self, now: i64, limit: u32) -> store::Result<u64> {
        self.note("sweep");
        self.inner.sweep(now, limit).await
    }
}

#[async_trait]
impl store::StatsStore for Watched {
    async fn count(
        &self,
        app_id: i64,
        year: i32,
        month: u8,
        counter: Counter,
        n: i64,
    ) -> store::Result<()> {
        self.inner.count(app_id, year, month, counter, n).await
    }
    async fn stats(&self, app_id: i64) -> store::Result<Vec<MonthStats>> {
        self.inner.stats(app_id).await
    }
    async fn user_count(&self, app_id: i64) -> store::Result<i64> {
        self.inner.user_count(app_id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sends_on_one_application_all_go_out() {
    // 400 sends at once share one application-wide limit (a state updated
    // by compare-and-set), and all are within it: every one is sent, though
    // each commit lets one of those that loaded together win, and a request
    // tries 200 rounds.
    let s = start(false).await;
    let app = s.store.app(1).await.unwrap().unwrap();
    let sent = Arc::new(Recorder::default());
    let limits = Limits {
        app_sends: passcode::RateLimit::new(1_000, 60, 400).unwrap(),
        ..Limits::default()
    };
    let service = Domain::new(
        Arc::new(Watched::new(Arc::clone(&s.store), Duration::from_millis(3))),
        Arc::new(MasterKey::from_bytes(&[5; 32])),
        sent.clone(),
        limits,
    );
    let started = futures::future::join_all((0..400).map(|i| {
        let request = StartRequest {
            via: Channel::Sms,
            country_code: 1,
            phone_number: format!("775-46{:05}", 10_000 + i),
            locale: None,
            code_length: 6,
            custom_message: None,
            custom_code: false,
        };
        service.start_verification(&app, request, T0)
    }))
    .await;
    let refused = started.iter().filter(|r| r.is_err()).count();
    assert_eq!(refused, 0, "{:?}", started.iter().find(|r| r.is_err()));
    assert_eq!(sent.0.lock().unwrap().len(), 400);
}

#[tokio::test]
async fn phone_export_is_off_unless_enabled() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let answer = s.get(KEY_A, &format!("users/{user}/phone_number")).await;
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains(r#""error_code":"60154""#));
}

#[tokio::test]
async fn phone_verification_resends_the_same_code_expires_and_limits_attempts() {
    let s = start(false).await;
    let start_body =
        r#"{"via":"sms","country_code":1,"phone_number":"775-461-5609","code_length":6}"#;
    let started = s
        .post_json(KEY_A, "phones/verification/start", start_body)
        .await;
    let value: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    assert_eq!(value["message"], "Text message sent to +1 775-461-5609.");
    assert_eq!(value["seconds_to_expire"], 599);
    assert_eq!(value["carrier"], "unknown");
    assert!(
        started
            .body
            .starts_with(r#"{"carrier":"unknown","is_cellphone":false,"message":"#)
    );
    let first = s.last_code();
    assert_eq!(first.len(), 6);
    s.advance(10);
    s.post_json(KEY_A, "phones/verification/start", start_body)
        .await;
    assert_eq!(s.last_code(), first, "the same code while it is valid");
    let check = |code: &str| {
        format!(
            "phones/verification/check?country_code=1&phone_number=775-461-5609&verification_code={code}"
        )
    };
    let wrong = if first == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..4 {
        assert_answer(
            &s.get(KEY_A, &check(wrong)).await,
            401,
            VERIFICATION_INCORRECT,
        );
    }
    assert_eq!(
        s.get(KEY_A, &check(wrong)).await.status,
        401,
        "the fifth check is still counted"
    );
    let exhausted = s.get(KEY_A, &check(&first)).await;
    assert_eq!(exhausted.status, 429, "{}", exhausted.body);
    // A new verification after expiry has a new code and a fresh count.
    s.advance(600);
    s.post_json(KEY_A, "phones/verification/start", start_body)
        .await;
    let second = s.last_code();
    s.advance(599);
    assert_answer(
        &s.get(KEY_A, &check(&second)).await,
        200,
        r#"{"message":"Verification code is correct.","success":true}"#,
    );
    let none = s.get(KEY_A, &check(&second)).await;
    assert_answer(
        &none,
        404,
        r#"{"message":"No pending verifications for +1 775-461-5609 found.","success":false,"errors":{"message":"No pending verifications for +1 775-461-5609 found."},"error_code":"60023"}"#,
    );
}

/// Where a feature is off Authy took its parameter and ignored it: the
/// npm client's live test `phones.verification_starts.with_params` sends
/// `custom_code` and `custom_message` and expects success. Where custom
/// messages are on, the template is checked and is what is sent.
#[tokio::test]
async fn custom_parameters_are_ignored_where_off_and_used_where_on() {
    let s = start(false).await;
    let body = |number: &str, message: &str| {
        format!(
            r#"{{"via":"sms","country_code":1,"phone_number":"{number}","custom_code":"1234","custom_message":"{message}"}}"#
        )
    };
    let started = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            &body("775-461-5609", "Acme: {{code}}"),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let sent = s.sent.0.lock().unwrap().last().unwrap().clone();
    assert_eq!(
        sent.body,
        format!("Your Test verification code is: {}", sent.code)
    );
    assert_ne!(sent.code, "1234");
    let on = AppPatch {
        custom_messages_enabled: Some(true),
        ..AppPatch::default()
    };
    s.store.update_app(1, on).await.unwrap();
    let refused = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            &body("775-461-5610", "no code"),
        )
        .await;
    assert_answer(
        &refused,
        400,
        r#"{"message":"Invalid parameter: custom_message - must contain {{code}}","success":false,"errors":{"message":"Invalid parameter: custom_message - must contain {{code}}"},"error_code":"60004"}"#,
    );
    let started = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            &body("775-461-5611", "Acme: {{code}}"),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let sent = s.sent.0.lock().unwrap().last().unwrap().clone();
    assert_eq!(sent.body, format!("Acme: {}", sent.code));
}

/// `GET phones/verification/status` (npm `authy`'s `verification_status`)
/// answers the body of Twilio's Verify v1 reference: pending with the
/// seconds left, then verified, then expired.
#[tokio::test]
async fn a_verifications_status_is_pending_verified_or_expired() {
    let s = start(false).await;
    let query = "phones/verification/status?country_code=1&phone_number=775-461-5609";
    let none = s.get(KEY_A, query).await;
    assert_answer(
        &none,
        404,
        r#"{"message":"No pending verifications for +1 775-461-5609 found.","success":false,"errors":{"message":"No pending verifications for +1 775-461-5609 found."},"error_code":"60023"}"#,
    );
    let start = r#"{"via":"sms","country_code":1,"phone_number":"775-461-5609"}"#;
    assert_eq!(
        s.post_json(KEY_A, "phones/verification/start", start)
            .await
            .status,
        200
    );
    s.advance(1);
    assert_answer(
        &s.get(KEY_A, query).await,
        200,
        r#"{"message":"Phone Verification status.","status":"pending","seconds_to_expire":598,"success":true}"#,
    );
    let code = s.last_code();
    let check = format!(
        "phones/verification/check?country_code=1&phone_number=775-461-5609&verification_code={code}"
    );
    assert_eq!(s.get(KEY_A, &check).await.status, 200);
    s.advance(125);
    assert_answer(
        &s.get(KEY_A, query).await,
        200,
        r#"{"message":"Phone Verification status.","status":"verified","seconds_to_expire":473,"success":true}"#,
    );
    // Another number, left to expire.
    let start = r#"{"via":"sms","country_code":1,"phone_number":"775-461-5610"}"#;
    assert_eq!(
        s.post_json(KEY_A, "phones/verification/start", start)
            .await
            .status,
        200
    );
    s.advance(600);
    let other = "phones/verification/status?country_code=1&phone_number=775-461-5610";
    assert_answer(
        &s.get(KEY_A, other).await,
        200,
        r#"{"message":"Phone Verification status.","status":"expired","seconds_to_expire":0,"success":true}"#,
    );
    // Another application sees none of it.
    assert_eq!(s.get(KEY_B, other).await.status, 404);
}

#[tokio::test]
async fn start_errors_name_the_parameter() {
    let s = start(false).await;
    let missing = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            r#"{"via":"sms","phone_number":"775-461-5609"}"#,
        )
        .await;
    assert_answer(
        &missing,
        400,
        r#"{"message":"Invalid parameter: country_code - Parameter is required","success":false,"errors":{"message":"Invalid parameter: country_code - Parameter is required"},"error_code":"60004"}"#,
    );
    let not_integer = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            r#"{"via":"sms","country_code":"xxx","phone_number":"775-461-5609"}"#,
        )
        .await;
    assert!(
        not_integer.body.contains(
            r#""message":"Invalid parameter: country_code - 'xxx' is not a valid Integer""#
        )
    );
    let invalid = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            r#"{"via":"sms","country_code":1,"phone_number":"111-111-1111"}"#,
        )
        .await;
    assert_answer(
        &invalid,
        400,
        r#"{"message":"Phone number is invalid","success":false,"errors":{"message":"Phone number is invalid"},"error_code":"60033"}"#,
    );
}

#[tokio::test]
async fn channels_switched_off_answer_their_codes() {
    let s = start(false).await;
    s.store
        .update_app(
            1,
            AppPatch {
                sms_enabled: Some(false),
                calls_enabled: Some(false),
                generic_tokens_enabled: Some(false),
                ..AppPatch::default()
            },
        )
        .await
        .unwrap();
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let sms = s.get(KEY_A, &format!("sms/{user}")).await;
    assert_eq!(
        (
            sms.status,
            sms.body.contains(r#""message":"SMS is not enabled""#)
        ),
        (403, true),
        "{}",
        sms.body
    );
    let call = s.get(KEY_A, &format!("call/{user}")).await;
    assert!(
        call.body.contains(r#""error_code":"60006""#),
        "{}",
        call.body
    );
    let qr = s
        .post_json(KEY_A, &format!("users/{user}/secret"), "")
        .await;
    assert!(qr.body.contains(r#""error_code":"60123""#), "{}", qr.body);
}

#[tokio::test]
async fn an_application_never_reaches_another_applications_users() {
    let s = start(false).await;
    s.enable_export(2).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let totp = enrol(&s, KEY_A, user).await;
    let code = totp.generate(s.now()).unwrap().to_string();
    for (method, path) in [
        ("GET", format!("users/{user}/status")),
        ("POST", format!("users/{user}/remove")),
        ("POST", format!("users/{user}/delete")),
        ("POST", format!("users/delete/{user}")),
        (
            "POST",
            format!("users/{user}/register_activity?type=cookie_login"),
        ),
        ("POST", format!("users/{user}/secret")),
        ("GET", format!("users/{user}/phone_number")),
        ("GET", format!("sms/{user}?force=true")),
        ("GET", format!("call/{user}?force=true")),
    ] {
        let answer = if method == "GET" {
            s.get(KEY_B, &path).await
        } else {
            s.post_json(KEY_B, &path, "").await
        };
        assert_answer(&answer, 404, USER_NOT_FOUND);
    }
    let verify = s.get(KEY_B, &format!("verify/{code}/{user}")).await;
    assert_eq!(verify.status, 404);
    assert!(verify.body.contains(r#""error_code":"60026""#));
    // Nothing was spent or deleted: the owner still verifies the code.
    assert_eq!(
        s.get(KEY_A, &format!("verify/{code}/{user}")).await.status,
        200
    );
    assert_eq!(s.sent.0.lock().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_input_gets_an_authy_shaped_4xx() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let url = |path: &str| format!("{}/protected/json/{path}", s.base);
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (s.http.post(url("users/new")).header("Content-Type", "application/json").body("{"), 400, "60002"),
        (s.http.post(url("users/new")).header("Content-Type", "application/json").body("[1,2]"), 400, "60002"),
        (s.http.post(url("users/new")).body(vec![b'a'; 70 * 1024]), 400, "60002"),
        (s.http.post(url("users/new")).header("Content-Type", "application/x-www-form-urlencoded").body(b"user%5Bemail%5D=\xff".to_vec()), 400, "60005"),
        (s.http.get(url("users/new%FF")), 404, "60000"),
        (s.http.get(url("nothing/here")), 404, "60000"),
        (s.http.delete(url("users/new")), 404, "60000"),
        (s.http.get(url("users/99999999999999999999999/status")), 404, "60026"),
        (s.http.get(url("users/-1/status")), 404, "60026"),
        (s.http.get(url("users/tony/status")), 404, "60026"),
        (s.http.get(url(&format!("verify/12ab567/{user}"))), 401, "60020"),
        (s.http.get(url(&format!("verify/123/{user}"))), 401, "60020"),
        (s.http.get(url(&format!("verify/1234567890123/{user}"))), 401, "60020"),
        (s.http.get(url("verify/1234567/tony")), 404, "60026"),
        (s.http.get(url(&format!("sms/{user}?force=maybe"))), 400, "60004"),
        (s.http.get(url("phones/verification/check?country_code=1&phone_number=775-461-5609&verification_code=abcd")), 404, "60023"),
        (s.http.post(url("phones/verification/start")).header("Content-Type", "multipart/form-data; boundary=x").body("--x--"), 400, "60002"),
        (s.http.post(url(&format!("users/{user}/register_activity"))).header("Content-Type", "application/json").body(r#"{"type":{"a":1}}"#), 400, "60004"),
    ];
    for (request, status, code) in cases {
        let request = request.header("X-Authy-API-Key", KEY_A);
        let answer = s.send(request).await;
        assert_eq!(answer.status, status, "{}", answer.body);
        let value: serde_json::Value =
            serde_json::from_str(&answer.body).unwrap_or_else(|_| panic!("{}", answer.body));
        assert_eq!(value["error_code"], code, "{}", answer.body);
        assert_eq!(value["success"], false);
        assert_eq!(answer.content_type, JSON_TYPE);
    }
}

#[tokio::test]
async fn the_sandbox_answers_as_authys_did() {
    let s = start(true).await;
    // User 51 belongs to the first sandbox application.
    let status = s.get(KEY_A, "users/51/status").await;
    assert!(
        status.body.contains(r#""authy_id":51"#)
            && status.body.contains(r#""phone_number":"XXX-XXX-2345""#),
        "{}",
        status.body
    );
    assert_answer(&s.get(KEY_B, "users/51/status").await, 404, USER_NOT_FOUND);
    let ok = s.get(KEY_A, "verify/0000000/51").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    for token in ["1111111", "1234567", "123456"] {
        assert_answer(
            &s.get(KEY_A, &format!("verify/{token}/51")).await,
            401,
            TOKEN_INVALID,
        );
    }
    // Any shape-valid number, echoed as sent; nothing delivered.
    let started = s
        .post_json(KEY_A, "phones/verification/start", r#"{"via":"sms","country_code":54,"phone_number":"317-338-9302","custom_code":"1234","locale":"xx"}"#)
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let value: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    assert_eq!(value["message"], "Text message sent to +54 317-338-9302.");
    assert_eq!(value["carrier"], "Google Voice");
    let check = s.get(KEY_A, "phones/verification/check?country_code=54&phone_number=317-338-9302&verification_code=0000").await;
    assert_answer(
        &check,
        200,
        r#"{"message":"Verification code is correct.","success":true}"#,
    );
    let info = s
        .get(
            KEY_A,
            "phones/info?country_code=1&phone_number=111-111-1111",
        )
        .await;
    assert!(
        info.body
            .contains(r#""type":"landline","provider":"unknown","ported":false,"success":true"#),
        "{}",
        info.body
    );
    let sms = s.get(KEY_A, "sms/51?force=true").await;
    assert_eq!(sms.status, 200);
    assert!(
        s.sent.0.lock().unwrap().is_empty(),
        "the sandbox delivers nothing"
    );
}

#[tokio::test]
async fn stats_count_this_month() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    s.get(KEY_A, &format!("sms/{user}")).await;
    let code = s.last_code();
    s.get(KEY_A, &format!("verify/{code}/{user}")).await;
    // A call with the key counts, whatever it answers; one without, not.
    assert_eq!(s.get(KEY_A, "verify/123456/tony").await.status, 404);
    assert_eq!(
        s.get("wrong", &format!("verify/{code}/{user}"))
            .await
            .status,
        401
    );
    // Counters are written off the request path: wait for them.
    let mut body = String::new();
    let mut stats_calls = 0;
    for _ in 0..50 {
        body = s.get(KEY_A, "app/stats").await.body;
        stats_calls += 1;
        if body.contains(r#""auths_count":1"#) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["message"], "Monthly statistics.");
    assert_eq!(value["total_users"], 1);
    let month = &value["stats"][0];
    assert_eq!(month.as_object().unwrap().len(), 7);
    assert_eq!(
        (month["month"].as_str(), month["year"].as_i64()),
        (Some("November"), Some(2023))
    );
    assert_eq!(
        (
            month["auths_count"].as_i64(),
            month["sms_count"].as_i64(),
            month["users_count"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    // users/new, sms, the two verifications with the key, and each
    // app/stats, this one included.
    assert_eq!(month["api_calls_count"].as_i64(), Some(4 + stats_calls));
    assert!(
        body.starts_with(
            r#"{"app_id":1,"count":1,"message":"Monthly statistics.","stats":[{"api_calls_count":"#
        ),
        "{body}"
    );
}

#[tokio::test]
async fn phone_info_is_answered_from_metadata() {
    let s = start(false).await;
    let answer = s
        .get(KEY_A, "phones/info?country_code=44&phone_number=7400123456")
        .await;
    assert_answer(
        &answer,
        200,
        r#"{"message":"Phone number information as of 2023-11-14 22:13:20 UTC","type":"cellphone","provider":"unknown","ported":false,"success":true}"#,
    );
}

#[tokio::test]
async fn requests_carry_an_id_and_are_counted_in_metrics() {
    let s = start(false).await;
    let answer = s
        .http
        .get(format!("{}/protected/json/app/details", s.base))
        .header("X-Authy-API-Key", KEY_A)
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "abc-123");
    let fresh = s
        .http
        .get(format!("{}/nothing", s.base))
        .send()
        .await
        .unwrap();
    let id = fresh.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        id.len(),
        24,
        "a new id for a request without one, also on a 404"
    );
    let unsafe_id = s
        .http
        .get(format!("{}/health", s.base))
        .header("X-Request-Id", "a\tb")
        .send()
        .await
        .unwrap();
    assert_ne!(unsafe_id.headers()["x-request-id"], "a\tb");
    let user = s.create_user(KEY_A, "775-461-5609").await;
    s.get(KEY_A, &format!("verify/1234567/{user}")).await;
    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    for needle in [
        r#"passcode_http_requests_total{route="/protected/json/app/details",status="200"}"#,
        r#"passcode_http_requests_total{route="unmatched",status="404"}"#,
        r#"passcode_verifications_total{outcome="invalid"}"#,
        "passcode_database_seconds",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[tokio::test]
async fn health_and_ready_answer_while_the_database_does() {
    let s = start(false).await;
    assert_eq!(
        s.http
            .get(format!("{}/health", s.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        s.http
            .get(format!("{}/ready", s.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn activity_and_the_secret_export_answer_as_documented() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let activity = s
        .post_json(
            KEY_A,
            &format!("users/{user}/register_activity"),
            r#"{"type":"cookie_login","user_ip":"127.0.0.1","data":{"a":"b"}}"#,
        )
        .await;
    assert_answer(
        &activity,
        200,
        r#"{"message":"Activity was created.","success":true}"#,
    );
    let bad = s
        .post_json(
            KEY_A,
            &format!("users/{user}/register_activity"),
            r#"{"type":"party"}"#,
        )
        .await;
    assert!(
        bad.status == 400 && bad.body.contains(r#""error_code":"60004""#),
        "{}",
        bad.body
    );
    let disabled = s.get(KEY_A, &format!("users/{user}/secret/export")).await;
    assert_answer(
        &disabled,
        403,
        r#"{"message":"Migration tools disabled","success":false,"errors":{"message":"Migration tools disabled"},"error_code":"60154"}"#,
    );
    s.enable_export(1).await;
    let totp = enrol(&s, KEY_A, user).await;
    let export = s.get(KEY_A, &format!("users/{user}/secret/export")).await;
    assert_eq!(export.status, 200, "{}", export.body);
    let value: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(value.as_object().unwrap().len(), 2, "{}", export.body);
    let secret = passcode::Secret::from_base32(value["secret"].as_str().unwrap()).unwrap();
    let exported = Totp::new(&secret, TotpConfig::new()).unwrap();
    assert_eq!(
        exported.generate(s.now()).unwrap(),
        totp.generate(s.now()).unwrap()
    );
    assert_eq!(
        value["otp"].as_str().unwrap(),
        totp.generate(s.now()).unwrap().as_str()
    );
}
