//! `/v2/Services/{sid}/RateLimits` and their `Buckets`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::VerifyError;
use super::{Call, Page, date, reply};
use crate::api::AppState;
use crate::domain::{Bucket, VerifyRateLimit};

#[derive(Serialize)]
struct Links {
    buckets: String,
}

#[derive(Serialize)]
struct LimitBody<'a> {
    sid: &'a str,
    service_sid: &'a str,
    account_sid: &'a str,
    unique_name: &'a str,
    description: Option<&'a str>,
    date_created: String,
    date_updated: String,
    url: String,
    links: Links,
}

fn limit_body<'a>(call: &'a Call, l: &'a VerifyRateLimit) -> LimitBody<'a> {
    let url = call.url(&format!("/Services/{}/RateLimits/{}", l.service_sid, l.sid));
    LimitBody {
        sid: &l.sid,
        service_sid: &l.service_sid,
        account_sid: &call.account_sid,
        unique_name: &l.unique_name,
        description: l.description.as_deref(),
        date_created: date(l.created_at),
        date_updated: date(l.updated_at),
        links: Links {
            buckets: format!("{url}/Buckets"),
        },
        url,
    }
}

#[derive(Serialize)]
struct BucketBody<'a> {
    sid: &'a str,
    rate_limit_sid: &'a str,
    service_sid: &'a str,
    account_sid: &'a str,
    max: u32,
    interval: u32,
    date_created: String,
    date_updated: String,
    url: String,
}

fn bucket_body<'a>(call: &'a Call, b: &'a Bucket) -> BucketBody<'a> {
    BucketBody {
        sid: &b.sid,
        rate_limit_sid: &b.rate_limit_sid,
        service_sid: &b.service_sid,
        account_sid: &call.account_sid,
        max: b.max,
        interval: b.interval,
        date_created: date(b.created_at),
        date_updated: date(b.updated_at),
        url: call.url(&format!(
            "/Services/{}/RateLimits/{}/Buckets/{}",
            b.service_sid, b.rate_limit_sid, b.sid
        )),
    }
}

/// `POST .../RateLimits`: 201.
pub async fn create(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let name = call.form.required("UniqueName", 191)?;
    let description = call.form.short("Description", 255)?;
    let limit = state
        .domain
        .create_rate_limit(&call.app, &service, &name, description, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::CREATED, &limit_body(&call, &limit)))
}

/// `GET .../RateLimits/{sid}`.
pub async fn fetch(
    State(state): State<AppState>,
    Path((sid, rk)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let limit = state
        .domain
        .rate_limit(&call.app, &service, &rk)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &limit_body(&call, &limit)))
}

/// `POST .../RateLimits/{sid}` with `Description`.
pub async fn update(
    State(state): State<AppState>,
    Path((sid, rk)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let limit = match call.form.short("Description", 255)? {
        Some(description) => {
            state
                .domain
                .describe_rate_limit(&call.app, &service, &rk, &description, call.now)
                .await
        }
        None => state.domain.rate_limit(&call.app, &service, &rk).await,
    }
    .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &limit_body(&call, &limit)))
}

/// `DELETE .../RateLimits/{sid}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Path((sid, rk)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    state
        .domain
        .delete_rate_limit(&call.app, &service, &rk)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
struct LimitList<'a> {
    rate_limits: Vec<LimitBody<'a>>,
    meta: super::Meta,
}

/// `GET .../RateLimits`.
pub async fn list(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let page = Page::of(&call.form)?;
    let limits = state
        .domain
        .rate_limits(&call.app, &service, page.after, page.size + 1)
        .await
        .map_err(|e| call.fail(e))?;
    let (limits, last) = page.cut(limits, |l| l.seq);
    let meta = page.meta(
        &call.url(&format!("/Services/{sid}/RateLimits")),
        "rate_limits",
        last,
    );
    Ok(reply(
        StatusCode::OK,
        &LimitList {
            rate_limits: limits.iter().map(|l| limit_body(&call, l)).collect(),
            meta,
        },
    ))
}

fn count(call: &Call, name: &str) -> Result<Option<u32>, VerifyError> {
    call.form
        .integer(name, 1..=1_000_000_000)
        .and_then(|v| match (name, v) {
            ("Max", Some(n)) if n > 100_000 => Err(VerifyError::parameter("Max")),
            (_, v) => Ok(v),
        })
}

/// `POST .../Buckets` with `Max` and `Interval`: 201.
pub async fn create_bucket(
    State(state): State<AppState>,
    Path((sid, rk)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let max = count(&call, "Max")?.ok_or_else(|| VerifyError::parameter("Max"))?;
    let interval = count(&call, "Interval")?.ok_or_else(|| VerifyError::parameter("Interval"))?;
    let bucket = state
        .domain
        .create_bucket(&call.app, &service, &rk, max, interval, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::CREATED, &bucket_body(&call, &bucket)))
}

/// `GET .../Buckets/{sid}`.
pub async fn fetch_bucket(
    State(state): State<AppState>,
    Path((sid, rk, bl)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let bucket = state
        .domain
        .bucket(&call.app, &service, &rk, &bl)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &bucket_body(&call, &bucket)))
}

/// `POST .../Buckets/{sid}` with `Max` or `Interval`.
pub async fn update_bucket(
    State(state): State<AppState>,
    Path((sid, rk, bl)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let (max, interval) = (count(&call, "Max")?, count(&call, "Interval")?);
    let bucket = state
        .domain
        .update_bucket(&call.app, &service, &rk, &bl, max, interval, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &bucket_body(&call, &bucket)))
}

/// `DELETE .../Buckets/{sid}`: 204.
pub async fn delete_bucket(
    State(state): State<AppState>,
    Path((sid, rk, bl)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    state
        .domain
        .delete_bucket(&call.app, &service, &rk, &bl)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
struct BucketList<'a> {
    buckets: Vec<BucketBody<'a>>,
    meta: super::Meta,
}

/// `GET .../Buckets`.
pub async fn list_buckets(
    State(state): State<AppState>,
    Path((sid, rk)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let page = Page::of(&call.form)?;
    let buckets = state
        .domain
        .buckets(&call.app, &service, &rk, page.after, page.size + 1)
        .await
        .map_err(|e| call.fail(e))?;
    let (buckets, last) = page.cut(buckets, |b| b.seq);
    let url = call.url(&format!("/Services/{sid}/RateLimits/{rk}/Buckets"));
    let meta = page.meta(&url, "buckets", last);
    Ok(reply(
        StatusCode::OK,
        &BucketList {
            buckets: buckets.iter().map(|b| bucket_body(&call, b)).collect(),
            meta,
        },
    ))
}
