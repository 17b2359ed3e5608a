//! `otpauth://` provisioning URIs, the "Key Uri Format" of Google
//! Authenticator (<https://github.com/google/google-authenticator/wiki/Key-Uri-Format>),
//! written and read without a heap.
//!
//! Writing is strict: one spelling, parameters at their defaults left out,
//! and nothing that a reader could split two ways. Reading is lenient about
//! spelling (case, padding, `+` or `%20`, `:` or `%3A`, parameter order,
//! unknown parameters) and strict about meaning: every value that changes the
//! codes must be present once and well-formed, or the URI is refused.

use core::fmt::{self, Write as _};

use crate::state::hex_digit;
use crate::{Algorithm, Digits, HotpConfig, MinLength, Period, Secret, SecretError, TotpConfig};

#[cfg(feature = "alloc")]
use alloc::string::{String, ToString as _};

/// Why a key URI could not be written or read.
///
/// Like every error of this crate it names the rule that was broken and
/// never repeats the input, which holds the secret.
///
/// ```
/// use passcode::{ParsedKeyUri, SecretError, UriError};
///
/// let error = ParsedKeyUri::parse("otpauth://totp/alice?secret=not*base32").unwrap_err();
/// assert_eq!(error, UriError::Secret(SecretError::InvalidBase32));
/// assert!(!error.to_string().contains("not*base32"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UriError {
    /// The URI is longer than [`ParsedKeyUri::MAX_LEN`] bytes, or would be.
    TooLong,
    /// The URI does not start with `otpauth://`.
    Scheme,
    /// The type is neither `totp` nor `hotp`.
    UnknownType,
    /// A `%` not followed by two hexadecimal digits.
    PercentEncoding,
    /// Percent-decoded text that is not UTF-8.
    NotUtf8,
    /// The label has no account name.
    EmptyAccount,
    /// An issuer given for writing is empty.
    EmptyIssuer,
    /// An account name with a `:` but no issuer: a reader would take the
    /// part before the colon for the issuer. Refused when writing, and when
    /// reading (a label such as `:a%3Ab`), so that whatever is read can be
    /// written back.
    AmbiguousAccount,
    /// A TOTP configuration with a T0 other than 0, which the format cannot
    /// carry: an app would generate codes for the wrong time steps.
    NonZeroT0,
    /// The `issuer` parameter differs from the issuer prefix of the label
    /// (see [`UriOptions::with_issuer_mismatch_allowed`]).
    IssuerMismatch,
    /// A parameter that changes the codes or the issuer appears twice.
    DuplicateParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// No `secret` parameter.
    MissingSecret,
    /// The secret is empty, not base32, or of a refused length.
    Secret(SecretError),
    /// An `algorithm` other than `SHA1`, `SHA256` or `SHA512`.
    UnknownAlgorithm,
    /// `digits` is not a number from 6 to 10.
    InvalidDigits,
    /// `period` is not a number of seconds from 1 to `u64::MAX`.
    InvalidPeriod,
    /// `counter` is not a number from 0 to `u64::MAX`.
    InvalidCounter,
    /// A `hotp` URI without a `counter`.
    MissingCounter,
    /// A `totp` URI with a `counter`: it was probably meant to be `hotp`,
    /// and guessing either way provisions the wrong codes.
    UnexpectedCounter,
    /// A buffer given to [`Decoded::decode_into`] is shorter than the text.
    BufferTooSmall,
    /// An issuer or account name holds a control character (C0, DEL or
    /// C1: NUL, LF, ESC, ...), a Unicode line or paragraph separator, or a
    /// bidirectional formatting character (U+061C, U+200E, U+200F,
    /// U+202A to U+202E, U+2066 to U+2069). Shown by an app or written to a
    /// log, these reorder or break the text: `U+202E` makes one issuer look
    /// like another, and a line feed forges a log line.
    UnsafeCharacter,
    /// An `encoder` parameter, with any value. It changes what the code is
    /// (`encoder=steam` makes pyotp and Steam's app show five-character
    /// Steam Guard codes instead of RFC 6238 digits), and this crate
    /// generates RFC codes only: reading past it would provision codes the
    /// app never shows.
    UnsupportedEncoder,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "key URI is longer than {} bytes", ParsedKeyUri::MAX_LEN),
            Self::Scheme => f.write_str("key URI does not start with otpauth://"),
            Self::UnknownType => f.write_str("key URI type is neither totp nor hotp"),
            Self::PercentEncoding => {
                f.write_str("key URI has a '%' not followed by two hexadecimal digits")
            }
            Self::NotUtf8 => f.write_str("key URI text does not decode to UTF-8"),
            Self::EmptyAccount => f.write_str("key URI has no account name"),
            Self::EmptyIssuer => f.write_str("key URI issuer is empty"),
            Self::AmbiguousAccount => {
                f.write_str("an account name with ':' needs an issuer to be written unambiguously")
            }
            Self::NonZeroT0 => f.write_str("key URIs cannot carry a TOTP T0 other than 0"),
            Self::IssuerMismatch => {
                f.write_str("key URI issuer parameter differs from the label's issuer")
            }
            Self::DuplicateParameter { name } => {
                write!(f, "key URI has more than one {name} parameter")
            }
            Self::MissingSecret => f.write_str("key URI has no secret parameter"),
            Self::Secret(e) => write!(f, "key URI secret: {e}"),
            Self::UnknownAlgorithm => {
                f.write_str("key URI algorithm is not SHA1, SHA256 or SHA512")
            }
            Self::InvalidDigits => write!(
                f,
                "key URI digits must be a number from {} to {}",
                Digits::MIN,
                Digits::MAX
            ),
            Self::InvalidPeriod => {
                f.write_str("key URI period must be a number of seconds of at least 1")
            }
            Self::InvalidCounter => {
                f.write_str("key URI counter must be a number that fits in 64 bits")
            }
            Self::MissingCounter => f.write_str("hotp key URI has no counter parameter"),
            Self::UnexpectedCounter => f.write_str("totp key URI has a counter parameter"),
            Self::BufferTooSmall => f.write_str("buffer is too small for the decoded text"),
            Self::UnsafeCharacter => f.write_str(
                "key URI issuer or account holds a control, line-separator or bidirectional formatting character",
            ),
            Self::UnsupportedEncoder => f.write_str(
                "key URI has an encoder parameter: only RFC 4226/6238 codes are supported",
            ),
        }
    }
}

impl core::error::Error for UriError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Secret(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SecretError> for UriError {
    fn from(e: SecretError) -> Self {
        Self::Secret(e)
    }
}

/// What a key URI provisions: TOTP with its configuration, or HOTP with its
/// configuration and the counter of the first code.
///
/// Not `#[non_exhaustive]`: the Key Uri Format has exactly these two types,
/// and a caller should be able to match both without a wildcard.
///
/// ```
/// use passcode::{HotpConfig, OtpKind, ParsedKeyUri};
///
/// let uri = ParsedKeyUri::parse(
///     "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=7",
/// )?;
/// assert_eq!(uri.kind(), OtpKind::Hotp { config: HotpConfig::new(), counter: 7 });
/// # Ok::<(), passcode::UriError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtpKind {
    /// Time-based codes (RFC 6238), always with T0 = 0 when read from a URI.
    Totp(TotpConfig),
    /// Counter-based codes (RFC 4226).
    Hotp {
        /// The algorithm and digit count.
        config: HotpConfig,
        /// The counter of the next code the app will show.
        counter: u64,
    },
}

/// A key URI to write, borrowing its parts: [`fmt::Display`] writes it
/// without allocating, e.g. straight into a QR-code encoder's buffer.
///
/// The constructors refuse what cannot be written faithfully, so every
/// `KeyUri` writes text that [`ParsedKeyUri::parse_with`] reads back to the
/// same values, given [`UriOptions`] that accept the secret's length (the
/// default refuses an 80-bit legacy secret). Issuer and account are percent-encoded except for RFC 3986
/// unreserved characters and `@`; the secret is upper-case unpadded base32;
/// `algorithm`, `digits` and `period` are left out at their defaults (SHA1,
/// 6, 30), as apps assume them.
///
/// ```
/// use passcode::{KeyUri, OtpKind, Secret, TotpConfig};
///
/// let secret = Secret::from_base32("HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ")?;
/// let kind = OtpKind::Totp(TotpConfig::new());
/// let uri = KeyUri::with_issuer(&secret, kind, "ACME Co", "john.doe@email.com")?;
/// assert_eq!(
///     uri.to_string(),
///     "otpauth://totp/ACME%20Co:john.doe@email.com\
///      ?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct KeyUri<'a> {
    secret: &'a Secret,
    kind: OtpKind,
    issuer: Option<&'a str>,
    account: &'a str,
}

impl<'a> KeyUri<'a> {
    /// A key URI without an issuer.
    ///
    /// Prefer [`with_issuer`](Self::with_issuer): apps show the issuer to
    /// tell accounts apart, and without one an account name cannot hold a
    /// `:`.
    ///
    /// ```
    /// use passcode::{HotpConfig, KeyUri, OtpKind, Secret, UriError};
    ///
    /// let secret = Secret::from_bytes(&[7; 20])?;
    /// let kind = OtpKind::Hotp { config: HotpConfig::new(), counter: 0 };
    /// let uri = KeyUri::new(&secret, kind, "alice")?;
    /// assert_eq!(uri.to_string(), "otpauth://hotp/alice?secret=A4DQOBYHA4DQOBYHA4DQOBYHA4DQOBYH&counter=0");
    /// assert_eq!(KeyUri::new(&secret, kind, "acme:alice").err(), Some(UriError::AmbiguousAccount));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`UriError::Secret`] with [`SecretError::KeyNotKept`] for a
    /// [hashed](Secret::is_hashed) secret, whose key is gone;
    /// [`UriError::EmptyAccount`], [`UriError::AmbiguousAccount`] for an
    /// account with a `:`, [`UriError::NonZeroT0`], [`UriError::UnsafeCharacter`], and
    /// [`UriError::TooLong`] when the URI would be longer than
    /// [`ParsedKeyUri::MAX_LEN`].
    pub fn new(secret: &'a Secret, kind: OtpKind, account: &'a str) -> Result<Self, UriError> {
        Self::checked(Self {
            secret,
            kind,
            issuer: None,
            account,
        })
    }

    /// A key URI whose label is `issuer:account` and whose `issuer`
    /// parameter repeats the issuer, as the format recommends.
    ///
    /// ```
    /// use passcode::{Algorithm, Digits, KeyUri, OtpKind, Period, Secret, TotpConfig};
    ///
    /// let secret = Secret::from_bytes(&[7; 20])?;
    /// let config = TotpConfig::new()
    ///     .with_algorithm(Algorithm::Sha256)
    ///     .with_digits(Digits::EIGHT)
    ///     .with_period(Period::new(60)?);
    /// let uri = KeyUri::with_issuer(&secret, OtpKind::Totp(config), "Ex:ample", "a+b c")?;
    /// assert_eq!(
    ///     uri.to_string(),
    ///     "otpauth://totp/Ex%3Aample:a%2Bb%20c?secret=A4DQOBYHA4DQOBYHA4DQOBYHA4DQOBYH\
    ///      &issuer=Ex%3Aample&algorithm=SHA256&digits=8&period=60"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`UriError::EmptyIssuer`], and those of [`new`](Self::new) except
    /// [`UriError::AmbiguousAccount`].
    pub fn with_issuer(
        secret: &'a Secret,
        kind: OtpKind,
        issuer: &'a str,
        account: &'a str,
    ) -> Result<Self, UriError> {
        Self::checked(Self {
            secret,
            kind,
            issuer: Some(issuer),
            account,
        })
    }

    fn checked(self) -> Result<Self, UriError> {
        // A key too long to keep has no base32 to write (`Secret::is_hashed`).
        self.secret.try_as_bytes()?;
        if matches!(self.kind, OtpKind::Totp(config) if config.t0() != 0) {
            return Err(UriError::NonZeroT0);
        }
        if self.issuer == Some("") {
            return Err(UriError::EmptyIssuer);
        }
        if self.account.is_empty() {
            return Err(UriError::EmptyAccount);
        }
        if self.issuer.is_none() && self.account.contains(':') {
            return Err(UriError::AmbiguousAccount);
        }
        if self
            .account
            .chars()
            .chain(self.issuer.unwrap_or_default().chars())
            .any(is_unsafe)
        {
            return Err(UriError::UnsafeCharacter);
        }
        // Measured by writing it, so the bound is exactly what `parse` reads.
        let mut length = Length(0);
        write!(length, "{self}").map_err(|_| UriError::TooLong)?;
        Ok(self)
    }
}

impl fmt::Display for KeyUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, algorithm, digits) = match self.kind {
            OtpKind::Totp(config) => ("totp", config.algorithm(), config.digits()),
            OtpKind::Hotp { config, .. } => ("hotp", config.algorithm(), config.digits()),
        };
        write!(f, "otpauth://{kind}/")?;
        if let Some(issuer) = self.issuer {
            write!(f, "{}:", Encoded(issuer))?;
        }
        write!(
            f,
            "{}?secret={}",
            Encoded(self.account),
            self.secret.to_base32()
        )?;
        if let Some(issuer) = self.issuer {
            write!(f, "&issuer={}", Encoded(issuer))?;
        }
        if algorithm != Algorithm::Sha1 {
            write!(f, "&algorithm={algorithm}")?;
        }
        if digits != Digits::SIX {
            write!(f, "&digits={digits}")?;
        }
        match self.kind {
            OtpKind::Totp(config) if config.period() != Period::THIRTY_SECONDS => {
                write!(f, "&period={}", config.period().seconds())
            }
            OtpKind::Totp(_) => Ok(()),
            OtpKind::Hotp { counter, .. } => write!(f, "&counter={counter}"),
        }
    }
}

/// Counts what is written, and stops past [`ParsedKeyUri::MAX_LEN`].
struct Length(usize);

impl fmt::Write for Length {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        if self.0 > ParsedKeyUri::MAX_LEN {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Text percent-encoded for a label or a query value.
struct Encoded<'a>(&'a str);

impl fmt::Display for Encoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(split) = rest.find(|c: char| !is_unescaped(c)) {
            let (plain, tail) = rest.split_at_checked(split).ok_or(fmt::Error)?;
            f.write_str(plain)?;
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                    write!(f, "%{byte:02X}")?;
                }
            }
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

/// The length of `name` as [`Encoded`] writes it: every byte of a
/// character outside [`is_unescaped`] (all of them ASCII) as `%XX`.
fn escaped_len(name: Decoded<'_>) -> usize {
    name.bytes()
        .map(|byte| match byte {
            Some(byte) if is_unescaped(char::from(byte)) => 1,
            _ => 3,
        })
        .fold(0, usize::saturating_add)
}

/// RFC 3986 unreserved characters, and `@`, which account names are full
/// of and which means nothing special after the authority. Everything else
/// is escaped: `:` and `/` in the label, `&`, `=`, `+` and `#` in a value,
/// and space, which readers disagree on as `+`.
fn is_unescaped(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '@')
}

/// Characters refused in an issuer or account, read or written
/// ([`UriError::UnsafeCharacter`]): controls (C0, DEL, C1), which end lines
/// and drive terminals; the line and paragraph separators; and the
/// bidirectional formatting characters of Unicode's UAX #9 (ALM, LRM, RLM,
/// LRE to RLO, LRI to PDI), which reorder how the text around them is shown
/// (CVE-2021-42574).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Options for reading key URIs.
///
/// ```
/// use passcode::{MinLength, ParsedKeyUri, UriOptions};
///
/// // An 80-bit secret from an old export, with a contradicting issuer.
/// let uri = "otpauth://totp/Old:alice?secret=JBSWY3DPEHPK3PXP&issuer=New";
/// let options = UriOptions::new()
///     .with_min_length(MinLength::Bits80)
///     .with_issuer_mismatch_allowed(true);
/// let parsed = ParsedKeyUri::parse_with(uri, options)?;
/// assert_eq!(parsed.issuer().unwrap(), "New");
/// # Ok::<(), passcode::UriError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UriOptions {
    min_length: MinLength,
    issuer_mismatch_allowed: bool,
}

impl UriOptions {
    /// The defaults: secrets of at least 128 bits, and an `issuer`
    /// parameter that contradicts the label's issuer refused.
    ///
    /// ```
    /// use passcode::{MinLength, UriOptions};
    ///
    /// assert_eq!(UriOptions::new(), UriOptions::default());
    /// assert_eq!(UriOptions::new().min_length(), MinLength::Bits128);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            min_length: MinLength::Bits128,
            issuer_mismatch_allowed: false,
        }
    }

    /// The same options with another minimum secret length.
    ///
    /// ```
    /// use passcode::{MinLength, ParsedKeyUri, SecretError, UriError, UriOptions};
    ///
    /// let uri = "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP";
    /// let short = UriError::Secret(SecretError::TooShort { min_bits: 128 });
    /// assert_eq!(ParsedKeyUri::parse(uri).err(), Some(short));
    /// let legacy = UriOptions::new().with_min_length(MinLength::Bits80);
    /// assert!(ParsedKeyUri::parse_with(uri, legacy).is_ok());
    /// ```
    #[must_use]
    pub const fn with_min_length(self, min_length: MinLength) -> Self {
        Self { min_length, ..self }
    }

    /// The same options, with an `issuer` parameter that contradicts the
    /// label's issuer prefix accepted (`true`, and the parameter wins) or
    /// refused (`false`, the default). Some large providers issue such
    /// URIs; refusing by default surfaces a label that may have been
    /// tampered with to look like another service.
    ///
    /// ```
    /// use passcode::{ParsedKeyUri, UriError, UriOptions};
    ///
    /// let uri = "otpauth://totp/Label:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Param";
    /// assert_eq!(ParsedKeyUri::parse(uri).err(), Some(UriError::IssuerMismatch));
    /// let lenient = UriOptions::new().with_issuer_mismatch_allowed(true);
    /// assert_eq!(ParsedKeyUri::parse_with(uri, lenient)?.issuer().unwrap(), "Param");
    /// # Ok::<(), UriError>(())
    /// ```
    #[must_use]
    pub const fn with_issuer_mismatch_allowed(self, allowed: bool) -> Self {
        Self {
            issuer_mismatch_allowed: allowed,
            ..self
        }
    }

    /// The minimum secret length.
    ///
    /// ```
    /// assert_eq!(passcode::UriOptions::new().min_length(), passcode::MinLength::Bits128);
    /// ```
    #[must_use]
    pub const fn min_length(self) -> MinLength {
        self.min_length
    }

    /// Whether a contradicting `issuer` parameter is accepted.
    ///
    /// ```
    /// assert!(!passcode::UriOptions::new().issuer_mismatch_allowed());
    /// ```
    #[must_use]
    pub const fn issuer_mismatch_allowed(self) -> bool {
        self.issuer_mismatch_allowed
    }
}

/// A key URI read from text, borrowing its account and issuer from it.
///
/// ```
/// use passcode::{Algorithm, OtpKind, ParsedKeyUri, Secret, TotpConfig};
///
/// let uri = ParsedKeyUri::parse(
///     "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
///      &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
/// )?;
/// assert_eq!(uri.issuer().unwrap(), "ACME Co");
/// assert_eq!(uri.account(), "john.doe@email.com");
/// assert_eq!(uri.kind(), OtpKind::Totp(TotpConfig::new()));
/// assert_eq!(uri.secret(), &Secret::from_base32("HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedKeyUri<'a> {
    secret: Secret,
    kind: OtpKind,
    issuer: Option<Decoded<'a>>,
    account: Decoded<'a>,
}

/// The parameters [`ParsedKeyUri`] reads; any other is ignored.
const PARAMETERS: [&str; 7] = [
    "secret",
    "issuer",
    "algorithm",
    "digits",
    "period",
    "counter",
    "encoder",
];

impl<'a> ParsedKeyUri<'a> {
    /// The longest URI read or written, in bytes. A 128-byte secret, a
    /// 1,000-character issuer and account (ASCII, unescaped) and every
    /// parameter fit; the bound keeps the work per URI small on a device.
    /// It applies to the text read and to the URI [`KeyUri`] would write
    /// back from it, so that whatever is read can be written.
    pub const MAX_LEN: usize = 4096;

    /// Reads a key URI with the default [`UriOptions`].
    ///
    /// Accepted: any case in the scheme, type and algorithm; secrets in
    /// lower case, with spaces or with `=` padding (also as `%3D`); `%20` or
    /// `+` for a space; `:` or `%3A` between issuer and account (the first
    /// literal `:` if there is one, else the first `%3A`); the issuer from
    /// the `issuer` parameter or the label; parameters in any order; unknown
    /// parameters, which are ignored unread; a `#fragment`, ignored as
    /// RFC 3986 §3.5 says. An empty issuer, in the label or the parameter,
    /// counts as none. Spaces around the account name are kept as they are.
    /// An account name with a `:` is refused when there is no issuer (as in
    /// `:a%3Ab`), as [`KeyUri::new`] refuses to write it.
    ///
    /// `period` in a `hotp` URI is checked and ignored, as apps ignore it;
    /// `counter` in a `totp` URI is refused. So is an `encoder` parameter
    /// with any value (`encoder=steam` asks for Steam Guard codes, which this
    /// crate does not generate): unknown parameters are ignored only because
    /// none of them changes the code.
    ///
    /// ```
    /// use passcode::{Algorithm, OtpKind, ParsedKeyUri, TotpConfig};
    ///
    /// let uri = ParsedKeyUri::parse(
    ///     "OTPAUTH://TOTP/My+Bank%3aalice?algorithm=sha256&image=x&secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq%3D%3D%3D",
    /// )?;
    /// assert_eq!(uri.issuer().unwrap(), "My Bank");
    /// assert_eq!(uri.account(), "alice");
    /// assert_eq!(uri.kind(), OtpKind::Totp(TotpConfig::new().with_algorithm(Algorithm::Sha256)));
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    ///
    /// # Errors
    /// [`UriError`] names the first rule the text breaks.
    pub fn parse(uri: &'a str) -> Result<Self, UriError> {
        Self::parse_with(uri, UriOptions::new())
    }

    /// [`parse`](Self::parse) with explicit [`UriOptions`].
    ///
    /// ```
    /// use passcode::{MinLength, ParsedKeyUri, UriOptions};
    ///
    /// let options = UriOptions::new().with_min_length(MinLength::Bits80);
    /// let uri = ParsedKeyUri::parse_with("otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP", options)?;
    /// assert_eq!(uri.secret().as_bytes().len(), 10);
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    pub fn parse_with(uri: &'a str, options: UriOptions) -> Result<Self, UriError> {
        if uri.len() > Self::MAX_LEN {
            return Err(UriError::TooLong);
        }
        let rest = strip_prefix_ignore_ascii_case(uri, "otpauth://").ok_or(UriError::Scheme)?;
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (kind, label) = path.split_once('/').unwrap_or((path, ""));
        let hotp = if kind.eq_ignore_ascii_case("totp") {
            false
        } else if kind.eq_ignore_ascii_case("hotp") {
            true
        } else {
            return Err(UriError::UnknownType);
        };

        let (prefix, account) = split_label(label);
        let prefix = non_empty(prefix).map(Decoded::new).transpose()?;
        let account = non_empty(account)
            .map(Decoded::new)
            .transpose()?
            .ok_or(UriError::EmptyAccount)?;

        let [secret, issuer, algorithm, digits, period, counter, encoder] = parameters(query)?;
        if encoder.is_some() {
            return Err(UriError::UnsupportedEncoder);
        }
        let secret = secret.ok_or(UriError::MissingSecret)?;
        let issuer = match (
            prefix,
            issuer.and_then(non_empty).map(Decoded::new).transpose()?,
        ) {
            (Some(label), Some(parameter))
                if label != parameter && !options.issuer_mismatch_allowed =>
            {
                return Err(UriError::IssuerMismatch);
            }
            (label, parameter) => parameter.or(label),
        };
        // `KeyUri` cannot write such an account without an issuer (a reader
        // would split it at the colon), so it is not read either: what is
        // read can always be written back.
        if issuer.is_none() && account.bytes().any(|byte| byte == Some(b':')) {
            return Err(UriError::AmbiguousAccount);
        }
        let algorithm = match algorithm {
            None => Algorithm::Sha1,
            Some(value) => [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
                .into_iter()
                .find(|algorithm| decodes_to(value, algorithm.name(), true))
                .ok_or(UriError::UnknownAlgorithm)?,
        };
        let digits = match digits {
            None => Digits::SIX,
            Some(value) => number(value)
                .and_then(|n| u8::try_from(n).ok())
                .and_then(|n| Digits::new(n).ok())
                .ok_or(UriError::InvalidDigits)?,
        };
        let period = match period {
            None => Period::THIRTY_SECONDS,
            Some(value) => number(value)
                .and_then(|n| Period::new(n).ok())
                .ok_or(UriError::InvalidPeriod)?,
        };
        let kind = match (hotp, counter) {
            (true, None) => return Err(UriError::MissingCounter),
            (true, Some(value)) => OtpKind::Hotp {
                config: HotpConfig::new()
                    .with_algorithm(algorithm)
                    .with_digits(digits),
                counter: number(value).ok_or(UriError::InvalidCounter)?,
            },
            (false, Some(_)) => return Err(UriError::UnexpectedCounter),
            (false, None) => OtpKind::Totp(
                TotpConfig::new()
                    .with_algorithm(algorithm)
                    .with_digits(digits)
                    .with_period(period),
            ),
        };

        // Last, so that a malformed URI is refused before the key is
        // decoded. `parameters` has checked the escapes.
        let secret_bytes = PercentBytes::new(secret).map_while(Result::ok);
        let secret = Secret::from_base32_bytes(secret_bytes, options.min_length)?;
        // What is read must be writable, and writing escapes characters the
        // text may have left plain (`]` becomes `%5D`): the limit applies to
        // the URI as `KeyUri` would write it. Its frame (everything but the
        // names) is measured by writing it; the names add their escaped
        // length, the issuer twice.
        let frame = KeyUri {
            secret: &secret,
            kind,
            issuer: issuer.map(|_| ""),
            account: "",
        };
        let mut length = Length(0);
        write!(length, "{frame}").map_err(|_| UriError::TooLong)?;
        let names = issuer
            .map_or(0, |issuer| escaped_len(issuer).saturating_mul(2))
            .saturating_add(escaped_len(account));
        if length.0.saturating_add(names) > Self::MAX_LEN {
            return Err(UriError::TooLong);
        }
        Ok(Self {
            secret,
            kind,
            issuer,
            account,
        })
    }

    /// The shared secret.
    ///
    /// ```
    /// let uri = passcode::ParsedKeyUri::parse("otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(uri.secret().as_bytes(), b"12345678901234567890");
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The type and its configuration.
    ///
    /// ```
    /// use passcode::{Digits, OtpKind, ParsedKeyUri, Period, TotpConfig};
    ///
    /// let uri = ParsedKeyUri::parse(
    ///     "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8&period=60",
    /// )?;
    /// let config = TotpConfig::new().with_digits(Digits::EIGHT).with_period(Period::new(60)?);
    /// assert_eq!(uri.kind(), OtpKind::Totp(config));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn kind(&self) -> OtpKind {
        self.kind
    }

    /// The issuer: the `issuer` parameter if there is one, else the label's
    /// prefix; `None` when neither is given or both are empty.
    ///
    /// ```
    /// let uri = passcode::ParsedKeyUri::parse("otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert!(uri.issuer().is_none());
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    #[must_use]
    pub fn issuer(&self) -> Option<Decoded<'a>> {
        self.issuer
    }

    /// The account name, after the issuer prefix of the label.
    ///
    /// ```
    /// let uri = passcode::ParsedKeyUri::parse("otpauth://totp/Bank:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(uri.account(), "alice@example.com");
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    #[must_use]
    pub fn account(&self) -> Decoded<'a> {
        self.account
    }
}

/// Splits a label at the first literal `:`, or else at the first `%3A`
/// (either case): the format allows both as the separator, and a literal
/// colon can only be one, while an escaped one may belong to a name.
fn split_label(label: &str) -> (&str, &str) {
    if let Some(split) = label.split_once(':') {
        return split;
    }
    let escaped = label
        .as_bytes()
        .windows(3)
        .position(|window| matches!(window, [b'%', b'3', b'A' | b'a']));
    escaped
        .and_then(|at| Some((label.get(..at)?, label.get(at..)?.get(3..)?)))
        .unwrap_or(("", label))
}

/// The values of the parameters in [`PARAMETERS`], each with its escapes
/// checked and seen at most once.
fn parameters(query: &str) -> Result<[Option<&str>; 7], UriError> {
    let mut values = [None; 7];
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let known = PARAMETERS
            .iter()
            .zip(values.iter_mut())
            .find(|(known, _)| decodes_to(name, known, false));
        let Some((&name, slot)) = known else {
            continue;
        };
        // Two values are refused, not chosen between: readers disagree on
        // which one wins, so a second secret or issuer could show one
        // account to a scanner and another to the app.
        if slot.is_some() {
            return Err(UriError::DuplicateParameter { name });
        }
        PercentBytes::new(value).try_for_each(|byte| byte.map(drop))?;
        *slot = Some(value);
    }
    Ok(values)
}

fn strip_prefix_ignore_ascii_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// Whether percent-encoded `encoded` decodes to exactly `text`.
fn decodes_to(encoded: &str, text: &str, ignore_ascii_case: bool) -> bool {
    let fold = |byte: u8| {
        if ignore_ascii_case {
            byte.to_ascii_lowercase()
        } else {
            byte
        }
    };
    PercentBytes::new(encoded)
        .map(|byte| byte.ok().map(fold))
        .eq(text.bytes().map(|byte| Some(fold(byte))))
}

/// A decimal number of ASCII digits (after percent-decoding), which fits
/// in a `u64`. No sign, no spaces, not empty.
fn number(encoded: &str) -> Option<u64> {
    let mut bytes = PercentBytes::new(encoded).peekable();
    bytes.peek()?;
    bytes.try_fold(0u64, |value, byte| match byte {
        Ok(digit @ b'0'..=b'9') => value.checked_mul(10)?.checked_add(u64::from(digit & 0x0f)),
        _ => None,
    })
}

/// The bytes of percent-encoded text, with `+` as a space (HTML form
/// encoding, which many writers use in labels as well as in queries).
///
/// A secret passes through here: the branches depend only on whether a
/// byte is `%` or `+`, never on which base32 character it is. (An escaped
/// base32 character would be decoded with branches, but writers escape
/// only padding.)
struct PercentBytes<'a>(&'a [u8]);

impl<'a> PercentBytes<'a> {
    fn new(encoded: &'a str) -> Self {
        Self(encoded.as_bytes())
    }
}

impl Iterator for PercentBytes<'_> {
    type Item = Result<u8, UriError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(match first {
            b'+' => Ok(b' '),
            b'%' => match rest {
                [high, low, tail @ ..] => match (hex_digit(*high), hex_digit(*low)) {
                    (Some(high), Some(low)) => {
                        self.0 = tail;
                        Ok(high << 4 | low)
                    }
                    _ => {
                        self.0 = &[];
                        Err(UriError::PercentEncoding)
                    }
                },
                _ => {
                    self.0 = &[];
                    Err(UriError::PercentEncoding)
                }
            },
            byte => Ok(byte),
        })
    }
}

/// Decodes `encoded` and hands it to `emit` one character at a time;
/// `invalid` turns a decoding error into the caller's error type.
fn decode_chars<E>(
    encoded: &str,
    mut emit: impl FnMut(&str) -> Result<(), E>,
    invalid: impl Fn(UriError) -> E,
) -> Result<(), E> {
    let mut pending = [0u8; 4];
    let mut len = 0usize;
    for byte in PercentBytes::new(encoded) {
        let byte = byte.map_err(&invalid)?;
        let slot = pending
            .get_mut(len)
            .ok_or_else(|| invalid(UriError::NotUtf8))?;
        *slot = byte;
        len = len.saturating_add(1);
        let needed = utf8_len(pending.first().copied().unwrap_or(0))
            .ok_or_else(|| invalid(UriError::NotUtf8))?;
        if len == needed {
            let char = pending.get(..len).unwrap_or_default();
            emit(core::str::from_utf8(char).map_err(|_| invalid(UriError::NotUtf8))?)?;
            len = 0;
        }
    }
    if len == 0 {
        Ok(())
    } else {
        Err(invalid(UriError::NotUtf8))
    }
}

/// The length of the UTF-8 sequence a byte starts (RFC 3629 §4); `from_utf8`
/// then rejects overlong forms and surrogates.
fn utf8_len(first: u8) -> Option<usize> {
    match first {
        0x00..=0x7f => Some(1),
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

/// Percent-encoded text from a key URI, borrowed and decoded as it is read.
///
/// It compares with `&str` as decoded text, writes the decoded text through
/// [`fmt::Display`], and copies it into a caller's buffer with
/// [`decode_into`](Self::decode_into). `+` decodes to a space.
///
/// ```
/// let uri = passcode::ParsedKeyUri::parse(
///     "otpauth://totp/Caf%C3%A9+Mo:z%C3%BC?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
/// )?;
/// let issuer = uri.issuer().unwrap();
/// assert_eq!(issuer, "Café Mo");
/// assert_eq!(issuer.as_encoded(), "Caf%C3%A9+Mo");
/// assert_eq!(format!("{} / {}", issuer, uri.account()), "Café Mo / zü");
/// # Ok::<(), passcode::UriError>(())
/// ```
// Invariant: `encoded` is well-formed percent-encoding of UTF-8 text.
#[derive(Clone, Copy)]
pub struct Decoded<'a> {
    encoded: &'a str,
}

impl<'a> Decoded<'a> {
    /// Checks the escapes and the UTF-8, and refuses the characters that
    /// [`is_unsafe`] names: every issuer and account read passes here.
    fn new(encoded: &'a str) -> Result<Self, UriError> {
        decode_chars(
            encoded,
            |char| {
                if char.chars().any(is_unsafe) {
                    Err(UriError::UnsafeCharacter)
                } else {
                    Ok(())
                }
            },
            |e| e,
        )?;
        Ok(Self { encoded })
    }

    /// The text as it stands in the URI, still percent-encoded.
    ///
    /// ```
    /// let uri = passcode::ParsedKeyUri::parse("otpauth://totp/a%20b?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(uri.account().as_encoded(), "a%20b");
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    #[must_use]
    pub fn as_encoded(&self) -> &'a str {
        self.encoded
    }

    /// The length of the decoded text in bytes: the buffer
    /// [`decode_into`](Self::decode_into) needs.
    ///
    /// ```
    /// let uri = passcode::ParsedKeyUri::parse("otpauth://totp/z%C3%BC?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert_eq!(uri.account().len(), 3);
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        PercentBytes::new(self.encoded).count()
    }

    /// Whether the text is empty; a parsed account or issuer never is.
    ///
    /// ```
    /// let uri = passcode::ParsedKeyUri::parse("otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// assert!(!uri.account().is_empty());
    /// # Ok::<(), passcode::UriError>(())
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty()
    }

    /// Decodes into `buf` and returns the text there.
    ///
    /// ```
    /// use passcode::{ParsedKeyUri, UriError};
    ///
    /// let uri = ParsedKeyUri::parse("otpauth://totp/ACME%20Co:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
    /// let mut buf = [0; 32];
    /// assert_eq!(uri.issuer().unwrap().decode_into(&mut buf)?, "ACME Co");
    /// assert_eq!(uri.issuer().unwrap().decode_into(&mut [0; 4]), Err(UriError::BufferTooSmall));
    /// # Ok::<(), UriError>(())
    /// ```
    ///
    /// # Errors
    /// [`UriError::BufferTooSmall`] when `buf` is shorter than
    /// [`len`](Self::len).
    pub fn decode_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, UriError> {
        let mut len = 0usize;
        decode_chars(
            self.encoded,
            |char| {
                let end = len.saturating_add(char.len());
                let slot = buf.get_mut(len..end).ok_or(UriError::BufferTooSmall)?;
                slot.copy_from_slice(char.as_bytes());
                len = end;
                Ok(())
            },
            |e| e,
        )?;
        let text = buf.get(..len).ok_or(UriError::BufferTooSmall)?;
        core::str::from_utf8(text).map_err(|_| UriError::NotUtf8)
    }

    fn bytes(&self) -> impl Iterator<Item = Option<u8>> + 'a {
        PercentBytes::new(self.encoded).map(Result::ok)
    }
}

impl fmt::Display for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        decode_chars(self.encoded, |char| f.write_str(char), |_| fmt::Error)
    }
}

/// The decoded text, quoted and escaped as `str`'s `Debug` does. Issuers
/// and account names are not secret.
impl fmt::Debug for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        decode_chars(
            self.encoded,
            |char| write!(f, "{}", char.escape_debug()),
            |_| fmt::Error,
        )?;
        f.write_char('"')
    }
}

impl PartialEq<str> for Decoded<'_> {
    fn eq(&self, other: &str) -> bool {
        self.bytes().eq(other.bytes().map(Some))
    }
}

impl PartialEq<&str> for Decoded<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<Decoded<'_>> for str {
    fn eq(&self, other: &Decoded<'_>) -> bool {
        *other == *self
    }
}

impl PartialEq<Decoded<'_>> for &str {
    fn eq(&self, other: &Decoded<'_>) -> bool {
        *other == **self
    }
}

/// Equal when the decoded texts are: `a%20b` equals `a+b`.
impl PartialEq for Decoded<'_> {
    fn eq(&self, other: &Decoded<'_>) -> bool {
        self.bytes().eq(other.bytes())
    }
}

impl Eq for Decoded<'_> {}

/// A key URI read into owned values, to keep after the text is gone.
///
/// It writes itself back through [`to_uri`](Self::to_uri).
///
/// ```
/// use passcode::{OwnedKeyUri, ParsedKeyUri};
///
/// let text = String::from("otpauth://totp/ACME%20Co:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
/// let owned = OwnedKeyUri::from(ParsedKeyUri::parse(&text)?);
/// drop(text);
/// assert_eq!(owned.issuer.as_deref(), Some("ACME Co"));
/// assert_eq!(
///     owned.to_uri()?.to_string(),
///     "otpauth://totp/ACME%20Co:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co"
/// );
/// # Ok::<(), passcode::UriError>(())
/// ```
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedKeyUri {
    /// The issuer, never empty when read from a URI.
    pub issuer: Option<String>,
    /// The account name.
    pub account: String,
    /// The shared secret.
    pub secret: Secret,
    /// The type and its configuration.
    pub kind: OtpKind,
}

#[cfg(feature = "alloc")]
impl OwnedKeyUri {
    /// The key URI of these values, to write with [`fmt::Display`].
    ///
    /// ```
    /// use passcode::{OtpKind, OwnedKeyUri, Secret, TotpConfig, UriError};
    ///
    /// let mut owned = OwnedKeyUri {
    ///     issuer: None,
    ///     account: "alice".into(),
    ///     secret: Secret::from_bytes(&[7; 20])?,
    ///     kind: OtpKind::Totp(TotpConfig::new()),
    /// };
    /// assert!(owned.to_uri().is_ok());
    /// owned.account.clear();
    /// assert_eq!(owned.to_uri().err(), Some(UriError::EmptyAccount));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`KeyUri::new`] and [`KeyUri::with_issuer`].
    pub fn to_uri(&self) -> Result<KeyUri<'_>, UriError> {
        match &self.issuer {
            Some(issuer) => KeyUri::with_issuer(&self.secret, self.kind, issuer, &self.account),
            None => KeyUri::new(&self.secret, self.kind, &self.account),
        }
    }
}

#[cfg(feature = "alloc")]
impl From<ParsedKeyUri<'_>> for OwnedKeyUri {
    fn from(parsed: ParsedKeyUri<'_>) -> Self {
        let ParsedKeyUri {
            secret,
            kind,
            issuer,
            account,
        } = parsed;
        Self {
            issuer: issuer.map(|issuer| issuer.to_string()),
            account: account.to_string(),
            secret,
            kind,
        }
    }
}
