//! HTTP: one router composed of the surfaces, each in its own module with
//! its own extractor, bodies and fallback: [`authy`] (the Authy API),
//! [`verify`] (Twilio Verify v2) and [`ops`] (health, readiness, metrics). What they share is here: the
//! clock, the state handlers get, the JSON writer and the layers.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Domain;
use crate::error::{ApiError, JSON};
use crate::telemetry;

pub mod authy;
pub mod ops;
pub mod verify;

/// The clock: Unix seconds, read once per request.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
#[must_use]
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// What every handler shares.
pub struct Shared {
    /// The verbs.
    pub domain: Domain,
    /// The clock.
    pub clock: Clock,
    /// The base URL links (QR codes) are written with; from the request's
    /// `Host` when unset.
    pub public_url: Option<String>,
    /// How long a request body may take to arrive.
    pub body_timeout: std::time::Duration,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// The state handlers get.
pub type AppState = Arc<Shared>;

/// The router of the whole server: the Authy surface and the operators'
/// endpoints, `/metrics` among them.
pub fn router(state: AppState) -> Router {
    compose(
        state,
        Router::new()
            .merge(authy::router())
            .merge(verify::router())
            .merge(ops::router(true)),
    )
}

/// The server without `/metrics`, for a listener open to clients when
/// [`ops_router`] serves the operators on another address.
pub fn public_router(state: AppState) -> Router {
    compose(
        state,
        Router::new()
            .merge(authy::router())
            .merge(verify::router())
            .merge(ops::router(false)),
    )
}

/// `/health`, `/ready` and `/metrics` alone: `--ops-listen`'s router, for
/// an address only the operators reach.
pub fn ops_router(state: AppState) -> Router {
    compose(state, ops::router(true))
}

/// The layers every surface shares (the request id and its span) and the
/// fallback for a path no surface serves: a bare 404, in no surface's
/// shape.
fn compose(state: AppState, surfaces: Router<AppState>) -> Router {
    telemetry::recorder();
    surfaces
        .fallback(unmatched)
        .layer(axum::middleware::from_fn(telemetry::identify))
        .with_state(state)
}

async fn unmatched() -> StatusCode {
    tracing::Span::current().record("route", "unmatched");
    telemetry::count_request("unmatched".into(), StatusCode::NOT_FOUND.as_u16());
    StatusCode::NOT_FOUND
}

/// A 200 with a compact JSON body.
pub fn json<T: Serialize>(body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a response did not serialize");
            ApiError::Internal.into_response()
        }
    }
}
