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
