//! `import authy`: users brought in with their Authy ids, from an export
//! file or from a running Authy-compatible API's phone-number export.
//!
//! Both are idempotent and resumable: a user already here is skipped (and,
//! from an API, not fetched again, which would spend one of its three
//! exports a month). Reports name a user by its id or line number, never by
//! its phone number, and never repeat the API key.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use crate::phone::Phone;
use crate::store::{App, Imported, Store};

/// The id of the sandbox's own user, which no import may take.
const SANDBOX_USER_ID: i64 = crate::store::sqlite::SANDBOX_USER.0;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Users created with their ids.
    pub created: u64,
    /// Users already here (skipped).
    pub present: u64,
    /// Users refused, each reported with its reason.
    pub refused: u64,
}

/// A JSON number or a string of digits (Authy writes `country_code` as a
/// string, an export file may hold either).
#[must_use]
pub fn integer(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().trim_start_matches('+').parse().ok(),
        _ => None,
    }
}

/// Creates user `id` of `app` from an exported phone number.
///
/// # Errors
/// The reason, naming the id and never the number.
pub async fn import_one(
    store: &dyn Store,
    app: &App,
    id: i64,
    country_code: &serde_json::Value,
    phone_number: &str,
    email: &str,
    now: i64,
) -> Result<Imported, String> {
    if id <= 0 || id == SANDBOX_USER_ID {
        return Err("authy_id is not a user id".into());
    }
    let country_code = integer(country_code)
        .and_then(|c| u64::try_from(c).ok())
        .ok_or(format!("authy_id {id}: country_code is not a number"))?;
    let phone = Phone::parse(country_code, phone_number, app.sandbox)
        .map_err(|_| format!("authy_id {id}: the phone number is not valid"))?;
    let imported = store
        .import_user(id, app.id, phone.country_code, &phone.national, email, now)
        .await
        .map_err(|e| format!("authy_id {id}: {e}"))?;
    match imported {
        Imported::Created | Imported::Present => Ok(imported),
        Imported::IdTaken => Err(format!("authy_id {id}: the id belongs to another user")),
        Imported::PhoneTaken(other) => Err(format!(
            "authy_id {id}: the application has this phone number as user {other}"
        )),
    }
}

/// Where `import authy --from-api` reads, and how fast.
#[derive(Debug, Clone)]
pub struct Source {
    /// The API's base URL, e.g. `https://api.authy.com`.
    pub base_url: String,
    /// The application's API key there.
    pub api_key: crate::redacted::Redacted,
    /// Requests a minute at most: the export's documented limit is 1,500
    /// a minute per application.
    pub per_minute: u32,
    /// The longest `Retry-After` waited for; a longer one refuses that user
    /// for this run (Authy's per-user limit is 3 exports a month).
    pub longest_wait: Duration,
}

/// What one export request came to.
enum Fetched {
    /// The user's number.
    User {
        country_code: serde_json::Value,
        phone_number: String,
    },
    /// This user cannot be fetched now; the run goes on.
    Refused(String),
}

/// The body of `GET users/{id}/phone_number`.
#[derive(serde::Deserialize)]
struct PhoneNumberBody {
    phone_number: String,
    country_code: serde_json::Value,
}

/// An error body: only its code and message are read.
#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error_code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

/// The most a body from the source may be: an export is about 150 bytes.
const MAX_BODY: usize = 64 * 1024;

impl Source {
    fn client() -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            // The key is a custom header, which a redirect would carry to
            // wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))
    }

    /// Fetches user `id`, waiting as the source asks; errors that would
    /// refuse every user stop the run.
    async fn fetch(&self, http: &reqwest::Client, id: i64) -> Result<Fetched, String> {
        let url = format!(
            "{}/protected/json/users/{id}/phone_number",
            self.base_url.trim_end_matches('/')
        );
        let mut failures = 0u32;
        loop {
            let sent = http
                .get(&url)
                .header("X-Authy-API-Key", self.api_key.expose())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    failures += 1;
                    if failures > 5 {
                        return Err(format!(
                            "the source cannot be reached ({}): run the same command again to go on",
                            without_url(&e)
                        ));
                    }
                    tokio::time::sleep(Duration::from_secs(1 << failures)).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = read_bounded(response).await;
            match status {
                200 => {
                    return Ok(match serde_json::from_slice::<PhoneNumberBody>(&body) {
                        Ok(user) => Fetched::User {
                            country_code: user.country_code,
                            phone_number: user.phone_number,
                        },
                        Err(e) => Fetched::Refused(format!(
                            "authy_id {id}: the source's answer is not an export ({:?})",
                            e.classify()
                        )),
                    });
                }
                429 => {
                    let error: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                    let about_user = error
                        .message
                        .as_deref()
                        .is_some_and(|m| m.to_ascii_lowercase().contains("user"));
                    let wait = match retry_after {
                        // At least a second: `Retry-After: 0` is no reason
                        // to ask again at once.
                        Some(seconds) => Duration::from_secs(seconds.max(1)),
                        None if about_user => {
                            return Ok(Fetched::Refused(format!(
                                "authy_id {id}: the source's export limit for this user is reached (3 a month): import it later"
                            )));
                        }
                        // The per-minute window.
                        None => Duration::from_secs(60),
                    };
                    failures += 1;
                    if wait > self.longest_wait || failures > 5 {
                        return Ok(Fetched::Refused(format!(
                            "authy_id {id}: the source limits exports (retry after {} s): import it later",
                            wait.as_secs()
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
                404 => {
                    return Ok(Fetched::Refused(format!(
                        "authy_id {id}: the source has no such user"
                    )));
                }
                401 => return Err("the source refused the API key (401)".into()),
                500..=599 => {
                    failures += 1;
                    if failures > 5 {
                        return Err(format!(
                            "the source keeps failing ({status}): run the same command again to go on"
                        ));
                    }
                    tokio::time::sleep(Duration::from_secs(1 << failures)).await;
                }
                _ => {
                    let error: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                    let code = error
                        .error_code
                        .map(|c| c.to_string().trim_matches('"').to_owned())
                        .unwrap_or_default();
                    // Export disabled for the application: every user would
                    // be refused alike.
                    if code == "60154" {
                        return Err("the source has phone number export disabled for this application (60154)".into());
                    }
                    return Ok(Fetched::Refused(format!(
                        "authy_id {id}: the source answered {status} {code}"
                    )));
                }
            }
        }
    }
}

/// A reqwest error without its URL (which holds nothing secret, but a
/// report reads better without it).
fn without_url(e: &reqwest::Error) -> String {
    let e = e.to_string();
    e.split(" for url").next().unwrap_or(&e).to_owned()
}

async fn read_bounded(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_BODY {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    body
}

/// The longest line `import` reads: an exported user is about 100 bytes,
/// an id a dozen.
pub const MAX_LINE: usize = 4 * 1024;

/// The next line of `reader` without its newline; a line longer than
/// [`MAX_LINE`] is read through and answered as empty bytes past the bound
/// (refused as not a user), so no line is held whole in memory.
///
/// # Errors
/// The reader's.
pub fn next_line(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut seen = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(seen.then_some(line));
        }
        seen = true;
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..at], Some(at + 1)),
            None => (buffer, None),
        };
        if line.len() <= MAX_LINE {
            line.extend_from_slice(&chunk[..chunk.len().min(MAX_LINE + 1 - line.len())]);
        }
        let used = done.unwrap_or(buffer.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(Some(line));
        }
    }
}

/// Imports each id of `ids` (one a line; blank lines and `#` comments
/// skipped) from `source`, at most `per_minute` requests a minute.
/// `report` hears each refused user's reason and the progress.
///
/// # Errors
/// What stops the whole run: the ids file, the database, a source that
/// refuses the key or keeps failing. Users done before it stay done.
pub async fn from_api(
    store: &dyn Store,
    app: &App,
    source: &Source,
    ids: &Path,
    now: i64,
    mut report: impl FnMut(&str),
) -> Result<Tally, String> {
    let file = std::fs::File::open(ids).map_err(|e| format!("{}: {e}", ids.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let http = Source::client()?;
    let pace = Duration::from_secs(60) / source.per_minute.max(1);
    let mut next = tokio::time::Instant::now();
    let mut tally = Tally::default();
    let mut number = 0usize;
    // Read a line at a time, each bounded: an ids file of any size is never
    // held whole.
    while let Some(line) = next_line(&mut reader).map_err(|e| format!("{}: {e}", ids.display()))? {
        number += 1;
        // A line past the bound was cut: refused whole, never read as the
        // id its first bytes may look like.
        if line.len() > MAX_LINE {
            tally.refused += 1;
            report(&format!("line {number}: not an authy_id"));
            continue;
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(id) = line.parse::<i64>().ok().filter(|&id| id > 0) else {
            tally.refused += 1;
            report(&format!("line {number}: not an authy_id"));
            continue;
        };
        // The sandbox's own user's id is never imported: not worth an
        // export.
        if id == SANDBOX_USER_ID {
            tally.refused += 1;
            report(&format!("line {number}: authy_id {id} is reserved"));
            continue;
        }
        // Ids are global: one another application holds here is refused
        // before its fetch, which would spend one of the user's exports
        // for nothing.
        match store.user_by_id(id).await.map_err(|e| e.to_string())? {
            Some(user) if user.app_id == app.id => {
                tally.present += 1;
                continue;
            }
            Some(_) => {
                tally.refused += 1;
                report(&format!(
                    "line {number}: authy_id {id} belongs to another application here"
                ));
                continue;
            }
            None => {}
        }
        tokio::time::sleep_until(next).await;
        next = tokio::time::Instant::now() + pace;
        let outcome = match source.fetch(&http, id).await? {
            Fetched::User {
                country_code,
                phone_number,
            } => import_one(store, app, id, &country_code, &phone_number, "", now).await,
            Fetched::Refused(why) => Err(why),
        };
        match outcome {
            Ok(Imported::Created) => tally.created += 1,
            Ok(_) => tally.present += 1,
            Err(why) => {
                tally.refused += 1;
                report(&why);
            }
        }
        let done = tally.created + tally.present + tally.refused;
        if done % 1_000 == 0 {
            report(&format!("{done} ids done"));
        }
    }
    Ok(tally)
}
