//! HMAC (RFC 2104) over the hash crates' compression functions, for the one
//! message shape HOTP needs: an 8-byte counter.
//!
//! Written here rather than taken from the `hmac` crate because that crate
//! offers no way to reuse prepared inner/outer states for a fixed one-block
//! message without cloning and re-buffering per call. Keying once and then
//! paying exactly two compression-function calls per candidate (one inner
//! block holding the counter and its padding, one outer block holding the
//! inner digest and its padding) is the floor a verifier can reach; the tests
//! compare this module with the `hmac` crate over keys of every length.
//!
//! A build with none of the algorithm features still compiles (every keying
//! then fails with `SecretError::AlgorithmDisabled`); only then is this
//! machinery unused.
#![cfg_attr(
    not(any(feature = "sha1", feature = "sha256", feature = "sha512")),
    allow(dead_code, unused_variables)
)]

use core::ops::RangeInclusive;

use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroize;

use crate::{Algorithm, SecretError};

const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// One Merkle-Damgård hash at the block level.
pub(crate) trait BlockHash {
    /// The chaining state (FIPS 180-4 `H`).
    type State: Copy + Default + Zeroize;
    /// One input block.
    type Block: Copy + Zeroize + AsRef<[u8]> + AsMut<[u8]>;
    /// The initial hash value (FIPS 180-4 §5.3).
    const IV: Self::State;
    const ZERO_BLOCK: Self::Block;
    const OUTPUT_LEN: usize;
    /// Whether a window is computed in batches ([`Keyed::for_each_batched`])
    /// where batching can pay ([`OUT_OF_ORDER`]): set where it measured
    /// faster than one candidate at a time.
    const BATCHED: bool;
    fn compress(state: &mut Self::State, block: &Self::Block);
    /// Whether [`truncated_each`](Self::truncated_each) runs on this CPU
    /// (the `streams` feature, SHA-1 on x86-64: compressions in flight
    /// together with the SHA extensions, or in the lanes of AVX2 or AVX-512
    /// vectors), taking [`STREAMED_BATCH`] counters at a time.
    fn streams() -> bool {
        false
    }
    /// Writes the dynamic truncation of HMAC(key, `counters[i]`) into
    /// `out[i]` for every `i`, from the key's prepared states, and returns
    /// true; or returns false and changes nothing.
    fn truncated_each(
        inner: &Self::State,
        outer: &Self::State,
        counters: &[u64],
        out: &mut [u32],
    ) -> bool {
        let _ = (inner, outer, counters, out);
        false
    }
    /// Writes the state as big-endian words: the digest, once finalized.
    fn write_digest(state: &Self::State, out: &mut [u8]);
    /// The digest's first five big-endian 32-bit words and its last byte:
    /// all that dynamic truncation reads (RFC 4226 §5.3 reads at most bytes
    /// 0 to 18, and the last byte for the offset).
    fn truncation_input(state: &Self::State) -> ([u32; 5], u8);
    /// The whole-message hash, for keys longer than a block (RFC 2104 §2).
    fn hash_key(key: &[u8], out: &mut [u8]);
}

fn copy_into(out: &mut [u8], bytes: &[u8]) {
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
}

#[cfg(feature = "sha1")]
pub(crate) enum Sha1 {}

#[cfg(feature = "sha1")]
impl BlockHash for Sha1 {
    type State = [u32; 5];
    type Block = [u8; 64];
    const IV: Self::State = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    const ZERO_BLOCK: Self::Block = [0; 64];
    const OUTPUT_LEN: usize = 20;
    // A +-1 window: 1.31x to 1.22x of two sequential compressions per
    // candidate with SHA-NI (README, Speed).
    const BATCHED: bool = true;

    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha1::block_api::compress(state, core::slice::from_ref(block));
    }

    #[cfg(feature = "streams")]
    fn streams() -> bool {
        passcode_streams::hmac_sha1_available()
    }

    #[cfg(feature = "streams")]
    fn truncated_each(
        inner: &Self::State,
        outer: &Self::State,
        counters: &[u64],
        out: &mut [u32],
    ) -> bool {
        passcode_streams::hmac_sha1_truncated(inner, outer, counters, out)
    }

    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            copy_into(chunk, &word.to_be_bytes());
        }
    }

    fn truncation_input(state: &Self::State) -> ([u32; 5], u8) {
        let [.., last] = state[4].to_be_bytes();
        (*state, last)
    }

    fn hash_key(key: &[u8], out: &mut [u8]) {
        use sha1::Digest as _;
        let mut digest = sha1::Sha1::digest(key);
        copy_into(out, &digest);
        digest.as_mut_slice().zeroize();
    }
}

#[cfg(feature = "sha256")]
pub(crate) enum Sha256 {}

#[cfg(feature = "sha256")]
impl BlockHash for Sha256 {
    type State = [u32; 8];
    type Block = [u8; 64];
    const IV: Self::State = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    const ZERO_BLOCK: Self::Block = [0; 64];
    const OUTPUT_LEN: usize = 32;
    // A +-1 window: 1.33x to 1.06x of the sequential floor with SHA-NI.
    const BATCHED: bool = true;

    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha2::block_api::compress256(state, core::slice::from_ref(block));
    }

    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            copy_into(chunk, &word.to_be_bytes());
        }
    }

    fn truncation_input(state: &Self::State) -> ([u32; 5], u8) {
        let [a, b, c, d, e, _, _, h] = *state;
        let [.., last] = h.to_be_bytes();
        ([a, b, c, d, e], last)
    }

    fn hash_key(key: &[u8], out: &mut [u8]) {
        use sha2::Digest as _;
        let mut digest = sha2::Sha256::digest(key);
        copy_into(out, &digest);
        digest.as_mut_slice().zeroize();
    }
}

#[cfg(feature = "sha512")]
pub(crate) enum Sha512 {}

#[cfg(feature = "sha512")]
impl BlockHash for Sha512 {
    type State = [u64; 8];
    type Block = [u8; 128];
    const IV: Self::State = [
        0x6a09_e667_f3bc_c908,
        0xbb67_ae85_84ca_a73b,
        0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1,
        0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b,
        0x5be0_cd19_137e_2179,
    ];
    const ZERO_BLOCK: Self::Block = [0; 128];
    const OUTPUT_LEN: usize = 64;
    // Measured slightly slower batched (1.41 against 1.39 µs for a +-1
    // window): SHA-512 has no hardware path here, and its software rounds
    // already keep the core busy.
    const BATCHED: bool = false;

    fn compress(state: &mut Self::State, block: &Self::Block) {
        sha2::block_api::compress512(state, core::slice::from_ref(block));
    }

    fn write_digest(state: &Self::State, out: &mut [u8]) {
        for (chunk, word) in out.chunks_exact_mut(8).zip(state) {
            copy_into(chunk, &word.to_be_bytes());
        }
    }

    fn truncation_input(state: &Self::State) -> ([u32; 5], u8) {
        let [a, b, c, _, _, _, _, h] = *state;
        let [a0, a1, a2, a3, a4, a5, a6, a7] = a.to_be_bytes();
        let [b0, b1, b2, b3, b4, b5, b6, b7] = b.to_be_bytes();
        let [c0, c1, c2, c3, ..] = c.to_be_bytes();
        let [.., last] = h.to_be_bytes();
        let words = [
            u32::from_be_bytes([a0, a1, a2, a3]),
            u32::from_be_bytes([a4, a5, a6, a7]),
            u32::from_be_bytes([b0, b1, b2, b3]),
            u32::from_be_bytes([b4, b5, b6, b7]),
            u32::from_be_bytes([c0, c1, c2, c3]),
        ];
        (words, last)
    }

    fn hash_key(key: &[u8], out: &mut [u8]) {
        use sha2::Digest as _;
        let mut digest = sha2::Sha512::digest(key);
        copy_into(out, &digest);
        digest.as_mut_slice().zeroize();
    }
}

/// HMAC inner and outer chaining states after absorbing `key ^ ipad` and
/// `key ^ opad` (RFC 2104 §2, steps 1-3 done once).
pub(crate) struct Keyed<H: BlockHash> {
    inner: H::State,
    outer: H::State,
}

impl<H: BlockHash> Clone for Keyed<H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner,
            outer: self.outer,
        }
    }
}

impl<H: BlockHash> Drop for Keyed<H> {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// Writes the final-block padding (FIPS 180-4 §5.1) for a message of
/// `message_len` bytes that follows one full key block.
fn pad(block: &mut [u8], message_len: usize) {
    let block_len = block.len();
    if let Some(marker) = block.get_mut(message_len) {
        *marker = 0x80;
    }
    let bits = u64::try_from(block_len.saturating_add(message_len))
        .unwrap_or(u64::MAX)
        .saturating_mul(8);
    // The length field ends the block. SHA-512's is 128 bits wide; its upper
    // half is zero for lengths this small.
    if let Some(field) = block.get_mut(block_len.saturating_sub(8)..) {
        copy_into(field, &bits.to_be_bytes());
    }
}

/// An inner block padded for the 8-byte counter, and an outer block padded
/// for the inner digest.
fn padded_blocks<H: BlockHash>() -> (H::Block, H::Block) {
    let mut inner = H::ZERO_BLOCK;
    pad(inner.as_mut(), 8);
    let mut outer = H::ZERO_BLOCK;
    pad(outer.as_mut(), H::OUTPUT_LEN);
    (inner, outer)
}

impl<H: BlockHash> Keyed<H> {
    fn new(key: &[u8]) -> Self {
        let mut block = H::ZERO_BLOCK;
        if key.len() > block.as_ref().len() {
            H::hash_key(key, block.as_mut());
        } else {
            copy_into(block.as_mut(), key);
        }
        block.as_mut().iter_mut().for_each(|b| *b ^= IPAD);
        let mut inner = H::IV;
        H::compress(&mut inner, &block);
        block.as_mut().iter_mut().for_each(|b| *b ^= IPAD ^ OPAD);
        let mut outer = H::IV;
        H::compress(&mut outer, &block);
        block.zeroize();
        Self { inner, outer }
    }

    /// Calls `f(counter, truncated)` for every counter in order, in the
    /// order of work that measured fastest for this hash on this target:
    /// streamed where the CPU computes several candidates together, batched
    /// where an out-of-order core overlaps them, else one candidate at a
    /// time. All compute the same values; which one runs depends only on
    /// the build and the CPU.
    fn for_each(&self, counters: RangeInclusive<u64>, f: impl FnMut(u64, u32)) {
        // One counter takes the one-at-a-time path: a lanes kernel
        // computes all its lanes whatever the count, and a single
        // compression chain gains nothing from streams.
        let several = counters.start() < counters.end();
        if several && H::streams() {
            self.for_each_streamed::<STREAMED_BATCH>(counters, STREAMED_BATCH, f);
        } else if OUT_OF_ORDER && H::BATCHED {
            self.for_each_batched::<BATCH>(counters, f);
        } else {
            self.for_each_batched::<1>(counters, f);
        }
    }

    /// `batch` counters at a time (at most `N`) through
    /// [`truncated_each`](BlockHash::truncated_each), which computes them
    /// together, builds their blocks and truncates their MACs in registers.
    /// The same values and the same order of counters as
    /// [`for_each_batched`](Self::for_each_batched); which path runs
    /// depends only on the CPU.
    fn for_each_streamed<const N: usize>(
        &self,
        counters: RangeInclusive<u64>,
        batch: usize,
        mut f: impl FnMut(u64, u32),
    ) {
        let mut values = Wiped([0u32; N], 0);
        let mut counters = Counters::new(counters);
        let mut taken = [0u64; N];
        let batch = taken.get_mut(..batch.clamp(1, N)).unwrap_or_default();
        loop {
            let len = counters.draw(batch);
            // Only the values a batch used are wiped: a streamed batch
            // (sixteen) is far larger than a +-1 window (three).
            values.1 = values.1.max(len);
            let (Some(taken), Some(values)) = (
                batch.get(..len).filter(|taken| !taken.is_empty()),
                values.0.get_mut(..len),
            ) else {
                break;
            };
            if !H::truncated_each(&self.inner, &self.outer, taken, values) {
                // Not once `streams()` has said yes; the same values then
                // come one candidate at a time.
                let mut blocks = Padded::new();
                let mut state = Wiped([H::State::default()], 1);
                for (counter, value) in taken.iter().zip(values.iter_mut()) {
                    self.batch(&mut blocks, core::slice::from_ref(counter), &mut state.0);
                    let (words, last) = H::truncation_input(&state.0[0]);
                    *value = truncate(words, last);
                }
            }
            for (counter, value) in taken.iter().zip(values.iter()) {
                f(*counter, *value);
            }
        }
    }

    /// `N` counters at a time: every inner compression of a batch, then
    /// every outer one, then the truncations. With `N` = 1, one candidate
    /// at a time.
    ///
    /// Each candidate's inner and outer compressions depend on each other,
    /// but those of different candidates do not; issued back to back, an
    /// out-of-order core runs one candidate's compression while the
    /// previous one's is still in flight, where the one-candidate-at-a-time
    /// order leaves it waiting on the chain. Every counter is still computed
    /// and handed to `f` in order, whatever the key or the codes: batching
    /// changes only which public counter's work comes first.
    fn for_each_batched<const N: usize>(
        &self,
        counters: RangeInclusive<u64>,
        mut f: impl FnMut(u64, u32),
    ) {
        let mut blocks = Padded::new();
        let mut states = Wiped([H::State::default(); N], N);
        let mut counters = Counters::new(counters);
        let mut taken = [0u64; N];
        loop {
            let len = counters.draw(&mut taken);
            let (Some(taken), Some(states)) = (
                taken.get(..len).filter(|taken| !taken.is_empty()),
                states.0.get_mut(..len),
            ) else {
                break;
            };
            self.batch(&mut blocks, taken, states);
            hand_over::<H>(taken, states, &mut f);
        }
    }

    /// The final outer state of each counter of a batch into `states`.
    ///
    /// One inner and one outer block serve the whole batch: each
    /// compression reads its block before the next candidate's bytes
    /// overwrite it, so sharing them adds no wait and keeps the per-call
    /// setup and wiping small.
    fn batch(&self, blocks: &mut Padded<H>, taken: &[u64], states: &mut [H::State]) {
        for (counter, state) in taken.iter().zip(states.iter_mut()) {
            copy_into(blocks.inner.as_mut(), &counter.to_be_bytes());
            *state = self.inner;
            H::compress(state, &blocks.inner);
        }
        for state in states.iter_mut() {
            H::write_digest(state, blocks.outer.as_mut());
            *state = self.outer;
            H::compress(state, &blocks.outer);
        }
    }
}

/// The counters of a range, drawn a batch at a time. Only public numbers.
struct Counters {
    next: u64,
    last: u64,
    done: bool,
}

impl Counters {
    fn new(range: RangeInclusive<u64>) -> Self {
        Self {
            done: range.is_empty(),
            next: *range.start(),
            last: *range.end(),
        }
    }

    /// Draws the next counters into `taken`, as many as it holds at most,
    /// in order; how many (none once every counter is drawn).
    // Written out rather than drawn from the range's iterator, whose
    // exhaustion bookkeeping cost more than the rest of a +-1 window's
    // handling outside the hash.
    fn draw(&mut self, taken: &mut [u64]) -> usize {
        if self.done {
            return 0;
        }
        // `next <= last` while not done; a range wider than `usize` still
        // fills the batch.
        let room = usize::try_from(self.last.wrapping_sub(self.next)).unwrap_or(usize::MAX);
        let len = room.saturating_add(1).min(taken.len());
        let mut counter = self.next;
        for slot in taken.iter_mut().take(len) {
            *slot = counter;
            counter = counter.wrapping_add(1);
        }
        // `counter` is one past the batch's last counter; it wraps to 0
        // only when that was `u64::MAX`, which is then `last`.
        self.done = counter.wrapping_sub(1) == self.last;
        self.next = counter;
        len
    }
}

/// Hands each counter of a batch to `f` with the truncation of its final
/// state, in order.
fn hand_over<H: BlockHash>(taken: &[u64], states: &[H::State], f: &mut impl FnMut(u64, u32)) {
    for (counter, state) in taken.iter().zip(states) {
        let (words, last) = H::truncation_input(state);
        f(*counter, truncate(words, last));
    }
}

/// A batch's blocks, padded once: an inner block, holding only a public
/// counter and padding, and an outer block, whose first `OUTPUT_LEN` bytes
/// are secret-derived and are wiped when the call ends.
struct Padded<H: BlockHash> {
    inner: H::Block,
    outer: H::Block,
}

impl<H: BlockHash> Padded<H> {
    fn new() -> Self {
        let (inner, outer) = padded_blocks::<H>();
        Self { inner, outer }
    }
}

impl<H: BlockHash> Drop for Padded<H> {
    fn drop(&mut self) {
        if let Some(digest) = self.outer.as_mut().get_mut(..H::OUTPUT_LEN) {
            digest.zeroize();
        }
    }
}

/// A batch's secret-derived values (chaining states, or truncated MACs), of
/// which the first `.1` are wiped when the call ends (every batch uses at
/// most that many).
struct Wiped<S: Zeroize, const N: usize>([S; N], usize);

impl<S: Zeroize, const N: usize> Drop for Wiped<S, N> {
    fn drop(&mut self) {
        for state in self.0.iter_mut().take(self.1) {
            state.zeroize();
        }
    }
}

/// RFC 4226 §5.3 dynamic truncation: the 31-bit big-endian word at the byte
/// offset named by the low nibble of the digest's last byte.
///
/// The offset is secret, so it must not pick a memory address (a cache line
/// or a bank could reveal it). Instead the digest's first 160 bits are
/// shifted left by `8 * offset` bits in four stages, one per bit of the
/// offset (64, 32, 16 and 8 bits), each kept or not by a constant-time
/// select; the wanted word then stands first. Each stage keeps only the
/// bytes the later ones can still bring forward: 12 after the first, 8
/// after the second.
fn truncate(words: [u32; 5], last: u8) -> u32 {
    let [w0, w1, w2, w3, w4] = words.map(u64::from);
    let bit = |n: u8| Choice::from((last >> n) & 1);
    // Bytes 0-7, 8-15 and 16-19 (then zeros), big-endian.
    let (a, b, c) = (w0 << 32 | w1, w2 << 32 | w3, w4 << 32);

    let by_64 = bit(3);
    let (a, b) = (
        u64::conditional_select(&a, &b, by_64),
        u64::conditional_select(&b, &c, by_64),
    );
    let a = u64::conditional_select(&a, &(a << 32 | b >> 32), bit(2));
    let a = u64::conditional_select(&a, &(a << 16), bit(1));
    let a = u64::conditional_select(&a, &(a << 8), bit(0));
    let [b0, b1, b2, b3, ..] = a.to_be_bytes();
    u32::from_be_bytes([b0, b1, b2, b3]) & 0x7fff_ffff
}

/// Where a [`Secret`](crate::Secret) built from a key longer than its
/// buffer keeps each algorithm's digest of that key: SHA-1's 20 bytes, then
/// SHA-256's 32, then SHA-512's 64, 116 bytes in all.
pub(crate) const fn digest_range(algorithm: Algorithm) -> core::ops::Range<usize> {
    match algorithm {
        Algorithm::Sha1 => 0..20,
        Algorithm::Sha256 => 20..52,
        Algorithm::Sha512 => 52..116,
    }
}

/// The digests of a key too long to keep, under every algorithm this build
/// has, fed in pieces (a base32 key is decoded a few bytes at a time).
///
/// RFC 2104 §2: a key longer than the hash's block is replaced by its
/// digest, and every key longer than 128 bytes is longer than the block of
/// SHA-1, SHA-256 and SHA-512 alike. So HMAC keyed with a digest kept here
/// is HMAC keyed with the whole key, and the key itself need not be kept.
/// Only the enabled algorithms are hashed: a SHA-1-only build links no
/// SHA-2 code for this.
pub(crate) struct KeyDigests {
    #[cfg(feature = "sha1")]
    sha1: sha1::Sha1,
    #[cfg(feature = "sha256")]
    sha256: sha2::Sha256,
    #[cfg(feature = "sha512")]
    sha512: sha2::Sha512,
}

impl KeyDigests {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(feature = "sha1")]
            sha1: sha1::Digest::new(),
            #[cfg(feature = "sha256")]
            sha256: sha2::Digest::new(),
            #[cfg(feature = "sha512")]
            sha512: sha2::Digest::new(),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        #[cfg(feature = "sha1")]
        sha1::Digest::update(&mut self.sha1, bytes);
        #[cfg(feature = "sha256")]
        sha2::Digest::update(&mut self.sha256, bytes);
        #[cfg(feature = "sha512")]
        sha2::Digest::update(&mut self.sha512, bytes);
    }

    /// Writes each enabled algorithm's digest at its [`digest_range`] in
    /// `out`; the rest of `out` is left as it is.
    pub(crate) fn finish(self, out: &mut [u8]) {
        fn put(out: &mut [u8], algorithm: Algorithm, digest: &mut [u8]) {
            if let Some(slot) = out.get_mut(digest_range(algorithm)) {
                copy_into(slot, digest);
            }
            digest.zeroize();
        }
        #[cfg(feature = "sha1")]
        put(
            out,
            Algorithm::Sha1,
            sha1::Digest::finalize(self.sha1).as_mut_slice(),
        );
        #[cfg(feature = "sha256")]
        put(
            out,
            Algorithm::Sha256,
            sha2::Digest::finalize(self.sha256).as_mut_slice(),
        );
        #[cfg(feature = "sha512")]
        put(
            out,
            Algorithm::Sha512,
            sha2::Digest::finalize(self.sha512).as_mut_slice(),
        );
        #[cfg(not(any(feature = "sha1", feature = "sha256", feature = "sha512")))]
        let _ = out;
    }
}

/// Where batching can pay: a core that runs independent compressions side by
/// side, out of order. Measured on x86-64 only; an in-order core such as a
/// Cortex-M gains nothing from it, and the firmware's `.text` would grow by
/// about 360 bytes, so other targets compute one candidate at a time.
const OUT_OF_ORDER: bool = cfg!(target_arch = "x86_64");

/// Candidates per batch: a +-1 window (three) fits one batch, and a wider
/// one gains little more, since a core overlaps only a few compressions.
const BATCH: usize = 4;

/// Candidates per streamed batch: as many as the streams crate hands to
/// one kernel (its AVX-512 lanes); it splits a batch among its SHA-NI
/// streams or AVX2 lanes itself, by size.
#[cfg(feature = "streams")]
const STREAMED_BATCH: usize = passcode_streams::WIDE_LANES;
#[cfg(not(feature = "streams"))]
const STREAMED_BATCH: usize = 1;

/// A key prepared for one algorithm.
#[derive(Clone)]
pub(crate) enum Mac {
    #[cfg(feature = "sha1")]
    Sha1(Keyed<Sha1>),
    #[cfg(feature = "sha256")]
    Sha256(Keyed<Sha256>),
    #[cfg(feature = "sha512")]
    Sha512(Keyed<Sha512>),
}

impl Mac {
    /// Keys `algorithm` with `key`, of any non-zero length.
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self, SecretError> {
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        match algorithm {
            #[cfg(feature = "sha1")]
            Algorithm::Sha1 => Ok(Self::Sha1(Keyed::new(key))),
            #[cfg(feature = "sha256")]
            Algorithm::Sha256 => Ok(Self::Sha256(Keyed::new(key))),
            #[cfg(feature = "sha512")]
            Algorithm::Sha512 => Ok(Self::Sha512(Keyed::new(key))),
            #[allow(unreachable_patterns)]
            disabled => Err(SecretError::AlgorithmDisabled(disabled)),
        }
    }

    /// Calls `f(counter, truncated)` for every counter in order, where
    /// `truncated` is the 31-bit dynamic truncation of HMAC(key, counter).
    pub(crate) fn for_each(&self, counters: RangeInclusive<u64>, f: impl FnMut(u64, u32)) {
        match *self {
            #[cfg(feature = "sha1")]
            Self::Sha1(ref keyed) => keyed.for_each(counters, f),
            #[cfg(feature = "sha256")]
            Self::Sha256(ref keyed) => keyed.for_each(counters, f),
            #[cfg(feature = "sha512")]
            Self::Sha512(ref keyed) => keyed.for_each(counters, f),
        }
    }

    /// The 31-bit dynamic truncation of HMAC(key, counter).
    pub(crate) fn truncated(&self, counter: u64) -> u32 {
        let mut value = 0;
        self.for_each(counter..=counter, |_, v| value = v);
        value
    }
}

#[cfg(test)]
#[cfg(all(feature = "sha1", feature = "sha256", feature = "sha512"))]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use ::hmac::{KeyInit, Mac as _};
    use proptest::prelude::*;
    use std::{format, string::String, vec::Vec};

    /// The full HMAC of `counter`, from the same states the verifier uses.
    fn keyed_hmac<H: BlockHash>(keyed: &Keyed<H>, counter: u64, out: &mut [u8; 64]) -> usize {
        let (mut inner, mut outer) = padded_blocks::<H>();
        copy_into(inner.as_mut(), &counter.to_be_bytes());
        let mut state = keyed.inner;
        H::compress(&mut state, &inner);
        H::write_digest(&state, outer.as_mut());
        state = keyed.outer;
        H::compress(&mut state, &outer);
        H::write_digest(&state, out);
        H::OUTPUT_LEN
    }

    fn full_hmac(mac: &Mac, counter: u64, out: &mut [u8; 64]) -> usize {
        match mac {
            Mac::Sha1(keyed) => keyed_hmac(keyed, counter, out),
            Mac::Sha256(keyed) => keyed_hmac(keyed, counter, out),
            Mac::Sha512(keyed) => keyed_hmac(keyed, counter, out),
        }
    }

    use super::*;

    /// RFC 4226 Appendix D: HMAC-SHA-1("12345678901234567890", count).
    const RFC4226_HMAC: [&str; 10] = [
        "cc93cf18508d94934c64b65d8ba7667fb7cde4b0",
        "75a48a19d4cbe100644e8ac1397eea747a2d33ab",
        "0bacb7fa082fef30782211938bc1c5e70416ff44",
        "66c28227d03a2d5529262ff016a1e6ef76557ece",
        "a904c900a64b35909874b33e61c5938a8e15ed1c",
        "a37e783d7b7233c083d4f62926c7a25f238d0316",
        "bc9cd28561042c83f219324d3c607256c03272ae",
        "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa",
        "1b3c89f65e6c9e883012052823443f048b4332db",
        "1637409809a679dc698207310c8c7fc07290d9e5",
    ];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc4226_appendix_d_hmac_values() {
        let mac = Mac::new(Algorithm::Sha1, b"12345678901234567890").unwrap();
        for (counter, expected) in (0u64..).zip(RFC4226_HMAC) {
            let mut out = [0; 64];
            let len = full_hmac(&mac, counter, &mut out);
            assert_eq!(hex(&out[..len]), expected, "counter {counter}");
        }
    }

    fn reference(algorithm: Algorithm, key: &[u8], counter: u64) -> Vec<u8> {
        let message = counter.to_be_bytes();
        match algorithm {
            Algorithm::Sha1 => {
                let mut m = ::hmac::Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
                m.update(&message);
                m.finalize().into_bytes().to_vec()
            }
            Algorithm::Sha256 => {
                let mut m = ::hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
                m.update(&message);
                m.finalize().into_bytes().to_vec()
            }
            Algorithm::Sha512 => {
                let mut m = ::hmac::Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
                m.update(&message);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    const ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// Every key length from 1 to past the largest block (128), where the key
    /// switches from padded to hashed, against the `hmac` crate.
    #[test]
    fn matches_hmac_crate_for_every_key_length() {
        for algorithm in ALGORITHMS {
            for len in 1..=300usize {
                let key: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
                let mac = Mac::new(algorithm, &key).unwrap();
                for counter in [0, 1, len as u64, u64::MAX] {
                    let mut out = [0; 64];
                    let n = full_hmac(&mac, counter, &mut out);
                    assert_eq!(
                        out[..n],
                        reference(algorithm, &key, counter)[..],
                        "{algorithm} key length {len} counter {counter}"
                    );
                }
            }
        }
    }

    /// The RFC 4226 §5.3 reference truncation, indexing memory directly.
    fn naive_truncate(mac: &[u8]) -> u32 {
        let offset = usize::from(mac[mac.len() - 1] & 0xf);
        u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff
    }

    proptest! {
        #[test]
        fn matches_hmac_crate_for_random_keys(
            algorithm in prop::sample::select(ALGORITHMS.to_vec()),
            key in prop::collection::vec(any::<u8>(), 1..400),
            counter in any::<u64>(),
        ) {
            let mac = Mac::new(algorithm, &key).unwrap();
            let expected = reference(algorithm, &key, counter);
            let mut out = [0; 64];
            let n = full_hmac(&mac, counter, &mut out);
            prop_assert_eq!(&out[..n], &expected[..]);
            prop_assert_eq!(mac.truncated(counter), naive_truncate(&expected));
        }

        #[test]
        fn truncate_matches_direct_indexing(mac in prop::collection::vec(any::<u8>(), 20..=64)) {
            let words = core::array::from_fn(|i| u32::from_be_bytes(mac[4 * i..4 * i + 4].try_into().unwrap()));
            prop_assert_eq!(truncate(words, mac[mac.len() - 1]), naive_truncate(&mac));
        }
    }

    /// Every offset, with a digest whose bytes are their own positions.
    #[test]
    fn truncate_reads_every_offset() {
        for offset in 0..16u8 {
            let mut mac: Vec<u8> = (0..20).collect();
            mac[19] = 0xa0 | offset;
            let words = core::array::from_fn(|i| {
                u32::from_be_bytes(mac[4 * i..4 * i + 4].try_into().unwrap())
            });
            assert_eq!(
                truncate(words, mac[19]),
                naive_truncate(&mac),
                "offset {offset}"
            );
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Order {
        OneByOne,
        Batched,
        /// Streamed, this many at a time (what the CPU computes together
        /// when it has the `streams` kernels, and other sizes).
        Streamed(usize),
    }

    /// Every order, with streamed batches of the size the core hands over,
    /// one, three and eight.
    fn orders() -> [Order; 6] {
        [
            Order::OneByOne,
            Order::Batched,
            Order::Streamed(STREAMED_BATCH),
            Order::Streamed(1),
            Order::Streamed(3),
            Order::Streamed(8),
        ]
    }

    /// Each counter's full HMAC and the RFC's truncation, one at a time:
    /// the reference the batched orders are held to.
    fn one_by_one<H: BlockHash>(
        keyed: &Keyed<H>,
        counters: RangeInclusive<u64>,
    ) -> Vec<(u64, u32)> {
        counters
            .map(|counter| {
                let mut out = [0; 64];
                let len = keyed_hmac(keyed, counter, &mut out);
                (counter, naive_truncate(&out[..len]))
            })
            .collect()
    }

    fn visits<H: BlockHash>(
        keyed: &Keyed<H>,
        counters: RangeInclusive<u64>,
        order: Order,
    ) -> Vec<(u64, u32)> {
        let mut seen = Vec::new();
        let f = |counter, truncated| seen.push((counter, truncated));
        match order {
            Order::OneByOne => keyed.for_each_batched::<1>(counters, f),
            Order::Batched => keyed.for_each_batched::<BATCH>(counters, f),
            Order::Streamed(batch) => keyed.for_each_streamed::<STREAMED_BATCH>(counters, batch, f),
        }
        seen
    }

    /// Batches hand over every counter once, in order, with the values one
    /// candidate at a time gives: ranges shorter than, equal to and across
    /// several batches, empty, and ending at `u64::MAX` (where a range
    /// iterator must stop without wrapping).
    fn batched_matches_sequential<H: BlockHash>(key: &[u8]) {
        let keyed = Keyed::<H>::new(key);
        let starts = [0, 1_000, u64::MAX - 9];
        for start in starts {
            for len in 0..=3 * BATCH.max(STREAMED_BATCH) as u64 + 1 {
                let counters = start..=start.saturating_add(len).saturating_sub(1);
                let counters = if len == 0 {
                    RangeInclusive::new(1, 0)
                } else {
                    counters
                };
                let expected = one_by_one(&keyed, counters.clone());
                assert_eq!(expected.len(), counters.clone().count());
                for order in orders() {
                    assert_eq!(
                        visits(&keyed, counters.clone(), order),
                        expected,
                        "{order:?} {counters:?}"
                    );
                }
            }
        }
        let all = u64::MAX - 5..=u64::MAX;
        for order in orders() {
            assert_eq!(
                visits(&keyed, all.clone(), order),
                one_by_one(&keyed, all.clone())
            );
        }
    }

    #[test]
    fn batches_match_one_candidate_at_a_time() {
        batched_matches_sequential::<Sha1>(b"12345678901234567890");
        batched_matches_sequential::<Sha256>(b"12345678901234567890123456789012");
        batched_matches_sequential::<Sha512>(&[0x5a; 200]);
    }

    #[test]
    fn empty_key_is_refused() {
        for algorithm in ALGORITHMS {
            assert_eq!(Mac::new(algorithm, &[]).err(), Some(SecretError::Empty));
        }
    }
}
