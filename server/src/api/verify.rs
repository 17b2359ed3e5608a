//! The Twilio Verify v2 surface, under `/v2`: HTTP Basic auth with an
//! application's account SID and auth token, form-encoded parameters,
//! Twilio's JSON bodies (fields in Twilio's order, absolute URLs on the
//! server's public base) and its error body, with its own fallback.

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Serialize;

use super::AppState;
use crate::store::App;
use crate::telemetry;

pub mod attempts;
pub mod error;
pub mod factors;
pub mod form;
pub mod rate_limits;
pub mod services;
pub mod verifications;
pub mod webhooks;

use error::{JSON, VerifyError};
use form::{BODY_LIMIT, Form};

/// The surface's routes, nested under `/v2`, with its own fallback.
pub(super) fn router() -> Router<AppState> {
    let v2 = Router::new()
        .route("/Templates", get(templates))
        .route("/Attempts", get(attempts::list))
        .route("/Attempts/Summary", get(attempts::summary))
        .route("/Attempts/{sid}", get(attempts::fetch))
        .route("/Services", post(services::create).get(services::list))
        .route(
            "/Services/{sid}",
            get(services::fetch)
                .post(services::update)
                .delete(services::delete),
        )
        .route("/Services/{sid}/Verifications", post(verifications::create))
        .route(
            "/Services/{sid}/Verifications/{ve}",
            get(verifications::fetch).post(verifications::update),
        )
        .route(
            "/Services/{sid}/VerificationCheck",
            post(verifications::check),
        )
        .route(
            "/Services/{sid}/RateLimits",
            post(rate_limits::create).get(rate_limits::list),
        )
        .route(
            "/Services/{sid}/RateLimits/{rk}",
            get(rate_limits::fetch)
                .post(rate_limits::update)
                .delete(rate_limits::delete),
        )
        .route(
            "/Services/{sid}/RateLimits/{rk}/Buckets",
            post(rate_limits::create_bucket).get(rate_limits::list_buckets),
        )
        .route(
            "/Services/{sid}/RateLimits/{rk}/Buckets/{bl}",
            get(rate_limits::fetch_bucket)
                .post(rate_limits::update_bucket)
                .delete(rate_limits::delete_bucket),
        )
        .route(
            "/Services/{sid}/Webhooks",
            post(webhooks::create).get(webhooks::list),
        )
        .route(
            "/Services/{sid}/Webhooks/{yw}",
            get(webhooks::fetch)
                .post(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(
            "/Services/{sid}/Entities",
            post(factors::create_entity).get(factors::list_entities),
        )
        .route(
            "/Services/{sid}/Entities/{identity}",
            get(factors::fetch_entity).delete(factors::delete_entity),
        )
        .route(
            "/Services/{sid}/Entities/{identity}/Factors",
            post(factors::create_factor).get(factors::list_factors),
        )
        .route(
            "/Services/{sid}/Entities/{identity}/Factors/{factor}",
            get(factors::fetch_factor)
                .post(factors::update_factor)
                .delete(factors::delete_factor),
        )
        .route(
            "/Services/{sid}/Entities/{identity}/Challenges",
            post(factors::create_challenge).get(factors::list_challenges),
        )
        .route(
            "/Services/{sid}/Entities/{identity}/Challenges/{challenge}",
            get(factors::fetch_challenge).post(factors::update_challenge),
        )
        .route_layer(axum::middleware::from_fn(telemetry::measure))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new().nest("/v2", v2)
}

async fn not_found(request: Request) -> VerifyError {
    tracing::Span::current().record("route", "unmatched");
    telemetry::count_request("unmatched".into(), StatusCode::NOT_FOUND.as_u16());
    // The path as Twilio names it, without `/v2`, bounded and printable.
    let path: String = request
        .uri()
        .path()
        .trim_start_matches("/v2")
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(200)
        .collect();
    // Twilio's resources with no self-hosted meaning: still 404 / 20404,
    // which both SDKs raise as such, with a message that says why.
    let unsupported = [
        "/MessagingConfigurations",
        "/AccessTokens",
        "/Notifications",
        "/Passkeys",
    ]
    .iter()
    .any(|part| path.contains(part))
        || ["/SafeList", "/Forms"].iter().any(|p| path.starts_with(p));
    if unsupported {
        return VerifyError::unsupported(&path);
    }
    VerifyError::not_found(&path)
}

#[derive(Serialize)]
struct Templates {
    templates: [(); 0],
    meta: Meta,
}

/// `GET /v2/Templates`: none (messages are the server's own, in each
/// language it has).
async fn templates(call: Call) -> Result<Response, VerifyError> {
    let page = Page::of(&call.form)?;
    let meta = page.meta(&call.url("/Templates"), "templates", None);
    Ok(reply(
        StatusCode::OK,
        &Templates {
            templates: [],
            meta,
        },
    ))
}

async fn method_not_allowed() -> VerifyError {
    VerifyError::method_not_allowed()
}

/// An authenticated Verify call: its application and account, parameters,
/// time, the base its URLs are written on, and its path (for 404s).
#[derive(Debug)]
pub struct Call {
    /// The application the account belongs to.
    pub app: App,
    /// The account SID, as the bodies give it.
    pub account_sid: String,
    /// The query and form parameters.
    pub form: Form,
    /// The time, read once.
    pub now: u64,
    /// `http(s)://host[/prefix]`, without a trailing `/`.
    pub base: String,
    /// The request's path without `/v2`, as Twilio's 404 names it.
    pub path: String,
}

impl Call {
    /// The domain's refusal as this surface answers it.
    #[must_use]
    pub fn fail(&self, error: crate::domain::Error) -> VerifyError {
        VerifyError::from_domain(error, &self.path)
    }

    /// The application's Verify service `sid`, or this surface's 404.
    ///
    /// # Errors
    /// 404 / 20404.
    pub async fn service(
        &self,
        state: &AppState,
        sid: &str,
    ) -> Result<crate::domain::VerifyService, VerifyError> {
        state
            .domain
            .verify_service(&self.app, sid)
            .await
            .map_err(|e| self.fail(e))
    }

    /// `{base}/v2{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2{path}", self.base)
    }
}

/// `user:password` of an HTTP Basic `Authorization` header.
fn basic(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?;
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 1024 {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

impl FromRequest<AppState> for Call {
    type Rejection = VerifyError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, VerifyError> {
        let (parts, body) = request.into_parts();
        let path: String = parts
            .uri
            .path()
            .trim_start_matches("/v2")
            .chars()
            .take(200)
            .collect();
        let (user, password) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(basic)
            .ok_or_else(VerifyError::authenticate)?;
        let (app, account_sid) = state
            .domain
            .authenticate_account(&user, &password)
            .await
            .map_err(|e| VerifyError::from_domain(e, &path))?
            .ok_or_else(VerifyError::authenticate)?;
        let bytes =
            tokio::time::timeout(state.body_timeout, axum::body::to_bytes(body, BODY_LIMIT))
                .await
                .map_err(|_| VerifyError::invalid("the body did not arrive in time"))?
                .map_err(|_| VerifyError::invalid("the body is too large or was cut off"))?;
        let form = Form::parse(parts.uri.query(), &bytes)?;
        let now = (state.clock)();
        state.domain.count_call(&app, now);
        let base = match &state.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .filter(|h| crate::api::authy::users::valid_host(h))
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        };
        Ok(Self {
            app,
            account_sid,
            form,
            now,
            base,
            path,
        })
    }
}

/// `2015-07-30T20:00:00Z`: the only form both SDKs read as a date.
#[must_use]
pub fn date(unix: u64) -> String {
    // Written digit by digit: `time`'s formatter interprets its
    // description on every call, and `format!` pads each field, for the
    // same 20 bytes at many times the instructions (two a Verify body).
    let Some(t) = i64::try_from(unix)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
    else {
        return "1970-01-01T00:00:00Z".to_owned();
    };
    let digits = |out: &mut String, value: u32, width: u32| {
        for place in (0..width).rev() {
            let digit = value / 10u32.pow(place) % 10;
            out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
    };
    let mut out = String::with_capacity(20);
    // A year from `from_unix_timestamp` is 1970 to 9999 here.
    digits(&mut out, u32::try_from(t.year()).unwrap_or(0), 4);
    for (separator, value) in [
        ('-', u8::from(t.month())),
        ('-', t.day()),
        ('T', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        out.push(separator);
        digits(&mut out, u32::from(value), 2);
    }
    out.push('Z');
    out
}

/// A JSON body with `status`.
pub fn reply<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a response did not serialize");
            VerifyError::from_domain(crate::domain::Error::Internal, "").into_response()
        }
    }
}

/// A list page's `meta`.
#[derive(Debug)]
pub struct Meta {
    page: u32,
    page_size: u32,
    first_page_url: String,
    previous_page_url: Option<String>,
    next_page_url: Option<String>,
    key: &'static str,
    url: String,
}

impl Serialize for Meta {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(7))?;
        // The attempts list names its key first.
        let key_first = self.key == "attempts";
        if key_first {
            map.serialize_entry("key", self.key)?;
        }
        map.serialize_entry("page", &self.page)?;
        map.serialize_entry("page_size", &self.page_size)?;
        map.serialize_entry("first_page_url", &self.first_page_url)?;
        map.serialize_entry("previous_page_url", &self.previous_page_url)?;
        // The examples order these two ways: `url` last for services and
        // rate limits, before `next_page_url` for the other lists.
        if matches!(self.key, "services" | "rate_limits") {
            map.serialize_entry("next_page_url", &self.next_page_url)?;
            map.serialize_entry("key", self.key)?;
            map.serialize_entry("url", &self.url)?;
        } else {
            map.serialize_entry("url", &self.url)?;
            map.serialize_entry("next_page_url", &self.next_page_url)?;
            if !key_first {
                map.serialize_entry("key", self.key)?;
            }
        }
        map.end()
    }
}

/// A page's place: its number, size and where it starts.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// The page's number (the client's own count).
    pub page: u32,
    /// Items a page, 1 to 1000 (50 by default).
    pub size: u32,
    /// The position after which it starts (0: the first page).
    pub after: i64,
}

impl Page {
    /// `PageSize`, `Page` and `PageToken` (`PT` and a position) of `form`.
    ///
    /// # Errors
    /// 60200 naming the parameter out of range.
    pub fn of(form: &Form) -> Result<Self, VerifyError> {
        let size = form.integer("PageSize", 1..=1000)?.unwrap_or(50);
        let page = form.integer("Page", 0..=1_000_000)?.unwrap_or(0);
        let after = match form.text("PageToken") {
            None => 0,
            Some(token) => token
                .strip_prefix("PT")
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| VerifyError::parameter("PageToken"))?,
        };
        Ok(Self { page, size, after })
    }

    /// `items`, read with one more than the page size, cut to the page,
    /// and the place of its last item when there is more after it.
    pub fn cut<T>(&self, mut items: Vec<T>, place: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
        let size = self.size as usize;
        let more = items.len() > size;
        items.truncate(size);
        let last = if more { items.last().map(place) } else { None };
        (items, last)
    }

    /// The `meta` of this page of the list at `list_url`; `last` is the
    /// position of its last item when there may be more.
    #[must_use]
    pub fn meta(&self, list_url: &str, key: &'static str, last: Option<i64>) -> Meta {
        let size = self.size;
        let url = match self.after {
            0 => format!("{list_url}?PageSize={size}&Page={}", self.page),
            after => format!(
                "{list_url}?PageSize={size}&Page={}&PageToken=PT{after}",
                self.page
            ),
        };
        Meta {
            page: self.page,
            page_size: size,
            first_page_url: format!("{list_url}?PageSize={size}&Page=0"),
            previous_page_url: None,
            url,
            next_page_url: last.map(|last| {
                format!(
                    "{list_url}?PageSize={size}&Page={}&PageToken=PT{last}",
                    self.page + 1
                )
            }),
            key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_the_sdks_parse_them() {
        assert_eq!(date(1_438_286_400), "2015-07-30T20:00:00Z");
        assert_eq!(date(0), "1970-01-01T00:00:00Z");
        // Every field's padding and carry, against `time`'s own formatter.
        let format =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        for unix in [
            1,
            59,
            86_399,
            951_782_400,
            1_709_251_199,
            4_102_444_800,
            253_402_300_799,
        ] {
            let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
            assert_eq!(
                date(unix.unsigned_abs()),
                t.format(&format).unwrap(),
                "{unix}"
            );
        }
        assert_eq!(date(u64::MAX), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn basic_credentials_are_read_and_bad_ones_refused() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        // "AC00000000000000000000000000000000:test-auth-token", as the SDKs sent it.
        let sent = "Basic QUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDp0ZXN0LWF1dGgtdG9rZW4=";
        assert_eq!(
            basic(&header(sent)),
            Some((
                "AC00000000000000000000000000000000".into(),
                "test-auth-token".into()
            ))
        );
        for bad in ["Bearer abc", "Basic !!!", "Basic dXNlcg==", "Basic"] {
            assert_eq!(basic(&header(bad)), None, "{bad}");
        }
    }
}
