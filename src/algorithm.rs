use core::fmt;

/// The hash function under HMAC (RFC 6238 §1.2).
///
/// Every variant exists in every build, so configurations and stored
/// settings parse the same everywhere; keying an algorithm whose cargo
/// feature (`sha1`, `sha256`, `sha512`) is off returns
/// [`SecretError::AlgorithmDisabled`](crate::SecretError::AlgorithmDisabled).
///
/// ```
/// use passcode::Algorithm;
///
/// assert_eq!(Algorithm::default(), Algorithm::Sha1);
/// assert_eq!(Algorithm::Sha256.to_string(), "SHA256");
/// assert_eq!(Algorithm::Sha512.secret_len(), 64);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "UPPERCASE"))]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA-1, the RFC 4226 default and what nearly every authenticator app uses.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs: `SHA1`, `SHA256` or `SHA512`.
    ///
    /// ```
    /// assert_eq!(passcode::Algorithm::Sha1.name(), "SHA1");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// The length of a newly generated secret, in bytes: the hash's output
    /// length (RFC 4226 §4 R6 asks for at least 128 bits and recommends 160;
    /// RFC 6238 Appendix A keys SHA-256 and SHA-512 with 32 and 64 bytes).
    ///
    /// ```
    /// assert_eq!(passcode::Algorithm::Sha1.secret_len(), 20);
    /// ```
    #[must_use]
    pub const fn secret_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// Whether this build includes the algorithm (its cargo feature is on).
    ///
    /// ```
    /// // The default features include all three.
    /// assert!(passcode::Algorithm::Sha512.is_enabled());
    /// ```
    #[must_use]
    pub const fn is_enabled(self) -> bool {
        match self {
            Self::Sha1 => cfg!(feature = "sha1"),
            Self::Sha256 => cfg!(feature = "sha256"),
            Self::Sha512 => cfg!(feature = "sha512"),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
