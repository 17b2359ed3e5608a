//! The keys states are stored under, and what of them a log line may show.

/// The key of a device's TOTP state.
pub(super) fn device_key(user_id: i64, device_id: i64) -> String {
    format!("user:{user_id}:device:{device_id}")
}

pub(super) fn token_key(user_id: i64) -> String {
    format!("user:{user_id}:token")
}

pub(super) fn qr_key(token: &str) -> String {
    format!("qr:{token}")
}

pub(super) fn verification_key(app_id: i64, e164: &str) -> String {
    format!("app:{app_id}:verification:{e164}")
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
