//! `passcode-server`: the Authy API and the Twilio Verify v2 API,
//! self-hosted, over the `passcode` library.
//!
//! A request reads as one sentence per layer: [`api`] picks the surface
//! (`api::authy` for the Authy API in JSON and XML, `api::verify` for
//! Verify v2, `api::ops` for health and metrics); the surface's extractor
//! turns its own auth and encoding into an application, typed input and
//! the time; its handler calls one [`domain`] verb and maps the outcome,
//! or the [`domain::Error`], to its own wire shape; the verb runs the
//! library's pure functions over state loaded from the [`store`] and
//! writes it back only if nothing changed it meanwhile.

#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod domain;
/// The Authy surface's error, which the offline commands also word their refusals with.
pub use api::authy::error;
pub mod import;
pub mod messages;
pub mod phone;
pub mod qr;
pub mod redacted;
pub mod sender;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tls;
