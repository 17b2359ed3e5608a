//! The keys states are stored under, with their owners, and what of them
//! a log line may show.

use crate::store::StateKey;

/// A device's TOTP state.
pub(super) fn device_key(app_id: i64, user_id: i64, device_id: i64) -> StateKey {
    StateKey::user(
        app_id,
        user_id,
        format!("user:{user_id}:device:{device_id}"),
    )
}

/// A user's SMS or voice token.
pub(super) fn token_key(app_id: i64, user_id: i64) -> StateKey {
    StateKey::user(app_id, user_id, format!("user:{user_id}:token"))
}

/// A QR enrolment link of a user's.
pub(super) fn qr_key(app_id: i64, user_id: i64, token: &str) -> StateKey {
    StateKey::user(app_id, user_id, format!("qr:{token}"))
}

/// A QR enrolment link, as its token finds it (to read it).
pub(super) fn qr_text(token: &str) -> String {
    format!("qr:{token}")
}

/// A phone verification.
pub(super) fn verification_key(app_id: i64, e164: &str) -> StateKey {
    StateKey::app(app_id, format!("app:{app_id}:verification:{e164}"))
}

impl super::Domain {
    /// HMAC-SHA-256 under the SMS key of `label` and `parts` joined by NUL
    /// bytes: a tag of a value that must not be stored itself (a token
    /// used, a value a rate limit counts), which no one without the master
    /// key can compute or test guesses against.
    pub(super) fn keyed_tag(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(self.key.sms_key())
            .unwrap_or_else(|_| std::process::abort());
        mac.update(label);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(b"\0");
            }
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// A state key as a log line may show it: its owner and kind, never the
/// phone number or QR token some keys end with (`app:1:dest`, `qr`).
pub(super) fn key_kind(key: &str) -> String {
    let parts: Vec<&str> = key.splitn(4, ':').collect();
    match parts.as_slice() {
        ["qr", ..] => "qr".to_owned(),
        [owner, id, kind, ..] => format!("{owner}:{id}:{kind}"),
        _ => "state".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
