//! `passcode-server`: the Authy API, self-hosted, over the `passcode`
//! library.
//!
//! A request reads as one sentence per layer: [`api`] routes it and turns
//! transport into typed facts (the application from its key, the merged
//! parameters, the time); a handler calls one [`service`] verb; the verb
//! runs the library's pure functions over state loaded from the [`store`]
//! and writes it back only if nothing changed it meanwhile.

#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod error;
pub mod messages;
pub mod phone;
pub mod qr;
pub mod redacted;
pub mod sender;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
