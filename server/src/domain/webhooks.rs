//! Verify webhooks: which factor and challenge events a service's
//! application hears of, and where; each event is signed with the
//! account's auth token (kept sealed once the server has seen it) and
//! delivered through the events outbox, off the request path.

use serde::{Deserialize, Serialize};

use super::accounts::{new_sid, sid_bytes};
use super::services::VerifyService;
use super::*;
use crate::sender::events::{Event, twilio_signature};
use crate::store::WebhookRow;

/// The events a webhook can ask for (`*`: all of them).
pub const EVENT_TYPES: [&str; 6] = [
    "*",
    "factor.created",
    "factor.verified",
    "factor.deleted",
    "challenge.approved",
    "challenge.denied",
];

/// A webhook's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSettings {
    /// Its name.
    pub friendly_name: String,
    /// The events it is sent.
    pub event_types: Vec<String>,
    /// Whether it is sent anything.
    pub enabled: bool,
    /// `v1` or `v2`.
    pub version: String,
    /// Where.
    pub webhook_url: String,
}

impl WebhookSettings {
    fn check(self) -> Result<Self, Error> {
        let bad = |name, reason: &str| Error::Invalid {
            name,
            reason: reason.into(),
        };
        let name = self.friendly_name.chars().count();
        if name == 0 || name > 64 {
            return Err(bad("FriendlyName", "1 to 64 characters"));
        }
        if self.event_types.is_empty()
            || self.event_types.len() > EVENT_TYPES.len()
            || !self
                .event_types
                .iter()
                .all(|t| EVENT_TYPES.contains(&t.as_str()))
        {
            return Err(bad("EventTypes", "factor and challenge events, or *"));
        }
        if !matches!(self.version.as_str(), "v1" | "v2") {
            return Err(bad("Version", "v1 or v2"));
        }
        let url = &self.webhook_url;
        let scheme = url.starts_with("https://") || url.starts_with("http://");
        if !scheme || url.len() > 512 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "WebhookUrl",
                "an http or https URL of 512 characters at most",
            ));
        }
        Ok(self)
    }

    fn wants(&self, event: &str) -> bool {
        self.enabled && self.event_types.iter().any(|t| t == "*" || t == event)
    }
}

/// A webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `YW` and 32 hex digits.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// Its settings.
    pub settings: WebhookSettings,
    /// When it was created.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
    /// Its place in the list.
    pub seq: i64,
}

fn webhook_view(row: WebhookRow) -> Result<Webhook, Error> {
    Ok(Webhook {
        settings: serde_json::from_str(&row.settings).map_err(|_| Error::Internal)?,
        sid: row.sid,
        service_sid: row.service_sid,
        created_at: u64::try_from(row.created_at).unwrap_or(0),
        updated_at: u64::try_from(row.updated_at).unwrap_or(0),
        seq: row.seq,
    })
}

/// The association data an account's auth token is sealed with.
pub(super) fn token_context(app_id: i64) -> Vec<u8> {
    let mut context = b"passcode-server account token v1:".to_vec();
    context.extend_from_slice(&app_id.to_be_bytes());
    context
}

/// What a factor or challenge event says.
#[derive(Debug, Clone)]
pub(super) struct EventFacts<'a> {
    pub(super) identity: &'a str,
    pub(super) factor_sid: &'a str,
    pub(super) factor_name: &'a str,
    pub(super) challenge_sid: Option<&'a str>,
}

impl Domain {
    /// Creates a webhook.
    ///
    /// # Errors
    /// [`Error::Invalid`].
    pub async fn create_webhook(
        &self,
        app: &App,
        service: &VerifyService,
        settings: WebhookSettings,
        now: u64,
    ) -> Result<Webhook, Error> {
        let settings = settings.check()?;
        let row = WebhookRow {
            seq: 0,
            sid: new_sid("YW"),
            app_id: app.id,
            service_sid: service.sid.clone(),
            settings: serde_json::to_string(&settings).map_err(|_| Error::Internal)?,
            created_at: now_i64(now),
            updated_at: now_i64(now),
        };
        self.store.create_webhook(&row).await?;
        self.webhook(app, service, &row.sid).await
    }

    /// The webhook `sid` of a service.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn webhook(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
    ) -> Result<Webhook, Error> {
        if sid_bytes("YW", sid).is_none() {
            return Err(Error::NotFound);
        }
        let row = self
            .store
            .webhook(app.id, &service.sid, sid)
            .await?
            .ok_or(Error::NotFound)?;
        webhook_view(row)
    }

    /// Up to `limit` of a service's webhooks after place `after`.
    ///
    /// # Errors
    /// A store failure.
    pub async fn webhooks(
        &self,
        app: &App,
        service: &VerifyService,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Webhook>, Error> {
        self.store
            .webhooks(app.id, &service.sid, after, limit)
            .await?
            .into_iter()
            .map(webhook_view)
            .collect()
    }

    /// Changes a webhook: `change` edits its settings, which are checked.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`].
    pub async fn update_webhook(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
        change: impl FnOnce(&mut WebhookSettings),
        now: u64,
    ) -> Result<Webhook, Error> {
        let mut settings = self.webhook(app, service, sid).await?.settings;
        change(&mut settings);
        let settings = settings.check()?;
        let json = serde_json::to_string(&settings).map_err(|_| Error::Internal)?;
        if !self
            .store
            .update_webhook(app.id, sid, &json, now_i64(now))
            .await?
        {
            return Err(Error::NotFound);
        }
        self.webhook(app, service, sid).await
    }

    /// Deletes a webhook.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_webhook(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
    ) -> Result<(), Error> {
        self.webhook(app, service, sid).await?;
        if !self.store.delete_webhook(app.id, sid).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Sends `event` to each webhook of the service that asks for it,
    /// signed with the account's auth token. Never fails the request that
    /// caused it: what goes wrong is logged.
    pub(super) async fn emit(
        &self,
        app: &App,
        service: &VerifyService,
        event: &str,
        facts: EventFacts<'_>,
    ) {
        let Some(events) = &self.events else { return };
        let result: Result<(), Error> = async {
            let hooks = self.webhooks(app, service, 0, 100).await?;
            let hooks: Vec<_> = hooks.into_iter().filter(|h| h.settings.wants(event)).collect();
            if hooks.is_empty() {
                return Ok(());
            }
            let account = self.store.account(app.id).await?.ok_or(Error::NotFound)?;
            let Some(sealed) = &account.sealed_token else {
                tracing::warn!(
                    app_id = app.id,
                    event,
                    "a Verify webhook was not sent: the account's auth token has not been used on this server since it was made, so there is nothing to sign with"
                );
                return Ok(());
            };
            let token = self
                .key
                .open(sealed, &token_context(app.id))
                .ok_or(Error::Internal)?;
            let token = std::str::from_utf8(&token).map_err(|_| Error::Internal)?;
            let mut uuid = [0u8; 16];
            rand::rng().fill_bytes(&mut uuid);
            let mut params = vec![
                (
                    "uuid".to_owned(),
                    uuid::Builder::from_random_bytes(uuid).into_uuid().to_string(),
                ),
                ("type".to_owned(), event.to_owned()),
                ("account_sid".to_owned(), account.sid.clone()),
                ("service_sid".to_owned(), service.sid.clone()),
                ("entity_identity".to_owned(), facts.identity.to_owned()),
                ("factor_sid".to_owned(), facts.factor_sid.to_owned()),
                ("factor_type".to_owned(), "totp".to_owned()),
                ("factor_friendly_name".to_owned(), facts.factor_name.to_owned()),
            ];
            if let Some(challenge) = facts.challenge_sid {
                params.push(("challenge_sid".to_owned(), challenge.to_owned()));
            }
            for hook in hooks {
                let url = hook.settings.webhook_url;
                let signature = twilio_signature(token, &url, &params);
                let queued = events.enqueue(Event {
                    app_id: app.id,
                    url,
                    params: params.clone(),
                    signature,
                });
                if let Err(e) = queued {
                    tracing::warn!(app_id = app.id, event, error = %e, "a Verify webhook was not queued");
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(app_id = app.id, event, error = ?e, "a Verify webhook was not sent");
        }
    }
}
