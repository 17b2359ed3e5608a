//! Verify verifications: start (or send again), fetch, cancel or approve,
//! and check. Their codes are the phone verifications' own: one state per
//! application and number, whichever surface started it (see
//! `resend_or_start`), with the Verify part beside the code's state.

use sha2::Digest;

use super::accounts::{sid_bytes, sid_text};
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
    /// The number, in E.164.
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
    /// The number, in E.164.
    pub to: String,
    /// SMS or a call.
    pub channel: Channel,
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
    /// The pending verification of this number (E.164).
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
    }
}

fn channel_of(code: u8) -> Channel {
    if code == 2 {
        Channel::Call
    } else {
        Channel::Sms
    }
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
    /// A new verification SID for `e164`: the number and 8 random bytes
    /// sealed in one block, so that the SID finds its state without an
    /// index and shows nothing of the number.
    fn verification_sid(&self, e164: &str) -> Option<[u8; 16]> {
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&pack_number(e164)?);
        rand::rng().fill_bytes(&mut block[8..]);
        Some(self.key.seal_block(block))
    }

    /// The number a verification SID was made for.
    fn number_of(&self, sid: &str) -> Option<String> {
        let block = self.key.open_block(sid_bytes("VE", sid)?);
        unpack_number(&block[..8])
    }

    fn view(service_sid: &str, e164: &str, pending: &Pending, now: u64) -> Option<Verification> {
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
            to: e164.to_owned(),
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
    /// [`ApiError::InvalidPhoneNumber`], the channel switched off
    /// ([`ApiError::SmsDisabled`], [`ApiError::CallsDisabled`]), a limit
    /// (`Limit::VerificationSends` for the sixth send), a failed delivery.
    pub async fn start_verify(
        &self,
        app: &App,
        service: &VerifyService,
        request: VerifyStart,
        now: u64,
    ) -> Result<Verification, ApiError> {
        match request.channel {
            Channel::Sms if !app.sms_enabled => return Err(ApiError::SmsDisabled),
            Channel::Call if !app.calls_enabled => return Err(ApiError::CallsDisabled),
            _ => {}
        }
        let phone =
            Phone::parse_e164(&request.to, false).map_err(|_| ApiError::InvalidPhoneNumber)?;
        let sid = self
            .verification_sid(&phone.e164)
            .ok_or(ApiError::InvalidPhoneNumber)?;
        self.take_rate_limits(app, service, &request.rate_limits, now)
            .await?;
        self.take_destination_limits(app, &phone.e164, now).await?;
        let (code, pending) = self
            .resend_or_start(
                &verification_key(app.id, &phone.e164),
                service.settings.code_length,
                VERIFICATION_VALIDITY,
                now,
                Limit::VerificationSends,
                Starter::Verify {
                    service: service.sid_bytes(),
                    channel: channel_code(request.channel),
                    sid,
                },
            )
            .await?;
        self.take_app_send(app, now).await?;
        let lang = Lang::choose(request.locale.as_deref(), phone.country_code);
        let name = request
            .custom_friendly_name
            .as_deref()
            .unwrap_or(&service.settings.friendly_name);
        self.deliver(
            app,
            &phone.e164,
            request.channel,
            lang,
            Wording::Named(name),
            &code,
        )
        .await?;
        self.count_later(
            app.id,
            now,
            match request.channel {
                Channel::Sms => Counter::Sms,
                Channel::Call => Counter::Call,
            },
        );
        let verification =
            Self::view(&service.sid, &phone.e164, &pending, now).ok_or(ApiError::Internal)?;
        self.record_send(app, &verification, &phone, pending.digits, lang, now)
            .await;
        Ok(verification)
    }

    /// The verification `sid` of `service`: approved and expired ones are
    /// gone, as on Twilio.
    ///
    /// # Errors
    /// [`ApiError::NotFound`].
    pub async fn fetch_verify(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
        now: u64,
    ) -> Result<Verification, ApiError> {
        let e164 = self.number_of(sid).ok_or(ApiError::NotFound)?;
        let stored = self
            .store
            .load(&verification_key(app.id, &e164))
            .await?
            .ok_or(ApiError::NotFound)?;
        let pending = Pending::decode(&stored.value).ok_or(ApiError::Internal)?;
        // The verification must be this service's: another service of the
        // application sees none of it.
        if pending
            .verify
            .is_none_or(|part| part.service != service.sid_bytes())
        {
            return Err(ApiError::NotFound);
        }
        let view = Self::view(&service.sid, &e164, &pending, now)
            .filter(|v| v.sid == sid)
            .ok_or(ApiError::NotFound)?;
        match view.status {
            VerifyStatus::Approved | VerifyStatus::Expired => Err(ApiError::NotFound),
            _ => Ok(view),
        }
    }

    /// Cancels or approves the pending verification `sid`.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when it is not pending.
    pub async fn update_verify(
        &self,
        app: &App,
        service: &VerifyService,
        sid: &str,
        update: VerifyUpdate,
        now: u64,
    ) -> Result<Verification, ApiError> {
        let e164 = self.number_of(sid).ok_or(ApiError::NotFound)?;
        let mine = sid_bytes("VE", sid).ok_or(ApiError::NotFound)?;
        let service_sid = service.sid_bytes();
        let updated = self
            .update(
                &verification_key(app.id, &e164),
                || None,
                |pending: Option<Pending>| {
                    let mut pending = pending.ok_or(ApiError::NotFound)?;
                    let view =
                        Self::view(&service.sid, &e164, &pending, now).ok_or(ApiError::NotFound)?;
                    let Some(part) = pending.verify.as_mut() else {
                        return Err(ApiError::NotFound);
                    };
                    if part.sid != mine
                        || part.service != service_sid
                        || view.status != VerifyStatus::Pending
                    {
                        return Err(ApiError::NotFound);
                    }
                    part.end = match update {
                        VerifyUpdate::Cancel => VerifyEnd::Canceled,
                        VerifyUpdate::Approve => VerifyEnd::Approved,
                    };
                    part.updated_at = now;
                    // No code approves it any more, on either surface.
                    pending.state.cancel();
                    let view =
                        Self::view(&service.sid, &e164, &pending, now).ok_or(ApiError::Internal)?;
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
    /// [`ApiError::NotFound`] when there is none pending (never started,
    /// approved, canceled, expired, or out of checks once reported),
    /// [`ApiError::InvalidPhoneNumber`].
    pub async fn check_verify(
        &self,
        app: &App,
        service: &str,
        target: CheckFor,
        code: &str,
        now: u64,
    ) -> Result<Checked, ApiError> {
        // The service's settings play no part in a check: whether it is the
        // application's is all that is read.
        let service_bytes = sid_bytes("VA", service).ok_or(ApiError::NotFound)?;
        if !self.store.verify_service_exists(app.id, service).await? {
            return Err(ApiError::NotFound);
        }
        let (e164, wanted) = match &target {
            CheckFor::To(to) => (
                Phone::parse_e164(to, false)
                    .map_err(|_| ApiError::InvalidPhoneNumber)?
                    .e164,
                None,
            ),
            CheckFor::Sid(sid) => (
                self.number_of(sid).ok_or(ApiError::NotFound)?,
                Some(sid_bytes("VE", sid).ok_or(ApiError::NotFound)?),
            ),
        };
        let key = verification_key(app.id, &e164);
        let service_sid = service_bytes;
        let checked = self
            .update(
                &key,
                || None,
                |pending: Option<Pending>| {
                    let mut pending = pending.ok_or(ApiError::NotFound)?;
                    let open = pending.verify.is_some_and(|part| {
                        part.service == service_sid
                            && part.end == VerifyEnd::Open
                            && wanted.is_none_or(|sid| sid == part.sid)
                    });
                    if !open {
                        return Err(ApiError::NotFound);
                    }
                    let verifier = self.verifier(pending.digits, VERIFICATION_VALIDITY)?;
                    let outcome = match verifier.check(&mut pending.state, &key, code, now) {
                        Ok(outcome) => outcome,
                        // A code of another length cannot be right; it is
                        // answered as wrong without spending a check.
                        Err(_) => {
                            let view = Self::view(service, &e164, &pending, now)
                                .ok_or(ApiError::Internal)?;
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
                        _ => return Err(ApiError::NotFound),
                    };
                    if let Some(part) = pending.verify.as_mut() {
                        part.updated_at = now;
                    }
                    let view =
                        Self::view(service, &e164, &pending, now).ok_or(ApiError::Internal)?;
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
        let sid = sid_text("VE", &one.verification_sid("+17754615609").unwrap());
        assert_eq!(one.number_of(&sid).as_deref(), Some("+17754615609"));
        assert!(!sid.contains("17754615609"));
        assert_ne!(two.number_of(&sid).as_deref(), Some("+17754615609"));
        let again = sid_text("VE", &one.verification_sid("+17754615609").unwrap());
        assert_ne!(sid, again, "each verification has its own SID");
    }
}
