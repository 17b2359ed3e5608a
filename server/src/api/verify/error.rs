//! The Verify surface's errors: Twilio's body
//! `{"code":N,"message":M,"more_info":"https://www.twilio.com/docs/errors/N","status":S}`,
//! and the mapping of the domain's refusals to it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{Error, Feature, Limit};

/// Twilio answers `application/json`, with no charset.
pub const JSON: &str = "application/json";

/// An error as the Verify surface answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// Twilio's error code.
    pub code: u32,
    /// The HTTP status.
    pub status: StatusCode,
    /// The message.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: u32,
    message: &'a str,
    more_info: String,
    status: u16,
}

impl VerifyError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
        }
    }

    /// 400 / 60200 naming the parameter.
    #[must_use]
    pub fn parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            60200,
            format!("Invalid parameter: {name}"),
        )
    }

    /// 400 / 60200 saying what about the request.
    #[must_use]
    pub fn invalid(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            60200,
            format!("Invalid parameter: {what}"),
        )
    }

    /// 401 / 20003.
    #[must_use]
    pub fn authenticate() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 20003, "Authenticate")
    }

    /// 404 / 20404 for the resource at `path` (without `/v2`).
    #[must_use]
    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            20404,
            format!("The requested resource {path} was not found"),
        )
    }

    /// 404 / 20404 for a Twilio resource this server does not serve.
    #[must_use]
    pub fn unsupported(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            20404,
            format!("The requested resource {path} was not found: this server does not support it"),
        )
    }

    /// 405 / 20004.
    #[must_use]
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 20004, "Method not allowed")
    }

    /// 400 / 60223.
    #[must_use]
    pub fn channel_disabled() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 60223, "Delivery channel disabled")
    }

    /// 400 / 60217: the e-mail channel without a mailer.
    #[must_use]
    pub fn no_mailer() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            60217,
            "A Mailer must be associated with the Service",
        )
    }

    /// 400 / 60441.
    #[must_use]
    pub fn illegal_status() -> Self {
        Self::new(StatusCode::BAD_REQUEST, 60441, "Illegal status")
    }

    /// The domain's refusal `error`, on the resource at `path`.
    #[must_use]
    pub fn from_domain(error: Error, path: &str) -> Self {
        match error {
            Error::Invalid { name, .. } => Self::parameter(name),
            Error::InvalidPhone => Self::parameter("To"),
            Error::Disabled(Feature::Email) => Self::no_mailer(),
            Error::Disabled(Feature::Sms | Feature::Calls) => Self::channel_disabled(),
            Error::Limited(
                Limit::VerificationSends | Limit::DestinationBurst | Limit::DestinationDaily,
            ) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                60203,
                "Max send attempts reached",
            ),
            Error::Limited(Limit::VerificationChecks) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                60202,
                "Max check attempts reached",
            ),
            Error::Limited(Limit::FactorVerifications) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                60310,
                "Factor verification attempts reached",
            ),
            Error::Conflict("Factor") => {
                Self::new(StatusCode::CONFLICT, 60317, "Factor already exists")
            }
            Error::Conflict("RateLimit") => Self::new(
                StatusCode::CONFLICT,
                60208,
                "A Rate Limit with this UniqueName already exists",
            ),
            Error::Conflict("Bucket") => Self::new(
                StatusCode::CONFLICT,
                60211,
                "A Bucket with this Interval already exists",
            ),
            Error::Conflict(_) => Self::new(StatusCode::CONFLICT, 60304, "Entity already exists"),
            Error::FactorUnverified => {
                Self::new(StatusCode::FORBIDDEN, 60318, "Factor is unverified")
            }
            Error::ChallengeExpired => Self::new(StatusCode::FORBIDDEN, 60323, "Challenge expired"),
            Error::ChallengeAnswered => Self::new(
                StatusCode::BAD_REQUEST,
                60322,
                "Challenge already responded",
            ),
            Error::Limited(_) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, 20429, "Too many requests")
            }
            Error::NotFound | Error::UserNotFound | Error::NoPendingVerification(_) => {
                Self::not_found(path)
            }
            Error::NotDelivered(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                60008,
                "Unable to send the verification: try again later",
            ),
            Error::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                20503,
                "Service unavailable: try again later",
            ),
            Error::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                20500,
                "Internal server error",
            ),
            _ => Self::invalid("the request"),
        }
    }

    /// The JSON body.
    #[must_use]
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&Body {
            code: self.code,
            message: &self.message,
            more_info: format!("https://www.twilio.com/docs/errors/{}", self.code),
            status: self.status.as_u16(),
        })
        .unwrap_or_default()
    }
}

impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            // The SDKs ask again with credentials only after a challenge.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_twilios_keys_in_twilios_order() {
        // The 429 example of twilio_verify_v2.json (createVerificationRateLimitExceeded).
        let example = r#"{"code":20429,"message":"Too many requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}"#;
        let error = VerifyError::from_domain(Error::Limited(Limit::ApplicationSends), "/x");
        assert_eq!(String::from_utf8(error.body()).unwrap(), example);
        let sends = VerifyError::from_domain(Error::Limited(Limit::VerificationSends), "/x");
        assert_eq!((sends.status.as_u16(), sends.code), (429, 60203));
        let checks = VerifyError::from_domain(Error::Limited(Limit::VerificationChecks), "/x");
        assert_eq!((checks.status.as_u16(), checks.code), (429, 60202));
        let gone = VerifyError::from_domain(Error::NotFound, "/Services/VA1/VerificationCheck");
        assert_eq!(
            gone.message,
            "The requested resource /Services/VA1/VerificationCheck was not found"
        );
    }
}
