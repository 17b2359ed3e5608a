//! The sweep of states that decide nothing any more.

use super::*;

/// How many states one statement of a sweep removes at most: a write small
/// enough that the commits of requests going with it or waiting behind it
/// are barely held up. Statements of 1,000, twenty in a row at a start
/// with a backlog of 20,000, raised a verification's p99 in that first
/// second from about 4 ms to 16 to 18 (SQLite, `full`); statements of 25
/// with the pauses below, to 4.8 ms (docs/speed.md).
const SWEEP_BATCH: u32 = 25;

/// How many statements one sweep runs at most.
const SWEEP_BATCHES: u32 = 800;

/// The pause between two statements of one sweep, as a multiple of how
/// long the last one took (waiting for the writer included), and at least
/// [`SWEEP_PAUSE`]: a sweep has the writer a tenth of the time at most,
/// and the commits of requests go between its statements.
const SWEEP_SHARE: u32 = 9;

/// The shortest pause between two statements of one sweep.
const SWEEP_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

impl Domain {
    /// Removes states past their expiry, which decide nothing their
    /// absence does not decide the same way: expired SMS tokens, phone
    /// verifications and QR links, and rate limits back to full. These are
    /// the rows that hold phone numbers of people who may not be users, so
    /// a number stays only as long as a limit or a code needs it. Each
    /// statement removes at most 25 rows, then the sweep pauses nine times
    /// as long as the statement took (5 ms at least), and one sweep removes
    /// at most 20,000, so a backlog drains over several sweeps, never in a
    /// burst of writes. Returns how many it removed.
    ///
    /// # Errors
    /// A store failure.
    pub async fn sweep(&self, now: u64) -> Result<u64, Error> {
        let mut removed = 0;
        let mut pause = std::time::Duration::ZERO;
        for _ in 0..SWEEP_BATCHES {
            tokio::time::sleep(pause).await;
            let started = std::time::Instant::now();
            let batch = self.store.sweep(unix(now), SWEEP_BATCH).await?;
            pause = (started.elapsed() * SWEEP_SHARE).max(SWEEP_PAUSE);
            removed += batch;
            if batch < u64::from(SWEEP_BATCH) {
                break;
            }
        }
        Ok(removed)
    }
}
