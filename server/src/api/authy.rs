//! The Authy surface: its routes under `/protected/json`, the same under
//! `/protected/xml` answering XML (`xml`), the QR links, the extractor that
//! turns a request into an application, merged parameters and the time, and
//! its fallback, which answers Authy's body.

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::routing::{get, post};

use super::AppState;
use crate::error::ApiError;
use crate::redacted::Redacted;
use crate::store::App;
use crate::telemetry;

pub mod app;
pub mod error;
pub mod params;
pub mod phones;
pub mod tokens;
pub mod users;
pub mod xml;

use params::{BODY_LIMIT, Params};

/// The surface's routes: `/protected/json/...` with its own fallback, and
/// `/qr/{file}`.
pub(super) fn router() -> Router<AppState> {
    let json = Router::new()
        .route("/users/new", post(users::create))
        .route("/users/{id}/status", get(users::status))
        .route("/users/{id}/remove", post(users::delete))
        .route("/users/{id}/delete", post(users::delete))
        .route("/users/delete/{id}", post(users::delete))
        .route("/users/{id}/register_activity", post(users::activity))
        .route("/users/{id}/secret", post(users::secret))
        .route("/users/{id}/secret/export", get(users::export_secret))
        .route("/users/{id}/phone_number", get(users::phone_number))
        .route("/sms/{id}", get(tokens::sms).post(tokens::sms))
        .route("/call/{id}", get(tokens::call).post(tokens::call))
        .route("/verify/{token}/{id}", get(tokens::verify))
        .route("/phones/verification/start", post(phones::start))
        .route(
            "/phones/verification/check",
            get(phones::check).post(phones::check),
        )
        .route("/phones/verification/status", get(phones::status))
        .route("/phones/info", get(phones::info))
        .route("/app/details", get(app::details))
        .route("/app/stats", get(app::stats))
        .route_layer(axum::middleware::from_fn(telemetry::measure))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    let qr = Router::new()
        .route("/qr/{file}", get(tokens::qr))
        .route_layer(axum::middleware::from_fn(telemetry::measure));
    let xml = json.clone().layer(axum::middleware::from_fn(xml::respond));
    Router::new()
        .nest("/protected/json", json)
        .nest("/protected/xml", xml)
        .merge(qr)
}

/// Any other path or method under `/protected/json`: Authy's 404 (405 is
/// not a status its clients map).
async fn not_found() -> ApiError {
    tracing::Span::current().record("route", "unmatched");
    telemetry::count_request("unmatched".into(), ApiError::NotFound.status().as_u16());
    ApiError::NotFound
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
        Keyed::from_request(request, state)
            .await?
            .authenticate(state)
            .await
    }
}

/// A call whose API key is not checked yet: for the route that reads its
/// application together with what it needs (`verify`, one read instead of
/// two), which then makes it a [`Call`].
#[derive(Debug)]
pub struct Keyed {
    /// The API key, from the header or the parameters.
    key: Redacted,
    /// The merged parameters.
    params: Params,
    /// The time, read once.
    now: u64,
    /// The `Host` the request was sent to.
    host: Option<String>,
}

impl Keyed {
    /// The API key.
    #[must_use]
    pub fn key(&self) -> &str {
        self.key.expose()
    }

    /// The call of `app`, the application the key names.
    #[must_use]
    pub fn into_call(self, state: &AppState, app: App) -> Call {
        state.domain.count_call(&app, self.now);
        Call {
            app,
            params: self.params,
            now: self.now,
            host: self.host,
        }
    }

    /// The call of the application the key names.
    ///
    /// # Errors
    /// [`ApiError::InvalidApiKey`] when none does, or a store failure.
    pub async fn authenticate(self, state: &AppState) -> Result<Call, ApiError> {
        let app = state
            .domain
            .authenticate_api_key(self.key())
            .await?
            .ok_or(ApiError::InvalidApiKey)?;
        Ok(self.into_call(state, app))
    }
}

impl FromRequest<AppState> for Keyed {
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
        let now = (state.clock)();
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            key: Redacted::new(key),
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
