//! Verify's attempts: each send of a verification's code, recorded when it
//! is sent and marked converted when its verification is approved, listed
//! and summed up by `/v2/Attempts`. The number is kept masked, with a keyed
//! tag to find it by.

use super::*;
use crate::store::{AttemptFilter, AttemptRow, Conversion};

/// How many conversions wait for a flush at most.
const MAX_PENDING_CONVERSIONS: usize = 100_000;

/// How many conversions one write marks at most.
const CONVERSION_BATCH: usize = 1_000;

/// Which attempts a list or a summary counts.
#[derive(Debug, Clone, Default)]
pub struct AttemptQuery {
    /// Of this service.
    pub service_sid: Option<String>,
    /// Of this verification.
    pub verification_sid: Option<String>,
    /// By this channel (`sms`, `call`).
    pub channel: Option<String>,
    /// To this region (ISO 3166 alpha-2).
    pub country: Option<String>,
    /// To this number (E.164).
    pub to: Option<String>,
    /// Converted (true) or not (false).
    pub converted: Option<bool>,
    /// Sent at or after (Unix seconds).
    pub created_after: Option<u64>,
    /// Sent before (Unix seconds).
    pub created_before: Option<u64>,
}

/// One attempt as the surface shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyAttempt {
    /// `VL` and 32 hex digits.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// Its verification.
    pub verification_sid: String,
    /// `sms` or `call`.
    pub channel: String,
    /// The number's region.
    pub country: String,
    /// The number, masked.
    pub masked_to: String,
    /// Digits of the code.
    pub code_length: u8,
    /// The message's language.
    pub locale: String,
    /// Whether its verification was approved.
    pub converted: bool,
    /// When it was sent.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
    /// Its place in the list.
    pub seq: i64,
}

fn view(row: AttemptRow) -> VerifyAttempt {
    VerifyAttempt {
        sid: row.sid,
        service_sid: row.service_sid,
        verification_sid: row.verification_sid,
        channel: row.channel,
        country: row.country,
        masked_to: row.masked_to,
        code_length: u8::try_from(row.code_length).unwrap_or(0),
        locale: row.locale,
        converted: row.converted,
        created_at: u64::try_from(row.created_at).unwrap_or(0),
        updated_at: u64::try_from(row.updated_at).unwrap_or(0),
        seq: row.seq,
    }
}

/// Where a send went, as its attempt records it.
pub(super) struct SentTo {
    /// The number's region (`US`), `ZZ` for an e-mail address.
    pub(super) country: String,
    /// The destination, masked.
    pub(super) masked: String,
    /// What its tag is made of: the number in E.164, the address in lower
    /// case.
    pub(super) tagged: String,
}

impl Domain {
    /// The tag a destination's attempts are found by.
    pub(super) fn number_tag(&self, e164: &str) -> String {
        hex::encode(
            &self.keyed_tag(b"passcode-server attempt number v1\0", &[e164.as_bytes()])[..16],
        )
    }

    /// Records the last send of `verification` to `to`. A failure is
    /// logged, never the request's: the code went out.
    pub(super) async fn record_send(
        &self,
        app: &App,
        verification: &Verification,
        to: &SentTo,
        digits: u8,
        lang: Lang,
        now: u64,
    ) {
        let Some(last) = verification.attempts.last() else {
            return;
        };
        let row = AttemptRow {
            seq: 0,
            sid: last.sid.clone(),
            app_id: app.id,
            service_sid: verification.service_sid.clone(),
            verification_sid: verification.sid.clone(),
            channel: match last.channel {
                Channel::Sms => "sms",
                Channel::Call => "call",
                Channel::Email => "email",
            }
            .to_owned(),
            country: to.country.clone(),
            masked_to: to.masked.clone(),
            to_tag: self.number_tag(&to.tagged),
            code_length: i64::from(digits),
            locale: lang.tag().to_owned(),
            converted: false,
            created_at: now_i64(now),
            updated_at: now_i64(now),
        };
        if let Err(e) = self.store.record_attempt(&row).await {
            tracing::warn!(app_id = app.id, error = %e, "a Verify attempt was not recorded");
        }
    }

    /// Marks a verification's sends converted (it was approved). Like a
    /// counter, a conversion is a statistic, not a decision: it gathers
    /// here and reaches the database with the counters (every second, at
    /// shutdown, and before the attempts are read), so an approval waits
    /// for one durable write, its state's, not two. A crash loses at most
    /// a second of conversions. Past `MAX_PENDING_CONVERSIONS` waiting
    /// (a database down for long), new ones are dropped with a warning
    /// rather than held without bound.
    pub(super) fn record_conversion(&self, app: &App, verification_sid: &str, now: u64) {
        let conversion = Conversion {
            app_id: app.id,
            verification_sid: verification_sid.to_owned(),
            at: now_i64(now),
        };
        if let Ok(mut pending) = self.conversions.lock()
            && pending.len() < MAX_PENDING_CONVERSIONS
        {
            pending.push(conversion);
            return;
        }
        // One line an interval, however many it drops.
        static LOG: crate::telemetry::SharedEvery =
            crate::telemetry::SharedEvery::new(std::time::Duration::from_secs(10));
        if let Some(dropped) = LOG.due() {
            tracing::warn!(
                dropped,
                "Verify conversions were not recorded: too many wait"
            );
        }
    }

    fn attempt_filter(&self, query: &AttemptQuery) -> AttemptFilter {
        AttemptFilter {
            service_sid: query.service_sid.clone(),
            verification_sid: query.verification_sid.clone(),
            channel: query.channel.clone(),
            country: query.country.clone(),
            to_tag: query
                .to
                .as_deref()
                .map(|to| self.number_tag(&to.to_ascii_lowercase())),
            converted: query.converted,
            created_after: query.created_after.map(now_i64),
            created_before: query.created_before.map(now_i64),
        }
    }

    /// The attempt `sid`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn attempt(&self, app: &App, sid: &str) -> Result<VerifyAttempt, Error> {
        self.flush_statistics().await;
        self.store
            .attempt(app.id, sid)
            .await?
            .map(view)
            .ok_or(Error::NotFound)
    }

    /// Up to `limit` of the application's attempts after place `after`.
    ///
    /// # Errors
    /// A store failure.
    pub async fn attempts(
        &self,
        app: &App,
        query: &AttemptQuery,
        after: i64,
        limit: u32,
    ) -> Result<Vec<VerifyAttempt>, Error> {
        self.flush_statistics().await;
        Ok(self
            .store
            .attempts(app.id, &self.attempt_filter(query), after, limit)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// How many attempts the query matches, and how many converted.
    ///
    /// # Errors
    /// A store failure.
    pub async fn attempts_summary(
        &self,
        app: &App,
        query: &AttemptQuery,
    ) -> Result<(u64, u64), Error> {
        self.flush_statistics().await;
        let (total, converted) = self
            .store
            .attempt_totals(app.id, &self.attempt_filter(query))
            .await?;
        Ok((
            u64::try_from(total).unwrap_or(0),
            u64::try_from(converted).unwrap_or(0),
        ))
    }
}

/// Writes `conversions`, a bounded batch a write; from a failed write on,
/// they wait in `waiting` for the next flush (as many as it has room for).
pub(super) async fn write_conversions(
    store: &dyn Store,
    waiting: &std::sync::Mutex<Vec<Conversion>>,
    conversions: &[Conversion],
) {
    for (i, batch) in conversions.chunks(CONVERSION_BATCH).enumerate() {
        if store.convert_attempts(batch).await.is_err() {
            // The store logs why, once an interval.
            if let Ok(mut waiting) = waiting.lock() {
                let rest = &conversions[i * CONVERSION_BATCH..];
                let room = MAX_PENDING_CONVERSIONS.saturating_sub(waiting.len());
                waiting.extend(rest.iter().take(room).cloned());
            }
            return;
        }
    }
}
