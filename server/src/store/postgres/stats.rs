//! [`StatsStore`]: the monthly counters, on PostgreSQL.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::StatsStore;

#[async_trait]
impl StatsStore for Postgres {
    async fn count(
        &self,
        app_id: i64,
        year: i32,
        month: u8,
        counter: Counter,
        n: i64,
    ) -> Result<()> {
        let column = counter.column();
        self.exec(
            &format!(
                "INSERT INTO stats (app_id, year, month, {column}) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (app_id, year, month) DO UPDATE SET {column} = stats.{column} + $4"
            ),
            &[&app_id, &year, &i16::from(month), &n],
        )
        .await
        .map(drop)
    }

    async fn stats(&self, app_id: i64) -> Result<Vec<MonthStats>> {
        Ok(self
            .rows(
                "SELECT year, month, api_calls, auths, calls, sms, users FROM stats \
                 WHERE app_id = $1 ORDER BY year, month",
                &[&app_id],
            )
            .await?
            .iter()
            .map(|r| MonthStats {
                year: r.get(0),
                month: u8::try_from(r.get::<_, i16>(1)).unwrap_or(1),
                api_calls: r.get(2),
                auths: r.get(3),
                calls: r.get(4),
                sms: r.get(5),
                users: r.get(6),
            })
            .collect())
    }

    async fn user_count(&self, app_id: i64) -> Result<i64> {
        Ok(self
            .row("SELECT COUNT(*) FROM users WHERE app_id = $1", &[&app_id])
            .await?
            .map_or(0, |r| r.get(0)))
    }
}
