//! [`UserStore`]: users and their devices, on SQLite.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::UserStore;

#[async_trait]
impl UserStore for Sqlite {
    async fn upsert_user(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> Result<(User, bool)> {
        let (phone, email) = (phone.to_owned(), email.to_owned());
        self.write(move |c| {
            let created = c
                .execute(
                    "INSERT INTO users (app_id, country_code, phone, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (app_id, country_code, phone) DO NOTHING",
                    params![app_id, country_code, phone, email, now],
                )
                .map_err(classify)?
                == 1;
            let user = c
                .query_row(
                    &format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE app_id = ?1 AND country_code = ?2 AND phone = ?3"
                    ),
                    params![app_id, country_code, phone],
                    user_row,
                )
                .map_err(classify)?;
            Ok((user, created))
        })
        .await
    }

    async fn user(&self, app_id: i64, id: i64) -> Result<Option<User>> {
        self.read(move |c| {
            c.row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1 AND app_id = ?2"),
                [id, app_id],
                user_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn import_user(
        &self,
        id: i64,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> Result<Imported> {
        let (phone, email) = (phone.to_owned(), email.to_owned());
        self.write(move |c| {
            let holder: Option<(i64, u16, String)> = c
                .row(
                    "SELECT app_id, country_code, phone FROM users WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(classify)?;
            let holder_of_phone: Option<i64> = c
                .row(
                    "SELECT id FROM users WHERE app_id = ?1 AND country_code = ?2 AND phone = ?3",
                    params![app_id, country_code, phone],
                    |r| r.get(0),
                )
                .optional()
                .map_err(classify)?;
            let held = holder.as_ref().map(|(a, c, p)| (*a, *c, p.as_str()));
            let wanted = (app_id, country_code, phone.as_str());
            if let Some(decided) = Imported::decide(held, holder_of_phone, wanted) {
                return Ok(decided);
            }
            // AUTOINCREMENT keeps the largest id ever used: later ids are
            // above this one.
            c.run(
                "INSERT INTO users (id, app_id, country_code, phone, email, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, app_id, country_code, phone, email, now],
            )
            .map_err(classify)?;
            Ok(Imported::Created)
        })
        .await
    }

    async fn user_by_phone(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
    ) -> Result<Option<User>> {
        let phone = phone.to_owned();
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE app_id = ?1 AND country_code = ?2 AND phone = ?3"
                ),
                params![app_id, country_code, phone],
                user_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn user_with_states(&self, app_id: i64, id: i64) -> Result<Option<UserStates>> {
        self.snapshot(move |c| user_with_states_in(c, app_id, id))
            .await
    }

    async fn app_with_user(
        &self,
        key_hash: &[u8; 32],
        id: i64,
    ) -> Result<Option<(App, Option<UserStates>)>> {
        let hash = key_hash.to_vec();
        self.snapshot(move |c| {
            let Some(app) = c
                .row(
                    &format!("SELECT {APP_COLUMNS} FROM apps WHERE key_hash = ?1"),
                    [hash],
                    app_row,
                )
                .optional()
                .map_err(classify)?
            else {
                return Ok(None);
            };
            let found = user_with_states_in(c, app.id, id)?;
            Ok(Some((app, found)))
        })
        .await
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        self.read(move |c| {
            c.row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn set_registered(&self, id: i64) -> Result<()> {
        self.write(move |c| {
            c.run(
                "UPDATE users SET registered = 1 WHERE id = ?1 AND registered = 0",
                [id],
            )
            .map(drop)
            .map_err(classify)
        })
        .await
    }

    async fn delete_user(&self, app_id: i64, id: i64) -> Result<bool> {
        self.write(move |c| {
            let deleted = c
                .execute(
                    "DELETE FROM users WHERE id = ?1 AND app_id = ?2",
                    [id, app_id],
                )
                .map_err(classify)?
                == 1;
            // Its devices and states go with it (foreign keys).
            Ok(deleted)
        })
        .await
    }

    async fn add_device(&self, device: Device) -> Result<Device> {
        self.write(move |c| {
            c.run(
                "INSERT INTO devices (user_id, uid, sealed_seed, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![device.user_id, device.uid.as_slice(), device.sealed_seed, device.created_at],
            )
            .map_err(classify)?;
            Ok(Device {
                id: c.last_insert_rowid(),
                ..device
            })
        })
        .await
    }

    async fn devices(&self, user_id: i64) -> Result<Vec<Device>> {
        self.read(move |c| devices_of(c, user_id)).await
    }

    async fn remove_device(&self, user_id: i64, device_id: i64) -> Result<bool> {
        self.write(move |c| {
            c.execute(
                "DELETE FROM devices WHERE id = ?1 AND user_id = ?2",
                [device_id, user_id],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }
}

/// The user `id` of `app_id` with its devices and states, on `c`.
fn user_with_states_in(c: &Connection, app_id: i64, id: i64) -> Result<Option<UserStates>> {
    let Some(user) = c
        .row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1 AND app_id = ?2"),
            [id, app_id],
            user_row,
        )
        .optional()
        .map_err(classify)?
    else {
        return Ok(None);
    };
    let devices = devices_of(c, id)?;
    // Sorted here, not by the statement: its index is on the user alone, and
    // an ORDER BY would build a temporary b-tree for a row or two. SQLite
    // compares TEXT bytewise, as `str` does.
    let mut stmt = c
        .prepare_cached("SELECT key, value, version FROM states WHERE user_id = ?1")
        .map_err(classify)?;
    let mut states = stmt
        .query_map([id], state_row)
        .map_err(classify)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(classify)?;
    states.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(UserStates {
        user,
        devices,
        states,
    }))
}
