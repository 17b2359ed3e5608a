//! Verify's entities: the identities factors belong to (create, fetch,
//! list, delete with their factors and the factors' own states).

use super::accounts::new_sid;
use super::factors::{factor_key, factor_verify_key};
use super::*;
use crate::store::EntityRow;

/// A Verify entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// `YE` and 32 hex digits.
    pub sid: String,
    /// The application's name for it.
    pub identity: String,
    /// Its service's SID.
    pub service_sid: String,
    /// When it was created.
    pub created_at: u64,
    pub(super) seq: i64,
}

impl Entity {
    fn from_row(row: EntityRow) -> Self {
        Self {
            sid: row.sid,
            identity: row.identity,
            service_sid: row.service_sid,
            created_at: u64::try_from(row.created_at).unwrap_or(0),
            seq: row.seq,
        }
    }

    /// Its place in the service's list.
    #[must_use]
    pub fn seq(&self) -> i64 {
        self.seq
    }
}

/// An identity as Verify takes it: 8 to 64 characters, letters and digits
/// in groups separated by single dashes.
fn valid_identity(identity: &str) -> bool {
    (8..=64).contains(&identity.len())
        && identity
            .split('-')
            .all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl Domain {
    /// The entity `identity` of the service.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn entity(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
    ) -> Result<Entity, Error> {
        if !valid_identity(identity) {
            return Err(Error::NotFound);
        }
        self.store
            .entity(app.id, &service.sid, identity)
            .await?
            .map(Entity::from_row)
            .ok_or(Error::NotFound)
    }

    /// Creates the entity `identity`; `existing_ok` returns the one there
    /// (a factor for an unknown identity creates it).
    ///
    /// # Errors
    /// [`Error::Invalid`] for an identity Verify does not take,
    /// [`Error::Conflict`] when it exists and `existing_ok` is false.
    pub async fn create_entity(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
        existing_ok: bool,
        now: u64,
    ) -> Result<Entity, Error> {
        if !valid_identity(identity) {
            return Err(Error::Invalid {
                name: "Identity",
                reason: "8 to 64 letters and digits in groups separated by dashes".into(),
            });
        }
        let row = EntityRow {
            seq: 0,
            sid: new_sid("YE"),
            app_id: app.id,
            service_sid: service.sid.clone(),
            identity: identity.to_owned(),
            created_at: now_i64(now),
        };
        let created = self.store.create_entity(&row).await?;
        if !created && !existing_ok {
            return Err(Error::Conflict("Entity"));
        }
        self.entity(app, service, identity).await
    }

    /// Up to `limit` of the service's entities after place `after`.
    ///
    /// # Errors
    /// A store failure.
    pub async fn entities(
        &self,
        app: &App,
        service: &VerifyService,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Entity>, Error> {
        Ok(self
            .store
            .entities(app.id, &service.sid, after, limit)
            .await?
            .into_iter()
            .map(Entity::from_row)
            .collect())
    }

    /// Removes the own states of an entity's factors (a factor brought
    /// from the Authy API has none: its state is its authenticator's),
    /// before the rows that name them go.
    pub(super) async fn remove_factor_states(
        &self,
        app: &App,
        entity_seq: i64,
    ) -> Result<(), Error> {
        let mut after = 0;
        loop {
            let page = self.store.factors(app.id, entity_seq, after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for factor in &page {
                self.store
                    .remove(&factor_key(app.id, factor.seq).key)
                    .await?;
                self.store
                    .remove(&factor_verify_key(app.id, factor.seq).key)
                    .await?;
            }
        }
        Ok(())
    }

    /// Deletes an entity with its factors (and their own states) and
    /// challenges. A factor brought from the Authy API leaves its
    /// authenticator as it was.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_entity(
        &self,
        app: &App,
        service: &VerifyService,
        identity: &str,
    ) -> Result<(), Error> {
        let entity = self.entity(app, service, identity).await?;
        self.remove_factor_states(app, entity.seq).await?;
        if !self
            .store
            .delete_entity(app.id, &service.sid, identity)
            .await?
        {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_follow_verifys_rule() {
        for good in [
            "ff483d1ff591898a9942916050d2ca3f",
            "authy-51",
            "a-b-c-d-e",
            &"a".repeat(64),
        ] {
            assert!(valid_identity(good), "{good}");
        }
        for bad in [
            "short",
            "authy--1000",
            "-authy1000",
            "authy1000-",
            "authy_1000",
            &"a".repeat(65),
            "identité1",
        ] {
            assert!(!valid_identity(bad), "{bad}");
        }
    }
}
