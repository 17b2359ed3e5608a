//! The sweep of states that decide nothing any more.

use super::*;

/// How many states one sweep reads at most (a page is 500).
pub(super) const SWEEP_BOUND: usize = 5_000;

impl Domain {
    /// Removes states that decide nothing any more: spent or expired QR
    /// links, expired SMS tokens and phone verifications, and per-number
    /// rate limits back to full (equal to no state at all). These are the
    /// rows that hold phone numbers of people who may not be users, so a
    /// number stays at most a day after its last send. Reads at most
    /// 5,000 states from after `cursor`; returns where the next
    /// sweep starts (`""` once it reached the end) and how many it
    /// removed. Each removal is conditional on the version read, so a
    /// state changed meanwhile stays.
    ///
    /// # Errors
    /// A store failure.
    pub async fn sweep(&self, cursor: &str, now: u64) -> Result<(String, usize), Error> {
        let mut after = cursor.to_owned();
        let mut read = 0;
        let mut removed = 0;
        while read < SWEEP_BOUND {
            let page = self.store.scan_states(&after, 500).await?;
            let Some((last, _)) = page.last() else {
                return Ok((String::new(), removed));
            };
            let next = last.clone();
            read += page.len();
            for (key, state) in &page {
                if self.spent(key, &state.value, now)
                    && self
                        .store
                        .remove_if(key, state.version, &state.value)
                        .await?
                {
                    removed += 1;
                }
            }
            after = next;
        }
        Ok((after, removed))
    }

    /// Whether the state at `key` would decide nothing that its absence
    /// does not decide the same way.
    fn spent(&self, key: &str, value: &[u8], now: u64) -> bool {
        let full = |limit: RateLimit| {
            RateLimitState::decode(value).is_some_and(|state| {
                let mut probe = state;
                (0..limit.burst()).all(|_| limit.check(&mut probe, now).is_ok())
            })
        };
        let expired = || Pending::decode(value).is_some_and(|p| p.state.expires_at() <= now);
        if key.starts_with("qr:") {
            QrLink::decode(value).is_some_and(|link| link.expires_at <= now)
        } else if key.starts_with("app:") && key.contains(":dest:") {
            if key.ends_with(":burst") {
                full(self.limits.destination_burst)
            } else {
                key.ends_with(":day") && full(self.limits.destination_daily)
            }
        } else if key.starts_with("app:") && key.contains(":bucket:") {
            buckets::bucket_key_window_end(key).is_some_and(|end| end <= now)
        } else if key.starts_with("app:") && key.contains(":verification:") {
            expired()
        } else {
            key.starts_with("user:") && key.ends_with(":token") && expired()
        }
    }
}
