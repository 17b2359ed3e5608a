//! The operators' surface: `/health`, `/ready` and `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::{AppState, json};
use crate::error::ApiError;
use crate::telemetry;

/// `/health` and `/ready`, and `/metrics` when `with_metrics`.
pub(super) fn router(with_metrics: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready));
    let router = if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    router.route_layer(axum::middleware::from_fn(telemetry::measure))
}

/// `GET /metrics`: Prometheus' text format.
async fn metrics() -> Response {
    let mut response = (StatusCode::OK, telemetry::render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn health() -> Response {
    json(&Health { status: "ok" })
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.domain.ready().await {
        Ok(()) => json(&Health { status: "ready" }),
        Err(e) => {
            // Probes poll: the store logs the cause once an interval.
            tracing::debug!(error = %e, "not ready");
            ApiError::Unavailable.into_response()
        }
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}
