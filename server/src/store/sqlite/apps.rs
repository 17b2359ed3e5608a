//! [`AppStore`]: applications, on SQLite.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::AppStore;

#[async_trait]
impl AppStore for Sqlite {
    async fn create_app(&self, new: NewApp, now: i64) -> Result<App> {
        self.write(move |c| {
            c.run(
                "INSERT INTO apps (name, key_hash, token_length, sandbox, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![new.name, new.key_hash.as_slice(), new.token_length, new.sandbox, now],
            )
            .map_err(classify)?;
            let id = c.last_insert_rowid();
            if new.sandbox {
                let (user, cc, phone) = SANDBOX_USER;
                let seeded = c
                    .run(
                        "INSERT INTO users (id, app_id, country_code, phone, email, created_at) \
                         VALUES (?1, ?2, ?3, ?4, 'sandbox@example.com', ?5) ON CONFLICT DO NOTHING",
                        params![user, id, cc, phone, now],
                    )
                    .map_err(classify)?;
                if seeded == 0 {
                    c.run(
                        "INSERT INTO users (app_id, country_code, phone, email, created_at) \
                         VALUES (?1, ?2, ?3, 'sandbox@example.com', ?4)",
                        params![id, cc, phone, now],
                    )
                    .map_err(classify)?;
                }
            }
            get_app(c, id)?.ok_or_else(|| internal("the new application vanished"))
        })
        .await
    }

    async fn app_by_key_hash(&self, key_hash: &[u8; 32]) -> Result<Option<App>> {
        let hash = key_hash.to_vec();
        self.read(move |c| {
            c.row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE key_hash = ?1"),
                [hash],
                app_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn app(&self, id: i64) -> Result<Option<App>> {
        self.read(move |c| get_app(c, id)).await
    }

    async fn apps(&self) -> Result<Vec<App>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!("SELECT {APP_COLUMNS} FROM apps ORDER BY id"))
                .map_err(classify)?;
            let rows = stmt.query_map([], app_row).map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn update_app(&self, id: i64, patch: AppPatch) -> Result<Option<App>> {
        self.write(move |c| {
            c.run(
                "UPDATE apps SET name = COALESCE(?2, name), token_length = COALESCE(?3, token_length), \
                 sms_enabled = COALESCE(?4, sms_enabled), calls_enabled = COALESCE(?5, calls_enabled), \
                 phone_export_enabled = COALESCE(?6, phone_export_enabled), \
                 generic_tokens_enabled = COALESCE(?7, generic_tokens_enabled), \
                 custom_messages_enabled = COALESCE(?8, custom_messages_enabled), \
                 sandbox = COALESCE(?9, sandbox) WHERE id = ?1",
                params![
                    id,
                    patch.name,
                    patch.token_length,
                    patch.sms_enabled,
                    patch.calls_enabled,
                    patch.phone_export_enabled,
                    patch.generic_tokens_enabled,
                    patch.custom_messages_enabled,
                    patch.sandbox
                ],
            )
            .map_err(classify)?;
            get_app(c, id)
        })
        .await
    }

    async fn set_app_key(&self, id: i64, key_hash: &[u8; 32]) -> Result<bool> {
        let hash = key_hash.to_vec();
        self.write(move |c| {
            c.run(
                "UPDATE apps SET key_hash = ?2 WHERE id = ?1",
                params![id, hash],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn delete_app(&self, id: i64) -> Result<bool> {
        // Its users, their devices and states, and its own states go with
        // it (foreign keys).
        self.write(move |c| {
            c.run("DELETE FROM apps WHERE id = ?1", [id])
                .map(|n| n == 1)
                .map_err(classify)
        })
        .await
    }
}
