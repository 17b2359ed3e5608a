//! Load on loopback: the verify endpoint, the phone-verification check,
//! Verify v2's `VerificationCheck` (with the ratio of its CPU a request to
//! the phone-verification check's) and its TOTP challenges answered at
//! creation (with the ratio to Authy's verify), each with `--durability
//! full` and `normal`, driven by `wrk` (Debian:
//! `apt-get install wrk`) against the release binary, each run bounded in
//! time. Prints requests/s, p50 and p99 latency, and the server's CPU per
//! request (from `/proc/PID/stat`), at full load and at about half of it.
//!
//! Each durability starts with two floors under the same `wrk` settings,
//! served by this binary (`--floor http|storage`, see [`floor_main`]): the
//! server's HTTP stack answering a fixed body after its API-key check, and
//! the same with one durable group-committed write of one row a request.
//! Each full-load row prints its rate as a share of both (`÷http`,
//! `÷store`) and, for Authy's verify and phone-verification check, whether
//! issue 24's targets are met (at least 0.5 and 0.8 of the floors, a p99 at
//! most 5x the p50). Each server's first second at full load is a row of its
//! own, before the measured ones, and so is each floor's, so that a fresh
//! process's tail can be told from the server's own.
//!
//! `cargo bench -p passcode-server --bench load` (optionally
//! `-- --seconds 5 --users 40000`, `--postgres URL` for the PostgreSQL rows,
//! `--postgres-only` to skip the SQLite rows but the one they are compared
//! with, `--verify-only` for the floors and Authy's verify alone). Every
//! request verifies a code that is right and unused, so each 200 is a
//! durable compare-and-set; the summary also counts the answers that were
//! not 200. The PostgreSQL rows are one node and three nodes on users'
//! first verifications (the state made, the user marked registered), and
//! one node on returning users (a state updated, as most verifications
//! are), each beside SQLite paced to the rate PostgreSQL reached, with
//! issue 24's goal for the node's CPU a request (at most 1.5x SQLite's).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use passcode::{ParsedKeyUri, Totp, TotpConfig};
use passcode_server::crypto::{MasterKey, key_hash};
use passcode_server::domain::{Domain, Limits, StartRequest};
use passcode_server::sender::{Channel, Message, SendError, Sender};
use passcode_server::store::postgres::Postgres;
use passcode_server::store::sqlite::{Durability, Sqlite};
use passcode_server::store::{App, AppStore, NewApp, StateKey, StateStore, Store};

const BIN: &str = env!("CARGO_BIN_EXE_passcode-server");

/// The server binary the rows run: this build's, or `PASSCODE_BENCH_SERVER`
/// (another build's copy, to compare two builds against the same floors).
fn server_bin() -> String {
    std::env::var("PASSCODE_BENCH_SERVER").unwrap_or_else(|_| BIN.to_owned())
}
const KEY: &str = "LoadLoadLoadLoadLoadLoadLoadLoad";
const MASTER: [u8; 32] = [42; 32];

struct Options {
    seconds: u64,
    users: usize,
    connections: usize,
    /// A PostgreSQL cluster to compare with (`--postgres URL` or
    /// `PASSCODE_BENCH_POSTGRES_URL`): one node and three nodes.
    postgres: Option<String>,
    /// `--postgres-only`: of the SQLite rows, only the durable verify at
    /// full load (the PostgreSQL rows' floor).
    postgres_only: bool,
    /// `--verify-only`: of each durability, the floors and Authy's verify
    /// at full load (its first second, then the measured run), the rows
    /// issue 24's targets are read from, in about half a minute (and the
    /// PostgreSQL rows where a cluster is given).
    verify_only: bool,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 5,
        users: 30_000,
        connections: 32,
        postgres: std::env::var("PASSCODE_BENCH_POSTGRES_URL").ok(),
        postgres_only: false,
        verify_only: false,
    };
    let args: Vec<String> = std::env::args().collect();
    o.postgres_only = args.iter().any(|a| a == "--postgres-only");
    o.verify_only = args.iter().any(|a| a == "--verify-only");
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--seconds" => o.seconds = pair[1].parse().expect("--seconds N"),
            "--users" => o.users = pair[1].parse().expect("--users N"),
            "--connections" => o.connections = pair[1].parse().expect("--connections N"),
            "--postgres" => o.postgres = Some(pair[1].clone()),
            _ => {}
        }
    }
    o
}

/// Keeps the codes the service "sends".
#[derive(Default)]
struct Keep(std::sync::Mutex<Vec<Message>>);

#[async_trait]
impl Sender for Keep {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        self.0.lock().unwrap().push(message.clone());
        Ok(())
    }
}

struct Seeded {
    dir: tempfile::TempDir,
    key_file: PathBuf,
    /// What the server is given as `--database`.
    database: String,
}

/// A database with one application and, per user, a generic authenticator;
/// returns the TOTPs. The first fifth enrolled long ago: their QR links
/// expired, a backlog of states that the server's first sweep removes, at
/// its start (so in the first second's row; 20,000 of them, a sweep's
/// most, for 100,000 users). `returning`: each user has logged in once already,
/// with the code of a minute ago, so that its next verification updates a
/// state (as most do) instead of making the first one.
async fn seed_users(
    users: usize,
    postgres: Option<&str>,
    returning: bool,
) -> (Seeded, Vec<(i64, Totp)>) {
    let (seeded, service, app) = open_seeded(postgres).await;
    let mut out = Vec::with_capacity(users);
    for chunk in (0..users).collect::<Vec<_>>().chunks(500) {
        let made = futures::future::join_all(chunk.iter().map(|i| {
            let (service, app) = (&service, &app);
            async move {
                let phone = format!("775{:07}", 2_000_000 + i);
                let user = service
                    .create_user(app, Some("load@example.com"), Some(&phone), Some(1), 1_000)
                    .await
                    .unwrap();
                let enrolled_at = if *i < users / 5 { 1_000 } else { now() };
                let enrolled = service
                    .enrol(app, user.id, None, enrolled_at)
                    .await
                    .unwrap();
                let uri = ParsedKeyUri::parse(&enrolled.uri).unwrap();
                let totp = Totp::new(uri.secret(), TotpConfig::new()).unwrap();
                if returning {
                    let then = now() - 60;
                    let code = totp.generate(then).unwrap().to_string();
                    service
                        .verify_token(app, user.id, &code, then)
                        .await
                        .unwrap();
                }
                (user.id, totp)
            }
        }))
        .await;
        out.extend(made);
    }
    (seeded, out)
}

/// Started phone verifications and their codes, as `(number, code)`.
async fn seed_verifications(count: usize, now: u64) -> (Seeded, Vec<(String, String)>) {
    let (seeded, seeding, app) = open_seeded(None).await;
    let keep = Arc::new(Keep::default());
    // One store (one writer) for the file.
    let store = Arc::clone(seeding.store());
    drop(seeding);
    let limits = Limits {
        app_sends: passcode::RateLimit::new(u32::MAX, 1, u32::MAX).unwrap(),
        ..Limits::default()
    };
    let service = Domain::new(
        store,
        Arc::new(MasterKey::from_bytes(&MASTER)),
        keep.clone(),
        limits,
    );
    let mut numbers = Vec::with_capacity(count);
    // Every start takes a unit of the application's send limit, one state
    // updated by compare-and-set: a few at a time, not a burst of hundreds
    // that would mostly wait out lost rounds.
    for chunk in (0..count).collect::<Vec<_>>().chunks(32) {
        let started = futures::future::join_all(chunk.iter().map(|i| {
            let (service, app) = (&service, &app);
            async move {
                let number = format!("775{:07}", 2_000_000 + i);
                let request = StartRequest {
                    via: Channel::Sms,
                    country_code: 1,
                    phone_number: number.clone(),
                    locale: None,
                    code_length: 6,
                    custom_message: None,
                    custom_code: false,
                };
                service
                    .start_verification(app, request, now)
                    .await
                    .map(|_| number)
            }
        }))
        .await;
        numbers.extend(started.into_iter().map(Result::unwrap));
    }
    let sent: std::collections::HashMap<String, String> = keep
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|m| (m.to.clone(), m.code.clone()))
        .collect();
    let pairs = numbers
        .into_iter()
        .map(|n| {
            let code = sent[&format!("+1{n}")].clone();
            (n, code)
        })
        .collect();
    (seeded, pairs)
}

/// Verify verifications started through the Verify surface's verbs, and
/// the request lines that check each one's code with the official SDKs'
/// encoding (`To`, `Code`, Basic auth with the account's SID and token).
async fn seed_verify_checks(count: usize, now: u64) -> (Seeded, Vec<String>) {
    use base64::Engine;
    let (seeded, seeding, app) = open_seeded(None).await;
    let keep = Arc::new(Keep::default());
    let store = Arc::clone(seeding.store());
    drop(seeding);
    let account = passcode_server::domain::rotate_token(store.as_ref(), app.id)
        .await
        .unwrap();
    let limits = Limits {
        app_sends: passcode::RateLimit::new(u32::MAX, 1, u32::MAX).unwrap(),
        ..Limits::default()
    };
    let domain = Domain::new(
        store,
        Arc::new(MasterKey::from_bytes(&MASTER)),
        keep.clone(),
        limits,
    );
    let patch = passcode_server::domain::ServicePatch {
        friendly_name: Some("Load".into()),
        ..Default::default()
    };
    let service = domain
        .create_verify_service(&app, patch, now)
        .await
        .unwrap();
    for chunk in (0..count).collect::<Vec<_>>().chunks(32) {
        let started = futures::future::join_all(chunk.iter().map(|i| {
            let (domain, app, service) = (&domain, &app, &service);
            async move {
                let request = passcode_server::domain::VerifyStart {
                    to: format!("+1775{:07}", 2_000_000 + i),
                    channel: Channel::Sms,
                    mail_from: (None, None),
                    locale: None,
                    custom_friendly_name: None,
                    custom_code: None,
                    rate_limits: Vec::new(),
                };
                domain.start_verify(app, service, request, now).await
            }
        }))
        .await;
        for s in started {
            s.unwrap();
        }
    }
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", account.sid, account.token))
    );
    let path = format!("/v2/Services/{}/VerificationCheck", service.sid);
    let lines = keep
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|m| format!("POST\t{path}\tTo=%2B{}&Code={}\t{auth}", &m.to[1..], m.code))
        .collect();
    (seeded, lines)
}

/// Verify entities with a verified TOTP factor each, and the request
/// lines that create a challenge answered with each factor's code for the
/// current step and the next (both valid for at least 30 seconds).
async fn seed_challenges(count: usize, now: u64) -> (Seeded, Vec<String>) {
    use base64::Engine;
    let (seeded, domain, app) = open_seeded(None).await;
    let account = passcode_server::domain::rotate_token(domain.store().as_ref(), app.id)
        .await
        .unwrap();
    let patch = passcode_server::domain::ServicePatch {
        friendly_name: Some("Load".into()),
        ..Default::default()
    };
    let service = domain
        .create_verify_service(&app, patch, now)
        .await
        .unwrap();
    let mut factors = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(64) {
        let made = futures::future::join_all(chunk.iter().map(|i| {
            let (domain, app, service) = (&domain, &app, &service);
            async move {
                let identity = format!("load-{i:08}");
                let request = passcode_server::domain::FactorRequest {
                    friendly_name: "Load".into(),
                    ..Default::default()
                };
                let new = domain
                    .create_factor(app, service, &identity, request, now)
                    .await
                    .unwrap();
                let secret = passcode::Secret::from_base32(&new.secret).unwrap();
                let totp = Totp::new(&secret, TotpConfig::new()).unwrap();
                // Verified with the step before: the current and the next
                // stay free for the load.
                let code = totp.generate(now - 30).unwrap().to_string();
                domain
                    .verify_factor(app, service, &identity, &new.factor.sid, &code, now)
                    .await
                    .unwrap();
                (identity, new.factor.sid, totp)
            }
        }))
        .await;
        factors.extend(made);
    }
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", account.sid, account.token))
    );
    let step = now / 30;
    let lines = [step, step + 1]
        .iter()
        .flat_map(|s| {
            let (auth, service) = (&auth, &service.sid);
            factors.iter().map(move |(identity, factor, totp)| {
                format!(
                    "POST\t/v2/Services/{service}/Entities/{identity}/Challenges\t\
                     FactorSid={factor}&AuthPayload={}\t{auth}",
                    totp.generate_step(*s)
                )
            })
        })
        .collect();
    (seeded, lines)
}

/// A fresh database on the cluster at `base`; its URL.
async fn fresh_postgres(base: &str) -> String {
    let mut bytes = [0u8; 6];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    let name = format!("passcode_bench_{}", hex::encode(bytes));
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    format!("{}/{name}", &base[..base.rfind('/').unwrap()])
}

async fn open_seeded(postgres: Option<&str>) -> (Seeded, Domain, App) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, format!("{}\n", hex::encode(MASTER))).unwrap();
    // The server refuses a key file others can read.
    #[cfg(unix)]
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let key = MasterKey::from_bytes(&MASTER);
    let (store, database): (Arc<dyn Store>, String) = match postgres {
        None => {
            let path = dir.path().join("passcode.db");
            let store = Arc::new(Sqlite::open(&path, Durability::Normal).unwrap());
            (store, format!("sqlite:{}", path.display()))
        }
        Some(base) => {
            let url = fresh_postgres(base).await;
            (Arc::new(Postgres::connect(&url, 16).await.unwrap()), url)
        }
    };
    store
        .init_meta(passcode_server::crypto::KEY_CHECK, &key.key_check())
        .await
        .unwrap();
    let app = store
        .create_app(
            NewApp {
                name: "Load".into(),
                key_hash: key_hash(KEY),
                token_length: 7,
                sandbox: false,
            },
            0,
        )
        .await
        .unwrap();
    let service = Domain::new(
        store,
        Arc::new(key),
        Arc::new(Keep::default()),
        Limits::default(),
    );
    (
        Seeded {
            dir,
            key_file,
            database,
        },
        service,
        app,
    )
}

struct Server {
    child: Child,
    listen: String,
}

impl Server {
    fn start(seeded: &Seeded, durability: &str) -> Self {
        let listen = free_listen();
        let child = Command::new(server_bin())
            .args([
                "serve",
                "--listen",
                &listen,
                "--durability",
                durability,
                "--sender",
                "log",
            ])
            .arg("--database")
            .arg(&seeded.database)
            .arg("--master-key-file")
            .arg(&seeded.key_file)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_healthy(&listen, "the server did not start");
        Self { child, listen }
    }

    /// User plus system CPU seconds so far.
    fn cpu(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split(' ').collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / clock_ticks()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A floor (see [`floor_main`]) started as this bench's own binary:
    /// measured like the server, CPU from `/proc`.
    fn floor(kind: &str, durability: &str, dir: &Path) -> Self {
        let listen = free_listen();
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--floor",
                kind,
                "--listen",
                &listen,
                "--durability",
                durability,
            ])
            .arg("--database")
            .arg(dir.join(format!("floor-{kind}-{durability}.db")))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        wait_healthy(&listen, "the floor did not start");
        Self { child, listen }
    }
}

/// A free loopback address.
fn free_listen() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// Waits until `healthcheck` passes at `listen`, at most 20 seconds.
fn wait_healthy(listen: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !Command::new(server_bin())
        .args(["healthcheck", "--listen", listen])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What a floor answers with.
#[derive(Clone)]
struct Floor {
    key_hash: [u8; 32],
    store: Option<Arc<Sqlite>>,
    /// The application the floor's rows belong to (a state names one).
    app_id: i64,
}

/// The floors the rows are measured against, served by this binary with
/// `--floor KIND`: `http` is the server's stack (the same hyper
/// connection loop and limits, an axum router of the same shape) with an
/// API-key check (SHA-256 of the header, compared in constant time) and a
/// fixed body; `storage` adds one durable group-committed write of one row
/// a request on SQLite, through the server's own store: a read of the
/// row's version and its compare-and-set, the least a decision is.
async fn floor_main(args: &[String]) {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use sha2::Digest as _;
    use subtle::ConstantTimeEq;

    let arg = |name: &str| {
        args.windows(2)
            .find(|w| w[0] == name)
            .map(|w| w[1].clone())
            .unwrap_or_else(|| panic!("{name}"))
    };
    let durability = match arg("--durability").as_str() {
        "normal" => Durability::Normal,
        _ => Durability::Full,
    };
    let store = (arg("--floor") == "storage")
        .then(|| Arc::new(Sqlite::open(Path::new(&arg("--database")), durability).unwrap()));
    let mut key_hash = [0u8; 32];
    key_hash.copy_from_slice(&sha2::Sha256::digest(KEY.as_bytes()));
    let app_id = match &store {
        Some(store) => {
            let app = NewApp {
                name: "floor".into(),
                key_hash,
                token_length: 7,
                sandbox: false,
            };
            store.create_app(app, 0).await.unwrap().id
        }
        None => 0,
    };

    async fn verify(
        State(floor): State<Floor>,
        headers: HeaderMap,
        UrlPath((token, id)): UrlPath<(String, String)>,
    ) -> axum::response::Response {
        let given = headers
            .get("X-Authy-API-Key")
            .map(|v| sha2::Sha256::digest(v.as_bytes()))
            .unwrap_or_default();
        if !bool::from(given.as_slice().ct_eq(&floor.key_hash)) {
            return (StatusCode::UNAUTHORIZED, "{\"success\":false}").into_response();
        }
        if let Some(store) = &floor.store {
            let key = StateKey::app(floor.app_id, format!("floor:{id}"));
            let written = async {
                let expected = store.load(&key.key).await?.map(|v| v.version);
                store.cas(&key, expected, token.as_bytes(), None).await
            }
            .await;
            if !matches!(written, Ok(true)) {
                return (StatusCode::SERVICE_UNAVAILABLE, "{\"success\":false}").into_response();
            }
        }
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            "{\"message\":\"Token is valid.\",\"token\":\"is valid\",\"success\":\"true\",\"device\":{\"id\":null,\"os_type\":\"sms\",\"registration_date\":1700000000,\"registration_method\":null,\"registration_country\":null,\"registration_region\":null,\"registration_city\":null,\"country\":null,\"region\":null,\"city\":null,\"ip\":null,\"last_account_recovery_at\":null,\"last_sync_date\":null}}",
        )
            .into_response()
    }

    let router = axum::Router::new()
        .route(
            "/protected/json/verify/{token}/{id}",
            axum::routing::get(verify),
        )
        .route(
            "/health",
            axum::routing::get(|| async { "{\"status\":\"ok\"}" }),
        )
        .with_state(Floor {
            key_hash,
            store,
            app_id,
        });
    let listener = tokio::net::TcpListener::bind(arg("--listen"))
        .await
        .unwrap();
    let limits = passcode_server::connections::ConnectionLimits::for_open_files(
        passcode_server::connections::raise_open_file_limit(),
    );
    passcode_server::connections::serve(
        listener,
        router,
        limits,
        limits.slots(),
        None,
        std::future::pending(),
    )
    .await;
}

/// A new server's first second at full load, on paths of its own: shown as
/// its own row (a fresh process answers its first requests slower: its
/// threads, caches and connections start), so that the measured rows are
/// the steady state and the cold start stays in sight.
fn cold_start(
    server: &Server,
    lines: &[String],
    dir: &Path,
    o: &Options,
    endpoint: &str,
    durability: &str,
) {
    let run = wrk_lines(server, lines, dir, o.connections, 1, 0.0);
    report(&format!("{endpoint} (first s)"), durability, "full", &run);
}

/// Paths the floors answer, one user id each.
fn floor_paths(count: usize) -> Vec<String> {
    (0..count)
        .map(|id| format!("/protected/json/verify/1234567/{}", 1_000 + id))
        .collect()
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
}

struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
    requests: f64,
    not_ok: u64,
}

/// wrk, one thread (one list of paths), `connections`, for `seconds`;
/// `delay_ms` between a connection's requests (0: as fast as it goes).
fn wrk(
    server: &Server,
    paths: &[String],
    dir: &Path,
    connections: usize,
    seconds: u64,
    delay_ms: f64,
) -> Run {
    wrk_lines(server, &gets(paths), dir, connections, seconds, delay_ms)
}

/// Authy GETs as request lines.
fn gets(paths: &[String]) -> Vec<String> {
    paths.iter().map(|p| format!("GET\t{p}\t\t")).collect()
}

/// Drives `wrk` with request lines `METHOD<TAB>PATH<TAB>BODY<TAB>AUTH`:
/// with AUTH (a Basic `Authorization`), a form POST of the Verify surface;
/// without, the Authy key header.
fn wrk_lines(
    server: &Server,
    lines: &[String],
    dir: &Path,
    connections: usize,
    seconds: u64,
    delay_ms: f64,
) -> Run {
    let list = dir.join("requests.txt");
    std::fs::write(&list, lines.join("\n")).unwrap();
    let script = dir.join("requests.lua");
    std::fs::write(
        &script,
        format!(
            "reqs = {{}}\nfor line in io.lines(\"{}\") do\n  \
             local m, p, b, a = line:match(\"^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)$\")\n  \
             reqs[#reqs + 1] = {{m, p, b, a}}\nend\n\
             i = 0\nrequest = function()\n  i = i + 1\n  if i > #reqs then i = 1 end\n  \
             local r = reqs[i]\n  local h = {{}}\n  \
             if r[4] ~= \"\" then h[\"Authorization\"] = r[4]; h[\"Content-Type\"] = \"application/x-www-form-urlencoded\" \
             else h[\"X-Authy-API-Key\"] = \"{KEY}\" end\n  \
             local body = nil\n  if r[3] ~= \"\" then body = r[3] end\n  \
             return wrk.format(r[1], r[2], h, body)\nend\n{}\n",
            list.display(),
            if delay_ms > 0.0 {
                format!("delay = function() return {delay_ms:.3} end")
            } else {
                String::new()
            }
        ),
    )
    .unwrap();
    let before = server.cpu();
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://{}", server.listen))
        .output()
        .expect("wrk (apt-get install wrk)");
    let cpu = server.cpu() - before;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let find = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
    };
    let ms = |v: String| -> f64 {
        if let Some(us) = v.strip_suffix("us") {
            us.parse::<f64>().unwrap() / 1000.0
        } else if let Some(ms) = v.strip_suffix("ms") {
            ms.parse().unwrap()
        } else if let Some(s) = v.strip_suffix('s') {
            s.parse::<f64>().unwrap() * 1000.0
        } else {
            f64::NAN
        }
    };
    let requests: f64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let not_ok = text
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Run {
        rps: find("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50_ms: find("50%").map(ms).unwrap_or(f64::NAN),
        p99_ms: find("99%").map(ms).unwrap_or(f64::NAN),
        cpu_us: cpu / requests.max(1.0) * 1e6,
        requests,
        not_ok,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Paths verifying each user's code for the current step, then the next:
/// both stay valid (window ±1) for at least 30 seconds.
fn verify_paths(users: &[(i64, Totp)]) -> Vec<String> {
    let step = now() / 30;
    [step, step + 1]
        .iter()
        .flat_map(|s| {
            users.iter().map(move |(id, totp)| {
                format!("/protected/json/verify/{}/{id}", totp.generate_step(*s))
            })
        })
        .collect()
}

/// The floors of one durability, measured in this run: requests a second.
#[derive(Clone, Copy)]
struct Floors {
    http: f64,
    storage: f64,
}

fn report(endpoint: &str, durability: &str, load: &str, run: &Run) {
    report_against(endpoint, durability, load, run, None);
}

/// Issue 24's targets for a durable row at full load: at least half the
/// HTTP floor's rate and 0.8 of the storage floor's, a p99 at most 5x its
/// p50.
fn targets(run: &Run, floors: Option<Floors>) {
    let Some(f) = floors else { return };
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let (http, storage, tail) = (
        run.rps / f.http,
        run.rps / f.storage,
        run.p99_ms / run.p50_ms,
    );
    println!(
        "|   ÷http {http:.2}x (goal >= 0.5: {}), ÷store {storage:.2}x (goal >= 0.8: {}), p99 / p50 {tail:.1}x (goal <= 5: {}) |",
        verdict(http >= 0.5),
        verdict(storage >= 0.8),
        verdict(tail <= 5.0)
    );
}

/// A row, with its rate against the floors where it has them.
fn report_against(endpoint: &str, durability: &str, load: &str, run: &Run, floors: Option<Floors>) {
    let (http, storage) = match floors {
        Some(f) => (
            format!("{:.2}x", run.rps / f.http),
            format!("{:.2}x", run.rps / f.storage),
        ),
        None => ("-".to_owned(), "-".to_owned()),
    };
    println!(
        "| {endpoint:<18} | {durability:<6} | {load:<4} | {:>9.0} | {:>7.2} | {:>7.2} | {:>8.1} | {:>8.0} | {:>6} | {http:>6} | {storage:>6} |",
        run.rps, run.p50_ms, run.p99_ms, run.cpu_us, run.requests, run.not_ok
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--floor") {
        floor_main(&args).await;
        return;
    }
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed (apt-get install wrk)");
        std::process::exit(1);
    }
    let o = options();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .init();
    println!(
        "{} s a run, {} connections, {} users a pool; machine: {} cores",
        o.seconds,
        o.connections,
        o.users,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| endpoint           | sync   | load | req/s     | p50 ms  | p99 ms  | CPU µs/r | requests | non200 | ÷http  | ÷store |"
    );
    println!(
        "|--------------------|--------|------|-----------|---------|---------|----------|----------|--------|--------|--------|"
    );
    // The floor the PostgreSQL rows are compared with: SQLite's durable
    // verify at full load, in this run.
    let mut sqlite_cpu_us = f64::NAN;
    for durability in ["full", "normal"] {
        // The floors of this durability, under the same wrk settings: the
        // bare stack, then the stack with one durable write a request.
        let floor_dir = tempfile::tempdir().unwrap();
        let paths = floor_paths(o.users);
        let mut floors = Floors {
            http: 0.0,
            storage: 0.0,
        };
        for kind in ["http", "storage"] {
            let floor = Server::floor(kind, durability, floor_dir.path());
            // Its first second too, as the server's, so that a fresh
            // process's tail is told from the server's own.
            let first = wrk(&floor, &paths, floor_dir.path(), o.connections, 1, 0.0);
            report(
                &format!("floor: {kind} (first s)"),
                durability,
                "full",
                &first,
            );
            let run = wrk(
                &floor,
                &paths,
                floor_dir.path(),
                o.connections,
                o.seconds,
                0.0,
            );
            report(&format!("floor: {kind}"), durability, "full", &run);
            assert_eq!(run.not_ok, 0, "the {kind} floor refused requests");
            match kind {
                "http" => floors.http = run.rps,
                _ => floors.storage = run.rps,
            }
        }
        let floors = Some(floors);
        // Verify: fresh users for each run, codes of this step and the next.
        let (seeded, users) = seed_users(o.users, None, false).await;
        let server = Server::start(&seeded, durability);
        let (cold_users, users) = users.split_at(users.len() / 5);
        cold_start(
            &server,
            &gets(&verify_paths(cold_users)),
            seeded.dir.path(),
            &o,
            "verify",
            durability,
        );
        let (half_users, full_users) = users.split_at(users.len() / 2);
        let full = wrk(
            &server,
            &verify_paths(full_users),
            seeded.dir.path(),
            o.connections,
            o.seconds,
            0.0,
        );
        report_against("verify", durability, "full", &full, floors);
        targets(&full, floors);
        let authy_verify_cpu_us = full.cpu_us;
        if durability == "full" {
            sqlite_cpu_us = full.cpu_us;
        }
        if o.postgres_only {
            break;
        }
        if o.verify_only {
            continue;
        }
        let delay = o.connections as f64 * 1000.0 / (full.rps / 2.0).max(1.0);
        let half = wrk(
            &server,
            &verify_paths(half_users),
            seeded.dir.path(),
            o.connections,
            o.seconds,
            delay,
        );
        report("verify", durability, "half", &half);
        drop(server);

        let (seeded, pairs) = seed_verifications(o.users, now()).await;
        let server = Server::start(&seeded, durability);
        let paths: Vec<String> = pairs
            .iter()
            .map(|(n, c)| format!("/protected/json/phones/verification/check?country_code=1&phone_number={n}&verification_code={c}"))
            .collect();
        let (cold_paths, paths) = paths.split_at(paths.len() / 5);
        cold_start(
            &server,
            &gets(cold_paths),
            seeded.dir.path(),
            &o,
            "verification/check",
            durability,
        );
        let (half_paths, full_paths) = paths.split_at(paths.len() / 2);
        let full = wrk(
            &server,
            full_paths,
            seeded.dir.path(),
            o.connections,
            o.seconds,
            0.0,
        );
        report_against("verification/check", durability, "full", &full, floors);
        targets(&full, floors);
        let delay = o.connections as f64 * 1000.0 / (full.rps / 2.0).max(1.0);
        let half = wrk(
            &server,
            half_paths,
            seeded.dir.path(),
            o.connections,
            o.seconds,
            delay,
        );
        report("verification/check", durability, "half", &half);
        drop(server);

        // The Verify surface's check of the same kind of code: Basic auth,
        // a form body, the service read, the same compare-and-set.
        let (seeded, lines) = seed_verify_checks(o.users, now()).await;
        let server = Server::start(&seeded, durability);
        let (cold_lines, lines) = lines.split_at(lines.len() / 5);
        cold_start(
            &server,
            cold_lines,
            seeded.dir.path(),
            &o,
            "v2 VerificationCheck",
            durability,
        );
        let (half_lines, full_lines) = lines.split_at(lines.len() / 2);
        let verify_full = wrk_lines(
            &server,
            full_lines,
            seeded.dir.path(),
            o.connections,
            o.seconds,
            0.0,
        );
        report_against(
            "v2 VerificationCheck",
            durability,
            "full",
            &verify_full,
            floors,
        );
        let delay = o.connections as f64 * 1000.0 / (verify_full.rps / 2.0).max(1.0);
        let half = wrk_lines(
            &server,
            half_lines,
            seeded.dir.path(),
            o.connections,
            o.seconds,
            delay,
        );
        report("v2 VerificationCheck", durability, "half", &half);
        println!(
            "|   CPU a request, Verify's check / Authy's verification/check at full load: {:.2}x (goal <= 1.2) |",
            verify_full.cpu_us / full.cpu_us
        );
        drop(server);

        // Verify's TOTP challenges answered at creation with the factor's
        // code: the same compare-and-set as Authy's verify, plus the
        // challenge's row.
        let (seeded, lines) = seed_challenges(o.users, now()).await;
        let server = Server::start(&seeded, durability);
        let (cold_lines, lines) = lines.split_at(lines.len() / 5);
        cold_start(
            &server,
            cold_lines,
            seeded.dir.path(),
            &o,
            "v2 Challenges",
            durability,
        );
        let challenges = wrk_lines(
            &server,
            lines,
            seeded.dir.path(),
            o.connections,
            o.seconds,
            0.0,
        );
        report_against("v2 Challenges", durability, "full", &challenges, floors);
        println!(
            "|   CPU a request, a Verify TOTP challenge / Authy's verify at full load: {:.2}x |",
            challenges.cpu_us / authy_verify_cpu_us
        );
    }
    if let Some(base) = &o.postgres {
        for (nodes, returning) in [(1usize, false), (1, true), (3, false)] {
            let (seeded, users) = seed_users(o.users, Some(base), returning).await;
            let servers: Vec<Server> = (0..nodes).map(|_| Server::start(&seeded, "full")).collect();
            let paths = verify_paths(&users);
            let database_before = postgres_cpu();
            let run = wrk_many(
                &servers,
                &paths,
                seeded.dir.path(),
                o.connections,
                o.seconds,
            );
            let database_us = (postgres_cpu() - database_before) / run.requests.max(1.0) * 1e6;
            let users_are = if returning { ", returning" } else { "" };
            report(
                &format!("verify pg {nodes} node{users_are}"),
                "on",
                "full",
                &run,
            );
            println!(
                "|   PostgreSQL's own CPU: {database_us:.1} µs a request; node CPU / SQLite's at its own full rate: {:.2}x; with PostgreSQL's: {:.2}x |",
                run.cpu_us / sqlite_cpu_us,
                (run.cpu_us + database_us) / sqlite_cpu_us
            );
            drop(servers);
            // CPU a request grows as the rate falls (a quieter server
            // wakes up for fewer requests at a time), so SQLite again,
            // paced to about the rate PostgreSQL reached.
            // A rate of a few thousand a second: positive and small.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wanted = (run.rps * o.seconds as f64 * 1.5) as usize + 1_000;
            let (seeded, users) = seed_users(wanted, None, returning).await;
            let server = Server::start(&seeded, "full");
            let delay = (o.connections as f64 * 1000.0 / run.rps.max(1.0) - 1.0).max(0.1);
            let paced = wrk(
                &server,
                &verify_paths(&users),
                seeded.dir.path(),
                o.connections,
                o.seconds,
                delay,
            );
            report(&format!("verify{users_are}, paced"), "full", "pg's", &paced);
            // Issue 24's goal: a node spends at most 1.5x SQLite's server
            // CPU a request at the same rate.
            let node = run.cpu_us / paced.cpu_us;
            println!(
                "|   node CPU / SQLite's at {:.0} req/s: {node:.2}x (goal <= 1.5: {}); with PostgreSQL's: {:.2}x |",
                paced.rps,
                if node <= 1.5 { "met" } else { "MISSED" },
                (run.cpu_us + database_us) / paced.cpu_us
            );
        }
    }
}

/// User plus system CPU seconds of every PostgreSQL process.
fn postgres_cpu() -> f64 {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != "postgres" {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        total +=
            fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    }
    total / clock_ticks()
}

/// One wrk per node at once, each with its share of the paths and the
/// connections; the nodes' CPU summed.
fn wrk_many(
    servers: &[Server],
    paths: &[String],
    dir: &Path,
    connections: usize,
    seconds: u64,
) -> Run {
    if servers.len() == 1 {
        return wrk(&servers[0], paths, dir, connections, seconds, 0.0);
    }
    let share = paths.len() / servers.len();
    let before: f64 = servers.iter().map(Server::cpu).sum();
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(i, server)| {
                let part = &paths[i * share..(i + 1) * share];
                let sub = dir.join(format!("node{i}"));
                std::fs::create_dir_all(&sub).unwrap();
                scope.spawn(move || {
                    wrk(
                        server,
                        part,
                        &sub,
                        connections / servers.len(),
                        seconds,
                        0.0,
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let cpu: f64 = servers.iter().map(Server::cpu).sum::<f64>() - before;
    let requests: f64 = runs.iter().map(|r| r.requests).sum();
    let mut p50: Vec<f64> = runs.iter().map(|r| r.p50_ms).collect();
    p50.sort_by(f64::total_cmp);
    Run {
        rps: runs.iter().map(|r| r.rps).sum(),
        p50_ms: p50[p50.len() / 2],
        p99_ms: runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
        cpu_us: cpu / requests.max(1.0) * 1e6,
        requests,
        not_ok: runs.iter().map(|r| r.not_ok).sum(),
    }
}
