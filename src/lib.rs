#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod algorithm;
mod code;
mod error;
mod hmac;
mod hotp;
mod secret;
mod totp;
mod window;

pub use algorithm::Algorithm;
pub use code::{Code, Digits};
pub use error::{CodeError, ParamError, SecretError, StepError, VerifyError};
pub use hotp::{Hotp, HotpConfig, HotpMatch};
pub use rand_core;
pub use secret::{Base32, MinLength, Secret};
pub use totp::{Period, Totp, TotpConfig, TotpMatch};
pub use window::{LookAhead, ResyncWindow, Window};
