//! Each state's stored encoding: the library's, and the wrappers that
//! keep more beside it (an authenticator's guess budget, a verification's
//! Verify facts, a QR link).

use super::*;

/// A state the store keeps, in the library's encoding.
pub(super) trait Stored: Sized + Clone {
    fn decode(bytes: &[u8]) -> Option<Self>;
    fn encode(&self) -> Vec<u8>;
    /// When the state stops deciding anything (its absence then decides
    /// the same): the sweeper removes it from then on. `None`: it lives as
    /// long as its owner.
    fn expires_at(&self) -> Option<u64> {
        None
    }
}

impl Stored for TotpState {
    fn decode(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes).ok()
    }
    fn encode(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
}

/// An authenticator's state: the library's TOTP state (the last step
/// used, the drift, the failures its throttle counts) and the day's budget
/// of wrong guesses, written together by one compare-and-set. Rows written
/// before the budget existed hold the TOTP state alone. A retired
/// authenticator (being replaced by a new enrolment) accepts nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Guarded {
    pub(super) totp: TotpState,
    pub(super) guesses: RateLimitState,
    pub(super) retired: bool,
}

/// The whole state of a retired authenticator.
pub(super) const RETIRED: &[u8] = b"retired";

impl Stored for Guarded {
    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes == RETIRED {
            return Some(Self {
                retired: true,
                ..Self::default()
            });
        }
        let (totp, guesses) = bytes.split_at_checked(TotpState::ENCODED_LEN)?;
        Some(Self {
            totp: TotpState::from_bytes(totp).ok()?,
            guesses: if guesses.is_empty() {
                RateLimitState::new()
            } else {
                RateLimitState::from_bytes(guesses).ok()?
            },
            retired: false,
        })
    }
    fn encode(&self) -> Vec<u8> {
        if self.retired {
            return RETIRED.to_vec();
        }
        let mut out = self.totp.to_bytes().to_vec();
        out.extend_from_slice(&self.guesses.to_bytes());
        out
    }
}

impl Stored for RateLimitState {
    fn decode(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes).ok()
    }
    fn encode(&self) -> Vec<u8> {
        self.to_bytes().to_vec()
    }
}

/// An SMS verification with the digit count its codes were made with and,
/// once approved, a keyed tag of the code it approved: a later attempt
/// with the same code is then a replay, while the code itself is
/// never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) digits: u8,
    pub(super) state: SmsVerification,
    pub(super) used: Option<[u8; 32]>,
    /// What the Verify surface adds to a verification it started.
    pub(super) verify: Option<VerifyPart>,
    /// The e-mail address of a verification by e-mail, as it was given
    /// (its key holds only a keyed tag of it, which does not give it back).
    pub(super) address: Option<Box<str>>,
    /// A custom code's digits less the derived code's, digit by digit
    /// modulo 10 (`digits` of them): the code sent is the derived one plus
    /// these, and a code checked has them taken off first. Without the
    /// master key, which derives the code, they tell nothing of the custom
    /// code; the custom code itself is never stored.
    pub(super) offsets: Option<[u8; 10]>,
}

impl Pending {
    /// The code to send: the derived `code`, or the custom code it stands
    /// for.
    pub(super) fn sent(&self, code: &str) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(match &self.offsets {
            None => code.to_owned(),
            Some(offsets) => shift(code, offsets, true),
        })
    }

    /// What to check against the derived code for `input`: itself, or, for
    /// a custom code, `input` with the offsets taken off its digits. The
    /// separators the library reads (`123 456`, `123-456`) stay where they
    /// are, for the library to judge as it judges any code; input with
    /// another count of digits is left as it is (and refused).
    pub(super) fn checked(&self, input: &str) -> zeroize::Zeroizing<String> {
        let digits = input.bytes().filter(u8::is_ascii_digit).count();
        zeroize::Zeroizing::new(match &self.offsets {
            Some(offsets) if digits == usize::from(self.digits) => shift(input, offsets, false),
            _ => input.to_owned(),
        })
    }
}

/// The offsets that turn the derived `code` into `custom` (both digits of
/// one length, at most 10).
pub(super) fn offsets_between(code: &str, custom: &str) -> Option<[u8; 10]> {
    if code.len() != custom.len() || code.len() > 10 {
        return None;
    }
    let mut out = [0u8; 10];
    for ((slot, c), d) in out.iter_mut().zip(custom.bytes()).zip(code.bytes()) {
        if !c.is_ascii_digit() || !d.is_ascii_digit() {
            return None;
        }
        *slot = (c - b'0' + 10 - (d - b'0')) % 10;
    }
    Some(out)
}

/// `text` with its digits, in order, each shifted up (`add`) or down by its
/// offset modulo 10, and any other character kept: arithmetic on every
/// digit, no branch on a digit's value. At most 10 digits are shifted.
fn shift(text: &str, offsets: &[u8; 10], add: bool) -> String {
    let mut next = offsets.iter();
    text.chars()
        .map(|c| match (c.is_ascii_digit(), c.to_digit(10)) {
            (true, Some(d)) => {
                let o = next.next().map_or(0, |&o| u32::from(o));
                let o = if add { o } else { 10 - o };
                char::from_digit((d + o) % 10, 10).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// The most bytes of an e-mail address (RFC 5321's 256-octet path, less
/// its angle brackets).
pub(super) const MAX_ADDRESS: usize = 254;

/// A Verify verification's own facts beside the code's state: its service,
/// its SID, its sends, and how it ended where the library's state does not
/// say (approved or canceled by an update, out of checks once reported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct VerifyPart {
    pub(super) service: [u8; 16],
    pub(super) sid: [u8; 16],
    pub(super) updated_at: u64,
    pub(super) end: VerifyEnd,
    pub(super) sends: u8,
    /// Each send's time and channel (`Channel::code`), `sends` of them.
    pub(super) attempts: [(u64, u8); MAX_SENDS],
}

/// Sends a verification takes at most (the library's policy).
pub(super) const MAX_SENDS: usize = 5;

/// How a Verify verification ended, beyond the library's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VerifyEnd {
    /// Not ended by the surface.
    Open,
    /// Its checks ran out and a check was answered so (429): later checks
    /// find nothing (404).
    Exhausted,
    /// Canceled by an update.
    Canceled,
    /// Approved by an update (the library's state is canceled, so that no
    /// code approves it again).
    Approved,
}

impl VerifyPart {
    const MARK: u8 = b'V';
    const HEAD: usize = 1 + 16 + 16 + 8 + 1 + 1;

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (head, rest) = bytes.split_at_checked(Self::HEAD)?;
        if head[0] != Self::MARK {
            return None;
        }
        let sends = head[Self::HEAD - 1];
        if usize::from(sends) > MAX_SENDS || rest.len() != usize::from(sends) * 9 {
            return None;
        }
        let mut attempts = [(0, 0); MAX_SENDS];
        for (slot, chunk) in attempts.iter_mut().zip(rest.chunks_exact(9)) {
            *slot = (u64::from_be_bytes(chunk[..8].try_into().ok()?), chunk[8]);
        }
        Some(Self {
            service: head[1..17].try_into().ok()?,
            sid: head[17..33].try_into().ok()?,
            updated_at: u64::from_be_bytes(head[33..41].try_into().ok()?),
            end: match head[41] {
                0 => VerifyEnd::Open,
                1 => VerifyEnd::Exhausted,
                2 => VerifyEnd::Canceled,
                3 => VerifyEnd::Approved,
                _ => return None,
            },
            sends,
            attempts,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.push(Self::MARK);
        out.extend_from_slice(&self.service);
        out.extend_from_slice(&self.sid);
        out.extend_from_slice(&self.updated_at.to_be_bytes());
        out.push(match self.end {
            VerifyEnd::Open => 0,
            VerifyEnd::Exhausted => 1,
            VerifyEnd::Canceled => 2,
            VerifyEnd::Approved => 3,
        });
        let attempts = self.attempts();
        out.push(u8::try_from(attempts.len()).unwrap_or(0));
        for (time, channel) in attempts {
            out.extend_from_slice(&time.to_be_bytes());
            out.push(*channel);
        }
    }

    /// The sends so far.
    pub(super) fn attempts(&self) -> &[(u64, u8)] {
        &self.attempts[..usize::from(self.sends).min(MAX_SENDS)]
    }

    /// Records a send, while there is room (the library allows no more).
    pub(super) fn record_send(&mut self, now: u64, channel: u8) {
        if let Some(slot) = self.attempts.get_mut(usize::from(self.sends)) {
            *slot = (now, channel);
            self.sends += 1;
        }
        self.updated_at = now;
    }
}

impl Stored for Pending {
    fn expires_at(&self) -> Option<u64> {
        Some(self.state.expires_at())
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&first, rest) = bytes.split_first()?;
        // The digit count's high bit says an address follows the state,
        // its length in one byte; states written before addresses existed
        // never set it (digits are 4 to 10).
        // 0x40 says a custom code's offsets follow (after the address, if
        // any), one byte a digit.
        let digits = first & 0x3F;
        let (state, rest) = rest.split_at_checked(SmsVerification::ENCODED_LEN)?;
        let (address, rest) = if first & 0x80 == 0 {
            (None, rest)
        } else {
            let (&len, rest) = rest.split_first()?;
            let (text, rest) = rest.split_at_checked(usize::from(len))?;
            let text = std::str::from_utf8(text).ok()?;
            (Some(Box::<str>::from(text)), rest)
        };
        let (offsets, rest) = if first & 0x40 == 0 {
            (None, rest)
        } else {
            let (stored, rest) = rest.split_at_checked(usize::from(digits))?;
            if stored.len() > 10 || stored.iter().any(|&o| o > 9) {
                return None;
            }
            let mut offsets = [0u8; 10];
            offsets[..stored.len()].copy_from_slice(stored);
            (Some(offsets), rest)
        };
        // After the state: nothing, a used tag (32 bytes), a Verify part
        // (43 + 9n bytes), or both; the lengths tell them apart (32 and
        // 75 + 9n are 5 and 3 modulo 9, 43 + 9n is 7).
        let (used, verify) = match rest.len() {
            0 => (None, None),
            32 => (Some(rest.try_into().ok()?), None),
            n if n % 9 == 43 % 9 => (None, Some(VerifyPart::decode(rest)?)),
            _ => {
                let (used, verify) = rest.split_at_checked(32)?;
                (
                    Some(used.try_into().ok()?),
                    Some(VerifyPart::decode(verify)?),
                )
            }
        };
        Some(Self {
            digits,
            state: SmsVerification::from_bytes(state).ok()?,
            used,
            verify,
            address,
            offsets,
        })
    }
    fn encode(&self) -> Vec<u8> {
        // An address longer than a byte can count is never stored: the
        // domain refuses it first (MAX_ADDRESS); were one to come here, it
        // would be left out, and its verification found by its tag alone.
        let address = self
            .address
            .as_deref()
            .and_then(|a| Some((a, u8::try_from(a.len()).ok()?)));
        let offsets = self
            .offsets
            .as_ref()
            .and_then(|o| o.get(..usize::from(self.digits)));
        let mut out = vec![
            self.digits
                | if address.is_some() { 0x80 } else { 0 }
                | if offsets.is_some() { 0x40 } else { 0 },
        ];
        out.extend_from_slice(&self.state.to_bytes());
        if let Some((text, len)) = address {
            out.push(len);
            out.extend_from_slice(text.as_bytes());
        }
        if let Some(offsets) = offsets {
            out.extend_from_slice(offsets);
        }
        if let Some(tag) = &self.used {
            out.extend_from_slice(tag);
        }
        if let Some(verify) = &self.verify {
            verify.encode(&mut out);
        }
        out
    }
}

/// What a QR code link points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QrLink {
    pub(super) user_id: i64,
    pub(super) device_id: i64,
    pub(super) expires_at: u64,
}

impl Stored for QrLink {
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: [u8; 24] = bytes.try_into().ok()?;
        let (a, rest) = bytes.split_at(8);
        let (b, c) = rest.split_at(8);
        Some(Self {
            user_id: i64::from_be_bytes(a.try_into().ok()?),
            device_id: i64::from_be_bytes(b.try_into().ok()?),
            expires_at: u64::from_be_bytes(c.try_into().ok()?),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.user_id.to_be_bytes());
        out.extend_from_slice(&self.device_id.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_wrappers_round_trip_and_refuse_garbage() {
        let link = QrLink {
            user_id: 1000,
            device_id: 7,
            expires_at: 1_700_000_000,
        };
        assert_eq!(QrLink::decode(&link.encode()), Some(link));
        assert_eq!(QrLink::decode(&[0; 23]), None);
        assert_eq!(Pending::decode(&[]), None);
        assert_eq!(Pending::decode(&[6, 1, 2, 3]), None);
        let verifier =
            SmsVerifier::new(&Secret::from_bytes(&[1; 32]).unwrap(), SmsPolicy::new()).unwrap();
        let (state, _) = verifier.start(&mut rand::rng(), "s", 10);
        let mut part = VerifyPart {
            service: [1; 16],
            sid: [2; 16],
            updated_at: 1_700_000_000,
            end: VerifyEnd::Exhausted,
            sends: 0,
            attempts: [(0, 0); MAX_SENDS],
        };
        let mut parts = vec![None];
        for n in 0..=MAX_SENDS as u64 {
            part.record_send(1_700_000_000 + n, 1);
            parts.push(Some(part));
        }
        assert_eq!(
            part.attempts().len(),
            MAX_SENDS,
            "a sixth send is not recorded"
        );
        let longest = format!("{}@example.com", "a".repeat(MAX_ADDRESS - 12));
        assert_eq!(longest.len(), MAX_ADDRESS);
        let addresses = [None, Some("alice@example.com"), Some(longest.as_str())];
        for (used, address) in [None, Some([9; 32])]
            .into_iter()
            .flat_map(|u| addresses.iter().map(move |a| (u, a)))
        {
            for verify in &parts {
                let pending = Pending {
                    digits: 6,
                    state,
                    used,
                    verify: *verify,
                    address: address.map(Box::from),
                    offsets: None,
                };
                let bytes = pending.encode();
                assert_eq!(bytes[0] & 0x80 != 0, address.is_some());
                assert_eq!(Pending::decode(&bytes), Some(pending.clone()));
                if let Some(text) = address {
                    // The length byte is checked against what follows,
                    // and the address must be UTF-8.
                    let at = 1 + SmsVerification::ENCODED_LEN;
                    let mut broken = bytes.clone();
                    broken[at] = u8::MAX;
                    assert_eq!(Pending::decode(&broken), None);
                    let mut broken = bytes.clone();
                    broken[at + text.len()] = 0xFF;
                    assert_eq!(Pending::decode(&broken), None);
                }
                if let Some(part) = verify {
                    // The Verify part's mark, its end and its count of
                    // sends are checked; one byte less or more is refused.
                    let head = bytes.len() - 9 * usize::from(part.sends) - VerifyPart::HEAD;
                    for (at, bad) in [(head, b'W'), (head + 41, 4), (head + 42, 6)] {
                        let mut broken = bytes.clone();
                        broken[at] = bad;
                        assert_eq!(Pending::decode(&broken), None, "byte {at}");
                    }
                    assert_eq!(Pending::decode(&bytes[..bytes.len() - 1]), None);
                    let mut long = bytes.clone();
                    long.push(0);
                    assert_eq!(Pending::decode(&long), None);
                }
            }
        }
        let mut long = Pending {
            digits: 6,
            state,
            used: None,
            verify: None,
            address: None,
            offsets: None,
        }
        .encode();
        long.push(0);
        assert_eq!(Pending::decode(&long), None);
    }

    #[test]
    fn a_custom_codes_offsets_turn_the_derived_code_into_it_and_back() {
        assert_eq!(offsets_between("123", "1234"), None, "lengths differ");
        assert_eq!(offsets_between("12a4", "1234"), None);
        assert_eq!(offsets_between("12345678901", "12345678901"), None);
        let verifier = SmsVerifier::new(
            &Secret::from_bytes(&[3; 32]).unwrap(),
            SmsPolicy::new().with_digits(4).unwrap(),
        )
        .unwrap();
        let (state, derived) = verifier.start(&mut rand::rng(), "s", 10);
        for custom in ["0000", "9999", "4321", derived.as_str()] {
            let pending = Pending {
                digits: 4,
                state,
                used: None,
                verify: None,
                address: Some("a@example.com".into()),
                offsets: offsets_between(derived.as_str(), custom),
            };
            assert_eq!(pending.sent(derived.as_str()).as_str(), custom);
            assert_eq!(pending.checked(custom).as_str(), derived.as_str());
            // What is stored round-trips, and holds no custom code.
            let bytes = pending.encode();
            assert_eq!(bytes[0], 4 | 0x80 | 0x40);
            assert_eq!(Pending::decode(&bytes), Some(pending.clone()));
            assert_eq!(Pending::decode(&bytes[..bytes.len() - 1]), None);
            let mut bad = bytes.clone();
            *bad.last_mut().unwrap() = 10;
            assert_eq!(Pending::decode(&bad), None, "an offset is a digit");
            // Separators stay where they are typed, for the library's
            // rules; other input is left for the check to refuse.
            let spaced = format!("{} {}", &custom[..2], &custom[2..]);
            let derived_spaced = format!("{} {}", &derived.as_str()[..2], &derived.as_str()[2..]);
            assert_eq!(pending.checked(&spaced).as_str(), derived_spaced);
            for other in ["123", "12345", "12a4", ""] {
                assert_eq!(pending.checked(other).as_str(), other);
            }
        }
    }
}
