//! What an attack on the running server found (D1-D4), each as the
//! request that did the harm and the answer it must get now.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// The server's address, for raw sockets.
fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Sends `request` as it is and reads until the server closes: the status
/// and the body, or `None` when the connection closed without an answer.
/// Raw, because an HTTP client refuses a URI this long before sending it.
async fn raw(s: &Server, request: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr(s)).await.unwrap();
    // The server may answer and close before reading all of a large
    // request: a failed write still leaves its answer to read.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer));
    assert!(read.await.is_ok(), "the server neither answered nor closed");
    let text = String::from_utf8_lossy(&answer);
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

async fn assert_healthy(s: &Server) {
    let health = s.http.get(format!("{}/health", s.base)).send().await;
    assert_eq!(health.unwrap().status(), 200, "/health stopped answering");
}

/// `a` followed by `depth - 1` levels of `open`, `close`, then `=1`.
fn nested(open: &str, close: &str, depth: usize) -> String {
    let mut name = String::from("a");
    for _ in 1..depth {
        name.push_str(open);
        name.push_str(close);
    }
    name + "=1"
}

const TOO_DEEP: &str = r#"{"message":"Invalid parameter: parameters - nested too deeply","success":false,"errors":{"message":"Invalid parameter: parameters - nested too deeply"},"error_code":"60004"}"#;

/// D1: names nested 10,000 levels deep overflowed a worker's stack before
/// the API key was checked, and the process aborted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_parameter_names_are_refused_and_the_server_stays_up() {
    let s = start(false).await;
    for depth in [10, 100, 10_000, 100_000] {
        let shapes = [
            ("brackets", nested("[a", "]", depth)),
            ("percent-encoded", nested("%5Ba", "%5D", depth)),
            ("arrays", nested("[", "]", depth)),
        ];
        let mut requests = Vec::new();
        for (shape, text) in &shapes {
            let form = format!(
                "POST /protected/json/users/new HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            );
            let query = format!(
                "GET /protected/json/app/details?{text} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            requests.push((format!("{shape} form"), form));
            requests.push((format!("{shape} query"), query));
        }
        let json = "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth);
        requests.push((
            "json".into(),
            format!(
                "POST /protected/json/users/new HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                json.len()
            ),
        ));
        for (how, request) in &requests {
            let answer = raw(&s, request.as_bytes()).await;
            if depth <= 100 {
                // Small enough to be read whole: the Authy body, exactly.
                let (status, body) = answer.unwrap_or_else(|| panic!("{how} {depth}: no answer"));
                assert_eq!((status, body.as_str()), (400, TOO_DEEP), "{how} {depth}");
            } else if let Some((status, body)) = answer {
                // Past the size limits: refused as too large, by the API
                // (60002) or, for a head past hyper's buffer, by hyper.
                match status {
                    400 => assert!(
                        body.contains(r#""error_code":"60002""#)
                            || body.contains(r#""error_code":"60004""#),
                        "{how} {depth}: {body}"
                    ),
                    414 | 431 => assert!(request.len() > 64 * 1024, "{how} {depth}"),
                    other => panic!("{how} {depth}: {other} {body}"),
                }
            }
            assert_healthy(&s).await;
        }
    }
}

/// A request head that arrives a byte at a time, forever.
async fn trickle(s: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(addr(s)).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nX-A: ")
        .await
        .unwrap();
    stream
}

/// Whether the server closes `stream` within `limit`, while this side
/// sends a byte every 100 ms (a slow head) or nothing (`send` false).
async fn closed_within(mut stream: TcpStream, limit: Duration, send: bool) -> bool {
    let started = Instant::now();
    let mut buffer = [0u8; 512];
    while started.elapsed() < limit {
        if send && stream.write_all(b"a").await.is_err() {
            return true;
        }
        // An answer (a 400 for a late body) is read on to the close.
        let read = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer));
        if let Ok(Ok(0) | Err(_)) = read.await {
            return true;
        }
    }
    false
}

/// D2: idle, slow-head and slow-body connections were never closed, and
/// a thousand of them took the server off line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_by_their_deadlines() {
    let bounds = ConnectionLimits {
        max_connections: 100,
        header_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(1),
    };
    let s = start_bounded(false, Limits::default(), bounds, Duration::from_secs(1)).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let mut idle = Vec::new();
    let mut slow_heads = Vec::new();
    let mut slow_bodies = Vec::new();
    let mut unread_bodies = Vec::new();
    for _ in 0..20 {
        // A body to a route that never reads one.
        let mut unread = TcpStream::connect(addr(&s)).await.unwrap();
        let head = "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab";
        unread.write_all(head.as_bytes()).await.unwrap();
        unread_bodies.push(unread);
        idle.push(TcpStream::connect(addr(&s)).await.unwrap());
        slow_heads.push(trickle(&s).await);
        let mut body = TcpStream::connect(addr(&s)).await.unwrap();
        let head = format!(
            "POST /protected/json/users/new HTTP/1.1\r\nHost: x\r\nX-Authy-API-Key: {KEY_A}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"user\":"
        );
        body.write_all(head.as_bytes()).await.unwrap();
        slow_bodies.push(body);
    }
    // Meanwhile a client is served: health, an SMS and its verification.
    assert_healthy(&s).await;
    let sent = s.get(KEY_A, &format!("sms/{user}?force=true")).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let code = s.last_code();
    let verified = s.get(KEY_A, &format!("verify/{code}/{user}")).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    // Each slow one is closed by its deadline (1 s), with a margin.
    let limit = Duration::from_secs(4);
    let closing = idle
        .into_iter()
        .map(|c| closed_within(c, limit, false))
        .chain(
            slow_heads
                .into_iter()
                .map(|c| closed_within(c, limit, true)),
        )
        .chain(
            slow_bodies
                .into_iter()
                .map(|c| closed_within(c, limit, true)),
        )
        .chain(
            unread_bodies
                .into_iter()
                .map(|c| closed_within(c, limit, true)),
        );
    let closed = futures::future::join_all(closing).await;
    assert!(closed.iter().all(|c| *c), "{closed:?}");
    assert_healthy(&s).await;
}

/// D2: past the cap new connections are closed at once, the open ones are
/// still served, and once the idle ones time out new ones are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_closed_and_open_ones_served() {
    let bounds = ConnectionLimits {
        max_connections: 8,
        header_timeout: Duration::from_secs(2),
        write_timeout: Duration::from_secs(2),
    };
    let s = start_bounded(false, Limits::default(), bounds, Duration::from_secs(2)).await;
    let health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut kept = TcpStream::connect(addr(&s)).await.unwrap();
    let mut buffer = [0u8; 1024];
    kept.write_all(health).await.unwrap();
    let n = kept.read(&mut buffer).await.unwrap();
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
    let idle: Vec<TcpStream> =
        futures::future::join_all((0..7).map(|_| TcpStream::connect(addr(&s))))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The ninth is closed without an answer.
    let refused = raw(
        &s,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(refused, None);
    // The one already open is served.
    kept.write_all(health).await.unwrap();
    let n = kept.read(&mut buffer).await.unwrap();
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
    drop(kept);
    // The idle ones reach their deadline; then new connections are served.
    let closed = futures::future::join_all(
        idle.into_iter()
            .map(|c| closed_within(c, Duration::from_secs(5), false)),
    )
    .await;
    assert!(closed.iter().all(|c| *c), "{closed:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_healthy(&s).await;
}

/// D3: the application's send unit was taken before a destination's
/// limits refused, so resends to one number drained the application.
#[tokio::test]
async fn resends_to_one_number_leave_the_application_quota_to_others() {
    let limits = Limits {
        app_sends: passcode::RateLimit::new(7, 60, 7).unwrap(),
        ..Limits::default()
    };
    let s = start_with(false, limits).await;
    let target = s.create_user(KEY_A, "775-461-5609").await;
    let refused_start = r#"{"via":"sms","country_code":1,"phone_number":"775-461-5609"}"#;
    let mut answers = Vec::new();
    for _ in 0..30 {
        answers.push(
            s.get(KEY_A, &format!("sms/{target}?force=true"))
                .await
                .status,
        );
        let started = s
            .post_json(KEY_A, "phones/verification/start", refused_start)
            .await;
        answers.push(started.status);
    }
    // One number's limits (5 at once) refuse the rest of the flood.
    assert_eq!(
        answers.iter().filter(|s| **s == 200).count(),
        Limits::default().destination_burst.burst() as usize,
        "{answers:?}"
    );
    // Another user's SMS and another number's verification go out.
    let other = s.create_user(KEY_A, "775-461-5610").await;
    let sent = s.get(KEY_A, &format!("sms/{other}?force=true")).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let start = r#"{"via":"sms","country_code":1,"phone_number":"775-461-5611"}"#;
    let started = s.post_json(KEY_A, "phones/verification/start", start).await;
    assert_eq!(started.status, 200, "{}", started.body);
}

/// D4: a replayed right code counted as a failed guess, so a double submit
/// or a client's retries locked the user out of the next fresh code.
#[tokio::test]
async fn replays_of_an_accepted_code_do_not_throttle_the_next_code() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let totp = enrol(&s, KEY_A, user).await;
    let code = totp.generate(s.now()).unwrap().to_string();
    let path = format!("verify/{code}/{user}");
    assert_eq!(s.get(KEY_A, &path).await.status, 200);
    for _ in 0..20 {
        let replay = s.get(KEY_A, &path).await;
        assert_eq!(replay.status, 401, "{}", replay.body);
        assert!(
            replay.body.contains(r#""error_code":"60019""#),
            "{}",
            replay.body
        );
    }
    s.advance(30);
    let fresh = totp.generate(s.now()).unwrap().to_string();
    let answer = s.get(KEY_A, &format!("verify/{fresh}/{user}")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// D14: the QR link's host came from `Host` unchecked, and the link (a
/// bearer credential for the seed) could be fetched again and again.
#[tokio::test]
async fn a_qr_link_names_no_forged_host_and_serves_once() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    for forged in ["a@evil.example", "evil.example/steal?x="] {
        let request = s
            .http
            .post(format!("{}/protected/json/users/{user}/secret", s.base))
            .header("X-Authy-API-Key", KEY_A)
            .header("Host", forged)
            .header("Content-Type", "application/json")
            .body("{}");
        let answer = s.send(request).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        let link = value["qr_code"].as_str().unwrap();
        assert!(link.starts_with("/qr/") && link.ends_with(".png"), "{link}");
    }
    let answer = s
        .post_json(KEY_A, &format!("users/{user}/secret"), "{}")
        .await;
    let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let link = value["qr_code"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{}/qr/", s.base)), "{link}");
    // A HEAD (a link checker, a preview) gets no image and spends nothing.
    let head = s.http.head(&link).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let fetches = futures::future::join_all((0..5).map(|_| s.http.get(&link).send())).await;
    let served: Vec<u16> = fetches
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        served.iter().filter(|s| **s == 200).count(),
        1,
        "{served:?}"
    );
    assert!(served.iter().all(|s| *s == 200 || *s == 404), "{served:?}");
}

/// A six-digit code that none of the steps around `now` accepts.
fn wrong_code(totp: &Totp, now: u64) -> String {
    let near: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp.generate(*t).unwrap().to_string())
        .collect();
    (0..)
        .map(|i: u32| {
            format!(
                "{:06}",
                (near[1].parse::<u32>().unwrap() + 500_000 + i) % 1_000_000
            )
        })
        .find(|c| !near.contains(c))
        .unwrap()
}

/// D10: each success cleared the failures, so an attacker pacing guesses
/// between the user's logins got a fresh budget every time.
#[tokio::test]
async fn a_success_does_not_give_back_the_days_guesses() {
    let limits = Limits {
        totp_guesses: passcode::RateLimit::new(5, 86_400, 5).unwrap(),
        ..Limits::default()
    };
    let s = start_with(false, limits).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let totp = enrol(&s, KEY_A, user).await;
    let verify = |code: String| {
        let path = format!("verify/{code}/{user}");
        let s = &s;
        async move { s.get(KEY_A, &path).await }
    };
    // Past every short delay of the throttle between tries.
    for _ in 0..3 {
        assert_eq!(verify(wrong_code(&totp, s.now())).await.status, 401);
        s.advance(31);
    }
    let right = totp.generate(s.now()).unwrap().to_string();
    assert_eq!(verify(right).await.status, 200);
    s.advance(31);
    for _ in 0..2 {
        assert_eq!(verify(wrong_code(&totp, s.now())).await.status, 401);
        s.advance(31);
    }
    // Five wrong codes today: the sixth is not tried, nor is a right one.
    let spent = verify(wrong_code(&totp, s.now())).await;
    assert_eq!(spent.status, 429, "{}", spent.body);
    let right = totp.generate(s.now()).unwrap().to_string();
    assert_eq!(verify(right).await.status, 429);
    // The budget comes back with time, not with a success.
    s.advance(86_400);
    let right = totp.generate(s.now()).unwrap().to_string();
    assert_eq!(verify(right).await.status, 200);
}

/// D8: every enrolment added a seed valid at once and forever, so 50 calls
/// left 50 live seeds and a guess was tried against all of them.
#[tokio::test]
async fn enrolments_replace_unused_authenticators_and_the_used_one_on_first_use() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let verify = |code: String| {
        let path = format!("verify/{code}/{user}");
        let s = &s;
        async move { s.get(KEY_A, &path).await.status }
    };
    let code = |totp: &Totp| totp.generate(s.now()).unwrap().to_string();
    let a = enrol(&s, KEY_A, user).await;
    let b = enrol(&s, KEY_A, user).await;
    // A was never used: B replaced it.
    assert_eq!(verify(code(&a)).await, 401);
    assert_eq!(verify(code(&b)).await, 200);
    // B is in use: C does not replace it until C's first code.
    let c = enrol(&s, KEY_A, user).await;
    s.advance(30);
    assert_eq!(verify(code(&b)).await, 200);
    s.advance(30);
    assert_eq!(verify(code(&c)).await, 200);
    s.advance(30);
    assert_eq!(verify(code(&b)).await, 401);
    assert_eq!(verify(code(&c)).await, 200);
    // However many enrolments, a user holds the one in use and one new.
    for _ in 0..50 {
        enrol(&s, KEY_A, user).await;
    }
    assert_eq!(s.store.devices(user).await.unwrap().len(), 2);
}

/// D13: numbers that are no user's stayed forever in rate-limit keys and
/// verifications, and QR links were never removed.
#[tokio::test]
async fn states_that_decide_nothing_are_swept_with_the_numbers_they_hold() {
    let s = start(false).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    assert_eq!(
        s.get(KEY_A, &format!("sms/{user}?force=true")).await.status,
        200
    );
    let start = r#"{"via":"sms","country_code":1,"phone_number":"775-461-5611"}"#;
    assert_eq!(
        s.post_json(KEY_A, "phones/verification/start", start)
            .await
            .status,
        200
    );
    let totp = enrol(&s, KEY_A, user).await;
    let code = totp.generate(s.now()).unwrap().to_string();
    assert_eq!(
        s.get(KEY_A, &format!("verify/{code}/{user}")).await.status,
        200
    );
    let service = Domain::new(
        Arc::clone(&s.store),
        Arc::new(MasterKey::from_bytes(&[5; 32])),
        Arc::new(Recorder::default()),
        Limits::default(),
    );
    let before = s.state_keys();
    assert_eq!(service.sweep(s.now()).await.unwrap(), 0);
    assert_eq!(s.state_keys(), before, "nothing is spent yet");
    assert!(
        before.iter().any(|k| k.contains("+17754615611")),
        "{before:?}"
    );
    assert!(before.iter().any(|k| k.starts_with("qr:")), "{before:?}");
    // Each state names its owner, and what holds a number or a link has
    // an expiry; the authenticator's state lives as long as its user.
    for (key, app_id, user_id, expires_at) in s.states() {
        assert_eq!(app_id, 1, "{key}");
        let users = key.starts_with("user:") || key.starts_with("qr:");
        assert_eq!(user_id, users.then_some(user), "{key}");
        let device = key == format!("user:{user}:device:1");
        assert_eq!(expires_at.is_none(), device, "{key}");
    }
    s.advance(86_400);
    let removed = service.sweep(s.now()).await.unwrap();
    let after = s.state_keys();
    assert_eq!(removed, u64::try_from(before.len() - after.len()).unwrap());
    // What decides still is kept: the authenticator's state (its last
    // step, its budget). The application's send quota is full again,
    // which decides what no state decides.
    assert_eq!(after, vec![format!("user:{user}:device:1")], "{before:?}");
}

/// D2, found in review: hyper has no write deadline, so a client that sent
/// requests and never read the answers held its connection (and a slot of
/// the cap) for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off() {
    let bounds = ConnectionLimits {
        max_connections: 100,
        header_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(1),
    };
    let s = start_bounded(false, Limits::default(), bounds, Duration::from_secs(1)).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr(&s).parse().unwrap()).await.unwrap();
    // Pipelined requests until the server stops taking them (its answers
    // fill the buffers), or 200,000 of them: their answers, over 20 MB,
    // are more than any loopback's buffers hold (20,000 once fitted in
    // them on a loaded machine, and every one was answered).
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut sent = 0;
    while sent < 200_000 {
        let write = tokio::time::timeout(Duration::from_millis(500), stream.write_all(request));
        match write.await {
            Ok(Ok(())) => sent += 1,
            _ => break,
        }
    }
    // Past the write deadline without reading, then everything there is.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut answers = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answers));
    let _ = read.await;
    let answered = String::from_utf8_lossy(&answers)
        .matches("HTTP/1.1 200")
        .count();
    assert!(
        answered < sent,
        "{answered} of {sent} answered: the stalled write was waited for"
    );
    assert_healthy(&s).await;
}

/// Found in review: a right six-digit SMS token was tried against the
/// authenticators first, and spent their budget of wrong codes.
#[tokio::test]
async fn a_right_six_digit_sms_token_spends_no_authenticator_budget() {
    let limits = Limits {
        totp_guesses: passcode::RateLimit::new(1, 86_400, 1).unwrap(),
        ..Limits::default()
    };
    let s = start_with(false, limits).await;
    let six = AppPatch {
        token_length: Some(6),
        ..AppPatch::default()
    };
    s.store.update_app(1, six).await.unwrap();
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let totp = enrol(&s, KEY_A, user).await;
    for _ in 0..3 {
        assert_eq!(
            s.get(KEY_A, &format!("sms/{user}?force=true")).await.status,
            200
        );
        let code = s.last_code();
        assert_eq!(code.len(), 6);
        let verified = s.get(KEY_A, &format!("verify/{code}/{user}")).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        s.advance(61);
    }
    let code = totp.generate(s.now()).unwrap().to_string();
    let verified = s.get(KEY_A, &format!("verify/{code}/{user}")).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
}

/// D16: a second sandbox application had no user 51.
#[tokio::test]
async fn every_sandbox_application_has_its_own_user_51() {
    let s = start(true).await;
    const KEY_C: &str = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
    let sandbox = NewApp {
        name: "Sandbox App 2".into(),
        key_hash: key_hash(KEY_C),
        token_length: 7,
        sandbox: true,
    };
    let second = s.store.create_app(sandbox, 0).await.unwrap();
    for key in [KEY_A, KEY_C] {
        let status = s.get(key, "users/51/status").await;
        assert_eq!(status.status, 200, "{}", status.body);
        assert!(status.body.contains(r#""authy_id":51"#), "{}", status.body);
        assert_eq!(s.get(key, "verify/0000000/51").await.status, 200);
        let again = s.create_user(key, "305-456-2345").await;
        assert_eq!(again, 51);
    }
    // Two users, one for each: neither application reaches the other's.
    let mine = s
        .store
        .user_by_phone(second.id, 1, "3054562345")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(mine.id, 51);
    assert_eq!(
        s.get(KEY_A, &format!("users/{}/status", mine.id))
            .await
            .status,
        404
    );
    assert_eq!(s.get(KEY_B, "users/51/status").await.status, 404);
}

/// D1's bounds at ten and a thousand times their size: parameters (256)
/// and the query (16 KiB) are refused with the Authy body or, past hyper's
/// own head buffer, by hyper; the server answers on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_counts_and_query_lengths_far_past_their_bounds_are_refused() {
    use passcode_server::api::authy::params::{MAX_PARAMS, QUERY_LIMIT};
    let s = start(false).await;
    let pairs = |n: usize| {
        (0..n)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&")
    };
    for times in [10, 1_000] {
        let body = pairs(MAX_PARAMS * times);
        let form = format!(
            "POST /protected/json/users/new HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let query = format!(
            "GET /protected/json/app/details?a={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "b".repeat(QUERY_LIMIT * times)
        );
        for (how, request) in [("params", form), ("query", query)] {
            if let Some((status, body)) = raw(&s, request.as_bytes()).await {
                match status {
                    400 => assert!(
                        body.contains(r#""error_code":"60002""#),
                        "{how} x{times}: {body}"
                    ),
                    414 | 431 => assert!(request.len() > 64 * 1024, "{how} x{times}"),
                    other => panic!("{how} x{times}: {other} {body}"),
                }
            } else {
                assert!(request.len() > 64 * 1024, "{how} x{times}: no answer");
            }
            assert_healthy(&s).await;
        }
    }
    // Ten times: still under the body and head buffers, so the API's own
    // refusal is the answer.
    let body = pairs(MAX_PARAMS * 10);
    let request = format!(
        "POST /protected/json/users/new HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, answer) = raw(&s, request.as_bytes()).await.unwrap();
    assert_eq!(status, 400);
    assert!(answer.contains("too many parameters"), "{answer}");
}

/// D2's cap at ten times its size: 80 connections past a cap of 8 are all
/// closed at once, and the server still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_times_the_connection_cap_is_refused_and_the_server_answers() {
    let bounds = ConnectionLimits {
        max_connections: 8,
        header_timeout: Duration::from_secs(2),
        write_timeout: Duration::from_secs(2),
    };
    let s = start_bounded(false, Limits::default(), bounds, Duration::from_secs(2)).await;
    let held: Vec<TcpStream> =
        futures::future::join_all((0..8).map(|_| TcpStream::connect(addr(&s))))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let refused = futures::future::join_all((0..80).map(|_| raw(&s, request))).await;
    assert!(refused.iter().all(Option::is_none), "{refused:?}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_healthy(&s).await;
}
