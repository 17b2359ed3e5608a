//! The policy paths beside their floors and peers, in one run: an SMS check,
//! a credential check with throttle and drift, base32 decoding of a secret,
//! and parsing a key URI.
//!
//! - `sms_check`: `passcode` checks a wrong code against a fresh copy of a
//!   pending verification; `floor_hmac_sha256` is the one HMAC-SHA-256 the
//!   check must compute to derive the expected code.
//! - `totp_check`: `passcode` is `Totp::check` with a stored state and a
//!   wrong code; `floor_verify_after` is the bare `verify_after` it wraps.
//! - `base32_decode`: `passcode` is `Secret::from_base32` of a 160-bit secret
//!   written in lower case with spaces; `base32ct` decodes the canonical form
//!   with the crate `passcode` builds on; `data-encoding` is a peer.
//! - `uri_parse`: `passcode` parses Google's Key URI example; `totp-rs` is a
//!   peer (`TOTP::from_url_unchecked`).
//!
//! `benches/report.sh` prints these groups after the verify table.

// criterion_group! generates an undocumented public function; setup code
// unwraps, as tests do.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use base32ct::Encoding as _;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{KeyInit, Mac};
use passcode::{
    ParsedKeyUri, Secret, SmsPolicy, SmsVerifier, Totp, TotpConfig, TotpPolicy, TotpState, Window,
};
use rand::SeedableRng;

const URI: &str = "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";
const TIME: u64 = 1_111_111_109;

fn sms(c: &mut Criterion) {
    let key = [0x42u8; 32];
    let verifier = SmsVerifier::new(&Secret::from_bytes(&key).unwrap(), SmsPolicy::new()).unwrap();
    let (state, code) = verifier.start(
        &mut rand::rngs::StdRng::seed_from_u64(1),
        "+14155552671",
        1_000,
    );
    let wrong = if code.as_str() == "000000" {
        "000001"
    } else {
        "000000"
    };
    let keyed = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    // The derivation's input: label, nonce, subject length, subject, block.
    let message = [0x5au8; 21 + 16 + 8 + 12 + 1];

    let mut group = c.benchmark_group("sms_check");
    group.bench_function("passcode", |b| {
        b.iter(|| {
            let mut fresh = state;
            verifier.check(
                &mut fresh,
                black_box("+14155552671"),
                black_box(wrong),
                1_001,
            )
        })
    });
    group.bench_function("floor_hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(&message));
            mac.finalize()
        })
    });
    group.finish();
}

fn credential(c: &mut Criterion) {
    let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new()).unwrap();
    let policy = TotpPolicy::new();
    let mut state = TotpState::new();
    totp.check(
        &policy,
        &mut state,
        &totp.generate(TIME - 60).unwrap().to_string(),
        TIME - 60,
    )
    .unwrap();
    let wrong = (0u32..)
        .map(|n| format!("{:06}", n * 7_919 % 1_000_000))
        .find(|code| totp.verify(code, TIME, Window::ONE_STEP).is_err())
        .unwrap();
    let last = state.last_step().unwrap();

    let mut group = c.benchmark_group("totp_check");
    group.bench_function("passcode", |b| {
        b.iter(|| {
            let mut fresh = state;
            totp.check(&policy, &mut fresh, black_box(&wrong), black_box(TIME))
        })
    });
    group.bench_function("floor_verify_after", |b| {
        b.iter(|| totp.verify_after(black_box(&wrong), black_box(TIME), Window::ONE_STEP, last))
    });
    group.finish();
}

fn base32(c: &mut Criterion) {
    let canonical = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let typed = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq";

    let mut group = c.benchmark_group("base32_decode");
    group.bench_function("passcode", |b| {
        b.iter(|| Secret::from_base32(black_box(typed)))
    });
    group.bench_function("base32ct", |b| {
        b.iter(|| {
            let mut out = [0u8; 20];
            base32ct::Base32UpperUnpadded::decode(black_box(canonical), &mut out).map(|d| d.len())
        })
    });
    group.bench_function("data-encoding", |b| {
        b.iter(|| data_encoding::BASE32_NOPAD.decode(black_box(canonical.as_bytes())))
    });
    group.finish();
}

fn uri(c: &mut Criterion) {
    let mut group = c.benchmark_group("uri_parse");
    group.bench_function("passcode", |b| {
        b.iter(|| ParsedKeyUri::parse(black_box(URI)))
    });
    group.bench_function("totp-rs", |b| {
        b.iter(|| totp_rs::TOTP::from_url_unchecked(black_box(URI)))
    });
    group.finish();
}

criterion_group!(policies, sms, credential, base32, uri);
criterion_main!(policies);
