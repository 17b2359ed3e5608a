//! TOTP authenticators: enrol, check a code by compare-and-set with its
//! guess budget, replace, serve the QR link, export the seed.

use super::*;

/// A generic authenticator enrolled.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The label shown in the app.
    pub label: String,
    /// The issuer (the application's name).
    pub issuer: String,
    /// The `otpauth://` URI (secret-bearing).
    pub uri: String,
    /// The opaque token of the QR code's link.
    pub qr_token: String,
}

/// Whether an accepted code was its authenticator's first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FirstUse(pub(super) bool);

/// The association data a device's seed is sealed with.
pub(super) fn seed_context(device: &Device) -> Vec<u8> {
    let mut context = b"passcode-server device seed v1:".to_vec();
    context.extend_from_slice(&device.user_id.to_be_bytes());
    context.extend_from_slice(&device.uid);
    context
}

/// The TOTP profile of generic authenticators: 6 digits, 30 s, SHA-1.
pub(super) fn generic_config() -> TotpConfig {
    TotpConfig::new()
}

impl Domain {
    pub(super) async fn check_device(
        &self,
        app_id: i64,
        device: &Device,
        token: &str,
        now: u64,
        read: Option<Versioned>,
        register: Option<i64>,
    ) -> Result<Result<FirstUse, Refusal>, Error> {
        let Some(seed) = self.key.open(&device.sealed_seed, &seed_context(device)) else {
            tracing::error!(
                device = device.id,
                "a seed does not open under the master key"
            );
            return Err(Error::Internal);
        };
        let totp = Totp::from_key(&seed, generic_config()).map_err(|_| Error::Internal)?;
        self.check_totp(
            &device_key(app_id, device.user_id, device.id),
            &totp,
            TotpPolicy::new(),
            token,
            now,
            read,
            register,
        )
        .await
    }

    /// Checks `token` against `totp` under the state at `key` (the step
    /// used, the drift, the throttle and the day's budget of wrong
    /// guesses), by compare-and-set: the one check of an authenticator's
    /// code, whichever API asks (an Authy device, a Verify factor; one
    /// brought from Authy to Verify shares its device's key, so a step
    /// used on one API is used on both). An accepted code also marks the
    /// user `register` names as having logged in once, in the same write.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn check_totp(
        &self,
        key: &StateKey,
        totp: &Totp,
        policy: TotpPolicy,
        token: &str,
        now: u64,
        read: Option<Versioned>,
        register: Option<i64>,
    ) -> Result<Result<FirstUse, Refusal>, Error> {
        if token.len() != usize::from(totp.config().digits().get()) {
            return Ok(Err(Refusal::Invalid));
        }
        let budget = self.limits.totp_guesses;
        self.update_from(
            key,
            Some(read),
            || Some(Guarded::default()),
            |state: Option<Guarded>| {
                let mut state = state.unwrap_or_default();
                if state.retired {
                    return Ok((None, Step::Keep(Err(Refusal::Invalid))));
                }
                // The day's wrong guesses are spent: no code is tried.
                if budget.check(&mut state.guesses.clone(), now).is_err() {
                    crate::telemetry::rate_limited("totp_guesses");
                    return Ok((None, Step::Keep(Err(Refusal::Throttled))));
                }
                let first = state.totp.last_step().is_none();
                let result = match totp.check(&policy, &mut state.totp, token, now) {
                    Ok(_) => Ok(FirstUse(first)),
                    // A double submit or a client's retry of the code just
                    // accepted: refused, but not a guess, so the state that
                    // counted it as a failure is not written.
                    Err(VerifyError::Replayed) => {
                        return Ok((None, Step::Keep(Err(Refusal::Replayed))));
                    }
                    Err(VerifyError::Throttled { .. }) => {
                        return Ok((None, Step::Keep(Err(Refusal::Throttled))));
                    }
                    Err(_) => {
                        // A wrong guess spends a unit of the budget, which
                        // the check above showed is there.
                        let _ = budget.check(&mut state.guesses, now);
                        Err(Refusal::Invalid)
                    }
                };
                Ok((Some(state), Step::Write(result)))
            },
            on_acceptance(register),
        )
        .await
    }

    /// Deletes an authenticator and its state.
    pub(super) async fn remove_device(&self, app_id: i64, device: &Device) -> Result<(), Error> {
        self.store.remove_device(device.user_id, device.id).await?;
        self.store
            .remove(&device_key(app_id, device.user_id, device.id).key)
            .await?;
        Ok(())
    }

    /// `users/{id}/secret`: enrols a generic authenticator.
    ///
    /// # Errors
    /// [`Error::UserNotFound`], `Error::Disabled(Feature::GenericTokens)`,
    /// [`Error::Invalid`] for a label a key URI cannot carry.
    pub async fn enrol(
        &self,
        app: &App,
        id: i64,
        label: Option<&str>,
        now: u64,
    ) -> Result<Enrolled, Error> {
        let found = self
            .store
            .user_with_states(app.id, id)
            .await?
            .ok_or(Error::UserNotFound)?;
        let user = found.user.clone();
        if !app.generic_tokens_enabled {
            return Err(Error::Disabled(Feature::GenericTokens));
        }
        // An authenticator never used to verify is replaced by the new one;
        // one that was used stays until the new one is first used
        // (`verify_token`). So a user has at most one of each, and a guess
        // is tried against two seeds, not one per enrolment ever made.
        for device in &found.devices {
            let key = device_key(app.id, device.user_id, device.id);
            let read = found.state(&key.key);
            let used = read
                .as_ref()
                .and_then(|v| Guarded::decode(&v.value))
                .is_some_and(|g| g.totp.last_step().is_some());
            // Retired by compare-and-set on the state read: if its first
            // code was accepted meanwhile, it is in use and stays.
            if !used
                && self
                    .store
                    .cas(&key, read.map(|v| v.version), RETIRED, None)
                    .await?
            {
                self.remove_device(app.id, device).await?;
            }
        }
        let label = label
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(&user.email)
            .to_owned();
        let secret = Secret::generate(&mut rand::rng(), passcode::Algorithm::Sha1);
        let uri = KeyUri::with_issuer(&secret, OtpKind::Totp(generic_config()), &app.name, &label)
            .map_err(|e| Error::Invalid {
                name: "label",
                reason: e.to_string(),
            })?
            .to_string();
        let mut uid = [0u8; 16];
        rand::rng().fill_bytes(&mut uid);
        let mut device = Device {
            id: 0,
            user_id: user.id,
            uid,
            sealed_seed: Vec::new(),
            created_at: now_i64(now),
        };
        device.sealed_seed = self.key.seal(secret.as_bytes(), &seed_context(&device));
        let device = self.store.add_device(device).await?;
        let mut token = [0u8; 16];
        rand::rng().fill_bytes(&mut token);
        let qr_token = hex::encode(token);
        let link = QrLink {
            user_id: user.id,
            device_id: device.id,
            expires_at: now.saturating_add(QR_VALIDITY),
        };
        if !self
            .store
            .cas(
                &qr_key(app.id, user.id, &qr_token),
                None,
                &link.encode(),
                Some(unix(link.expires_at)),
            )
            .await?
        {
            return Err(Error::Internal);
        }
        Ok(Enrolled {
            label,
            issuer: app.name.clone(),
            uri,
            qr_token,
        })
    }

    /// The key URI behind a QR link, while it is valid, once: the link is a
    /// bearer credential for the seed, so the first fetch spends it (by
    /// compare-and-set: of concurrent fetches, one gets the image). With
    /// `spend` false (a `HEAD`, which gets no image) the link is only
    /// checked.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown, expired or spent link.
    pub async fn qr_uri(&self, token: &str, now: u64, spend: bool) -> Result<String, Error> {
        let well_formed = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(Error::NotFound);
        }
        let Some(stored) = self.store.load(&qr_text(token)).await? else {
            return Err(Error::NotFound);
        };
        let link = QrLink::decode(&stored.value).ok_or(Error::Internal)?;
        if now >= link.expires_at {
            return Err(Error::NotFound);
        }
        let user = self
            .store
            .user_by_id(link.user_id)
            .await?
            .ok_or(Error::NotFound)?;
        // Spent, it keeps the link's expiry, and the sweeper's.
        let spent = QrLink {
            expires_at: 0,
            ..link
        };
        if spend
            && !self
                .store
                .cas(
                    &qr_key(user.app_id, user.id, token),
                    Some(stored.version),
                    &spent.encode(),
                    Some(unix(link.expires_at)),
                )
                .await?
        {
            return Err(Error::NotFound);
        }
        let devices = self.store.devices(link.user_id).await?;
        let device = devices
            .iter()
            .find(|d| d.id == link.device_id)
            .ok_or(Error::NotFound)?;
        let app = self.store.app(user.app_id).await?.ok_or(Error::NotFound)?;
        let seed = self
            .key
            .open(&device.sealed_seed, &seed_context(device))
            .ok_or(Error::Internal)?;
        let secret = Secret::from_bytes(&seed).map_err(|_| Error::Internal)?;
        let label = user.email.clone();
        KeyUri::with_issuer(&secret, OtpKind::Totp(generic_config()), &app.name, &label)
            .map(|uri| uri.to_string())
            .map_err(|_| Error::Internal)
    }

    /// `users/{id}/secret/export`: the newest generic seed and its current
    /// code, for migrating to another service.
    ///
    /// # Errors
    /// `Error::Disabled(Feature::SecretExport)`, [`Error::UserNotFound`], a quota.
    pub async fn export_secret(
        &self,
        app: &App,
        id: i64,
        now: u64,
    ) -> Result<(String, String), Error> {
        if !app.phone_export_enabled {
            return Err(Error::Disabled(Feature::SecretExport));
        }
        let user = self.user(app, id).await?;
        let devices = self.store.devices(user.id).await?;
        let Some(device) = devices.last() else {
            return Err(Error::UserNotFound);
        };
        self.take(
            &StateKey::user(app.id, user.id, format!("user:{}:secret_export", user.id)),
            self.limits.export_user,
            now,
            Limit::SecretExport,
        )
        .await?;
        let seed = self
            .key
            .open(&device.sealed_seed, &seed_context(device))
            .ok_or(Error::Internal)?;
        let secret = Secret::from_bytes(&seed).map_err(|_| Error::Internal)?;
        let totp = Totp::new(&secret, generic_config()).map_err(|_| Error::Internal)?;
        let code = totp.generate(now).map_err(|_| Error::Internal)?;
        Ok((secret.to_base32().to_string(), code.to_string()))
    }
}
