//! Verify's TOTP challenges: created with or without a code, answered
//! once by a conditional update (a step is accepted once per factor, RFC
//! 6238 5.2), listed with filters, expired after their time.

use super::accounts::{new_sid, sid_bytes};
use super::factors::{CHALLENGE_DEFAULT_TTL, CHALLENGE_MAX_TTL, Factor, u};
use super::services::VerifyService;
use super::*;
use crate::store::{ChallengeFilter, ChallengeRow};

/// A challenge's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeStatus {
    /// Waiting for its code.
    Pending,
    /// Its code was right.
    Approved,
    /// Denied.
    Denied,
    /// Its time ran out.
    Expired,
}

impl ChallengeStatus {
    /// Its name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
}

/// A challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    /// `YC` and 32 hex digits.
    pub sid: String,
    /// Its entity.
    pub entity_sid: String,
    /// Its entity's identity.
    pub identity: String,
    /// Its factor.
    pub factor_sid: String,
    /// Its status.
    pub status: ChallengeStatus,
    /// When it was created.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
    /// When it was answered.
    pub responded_at: Option<u64>,
    /// When it expires.
    pub expires_at: u64,
    /// Details, hidden details and metadata as given.
    pub details: serde_json::Value,
    /// Its place in the entity's list.
    pub seq: i64,
}

/// Which of an entity's challenges a list shows, and from where.
#[derive(Debug, Clone, Default)]
pub struct ChallengeQuery {
    /// Only this factor's.
    pub factor_sid: Option<String>,
    /// Only with this status.
    pub status: Option<ChallengeStatus>,
    /// Newest first.
    pub descending: bool,
    /// After this place.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

impl Domain {
    fn challenge_view(
        entity: &Entity,
        factor_sid: String,
        row: ChallengeRow,
        now: u64,
    ) -> Challenge {
        let status = match row.status.as_str() {
            "approved" => ChallengeStatus::Approved,
            "denied" => ChallengeStatus::Denied,
            _ if now >= u(row.expires_at) => ChallengeStatus::Expired,
            _ => ChallengeStatus::Pending,
        };
        Challenge {
            sid: row.sid,
            entity_sid: entity.sid.clone(),
            identity: entity.identity.clone(),
            factor_sid,
            status,
            created_at: u(row.created_at),
            updated_at: u(row.updated_at),
            responded_at: row.responded_at.map(u),
            expires_at: u(row.expires_at),
            details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
            seq: row.seq,
        }
    }

    /// Creates a challenge of a verified factor, answered at once when a
    /// code comes with it (`approved` when right, `pending` when wrong).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::FactorUnverified`],
    /// [`Error::Invalid`] for an expiry past an hour.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_challenge(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        factor_sid: &str,
        code: Option<&str>,
        expires_at: Option<u64>,
        details: serde_json::Value,
        now: u64,
    ) -> Result<Challenge, Error> {
        let entity = self.entity(app, service, identity).await?;
        let factor = self.factor_of(app, &entity, factor_sid).await?;
        if !factor.verified {
            return Err(Error::FactorUnverified);
        }
        let expires_at = expires_at.unwrap_or(now + CHALLENGE_DEFAULT_TTL);
        if expires_at <= now || expires_at > now + CHALLENGE_MAX_TTL {
            return Err(Error::Invalid {
                name: "ExpirationDate",
                reason: "within the next hour".into(),
            });
        }
        let approved = match code {
            Some(code) => match self.check_factor(app, &factor, code, now).await? {
                Ok(()) => true,
                Err(Refusal::Throttled) => {
                    return Err(Error::Limited(Limit::FailedTokens));
                }
                Err(_) => false,
            },
            None => false,
        };
        let row = ChallengeRow {
            seq: 0,
            sid: new_sid("YC"),
            app_id: app.id,
            entity_seq: entity.seq,
            factor_seq: factor.seq,
            status: if approved { "approved" } else { "pending" }.into(),
            details: details.to_string(),
            created_at: now_i64(now),
            updated_at: now_i64(now),
            expires_at: now_i64(expires_at),
            responded_at: approved.then_some(now_i64(now)),
        };
        let row = self.store.create_challenge(&row).await?;
        if approved {
            self.count_later(app.id, now, Counter::Auth);
            self.emit(
                app,
                service,
                "challenge.approved",
                factor.facts(Some(&row.sid)),
            )
            .await;
        }
        Ok(Self::challenge_view(&entity, factor.sid, row, now))
    }

    async fn challenge_of(
        &self,
        app: &App,
        entity: &Entity,
        sid: &str,
        now: u64,
    ) -> Result<(Challenge, Factor), Error> {
        if sid_bytes("YC", sid).is_none() {
            return Err(Error::NotFound);
        }
        let row = self
            .store
            .challenge(app.id, entity.seq, sid)
            .await?
            .ok_or(Error::NotFound)?;
        let factors = self
            .store
            .factors(app.id, entity.seq, row.factor_seq - 1, 1)
            .await?;
        let factor_row = factors
            .into_iter()
            .find(|f| f.seq == row.factor_seq)
            .ok_or(Error::NotFound)?;
        let factor = Self::factor_view(entity, factor_row)?;
        Ok((
            Self::challenge_view(entity, factor.sid.clone(), row, now),
            factor,
        ))
    }

    /// The challenge `sid` of `identity`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn challenge(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        sid: &str,
        now: u64,
    ) -> Result<Challenge, Error> {
        let entity = self.entity(app, service, identity).await?;
        Ok(self.challenge_of(app, &entity, sid, now).await?.0)
    }

    /// Answers a pending challenge with a code: `approved` when right (a
    /// step is accepted once), the challenge still `pending` when wrong.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::ChallengeExpired`],
    /// [`Error::ChallengeAnswered`], a throttle.
    pub async fn answer_challenge(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        sid: &str,
        code: &str,
        now: u64,
    ) -> Result<Challenge, Error> {
        let entity = self.entity(app, service, identity).await?;
        let (challenge, factor) = self.challenge_of(app, &entity, sid, now).await?;
        match challenge.status {
            ChallengeStatus::Pending => {}
            ChallengeStatus::Expired => return Err(Error::ChallengeExpired),
            _ => return Err(Error::ChallengeAnswered),
        }
        match self.check_factor(app, &factor, code, now).await? {
            Ok(()) => {
                if !self
                    .store
                    .respond_challenge(app.id, sid, "approved", now_i64(now))
                    .await?
                {
                    return Err(Error::ChallengeAnswered);
                }
                self.count_later(app.id, now, Counter::Auth);
                self.emit(app, service, "challenge.approved", factor.facts(Some(sid)))
                    .await;
                Ok(self.challenge_of(app, &entity, sid, now).await?.0)
            }
            Err(Refusal::Throttled) => Err(Error::Limited(Limit::FailedTokens)),
            Err(_) => Ok(challenge),
        }
    }

    /// An entity's challenges, by the query.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown entity or factor.
    pub async fn challenges(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        query: ChallengeQuery,
        now: u64,
    ) -> Result<Vec<Challenge>, Error> {
        let entity = self.entity(app, service, identity).await?;
        let factor = match &query.factor_sid {
            Some(sid) => Some(self.factor_of(app, &entity, sid).await?),
            None => None,
        };
        let filter = ChallengeFilter {
            factor_seq: factor.as_ref().map(|f| f.seq),
            // Expired is read from the time: stored, such a row is pending.
            status: query.status.map(|s| match s {
                ChallengeStatus::Expired => "pending".to_owned(),
                s => s.as_str().to_owned(),
            }),
            descending: query.descending,
            // Pending and expired are both stored pending: the time tells
            // them apart, in the query, so a page is never cut short.
            expires_after: (query.status == Some(ChallengeStatus::Pending)).then_some(now_i64(now)),
            expired_at: (query.status == Some(ChallengeStatus::Expired)).then_some(now_i64(now)),
        };
        let rows = self
            .store
            .challenges(app.id, entity.seq, &filter, query.after, query.limit)
            .await?;
        let mut sids = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let factor_sid = match sids.get(&row.factor_seq) {
                Some(sid) => Clone::clone(sid),
                None => {
                    let found = self
                        .store
                        .factors(app.id, entity.seq, row.factor_seq - 1, 1)
                        .await?
                        .into_iter()
                        .find(|f| f.seq == row.factor_seq)
                        .map(|f| f.sid)
                        .unwrap_or_default();
                    sids.insert(row.factor_seq, found.clone());
                    found
                }
            };
            out.push(Self::challenge_view(&entity, factor_sid, row, now));
        }
        Ok(out)
    }
}
