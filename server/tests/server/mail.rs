//! E-mail: Verify's `email` channel delivered to a real SMTP server on
//! loopback (aiosmtpd, `tests/fixtures/smtp_sink.py`) under a CA made here,
//! the code read from the mail received; STARTTLS with a login through the
//! binary, implicit TLS and plain loopback through the gateway itself, and
//! a relay with a certificate of another CA refused.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use passcode_server::sender::mail::{Mail, MailerSpec, Smtp};
use passcode_server::sender::outbox::{Attempt, Gateway};

use super::binary::{Running, create_app, database, free_port};
use super::tls::Ca;

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smtp_sink.py");
const USER: &str = "mailer@acme.test";
const PASSWORD: &str = "smtp-password-7c1d";

/// aiosmtpd on a loopback port, writing each message it takes to `out`.
struct Sink {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Sink {
    /// `mode` is `starttls`, `implicit` or `plain`; `tls` the certificate
    /// and key it serves (with a login required), if any.
    fn start(dir: &Path, mode: &str, tls: Option<&(PathBuf, PathBuf)>) -> Option<Self> {
        if !python_has_aiosmtpd() {
            return None;
        }
        let out = dir.join(format!("mail-{mode}"));
        std::fs::create_dir_all(&out).unwrap();
        let port = free_port();
        let mut command = Command::new("python3");
        command.arg(SINK).arg(port.to_string()).arg(&out).arg(mode);
        if let Some((cert, key)) = tls {
            command.arg(cert).arg(key).arg(USER).arg(PASSWORD);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut ready,
        )
        .unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP sink did not start");
        Some(Self { child, port, out })
    }

    /// The messages received so far, oldest first.
    fn received(&self) -> Vec<serde_json::Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits up to 20 s for the `n`th message.
    fn wait_for(&self, n: usize) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(mail) = self.received().get(n - 1) {
                return mail.clone();
            }
            assert!(Instant::now() < deadline, "no mail number {n} arrived");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the sink can run; CI installs aiosmtpd, and its absence fails
/// the tests there (`PASSCODE_INTEROP=require`).
fn python_has_aiosmtpd() -> bool {
    let present = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        assert!(
            std::env::var("PASSCODE_INTEROP").as_deref() != Ok("require"),
            "PASSCODE_INTEROP=require but python3 cannot import aiosmtpd"
        );
        eprintln!("SKIPPED: python3 cannot import aiosmtpd");
    }
    present
}

/// The certificate pair and CA file for a relay at 127.0.0.1.
fn relay_certificate(dir: &Path, ca: &Ca, name: &str) -> ((PathBuf, PathBuf), PathBuf) {
    let (cert, key) = ca.leaf(name);
    let paths = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&paths.0, cert).unwrap();
    std::fs::write(&paths.1, key).unwrap();
    let ca_file = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&ca_file, &ca.pem).unwrap();
    (paths, ca_file)
}

/// The code in a message's text: its one run of 4 to 10 digits.
fn code_in(text: &str) -> String {
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| (4..=10).contains(&r.len()))
        .collect();
    assert_eq!(runs.len(), 1, "{text}");
    runs[0].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_verification_is_delivered_over_starttls_and_its_code_approves_it() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ca = Ca::new("passcode mail test CA");
    let (pair, ca_file) = relay_certificate(dir, &ca, "relay");
    let Some(sink) = Sink::start(dir, "starttls", Some(&pair)) else {
        return;
    };
    let db = database(dir);
    create_app(&db, "Acme", &[]);
    let rotated = super::binary::run(&["app", "rotate-token", "1", "--database", &db, "--json"]);
    let rotated: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    let (sid, token) = (
        rotated["account_sid"].as_str().unwrap().to_owned(),
        rotated["auth_token"].as_str().unwrap().to_owned(),
    );
    let mailer = format!(
        "smtp://mailer%40acme.test@127.0.0.1:{}?ca={}",
        sink.port,
        ca_file.display()
    );
    let server = Running::start_with(
        dir,
        &dir.join("master.key"),
        &[
            "--mailer",
            &mailer,
            "--mail-from",
            "Acme <no-reply@acme.test>",
        ],
        &[("PASSCODE_SMTP_PASSWORD", PASSWORD)],
    );
    let http = reqwest::Client::new();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"))
    );
    let base = format!("http://{}/v2", server.listen);
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let request = http
            .post(format!("{base}{path}"))
            .header("Authorization", &auth)
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_str(&response.text().await.unwrap()).unwrap();
            (status, body)
        }
    };
    let (status, service) = post("/Services".into(), vec![("FriendlyName", "Acme".into())]).await;
    assert_eq!(status, 201, "{service}");
    let service = service["sid"].as_str().unwrap().to_owned();

    // A start by e-mail, in Spanish.
    let (status, started) = post(
        format!("/Services/{service}/Verifications"),
        vec![
            ("To", "Alice@Example.com".into()),
            ("Channel", "email".into()),
            ("Locale", "es".into()),
        ],
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["to"], "Alice@Example.com");
    assert_eq!(started["channel"], "email");
    assert_eq!(started["status"], "pending");
    assert_eq!(started["send_code_attempts"][0]["channel"], "EMAIL");
    let verification = started["sid"].as_str().unwrap().to_owned();
    let mail = sink.wait_for(1);
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["Alice@Example.com"]));
    assert_eq!(mail["mail_from"], "no-reply@acme.test");
    assert_eq!(mail["from"], "Acme <no-reply@acme.test>");
    assert_eq!(mail["login"], USER, "it logged in");
    assert_eq!(mail["encrypted"], true, "after STARTTLS");
    assert_eq!(mail["subject"], "Tu código de verificación de Acme");
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.starts_with("Tu código de verificación de Acme es: "),
        "{text}"
    );
    let code = code_in(text);
    assert_eq!(code.len(), 6);

    // Sent again to the same address in another case: the same code and
    // SID; a wrong code leaves it pending; the right one approves it.
    let (status, again) = post(
        format!("/Services/{service}/Verifications"),
        vec![
            ("To", "alice@example.com".into()),
            ("Channel", "email".into()),
        ],
    )
    .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["sid"], verification.as_str());
    assert_eq!(again["send_code_attempts"].as_array().unwrap().len(), 2);
    assert_eq!(code_in(sink.wait_for(2)["text"].as_str().unwrap()), code);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, checked) = post(
        format!("/Services/{service}/VerificationCheck"),
        vec![("To", "alice@example.com".into()), ("Code", wrong.into())],
    )
    .await;
    assert_eq!((status, &checked["status"]), (200, &"pending".into()));
    let response = http
        .get(format!(
            "{base}/Services/{service}/Verifications/{verification}"
        ))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    let fetched: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(
        fetched["to"], "Alice@Example.com",
        "the address from its SID"
    );
    let (status, checked) = post(
        format!("/Services/{service}/VerificationCheck"),
        vec![
            ("VerificationSid", verification.clone()),
            ("Code", code.clone()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["status"], "approved");
    assert_eq!(checked["to"], "Alice@Example.com");
    assert_eq!(checked["channel"], "email");

    // The request's own sender, and one that is not an address.
    let (status, _) = post(
        format!("/Services/{service}/Verifications"),
        vec![
            ("To", "bob@example.com".into()),
            ("Channel", "email".into()),
            (
                "ChannelConfiguration",
                r#"{"from":"security@ACME.test","from_name":"Acme Security","template_id":"d-1"}"#
                    .into(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 201);
    let mail = sink.wait_for(3);
    assert_eq!(mail["from"], "Acme Security <security@ACME.test>");
    assert_eq!(mail["subject"], "Your Acme verification code");
    for bad in [
        r#"{"from":"not an address"}"#,
        // Another domain than the server's own: no tenant sends as anyone.
        r#"{"from":"security@bank.example"}"#,
        r#"{"from_name":"Acme \u202emoc.knab"}"#,
        r#"{"from_name":"Acme\r\nBcc: eve@example.com"}"#,
        r#"{"from":7}"#,
        "[]",
    ] {
        let (status, body) = post(
            format!("/Services/{service}/Verifications"),
            vec![
                ("To", "carol@example.com".into()),
                ("Channel", "email".into()),
                ("ChannelConfiguration", bad.into()),
            ],
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(60200)), "{bad}");
    }
    for bad in [
        "carol",
        "carol@",
        "@example.com",
        "carol@example.com\r\nBcc: eve@x",
        "root@localhost",
        "carol@[10.0.0.5]",
        "\"carol\"@example.com",
    ] {
        let (status, body) = post(
            format!("/Services/{service}/Verifications"),
            vec![("To", bad.into()), ("Channel", "email".into())],
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(60200)), "{bad}");
    }
    assert_eq!(sink.received().len(), 3, "nothing more was sent");

    // No address, code or password in the log, at every level.
    let log_file = server.stderr.clone();
    drop(server);
    let log = std::fs::read_to_string(log_file).unwrap();
    for secret in [
        "alice@example.com",
        "Alice@Example.com",
        "bob@example.com",
        code.as_str(),
        PASSWORD,
    ] {
        assert!(
            !super::binary::holds(&log, secret),
            "the log holds {secret}"
        );
    }
}

fn mail(to: &str) -> Mail {
    Mail {
        app_id: 1,
        from: "Acme <no-reply@acme.test>".parse().unwrap(),
        to: to.parse().unwrap(),
        subject: "Your Acme verification code".into(),
        body: "Your Acme verification code is: 424242\n".into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_tls_and_plain_loopback_deliver_and_a_stranger_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ca = Ca::new("passcode mail test CA");
    let (pair, ca_file) = relay_certificate(dir, &ca, "relay");
    let Some(implicit) = Sink::start(dir, "implicit", Some(&pair)) else {
        return;
    };
    let password = passcode_server::redacted::Redacted::new(PASSWORD.into());
    let spec: MailerSpec = format!(
        "smtps://mailer%40acme.test@127.0.0.1:{}?ca={}",
        implicit.port,
        ca_file.display()
    )
    .parse()
    .unwrap();
    let gateway = Smtp::new(&spec, Some(&password)).unwrap();
    assert_eq!(
        gateway.attempt(&mail("dave@example.com")).await,
        Attempt::Delivered
    );
    let received = implicit.wait_for(1);
    assert_eq!(received["encrypted"], true);
    assert_eq!(received["login"], USER);
    assert_eq!(code_in(received["text"].as_str().unwrap()), "424242");

    // A wrong password is the relay's permanent refusal, not retried.
    let wrong = passcode_server::redacted::Redacted::new("not-it".into());
    let gateway = Smtp::new(&spec, Some(&wrong)).unwrap();
    assert!(matches!(
        gateway.attempt(&mail("dave@example.com")).await,
        Attempt::Fail(why) if why.contains("535") && !why.contains("dave")
    ));

    // A relay whose certificate another CA signed is never written to.
    let other = Ca::new("another CA");
    let (other_pair, _) = relay_certificate(dir, &other, "stranger");
    let Some(stranger) = Sink::start(&dir.join("stranger"), "implicit", Some(&other_pair)) else {
        return;
    };
    let spec: MailerSpec = format!(
        "smtps://mailer%40acme.test@127.0.0.1:{}?ca={}",
        stranger.port,
        ca_file.display()
    )
    .parse()
    .unwrap();
    let gateway = Smtp::new(&spec, Some(&password)).unwrap();
    assert!(matches!(
        gateway.attempt(&mail("dave@example.com")).await,
        Attempt::Retry(why) if why.contains("TLS") && why.contains("UnknownIssuer")
    ));
    assert!(stranger.received().is_empty());

    // Plain SMTP, allowed on loopback only.
    let Some(plain) = Sink::start(dir, "plain", None) else {
        return;
    };
    let spec: MailerSpec = format!("smtp://127.0.0.1:{}?tls=none", plain.port)
        .parse()
        .unwrap();
    let gateway = Smtp::new(&spec, None).unwrap();
    assert_eq!(
        gateway.attempt(&mail("erin@example.com")).await,
        Attempt::Delivered
    );
    assert_eq!(plain.wait_for(1)["encrypted"], false);

    // smtp:// without tls=none requires STARTTLS: a relay that does not
    // offer it gets nothing, neither login nor mail.
    let spec: MailerSpec = format!("smtp://127.0.0.1:{}", plain.port).parse().unwrap();
    let gateway = Smtp::new(&spec, None).unwrap();
    assert!(!matches!(
        gateway.attempt(&mail("frank@example.com")).await,
        Attempt::Delivered
    ));
    assert_eq!(plain.received().len(), 1, "nothing sent in clear");

    // A relay that takes the connection and never speaks costs one
    // deadline, then a retry.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let spec: MailerSpec = format!(
        "smtp://127.0.0.1:{}?tls=none",
        silent.local_addr().unwrap().port()
    )
    .parse()
    .unwrap();
    let gateway = Smtp::new(&spec, None)
        .unwrap()
        .with_deadline(Duration::from_secs(1));
    let started = Instant::now();
    assert!(matches!(
        gateway.attempt(&mail("erin@example.com")).await,
        Attempt::Retry(why) if why.contains("in time")
    ));
    assert!(started.elapsed() < Duration::from_secs(10));
}
