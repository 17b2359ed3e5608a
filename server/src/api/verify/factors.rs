//! `/v2/Services/{sid}/Entities`: entities, their TOTP factors and their
//! challenges.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::error::VerifyError;
use super::{Call, Page, date, reply};
use crate::api::AppState;
use crate::domain::{
    Alg, Challenge, ChallengeQuery, ChallengeStatus, Entity, Factor, FactorRequest,
};

/// An ISO 8601 date as both SDKs write one (`2015-07-30T20:00:00Z`).
pub(super) fn parse_date(text: &str) -> Option<u64> {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let t = time::PrimitiveDateTime::parse(text, &format).ok()?;
    u64::try_from(t.assume_utc().unix_timestamp()).ok()
}

// ------------------------------------------------------------------ entities

#[derive(Serialize)]
struct EntityLinks {
    factors: String,
    new_factors: String,
    challenges: String,
}

#[derive(Serialize)]
struct EntityBody<'a> {
    sid: &'a str,
    identity: &'a str,
    account_sid: &'a str,
    service_sid: &'a str,
    date_created: String,
    date_updated: String,
    url: String,
    links: EntityLinks,
}

fn entity_url(call: &Call, service: &str, identity: &str) -> String {
    call.url(&format!("/Services/{service}/Entities/{identity}"))
}

fn entity_body<'a>(call: &'a Call, e: &'a Entity) -> EntityBody<'a> {
    let url = entity_url(call, &e.service_sid, &e.identity);
    EntityBody {
        sid: &e.sid,
        identity: &e.identity,
        account_sid: &call.account_sid,
        service_sid: &e.service_sid,
        date_created: date(e.created_at),
        date_updated: date(e.created_at),
        links: EntityLinks {
            factors: format!("{url}/Factors"),
            new_factors: format!("{url}/Factors"),
            challenges: format!("{url}/Challenges"),
        },
        url,
    }
}

/// `POST .../Entities`: 201.
pub async fn create_entity(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let identity = call.form.required("Identity", 64)?;
    let entity = state
        .domain
        .create_entity(&call.app, &service, &identity, false, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::CREATED, &entity_body(&call, &entity)))
}

/// `GET .../Entities/{identity}`.
pub async fn fetch_entity(
    State(state): State<AppState>,
    Path((sid, identity)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let entity = state
        .domain
        .entity(&call.app, &service, &identity)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(StatusCode::OK, &entity_body(&call, &entity)))
}

/// `DELETE .../Entities/{identity}`: 204.
pub async fn delete_entity(
    State(state): State<AppState>,
    Path((sid, identity)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    state
        .domain
        .delete_entity(&call.app, &service, &identity)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
struct EntityList<'a> {
    entities: Vec<EntityBody<'a>>,
    meta: super::Meta,
}

/// `GET .../Entities`.
pub async fn list_entities(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let page = Page::of(&call.form)?;
    let entities = state
        .domain
        .entities(&call.app, &service, page.after, page.size + 1)
        .await
        .map_err(|e| call.fail(e))?;
    let (entities, last) = page.cut(entities, Entity::seq);
    let meta = page.meta(
        &call.url(&format!("/Services/{sid}/Entities")),
        "entities",
        last,
    );
    Ok(reply(
        StatusCode::OK,
        &EntityList {
            entities: entities.iter().map(|e| entity_body(&call, e)).collect(),
            meta,
        },
    ))
}

// ------------------------------------------------------------------- factors

#[derive(Serialize)]
struct Config {
    alg: &'static str,
    skew: u8,
    code_length: u8,
    time_step: u8,
}

#[derive(Serialize)]
struct Binding<'a> {
    secret: &'a str,
    uri: &'a str,
}

#[derive(Serialize)]
struct NewFactorBody<'a> {
    sid: &'a str,
    account_sid: &'a str,
    service_sid: &'a str,
    entity_sid: &'a str,
    identity: &'a str,
    binding: Binding<'a>,
    options: Option<()>,
    date_created: String,
    date_updated: String,
    friendly_name: &'a str,
    status: &'static str,
    factor_type: &'static str,
    config: Config,
    metadata: Option<()>,
    url: String,
}

/// A factor after its creation: no `binding`, no `options`.
#[derive(Serialize)]
struct FactorBody<'a> {
    sid: &'a str,
    account_sid: &'a str,
    service_sid: &'a str,
    entity_sid: &'a str,
    identity: &'a str,
    date_created: String,
    date_updated: String,
    friendly_name: &'a str,
    status: &'static str,
    factor_type: &'static str,
    config: Config,
    metadata: Option<()>,
    url: String,
}

fn config(f: &Factor) -> Config {
    Config {
        alg: f.profile.alg.as_str(),
        skew: f.profile.skew,
        code_length: f.profile.code_length,
        time_step: f.profile.time_step,
    }
}

fn factor_body<'a>(call: &'a Call, service: &'a str, f: &'a Factor) -> FactorBody<'a> {
    FactorBody {
        sid: &f.sid,
        account_sid: &call.account_sid,
        service_sid: service,
        entity_sid: &f.entity_sid,
        identity: &f.identity,
        date_created: date(f.created_at),
        date_updated: date(f.updated_at),
        friendly_name: &f.friendly_name,
        status: if f.verified { "verified" } else { "unverified" },
        factor_type: "totp",
        config: config(f),
        metadata: None,
        url: format!(
            "{}/Factors/{}",
            entity_url(call, service, &f.identity),
            f.sid
        ),
    }
}

fn small(
    call: &Call,
    name: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u8>, VerifyError> {
    Ok(call
        .form
        .integer(name, range)?
        .map(|n| u8::try_from(n).unwrap_or(u8::MAX)))
}

/// `POST .../Entities/{identity}/Factors` (NewFactor): 201, with the
/// secret this once.
pub async fn create_factor(
    State(state): State<AppState>,
    Path((sid, identity)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let f = &call.form;
    match f.required("FactorType", 16)?.as_str() {
        "totp" => {}
        "push" | "passkeys" => {
            return Err(VerifyError::invalid(
                "FactorType - push and passkeys factors are not supported yet",
            ));
        }
        _ => return Err(VerifyError::parameter("FactorType")),
    }
    let request = FactorRequest {
        friendly_name: f.required("FriendlyName", 64)?,
        secret: f.short("Binding.Secret", 256)?,
        alg: match f.text("Config.Alg") {
            None => None,
            Some("sha1") => Some(Alg::Sha1),
            Some("sha256") => Some(Alg::Sha256),
            Some("sha512") => Some(Alg::Sha512),
            Some(_) => return Err(VerifyError::parameter("Config.Alg")),
        },
        code_length: small(&call, "Config.CodeLength", 3..=8)?,
        time_step: small(&call, "Config.TimeStep", 20..=60)?,
        skew: small(&call, "Config.Skew", 0..=2)?,
    };
    let new = state
        .domain
        .create_factor(&call.app, &service, &identity, request, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    let factor = &new.factor;
    Ok(reply(
        StatusCode::CREATED,
        &NewFactorBody {
            sid: &factor.sid,
            account_sid: &call.account_sid,
            service_sid: &service.sid,
            entity_sid: &factor.entity_sid,
            identity: &factor.identity,
            binding: Binding {
                secret: &new.secret,
                uri: &new.uri,
            },
            options: None,
            date_created: date(factor.created_at),
            date_updated: date(factor.updated_at),
            friendly_name: &factor.friendly_name,
            status: if factor.verified {
                "verified"
            } else {
                "unverified"
            },
            factor_type: "totp",
            config: config(factor),
            metadata: None,
            url: format!(
                "{}/Factors/{}",
                entity_url(&call, &service.sid, &factor.identity),
                factor.sid
            ),
        },
    ))
}

/// `GET .../Factors/{sid}`.
pub async fn fetch_factor(
    State(state): State<AppState>,
    Path((sid, identity, factor)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let factor = state
        .domain
        .factor(&call.app, &service, &identity, &factor)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(
        StatusCode::OK,
        &factor_body(&call, &service.sid, &factor),
    ))
}

/// `POST .../Factors/{sid}`: `AuthPayload` verifies a new factor (wrong:
/// 200 `unverified`), `FriendlyName` renames it.
pub async fn update_factor(
    State(state): State<AppState>,
    Path((sid, identity, factor)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let mut answer = None;
    if let Some(name) = call.form.short("FriendlyName", 64)? {
        answer = Some(
            state
                .domain
                .rename_factor(&call.app, &service, &identity, &factor, &name, call.now)
                .await
                .map_err(|e| call.fail(e))?,
        );
    }
    if let Some(code) = call.form.short("AuthPayload", 16)? {
        answer = Some(
            state
                .domain
                .verify_factor(&call.app, &service, &identity, &factor, &code, call.now)
                .await
                .map_err(|e| call.fail(e))?,
        );
    }
    let factor = match answer {
        Some(factor) => factor,
        None => state
            .domain
            .factor(&call.app, &service, &identity, &factor)
            .await
            .map_err(|e| call.fail(e))?,
    };
    Ok(reply(
        StatusCode::OK,
        &factor_body(&call, &service.sid, &factor),
    ))
}

/// `DELETE .../Factors/{sid}`: 204.
pub async fn delete_factor(
    State(state): State<AppState>,
    Path((sid, identity, factor)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    state
        .domain
        .delete_factor(&call.app, &service, &identity, &factor)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize)]
struct FactorList<'a> {
    factors: Vec<FactorBody<'a>>,
    meta: super::Meta,
}

/// `GET .../Entities/{identity}/Factors`.
pub async fn list_factors(
    State(state): State<AppState>,
    Path((sid, identity)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let page = Page::of(&call.form)?;
    let factors = state
        .domain
        .factors(&call.app, &service, &identity, page.after, page.size + 1)
        .await
        .map_err(|e| call.fail(e))?;
    let (factors, last) = page.cut(factors, |f| f.seq);
    let list_url = format!("{}/Factors", entity_url(&call, &service.sid, &identity));
    let meta = page.meta(&list_url, "factors", last);
    Ok(reply(
        StatusCode::OK,
        &FactorList {
            factors: factors
                .iter()
                .map(|f| factor_body(&call, &service.sid, f))
                .collect(),
            meta,
        },
    ))
}

// ---------------------------------------------------------------- challenges

#[derive(Serialize)]
struct ChallengeLinks {
    notifications: String,
}

#[derive(Serialize)]
struct ChallengeBody<'a> {
    sid: &'a str,
    account_sid: &'a str,
    service_sid: &'a str,
    entity_sid: &'a str,
    identity: &'a str,
    factor_sid: &'a str,
    date_created: String,
    date_updated: String,
    date_responded: Option<String>,
    expiration_date: String,
    status: &'static str,
    responded_reason: &'static str,
    details: &'a Value,
    hidden_details: &'a Value,
    metadata: &'a Value,
    factor_type: &'static str,
    url: String,
    links: ChallengeLinks,
}

fn challenge_body<'a>(call: &'a Call, service: &'a str, c: &'a Challenge) -> ChallengeBody<'a> {
    let url = format!(
        "{}/Challenges/{}",
        entity_url(call, service, &c.identity),
        c.sid
    );
    ChallengeBody {
        sid: &c.sid,
        account_sid: &call.account_sid,
        service_sid: service,
        entity_sid: &c.entity_sid,
        identity: &c.identity,
        factor_sid: &c.factor_sid,
        date_created: date(c.created_at),
        date_updated: date(c.updated_at),
        date_responded: c.responded_at.map(date),
        expiration_date: date(c.expires_at),
        status: c.status.as_str(),
        responded_reason: "none",
        details: &c.details["details"],
        hidden_details: &c.details["hidden_details"],
        metadata: &c.details["metadata"],
        factor_type: "totp",
        links: ChallengeLinks {
            notifications: format!("{url}/Notifications"),
        },
        url,
    }
}

/// A JSON object given as a string parameter, at most `max` bytes.
fn object(call: &Call, name: &str, max: usize) -> Result<Value, VerifyError> {
    match call.form.text(name) {
        None => Ok(Value::Null),
        Some(text) if text.len() > max => Err(VerifyError::parameter(name)),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => Ok(value),
            _ => Err(VerifyError::parameter(name)),
        },
    }
}

/// `POST .../Entities/{identity}/Challenges`: 201 (`approved` with a right
/// `AuthPayload`, else `pending`).
pub async fn create_challenge(
    State(state): State<AppState>,
    Path((sid, identity)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let f = &call.form;
    let factor = f.required("FactorSid", 34)?;
    let expires = match f.text("ExpirationDate") {
        None => None,
        Some(text) => {
            Some(parse_date(text).ok_or_else(|| VerifyError::parameter("ExpirationDate"))?)
        }
    };
    let message = f.short("Details.Message", 256)?;
    let mut fields = Vec::new();
    for text in f.all("Details.Fields") {
        if fields.len() >= 20 || text.len() > 200 {
            return Err(VerifyError::parameter("Details.Fields"));
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => fields.push(value),
            _ => return Err(VerifyError::parameter("Details.Fields")),
        }
    }
    let details = if message.is_some() || !fields.is_empty() {
        serde_json::json!({ "message": message, "fields": fields })
    } else {
        Value::Null
    };
    let stored = serde_json::json!({
        "details": details,
        "hidden_details": object(&call, "HiddenDetails", 1024)?,
        "metadata": Value::Null,
    });
    let code = f.short("AuthPayload", 16)?;
    let challenge = state
        .domain
        .create_challenge(
            &call.app,
            &service,
            &identity,
            &factor,
            code.as_deref(),
            expires,
            stored,
            call.now,
        )
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(
        StatusCode::CREATED,
        &challenge_body(&call, &service.sid, &challenge),
    ))
}

/// `GET .../Challenges/{sid}`.
pub async fn fetch_challenge(
    State(state): State<AppState>,
    Path((sid, identity, challenge)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let challenge = state
        .domain
        .challenge(&call.app, &service, &identity, &challenge, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(
        StatusCode::OK,
        &challenge_body(&call, &service.sid, &challenge),
    ))
}

/// `POST .../Challenges/{sid}` with `AuthPayload`: `approved` when right,
/// `pending` when wrong; 403 / 60323 once expired.
pub async fn update_challenge(
    State(state): State<AppState>,
    Path((sid, identity, challenge)): Path<(String, String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let code = call.form.required("AuthPayload", 16)?;
    let challenge = state
        .domain
        .answer_challenge(&call.app, &service, &identity, &challenge, &code, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    Ok(reply(
        StatusCode::OK,
        &challenge_body(&call, &service.sid, &challenge),
    ))
}

#[derive(Serialize)]
struct ChallengeList<'a> {
    challenges: Vec<ChallengeBody<'a>>,
    meta: super::Meta,
}

/// `GET .../Entities/{identity}/Challenges` with `FactorSid`, `Status`
/// and `Order` filters.
pub async fn list_challenges(
    State(state): State<AppState>,
    Path((sid, identity)): Path<(String, String)>,
    call: Call,
) -> Result<Response, VerifyError> {
    let service = call.service(&state, &sid).await?;
    let page = Page::of(&call.form)?;
    let f = &call.form;
    let status = match f.text("Status") {
        None => None,
        Some("pending") => Some(ChallengeStatus::Pending),
        Some("approved") => Some(ChallengeStatus::Approved),
        Some("denied") => Some(ChallengeStatus::Denied),
        Some("expired") => Some(ChallengeStatus::Expired),
        Some(_) => return Err(VerifyError::parameter("Status")),
    };
    let descending = match f.text("Order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(VerifyError::parameter("Order")),
    };
    let query = ChallengeQuery {
        factor_sid: f.short("FactorSid", 34)?,
        status,
        descending,
        after: (page.after != 0).then_some(page.after),
        limit: page.size + 1,
    };
    let challenges = state
        .domain
        .challenges(&call.app, &service, &identity, query, call.now)
        .await
        .map_err(|e| call.fail(e))?;
    let (challenges, last) = page.cut(challenges, |c| c.seq);
    let list_url = format!("{}/Challenges", entity_url(&call, &service.sid, &identity));
    let meta = page.meta(&list_url, "challenges", last);
    Ok(reply(
        StatusCode::OK,
        &ChallengeList {
            challenges: challenges
                .iter()
                .map(|c| challenge_body(&call, &service.sid, c))
                .collect(),
            meta,
        },
    ))
}
