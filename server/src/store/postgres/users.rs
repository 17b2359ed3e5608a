//! [`UserStore`]: users and their devices, on PostgreSQL.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::UserStore;

#[async_trait]
impl UserStore for Postgres {
    async fn upsert_user(
        &self,
        app_id: i64,
        country_code: u16,
        phone: &str,
        email: &str,
        now: i64,
    ) -> Result<(User, bool)> {
        let cc = i32::from(country_code);
        let created = self
            .exec(
                "INSERT INTO users (app_id, country_code, phone, email, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (app_id, country_code, phone) DO NOTHING",
                &[&app_id, &cc, &phone, &email, &now],
            )
            .await?
            == 1;
        let user = self
            .row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND country_code = $2 AND phone = $3"),
                &[&app_id, &cc, &phone],
            )
            .await?
            .map(|r| user_row(&r))
            .ok_or_else(|| StoreError::Internal("a user vanished".into()))?;
        Ok((user, created))
    }

    async fn user(&self, app_id: i64, id: i64) -> Result<Option<User>> {
        Ok(self
            .row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND app_id = $2"),
                &[&id, &app_id],
            )
            .await?
            .map(|r| user_row(&r)))
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
        let cc = i32::from(country_code);
        bounded(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg)?;
            // One importer at a time: the checks and the insert decide
            // together.
            tx.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", &[])
                .await
                .map_err(pg)?;
            let holder = tx
                .query_opt(
                    "SELECT app_id, country_code, phone FROM users WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(pg)?
                .map(|r| (r.get::<_, i64>(0), r.get::<_, i32>(1), r.get::<_, String>(2)));
            let holder_of_phone: Option<i64> = tx
                .query_opt(
                    "SELECT id FROM users WHERE app_id = $1 AND country_code = $2 AND phone = $3",
                    &[&app_id, &cc, &phone],
                )
                .await
                .map_err(pg)?
                .map(|r| r.get(0));
            // A calling code outside u16 is no user this import could match.
            let held = holder.as_ref().map(|(a, c, p)| {
                (*a, u16::try_from(*c).unwrap_or(u16::MAX), p.as_str())
            });
            if let Some(decided) =
                Imported::decide(held, holder_of_phone, (app_id, country_code, phone))
            {
                return Ok(decided);
            }
            tx.execute(
                "INSERT INTO users (id, app_id, country_code, phone, email, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id, &app_id, &cc, &phone, &email, &now],
            )
            .await
            .map_err(pg)?;
            // The sequence never hands this id out: it moves past it.
            tx.execute(
                "SELECT setval('users_id_seq', GREATEST($1, (SELECT last_value FROM users_id_seq)))",
                &[&id],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
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
        Ok(self
            .row(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND country_code = $2 AND phone = $3"
                ),
                &[&app_id, &i32::from(country_code), &phone],
            )
            .await?
            .map(|r| user_row(&r)))
    }

    async fn user_with_states(&self, app_id: i64, id: i64) -> Result<Option<UserStates>> {
        // One statement, so one round trip: the user, its devices as
        // arrays, and its states as arrays (NULL where there are none).
        let Some(r) = self
            .row(
                &format!(
                    "SELECT {USER_WITH_STATES} FROM users u {DEVICES_AND_STATES} \
                          WHERE u.id = $1 AND u.app_id = $2"
                ),
                &[&id, &app_id],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(user_with_states_at(&r, 0)))
    }

    async fn app_with_user(
        &self,
        key_hash: &[u8; 32],
        id: i64,
    ) -> Result<Option<(App, Option<UserStates>)>> {
        // The application and its user in one statement: the user's
        // columns are NULL where the application has no user `id`.
        let Some(r) = self
            .row(
                &format!(
                    "SELECT {JOINED_APP_COLUMNS}, {USER_WITH_STATES} FROM apps a \
                     LEFT JOIN users u ON u.id = $2 AND u.app_id = a.id {DEVICES_AND_STATES} \
                     WHERE a.key_hash = $1"
                ),
                &[&key_hash.as_slice(), &id],
            )
            .await?
        else {
            return Ok(None);
        };
        let app = app_row_at(&r, 0);
        let found = r
            .get::<_, Option<i64>>(APP_COLUMN_COUNT)
            .map(|_| user_with_states_at(&r, APP_COLUMN_COUNT));
        Ok(Some((app, found)))
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        Ok(self
            .row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
                &[&id],
            )
            .await?
            .map(|r| user_row(&r)))
    }

    async fn set_registered(&self, id: i64) -> Result<()> {
        self.exec(
            "UPDATE users SET registered = TRUE WHERE id = $1 AND NOT registered",
            &[&id],
        )
        .await
        .map(drop)
    }

    async fn delete_user(&self, app_id: i64, id: i64) -> Result<bool> {
        // Its devices and states go with it (foreign keys).
        Ok(self
            .exec(
                "DELETE FROM users WHERE id = $1 AND app_id = $2",
                &[&id, &app_id],
            )
            .await?
            == 1)
    }

    async fn add_device(&self, device: Device) -> Result<Device> {
        let row = self
            .row(
                "INSERT INTO devices (user_id, uid, sealed_seed, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&device.user_id, &device.uid.as_slice(), &device.sealed_seed, &device.created_at],
            )
            .await?
            .ok_or_else(|| StoreError::Internal("no id returned".into()))?;
        Ok(Device {
            id: row.get(0),
            ..device
        })
    }

    async fn devices(&self, user_id: i64) -> Result<Vec<Device>> {
        Ok(self
            .rows(
                "SELECT id, user_id, uid, sealed_seed, created_at FROM devices WHERE user_id = $1 ORDER BY id",
                &[&user_id],
            )
            .await?
            .iter()
            .map(device_row)
            .collect())
    }

    async fn remove_device(&self, user_id: i64, device_id: i64) -> Result<bool> {
        self.exec(
            "DELETE FROM devices WHERE id = $1 AND user_id = $2",
            &[&device_id, &user_id],
        )
        .await
        .map(|n| n == 1)
    }
}

/// The columns of a user `u` with its devices `d` and states `s`, joined
/// by [`DEVICES_AND_STATES`].
const USER_WITH_STATES: &str = "u.id, u.app_id, u.country_code, u.phone, u.email, u.created_at, \
     u.registered, d.ids, d.uids, d.seeds, d.created, s.keys, s.vals, s.versions";

/// The devices and the states of the user `u`, as arrays (NULL where there
/// are none). Each array is sorted by the row's unique id or key, so the
/// arrays of one aggregation line up by that order alone: a device's id,
/// seed and state are never paired with another's, whatever order the
/// executor feeds the aggregates in. (Without the sorts PostgreSQL spent
/// about 12% less CPU a verification, but the arrays would line up only by
/// how its executor works, which its manual does not promise.)
const DEVICES_AND_STATES: &str = "LEFT JOIN LATERAL (SELECT array_agg(id ORDER BY id), \
     array_agg(uid ORDER BY id), array_agg(sealed_seed ORDER BY id), \
     array_agg(created_at ORDER BY id) FROM devices WHERE user_id = u.id) \
     d(ids, uids, seeds, created) ON TRUE \
     LEFT JOIN LATERAL (SELECT array_agg(key ORDER BY key), array_agg(value ORDER BY key), \
     array_agg(version ORDER BY key) FROM states WHERE user_id = u.id) \
     s(keys, vals, versions) ON TRUE";

/// A user with its devices and states, from [`USER_WITH_STATES`] at
/// column `at` onwards.
fn user_with_states_at(r: &tokio_postgres::Row, at: usize) -> UserStates {
    let user = user_row_at(r, at);
    let list = |i: usize| -> Vec<i64> { r.get::<_, Option<Vec<i64>>>(at + i).unwrap_or_default() };
    let bytes =
        |i: usize| -> Vec<Vec<u8>> { r.get::<_, Option<Vec<Vec<u8>>>>(at + i).unwrap_or_default() };
    let devices = list(7)
        .into_iter()
        .zip(bytes(8))
        .zip(bytes(9))
        .zip(list(10))
        .map(|(((device, uid), sealed_seed), created_at)| Device {
            id: device,
            user_id: user.id,
            uid: uid.try_into().unwrap_or([0; 16]),
            sealed_seed,
            created_at,
        })
        .collect();
    let keys: Vec<String> = r.get::<_, Option<Vec<String>>>(at + 11).unwrap_or_default();
    let states = keys
        .into_iter()
        .zip(bytes(12))
        .zip(list(13))
        .map(|((key, value), version)| (key, Versioned { value, version }))
        .collect();
    UserStates {
        user,
        devices,
        states,
    }
}
