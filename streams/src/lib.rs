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

    /// The 16 bytes of `block` from `offset`, as one vector.
    fn load(block: &[u8; 64], offset: usize) -> __m128i {
        let bytes: &[u8; 16] = match block.get(offset..offset + 16) {
            Some(bytes) => bytes.try_into().unwrap_or(&[0; 16]),
            None => &[0; 16],
        };
        // SAFETY: `bytes` is 16 readable bytes, and `loadu` needs no alignment.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    /// One SHA-1 compression per chain, the chains' rounds interleaved.
    ///
    /// The same rounds as the single-chain SHA-NI code (Intel's "New
    /// Instructions Supporting the Secure Hash Algorithm"): four rounds per
    /// `sha1rnds4`, message words scheduled four at a time with `sha1msg1`
    /// and `sha1msg2`, the `E` value carried by `sha1nexte`. Each group of
    /// four rounds is issued for every chain before the next group.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn kernel<const N: usize>(states: [&mut [u32; 5]; N], blocks: [&[u8; 64]; N]) {
        // Big-endian words: reverses the bytes of each 32-bit lane and the
        // lanes, so that word 0 stands in the highest lane as `sha1rnds4`
        // expects.
        let order = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
        let zero = _mm_setzero_si128();
        let mut abcd = [zero; N];
        let mut e = [zero; N];
        let mut w = [[zero; 5]; N];
        let mut h = [[zero; 2]; N];
        for i in 0..N {
            let s = &*states[i];
            abcd[i] = _mm_set_epi32(word(s[0]), word(s[1]), word(s[2]), word(s[3]));
            e[i] = _mm_set_epi32(word(s[4]), 0, 0, 0);
            for (k, w) in w[i].iter_mut().take(4).enumerate() {
                *w = _mm_shuffle_epi8(load(blocks[i], 16 * k), order);
            }
            h[i][0] = abcd[i];
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
                        _mm_add_epi32(e[i], w[0])
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

        for i in 0..N {
            let abcd = _mm_add_epi32(abcd[i], h[i][0]);
            let e = _mm_sha1nexte_epu32(h[i][1], e[i]);
            *states[i] = [
                lane(_mm_extract_epi32(abcd, 3)),
                lane(_mm_extract_epi32(abcd, 2)),
                lane(_mm_extract_epi32(abcd, 1)),
                lane(_mm_extract_epi32(abcd, 0)),
                lane(_mm_extract_epi32(e, 3)),
            ];
        }
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
        }
    }
}
