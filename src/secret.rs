use core::fmt;

use base32ct::{Base32UpperUnpadded, Encoding as _};
use rand_core::CryptoRng;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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

/// Longest base32 text [`Secret::from_base32`] decodes, spaces and padding
/// aside: 128 bytes take 205 characters; 208 is the next multiple of 8, and
/// its two extra bytes make an overlong secret fail as `TooLong`.
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
// Invariant: 10 <= len <= MAX_LEN, and bytes[len..] are zero.
#[derive(Clone)]
pub struct Secret {
    bytes: [u8; Secret::MAX_LEN],
    len: u8,
}

impl Secret {
    /// The longest secret held: 128 bytes, one SHA-512 block. HMAC hashes
    /// longer keys down to the digest length anyway.
    pub const MAX_LEN: usize = 128;

    /// A secret of the given bytes, at least 128 bits long.
    ///
    /// ```
    /// use passcode::{Secret, SecretError};
    ///
    /// assert!(Secret::from_bytes(&[7; 20]).is_ok());
    /// assert_eq!(Secret::from_bytes(&[7; 10]).err(), Some(SecretError::TooShort { min_bits: 128 }));
    /// ```
    ///
    /// # Errors
    /// [`SecretError::Empty`], [`SecretError::TooShort`] below 16 bytes,
    /// [`SecretError::TooLong`] above [`MAX_LEN`](Self::MAX_LEN).
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
        let mut secret = Self {
            bytes: [0; Self::MAX_LEN],
            len: 0,
        };
        let slot = secret
            .bytes
            .get_mut(..bytes.len())
            .ok_or(SecretError::TooLong)?;
        slot.copy_from_slice(bytes);
        secret.len = u8::try_from(bytes.len()).map_err(|_| SecretError::TooLong)?;
        secret.check_min(min)?;
        Ok(secret)
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
        let mut normalized = Zeroizing::new([0u8; MAX_BASE32_LEN]);
        let mut len = 0usize;
        let mut padding = false;
        // Whether some character is outside the alphabet, gathered without
        // a branch on any one of them.
        let mut foreign = 0u8;
        for c in text {
            match c {
                b' ' => continue,
                b'=' => padding = true,
                _ if padding => return Err(SecretError::InvalidBase32),
                _ => {
                    let slot = normalized.get_mut(len).ok_or(SecretError::TooLong)?;
                    // Upper-case without a branch on the (secret) character:
                    // the comparison compiles to a flag, not a jump.
                    let is_lower = u8::from(c.wrapping_sub(b'a') < 26);
                    let upper = c ^ (is_lower << 5);
                    let letter = u8::from(upper.wrapping_sub(b'A') < 26);
                    let digit = u8::from(upper.wrapping_sub(b'2') < 6);
                    foreign |= 1 ^ (letter | digit);
                    *slot = upper;
                    len = len.saturating_add(1);
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
        if matches!(len & 7, 1 | 3 | 6) {
            return Err(SecretError::Base32Length {
                chars: u16::try_from(len).unwrap_or(u16::MAX),
            });
        }
        let text = normalized.get(..len).unwrap_or_default();
        let mut secret = Self {
            bytes: [0; Self::MAX_LEN],
            len: 0,
        };
        let decoded =
            Base32UpperUnpadded::decode(text, &mut secret.bytes).map_err(|e| match e {
                base32ct::Error::InvalidLength => SecretError::TooLong,
                base32ct::Error::InvalidEncoding => SecretError::InvalidBase32,
            })?;
        secret.len = u8::try_from(decoded.len()).map_err(|_| SecretError::TooLong)?;
        secret.check_min(min)?;
        Ok(secret)
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
            secret.len = u8::try_from(len).unwrap_or(0);
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
        secret.len = u8::try_from(len).map_err(|_| SecretError::TooLong)?;
        secret.check_min(MinLength::Bits128)?;
        Ok(secret)
    }

    /// The key bytes, for storage under the caller's own protection.
    ///
    /// ```
    /// let secret = passcode::Secret::from_bytes(&[9; 16])?;
    /// assert_eq!(secret.as_bytes(), &[9; 16]);
    /// # Ok::<(), passcode::SecretError>(())
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The key as upper-case unpadded base32, written through
    /// [`fmt::Display`] without allocating.
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

    fn check_min(&self, min: MinLength) -> Result<(), SecretError> {
        match usize::from(self.len) {
            0 => Err(SecretError::Empty),
            len if len < min.bytes() => Err(SecretError::TooShort {
                min_bits: min.bits(),
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret").finish_non_exhaustive()
    }
}

/// Constant-time in the key bytes; the lengths are compared first, and a
/// secret's length is not treated as secret.
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
/// keep the output where the key may be kept.
#[cfg(feature = "serde")]
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = Zeroizing::new([0u8; MAX_BASE32_LEN]);
        let encoded = Base32UpperUnpadded::encode(self.as_bytes(), text.as_mut_slice())
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
