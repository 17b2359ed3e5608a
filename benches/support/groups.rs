//! The benchmark groups, shared by the Criterion benches (`verify.rs`,
//! `policies.rs`) and the interleaved `paired.rs`: each group is a name and
//! its IDs, each ID a closure that runs the measured path once and hides its
//! result from the optimizer.
//!
//! Verify groups are `{sha1,sha256,sha512}_{generate,verify_valid,verify_wrong}`,
//! verifying a window of one step behind and one ahead (three candidates)
//! at a fixed time with the RFC 6238 Appendix A seeds. IDs:
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
//! Policy groups: `sms_check` (a wrong code against a fresh copy of a
//! pending verification; floor: the one HMAC-SHA-256 the check computes),
//! `totp_check` (`Totp::check` with stored state, and `passcode_bytes`:
//! the same with the state read from and written back to its bytes, as a
//! server does; floor: the bare `verify_after` it wraps), `base32_decode` (`Secret::from_base32` of
//! lower-case spaced text; `base32ct` on the canonical text, which passcode
//! builds on; `data-encoding` as a peer), `uri_parse` (Google's Key URI
//! example; `totp-rs` `from_url_unchecked` as a peer).

use std::hint::black_box;

use hmac::{KeyInit, Mac};
use passcode::{
    Algorithm, ParsedKeyUri, Secret, SmsPolicy, SmsVerifier, Totp, TotpConfig, TotpPolicy,
    TotpState, Window,
};
use rand::SeedableRng;

/// A measured path: runs it once.
pub(crate) type Run = Box<dyn FnMut()>;

/// One benchmark group: its name and its IDs, `passcode` first.
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) ids: Vec<(&'static str, Run)>,
}

impl Group {
    fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ids: Vec::new(),
        }
    }

    fn id(mut self, id: &'static str, f: impl FnMut() + 'static) -> Self {
        self.ids.push((id, Box::new(f)));
        self
    }
}

/// The SHA implementation the `sha1`/`sha2` crates pick here, found as
/// they find it (`cpufeatures`, at run time).
pub(crate) fn sha_path() -> &'static str {
    // RUSTFLAGS='--cfg sha1_backend="soft" --cfg sha2_backend="soft"' makes
    // the hash crates take their software path whatever the CPU has: the
    // README's software table on a machine with SHA extensions.
    if cfg!(all(sha1_backend = "soft", sha2_backend = "soft")) {
        return "software";
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("sha") {
            "SHA-NI"
        } else {
            "software"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("sha2") {
            "ARMv8 SHA"
        } else {
            "software"
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "software"
    }
}

const TIME: u64 = 1_111_111_109;
const PERIOD: u64 = 30;

#[derive(Clone, Copy)]
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

/// `floor_window`: the window's HMAC-SHA-1s computed and truncated by
/// `passcode-streams` alone, from precomputed states, by the plan it
/// measured on this CPU: the fastest this CPU does the window's hashing,
/// with none of a verify's parsing, reduction and comparison. `None`
/// without `--features streams`, for other algorithms, or where no kernel
/// runs here.
#[cfg_attr(not(feature = "streams"), allow(unused_variables))]
fn floor_window(case: &Case) -> Option<Box<dyn FnMut(std::ops::RangeInclusive<u64>)>> {
    #[cfg(feature = "streams")]
    if case.algorithm == Algorithm::Sha1 && passcode_streams::hmac_sha1_available() {
        let floor = sha1_floor(case.seed);
        let (inner, outer) = (floor.inner, floor.outer);
        let mut counters = [0u64; 32];
        let mut out = [0u32; 32];
        return Some(Box::new(move |steps| {
            let mut len = 0;
            for (slot, step) in counters.iter_mut().zip(steps) {
                *slot = step;
                len += 1;
            }
            assert!(passcode_streams::hmac_sha1_truncated(
                &inner,
                &outer,
                black_box(&counters[..len]),
                &mut out[..len]
            ));
            black_box(&out);
        }));
    }
    None
}

/// The SHA-1 floor of `key`: its prepared states and padded blocks.
fn sha1_floor(key: &[u8]) -> Floor<[u32; 5], [u8; 64]> {
    let iv = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    let compress =
        |s: &mut [u32; 5], b: &[u8; 64]| sha1::block_api::compress(s, std::slice::from_ref(b));
    Floor::new(key, iv, [0u8; 64], 20, compress, store32)
}

fn floor(case: &Case) -> Box<dyn FnMut(std::ops::RangeInclusive<u64>)> {
    match case.algorithm {
        Algorithm::Sha1 => {
            let mut floor = sha1_floor(case.seed);
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

fn totp_rs(case: &Case) -> totp_rs::Totp {
    totp_rs_with_skew(case, 1)
}

fn totp_rs_with_skew(case: &Case, skew: u8) -> totp_rs::Totp {
    let algorithm = match case.algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        _ => totp_rs::Algorithm::SHA512,
    };
    totp_rs::Builder::new()
        .with_algorithm(algorithm)
        .with_digits(6)
        .with_skew(skew.into())
        .with_step_duration(PERIOD)
        .with_secret(case.seed)
        .build_noncompliant()
}

/// A code that matches no step of the window.
fn wrong_code(totp: &Totp) -> String {
    wrong_code_in(totp, Window::default())
}

fn wrong_code_in(totp: &Totp, window: Window) -> String {
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|code| totp.verify(code, TIME, window).is_err())
        .unwrap()
}

/// The widest drift search the groups measure: ten steps each way.
const WIDE: u8 = 10;

/// `{sha1,sha256}_verify_wide`: a wrong code against a window of ten steps
/// each way (21 candidates), the drift search a server runs when it
/// resynchronizes a device. IDs `passcode`, `floor_compress` (two
/// sequential compressions per candidate) and `totp-rs` (its skew set to
/// ten).
pub(crate) fn wide_groups() -> Vec<Group> {
    let mut groups = Vec::new();
    for case in CASES.into_iter().take(2) {
        let config = TotpConfig::new().with_algorithm(case.algorithm);
        let totp = Totp::from_key(case.seed, config).unwrap();
        let window = Window::new(WIDE, WIDE).unwrap();
        let wrong = wrong_code_in(&totp, window);
        let now = TIME / PERIOD;
        let steps = move || now - u64::from(WIDE)..=now + u64::from(WIDE);
        let rs = totp_rs_with_skew(&case, WIDE);
        assert!(rs.check(&wrong, TIME).is_none());
        let mut floor = floor(&case);
        let code = wrong.clone();
        let mut group = Group::new(format!("{}_verify_wide", case.name))
            .id("passcode", move || {
                black_box(totp.verify(black_box(&code), black_box(TIME), window).ok());
            })
            .id("floor_compress", move || floor(black_box(steps())))
            .id("totp-rs", move || {
                black_box(rs.check(black_box(&wrong), black_box(TIME)));
            });
        if let Some(mut window) = floor_window(&case) {
            group = group.id("floor_window", move || window(black_box(steps())));
        }
        groups.push(group);
    }
    groups
}

/// The nine verify groups, three per algorithm.
pub(crate) fn verify_groups() -> Vec<Group> {
    let mut groups = Vec::new();
    for case in CASES {
        let config = TotpConfig::new().with_algorithm(case.algorithm);
        let totp = Totp::from_key(case.seed, config).unwrap();
        let now = TIME / PERIOD;
        let valid = totp.generate(TIME).unwrap().to_string();
        let wrong = wrong_code(&totp);
        assert!(totp.verify(&valid, TIME, Window::ONE_STEP).is_ok());
        assert!(
            totp_rs(&case).check(&valid, TIME).is_some()
                && totp_rs(&case).check(&wrong, TIME).is_none()
        );

        let (t, rs, mut floor, clone) = (
            totp.clone(),
            totp_rs(&case),
            floor(&case),
            hmac_clone(&case),
        );
        groups.push(
            Group::new(format!("{}_generate", case.name))
                .id("passcode", move || {
                    black_box(t.generate(black_box(TIME)).unwrap());
                })
                .id("passcode_cold", move || {
                    let cold = Totp::from_key(black_box(case.seed), config).unwrap();
                    black_box(cold.generate(black_box(TIME)).unwrap());
                })
                .id("floor_hmac_clone", move || {
                    black_box(clone(black_box(now..=now), 0));
                })
                .id("floor_compress", move || floor(black_box(now..=now)))
                .id("totp-rs", move || {
                    black_box(rs.generate(black_box(TIME)));
                })
                .id("totp-lite", move || {
                    black_box(totp_lite(&case, black_box(TIME)));
                }),
        );

        for (kind, code) in [
            ("verify_valid", valid.clone()),
            ("verify_wrong", wrong.clone()),
        ] {
            let number: u32 = code.parse().unwrap();
            let (t, rs, mut floor, clone) = (
                totp.clone(),
                totp_rs(&case),
                self::floor(&case),
                hmac_clone(&case),
            );
            let (c1, c2, c3, c4) = (code.clone(), code.clone(), code.clone(), code);
            let window = floor_window(&case);
            let group = Group::new(format!("{}_{kind}", case.name))
                .id("passcode", move || {
                    black_box(
                        t.verify(black_box(&c1), black_box(TIME), Window::ONE_STEP)
                            .ok(),
                    );
                })
                .id("passcode_cold", move || {
                    let cold = Totp::from_key(black_box(case.seed), config).unwrap();
                    black_box(
                        cold.verify(black_box(&c2), black_box(TIME), Window::ONE_STEP)
                            .ok(),
                    );
                })
                .id("floor_hmac_clone", move || {
                    black_box(clone(black_box(steps()), number));
                })
                .id("floor_compress", move || floor(black_box(steps())))
                .id("totp-rs", move || {
                    black_box(rs.check(black_box(&c3), black_box(TIME)));
                })
                .id("totp-lite", move || {
                    let found = steps()
                        .map(|step| totp_lite(&case, black_box(step * PERIOD)) == c4)
                        .fold(false, |found, hit| found | hit);
                    black_box(found);
                });
            groups.push(match window {
                Some(mut window) => group.id("floor_window", move || window(black_box(steps()))),
                None => group,
            });
        }
    }
    groups
}

const URI: &str = "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30";

/// The four policy groups.
pub(crate) fn policy_groups() -> Vec<Group> {
    let key = [0x42u8; 32];
    let verifier = SmsVerifier::new(&Secret::from_bytes(&key).unwrap(), SmsPolicy::new()).unwrap();
    let (state, code) = verifier.start(
        &mut rand::rngs::StdRng::seed_from_u64(1),
        "+14155552671",
        1_000,
    );
    let wrong_sms = if code.as_str() == "000000" {
        "000001"
    } else {
        "000000"
    };
    let keyed = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    // The derivation's input: label, nonce, subject length, subject, block.
    let message = [0x5au8; 21 + 16 + 8 + 12 + 1];

    let totp = Totp::from_key(b"12345678901234567890", TotpConfig::new()).unwrap();
    let policy = TotpPolicy::new();
    let mut stored = TotpState::new();
    let earlier = totp.generate(TIME - 60).unwrap().to_string();
    totp.check(&policy, &mut stored, &earlier, TIME - 60)
        .unwrap();
    let wrong = wrong_code(&totp);
    let (wrong2, last, totp2) = (wrong.clone(), stored.last_step().unwrap(), totp.clone());
    let (wrong3, totp3, stored_bytes) = (wrong.clone(), totp.clone(), stored.to_bytes());

    let canonical = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let typed = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq";

    vec![
        Group::new("sms_check")
            .id("passcode", move || {
                let mut fresh = state;
                black_box(
                    verifier
                        .check(
                            &mut fresh,
                            black_box("+14155552671"),
                            black_box(wrong_sms),
                            1_001,
                        )
                        .ok(),
                );
            })
            .id("floor_hmac_sha256", move || {
                let mut mac = keyed.clone();
                mac.update(black_box(&message));
                black_box(mac.finalize());
            }),
        Group::new("totp_check")
            .id("passcode", move || {
                let mut fresh = stored;
                black_box(
                    totp.check(&policy, &mut fresh, black_box(&wrong), black_box(TIME))
                        .ok(),
                );
            })
            .id("passcode_bytes", move || {
                let mut fresh = TotpState::from_bytes(black_box(&stored_bytes)).unwrap();
                black_box(
                    totp3
                        .check(&policy, &mut fresh, black_box(&wrong3), black_box(TIME))
                        .ok(),
                );
                black_box(fresh.to_bytes());
            })
            .id("floor_verify_after", move || {
                black_box(
                    totp2
                        .verify_after(black_box(&wrong2), black_box(TIME), Window::ONE_STEP, last)
                        .ok(),
                );
            }),
        Group::new("base32_decode")
            .id("passcode", move || {
                black_box(Secret::from_base32(black_box(typed)).ok());
            })
            .id("base32ct", move || {
                use base32ct::Encoding as _;
                let mut out = [0u8; 20];
                black_box(
                    base32ct::Base32UpperUnpadded::decode(black_box(canonical), &mut out)
                        .map(|d| d.len())
                        .ok(),
                );
            })
            .id("data-encoding", move || {
                black_box(
                    data_encoding::BASE32_NOPAD
                        .decode(black_box(canonical.as_bytes()))
                        .ok(),
                );
            }),
        Group::new("uri_parse")
            .id("passcode", move || {
                black_box(ParsedKeyUri::parse(black_box(URI)).ok());
            })
            .id("totp-rs", move || {
                black_box(totp_rs::Totp::from_url_unchecked(black_box(URI)).ok());
            }),
    ]
}
