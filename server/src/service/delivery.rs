//! Sending: the destination's and the application's send limits, the
//! message in the user's language, and the verifier of SMS codes.

use super::*;

impl Service {
    /// Takes a unit of the destination's limits. The narrowest limits come
    /// first and the application's last ([`take_app_send`]), after the
    /// user's own resend limit too: a request refused for one number
    /// consumes nothing of the application's quota, so a flood of resends
    /// to one number cannot stop the application's other sends.
    ///
    /// [`take_app_send`]: Self::take_app_send
    pub(super) async fn take_destination_limits(
        &self,
        app: &App,
        e164: &str,
        now: u64,
    ) -> Result<(), ApiError> {
        let l = self.limits;
        self.take(
            &format!("app:{}:dest:{e164}:burst", app.id),
            l.destination_burst,
            now,
            "Too many messages sent to this number: try again later",
        )
        .await?;
        self.take(
            &format!("app:{}:dest:{e164}:day", app.id),
            l.destination_daily,
            now,
            "Too many messages sent to this number today",
        )
        .await
    }

    /// Takes a unit of the application's send quota: the last limit a send
    /// passes before its delivery.
    pub(super) async fn take_app_send(&self, app: &App, now: u64) -> Result<(), ApiError> {
        self.take(
            &format!("app:{}:sends", app.id),
            self.limits.app_sends,
            now,
            "Too many messages sent by this application: try again later",
        )
        .await
    }

    pub(super) async fn deliver(
        &self,
        app: &App,
        to: &str,
        channel: Channel,
        lang: Lang,
        custom: Option<&str>,
        code: &Code,
    ) -> Result<(), ApiError> {
        let body = match (custom, channel) {
            (Some(template), _) => messages::custom(template, code.as_str()),
            (None, Channel::Sms) => lang.sms(&app.name, code.as_str()),
            (None, Channel::Call) => lang.voice(&app.name, code.as_str()),
        };
        let message = Message {
            app_id: app.id,
            to: to.to_owned(),
            channel,
            locale: lang.tag(),
            body,
            code: code.as_str().to_owned(),
        };
        let label = match channel {
            Channel::Sms => "sms",
            Channel::Call => "call",
        };
        let sent = self.sender.send(&message).await;
        crate::telemetry::message(label, if sent.is_ok() { "accepted" } else { "refused" });
        sent.map_err(|e| {
            tracing::warn!(error = %e, app_id = app.id, "delivery failed");
            match channel {
                Channel::Sms => ApiError::SmsNotSent,
                Channel::Call => ApiError::CallNotStarted,
            }
        })
    }

    /// The verifier of codes of `digits` digits valid for `validity`
    /// seconds. Both come from validated input or from stored state, so a
    /// refusal here is a fault, not a bad request.
    pub(super) fn verifier(&self, digits: u8, validity: u64) -> Result<SmsVerifier, ApiError> {
        let key = Secret::from_bytes(self.key.sms_key()).map_err(|_| ApiError::Internal)?;
        let policy = SmsPolicy::new()
            .with_digits(digits)
            .and_then(|p| p.with_validity(validity))
            .map_err(|_| ApiError::Internal)?;
        SmsVerifier::new(&key, policy).map_err(|_| ApiError::Internal)
    }
}
