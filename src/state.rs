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

/// CRC-32 (IEEE 802.3, the one in zip and PNG): on 64-bit targets eight
/// bytes at a time ("slicing by 8": Kounavis and Berry, "A Systematic
/// Approach to Building High Performance Software-based CRC Generators",
/// 2005), the rest a byte at a time.
///
/// Written here because the `no_std` core takes no dependency beyond the
/// hash, `subtle`, `zeroize` and `rand_core` crates; the tests pin it to the
/// standard check value, to the bitwise definition and to `crc32fast`.
/// Eight independent lookups per eight bytes, where a byte at a time waits
/// on each lookup in turn, make a state's round trip cost a small part of
/// the verification it accompanies. The eight tables take 8 KiB, so 32-bit
/// targets (microcontrollers among them) keep only the first, 1 KiB, and go
/// a byte at a time. Indexing a table by the data is fine here: state is
/// not secret (it is stored in the clear).
// Inlined, so that a state's fixed length unrolls the loops.
#[inline(always)]
fn crc32(bytes: &[u8]) -> u32 {
    crc32_sliced(bytes, CRC32_SLICES == 8)
}

/// [`crc32`], eight bytes at a time or not (the tests run both on a 64-bit
/// host).
#[inline(always)]
fn crc32_sliced(bytes: &[u8], by_eight: bool) -> u32 {
    // A u8 index is always inside the 256 entries: `get` never misses.
    let entry = |table: usize, index: u8| {
        CRC32_TABLES
            .get(table)
            .and_then(|t| t.get(usize::from(index)))
            .copied()
            .unwrap_or(0)
    };
    let mut crc = !0u32;
    let mut chunks = bytes.chunks_exact(8);
    let rest = if by_eight {
        for chunk in &mut chunks {
            let [b0, b1, b2, b3, b4, b5, b6, b7] = chunk.try_into().unwrap_or([0; 8]);
            let [c0, c1, c2, c3] = (crc ^ u32::from_le_bytes([b0, b1, b2, b3])).to_le_bytes();
            // The last four bytes' entries do not depend on the register,
            // so they are ready before the step that needs them.
            let ahead = entry(3, b4) ^ entry(2, b5) ^ entry(1, b6) ^ entry(0, b7);
            crc = ahead ^ entry(7, c0) ^ entry(6, c1) ^ entry(5, c2) ^ entry(4, c3);
        }
        chunks.remainder()
    } else {
        bytes
    };
    for &byte in rest {
        let [low, ..] = crc.to_le_bytes();
        crc = (crc >> 8) ^ entry(0, low ^ byte);
    }
    !crc
}

/// The reflected polynomial 0x04C11DB7.
const CRC32_POLYNOMIAL: u32 = 0xedb8_8320;

/// How many tables [`crc32`] keeps: eight on 64-bit targets, one elsewhere.
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
}

impl<const N: usize> Writer<N> {
    pub(crate) fn new(kind: Kind) -> Self {
        let mut writer = Self {
            bytes: [0; N],
            at: 0,
        };
        writer.put(&[MAGIC, kind as u8, VERSION]);
        writer
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.at.saturating_add(bytes.len());
        if let Some(slot) = self.bytes.get_mut(self.at..end) {
            slot.copy_from_slice(bytes);
        }
        self.at = end;
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.put(&[value]);
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.put(&value.to_be_bytes());
    }

    pub(crate) fn u128(&mut self, value: u128) {
        self.put(&value.to_be_bytes());
    }

    /// Appends the checksum. Every caller writes exactly `N - 4` bytes
    /// first; the encoding tests check each type's length.
    pub(crate) fn finish(mut self) -> [u8; N] {
        // The body's length is the constant `N - 4`, which unrolls the CRC.
        let body = self
            .bytes
            .get(..N.saturating_sub(TRAILER))
            .unwrap_or_default();
        let crc = crc32(body);
        self.put(&crc.to_be_bytes());
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
    #[inline]
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
        if crc32(body) != stored {
            return Err(StateError::Checksum);
        }
        Ok(Self {
            fields: body.get(HEADER..).unwrap_or_default(),
        })
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

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
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
    /// the longest state, against the bitwise definition.
    #[test]
    #[allow(clippy::cast_possible_truncation)]
    fn crc32_table_matches_bitwise() {
        for byte in 0..=255u8 {
            assert_eq!(crc32(&[byte]), crc32_bitwise(&[byte]), "byte {byte:#04x}");
        }
        let bytes: [u8; 300] = core::array::from_fn(|i| (i % 256) as u8 ^ 0x5a);
        for len in 0..=bytes.len() {
            assert_eq!(
                crc32(&bytes[..len]),
                crc32_bitwise(&bytes[..len]),
                "length {len}"
            );
        }
    }

    proptest::proptest! {
        /// Random bytes at every alignment of the eight-byte steps, against
        /// an independent implementation.
        #[test]
        fn crc32_matches_crc32fast(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            proptest::prop_assert_eq!(crc32(&bytes), crc32fast::hash(&bytes));
            // A byte at a time, as 32-bit targets compute it.
            proptest::prop_assert_eq!(crc32_sliced(&bytes, false), crc32fast::hash(&bytes));
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
