//! Deliveries through a network gateway, off the request path.
//!
//! A request only puts its message into a bounded queue (and is answered
//! 503 when the queue is full); a worker hands each message to the gateway
//! and retries with doubling delays when the gateway says to. At shutdown
//! the queue is closed and drained for a bounded time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::{Message, SendError, Sender};

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The gateway took it.
    Delivered,
    /// A failure that may pass (a timeout, a 5xx, a 429): try again.
    Retry(String),
    /// A failure that will not pass (a 4xx): give up.
    Fail(String),
}

/// What an outbox carries: a message, or a webhook event.
pub trait Item: Clone + Send + Sync + 'static {
    /// The application it is for, for logs.
    fn app_id(&self) -> i64;
    /// What it is, for logs (never its content).
    fn kind(&self) -> &'static str;
}

impl Item for Message {
    fn app_id(&self) -> i64 {
        self.app_id
    }
    fn kind(&self) -> &'static str {
        match self.channel {
            super::Channel::Sms => "sms",
            super::Channel::Call => "call",
            super::Channel::Email => "email",
        }
    }
}

/// One network gateway.
#[async_trait]
pub trait Gateway<M = Message>: Send + Sync + 'static {
    /// Its name, for logs.
    fn name(&self) -> &'static str;
    /// One attempt at delivering `message`.
    async fn attempt(&self, message: &M) -> Attempt;
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; it doubles each time.
    pub first_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 6,
            first_delay: Duration::from_secs(1),
        }
    }
}

/// Messages waiting at most; past it a send is refused.
const QUEUE: usize = 10_000;
/// Deliveries in flight at once.
const IN_FLIGHT: usize = 32;

/// A queue in front of a gateway.
pub struct Outbox<M = Message> {
    queue: Mutex<Option<mpsc::Sender<M>>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<M> std::fmt::Debug for Outbox<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl<M: Item> Outbox<M> {
    /// Starts the worker for `gateway`.
    #[must_use]
    pub fn start(gateway: Arc<dyn Gateway<M>>, retry: Retry) -> Self {
        let (tx, mut rx) = mpsc::channel::<M>(QUEUE);
        let worker = tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT));
            let mut running = JoinSet::new();
            while let Some(message) = rx.recv().await {
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                    break;
                };
                let gateway = Arc::clone(&gateway);
                running.spawn(async move {
                    deliver(gateway.as_ref(), &message, retry).await;
                    drop(slot);
                });
                while running.try_join_next().is_some() {}
            }
            while running.join_next().await.is_some() {}
        });
        Self {
            queue: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
        }
    }

    /// Puts `item` in the queue; refused when the queue is full or closed.
    ///
    /// # Errors
    /// [`SendError`].
    pub fn enqueue(&self, item: M) -> Result<(), SendError> {
        let queue = self
            .queue
            .lock()
            .map_err(|_| SendError("queue lock poisoned".into()))?
            .clone()
            .ok_or_else(|| SendError("shutting down".into()))?;
        queue
            .try_send(item)
            .map_err(|_| SendError("the delivery queue is full".into()))
    }

    /// Closes the queue and waits up to `within` for what is in it.
    pub async fn close(&self, within: Duration) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(worker) = worker
            && tokio::time::timeout(within, worker).await.is_err()
        {
            tracing::warn!("deliveries still pending at shutdown were dropped");
        }
    }
}

async fn deliver<M: Item>(gateway: &dyn Gateway<M>, message: &M, retry: Retry) {
    let mut delay = retry.first_delay;
    for attempt in 1..=retry.attempts {
        match gateway.attempt(message).await {
            Attempt::Delivered => {
                crate::telemetry::delivery(gateway.name(), "delivered");
                tracing::info!(
                    gateway = gateway.name(),
                    app_id = message.app_id(),
                    kind = message.kind(),
                    attempt,
                    "delivered"
                );
                return;
            }
            Attempt::Fail(why) => {
                crate::telemetry::delivery(gateway.name(), "refused");
                tracing::warn!(gateway = gateway.name(), app_id = message.app_id(), %why, "delivery refused; not retried");
                return;
            }
            Attempt::Retry(why) => {
                tracing::warn!(gateway = gateway.name(), app_id = message.app_id(), %why, attempt, "delivery failed");
                if attempt < retry.attempts {
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }
    crate::telemetry::delivery(gateway.name(), "given_up");
    tracing::error!(
        gateway = gateway.name(),
        app_id = message.app_id(),
        "delivery given up after every retry"
    );
}

#[async_trait]
impl Sender for Outbox<Message> {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        self.enqueue(message.clone())
    }

    async fn flush(&self, within: Duration) {
        self.close(within).await;
    }
}
