//! Accounts of the Verify surface: each application's SID and auth token,
//! beside its Authy API key, and SIDs in general.

use super::*;
use crate::crypto::key_hash;
use crate::store::{Account, ApiKey};

/// An application's account SID and a new auth token: shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountToken {
    /// `AC` and 32 hex digits.
    pub sid: String,
    /// 32 hex digits, as Twilio's auth tokens are.
    pub token: String,
}

impl std::fmt::Debug for AccountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountToken")
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

/// A new SID: `prefix` and 32 lower-case hex digits of randomness.
pub(super) fn new_sid(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    sid_text(prefix, &bytes)
}

/// `prefix` and the bytes in lower-case hex.
pub(super) fn sid_text(prefix: &str, bytes: &[u8; 16]) -> String {
    format!("{prefix}{}", hex::encode(bytes))
}

/// The 16 bytes of a SID of `prefix` (32 hex digits of either case after
/// it), or `None`.
pub(super) fn sid_bytes(prefix: &str, text: &str) -> Option<[u8; 16]> {
    let digits = text.strip_prefix(prefix)?;
    if digits.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    hex::decode_to_slice(digits, &mut bytes).ok()?;
    Some(bytes)
}

/// Gives the application a new auth token, and an account SID the first
/// time: what `app create` and `app rotate-token` print (offline, with the
/// store alone) and what a future admin page calls through the domain.
///
/// # Errors
/// [`Error::NotFound`] when there is no such application.
pub async fn rotate_token(store: &dyn Store, app_id: i64) -> Result<AccountToken, Error> {
    let sid = match store.account(app_id).await? {
        Some(account) => account.sid,
        None => new_sid("AC"),
    };
    let mut secret = [0u8; 16];
    rand::rng().fill_bytes(&mut secret);
    let token = hex::encode(secret);
    let account = Account {
        app_id,
        sid: sid.clone(),
        token_hash: key_hash(&token),
        sealed_token: None,
    };
    if !store.set_account(&account).await? {
        return Err(Error::NotFound);
    }
    Ok(AccountToken { sid, token })
}

/// A new API key: its SID and secret, shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// `SK` and 32 hex digits.
    pub sid: String,
    /// 32 characters of letters and digits.
    pub secret: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

/// Makes an API key for the application's account (which it must have).
///
/// # Errors
/// [`Error::NotFound`] when the application has no account.
pub async fn create_api_key(
    store: &dyn Store,
    app_id: i64,
    friendly_name: &str,
    now: i64,
) -> Result<NewApiKey, Error> {
    if store.account(app_id).await?.is_none() {
        return Err(Error::NotFound);
    }
    let sid = new_sid("SK");
    let secret = crate::crypto::new_api_key();
    store
        .create_api_key(&ApiKey {
            sid: sid.clone(),
            app_id,
            friendly_name: friendly_name.to_owned(),
            secret_hash: key_hash(&secret),
            created_at: now,
        })
        .await?;
    Ok(NewApiKey { sid, secret })
}

impl Domain {
    /// Gives the application a new auth token (see [`rotate_token`]).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such application.
    pub async fn rotate_account_token(&self, app_id: i64) -> Result<AccountToken, Error> {
        rotate_token(self.store.as_ref(), app_id).await
    }

    /// The application's account SID, if it has an account.
    ///
    /// # Errors
    /// A store failure.
    pub async fn account_sid(&self, app_id: i64) -> Result<Option<String>, Error> {
        Ok(self.store.account(app_id).await?.map(|a| a.sid))
    }

    /// The application whose Authy API key is `key`, if any.
    ///
    /// # Errors
    /// A store failure.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Option<App>, Error> {
        // Looked up by its hash: the stored hash is never compared with
        // the key's bytes, and the hash of a guess says nothing about a key.
        Ok(self.store.app_by_key_hash(&key_hash(key)).await?)
    }

    /// Whether the store answers (`/ready`).
    ///
    /// # Errors
    /// The store's failure, for the log.
    pub async fn ready(&self) -> Result<(), crate::store::StoreError> {
        self.store.ping().await
    }

    /// The application whose account `sid` has the auth token `token`, or
    /// whose API key `sid` (`SK...`) has the secret `token`, with its
    /// account SID; `None` for any other pair. The token is compared by
    /// its hash, in constant time.
    ///
    /// # Errors
    /// A store failure.
    pub async fn authenticate_account(
        &self,
        sid: &str,
        token: &str,
    ) -> Result<Option<(App, String)>, Error> {
        // An API key names its account: the application's.
        if sid_bytes("SK", sid).is_some() {
            let Some(key) = self.store.api_key(sid).await? else {
                return Ok(None);
            };
            if !bool::from(key_hash(token).ct_eq(&key.secret_hash)) {
                return Ok(None);
            }
            let (Some(app), Some(account)) = (
                self.store.app(key.app_id).await?,
                self.store.account(key.app_id).await?,
            ) else {
                return Ok(None);
            };
            return Ok(Some((app, account.sid)));
        }
        if sid_bytes("AC", sid).is_none() {
            return Ok(None);
        }
        let Some((account, app)) = self.store.account_with_app(sid).await? else {
            return Ok(None);
        };
        if !bool::from(key_hash(token).ct_eq(&account.token_hash)) {
            return Ok(None);
        }
        // The token's first use on this server: kept sealed, to sign the
        // account's webhooks (once per token; a rotation clears it).
        if account.sealed_token.is_none() {
            let sealed = self
                .key
                .seal(token.as_bytes(), &webhooks::token_context(account.app_id));
            self.store
                .seal_account_token(account.app_id, &account.token_hash, &sealed)
                .await?;
        }
        Ok(Some((app, account.sid)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_a_prefix_and_32_hex_digits() {
        let sid = new_sid("VA");
        assert_eq!(sid.len(), 34);
        assert!(
            sid[2..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let bytes = sid_bytes("VA", &sid).unwrap();
        assert_eq!(sid_text("VA", &bytes), sid);
        assert_eq!(
            sid_bytes("VA", &format!("VA{}", sid[2..].to_uppercase())),
            Some(bytes)
        );
        for bad in [
            "",
            "VA",
            "VE0123456789abcdef0123456789abcdef",
            "VA0123456789abcdef0123456789abcde",
            "VA0123456789abcdef0123456789abcdeg",
            "VA0123456789abcdef0123456789abcdef0",
        ] {
            assert_eq!(sid_bytes("VA", bad), None, "{bad}");
        }
    }
}
