//! Shared pieces of the fuzz targets: naive reference implementations to
//! compare `passcode` with, and `arbitrary` inputs biased towards the edges
//! (zero, `u64::MAX`, the RFC defaults) where arithmetic goes wrong.
//!
//! The references are written for obviousness, not speed or constant time:
//! the `hmac` crate, RFC 4226 truncation by direct indexing, `%` in `u64`,
//! and `u128` or `i128` wherever a bound could overflow.

pub mod input;
pub mod reference;
