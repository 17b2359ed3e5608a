//! Users: create, read, status, delete, and the sandbox's own user 51.

use super::*;

impl Domain {
    /// The stored id of the user an Authy path names. In a sandbox
    /// application `51` is its own sandbox user: user ids are global, so
    /// only the first sandbox application's is stored under 51.
    ///
    /// # Errors
    /// A store failure.
    pub async fn user_id_in(&self, app: &App, id: i64) -> Result<i64, Error> {
        if app.sandbox
            && id == SANDBOX_USER.0
            && let Some(user) = self.sandbox_user(app).await?
        {
            return Ok(user.id);
        }
        Ok(id)
    }

    /// The id an Authy answer shows for the stored user `id`: 51 for a
    /// sandbox application's own sandbox user.
    ///
    /// # Errors
    /// A store failure.
    pub async fn user_id_out(&self, app: &App, id: i64) -> Result<i64, Error> {
        if app.sandbox
            && id != SANDBOX_USER.0
            && let Some(user) = self.sandbox_user(app).await?
            && user.id == id
        {
            return Ok(SANDBOX_USER.0);
        }
        Ok(id)
    }

    /// A sandbox application's own user +1 305-456-2345.
    pub(super) async fn sandbox_user(&self, app: &App) -> Result<Option<User>, Error> {
        let (_, country_code, phone) = SANDBOX_USER;
        Ok(self
            .store
            .user_by_phone(app.id, country_code, phone)
            .await?
            .filter(User::is_sandbox_seed))
    }

    /// `users/new`: the user with this phone, created if needed.
    ///
    /// # Errors
    /// [`Error::InvalidUser`] naming every invalid field.
    pub async fn create_user(
        &self,
        app: &App,
        email: Option<&str>,
        cellphone: Option<&str>,
        country_code: Option<u64>,
        now: u64,
    ) -> Result<User, Error> {
        let mut invalid = Vec::new();
        let email = email.map(str::trim).filter(|e| valid_email(e));
        if email.is_none() {
            invalid.push("email");
        }
        let phone = match (cellphone, country_code) {
            (Some(cell), Some(cc)) => Phone::parse(cc, cell, app.sandbox).ok(),
            _ => None,
        };
        if phone.is_none() {
            invalid.push("cellphone");
        }
        if !matches!(country_code, Some(1..=999)) {
            invalid.push("country_code");
        }
        let (Some(email), Some(phone), true) = (email, phone, invalid.is_empty()) else {
            return Err(Error::InvalidUser(invalid));
        };
        let (user, created) = self
            .store
            .upsert_user(
                app.id,
                phone.country_code,
                &phone.national,
                email,
                now_i64(now),
            )
            .await?;
        if created {
            self.count_later(app.id, now, Counter::User);
        }
        Ok(user)
    }

    /// The user `id` of `app`.
    ///
    /// # Errors
    /// [`Error::UserNotFound`].
    pub async fn user(&self, app: &App, id: i64) -> Result<User, Error> {
        self.store
            .user(app.id, id)
            .await?
            .ok_or(Error::UserNotFound)
    }

    /// `users/{id}/status`.
    ///
    /// # Errors
    /// [`Error::UserNotFound`].
    pub async fn status(&self, app: &App, id: i64) -> Result<Status, Error> {
        let user = self.user(app, id).await?;
        let devices = self.store.devices(user.id).await?;
        Ok(Status { user, devices })
    }

    /// The three delete paths.
    ///
    /// # Errors
    /// [`Error::UserNotFound`].
    pub async fn delete_user(&self, app: &App, id: i64) -> Result<(), Error> {
        if self.store.delete_user(app.id, id).await? {
            Ok(())
        } else {
            Err(Error::UserNotFound)
        }
    }
}

/// A user's status.
#[derive(Debug, Clone)]
pub struct Status {
    /// The user.
    pub user: User,
    /// Its devices.
    pub devices: Vec<Device>,
}

/// An email as Authy accepted it: something, one `@`, a domain with a dot.
pub(super) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_as_authy_did() {
        assert!(valid_email("a@b.com"));
        assert!(!valid_email("testexample.com"));
        assert!(!valid_email("@b.com"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a@b@c.com"));
        assert!(!valid_email("a b@c.com"));
        assert!(!valid_email("a@.com"));
    }
}
