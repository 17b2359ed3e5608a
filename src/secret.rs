use core::fmt;

use base32ct::{Base32UpperUnpadded, Encoding as _};
use rand_core::CryptoRng;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hmac::{KeyDigests, digest_range};
use crate::{Algorithm, SecretError};

/// The shortest secret accepted.
///
/// RFC 4226 §4 R6 requires at least 128 bits. Many deployed services issued
/// 80-bit keys (16 base32 characters) before that was widely followed, so a
/// caller migrating such secrets can lower the minimum to 80 bits, and no
/// further.
///
/// ```
/// use passcode::{MinLength, Secret, SecretError};
///
/// let legacy = "JBSWY3DPEHPK3PXP"; // 80 bits
/// assert_eq!(Secret::from_base32(legacy).err(), Some(SecretError::TooShort { min_bits: 128 }));
/// assert!(Secret::from_base32_with_min(legacy, MinLength::Bits80).is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MinLength {
    /// 128 bits (16 bytes): RFC 4226's requirement, and the default.
    #[default]
    Bits128,
    /// 80 bits (10 bytes), for legacy secrets only.
    Bits80,
}

impl MinLength {
    const fn bytes(self) -> usize {
        match self {
            Self::Bits128 => 16,
            Self::Bits80 => 10,
        }
    }

    const fn bits(self) -> u16 {
        match self {
            Self::Bits128 => 128,
            Self::Bits80 => 80,
        }
    }
}

/// Longest base32 text of a key that fits [`Secret::MAX_LEN`]: 128 bytes
/// take 205 characters; 208 is the next multiple of 8. The serializer
/// writes into a buffer of this size.
#[cfg(feature = "serde")]
const MAX_BASE32_LEN: usize = 208;

/// A shared secret key, held without a heap and wiped on drop.
///
/// `Debug` never prints the key, equality is constant-time, and the bytes are
/// zeroized when the value is dropped. Build one from raw bytes, from base32
/// (as in `otpauth://` URIs), or from a cryptographic random number
/// generator.
///
/// ```
/// use passcode::Secret;
///
/// let secret = Secret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq")?;
/// assert_eq!(secret.as_bytes(), b"12345678901234567890");
/// assert_eq!(secret.to_base32().to_string(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
/// assert_eq!(format!("{secret:?}"), "Secret { .. }");
/// # Ok::<(), passcode::SecretError>(())
/// ```
///
/// A key longer than [`MAX_LEN`](Self::MAX_LEN) bytes is accepted too, as
/// HMAC accepts it, without a heap: RFC 2104 §2 replaces such a key by its
/// hash, so the secret keeps the key's SHA-1, SHA-256 and SHA-512 digests
/// (those this build has) instead of the key. Its codes are exactly those of
/// the whole key, but the key itself is gone: see
/// [`is_hashed`](Self::is_hashed).
// Invariant: 10 <= len. When len <= MAX_LEN, bytes[..len] is the key and
// bytes[len..] is zero; when len > MAX_LEN (hashed), bytes holds the key's
// digests at hmac::digest_range of each enabled algorithm and zero
// elsewhere.
#[derive(Clone)]
pub struct Secret {
    bytes: [u8; Secret::MAX_LEN],
    len: usize,
}

impl Secret {
    /// The longest key held as it is: 128 bytes, one SHA-512 block. A longer
    /// key is held as its digests (see [`is_hashed`](Self::is_hashed)).
    pub const MAX_LEN: usize = 128;

    /// A secret of the given bytes, at least 128 bits long, of any length
    /// above that (longer than [`MAX_LEN`](Self::MAX_LEN), it is kept
    /// hashed: see [`is_hashed`](Self::is_hashed)).
    ///
    /// ```
    /// use passcode::{Secret, SecretError};
    ///
    /// assert!(Secret::from_bytes(&[7; 20]).is_ok());
    /// assert_eq!(Secret::from_bytes(&[7; 10]).err(), Some(SecretError::TooShort { min_bits: 128 }));
    /// assert!(Secret::from_bytes(&[7; 129])?.is_hashed());
    /// # Ok::<(), SecretError>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::Empty`], and [`SecretError::TooShort`] below 16 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        Self::from_bytes_with_min(bytes, MinLength::Bits128)
    }

    /// [`from_bytes`](Self::from_bytes) with an explicit minimum.
    ///
    /// ```
    /// use passcode::{MinLength, Secret};
    ///
    /// // An 80-bit legacy secret.
    /// assert!(Secret::from_bytes_with_min(&[7; 10], MinLength::Bits80).is_ok());
    /// ```
    ///
    /// # Errors
    /// As [`from_bytes`](Self::from_bytes), against `min`.
    pub fn from_bytes_with_min(bytes: &[u8], min: MinLength) -> Result<Self, SecretError> {
        let mut key = KeyBuilder::new();
        key.push(bytes);
        key.finish(min)
    }

    /// Decodes base32 (RFC 4648): case-insensitive, with spaces anywhere and
    /// `=` padding at the end ignored, as authenticator apps and key URIs
    /// write it. The secret must be at least 128 bits long.
    ///
    /// ```
    /// use passcode::{Secret, SecretError};
    ///
    /// let secret = Secret::from_base32("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp")?;
    /// assert_eq!(secret.as_bytes().len(), 20);
    /// assert_eq!(Secret::from_base32("JBSWY3DP1").err(), Some(SecretError::InvalidBase32));
    /// # Ok::<(), SecretError>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::InvalidBase32`] for text that is not base32,
    /// [`SecretError::Base32Length`] for base32 of a length no key encodes
    /// to, and the length errors of [`from_bytes`](Self::from_bytes).
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        Self::from_base32_with_min(text, MinLength::Bits128)
    }

    /// [`from_base32`](Self::from_base32) with an explicit minimum.
    ///
    /// ```
    /// use passcode::{MinLength, Secret};
    ///
    /// // A typical 80-bit legacy secret: 16 base32 characters.
    /// let secret = Secret::from_base32_with_min("JBSWY3DPEHPK3PXP", MinLength::Bits80)?;
    /// assert_eq!(secret.as_bytes().len(), 10);
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    ///
    /// # Errors
    /// As [`from_base32`](Self::from_base32), against `min`.
    pub fn from_base32_with_min(text: &str, min: MinLength) -> Result<Self, SecretError> {
        Self::from_base32_bytes(text.bytes(), min)
    }

    /// [`from_base32_with_min`](Self::from_base32_with_min) over bytes as
    /// another decoder yields them, so that the percent-encoded secret of a
    /// key URI reaches the wiped buffer below without an unwiped copy.
    pub(crate) fn from_base32_bytes(
        text: impl IntoIterator<Item = u8>,
        min: MinLength,
    ) -> Result<Self, SecretError> {
        // Decoded eight characters (five bytes) at a time, so that a key of
        // any length passes through a small wiped buffer.
        let mut group = Zeroizing::new([0u8; 8]);
        let mut decoded = Zeroizing::new([0u8; 5]);
        let mut filled = 0usize;
        let mut chars = 0usize;
        let mut padding = false;
        // Whether some character is outside the alphabet, gathered without
        // a branch on any one of them.
        let mut foreign = 0u8;
        let mut key = KeyBuilder::new();
        let mut decode = |group: &[u8], key: &mut KeyBuilder| -> u8 {
            match Base32UpperUnpadded::decode(group, decoded.as_mut_slice()) {
                Ok(bytes) => {
                    key.push(bytes);
                    0
                }
                Err(_) => 1,
            }
        };
        for c in text {
            match c {
                b' ' => continue,
                b'=' => padding = true,
                _ if padding => return Err(SecretError::InvalidBase32),
                _ => {
                    // Upper-case without a branch on the (secret) character:
                    // the comparison compiles to a flag, not a jump.
                    let is_lower = u8::from(c.wrapping_sub(b'a') < 26);
                    let upper = c ^ (is_lower << 5);
                    let letter = u8::from(upper.wrapping_sub(b'A') < 26);
                    let digit = u8::from(upper.wrapping_sub(b'2') < 6);
                    foreign |= 1 ^ (letter | digit);
                    if let Some(slot) = group.get_mut(filled) {
                        *slot = upper;
                    }
                    filled = filled.saturating_add(1);
                    chars = chars.saturating_add(1);
                    if filled == group.len() {
                        foreign |= decode(group.as_slice(), &mut key);
                        filled = 0;
                    }
                }
            }
        }
        // The characters first, then the count: a wrong letter is the more
        // useful report when both are wrong. Only the final bit is released.
        if foreign != 0 {
            return Err(SecretError::InvalidBase32);
        }
        // 8 characters encode 5 bytes; a tail of 1, 3 or 6 encodes no whole
        // byte (RFC 4648 §6). The count is public.
        if matches!(filled, 1 | 3 | 6) {
            return Err(SecretError::Base32Length {
                chars: u32::try_from(chars).unwrap_or(u32::MAX),
            });
        }
        if decode(group.get(..filled).unwrap_or_default(), &mut key) != 0 {
            return Err(SecretError::InvalidBase32);
        }
        key.finish(min)
    }

    /// A new random secret of [`Algorithm::secret_len`] bytes: 20 for SHA-1,
    /// 32 for SHA-256, 64 for SHA-512.
    ///
    /// ```
    /// use passcode::{Algorithm, Secret};
    ///
    /// let secret = Secret::generate(&mut rand::rng(), Algorithm::Sha256);
    /// assert_eq!(secret.as_bytes().len(), 32);
    /// ```
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, algorithm: Algorithm) -> Self {
        let mut secret = Self {
            bytes: [0; Self::MAX_LEN],
            len: 0,
        };
        let len = algorithm.secret_len();
        if let Some(slot) = secret.bytes.get_mut(..len) {
            rng.fill_bytes(slot);
            secret.len = len;
        }
        secret
    }

    /// A new random secret of `len` bytes, from 16 to
    /// [`MAX_LEN`](Self::MAX_LEN).
    ///
    /// ```
    /// use passcode::Secret;
    ///
    /// let secret = Secret::generate_len(&mut rand::rng(), 40)?;
    /// assert_eq!(secret.as_bytes().len(), 40);
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::Empty`] for 0 bytes, [`SecretError::TooShort`] for 1 to
    /// 15, [`SecretError::TooLong`] above [`MAX_LEN`](Self::MAX_LEN).
    pub fn generate_len<R: CryptoRng + ?Sized>(
        rng: &mut R,
        len: usize,
    ) -> Result<Self, SecretError> {
        let mut secret = Self {
            bytes: [0; Self::MAX_LEN],
            len: 0,
        };
        let slot = secret.bytes.get_mut(..len).ok_or(SecretError::TooLong)?;
        rng.fill_bytes(slot);
        secret.len = len;
        secret.check_min(MinLength::Bits128)?;
        Ok(secret)
    }

    /// The key bytes, for storage under the caller's own protection.
    ///
    /// Empty for a [hashed](Self::is_hashed) secret, which no longer holds
    /// its key: every way back to a secret (`from_bytes`, `Totp::from_key`)
    /// refuses an empty key, so it cannot pass for another key unnoticed.
    /// [`try_as_bytes`](Self::try_as_bytes) says so with an error instead.
    ///
    /// ```
    /// let secret = passcode::Secret::from_bytes(&[9; 16])?;
    /// assert_eq!(secret.as_bytes(), &[9; 16]);
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// The key bytes, or [`SecretError::KeyNotKept`] for a
    /// [hashed](Self::is_hashed) secret.
    ///
    /// ```
    /// use passcode::{Secret, SecretError};
    ///
    /// assert_eq!(Secret::from_bytes(&[9; 16])?.try_as_bytes()?, &[9; 16]);
    /// let long = Secret::from_bytes(&[9; 200])?;
    /// assert_eq!(long.try_as_bytes(), Err(SecretError::KeyNotKept));
    /// # Ok::<(), SecretError>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::KeyNotKept`] when the secret is hashed.
    pub fn try_as_bytes(&self) -> Result<&[u8], SecretError> {
        if self.is_hashed() {
            Err(SecretError::KeyNotKept)
        } else {
            Ok(self.as_bytes())
        }
    }

    /// Whether the secret was built from a key longer than
    /// [`MAX_LEN`](Self::MAX_LEN) bytes and holds only that key's digests.
    ///
    /// Such a secret generates and verifies exactly as the whole key would
    /// (HMAC hashes a key longer than its block, RFC 2104 §2), and compares
    /// equal to a secret built from the same key. It cannot give the key
    /// back: [`as_bytes`](Self::as_bytes) and
    /// [`to_base32`](Self::to_base32) write nothing,
    /// [`try_as_bytes`](Self::try_as_bytes) and
    /// [`try_to_base32`](Self::try_to_base32) return
    /// [`SecretError::KeyNotKept`], a [`KeyUri`](crate::KeyUri) refuses it,
    /// and serializing it fails. Keep the key where it came from.
    ///
    /// ```
    /// use passcode::{Algorithm, Secret, Totp, TotpConfig};
    ///
    /// let key = [0x5a; 200];
    /// let secret = Secret::from_bytes(&key)?;
    /// assert!(secret.is_hashed());
    /// assert_eq!(secret.key_len(), 200);
    /// for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
    ///     let config = TotpConfig::new().with_algorithm(algorithm);
    ///     assert_eq!(
    ///         Totp::new(&secret, config)?.generate(59)?,
    ///         Totp::from_key(&key, config)?.generate(59)?,
    ///     );
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn is_hashed(&self) -> bool {
        self.len > Self::MAX_LEN
    }

    /// The length of the key in bytes, also for a
    /// [hashed](Self::is_hashed) secret. Not treated as secret.
    ///
    /// ```
    /// assert_eq!(passcode::Secret::from_bytes(&[1; 20])?.key_len(), 20);
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    #[must_use]
    pub fn key_len(&self) -> usize {
        self.len
    }

    /// The HMAC key for `algorithm`: the key itself, or for a hashed secret
    /// the key's digest under `algorithm`, which keys HMAC the same way
    /// (RFC 2104 §2).
    pub(crate) fn hmac_key(&self, algorithm: Algorithm) -> Result<&[u8], SecretError> {
        if !self.is_hashed() {
            return Ok(self.as_bytes());
        }
        if !algorithm.is_enabled() {
            return Err(SecretError::AlgorithmDisabled(algorithm));
        }
        self.bytes
            .get(digest_range(algorithm))
            .ok_or(SecretError::AlgorithmDisabled(algorithm))
    }

    /// The key as upper-case unpadded base32, written through
    /// [`fmt::Display`] without allocating. Nothing for a
    /// [hashed](Self::is_hashed) secret; see
    /// [`try_to_base32`](Self::try_to_base32).
    ///
    /// ```
    /// let secret = passcode::Secret::from_bytes(b"Hello!\xde\xad\xbe\xef\x00\x01\x02\x03\x04\x05")?;
    /// assert_eq!(secret.to_base32().to_string(), "JBSWY3DPEHPK3PXPAAAQEAYEAU");
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    #[must_use]
    pub fn to_base32(&self) -> Base32<'_> {
        Base32(self)
    }

    /// [`to_base32`](Self::to_base32), or [`SecretError::KeyNotKept`] for a
    /// [hashed](Self::is_hashed) secret.
    ///
    /// ```
    /// use passcode::{Secret, SecretError};
    ///
    /// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(secret.try_to_base32()?.to_string(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /// let long = Secret::from_bytes(&[1; 129])?;
    /// assert_eq!(long.try_to_base32().err(), Some(SecretError::KeyNotKept));
    /// # Ok::<(), SecretError>(())
    /// ```
    ///
    /// # Errors
    /// [`SecretError::KeyNotKept`] when the secret is hashed.
    pub fn try_to_base32(&self) -> Result<Base32<'_>, SecretError> {
        self.try_as_bytes().map(|_| Base32(self))
    }

    fn check_min(&self, min: MinLength) -> Result<(), SecretError> {
        match self.len {
            0 => Err(SecretError::Empty),
            len if len < min.bytes() => Err(SecretError::TooShort {
                min_bits: min.bits(),
            }),
            _ => Ok(()),
        }
    }
}

/// A [`Secret`] being built from key bytes that arrive in pieces: kept as
/// they are up to [`Secret::MAX_LEN`], hashed (every piece, the first ones
/// included) from the first byte past it.
struct KeyBuilder {
    secret: Secret,
    digests: Option<KeyDigests>,
}

impl KeyBuilder {
    fn new() -> Self {
        Self {
            secret: Secret {
                bytes: [0; Secret::MAX_LEN],
                len: 0,
            },
            digests: None,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let start = self.secret.len;
        let end = start.saturating_add(bytes.len());
        if self.digests.is_none() {
            if let Some(slot) = self.secret.bytes.get_mut(start..end) {
                slot.copy_from_slice(bytes);
                self.secret.len = end;
                return;
            }
            let mut digests = KeyDigests::new();
            digests.update(self.secret.as_bytes());
            self.secret.bytes.zeroize();
            self.digests = Some(digests);
        }
        if let Some(digests) = self.digests.as_mut() {
            digests.update(bytes);
        }
        self.secret.len = end;
    }

    fn finish(mut self, min: MinLength) -> Result<Secret, SecretError> {
        if let Some(digests) = self.digests.take() {
            digests.finish(&mut self.secret.bytes);
        }
        self.secret.check_min(min)?;
        Ok(self.secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret").finish_non_exhaustive()
    }
}

/// Constant-time in the key bytes; a secret's length is not treated as
/// secret. A hashed secret equals one built from the same key (the same
/// length and digests), and never one built from a short key.
impl ConstantTimeEq for Secret {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.len.ct_eq(&other.len) & self.bytes.ct_eq(&other.bytes)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Secret {}

impl Zeroize for Secret {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.len.zeroize();
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

/// A [`Secret`] shown as upper-case unpadded base32, from
/// [`Secret::to_base32`]. Its `Debug` does not print the key.
///
/// It writes through any [`fmt::Write`], such as a fixed buffer on a device.
///
/// ```
/// let secret = passcode::Secret::from_bytes(&[0xff; 20])?;
/// assert_eq!(format!("secret={}", secret.to_base32()), "secret=77777777777777777777777777777777");
/// # Ok::<(), passcode::SecretError>(())
/// ```
pub struct Base32<'a>(&'a Secret);

impl fmt::Display for Base32<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Five bytes encode to exactly eight characters, so chunks encode
        // independently into a small buffer that is wiped after each use.
        let mut buffer = Zeroizing::new([0u8; 8]);
        for chunk in self.0.as_bytes().chunks(5) {
            let text = Base32UpperUnpadded::encode(chunk, buffer.as_mut_slice())
                .map_err(|_| fmt::Error)?;
            f.write_str(text)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Base32<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Base32").finish_non_exhaustive()
    }
}

/// Serializes as upper-case unpadded base32. This writes the key itself:
/// keep the output where the key may be kept. A
/// [hashed](Secret::is_hashed) secret has no key to write, and fails to
/// serialize.
#[cfg(feature = "serde")]
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let key = self.try_as_bytes().map_err(serde::ser::Error::custom)?;
        let mut text = Zeroizing::new([0u8; MAX_BASE32_LEN]);
        let encoded = Base32UpperUnpadded::encode(key, text.as_mut_slice())
            .map_err(|_| serde::ser::Error::custom("secret does not fit its base32 buffer"))?;
        serializer.serialize_str(encoded)
    }
}

/// Deserializes from base32 with the default 128-bit minimum.
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Secret;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base32 secret of at least 128 bits")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Secret, E> {
                Secret::from_base32(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}
