//! Several independent SHA-1 compressions in flight at once with the x86-64
//! SHA extensions.
//!
//! A verification window's candidates are independent of each other: every
//! inner compression, then every outer one, can run side by side. The `sha1`
//! crate's SHA-NI path compresses one block chain at a time, and each round
//! waits on the one before it; here the rounds of up to [`STREAMS`] chains
//! are issued together, so the core works on one chain while another waits.
//!
//! Written here because no maintained crate offers multi-stream SHA-1 over
//! independent chaining states. It is the one crate of the project that uses
//! `unsafe`, in exactly two blocks, each with its `SAFETY` comment: the call
//! into the kernel once the CPU is known to have its features, and the
//! 16-byte load of a quarter of a block. Everything else is safe code. The tests
//! compare it bit for bit with the `sha1` crate over random states and
//! blocks for every count from 1 to 41, and a fuzz target does the same.
//!
//! Where the CPU lacks the extensions (or the target is not x86-64),
//! [`sha1_each`] returns `false` and changes nothing, and the caller
//! compresses one block at a time as before.
#![no_std]

/// How many chains are in flight at once: more keep the SHA unit busier but
/// spill more of the 16 vector registers (each chain holds seven).
pub const STREAMS: usize = 3;

/// Whether [`sha1_each`] runs here: an x86-64 CPU with the SHA extensions
/// (and SSSE3 and SSE4.1, which every such CPU has).
#[must_use]
pub fn sha1_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Compresses `blocks[i]` into `states[i]` for every `i` (FIPS 180-4 §6.1.2,
/// one block per chain), [`STREAMS`] chains at a time, and returns `true`.
///
/// Returns `false` and changes nothing where [`sha1_available`] is false or
/// the slices differ in length.
#[must_use]
pub fn sha1_each(states: &mut [[u32; 5]], blocks: &[[u8; 64]]) -> bool {
    if states.len() != blocks.len() || !sha1_available() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        x86::sha1_each(states, blocks);
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// HMAC-SHA-1 (RFC 2104) of each counter's eight big-endian bytes, from a
/// key's prepared chaining states: `inner` after the block `key ^ ipad`,
/// `outer` after `key ^ opad`. Writes the final outer state, whose words
/// are the MAC, into `out[i]` for `counters[i]`, [`STREAMS`] counters at a
/// time, and returns `true`.
///
/// Both compressions of a counter run in registers: the padded message
/// blocks are built there, and the inner digest becomes the outer block's
/// first five words without being stored, so no secret-derived block is
/// left in memory to wipe.
///
/// Returns `false` and changes nothing where [`sha1_available`] is false or
/// the slices differ in length.
#[must_use]
pub fn hmac_sha1_counters(
    inner: &[u32; 5],
    outer: &[u32; 5],
    counters: &[u64],
    out: &mut [[u32; 5]],
) -> bool {
    if counters.len() != out.len() || !sha1_available() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        x86::hmac_sha1_counters(inner, outer, counters, out);
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (inner, outer);
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_extract_epi32, _mm_loadu_si128, _mm_set_epi32, _mm_set_epi64x,
        _mm_setzero_si128, _mm_sha1msg1_epu32, _mm_sha1msg2_epu32, _mm_sha1nexte_epu32,
        _mm_sha1rnds4_epu32, _mm_shuffle_epi8, _mm_xor_si128,
    };

    use super::STREAMS;

    cpufeatures::new!(shani, "sha", "sse2", "ssse3", "sse4.1");

    pub(super) fn available() -> bool {
        shani::get()
    }

    pub(super) fn sha1_each(states: &mut [[u32; 5]], blocks: &[[u8; 64]]) {
        for (states, blocks) in states.chunks_mut(STREAMS).zip(blocks.chunks(STREAMS)) {
            // SAFETY: `kernel` needs the features `shani` checked, and the
            // caller (`super::sha1_each`) runs this only where `available()`
            // returned true.
            unsafe {
                match (states, blocks) {
                    ([a, b, c], [x, y, z]) => kernel([a, b, c], [x, y, z]),
                    ([a, b], [x, y]) => kernel([a, b], [x, y]),
                    ([a], [x]) => kernel([a], [x]),
                    // `chunks` of equal slices pair equal lengths, at most STREAMS.
                    _ => {}
                }
            }
        }
    }

    pub(super) fn hmac_sha1_counters(
        inner: &[u32; 5],
        outer: &[u32; 5],
        counters: &[u64],
        out: &mut [[u32; 5]],
    ) {
        for (counters, out) in counters.chunks(STREAMS).zip(out.chunks_mut(STREAMS)) {
            // SAFETY: `hmac_kernel` needs the features `shani` checked, and
            // the caller (`super::hmac_sha1_counters`) runs this only where
            // `available()` returned true.
            unsafe {
                match (counters, out) {
                    (&[x, y, z], [a, b, c]) => hmac_kernel(inner, outer, [x, y, z], [a, b, c]),
                    (&[x, y], [a, b]) => hmac_kernel(inner, outer, [x, y], [a, b]),
                    (&[x], [a]) => hmac_kernel(inner, outer, [x], [a]),
                    // `chunks` of equal slices pair equal lengths, at most STREAMS.
                    _ => {}
                }
            }
        }
    }

    /// The 16 bytes of `block` from `offset`, as one vector.
    fn load(block: &[u8; 64], offset: usize) -> __m128i {
        let bytes: &[u8; 16] = match block.get(offset..offset + 16) {
            Some(bytes) => bytes.try_into().unwrap_or(&[0; 16]),
            None => &[0; 16],
        };
        // SAFETY: `bytes` is 16 readable bytes, and `loadu` needs no alignment.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    /// One SHA-1 compression per chain (FIPS 180-4 §6.1.2), from states and
    /// blocks in memory.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn kernel<const N: usize>(states: [&mut [u32; 5]; N], blocks: [&[u8; 64]; N]) {
        // Big-endian words: reverses the bytes of each 32-bit lane and the
        // lanes, so that word 0 stands in the highest lane as `sha1rnds4`
        // expects.
        let order = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
        let start = states.each_ref().map(|s| to_lanes(s));
        let w = blocks.map(|block| {
            let mut w = [_mm_setzero_si128(); 4];
            for (k, w) in w.iter_mut().enumerate() {
                *w = _mm_shuffle_epi8(load(block, 16 * k), order);
            }
            w
        });
        let end = rounds(start, w);
        for (state, end) in states.into_iter().zip(end) {
            *state = from_lanes(end);
        }
    }

    /// HMAC-SHA-1 of each counter from the prepared `inner` and `outer`
    /// states, both compressions in registers (see
    /// [`super::hmac_sha1_counters`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn hmac_kernel<const N: usize>(
        inner: &[u32; 5],
        outer: &[u32; 5],
        counters: [u64; N],
        out: [&mut [u32; 5]; N],
    ) {
        let zero = _mm_setzero_si128();
        // The inner block: the counter's two words, the 0x80 marker, zeros,
        // and the message length, (64 + 8) * 8 = 576 bits, in word 15.
        let w = counters.map(|counter| {
            let [high, low] = [counter >> 32, counter].map(|half| {
                let [b0, b1, b2, b3, ..] = half.to_le_bytes();
                word(u32::from_le_bytes([b0, b1, b2, b3]))
            });
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
        for (state, end) in out.into_iter().zip(end) {
            *state = from_lanes(end);
        }
    }

    /// The padding marker, 0x80 followed by zero bytes, as a word.
    const MARKER: i32 = i32::MIN;
    /// Bits hashed by an HMAC-SHA-1 inner and outer compression.
    const INNER_BITS: i32 = (64 + 8) * 8;
    const OUTER_BITS: i32 = (64 + 20) * 8;

    /// A state as the `sha1rnds4` operands: `A` to `D` from the highest
    /// lane down, and `E` in the highest lane of a vector otherwise zero.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn to_lanes(s: &[u32; 5]) -> (__m128i, __m128i) {
        (
            _mm_set_epi32(word(s[0]), word(s[1]), word(s[2]), word(s[3])),
            _mm_set_epi32(word(s[4]), 0, 0, 0),
        )
    }

    /// [`to_lanes`] undone.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn from_lanes((abcd, e): (__m128i, __m128i)) -> [u32; 5] {
        [
            lane(_mm_extract_epi32(abcd, 3)),
            lane(_mm_extract_epi32(abcd, 2)),
            lane(_mm_extract_epi32(abcd, 1)),
            lane(_mm_extract_epi32(abcd, 0)),
            lane(_mm_extract_epi32(e, 3)),
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

    /// A state word as the signed lane the intrinsics take.
    fn word(value: u32) -> i32 {
        i32::from_ne_bytes(value.to_ne_bytes())
    }

    /// A lane as the state word it holds.
    fn lane(value: i32) -> u32 {
        u32::from_ne_bytes(value.to_ne_bytes())
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
#[allow(clippy::cast_possible_truncation)]
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
        std::is_x86_feature_detected!("sha") && std::is_x86_feature_detected!("sse4.1")
    }

    /// FIPS 180-4 / RFC 3174's "abc": one block from the initial value.
    #[test]
    fn abc() {
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        block[3] = 0x80;
        block[63] = 24;
        let mut states = [[
            0x6745_2301,
            0xefcd_ab89,
            0x98ba_dcfe,
            0x1032_5476,
            0xc3d2_e1f0,
        ]; 4];
        let blocks = [block; 4];
        let ran = sha1_each(&mut states, &blocks);
        assert_eq!(ran, machine_has_sha());
        if ran {
            for state in states {
                assert_eq!(
                    state,
                    [
                        0xa999_3e36,
                        0x4706_816a,
                        0xba3e_2571,
                        0x7850_c26c,
                        0x9cd0_d89d
                    ]
                );
            }
        }
    }

    #[test]
    fn refuses_unequal_lengths_and_changes_nothing() {
        let mut states = [[1, 2, 3, 4, 5]; 3];
        assert!(!sha1_each(&mut states, &[[0; 64]; 2]));
        assert_eq!(states, [[1, 2, 3, 4, 5]; 3]);
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
            [0xcc93_cf18, 0x508d_9493, 0x4c64_b65d, 0x8ba7_667f, 0xb7cd_e4b0],
            [0x75a4_8a19, 0xd4cb_e100, 0x644e_8ac1, 0x397e_ea74, 0x7a2d_33ab],
            [0x0bac_b7fa, 0x082f_ef30, 0x7822_1193, 0x8bc1_c5e7, 0x0416_ff44],
            [0x66c2_8227, 0xd03a_2d55, 0x2926_2ff0, 0x16a1_e6ef, 0x7655_7ece],
            [0xa904_c900, 0xa64b_3590, 0x9874_b33e, 0x61c5_938a, 0x8e15_ed1c],
            [0xa37e_783d, 0x7b72_33c0, 0x83d4_f629, 0x26c7_a25f, 0x238d_0316],
            [0xbc9c_d285, 0x6104_2c83, 0xf219_324d, 0x3c60_7256, 0xc032_72ae],
            [0xa4fb_960c, 0x0bc0_6e1e, 0xabb8_04e5, 0xb397_cdc4, 0xb455_96fa],
            [0x1b3c_89f6, 0x5e6c_9e88, 0x3012_0528, 0x2344_3f04, 0x8b43_32db],
            [0x1637_4098, 0x09a6_79dc, 0x6982_0731, 0x0c8c_7fc0, 0x7290_d9e5],
        ];
        let (inner, outer) = keyed(b"12345678901234567890");
        let counters: Vec<u64> = (0..10).collect();
        let mut out = [[0u32; 5]; 10];
        let ran = hmac_sha1_counters(&inner, &outer, &counters, &mut out);
        assert_eq!(ran, machine_has_sha());
        if ran {
            assert_eq!(out, EXPECTED);
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
        /// Every count from 1 to 41 (a window of +-20 steps and one more),
        /// random states and blocks, against the `sha1` crate.
        #[test]
        fn matches_sha1_crate(
            count in 1usize..=41,
            seed in prop::collection::vec(any::<u32>(), 41 * 5),
            bytes in prop::collection::vec(any::<u8>(), 41 * 64),
        ) {
            let mut states: Vec<[u32; 5]> = seed.chunks_exact(5).take(count)
                .map(|c| [c[0], c[1], c[2], c[3], c[4]]).collect();
            let blocks: Vec<[u8; 64]> = bytes.chunks_exact(64).take(count)
                .map(|c| c.try_into().unwrap_or([0; 64])).collect();
            let mut expected = states.clone();
            reference(&mut expected, &blocks);
            let ran = sha1_each(&mut states, &blocks);
            prop_assert_eq!(ran, machine_has_sha());
            if ran {
                prop_assert_eq!(states, expected);
            }
        }
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
            prop_assert_eq!(ran, machine_has_sha());
            if ran {
                prop_assert_eq!(out, expected);
            }
        }
    }

    /// Each count from 1 to 41 at least once, whatever proptest draws.
    #[test]
    fn every_count_from_1_to_41() {
        for count in 1..=41u32 {
            let mut states: Vec<[u32; 5]> = (0..count)
                .map(|i| core::array::from_fn(|j| (i * 5 + j as u32).wrapping_mul(0x9e37_79b9)))
                .collect();
            let blocks: Vec<[u8; 64]> = (0..count)
                .map(|i| core::array::from_fn(|j| (i as u8).wrapping_mul(31) ^ j as u8))
                .collect();
            let mut expected = states.clone();
            reference(&mut expected, &blocks);
            if sha1_each(&mut states, &blocks) {
                assert_eq!(states, expected, "count {count}");
            } else {
                assert!(!machine_has_sha());
            }
            let (inner, outer) = (states[0], expected[0]);
            let counters: Vec<u64> = (0..u64::from(count)).map(|i| u64::MAX - i).collect();
            let mut out = std::vec![[0u32; 5]; counters.len()];
            if hmac_sha1_counters(&inner, &outer, &counters, &mut out) {
                for (c, got) in counters.iter().zip(&out) {
                    assert_eq!(*got, hmac_reference(&inner, &outer, *c), "count {count}");
                }
            } else {
                assert!(!machine_has_sha());
            }
        }
    }
}
