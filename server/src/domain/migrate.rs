//! Bringing an application's Authy authenticators to Verify: each
//! becomes a verified TOTP factor of an entity that shares its seed and
//! its used-step state, so a code accepted on one API is a replay on the
//! other.

use super::accounts::new_sid;
use super::factors::FactorSettings;
use super::*;
use crate::store::{EntityRow, FactorRow};

/// What a migration to Verify did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Factors made.
    pub created: usize,
    /// Authenticators that had their factor already.
    pub present: usize,
}

impl Domain {
    /// Brings the application's Authy authenticators to a Verify service
    /// (see [`migrate_authy_to_verify`]).
    ///
    /// # Errors
    /// A store failure; what was done before it stays done.
    pub async fn migrate_authy_to_verify(
        &self,
        app: &App,
        service: &VerifyService,
        now: u64,
        progress: impl FnMut(Migrated),
    ) -> Result<Migrated, Error> {
        migrate_authy_to_verify(self.store.as_ref(), app, service, now, progress).await
    }
}

/// Brings the application's Authy authenticators to a Verify service: for
/// each, a verified TOTP factor of the entity `authy-{user id}` that shares
/// the authenticator's seed and state (a code used on one API is refused
/// on the other, and the user's app keeps working). Idempotent: an
/// authenticator with its factor is counted as present. `progress` is
/// called after each page. Offline (`passcode-server migrate`), with the
/// store alone: nothing is sealed anew.
///
/// # Errors
/// A store failure; what was done before it stays done.
pub async fn migrate_authy_to_verify(
    store: &dyn Store,
    app: &App,
    service: &VerifyService,
    now: u64,
    mut progress: impl FnMut(Migrated),
) -> Result<Migrated, Error> {
    let mut done = Migrated::default();
    let mut after = 0;
    loop {
        let page = store.app_devices(app.id, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for device in &page {
            let identity = format!("authy-{}", device.user_id);
            let entity = EntityRow {
                seq: 0,
                sid: new_sid("YE"),
                app_id: app.id,
                service_sid: service.sid.clone(),
                identity: identity.clone(),
                created_at: now_i64(now),
            };
            store.create_entity(&entity).await?;
            let entity = store
                .entity(app.id, &service.sid, &identity)
                .await?
                .ok_or(Error::Internal)?;
            let settings = FactorSettings {
                friendly_name: "Authy authenticator".into(),
                verified: true,
                profile: TotpProfile::generic(),
                user_id: Some(device.user_id),
            };
            let row = FactorRow {
                seq: 0,
                sid: new_sid("YF"),
                app_id: app.id,
                entity_seq: entity.seq,
                device_id: Some(device.id),
                sealed_seed: None,
                settings: serde_json::to_string(&settings).map_err(|_| Error::Internal)?,
                version: 1,
                created_at: now_i64(now),
                updated_at: now_i64(now),
            };
            if store.create_factor(&row).await?.is_some() {
                done.created += 1;
            } else {
                done.present += 1;
            }
        }
        progress(done);
    }
    Ok(done)
}
