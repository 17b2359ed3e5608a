//! The sweep of states that decide nothing any more.

use super::*;

/// How many states one statement of a sweep removes at most.
const SWEEP_BATCH: u32 = 1_000;

/// How many statements one sweep runs at most.
const SWEEP_BATCHES: u32 = 20;

impl Domain {
    /// Removes states past their expiry, which decide nothing their
    /// absence does not decide the same way: expired SMS tokens, phone
    /// verifications and QR links, and rate limits back to full. These are
    /// the rows that hold phone numbers of people who may not be users, so
    /// a number stays only as long as a limit or a code needs it. Each
    /// statement removes at most 1,000 rows and one sweep at most 20,000,
    /// so a backlog drains over several sweeps, never in one long burst of
    /// writes. Returns how many it removed.
    ///
    /// # Errors
    /// A store failure.
    pub async fn sweep(&self, now: u64) -> Result<u64, Error> {
        let mut removed = 0;
        for _ in 0..SWEEP_BATCHES {
            let batch = self.store.sweep(unix(now), SWEEP_BATCH).await?;
            removed += batch;
            if batch < u64::from(SWEEP_BATCH) {
                break;
            }
        }
        Ok(removed)
    }
}
