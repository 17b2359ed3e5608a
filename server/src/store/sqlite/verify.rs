//! [`VerifyStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{Cached, JOINED_APP_COLUMNS, Sqlite, app_row_at, classify, internal};
use crate::store::{
    Account, ApiKey, AttemptFilter, AttemptRow, Conversion, Result, VerifyServiceRow, VerifyStore,
    Versioned, WebhookRow,
};

const SERVICE_COLUMNS: &str = "seq, sid, app_id, settings, version, created_at, updated_at";

fn service_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VerifyServiceRow> {
    Ok(VerifyServiceRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        settings: r.get(3)?,
        version: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

type AccountColumns = (i64, String, Vec<u8>, Option<Vec<u8>>);

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountColumns> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn account((app_id, sid, hash, sealed_token): AccountColumns) -> Result<Account> {
    Ok(Account {
        app_id,
        sid,
        token_hash: hash
            .try_into()
            .map_err(|_| internal("a token hash is not 32 bytes"))?,
        sealed_token,
    })
}

const ATTEMPT: &str = "seq, sid, app_id, service_sid, verification_sid, channel, country, masked_to, to_tag, code_length, locale, converted, created_at, updated_at";

fn attempt_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttemptRow> {
    Ok(AttemptRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        service_sid: r.get(3)?,
        verification_sid: r.get(4)?,
        channel: r.get(5)?,
        country: r.get(6)?,
        masked_to: r.get(7)?,
        to_tag: r.get(8)?,
        code_length: r.get(9)?,
        locale: r.get(10)?,
        converted: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

/// The filter as a condition on parameters ?2 to ?9 (unset: matches all).
const ATTEMPT_FILTER: &str = "app_id = ?1 AND (?2 IS NULL OR service_sid = ?2) \
     AND (?3 IS NULL OR verification_sid = ?3) AND (?4 IS NULL OR channel = ?4) \
     AND (?5 IS NULL OR country = ?5) AND (?6 IS NULL OR to_tag = ?6) \
     AND (?7 IS NULL OR converted = ?7) AND (?8 IS NULL OR created_at >= ?8) \
     AND (?9 IS NULL OR created_at < ?9)";

const WEBHOOK: &str = "seq, sid, app_id, service_sid, settings, created_at, updated_at";

fn webhook_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookRow> {
    Ok(WebhookRow {
        seq: r.get(0)?,
        sid: r.get(1)?,
        app_id: r.get(2)?,
        service_sid: r.get(3)?,
        settings: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

type KeyColumns = (String, i64, String, Vec<u8>, i64);

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyColumns> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn api_key((sid, app_id, friendly_name, hash, created_at): KeyColumns) -> Result<ApiKey> {
    Ok(ApiKey {
        sid,
        app_id,
        friendly_name,
        secret_hash: hash
            .try_into()
            .map_err(|_| internal("a secret hash is not 32 bytes"))?,
        created_at,
    })
}

#[async_trait]
impl VerifyStore for Sqlite {
    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        let key = key.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO api_keys (sid, app_id, friendly_name, secret_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    key.sid,
                    key.app_id,
                    key.friendly_name,
                    key.secret_hash.as_slice(),
                    key.created_at
                ],
            )
            .map(drop)
            .map_err(classify)
        })
        .await
    }

    async fn api_key(&self, sid: &str) -> Result<Option<ApiKey>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                "SELECT sid, app_id, friendly_name, secret_hash, created_at FROM api_keys WHERE sid = ?1",
                [sid],
                key_row,
            )
            .optional()
            .map_err(classify)?
            .map(api_key)
            .transpose()
        })
        .await
    }

    async fn api_keys(&self, app_id: i64) -> Result<Vec<ApiKey>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT sid, app_id, friendly_name, secret_hash, created_at FROM api_keys \
                     WHERE app_id = ?1 ORDER BY created_at, sid",
                )
                .map_err(classify)?;
            let rows = stmt.query_map([app_id], key_row).map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(classify)?
                .into_iter()
                .map(api_key)
                .collect()
        })
        .await
    }

    async fn delete_api_key(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("api_keys", app_id, sid).await
    }

    async fn set_account(&self, new: &Account) -> Result<bool> {
        let new = new.clone();
        self.write(move |c| {
            // The SID is unique: taken by another application, the insert
            // conflicts on it and changes nothing.
            c.run(
                "INSERT INTO accounts (app_id, sid, token_hash) \
                 SELECT id, ?2, ?3 FROM apps WHERE id = ?1 \
                 ON CONFLICT (app_id) DO UPDATE SET token_hash = excluded.token_hash, \
                 sealed_token = NULL WHERE accounts.sid = excluded.sid",
                params![new.app_id, new.sid, new.token_hash.as_slice()],
            )
            .map_or_else(
                |e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => Ok(false),
                    _ => Err(classify(e)),
                },
                |n| Ok(n == 1),
            )
        })
        .await
    }

    async fn account(&self, app_id: i64) -> Result<Option<Account>> {
        self.read(move |c| {
            c.row(
                "SELECT app_id, sid, token_hash, sealed_token FROM accounts WHERE app_id = ?1",
                [app_id],
                account_row,
            )
            .optional()
            .map_err(classify)?
            .map(account)
            .transpose()
        })
        .await
    }

    async fn account_by_sid(&self, sid: &str) -> Result<Option<Account>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                "SELECT app_id, sid, token_hash, sealed_token FROM accounts WHERE sid = ?1",
                [sid],
                account_row,
            )
            .optional()
            .map_err(classify)?
            .map(account)
            .transpose()
        })
        .await
    }

    async fn seal_account_token(
        &self,
        app_id: i64,
        token_hash: &[u8; 32],
        sealed: &[u8],
    ) -> Result<bool> {
        let (hash, sealed) = (token_hash.to_vec(), sealed.to_vec());
        self.write(move |c| {
            c.run(
                "UPDATE accounts SET sealed_token = ?3 \
                 WHERE app_id = ?1 AND token_hash = ?2 AND sealed_token IS NULL",
                params![app_id, hash, sealed],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn record_attempt(&self, row: &AttemptRow) -> Result<()> {
        let row = row.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO verify_attempts (sid, app_id, service_sid, verification_sid, channel, \
                 country, masked_to, to_tag, code_length, locale, converted, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO NOTHING",
                params![
                    row.sid,
                    row.app_id,
                    row.service_sid,
                    row.verification_sid,
                    row.channel,
                    row.country,
                    row.masked_to,
                    row.to_tag,
                    row.code_length,
                    row.locale,
                    row.converted,
                    row.created_at,
                    row.updated_at
                ],
            )
            .map(drop)
            .map_err(classify)
        })
        .await
    }

    async fn convert_attempts(&self, conversions: &[Conversion]) -> Result<()> {
        let conversions = conversions.to_vec();
        self.write(move |c| {
            for conversion in conversions {
                c.run(
                    "UPDATE verify_attempts SET converted = 1, updated_at = ?3 \
                     WHERE app_id = ?1 AND verification_sid = ?2",
                    params![
                        conversion.app_id,
                        conversion.verification_sid,
                        conversion.at
                    ],
                )
                .map_err(classify)?;
            }
            Ok(())
        })
        .await
    }

    async fn attempt(&self, app_id: i64, sid: &str) -> Result<Option<AttemptRow>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                &format!("SELECT {ATTEMPT} FROM verify_attempts WHERE app_id = ?1 AND sid = ?2"),
                params![app_id, sid],
                attempt_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn attempts(
        &self,
        app_id: i64,
        filter: &AttemptFilter,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AttemptRow>> {
        let f = filter.clone();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {ATTEMPT} FROM verify_attempts WHERE {ATTEMPT_FILTER} \
                     AND seq > ?10 ORDER BY seq LIMIT ?11"
                ))
                .map_err(classify)?;
            let rows = stmt
                .query_map(
                    params![
                        app_id,
                        f.service_sid,
                        f.verification_sid,
                        f.channel,
                        f.country,
                        f.to_tag,
                        f.converted,
                        f.created_after,
                        f.created_before,
                        after_seq,
                        limit
                    ],
                    attempt_row,
                )
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn attempt_totals(&self, app_id: i64, filter: &AttemptFilter) -> Result<(i64, i64)> {
        let f = filter.clone();
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(converted), 0) FROM verify_attempts WHERE {ATTEMPT_FILTER}"
                ),
                params![
                    app_id,
                    f.service_sid,
                    f.verification_sid,
                    f.channel,
                    f.country,
                    f.to_tag,
                    f.converted,
                    f.created_after,
                    f.created_before
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(classify)
        })
        .await
    }

    async fn create_webhook(&self, row: &WebhookRow) -> Result<()> {
        let row = row.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO verify_webhooks (sid, app_id, service_sid, settings, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![row.sid, row.app_id, row.service_sid, row.settings, row.created_at, row.updated_at],
            )
            .map(drop)
            .map_err(classify)
        })
        .await
    }

    async fn webhook(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> Result<Option<WebhookRow>> {
        let (service_sid, sid) = (service_sid.to_owned(), sid.to_owned());
        self.read(move |c| {
            c.row(
                &format!("SELECT {WEBHOOK} FROM verify_webhooks WHERE sid = ?1 AND app_id = ?2 AND service_sid = ?3"),
                params![sid, app_id, service_sid],
                webhook_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn webhooks(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<WebhookRow>> {
        let service_sid = service_sid.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {WEBHOOK} FROM verify_webhooks WHERE app_id = ?1 AND service_sid = ?2 \
                     AND seq > ?3 ORDER BY seq LIMIT ?4"
                ))
                .map_err(classify)?;
            let rows = stmt
                .query_map(params![app_id, service_sid, after_seq, limit], webhook_row)
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn update_webhook(
        &self,
        app_id: i64,
        sid: &str,
        settings: &str,
        now: i64,
    ) -> Result<bool> {
        let (sid, settings) = (sid.to_owned(), settings.to_owned());
        self.write(move |c| {
            c.run(
                "UPDATE verify_webhooks SET settings = ?3, updated_at = ?4 WHERE sid = ?1 AND app_id = ?2",
                params![sid, app_id, settings, now],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn delete_webhook(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_webhooks", app_id, sid).await
    }

    async fn account_with_app(&self, sid: &str) -> Result<Option<(Account, crate::store::App)>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT c.app_id, c.sid, c.token_hash, c.sealed_token, {JOINED_APP_COLUMNS} \
                     FROM accounts c JOIN apps a ON a.id = c.app_id WHERE c.sid = ?1"
                ),
                [sid],
                |r| {
                    let columns = account_row(r)?;
                    let app = app_row_at(r, 4)?;
                    Ok((columns, app))
                },
            )
            .optional()
            .map_err(classify)?
            .map(|(columns, app)| account(columns).map(|a| (a, app)))
            .transpose()
        })
        .await
    }

    async fn create_verify_service(&self, row: &VerifyServiceRow) -> Result<bool> {
        let row = row.clone();
        self.write(move |c| {
            c.run(
                "INSERT INTO verify_services (sid, app_id, settings, version, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (sid) DO NOTHING",
                params![row.sid, row.app_id, row.settings, row.version, row.created_at, row.updated_at],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn verify_service(&self, app_id: i64, sid: &str) -> Result<Option<VerifyServiceRow>> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                &format!(
                    "SELECT {SERVICE_COLUMNS} FROM verify_services WHERE sid = ?1 AND app_id = ?2"
                ),
                params![sid, app_id],
                service_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn verify_service_exists(&self, app_id: i64, sid: &str) -> Result<bool> {
        let sid = sid.to_owned();
        self.read(move |c| {
            c.row(
                "SELECT 1 FROM verify_services WHERE sid = ?1 AND app_id = ?2",
                params![sid, app_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(classify)
        })
        .await
    }

    async fn service_state(
        &self,
        app_id: i64,
        sid: &str,
        key: &str,
    ) -> Result<Option<Option<Versioned>>> {
        let (sid, key) = (sid.to_owned(), key.to_owned());
        self.read(move |c| {
            c.row(
                "SELECT EXISTS (SELECT 1 FROM verify_services WHERE sid = ?1 AND app_id = ?2), \
                 s.value, s.version FROM (SELECT 1) LEFT JOIN states s ON s.key = ?3",
                params![sid, app_id, key],
                |r| {
                    let exists: bool = r.get(0)?;
                    let value: Option<Vec<u8>> = r.get(1)?;
                    let version: Option<i64> = r.get(2)?;
                    let state = value
                        .zip(version)
                        .map(|(value, version)| Versioned { value, version });
                    Ok(exists.then_some(state))
                },
            )
            .map_err(classify)
        })
        .await
    }

    async fn verify_services(
        &self,
        app_id: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<VerifyServiceRow>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {SERVICE_COLUMNS} FROM verify_services \
                     WHERE app_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
                ))
                .map_err(classify)?;
            let rows = stmt
                .query_map(params![app_id, after_seq, limit], service_row)
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn update_verify_service(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> Result<bool> {
        let (sid, settings) = (sid.to_owned(), settings.to_owned());
        self.write(move |c| {
            c.run(
                "UPDATE verify_services SET settings = ?4, version = version + 1, updated_at = ?5 \
                 WHERE sid = ?1 AND app_id = ?2 AND version = ?3",
                params![sid, app_id, version, settings, now],
            )
            .map(|n| n == 1)
            .map_err(classify)
        })
        .await
    }

    async fn delete_verify_service(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_services", app_id, sid).await
    }
}
