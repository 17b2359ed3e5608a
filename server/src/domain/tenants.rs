//! Tenants (applications): create, list, change, give a new API key,
//! delete. Free functions over the store, since none needs the master key
//! or a sender: the offline `app` commands call them, and so can an admin
//! page.

use super::accounts::{AccountToken, rotate_token};
use super::*;
use crate::crypto::{key_hash, new_api_key};
use crate::store::{AppPatch, NewApp};

/// An application just created, with what is shown of it this once.
#[derive(Debug)]
pub struct NewTenant {
    /// The application.
    pub app: App,
    /// Its Authy API key.
    pub api_key: String,
    /// Its Twilio account SID and auth token.
    pub account: AccountToken,
}

/// An API key an operator may choose: 16 to 128 printable ASCII characters
/// without spaces.
fn valid_api_key(key: &str) -> bool {
    (16..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Creates an application with `api_key` (or a new one), and its account.
///
/// # Errors
/// [`Error::Invalid`] for a key that is not 16 to 128 printable
/// characters, [`Error::Conflict`] for a key another application has.
pub async fn create_tenant(
    store: &dyn Store,
    name: String,
    api_key: Option<String>,
    token_length: u8,
    sandbox: bool,
    now: i64,
) -> Result<NewTenant, Error> {
    let api_key = match api_key {
        Some(key) if valid_api_key(&key) => key,
        Some(_) => {
            return Err(Error::Invalid {
                name: "api_key",
                reason: "must be 16 to 128 printable characters without spaces".into(),
            });
        }
        None => new_api_key(),
    };
    let hash = key_hash(&api_key);
    if store.app_by_key_hash(&hash).await?.is_some() {
        return Err(Error::Conflict("API key"));
    }
    let app = store
        .create_app(
            NewApp {
                name,
                key_hash: hash,
                token_length,
                sandbox,
            },
            now,
        )
        .await?;
    let account = rotate_token(store, app.id).await?;
    Ok(NewTenant {
        app,
        api_key,
        account,
    })
}

/// Every application, by id.
///
/// # Errors
/// A store failure.
pub async fn tenants(store: &dyn Store) -> Result<Vec<App>, Error> {
    Ok(store.apps().await?)
}

/// The application `id` and how many users it has (a sandbox's own user
/// included: deleting the application deletes it too).
///
/// # Errors
/// [`Error::NotFound`].
pub async fn tenant(store: &dyn Store, id: i64) -> Result<(App, i64), Error> {
    let app = store.app(id).await?.ok_or(Error::NotFound)?;
    Ok((app, store.user_count(id).await?))
}

/// The application's users, less the sandbox's own.
///
/// # Errors
/// A store failure.
pub async fn real_users(store: &dyn Store, app_id: i64) -> Result<i64, Error> {
    let all = store.user_count(app_id).await?;
    let (_, country_code, phone) = SANDBOX_USER;
    let seeded = store
        .user_by_phone(app_id, country_code, phone)
        .await?
        .is_some_and(|user| user.is_sandbox_seed());
    Ok(all - i64::from(seeded))
}

/// Applies `patch` to the application `id`. Turning the sandbox on for an
/// application with users (whom `0000000` would then verify) needs
/// `force`.
///
/// # Errors
/// [`Error::NotFound`], [`Error::HasUsers`] without `force`.
pub async fn change_tenant(
    store: &dyn Store,
    id: i64,
    patch: AppPatch,
    force: bool,
) -> Result<App, Error> {
    if patch.sandbox == Some(true) && !force {
        let users = real_users(store, id).await?;
        if users > 0 {
            return Err(Error::HasUsers(users));
        }
    }
    store.update_app(id, patch).await?.ok_or(Error::NotFound)
}

/// Gives the application `id` a new Authy API key; the old one stops at
/// once.
///
/// # Errors
/// [`Error::NotFound`].
pub async fn rotate_api_key(store: &dyn Store, id: i64) -> Result<String, Error> {
    let key = new_api_key();
    if !store.set_app_key(id, &key_hash(&key)).await? {
        return Err(Error::NotFound);
    }
    Ok(key)
}

/// Deletes the application `id` with its users, their authenticators and
/// its states.
///
/// # Errors
/// [`Error::NotFound`].
pub async fn delete_tenant(store: &dyn Store, id: i64) -> Result<(), Error> {
    if !store.delete_app(id).await? {
        return Err(Error::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_keys_are_16_to_128_printable_characters() {
        assert!(valid_api_key(&"k".repeat(16)));
        assert!(valid_api_key(&"k".repeat(128)));
        for bad in [
            "k".repeat(15),
            "k".repeat(129),
            format!("{} ", "k".repeat(16)),
        ] {
            assert!(!valid_api_key(&bad), "{bad:?}");
        }
    }
}
