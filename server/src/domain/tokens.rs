//! SMS and voice tokens: send one, and verify a token against every
//! credential of a user (its authenticators and its SMS token).

use super::*;
use crate::crypto::key_hash;

/// A sent token: what the response shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Delivered to the masked number.
    Sent {
        /// `+57-XXX-XXX-XX12`.
        cellphone: String,
    },
    /// Not sent: the user has an authenticator and `force` was not set.
    Ignored {
        /// `+57-XXX-XXX-XX12`.
        cellphone: String,
        /// The device that makes the message unnecessary.
        device: &'static str,
    },
}

/// A user as a verification by API key read it with its application
/// ([`Domain::authenticate_for_verify`]); only the domain reads one.
pub struct UserRead {
    app_id: i64,
    id: i64,
    found: Option<UserStates>,
}

impl std::fmt::Debug for UserRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the user's number, nor its states' bytes.
        f.debug_struct("UserRead")
            .field("app_id", &self.app_id)
            .field("id", &self.id)
            .field("found", &self.found.is_some())
            .finish()
    }
}

/// What a token matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// The SMS or voice token (or the sandbox token).
    Sms {
        /// When the user was registered.
        registered_at: i64,
    },
    /// A generic authenticator.
    Device {
        /// Its id.
        id: i64,
        /// When it was enrolled.
        registered_at: i64,
    },
}

impl Domain {
    /// `sms/{id}` and `call/{id}`.
    ///
    /// # Errors
    /// [`Error::UserNotFound`], the channel switched off, a limit, or a
    /// failed delivery.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_token(
        &self,
        app: &App,
        id: i64,
        channel: Channel,
        force: bool,
        locale: Option<&str>,
        now: u64,
    ) -> Result<Sent, Error> {
        let user = self.user(app, id).await?;
        match channel {
            Channel::Sms if !app.sms_enabled => return Err(Error::Disabled(Feature::Sms)),
            Channel::Call if !app.calls_enabled => return Err(Error::Disabled(Feature::Calls)),
            _ => {}
        }
        let cellphone = Phone::masked(user.country_code, &user.phone);
        let has_device = !self.store.devices(user.id).await?.is_empty();
        if has_device && !force {
            return Ok(Sent::Ignored {
                cellphone,
                device: "authenticator",
            });
        }
        let e164 = format!("+{}{}", user.country_code, user.phone);
        if !app.sandbox {
            self.take_destination_limits(app, &e164, now).await?;
        }
        let digits = app.token_length;
        let (code, _) = self
            .resend_or_start(
                &token_key(user.app_id, user.id),
                digits,
                TOKEN_VALIDITY,
                now,
                Limit::TokenSends,
                Starter::Authy,
            )
            .await?;
        if !app.sandbox {
            self.take_app_send(app, now).await?;
            let lang = Lang::choose(locale, user.country_code);
            self.deliver(app, &e164, channel, lang, Wording::Named(&app.name), &code)
                .await?;
        }
        self.count_later(app.id, now, Counter::sent(channel));
        Ok(Sent::Sent { cellphone })
    }

    /// `verify/{token}/{id}`: every device of the user and the SMS token,
    /// each spent by compare-and-set.
    ///
    /// # Errors
    /// [`Error::UserNotFound`], [`Error::WrongToken`],
    /// [`Error::ReplayedToken`], or a throttle.
    pub async fn verify_token(
        &self,
        app: &App,
        id: i64,
        token: &str,
        now: u64,
    ) -> Result<Matched, Error> {
        let id = self.user_id_in(app, id).await?;
        // The user, its devices and its states in one read: on PostgreSQL
        // one round trip instead of three.
        let found = self.store.user_with_states(app.id, id).await?;
        self.verify_found(app, found, token, now).await
    }

    /// The application whose Authy API key is `key`, if any, with its
    /// user `id` as [`verify_token_read`](Self::verify_token_read) needs
    /// it: one read (one round trip on PostgreSQL) where authenticating
    /// and then reading the user would take two.
    ///
    /// # Errors
    /// A store failure.
    pub async fn authenticate_for_verify(
        &self,
        key: &str,
        id: i64,
    ) -> Result<Option<(App, UserRead)>, Error> {
        Ok(self
            .store
            .app_with_user(&key_hash(key), id)
            .await?
            .map(|(app, found)| {
                let read = UserRead {
                    app_id: app.id,
                    id,
                    found,
                };
                (app, read)
            }))
    }

    /// [`verify_token`](Self::verify_token) of the user `read` holds, as
    /// [`authenticate_for_verify`](Self::authenticate_for_verify) read it
    /// with `app`.
    ///
    /// # Errors
    /// As [`verify_token`](Self::verify_token).
    pub async fn verify_token_read(
        &self,
        app: &App,
        read: UserRead,
        token: &str,
        now: u64,
    ) -> Result<Matched, Error> {
        // A sandbox's own user 51 may be stored under another id; a read
        // of another application's is no read of this one's.
        if read.app_id != app.id || (app.sandbox && read.id == SANDBOX_USER.0) {
            return self.verify_token(app, read.id, token, now).await;
        }
        self.verify_found(app, read.found, token, now).await
    }

    /// Verifies `token` against the user as read (`None`: not found).
    async fn verify_found(
        &self,
        app: &App,
        found: Option<UserStates>,
        token: &str,
        now: u64,
    ) -> Result<Matched, Error> {
        let found = found.ok_or(Error::UserNotFound)?;
        let user = &found.user;
        let well_formed =
            (6..=12).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(Error::WrongToken);
        }
        if app.sandbox && token == SANDBOX_TOKEN {
            return self
                .accepted(
                    app,
                    user,
                    Matched::Sms {
                        registered_at: user.created_at,
                    },
                    now,
                    false,
                )
                .await;
        }
        // The SMS token first: a right token then spends no authenticator's
        // budget of wrong codes (a six-digit token has the length of a
        // TOTP code). A wrong one, or none pending, goes on to the
        // authenticators; when the lengths differ it spends nothing here.
        let read = found.state(&token_key(user.app_id, user.id).key);
        // A user's first accepted token marks it registered in the same
        // write that spends the token.
        let register = (!user.registered).then_some(user.id);
        let sms = self.check_token(user, token, now, read, register).await?;
        let mut outcome = Outcome::Invalid.combine(sms.map(|()| Matched::Sms {
            registered_at: user.created_at,
        }));
        if let Outcome::Accepted(matched) = outcome {
            return self.accepted(app, user, matched, now, true).await;
        }
        for device in &found.devices {
            let read = found.state(&device_key(app.id, device.user_id, device.id).key);
            let result = self
                .check_device(app.id, device, token, now, read, register)
                .await?;
            if result == Ok(FirstUse(true)) {
                // A new authenticator's first code: it replaces the older
                // ones (not one enrolled since, whose QR code is out).
                for older in found.devices.iter().filter(|d| d.id < device.id) {
                    self.remove_device(app.id, older).await?;
                }
            }
            outcome = outcome.combine(result.map(|_| Matched::Device {
                id: device.id,
                registered_at: device.created_at,
            }));
            if let Outcome::Accepted(matched) = outcome {
                return self.accepted(app, user, matched, now, true).await;
            }
        }
        let (label, result) = match outcome {
            Outcome::Accepted(matched) => {
                return self.accepted(app, user, matched, now, true).await;
            }
            Outcome::Throttled => ("throttled", Error::Limited(Limit::FailedTokens)),
            Outcome::Replayed => ("replayed", Error::ReplayedToken),
            Outcome::Invalid => ("invalid", Error::WrongToken),
        };
        crate::telemetry::verification(label);
        Err(result)
    }

    /// Counts an accepted token; `spent`: the write that spent it marked
    /// the user registered already.
    async fn accepted(
        &self,
        app: &App,
        user: &User,
        matched: Matched,
        now: u64,
        spent: bool,
    ) -> Result<Matched, Error> {
        crate::telemetry::verification("accepted");
        if !user.registered && !spent {
            self.store.set_registered(user.id).await?;
        }
        self.count_later(app.id, now, Counter::Auth);
        Ok(matched)
    }

    pub(super) async fn check_token(
        &self,
        user: &User,
        token: &str,
        now: u64,
        read: Option<Versioned>,
        register: Option<i64>,
    ) -> Result<Result<(), Refusal>, Error> {
        let subject = token_key(user.app_id, user.id);
        let tag = self.used_tag(&subject.key, token);
        self.update_from(
            &subject,
            Some(read),
            || None,
            |pending: Option<Pending>| {
                let Some(mut pending) = pending else {
                    return Ok((None, Step::Keep(Err(Refusal::Invalid))));
                };
                if token.len() != usize::from(pending.digits) {
                    return Ok((None, Step::Keep(Err(Refusal::Invalid))));
                }
                let verifier = self.verifier(pending.digits, TOKEN_VALIDITY)?;
                let result = match verifier.check(&mut pending.state, &subject.key, token, now) {
                    Ok(SmsCheck::Approved) => {
                        pending.used = Some(tag);
                        Ok(())
                    }
                    Ok(SmsCheck::TooManyAttempts) => {
                        return Ok((None, Step::Keep(Err(Refusal::Throttled))));
                    }
                    Ok(SmsCheck::Incorrect { .. }) => Err(Refusal::Invalid),
                    Ok(SmsCheck::NotPending) => {
                        let replayed = pending
                            .used
                            .is_some_and(|used| bool::from(used.ct_eq(&tag)));
                        let refusal = if replayed {
                            Refusal::Replayed
                        } else {
                            Refusal::Invalid
                        };
                        return Ok((None, Step::Keep(Err(refusal))));
                    }
                    _ => return Ok((None, Step::Keep(Err(Refusal::Invalid)))),
                };
                Ok((Some(pending), Step::Write(result)))
            },
            on_acceptance(register),
        )
        .await
    }

    /// HMAC-SHA-256 under the SMS key of a token offered for `subject`.
    pub(super) fn used_tag(&self, subject: &str, token: &str) -> [u8; 32] {
        self.keyed_tag(
            b"passcode-server used token v1\0",
            &[subject.as_bytes(), token.as_bytes()],
        )
    }
}

/// Why a token was refused by one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    Invalid,
    Replayed,
    Throttled,
}

/// The combined verdict over all of a user's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Accepted(Matched),
    Throttled,
    Replayed,
    Invalid,
}

impl Outcome {
    /// An acceptance wins; then a throttle; then a replay.
    fn combine(self, result: Result<Matched, Refusal>) -> Self {
        match (self, result) {
            (accepted @ Self::Accepted(_), _) => accepted,
            (_, Ok(matched)) => Self::Accepted(matched),
            (Self::Throttled, _) | (_, Err(Refusal::Throttled)) => Self::Throttled,
            (Self::Replayed, _) | (_, Err(Refusal::Replayed)) => Self::Replayed,
            _ => Self::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptance_wins_then_throttle_then_replay() {
        let m = Matched::Sms { registered_at: 0 };
        assert_eq!(
            Outcome::Invalid.combine(Err(Refusal::Replayed)),
            Outcome::Replayed
        );
        assert_eq!(
            Outcome::Replayed.combine(Err(Refusal::Invalid)),
            Outcome::Replayed
        );
        assert_eq!(
            Outcome::Replayed.combine(Err(Refusal::Throttled)),
            Outcome::Throttled
        );
        assert_eq!(
            Outcome::Throttled.combine(Ok(m.clone())),
            Outcome::Accepted(m.clone())
        );
        assert_eq!(
            Outcome::Accepted(m.clone()).combine(Err(Refusal::Invalid)),
            Outcome::Accepted(m)
        );
    }
}
