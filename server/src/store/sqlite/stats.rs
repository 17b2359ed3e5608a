//! [`StatsStore`]: the monthly counters, on SQLite.

use async_trait::async_trait;

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::store::StatsStore;

#[async_trait]
impl StatsStore for Sqlite {
    async fn count(
        &self,
        app_id: i64,
        year: i32,
        month: u8,
        counter: Counter,
        n: i64,
    ) -> Result<()> {
        let column = counter.column();
        self.write(move |c| {
            c.run(
                &format!(
                    "INSERT INTO stats (app_id, year, month, {column}) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (app_id, year, month) DO UPDATE SET {column} = {column} + ?4"
                ),
                params![app_id, year, month, n],
            )
            .map(drop)
            .map_err(classify)
        })
        .await
    }

    async fn stats(&self, app_id: i64) -> Result<Vec<MonthStats>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT year, month, api_calls, auths, calls, sms, users FROM stats \
                     WHERE app_id = ?1 ORDER BY year, month",
                )
                .map_err(classify)?;
            let rows = stmt
                .query_map([app_id], |r| {
                    Ok(MonthStats {
                        year: r.get(0)?,
                        month: r.get(1)?,
                        api_calls: r.get(2)?,
                        auths: r.get(3)?,
                        calls: r.get(4)?,
                        sms: r.get(5)?,
                        users: r.get(6)?,
                    })
                })
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn user_count(&self, app_id: i64) -> Result<i64> {
        self.read(move |c| {
            c.row(
                "SELECT COUNT(*) FROM users WHERE app_id = ?1",
                [app_id],
                |r| r.get(0),
            )
            .map_err(classify)
        })
        .await
    }
}
