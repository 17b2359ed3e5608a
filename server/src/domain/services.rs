//! Verify services: an application's settings for the verifications the
//! Verify surface starts (the name a message gives, the code's length,
//! whether custom codes are allowed, TOTP defaults), and the rest of
//! Twilio's settings stored and given back as they were set.

use serde::{Deserialize, Serialize};

use super::accounts::{new_sid, sid_bytes};
use super::*;
use crate::store::VerifyServiceRow;

/// A Verify service's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(clippy::struct_excessive_bools)]
pub struct ServiceSettings {
    /// The name messages give (1 to 32 characters).
    pub friendly_name: String,
    /// Digits of its codes, 4 to 10.
    pub code_length: u8,
    /// Stored and given back (no carrier lookup here).
    pub lookup_enabled: bool,
    /// Stored and given back.
    pub psd2_enabled: bool,
    /// Stored and given back.
    pub skip_sms_to_landlines: bool,
    /// Stored and given back.
    pub dtmf_input_required: bool,
    /// Stored and given back.
    pub tts_name: Option<String>,
    /// Stored and given back.
    pub do_not_share_warning_enabled: bool,
    /// Whether a verification may bring its own code.
    pub custom_code_enabled: bool,
    /// Stored and given back.
    pub push_include_date: bool,
    /// Stored and given back.
    pub push_apn_credential_sid: Option<String>,
    /// Stored and given back.
    pub push_fcm_credential_sid: Option<String>,
    /// The issuer of TOTP factors (the friendly name when unset).
    pub totp_issuer: Option<String>,
    /// TOTP step, 20 to 60 seconds.
    pub totp_time_step: Option<u8>,
    /// TOTP digits, 3 to 8.
    pub totp_code_length: Option<u8>,
    /// TOTP steps accepted either way, 0 to 2.
    pub totp_skew: Option<u8>,
    /// Stored and given back.
    pub whatsapp_msg_service_sid: Option<String>,
    /// Stored and given back.
    pub whatsapp_from: Option<String>,
    /// Stored and given back.
    pub default_template_sid: Option<String>,
    /// Stored and given back.
    pub verify_event_subscription_enabled: bool,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            friendly_name: String::new(),
            code_length: 6,
            lookup_enabled: false,
            psd2_enabled: false,
            skip_sms_to_landlines: false,
            dtmf_input_required: true,
            tts_name: None,
            do_not_share_warning_enabled: false,
            custom_code_enabled: false,
            push_include_date: false,
            push_apn_credential_sid: None,
            push_fcm_credential_sid: None,
            totp_issuer: None,
            totp_time_step: None,
            totp_code_length: None,
            totp_skew: None,
            whatsapp_msg_service_sid: None,
            whatsapp_from: None,
            default_template_sid: None,
            verify_event_subscription_enabled: false,
        }
    }
}

/// Changes to a service's settings; `None` keeps a setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ServicePatch {
    pub friendly_name: Option<String>,
    pub code_length: Option<u8>,
    pub lookup_enabled: Option<bool>,
    pub psd2_enabled: Option<bool>,
    pub skip_sms_to_landlines: Option<bool>,
    pub dtmf_input_required: Option<bool>,
    pub tts_name: Option<String>,
    pub do_not_share_warning_enabled: Option<bool>,
    pub custom_code_enabled: Option<bool>,
    pub push_include_date: Option<bool>,
    pub push_apn_credential_sid: Option<String>,
    pub push_fcm_credential_sid: Option<String>,
    pub totp_issuer: Option<String>,
    pub totp_time_step: Option<u8>,
    pub totp_code_length: Option<u8>,
    pub totp_skew: Option<u8>,
    pub whatsapp_msg_service_sid: Option<String>,
    pub whatsapp_from: Option<String>,
    pub default_template_sid: Option<String>,
    pub verify_event_subscription_enabled: Option<bool>,
}

/// A setting out of its range: the setting's name on the Verify surface.
fn invalid(name: &'static str, reason: &str) -> Error {
    Error::Invalid {
        name,
        reason: reason.into(),
    }
}

impl ServicePatch {
    /// `settings` with the patch applied, each setting checked.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first setting out of range.
    fn apply(self, mut s: ServiceSettings) -> Result<ServiceSettings, Error> {
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = self.$field { s.$field = v; })* };
        }
        macro_rules! set_some {
            ($($field:ident),*) => { $(if let Some(v) = self.$field { s.$field = Some(v); })* };
        }
        set!(
            friendly_name,
            code_length,
            lookup_enabled,
            psd2_enabled,
            skip_sms_to_landlines,
            dtmf_input_required,
            do_not_share_warning_enabled,
            custom_code_enabled,
            push_include_date,
            verify_event_subscription_enabled
        );
        set_some!(
            tts_name,
            push_apn_credential_sid,
            push_fcm_credential_sid,
            totp_issuer,
            totp_time_step,
            totp_code_length,
            totp_skew,
            whatsapp_msg_service_sid,
            whatsapp_from,
            default_template_sid
        );
        let name = s.friendly_name.chars().count();
        if name == 0 || name > 32 || s.friendly_name.chars().any(char::is_control) {
            return Err(invalid("FriendlyName", "1 to 32 characters"));
        }
        if !(4..=10).contains(&s.code_length) {
            return Err(invalid("CodeLength", "4 to 10"));
        }
        if s.totp_time_step.is_some_and(|v| !(20..=60).contains(&v)) {
            return Err(invalid("Totp.TimeStep", "20 to 60"));
        }
        // Verify takes 3 to 8; RFC 4226 (and so the library) no fewer than 6.
        if s.totp_code_length.is_some_and(|v| !(6..=8).contains(&v)) {
            return Err(invalid(
                "Totp.CodeLength",
                "6 to 8 (RFC 4226 allows no fewer than 6)",
            ));
        }
        if s.totp_issuer
            .as_ref()
            .is_some_and(|i| i.trim().is_empty() || i.chars().any(char::is_control))
        {
            return Err(invalid("Totp.Issuer", "a name without control characters"));
        }
        if s.totp_skew.is_some_and(|v| v > 2) {
            return Err(invalid("Totp.Skew", "0 to 2"));
        }
        for (name, text) in [
            ("TtsName", &s.tts_name),
            ("Totp.Issuer", &s.totp_issuer),
            ("Push.ApnCredentialSid", &s.push_apn_credential_sid),
            ("Push.FcmCredentialSid", &s.push_fcm_credential_sid),
            ("Whatsapp.MsgServiceSid", &s.whatsapp_msg_service_sid),
            ("Whatsapp.From", &s.whatsapp_from),
            ("DefaultTemplateSid", &s.default_template_sid),
        ] {
            if text.as_ref().is_some_and(|t| t.chars().count() > 255) {
                return Err(invalid(name, "at most 255 characters"));
            }
        }
        Ok(s)
    }
}

/// A Verify service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyService {
    /// `VA` and 32 hex digits.
    pub sid: String,
    /// Its place in the list (the page token's position).
    pub seq: i64,
    /// Its settings.
    pub settings: ServiceSettings,
    /// When it was created (Unix seconds).
    pub created_at: u64,
    /// When it last changed (Unix seconds).
    pub updated_at: u64,
    version: i64,
}

impl VerifyService {
    fn from_row(row: VerifyServiceRow) -> Result<Self, Error> {
        let settings = serde_json::from_str(&row.settings).map_err(|_| {
            tracing::error!("a Verify service's stored settings do not read");
            Error::Internal
        })?;
        Ok(Self {
            sid: row.sid,
            seq: row.seq,
            settings,
            created_at: u64::try_from(row.created_at).unwrap_or(0),
            updated_at: u64::try_from(row.updated_at).unwrap_or(0),
            version: row.version,
        })
    }

    /// The SID's 16 bytes.
    pub(super) fn sid_bytes(&self) -> [u8; 16] {
        sid_bytes("VA", &self.sid).unwrap_or_default()
    }
}

/// The application's Verify service `sid`, with the store alone.
///
/// # Errors
/// [`Error::NotFound`].
pub async fn verify_service(
    store: &dyn Store,
    app_id: i64,
    sid: &str,
) -> Result<VerifyService, Error> {
    if sid_bytes("VA", sid).is_none() {
        return Err(Error::NotFound);
    }
    let row = store
        .verify_service(app_id, sid)
        .await?
        .ok_or(Error::NotFound)?;
    VerifyService::from_row(row)
}

impl Domain {
    /// Creates a Verify service.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a setting out of range.
    pub async fn create_verify_service(
        &self,
        app: &App,
        patch: ServicePatch,
        now: u64,
    ) -> Result<VerifyService, Error> {
        let settings = patch.apply(ServiceSettings::default())?;
        let json = serde_json::to_string(&settings).map_err(|_| Error::Internal)?;
        let now_i = now_i64(now);
        for _ in 0..3 {
            let row = VerifyServiceRow {
                seq: 0,
                sid: new_sid("VA"),
                app_id: app.id,
                settings: json.clone(),
                version: 1,
                created_at: now_i,
                updated_at: now_i,
            };
            if self.store.create_verify_service(&row).await? {
                return self.verify_service(app, &row.sid).await;
            }
        }
        Err(Error::Internal)
    }

    /// The application's Verify service `sid`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn verify_service(&self, app: &App, sid: &str) -> Result<VerifyService, Error> {
        verify_service(self.store.as_ref(), app.id, sid).await
    }

    /// Up to `limit` of the application's Verify services after position
    /// `after`, oldest first.
    ///
    /// # Errors
    /// A store failure.
    pub async fn verify_services(
        &self,
        app: &App,
        after: i64,
        limit: u32,
    ) -> Result<Vec<VerifyService>, Error> {
        self.store
            .verify_services(app.id, after, limit)
            .await?
            .into_iter()
            .map(VerifyService::from_row)
            .collect()
    }

    /// Changes a Verify service's settings, by compare-and-set on its
    /// version (a change made meanwhile is read again and kept).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Invalid`].
    pub async fn update_verify_service(
        &self,
        app: &App,
        sid: &str,
        patch: ServicePatch,
        now: u64,
    ) -> Result<VerifyService, Error> {
        for round in 0..CAS_ROUNDS {
            if round > 0 {
                backoff(round).await;
            }
            let current = self.verify_service(app, sid).await?;
            let settings = patch.clone().apply(current.settings)?;
            let json = serde_json::to_string(&settings).map_err(|_| Error::Internal)?;
            if self
                .store
                .update_verify_service(app.id, sid, current.version, &json, now_i64(now))
                .await?
            {
                return self.verify_service(app, sid).await;
            }
        }
        Err(Error::Unavailable)
    }

    /// Deletes a Verify service with its entities, factors (and their
    /// own states) and challenges; its pending verifications are found no
    /// more and expire.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_verify_service(&self, app: &App, sid: &str) -> Result<(), Error> {
        if sid_bytes("VA", sid).is_none() {
            return Err(Error::NotFound);
        }
        // The factors' states first: the rows that name them go with the
        // service, and a state no row names would never be found again.
        let mut after = 0;
        loop {
            let page = self.store.entities(app.id, sid, after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for entity in &page {
                self.remove_factor_states(app, entity.seq).await?;
            }
        }
        if !self.store.delete_verify_service(app.id, sid).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_against_verify_ranges() {
        let named = |patch: ServicePatch| ServicePatch {
            friendly_name: Some("My app".into()),
            ..patch
        };
        let ok = named(ServicePatch::default())
            .apply(ServiceSettings::default())
            .unwrap();
        assert_eq!((ok.code_length, ok.dtmf_input_required), (6, true));
        for (patch, field) in [
            (ServicePatch::default(), "FriendlyName"),
            (
                named(ServicePatch {
                    code_length: Some(3),
                    ..Default::default()
                }),
                "CodeLength",
            ),
            (
                named(ServicePatch {
                    code_length: Some(11),
                    ..Default::default()
                }),
                "CodeLength",
            ),
            (
                named(ServicePatch {
                    totp_time_step: Some(19),
                    ..Default::default()
                }),
                "Totp.TimeStep",
            ),
            (
                named(ServicePatch {
                    totp_time_step: Some(61),
                    ..Default::default()
                }),
                "Totp.TimeStep",
            ),
            (
                named(ServicePatch {
                    totp_code_length: Some(9),
                    ..Default::default()
                }),
                "Totp.CodeLength",
            ),
            (
                named(ServicePatch {
                    totp_skew: Some(3),
                    ..Default::default()
                }),
                "Totp.Skew",
            ),
            (
                ServicePatch {
                    friendly_name: Some("x".repeat(33)),
                    ..Default::default()
                },
                "FriendlyName",
            ),
        ] {
            match patch.apply(ServiceSettings::default()) {
                Err(Error::Invalid { name, .. }) => assert_eq!(name, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        for n in [4, 10] {
            let s = named(ServicePatch {
                code_length: Some(n),
                ..Default::default()
            });
            assert_eq!(s.apply(ServiceSettings::default()).unwrap().code_length, n);
        }
    }
}
