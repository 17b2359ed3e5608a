//! The verbs of the API, over the library, the store and a sender. Nothing
//! here knows HTTP or SQL: each verb takes the application, the time (read
//! once per request) and typed inputs, and returns a typed outcome or an
//! [`ApiError`].

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use passcode::{
    Code, KeyUri, OtpKind, RateLimit, RateLimitState, Secret, SmsCheck, SmsError, SmsPolicy,
    SmsVerification, SmsVerifier, Totp, TotpConfig, TotpPolicy, TotpState, VerifyError,
};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::crypto::MasterKey;
use crate::error::ApiError;
use crate::messages::{self, Lang};
use crate::phone::{LineType, Phone};
use crate::sender::{Channel, Message, Sender};
use crate::store::sqlite::SANDBOX_USER;
use crate::store::{App, Counter, Device, MonthStats, Store, StoreError, User, Versioned};

/// How often a compare-and-set is retried before the request gives up with
/// 503; each round has a winner, so this bounds the contention one request
/// can meet, not correctness.
const CAS_ROUNDS: usize = 200;

/// Waits a random time before a compare-and-set is tried again: up to
/// 1 ms after the first lost round, doubling to at most 32 ms. Contenders
/// that lost together would otherwise load the same version again, and
/// again only one would win each round; spread out, each commit finds
/// some of them with a fresh read, so a burst on one key (an
/// application's send limit) drains instead of giving up with 503.
async fn backoff(round: usize) {
    use rand::RngExt;
    let cap = 1_000u64 << round.min(6).saturating_sub(1);
    let wait = rand::rng().random_range(0..=cap);
    tokio::time::sleep(std::time::Duration::from_micros(wait)).await;
}

/// Seconds an SMS or voice token stays valid.
const TOKEN_VALIDITY: u64 = 600;
/// Seconds a phone verification stays valid (Authy: about 600).
const VERIFICATION_VALIDITY: u64 = 600;
/// Seconds a QR code link answers.
const QR_VALIDITY: u64 = 600;

/// The sandbox's universal token and verification code.
const SANDBOX_TOKEN: &str = "0000000";
const SANDBOX_CODE: &str = "0000";

/// The abuse limits, all kept in the database.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sends to one destination: a short-term cooldown.
    pub destination_burst: RateLimit,
    /// Sends to one destination per day.
    pub destination_daily: RateLimit,
    /// Sends by one application per minute.
    pub app_sends: RateLimit,
    /// Phone number exports per user (3 a month).
    pub export_user: RateLimit,
    /// Phone number exports per application (1500 a minute).
    pub export_app: RateLimit,
    /// Wrong TOTP codes per authenticator, over a day: a budget that a
    /// success does not give back (the library's throttle, which a success
    /// clears, keeps the short delays).
    pub totp_guesses: RateLimit,
}

impl Default for Limits {
    fn default() -> Self {
        // Each unwrap_or is unreachable: the arguments are valid constants.
        let limit = |quota, period, burst| {
            RateLimit::new(quota, period, burst).unwrap_or_else(|_| unreachable_limit())
        };
        Self {
            // 3 sends at once, then one a minute or so.
            destination_burst: limit(3, 60, 3),
            destination_daily: limit(20, 86_400, 10),
            app_sends: limit(600, 60, 100),
            export_user: limit(3, 30 * 86_400, 3),
            // Authy: 1500 a minute; a burst of 25 keeps the sustained rate
            // near it while never exceeding 1500 in any minute.
            export_app: limit(1500, 60, 25),
            // 100 at once, then one every 14.4 minutes (a sustained rate
            // of 199 - 100 + 1 = 100 a day), never 200 in any 24 hours:
            // each a 3 in 10^6 chance (six digits, one step either way).
            totp_guesses: limit(199, 86_400, 100),
        }
    }
}

fn unreachable_limit() -> RateLimit {
    // RateLimit::new(1, 1, 1) is valid; this is only a total fallback.
    RateLimit::new(1, 1, 1).unwrap_or_else(|_| std::process::abort())
}

/// Everything the verbs need.
pub struct Service {
    store: Arc<dyn Store>,
    key: Arc<MasterKey>,
    sender: Arc<dyn Sender>,
    limits: Limits,
    counters: std::sync::Mutex<std::collections::HashMap<(i64, i32, u8, Counter), i64>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(why) => {
                // One line an interval, however many requests it refuses.
                static LOG: std::sync::Mutex<crate::telemetry::Every> = std::sync::Mutex::new(
                    crate::telemetry::Every::new(std::time::Duration::from_secs(10)),
                );
                let due = LOG
                    .lock()
                    .ok()
                    .and_then(|mut every| every.due(std::time::Instant::now()));
                if let Some(requests) = due {
                    tracing::warn!(%why, requests, "database unavailable: answering 503");
                }
                Self::Unavailable
            }
            StoreError::Internal(why) => {
                tracing::error!(%why, "database error");
                Self::Internal
            }
        }
    }
}

/// A state the store keeps, in the library's encoding.
trait Stored: Sized + Copy {
    fn decode(bytes: &[u8]) -> Option<Self>;
    fn encode(&self) -> Vec<u8>;
}

impl Stored for TotpState {
    fn decode(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes).ok()
    }
    fn encode(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
}

/// An authenticator's state: the library's TOTP state (the last step
/// used, the drift, the failures its throttle counts) and the day's budget
/// of wrong guesses, written together by one compare-and-set. Rows written
/// before the budget existed hold the TOTP state alone. A retired
/// authenticator (being replaced by a new enrolment) accepts nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Guarded {
    totp: TotpState,
    guesses: RateLimitState,
    retired: bool,
}

/// The whole state of a retired authenticator.
const RETIRED: &[u8] = b"retired";

impl Stored for Guarded {
    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes == RETIRED {
            return Some(Self {
                retired: true,
                ..Self::default()
            });
        }
        let (totp, guesses) = bytes.split_at_checked(TotpState::ENCODED_LEN)?;
        Some(Self {
            totp: TotpState::from_bytes(totp).ok()?,
            guesses: if guesses.is_empty() {
                RateLimitState::new()
            } else {
                RateLimitState::from_bytes(guesses).ok()?
            },
            retired: false,
        })
    }
    fn encode(&self) -> Vec<u8> {
        if self.retired {
            return RETIRED.to_vec();
        }
        let mut out = self.totp.to_bytes().to_vec();
        out.extend_from_slice(&self.guesses.to_bytes());
        out
    }
}

impl Stored for RateLimitState {
    fn decode(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes).ok()
    }
    fn encode(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
}

/// An SMS verification with the digit count its codes were made with and,
/// once approved, a keyed tag of the code it approved: a later attempt
/// with the same code is then a replay (60019), while the code itself is
/// never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    digits: u8,
    state: SmsVerification,
    used: Option<[u8; 32]>,
}

impl Stored for Pending {
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&digits, rest) = bytes.split_first()?;
        let (state, used) = rest.split_at_checked(SmsVerification::ENCODED_LEN)?;
        Some(Self {
            digits,
            state: SmsVerification::from_bytes(state).ok()?,
            used: match used.len() {
                0 => None,
                32 => Some(used.try_into().ok()?),
                _ => return None,
            },
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.digits];
        out.extend_from_slice(&self.state.to_bytes());
        if let Some(tag) = &self.used {
            out.extend_from_slice(tag);
        }
        out
    }
}

/// What a QR code link points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct QrLink {
    user_id: i64,
    device_id: i64,
    expires_at: u64,
}

impl Stored for QrLink {
    fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: [u8; 24] = bytes.try_into().ok()?;
        let (a, rest) = bytes.split_at(8);
        let (b, c) = rest.split_at(8);
        Some(Self {
            user_id: i64::from_be_bytes(a.try_into().ok()?),
            device_id: i64::from_be_bytes(b.try_into().ok()?),
            expires_at: u64::from_be_bytes(c.try_into().ok()?),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.user_id.to_be_bytes());
        out.extend_from_slice(&self.device_id.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out
    }
}

/// What `step` decided about a state.
enum Step<T> {
    /// Write the changed state, then answer `T`.
    Write(T),
    /// Answer `T` and write nothing.
    Keep(T),
}

/// The key of a device's TOTP state.
fn device_key(user_id: i64, device_id: i64) -> String {
    format!("user:{user_id}:device:{device_id}")
}

fn token_key(user_id: i64) -> String {
    format!("user:{user_id}:token")
}

/// The association data a device's seed is sealed with.
fn seed_context(device: &Device) -> Vec<u8> {
    let mut context = b"passcode-server device seed v1:".to_vec();
    context.extend_from_slice(&device.user_id.to_be_bytes());
    context.extend_from_slice(&device.uid);
    context
}

/// The TOTP profile of generic authenticators: 6 digits, 30 s, SHA-1.
fn generic_config() -> TotpConfig {
    TotpConfig::new()
}

fn now_i64(now: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// A sent token: what the response shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Delivered to the masked number.
    Sent {
        /// `+57-XXX-XXX-XX12`.
        cellphone: String,
    },
    /// Not sent: the user has an authenticator and `force` was not set.
    Ignored {
        /// `+57-XXX-XXX-XX12`.
        cellphone: String,
        /// The device that makes the message unnecessary.
        device: &'static str,
    },
}

/// What a token matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// The SMS or voice token (or the sandbox token).
    Sms {
        /// When the user was registered.
        registered_at: i64,
    },
    /// A generic authenticator.
    Device {
        /// Its id.
        id: i64,
        /// When it was enrolled.
        registered_at: i64,
    },
}

/// A user's status.
#[derive(Debug, Clone)]
pub struct Status {
    /// The user.
    pub user: User,
    /// Its devices.
    pub devices: Vec<Device>,
}

/// A generic authenticator enrolled.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The label shown in the app.
    pub label: String,
    /// The issuer (the application's name).
    pub issuer: String,
    /// The `otpauth://` URI (secret-bearing).
    pub uri: String,
    /// The opaque token of the QR code's link.
    pub qr_token: String,
}

/// Where a phone verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationState {
    /// Waiting for its code.
    Pending,
    /// Its code was checked.
    Verified,
    /// Its time ran out.
    Expired,
}

/// A phone verification's state and the seconds left before it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationStatus {
    /// Its state.
    pub state: VerificationState,
    /// Seconds before it expires, 0 once it has.
    pub seconds_to_expire: u64,
}

/// A phone verification started.
#[derive(Debug, Clone)]
pub struct Started {
    /// The response's `message`.
    pub message: String,
    /// Seconds the code stays valid.
    pub seconds_to_expire: u64,
    /// `unknown`, or `Google Voice` in the sandbox.
    pub carrier: &'static str,
    /// Whether the number is a mobile one.
    pub is_cellphone: bool,
    /// A random id for this start.
    pub uuid: String,
}

/// What the number metadata says about a number.
#[derive(Debug, Clone)]
pub struct PhoneInfo {
    /// Its type.
    pub line_type: LineType,
    /// Its carrier, `unknown` here.
    pub provider: &'static str,
    /// Whether it was ported (never known here: false).
    pub ported: bool,
}

/// The inputs of `phones/verification/start`.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// `sms` or `call`.
    pub via: Channel,
    /// Calling code.
    pub country_code: u64,
    /// National number as sent.
    pub phone_number: String,
    /// Requested locale.
    pub locale: Option<String>,
    /// Digits, 4 to 10.
    pub code_length: u8,
    /// A message template with `{{code}}`.
    pub custom_message: Option<String>,
    /// Whether a custom code was asked for.
    pub custom_code: bool,
}

impl Service {
    /// A service over `store`, sealing under `key`, delivering by `sender`.
    #[must_use]
    pub fn new(
        store: Arc<dyn Store>,
        key: Arc<MasterKey>,
        sender: Arc<dyn Sender>,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            key,
            sender,
            limits,
            counters: std::sync::Mutex::default(),
        }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Loads `key`, lets `step` decide, and writes the result back by
    /// compare-and-set, starting over when another writer won.
    async fn update<S: Stored, T>(
        &self,
        key: &str,
        init: impl Fn() -> Option<S>,
        step: impl FnMut(Option<S>) -> Result<(Option<S>, Step<T>), ApiError>,
    ) -> Result<T, ApiError> {
        self.update_from(key, None, init, step).await
    }

    /// [`update`](Self::update), whose first round decides on `read` (the
    /// state as read together with others, `Some(None)` where there was
    /// none) instead of loading it. The version read with it still decides:
    /// if the state changed since, the compare-and-set loses and the next
    /// round loads it afresh.
    async fn update_from<S: Stored, T>(
        &self,
        key: &str,
        mut read: Option<Option<Versioned>>,
        init: impl Fn() -> Option<S>,
        mut step: impl FnMut(Option<S>) -> Result<(Option<S>, Step<T>), ApiError>,
    ) -> Result<T, ApiError> {
        for round in 0..CAS_ROUNDS {
            if round > 0 {
                backoff(round).await;
            }
            let loaded = match read.take() {
                Some(read) => read,
                None => self.store.load(key).await?,
            };
            let (current, version) = match &loaded {
                Some(v) => match S::decode(&v.value) {
                    Some(state) => (Some(state), Some(v.version)),
                    None => {
                        tracing::error!(
                            key = key_kind(key),
                            "a stored state does not decode; refusing to overwrite it"
                        );
                        return Err(ApiError::Internal);
                    }
                },
                None => (init(), None),
            };
            let (next, decision) = step(current)?;
            let answer = match decision {
                Step::Keep(answer) => return Ok(answer),
                Step::Write(answer) => answer,
            };
            let Some(next) = next else { return Ok(answer) };
            if self.store.cas(key, version, &next.encode()).await? {
                return Ok(answer);
            }
        }
        tracing::warn!(key = key_kind(key), "compare-and-set kept losing");
        Err(ApiError::Unavailable)
    }

    /// Takes one unit of `limit` under `key`.
    async fn take(
        &self,
        key: &str,
        limit: RateLimit,
        now: u64,
        why: &'static str,
    ) -> Result<(), ApiError> {
        self.update(
            key,
            || Some(RateLimitState::new()),
            |state| {
                let mut state = state.unwrap_or_default();
                match limit.check(&mut state, now) {
                    Ok(()) => Ok((Some(state), Step::Write(()))),
                    Err(_) => {
                        crate::telemetry::rate_limited(why);
                        Err(ApiError::TooManyRequests(why))
                    }
                }
            },
        )
        .await
    }

    /// Adds one to a statistics counter. Counters are statistics, not
    /// decisions: they gather here and reach the database with
    /// [`flush_counters`](Self::flush_counters) (every second, at
    /// shutdown, and before `app/stats` reads them), so a request never
    /// waits for one. A crash loses at most a second of counts.
    fn count_later(&self, app_id: i64, now: u64, counter: Counter) {
        let (year, month) = year_month(now);
        if let Ok(mut pending) = self.counters.lock() {
            *pending.entry((app_id, year, month, counter)).or_insert(0) += 1;
        }
    }

    /// Writes the gathered counters.
    pub async fn flush_counters(&self) {
        let pending: Vec<_> = match self.counters.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return,
        };
        for ((app_id, year, month, counter), n) in pending {
            if self
                .store
                .count(app_id, year, month, counter, n)
                .await
                .is_err()
            {
                // Kept for the next flush; the store logs why, once an
                // interval.
                if let Ok(mut pending) = self.counters.lock() {
                    *pending.entry((app_id, year, month, counter)).or_insert(0) += n;
                }
            }
        }
    }

    /// Counts an authenticated API call.
    pub fn count_call(&self, app: &App, now: u64) {
        self.count_later(app.id, now, Counter::ApiCall);
    }

    /// The stored id of the user an Authy path names. In a sandbox
    /// application `51` is its own sandbox user: user ids are global, so
    /// only the first sandbox application's is stored under 51.
    ///
    /// # Errors
    /// A store failure.
    pub async fn user_id_in(&self, app: &App, id: i64) -> Result<i64, ApiError> {
        if app.sandbox
            && id == SANDBOX_USER.0
            && let Some(user) = self.sandbox_user(app).await?
        {
            return Ok(user.id);
        }
        Ok(id)
    }

    /// The id an Authy answer shows for the stored user `id`: 51 for a
    /// sandbox application's own sandbox user.
    ///
    /// # Errors
    /// A store failure.
    pub async fn user_id_out(&self, app: &App, id: i64) -> Result<i64, ApiError> {
        if app.sandbox
            && id != SANDBOX_USER.0
            && let Some(user) = self.sandbox_user(app).await?
            && user.id == id
        {
            return Ok(SANDBOX_USER.0);
        }
        Ok(id)
    }

    /// A sandbox application's own user +1 305-456-2345.
    async fn sandbox_user(&self, app: &App) -> Result<Option<User>, ApiError> {
        let (_, country_code, phone) = SANDBOX_USER;
        Ok(self
            .store
            .user_by_phone(app.id, country_code, phone)
            .await?
            .filter(|user| user.email == "sandbox@example.com"))
    }

    /// `users/new`: the user with this phone, created if needed.
    ///
    /// # Errors
    /// [`ApiError::UserNotValid`] naming every invalid field.
    pub async fn create_user(
        &self,
        app: &App,
        email: Option<&str>,
        cellphone: Option<&str>,
        country_code: Option<u64>,
        now: u64,
    ) -> Result<User, ApiError> {
        let mut invalid = Vec::new();
        let email = email.map(str::trim).filter(|e| valid_email(e));
        if email.is_none() {
            invalid.push("email");
        }
        let phone = match (cellphone, country_code) {
            (Some(cell), Some(cc)) => Phone::parse(cc, cell, app.sandbox).ok(),
            _ => None,
        };
        if phone.is_none() {
            invalid.push("cellphone");
        }
        if !matches!(country_code, Some(1..=999)) {
            invalid.push("country_code");
        }
        let (Some(email), Some(phone), true) = (email, phone, invalid.is_empty()) else {
            return Err(ApiError::UserNotValid(invalid));
        };
        let (user, created) = self
            .store
            .upsert_user(
                app.id,
                phone.country_code,
                &phone.national,
                email,
                now_i64(now),
            )
            .await?;
        if created {
            self.count_later(app.id, now, Counter::User);
        }
        Ok(user)
    }

    /// The user `id` of `app`.
    ///
    /// # Errors
    /// [`ApiError::UserNotFound`].
    pub async fn user(&self, app: &App, id: i64) -> Result<User, ApiError> {
        self.store
            .user(app.id, id)
            .await?
            .ok_or(ApiError::UserNotFound)
    }

    /// `users/{id}/status`.
    ///
    /// # Errors
    /// [`ApiError::UserNotFound`].
    pub async fn status(&self, app: &App, id: i64) -> Result<Status, ApiError> {
        let user = self.user(app, id).await?;
        let devices = self.store.devices(user.id).await?;
        Ok(Status { user, devices })
    }

    /// The three delete paths.
    ///
    /// # Errors
    /// [`ApiError::UserNotFound`].
    pub async fn delete_user(&self, app: &App, id: i64) -> Result<(), ApiError> {
        if self.store.delete_user(app.id, id).await? {
            Ok(())
        } else {
            Err(ApiError::UserNotFound)
        }
    }

    /// `sms/{id}` and `call/{id}`.
    ///
    /// # Errors
    /// [`ApiError::UserNotFound`], the channel switched off, a limit, or a
    /// failed delivery.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_token(
        &self,
        app: &App,
        id: i64,
        channel: Channel,
        force: bool,
        locale: Option<&str>,
        now: u64,
    ) -> Result<Sent, ApiError> {
        let user = self.user(app, id).await?;
        match channel {
            Channel::Sms if !app.sms_enabled => return Err(ApiError::SmsDisabled),
            Channel::Call if !app.calls_enabled => return Err(ApiError::CallsDisabled),
            _ => {}
        }
        let cellphone = Phone::masked(user.country_code, &user.phone);
        let has_device = !self.store.devices(user.id).await?.is_empty();
        if has_device && !force {
            return Ok(Sent::Ignored {
                cellphone,
                device: "authenticator",
            });
        }
        let e164 = format!("+{}{}", user.country_code, user.phone);
        if !app.sandbox {
            self.take_destination_limits(app, &e164, now).await?;
        }
        let digits = app.token_length;
        let verifier = self.verifier(digits, TOKEN_VALIDITY)?;
        let subject = token_key(user.id);
        let code = self
            .update(
                &subject,
                || None,
                |pending: Option<Pending>| {
                    let resent = pending.filter(|p| p.digits == digits).map(|mut p| {
                        verifier
                            .resend(&mut p.state, &subject, now)
                            .map(|code| (p, code))
                    });
                    let (state, code) = match resent {
                        Some(Ok(pair)) => pair,
                        Some(Err(SmsError::TooManySends)) => {
                            return Err(ApiError::TooManyRequests(
                                "Too many tokens sent: try again later",
                            ));
                        }
                        // Expired, used, out of checks, or made for another
                        // length: a new token.
                        Some(Err(_)) | None => {
                            let (state, code) = verifier.start(&mut rand::rng(), &subject, now);
                            (
                                Pending {
                                    digits,
                                    state,
                                    used: None,
                                },
                                code,
                            )
                        }
                    };
                    Ok((Some(state), Step::Write(code)))
                },
            )
            .await?;
        if !app.sandbox {
            self.take_app_send(app, now).await?;
            let lang = Lang::choose(locale, user.country_code);
            self.deliver(app, &e164, channel, lang, None, &code).await?;
        }
        self.count_later(
            app.id,
            now,
            match channel {
                Channel::Sms => Counter::Sms,
                Channel::Call => Counter::Call,
            },
        );
        Ok(Sent::Sent { cellphone })
    }

    /// Takes a unit of the destination's limits. The narrowest limits come
    /// first and the application's last ([`take_app_send`]), after the
    /// user's own resend limit too: a request refused for one number
    /// consumes nothing of the application's quota, so a flood of resends
    /// to one number cannot stop the application's other sends.
    ///
    /// [`take_app_send`]: Self::take_app_send
    async fn take_destination_limits(
        &self,
        app: &App,
        e164: &str,
        now: u64,
    ) -> Result<(), ApiError> {
        let l = self.limits;
        self.take(
            &format!("app:{}:dest:{e164}:burst", app.id),
            l.destination_burst,
            now,
            "Too many messages sent to this number: try again later",
        )
        .await?;
        self.take(
            &format!("app:{}:dest:{e164}:day", app.id),
            l.destination_daily,
            now,
            "Too many messages sent to this number today",
        )
        .await
    }

    /// Takes a unit of the application's send quota: the last limit a send
    /// passes before its delivery.
    async fn take_app_send(&self, app: &App, now: u64) -> Result<(), ApiError> {
        self.take(
            &format!("app:{}:sends", app.id),
            self.limits.app_sends,
            now,
            "Too many messages sent by this application: try again later",
        )
        .await
    }

    async fn deliver(
        &self,
        app: &App,
        to: &str,
        channel: Channel,
        lang: Lang,
        custom: Option<&str>,
        code: &Code,
    ) -> Result<(), ApiError> {
        let body = match (custom, channel) {
            (Some(template), _) => messages::custom(template, code.as_str()),
            (None, Channel::Sms) => lang.sms(&app.name, code.as_str()),
            (None, Channel::Call) => lang.voice(&app.name, code.as_str()),
        };
        let message = Message {
            app_id: app.id,
            to: to.to_owned(),
            channel,
            locale: lang.tag(),
            body,
            code: code.as_str().to_owned(),
        };
        let label = match channel {
            Channel::Sms => "sms",
            Channel::Call => "call",
        };
        let sent = self.sender.send(&message).await;
        crate::telemetry::message(label, if sent.is_ok() { "accepted" } else { "refused" });
        sent.map_err(|e| {
            tracing::warn!(error = %e, app_id = app.id, "delivery failed");
            match channel {
                Channel::Sms => ApiError::SmsNotSent,
                Channel::Call => ApiError::CallNotStarted,
            }
        })
    }

    /// The verifier of codes of `digits` digits valid for `validity`
    /// seconds. Both come from validated input or from stored state, so a
    /// refusal here is a fault, not a bad request.
    fn verifier(&self, digits: u8, validity: u64) -> Result<SmsVerifier, ApiError> {
        let key = Secret::from_bytes(self.key.sms_key()).map_err(|_| ApiError::Internal)?;
        let policy = SmsPolicy::new()
            .with_digits(digits)
            .and_then(|p| p.with_validity(validity))
            .map_err(|_| ApiError::Internal)?;
        SmsVerifier::new(&key, policy).map_err(|_| ApiError::Internal)
    }

    /// `verify/{token}/{id}`: every device of the user and the SMS token,
    /// each spent by compare-and-set.
    ///
    /// # Errors
    /// [`ApiError::UserDoesNotExist`], [`ApiError::TokenInvalid`],
    /// [`ApiError::ReusedToken`], or a throttle.
    pub async fn verify_token(
        &self,
        app: &App,
        id: i64,
        token: &str,
        now: u64,
    ) -> Result<Matched, ApiError> {
        // The user, its devices and its states in one read: on PostgreSQL
        // one round trip instead of three.
        let found = self
            .store
            .user_with_states(app.id, id)
            .await?
            .ok_or(ApiError::UserDoesNotExist)?;
        let user = &found.user;
        let well_formed =
            (6..=12).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(ApiError::TokenInvalid);
        }
        if app.sandbox && token == SANDBOX_TOKEN {
            return self
                .accepted(
                    app,
                    user,
                    Matched::Sms {
                        registered_at: user.created_at,
                    },
                    now,
                )
                .await;
        }
        // The SMS token first: a right token then spends no authenticator's
        // budget of wrong codes (a six-digit token has the length of a
        // TOTP code). A wrong one, or none pending, goes on to the
        // authenticators; when the lengths differ it spends nothing here.
        let read = found.state(&token_key(user.id));
        let sms = self.check_token(user, token, now, read).await?;
        let mut outcome = Outcome::Invalid.combine(sms.map(|()| Matched::Sms {
            registered_at: user.created_at,
        }));
        if let Outcome::Accepted(matched) = outcome {
            return self.accepted(app, user, matched, now).await;
        }
        for device in &found.devices {
            let read = found.state(&device_key(device.user_id, device.id));
            let result = self.check_device(device, token, now, read).await?;
            if result == Ok(FirstUse(true)) {
                // A new authenticator's first code: it replaces the older
                // ones (not one enrolled since, whose QR code is out).
                for older in found.devices.iter().filter(|d| d.id < device.id) {
                    self.remove_device(older).await?;
                }
            }
            outcome = outcome.combine(result.map(|_| Matched::Device {
                id: device.id,
                registered_at: device.created_at,
            }));
            if let Outcome::Accepted(matched) = outcome {
                return self.accepted(app, user, matched, now).await;
            }
        }
        let (label, result) = match outcome {
            Outcome::Accepted(matched) => return self.accepted(app, user, matched, now).await,
            Outcome::Throttled => (
                "throttled",
                ApiError::TooManyRequests("Too many failed attempts: try again later"),
            ),
            Outcome::Replayed => ("replayed", ApiError::ReusedToken),
            Outcome::Invalid => ("invalid", ApiError::TokenInvalid),
        };
        crate::telemetry::verification(label);
        Err(result)
    }

    async fn accepted(
        &self,
        app: &App,
        user: &User,
        matched: Matched,
        now: u64,
    ) -> Result<Matched, ApiError> {
        crate::telemetry::verification("accepted");
        if !user.registered {
            self.store.set_registered(user.id).await?;
        }
        self.count_later(app.id, now, Counter::Auth);
        Ok(matched)
    }

    async fn check_device(
        &self,
        device: &Device,
        token: &str,
        now: u64,
        read: Option<Versioned>,
    ) -> Result<Result<FirstUse, Refusal>, ApiError> {
        let Some(seed) = self.key.open(&device.sealed_seed, &seed_context(device)) else {
            tracing::error!(
                device = device.id,
                "a seed does not open under the master key"
            );
            return Err(ApiError::Internal);
        };
        let totp = Totp::from_key(&seed, generic_config()).map_err(|_| ApiError::Internal)?;
        if token.len() != usize::from(generic_config().digits().get()) {
            return Ok(Err(Refusal::Invalid));
        }
        let policy = TotpPolicy::new();
        let budget = self.limits.totp_guesses;
        self.update_from(
            &device_key(device.user_id, device.id),
            Some(read),
            || Some(Guarded::default()),
            |state: Option<Guarded>| {
                let mut state = state.unwrap_or_default();
                if state.retired {
                    return Ok((None, Step::Keep(Err(Refusal::Invalid))));
                }
                // The day's wrong guesses are spent: no code is tried.
                if budget.check(&mut state.guesses.clone(), now).is_err() {
                    crate::telemetry::rate_limited("totp_guesses");
                    return Ok((None, Step::Keep(Err(Refusal::Throttled))));
                }
                let first = state.totp.last_step().is_none();
                let result = match totp.check(&policy, &mut state.totp, token, now) {
                    Ok(_) => Ok(FirstUse(first)),
                    // A double submit or a client's retry of the code just
                    // accepted: refused, but not a guess, so the state that
                    // counted it as a failure is not written.
                    Err(VerifyError::Replayed) => {
                        return Ok((None, Step::Keep(Err(Refusal::Replayed))));
                    }
                    Err(VerifyError::Throttled { .. }) => {
                        return Ok((None, Step::Keep(Err(Refusal::Throttled))));
                    }
                    Err(_) => {
                        // A wrong guess spends a unit of the budget, which
                        // the check above showed is there.
                        let _ = budget.check(&mut state.guesses, now);
                        Err(Refusal::Invalid)
                    }
                };
                Ok((Some(state), Step::Write(result)))
            },
        )
        .await
    }

    async fn check_token(
        &self,
        user: &User,
        token: &str,
        now: u64,
        read: Option<Versioned>,
    ) -> Result<Result<(), Refusal>, ApiError> {
        let subject = token_key(user.id);
        let tag = self.used_tag(&subject, token);
        self.update_from(
            &subject,
            Some(read),
            || None,
            |pending: Option<Pending>| {
                let Some(mut pending) = pending else {
                    return Ok((None, Step::Keep(Err(Refusal::Invalid))));
                };
                if token.len() != usize::from(pending.digits) {
                    return Ok((None, Step::Keep(Err(Refusal::Invalid))));
                }
                let verifier = self.verifier(pending.digits, TOKEN_VALIDITY)?;
                let result = match verifier.check(&mut pending.state, &subject, token, now) {
                    Ok(SmsCheck::Approved) => {
                        pending.used = Some(tag);
                        Ok(())
                    }
                    Ok(SmsCheck::TooManyAttempts) => {
                        return Ok((None, Step::Keep(Err(Refusal::Throttled))));
                    }
                    Ok(SmsCheck::Incorrect { .. }) => Err(Refusal::Invalid),
                    Ok(SmsCheck::NotPending) => {
                        let replayed = pending
                            .used
                            .is_some_and(|used| bool::from(used.ct_eq(&tag)));
                        let refusal = if replayed {
                            Refusal::Replayed
                        } else {
                            Refusal::Invalid
                        };
                        return Ok((None, Step::Keep(Err(refusal))));
                    }
                    _ => return Ok((None, Step::Keep(Err(Refusal::Invalid)))),
                };
                Ok((Some(pending), Step::Write(result)))
            },
        )
        .await
    }

    /// HMAC-SHA-256 under the SMS key of a token offered for `subject`.
    fn used_tag(&self, subject: &str, token: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.sms_key())
            .unwrap_or_else(|_| std::process::abort());
        mac.update(b"passcode-server used token v1\0");
        mac.update(subject.as_bytes());
        mac.update(b"\0");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Deletes an authenticator and its state.
    async fn remove_device(&self, device: &Device) -> Result<(), ApiError> {
        self.store.remove_device(device.user_id, device.id).await?;
        self.store
            .remove(&device_key(device.user_id, device.id))
            .await?;
        Ok(())
    }

    /// `users/{id}/secret`: enrols a generic authenticator.
    ///
    /// # Errors
    /// [`ApiError::UserNotFound`], [`ApiError::GenericTokensDisabled`],
    /// [`ApiError::InvalidParameter`] for a label a key URI cannot carry.
    pub async fn enrol(
        &self,
        app: &App,
        id: i64,
        label: Option<&str>,
        now: u64,
    ) -> Result<Enrolled, ApiError> {
        let found = self
            .store
            .user_with_states(app.id, id)
            .await?
            .ok_or(ApiError::UserNotFound)?;
        let user = found.user.clone();
        if !app.generic_tokens_enabled {
            return Err(ApiError::GenericTokensDisabled);
        }
        // An authenticator never used to verify is replaced by the new one;
        // one that was used stays until the new one is first used
        // (`verify_token`). So a user has at most one of each, and a guess
        // is tried against two seeds, not one per enrolment ever made.
        for device in &found.devices {
            let key = device_key(device.user_id, device.id);
            let read = found.state(&key);
            let used = read
                .as_ref()
                .and_then(|v| Guarded::decode(&v.value))
                .is_some_and(|g| g.totp.last_step().is_some());
            // Retired by compare-and-set on the state read: if its first
            // code was accepted meanwhile, it is in use and stays.
            if !used
                && self
                    .store
                    .cas(&key, read.map(|v| v.version), RETIRED)
                    .await?
            {
                self.remove_device(device).await?;
            }
        }
        let label = label
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(&user.email)
            .to_owned();
        let secret = Secret::generate(&mut rand::rng(), passcode::Algorithm::Sha1);
        let uri = KeyUri::with_issuer(&secret, OtpKind::Totp(generic_config()), &app.name, &label)
            .map_err(|e| ApiError::InvalidParameter {
                name: "label",
                reason: e.to_string(),
            })?
            .to_string();
        let mut uid = [0u8; 16];
        rand::rng().fill_bytes(&mut uid);
        let mut device = Device {
            id: 0,
            user_id: user.id,
            uid,
            sealed_seed: Vec::new(),
            created_at: now_i64(now),
        };
        device.sealed_seed = self.key.seal(secret.as_bytes(), &seed_context(&device));
        let device = self.store.add_device(device).await?;
        let mut token = [0u8; 16];
        rand::rng().fill_bytes(&mut token);
        let qr_token = hex::encode(token);
        let link = QrLink {
            user_id: user.id,
            device_id: device.id,
            expires_at: now.saturating_add(QR_VALIDITY),
        };
        if !self
            .store
            .cas(&qr_key(&qr_token), None, &link.encode())
            .await?
        {
            return Err(ApiError::Internal);
        }
        Ok(Enrolled {
            label,
            issuer: app.name.clone(),
            uri,
            qr_token,
        })
    }

    /// The key URI behind a QR link, while it is valid, once: the link is a
    /// bearer credential for the seed, so the first fetch spends it (by
    /// compare-and-set: of concurrent fetches, one gets the image). With
    /// `spend` false (a `HEAD`, which gets no image) the link is only
    /// checked.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for an unknown, expired or spent link.
    pub async fn qr_uri(&self, token: &str, now: u64, spend: bool) -> Result<String, ApiError> {
        let well_formed = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(ApiError::NotFound);
        }
        let Some(stored) = self.store.load(&qr_key(token)).await? else {
            return Err(ApiError::NotFound);
        };
        let link = QrLink::decode(&stored.value).ok_or(ApiError::Internal)?;
        if now >= link.expires_at {
            return Err(ApiError::NotFound);
        }
        let spent = QrLink {
            expires_at: 0,
            ..link
        };
        if spend
            && !self
                .store
                .cas(&qr_key(token), Some(stored.version), &spent.encode())
                .await?
        {
            return Err(ApiError::NotFound);
        }
        let devices = self.store.devices(link.user_id).await?;
        let device = devices
            .iter()
            .find(|d| d.id == link.device_id)
            .ok_or(ApiError::NotFound)?;
        let user = self
            .store
            .user_by_id(link.user_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let app = self
            .store
            .app(user.app_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let seed = self
            .key
            .open(&device.sealed_seed, &seed_context(device))
            .ok_or(ApiError::Internal)?;
        let secret = Secret::from_bytes(&seed).map_err(|_| ApiError::Internal)?;
        let label = user.email.clone();
        KeyUri::with_issuer(&secret, OtpKind::Totp(generic_config()), &app.name, &label)
            .map(|uri| uri.to_string())
            .map_err(|_| ApiError::Internal)
    }

    /// `users/{id}/secret/export`: the newest generic seed and its current
    /// code, for migrating to another service.
    ///
    /// # Errors
    /// [`ApiError::MigrationDisabled`], [`ApiError::UserNotFound`], a quota.
    pub async fn export_secret(
        &self,
        app: &App,
        id: i64,
        now: u64,
    ) -> Result<(String, String), ApiError> {
        if !app.phone_export_enabled {
            return Err(ApiError::MigrationDisabled);
        }
        let user = self.user(app, id).await?;
        let devices = self.store.devices(user.id).await?;
        let Some(device) = devices.last() else {
            return Err(ApiError::UserNotFound);
        };
        self.take(
            &format!("user:{}:secret_export", user.id),
            self.limits.export_user,
            now,
            "DoS protection: too many exports",
        )
        .await?;
        let seed = self
            .key
            .open(&device.sealed_seed, &seed_context(device))
            .ok_or(ApiError::Internal)?;
        let secret = Secret::from_bytes(&seed).map_err(|_| ApiError::Internal)?;
        let totp = Totp::new(&secret, generic_config()).map_err(|_| ApiError::Internal)?;
        let code = totp.generate(now).map_err(|_| ApiError::Internal)?;
        Ok((secret.to_base32().to_string(), code.to_string()))
    }

    /// `phones/verification/start`.
    ///
    /// # Errors
    /// [`ApiError::InvalidPhoneNumber`], the channel switched off, a limit,
    /// a custom message the application does not allow, a failed delivery.
    pub async fn start_verification(
        &self,
        app: &App,
        request: StartRequest,
        now: u64,
    ) -> Result<Started, ApiError> {
        match request.via {
            Channel::Sms if !app.sms_enabled => return Err(ApiError::SmsDisabled),
            Channel::Call if !app.calls_enabled => return Err(ApiError::CallsDisabled),
            _ => {}
        }
        let phone = Phone::parse(request.country_code, &request.phone_number, app.sandbox)
            .map_err(|_| ApiError::InvalidPhoneNumber)?;
        // Where a feature is off, Authy took its parameter and ignored it
        // (the npm client's live test `with_params` sends both to the
        // sandbox and expects success). Custom codes are off everywhere:
        // the server makes every code itself.
        let mut request = request;
        if request.custom_code {
            tracing::debug!(
                app_id = app.id,
                "custom_code ignored: custom codes are not enabled"
            );
        }
        if request.custom_message.is_some() && !app.custom_messages_enabled {
            tracing::debug!(
                app_id = app.id,
                "custom_message ignored: custom messages are not enabled"
            );
            request.custom_message = None;
        }
        if let Some(template) = &request.custom_message
            && !template.contains("{{code}}")
        {
            return Err(ApiError::InvalidParameter {
                name: "custom_message",
                reason: "must contain {{code}}".into(),
            });
        }
        if !app.sandbox {
            self.take_destination_limits(app, &phone.e164, now).await?;
        }
        let digits = request.code_length;
        let verifier = self.verifier(digits, VERIFICATION_VALIDITY)?;
        let key = verification_key(app.id, &phone.e164);
        let (code, expires_at) = self
            .update(
                &key,
                || None,
                |pending: Option<Pending>| {
                    let resent = pending.filter(|p| p.digits == digits).map(|mut p| {
                        verifier
                            .resend(&mut p.state, &key, now)
                            .map(|code| (p, code))
                    });
                    let (pending, code) = match resent {
                        Some(Ok(pair)) => pair,
                        Some(Err(SmsError::TooManySends)) => {
                            return Err(ApiError::TooManyRequests(
                                "Max send attempts reached: try again later",
                            ));
                        }
                        Some(Err(_)) | None => {
                            let (state, code) = verifier.start(&mut rand::rng(), &key, now);
                            (
                                Pending {
                                    digits,
                                    state,
                                    used: None,
                                },
                                code,
                            )
                        }
                    };
                    let expires_at = pending.state.expires_at();
                    Ok((Some(pending), Step::Write((code, expires_at))))
                },
            )
            .await?;
        let lang = Lang::choose(request.locale.as_deref(), phone.country_code);
        if !app.sandbox {
            self.take_app_send(app, now).await?;
            self.deliver(
                app,
                &phone.e164,
                request.via,
                lang,
                request.custom_message.as_deref(),
                &code,
            )
            .await?;
            self.count_later(
                app.id,
                now,
                match request.via {
                    Channel::Sms => Counter::Sms,
                    Channel::Call => Counter::Call,
                },
            );
        }
        let answer_lang = Lang::from_locale(request.locale.as_deref()).unwrap_or(Lang::En);
        let message = match request.via {
            Channel::Sms => answer_lang.sms_started(&phone.display),
            Channel::Call => answer_lang.call_started(&phone.display),
        };
        let mut uuid = [0u8; 16];
        rand::rng().fill_bytes(&mut uuid);
        Ok(Started {
            message,
            // Accepted while now < expires_at: the last accepted second is
            // expires_at - 1 (Authy answered 599 for its 600 s).
            seconds_to_expire: expires_at.saturating_sub(now).saturating_sub(1),
            carrier: if app.sandbox {
                "Google Voice"
            } else {
                "unknown"
            },
            is_cellphone: phone.line_type() == LineType::Cellphone,
            uuid: uuid::Builder::from_random_bytes(uuid)
                .into_uuid()
                .to_string(),
        })
    }

    /// `phones/verification/check`.
    ///
    /// # Errors
    /// [`ApiError::NoPendingVerification`], [`ApiError::VerificationIncorrect`],
    /// or too many attempts.
    pub async fn check_verification(
        &self,
        app: &App,
        country_code: u64,
        phone_number: &str,
        code: &str,
        now: u64,
    ) -> Result<(), ApiError> {
        let phone = Phone::parse(country_code, phone_number, app.sandbox)
            .map_err(|_| ApiError::InvalidPhoneNumber)?;
        let key = verification_key(app.id, &phone.e164);
        let none = || ApiError::NoPendingVerification(phone.display.clone());
        let sandbox_code = app.sandbox && code == SANDBOX_CODE;
        self.update(
            &key,
            || None,
            |pending: Option<Pending>| {
                let Some(mut pending) = pending else {
                    return Err(none());
                };
                let verifier = self.verifier(pending.digits, VERIFICATION_VALIDITY)?;
                if sandbox_code {
                    if pending.state.status() != passcode::SmsStatus::Pending
                        || now >= pending.state.expires_at()
                    {
                        return Err(none());
                    }
                    pending.state.cancel();
                    return Ok((Some(pending), Step::Write(Ok(()))));
                }
                match verifier.check(&mut pending.state, &key, code, now) {
                    Ok(SmsCheck::Approved) => Ok((Some(pending), Step::Write(Ok(())))),
                    Ok(SmsCheck::Incorrect { .. }) => Ok((
                        Some(pending),
                        Step::Write(Err(ApiError::VerificationIncorrect)),
                    )),
                    Ok(SmsCheck::TooManyAttempts) => Err(ApiError::TooManyRequests(
                        "Max check attempts reached: start a new verification",
                    )),
                    Ok(_) => Err(none()),
                    // A malformed code is refused without spending an attempt.
                    Err(_) => Err(ApiError::VerificationIncorrect),
                }
            },
        )
        .await?
    }

    /// `phones/verification/status`: where the verification of a number
    /// stands, read without changing it.
    ///
    /// # Errors
    /// [`ApiError::InvalidPhoneNumber`], [`ApiError::NoPendingVerification`]
    /// when there is none (never started, or swept after it expired).
    pub async fn verification_status(
        &self,
        app: &App,
        country_code: u64,
        phone_number: &str,
        now: u64,
    ) -> Result<VerificationStatus, ApiError> {
        let phone = Phone::parse(country_code, phone_number, app.sandbox)
            .map_err(|_| ApiError::InvalidPhoneNumber)?;
        let none = || ApiError::NoPendingVerification(phone.display.clone());
        let stored = self
            .store
            .load(&verification_key(app.id, &phone.e164))
            .await?
            .ok_or_else(none)?;
        let pending = Pending::decode(&stored.value).ok_or(ApiError::Internal)?;
        let expires_at = pending.state.expires_at();
        let state = match pending.state.status() {
            passcode::SmsStatus::Pending if now >= expires_at => VerificationState::Expired,
            passcode::SmsStatus::Pending => VerificationState::Pending,
            // Approved, or cancelled, which is how the sandbox's code
            // `0000` approves: the code was taken either way.
            _ => VerificationState::Verified,
        };
        Ok(VerificationStatus {
            state,
            // As start answers it: the last accepted second is one before.
            seconds_to_expire: expires_at.saturating_sub(now).saturating_sub(1),
        })
    }

    /// `phones/info`, from number metadata only.
    ///
    /// # Errors
    /// [`ApiError::InvalidPhoneNumber`].
    pub fn phone_info(
        &self,
        app: &App,
        country_code: u64,
        phone_number: &str,
    ) -> Result<PhoneInfo, ApiError> {
        let phone = Phone::parse(country_code, phone_number, app.sandbox)
            .map_err(|_| ApiError::InvalidPhoneNumber)?;
        Ok(PhoneInfo {
            line_type: phone.line_type(),
            provider: "unknown",
            ported: false,
        })
    }

    /// `users/{id}/phone_number`, under its quotas.
    ///
    /// # Errors
    /// [`ApiError::PhoneExportDisabled`], [`ApiError::UserNotFound`],
    /// [`ApiError::TooManyRequests`].
    pub async fn export_phone(&self, app: &App, id: i64, now: u64) -> Result<User, ApiError> {
        if !app.phone_export_enabled {
            return Err(ApiError::PhoneExportDisabled);
        }
        let user = self.user(app, id).await?;
        let l = self.limits;
        self.take(
            &format!("user:{}:phone_export", user.id),
            l.export_user,
            now,
            "DoS protection: too many exports for this user",
        )
        .await?;
        self.take(
            &format!("app:{}:phone_export", app.id),
            l.export_app,
            now,
            "DoS protection: too many exports for this application",
        )
        .await?;
        Ok(user)
    }

    /// `app/stats`: the application's months and its user count.
    ///
    /// # Errors
    /// A store failure.
    pub async fn stats(&self, app: &App, now: u64) -> Result<(Vec<MonthStats>, i64), ApiError> {
        self.flush_counters().await;
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

/// How many states one sweep reads at most (a page is 500).
const SWEEP_BOUND: usize = 5_000;

impl Service {
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
    pub async fn sweep(&self, cursor: &str, now: u64) -> Result<(String, usize), ApiError> {
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
        } else if key.starts_with("app:") && key.contains(":verification:") {
            expired()
        } else {
            key.starts_with("user:") && key.ends_with(":token") && expired()
        }
    }
}

/// A state key as a log line may show it: its owner and kind, never the
/// phone number or QR token some keys end with (`app:1:dest`, `qr`).
fn key_kind(key: &str) -> String {
    let parts: Vec<&str> = key.splitn(4, ':').collect();
    match parts.as_slice() {
        ["qr", ..] => "qr".to_owned(),
        [owner, id, kind, ..] => format!("{owner}:{id}:{kind}"),
        _ => "state".to_owned(),
    }
}

fn qr_key(token: &str) -> String {
    format!("qr:{token}")
}

fn verification_key(app_id: i64, e164: &str) -> String {
    format!("app:{app_id}:verification:{e164}")
}

/// Why a token was refused by one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Invalid,
    Replayed,
    Throttled,
}

/// Whether an accepted code was its authenticator's first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FirstUse(bool);

/// The combined verdict over all of a user's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Accepted(Matched),
    Throttled,
    Replayed,
    Invalid,
}

impl Outcome {
    /// An acceptance wins; then a throttle; then a replay.
    fn combine(self, result: Result<Matched, Refusal>) -> Self {
        match (self, result) {
            (accepted @ Self::Accepted(_), _) => accepted,
            (_, Ok(matched)) => Self::Accepted(matched),
            (Self::Throttled, _) | (_, Err(Refusal::Throttled)) => Self::Throttled,
            (Self::Replayed, _) | (_, Err(Refusal::Replayed)) => Self::Replayed,
            _ => Self::Invalid,
        }
    }
}

/// An email as Authy accepted it: something, one `@`, a domain with a dot.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
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
    fn emails_are_checked_as_authy_did() {
        assert!(valid_email("a@b.com"));
        assert!(!valid_email("testexample.com"));
        assert!(!valid_email("@b.com"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a@b@c.com"));
        assert!(!valid_email("a b@c.com"));
        assert!(!valid_email("a@.com"));
    }

    /// The figures the README gives: 100 wrong codes at once, then one
    /// every 14.4 minutes, never 200 in any 24 hours.
    #[test]
    fn the_guess_budget_is_100_then_one_every_864_seconds() {
        let limit = Limits::default().totp_guesses;
        let mut state = RateLimitState::new();
        let t0 = 1_700_000_000;
        for _ in 0..100 {
            assert!(limit.check(&mut state, t0).is_ok());
        }
        assert!(limit.check(&mut state, t0).is_err());
        assert!(limit.check(&mut state, t0 + 863).is_err());
        assert!(limit.check(&mut state, t0 + 864).is_ok());
        let mut day = 101;
        for t in (t0 + 865..t0 + 86_400).step_by(60) {
            day += usize::from(limit.check(&mut state, t).is_ok());
        }
        assert!(day < 200, "{day} in a day");
    }

    #[test]
    fn state_keys_are_logged_without_numbers_or_tokens() {
        assert_eq!(key_kind("app:1:dest:+17754615609:day"), "app:1:dest");
        assert_eq!(
            key_kind("app:12:verification:+390669821234"),
            "app:12:verification"
        );
        assert_eq!(key_kind("qr:0123456789abcdef0123456789abcdef"), "qr");
        assert_eq!(key_kind("user:1000:device:3"), "user:1000:device");
        assert_eq!(key_kind("odd"), "state");
    }

    #[test]
    fn acceptance_wins_then_throttle_then_replay() {
        let m = Matched::Sms { registered_at: 0 };
        assert_eq!(
            Outcome::Invalid.combine(Err(Refusal::Replayed)),
            Outcome::Replayed
        );
        assert_eq!(
            Outcome::Replayed.combine(Err(Refusal::Invalid)),
            Outcome::Replayed
        );
        assert_eq!(
            Outcome::Replayed.combine(Err(Refusal::Throttled)),
            Outcome::Throttled
        );
        assert_eq!(
            Outcome::Throttled.combine(Ok(m.clone())),
            Outcome::Accepted(m.clone())
        );
        assert_eq!(
            Outcome::Accepted(m.clone()).combine(Err(Refusal::Invalid)),
            Outcome::Accepted(m)
        );
    }

    #[test]
    fn stored_wrappers_round_trip_and_refuse_garbage() {
        let link = QrLink {
            user_id: 1000,
            device_id: 7,
            expires_at: 1_700_000_000,
        };
        assert_eq!(QrLink::decode(&link.encode()), Some(link));
        assert_eq!(QrLink::decode(&[0; 23]), None);
        assert_eq!(Pending::decode(&[]), None);
        assert_eq!(Pending::decode(&[6, 1, 2, 3]), None);
        let verifier =
            SmsVerifier::new(&Secret::from_bytes(&[1; 32]).unwrap(), SmsPolicy::new()).unwrap();
        let (state, _) = verifier.start(&mut rand::rng(), "s", 10);
        for used in [None, Some([9; 32])] {
            let pending = Pending {
                digits: 6,
                state,
                used,
            };
            assert_eq!(Pending::decode(&pending.encode()), Some(pending));
        }
        let mut long = Pending {
            digits: 6,
            state,
            used: None,
        }
        .encode();
        long.push(0);
        assert_eq!(Pending::decode(&long), None);
    }

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(1_700_000_000), (2023, 11));
    }
}
