//! SHA-1 and HMAC-SHA-1 for many independent inputs at once on x86-64: the
//! candidates of a verification window.
//!
//! A window's candidates are independent of each other: every inner
//! compression, then every outer one, can run side by side. The `sha1`
//! crate compresses one block chain at a time, and each round waits on the
//! one before it. Here:
//!
//! - with the SHA extensions, the rounds of up to [`STREAMS`] chains are
//!   issued together, so the core works on one chain while another waits;
//! - with AVX2 or AVX-512F, each of [`LANES`] or [`WIDE_LANES`] counters has
//!   a 32-bit lane of every vector, and one instruction does a step of all
//!   their HMACs ([`hmac_sha1_counters`]).
//!
//! [`hmac_sha1_counters`] builds both padded blocks of each HMAC in
//! registers and feeds the inner digest to the outer compression there:
//! this code stores no secret-derived block (what the compiler spills from
//! registers to the stack is not wiped, as in the `sha1` crate). It splits
//! each batch of counters among the kernels by a plan measured once on the
//! CPU it runs on ([`hmac_sha1_plan`]): which kernel is fastest for how many
//! counters depends on the core, not only on its features.
//!
//! Written here because no maintained crate offers multi-stream or
//! multi-lane SHA-1 over independent chaining states. It is the one crate of
//! the project that uses `unsafe`, in four blocks, each with its `SAFETY`
//! comment: the calls into the three `#[target_feature]` kernels (SHA-NI,
//! AVX2, AVX-512), each once `cpufeatures` has seen the kernel's features,
//! and the read of the time-stamp counter that times them for the plan.
//! Everything else is safe code. The tests compare every kernel the test
//! machine has, called directly, and the dispatch under plans that use each
//! of them, bit for bit with HMAC built from the `sha1` crate's compression
//! (and RFC 4226's HMAC values) over random states and counters for every
//! count from 1 to 41, and a fuzz target does the same through the
//! dispatch.
//!
//! Where no kernel runs (or the target is not x86-64),
//! [`hmac_sha1_counters`] returns `false` and changes nothing, and the caller
//! computes one candidate at a time as before. Built with
//! `--cfg sha1_backend="soft"` (the `sha1` crate's switch to its software
//! rounds) the SHA-NI kernels are left out too, as on a CPU without the
//! extensions: the benches' software path.
#![no_std]

mod plan;

pub use plan::Kernel;

/// How many chains are in flight at once: more keep the SHA unit busier but
/// spill more of the 16 vector registers (each chain holds seven).
pub const STREAMS: usize = 3;

/// Whether the SHA-NI streams run here: an x86-64 CPU with the SHA
/// extensions (and SSSE3 and SSE4.1, which every such CPU has).
#[must_use]
pub fn sha1_available() -> bool {
    #[cfg(all(target_arch = "x86_64", not(sha1_backend = "soft")))]
    {
        x86::available()
    }
    #[cfg(not(all(target_arch = "x86_64", not(sha1_backend = "soft"))))]
    {
        false
    }
}

/// Whether [`hmac_sha1_counters`] runs here: an x86-64 CPU with the SHA
/// extensions (see [`sha1_available`]), AVX2 or AVX-512F.
#[must_use]
pub fn hmac_sha1_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        sha1_available() || lanes::available() || wide_lanes::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// How many counters the AVX2 kernel computes at once: one per 32-bit lane
/// of a 256-bit vector.
pub const LANES: usize = 8;

/// How many counters the AVX-512 kernel computes at once, one per 32-bit
/// lane of a 512-bit vector: also the most [`hmac_sha1_counters`] hands to
/// one kernel, so a caller's batch of this many keeps every kernel full.
pub const WIDE_LANES: usize = 16;

/// HMAC-SHA-1 (RFC 2104) of each counter's eight big-endian bytes, from a
/// key's prepared chaining states: `inner` after the block `key ^ ipad`,
/// `outer` after `key ^ opad`. Writes the final outer state, whose words
/// are the MAC, into `out[i]` for `counters[i]`, and returns `true`.
///
/// The counters are split among the kernels by the plan measured on this
/// CPU ([`hmac_sha1_plan`]): SHA-NI chains, AVX2 lanes, AVX-512 lanes, or
/// a mix, as timed cheapest for their number. The plan comes from timings
/// of public inputs and the count, never from a key or a counter; every
/// plan computes the same values. Every kernel builds the padded
/// blocks in registers, and the inner digest becomes the outer block's
/// first five words without this code storing it (register spills are not
/// wiped). `out` then holds MACs, which are secret: wipe it after use.
///
/// Returns `false` and changes nothing where [`hmac_sha1_available`] is
/// false or the slices differ in length.
#[must_use]
pub fn hmac_sha1_counters(
    inner: &[u32; 5],
    outer: &[u32; 5],
    counters: &[u64],
    out: &mut [[u32; 5]],
) -> bool {
    hmac(inner, outer, counters, Out::States(out))
}

/// [`hmac_sha1_counters`], reduced in the kernel to what HOTP reads: the
/// RFC 4226 §5.3 dynamic truncation of each MAC (the 31-bit big-endian word
/// at the byte offset named by the low nibble of its last byte) into
/// `out[i]`.
///
/// The offset is secret, so it picks no address: each kernel selects the
/// word with vector compares and masks, or a byte shuffle whose control
/// holds the offset, and shifts by it in registers. This code stores no
/// MAC; `out`'s values are codes of the key, to be wiped after use.
#[must_use]
pub fn hmac_sha1_truncated(
    inner: &[u32; 5],
    outer: &[u32; 5],
    counters: &[u64],
    out: &mut [u32],
) -> bool {
    hmac(inner, outer, counters, Out::Truncated(out))
}

/// Where a kernel puts each counter's result.
enum Out<'a> {
    /// The final outer state: the MAC's five words.
    States(&'a mut [[u32; 5]]),
    /// The MAC's dynamic truncation.
    Truncated(&'a mut [u32]),
}

impl Out<'_> {
    fn len(&self) -> usize {
        match self {
            Out::States(states) => states.len(),
            Out::Truncated(values) => values.len(),
        }
    }

    /// The `len` results from `start` (none where the slice is shorter:
    /// [`hmac`] checks the lengths first, so it never is).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn part(&mut self, start: usize, len: usize) -> Out<'_> {
        let range = start..start.saturating_add(len);
        match self {
            Out::States(states) => Out::States(states.get_mut(range).unwrap_or_default()),
            Out::Truncated(values) => Out::Truncated(values.get_mut(range).unwrap_or_default()),
        }
    }
}

/// How the dispatch splits `count` counters among the kernels on this CPU:
/// each call in order, the kernel and how many counters it takes. Measured
/// at the first call of this function or of [`hmac_sha1_counters`] (about
/// 0.1 to 0.2 ms, most of it warm-up) and kept. Empty where
/// [`hmac_sha1_available`] is false.
pub fn hmac_sha1_plan(count: usize) -> impl Iterator<Item = (Kernel, usize)> {
    plan::plan()
        .into_iter()
        .flat_map(move |plan| plan.calls(count))
}

/// The dispatch behind [`hmac_sha1_counters`] and [`hmac_sha1_truncated`].
fn hmac(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64], out: Out<'_>) -> bool {
    if counters.len() != out.len() {
        return false;
    }
    match plan::plan() {
        Some(plan) => hmac_in(plan, inner, outer, counters, out),
        None => false,
    }
}

/// [`hmac`] by a given plan. Each kernel checks its own features again;
/// none fails once the plan has it, since a CPU's features do not change.
fn hmac_in(
    plan: plan::Plan,
    inner: &[u32; 5],
    outer: &[u32; 5],
    counters: &[u64],
    mut out: Out<'_>,
) -> bool {
    let mut done = 0_usize;
    plan.calls(counters.len()).all(|(kernel, take)| {
        let range = done..done.saturating_add(take);
        let part = out.part(done, take);
        done = range.end;
        counters
            .get(range)
            .is_some_and(|counters| run_kernel(kernel, inner, outer, counters, part))
    })
}

/// Whether this CPU (and this build) has `kernel`.
fn kernel_available(kernel: Kernel) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match kernel {
            Kernel::Streams(_) => sha1_available(),
            Kernel::Lanes => lanes::available(),
            Kernel::WideLanes => wide_lanes::available(),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = kernel;
        false
    }
}

/// `kernel` over `counters`, which it computes in calls of its capacity;
/// false, with nothing done, where the CPU lacks it.
fn run_kernel(
    kernel: Kernel,
    inner: &[u32; 5],
    outer: &[u32; 5],
    counters: &[u64],
    out: Out<'_>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    match kernel {
        Kernel::Streams(width) => x86::hmac(width, inner, outer, counters, out),
        Kernel::Lanes => lanes::hmac(inner, outer, counters, out),
        Kernel::WideLanes => wide_lanes::hmac(inner, outer, counters, out),
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (kernel, inner, outer, counters, out);
        false
    }
}

/// The padding marker, 0x80 followed by zero bytes, as a signed word.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const MARKER: i32 = i32::MIN;
/// Bits hashed by an HMAC-SHA-1 inner compression (key block and counter)
/// and outer one (key block and inner digest).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const INNER_BITS: i32 = (64 + 8) * 8;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const OUTER_BITS: i32 = (64 + 20) * 8;

/// A word as the signed lane the intrinsics take.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const fn signed(word: u32) -> i32 {
    i32::from_ne_bytes(word.to_ne_bytes())
}

/// A lane as the word it holds.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const fn unsigned(lane: i32) -> u32 {
    u32::from_ne_bytes(lane.to_ne_bytes())
}

/// The low 32 bits of `counters[lane] >> shift`, as a lane: a counter's high
/// (`shift` 32) or low (0) message word. Lanes past the counters repeat the
/// first one, a counter the window holds anyway.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn counter_word(counters: &[u64], lane: usize, shift: u32) -> i32 {
    let counter = counters
        .get(lane)
        .or(counters.first())
        .copied()
        .unwrap_or(0);
    let [b0, b1, b2, b3, ..] = counter.wrapping_shr(shift).to_le_bytes();
    i32::from_le_bytes([b0, b1, b2, b3])
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_add_epi32, _mm_and_si128, _mm_cmpgt_epi8, _mm_cvtsi128_si32,
        _mm_extract_epi32, _mm_or_si128, _mm_set_epi32, _mm_set_epi64x, _mm_set1_epi8,
        _mm_setr_epi8, _mm_setzero_si128, _mm_sha1msg1_epu32, _mm_sha1msg2_epu32,
        _mm_sha1nexte_epu32, _mm_sha1rnds4_epu32, _mm_shuffle_epi8, _mm_sub_epi8, _mm_xor_si128,
    };

    use super::{INNER_BITS, MARKER, OUTER_BITS, Out, STREAMS, counter_word, signed, unsigned};

    cpufeatures::new!(shani, "sha", "sse2", "ssse3", "sse4.1");

    pub(super) fn available() -> bool {
        shani::get()
    }

    /// The SHA-NI streams' part of [`super::hmac`], `width` chains in
    /// flight (1 to [`STREAMS`]); false, with nothing done, where the CPU
    /// lacks the features.
    pub(super) fn hmac(
        width: usize,
        inner: &[u32; 5],
        outer: &[u32; 5],
        counters: &[u64],
        mut out: Out<'_>,
    ) -> bool {
        if !available() {
            return false;
        }
        let width = width.clamp(1, STREAMS);
        for (group, counters) in counters.chunks(width).enumerate() {
            let out = out.part(group.saturating_mul(width), counters.len());
            // SAFETY: `hmac_kernel` needs the features `shani` checks, which
            // `available()` found at the top of this function.
            unsafe {
                match *counters {
                    [x, y, z] => hmac_kernel(inner, outer, [x, y, z], out),
                    [x, y] => hmac_kernel(inner, outer, [x, y], out),
                    [x] => hmac_kernel(inner, outer, [x], out),
                    // `chunks(width)` gives 1 to `width` (at most STREAMS) counters.
                    _ => {}
                }
            }
        }
        true
    }

    /// HMAC-SHA-1 of each counter from the prepared `inner` and `outer`
    /// states, both compressions in registers (see
    /// [`super::hmac_sha1_counters`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn hmac_kernel<const N: usize>(
        inner: &[u32; 5],
        outer: &[u32; 5],
        counters: [u64; N],
        out: Out<'_>,
    ) {
        let zero = _mm_setzero_si128();
        // The inner block: the counter's two words, the 0x80 marker, zeros,
        // and the message length, (64 + 8) * 8 = 576 bits, in word 15.
        let w = counters.map(|counter| {
            let counter = [counter];
            let [high, low] = [32, 0].map(|shift| counter_word(&counter, 0, shift));
            [
                _mm_set_epi32(high, low, MARKER, 0),
                zero,
                zero,
                _mm_set_epi32(0, 0, 0, INNER_BITS),
            ]
        });
        let digests = rounds([to_lanes(inner); N], w);
        // The outer block: the inner digest's five words, the marker, zeros,
        // and (64 + 20) * 8 = 672 bits. The digest's A to D lanes are words
        // 0 to 3 as they stand; `E` leads a vector whose other lanes are
        // zero, so the marker goes in beside it.
        let w = digests.map(|(abcd, e)| {
            [
                abcd,
                _mm_xor_si128(e, _mm_set_epi32(0, MARKER, 0, 0)),
                zero,
                _mm_set_epi32(0, 0, 0, OUTER_BITS),
            ]
        });
        let end = rounds([to_lanes(outer); N], w);
        match out {
            Out::States(states) => {
                for (state, end) in states.iter_mut().zip(end) {
                    *state = from_lanes(end);
                }
            }
            Out::Truncated(values) => {
                for (value, end) in values.iter_mut().zip(end) {
                    *value = truncate(end);
                }
            }
        }
    }

    /// The dynamic truncation of a MAC in [`to_lanes`]'s form.
    ///
    /// The shuffle that writes big-endian words also lays the digest out in
    /// its byte order: bytes 0 to 15 from `A` to `D`, 16 to 19 from `E`.
    /// The four bytes from the offset are then picked by `pshufb`, whose
    /// control (the offset plus 3, 2, 1, 0) selects within a register and
    /// touches no memory: from the first vector for positions below 16 and
    /// the second for 16 and up, each shuffle zeroing (control bit 7) the
    /// bytes the other supplies.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn truncate((abcd, e): (__m128i, __m128i)) -> u32 {
        let order = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
        let (low, high) = (_mm_shuffle_epi8(abcd, order), _mm_shuffle_epi8(e, order));
        let [last, ..] = unsigned(_mm_extract_epi32(e, 3)).to_le_bytes();
        let [offset] = (last & 0x0f).to_le_bytes().map(|b| i8::from_le_bytes([b]));
        // The result's bytes, least significant first, are the digest's at
        // offset + 3, + 2, + 1 and + 0; the other twelve are 0x80 (plus the
        // offset: still bit 7) and come out zero.
        let unused = _mm_setr_epi8(
            0, 0, 0, 0, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128,
        );
        let at = _mm_add_epi8(
            _mm_set1_epi8(offset),
            _mm_or_si128(
                _mm_setr_epi8(3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                unused,
            ),
        );
        let from_high = _mm_cmpgt_epi8(at, _mm_set1_epi8(15));
        let in_low = _mm_or_si128(at, _mm_and_si128(from_high, _mm_set1_epi8(-128)));
        let in_high = _mm_or_si128(_mm_sub_epi8(at, _mm_set1_epi8(16)), unused);
        let word = _mm_or_si128(
            _mm_shuffle_epi8(low, in_low),
            _mm_shuffle_epi8(high, in_high),
        );
        unsigned(_mm_cvtsi128_si32(word)) & 0x7fff_ffff
    }

    /// A state as the `sha1rnds4` operands: `A` to `D` from the highest
    /// lane down, and `E` in the highest lane of a vector otherwise zero.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn to_lanes(s: &[u32; 5]) -> (__m128i, __m128i) {
        (
            _mm_set_epi32(signed(s[0]), signed(s[1]), signed(s[2]), signed(s[3])),
            _mm_set_epi32(signed(s[4]), 0, 0, 0),
        )
    }

    /// [`to_lanes`] undone.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn from_lanes((abcd, e): (__m128i, __m128i)) -> [u32; 5] {
        [
            unsigned(_mm_extract_epi32(abcd, 3)),
            unsigned(_mm_extract_epi32(abcd, 2)),
            unsigned(_mm_extract_epi32(abcd, 1)),
            unsigned(_mm_extract_epi32(abcd, 0)),
            unsigned(_mm_extract_epi32(e, 3)),
        ]
    }

    /// One SHA-1 compression per chain, the chains' rounds interleaved: from
    /// each chain's state as [`to_lanes`] gives it and its block's sixteen
    /// big-endian words, four to a vector with the first in the highest
    /// lane, to the next state in the same form (its `E` vector's other
    /// lanes stay zero).
    ///
    /// The same rounds as the single-chain SHA-NI code (Intel's "New
    /// Instructions Supporting the Secure Hash Algorithm"): four rounds per
    /// `sha1rnds4`, message words scheduled four at a time with `sha1msg1`
    /// and `sha1msg2`, the `E` value carried by `sha1nexte`. Each group of
    /// four rounds is issued for every chain before the next group.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    #[inline]
    fn rounds<const N: usize>(
        start: [(__m128i, __m128i); N],
        block: [[__m128i; 4]; N],
    ) -> [(__m128i, __m128i); N] {
        let zero = _mm_setzero_si128();
        let mut w = [[zero; 5]; N];
        let mut h = [[zero; 2]; N];
        for i in 0..N {
            let [w0, w1, w2, w3] = block[i];
            w[i] = [w0, w1, w2, w3, zero];
            h[i][0] = start[i].0;
        }

        // Group g of four rounds reads its "abcd" from h[g % 2] and writes
        // h[(g + 1) % 2]; groups from 4 on first schedule w[g % 5] from the
        // four before it. `$f` is the round function's index (0 to 3), a
        // constant the instruction takes in its encoding.
        macro_rules! group {
            ($g:expr, $f:literal) => {
                let g: usize = $g;
                for i in 0..N {
                    let w = &mut w[i];
                    if g >= 4 {
                        w[g % 5] = _mm_sha1msg2_epu32(
                            _mm_xor_si128(
                                _mm_sha1msg1_epu32(w[(g + 1) % 5], w[(g + 2) % 5]),
                                w[(g + 3) % 5],
                            ),
                            w[(g + 4) % 5],
                        );
                    }
                    let h = &mut h[i];
                    let next = if g == 0 {
                        _mm_add_epi32(start[i].1, w[0])
                    } else {
                        _mm_sha1nexte_epu32(h[(g + 1) % 2], w[g % 5])
                    };
                    h[(g + 1) % 2] = _mm_sha1rnds4_epu32(h[g % 2], next, $f);
                }
            };
        }
        for g in 0..5 {
            group!(g, 0);
        }
        for g in 5..10 {
            group!(g, 1);
        }
        for g in 10..15 {
            group!(g, 2);
        }
        for g in 15..20 {
            group!(g, 3);
        }

        let mut end = [(zero, zero); N];
        for i in 0..N {
            end[i] = (
                _mm_add_epi32(start[i].0, h[i][0]),
                _mm_sha1nexte_epu32(h[i][1], start[i].1),
            );
        }
        end
    }
}

/// HMAC-SHA-1 in the eight 32-bit lanes of AVX2 vectors, one counter per
/// lane, for CPUs without the SHA extensions.
///
/// FIPS 180-4 §6.1.2 as written, each operation on eight words at once:
/// the rotations are two shifts and an or, the round functions plain
/// bitwise operations, so every lane takes the same instructions whatever
/// its data. A lane's state words never leave their lane, and no data
/// picks an address or a branch.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod lanes {
    use core::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_andnot_si256, _mm256_cmpeq_epi32,
        _mm256_cvtsi256_si32, _mm256_or_si256, _mm256_permutevar8x32_epi32, _mm256_set1_epi32,
        _mm256_setr_epi32, _mm256_setzero_si256, _mm256_slli_epi32, _mm256_sllv_epi32,
        _mm256_srli_epi32, _mm256_srlv_epi32, _mm256_sub_epi32, _mm256_xor_si256,
    };

    use super::{INNER_BITS, LANES, MARKER, OUTER_BITS, Out, counter_word, signed, unsigned};

    cpufeatures::new!(avx2, "avx2");

    pub(super) fn available() -> bool {
        avx2::get()
    }

    /// The AVX2 lanes' part of [`super::hmac`]; false, with nothing done,
    /// where the CPU lacks AVX2.
    pub(super) fn hmac(
        inner: &[u32; 5],
        outer: &[u32; 5],
        counters: &[u64],
        mut out: Out<'_>,
    ) -> bool {
        if !available() {
            return false;
        }
        for (group, counters) in counters.chunks(LANES).enumerate() {
            let out = out.part(group.saturating_mul(LANES), counters.len());
            // SAFETY: `kernel` needs AVX2, which `available()` found at the
            // top of this function.
            unsafe { kernel(inner, outer, counters, out) }
        }
        true
    }

    /// HMAC-SHA-1 of `counters[i]` into `out[i]`, up to eight at once
    /// (lanes past the counters repeat the first one and are not read).
    #[target_feature(enable = "avx2")]
    fn kernel(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64], out: Out<'_>) {
        let half = |shift: u32| {
            let word = |lane: usize| counter_word(counters, lane, shift);
            _mm256_setr_epi32(
                word(0),
                word(1),
                word(2),
                word(3),
                word(4),
                word(5),
                word(6),
                word(7),
            )
        };
        let zero = _mm256_setzero_si256();
        // The inner block: the counter's two words, the 0x80 marker, zeros,
        // and the message length, (64 + 8) * 8 = 576 bits, in word 15.
        let mut w = [zero; 16];
        w[0] = half(32);
        w[1] = half(0);
        w[2] = _mm256_set1_epi32(MARKER);
        w[15] = _mm256_set1_epi32(INNER_BITS);
        let digest = compress(broadcast(inner), w);
        // The outer block: the inner digest, the marker, zeros, and
        // (64 + 20) * 8 = 672 bits.
        let [d0, d1, d2, d3, d4] = digest;
        let mut w = [zero; 16];
        (w[0], w[1], w[2], w[3], w[4]) = (d0, d1, d2, d3, d4);
        w[5] = _mm256_set1_epi32(MARKER);
        w[15] = _mm256_set1_epi32(OUTER_BITS);
        let mac = compress(broadcast(outer), w);
        // Brings a lane's word to lane 0 and reads it there.
        let read = |vector: __m256i, lane: i32| {
            let value =
                _mm256_cvtsi256_si32(_mm256_permutevar8x32_epi32(vector, _mm256_set1_epi32(lane)));
            unsigned(value)
        };
        match out {
            Out::States(states) => {
                for (lane, state) in (0i32..).zip(states.iter_mut()) {
                    for (word, vector) in state.iter_mut().zip(mac) {
                        *word = read(vector, lane);
                    }
                }
            }
            Out::Truncated(values) => {
                let truncated = truncate(mac);
                for (lane, value) in (0i32..).zip(values.iter_mut()) {
                    *value = read(truncated, lane);
                }
            }
        }
    }

    /// The dynamic truncation of every lane's MAC: the offset's word (its
    /// top two bits) chosen by a compare and a mask against each of words
    /// 0 to 3, that word and the next shifted by the offset's byte within it
    /// (its low two bits) in each lane's own shift (`vpsllvd`, `vpsrlvd`;
    /// a shift by 32 gives zero).
    #[target_feature(enable = "avx2")]
    fn truncate(mac: [__m256i; 5]) -> __m256i {
        let [w0, w1, w2, w3, w4] = mac;
        let offset = _mm256_and_si256(w4, _mm256_set1_epi32(0x0f));
        let word = _mm256_srli_epi32::<2>(offset);
        let bits = _mm256_slli_epi32::<3>(_mm256_and_si256(offset, _mm256_set1_epi32(3)));
        let (mut first, mut second) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for (k, (this, next)) in (0i32..).zip([(w0, w1), (w1, w2), (w2, w3), (w3, w4)]) {
            let here = _mm256_cmpeq_epi32(word, _mm256_set1_epi32(k));
            first = _mm256_or_si256(first, _mm256_and_si256(here, this));
            second = _mm256_or_si256(second, _mm256_and_si256(here, next));
        }
        let value = _mm256_or_si256(
            _mm256_sllv_epi32(first, bits),
            _mm256_srlv_epi32(second, _mm256_sub_epi32(_mm256_set1_epi32(32), bits)),
        );
        _mm256_and_si256(value, _mm256_set1_epi32(0x7fff_ffff))
    }

    /// Each state word in all eight lanes.
    #[target_feature(enable = "avx2")]
    fn broadcast(state: &[u32; 5]) -> [__m256i; 5] {
        state.map(|word| _mm256_set1_epi32(signed(word)))
    }

    /// `x` rotated left by `$n` bits in every lane.
    macro_rules! rotl {
        ($x:expr, $n:literal) => {{
            let x = $x;
            _mm256_or_si256(
                _mm256_slli_epi32::<$n>(x),
                _mm256_srli_epi32::<{ 32 - $n }>(x),
            )
        }};
    }

    /// One SHA-1 compression in every lane: `state` and the block's sixteen
    /// words `w`, each word a vector of the eight lanes' values.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn compress(state: [__m256i; 5], mut w: [__m256i; 16]) -> [__m256i; 5] {
        let [mut a, mut b, mut c, mut d, mut e] = state;
        // Round t's word: the block's for t < 16, then the schedule, kept
        // in a ring of sixteen.
        macro_rules! round {
            ($t:expr, $f:expr, $k:expr) => {{
                let t: usize = $t;
                if t >= 16 {
                    let x = _mm256_xor_si256(
                        _mm256_xor_si256(w[(t + 13) % 16], w[(t + 8) % 16]),
                        _mm256_xor_si256(w[(t + 2) % 16], w[t % 16]),
                    );
                    w[t % 16] = rotl!(x, 1);
                }
                let f = $f;
                let sum = _mm256_add_epi32(
                    _mm256_add_epi32(rotl!(a, 5), f),
                    _mm256_add_epi32(
                        _mm256_add_epi32(e, w[t % 16]),
                        _mm256_set1_epi32(signed($k)),
                    ),
                );
                e = d;
                d = c;
                c = rotl!(b, 30);
                b = a;
                a = sum;
            }};
        }
        // Rounds written out, so that every index into the ring is a
        // constant and no loop carries the five words from round to round.
        macro_rules! rounds {
            ($f:expr, $k:expr; $($t:literal)*) => {
                $(round!($t, $f, $k);)*
            };
        }
        // The round functions of FIPS 180-4 §4.1.1 and constants of §4.2.1.
        rounds!(
            _mm256_or_si256(_mm256_and_si256(b, c), _mm256_andnot_si256(b, d)), 0x5a82_7999;
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19
        );
        rounds!(
            _mm256_xor_si256(_mm256_xor_si256(b, c), d), 0x6ed9_eba1;
            20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39
        );
        rounds!(
            _mm256_or_si256(_mm256_and_si256(b, c), _mm256_and_si256(d, _mm256_or_si256(b, c))),
            0x8f1b_bcdc;
            40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
        );
        rounds!(
            _mm256_xor_si256(_mm256_xor_si256(b, c), d), 0xca62_c1d6;
            60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79
        );
        let [a0, b0, c0, d0, e0] = state;
        [
            _mm256_add_epi32(a0, a),
            _mm256_add_epi32(b0, b),
            _mm256_add_epi32(c0, c),
            _mm256_add_epi32(d0, d),
            _mm256_add_epi32(e0, e),
        ]
    }
}

/// HMAC-SHA-1 in the sixteen 32-bit lanes of AVX-512 vectors: [`lanes`]
/// with twice the lanes, rotations in one instruction (`vprold`) and each
/// round function in one (`vpternlogd`), and 32 registers, so the block's
/// schedule never leaves them.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod wide_lanes {
    use core::arch::x86_64::{
        __m512i, _mm_cvtsi128_si32, _mm512_add_epi32, _mm512_and_si512, _mm512_castsi512_si128,
        _mm512_cmpeq_epi32_mask, _mm512_mask_mov_epi32, _mm512_or_si512, _mm512_permutexvar_epi32,
        _mm512_rol_epi32, _mm512_set1_epi32, _mm512_setr_epi32, _mm512_setzero_si512,
        _mm512_slli_epi32, _mm512_sllv_epi32, _mm512_srli_epi32, _mm512_srlv_epi32,
        _mm512_sub_epi32, _mm512_ternarylogic_epi32, _mm512_xor_si512,
    };

    use super::{INNER_BITS, MARKER, OUTER_BITS, Out, WIDE_LANES, counter_word, signed, unsigned};

    cpufeatures::new!(avx512, "avx512f");

    pub(super) fn available() -> bool {
        avx512::get()
    }

    /// The AVX-512 lanes' part of [`super::hmac`]; false, with nothing
    /// done, where the CPU lacks AVX-512F.
    pub(super) fn hmac(
        inner: &[u32; 5],
        outer: &[u32; 5],
        counters: &[u64],
        mut out: Out<'_>,
    ) -> bool {
        if !available() {
            return false;
        }
        for (group, counters) in counters.chunks(WIDE_LANES).enumerate() {
            let out = out.part(group.saturating_mul(WIDE_LANES), counters.len());
            // SAFETY: `kernel` needs AVX-512F, which `available()` found at
            // the top of this function.
            unsafe { kernel(inner, outer, counters, out) }
        }
        true
    }

    /// HMAC-SHA-1 of `counters[i]` into `out[i]`, up to sixteen at once
    /// (lanes past the counters repeat the first one and are not read).
    #[target_feature(enable = "avx512f")]
    fn kernel(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64], out: Out<'_>) {
        let half = |shift: u32| {
            let w: [i32; 16] = core::array::from_fn(|lane| counter_word(counters, lane, shift));
            _mm512_setr_epi32(
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[12],
                w[13], w[14], w[15],
            )
        };
        let zero = _mm512_setzero_si512();
        // The blocks of `lanes::kernel`: counter, marker, length 576 bits;
        // then the inner digest, marker, length 672 bits.
        let mut w = [zero; 16];
        w[0] = half(32);
        w[1] = half(0);
        w[2] = _mm512_set1_epi32(MARKER);
        w[15] = _mm512_set1_epi32(INNER_BITS);
        let digest = compress(broadcast(inner), w);
        let [d0, d1, d2, d3, d4] = digest;
        let mut w = [zero; 16];
        (w[0], w[1], w[2], w[3], w[4]) = (d0, d1, d2, d3, d4);
        w[5] = _mm512_set1_epi32(MARKER);
        w[15] = _mm512_set1_epi32(OUTER_BITS);
        let mac = compress(broadcast(outer), w);
        // Brings a lane's word to lane 0 and reads it there.
        let read = |vector: __m512i, lane: i32| {
            let moved = _mm512_permutexvar_epi32(_mm512_set1_epi32(lane), vector);
            let value = _mm_cvtsi128_si32(_mm512_castsi512_si128(moved));
            unsigned(value)
        };
        match out {
            Out::States(states) => {
                for (lane, state) in (0i32..).zip(states.iter_mut()) {
                    for (word, vector) in state.iter_mut().zip(mac) {
                        *word = read(vector, lane);
                    }
                }
            }
            Out::Truncated(values) => {
                let truncated = truncate(mac);
                for (lane, value) in (0i32..).zip(values.iter_mut()) {
                    *value = read(truncated, lane);
                }
            }
        }
    }

    /// The dynamic truncation of every lane's MAC, as `lanes::truncate`,
    /// the word chosen by a compare into a mask register and a masked move.
    #[target_feature(enable = "avx512f")]
    fn truncate(mac: [__m512i; 5]) -> __m512i {
        let [w0, w1, w2, w3, w4] = mac;
        let offset = _mm512_and_si512(w4, _mm512_set1_epi32(0x0f));
        let word = _mm512_srli_epi32::<2>(offset);
        let bits = _mm512_slli_epi32::<3>(_mm512_and_si512(offset, _mm512_set1_epi32(3)));
        let (mut first, mut second) = (w0, w1);
        for (k, (this, next)) in (1i32..).zip([(w1, w2), (w2, w3), (w3, w4)]) {
            let here = _mm512_cmpeq_epi32_mask(word, _mm512_set1_epi32(k));
            first = _mm512_mask_mov_epi32(first, here, this);
            second = _mm512_mask_mov_epi32(second, here, next);
        }
        let value = _mm512_or_si512(
            _mm512_sllv_epi32(first, bits),
            _mm512_srlv_epi32(second, _mm512_sub_epi32(_mm512_set1_epi32(32), bits)),
        );
        _mm512_and_si512(value, _mm512_set1_epi32(0x7fff_ffff))
    }

    /// Each state word in all sixteen lanes.
    #[target_feature(enable = "avx512f")]
    fn broadcast(state: &[u32; 5]) -> [__m512i; 5] {
        state.map(|word| _mm512_set1_epi32(signed(word)))
    }

    /// One SHA-1 compression in every lane, as `lanes::compress`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn compress(state: [__m512i; 5], mut w: [__m512i; 16]) -> [__m512i; 5] {
        let [mut a, mut b, mut c, mut d, mut e] = state;
        // `vpternlogd` takes a function of three inputs as its truth table:
        // bit `4x + 2y + z` of the immediate is f(x, y, z).
        const CH: i32 = 0xca; // (x & y) | (!x & z)
        const PARITY: i32 = 0x96; // x ^ y ^ z
        const MAJ: i32 = 0xe8; // (x & y) | (x & z) | (y & z)
        macro_rules! round {
            ($t:literal, $f:expr, $k:expr) => {{
                let t: usize = $t;
                if t >= 16 {
                    let x = _mm512_ternarylogic_epi32::<PARITY>(
                        w[(t + 13) % 16],
                        w[(t + 8) % 16],
                        w[(t + 2) % 16],
                    );
                    w[t % 16] = _mm512_rol_epi32::<1>(_mm512_xor_si512(x, w[t % 16]));
                }
                let f = _mm512_ternarylogic_epi32::<$f>(b, c, d);
                let sum = _mm512_add_epi32(
                    _mm512_add_epi32(_mm512_rol_epi32::<5>(a), f),
                    _mm512_add_epi32(
                        _mm512_add_epi32(e, w[t % 16]),
                        _mm512_set1_epi32(signed($k)),
                    ),
                );
                e = d;
                d = c;
                c = _mm512_rol_epi32::<30>(b);
                b = a;
                a = sum;
            }};
        }
        macro_rules! rounds {
            ($f:expr, $k:expr; $($t:literal)*) => {
                $(round!($t, $f, $k);)*
            };
        }
        rounds!(CH, 0x5a82_7999; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19);
        rounds!(PARITY, 0x6ed9_eba1; 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39);
        rounds!(MAJ, 0x8f1b_bcdc; 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59);
        rounds!(PARITY, 0xca62_c1d6; 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79);
        let [a0, b0, c0, d0, e0] = state;
        [
            _mm512_add_epi32(a0, a),
            _mm512_add_epi32(b0, b),
            _mm512_add_epi32(c0, c),
            _mm512_add_epi32(d0, d),
            _mm512_add_epi32(e0, e),
        ]
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
#[allow(clippy::cast_possible_truncation, clippy::unwrap_used)]
mod tests {
    extern crate std;

    use proptest::prelude::*;
    use std::vec::Vec;

    use super::*;

    fn reference(states: &mut [[u32; 5]], blocks: &[[u8; 64]]) {
        for (state, block) in states.iter_mut().zip(blocks) {
            sha1::block_api::compress(state, core::slice::from_ref(block));
        }
    }

    fn machine_has_sha() -> bool {
        !cfg!(sha1_backend = "soft")
            && std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("sse4.1")
    }

    fn machine_has_avx2() -> bool {
        std::is_x86_feature_detected!("avx2")
    }

    fn machine_has_hmac() -> bool {
        machine_has_sha() || machine_has_avx2() || std::is_x86_feature_detected!("avx512f")
    }

    /// A kernel's entry: HMACs of counters into states or truncations.
    type KernelFn = fn(&[u32; 5], &[u32; 5], &[u64], Out<'_>) -> bool;

    /// A kernel's name, its MACs and their truncations.
    type Run = (&'static str, Vec<[u32; 5]>, Vec<u32>);

    /// Each HMAC kernel this machine can run, called directly (dispatch
    /// picks only one): its name, its MACs of `counters` and their
    /// truncations.
    fn hmac_kernels(inner: &[u32; 5], outer: &[u32; 5], counters: &[u64]) -> Vec<Run> {
        let mut kernels: Vec<(&'static str, KernelFn)> = Vec::new();
        if machine_has_sha() {
            kernels.push(("SHA-NI, one chain", |i, o, c, out| {
                x86::hmac(1, i, o, c, out)
            }));
            kernels.push(("SHA-NI, two chains", |i, o, c, out| {
                x86::hmac(2, i, o, c, out)
            }));
            kernels.push(("SHA-NI, three chains", |i, o, c, out| {
                x86::hmac(3, i, o, c, out)
            }));
        }
        if machine_has_avx2() {
            kernels.push(("AVX2", lanes::hmac));
        }
        if std::is_x86_feature_detected!("avx512f") {
            kernels.push(("AVX-512", wide_lanes::hmac));
        }
        kernels
            .into_iter()
            .map(|(name, run)| {
                let mut states = std::vec![[0u32; 5]; counters.len()];
                assert!(run(inner, outer, counters, Out::States(&mut states)));
                let mut values = std::vec![0u32; counters.len()];
                assert!(run(inner, outer, counters, Out::Truncated(&mut values)));
                (name, states, values)
            })
            .collect()
    }

    /// RFC 4226 §5.3's dynamic truncation, indexing the digest's bytes.
    fn truncation(mac: &[u32; 5]) -> u32 {
        let bytes: Vec<u8> = mac.iter().flat_map(|w| w.to_be_bytes()).collect();
        let offset = usize::from(bytes[19] & 0x0f);
        u32::from_be_bytes(bytes[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff
    }

    const SHA1_IV: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];

    /// HMAC-SHA-1 of `counter` from prepared states, through the `sha1`
    /// crate's compression and padded blocks built byte by byte.
    fn hmac_reference(inner: &[u32; 5], outer: &[u32; 5], counter: u64) -> [u32; 5] {
        let mut block = [0u8; 64];
        block[..8].copy_from_slice(&counter.to_be_bytes());
        block[8] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 8) * 8).to_be_bytes());
        let mut state = *inner;
        sha1::block_api::compress(&mut state, core::slice::from_ref(&block));
        let mut block = [0u8; 64];
        for (chunk, word) in block.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[20] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 20) * 8).to_be_bytes());
        let mut state = *outer;
        sha1::block_api::compress(&mut state, core::slice::from_ref(&block));
        state
    }

    /// The states after `key ^ ipad` and `key ^ opad` (RFC 2104 §2).
    fn keyed(key: &[u8]) -> ([u32; 5], [u32; 5]) {
        let pad = |byte: u8| {
            let mut block = [byte; 64];
            for (b, k) in block.iter_mut().zip(key) {
                *b ^= k;
            }
            let mut state = SHA1_IV;
            sha1::block_api::compress(&mut state, core::slice::from_ref(&block));
            state
        };
        (pad(0x36), pad(0x5c))
    }

    /// RFC 4226 Appendix D: HMAC-SHA-1("12345678901234567890", 0 to 9), in
    /// one call (three full batches and one of one).
    #[test]
    fn rfc4226_appendix_d() {
        const EXPECTED: [[u32; 5]; 10] = [
            [
                0xcc93_cf18,
                0x508d_9493,
                0x4c64_b65d,
                0x8ba7_667f,
                0xb7cd_e4b0,
            ],
            [
                0x75a4_8a19,
                0xd4cb_e100,
                0x644e_8ac1,
                0x397e_ea74,
                0x7a2d_33ab,
            ],
            [
                0x0bac_b7fa,
                0x082f_ef30,
                0x7822_1193,
                0x8bc1_c5e7,
                0x0416_ff44,
            ],
            [
                0x66c2_8227,
                0xd03a_2d55,
                0x2926_2ff0,
                0x16a1_e6ef,
                0x7655_7ece,
            ],
            [
                0xa904_c900,
                0xa64b_3590,
                0x9874_b33e,
                0x61c5_938a,
                0x8e15_ed1c,
            ],
            [
                0xa37e_783d,
                0x7b72_33c0,
                0x83d4_f629,
                0x26c7_a25f,
                0x238d_0316,
            ],
            [
                0xbc9c_d285,
                0x6104_2c83,
                0xf219_324d,
                0x3c60_7256,
                0xc032_72ae,
            ],
            [
                0xa4fb_960c,
                0x0bc0_6e1e,
                0xabb8_04e5,
                0xb397_cdc4,
                0xb455_96fa,
            ],
            [
                0x1b3c_89f6,
                0x5e6c_9e88,
                0x3012_0528,
                0x2344_3f04,
                0x8b43_32db,
            ],
            [
                0x1637_4098,
                0x09a6_79dc,
                0x6982_0731,
                0x0c8c_7fc0,
                0x7290_d9e5,
            ],
        ];
        let (inner, outer) = keyed(b"12345678901234567890");
        let counters: Vec<u64> = (0..10).collect();
        let mut out = [[0u32; 5]; 10];
        let ran = hmac_sha1_counters(&inner, &outer, &counters, &mut out);
        assert_eq!(ran, machine_has_hmac());
        if ran {
            assert_eq!(out, EXPECTED);
        }
        // Appendix D's "Truncated" column, in decimal.
        const TRUNCATED: [u32; 10] = [
            1_284_755_224,
            1_094_287_082,
            137_359_152,
            1_726_969_429,
            1_640_338_314,
            868_254_676,
            1_918_287_922,
            82_162_583,
            673_399_871,
            645_520_489,
        ];
        let mut values = [0u32; 10];
        if hmac_sha1_truncated(&inner, &outer, &counters, &mut values) {
            assert_eq!(values, TRUNCATED);
        }
        assert_eq!(EXPECTED.map(|mac| truncation(&mac)), TRUNCATED);
        for (kernel, out, values) in hmac_kernels(&inner, &outer, &counters) {
            assert_eq!(out, EXPECTED, "{kernel}");
            assert_eq!(values, TRUNCATED, "{kernel}");
        }
        for (counter, expected) in (0..).zip(EXPECTED) {
            assert_eq!(hmac_reference(&inner, &outer, counter), expected);
        }
    }

    #[test]
    fn hmac_refuses_unequal_lengths_and_changes_nothing() {
        let mut out = [[1, 2, 3, 4, 5]; 3];
        assert!(!hmac_sha1_counters(&[0; 5], &[0; 5], &[7, 8], &mut out));
        assert_eq!(out, [[1, 2, 3, 4, 5]; 3]);
    }

    proptest! {
        /// Every count from 1 to 41, random prepared states and counters
        /// (the top and bottom words both vary), against the `sha1` crate.
        #[test]
        fn hmac_matches_sha1_crate(
            count in 1usize..=41,
            inner in any::<[u32; 5]>(),
            outer in any::<[u32; 5]>(),
            start in any::<u64>(),
        ) {
            let counters: Vec<u64> = (0..count as u64).map(|i| start.wrapping_add(i)).collect();
            let expected: Vec<[u32; 5]> =
                counters.iter().map(|&c| hmac_reference(&inner, &outer, c)).collect();
            let mut out = std::vec![[0u32; 5]; count];
            let ran = hmac_sha1_counters(&inner, &outer, &counters, &mut out);
            prop_assert_eq!(ran, machine_has_hmac());
            if ran {
                prop_assert_eq!(&out, &expected);
            }
            let truncated: Vec<u32> = expected.iter().map(truncation).collect();
            let mut values = std::vec![0u32; count];
            if hmac_sha1_truncated(&inner, &outer, &counters, &mut values) {
                prop_assert_eq!(&values, &truncated);
            }
            for (kernel, out, values) in hmac_kernels(&inner, &outer, &counters) {
                prop_assert_eq!(&out, &expected, "{}", kernel);
                prop_assert_eq!(&values, &truncated, "{}", kernel);
            }
        }
    }

    /// The dispatch under plans that use every kernel this machine has,
    /// alone and mixed, against the reference, for every count to 41.
    #[test]
    fn every_plan_gives_the_same_macs() {
        let inner: [u32; 5] = core::array::from_fn(|j| (j as u32).wrapping_mul(0x85eb_ca6b));
        let outer: [u32; 5] = core::array::from_fn(|j| (j as u32).wrapping_mul(0xc2b2_ae35));
        let available = plan::KERNELS.map(kernel_available);
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut kernels_used = Vec::new();
        for _ in 0..64 {
            let costs = available.map(|has| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                has.then_some(seed % 500 + 1)
            });
            let Some(plan) = plan::Plan::best(costs) else {
                assert!(!machine_has_hmac());
                return;
            };
            // Every count to 41, and 10x a plan's largest (16).
            for count in (1..=41u64).chain([160]) {
                let counters: Vec<u64> =
                    (0..count).map(|i| i.wrapping_mul(0x1_0000_0001)).collect();
                let mut out = std::vec![[0u32; 5]; counters.len()];
                let mut values = std::vec![0u32; counters.len()];
                for into in [Out::States(&mut out), Out::Truncated(&mut values)] {
                    assert!(hmac_in(plan, &inner, &outer, &counters, into));
                }
                for ((counter, mac), value) in counters.iter().zip(&out).zip(&values) {
                    let expected = hmac_reference(&inner, &outer, *counter);
                    assert_eq!(*mac, expected, "{plan:?} {count}");
                    assert_eq!(*value, truncation(&expected), "{plan:?} {count}");
                }
                kernels_used.extend(plan.calls(counters.len()).map(|(kernel, _)| kernel));
            }
        }
        // Every kernel this machine has ran in some plan.
        for (kernel, has) in plan::KERNELS.into_iter().zip(available) {
            assert_eq!(kernels_used.contains(&kernel), has, "{kernel}");
        }
    }

    /// Each count from 1 to 41 at least once, whatever proptest draws.
    #[test]
    fn every_count_from_1_to_41() {
        // Prepared states: an arbitrary one, and its compression of an
        // arbitrary block.
        let inner: [u32; 5] = core::array::from_fn(|j| (j as u32).wrapping_mul(0x9e37_79b9));
        let mut outer = [inner];
        reference(&mut outer, &[core::array::from_fn(|j| j as u8)]);
        let [outer] = outer;
        for count in 1..=41u32 {
            let counters: Vec<u64> = (0..u64::from(count)).map(|i| u64::MAX - i).collect();
            let expected: Vec<[u32; 5]> = counters
                .iter()
                .map(|&c| hmac_reference(&inner, &outer, c))
                .collect();
            let mut out = std::vec![[0u32; 5]; counters.len()];
            if hmac_sha1_counters(&inner, &outer, &counters, &mut out) {
                assert_eq!(out, expected, "count {count}");
            } else {
                assert!(!machine_has_hmac());
            }
            let truncated: Vec<u32> = expected.iter().map(truncation).collect();
            for (kernel, out, values) in hmac_kernels(&inner, &outer, &counters) {
                assert_eq!(out, expected, "{kernel} count {count}");
                assert_eq!(values, truncated, "{kernel} count {count}");
            }
        }
    }
}
