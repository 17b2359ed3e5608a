//! Starting, serving and stopping.

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{self, Clock, Shared};
use crate::config::{Database, LogFormat, Settings};
use crate::connections::{self, ConnectionLimits};
use crate::crypto::{self, KEY_CHECK, MasterKey};
use crate::domain::Domain;
use crate::sender::Sender;
use crate::sender::outbox::Retry;
use crate::store::postgres::Postgres;
use crate::store::sqlite::{Durability, Sqlite};
use crate::store::{NewApp, Store};

/// Opens the database a setting names; `pool_size` connections for
/// PostgreSQL.
///
/// # Errors
/// A message saying why it cannot be opened.
pub async fn open_store(
    database: &Database,
    durability: Durability,
    pool_size: usize,
) -> Result<Arc<dyn Store>, String> {
    match database {
        Database::Sqlite(path) => Sqlite::open(path, durability)
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| format!("{}: {e}", path.display())),
        Database::Postgres(url) => Postgres::connect(url, pool_size)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| format!("PostgreSQL: {e}")),
    }
}

/// Loads (or creates) the master key and checks it against the database.
///
/// # Errors
/// A message when the key file is unusable or does not match.
pub async fn master_key(store: &dyn Store, settings: &Settings) -> Result<MasterKey, String> {
    let path = &settings.master_key_file;
    let (key, created) =
        MasterKey::load_or_create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if created {
        tracing::warn!(path = %path.display(), "created a new master key file (mode 0600): back it up; without it no seed can be read");
    }
    let stored = store
        .init_meta(KEY_CHECK, &key.key_check())
        .await
        .map_err(|e| e.to_string())?;
    key.verify_check(&stored)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(key)
}

/// Creates the application "Default" when there is none, and prints its
/// key once, with a request that works.
///
/// # Errors
/// A store failure.
pub async fn ensure_default_app(
    store: &dyn Store,
    settings: &Settings,
    now: i64,
) -> Result<(), String> {
    if !store.apps().await.map_err(|e| e.to_string())?.is_empty() {
        return Ok(());
    }
    // Nodes starting together on one database: the one whose claim is
    // stored creates the application, the others leave it alone.
    let claim = crypto::new_api_key();
    let stored = store
        .init_meta("default_app_claim", claim.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    if stored != claim.as_bytes() {
        return Ok(());
    }
    let key = crypto::new_api_key();
    let app = store
        .create_app(
            NewApp {
                name: "Default".into(),
                key_hash: crypto::key_hash(&key),
                token_length: 7,
                sandbox: false,
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
    let account = crate::domain::rotate_token(store, app.id)
        .await
        .map_err(|e| e.to_string())?;
    // The one time a key is shown: on standard output, never in the log.
    println!(
        "Created the application \"Default\" (id {}). Its API key, shown only this once:\n\n    {key}\n\nTry it:\n\n    curl -H 'X-Authy-API-Key: {key}' http://{}/protected/json/app/details\n\nFor the Twilio Verify v2 API, its account SID and auth token (shown only this once):\n\n    {} {}\n",
        app.id, settings.listen, account.sid, account.token
    );
    Ok(())
}

/// Warns, at every start, of each sandbox application with real users:
/// `0000000` verifies every one of them.
async fn warn_of_live_sandboxes(store: &dyn Store) -> Result<(), String> {
    for app in store.apps().await.map_err(|e| e.to_string())? {
        if app.sandbox {
            let users = crate::domain::real_users(store, app.id)
                .await
                .map_err(|e| e.to_string())?;
            if users > 0 {
                tracing::warn!(
                    app_id = app.id,
                    users,
                    "a sandbox application has real users: the sandbox token 0000000 verifies every one of them and nothing is delivered"
                );
            }
        }
    }
    Ok(())
}

/// Sets up logging: `RUST_LOG`'s levels (default `info`), and never below
/// `info` for another crate's events, whatever `RUST_LOG` says: at debug
/// and trace, dependencies write what passes through them (tokio-postgres
/// a statement's parameters, an HTTP crate its headers), and those hold
/// phone numbers, sealed seeds and keys. This crate logs no secret at any
/// level.
pub fn init_logging(format: LogFormat) {
    init_logging_at(format, "info");
}

/// [`init_logging`] at `level` where `RUST_LOG` says nothing: the offline
/// commands log their warnings and errors (a database's failure, say),
/// which their own message only names.
pub fn init_logging_at(format: LogFormat, level: &str) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let ours = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO || meta.target().starts_with("passcode_server")
    });
    // Colour codes only for a person at a terminal: a journal or a file
    // would keep them as bytes, and writing them cost every request's span
    // a formatting pass.
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let layer = match format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer.json().boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(ours).with_filter(filter))
        .try_init();
}

/// Runs the server until SIGINT or SIGTERM.
///
/// # Errors
/// A message when it cannot start.
pub async fn serve(settings: Settings) -> Result<(), String> {
    // SIGHUP's handler before anything else: its default action ends the
    // process, and `systemctl reload` sends it whether TLS is on or not.
    let hangups = watch_hangups();
    // The address first: a start that cannot listen creates nothing (no
    // database, no application whose key is printed once and lost).
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let ops_listener = match settings.ops_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
        ),
        None => None,
    };
    // The certificate next, for the same reason.
    let tls = match &settings.tls {
        Some(files) => {
            let reloadable = Arc::new(crate::tls::Reloadable::new(
                files.clone(),
                crate::tls::provider(),
            )?);
            Some((
                tokio_rustls::TlsAcceptor::from(reloadable.server_config()?),
                reloadable,
            ))
        }
        None => None,
    };
    let store = open_store(&settings.database, settings.durability, settings.pool_size).await?;
    let key = master_key(store.as_ref(), &settings).await?;
    let now = i64::try_from((api::system_clock())()).unwrap_or(0);
    ensure_default_app(store.as_ref(), &settings, now).await?;
    let sender: Arc<dyn Sender> = settings
        .sender
        .build(&settings.secrets, Retry::default())
        .map_err(|e| e.to_string())?;
    if settings.durability == Durability::Normal {
        tracing::warn!("durability is `normal`: a power loss can forget that a code was used");
    }
    warn_of_live_sandboxes(store.as_ref()).await?;
    let events = Arc::new(crate::sender::outbox::Outbox::start(
        Arc::new(crate::sender::events::EventGateway::new()?),
        Retry::default(),
    ));
    let mailer = match &settings.mailer {
        Some(mail) => {
            let gateway = crate::sender::mail::Smtp::new(&mail.spec, mail.password.as_ref())?;
            Some(Arc::new(crate::sender::mail::Mailer::start(
                Arc::new(gateway),
                mail.from.clone(),
                Retry::default(),
            )))
        }
        None => None,
    };
    let mut domain = Domain::new(
        Arc::clone(&store),
        Arc::new(key),
        Arc::clone(&sender),
        settings.limits,
    )
    .with_events(Arc::clone(&events));
    if let Some(mailer) = &mailer {
        domain = domain.with_mailer(Arc::clone(mailer));
    }
    // Before the server serves: the first request to parse a number would
    // otherwise wait 71 ms for the numbering plans, and the requests that
    // arrive meanwhile with it.
    crate::phone::Phone::warm_up();
    let shared = Arc::new(Shared {
        domain,
        clock: api::system_clock(),
        public_url: settings.public_url.clone(),
        body_timeout: settings.body_timeout,
    });
    let sweeper = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // A bounded sweep a minute (Domain::sweep).
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                let now = (shared.clock)();
                match shared.domain.sweep(now).await {
                    Ok(removed) => {
                        if removed > 0 {
                            tracing::debug!(removed, "swept expired states");
                        }
                    }
                    Err(_) => tracing::debug!("the sweep will try again"),
                }
            }
        })
    };
    let flusher = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                shared.domain.flush_statistics().await;
            }
        })
    };
    let open_files = connections::raise_open_file_limit();
    let mut limits = ConnectionLimits::for_open_files(open_files);
    limits.header_timeout = settings.header_timeout;
    limits.write_timeout = settings.write_timeout;
    if let Some(max) = settings.max_connections {
        limits.max_connections = max.max(1);
    }
    if tls.is_none() {
        for addr in std::iter::once(settings.listen).chain(settings.ops_listen) {
            if !addr.ip().is_loopback() {
                tracing::warn!(
                    %addr,
                    "serving plain HTTP on an address that is not loopback: API keys, tokens and codes cross the network in the clear; give --tls-cert and --tls-key, or put a TLS proxy in front"
                );
            }
        }
    }
    let reloader = tokio::spawn(reload_on_hangup(
        hangups,
        tls.as_ref().map(|(_, reloadable)| Arc::clone(reloadable)),
    ));
    let acceptor = tls.map(|(acceptor, _)| acceptor);
    tracing::info!(
        listen = %settings.listen,
        ops_listen = ?settings.ops_listen,
        https = acceptor.is_some(),
        open_files,
        max_connections = limits.max_connections,
        header_timeout_s = limits.header_timeout.as_secs(),
        body_timeout_s = settings.body_timeout.as_secs(),
        "serving"
    );
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let slots = limits.slots();
    let router = match ops_listener {
        Some(ops_listener) => {
            // The operators' listener shares the connection cap and stops
            // with the process.
            let ops = connections::serve(
                ops_listener,
                api::ops_router(Arc::clone(&shared)),
                limits,
                Arc::clone(&slots),
                acceptor.clone(),
                std::future::pending(),
            );
            tokio::spawn(ops);
            api::public_router(Arc::clone(&shared))
        }
        None => api::router(Arc::clone(&shared)),
    };
    let serving = connections::serve(listener, router, limits, slots, acceptor, async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(());
    });
    let mut server = tokio::spawn(async move {
        serving.await;
        Ok::<(), String>(())
    });
    // After a signal, requests in flight get the shutdown timeout to finish;
    // the queue of deliveries gets what is left of it.
    let limit = settings.shutdown_timeout;
    let deadline = tokio::select! {
        _ = stopping_rx => {
            let deadline = tokio::time::Instant::now() + limit;
            match tokio::time::timeout_at(deadline, &mut server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => return Err(e.to_string()),
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => tracing::warn!("requests still in flight at the shutdown timeout were dropped"),
            }
            deadline
        }
        result = &mut server => {
            result.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
            tokio::time::Instant::now() + limit
        }
    };
    flusher.abort();
    sweeper.abort();
    reloader.abort();
    shared.domain.flush_statistics().await;
    sender
        .flush(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await;
    events
        .close(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await;
    if let Some(mailer) = &mailer {
        mailer
            .flush(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await;
    }
    drop(store);
    tracing::info!("stopped");
    Ok(())
}

/// The app with a given clock, for tests and embedding.
pub fn app(domain: Domain, clock: Clock, public_url: Option<String>) -> axum::Router {
    api::router(Arc::new(Shared {
        domain,
        clock,
        public_url,
        body_timeout: std::time::Duration::from_secs(10),
    }))
}

/// SIGHUP, caught from the start of `serve`.
#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

fn watch_hangups() -> Hangups {
    #[cfg(unix)]
    {
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        if hangups.is_none() {
            tracing::warn!(
                "cannot watch for SIGHUP: the TLS certificate reloads only at a restart"
            );
        }
        hangups
    }
}

/// Reads the certificate and key again on each SIGHUP; a bad pair is
/// logged and the one in use stays. Without TLS there is nothing to reload,
/// and a SIGHUP is logged and otherwise ignored.
async fn reload_on_hangup(hangups: Hangups, reloadable: Option<Arc<crate::tls::Reloadable>>) {
    #[cfg(unix)]
    {
        let Some(mut hangups) = hangups else {
            return;
        };
        while hangups.recv().await.is_some() {
            let Some(reloadable) = reloadable.as_ref().map(Arc::clone) else {
                tracing::info!("SIGHUP: nothing to reload (no TLS certificate)");
                continue;
            };
            // Reading files blocks: off the runtime's workers.
            match tokio::task::spawn_blocking(move || reloadable.reload()).await {
                Ok(Ok(())) => tracing::info!("SIGHUP: reloaded the TLS certificate and key"),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "SIGHUP: kept the TLS certificate in use");
                }
                Err(_) => {
                    tracing::error!("SIGHUP: the reload stopped; kept the TLS certificate in use")
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (hangups, reloadable);
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining requests in flight");
}

/// `healthcheck`: whether `GET /health` answers 200 at `addr` within two
/// seconds; over TLS when given the server's certificate file, which it
/// then trusts alone (see [`crate::tls::pinned_client`]).
///
/// A dozen lines of HTTP/1.1 over a socket, rather than an HTTP client
/// crate, because this is the whole of what the check needs.
///
/// # Errors
/// A message when the certificate file cannot be read.
pub async fn healthcheck(
    addr: std::net::SocketAddr,
    tls_cert: Option<&std::path::Path>,
) -> Result<bool, String> {
    let tls = match tls_cert {
        Some(path) => Some(tokio_rustls::TlsConnector::from(crate::tls::pinned_client(
            path,
        )?)),
        None => None,
    };
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        match tls {
            None => ask_health(stream, addr).await,
            Some(connector) => {
                let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
                let stream = connector.connect(name, stream).await.ok()?;
                ask_health(stream, addr).await
            }
        }
    };
    Ok(matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    ))
}

async fn ask_health<S>(mut stream: S, addr: std::net::SocketAddr) -> Option<bool>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.ok()?;
    Some(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
}
