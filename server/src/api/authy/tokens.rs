//! Tokens: send by SMS or call, verify, and the QR code of a generic
//! authenticator.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::users::path_id;
use super::{Call, Keyed};
use crate::api::{AppState, json};
use crate::domain::{Matched, Sent};
use crate::error::ApiError;
use crate::sender::Channel;

#[derive(Serialize)]
struct SentBody {
    success: bool,
    message: &'static str,
    cellphone: String,
}

#[derive(Serialize)]
struct IgnoredBody {
    message: &'static str,
    cellphone: String,
    device: &'static str,
    ignored: bool,
    success: bool,
}

async fn send(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
    call: &Call,
    channel: Channel,
) -> Result<Response, ApiError> {
    let id = path_id(state, call, path).await?;
    let force = call.params.boolean("force", &["force"])?.unwrap_or(false);
    let locale = call.params.text("locale", &["locale"])?;
    let sent = state
        .domain
        .send_token(&call.app, id, channel, force, locale.as_deref(), call.now)
        .await?;
    Ok(match (sent, channel) {
        (Sent::Sent { cellphone }, Channel::Sms | Channel::Email) => json(&SentBody {
            success: true,
            message: "SMS token was sent",
            cellphone,
        }),
        (Sent::Sent { cellphone }, Channel::Call) => json(&SentBody {
            success: true,
            message: "Call started...",
            cellphone,
        }),
        (Sent::Ignored { cellphone, device }, Channel::Sms | Channel::Email) => {
            json(&IgnoredBody {
                message: "Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it anyway.",
                cellphone,
                device,
                ignored: true,
                success: true,
            })
        }
        (Sent::Ignored { cellphone, device }, Channel::Call) => json(&IgnoredBody {
            message: "Call ignored. User is using  App Tokens and this call is not necessary. Pass force=true if you still want to call users that are using the App.",
            cellphone,
            device,
            ignored: true,
            success: true,
        }),
    })
}

/// `GET sms/{id}`.
pub async fn sms(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    send(&state, path, &call, Channel::Sms).await
}

/// `GET call/{id}`.
pub async fn call(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    send(&state, path, &call, Channel::Call).await
}

/// The verify body: keys in the recorded order, `success` the string
/// `"true"` as Authy sent it.
#[derive(Serialize)]
struct Verified {
    message: &'static str,
    token: &'static str,
    success: &'static str,
    device: DeviceBody,
}

#[derive(Serialize)]
struct DeviceBody {
    id: Option<i64>,
    os_type: &'static str,
    registration_date: i64,
    registration_method: Option<&'static str>,
    registration_country: Option<String>,
    registration_region: Option<String>,
    registration_city: Option<String>,
    country: Option<String>,
    region: Option<String>,
    city: Option<String>,
    ip: Option<String>,
    last_account_recovery_at: Option<i64>,
    last_sync_date: Option<i64>,
}

/// `GET verify/{token}/{id}`. `force` is accepted and always in effect:
/// the legacy "any token passes until the first login" is not offered.
pub async fn verify(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    keyed: Keyed,
) -> Result<Response, ApiError> {
    let parsed = path
        .ok()
        .and_then(|Path((token, id))| Some((token, super::user_id(&id).ok()?)));
    let Some((token, id)) = parsed else {
        // A wrong key is answered first, as on every route.
        keyed.authenticate(&state).await?;
        return Err(ApiError::UserDoesNotExist);
    };
    // The application and its user in one read.
    let (app, read) = state
        .domain
        .authenticate_for_verify(keyed.key(), id)
        .await?
        .ok_or(ApiError::InvalidApiKey)?;
    let call = keyed.into_call(&state, app);
    // A malformed `force` must not make a verification fail open or 400.
    let _force = call.params.boolean("force", &["force"]).ok().flatten();
    let matched = state
        .domain
        .verify_token_read(&call.app, read, &token, call.now)
        .await
        .map_err(|e| match e {
            // Authy's words for a missing user on this endpoint alone.
            crate::domain::Error::UserNotFound => ApiError::UserDoesNotExist,
            e => e.into(),
        })?;
    let (id, os_type, registration_date, method) = match matched {
        Matched::Sms { registered_at } => (None, "sms", registered_at, None),
        Matched::Device { id, registered_at } => {
            (Some(id), "authenticator", registered_at, Some("qr"))
        }
    };
    Ok(json(&Verified {
        message: "Token is valid.",
        token: "is valid",
        success: "true",
        device: DeviceBody {
            id,
            os_type,
            registration_date,
            registration_method: method,
            registration_country: None,
            registration_region: None,
            registration_city: None,
            country: None,
            region: None,
            city: None,
            ip: None,
            last_account_recovery_at: None,
            last_sync_date: None,
        },
    }))
}

/// `GET /qr/{token}.png`: the QR code of a key URI, while its link lasts.
/// The link is the only credential (as Authy's image URL was); it is
/// random (128 bits) and expires after ten minutes.
pub async fn qr(
    State(state): State<AppState>,
    method: axum::http::Method,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let token = file.strip_suffix(".png").ok_or(ApiError::NotFound)?;
    let now = (state.clock)();
    // A HEAD gets no image, so it does not spend the link.
    let spend = method != axum::http::Method::HEAD;
    let uri = state.domain.qr_uri(token, now, spend).await?;
    let png = crate::qr::png(&uri).map_err(|e| {
        tracing::error!(error = %e, "a QR code did not render");
        ApiError::Internal
    })?;
    let mut response = (StatusCode::OK, png).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
