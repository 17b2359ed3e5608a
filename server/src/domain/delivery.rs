//! Sending: the destination's and the application's send limits, the
//! message in the user's language, and the verifier of SMS codes.

use super::*;

impl Domain {
    /// Takes a unit of the destination's limits. The narrowest limits come
    /// first and the application's last ([`take_app_send`]), after the
    /// user's own resend limit too: a request refused for one number
    /// consumes nothing of the application's quota, so a flood of resends
    /// to one number cannot stop the application's other sends.
    ///
    /// [`take_app_send`]: Self::take_app_send
    pub(super) async fn take_destination_limits(
        &self,
        app: &App,
        e164: &str,
        now: u64,
    ) -> Result<(), Error> {
        let l = self.limits;
        self.take(
            &StateKey::app(app.id, format!("app:{}:dest:{e164}:burst", app.id)),
            l.destination_burst,
            now,
            Limit::DestinationBurst,
        )
        .await?;
        self.take(
            &StateKey::app(app.id, format!("app:{}:dest:{e164}:day", app.id)),
            l.destination_daily,
            now,
            Limit::DestinationDaily,
        )
        .await
    }

    /// Takes a unit of the application's send quota: the last limit a send
    /// passes before its delivery.
    pub(super) async fn take_app_send(&self, app: &App, now: u64) -> Result<(), Error> {
        self.take(
            &StateKey::app(app.id, format!("app:{}:sends", app.id)),
            self.limits.app_sends,
            now,
            Limit::ApplicationSends,
        )
        .await
    }

    pub(super) async fn deliver(
        &self,
        app: &App,
        to: &str,
        channel: Channel,
        lang: Lang,
        wording: Wording<'_>,
        code: &str,
    ) -> Result<(), Error> {
        let body = match (wording, channel) {
            (Wording::Custom(template), _) => messages::custom(template, code),
            (Wording::Named(name), Channel::Sms | Channel::Email) => lang.sms(name, code),
            (Wording::Named(name), Channel::Call) => lang.voice(name, code),
        };
        let message = Message {
            app_id: app.id,
            to: to.to_owned(),
            channel,
            locale: lang.tag(),
            body,
            code: code.to_owned(),
        };
        let label = match channel {
            Channel::Sms => "sms",
            Channel::Call => "call",
            Channel::Email => return Err(Error::Disabled(Feature::Email)),
        };
        let sent = self.sender.send(&message).await;
        crate::telemetry::message(label, if sent.is_ok() { "accepted" } else { "refused" });
        sent.map_err(|e| {
            tracing::warn!(error = %e, app_id = app.id, "delivery failed");
            match channel {
                Channel::Call => Error::NotDelivered(Channel::Call),
                Channel::Sms | Channel::Email => Error::NotDelivered(Channel::Sms),
            }
        })
    }

    /// Queues `code` by e-mail to `to`, in `lang`, from `from` or the
    /// mailer's own sender.
    pub(super) fn deliver_mail(
        &self,
        app: &App,
        to: lettre::Address,
        from: Option<lettre::message::Mailbox>,
        lang: Lang,
        name: &str,
        code: &str,
    ) -> Result<(), Error> {
        let mailer = self
            .mailer
            .as_ref()
            .ok_or(Error::Disabled(Feature::Email))?;
        let mail = crate::sender::mail::Mail {
            app_id: app.id,
            from: from.unwrap_or_else(|| mailer.default_from().clone()),
            to,
            subject: lang.mail_subject(name),
            body: format!("{}\n", lang.sms(name, code)),
        };
        let sent = mailer.send(mail);
        crate::telemetry::message("email", if sent.is_ok() { "accepted" } else { "refused" });
        sent.map_err(|e| {
            tracing::warn!(error = %e, app_id = app.id, "delivery failed");
            Error::NotDelivered(Channel::Email)
        })
    }

    /// The verifier of codes of `digits` digits valid for `validity`
    /// seconds. Both come from validated input or from stored state, so a
    /// refusal here is a fault, not a bad request.
    pub(super) fn verifier(&self, digits: u8, validity: u64) -> Result<SmsVerifier, Error> {
        let key = Secret::from_bytes(self.key.sms_key()).map_err(|_| Error::Internal)?;
        let policy = SmsPolicy::new()
            .with_digits(digits)
            .and_then(|p| p.with_validity(validity))
            .map_err(|_| Error::Internal)?;
        SmsVerifier::new(&key, policy).map_err(|_| Error::Internal)
    }

    /// The code to send for `key`: the pending one again (a resend, counted
    /// by the library's send limit: past it, 429 with `too_many`), or a new
    /// one where none of `digits` digits is pending from the same `starter`
    /// or it expired, was used or ran out of checks; decided and stored by
    /// compare-and-set. With the verification as stored.
    ///
    /// There is one live code per key (an application and a number): a
    /// start by another starter (the other surface, another Verify service)
    /// replaces the pending code with a new one instead of sending it,
    /// so a code is only ever sent with its own service's words.
    pub(super) async fn resend_or_start(
        &self,
        key: &StateKey,
        digits: u8,
        validity: u64,
        now: u64,
        too_many: Limit,
        starter: Starter<'_>,
    ) -> Result<(zeroize::Zeroizing<String>, Pending), Error> {
        let verifier = self.verifier(digits, validity)?;
        self.update(
            key,
            || None,
            |pending: Option<Pending>| {
                // A pending code is sent again to its own starter, at its
                // digit count. A custom code asked for becomes the live
                // code (the same SID and count of sends); a start without
                // one replaces a pending custom code with a new code.
                let custom = starter.custom();
                let resent = pending
                    .filter(|p| {
                        p.digits == digits
                            && starter.started(p)
                            && (custom.is_some() || p.offsets.is_none())
                    })
                    .map(|mut p| {
                        verifier.resend(&mut p.state, &key.key, now).map(|code| {
                            if let (Some(part), Starter::Verify { channel, .. }) =
                                (p.verify.as_mut(), starter)
                            {
                                part.record_send(now, channel);
                            }
                            if let Some(custom) = custom {
                                p.offsets = offsets_between(code.as_str(), custom);
                            }
                            (p, code)
                        })
                    });
                let (pending, code) = match resent {
                    Some(Ok((p, code))) => {
                        let sent = p.sent(code.as_str());
                        (p, sent)
                    }
                    Some(Err(SmsError::TooManySends)) => {
                        return Err(Error::Limited(too_many));
                    }
                    Some(Err(_)) | None => {
                        let (state, code) = verifier.start(&mut rand::rng(), &key.key, now);
                        let (verify, address, custom) = match starter {
                            Starter::Authy => (None, None, None),
                            Starter::Verify {
                                service,
                                channel,
                                sid,
                                address,
                                custom,
                            } => {
                                let mut part = VerifyPart {
                                    service,
                                    sid,
                                    updated_at: now,
                                    end: VerifyEnd::Open,
                                    sends: 0,
                                    attempts: [(0, 0); MAX_SENDS],
                                };
                                part.record_send(now, channel);
                                (Some(part), address.map(Box::from), custom)
                            }
                        };
                        let offsets = match custom {
                            Some(custom) => Some(
                                offsets_between(code.as_str(), custom).ok_or(Error::Internal)?,
                            ),
                            None => None,
                        };
                        let pending = Pending {
                            digits,
                            state,
                            used: None,
                            verify,
                            address,
                            offsets,
                        };
                        let sent = pending.sent(code.as_str());
                        (pending, sent)
                    }
                };
                Ok((Some(pending.clone()), Step::Write((code, pending))))
            },
        )
        .await
    }
}

/// The words a code is sent with.
#[derive(Clone, Copy, Debug)]
pub(super) enum Wording<'a> {
    /// The language's message, naming the sender (the application, or a
    /// Verify service).
    Named(&'a str),
    /// The application's own template, with `{{code}}`.
    Custom(&'a str),
}

/// Who starts a verification, which decides whether a pending one is
/// theirs to send again.
#[derive(Clone, Copy, Debug)]
pub(super) enum Starter<'a> {
    /// The Authy surface (SMS tokens and phone verifications).
    Authy,
    /// A Verify service, sending by `channel`; `sid` is the new
    /// verification's SID if one is started, `address` its e-mail address
    /// if it goes by e-mail, `custom` the code the caller chose (digits of
    /// the count asked for) if any.
    Verify {
        service: [u8; 16],
        channel: u8,
        sid: [u8; 16],
        address: Option<&'a str>,
        custom: Option<&'a str>,
    },
}

impl<'a> Starter<'a> {
    fn custom(self) -> Option<&'a str> {
        match self {
            Self::Verify { custom, .. } => custom,
            Self::Authy => None,
        }
    }

    fn started(self, pending: &Pending) -> bool {
        match (self, &pending.verify) {
            (Self::Authy, None) => true,
            (Self::Verify { service, .. }, Some(part)) => {
                part.service == service && part.end == VerifyEnd::Open
            }
            _ => false,
        }
    }
}
