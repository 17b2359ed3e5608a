//! Phone numbers: their metadata, and the export of a user's number.

use super::*;

/// What the number metadata says about a number.
#[derive(Debug, Clone)]
pub struct PhoneInfo {
    /// Its type.
    pub line_type: LineType,
    /// Its carrier, `unknown` here.
    pub provider: &'static str,
    /// Whether it was ported (never known here: false).
    pub ported: bool,
}

impl Domain {
    /// `phones/info`, from number metadata only.
    ///
    /// # Errors
    /// [`Error::InvalidPhone`].
    pub fn phone_info(
        &self,
        app: &App,
        country_code: u64,
        phone_number: &str,
    ) -> Result<PhoneInfo, Error> {
        let phone = Phone::parse(country_code, phone_number, app.sandbox)
            .map_err(|_| Error::InvalidPhone)?;
        Ok(PhoneInfo {
            line_type: phone.line_type(),
            provider: "unknown",
            ported: false,
        })
    }

    /// `users/{id}/phone_number`, under its quotas.
    ///
    /// # Errors
    /// `Error::Disabled(Feature::PhoneExport)`, [`Error::UserNotFound`],
    /// [`Error::Limited`].
    pub async fn export_phone(&self, app: &App, id: i64, now: u64) -> Result<User, Error> {
        if !app.phone_export_enabled {
            return Err(Error::Disabled(Feature::PhoneExport));
        }
        let user = self.user(app, id).await?;
        let l = self.limits;
        self.take(
            &StateKey::user(app.id, user.id, format!("user:{}:phone_export", user.id)),
            l.export_user,
            now,
            Limit::ExportUser,
        )
        .await?;
        self.take(
            &StateKey::app(app.id, format!("app:{}:phone_export", app.id)),
            l.export_app,
            now,
            Limit::ExportApplication,
        )
        .await?;
        Ok(user)
    }
}
