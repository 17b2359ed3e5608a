//! `import authy --from-api`: users pulled from a running Authy-compatible
//! API (a second passcode-server acting as the old Authy, and a fake that
//! answers 429s) keep their ids, a re-run fetches nothing already here,
//! and an imported user verifies an SMS token through the official Python
//! client.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::binary::{BIN, Running, create_app, database, last_code};

fn import(db: &str, app: i64, source: &str, key_file: &Path, ids: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args([
            "import",
            "authy",
            "--app",
            &app.to_string(),
            "--database",
            db,
        ])
        .args(["--from-api", source, "--api-key-file"])
        .arg(key_file)
        .arg("--ids")
        .arg(ids)
        .args(extra)
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn users_pulled_from_a_running_authy_api_keep_their_ids_and_verify_through_the_python_client()
{
    // The old Authy: a server whose users carry Authy-like ids.
    let old = tempfile::tempdir().unwrap();
    let old = old.path();
    let old_db = database(old);
    let (old_app, old_key) = create_app(&old_db, "Old", &[]);
    let export = old.join("seed.jsonl");
    std::fs::write(
        &export,
        "{\"authy_id\":41234567,\"country_code\":\"1\",\"phone_number\":\"775-461-5609\"}\n\
         {\"authy_id\":41234568,\"country_code\":\"44\",\"phone_number\":\"7400 123456\"}\n\
         {\"authy_id\":41234569,\"country_code\":\"1\",\"phone_number\":\"775-461-5610\"}\n",
    )
    .unwrap();
    let seeded = Command::new(BIN)
        .args([
            "import",
            "authy",
            "--app",
            &old_app.to_string(),
            "--database",
            &old_db,
        ])
        .arg("--from")
        .arg(&export)
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{:?}", text(&seeded));
    let mut source = Running::start(old, &old.join("master.key"));
    let base = format!("http://{}", source.listen);

    // The new server's database and application.
    let new = tempfile::tempdir().unwrap();
    let new = new.path();
    let new_db = database(new);
    let (new_app, new_key) = create_app(&new_db, "New", &[]);
    let key_file = new.join("authy.key");
    std::fs::write(&key_file, format!("{old_key}\n")).unwrap();
    let ids = new.join("ids.txt");
    std::fs::write(&ids, "# exported from the application's users table\n41234567\n41234568\n99999999\n41234569\nnot-an-id\n").unwrap();

    // The old application's export is off (Authy's default): the run
    // stops at once, importing nothing.
    let off = import(&new_db, new_app, &base, &key_file, &ids, &[]);
    let (stdout, stderr) = text(&off);
    assert!(
        !off.status.success() && stdout.is_empty(),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("phone number export disabled for this application (60154)"),
        "{stderr}"
    );
    let on = Command::new(BIN)
        .args([
            "app",
            "set",
            &old_app.to_string(),
            "--phone-export",
            "on",
            "--database",
            &old_db,
        ])
        .output()
        .unwrap();
    assert!(on.status.success(), "{:?}", text(&on));

    let first = import(&new_db, new_app, &base, &key_file, &ids, &[]);
    let (stdout, stderr) = text(&first);
    assert_eq!(first.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        "imported 3, already there 0, refused 2",
        "{stderr}"
    );
    assert!(
        stderr.contains("authy_id 99999999: the source has no such user"),
        "{stderr}"
    );
    assert!(stderr.contains("line 6: not an authy_id"), "{stderr}");
    for secret in [
        old_key.as_str(),
        "7754615609",
        "461-5609",
        "7400123456",
        "123456",
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} in {stdout}{stderr}"
        );
    }

    // A re-run with the old Authy gone: every user is here already, so it
    // asks the source nothing (and spends none of its exports a month).
    assert!(source.stop().success());
    std::fs::write(&ids, "41234567\n41234568\n41234569\n").unwrap();
    let again = import(&new_db, new_app, &base, &key_file, &ids, &[]);
    let (stdout, stderr) = text(&again);
    assert!(again.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), "imported 0, already there 3, refused 0");

    // Another application of the new server cannot take the same ids, and
    // is told so before its fetch spends an export.
    let (other_app, _) = create_app(&new_db, "Other", &[]);
    let mut source = Running::start(old, &old.join("master.key"));
    let base = format!("http://{}", source.listen);
    std::fs::write(&ids, "41234567\n").unwrap();
    let taken = import(&new_db, other_app, &base, &key_file, &ids, &[]);
    let (stdout, stderr) = text(&taken);
    assert_eq!(taken.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("line 1: authy_id 41234567 belongs to another application here"),
        "{stderr}"
    );
    assert!(source.stop().success());

    // The imported user, under its Authy id, on the new server.
    let mut server = Running::start(new, &new.join("master.key"));
    python_sms_and_verify(new, &server, &new_key, 41_234_567);
    assert!(server.stop().success());
}

/// An SMS token to `user` and its verification, through the official
/// Python Authy client; skipped (loudly) without it unless
/// PASSCODE_INTEROP=require.
fn python_sms_and_verify(dir: &Path, server: &Running, key: &str, user: i64) {
    if !super::tls::python_authy("the imported user through the Python authy client") {
        return;
    }
    let script = r#"
import json, sys
from authy.api import AuthyApiClient
key, base, messages, user = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = AuthyApiClient(key, api_uri=base)
sms = client.users.request_sms(user, {"force": True})
assert sms.ok(), sms.errors()
with open(messages) as f:
    code = json.loads(f.read().splitlines()[-1])["code"]
verified = client.tokens.verify(user, code)
assert verified.ok(), verified.errors()
again = client.tokens.verify(user, code)
assert not again.ok()
print("verified", user)
"#;
    let out = Command::new("python3")
        .args(["-c", script, key, &format!("http://{}", server.listen)])
        .arg(dir.join("messages.jsonl"))
        .arg(user.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("verified {user}")
    );
    assert!(!last_code(dir).is_empty());
}

/// A source that answers each user's first request with a 429: user 1
/// with `Retry-After: 1` (waited for, then imported), user 2 with a wait
/// past the longest (refused for this run), user 3 with Authy's per-user
/// message and no Retry-After (refused), then a pace of 120 a minute.
#[tokio::test]
async fn a_source_that_limits_exports_is_waited_for_or_reported() {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;

    #[derive(Clone, Default)]
    struct Seen(Arc<[AtomicUsize; 5]>);

    async fn export(
        State(seen): State<Seen>,
        headers: HeaderMap,
        UrlPath(id): UrlPath<usize>,
    ) -> axum::response::Response {
        if headers.get("X-Authy-API-Key").and_then(|v| v.to_str().ok()) != Some("source-key") {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let times = seen.0[id].fetch_add(1, Ordering::SeqCst);
        let limited = |retry: Option<&str>, message: &str| {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                format!("{{\"message\":\"{message}\",\"success\":false,\"error_code\":\"60003\"}}"),
            )
                .into_response();
            if let Some(retry) = retry {
                response
                    .headers_mut()
                    .insert("Retry-After", retry.parse().unwrap());
            }
            response
        };
        match (id, times) {
            (1, 0) => limited(Some("1"), "DoS protection: too many exports for this application"),
            (2, _) => limited(Some("86400"), "DoS protection: too many exports for this application"),
            (3, _) => limited(None, "DoS protection: too many exports for this user"),
            _ => format!(
                "{{\"phone_number\":\"775-461-56{id:02}\",\"country_code\":\"1\",\"e164\":\"+177546156{id:02}\",\"success\":true}}"
            )
            .into_response(),
        }
    }

    let seen = Seen::default();
    let app = axum::Router::new()
        .route(
            "/protected/json/users/{id}/phone_number",
            axum::routing::get(export),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_owned();
    let db = database(&dir);
    let (app_id, _) = create_app(&db, "New", &[]);
    let key_file = dir.join("key");
    std::fs::write(&key_file, "source-key").unwrap();
    let ids = dir.join("ids");
    std::fs::write(&ids, "1\n2\n3\n4\n").unwrap();
    let started = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (db, key_file, ids, base) = (db.clone(), key_file.clone(), ids.clone(), base.clone());
        move || {
            import(
                &db,
                app_id,
                &base,
                &key_file,
                &ids,
                &["--per-minute", "120"],
            )
        }
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        stdout.trim(),
        "imported 2, already there 0, refused 2",
        "{stderr}"
    );
    assert!(
        stderr.contains("authy_id 2: the source limits exports (retry after 86400 s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("authy_id 3: the source's export limit for this user is reached"),
        "{stderr}"
    );
    // User 1 asked twice (after its Retry-After), the others once each.
    let counts: Vec<usize> = seen.0.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(counts, [0, 2, 1, 1, 1]);
    // The one-second Retry-After, then users 2, 3 and 4 each half a
    // second after the request before: at 1, 1.5 and 2 seconds at the
    // earliest (a lower bound, which a slow machine only exceeds).
    assert!(elapsed >= Duration::from_millis(2_000), "{elapsed:?}");

    // Into another application: an id this server already holds for the
    // first is refused before any fetch (ids are global, and a fetch spends
    // one of the user's exports); a line 1,000 times the bound is read in
    // bounded pieces and refused.
    let (other_app, _) = create_app(&db, "Other", &[]);
    std::fs::write(
        &ids,
        format!(
            "4\n{}\n3{}x\n51\n",
            "9".repeat(1_000 * passcode_server::import::MAX_LINE),
            " ".repeat(5_000)
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let (db, key_file, ids, base) = (db.clone(), key_file.clone(), ids.clone(), base.clone());
        move || import(&db, other_app, &base, &key_file, &ids, &[])
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        stdout.trim(),
        "imported 0, already there 0, refused 4",
        "{stderr}"
    );
    assert!(
        stderr.contains("line 1: authy_id 4 belongs to another application here"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2: not an authy_id"), "{stderr}");
    // A line cut at the bound is refused whole, not read as the 3 it
    // starts with; the sandbox's id is refused without a fetch.
    assert!(stderr.contains("line 3: not an authy_id"), "{stderr}");
    assert!(
        stderr.contains("line 4: authy_id 51 is reserved"),
        "{stderr}"
    );
    assert_eq!(seen.0[3].load(Ordering::SeqCst), 1, "no second fetch of 3");
    assert_eq!(seen.0[4].load(Ordering::SeqCst), 1, "no second fetch of 4");

    // A wrong key stops the run at once.
    std::fs::write(&key_file, "wrong").unwrap();
    std::fs::write(&ids, "5\n").unwrap();
    let out = tokio::task::spawn_blocking(move || import(&db, app_id, &base, &key_file, &ids, &[]))
        .await
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the source refused the API key (401)"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong"), "{stderr}");
}
