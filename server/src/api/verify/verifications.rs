//! `/v2/Services/{sid}/Verifications` (create, fetch, update) and
//! `/v2/Services/{sid}/VerificationCheck`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::error::VerifyError;
use super::{Call, date, reply};
use crate::api::AppState;
use crate::domain::{CheckFor, Checked, Verification, VerifyStart, VerifyStatus, VerifyUpdate};
use crate::sender::Channel;

#[derive(Serialize)]
struct Attempt {
    time: String,
    channel: &'static str,
    attempt_sid: String,
}

#[derive(Serialize)]
struct Lookup {}

/// A verification in Twilio's field order.
#[derive(Serialize)]
struct Body<'a> {
    sid: &'a str,
    service_sid: &'a str,
    account_sid: &'a str,
    to: &'a str,
    channel: &'static str,
    status: &'static str,
    valid: bool,
    date_created: String,
    date_updated: String,
    lookup: Lookup,
    amount: Option<()>,
    payee: Option<()>,
    send_code_attempts: Vec<Attempt>,
    sna: Option<()>,
    url: String,
}

/// A check's answer: no `url`, `lookup` or `send_code_attempts`.
#[derive(Serialize)]
struct CheckBody<'a> {
    sid: &'a str,
    service_sid: &'a str,
    account_sid: &'a str,
    to: &'a str,
    channel: &'static str,
    status: &'static str,
    valid: bool,
    amount: Option<()>,
    payee: Option<()>,
    sna_attempts_error_codes: [(); 0],
    date_created: String,
    date_updated: String,
}

fn channel(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "sms",
        Channel::Call => "call",
        Channel::Email => "email",
    }
}

fn status(status: VerifyStatus) -> &'static str {
    match status {
        VerifyStatus::Pending => "pending",
        VerifyStatus::Approved => "approved",
        VerifyStatus::Canceled => "canceled",
        VerifyStatus::MaxAttemptsReached => "max_attempts_reached",
        VerifyStatus::Expired => "expired",
    }
}

fn body<'a>(call: &'a Call, v: &'a Verification) -> Body<'a> {
    Body {
        sid: &v.sid,
        service_sid: &v.service_sid,
        account_sid: &call.account_sid,
        to: &v.to,
        channel: channel(v.channel),
        status: status(v.status),
        valid: v.status == VerifyStatus::Approved,
        date_created: date(v.created_at),
        date_updated: date(v.updated_at),
        lookup: Lookup {},
        amount: None,
        payee: None,
        send_code_attempts: v
            .attempts
            .iter()
            .map(|a| Attempt {
                time: date(a.time),
                // Upper case, as the examples write sms and email.
                channel: match a.channel {
                    Channel::Sms => "SMS",
                    Channel::Call => "CALL",
                    Channel::Email => "EMAIL",
                },
                attempt_sid: a.sid.clone(),
            })
            .collect(),
        sna: None,
        url: call.url(&format!(
            "/Services/{}/Verifications/{}",
            v.service_sid, v.sid
        )),
    }
}

/// `RateLimits`: a JSON object of unique names to values (strings or
/// numbers), at most 20.
fn rate_limits(text: Option<&str>) -> Result<Vec<(String, String)>, VerifyError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let bad = || VerifyError::parameter("RateLimits");
    let map = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) if map.len() <= 20 => map,
        _ => return Err(bad()),
    };
    map.into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(v) if v.len() <= 255 => Ok((name, v)),
            serde_json::Value::Number(n) => Ok((name, n.to_string())),
            _ => Err(bad()),
        })
        .collect()
}

/// `ChannelConfiguration`'s `from` and `from_name` (a JSON object; its
/// other members, such as SendGrid's `template_id`, have no meaning here
/// and are ignored).
fn mail_from(text: Option<&str>) -> Result<(Option<String>, Option<String>), VerifyError> {
    let Some(text) = text else {
        return Ok((None, None));
    };
    let bad = || VerifyError::parameter("ChannelConfiguration");
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(bad());
    };
    let member = |name: &str| match map.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(v)) => Ok(Some(v.clone())),
        Some(_) => Err(bad()),
    };
    Ok((member("from")?, member("from_name")?))
}

/// `POST .../Verifications`: 201, the same SID and code while pending.
pub async fn create(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let f = &call.form;
    let to = f.required("To", 320)?;
    let channel = match f.required("Channel", 16)?.as_str() {
        "sms" => Channel::Sms,
        "call" => Channel::Call,
        "email" => Channel::Email,
        "whatsapp" | "sna" | "auto" | "rbm" => return Err(VerifyError::channel_disabled()),
        _ => return Err(VerifyError::parameter("Channel")),
    };
    let request = VerifyStart {
        to,
        channel,
        mail_from: if channel == Channel::Email {
            mail_from(f.text("ChannelConfiguration"))?
        } else {
            (None, None)
        },
        locale: f.short("Locale", 16)?,
        custom_friendly_name: f.short("CustomFriendlyName", 30)?,
        // Used where the service allows custom codes, ignored elsewhere.
        custom_code: f.short("CustomCode", 10)?,
        rate_limits: rate_limits(f.text("RateLimits"))?,
    };
    let verification = state
        .domain
        .start_verify(&call.app, &service, request, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::CREATED, &body(&call, &verification)))
}

/// `GET .../Verifications/{sid}`.
pub async fn fetch(
    State(state): State<AppState>,
    Path((sid, ve)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let verification = state
        .domain
        .fetch_verify(&call.app, &service, &ve, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &body(&call, &verification)))
}

/// `POST .../Verifications/{sid}` with `Status` `canceled` or `approved`.
pub async fn update(
    State(state): State<AppState>,
    Path((sid, ve)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let update = match call.form.text("Status") {
        Some("canceled") => VerifyUpdate::Cancel,
        Some("approved") => VerifyUpdate::Approve,
        _ => return Err(VerifyError::illegal_status()),
    };
    let verification = state
        .domain
        .update_verify(&call.app, &service, &ve, update, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &body(&call, &verification)))
}

/// `POST .../VerificationCheck`: 200 `approved`, 200 `pending` for a
/// wrong code, 429 / 60202 past five wrong codes, 404 / 20404 when nothing
/// is pending.
pub async fn check(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let f = &call.form;
    let code = f.required("Code", 10)?;
    if code.chars().count() < 4 {
        return Err(VerifyError::parameter("Code"));
    }
    let target = match (f.short("VerificationSid", 34)?, f.short("To", 320)?) {
        (Some(sid), _) => CheckFor::Sid(sid),
        (None, Some(to)) => CheckFor::To(to),
        (None, None) => return Err(VerifyError::parameter("To")),
    };
    let checked = state
        .domain
        .check_verify(&call.app, &sid, target, &code, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    let v = match checked {
        Checked::Approved(v) | Checked::Incorrect(v) => v,
        Checked::TooManyAttempts => {
            return Err(call.fail(crate::domain::Error::Limited(
                crate::domain::Limit::VerificationChecks,
            )));
        }
    };
    Ok(reply(
        StatusCode::OK,
        &CheckBody {
            sid: &v.sid,
            service_sid: &v.service_sid,
            account_sid: &call.account_sid,
            to: &v.to,
            channel: channel(v.channel),
            status: status(v.status),
            valid: v.status == VerifyStatus::Approved,
            amount: None,
            payee: None,
            sna_attempts_error_codes: [],
            date_created: date(v.created_at),
            date_updated: date(v.updated_at),
        },
    ))
}
