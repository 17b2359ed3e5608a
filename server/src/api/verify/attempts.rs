//! `/v2/Attempts`: each send of a verification's code, and a summary of
//! how many were converted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::error::VerifyError;
use super::factors::parse_date;
use super::{Call, Page, date, reply};
use crate::api::AppState;
use crate::domain::{AttemptQuery, VerifyAttempt};

#[derive(Serialize)]
struct Price {
    value: Option<()>,
    currency: Option<()>,
}

/// What is known of a send (nothing of carriers or delivery receipts).
#[derive(Serialize)]
struct ChannelData<'a> {
    verification_sid: &'a str,
    to: &'a str,
    status: &'static str,
    message_status: Option<()>,
    error_code: Option<()>,
    country: &'a str,
    code_length: u8,
    locale: &'a str,
    mcc: Option<()>,
    mnc: Option<()>,
    carrier: Option<()>,
}

#[derive(Serialize)]
struct Body<'a> {
    sid: &'a str,
    account_sid: &'a str,
    service_sid: &'a str,
    verification_sid: &'a str,
    date_created: String,
    date_updated: String,
    conversion_status: &'static str,
    channel: &'a str,
    price: Price,
    channel_data: ChannelData<'a>,
    url: String,
}

fn body<'a>(call: &'a Call, a: &'a VerifyAttempt) -> Body<'a> {
    Body {
        sid: &a.sid,
        account_sid: &call.account_sid,
        service_sid: &a.service_sid,
        verification_sid: &a.verification_sid,
        date_created: date(a.created_at),
        date_updated: date(a.updated_at),
        conversion_status: if a.converted {
            "converted"
        } else {
            "unconverted"
        },
        channel: &a.channel,
        price: Price {
            value: None,
            currency: None,
        },
        channel_data: ChannelData {
            verification_sid: &a.verification_sid,
            to: &a.masked_to,
            status: if a.converted {
                "confirmed"
            } else {
                "unconfirmed"
            },
            message_status: None,
            error_code: None,
            country: &a.country,
            code_length: a.code_length,
            locale: &a.locale,
            mcc: None,
            mnc: None,
            carrier: None,
        },
        url: call.url(&format!("/Attempts/{}", a.sid)),
    }
}

fn query(call: &Call) -> Result<AttemptQuery, VerifyError> {
    let f = &call.form;
    let when = |name: &str| -> Result<Option<u64>, VerifyError> {
        f.text(name)
            .map(|t| parse_date(t).ok_or_else(|| VerifyError::parameter(name)))
            .transpose()
    };
    Ok(AttemptQuery {
        service_sid: f.short("VerifyServiceSid", 34)?,
        verification_sid: f.short("VerificationSid", 34)?,
        channel: f.short("Channel", 16)?.map(|c| c.to_ascii_lowercase()),
        country: f.short("Country", 2)?.map(|c| c.to_ascii_uppercase()),
        to: f.short("ChannelData.To", 16)?,
        converted: match f.text("Status") {
            None => None,
            Some("converted") => Some(true),
            Some("unconverted") => Some(false),
            Some(_) => return Err(VerifyError::parameter("Status")),
        },
        created_after: when("DateCreatedAfter")?,
        created_before: when("DateCreatedBefore")?,
    })
}

/// `GET /v2/Attempts/{sid}`.
pub async fn fetch(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let attempt = state
        .domain
        .attempt(&call.app, &sid)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &body(&call, &attempt)))
}

#[derive(Serialize)]
struct List<'a> {
    attempts: Vec<Body<'a>>,
    meta: super::Meta,
}

/// `GET /v2/Attempts`, oldest first, by the filters.
pub async fn list(State(state): State<AppState>, call: Call) -> Result<Response, VerifyError> {
    let page = Page::of(&call.form)?;
    let query = query(&call)?;
    let attempts = state
        .domain
        .attempts(&call.app, &query, page.after, page.size + 1)
        .await
        .map_err(|e| call.fail(e))?;
    let (attempts, last) = page.cut(attempts, |a| a.seq);
    let meta = page.meta(&call.url("/Attempts"), "attempts", last);
    Ok(reply(
        StatusCode::OK,
        &List {
            attempts: attempts.iter().map(|a| body(&call, a)).collect(),
            meta,
        },
    ))
}

#[derive(Serialize)]
struct Summary {
    total_attempts: u64,
    total_converted: u64,
    total_unconverted: u64,
    conversion_rate_percentage: String,
    url: String,
}

/// The rate as the example writes it: up to 9 decimals, no trailing zeros
/// (`81.818181818`, `50`, `0`).
fn percentage(converted: u64, total: u64) -> String {
    if total == 0 {
        return "0".into();
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = converted as f64 * 100.0 / total as f64;
    let text = format!("{rate:.9}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `GET /v2/Attempts/Summary`.
pub async fn summary(State(state): State<AppState>, call: Call) -> Result<Response, VerifyError> {
    let query = query(&call)?;
    let (total, converted) = state
        .domain
        .attempts_summary(&call.app, &query)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(
        StatusCode::OK,
        &Summary {
            total_attempts: total,
            total_converted: converted,
            total_unconverted: total.saturating_sub(converted),
            conversion_rate_percentage: percentage(converted, total),
            url: call.url("/Attempts/Summary"),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_written_as_the_example_writes_it() {
        // The example: 9 of 11.
        assert_eq!(percentage(9, 11), "81.818181818");
        assert_eq!(percentage(1, 2), "50");
        assert_eq!(percentage(0, 0), "0");
        assert_eq!(percentage(3, 3), "100");
    }
}
