//! `/v2/Services`: create, fetch, update, list, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::VerifyError;
use super::form::Form;
use super::{Call, Page, date, reply};
use crate::api::AppState;
use crate::domain::{ServicePatch, VerifyService};

#[derive(Serialize)]
struct Push<'a> {
    include_date: bool,
    apn_credential_sid: Option<&'a str>,
    fcm_credential_sid: Option<&'a str>,
}

#[derive(Serialize)]
struct Totp<'a> {
    issuer: Option<&'a str>,
    time_step: Option<u8>,
    code_length: Option<u8>,
    skew: Option<u8>,
}

#[derive(Serialize)]
struct Whatsapp<'a> {
    msg_service_sid: Option<&'a str>,
    from: Option<&'a str>,
}

#[derive(Serialize)]
struct RelyingParty {
    id: Option<()>,
    name: Option<()>,
    origins: Option<()>,
}

#[derive(Serialize)]
struct Passkeys {
    relying_party: RelyingParty,
    authenticator_attachment: Option<()>,
    discoverable_credentials: Option<()>,
    user_verification: Option<()>,
}

#[derive(Serialize)]
struct Links {
    verification_checks: String,
    verifications: String,
    rate_limits: String,
    messaging_configurations: String,
    entities: String,
    webhooks: String,
    access_tokens: String,
}

/// A service in Twilio's field order (`twilio_verify_v2.json`).
#[derive(Serialize)]
pub(super) struct Body<'a> {
    sid: &'a str,
    account_sid: &'a str,
    friendly_name: &'a str,
    code_length: u8,
    lookup_enabled: bool,
    psd2_enabled: bool,
    skip_sms_to_landlines: bool,
    dtmf_input_required: bool,
    tts_name: Option<&'a str>,
    do_not_share_warning_enabled: bool,
    custom_code_enabled: bool,
    push: Push<'a>,
    totp: Totp<'a>,
    whatsapp: Whatsapp<'a>,
    passkeys: Passkeys,
    default_template_sid: Option<&'a str>,
    verify_event_subscription_enabled: bool,
    date_created: String,
    date_updated: String,
    url: String,
    links: Links,
}

fn body<'a>(call: &'a Call, service: &'a VerifyService) -> Body<'a> {
    let s = &service.settings;
    let url = call.url(&format!("/Services/{}", service.sid));
    let link = |child: &str| format!("{url}/{child}");
    Body {
        sid: &service.sid,
        account_sid: &call.account_sid,
        friendly_name: &s.friendly_name,
        code_length: s.code_length,
        lookup_enabled: s.lookup_enabled,
        psd2_enabled: s.psd2_enabled,
        skip_sms_to_landlines: s.skip_sms_to_landlines,
        dtmf_input_required: s.dtmf_input_required,
        tts_name: s.tts_name.as_deref(),
        do_not_share_warning_enabled: s.do_not_share_warning_enabled,
        custom_code_enabled: s.custom_code_enabled,
        push: Push {
            include_date: s.push_include_date,
            apn_credential_sid: s.push_apn_credential_sid.as_deref(),
            fcm_credential_sid: s.push_fcm_credential_sid.as_deref(),
        },
        totp: Totp {
            issuer: s.totp_issuer.as_deref(),
            time_step: s.totp_time_step,
            code_length: s.totp_code_length,
            skew: s.totp_skew,
        },
        whatsapp: Whatsapp {
            msg_service_sid: s.whatsapp_msg_service_sid.as_deref(),
            from: s.whatsapp_from.as_deref(),
        },
        passkeys: Passkeys {
            relying_party: RelyingParty {
                id: None,
                name: None,
                origins: None,
            },
            authenticator_attachment: None,
            discoverable_credentials: None,
            user_verification: None,
        },
        default_template_sid: s.default_template_sid.as_deref(),
        verify_event_subscription_enabled: s.verify_event_subscription_enabled,
        date_created: date(service.created_at),
        date_updated: date(service.updated_at),
        links: Links {
            verification_checks: link("VerificationCheck"),
            verifications: link("Verifications"),
            rate_limits: link("RateLimits"),
            messaging_configurations: link("MessagingConfigurations"),
            entities: link("Entities"),
            webhooks: link("Webhooks"),
            access_tokens: link("AccessTokens"),
        },
        url,
    }
}

/// A byte value (`u8`) of a setting in `range`.
fn small(
    form: &Form,
    name: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u8>, VerifyError> {
    Ok(form
        .integer(name, range)?
        .map(|n| u8::try_from(n).unwrap_or(u8::MAX)))
}

/// The settings a create or an update sets.
fn patch(form: &Form) -> Result<ServicePatch, VerifyError> {
    Ok(ServicePatch {
        friendly_name: form.short("FriendlyName", 32)?,
        code_length: small(form, "CodeLength", 4..=10)?,
        lookup_enabled: form.boolean("LookupEnabled")?,
        psd2_enabled: form.boolean("Psd2Enabled")?,
        skip_sms_to_landlines: form.boolean("SkipSmsToLandlines")?,
        dtmf_input_required: form.boolean("DtmfInputRequired")?,
        tts_name: form.short("TtsName", 255)?,
        do_not_share_warning_enabled: form.boolean("DoNotShareWarningEnabled")?,
        custom_code_enabled: form.boolean("CustomCodeEnabled")?,
        push_include_date: form.boolean("Push.IncludeDate")?,
        push_apn_credential_sid: form.short("Push.ApnCredentialSid", 34)?,
        push_fcm_credential_sid: form.short("Push.FcmCredentialSid", 34)?,
        totp_issuer: form.short("Totp.Issuer", 255)?,
        totp_time_step: small(form, "Totp.TimeStep", 20..=60)?,
        totp_code_length: small(form, "Totp.CodeLength", 3..=8)?,
        totp_skew: small(form, "Totp.Skew", 0..=2)?,
        whatsapp_msg_service_sid: form.short("Whatsapp.MsgServiceSid", 34)?,
        whatsapp_from: form.short("Whatsapp.From", 255)?,
        default_template_sid: form.short("DefaultTemplateSid", 34)?,
        verify_event_subscription_enabled: form.boolean("VerifyEventSubscriptionEnabled")?,
    })
}

/// `POST /v2/Services`: 201.
pub async fn create(State(state): State<AppState>, call: Call) -> Result<Response, VerifyError> {
    let mut patch = patch(&call.form)?;
    patch.friendly_name = Some(call.form.required("FriendlyName", 32)?);
    let service = state
        .domain
        .create_verify_service(&call.app, patch, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::CREATED, &body(&call, &service)))
}

/// `GET /v2/Services/{sid}`.
pub async fn fetch(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    Ok(reply(StatusCode::OK, &body(&call, &service)))
}

/// `POST /v2/Services/{sid}`.
pub async fn update(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let patch = patch(&call.form)?;
    let service = state
        .domain
        .update_verify_service(&call.app, &sid, patch, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &body(&call, &service)))
}

/// `DELETE /v2/Services/{sid}`: 204, empty.
pub async fn delete(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    state
        .domain
        .delete_verify_service(&call.app, &sid)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
struct List<'a> {
    services: Vec<Body<'a>>,
    meta: super::Meta,
}

/// `GET /v2/Services`: a page, oldest first.
pub async fn list(State(state): State<AppState>, call: Call) -> Result<Response, VerifyError> {
    let page = Page::of(&call.form)?;
    let services = state
        .domain
        .verify_services(&call.app, page.after, page.size + 1)
        .await
        .map_err(|e| call.fail(e))?;
    let (services, last) = page.cut(services, |s| s.seq);
    let meta = page.meta(&call.url("/Services"), "services", last);
    Ok(reply(
        StatusCode::OK,
        &List {
            services: services.iter().map(|s| body(&call, s)).collect(),
            meta,
        },
    ))
}
