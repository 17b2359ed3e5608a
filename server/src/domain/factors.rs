//! Verify's TOTP factors (entities and challenges have their own files). A factor's code is
//! checked by the one TOTP check (`check_totp`) under a compare-and-set
//! state: a factor brought over from the Authy API shares its
//! authenticator's seed and state, so a step used on one API is refused as
//! a replay on the other (RFC 6238 5.2).

use serde::{Deserialize, Serialize};

use super::accounts::{new_sid, sid_bytes};
use super::services::VerifyService;
use super::*;
use crate::store::FactorRow;

/// A challenge lives 5 minutes unless asked otherwise, an hour at most.
pub(super) const CHALLENGE_DEFAULT_TTL: u64 = 300;
/// The longest a challenge may live.
pub(super) const CHALLENGE_MAX_TTL: u64 = 3600;

/// Wrong codes a new factor's verification takes: the sixth is refused.
fn factor_verify_limit() -> RateLimit {
    RateLimit::new(5, 3600, 5).unwrap_or_else(|_| unreachable_limit())
}

/// A TOTP factor's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpProfile {
    /// `sha1`, `sha256` or `sha512`.
    pub alg: Alg,
    /// Digits, 6 to 8 (RFC 4226 allows no fewer).
    pub code_length: u8,
    /// Seconds a step, 20 to 60.
    pub time_step: u8,
    /// Steps accepted either way, 0 to 2.
    pub skew: u8,
}

/// A factor's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Alg {
    /// HMAC-SHA-1.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Alg {
    /// Its name on the Verify surface.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    fn algorithm(self) -> passcode::Algorithm {
        match self {
            Self::Sha1 => passcode::Algorithm::Sha1,
            Self::Sha256 => passcode::Algorithm::Sha256,
            Self::Sha512 => passcode::Algorithm::Sha512,
        }
    }
}

impl TotpProfile {
    /// The generic authenticators' profile: SHA-1, 6 digits, 30 s, one
    /// step either way.
    #[must_use]
    pub fn generic() -> Self {
        Self {
            alg: Alg::Sha1,
            code_length: 6,
            time_step: 30,
            skew: 1,
        }
    }

    fn config(self) -> Result<TotpConfig, Error> {
        let digits = passcode::Digits::new(self.code_length).map_err(|_| Error::Invalid {
            name: "Config.CodeLength",
            reason: "6 to 8 (RFC 4226 allows no fewer than 6)".into(),
        })?;
        let period =
            passcode::Period::new(u64::from(self.time_step)).map_err(|_| Error::Invalid {
                name: "Config.TimeStep",
                reason: "20 to 60".into(),
            })?;
        Ok(TotpConfig::new()
            .with_algorithm(self.alg.algorithm())
            .with_digits(digits)
            .with_period(period))
    }

    fn policy(self) -> Result<TotpPolicy, Error> {
        let window = passcode::Window::new(self.skew, self.skew).map_err(|_| Error::Internal)?;
        // Verify documents five attempts: the library's delays start after
        // them (the day's guess budget bounds them all the same).
        Ok(TotpPolicy::new()
            .with_window(window)
            .with_throttle(passcode::Throttle::new().with_free_failures(5)))
    }

    fn check(self) -> Result<Self, Error> {
        let bad = |name, reason: &str| Error::Invalid {
            name,
            reason: reason.into(),
        };
        if !(6..=8).contains(&self.code_length) {
            return Err(bad(
                "Config.CodeLength",
                "6 to 8 (RFC 4226 allows no fewer than 6)",
            ));
        }
        if !(20..=60).contains(&self.time_step) {
            return Err(bad("Config.TimeStep", "20 to 60"));
        }
        if self.skew > 2 {
            return Err(bad("Config.Skew", "0 to 2"));
        }
        Ok(self)
    }
}

impl Factor {
    /// What its events say of it.
    pub(super) fn facts<'a>(&'a self, challenge_sid: Option<&'a str>) -> webhooks::EventFacts<'a> {
        webhooks::EventFacts {
            identity: &self.identity,
            factor_sid: &self.sid,
            factor_name: &self.friendly_name,
            challenge_sid,
        }
    }
}

/// What a factor row's settings hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FactorSettings {
    pub(super) friendly_name: String,
    pub(super) verified: bool,
    pub(super) profile: TotpProfile,
    /// The owner of the Authy authenticator it shares, when it has one.
    pub(super) user_id: Option<i64>,
}

/// A TOTP factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    /// `YF` and 32 hex digits.
    pub sid: String,
    /// Its entity.
    pub entity_sid: String,
    /// Its entity's identity.
    pub identity: String,
    /// Its name.
    pub friendly_name: String,
    /// Whether a code verified it.
    pub verified: bool,
    /// Its profile.
    pub profile: TotpProfile,
    /// When it was created.
    pub created_at: u64,
    /// When it last changed.
    pub updated_at: u64,
    /// Its place in the entity's list.
    pub seq: i64,
    pub(super) row: FactorRow,
    pub(super) settings: FactorSettings,
}

/// A factor just created: its secret and key URI, shown this once.
#[derive(Clone, PartialEq, Eq)]
pub struct NewFactor {
    /// The factor.
    pub factor: Factor,
    /// The secret in base32.
    pub secret: String,
    /// The `otpauth://` URI.
    pub uri: String,
}

impl std::fmt::Debug for NewFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewFactor")
            .field("factor", &self.factor)
            .finish_non_exhaustive()
    }
}

/// What a factor is created with.
#[derive(Clone, Default)]
pub struct FactorRequest {
    /// Its name (1 to 64 characters).
    pub friendly_name: String,
    /// A secret to import (base32), else one is made.
    pub secret: Option<String>,
    /// Its hash, else the service's default, else SHA-1.
    pub alg: Option<Alg>,
    /// Digits, else the service's default, else 6.
    pub code_length: Option<u8>,
    /// Step, else the service's default, else 30.
    pub time_step: Option<u8>,
    /// Skew, else the service's default, else 1.
    pub skew: Option<u8>,
}

impl std::fmt::Debug for FactorRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactorRequest")
            .field("friendly_name", &self.friendly_name)
            .finish_non_exhaustive()
    }
}

pub(super) fn u(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

/// The association data a factor's own seed is sealed with.
fn factor_seed_context(sid: &str) -> Vec<u8> {
    let mut context = b"passcode-server factor seed v1:".to_vec();
    context.extend_from_slice(sid.as_bytes());
    context
}

pub(super) fn factor_key(app_id: i64, seq: i64) -> StateKey {
    StateKey::app(app_id, format!("app:{app_id}:factor:{seq}"))
}

pub(super) fn factor_verify_key(app_id: i64, seq: i64) -> StateKey {
    StateKey::app(app_id, format!("app:{app_id}:factor_verify:{seq}"))
}

impl Domain {
    pub(super) fn factor_view(entity: &Entity, row: FactorRow) -> Result<Factor, Error> {
        let settings: FactorSettings = serde_json::from_str(&row.settings).map_err(|_| {
            tracing::error!("a factor's stored settings do not read");
            Error::Internal
        })?;
        Ok(Factor {
            sid: row.sid.clone(),
            entity_sid: entity.sid.clone(),
            identity: entity.identity.clone(),
            friendly_name: settings.friendly_name.clone(),
            verified: settings.verified,
            profile: settings.profile,
            created_at: u(row.created_at),
            updated_at: u(row.updated_at),
            seq: row.seq,
            row,
            settings,
        })
    }

    /// Creates a TOTP factor for `identity` (and the entity, if new): a
    /// new seed, or the one given (`Binding.Secret`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a profile or secret out of range.
    pub async fn create_factor(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        request: FactorRequest,
        now: u64,
    ) -> Result<NewFactor, Error> {
        let s = &service.settings;
        let profile = TotpProfile {
            alg: request.alg.unwrap_or(Alg::Sha1),
            code_length: request.code_length.or(s.totp_code_length).unwrap_or(6),
            time_step: request.time_step.or(s.totp_time_step).unwrap_or(30),
            skew: request.skew.or(s.totp_skew).unwrap_or(1),
        }
        .check()?;
        let config = profile.config()?;
        let name_len = request.friendly_name.chars().count();
        if name_len == 0 || name_len > 64 {
            return Err(Error::Invalid {
                name: "FriendlyName",
                reason: "1 to 64 characters".into(),
            });
        }
        let secret = match &request.secret {
            Some(text) => Secret::from_base32(text).map_err(|_| Error::Invalid {
                name: "Binding.Secret",
                reason: "base32 of 16 bytes or more".into(),
            })?,
            None => Secret::generate(&mut rand::rng(), profile.alg.algorithm()),
        };
        let issuer = s
            .totp_issuer
            .clone()
            .unwrap_or_else(|| s.friendly_name.clone());
        let uri = KeyUri::with_issuer(
            &secret,
            OtpKind::Totp(config),
            &issuer,
            &request.friendly_name,
        )
        .map_err(|_| Error::Invalid {
            name: "FriendlyName",
            reason: "a name a key URI can carry".into(),
        })?
        .to_string();
        let entity = self
            .create_entity(app, service, identity, true, now)
            .await?;
        let sid = new_sid("YF");
        let settings = FactorSettings {
            friendly_name: request.friendly_name,
            verified: false,
            profile,
            user_id: None,
        };
        let row = FactorRow {
            seq: 0,
            sealed_seed: Some(self.key.seal(secret.as_bytes(), &factor_seed_context(&sid))),
            sid,
            app_id: app.id,
            entity_seq: entity.seq,
            device_id: None,
            settings: serde_json::to_string(&settings).map_err(|_| Error::Internal)?,
            version: 1,
            created_at: now_i64(now),
            updated_at: now_i64(now),
        };
        let row = self
            .store
            .create_factor(&row)
            .await?
            .ok_or(Error::Internal)?;
        let factor = Self::factor_view(&entity, row)?;
        self.emit(app, service, "factor.created", factor.facts(None))
            .await;
        Ok(NewFactor {
            factor,
            secret: secret.to_base32().to_string(),
            uri,
        })
    }

    /// The factor `sid` of `identity`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn factor(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        sid: &str,
    ) -> Result<Factor, Error> {
        let entity = self.entity(app, service, identity).await?;
        self.factor_of(app, &entity, sid).await
    }

    pub(super) async fn factor_of(
        &self,
        app: &App,
        entity: &Entity,
        sid: &str,
    ) -> Result<Factor, Error> {
        if sid_bytes("YF", sid).is_none() {
            return Err(Error::NotFound);
        }
        let row = self
            .store
            .factor(app.id, entity.seq, sid)
            .await?
            .ok_or(Error::NotFound)?;
        Self::factor_view(entity, row)
    }

    /// Up to `limit` of an entity's factors after place `after`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown entity.
    pub async fn factors(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Factor>, Error> {
        let entity = self.entity(app, service, identity).await?;
        self.store
            .factors(app.id, entity.seq, after, limit)
            .await?
            .into_iter()
            .map(|row| Self::factor_view(&entity, row))
            .collect()
    }

    /// Deletes a factor (and its own state).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_factor(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        sid: &str,
    ) -> Result<(), Error> {
        let factor = self.factor(app, service, identity, sid).await?;
        if !self.store.delete_factor(app.id, sid).await? {
            return Err(Error::NotFound);
        }
        self.store
            .remove(&factor_key(app.id, factor.seq).key)
            .await?;
        self.store
            .remove(&factor_verify_key(app.id, factor.seq).key)
            .await?;
        self.emit(app, service, "factor.deleted", factor.facts(None))
            .await;
        Ok(())
    }

    /// Renames a factor, by compare-and-set on its version.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`].
    pub async fn rename_factor(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        sid: &str,
        name: &str,
        now: u64,
    ) -> Result<Factor, Error> {
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Error::Invalid {
                name: "FriendlyName",
                reason: "1 to 64 characters".into(),
            });
        }
        self.change_factor(app, service, identity, sid, now, |s| {
            s.friendly_name = name.to_owned();
        })
        .await
    }

    async fn change_factor(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        sid: &str,
        now: u64,
        change: impl Fn(&mut FactorSettings),
    ) -> Result<Factor, Error> {
        let entity = self.entity(app, service, identity).await?;
        for round in 0..CAS_ROUNDS {
            if round > 0 {
                backoff(round).await;
            }
            let factor = self.factor_of(app, &entity, sid).await?;
            let mut settings = factor.settings.clone();
            change(&mut settings);
            let json = serde_json::to_string(&settings).map_err(|_| Error::Internal)?;
            if self
                .store
                .update_factor(app.id, sid, factor.row.version, &json, now_i64(now))
                .await?
            {
                return self.factor_of(app, &entity, sid).await;
            }
        }
        Err(Error::Unavailable)
    }

    /// Checks `code` against the factor: its seed (its own, or its Authy
    /// authenticator's) under its state.
    pub(super) async fn check_factor(
        &self,
        app: &App,
        factor: &Factor,
        code: &str,
        now: u64,
    ) -> Result<Result<(), Refusal>, Error> {
        let (seed, key) = match (factor.row.device_id, factor.settings.user_id) {
            (Some(device_id), Some(user_id)) => {
                let devices = self.store.devices(user_id).await?;
                let device = devices
                    .iter()
                    .find(|d| d.id == device_id)
                    .ok_or(Error::NotFound)?;
                let seed = self
                    .key
                    .open(&device.sealed_seed, &seed_context(device))
                    .ok_or(Error::Internal)?;
                (seed, device_key(app.id, user_id, device_id))
            }
            _ => {
                let sealed = factor.row.sealed_seed.as_deref().ok_or(Error::Internal)?;
                let seed = self
                    .key
                    .open(sealed, &factor_seed_context(&factor.sid))
                    .ok_or(Error::Internal)?;
                (seed, factor_key(app.id, factor.seq))
            }
        };
        let totp = Totp::from_key(&seed, factor.profile.config()?).map_err(|_| Error::Internal)?;
        let checked = self
            .check_totp(&key, &totp, factor.profile.policy()?, code, now, None, None)
            .await?;
        Ok(checked.map(|_| ()))
    }

    /// Verifies a new factor with its first code: `verified` when right,
    /// the factor as it was when wrong; the sixth wrong code is refused
    /// (`Limit::FactorVerifications`).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Limited`].
    pub async fn verify_factor(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        sid: &str,
        code: &str,
        now: u64,
    ) -> Result<Factor, Error> {
        let factor = self.factor(app, service, identity, sid).await?;
        if factor.verified {
            return Ok(factor);
        }
        let limit_key = factor_verify_key(app.id, factor.seq);
        let limit = factor_verify_limit();
        let spent = self
            .store
            .load(&limit_key.key)
            .await?
            .and_then(|v| RateLimitState::decode(&v.value))
            .is_some_and(|mut state| limit.check(&mut state, now).is_err());
        if spent {
            return Err(Error::Limited(Limit::FactorVerifications));
        }
        match self.check_factor(app, &factor, code, now).await? {
            Ok(()) => {
                let factor = self
                    .change_factor(app, service, identity, sid, now, |s| s.verified = true)
                    .await?;
                self.emit(app, service, "factor.verified", factor.facts(None))
                    .await;
                Ok(factor)
            }
            Err(Refusal::Throttled) => Err(Error::Limited(Limit::FactorVerifications)),
            Err(_) => {
                self.take(&limit_key, limit, now, Limit::FactorVerifications)
                    .await?;
                Ok(factor)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_outside_verifys_ranges_or_rfc_4226_are_refused() {
        assert!(TotpProfile::generic().check().is_ok());
        for (profile, name) in [
            (
                TotpProfile {
                    code_length: 5,
                    ..TotpProfile::generic()
                },
                "Config.CodeLength",
            ),
            (
                TotpProfile {
                    code_length: 9,
                    ..TotpProfile::generic()
                },
                "Config.CodeLength",
            ),
            (
                TotpProfile {
                    time_step: 19,
                    ..TotpProfile::generic()
                },
                "Config.TimeStep",
            ),
            (
                TotpProfile {
                    time_step: 61,
                    ..TotpProfile::generic()
                },
                "Config.TimeStep",
            ),
            (
                TotpProfile {
                    skew: 3,
                    ..TotpProfile::generic()
                },
                "Config.Skew",
            ),
        ] {
            match profile.check() {
                Err(Error::Invalid { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
