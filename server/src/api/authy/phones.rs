//! Phone verification (start and check) and phone information.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::Call;
use super::users::Done;
use crate::api::{AppState, json};
use crate::domain::{StartRequest, VerificationState};
use crate::error::ApiError;
use crate::sender::Channel;

#[derive(Serialize)]
struct StartBody {
    carrier: &'static str,
    is_cellphone: bool,
    message: String,
    seconds_to_expire: u64,
    uuid: String,
    success: bool,
}

fn country_and_number(call: &Call) -> Result<(u64, String), ApiError> {
    let p = &call.params;
    let country_code = p
        .integer("country_code", &["country_code"])?
        .ok_or_else(|| ApiError::required("country_code"))?;
    let number = p
        .text("phone_number", &["phone_number"])?
        .ok_or_else(|| ApiError::required("phone_number"))?;
    Ok((country_code, number))
}

/// `POST phones/verification/start`.
pub async fn start(State(state): State<AppState>, call: Call) -> Result<Response, ApiError> {
    let p = &call.params;
    let via = match p.text("via", &["via"])?.as_deref() {
        Some("sms") => Channel::Sms,
        Some("call") => Channel::Call,
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "via",
                reason: "must be sms or call".into(),
            });
        }
        None => return Err(ApiError::required("via")),
    };
    let (country_code, phone_number) = country_and_number(&call)?;
    let code_length = match p.integer("code_length", &["code_length"])? {
        None => 4,
        Some(n @ 4..=10) => u8::try_from(n).unwrap_or(4),
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "code_length",
                reason: "must be between 4 and 10".into(),
            });
        }
    };
    let request = StartRequest {
        via,
        country_code,
        phone_number,
        locale: p.text("locale", &["locale"])?,
        code_length,
        custom_message: p
            .text("custom_message", &["custom_message"])?
            .filter(|m| !m.is_empty()),
        custom_code: p
            .text("custom_code", &["custom_code"])?
            .is_some_and(|c| !c.is_empty()),
    };
    let started = state
        .domain
        .start_verification(&call.app, request, call.now)
        .await?;
    Ok(json(&StartBody {
        carrier: started.carrier,
        is_cellphone: started.is_cellphone,
        message: started.message,
        seconds_to_expire: started.seconds_to_expire,
        uuid: started.uuid,
        success: true,
    }))
}

/// `GET phones/verification/check`.
pub async fn check(State(state): State<AppState>, call: Call) -> Result<Response, ApiError> {
    let (country_code, phone_number) = country_and_number(&call)?;
    let code = call
        .params
        .text("verification_code", &["verification_code"])?
        .ok_or_else(|| ApiError::required("verification_code"))?;
    state
        .domain
        .check_verification(&call.app, country_code, &phone_number, &code, call.now)
        .await?;
    Ok(json(&Done {
        message: "Verification code is correct.",
        success: true,
    }))
}

#[derive(Serialize)]
struct StatusBody {
    message: &'static str,
    status: &'static str,
    seconds_to_expire: u64,
    success: bool,
}

/// `GET phones/verification/status` (npm `authy`'s `verification_status`),
/// by `country_code` and `phone_number`. The body is the one Twilio's
/// Verify v1 reference shows: `{"message":"Phone Verification
/// status.","status":"pending","seconds_to_expire":598,"success":true}`,
/// with `pending`, `verified` or `expired`. The `uuid` a start answers is
/// not kept, so it is not a way to ask.
pub async fn status(State(state): State<AppState>, call: Call) -> Result<Response, ApiError> {
    let (country_code, phone_number) = country_and_number(&call)?;
    let status = state
        .domain
        .verification_status(&call.app, country_code, &phone_number, call.now)
        .await?;
    Ok(json(&StatusBody {
        message: "Phone Verification status.",
        status: match status.state {
            VerificationState::Pending => "pending",
            VerificationState::Verified => "verified",
            VerificationState::Expired => "expired",
        },
        seconds_to_expire: status.seconds_to_expire,
        success: true,
    }))
}

#[derive(Serialize)]
struct InfoBody {
    message: String,
    #[serde(rename = "type")]
    line_type: &'static str,
    provider: &'static str,
    ported: bool,
    success: bool,
}

/// `GET phones/info`.
pub async fn info(State(state): State<AppState>, call: Call) -> Result<Response, ApiError> {
    let (country_code, phone_number) = country_and_number(&call)?;
    let info = state
        .domain
        .phone_info(&call.app, country_code, &phone_number)?;
    let stamp = time::OffsetDateTime::from_unix_timestamp(i64::try_from(call.now).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .map_err(|_| ApiError::Internal)?;
    Ok(json(&InfoBody {
        message: format!("Phone number information as of {stamp} UTC"),
        line_type: info.line_type.as_str(),
        provider: info.provider,
        ported: info.ported,
        success: true,
    }))
}
