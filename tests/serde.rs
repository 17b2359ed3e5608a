//! Serialized forms are stable and validated on the way in.
#![cfg(feature = "serde")]

use passcode::{Algorithm, Digits, Period, Secret, TotpConfig, Window};
use serde_json::{from_str, json, to_value};

#[test]
fn config_shape() {
    let config = TotpConfig::new()
        .with_algorithm(Algorithm::Sha256)
        .with_digits(Digits::EIGHT)
        .with_period(Period::new(60).unwrap())
        .with_t0(7);
    let value = to_value(config).unwrap();
    assert_eq!(
        value,
        json!({"algorithm": "SHA256", "digits": 8, "period": 60, "t0": 7})
    );
    assert_eq!(serde_json::from_value::<TotpConfig>(value).unwrap(), config);
}

#[test]
fn invalid_values_are_refused() {
    assert!(from_str::<Digits>("5").is_err());
    assert!(from_str::<Digits>("11").is_err());
    assert!(from_str::<Period>("0").is_err());
    assert!(from_str::<Algorithm>("\"MD5\"").is_err());
    assert!(from_str::<Window>(r#"{"behind": 21, "ahead": 0}"#).is_err());
    assert_eq!(
        from_str::<Window>(r#"{"behind": 2, "ahead": 1}"#).unwrap(),
        Window::new(2, 1).unwrap()
    );
    let bad_config = r#"{"algorithm": "SHA1", "digits": 6, "period": 0, "t0": 0}"#;
    assert!(from_str::<TotpConfig>(bad_config).is_err());
}

#[test]
fn secrets_as_base32() {
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let text = serde_json::to_string(&secret).unwrap();
    assert_eq!(text, "\"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\"");
    assert_eq!(from_str::<Secret>(&text).unwrap(), secret);
    // A key longer than `Secret::MAX_LEN` is kept hashed, with no base32 to
    // write: serializing it fails rather than write something else.
    assert!(serde_json::to_string(&Secret::from_bytes(&[1; 200]).unwrap()).is_err());
    assert_eq!(
        from_str::<Secret>("\"gezd gnbv gy3t qojq gezd gnbv gy3t qojq\"").unwrap(),
        secret
    );
    assert!(
        from_str::<Secret>("\"JBSWY3DPEHPK3PXP\"").is_err(),
        "80 bits"
    );
    assert!(from_str::<Secret>("\"not base32!\"").is_err());
    assert!(from_str::<Secret>("42").is_err());
}

#[test]
fn state_as_hex_and_validated() {
    use passcode::{
        HotpState, RateLimit, RateLimitState, StateError, Throttle, TotpPolicy, TotpState,
    };
    let state = HotpState::new(42);
    let text = serde_json::to_string(&state).unwrap();
    let hex: String = state
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(text, format!("\"{hex}\""));
    assert_eq!(from_str::<HotpState>(&text).unwrap(), state);
    // Damaged, truncated, foreign, or not hex: all refused.
    let flipped = if &hex[10..11] == "0" { "1" } else { "0" };
    let damaged = format!("\"{}{flipped}{}\"", &hex[..10], &hex[11..]);
    assert!(from_str::<HotpState>(&damaged).is_err());
    assert!(from_str::<HotpState>(&format!("\"{}\"", &hex[2..])).is_err());
    assert!(from_str::<TotpState>(&text).is_err());
    assert!(from_str::<HotpState>("\"zz\"").is_err());
    // The error says which: a wrong length, or a character that is not hex.
    let message = |text: &str| from_str::<HotpState>(text).unwrap_err().to_string();
    let not_hex = format!("\"zz{}\"", &hex[2..]);
    assert!(message(&not_hex).starts_with(&StateError::Invalid.to_string()));
    let short = format!("\"{}\"", &hex[2..]);
    assert!(message(&short).starts_with(&StateError::Length.to_string()));
    assert!(
        from_str::<RateLimitState>(&serde_json::to_string(&RateLimitState::new()).unwrap()).is_ok()
    );

    let policy = TotpPolicy::new().with_throttle(Throttle::new().with_delays(2, 8).unwrap());
    let value = to_value(policy).unwrap();
    assert_eq!(
        value["throttle"],
        json!({"free_failures": 3, "base_delay": 2, "max_delay": 8})
    );
    assert_eq!(serde_json::from_value::<TotpPolicy>(value).unwrap(), policy);
    let bad = json!({"window": {"behind": 1, "ahead": 1}, "max_drift": 3, "throttle": {"free_failures": 3, "base_delay": 0, "max_delay": 8}});
    assert!(serde_json::from_value::<TotpPolicy>(bad).is_err());
    // A drift bound above Window::MAX_STEPS is refused as with_max_drift does.
    let mut too_far = to_value(policy).unwrap();
    too_far["max_drift"] = json!(21);
    assert!(serde_json::from_value::<TotpPolicy>(too_far.clone()).is_err());
    too_far["max_drift"] = json!(20);
    assert_eq!(
        serde_json::from_value::<TotpPolicy>(too_far).unwrap(),
        policy.with_max_drift(20).unwrap()
    );
    assert!(from_str::<RateLimit>(r#"{"quota": 3, "period": 60, "burst": 4}"#).is_err());
    assert_eq!(
        from_str::<RateLimit>(r#"{"quota": 3, "period": 60, "burst": 2}"#).unwrap(),
        RateLimit::new(3, 60, 2).unwrap()
    );
}
