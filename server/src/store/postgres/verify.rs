//! [`VerifyStore`] on PostgreSQL.

use async_trait::async_trait;

use super::{JOINED_APP_COLUMNS, Postgres, StoreError, app_row_at};
use crate::store::{
    Account, ApiKey, AttemptFilter, AttemptRow, Conversion, Result, VerifyServiceRow, VerifyStore,
    Versioned, WebhookRow,
};

const SERVICE_COLUMNS: &str = "seq, sid, app_id, settings, version, created_at, updated_at";

fn service_row(r: &tokio_postgres::Row) -> VerifyServiceRow {
    VerifyServiceRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        settings: r.get(3),
        version: r.get(4),
        created_at: r.get(5),
        updated_at: r.get(6),
    }
}

fn account_row(r: &tokio_postgres::Row) -> Result<Account> {
    let hash: Vec<u8> = r.get(2);
    Ok(Account {
        app_id: r.get(0),
        sid: r.get(1),
        token_hash: hash
            .try_into()
            .map_err(|_| StoreError::Internal("a token hash is not 32 bytes".into()))?,
        sealed_token: r.get(3),
    })
}

const ATTEMPT: &str = "seq, sid, app_id, service_sid, verification_sid, channel, country, masked_to, to_tag, code_length, locale, converted, created_at, updated_at";

fn attempt_row(r: &tokio_postgres::Row) -> AttemptRow {
    AttemptRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        service_sid: r.get(3),
        verification_sid: r.get(4),
        channel: r.get(5),
        country: r.get(6),
        masked_to: r.get(7),
        to_tag: r.get(8),
        code_length: r.get(9),
        locale: r.get(10),
        converted: r.get(11),
        created_at: r.get(12),
        updated_at: r.get(13),
    }
}

/// The filter as a condition on parameters $2 to $9 (unset: matches all).
const ATTEMPT_FILTER: &str = "app_id = $1 AND ($2::TEXT IS NULL OR service_sid = $2) \
     AND ($3::TEXT IS NULL OR verification_sid = $3) AND ($4::TEXT IS NULL OR channel = $4) \
     AND ($5::TEXT IS NULL OR country = $5) AND ($6::TEXT IS NULL OR to_tag = $6) \
     AND ($7::BOOLEAN IS NULL OR converted = $7) AND ($8::BIGINT IS NULL OR created_at >= $8) \
     AND ($9::BIGINT IS NULL OR created_at < $9)";

const WEBHOOK: &str = "seq, sid, app_id, service_sid, settings, created_at, updated_at";

fn webhook_row(r: &tokio_postgres::Row) -> WebhookRow {
    WebhookRow {
        seq: r.get(0),
        sid: r.get(1),
        app_id: r.get(2),
        service_sid: r.get(3),
        settings: r.get(4),
        created_at: r.get(5),
        updated_at: r.get(6),
    }
}

fn key_row(r: &tokio_postgres::Row) -> Result<ApiKey> {
    let hash: Vec<u8> = r.get(3);
    Ok(ApiKey {
        sid: r.get(0),
        app_id: r.get(1),
        friendly_name: r.get(2),
        secret_hash: hash
            .try_into()
            .map_err(|_| StoreError::Internal("a secret hash is not 32 bytes".into()))?,
        created_at: r.get(4),
    })
}

#[async_trait]
impl VerifyStore for Postgres {
    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        self.exec(
            "INSERT INTO api_keys (sid, app_id, friendly_name, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &key.sid,
                &key.app_id,
                &key.friendly_name,
                &key.secret_hash.as_slice(),
                &key.created_at,
            ],
        )
        .await
        .map(drop)
    }

    async fn api_key(&self, sid: &str) -> Result<Option<ApiKey>> {
        self.row(
            "SELECT sid, app_id, friendly_name, secret_hash, created_at FROM api_keys WHERE sid = $1",
            &[&sid],
        )
        .await?
        .as_ref()
        .map(key_row)
        .transpose()
    }

    async fn api_keys(&self, app_id: i64) -> Result<Vec<ApiKey>> {
        self.rows(
            "SELECT sid, app_id, friendly_name, secret_hash, created_at FROM api_keys \
             WHERE app_id = $1 ORDER BY created_at, sid",
            &[&app_id],
        )
        .await?
        .iter()
        .map(key_row)
        .collect()
    }

    async fn delete_api_key(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("api_keys", app_id, sid).await
    }

    async fn set_account(&self, new: &Account) -> Result<bool> {
        // The SID is unique: one another application holds conflicts on it,
        // which `ON CONFLICT (app_id)` does not cover: refused as false.
        let changed = self
            .exec(
                "INSERT INTO accounts (app_id, sid, token_hash) \
                 SELECT id, $2, $3 FROM apps WHERE id = $1 \
                 ON CONFLICT (app_id) DO UPDATE SET token_hash = excluded.token_hash, \
                 sealed_token = NULL WHERE accounts.sid = excluded.sid",
                &[&new.app_id, &new.sid, &new.token_hash.as_slice()],
            )
            .await;
        match changed {
            Ok(n) => Ok(n == 1),
            Err(StoreError::Internal(why)) if why.contains("accounts_sid_key") => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn account(&self, app_id: i64) -> Result<Option<Account>> {
        self.row(
            "SELECT app_id, sid, token_hash, sealed_token FROM accounts WHERE app_id = $1",
            &[&app_id],
        )
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
    }

    async fn account_by_sid(&self, sid: &str) -> Result<Option<Account>> {
        self.row(
            "SELECT app_id, sid, token_hash, sealed_token FROM accounts WHERE sid = $1",
            &[&sid],
        )
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
    }

    async fn seal_account_token(
        &self,
        app_id: i64,
        token_hash: &[u8; 32],
        sealed: &[u8],
    ) -> Result<bool> {
        self.exec(
            "UPDATE accounts SET sealed_token = $3 \
             WHERE app_id = $1 AND token_hash = $2 AND sealed_token IS NULL",
            &[&app_id, &token_hash.as_slice(), &sealed],
        )
        .await
        .map(|n| n == 1)
    }

    async fn record_attempt(&self, row: &AttemptRow) -> Result<()> {
        self.exec(
            "INSERT INTO verify_attempts (sid, app_id, service_sid, verification_sid, channel, \
             country, masked_to, to_tag, code_length, locale, converted, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
            &[
                &row.sid,
                &row.app_id,
                &row.service_sid,
                &row.verification_sid,
                &row.channel,
                &row.country,
                &row.masked_to,
                &row.to_tag,
                &row.code_length,
                &row.locale,
                &row.converted,
                &row.created_at,
                &row.updated_at,
            ],
        )
        .await
        .map(drop)
    }

    async fn convert_attempts(&self, conversions: &[Conversion]) -> Result<()> {
        let apps: Vec<i64> = conversions.iter().map(|c| c.app_id).collect();
        let sids: Vec<&str> = conversions
            .iter()
            .map(|c| c.verification_sid.as_str())
            .collect();
        let times: Vec<i64> = conversions.iter().map(|c| c.at).collect();
        self.exec(
            "UPDATE verify_attempts a SET converted = TRUE, updated_at = c.at \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS c(app_id, sid, at) \
             WHERE a.app_id = c.app_id AND a.verification_sid = c.sid",
            &[&apps, &sids, &times],
        )
        .await
        .map(drop)
    }

    async fn attempt(&self, app_id: i64, sid: &str) -> Result<Option<AttemptRow>> {
        Ok(self
            .row(
                &format!("SELECT {ATTEMPT} FROM verify_attempts WHERE app_id = $1 AND sid = $2"),
                &[&app_id, &sid],
            )
            .await?
            .as_ref()
            .map(attempt_row))
    }

    async fn attempts(
        &self,
        app_id: i64,
        filter: &AttemptFilter,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AttemptRow>> {
        let f = filter;
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {ATTEMPT} FROM verify_attempts WHERE {ATTEMPT_FILTER} \
                     AND seq > $10 ORDER BY seq LIMIT $11"
                ),
                &[
                    &app_id,
                    &f.service_sid,
                    &f.verification_sid,
                    &f.channel,
                    &f.country,
                    &f.to_tag,
                    &f.converted,
                    &f.created_after,
                    &f.created_before,
                    &after_seq,
                    &limit,
                ],
            )
            .await?
            .iter()
            .map(attempt_row)
            .collect())
    }

    async fn attempt_totals(&self, app_id: i64, filter: &AttemptFilter) -> Result<(i64, i64)> {
        let f = filter;
        let row = self
            .row(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN converted THEN 1 ELSE 0 END), 0)::BIGINT \
                     FROM verify_attempts WHERE {ATTEMPT_FILTER}"
                ),
                &[
                    &app_id,
                    &f.service_sid,
                    &f.verification_sid,
                    &f.channel,
                    &f.country,
                    &f.to_tag,
                    &f.converted,
                    &f.created_after,
                    &f.created_before,
                ],
            )
            .await?;
        Ok(row.map_or((0, 0), |r| (r.get(0), r.get(1))))
    }

    async fn create_webhook(&self, row: &WebhookRow) -> Result<()> {
        self.exec(
            "INSERT INTO verify_webhooks (sid, app_id, service_sid, settings, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&row.sid, &row.app_id, &row.service_sid, &row.settings, &row.created_at, &row.updated_at],
        )
        .await
        .map(drop)
    }

    async fn webhook(
        &self,
        app_id: i64,
        service_sid: &str,
        sid: &str,
    ) -> Result<Option<WebhookRow>> {
        Ok(self
            .row(
                &format!("SELECT {WEBHOOK} FROM verify_webhooks WHERE sid = $1 AND app_id = $2 AND service_sid = $3"),
                &[&sid, &app_id, &service_sid],
            )
            .await?
            .as_ref()
            .map(webhook_row))
    }

    async fn webhooks(
        &self,
        app_id: i64,
        service_sid: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<WebhookRow>> {
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {WEBHOOK} FROM verify_webhooks WHERE app_id = $1 AND service_sid = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
                ),
                &[&app_id, &service_sid, &after_seq, &limit],
            )
            .await?
            .iter()
            .map(webhook_row)
            .collect())
    }

    async fn update_webhook(
        &self,
        app_id: i64,
        sid: &str,
        settings: &str,
        now: i64,
    ) -> Result<bool> {
        self.exec(
            "UPDATE verify_webhooks SET settings = $3, updated_at = $4 WHERE sid = $1 AND app_id = $2",
            &[&sid, &app_id, &settings, &now],
        )
        .await
        .map(|n| n == 1)
    }

    async fn delete_webhook(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_webhooks", app_id, sid).await
    }

    async fn account_with_app(&self, sid: &str) -> Result<Option<(Account, crate::store::App)>> {
        self.row(
            &format!(
                "SELECT c.app_id, c.sid, c.token_hash, c.sealed_token, {JOINED_APP_COLUMNS} \
                 FROM accounts c JOIN apps a ON a.id = c.app_id WHERE c.sid = $1"
            ),
            &[&sid],
        )
        .await?
        .as_ref()
        .map(|r| account_row(r).map(|a| (a, app_row_at(r, 4))))
        .transpose()
    }

    async fn create_verify_service(&self, row: &VerifyServiceRow) -> Result<bool> {
        self.exec(
            "INSERT INTO verify_services (sid, app_id, settings, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sid) DO NOTHING",
            &[
                &row.sid,
                &row.app_id,
                &row.settings,
                &row.version,
                &row.created_at,
                &row.updated_at,
            ],
        )
        .await
        .map(|n| n == 1)
    }

    async fn verify_service(&self, app_id: i64, sid: &str) -> Result<Option<VerifyServiceRow>> {
        Ok(self
            .row(
                &format!(
                    "SELECT {SERVICE_COLUMNS} FROM verify_services WHERE sid = $1 AND app_id = $2"
                ),
                &[&sid, &app_id],
            )
            .await?
            .as_ref()
            .map(service_row))
    }

    async fn verify_service_exists(&self, app_id: i64, sid: &str) -> Result<bool> {
        Ok(self
            .row(
                "SELECT 1 FROM verify_services WHERE sid = $1 AND app_id = $2",
                &[&sid, &app_id],
            )
            .await?
            .is_some())
    }

    async fn service_state(
        &self,
        app_id: i64,
        sid: &str,
        key: &str,
    ) -> Result<Option<Option<Versioned>>> {
        let row = self
            .row(
                "SELECT EXISTS (SELECT 1 FROM verify_services WHERE sid = $1 AND app_id = $2), \
                 s.value, s.version FROM (SELECT 1) d LEFT JOIN states s ON s.key = $3",
                &[&sid, &app_id, &key],
            )
            .await?;
        Ok(row.and_then(|r| {
            let exists: bool = r.get(0);
            let state = r
                .get::<_, Option<Vec<u8>>>(1)
                .zip(r.get::<_, Option<i64>>(2))
                .map(|(value, version)| Versioned { value, version });
            exists.then_some(state)
        }))
    }

    async fn verify_services(
        &self,
        app_id: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<VerifyServiceRow>> {
        let limit = i64::from(limit);
        Ok(self
            .rows(
                &format!(
                    "SELECT {SERVICE_COLUMNS} FROM verify_services \
                     WHERE app_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                ),
                &[&app_id, &after_seq, &limit],
            )
            .await?
            .iter()
            .map(service_row)
            .collect())
    }

    async fn update_verify_service(
        &self,
        app_id: i64,
        sid: &str,
        version: i64,
        settings: &str,
        now: i64,
    ) -> Result<bool> {
        self.exec(
            "UPDATE verify_services SET settings = $4, version = version + 1, updated_at = $5 \
             WHERE sid = $1 AND app_id = $2 AND version = $3",
            &[&sid, &app_id, &version, &settings, &now],
        )
        .await
        .map(|n| n == 1)
    }

    async fn delete_verify_service(&self, app_id: i64, sid: &str) -> Result<bool> {
        self.delete_owned("verify_services", app_id, sid).await
    }
}
