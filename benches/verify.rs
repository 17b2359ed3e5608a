//! Generation and verification, each beside its floors and its peers, so that
//! every ratio comes from one run on one machine.
//!
//! Groups are `{sha1,sha256,sha512}_{generate,verify_valid,verify_wrong}`.
//! Verification checks a window of one step behind and one ahead (three
//! candidates) at a fixed time, with the RFC 6238 Appendix A seeds. IDs:
//!
//! - `passcode`: a `Totp` built once, as a server caches it;
//! - `passcode_cold`: built from the raw key inside the timed loop, as a
//!   server that loads the key per request pays;
//! - `floor_hmac_clone`: an `hmac` crate state keyed once and cloned per
//!   candidate, then truncated and compared, with no early exit;
//! - `floor_compress`: exactly two compression-function calls per candidate
//!   from precomputed inner and outer states, the physical floor for these
//!   hash implementations;
//! - `totp-rs` and `totp-lite`: the peers, through their own APIs (a loop of
//!   generate-and-compare over the window for `totp-lite`, which has no
//!   verify).
//!
//! `benches/report.sh` turns the results into the table in the README.

// criterion_group! generates an undocumented public function; setup code
// unwraps, as tests do.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{KeyInit, Mac};
use passcode::{Algorithm, Totp, TotpConfig, Window};

const TIME: u64 = 1_111_111_109;
const PERIOD: u64 = 30;

struct Case {
    name: &'static str,
    algorithm: Algorithm,
    seed: &'static [u8],
}

const CASES: [Case; 3] = [
    Case {
        name: "sha1",
        algorithm: Algorithm::Sha1,
        seed: b"12345678901234567890",
    },
    Case {
        name: "sha256",
        algorithm: Algorithm::Sha256,
        seed: b"12345678901234567890123456789012",
    },
    Case {
        name: "sha512",
        algorithm: Algorithm::Sha512,
        seed: b"1234567890123456789012345678901234567890123456789012345678901234",
    },
];

/// The steps of the window around `TIME`.
fn steps() -> std::ops::RangeInclusive<u64> {
    let now = TIME / PERIOD;
    now - 1..=now + 1
}

fn truncate(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff
}

/// An `hmac` state keyed once, cloned per candidate; every candidate is
/// compared and the results folded, with no early exit.
fn floor_hmac_clone<M: Mac + Clone>(
    keyed: &M,
    steps: std::ops::RangeInclusive<u64>,
    code: u32,
) -> bool {
    let mut found = false;
    for step in steps {
        let mut mac = keyed.clone();
        mac.update(&step.to_be_bytes());
        found |= truncate(&mac.finalize().into_bytes()) % 1_000_000 == code;
    }
    found
}

/// Two compressions per candidate from precomputed states: the floor.
struct Floor<S: Copy, B: Copy> {
    inner: S,
    outer: S,
    inner_block: B,
    outer_block: B,
    compress: fn(&mut S, &B),
    store: fn(&S, &mut B),
}

impl<S: Copy, B: Copy + AsMut<[u8]>> Floor<S, B> {
    fn new(
        key: &[u8],
        iv: S,
        zero: B,
        out_len: usize,
        compress: fn(&mut S, &B),
        store: fn(&S, &mut B),
    ) -> Self {
        let mut block = zero;
        block.as_mut()[..key.len()].copy_from_slice(key);
        let mut ipad = block;
        ipad.as_mut().iter_mut().for_each(|b| *b ^= 0x36);
        let mut opad = block;
        opad.as_mut().iter_mut().for_each(|b| *b ^= 0x5c);
        let (mut inner, mut outer) = (iv, iv);
        compress(&mut inner, &ipad);
        compress(&mut outer, &opad);
        let (mut inner_block, mut outer_block) = (zero, zero);
        let len = inner_block.as_mut().len();
        pad(inner_block.as_mut(), 8, len);
        pad(outer_block.as_mut(), out_len, len);
        Self {
            inner,
            outer,
            inner_block,
            outer_block,
            compress,
            store,
        }
    }

    fn run(&mut self, steps: std::ops::RangeInclusive<u64>) -> S {
        let mut state = self.outer;
        for step in steps {
            self.inner_block.as_mut()[..8].copy_from_slice(&step.to_be_bytes());
            state = self.inner;
            (self.compress)(&mut state, &self.inner_block);
            (self.store)(&state, &mut self.outer_block);
            state = self.outer;
            (self.compress)(&mut state, &self.outer_block);
            black_box(&state);
        }
        state
    }
}

fn pad(block: &mut [u8], message_len: usize, block_len: usize) {
    block[message_len] = 0x80;
    let bits = ((block_len + message_len) * 8) as u64;
    block[block_len - 8..].copy_from_slice(&bits.to_be_bytes());
}

fn store32<const N: usize, const B: usize>(state: &[u32; N], block: &mut [u8; B]) {
    for (chunk, word) in block.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
}

fn store64(state: &[u64; 8], block: &mut [u8; 128]) {
    for (chunk, word) in block.chunks_exact_mut(8).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
}

fn floor(case: &Case) -> Box<dyn FnMut(std::ops::RangeInclusive<u64>)> {
    match case.algorithm {
        Algorithm::Sha1 => {
            let iv = [
                0x6745_2301,
                0xefcd_ab89,
                0x98ba_dcfe,
                0x1032_5476,
                0xc3d2_e1f0,
            ];
            let compress = |s: &mut [u32; 5], b: &[u8; 64]| {
                sha1::block_api::compress(s, std::slice::from_ref(b))
            };
            let mut floor = Floor::new(case.seed, iv, [0u8; 64], 20, compress, store32);
            Box::new(move |steps| {
                black_box(floor.run(steps));
            })
        }
        Algorithm::Sha256 => {
            let iv = [
                0x6a09_e667,
                0xbb67_ae85,
                0x3c6e_f372,
                0xa54f_f53a,
                0x510e_527f,
                0x9b05_688c,
                0x1f83_d9ab,
                0x5be0_cd19,
            ];
            let compress = |s: &mut [u32; 8], b: &[u8; 64]| {
                sha2::block_api::compress256(s, std::slice::from_ref(b))
            };
            let mut floor = Floor::new(case.seed, iv, [0u8; 64], 32, compress, store32);
            Box::new(move |steps| {
                black_box(floor.run(steps));
            })
        }
        _ => {
            let iv = [
                0x6a09_e667_f3bc_c908,
                0xbb67_ae85_84ca_a73b,
                0x3c6e_f372_fe94_f82b,
                0xa54f_f53a_5f1d_36f1,
                0x510e_527f_ade6_82d1,
                0x9b05_688c_2b3e_6c1f,
                0x1f83_d9ab_fb41_bd6b,
                0x5be0_cd19_137e_2179,
            ];
            let compress = |s: &mut [u64; 8], b: &[u8; 128]| {
                sha2::block_api::compress512(s, std::slice::from_ref(b))
            };
            let mut floor = Floor::new(case.seed, iv, [0u8; 128], 64, compress, store64);
            Box::new(move |steps| {
                black_box(floor.run(steps));
            })
        }
    }
}

fn hmac_clone(case: &Case) -> Box<dyn Fn(std::ops::RangeInclusive<u64>, u32) -> bool> {
    match case.algorithm {
        Algorithm::Sha1 => {
            let keyed = hmac::Hmac::<sha1::Sha1>::new_from_slice(case.seed).unwrap();
            Box::new(move |steps, code| floor_hmac_clone(&keyed, steps, code))
        }
        Algorithm::Sha256 => {
            let keyed = hmac::Hmac::<sha2::Sha256>::new_from_slice(case.seed).unwrap();
            Box::new(move |steps, code| floor_hmac_clone(&keyed, steps, code))
        }
        _ => {
            let keyed = hmac::Hmac::<sha2::Sha512>::new_from_slice(case.seed).unwrap();
            Box::new(move |steps, code| floor_hmac_clone(&keyed, steps, code))
        }
    }
}

fn totp_lite(case: &Case, time: u64) -> String {
    match case.algorithm {
        Algorithm::Sha1 => totp_lite::totp_custom::<totp_lite::Sha1>(PERIOD, 6, case.seed, time),
        Algorithm::Sha256 => {
            totp_lite::totp_custom::<totp_lite::Sha256>(PERIOD, 6, case.seed, time)
        }
        _ => totp_lite::totp_custom::<totp_lite::Sha512>(PERIOD, 6, case.seed, time),
    }
}

fn totp_rs(case: &Case) -> totp_rs::TOTP {
    let algorithm = match case.algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        _ => totp_rs::Algorithm::SHA512,
    };
    totp_rs::TOTP::new_unchecked(
        algorithm,
        6,
        1,
        PERIOD,
        case.seed.to_vec(),
        None,
        String::new(),
    )
}

/// A code that matches no step of the window.
fn wrong_code(totp: &Totp) -> String {
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|code| totp.verify(code, TIME, Window::default()).is_err())
        .unwrap()
}

fn benches(c: &mut Criterion) {
    for case in &CASES {
        let config = TotpConfig::new().with_algorithm(case.algorithm);
        let totp = Totp::from_key(case.seed, config).unwrap();
        let rs = totp_rs(case);
        let mut floor = floor(case);
        let clone = hmac_clone(case);
        let now = TIME / PERIOD;

        let mut group = c.benchmark_group(format!("{}_generate", case.name));
        group.bench_function("passcode", |b| b.iter(|| totp.generate(black_box(TIME))));
        group.bench_function("passcode_cold", |b| {
            b.iter(|| {
                Totp::from_key(black_box(case.seed), config)
                    .unwrap()
                    .generate(black_box(TIME))
            })
        });
        group.bench_function("floor_hmac_clone", |b| {
            b.iter(|| clone(black_box(now..=now), 0))
        });
        group.bench_function("floor_compress", |b| b.iter(|| floor(black_box(now..=now))));
        group.bench_function("totp-rs", |b| b.iter(|| rs.generate(black_box(TIME))));
        group.bench_function("totp-lite", |b| b.iter(|| totp_lite(case, black_box(TIME))));
        group.finish();

        let valid = totp.generate(TIME).unwrap().to_string();
        let wrong = wrong_code(&totp);
        for (kind, code) in [("verify_valid", &valid), ("verify_wrong", &wrong)] {
            let expected = kind == "verify_valid";
            assert_eq!(totp.verify(code, TIME, Window::default()).is_ok(), expected);
            assert_eq!(rs.check(code, TIME), expected);
            let number: u32 = code.parse().unwrap();
            assert_eq!(clone(steps(), number), expected);

            let mut group = c.benchmark_group(format!("{}_{kind}", case.name));
            group.bench_function("passcode", |b| {
                b.iter(|| totp.verify(black_box(code), black_box(TIME), Window::default()))
            });
            group.bench_function("passcode_cold", |b| {
                b.iter(|| {
                    Totp::from_key(black_box(case.seed), config)
                        .unwrap()
                        .verify(black_box(code), black_box(TIME), Window::default())
                })
            });
            group.bench_function("floor_hmac_clone", |b| {
                b.iter(|| clone(black_box(steps()), number))
            });
            group.bench_function("floor_compress", |b| b.iter(|| floor(black_box(steps()))));
            group.bench_function("totp-rs", |b| {
                b.iter(|| rs.check(black_box(code), black_box(TIME)))
            });
            group.bench_function("totp-lite", |b| {
                b.iter(|| {
                    steps()
                        .map(|step| totp_lite(case, black_box(step * PERIOD)) == *code)
                        .fold(false, |found, hit| found | hit)
                })
            });
            group.finish();
        }
    }
}

criterion_group!(verify, benches);
criterion_main!(verify);
