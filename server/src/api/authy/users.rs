//! Users: create, status, delete, activity, generic authenticators, exports.

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::response::Response;
use serde::Serialize;

use super::{Call, user_id};
use crate::api::{AppState, json};
use crate::error::ApiError;
use crate::phone::{dashed, masked_last4};
use axum::extract::State;

/// The stored id of the user the `id` path segment names ("User not
/// found." for anything unreadable; 51 is a sandbox application's own).
pub(crate) async fn path_id(
    state: &AppState,
    call: &Call,
    path: Result<Path<String>, PathRejection>,
) -> Result<i64, ApiError> {
    let id = path
        .map_err(|_| ApiError::UserNotFound)
        .and_then(|Path(id)| user_id(&id))?;
    Ok(state.domain.user_id_in(&call.app, id).await?)
}

#[derive(Serialize)]
struct Created {
    message: &'static str,
    user: CreatedUser,
    success: bool,
}

#[derive(Serialize)]
struct CreatedUser {
    id: i64,
}

/// `POST users/new`.
pub async fn create(State(state): State<AppState>, call: Call) -> Result<Response, ApiError> {
    let p = &call.params;
    let email = p.text("email", &["user", "email"])?;
    let cellphone = p.text("cellphone", &["user", "cellphone"])?;
    // A country code that is not a number is an invalid field, not a
    // malformed request.
    let country_code = p
        .integer("country_code", &["user", "country_code"])
        .unwrap_or(None);
    let user = state
        .domain
        .create_user(
            &call.app,
            email.as_deref(),
            cellphone.as_deref(),
            country_code,
            call.now,
        )
        .await?;
    let id = state.domain.user_id_out(&call.app, user.id).await?;
    Ok(json(&Created {
        message: "User created successfully.",
        user: CreatedUser { id },
        success: true,
    }))
}

#[derive(Serialize)]
struct StatusBody {
    status: StatusInner,
    message: &'static str,
    success: bool,
}

#[derive(Serialize)]
struct StatusInner {
    authy_id: i64,
    confirmed: bool,
    registered: bool,
    account_disabled: bool,
    country_code: u16,
    phone_number: String,
    has_hard_token: bool,
    devices: Vec<&'static str>,
    detailed_devices: Vec<DetailedDevice>,
}

#[derive(Serialize)]
struct DetailedDevice {
    os_type: &'static str,
    device_type: &'static str,
    creation_date: i64,
}

/// `GET users/{id}/status`.
pub async fn status(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    let id = path_id(&state, &call, path).await?;
    let status = state.domain.status(&call.app, id).await?;
    let user = status.user;
    Ok(json(&StatusBody {
        status: StatusInner {
            authy_id: state.domain.user_id_out(&call.app, user.id).await?,
            confirmed: user.registered,
            registered: user.registered || !status.devices.is_empty(),
            account_disabled: false,
            country_code: user.country_code,
            phone_number: masked_last4(&user.phone),
            has_hard_token: false,
            devices: status.devices.iter().map(|_| "authenticator").collect(),
            detailed_devices: status
                .devices
                .iter()
                .map(|d| DetailedDevice {
                    os_type: "unknown",
                    device_type: "authenticator",
                    creation_date: d.created_at,
                })
                .collect(),
        },
        message: "User status.",
        success: true,
    }))
}

#[derive(Serialize)]
pub(crate) struct Done {
    pub(crate) message: &'static str,
    pub(crate) success: bool,
}

/// The three delete paths.
pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    let id = path_id(&state, &call, path).await?;
    state.domain.delete_user(&call.app, id).await?;
    Ok(json(&Done {
        message: "User was added to remove.",
        success: true,
    }))
}

/// `POST users/{id}/register_activity`.
pub async fn activity(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    let id = path_id(&state, &call, path).await?;
    let user = state.domain.user(&call.app, id).await?;
    let kind = call
        .params
        .text("type", &["type"])?
        .ok_or_else(|| ApiError::required("type"))?;
    if !["password_reset", "banned", "unbanned", "cookie_login"].contains(&kind.as_str()) {
        return Err(ApiError::InvalidParameter {
            name: "type",
            reason: "must be one of password_reset, banned, unbanned, cookie_login".into(),
        });
    }
    tracing::info!(app_id = call.app.id, user_id = user.id, activity = %kind, "activity registered");
    Ok(json(&Done {
        message: "Activity was created.",
        success: true,
    }))
}

#[derive(Serialize)]
struct SecretBody {
    label: String,
    issuer: String,
    qr_code: String,
    uri: String,
    message: &'static str,
    success: bool,
}

/// `POST users/{id}/secret`: a generic authenticator's seed, as a QR code
/// link and as its `otpauth://` URI.
pub async fn secret(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    let id = path_id(&state, &call, path).await?;
    let label = call.params.text("label", &["label"])?;
    let enrolled = state
        .domain
        .enrol(&call.app, id, label.as_deref(), call.now)
        .await?;
    // With --public-url, `Host` is never read. Without it, only a `Host`
    // that is a host name or address and a port makes an absolute link;
    // anything else (`a@evil.example`, `evil.example/steal?x=`) a relative
    // one.
    let base = match (&state.public_url, &call.host) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(host)) if valid_host(host) => format!("http://{host}"),
        (None, _) => String::new(),
    };
    Ok(json(&SecretBody {
        label: enrolled.label,
        issuer: enrolled.issuer,
        qr_code: format!("{base}/qr/{}.png", enrolled.qr_token),
        uri: enrolled.uri,
        message: "QR code generated.",
        success: true,
    }))
}

#[derive(Serialize)]
struct ExportedSecret {
    secret: String,
    otp: String,
}

/// `GET users/{id}/secret/export`.
pub async fn export_secret(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    let id = path_id(&state, &call, path).await?;
    let (secret, otp) = state.domain.export_secret(&call.app, id, call.now).await?;
    Ok(json(&ExportedSecret { secret, otp }))
}

#[derive(Serialize)]
struct PhoneNumberBody {
    phone_number: String,
    country_code: String,
    e164: String,
    updated_at: String,
}

/// `GET users/{id}/phone_number`.
pub async fn phone_number(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    call: Call,
) -> Result<Response, ApiError> {
    let id = path_id(&state, &call, path).await?;
    let user = state.domain.export_phone(&call.app, id, call.now).await?;
    let updated = time::OffsetDateTime::from_unix_timestamp(user.created_at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .map_err(|_| ApiError::Internal)?;
    Ok(json(&PhoneNumberBody {
        phone_number: dashed(&user.phone),
        country_code: user.country_code.to_string(),
        e164: format!("+{}{}", user.country_code, user.phone),
        updated_at: updated,
    }))
}

/// Whether `text` is `host[:port]`: a DNS name (letters, digits, hyphens,
/// dots), an IPv4 address or a bracketed IPv6 one, and a port of 1 to
/// 65535.
pub(crate) fn valid_host(text: &str) -> bool {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => (host, Some(port)),
        _ => (text, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        (1..=253).contains(&host.len())
            && host.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    };
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::valid_host;

    #[test]
    fn only_a_host_and_a_port_make_a_link() {
        for good in [
            "localhost",
            "127.0.0.1:8080",
            "auth.example.com",
            "auth.example.com:443",
            "[::1]:8080",
            "[2001:db8::1]",
        ] {
            assert!(valid_host(good), "{good}");
        }
        for bad in [
            "a@evil.example",
            "evil.example/steal?x=",
            "evil.example#",
            "host:0",
            "host:65536",
            "host:",
            "::1",
            "[::1",
            "-a.example",
            "a..example",
            "",
            "exa mple.com",
            "a.example:80:80",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }
}
