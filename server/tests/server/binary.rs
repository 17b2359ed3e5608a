//! The real binary: offline application management, start-up checks,
//! `healthcheck`, offline changes seen by a running server, a graceful stop
//! on SIGTERM, and logs that hold no secret used in the run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use passcode::{ParsedKeyUri, Totp, TotpConfig};

pub(super) const BIN: &str = env!("CARGO_BIN_EXE_passcode-server");

pub(super) fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

pub(super) fn database(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("passcode.db").display())
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `app create --json --init`: stdout holds only
/// `{"app_id":N,"api_key":"...","account_sid":"AC...","auth_token":"..."}`.
pub(super) fn create_app(db: &str, name: &str, extra: &[&str]) -> (i64, String) {
    let mut args = vec![
        "app",
        "create",
        "--init",
        "--database",
        db,
        "--name",
        name,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let object = value.as_object().unwrap();
    assert_eq!(object.len(), 4, "{value}");
    let sid = value["account_sid"].as_str().unwrap();
    assert!(sid.len() == 34 && sid.starts_with("AC"), "{sid}");
    assert_eq!(value["auth_token"].as_str().unwrap().len(), 32);
    (
        value["app_id"].as_i64().unwrap(),
        value["api_key"].as_str().unwrap().to_owned(),
    )
}

pub(super) struct Running {
    child: Child,
    pub(super) listen: String,
    pub(super) stderr: PathBuf,
}

impl Running {
    pub(super) fn start(dir: &Path, key_file: &Path) -> Self {
        Self::start_with(dir, key_file, &[], &[])
    }

    /// [`start`](Self::start) with more arguments and variables.
    pub(super) fn start_with(
        dir: &Path,
        key_file: &Path,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Self {
        let listen = format!("127.0.0.1:{}", free_port());
        let stderr = dir.join(format!("stderr-{}.log", listen.replace(':', "-")));
        let child = Command::new(BIN)
            .args(["serve", "--listen", &listen, "--database", &database(dir)])
            .arg("--master-key-file")
            .arg(key_file)
            .arg("--sender")
            .arg(format!("file:{}", dir.join("messages.jsonl").display()))
            .args(args)
            .envs(vars.iter().copied())
            // Every level, the dependencies' too: none may log a secret.
            .env("RUST_LOG", "trace")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let running = Self {
            child,
            listen,
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !run(&["healthcheck", "--listen", &running.listen])
            .status
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "the server did not answer /health"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        running
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}/protected/json/{path}", self.listen)
    }

    /// SIGTERM, then the exit status.
    pub(super) fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(http: &reqwest::Client, url: &str, key: &str) -> (u16, String) {
    let response = http
        .get(url)
        .header("X-Authy-API-Key", key)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post(http: &reqwest::Client, url: &str, key: &str, body: &str) -> (u16, String) {
    let response = http
        .post(url)
        .header("X-Authy-API-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Creates alice (+1 775-461-5609) through `server`; her id.
async fn create_user(http: &reqwest::Client, server: &Running, key: &str) -> i64 {
    let (status, body) = post(
        http,
        &server.url("users/new"),
        key,
        r#"{"user":{"email":"alice@example.com","cellphone":"775-461-5609","country_code":1}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let user: serde_json::Value = serde_json::from_str(&body).unwrap();
    user["user"]["id"].as_i64().unwrap()
}

pub(super) fn last_code(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("messages.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    line["code"].as_str().unwrap().to_owned()
}

/// A child process, killed when this is dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A writer holding the SQLite database for `seconds` (Python's sqlite3,
/// which CI has): a transaction that blocks every other writer.
fn hold_database(dir: &Path, seconds: u64) -> KillOnDrop {
    use std::io::BufRead;
    let script = "import sqlite3, sys, time\n\
        c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
        c.execute('BEGIN EXCLUSIVE')\n\
        print('held', flush=True)\n\
        time.sleep(float(sys.argv[2]))\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("passcode.db"))
        .arg(seconds.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    KillOnDrop(child)
}

/// Polls until `check` holds, for at most `seconds`.
async fn within<F: Future<Output = bool>>(seconds: u64, mut check: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_full_run_keeps_every_secret_out_of_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let db = database(dir);
    let key_file = dir.join("master.key");
    let (app_id, key) = create_app(&db, "Acme", &[]);
    let (_, sandbox_key) = create_app(&db, "Sandbox App 1", &["--sandbox"]);
    let listed = run(&["app", "list", "--database", &db, "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["name"], "Acme");
    assert_eq!(
        (
            listed[0]["sms"].as_bool(),
            listed[0]["phone_export"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(listed[1]["sandbox"], true);

    let mut server = Running::start(dir, &key_file);
    let master = std::fs::read_to_string(&key_file).unwrap();
    let http = reqwest::Client::new();
    let user = create_user(&http, &server, &key).await;

    // The phone number too, in each form a line could hold it.
    let mut secrets = vec![
        key.clone(),
        sandbox_key.clone(),
        master.trim().to_owned(),
        "7754615609".to_owned(),
        "+17754615609".to_owned(),
        "775-461-5609".to_owned(),
    ];
    assert_eq!(
        get(&http, &server.url(&format!("sms/{user}")), &key)
            .await
            .0,
        200
    );
    let sms_code = last_code(dir);
    secrets.push(sms_code.clone());
    assert_eq!(
        get(
            &http,
            &server.url(&format!("verify/{sms_code}/{user}")),
            &key
        )
        .await
        .0,
        200
    );

    let (status, body) = post(
        &http,
        &server.url(&format!("users/{user}/secret")),
        &key,
        "{}",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let enrolled: serde_json::Value = serde_json::from_str(&body).unwrap();
    let uri = enrolled["uri"].as_str().unwrap().to_owned();
    let parsed = ParsedKeyUri::parse(&uri).unwrap();
    secrets.push(parsed.secret().to_base32().to_string());
    let qr = enrolled["qr_code"].as_str().unwrap().to_owned();
    secrets.push(
        qr.rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".png")
            .to_owned(),
    );
    let totp = Totp::new(parsed.secret(), TotpConfig::new()).unwrap();
    let code = totp.generate_now().unwrap().to_string();
    secrets.push(code.clone());
    assert_eq!(
        get(
            &http,
            &server.url(&format!("verify/{code}/{user}?force=true")),
            &key
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get(&http, &server.url(&format!("verify/{code}/{user}")), &key)
            .await
            .0,
        401
    );
    let (status, _) = post(
        &http,
        &server.url("phones/verification/start"),
        &key,
        // Ten digits: a four-digit code would turn up by chance in a trace
        // log's numbers.
        r#"{"via":"call","country_code":1,"phone_number":"775-461-5609","locale":"es","code_length":10}"#,
    )
    .await;
    assert_eq!(status, 200);
    let verification = last_code(dir);
    secrets.push(verification.clone());
    let check = server.url(&format!(
        "phones/verification/check?country_code=1&phone_number=775-461-5609&verification_code={verification}"
    ));
    assert_eq!(get(&http, &check, &key).await.0, 200);
    // Wrong keys and wrong codes are logged as failures, never echoed.
    let wrong_key = "WrongKeyWrongKeyWrongKeyWrongKey".to_owned();
    assert_eq!(
        get(&http, &server.url("app/details"), &wrong_key).await.0,
        401
    );
    secrets.push(wrong_key);
    assert_eq!(
        get(&http, &server.url(&format!("verify/7654321/{user}")), &key)
            .await
            .0,
        401
    );
    secrets.push("7654321".into());

    // A 5xx on a path that holds a valid code: the database held by
    // another writer past the busy timeout (2 s). The line logged for the
    // 503 names the route, not the path; the code is accepted after.
    let sent = get(&http, &server.url(&format!("sms/{user}?force=true")), &key).await;
    assert_eq!(sent.0, 200, "{}", sent.1);
    let held_code = last_code(dir);
    secrets.push(held_code.clone());
    let verify_held = server.url(&format!("verify/{held_code}/{user}"));
    let ready = format!("http://{}/ready", server.listen);
    {
        // Held until this block ends (the writer is killed then), for
        // at most 20 s.
        let _lock = hold_database(dir, 20);
        let (status, body) = get(&http, &verify_held, &key).await;
        assert_eq!(status, 503, "{body}");
        // D12: not ready while commits fail, though reads still work.
        assert_eq!(get(&http, &ready, &key).await.0, 503);
    }
    assert_eq!(get(&http, &ready, &key).await.0, 200);
    assert_eq!(get(&http, &verify_held, &key).await.0, 200);

    // An offline change is seen by the running server within 5 seconds.
    let set = run(&[
        "app",
        "set",
        &app_id.to_string(),
        "--database",
        &db,
        "--sms",
        "off",
    ]);
    assert!(set.status.success());
    let sms_url = server.url(&format!("sms/{user}?force=true"));
    assert!(within(5, || async { get(&http, &sms_url, &key).await.0 == 403 }).await);
    let rotated = run(&[
        "app",
        "rotate-key",
        &app_id.to_string(),
        "--database",
        &db,
        "--json",
    ]);
    let rotated: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    let new_key = rotated["api_key"].as_str().unwrap().to_owned();
    secrets.push(new_key.clone());
    let details = server.url("app/details");
    assert!(within(5, || async { get(&http, &details, &key).await.0 == 401 }).await);
    assert_eq!(get(&http, &details, &new_key).await.0, 200);

    // D11: the database and its WAL and SHM files are the owner's alone.
    #[cfg(unix)]
    for name in ["passcode.db", "passcode.db-wal", "passcode.db-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir.join(name)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
    assert!(server.stop().success(), "SIGTERM is a clean stop");
    let log = std::fs::read_to_string(&server.stderr).unwrap();
    assert!(log.contains("serving"), "{log}");
    // A file is no terminal: plain text, no colour codes.
    assert!(!log.contains('\u{1b}'), "{log}");
    // The cause, once for the whole outage, not a line per request.
    let failing: Vec<&str> = log.lines().filter(|l| l.contains("commits fail")).collect();
    assert_eq!(failing.len(), 1, "{log}");
    assert!(failing[0].contains("database is locked"), "{log}");
    assert_eq!(log.matches("answering 503").count(), 1, "{log}");
    for secret in &secrets {
        assert!(
            !holds(&log, secret),
            "a secret is in the log: {secret}\n{log}"
        );
    }
}

/// Whether `log` holds `secret`. A code (digits) counts only as a number
/// of its own, outside each line's timestamp: a six-digit code is in one
/// line's microseconds once in a million lines, and a duration's digits
/// hold every short run of digits sooner or later.
pub(super) fn holds(log: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return log.contains(secret);
    }
    log.lines().any(|line| {
        let line = line.split_once('Z').map_or(line, |(_, rest)| rest);
        line.match_indices(secret).any(|(at, _)| {
            let before = line[..at].bytes().next_back();
            let after = line[at + secret.len()..].bytes().next();
            !before.is_some_and(|b| b.is_ascii_digit() || b == b'.')
                && !after.is_some_and(|b| b.is_ascii_digit())
        })
    })
}

#[test]
fn a_wrong_master_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key_file = dir.join("master.key");
    let mut server = Running::start(dir, &key_file);
    assert!(server.stop().success());
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--database",
            &database(dir),
        ])
        .arg("--master-key-file")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("master key does not match"), "{stderr}");
    assert!(!stderr.contains(&"ab".repeat(32)));
}

#[test]
fn healthcheck_fails_when_nothing_answers() {
    let out = run(&[
        "healthcheck",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
    ]);
    assert!(!out.status.success());
}

#[test]
fn app_commands_refuse_bad_input_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let short = run(&[
        "app",
        "create",
        "--init",
        "--database",
        &db,
        "--name",
        "A",
        "--api-key",
        "short",
    ]);
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("--api-key"));
    let (_, key) = create_app(&db, "A", &["--api-key", "KeepTheKeyClientsAlreadyHold0001"]);
    assert_eq!(key, "KeepTheKeyClientsAlreadyHold0001");
    let again = run(&[
        "app",
        "create",
        "--database",
        &db,
        "--name",
        "B",
        "--api-key",
        &key,
    ]);
    assert!(!again.status.success());
    let missing = run(&["app", "delete", "99", "--database", &db]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no application 99"));
    let length = run(&[
        "app",
        "create",
        "--database",
        &db,
        "--name",
        "C",
        "--token-length",
        "9",
    ]);
    assert!(!length.status.success());
}

/// Found by a new user's first run: a start that cannot listen created the
/// "Default" application and printed its key before failing; `app` with a
/// mistyped database made a new empty one; `app delete` asked nothing.
#[test]
fn mistakes_create_nothing_and_delete_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let key_file = dir.path().join("master.key");
    let out = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--database", &db])
        .arg("--master-key-file")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!dir.path().join("passcode.db").exists());
    assert!(!key_file.exists());

    let list = run(&["app", "list", "--database", &db]);
    assert!(!list.status.success());
    let said = String::from_utf8_lossy(&list.stderr);
    assert!(
        said.contains(&dir.path().join("passcode.db").display().to_string()),
        "{said}"
    );
    assert!(said.contains("--init"), "{said}");
    assert!(!dir.path().join("passcode.db").exists());

    let (id, _) = create_app(&db, "Shop", &[]);
    let id = id.to_string();
    let unasked = run(&["app", "delete", &id, "--database", &db]);
    assert!(!unasked.status.success());
    assert!(String::from_utf8_lossy(&unasked.stderr).contains("--yes"));
    let list = run(&["app", "list", "--database", &db, "--json"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("Shop"));
    let deleted = run(&["app", "delete", &id, "--database", &db, "--yes"]);
    assert!(deleted.status.success());
    let list = run(&["app", "list", "--database", &db, "--json"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "[]");
}

/// D9: `app set --sandbox on` on an application with real users made
/// `0000000` verify every one of them, silently.
#[tokio::test]
async fn the_sandbox_is_refused_for_an_application_with_users() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (id, key) = create_app(&db, "Live", &[]);
    let id = id.to_string();
    // No users yet: allowed, and back off.
    for switch in ["on", "off"] {
        let set = run(&["app", "set", &id, "--database", &db, "--sandbox", switch]);
        assert!(
            set.status.success(),
            "{}",
            String::from_utf8_lossy(&set.stderr)
        );
    }
    let mut server = Running::start(dir.path(), &dir.path().join("master.key"));
    create_user(&reqwest::Client::new(), &server, &key).await;
    assert!(server.stop().success());
    let refused = run(&["app", "set", &id, "--database", &db, "--sandbox", "on"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("1 users") && said.contains("--force"),
        "{said}"
    );
    let list = run(&["app", "list", "--database", &db, "--json"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(r#""sandbox":false"#));
    let forced = run(&[
        "app",
        "set",
        &id,
        "--database",
        &db,
        "--sandbox",
        "on",
        "--force",
    ]);
    assert!(forced.status.success());
    // Every start says so.
    let mut server = Running::start(dir.path(), &dir.path().join("master.key"));
    assert!(server.stop().success());
    let log = std::fs::read_to_string(&server.stderr).unwrap();
    assert!(
        log.contains("a sandbox application has real users"),
        "{log}"
    );
}

/// D16: `/metrics` needed no key on the clients' address; with
/// `--ops-listen` it is served on the operators' address alone.
#[tokio::test]
async fn metrics_move_to_the_operators_address() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let ops = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--ops-listen", &ops])
        .arg("--database")
        .arg(database(dir.path()))
        .arg("--master-key-file")
        .arg(dir.path().join("master.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = KillOnDrop(child);
    let http = reqwest::Client::new();
    let status = |url: String| {
        let http = http.clone();
        async move {
            match http.get(url).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            }
        }
    };
    assert!(
        within(20, || async {
            status(format!("http://{ops}/health")).await == 200
        })
        .await
    );
    assert_eq!(status(format!("http://{listen}/health")).await, 200);
    assert_eq!(status(format!("http://{listen}/metrics")).await, 404);
    assert_eq!(status(format!("http://{ops}/metrics")).await, 200);
    assert_eq!(status(format!("http://{ops}/ready")).await, 200);
    assert_eq!(
        status(format!("http://{ops}/protected/json/app/details")).await,
        404
    );
    drop(running);
}

/// Found by a new user: `serve --help` named only the `log` and `file:`
/// senders.
#[test]
fn serve_help_names_every_sender_and_its_variables() {
    let help = run(&["serve", "--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "`log`",
        "`file:PATH`",
        "`webhook:URL`",
        "PASSCODE_WEBHOOK_SECRET",
        "`twilio`",
        "PASSCODE_TWILIO_ACCOUNT_SID",
        "PASSCODE_TWILIO_AUTH_TOKEN",
        "PASSCODE_TWILIO_FROM",
        "--ops-listen",
        "--max-connections",
    ] {
        assert!(text.contains(expected), "{expected} missing from: {text}");
    }
}

/// Issue 23: a plain copy of a running server's database lost data; the
/// `backup` command copies it as of one commit while requests write, and a
/// server started on the copy serves its applications and users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_is_whole_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let (live, copy, restored) = (
        dir.path().join("live"),
        dir.path().join("copy"),
        dir.path().join("restored"),
    );
    for d in [&live, &copy, &restored] {
        std::fs::create_dir(d).unwrap();
    }
    let key_file = dir.path().join("master.key");
    let (_, key) = create_app(&database(&live), "Shop", &[]);
    let mut server = Running::start(&live, &key_file);
    let http = reqwest::Client::new();
    let first = create_user(&http, &server, &key).await;
    // Writers for as long as the backup takes: new users, each a commit.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (http, url, key, stop) = (
            http.clone(),
            server.url("users/new"),
            key.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut made = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && made < 5_000 {
                let body = format!(
                    r#"{{"user":{{"email":"u@example.com","cellphone":"775-46{:05}","country_code":1}}}}"#,
                    10_000 + made
                );
                assert_eq!(post(&http, &url, &key, &body).await.0, 200);
                made += 1;
            }
            made
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to = copy.join("passcode.db");
    let backup = run(&[
        "backup",
        "--database",
        &database(&live),
        "--to",
        to.to_str().unwrap(),
    ]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let made = load.await.unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(String::from_utf8_lossy(&backup.stdout).contains("integrity check: ok"));
    assert!(made > 0);
    // Checked again by another SQLite than ours: Python's.
    let check = Command::new("python3")
        .args(["-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])"])
        .arg(&to)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&to).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A second copy to the same path is refused, not written over.
    let again = run(&[
        "backup",
        "--database",
        &database(&live),
        "--to",
        to.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(server.stop().success());

    let mut from_copy = Running::start(&copy, &key_file);
    let status = get(
        &http,
        &from_copy.url(&format!("users/{first}/status")),
        &key,
    )
    .await;
    assert_eq!(status.0, 200, "{}", status.1);
    assert!(from_copy.stop().success());

    // Restore asks first, then puts the copy in place.
    let restore = |extra: &[&str]| {
        let target = database(&restored);
        let mut args = vec![
            "restore",
            "--database",
            &target,
            "--from",
            to.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let unasked = restore(&[]);
    assert!(!unasked.status.success());
    assert!(String::from_utf8_lossy(&unasked.stderr).contains("--yes"));
    assert!(restore(&["--yes"]).status.success());
    let mut from_restored = Running::start(&restored, &key_file);
    let status = get(
        &http,
        &from_restored.url(&format!("users/{first}/status")),
        &key,
    )
    .await;
    assert_eq!(status.0, 200, "{}", status.1);
    assert!(from_restored.stop().success());
}

/// Issue 23: users an application already has keep their Authy ids, so
/// the ids it stored go on working after the switch.
#[tokio::test]
async fn an_authy_export_is_imported_with_its_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (shop, key) = create_app(&db, "Shop", &[]);
    let (other, _) = create_app(&db, "Other", &[]);
    let write = |name: &str, lines: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let import = |app: i64, file: &str| {
        run(&[
            "import",
            "authy",
            "--app",
            &app.to_string(),
            "--from",
            file,
            "--database",
            &db,
        ])
    };
    let theirs = write(
        "other.jsonl",
        &[r#"{"authy_id":7000000,"country_code":1,"phone_number":"775-461-5699"}"#],
    );
    assert!(import(other, &theirs).status.success());
    let good = [
        r#"{"authy_id":41234567,"country_code":"1","phone_number":"775-461-5609","email":"a@example.com"}"#,
        r#"{"authy_id":"41234568","country_code":39,"phone_number":"06 6982 1234"}"#,
    ];
    let mut lines = good.to_vec();
    lines.extend([
        r#"{"authy_id":7000000,"country_code":1,"phone_number":"775-461-5698"}"#,
        r#"{"authy_id":41234569,"country_code":1,"phone_number":"775-461-5609"}"#,
        "not json",
        r#"{"authy_id":41234570,"country_code":1,"phone_number":"111-111-1111"}"#,
        r#"{"authy_id":51,"country_code":1,"phone_number":"775-461-5697"}"#,
    ]);
    let first = import(shop, &write("shop.jsonl", &lines));
    assert!(!first.status.success());
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        out.contains("imported 2, already there 0, refused 5"),
        "{out}"
    );
    let err = String::from_utf8_lossy(&first.stderr);
    for line in 3..=7 {
        assert!(err.contains(&format!("line {line}: ")), "{err}");
    }
    assert!(
        err.contains("belongs to another user") && err.contains("as user 41234567"),
        "{err}"
    );
    assert!(
        !err.contains("5609") && !err.contains("5698"),
        "no phone number: {err}"
    );
    // A re-run takes nothing twice.
    let again = import(shop, &write("again.jsonl", &good));
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("imported 0, already there 2, refused 0")
    );

    let mut server = Running::start(dir.path(), &dir.path().join("master.key"));
    let http = reqwest::Client::new();
    let status = get(&http, &server.url("users/41234567/status"), &key).await;
    assert_eq!(status.0, 200, "{}", status.1);
    assert!(status.1.contains(r#""authy_id":41234567"#), "{}", status.1);
    // Italy's leading zero is kept: the number as it is dialled.
    let italian = get(&http, &server.url("users/41234568/status"), &key).await;
    assert!(
        italian.1.contains(r#""phone_number":"XXX-XXX-1234""#)
            && italian.1.contains(r#""country_code":39"#),
        "{}",
        italian.1
    );
    // An SMS token to an imported user verifies.
    assert_eq!(
        get(&http, &server.url("sms/41234567?force=true"), &key)
            .await
            .0,
        200
    );
    let code = last_code(dir.path());
    assert_eq!(
        get(&http, &server.url(&format!("verify/{code}/41234567")), &key)
            .await
            .0,
        200
    );
    // New users get ids above the imported ones.
    let (status, body) = post(
        &http,
        &server.url("users/new"),
        &key,
        r#"{"user":{"email":"n@example.com","cellphone":"775-461-5611","country_code":1}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["user"]["id"]
        .as_i64()
        .unwrap();
    assert!(id > 41_234_568, "{id}");
    assert!(server.stop().success());
}

/// Issue 23: the send limits are settings; a running server keeps the
/// config file's.
#[tokio::test]
async fn the_config_files_limits_are_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (_, key) = create_app(&db, "Shop", &[]);
    let config = dir.path().join("passcode.toml");
    std::fs::write(
        &config,
        "[limits]\napp_sends = { quota = 1, period = 3600, burst = 1 }\n",
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--database", &db])
        .arg("--config")
        .arg(&config)
        .arg("--master-key-file")
        .arg(dir.path().join("master.key"))
        .arg("--sender")
        .arg(format!(
            "file:{}",
            dir.path().join("messages.jsonl").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = KillOnDrop(child);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{listen}/protected/json/{path}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run(&["healthcheck", "--listen", &listen]).status.success() {
        assert!(
            Instant::now() < deadline,
            "the server did not answer /health"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let start = |number: &'static str| {
        let (http, url, key) = (http.clone(), url("phones/verification/start"), key.clone());
        async move {
            let body = format!(r#"{{"via":"sms","country_code":1,"phone_number":"{number}"}}"#);
            post(&http, &url, &key, &body).await
        }
    };
    assert_eq!(start("775-461-5609").await.0, 200);
    let second = start("775-461-5610").await;
    assert_eq!(second.0, 429, "{}", second.1);
    assert!(
        second
            .1
            .contains("Too many messages sent by this application"),
        "{}",
        second.1
    );
}

/// Lines far past the import's bound (4 KiB: 10x and 1000x) and values of
/// the wrong type are refused, and no refusal quotes what the line held.
#[test]
fn an_import_refuses_long_and_odd_lines_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let (shop, _) = create_app(&db, "Shop", &[]);
    let long = |n: usize| {
        format!(
            r#"{{"authy_id":1,"country_code":1,"phone_number":"{}"}}"#,
            "7".repeat(n)
        )
    };
    let lines = [
        long(40 * 1024),
        long(4 * 1024 * 1024),
        r#"{"authy_id":41234567,"country_code":1,"phone_number":7754615609}"#.to_owned(),
        r#"{"authy_id":41234568,"country_code":1,"phone_number":"775-461-5609"}"#.to_owned(),
    ];
    let file = dir.path().join("users.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = run(&[
        "import",
        "authy",
        "--app",
        &shop.to_string(),
        "--from",
        file.to_str().unwrap(),
        "--database",
        &db,
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 1, already there 0, refused 3")
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1: not a user") && err.contains("line 2: not a user"),
        "{err}"
    );
    assert!(err.contains("line 3: not a user"), "{err}");
    assert!(
        !err.contains("7754615609") && !err.contains("7777"),
        "{err}"
    );
    assert!(err.len() < 1_000, "{err}");
}

/// Verify v2 through the real binary at every log level: the account and
/// key commands, a service, a verification and its check, a factor and a
/// challenge, a webhook delivery, and the migration command; no token,
/// key secret, code, seed or number reaches the log.
#[tokio::test]
async fn verify_v2_through_the_binary_keeps_its_secrets_out_of_the_logs() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let db = database(dir);
    let key_file = dir.join("master.key");
    let out = run(&[
        "app",
        "create",
        "--init",
        "--database",
        &db,
        "--name",
        "Acme",
        "--json",
    ]);
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first_token = created["auth_token"].as_str().unwrap().to_owned();
    let sid = created["account_sid"].as_str().unwrap().to_owned();
    let rotated = run(&["app", "rotate-token", "1", "--database", &db, "--json"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let rotated: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_eq!(rotated["account_sid"], sid.as_str(), "the SID stays");
    let token = rotated["auth_token"].as_str().unwrap().to_owned();
    assert_ne!(token, first_token);
    let key = run(&[
        "app",
        "key",
        "create",
        "1",
        "--database",
        &db,
        "--name",
        "ci",
        "--json",
    ]);
    let key: serde_json::Value = serde_json::from_slice(&key.stdout).unwrap();
    let (key_sid, key_secret) = (
        key["sid"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    );
    let listed = run(&["app", "key", "list", "1", "--database", &db]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains(&key_sid) && !listed.contains(&key_secret),
        "{listed}"
    );
    assert!(
        !run(&["app", "rotate-token", "99", "--database", &db])
            .status
            .success()
    );

    let mut server = Running::start(dir, &key_file);
    let http = reqwest::Client::new();
    let base = format!("http://{}/v2", server.listen);
    let basic = |user: &str, pass: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    };
    let auth = basic(&sid, &token);
    let post = |path: String, form: Vec<(&'static str, String)>, auth: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let response = http
                .post(format!("{base}{path}"))
                .header("Authorization", auth)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_str(&response.text().await.unwrap()).unwrap_or_default();
            (status, body)
        }
    };
    let (status, _) = post(
        "/Services".into(),
        vec![("FriendlyName", "x".into())],
        basic(&sid, &first_token),
    )
    .await;
    assert_eq!(status, 401, "the rotated-out token");
    let (status, service) = post(
        "/Services".into(),
        vec![("FriendlyName", "Acme".into())],
        basic(&key_sid, &key_secret),
    )
    .await;
    assert_eq!(status, 201, "{service}");
    let service = service["sid"].as_str().unwrap().to_owned();
    let (status, _) = post(
        format!("/Services/{service}/Verifications"),
        vec![("To", "+17754615609".into()), ("Channel", "sms".into())],
        auth.clone(),
    )
    .await;
    assert_eq!(status, 201);
    let code = last_code(dir);
    let (status, checked) = post(
        format!("/Services/{service}/VerificationCheck"),
        vec![("To", "+17754615609".into()), ("Code", code.clone())],
        auth.clone(),
    )
    .await;
    assert_eq!(
        (status, checked["status"].as_str()),
        (200, Some("approved"))
    );
    let (_, factor) = post(
        format!("/Services/{service}/Entities/acme-user-1/Factors"),
        vec![
            ("FactorType", "totp".into()),
            ("FriendlyName", "Phone".into()),
        ],
        auth.clone(),
    )
    .await;
    let seed = factor["binding"]["secret"].as_str().unwrap().to_owned();
    let totp = Totp::new(
        &passcode::Secret::from_base32(&seed).unwrap(),
        TotpConfig::new(),
    )
    .unwrap();
    let totp_code = totp.generate_now().unwrap().to_string();
    let (status, verified) = post(
        format!(
            "/Services/{service}/Entities/acme-user-1/Factors/{}",
            factor["sid"].as_str().unwrap()
        ),
        vec![("AuthPayload", totp_code.clone())],
        auth.clone(),
    )
    .await;
    assert_eq!(
        (status, verified["status"].as_str()),
        (200, Some("verified")),
        "{verified}"
    );

    // The migration command, beside the running server.
    let migrated = run(&[
        "migrate",
        "authy-to-verify",
        "--app",
        "1",
        "--service",
        &service,
        "--database",
        &db,
    ]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&migrated.stdout).trim(),
        "factors created 0, already there 0"
    );
    let unknown = run(&[
        "migrate",
        "authy-to-verify",
        "--app",
        "1",
        "--service",
        "VA00000000000000000000000000000000",
        "--database",
        &db,
    ]);
    assert!(!unknown.status.success());

    assert!(server.stop().success());
    let log = std::fs::read_to_string(&server.stderr).unwrap();
    for secret in [
        &token,
        &auth,
        &first_token,
        &key_secret,
        &code,
        &totp_code,
        &seed,
        &"7754615609".to_owned(),
    ] {
        assert!(
            !holds(&log, secret),
            "a secret is in the log: {secret}\n{log}"
        );
    }
    assert!(
        log.contains("/v2/Services/{sid}/VerificationCheck"),
        "routes are logged by template"
    );
}

/// `systemd-analyze verify` accepts the packaged unit, run with this build
/// of the binary, where systemd is installed (said when it is not).
#[test]
fn the_packaged_unit_passes_systemd_analyze() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: the unit was not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = include_str!("../../packaging/passcode-server.service")
        .replace("/usr/bin/passcode-server", BIN);
    let path = dir.path().join("passcode-server.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !said.contains("passcode-server.service:"),
        "{said}"
    );
}
