//! `/v2/Services/{sid}/Webhooks`: factor and challenge events, posted
//! signed to the application.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::VerifyError;
use super::{Call, Page, date, reply};
use crate::api::AppState;
use crate::domain::{Webhook, WebhookSettings};

/// A webhook in the examples' field order (`url` first).
#[derive(Serialize)]
struct Body<'a> {
    url: String,
    sid: &'a str,
    account_sid: &'a str,
    service_sid: &'a str,
    friendly_name: &'a str,
    event_types: &'a [String],
    webhook_method: &'static str,
    webhook_url: &'a str,
    status: &'static str,
    version: &'a str,
    date_created: String,
    date_updated: String,
}

fn body<'a>(call: &'a Call, w: &'a Webhook) -> Body<'a> {
    Body {
        url: call.url(&format!("/Services/{}/Webhooks/{}", w.service_sid, w.sid)),
        sid: &w.sid,
        account_sid: &call.account_sid,
        service_sid: &w.service_sid,
        friendly_name: &w.settings.friendly_name,
        event_types: &w.settings.event_types,
        webhook_method: "POST",
        webhook_url: &w.settings.webhook_url,
        status: if w.settings.enabled {
            "enabled"
        } else {
            "disabled"
        },
        version: &w.settings.version,
        date_created: date(w.created_at),
        date_updated: date(w.updated_at),
    }
}

fn status(call: &Call) -> Result<Option<bool>, VerifyError> {
    match call.form.text("Status") {
        None => Ok(None),
        Some("enabled") => Ok(Some(true)),
        Some("disabled") => Ok(Some(false)),
        Some(_) => Err(VerifyError::parameter("Status")),
    }
}

fn event_types(call: &Call) -> Result<Option<Vec<String>>, VerifyError> {
    let types: Vec<String> = call.form.all("EventTypes").map(str::to_owned).collect();
    if types.len() > 16 || types.iter().any(|t| t.len() > 32) {
        return Err(VerifyError::parameter("EventTypes"));
    }
    Ok((!types.is_empty()).then_some(types))
}

/// `POST .../Webhooks`: 201.
pub async fn create(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let settings = WebhookSettings {
        friendly_name: call.form.required("FriendlyName", 64)?,
        event_types: event_types(&call)?.ok_or_else(|| VerifyError::parameter("EventTypes"))?,
        enabled: status(&call)?.unwrap_or(true),
        version: call
            .form
            .short("Version", 2)?
            .unwrap_or_else(|| "v2".into()),
        webhook_url: call.form.required("WebhookUrl", 512)?,
    };
    let hook = state
        .domain
        .create_webhook(&call.app, &service, settings, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::CREATED, &body(&call, &hook)))
}

/// `GET .../Webhooks/{sid}`.
pub async fn fetch(
    State(state): State<AppState>,
    Path((sid, yw)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let hook = state
        .domain
        .webhook(&call.app, &service, &yw)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &body(&call, &hook)))
}

/// `POST .../Webhooks/{sid}`.
pub async fn update(
    State(state): State<AppState>,
    Path((sid, yw)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let name = call.form.short("FriendlyName", 64)?;
    let types = event_types(&call)?;
    let enabled = status(&call)?;
    let version = call.form.short("Version", 2)?;
    let url = call.form.short("WebhookUrl", 512)?;
    let hook = state
        .domain
        .update_webhook(
            &call.app,
            &service,
            &yw,
            |s| {
                if let Some(v) = name {
                    s.friendly_name = v;
                }
                if let Some(v) = types {
                    s.event_types = v;
                }
                if let Some(v) = enabled {
                    s.enabled = v;
                }
                if let Some(v) = version {
                    s.version = v;
                }
                if let Some(v) = url {
                    s.webhook_url = v;
                }
            },
            call.now,
        )
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &body(&call, &hook)))
}

/// `DELETE .../Webhooks/{sid}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Path((sid, yw)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    state
        .domain
        .delete_webhook(&call.app, &service, &yw)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
struct List<'a> {
    webhooks: Vec<Body<'a>>,
    meta: super::Meta,
}

/// `GET .../Webhooks`.
pub async fn list(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let page = Page::of(&call.form)?;
    let hooks = state
        .domain
        .webhooks(&call.app, &service, page.after, page.size + 1)
        .await
        .map_err(|e| call.fail(e))?;
    let (hooks, last) = page.cut(hooks, |h| h.seq);
    let meta = page.meta(
        &call.url(&format!("/Services/{sid}/Webhooks")),
        "webhooks",
        last,
    );
    Ok(reply(
        StatusCode::OK,
        &List {
            webhooks: hooks.iter().map(|h| body(&call, h)).collect(),
            meta,
        },
    ))
}
