//! Where a verification's code goes, and how its SID finds it again: a
//! number (packed into the SID's sealed block) or an e-mail address (its
//! keyed tag in the block, the address itself in the state), with the
//! rules an address must meet.

use super::accounts::sid_bytes;
use super::*;

pub(super) fn channel_code(channel: Channel) -> u8 {
    match channel {
        Channel::Sms => 1,
        Channel::Call => 2,
        Channel::Email => 3,
    }
}

pub(super) fn channel_of(code: u8) -> Channel {
    match code {
        2 => Channel::Call,
        3 => Channel::Email,
        _ => Channel::Sms,
    }
}

/// The first byte of the sealed block of a verification SID by e-mail. A
/// number's block starts with the nibble of its first digit, 1 to 9
/// (E.164 has no leading zero), so it is never a number's.
pub(super) const MAIL_MARK: u8 = 0xEE;
/// Bytes of an address's keyed tag in its SID and its state's key (88
/// bits: two addresses of one application share a tag with a chance of
/// about n^2 / 2^89). The SID's last 4 bytes are random.
pub(super) const MAIL_TAG: usize = 11;

/// Where a verification's code goes.
pub(super) enum Destination {
    /// A number.
    Number(Phone),
    /// An e-mail address and its keyed tag.
    Mail {
        address: lettre::Address,
        tag: [u8; MAIL_TAG],
    },
}

/// What a verification SID says of its destination.
pub(super) enum Target {
    /// The number, in E.164.
    Number(String),
    /// The keyed tag of the e-mail address.
    Mail([u8; MAIL_TAG]),
}

impl Target {
    /// The key of the verification's state.
    pub(super) fn key(&self, app_id: i64) -> StateKey {
        match self {
            Self::Number(e164) => verification_key(app_id, e164),
            Self::Mail(tag) => verification_key(app_id, &mail_name(tag)),
        }
    }

    /// What is shown as the verification's `to`: the number, or the
    /// address stored in its state.
    pub(super) fn shown(&self, pending: &Pending) -> Option<String> {
        match self {
            Self::Number(e164) => Some(e164.clone()),
            Self::Mail(_) => pending.address.as_deref().map(str::to_owned),
        }
    }
}

/// The name an address goes by in keys: its tag, never the address.
pub(super) fn mail_name(tag: &[u8; MAIL_TAG]) -> String {
    format!("mail:{}", hex::encode(tag))
}

/// `to` as an address the server mails: ASCII, a local part without quotes
/// and a domain name of at least two labels. Refused: what lettre takes
/// beyond that (a domain literal `[10.0.0.5]` or a bare IP, which would
/// let a tenant mail hosts inside the relay's network, or `localhost`),
/// and forms that name one mailbox in several spellings (quoted local
/// parts, Unicode), which would each count as another address against
/// the send limits. ASCII letters' case is the one spelling left, and the
/// tag ignores it.
pub(super) fn plain_address(to: &str) -> Option<lettre::Address> {
    if to.len() > MAX_ADDRESS || !to.is_ascii() || to.contains('"') {
        return None;
    }
    let address: lettre::Address = to.parse().ok()?;
    let labels: Vec<&str> = address.domain().split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let top_ok = labels
        .last()
        .is_some_and(|top| top.bytes().any(|b| b.is_ascii_alphabetic()));
    (labels.len() >= 2 && labels.iter().all(label_ok) && top_ok).then_some(address)
}

/// A character a display name may not carry: controls, and the format
/// characters that reorder or hide text (bidirectional overrides, zero
/// widths).
pub(super) fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `a***@example.com`: an address as attempts show it.
pub(super) fn masked_address(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or(("", address));
    let first = local.chars().next().map(String::from).unwrap_or_default();
    format!("{first}***@{domain}")
}

/// The number in a verification SID's sealed block: E.164's digits as
/// nibbles, padded with `0xF`, then 8 random bytes.
pub(super) fn pack_number(e164: &str) -> Option<[u8; 8]> {
    let digits = e164.strip_prefix('+')?.as_bytes();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut packed = [0xFFu8; 8];
    for (i, d) in digits.iter().enumerate() {
        let nibble = d - b'0';
        let byte = &mut packed[i / 2];
        *byte = if i % 2 == 0 {
            (nibble << 4) | 0x0F
        } else {
            (*byte & 0xF0) | nibble
        };
    }
    Some(packed)
}

pub(super) fn unpack_number(packed: &[u8]) -> Option<String> {
    let mut out = String::from("+");
    for nibble in packed.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        match nibble {
            0..=9 => {
                if out.len() > 15 && nibble != 0xF {
                    return None;
                }
                out.push(char::from(b'0' + nibble));
            }
            0xF => break,
            _ => return None,
        }
    }
    // Only padding may follow the first 0xF.
    (out.len() > 1).then_some(out)
}

impl Domain {
    /// A new verification SID for `to`: the number and 8 random bytes, or
    /// the address's tag and 4 random bytes, sealed in one block, so that
    /// the SID finds its state without an index and shows nothing of its
    /// destination.
    pub(super) fn verification_sid(&self, to: &Destination) -> Option<[u8; 16]> {
        let mut block = [0u8; 16];
        match to {
            Destination::Number(phone) => {
                block[..8].copy_from_slice(&pack_number(&phone.e164)?);
                rand::rng().fill_bytes(&mut block[8..]);
            }
            Destination::Mail { tag, .. } => {
                block[0] = MAIL_MARK;
                block[1..=MAIL_TAG].copy_from_slice(tag);
                rand::rng().fill_bytes(&mut block[1 + MAIL_TAG..]);
            }
        }
        Some(self.key.seal_block(block))
    }

    /// The destination a verification SID was made for.
    pub(super) fn target_of(&self, sid: &str) -> Option<Target> {
        let block = self.key.open_block(sid_bytes("VE", sid)?);
        if block[0] == MAIL_MARK {
            return Some(Target::Mail(block[1..=MAIL_TAG].try_into().ok()?));
        }
        unpack_number(&block[..8]).map(Target::Number)
    }

    /// The keyed tag of an e-mail address, the same for every case of it.
    pub(super) fn mail_tag(&self, address: &str) -> [u8; MAIL_TAG] {
        let tag = self.keyed_tag(
            b"passcode-server mail address v1\0",
            &[address.to_ascii_lowercase().as_bytes()],
        );
        let mut out = [0u8; MAIL_TAG];
        out.copy_from_slice(&tag[..MAIL_TAG]);
        out
    }

    /// Where `to` is, for `channel`: an e-mail address for e-mail, a
    /// number in E.164 otherwise.
    pub(super) fn destination(&self, to: &str, channel: Channel) -> Result<Destination, Error> {
        if channel != Channel::Email {
            return Phone::parse_e164(to, false)
                .map(Destination::Number)
                .map_err(|_| Error::InvalidPhone);
        }
        let not_an_address = || Error::Invalid {
            name: "To",
            reason: "is not an e-mail address".into(),
        };
        let address = plain_address(to).ok_or_else(not_an_address)?;
        Ok(Destination::Mail {
            tag: self.mail_tag(to),
            address,
        })
    }

    /// What a check's `To` names: an e-mail address (it has an `@`) or a
    /// number, read only as far as its E.164 form (see
    /// [`Phone::e164_key`]); where nothing is found under it,
    /// [`Self::missing`] gives the answer.
    pub(super) fn target(&self, to: &str) -> Result<Target, Error> {
        if to.contains('@') {
            return Ok(Target::Mail(self.mail_tag(to)));
        }
        Ok(Target::Number(
            Phone::e164_key(to, false)
                .map_err(|_| Error::InvalidPhone)?
                .to_owned(),
        ))
    }

    /// The answer to a check of `to` that found no verification: not
    /// found, or, for a number that is not valid, the error a reading of
    /// it gives.
    pub(super) fn missing(to: &str) -> Error {
        if to.contains('@') || Phone::parse_e164(to, false).is_ok() {
            Error::NotFound
        } else {
            Error::InvalidPhone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::accounts::sid_text;
    use super::*;

    #[test]
    fn numbers_pack_into_a_sid_block_and_back() {
        for number in ["+1", "+17754615609", "+390669821234", "+123456789012345"] {
            let packed = pack_number(number).unwrap();
            assert_eq!(unpack_number(&packed).as_deref(), Some(number));
        }
        for bad in ["17754615609", "+", "+1234567890123456", "+1x"] {
            assert_eq!(pack_number(bad), None, "{bad}");
        }
        assert_eq!(unpack_number(&[0xFF; 8]), None);
        assert_eq!(
            unpack_number(&[0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            None
        );
    }

    #[test]
    fn a_verification_sid_names_its_number_under_the_key_only() {
        let store: Arc<dyn Store> = Arc::new(
            crate::store::sqlite::Sqlite::open(
                &std::env::temp_dir().join(format!("passcode-sid-{}.db", std::process::id())),
                crate::store::sqlite::Durability::Normal,
            )
            .unwrap(),
        );
        let domain = |key: u8| {
            Domain::new(
                Arc::clone(&store),
                Arc::new(MasterKey::from_bytes(&[key; 32])),
                Arc::new(crate::sender::LogSender),
                Limits::default(),
            )
        };
        let (one, two) = (domain(1), domain(2));
        let number = |d: &Domain, sid: &str| match d.target_of(sid) {
            Some(Target::Number(e164)) => Some(e164),
            _ => None,
        };
        let phone = one.destination("+17754615609", Channel::Sms).unwrap();
        let sid = sid_text("VE", &one.verification_sid(&phone).unwrap());
        assert_eq!(number(&one, &sid).as_deref(), Some("+17754615609"));
        assert!(!sid.contains("17754615609"));
        assert_ne!(number(&two, &sid).as_deref(), Some("+17754615609"));
        let again = sid_text("VE", &one.verification_sid(&phone).unwrap());
        assert_ne!(sid, again, "each verification has its own SID");
        // An address's SID names its tag, the same for every case of the
        // address, and never a number.
        let mail = one
            .destination("Alice@Example.com", Channel::Email)
            .unwrap();
        let sid = sid_text("VE", &one.verification_sid(&mail).unwrap());
        let Some(Target::Mail(tag)) = one.target_of(&sid) else {
            panic!("not an address's SID");
        };
        assert_eq!(tag, one.mail_tag("alice@example.com"));
        assert_ne!(tag, one.mail_tag("alice@example.org"));
        assert_ne!(tag, two.mail_tag("alice@example.com"));
        // Another master key opens the SID to something else: never to
        // this address's tag under either key.
        let theirs = two.mail_tag("alice@example.com");
        assert!(!matches!(two.target_of(&sid), Some(Target::Mail(t)) if t == theirs || t == tag));
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "root@localhost",
            "x@[10.0.0.5]",
            "x@10.0.0.5",
            "\"alice\"@example.com",
            "alice@exämple.com",
            "alice@-example.com",
            "alice@example..com",
        ] {
            assert!(one.destination(bad, Channel::Email).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_ADDRESS));
        assert!(one.destination(&long, Channel::Email).is_err());
        assert!(one.destination("alice@example.com", Channel::Sms).is_err());
        assert_eq!(masked_address("alice@example.com"), "a***@example.com");
        assert!(!"Acme\u{202E}moc.evil".chars().all(|c| !hidden(c)));
        assert!("Acme Security".chars().all(|c| !hidden(c)));
    }
}
