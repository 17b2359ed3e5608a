//! The HTTP surface: the router, the extractor that turns a request into
//! typed facts (the application from its key, the merged parameters, the
//! time), and the fallbacks that keep every answer Authy-shaped.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::crypto::key_hash;
use crate::error::{ApiError, JSON};
use crate::service::Service;
use crate::store::App;
use crate::telemetry;

pub mod app;
pub mod params;
pub mod phones;
pub mod tokens;
pub mod users;

use params::{BODY_LIMIT, Params};

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
    pub service: Service,
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

/// The router of the whole API, with `/health`, `/ready` and `/metrics`.
pub fn router(state: AppState) -> Router {
    routes(state, true)
}

/// The API without `/metrics`, for a listener open to clients when
/// [`ops_router`] serves the operators on another address.
pub fn public_router(state: AppState) -> Router {
    routes(state, false)
}

/// `/health`, `/ready` and `/metrics` alone: `--ops-listen`'s router, for
/// an address only the operators reach.
pub fn ops_router(state: AppState) -> Router {
    telemetry::recorder();
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn(telemetry::identify))
        .with_state(state)
}

fn routes(state: AppState, with_metrics: bool) -> Router {
    telemetry::recorder();
    let p = "/protected/json";
    let router = Router::new()
        .route(&format!("{p}/users/new"), post(users::create))
        .route(&format!("{p}/users/{{id}}/status"), get(users::status))
        .route(&format!("{p}/users/{{id}}/remove"), post(users::delete))
        .route(&format!("{p}/users/{{id}}/delete"), post(users::delete))
        .route(&format!("{p}/users/delete/{{id}}"), post(users::delete))
        .route(
            &format!("{p}/users/{{id}}/register_activity"),
            post(users::activity),
        )
        .route(&format!("{p}/users/{{id}}/secret"), post(users::secret))
        .route(
            &format!("{p}/users/{{id}}/secret/export"),
            get(users::export_secret),
        )
        .route(
            &format!("{p}/users/{{id}}/phone_number"),
            get(users::phone_number),
        )
        .route(
            &format!("{p}/sms/{{id}}"),
            get(tokens::sms).post(tokens::sms),
        )
        .route(
            &format!("{p}/call/{{id}}"),
            get(tokens::call).post(tokens::call),
        )
        .route(&format!("{p}/verify/{{token}}/{{id}}"), get(tokens::verify))
        .route(
            &format!("{p}/phones/verification/start"),
            post(phones::start),
        )
        .route(
            &format!("{p}/phones/verification/check"),
            get(phones::check).post(phones::check),
        )
        .route(
            &format!("{p}/phones/verification/status"),
            get(phones::status),
        )
        .route(&format!("{p}/phones/info"), get(phones::info))
        .route(&format!("{p}/app/details"), get(app::details))
        .route(&format!("{p}/app/stats"), get(app::stats))
        .route("/qr/{file}", get(tokens::qr))
        .route("/health", get(health))
        .route("/ready", get(ready));
    let router = if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    router
        .route_layer(axum::middleware::from_fn(telemetry::measure))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn(telemetry::identify))
        .with_state(state)
}

async fn not_found() -> ApiError {
    tracing::Span::current().record("route", "unmatched");
    telemetry::count_request("unmatched".into(), ApiError::NotFound.status().as_u16());
    ApiError::NotFound
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
    match state.service.store().ping().await {
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

/// An authenticated call: its application, parameters and time.
#[derive(Debug)]
pub struct Call {
    /// The application the key belongs to.
    pub app: App,
    /// The merged parameters.
    pub params: Params,
    /// The time, read once.
    pub now: u64,
    /// The `Host` the request was sent to.
    pub host: Option<String>,
}

impl FromRequest<AppState> for Call {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes =
            tokio::time::timeout(state.body_timeout, axum::body::to_bytes(body, BODY_LIMIT))
                .await
                .map_err(|_| ApiError::InvalidRequest("the body did not arrive in time"))?
                .map_err(|_| ApiError::InvalidRequest("the body is too large or was cut off"))?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let params = Params::parse(parts.uri.query(), content_type, &bytes)?;
        let header_key = match parts.headers.get("x-authy-api-key") {
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| ApiError::InvalidApiKey)?
                    .to_owned(),
            ),
            None => None,
        };
        let key = match header_key {
            Some(key) => key,
            None => params
                .text("api_key", &["api_key"])
                .ok()
                .flatten()
                .ok_or(ApiError::InvalidApiKey)?,
        };
        // Looked up by its hash: the stored hash is never compared with
        // the key's bytes, and the hash of a guess says nothing about a key.
        let app = state
            .service
            .store()
            .app_by_key_hash(&key_hash(&key))
            .await?
            .ok_or(ApiError::InvalidApiKey)?;
        let now = (state.clock)();
        state.service.count_call(&app, now);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            app,
            params,
            now,
            host,
        })
    }
}

/// A user id from the path: digits only, else "User not found." (404),
/// which is what Authy answered for ids such as `tony`.
///
/// # Errors
/// [`ApiError::UserNotFound`].
pub fn user_id(text: &str) -> Result<i64, ApiError> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::UserNotFound);
    }
    text.parse().map_err(|_| ApiError::UserNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_digits() {
        assert_eq!(user_id("1000"), Ok(1000));
        assert_eq!(user_id("tony"), Err(ApiError::UserNotFound));
        assert_eq!(user_id(""), Err(ApiError::UserNotFound));
        assert_eq!(user_id("-1"), Err(ApiError::UserNotFound));
        assert_eq!(
            user_id("9999999999999999999999"),
            Err(ApiError::UserNotFound)
        );
    }
}
