//! Single-use backup (recovery) codes. The user is shown the codes once;
//! the server stores only a keyed hash of each, checks a typed code against
//! the whole set in constant time, and marks it used.

use core::fmt;
use core::ops::Deref;

use hmac::{KeyInit, Mac};
use rand_core::CryptoRng;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::state::{Kind, Reader, Writer, encoded_len};
use crate::{Code, ParamError, Secret, SecretError, StateError, decimal, declassify};

/// How backup codes are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackupFormat {
    /// Eight decimal digits, such as `4096 1729` (26.6 bits each).
    Digits8,
    /// Ten characters from an alphabet without look-alikes (no `0`, `O`,
    /// `1` or `I`), such as `K7QPX-M3RTA` (50 bits each); typed in either case.
    #[default]
    Chars10,
}

/// 32 symbols, so a random byte's low five bits pick one without bias.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// `ALPHABET[index]`, reading every entry: codes are secret, so their
/// symbols must not pick a memory address.
fn symbol_at(index: u8) -> u8 {
    let mut symbol = 0;
    for (position, &candidate) in (0u8..).zip(ALPHABET) {
        symbol.conditional_assign(&candidate, position.ct_eq(&index));
    }
    symbol
}

/// Whether `byte` is in `ALPHABET`, comparing with every entry.
fn in_alphabet(byte: u8) -> bool {
    let found = ALPHABET.iter().fold(Choice::from(0), |found, candidate| {
        found | candidate.ct_eq(&byte)
    });
    found.into()
}

impl BackupFormat {
    const fn len(self) -> usize {
        match self {
            Self::Digits8 => 8,
            Self::Chars10 => 10,
        }
    }

    const fn tag(self) -> u8 {
        match self {
            Self::Digits8 => 1,
            Self::Chars10 => 2,
        }
    }

    /// Reads user input into canonical form: the code's symbols, upper-case,
    /// without the separators (a single space or hyphen between any two
    /// symbols, so the groups a code is shown in and others), at most as long
    /// as [`Code::MAX_INPUT_LEN`].
    fn canonical(self, input: &str, out: &mut [u8; 10]) -> Result<(), BackupError> {
        if input.len() > Code::MAX_INPUT_LEN {
            return Err(BackupError::Malformed);
        }
        let mut len = 0usize;
        let mut after_symbol = false;
        for &byte in input.as_bytes() {
            if matches!(byte, b' ' | b'-') {
                if !after_symbol {
                    return Err(BackupError::Malformed);
                }
                after_symbol = false;
                continue;
            }
            let symbol = match self {
                Self::Digits8 if byte.is_ascii_digit() => byte,
                Self::Chars10 if in_alphabet(byte.to_ascii_uppercase()) => {
                    byte.to_ascii_uppercase()
                }
                _ => return Err(BackupError::Malformed),
            };
            *out.get_mut(len).ok_or(BackupError::Malformed)? = symbol;
            len = len.saturating_add(1);
            after_symbol = true;
        }
        if len != self.len() || !after_symbol {
            return Err(BackupError::Malformed);
        }
        Ok(())
    }
}

/// One backup code, to show the user once. Wiped on drop; `Debug` does not
/// print it.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupCode {
    text: [u8; 11],
    len: u8,
}

impl BackupCode {
    /// The code as shown: `4096 1729` or `K7QPX-M3RTA`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        let text = self.text.get(..usize::from(self.len)).unwrap_or_default();
        // Whoever asks for the text shows it: released here.
        declassify::release(text);
        core::str::from_utf8(text).unwrap_or_default()
    }

    fn shown(symbols: &[u8], format: BackupFormat) -> Self {
        let mut code = Self {
            text: [0; 11],
            len: 0,
        };
        let (half, separator) = match format {
            BackupFormat::Digits8 => (4, b' '),
            BackupFormat::Chars10 => (5, b'-'),
        };
        let (first, second) = symbols.split_at(half.min(symbols.len()));
        let separator = [separator];
        let parts = first.iter().chain(&separator).chain(second);
        for (slot, byte) in code.text.iter_mut().zip(parts) {
            *slot = *byte;
            code.len = code.len.saturating_add(1);
        }
        code
    }
}

impl fmt::Display for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupCode").finish_non_exhaustive()
    }
}

impl Drop for BackupCode {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

impl ZeroizeOnDrop for BackupCode {}

/// Newly generated codes, to show the user once; dereferences to a slice.
#[derive(Clone)]
pub struct BackupCodeList {
    codes: [BackupCode; BackupCodes::CAPACITY],
    count: u8,
}

impl Deref for BackupCodeList {
    type Target = [BackupCode];

    fn deref(&self) -> &[BackupCode] {
        self.codes
            .get(..usize::from(self.count))
            .unwrap_or_default()
    }
}

impl fmt::Debug for BackupCodeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupCodeList")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Why a backup code was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackupError {
    /// Not a code of this set's format; no comparison was made.
    Malformed,
    /// No unused code of the set matches. A code used before is refused
    /// the same way: the answer does not tell that it was once valid.
    Invalid,
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "not a backup code of this format",
            Self::Invalid => "invalid backup code",
        })
    }
}

impl core::error::Error for BackupError {}

/// The stored side of a set of backup codes: a keyed hash of each code and
/// which are used. Store it after every [`BackupVerifier::check`].
///
/// ```
/// use passcode::{BackupCodes, BackupFormat, BackupVerifier, Secret};
///
/// let verifier = BackupVerifier::new(&Secret::from_bytes(&[3; 32])?)?;
/// let (set, _codes) = verifier.generate(&mut rand::rng(), BackupFormat::Chars10, 10)?;
/// assert_eq!(BackupCodes::from_bytes(&set.to_bytes())?, set);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// Invariant: 1 <= count <= CAPACITY; tags and used bits past count are zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackupCodes {
    tags: [[u8; 16]; BackupCodes::CAPACITY],
    count: u8,
    used: u16,
    format: BackupFormat,
}

impl BackupCodes {
    /// The most codes one set holds.
    pub const CAPACITY: usize = 16;
    /// The length of [`to_bytes`](Self::to_bytes).
    pub const ENCODED_LEN: usize = encoded_len(16 * 16 + 4);

    /// Codes in the set, used or not.
    #[must_use]
    pub const fn count(&self) -> u8 {
        self.count
    }

    /// Codes not used yet.
    #[must_use]
    pub fn remaining(&self) -> u8 {
        let used = u8::try_from(self.used.count_ones()).unwrap_or(u8::MAX);
        self.count.saturating_sub(used)
    }

    /// The format of the codes.
    #[must_use]
    pub const fn format(&self) -> BackupFormat {
        self.format
    }

    /// The stable byte encoding (see the crate documentation).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut w = Writer::new(Kind::BackupCodes);
        for tag in &self.tags {
            w.put(tag);
        }
        w.u8(self.count);
        w.put(&self.used.to_be_bytes());
        w.u8(self.format.tag());
        w.finish()
    }

    /// Decodes [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`StateError`] for bytes of the wrong length, kind or version, a
    /// checksum mismatch, or contradictory fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        let mut r = Reader::open(bytes, Kind::BackupCodes, Self::ENCODED_LEN)?;
        let mut tags = [[0u8; 16]; Self::CAPACITY];
        for tag in &mut tags {
            *tag = r.array();
        }
        let count = r.u8();
        let used = u16::from_be_bytes(r.array());
        let format = match r.u8() {
            1 => BackupFormat::Digits8,
            2 => BackupFormat::Chars10,
            _ => return Err(StateError::Invalid),
        };
        let in_use = usize::from(count);
        let beyond_clear = tags.iter().skip(in_use).all(|tag| *tag == [0; 16])
            && used.checked_shr(u32::from(count)).unwrap_or(0) == 0;
        if count == 0 || in_use > Self::CAPACITY || !beyond_clear {
            return Err(StateError::Invalid);
        }
        Ok(Self {
            tags,
            count,
            used,
            format,
        })
    }
}

impl fmt::Debug for BackupCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupCodes")
            .field("count", &self.count)
            .field("remaining", &self.remaining())
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

crate::state::serde_via_bytes!(BackupCodes);

/// Generates and checks backup codes under one application key.
///
/// ```
/// use passcode::{BackupError, BackupFormat, BackupVerifier, Secret};
///
/// let verifier = BackupVerifier::new(&Secret::generate_len(&mut rand::rng(), 32)?)?;
/// let (mut set, codes) = verifier.generate(&mut rand::rng(), BackupFormat::Chars10, 10)?;
/// let code = codes[3].as_str().to_lowercase(); // typed in any case
///
/// assert_eq!(verifier.check(&mut set, &code), Ok(9));
/// // Each code works once.
/// assert_eq!(verifier.check(&mut set, &code), Err(BackupError::Invalid));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BackupVerifier {
    key: hmac::Hmac<sha2::Sha256>,
}

/// Domain separation for the code hashes.
const LABEL: &[u8] = b"passcode backup code v1\0";

impl BackupVerifier {
    /// A verifier under the application key `key`. Keep it secret and
    /// stable: changing it invalidates every stored set.
    ///
    /// # Errors
    /// [`SecretError::TooLong`] if the HMAC implementation refuses the key;
    /// HMAC takes keys of any length, so it does not.
    pub fn new(key: &Secret) -> Result<Self, SecretError> {
        let key =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(key.hmac_key(crate::Algorithm::Sha256)?)
                .map_err(|_| SecretError::TooLong)?;
        Ok(Self { key })
    }

    /// `count` new codes, all different: the set to store and the codes to
    /// show once.
    ///
    /// # Errors
    /// [`ParamError::Limit`] unless `count` is 1 to [`BackupCodes::CAPACITY`];
    /// [`ParamError::RepeatingRng`] when `rng` keeps drawing a code the set
    /// already holds (a working generator does so about once in a million
    /// sets, and then a second draw differs).
    pub fn generate<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        format: BackupFormat,
        count: u8,
    ) -> Result<(BackupCodes, BackupCodeList), ParamError> {
        if count == 0 || usize::from(count) > BackupCodes::CAPACITY {
            return Err(ParamError::Limit);
        }
        let mut set = BackupCodes {
            tags: [[0; 16]; BackupCodes::CAPACITY],
            count,
            used: 0,
            format,
        };
        let mut list = BackupCodeList {
            codes: core::array::from_fn(|_| BackupCode {
                text: [0; 11],
                len: 0,
            }),
            count,
        };
        for (index, shown) in list.codes.iter_mut().take(usize::from(count)).enumerate() {
            let mut symbols = [0u8; 10];
            let filled = symbols.get_mut(..format.len()).unwrap_or_default();
            let mut draws = 0u8;
            let tag = loop {
                random_symbols(rng, format, filled);
                let tag = self.tag(format, filled);
                // Two equal codes in a set would let one text in twice.
                let earlier = set.tags.get(..index).unwrap_or_default();
                let repeated = earlier
                    .iter()
                    .fold(Choice::from(0), |repeated, t| repeated | t.ct_eq(&tag));
                if !declassify::choice(repeated) {
                    break tag;
                }
                draws = draws.saturating_add(1);
                if draws >= MAX_DRAWS {
                    symbols.zeroize();
                    return Err(ParamError::RepeatingRng);
                }
            };
            if let Some(slot) = set.tags.get_mut(index) {
                *slot = tag;
            }
            *shown = BackupCode::shown(filled, format);
            symbols.zeroize();
        }
        Ok((set, list))
    }

    /// Checks `input` against every unused code of `set`, in constant time,
    /// and marks the matching one used. Returns the codes left.
    ///
    /// # Errors
    /// [`BackupError::Malformed`] before any comparison when `input` is not
    /// written in the set's format; [`BackupError::Invalid`] when no unused
    /// code matches.
    pub fn check(&self, set: &mut BackupCodes, input: &str) -> Result<u8, BackupError> {
        let mut symbols = [0u8; 10];
        set.format.canonical(input, &mut symbols)?;
        let len = set.format.len();
        let tag = self.tag(set.format, symbols.get(..len).unwrap_or_default());
        symbols.zeroize();
        let mut found = Choice::from(0);
        let mut index = 0u16;
        for (slot, stored) in (0u16..).zip(set.tags.iter()).take(usize::from(set.count)) {
            let unused = Choice::from(u8::from(
                set.used.checked_shr(u32::from(slot)).unwrap_or(1) & 1 == 0,
            ));
            let hit = stored.ct_eq(&tag) & unused;
            index.conditional_assign(&slot, hit);
            found |= hit;
        }
        if declassify::choice(found) {
            let index = declassify::public(index);
            set.used |= 1u16.checked_shl(u32::from(index)).unwrap_or(0);
            Ok(set.remaining())
        } else {
            Err(BackupError::Invalid)
        }
    }

    /// HMAC-SHA-256(key, label || format || symbols), first 16 bytes.
    fn tag(&self, format: BackupFormat, symbols: &[u8]) -> [u8; 16] {
        let mut mac = self.key.clone();
        mac.update(LABEL);
        mac.update(&[format.tag()]);
        mac.update(symbols);
        let mut full = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        for (t, b) in tag.iter_mut().zip(full.iter()) {
            *t = *b;
        }
        full.as_mut_slice().zeroize();
        tag
    }
}

/// Fills `out` with uniform symbols of `format`: digits by rejection
/// sampling (`decimal::random_digits`), or alphabet symbols from a byte's
/// low five bits (32 symbols: no bias).
/// Draws per code before [`BackupVerifier::generate`] gives up on a
/// generator that keeps repeating earlier codes.
const MAX_DRAWS: u8 = 16;

fn random_symbols<R: CryptoRng + ?Sized>(rng: &mut R, format: BackupFormat, out: &mut [u8]) {
    match format {
        BackupFormat::Digits8 => decimal::random_digits(rng, out),
        BackupFormat::Chars10 => {
            rng.fill_bytes(out);
            for byte in out.iter_mut() {
                *byte = symbol_at(*byte & 31);
            }
        }
    }
}

impl fmt::Debug for BackupVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupVerifier").finish_non_exhaustive()
    }
}
