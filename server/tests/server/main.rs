//! The server's one integration test binary: one link of the whole server
//! instead of one per file.
//!
//! - [`api`]: the API in-process over real HTTP, golden bodies byte for
//!   byte, and the attacks it must survive;
//! - [`binary`]: the real binary, its commands, start-up checks and logs;
//! - [`conformance`]: one storage suite on SQLite and PostgreSQL;
//! - [`docs`]: the documentation's shell blocks, run as written;
//! - [`domain`]: the verbs alone, with a fixed time and a recording sender,
//!   on both stores;
//! - [`fleet`]: three nodes on one PostgreSQL;
//! - [`import`]: users pulled from a running Authy-compatible API;
//! - [`mail`]: e-mail delivered to an SMTP server on loopback;
//! - [`senders`]: the network senders against local fakes;
//! - [`tls`]: HTTPS on the binary, with a CA made at test time;
//! - [`upgrade`]: a database of an earlier release, migrated and serving;
//! - [`support`]: what they share.

#![allow(clippy::unwrap_used, clippy::panic)]

mod api;
mod binary;
mod conformance;
mod docs;
mod domain;
mod fleet;
mod import;
mod mail;
mod senders;
#[allow(dead_code)]
mod support;
mod tls;
mod upgrade;
