//! The master key, seeds sealed under it, and API keys.
//!
//! TOTP seeds are sealed with XChaCha20-Poly1305 under a 32-byte master key
//! kept in a file outside the database; each ciphertext carries a random
//! 24-byte nonce and is bound to its row by associated data, so a sealed
//! seed copied to another row does not open. The database holds a key
//! check (a sealed constant) so a server started with the wrong key file
//! refuses to start instead of failing every verification.
//!
//! API keys are random and stored only as their SHA-256 hash: the hash of a
//! high-entropy key needs no salt, and looking up by hash means a stored
//! value is never compared with a key byte by byte.

use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{Rng, RngExt};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// The meta key under which the key check is stored.
pub const KEY_CHECK: &str = "master_key_check";
const KEY_CHECK_TEXT: &[u8] = b"passcode-server master key check v1";

/// Why the master key cannot be used.
#[derive(Debug)]
pub enum KeyError {
    /// The file cannot be read or written.
    Io(String),
    /// The file does not hold 64 hex characters on one line.
    Format,
    /// The key is all zeros: a placeholder, not a key.
    Zero,
    /// The path is not a regular file (a FIFO, a device, a directory).
    NotAFile(String),
    /// Group or others may read or write the file: the path, and its mode.
    Exposed(String, u32),
    /// The key does not open the database's key check.
    Mismatch,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(why) => write!(f, "master key file: {why}"),
            Self::Format => {
                f.write_str("master key file must hold 64 hex characters (32 bytes) on one line")
            }
            Self::Zero => f.write_str("master key file holds an all-zero key: give a random one"),
            Self::NotAFile(path) => write!(f, "master key file {path} is not a regular file"),
            Self::Exposed(path, mode) => write!(
                f,
                "master key file {path} has mode {mode:03o}: group and others must not read or write it; run `chmod 600 {path}`"
            ),
            Self::Mismatch => f.write_str(
                "the master key does not match this database (its key check does not open): \
                 start with the key file the database was created with",
            ),
        }
    }
}

impl std::error::Error for KeyError {}

/// The master key. Its `Debug` prints nothing of it.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    sms_key: Zeroizing<[u8; 32]>,
    sid_cipher: aes::Aes128,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A key from its 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        // The SMS codes are derived under a key of their own, derived from
        // the master key so that there is one secret to keep.
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(bytes)
            .unwrap_or_else(|_| unreachable_hmac());
        hmac::Mac::update(&mut mac, b"passcode-server sms key v1");
        let sms_key: [u8; 32] = hmac::Mac::finalize(mac).into_bytes().into();
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(bytes)
            .unwrap_or_else(|_| unreachable_hmac());
        hmac::Mac::update(&mut mac, b"passcode-server sid key v1");
        let mut sid_key: [u8; 32] = hmac::Mac::finalize(mac).into_bytes().into();
        let sid_cipher = <aes::Aes128 as KeyInit>::new_from_slice(&sid_key[..16])
            .unwrap_or_else(|_| unreachable_hmac());
        sid_key.zeroize();
        Self {
            cipher: XChaCha20Poly1305::new(bytes.into()),
            sms_key: Zeroizing::new(sms_key),
            sid_cipher,
        }
    }

    /// Reads the key file, or creates it with a new random key (mode 0600)
    /// when it does not exist; `true` when it was created.
    ///
    /// # Errors
    /// [`KeyError::Io`] or [`KeyError::Format`].
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        // What the path is, before it is opened: opening a FIFO to read it
        // would wait for a writer forever.
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => {
                return Err(KeyError::NotAFile(path.display().to_string()));
            }
            Ok(meta) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = meta.permissions().mode() & 0o777;
                    if mode & 0o066 != 0 {
                        return Err(KeyError::Exposed(path.display().to_string(), mode));
                    }
                }
                #[cfg(not(unix))]
                let _ = meta;
            }
            Err(_) => {}
        }
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                rand::rng().fill_bytes(bytes.as_mut());
                let mut text = Zeroizing::new(hex::encode(bytes.as_ref()));
                text.push('\n');
                create_private_dir(path).map_err(|e| KeyError::Io(e.to_string()))?;
                // Written whole to a private temporary file, then linked
                // into place: the link fails if another process got there
                // first, and then its key is the one read; nobody ever reads
                // half a key.
                let temporary = path.with_extension(format!("tmp-{}", hex::encode(&bytes[..4])));
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let written = options.open(&temporary).and_then(|mut file| {
                    file.write_all(text.as_bytes())?;
                    file.sync_all()
                });
                let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
                let _ = std::fs::remove_file(&temporary);
                match linked {
                    Ok(()) => Ok((Self::from_bytes(&bytes), true)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text = std::fs::read_to_string(path)
                            .map_err(|e| KeyError::Io(e.to_string()))?;
                        Ok((Self::parse(&text)?, false))
                    }
                    Err(e) => Err(KeyError::Io(e.to_string())),
                }
            }
            Err(e) => Err(KeyError::Io(e.to_string())),
        }
    }

    /// Parses 64 hex characters on one line.
    ///
    /// # Errors
    /// [`KeyError::Format`].
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let line = text.strip_suffix('\n').unwrap_or(text);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut bytes = Zeroizing::new([0u8; 32]);
        if line.len() != 64 || hex::decode_to_slice(line, bytes.as_mut()).is_err() {
            return Err(KeyError::Format);
        }
        if bytes.iter().all(|&b| b == 0) {
            return Err(KeyError::Zero);
        }
        Ok(Self::from_bytes(&bytes))
    }

    /// Seals `plain`, bound to `context` (the row it is stored in).
    #[must_use]
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            // Encryption fails only for messages past 256 GiB.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(24 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`seal`](Self::seal) made under the same `context`.
    #[must_use]
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, body) = sealed.split_at_checked(24)?;
        self.cipher
            .decrypt(
                &XNonce::try_from(nonce).ok()?,
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// The key check to store in a new database.
    #[must_use]
    pub fn key_check(&self) -> Vec<u8> {
        self.seal(KEY_CHECK_TEXT, KEY_CHECK.as_bytes())
    }

    /// Whether `check` was made under this key.
    ///
    /// # Errors
    /// [`KeyError::Mismatch`].
    pub fn verify_check(&self, check: &[u8]) -> Result<(), KeyError> {
        match self.open(check, KEY_CHECK.as_bytes()) {
            Some(text) if text.as_slice() == KEY_CHECK_TEXT => Ok(()),
            _ => Err(KeyError::Mismatch),
        }
    }

    /// The key SMS and voice codes are derived under.
    #[must_use]
    pub fn sms_key(&self) -> &[u8; 32] {
        &self.sms_key
    }

    /// One block under the SID key (AES-128 as a pseudo-random
    /// permutation): a SID that carries what it names, such as the number a
    /// verification is for, without showing it, and that no one without
    /// the key can make.
    #[must_use]
    pub fn seal_block(&self, block: [u8; 16]) -> [u8; 16] {
        use aes::cipher::BlockCipherEncrypt;
        let mut block = block.into();
        self.sid_cipher.encrypt_block(&mut block);
        block.into()
    }

    /// The block [`seal_block`](Self::seal_block) sealed.
    #[must_use]
    pub fn open_block(&self, block: [u8; 16]) -> [u8; 16] {
        use aes::cipher::BlockCipherDecrypt;
        let mut block = block.into();
        self.sid_cipher.decrypt_block(&mut block);
        block.into()
    }
}

/// Creates the directory `file` will be in, when it is missing, readable
/// by its owner only: it holds the database or the master key.
///
/// # Errors
/// When it cannot be created.
pub fn create_private_dir(file: &Path) -> std::io::Result<()> {
    let Some(dir) = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    else {
        return Ok(());
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn unreachable_hmac() -> ! {
    // HMAC takes keys of every length; new_from_slice cannot fail.
    std::process::abort()
}

/// A new API key: 32 characters from the 62 letters and digits (190 bits),
/// the shape Authy's keys had.
#[must_use]
pub fn new_api_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The stored form of an API key.
#[must_use]
pub fn key_hash(key: &str) -> [u8; 32] {
    let mut hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let out = hash;
    hash.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_seed_opens_only_in_its_own_row() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let sealed = key.seal(b"seed", b"device:1");
        assert_eq!(
            key.open(&sealed, b"device:1").as_deref().map(Vec::as_slice),
            Some(&b"seed"[..])
        );
        assert!(key.open(&sealed, b"device:2").is_none());
        let other = MasterKey::from_bytes(&[8; 32]);
        assert!(other.open(&sealed, b"device:1").is_none());
        assert!(key.open(&sealed[..10], b"device:1").is_none());
    }

    #[test]
    fn the_key_check_refuses_another_key() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let check = key.key_check();
        assert!(key.verify_check(&check).is_ok());
        assert!(matches!(
            MasterKey::from_bytes(&[9; 32]).verify_check(&check),
            Err(KeyError::Mismatch)
        ));
    }

    #[test]
    fn key_files_are_64_hex_characters_on_one_line() {
        let hex64 = "0f".repeat(32);
        assert!(MasterKey::parse(&hex64).is_ok());
        assert!(MasterKey::parse(&format!("{hex64}\n")).is_ok());
        assert!(MasterKey::parse(&format!("{hex64}\r\n")).is_ok());
        assert!(matches!(
            MasterKey::parse(&"00".repeat(31)),
            Err(KeyError::Format)
        ));
        assert!(matches!(
            MasterKey::parse(&format!("{hex64}\n\n")),
            Err(KeyError::Format)
        ));
        assert!(matches!(
            MasterKey::parse(&"zz".repeat(32)),
            Err(KeyError::Format)
        ));
    }

    #[test]
    fn a_created_key_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let (key, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(created);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = std::fs::metadata(path.parent().unwrap()).unwrap();
            assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        }
        let (again, created) = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(!created);
        assert!(again.verify_check(&key.key_check()).is_ok());
    }

    /// D11: a key file others could read, an all-zero key and a FIFO
    /// (which hung the start) were all taken.
    #[cfg(unix)]
    #[test]
    fn exposed_zero_and_odd_key_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = MasterKey::load_or_create(&path).unwrap_err();
            assert!(
                matches!(error, KeyError::Exposed(_, m) if m == mode),
                "{mode:o}"
            );
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(MasterKey::load_or_create(&path).is_ok());
        std::fs::write(&path, format!("{}\n", "00".repeat(32))).unwrap();
        assert!(matches!(
            MasterKey::load_or_create(&path),
            Err(KeyError::Zero)
        ));
        let fifo = dir.path().join("fifo.key");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(MasterKey::load_or_create(&fifo).is_err()));
        let refused = rx.recv_timeout(std::time::Duration::from_secs(5));
        assert_eq!(refused, Ok(true), "a FIFO must be refused without a wait");
        assert!(matches!(
            MasterKey::load_or_create(dir.path()),
            Err(KeyError::NotAFile(_))
        ));
    }

    #[test]
    fn processes_creating_the_key_at_once_agree_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let keys: Vec<MasterKey> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| MasterKey::load_or_create(&path).unwrap().0))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let check = keys[0].key_check();
        assert!(keys.iter().all(|k| k.verify_check(&check).is_ok()));
    }

    #[test]
    fn api_keys_are_long_and_distinct() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(key_hash(&a), key_hash(&a.clone()));
        assert_ne!(key_hash(&a), key_hash(&b));
    }
}
