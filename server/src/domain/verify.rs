//! Verify verifications: start (or send again), fetch, cancel or approve,
//! and check. Their codes are the phone verifications' own: one state per
//! application and number, whichever surface started it (see
//! `resend_or_start`), with the Verify part beside the code's state. A
//! verification by e-mail has one state per application and address,
//! keyed by a keyed tag of the address.

use sha2::Digest;

use super::accounts::{sid_bytes, sid_text};
use super::attempts::SentTo;
use super::destinations::*;
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
    /// The code to send instead of one the server makes (4 to 10 digits),
    /// where the service allows custom codes.
    pub custom_code: Option<String>,
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

/// What a check found. Its verification comes without its sends
/// (`attempts` is empty), which a check's answer does not show.
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

impl Domain {
    fn view(service_sid: &str, to: &Target, pending: &Pending, now: u64) -> Option<Verification> {
        Self::view_of(service_sid, to, pending, now, true)
    }

    /// [`view`](Self::view) without its sends (empty `attempts`), as a
    /// check answers: their SIDs cost a hash each.
    fn checked_view(
        service_sid: &str,
        to: &Target,
        pending: &Pending,
        now: u64,
    ) -> Option<Verification> {
        Self::view_of(service_sid, to, pending, now, false)
    }

    fn view_of(
        service_sid: &str,
        to: &Target,
        pending: &Pending,
        now: u64,
        with_attempts: bool,
    ) -> Option<Verification> {
        let part = pending.verify.as_ref()?;
        let status = match (pending.state.status(), part.end) {
            (_, VerifyEnd::Approved) | (passcode::SmsStatus::Approved, _) => VerifyStatus::Approved,
            (_, VerifyEnd::Canceled) => VerifyStatus::Canceled,
            (_, VerifyEnd::Exhausted) => VerifyStatus::MaxAttemptsReached,
            _ if now >= pending.state.expires_at() => VerifyStatus::Expired,
            _ => VerifyStatus::Pending,
        };
        let sid = sid_text("VE", &part.sid);
        let channel = part
            .attempts()
            .first()
            .map_or(Channel::Sms, |&(_, channel)| channel_of(channel));
        let sends = if with_attempts { part.attempts() } else { &[] };
        let attempts = sends
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
            channel,
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
        let mut request = request;
        // A custom code counts only where the service allows them (Twilio
        // ignores it elsewhere); it is digits, 4 to 10 of them, as every
        // code here.
        if !service.settings.custom_code_enabled {
            request.custom_code = None;
        }
        if let Some(code) = &request.custom_code
            && !((4..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::Invalid {
                name: "CustomCode",
                reason: "must be 4 to 10 digits".into(),
            });
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
                request
                    .custom_code
                    .as_deref()
                    .map_or(service.settings.code_length, |c| {
                        u8::try_from(c.len()).unwrap_or(0)
                    }),
                VERIFICATION_VALIDITY,
                now,
                Limit::VerificationSends,
                Starter::Verify {
                    service: service.sid_bytes(),
                    channel: channel_code(request.channel),
                    sid,
                    address,
                    custom: request.custom_code.as_deref(),
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
            .load(&target.key(app.id).key)
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
        // Past its expiry a verification is gone whatever its end, as it
        // is once swept: the answer does not wait on the sweeper.
        if now >= pending.state.expires_at() {
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
            self.record_conversion(app, &updated.sid, now);
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
        // application's is all that is read, with the state in one read.
        let service_bytes = sid_bytes("VA", service).ok_or(Error::NotFound)?;
        // What a check that finds no verification answers.
        let absent = || match &target {
            CheckFor::To(to) => Self::missing(to),
            CheckFor::Sid(_) => Error::NotFound,
        };
        let parsed = match &target {
            CheckFor::To(to) => self.target(to).map(|target| (target, None)),
            CheckFor::Sid(sid) => self
                .target_of(sid)
                .zip(sid_bytes("VE", sid))
                .map(|(target, wanted)| (target, Some(wanted)))
                .ok_or(Error::NotFound),
        };
        let (target, wanted) = match parsed {
            Ok(parsed) => parsed,
            // No such service answers first, as it would with a good `To`.
            Err(e) => {
                if !self.store.verify_service_exists(app.id, service).await? {
                    return Err(Error::NotFound);
                }
                return Err(e);
            }
        };
        let key = target.key(app.id);
        let Some(read) = self.store.service_state(app.id, service, &key.key).await? else {
            return Err(Error::NotFound);
        };
        let service_sid = service_bytes;
        let checked = self
            .update_from(
                &key,
                Some(read),
                || None,
                |pending: Option<Pending>| {
                    let mut pending = pending.ok_or_else(absent)?;
                    let open = pending.verify.is_some_and(|part| {
                        part.service == service_sid
                            && part.end == VerifyEnd::Open
                            && wanted.is_none_or(|sid| sid == part.sid)
                    });
                    if !open {
                        // Authy's sandbox stores a number it did not check
                        // against the metadata, so a state found here does
                        // not show that `To` is valid.
                        return Err(absent());
                    }
                    let verifier = self.verifier(pending.digits, VERIFICATION_VALIDITY)?;
                    let checked = pending.checked(code);
                    let outcome = match verifier.check(&mut pending.state, &key.key, &checked, now)
                    {
                        Ok(outcome) => outcome,
                        // A code of another length cannot be right; it is
                        // answered as wrong without spending a check.
                        Err(_) => {
                            let view = Self::checked_view(service, &target, &pending, now)
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
                    let view = Self::checked_view(service, &target, &pending, now)
                        .ok_or(Error::Internal)?;
                    Ok((Some(pending), Step::Write(answer(view))))
                },
                |_| None,
            )
            .await?;
        if let Checked::Approved(verification) = &checked {
            self.count_later(app.id, now, Counter::Auth);
            self.record_conversion(app, &verification.sid, now);
        }
        Ok(checked)
    }
}
