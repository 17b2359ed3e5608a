#![doc = include_str!("../docs/library.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod algorithm;
#[cfg(feature = "sha256")]
mod backup;
mod code;
mod credential;
mod decimal;
mod declassify;
mod error;
mod hmac;
mod hotp;
mod phone;
mod rate;
mod secret;
#[cfg(feature = "sha256")]
mod sms;
mod state;
mod throttle;
mod totp;
mod uri;
mod window;

pub use algorithm::Algorithm;
#[cfg(feature = "sha256")]
pub use backup::{
    BackupCode, BackupCodeList, BackupCodes, BackupError, BackupFormat, BackupVerifier,
};
pub use code::{Code, Digits};
pub use credential::{HotpPolicy, HotpState, TotpPolicy, TotpState};
pub use error::{CodeError, ParamError, SecretError, StateError, StepError, VerifyError};
pub use hotp::{Hotp, HotpConfig, HotpMatch};
pub use phone::{PhoneError, PhoneNumber};
pub use rand_core;
pub use rate::{RateLimit, RateLimitState, RateLimited};
pub use secret::{Base32, MinLength, Secret};
#[cfg(feature = "sha256")]
pub use sms::{SmsCheck, SmsError, SmsPolicy, SmsStatus, SmsVerification, SmsVerifier};
pub use throttle::Throttle;
pub use totp::{Period, Totp, TotpConfig, TotpMatch};
#[cfg(feature = "alloc")]
pub use uri::OwnedKeyUri;
pub use uri::{Decoded, KeyUri, OtpKind, ParsedKeyUri, UriError, UriOptions};
pub use window::{LookAhead, ResyncWindow, Window};
