//! Request ids, request metrics and the Prometheus text of `GET /metrics`.
//!
//! Every request gets an id (the caller's `X-Request-Id` when it is a
//! short token, else a new random one), echoed in the response header and
//! carried by every log line of the request. Counters and histograms go to
//! one process-wide recorder rendered in Prometheus' text format.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rand::Rng;
use tracing::Instrument;

/// The header a request id travels in.
pub const REQUEST_ID: &str = "x-request-id";

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once; the handle renders it.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder already installed (an embedding program's):
            // then /metrics has nothing of its own to show.
            metrics::set_global_recorder(recorder).ok().map(|()| handle)
        })
        .as_ref()
}

/// The Prometheus text.
#[must_use]
pub fn render() -> String {
    recorder().map(PrometheusHandle::render).unwrap_or_default()
}

fn request_id(request: &Request) -> String {
    let given = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    given.map_or_else(
        || {
            let mut bytes = [0u8; 12];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        },
        str::to_owned,
    )
}

/// The outer middleware, on every request: the id, in the response header
/// and in a span around everything logged while answering.
///
/// The span names the route's template (`/protected/json/verify/{token}/{id}`),
/// recorded once routing has matched it, never the path or the query: the
/// path of a verification holds its code, and a line logged for a 5xx
/// would show a code still valid.
pub async fn identify(request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        route = tracing::field::Empty
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        let seconds = started.elapsed().as_secs_f64();
        // A 503's cause (the database, a gateway) is logged where it
        // arises, once an interval, not once a request.
        if status >= 500 && status != 503 {
            tracing::warn!(status, seconds, "answered");
        } else {
            tracing::debug!(status, seconds, "answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The inner middleware, on routed requests: the count and latency of
/// requests by route (the pattern, so ids do not multiply the series).
pub async fn measure(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    tracing::Span::current().record("route", route.as_str());
    let started = Instant::now();
    let response = next.run(request).await;
    count_request(route.clone(), response.status().as_u16());
    metrics::histogram!("passcode_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Logs at most one line an interval, with the count of the events it
/// stood for: a flood of refused connections writes one line every ten
/// seconds, not one per connection.
#[derive(Debug)]
pub struct Every {
    interval: Duration,
    last: Option<Instant>,
    missed: u64,
}

impl Every {
    /// At most one line every `interval`.
    #[must_use]
    pub const fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            missed: 0,
        }
    }

    /// The number of events since the last line, when a line is due.
    pub fn due(&mut self, now: Instant) -> Option<u64> {
        self.missed = self.missed.saturating_add(1);
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < self.interval)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.missed))
    }
}

/// An [`Every`] for a `static` that many threads log through: a warning
/// that any request may raise, written once an interval with the count of
/// the requests it stood for.
#[derive(Debug)]
pub struct SharedEvery(std::sync::Mutex<Every>);

impl SharedEvery {
    /// At most one line every `interval`.
    #[must_use]
    pub const fn new(interval: Duration) -> Self {
        Self(std::sync::Mutex::new(Every::new(interval)))
    }

    /// [`Every::due`] now (`None` where another thread panicked holding it).
    pub fn due(&self) -> Option<u64> {
        self.0
            .lock()
            .ok()
            .and_then(|mut every| every.due(Instant::now()))
    }
}

/// Counts one answered request.
pub fn count_request(route: String, status: u16) {
    metrics::counter!("passcode_http_requests_total", "route" => route, "status" => status.to_string()).increment(1);
}

/// Counts a verification by outcome.
pub fn verification(outcome: &'static str) {
    metrics::counter!("passcode_verifications_total", "outcome" => outcome).increment(1);
}

/// Counts a message handed to the sender, by channel and outcome:
/// `accepted` (written by the log and file senders, queued by the network
/// ones) or `refused`. What became of a queued one is [`delivery`]'s.
pub fn message(channel: &'static str, outcome: &'static str) {
    metrics::counter!("passcode_messages_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
}

/// Counts what became of a queued message at its gateway: `delivered`,
/// `refused` (a 4xx or a redirect, not retried) or `given_up` (every
/// retry failed).
pub fn delivery(gateway: &'static str, outcome: &'static str) {
    metrics::counter!("passcode_deliveries_total", "gateway" => gateway, "outcome" => outcome)
        .increment(1);
}

/// Counts a refusal by a rate limit.
pub fn rate_limited(limit: &'static str) {
    metrics::counter!("passcode_rate_limited_total", "limit" => limit).increment(1);
}

/// Counts a connection closed at once because the cap was reached.
pub fn connection_refused() {
    metrics::counter!("passcode_connections_refused_total").increment(1);
}

/// Records how long a database call took.
pub fn database(operation: &'static str, started: Instant) {
    metrics::histogram!("passcode_database_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_one_line_an_interval() {
        let mut every = Every::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(every.due(t0), Some(1));
        assert_eq!(every.due(t0 + Duration::from_secs(1)), None);
        assert_eq!(every.due(t0 + Duration::from_secs(9)), None);
        assert_eq!(every.due(t0 + Duration::from_secs(10)), Some(3));
        assert_eq!(every.due(t0 + Duration::from_secs(11)), None);
    }
}
