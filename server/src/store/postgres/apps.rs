//! [`AppStore`]: applications, on PostgreSQL.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::AppStore;

#[async_trait]
impl AppStore for Postgres {
    async fn create_app(&self, new: NewApp, now: i64) -> Result<App> {
        bounded(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg)?;
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO apps (name, key_hash, token_length, sandbox, created_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING {APP_COLUMNS}"
                    ),
                    &[
                        &new.name,
                        &new.key_hash.as_slice(),
                        &i16::from(new.token_length),
                        &new.sandbox,
                        &now,
                    ],
                )
                .await
                .map_err(pg)?;
            let app = app_row(&row);
            if new.sandbox {
                let (user, cc, phone) = SANDBOX_USER;
                let seeded = tx
                    .execute(
                        "INSERT INTO users (id, app_id, country_code, phone, email, created_at) \
                         VALUES ($1, $2, $3, $4, 'sandbox@example.com', $5) ON CONFLICT DO NOTHING",
                        &[&user, &app.id, &i32::from(cc), &phone, &now],
                    )
                    .await
                    .map_err(pg)?;
                if seeded == 0 {
                    tx.execute(
                        "INSERT INTO users (app_id, country_code, phone, email, created_at) \
                         VALUES ($1, $2, $3, 'sandbox@example.com', $4)",
                        &[&app.id, &i32::from(cc), &phone, &now],
                    )
                    .await
                    .map_err(pg)?;
                }
            }
            tx.commit().await.map_err(pg)?;
            Ok(app)
        })
        .await
    }

    async fn app_by_key_hash(&self, key_hash: &[u8; 32]) -> Result<Option<App>> {
        Ok(self
            .row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE key_hash = $1"),
                &[&key_hash.as_slice()],
            )
            .await?
            .map(|r| app_row(&r)))
    }

    async fn app(&self, id: i64) -> Result<Option<App>> {
        Ok(self
            .row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"),
                &[&id],
            )
            .await?
            .map(|r| app_row(&r)))
    }

    async fn apps(&self) -> Result<Vec<App>> {
        Ok(self
            .rows(&format!("SELECT {APP_COLUMNS} FROM apps ORDER BY id"), &[])
            .await?
            .iter()
            .map(app_row)
            .collect())
    }

    async fn update_app(&self, id: i64, patch: AppPatch) -> Result<Option<App>> {
        let row = self
            .row(
                &format!(
                    "UPDATE apps SET name = COALESCE($2, name), token_length = COALESCE($3, token_length), \
                     sms_enabled = COALESCE($4, sms_enabled), calls_enabled = COALESCE($5, calls_enabled), \
                     phone_export_enabled = COALESCE($6, phone_export_enabled), \
                     generic_tokens_enabled = COALESCE($7, generic_tokens_enabled), \
                     custom_messages_enabled = COALESCE($8, custom_messages_enabled), \
                     sandbox = COALESCE($9, sandbox) WHERE id = $1 RETURNING {APP_COLUMNS}"
                ),
                &[
                    &id,
                    &patch.name,
                    &patch.token_length.map(i16::from),
                    &patch.sms_enabled,
                    &patch.calls_enabled,
                    &patch.phone_export_enabled,
                    &patch.generic_tokens_enabled,
                    &patch.custom_messages_enabled,
                    &patch.sandbox,
                ],
            )
            .await?;
        Ok(row.map(|r| app_row(&r)))
    }

    async fn set_app_key(&self, id: i64, key_hash: &[u8; 32]) -> Result<bool> {
        Ok(self
            .exec(
                "UPDATE apps SET key_hash = $2 WHERE id = $1",
                &[&id, &key_hash.as_slice()],
            )
            .await?
            == 1)
    }

    async fn delete_app(&self, id: i64) -> Result<bool> {
        // Its users, their devices and states, and its own states go with
        // it (foreign keys).
        Ok(self.exec("DELETE FROM apps WHERE id = $1", &[&id]).await? == 1)
    }
}
