//! HTTPS on the real binary: a certificate authority made here, the
//! official Python Authy client verifying the server's certificate by it,
//! TLS 1.2 and 1.3, `healthcheck` over TLS, and a SIGHUP that swaps the
//! certificate while a connection stays open; plain HTTP on a public
//! address warns at start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::binary::{BIN, create_app, database, free_port, run};

/// A certificate authority that lives for one test.
pub(super) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub(super) pem: String,
}

fn validity(params: &mut CertificateParams) {
    let day = time::Duration::days(1);
    params.not_before = time::OffsetDateTime::now_utc() - day;
    params.not_after = time::OffsetDateTime::now_utc() + day;
}

impl Ca {
    pub(super) fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// A server certificate for 127.0.0.1 and localhost: (cert PEM, key PEM).
    pub(super) fn leaf(&self, name: &str) -> (String, String) {
        self.leaf_for(name, &["127.0.0.1", "localhost"])
    }

    /// A server certificate for `names` alone.
    fn leaf_for(&self, name: &str, names: &[&str]) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.use_authority_key_identifier_extension = true;
        params.key_usages.push(KeyUsagePurpose::DigitalSignature);
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
        validity(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes a pair in place, the way an operator's renewal does: a new file
/// renamed over the old one.
fn install(dir: &Path, (cert, key): &(String, String)) {
    for (name, text) in [("server.crt", cert), ("server.key", key)] {
        let next = dir.join(format!("{name}.next"));
        std::fs::write(&next, text).unwrap();
        std::fs::rename(&next, dir.join(name)).unwrap();
    }
}

fn der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

struct Https {
    child: Child,
    addr: std::net::SocketAddr,
    stderr: PathBuf,
}

impl Https {
    fn start(dir: &Path) -> Self {
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let stderr = dir.join("stderr.log");
        let child = Command::new(BIN)
            .args(["serve", "--listen", &addr.to_string()])
            .args(["--database", &database(dir)])
            .arg("--master-key-file")
            .arg(dir.join("master.key"))
            .arg("--sender")
            .arg(format!("file:{}", dir.join("messages.jsonl").display()))
            .arg("--tls-cert")
            .arg(dir.join("server.crt"))
            .arg("--tls-key")
            .arg(dir.join("server.key"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let https = Self {
            child,
            addr,
            stderr,
        };
        let cert = dir.join("server.crt");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !https.healthy(Some(&cert)) {
            assert!(
                Instant::now() < deadline,
                "no answer over TLS: {}",
                std::fs::read_to_string(&https.stderr).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        https
    }

    fn healthy(&self, cert: Option<&Path>) -> bool {
        let mut command = Command::new(BIN);
        command.args(["healthcheck", "--listen", &self.addr.to_string()]);
        if let Some(cert) = cert {
            command.arg("--tls-cert").arg(cert);
        }
        command.output().unwrap().status.success()
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([name, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }
}

impl Drop for Https {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that trusts `ca_pem` alone, with the versions given.
fn client(
    ca_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(passcode_server::tls::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

type Stream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn connect(connector: &tokio_rustls::TlsConnector, addr: std::net::SocketAddr) -> Stream {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap()
}

/// `GET /health` on a kept-alive connection: the status line.
async fn health(stream: &mut Stream) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    // The head, then as many body bytes as Content-Length says.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "the connection closed");
        seen.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap();
            if seen.len() >= end + 4 + length {
                return text.lines().next().unwrap().to_owned();
            }
        }
    }
}

fn peer(stream: &Stream) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0]
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn https_serves_tls_1_2_and_1_3_and_a_sighup_swaps_the_certificate_under_an_open_connection()
{
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ca = Ca::new("passcode test CA");
    let first = ca.leaf("first");
    install(dir, &first);
    let (_, key) = create_app(&database(dir), "Acme", &[]);
    let server = Https::start(dir);

    // Plain HTTP gets no answer there; healthcheck needs the certificate.
    assert!(!server.healthy(None));
    // A pinned healthcheck refuses another certificate of the same CA.
    let other = dir.join("other.crt");
    std::fs::write(&other, ca.leaf("other").0).unwrap();
    assert!(!server.healthy(Some(&other)));

    for versions in [
        &[&rustls::version::TLS12][..],
        &[&rustls::version::TLS13][..],
    ] {
        let mut stream = connect(&client(&ca.pem, versions), server.addr).await;
        assert_eq!(health(&mut stream).await, "HTTP/1.1 200 OK");
        assert_eq!(
            stream.get_ref().1.protocol_version(),
            Some(versions[0].version)
        );
    }
    // A client that trusts another CA is refused by its own check.
    let stranger = Ca::new("another CA");
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    assert!(
        client(&stranger.pem, rustls::ALL_VERSIONS)
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
            .is_err()
    );

    // The official Python Authy client, verifying by the CA.
    authy_client_over_tls(dir, &ca, &server, &key);

    // One connection open across the swap.
    let connector = client(&ca.pem, rustls::ALL_VERSIONS);
    let mut kept = connect(&connector, server.addr).await;
    assert_eq!(health(&mut kept).await, "HTTP/1.1 200 OK");
    assert_eq!(peer(&kept), der(&first.0));

    let second = ca.leaf("second");
    install(dir, &second);
    server.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = connect(&connector, server.addr).await;
        if peer(&fresh) == der(&second.0) {
            break;
        }
        assert_eq!(peer(&fresh), der(&first.0));
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not swap: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The open connection goes on, on its first session.
    assert_eq!(health(&mut kept).await, "HTTP/1.1 200 OK");
    assert_eq!(peer(&kept), der(&first.0));
    assert!(server.healthy(Some(&dir.join("server.crt"))));

    // A broken pair is refused and the certificate in use stays.
    std::fs::write(
        dir.join("server.key"),
        "-----BEGIN PRIVATE KEY-----\nnot a key\n",
    )
    .unwrap();
    server.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("kept the TLS certificate in use") {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut fresh = connect(&connector, server.addr).await;
    assert_eq!(peer(&fresh), der(&second.0));
    assert_eq!(health(&mut fresh).await, "HTTP/1.1 200 OK");
    assert_eq!(health(&mut kept).await, "HTTP/1.1 200 OK");
    let log = server.log();
    assert!(
        log.contains("SIGHUP: reloaded the TLS certificate and key"),
        "{log}"
    );
    // Errors name the file, never what is in it.
    assert!(!log.contains("not a key"), "{log}");
    assert!(!log.contains(&key), "{log}");
}

/// Creates a user, sends it an SMS token and verifies it, through the
/// official Python client with `REQUESTS_CA_BUNDLE` set to the test CA;
/// without it the same client refuses the server.
fn authy_client_over_tls(dir: &Path, ca: &Ca, server: &Https, key: &str) {
    if !python_authy("the Python authy client over TLS") {
        return;
    }
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    // The code is read from the file sender's JSON lines after the send.
    let script = r#"
import json, sys
from authy.api import AuthyApiClient
key, base, messages = sys.argv[1], sys.argv[2], sys.argv[3]
client = AuthyApiClient(key, api_uri=base)
user = client.users.create("tls@example.com", "775-461-5609", 1)
assert user.ok(), user.errors()
sms = client.users.request_sms(user.id, {"force": True})
assert sms.ok(), sms.errors()
with open(messages) as f:
    code = json.loads(f.read().splitlines()[-1])["code"]
verified = client.tokens.verify(user.id, code)
assert verified.ok(), verified.errors()
print("verified over https")
"#;
    let python = |bundle: Option<&Path>| {
        let mut command = Command::new("python3");
        command
            .args(["-c", script, key, &format!("https://{}", server.addr)])
            .arg(dir.join("messages.jsonl"))
            .env_remove("REQUESTS_CA_BUNDLE")
            .env_remove("CURL_CA_BUNDLE");
        if let Some(bundle) = bundle {
            command.env("REQUESTS_CA_BUNDLE", bundle);
        }
        command.output().unwrap()
    };
    let refused = python(None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("CERTIFICATE_VERIFY_FAILED"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let out = python(Some(&ca_file));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "verified over https"
    );
}

/// Whether python3 can import the official Authy client; its absence
/// fails under PASSCODE_INTEROP=require, else skips `what`, saying so.
pub(super) fn python_authy(what: &str) -> bool {
    let present = Command::new("python3")
        .args(["-c", "import authy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert_ne!(
            std::env::var("PASSCODE_INTEROP").as_deref(),
            Ok("require"),
            "PASSCODE_INTEROP=require and the Python authy client is missing (pip install authy==2.2.6)"
        );
        eprintln!("SKIPPED: {what} (pip install authy==2.2.6)");
    }
    present
}

#[test]
fn plain_http_on_a_public_address_warns_names_the_flag_and_outlives_a_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let port = free_port();
    let stderr = dir.join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("0.0.0.0:{port}")])
        .args(["--database", &database(dir)])
        .arg("--master-key-file")
        .arg(dir.join("master.key"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run(&["healthcheck", "--listen", &format!("127.0.0.1:{port}")])
        .status
        .success()
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(100));
    }
    // `systemctl reload` sends SIGHUP: without TLS it changes nothing,
    // and the server goes on (its default action would end it).
    assert!(
        Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&stderr)
        .unwrap()
        .contains("SIGHUP: nothing to reload")
    {
        assert!(Instant::now() < deadline, "no SIGHUP line");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP ended the server"
    );
    assert!(
        run(&["healthcheck", "--listen", &format!("127.0.0.1:{port}")])
            .status
            .success()
    );
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&stderr).unwrap();
    let warning = log
        .lines()
        .find(|l| l.contains("plain HTTP"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        warning.contains("WARN") && warning.contains("--tls-cert"),
        "{warning}"
    );
    assert!(warning.contains(&format!("0.0.0.0:{port}")), "{warning}");

    // On loopback, no warning.
    let quiet = dir.join("quiet");
    std::fs::create_dir(&quiet).unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database", &database(&quiet)])
        .arg("--master-key-file")
        .arg(quiet.join("master.key"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(quiet.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !run(&["healthcheck", "--listen", &format!("127.0.0.1:{port}")])
        .status
        .success()
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(quiet.join("stderr.log")).unwrap();
    assert!(log.contains("serving"), "{log}");
    assert!(!log.contains("plain HTTP"), "{log}");
}

#[test]
fn a_certificate_without_its_key_or_a_mismatched_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ca = Ca::new("passcode test CA");
    let one = ca.leaf("one");
    let two = ca.leaf("two");
    std::fs::write(dir.join("server.crt"), &one.0).unwrap();
    std::fs::write(dir.join("server.key"), &two.1).unwrap();
    let base = |extra: &[&str]| {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .args(["--database", &database(dir)])
            .arg("--master-key-file")
            .arg(dir.join("master.key"))
            .args(extra);
        command.output().unwrap()
    };
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    let alone = base(&["--tls-cert", cert.to_str().unwrap()]);
    assert!(!alone.status.success());
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--tls-key"));
    let mismatched = base(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(!mismatched.status.success());
    let message = String::from_utf8_lossy(&mismatched.stderr);
    assert!(
        message.contains("server.crt") && message.contains("server.key"),
        "{message}"
    );
    assert!(!message.contains("PRIVATE KEY"), "{message}");
    // Nothing was created by a start that could not serve.
    assert!(!dir.join("passcode.db").exists());
}

/// Writes `text` into the cluster's data directory as PostgreSQL wants
/// its key: mode 0600 and owned by the server's user (the directory's).
fn write_as_postgres(data: &Path, name: &str, text: &str) {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let path = data.join(name);
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    let owner = std::fs::metadata(data).unwrap();
    std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
}

/// Connections of `database` that use TLS, and those that do not.
async fn ssl_connections(client: &tokio_postgres::Client, database: &str) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
            &[&database],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// The store at `url` once the cluster's reload (asynchronous) has put
/// its TLS settings in force: within 15 seconds.
async fn connect_after_reload(url: &str) -> passcode_server::store::postgres::Postgres {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match passcode_server::store::postgres::Postgres::connect(url, 2).await {
            Ok(store) => return store,
            Err(e) => {
                assert!(Instant::now() < deadline, "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test]
async fn postgres_over_tls_in_each_sslmode_and_a_wrong_ca_is_refused() {
    use passcode_server::store::postgres::Postgres;
    let Some(base) = super::support::postgres_url() else {
        return;
    };
    // The cluster's settings change for a while: no restart meanwhile.
    let _alone = super::fleet::CLUSTER.write().await;
    let (admin, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let data: String = admin
        .query_one("SHOW data_directory", &[])
        .await
        .unwrap()
        .get(0);
    let data = PathBuf::from(data);
    if !data.is_dir() {
        // A cluster on another machine: its files are out of reach.
        assert_ne!(
            std::env::var("PASSCODE_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "the test cluster's data directory {} is not on this machine",
            data.display()
        );
        eprintln!(
            "SKIPPED PostgreSQL over TLS: the cluster's data directory is not on this machine"
        );
        return;
    }
    // A certificate for another name than the one connected to, so that
    // verify-full and verify-ca differ.
    let ca = Ca::new("passcode PostgreSQL test CA");
    let (cert, key) = ca.leaf_for("db", &["db.internal.example"]);
    write_as_postgres(&data, "passcode-test.crt", &cert);
    write_as_postgres(&data, "passcode-test.key", &key);
    for statement in [
        "ALTER SYSTEM SET ssl_cert_file = 'passcode-test.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'passcode-test.key'",
        "ALTER SYSTEM SET ssl = on",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(statement).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let stranger = dir.path().join("stranger.pem");
    std::fs::write(&stranger, Ca::new("another CA").pem).unwrap();

    let url = super::support::fresh_postgres(&base).await;
    let database = url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let with = |query: &str| {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{query}")
    };
    // The reload is asynchronous: TLS is there when `require` connects.
    let store = connect_after_reload(&with("sslmode=require")).await;
    assert!(passcode_server::store::AppStore::apps(&store).await.is_ok());
    let (tls, plain) = ssl_connections(&admin, &database).await;
    assert!(
        tls >= 1 && plain == 0,
        "{tls} over TLS, {plain} in the clear"
    );
    drop(store);

    let root = |file: &Path| {
        form_urlencoded::byte_serialize(file.to_str().unwrap().as_bytes()).collect::<String>()
    };
    // verify-ca: the chain is the CA's; the name is not checked.
    let store = Postgres::connect(
        &with(&format!("sslmode=verify-ca&sslrootcert={}", root(&ca_file))),
        2,
    )
    .await
    .unwrap();
    assert!(passcode_server::store::AppStore::apps(&store).await.is_ok());
    drop(store);
    // verify-full: the certificate names db.internal.example, not 127.0.0.1.
    let Err(e) = Postgres::connect(
        &with(&format!(
            "sslmode=verify-full&sslrootcert={}",
            root(&ca_file)
        )),
        2,
    )
    .await
    else {
        panic!("verify-full accepted a certificate for another host");
    };
    assert!(e.to_string().contains("not valid for name"), "{e}");
    // Another CA: refused by verify-ca and verify-full alike.
    for mode in ["verify-ca", "verify-full"] {
        assert!(
            Postgres::connect(
                &with(&format!("sslmode={mode}&sslrootcert={}", root(&stranger))),
                2
            )
            .await
            .is_err(),
            "{mode} accepted a certificate of an unknown CA"
        );
    }

    // A certificate for the host connected to passes verify-full.
    let (cert, key) = ca.leaf_for("db", &["127.0.0.1"]);
    write_as_postgres(&data, "passcode-test.crt", &cert);
    write_as_postgres(&data, "passcode-test.key", &key);
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    let full = with(&format!(
        "sslmode=verify-full&sslrootcert={}",
        root(&ca_file)
    ));
    let store = connect_after_reload(&full).await;
    assert!(passcode_server::store::AppStore::apps(&store).await.is_ok());
    let (tls, plain) = ssl_connections(&admin, &database).await;
    assert!(
        tls >= 1 && plain == 0,
        "{tls} over TLS, {plain} in the clear"
    );
    drop(store);

    for statement in [
        "ALTER SYSTEM RESET ssl",
        "ALTER SYSTEM RESET ssl_cert_file",
        "ALTER SYSTEM RESET ssl_key_file",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(statement).await.unwrap();
    }
}
