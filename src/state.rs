//! The stable byte encoding of the state a caller persists.
//!
//! Every state value encodes to a fixed number of bytes:
//!
//! ```text
//! 'P' | kind | version | fields, big-endian | CRC-32 of all before it
//! ```
//!
//! The kind byte keeps one type's bytes from being read as another's, the
//! version byte lets a later release read what an earlier one wrote, and
//! the checksum catches bytes damaged in storage. Decoding also checks each
//! type's own invariants, so no damaged value is ever acted on.

use crate::StateError;

const MAGIC: u8 = b'P';
const VERSION: u8 = 1;
const HEADER: usize = 3;
const TRAILER: usize = 4;

/// Which state a byte string holds.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[cfg_attr(not(feature = "sha256"), allow(dead_code))]
pub(crate) enum Kind {
    SmsVerification = 1,
    TotpState = 2,
    HotpState = 3,
    RateLimitState = 4,
    BackupCodes = 5,
}

/// The encoded length of a state whose fields take `payload` bytes.
pub(crate) const fn encoded_len(payload: usize) -> usize {
    HEADER.saturating_add(payload).saturating_add(TRAILER)
}

/// CRC-32 (IEEE 802.3, the one in zip and PNG) of a `kind` state's header
/// followed by `fields`: the checksum every state ends with.
///
/// Reading checks the header before the checksum and writing puts the
/// constant header first, so the CRC register after the header is a
/// constant of the kind ([`HEADER_REGISTERS`]) and only the fields are
/// hashed: three bytes fewer in the chain of dependent lookups that a
/// round trip waits on.
// Inlined, so that a state's fixed length unrolls the loops.
#[inline(always)]
fn checksum(kind: Kind, fields: &[u8]) -> u32 {
    crc32_from(header_register(kind), fields, CRC32_SLICES == 8)
}

/// The CRC register after `kind`'s header.
#[inline(always)]
fn header_register(kind: Kind) -> u32 {
    HEADER_REGISTERS
        .get(usize::from(kind as u8))
        .copied()
        .unwrap_or(0)
}

/// The CRC register after the header `[MAGIC, kind, VERSION]` of each kind,
/// by kind number, computed at compile time from the all-ones start.
// An index out of range here would fail the build, not panic at run time.
#[allow(clippy::indexing_slicing)]
const HEADER_REGISTERS: [u32; 6] = {
    let mut registers = [0u32; 6];
    // The index and its byte side by side: no cast between them.
    let (mut kind, mut tag) = (0usize, 0u8);
    while kind < registers.len() {
        let header = [MAGIC, tag, VERSION];
        let mut crc = !0u32;
        let mut at = 0;
        while at < header.len() {
            crc = byte_step(crc, header[at]);
            at += 1;
        }
        registers[kind] = crc;
        kind += 1;
        tag += 1;
    }
    registers
};

/// CRC-32 of `bytes` continued from the register `crc` (all ones at the
/// start of a message): on 64-bit targets eight bytes at a time ("slicing
/// by 8": Kounavis and Berry, "A Systematic Approach to Building High
/// Performance Software-based CRC Generators", 2005), with the first
/// `len % 8` bytes as one shorter step of the same kind; elsewhere a byte
/// at a time.
///
/// Written here because the `no_std` core takes no dependency beyond the
/// hash, `subtle`, `zeroize` and `rand_core` crates; the tests pin it to the
/// standard check value, to the bitwise definition and to `crc32fast`.
/// Each step's lookups are independent of each other, where a byte at a
/// time waits on each lookup in turn, so a `TotpState` waits on three
/// steps. The eight tables take 8 KiB, so 32-bit targets (microcontrollers
/// among them) keep only the first, 1 KiB, and go a byte at a time.
/// Indexing a table by the data is fine here: state is not secret (it is
/// stored in the clear).
#[inline(always)]
fn crc32_from(mut crc: u32, bytes: &[u8], by_eight: bool) -> u32 {
    // Without the eight tables (32-bit targets), a byte at a time whatever
    // the caller asks.
    if !by_eight || CRC32_SLICES < 8 {
        for &byte in bytes {
            crc = byte_step(crc, byte);
        }
        return !crc;
    }
    let (head, body) = bytes.split_at(bytes.len() % 8);
    if !head.is_empty() {
        let mut lead = [0u8; 8];
        for (slot, &byte) in lead.iter_mut().zip(head) {
            *slot = byte;
        }
        crc = step(crc, u64::from_le_bytes(lead), head.len());
    }
    for chunk in body.chunks_exact(8) {
        crc = step(
            crc,
            u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])),
            8,
        );
    }
    !crc
}

/// One byte through the CRC register `crc`, with the first table only;
/// `const`, so that [`HEADER_REGISTERS`] is computed with it too.
// A u8 index is always inside the 256 entries, and the first table always
// exists: the indexing cannot panic.
#[inline(always)]
#[allow(clippy::indexing_slicing)]
const fn byte_step(crc: u32, byte: u8) -> u32 {
    let [low, ..] = crc.to_le_bytes();
    (crc >> 8) ^ CRC32_TABLES[0][(low ^ byte) as usize]
}

/// One slicing step of `len` bytes (1 to 8, first in the low byte of
/// `chunk`) through the CRC register `crc`: byte `j` goes through table
/// `len - 1 - j`, the first four after xoring in the register; what of the
/// register is left over (`len < 4`) shifts down. Needs the eight tables.
#[inline(always)]
fn step(crc: u32, chunk: u64, len: usize) -> u32 {
    let entry = |table: usize, index: u8| {
        CRC32_TABLES
            .get(table)
            .and_then(|t| t.get(usize::from(index)))
            .copied()
            .unwrap_or(0)
    };
    let mixed = (u64::from(crc) ^ chunk).to_le_bytes();
    let lookup = |j: usize| match (
        len.checked_sub(j).and_then(|n| n.checked_sub(1)),
        mixed.get(j),
    ) {
        (Some(table), Some(&index)) => entry(table, index),
        _ => 0,
    };
    let rest = match len {
        1 => crc >> 8,
        2 => crc >> 16,
        3 => crc >> 24,
        _ => 0,
    };
    // The entries of bytes 4 to 7 do not depend on the register, so they
    // are ready early (`rest`, which does, needs no lookup); the four that
    // do are paired, so the step waits on two xors after its lookups, not
    // four.
    let ahead = rest ^ lookup(4) ^ lookup(5) ^ lookup(6) ^ lookup(7);
    (lookup(0) ^ lookup(1)) ^ (lookup(2) ^ lookup(3)) ^ ahead
}

/// The reflected polynomial 0x04C11DB7.
const CRC32_POLYNOMIAL: u32 = 0xedb8_8320;

/// How many tables [`crc32_from`] keeps: eight on 64-bit targets, one elsewhere.
const CRC32_SLICES: usize = if cfg!(target_pointer_width = "64") {
    8
} else {
    1
};

/// `CRC32_TABLES[0][b]`: the CRC register after shifting the byte `b`
/// through eight bitwise steps; `CRC32_TABLES[k][b]`: after shifting `b`
/// and then `k` zero bytes. Computed at compile time.
// An index out of range here would fail the build, not panic at run time.
#[allow(clippy::indexing_slicing)]
const CRC32_TABLES: [[u32; 256]; CRC32_SLICES] = {
    let mut tables = [[0u32; 256]; CRC32_SLICES];
    // The index and its value side by side: no cast between them.
    let (mut index, mut byte) = (0usize, 0u32);
    while index < 256 {
        let mut crc = byte;
        let mut bit = 0;
        while bit < 8 {
            let mask = 0u32.wrapping_sub(crc & 1);
            crc = (crc >> 1) ^ (CRC32_POLYNOMIAL & mask);
            bit += 1;
        }
        tables[0][index] = crc;
        index += 1;
        byte += 1;
    }
    let mut table = 1;
    while table < CRC32_SLICES {
        let mut index = 0;
        while index < 256 {
            let previous = tables[table - 1][index];
            tables[table][index] = (previous >> 8) ^ tables[0][(previous & 0xff) as usize];
            index += 1;
        }
        table += 1;
    }
    tables
};

/// Writes a state's bytes: header, fields, checksum.
pub(crate) struct Writer<const N: usize> {
    bytes: [u8; N],
    at: usize,
    kind: Kind,
    /// The CRC register over the header and the fields put so far, up to
    /// the last full step (when [`Self::FEEDS`]).
    register: u32,
    /// The fields' bytes since the register's last step (first in the low
    /// byte), how many, and how many the next step takes.
    pending: u128,
    pending_len: usize,
    step_len: usize,
}

impl<const N: usize> Writer<N> {
    /// Whether the checksum is computed from the fields as they are put,
    /// in registers, rather than read back from the bytes at the end. Read
    /// back, eight-byte loads that span several of the stores just made
    /// wait for those stores to reach the cache; the small states, which a
    /// verification writes, avoid that. The backup codes put their 260
    /// bytes of fields in a loop, which would keep the feeding from
    /// unrolling into shifts, and 32-bit targets go a byte at a time either
    /// way.
    const FEEDS: bool = N <= 64 && CRC32_SLICES == 8;

    /// The bytes of the fields' first step: the CRC takes `len % 8` first.
    const LEAD: usize = {
        let lead = N.saturating_sub(HEADER + TRAILER) % 8;
        if lead == 0 { 8 } else { lead }
    };

    #[inline(always)]
    pub(crate) fn new(kind: Kind) -> Self {
        let mut writer = Self {
            bytes: [0; N],
            at: 0,
            kind,
            register: header_register(kind),
            pending: 0,
            pending_len: 0,
            step_len: Self::LEAD,
        };
        writer.store(&[MAGIC, kind as u8, VERSION]);
        writer
    }

    #[inline(always)]
    fn store(&mut self, bytes: &[u8]) {
        let end = self.at.saturating_add(bytes.len());
        if let Some(slot) = self.bytes.get_mut(self.at..end) {
            slot.copy_from_slice(bytes);
        }
        self.at = end;
    }

    #[inline(always)]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.store(bytes);
        if Self::FEEDS {
            self.feed(bytes);
        }
    }

    /// Feeds `bytes`, up to eight at a time, to the checksum: into
    /// `pending`, and through the register once a step's worth is there.
    /// The states put constant lengths at constant offsets, so inlined,
    /// this is shifts and the steps' lookups, with nothing read back from
    /// memory.
    #[inline(always)]
    fn feed(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 16];
            for (slot, &byte) in word.iter_mut().zip(chunk) {
                *slot = byte;
            }
            let shift = u32::try_from(self.pending_len.saturating_mul(8)).unwrap_or(128);
            self.pending |= u128::from_le_bytes(word).checked_shl(shift).unwrap_or(0);
            self.pending_len = self.pending_len.saturating_add(chunk.len());
            while self.pending_len >= self.step_len {
                let taken = u32::try_from(self.step_len.saturating_mul(8)).unwrap_or(128);
                let mask = !u128::MAX.checked_shl(taken).unwrap_or(0);
                let chunk = u64::try_from(self.pending & mask).unwrap_or(0);
                self.register = step(self.register, chunk, self.step_len);
                self.pending = self.pending.checked_shr(taken).unwrap_or(0);
                self.pending_len = self.pending_len.saturating_sub(self.step_len);
                self.step_len = 8;
            }
        }
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self, value: u8) {
        self.put(&[value]);
    }

    #[inline(always)]
    pub(crate) fn u64(&mut self, value: u64) {
        self.put(&value.to_be_bytes());
    }

    #[inline(always)]
    pub(crate) fn u128(&mut self, value: u128) {
        self.put(&value.to_be_bytes());
    }

    /// Appends the checksum. Every caller writes exactly `N - 4` bytes
    /// first; the encoding tests check each type's length.
    #[inline(always)]
    pub(crate) fn finish(mut self) -> [u8; N] {
        // The body's length is the constant `N - 4`, which unrolls the CRC.
        let body = self
            .bytes
            .get(..N.saturating_sub(TRAILER))
            .unwrap_or_default();
        let crc = if Self::FEEDS {
            !self.register
        } else {
            checksum(self.kind, body.get(HEADER..).unwrap_or_default())
        };
        self.store(&crc.to_be_bytes());
        self.bytes
    }
}

/// Reads a state's fields after checking its length, header and checksum.
pub(crate) struct Reader<'a> {
    fields: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks that `bytes` is a `kind` state of `len` bytes, in this
    /// version, with a matching checksum.
    // Inlined, so that each type's constant length unrolls the CRC.
    #[inline(always)]
    pub(crate) fn open(bytes: &'a [u8], kind: Kind, len: usize) -> Result<Self, StateError> {
        let [magic, found_kind, version, ..] = *bytes else {
            return Err(StateError::Length);
        };
        if magic != MAGIC || found_kind != kind as u8 {
            return Err(StateError::Foreign);
        }
        if version != VERSION {
            return Err(StateError::Version);
        }
        if bytes.len() != len {
            return Err(StateError::Length);
        }
        let (body, stored) = bytes.split_at(len.saturating_sub(TRAILER));
        let stored = u32::from_be_bytes(stored.try_into().map_err(|_| StateError::Length)?);
        // The header was checked above, so the checksum starts after it.
        let fields = body.get(HEADER..).unwrap_or_default();
        if checksum(kind, fields) != stored {
            return Err(StateError::Checksum);
        }
        Ok(Self { fields })
    }

    fn take<const M: usize>(&mut self) -> [u8; M] {
        let mut out = [0; M];
        if let Some((head, rest)) = self.fields.split_first_chunk::<M>() {
            out = *head;
            self.fields = rest;
        }
        out
    }

    pub(crate) fn u8(&mut self) -> u8 {
        let [byte] = self.take::<1>();
        byte
    }

    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take())
    }

    pub(crate) fn u128(&mut self) -> u128 {
        u128::from_be_bytes(self.take())
    }

    pub(crate) fn array<const M: usize>(&mut self) -> [u8; M] {
        self.take()
    }
}

/// `Serialize` and `Deserialize` through the byte encoding, so that every
/// format gets the same validation: a lower-case hex string in
/// human-readable formats such as JSON, raw bytes in binary ones.
macro_rules! serde_via_bytes {
    ($type:ty) => {
        #[cfg(feature = "serde")]
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let bytes = self.to_bytes();
                if serializer.is_human_readable() {
                    let mut hex = [0u8; 2 * <$type>::ENCODED_LEN];
                    let text = crate::state::hex_encode(&bytes, &mut hex);
                    serializer.serialize_str(text)
                } else {
                    serializer.serialize_bytes(&bytes)
                }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;

                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $type;

                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        write!(f, "{} as hex text or bytes", stringify!($type))
                    }

                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$type, E> {
                        let mut bytes = [0u8; <$type>::ENCODED_LEN];
                        crate::state::hex_decode(text, &mut bytes).map_err(E::custom)?;
                        <$type>::from_bytes(&bytes).map_err(E::custom)
                    }

                    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<$type, E> {
                        <$type>::from_bytes(bytes).map_err(E::custom)
                    }
                }

                if deserializer.is_human_readable() {
                    deserializer.deserialize_str(Visitor)
                } else {
                    deserializer.deserialize_bytes(Visitor)
                }
            }
        }
    };
}
pub(crate) use serde_via_bytes;

/// Lower-case hex of `bytes` into `out` (twice as long).
#[cfg(feature = "serde")]
pub(crate) fn hex_encode<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        for (slot, nibble) in pair.iter_mut().zip([byte >> 4, byte & 0x0f]) {
            *slot = DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
        }
    }
    core::str::from_utf8(out).unwrap_or_default()
}

/// Fills `out` from hex text of exactly twice its length.
///
/// # Errors
/// [`StateError::Length`] for text of another length,
/// [`StateError::Invalid`] for a character that is not a hex digit.
#[cfg(feature = "serde")]
pub(crate) fn hex_decode(text: &str, out: &mut [u8]) -> Result<(), StateError> {
    if text.len() != out.len().saturating_mul(2) {
        return Err(StateError::Length);
    }
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let nibbles = pair.first().zip(pair.get(1));
        let byte = nibbles.and_then(|(&high, &low)| Some(hex_digit(high)? << 4 | hex_digit(low)?));
        *slot = byte.ok_or(StateError::Invalid)?;
    }
    Ok(())
}

/// The value of one ASCII hex digit, either case.
pub(crate) fn hex_digit(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum of a whole message, as the tests state it.
    fn crc32(bytes: &[u8], by_eight: bool) -> u32 {
        crc32_from(!0, bytes, by_eight)
    }

    #[test]
    fn crc32_check_value() {
        for by_eight in [true, false] {
            assert_eq!(crc32(b"123456789", by_eight), 0xcbf4_3926);
            assert_eq!(crc32(b"", by_eight), 0);
        }
    }

    /// The definition, one bit at a time, that the table shortcuts.
    fn crc32_bitwise(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                let mask = 0u32.wrapping_sub(crc & 1);
                crc = (crc >> 1) ^ (CRC32_POLYNOMIAL & mask);
            }
        }
        !crc
    }

    /// Every single byte value (so every table entry) and every length up to
    /// the longest state (so every length of the first, shorter step),
    /// against the bitwise definition, eight bytes at a time and one.
    #[test]
    #[allow(clippy::cast_possible_truncation)]
    fn crc32_table_matches_bitwise() {
        for by_eight in [true, false] {
            for byte in 0..=255u8 {
                let expected = crc32_bitwise(&[byte]);
                assert_eq!(crc32(&[byte], by_eight), expected, "byte {byte:#04x}");
                let expected = crc32_bitwise(&[byte, 0x5a, 0xa5, byte]);
                assert_eq!(crc32(&[byte, 0x5a, 0xa5, byte], by_eight), expected);
            }
            let bytes: [u8; 300] = core::array::from_fn(|i| (i % 256) as u8 ^ 0x5a);
            for len in 0..=bytes.len() {
                assert_eq!(
                    crc32(&bytes[..len], by_eight),
                    crc32_bitwise(&bytes[..len]),
                    "length {len}"
                );
            }
        }
    }

    const KINDS: [Kind; 5] = [
        Kind::SmsVerification,
        Kind::TotpState,
        Kind::HotpState,
        Kind::RateLimitState,
        Kind::BackupCodes,
    ];

    proptest::proptest! {
        /// Random bytes at every length of the first step, against an
        /// independent implementation.
        #[test]
        fn crc32_matches_crc32fast(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            proptest::prop_assert_eq!(crc32(&bytes, true), crc32fast::hash(&bytes));
            // A byte at a time, as 32-bit targets compute it.
            proptest::prop_assert_eq!(crc32(&bytes, false), crc32fast::hash(&bytes));
        }

        /// A state's checksum, started after its constant header, is the
        /// CRC-32 of header and fields together.
        #[test]
        fn checksum_covers_the_header(fields in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            for kind in KINDS {
                let mut whole = std::vec![MAGIC, kind as u8, VERSION];
                whole.extend_from_slice(&fields);
                let expected = crc32fast::hash(&whole);
                proptest::prop_assert_eq!(checksum(kind, &fields), expected);
                let register = HEADER_REGISTERS[usize::from(kind as u8)];
                proptest::prop_assert_eq!(crc32_from(register, &fields, false), expected);
            }
        }
    }

    /// A writer's checksum for `fields` put in pieces of the given lengths.
    fn sealed<const N: usize>(fields: &[u8], pieces: &[usize]) -> [u8; N] {
        let mut writer = Writer::<N>::new(Kind::TotpState);
        let mut rest = fields;
        for &len in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, after) = rest.split_at(len.clamp(1, 24).min(rest.len()));
            writer.put(piece);
            rest = after;
        }
        writer.finish()
    }

    proptest::proptest! {
        /// Fed from the pieces as they are put (up to 64 bytes), or read
        /// back from the bytes (longer states, as the backup codes), at
        /// every length of the first step, the writer seals what
        /// `crc32fast` computes.
        #[test]
        fn writer_checksum_matches_crc32fast(
            fields in proptest::collection::vec(proptest::prelude::any::<u8>(), 64),
            pieces in proptest::collection::vec(1..=24usize, 1..8),
        ) {
            macro_rules! check {
                ($($len:literal)*) => {$(
                    let bytes = sealed::<{ encoded_len($len) }>(&fields[..$len], &pieces);
                    let (body, stored) = bytes.split_last_chunk::<TRAILER>().unwrap();
                    proptest::prop_assert_eq!(&body[..HEADER], &[MAGIC, Kind::TotpState as u8, VERSION]);
                    proptest::prop_assert_eq!(&body[HEADER..], &fields[..$len]);
                    proptest::prop_assert_eq!(stored, &crc32fast::hash(body).to_be_bytes());
                )*};
            }
            check!(1 2 3 4 5 6 7 8 9 15 16 17 20 23 35 57 58 64);
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let mut writer = Writer::<{ encoded_len(11) }>::new(Kind::HotpState);
        writer.u8(7);
        writer.put(&[1, 2]);
        writer.u64(u64::MAX);
        let bytes = writer.finish();

        let mut reader = Reader::open(&bytes, Kind::HotpState, bytes.len()).unwrap();
        assert_eq!(
            (reader.u8(), reader.array(), reader.u64()),
            (7, [1, 2], u64::MAX)
        );

        assert_eq!(
            Reader::open(&bytes, Kind::TotpState, bytes.len()).err(),
            Some(StateError::Foreign)
        );
        assert_eq!(
            Reader::open(&bytes[..10], Kind::HotpState, bytes.len()).err(),
            Some(StateError::Length)
        );
        assert_eq!(
            Reader::open(&[], Kind::HotpState, bytes.len()).err(),
            Some(StateError::Length)
        );
        for i in 0..bytes.len() {
            let mut damaged = bytes;
            damaged[i] ^= 0x10;
            assert!(
                Reader::open(&damaged, Kind::HotpState, bytes.len()).is_err(),
                "byte {i}"
            );
        }
        let mut newer = bytes;
        newer[2] = 2;
        assert_eq!(
            Reader::open(&newer, Kind::HotpState, bytes.len()).err(),
            Some(StateError::Version)
        );
    }
}
