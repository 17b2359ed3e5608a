//! Statistics: counters gathered in memory and flushed, and the months
//! `app/stats` reads.

use super::attempts::write_conversions;
use super::*;
use crate::store::Conversion;

impl Domain {
    /// Adds one to a statistics counter. Counters are statistics, not
    /// decisions: they gather here and reach the database with
    /// [`flush_statistics`](Self::flush_statistics) (every second, at
    /// shutdown, and before `app/stats` reads them), so a request never
    /// waits for one. A crash loses at most a second of counts.
    pub(super) fn count_later(&self, app_id: i64, now: u64, counter: Counter) {
        let (year, month) = year_month(now);
        if let Ok(mut pending) = self.counters.lock() {
            *pending.entry((app_id, year, month, counter)).or_insert(0) += 1;
        }
    }

    /// Writes the gathered counters and conversions. The writes run in a
    /// task of their own that holds the flush lock: a caller that goes
    /// away (a client hanging up on `app/stats` or the attempts, the
    /// flusher aborted at shutdown) stops waiting, never a write half
    /// done, and the next flush waits for it. What a failed write held
    /// waits for the next flush.
    pub async fn flush_statistics(&self) {
        let flushing = Arc::clone(&self.flushing).lock_owned().await;
        let counters: Vec<_> = match self.counters.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => Vec::new(),
        };
        let conversions: Vec<Conversion> = match self.conversions.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => Vec::new(),
        };
        if counters.is_empty() && conversions.is_empty() {
            return;
        }
        let store = Arc::clone(&self.store);
        let (pending_counters, pending_conversions) =
            (Arc::clone(&self.counters), Arc::clone(&self.conversions));
        let writes = tokio::spawn(async move {
            let _flushing = flushing;
            write_conversions(&*store, &pending_conversions, &conversions).await;
            for ((app_id, year, month, counter), n) in counters {
                if store.count(app_id, year, month, counter, n).await.is_err() {
                    // The store logs why, once an interval.
                    if let Ok(mut pending) = pending_counters.lock() {
                        *pending.entry((app_id, year, month, counter)).or_insert(0) += n;
                    }
                }
            }
        });
        // A write that panicked is the store's bug, logged by the runtime;
        // the counts it held are lost, the server goes on.
        let _ = writes.await;
    }

    /// Counts an authenticated API call.
    pub fn count_call(&self, app: &App, now: u64) {
        self.count_later(app.id, now, Counter::ApiCall);
    }

    /// `app/stats`: the application's months and its user count.
    ///
    /// # Errors
    /// A store failure.
    pub async fn stats(&self, app: &App, now: u64) -> Result<(Vec<MonthStats>, i64), Error> {
        self.flush_statistics().await;
        let mut months = self.store.stats(app.id).await?;
        let (year, month) = year_month(now);
        if !months.iter().any(|m| m.year == year && m.month == month) {
            months.push(MonthStats {
                year,
                month,
                ..MonthStats::default()
            });
        }
        let keep = months.len().saturating_sub(12);
        months.drain(..keep);
        Ok((months, self.store.user_count(app.id).await?))
    }
}

/// The calendar year and month of a Unix time.
#[must_use]
pub fn year_month(now: u64) -> (i32, u8) {
    let t = time::OffsetDateTime::from_unix_timestamp(now_i64(now))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (t.year(), u8::from(t.month()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(1_700_000_000), (2023, 11));
    }
}
