//! Verify verifications: start (or send again), fetch, cancel or approve,
//! and check. Their codes are the phone verifications' own: one state per
//! application and number, whichever surface started it (see
//! `resend_or_start`), with the Verify part beside the code's state. A
//! verification by e-mail has one state per application and address,
//! keyed by a keyed tag of the address.

use sha2::Digest;

use super::accounts::{sid_bytes, sid_text};
use super::attempts::SentTo;
use super::services::VerifyService;
use super::*;

/// A Verify verification's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyStatus {
    /// Waiting for its code.
    Pending,
    /// Its code was checked, or an update approved it.
    Approved,
    /// An update canceled it.
    Canceled,
    /// Its checks ran out.
    MaxAttemptsReached,
    /// Its time ran out.
    Expired,
}

/// One send of a verification's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAttempt {
    /// When (Unix seconds).
    pub time: u64,
    /// By which channel.
    pub channel: Channel,
    /// `VL` and 32 hex digits.
    pub sid: String,
}

/// A Verify verification as the surface shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// `VE` and 32 hex digits.
    pub sid: String,
    /// Its service's SID.
    pub service_sid: String,
    /// The number, in E.164, or the e-mail address.
    pub to: String,
    /// The channel of its first send.
    pub channel: Channel,
    /// Its status.
    pub status: VerifyStatus,
    /// When it started (Unix seconds).
    pub created_at: u64,
    /// When it last changed (Unix seconds).
    pub updated_at: u64,
    /// Its sends, first first.
    pub attempts: Vec<SendAttempt>,
}

/// What a Verify start asks for.
#[derive(Debug, Clone)]
pub struct VerifyStart {
    /// The number, in E.164, or the e-mail address.
    pub to: String,
    /// SMS, a call or e-mail.
    pub channel: Channel,
    /// The e-mail's sender instead of the server's: an address and a
    /// name, either one.
    pub mail_from: (Option<String>, Option<String>),
    /// The message's language, such as `es` or `pt-BR`.
    pub locale: Option<String>,
    /// The name the message gives instead of the service's.
    pub custom_friendly_name: Option<String>,
    /// The service's rate limits to count this start against, by unique
    /// name, with the value each counts.
    pub rate_limits: Vec<(String, String)>,
}

/// Which verification a check is for.
#[derive(Debug, Clone)]
pub enum CheckFor {
    /// The pending verification of this number (E.164) or e-mail
    /// address.
    To(String),
    /// The verification with this SID.
    Sid(String),
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The code is right: the verification is approved (and gone).
    Approved(Verification),
    /// The code is wrong; the verification is still pending.
    Incorrect(Verification),
    /// The checks ran out: this check was not made, and the verification
    /// takes no more.
    TooManyAttempts,
}

/// What an update does to a pending verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyUpdate {
    /// Cancel it.
    Cancel,
    /// Approve it without a code.
    Approve,
}

fn channel_code(channel: Channel) -> u8 {
    match channel {
        Channel::Sms => 1,
        Channel::Call => 2,
        Channel::Email => 3,
    }
}

fn channel_of(code: u8) -> Channel {
    match code {
        2 => Channel::Call,
        3 => Channel::Email,
        _ => Channel::Sms,
    }
}

/// The first byte of the sealed block of a verification SID by e-mail. A
/// number's block starts with the nibble of its first digit, 1 to 9
/// (E.164 has no leading zero), so it is never a number's.
const MAIL_MARK: u8 = 0xEE;
/// Bytes of an address's keyed tag in its SID and its state's key (88
/// bits: two addresses of one application share a tag with a chance of
/// about n^2 / 2^89). The SID's last 4 bytes are random.
const MAIL_TAG: usize = 11;

/// Where a verification's code goes.
enum Destination {
    /// A number.
    Number(Phone),
    /// An e-mail address and its keyed tag.
    Mail {
        address: lettre::Address,
        tag: [u8; MAIL_TAG],
    },
}

/// What a verification SID says of its destination.
enum Target {
    /// The number, in E.164.
    Number(String),
    /// The keyed tag of the e-mail address.
    Mail([u8; MAIL_TAG]),
}

impl Target {
    /// The key of the verification's state.
    fn key(&self, app_id: i64) -> String {
        match self {
            Self::Number(e164) => verification_key(app_id, e164),
            Self::Mail(tag) => verification_key(app_id, &mail_name(tag)),
        }
    }

    /// What is shown as the verification's `to`: the number, or the
    /// address stored in its state.
    fn shown(&self, pending: &Pending) -> Option<String> {
        match self {
            Self::Number(e164) => Some(e164.clone()),
            Self::Mail(_) => pending.address.as_deref().map(str::to_owned),
        }
    }
}

/// The name an address goes by in keys: its tag, never the address.
fn mail_name(tag: &[u8; MAIL_TAG]) -> String {
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
fn plain_address(to: &str) -> Option<lettre::Address> {
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
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `a***@example.com`: an address as attempts show it.
fn masked_address(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or(("", address));
    let first = local.chars().next().map(String::from).unwrap_or_default();
    format!("{first}***@{domain}")
}

/// The number in a verification SID's sealed block: E.164's digits as
/// nibbles, padded with `0xF`, then 8 random bytes.
fn pack_number(e164: &str) -> Option<[u8; 8]> {
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

fn unpack_number(packed: &[u8]) -> Option<String> {
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
    fn verification_sid(&self, to: &Destination) -> Option<[u8; 16]> {
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
    fn target_of(&self, sid: &str) -> Option<Target> {
        let block = self.key.open_block(sid_bytes("VE", sid)?);
        if block[0] == MAIL_MARK {
            return Some(Target::Mail(block[1..=MAIL_TAG].try_into().ok()?));
        }
        unpack_number(&block[..8]).map(Target::Number)
    }

    /// The keyed tag of an e-mail address, the same for every case of it.
    fn mail_tag(&self, address: &str) -> [u8; MAIL_TAG] {
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
    fn destination(&self, to: &str, channel: Channel) -> Result<Destination, Error> {
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
    /// number.
    fn target(&self, to: &str) -> Result<Target, Error> {
        if to.contains('@') {
            return Ok(Target::Mail(self.mail_tag(to)));
        }
        Ok(Target::Number(
            Phone::parse_e164(to, false)
                .map_err(|_| Error::InvalidPhone)?
                .e164,
        ))
    }

    fn view(service_sid: &str, to: &Target, pending: &Pending, now: u64) -> Option<Verification> {
        let part = pending.verify.as_ref()?;
        let status = match (pending.state.status(), part.end) {
            (_, VerifyEnd::Approved) | (passcode::SmsStatus::Approved, _) => VerifyStatus::Approved,
            (_, VerifyEnd::Canceled) => VerifyStatus::Canceled,
            (_, VerifyEnd::Exhausted) => VerifyStatus::MaxAttemptsReached,
            _ if now >= pending.state.expires_at() => VerifyStatus::Expired,
            _ => VerifyStatus::Pending,
        };
        let sid = sid_text("VE", &part.sid);
        let attempts = part
            .attempts()
            .iter()
            .enumerate()
            .map(|(i, &(time, channel))| {
                let digest = Sha256::new()
                    .chain_update(b"VL")
                    .chain_update(part.sid)
                    .chain_update([u8::try_from(i).unwrap_or(0)])
                    .finalize();
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                SendAttempt {
                    time,
                    channel: channel_of(channel),
                    sid: sid_text("VL", &bytes),
                }
            })
            .collect::<Vec<_>>();
        Some(Verification {
            sid,
            service_sid: service_sid.to_owned(),
            to: to.shown(pending)?,
            channel: attempts.first().map_or(Channel::Sms, |a| a.channel),
            status,
            created_at: pending.state.created_at(),
            updated_at: part.updated_at,
            attempts,
        })
    }

    /// Starts a verification of `request.to`, or sends its pending code
    /// again (the same code and SID, at most 5 sends in its 10 minutes).
    ///
    /// # Errors
    /// [`Error::InvalidPhone`], an address that is not one, the
    /// channel switched off (`Error::Disabled(Feature::Sms)`,
    /// `Error::Disabled(Feature::Calls)`, `Error::Disabled(Feature::Email)`), a limit
    /// (`Limit::VerificationSends` for the sixth send), a failed delivery.
    pub async fn start_verify(
        &self,
        app: &App,
        service: &VerifyService,
        request: VerifyStart,
        now: u64,
    ) -> Result<Verification, Error> {
        match request.channel {
            Channel::Sms if !app.sms_enabled => return Err(Error::Disabled(Feature::Sms)),
            Channel::Call if !app.calls_enabled => return Err(Error::Disabled(Feature::Calls)),
            Channel::Email if self.mailer.is_none() => return Err(Error::Disabled(Feature::Email)),
            _ => {}
        }
        let to = self.destination(&request.to, request.channel)?;
        let from = match &request.mail_from {
            (None, None) => None,
            (address, name) => Some(self.mail_from(address.as_deref(), name.as_deref())?),
        };
        let sid = self.verification_sid(&to).ok_or(Error::InvalidPhone)?;
        self.take_rate_limits(app, service, &request.rate_limits, now)
            .await?;
        let (target, address, limit_name) = match &to {
            Destination::Number(phone) => {
                (Target::Number(phone.e164.clone()), None, phone.e164.clone())
            }
            Destination::Mail { tag, .. } => (
                Target::Mail(*tag),
                Some(request.to.as_str()),
                mail_name(tag),
            ),
        };
        self.take_destination_limits(app, &limit_name, now).await?;
        let (code, pending) = self
            .resend_or_start(
                &target.key(app.id),
                service.settings.code_length,
                VERIFICATION_VALIDITY,
                now,
                Limit::VerificationSends,
                Starter::Verify {
                    service: service.sid_bytes(),
                    channel: channel_code(request.channel),
                    sid,
                    address,
                },
            )
            .await?;
        self.take_app_send(app, now).await?;
        let lang = Lang::choose(
            request.locale.as_deref(),
            match &to {
                Destination::Number(phone) => phone.country_code,
                Destination::Mail { .. } => 0,
            },
        );
        let name = request
            .custom_friendly_name
            .as_deref()
            .unwrap_or(&service.settings.friendly_name);
        match &to {
            Destination::Number(phone) => {
                self.deliver(
                    app,
                    &phone.e164,
                    request.channel,
                    lang,
                    Wording::Named(name),
                    &code,
                )
                .await?;
                self.count_later(app.id, now, Counter::sent(request.channel));
            }
            Destination::Mail { address, .. } => {
                self.deliver_mail(app, address.clone(), from, lang, name, &code)?;
            }
        }
        let verification =
            Self::view(&service.sid, &target, &pending, now).ok_or(Error::Internal)?;
        let sent_to = match &to {
            Destination::Number(phone) => SentTo {
                country: phone.region(),
                masked: Phone::masked(phone.country_code, &phone.national),
                tagged: phone.e164.clone(),
            },
            Destination::Mail { .. } => SentTo {
                country: "ZZ".into(),
                masked: masked_address(&request.to),
                tagged: request.to.to_ascii_lowercase(),
            },
        };
        self.record_send(app, &verification, &sent_to, pending.digits, lang, now)
            .await;
        Ok(verification)
    }

    /// The sender an e-mail names: an address (the mailer's own where only
    /// a name is given) and a name without line breaks.
    fn mail_from(
        &self,
        address: Option<&str>,
        name: Option<&str>,
    ) -> Result<lettre::message::Mailbox, Error> {
        let bad = || Error::Invalid {
            name: "ChannelConfiguration",
            reason: "from must be an address of the server's mail domain, from_name a line \
                     of text"
                .into(),
        };
        let mailer = self
            .mailer
            .as_ref()
            .ok_or(Error::Disabled(Feature::Email))?;
        let own = &mailer.default_from().email;
        // Any other domain would make every tenant able to send as anyone
        // through the operator's relay and under its reputation.
        let address = match address {
            Some(text) => match plain_address(text) {
                Some(address) if address.domain().eq_ignore_ascii_case(own.domain()) => address,
                _ => return Err(bad()),
            },
            None => own.clone(),
        };
        let name = match name {
            Some(text) if text.len() <= 100 && !text.chars().any(hidden) => Some(text.to_owned()),
            Some(_) => return Err(bad()),
            None => mailer.default_from().name.clone(),
        };
        Ok(lettre::message::Mailbox::new(name, address))
    }

    /// The verification `sid` of `service`: approved and expired ones are
    /// gone, as on Twilio.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn fetch_verify(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
        now: u64,
    ) -> Result<Verification, Error> {
        let target = self.target_of(sid).ok_or(Error::NotFound)?;
        let stored = self
            .store
            .load(&target.key(app.id))
            .await?
            .ok_or(Error::NotFound)?;
        let pending = Pending::decode(&stored.value).ok_or(Error::Internal)?;
        // The verification must be this service's: another service of the
        // application sees none of it.
        if pending
            .verify
            .is_none_or(|part| part.service != service.sid_bytes())
        {
            return Err(Error::NotFound);
        }
        let view = Self::view(&service.sid, &target, &pending, now)
            .filter(|v| v.sid == sid)
            .ok_or(Error::NotFound)?;
        match view.status {
            VerifyStatus::Approved | VerifyStatus::Expired => Err(Error::NotFound),
            _ => Ok(view),
        }
    }

    /// Cancels or approves the pending verification `sid`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it is not pending.
    pub async fn update_verify(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
        update: VerifyUpdate,
        now: u64,
    ) -> Result<Verification, Error> {
        let target = self.target_of(sid).ok_or(Error::NotFound)?;
        let mine = sid_bytes("VE", sid).ok_or(Error::NotFound)?;
        let service_sid = service.sid_bytes();
        let updated = self
            .update(
                &target.key(app.id),
                || None,
                |pending: Option<Pending>| {
                    let mut pending = pending.ok_or(Error::NotFound)?;
                    let view =
                        Self::view(&service.sid, &target, &pending, now).ok_or(Error::NotFound)?;
                    let Some(part) = pending.verify.as_mut() else {
                        return Err(Error::NotFound);
                    };
                    if part.sid != mine
                        || part.service != service_sid
                        || view.status != VerifyStatus::Pending
                    {
                        return Err(Error::NotFound);
                    }
                    part.end = match update {
                        VerifyUpdate::Cancel => VerifyEnd::Canceled,
                        VerifyUpdate::Approve => VerifyEnd::Approved,
                    };
                    part.updated_at = now;
                    // No code approves it any more, on either surface.
                    pending.state.cancel();
                    let view =
                        Self::view(&service.sid, &target, &pending, now).ok_or(Error::Internal)?;
                    Ok((Some(pending), Step::Write(view)))
                },
            )
            .await?;
        if updated.status == VerifyStatus::Approved {
            self.record_conversion(app, &updated.sid, now).await;
        }
        Ok(updated)
    }

    /// Checks `code` against the pending verification of a number or SID.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none pending (never started,
    /// approved, canceled, expired, or out of checks once reported),
    /// [`Error::InvalidPhone`].
    pub async fn check_verify(
        &self,
        app: &App,
        service: &str,
        target: CheckFor,
        code: &str,
        now: u64,
    ) -> Result<Checked, Error> {
        // The service's settings play no part in a check: whether it is the
        // application's is all that is read.
        let service_bytes = sid_bytes("VA", service).ok_or(Error::NotFound)?;
        if !self.store.verify_service_exists(app.id, service).await? {
            return Err(Error::NotFound);
        }
        let (target, wanted) = match &target {
            CheckFor::To(to) => (self.target(to)?, None),
            CheckFor::Sid(sid) => (
                self.target_of(sid).ok_or(Error::NotFound)?,
                Some(sid_bytes("VE", sid).ok_or(Error::NotFound)?),
            ),
        };
        let key = target.key(app.id);
        let service_sid = service_bytes;
        let checked = self
            .update(
                &key,
                || None,
                |pending: Option<Pending>| {
                    let mut pending = pending.ok_or(Error::NotFound)?;
                    let open = pending.verify.is_some_and(|part| {
                        part.service == service_sid
                            && part.end == VerifyEnd::Open
                            && wanted.is_none_or(|sid| sid == part.sid)
                    });
                    if !open {
                        return Err(Error::NotFound);
                    }
                    let verifier = self.verifier(pending.digits, VERIFICATION_VALIDITY)?;
                    let outcome = match verifier.check(&mut pending.state, &key, code, now) {
                        Ok(outcome) => outcome,
                        // A code of another length cannot be right; it is
                        // answered as wrong without spending a check.
                        Err(_) => {
                            let view = Self::view(service, &target, &pending, now)
                                .ok_or(Error::Internal)?;
                            return Ok((None, Step::Keep(Checked::Incorrect(view))));
                        }
                    };
                    let answer = match outcome {
                        SmsCheck::Approved => Checked::Approved,
                        SmsCheck::Incorrect { .. } => Checked::Incorrect,
                        SmsCheck::TooManyAttempts => {
                            if let Some(part) = pending.verify.as_mut() {
                                part.end = VerifyEnd::Exhausted;
                                part.updated_at = now;
                            }
                            return Ok((Some(pending), Step::Write(Checked::TooManyAttempts)));
                        }
                        _ => return Err(Error::NotFound),
                    };
                    if let Some(part) = pending.verify.as_mut() {
                        part.updated_at = now;
                    }
                    let view =
                        Self::view(service, &target, &pending, now).ok_or(Error::Internal)?;
                    Ok((Some(pending), Step::Write(answer(view))))
                },
            )
            .await?;
        if let Checked::Approved(verification) = &checked {
            self.count_later(app.id, now, Counter::Auth);
            self.record_conversion(app, &verification.sid, now).await;
        }
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
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
