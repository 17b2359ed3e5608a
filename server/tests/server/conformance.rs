//! One storage conformance suite, run against SQLite and PostgreSQL.

use crate::support;

use std::sync::Arc;

use passcode_server::store::postgres::Postgres;
use passcode_server::store::{
    App, AppPatch, Counter, Device, NewApp, StateKey, Store, StoreError, User, Versioned,
};

fn new_app(name: &str, key: u8, sandbox: bool) -> NewApp {
    NewApp {
        name: name.into(),
        key_hash: [key; 32],
        token_length: 7,
        sandbox,
    }
}

/// `key`, owned by the user `u` of `a` or by `a` itself.
fn owned(a: &App, u: Option<&User>, key: &str) -> StateKey {
    match u {
        Some(u) => StateKey::user(a.id, u.id, key.to_owned()),
        None => StateKey::app(a.id, key.to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_set_has_one_winner() {
    for (kind, store, _dir) in support::stores().await {
        let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
        let k = owned(&a, None, "k");
        assert!(store.load("k").await.unwrap().is_none(), "{kind}");
        assert!(
            store.cas(&k, None, b"a", None).await.unwrap(),
            "{kind}: insert when absent"
        );
        assert!(
            !store.cas(&k, None, b"b", None).await.unwrap(),
            "{kind}: a second insert loses"
        );
        let v = store.load("k").await.unwrap().unwrap();
        assert_eq!(v.value, b"a");
        assert!(
            store.cas(&k, Some(v.version), b"c", None).await.unwrap(),
            "{kind}"
        );
        assert!(
            !store.cas(&k, Some(v.version), b"d", None).await.unwrap(),
            "{kind}: a stale version loses"
        );
        assert_eq!(store.load("k").await.unwrap().unwrap().value, b"c");
        // Many claims on one version, at once: exactly one wins, each round.
        for round in 0..5 {
            let current = store.load("k").await.unwrap().unwrap();
            let claims = (0..100).map(|i| {
                let store = Arc::clone(&store);
                let value = format!("{round}-{i}");
                let k = k.clone();
                tokio::spawn(async move {
                    store
                        .cas(&k, Some(current.version), value.as_bytes(), None)
                        .await
                        .unwrap()
                })
            });
            let wins = futures::future::join_all(claims)
                .await
                .into_iter()
                .filter(|r| *r.as_ref().unwrap())
                .count();
            assert_eq!(wins, 1, "{kind}, round {round}");
        }
        store.remove("k").await.unwrap();
        assert!(store.load("k").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn applications_are_created_found_changed_and_deleted() {
    for (kind, store, _dir) in support::stores().await {
        let a = store.create_app(new_app("A", 1, false), 10).await.unwrap();
        assert_eq!(
            (
                a.name.as_str(),
                a.token_length,
                a.sms_enabled,
                a.phone_export_enabled
            ),
            ("A", 7, true, false),
            "{kind}"
        );
        assert!(
            a.calls_enabled && a.generic_tokens_enabled && !a.custom_messages_enabled && !a.sandbox
        );
        assert_eq!(
            store.app_by_key_hash(&[1; 32]).await.unwrap(),
            Some(a.clone()),
            "{kind}"
        );
        assert_eq!(store.app_by_key_hash(&[2; 32]).await.unwrap(), None);
        let patched = store
            .update_app(
                a.id,
                AppPatch {
                    phone_export_enabled: Some(true),
                    token_length: Some(8),
                    ..AppPatch::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                patched.phone_export_enabled,
                patched.token_length,
                patched.sms_enabled
            ),
            (true, 8, true),
            "{kind}"
        );
        assert_eq!(
            store.update_app(999, AppPatch::default()).await.unwrap(),
            None
        );
        assert!(store.set_app_key(a.id, &[3; 32]).await.unwrap());
        assert_eq!(
            store.app_by_key_hash(&[1; 32]).await.unwrap(),
            None,
            "{kind}: the old key stops working"
        );
        assert_eq!(
            store.app_by_key_hash(&[3; 32]).await.unwrap().map(|x| x.id),
            Some(a.id)
        );
        assert!(!store.set_app_key(999, &[4; 32]).await.unwrap());
        assert_eq!(store.apps().await.unwrap().len(), 1);
        assert_eq!(store.app(a.id).await.unwrap().map(|x| x.id), Some(a.id));
        assert!(store.delete_app(a.id).await.unwrap());
        assert!(!store.delete_app(a.id).await.unwrap());
        assert!(store.apps().await.unwrap().is_empty(), "{kind}");
    }
}

#[tokio::test]
async fn the_first_sandbox_application_owns_user_51() {
    for (kind, store, _dir) in support::stores().await {
        let plain = store.create_app(new_app("P", 1, false), 10).await.unwrap();
        let first = store.create_app(new_app("S1", 2, true), 10).await.unwrap();
        let second = store.create_app(new_app("S2", 3, true), 10).await.unwrap();
        let user = store.user(first.id, 51).await.unwrap().unwrap();
        assert_eq!(
            (user.country_code, user.phone.as_str()),
            (1, "3054562345"),
            "{kind}"
        );
        assert_eq!(store.user(second.id, 51).await.unwrap(), None, "{kind}");
        assert_eq!(store.user(plain.id, 51).await.unwrap(), None, "{kind}");
    }
}

#[tokio::test]
async fn users_are_one_per_phone_per_application_with_global_ids() {
    for (kind, store, _dir) in support::stores().await {
        let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
        let b = store.create_app(new_app("B", 2, false), 0).await.unwrap();
        let (u, created) = store
            .upsert_user(a.id, 1, "7754615609", "x@y.com", 5)
            .await
            .unwrap();
        assert!(created && u.id >= 1000, "{kind}: {u:?}");
        let (again, created) = store
            .upsert_user(a.id, 1, "7754615609", "other@y.com", 6)
            .await
            .unwrap();
        assert_eq!(
            (again.id, created, again.email.as_str()),
            (u.id, false, "x@y.com"),
            "{kind}"
        );
        let (other, created) = store
            .upsert_user(b.id, 1, "7754615609", "x@y.com", 5)
            .await
            .unwrap();
        assert!(created && other.id != u.id, "{kind}: ids are global");
        assert_eq!(
            store.user(b.id, u.id).await.unwrap(),
            None,
            "{kind}: isolation"
        );
        assert_eq!(
            store.user_by_id(u.id).await.unwrap().map(|x| x.app_id),
            Some(a.id)
        );
        assert!(!u.registered);
        store.set_registered(u.id).await.unwrap();
        assert!(
            store.user(a.id, u.id).await.unwrap().unwrap().registered,
            "{kind}"
        );
        assert_eq!(store.user_count(a.id).await.unwrap(), 1);
    }
}

/// An application with two users: `u` with two devices, `v` with one.
async fn two_users_with_devices(store: &Arc<dyn Store>) -> (App, User, User, [Device; 2]) {
    let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
    let (u, _) = store
        .upsert_user(a.id, 1, "7754615609", "x@y.com", 0)
        .await
        .unwrap();
    let (v, _) = store
        .upsert_user(a.id, 1, "7754615610", "x@y.com", 0)
        .await
        .unwrap();
    let device = |user_id, uid| Device {
        id: 0,
        user_id,
        uid: [uid; 16],
        sealed_seed: vec![uid; 40],
        created_at: 7,
    };
    let d1 = store.add_device(device(u.id, 1)).await.unwrap();
    let d2 = store.add_device(device(u.id, 2)).await.unwrap();
    store.add_device(device(v.id, 3)).await.unwrap();
    (a, u, v, [d1, d2])
}

/// The sweeper is one statement: it removes states whose expiry is at or
/// before now, at most `limit` a call, and nothing else (not a state with
/// no expiry, not one whose expiry a write moved on).
#[tokio::test]
async fn expired_states_are_swept_and_nothing_else() {
    for (kind, store, _dir) in support::stores().await {
        let (a, u, _, _) = two_users_with_devices(&store).await;
        let now = 1_700_000_000;
        let states = [
            ("user:token", Some(&u), Some(now - 1)),
            ("app:verification", None, Some(now)),
            ("app:dest", None, Some(now - 100)),
            ("app:later", None, Some(now + 1)),
            ("user:device", Some(&u), None),
            ("app:moved", None, Some(now - 5)),
        ];
        for (key, user, expires_at) in states {
            let key = owned(&a, user, key);
            assert!(store.cas(&key, None, b"v", expires_at).await.unwrap());
        }
        // Written again with a later expiry: it stays.
        let moved = owned(&a, None, "app:moved");
        let read = store.load("app:moved").await.unwrap().unwrap();
        assert!(
            store
                .cas(&moved, Some(read.version), b"w", Some(now + 600))
                .await
                .unwrap(),
            "{kind}"
        );
        assert_eq!(store.sweep(now, 2).await.unwrap(), 2, "{kind}: the limit");
        assert_eq!(store.sweep(now, 2).await.unwrap(), 1, "{kind}");
        assert_eq!(store.sweep(now, 2).await.unwrap(), 0, "{kind}");
        for (key, kept) in [
            ("user:token", false),
            ("app:verification", false),
            ("app:dest", false),
            ("app:later", true),
            ("user:device", true),
            ("app:moved", true),
        ] {
            assert_eq!(
                store.load(key).await.unwrap().is_some(),
                kept,
                "{kind}: {key}"
            );
        }
        assert_eq!(store.sweep(now + 600, 100).await.unwrap(), 2, "{kind}");
        assert!(store.load("user:device").await.unwrap().is_some(), "{kind}");
    }
}

/// A state is written for an owner that exists: once its user or
/// application is gone, a new state for it is refused with a typed
/// conflict (a verb answers "not found"), never a fault.
#[tokio::test]
async fn a_state_for_a_deleted_owner_is_a_conflict() {
    for (kind, store, _dir) in support::stores().await {
        let (a, u, _, _) = two_users_with_devices(&store).await;
        assert!(store.delete_user(a.id, u.id).await.unwrap());
        let key = owned(&a, Some(&u), "user:token");
        assert!(
            matches!(
                store.cas(&key, None, b"v", None).await,
                Err(StoreError::Conflict)
            ),
            "{kind}: a deleted user"
        );
        let gone = StateKey::app(a.id + 1_000, "app:x".to_owned());
        assert!(
            matches!(
                store.cas(&gone, None, b"v", None).await,
                Err(StoreError::Conflict)
            ),
            "{kind}: no such application"
        );
        assert!(store.load("user:token").await.unwrap().is_none(), "{kind}");
    }
}

#[tokio::test]
async fn users_are_imported_with_their_ids_once() {
    use passcode_server::store::Imported;
    for (kind, store, _dir) in support::stores().await {
        let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
        let b = store.create_app(new_app("B", 2, false), 0).await.unwrap();
        let import = |id: i64, app: i64, phone: &'static str| {
            let store = Arc::clone(&store);
            async move { store.import_user(id, app, 1, phone, "", 5).await.unwrap() }
        };
        assert_eq!(
            import(5_000_000, a.id, "7754615609").await,
            Imported::Created,
            "{kind}"
        );
        assert_eq!(
            import(5_000_000, a.id, "7754615609").await,
            Imported::Present,
            "{kind}"
        );
        assert_eq!(
            import(5_000_000, b.id, "7754615609").await,
            Imported::IdTaken,
            "{kind}"
        );
        assert_eq!(
            import(5_000_000, a.id, "7754615610").await,
            Imported::IdTaken,
            "{kind}"
        );
        assert_eq!(
            import(5_000_001, a.id, "7754615609").await,
            Imported::PhoneTaken(5_000_000),
            "{kind}"
        );
        let user = store.user(a.id, 5_000_000).await.unwrap().unwrap();
        assert_eq!((user.country_code, user.phone.as_str()), (1, "7754615609"));
        // Ids handed out later are above every imported one.
        let (later, created) = store
            .upsert_user(a.id, 1, "7754615611", "e@x.io", 6)
            .await
            .unwrap();
        assert!(created && later.id > 5_000_000, "{kind}: {}", later.id);
    }
}

#[tokio::test]
async fn a_device_is_removed_only_by_its_own_user() {
    for (kind, store, _dir) in support::stores().await {
        let (_, u, v, [d1, d2]) = two_users_with_devices(&store).await;
        assert!(!store.remove_device(v.id, d1.id).await.unwrap(), "{kind}");
        assert!(store.remove_device(u.id, d1.id).await.unwrap(), "{kind}");
        assert!(!store.remove_device(u.id, d1.id).await.unwrap(), "{kind}");
        let left = store.devices(u.id).await.unwrap();
        assert_eq!(
            left.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![d2.id],
            "{kind}"
        );
        assert_eq!(store.devices(v.id).await.unwrap().len(), 1, "{kind}");
    }
}

#[tokio::test]
async fn deleting_a_user_takes_its_devices_and_states_and_nothing_else() {
    for (kind, store, _dir) in support::stores().await {
        let (a, u, v, [d1, d2]) = two_users_with_devices(&store).await;
        let listed = store.devices(u.id).await.unwrap();
        assert_eq!(
            listed.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![d1.id, d2.id],
            "{kind}"
        );
        assert_eq!(listed[1].sealed_seed, vec![2; 40]);
        assert_eq!(listed[1].uid, [2; 16]);
        for key in [
            owned(&a, Some(&u), &format!("user:{}:token", u.id)),
            owned(&a, Some(&v), &format!("user:{}:token", v.id)),
            owned(&a, None, &format!("app:{}:x", a.id)),
        ] {
            assert!(store.cas(&key, None, b"s", None).await.unwrap());
        }
        assert!(
            !store.delete_user(999, u.id).await.unwrap(),
            "{kind}: another app's key deletes nothing"
        );
        assert!(store.delete_user(a.id, u.id).await.unwrap());
        assert!(store.devices(u.id).await.unwrap().is_empty(), "{kind}");
        assert!(
            store
                .load(&format!("user:{}:token", u.id))
                .await
                .unwrap()
                .is_none(),
            "{kind}"
        );
        assert!(
            store
                .load(&format!("user:{}:token", v.id))
                .await
                .unwrap()
                .is_some(),
            "{kind}"
        );
        assert_eq!(store.devices(v.id).await.unwrap().len(), 1);
        assert!(store.delete_app(a.id).await.unwrap());
        assert!(
            store
                .load(&format!("app:{}:x", a.id))
                .await
                .unwrap()
                .is_none(),
            "{kind}"
        );
        assert!(
            store
                .load(&format!("user:{}:token", v.id))
                .await
                .unwrap()
                .is_none(),
            "{kind}"
        );
        assert_eq!(store.user_by_id(v.id).await.unwrap(), None);
    }
}

#[tokio::test]
async fn meta_is_set_once_and_counters_add_up() {
    for (kind, store, _dir) in support::stores().await {
        assert_eq!(store.meta("m").await.unwrap(), None);
        assert_eq!(store.init_meta("m", b"first").await.unwrap(), b"first");
        assert_eq!(
            store.init_meta("m", b"second").await.unwrap(),
            b"first",
            "{kind}"
        );
        assert_eq!(
            store.meta("m").await.unwrap().as_deref(),
            Some(&b"first"[..])
        );
        let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
        store.count(a.id, 2024, 12, Counter::Sms, 2).await.unwrap();
        store.count(a.id, 2024, 12, Counter::Sms, 3).await.unwrap();
        store
            .count(a.id, 2025, 1, Counter::ApiCall, 1)
            .await
            .unwrap();
        store.count(a.id, 2024, 12, Counter::Auth, 1).await.unwrap();
        let months = store.stats(a.id).await.unwrap();
        assert_eq!(months.len(), 2, "{kind}");
        assert_eq!(
            (
                months[0].year,
                months[0].month,
                months[0].sms,
                months[0].auths
            ),
            (2024, 12, 5, 1),
            "{kind}"
        );
        assert_eq!(
            (months[1].year, months[1].month, months[1].api_calls),
            (2025, 1, 1),
            "{kind}"
        );
        store.ping().await.unwrap();
    }
}

/// Reads a user with its devices and states, and deletes it: only the
/// states it owns are read and removed, never those of the keys that
/// sorted next to its own (`user:{id}0:`, `user:{id};`) when states were
/// found by key range, nor the application's.
async fn users_own_their_states_only(kind: &str, store: &Arc<dyn Store>) {
    let (a, u, v, [d1, d2]) = two_users_with_devices(store).await;
    let mine = [
        format!("user:{}:device:{}", u.id, d1.id),
        format!("user:{}:token", u.id),
        format!("user:{}:", u.id),
    ];
    let others = [
        format!("user:{}0:token", u.id),
        format!("user:{}1:device:{}", u.id, d1.id),
        format!("user:{};", u.id),
        format!("user:{}", u.id),
        format!("user:{}:token", v.id),
        format!("app:{}:sends", a.id),
    ];
    for key in &mine {
        let key = owned(&a, Some(&u), key);
        assert!(
            store
                .cas(&key, None, key.key.as_bytes(), None)
                .await
                .unwrap()
        );
    }
    for key in &others[..5] {
        let key = owned(&a, Some(&v), key);
        assert!(
            store
                .cas(&key, None, key.key.as_bytes(), None)
                .await
                .unwrap()
        );
    }
    let key = owned(&a, None, &others[5]);
    assert!(
        store
            .cas(&key, None, key.key.as_bytes(), None)
            .await
            .unwrap()
    );
    let first = store.load(&mine[0]).await.unwrap().unwrap();
    assert!(
        store
            .cas(
                &owned(&a, Some(&u), &mine[0]),
                Some(first.version),
                b"again",
                None
            )
            .await
            .unwrap()
    );

    let found = store.user_with_states(a.id, u.id).await.unwrap().unwrap();
    assert_eq!(found.user, u, "{kind}");
    assert_eq!(
        found.devices.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![d1.id, d2.id],
        "{kind}"
    );
    assert_eq!(found.devices, store.devices(u.id).await.unwrap(), "{kind}");
    let mut expected: Vec<(String, Versioned)> = Vec::new();
    for key in &mine {
        expected.push((key.clone(), store.load(key).await.unwrap().unwrap()));
    }
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(found.states, expected, "{kind}: the user's states, by key");
    assert_eq!(found.state(&mine[0]).unwrap().value, b"again", "{kind}");
    assert_eq!(found.state(&others[0]), None, "{kind}");

    // The same read through the application's key, in one statement.
    let (by_key, read) = store.app_with_user(&[1; 32], u.id).await.unwrap().unwrap();
    assert_eq!(by_key, a, "{kind}");
    assert_eq!(
        read.as_ref(),
        Some(&found),
        "{kind}: the user as user_with_states reads it"
    );
    assert_eq!(
        store.app_with_user(&[9; 32], u.id).await.unwrap(),
        None,
        "{kind}: no such key"
    );
    assert_eq!(
        store.app_with_user(&[1; 32], v.id + 100).await.unwrap(),
        Some((a.clone(), None)),
        "{kind}: no such user"
    );
    let b = store.create_app(new_app("B", 2, false), 0).await.unwrap();
    assert_eq!(
        store.app_with_user(&[2; 32], u.id).await.unwrap(),
        Some((b.clone(), None)),
        "{kind}: another application's user"
    );
    let (w, _) = store
        .upsert_user(b.id, 1, "7754615611", "w@y.com", 0)
        .await
        .unwrap();
    let (_, bare) = store.app_with_user(&[2; 32], w.id).await.unwrap().unwrap();
    let bare = bare.unwrap();
    assert_eq!(
        (bare.user, bare.devices, bare.states),
        (w, vec![], vec![]),
        "{kind}: a user with no device and no state"
    );

    let theirs = store.user_with_states(a.id, v.id).await.unwrap().unwrap();
    assert_eq!(theirs.devices.len(), 1, "{kind}");
    assert_eq!(
        theirs
            .states
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        {
            let mut theirs: Vec<&str> = others[..5].iter().map(String::as_str).collect();
            theirs.sort_unstable();
            theirs
        },
        "{kind}: the neighbour's states, by key"
    );
    assert_eq!(store.user_with_states(a.id + 1, u.id).await.unwrap(), None);
    assert_eq!(
        store.user_with_states(a.id, v.id + 100).await.unwrap(),
        None
    );

    assert!(store.delete_user(a.id, u.id).await.unwrap());
    for key in &mine {
        assert!(store.load(key).await.unwrap().is_none(), "{kind}: {key}");
    }
    for key in &others {
        assert!(store.load(key).await.unwrap().is_some(), "{kind}: {key}");
    }
}

#[tokio::test]
async fn a_user_is_read_and_deleted_with_its_own_states_only() {
    for (kind, store, _dir) in support::stores().await {
        users_own_their_states_only(kind, &store).await;
    }
}

#[tokio::test]
async fn a_users_first_accepted_token_registers_it_in_the_same_write() {
    for (kind, store, _dir) in support::stores().await {
        let (a, u, v, _) = two_users_with_devices(&store).await;
        let registered = |user: &User| {
            let (store, user) = (Arc::clone(&store), user.clone());
            async move {
                store
                    .user(user.app_id, user.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .registered
            }
        };
        let k = owned(&a, Some(&u), &format!("user:{}:token", u.id));
        // A plain compare-and-set registers no one.
        assert!(store.cas(&k, None, b"a", None).await.unwrap(), "{kind}");
        assert!(!registered(&u).await, "{kind}");
        let read = store.load(&k.key).await.unwrap().unwrap();
        // Nor does one that loses, updating or inserting.
        assert!(
            !store
                .cas_registering(&k, Some(read.version + 1), b"b", None, u.id)
                .await
                .unwrap(),
            "{kind}: a stale version"
        );
        assert!(
            !store
                .cas_registering(&k, None, b"b", None, u.id)
                .await
                .unwrap(),
            "{kind}: the state is there already"
        );
        assert!(
            !registered(&u).await,
            "{kind}: a lost write registers no one"
        );
        // One that writes does, with its value and expiry, and only its user.
        assert!(
            store
                .cas_registering(&k, Some(read.version), b"c", Some(99), u.id)
                .await
                .unwrap(),
            "{kind}"
        );
        assert!(registered(&u).await, "{kind}");
        assert!(!registered(&v).await, "{kind}");
        let written = store.load(&k.key).await.unwrap().unwrap();
        assert_eq!(
            (written.value.as_slice(), written.version),
            (&b"c"[..], read.version + 1),
            "{kind}"
        );
        assert_eq!(store.sweep(99, 10).await.unwrap(), 1, "{kind}: its expiry");
        // A first state, inserted, registers its user too; and writing
        // again for a registered user is a plain compare-and-set.
        let kv = owned(&a, Some(&v), &format!("user:{}:token", v.id));
        assert!(
            store
                .cas_registering(&kv, None, b"d", None, v.id)
                .await
                .unwrap(),
            "{kind}"
        );
        assert!(registered(&v).await, "{kind}");
        let again = store.load(&kv.key).await.unwrap().unwrap();
        assert!(
            store
                .cas_registering(&kv, Some(again.version), b"e", None, v.id)
                .await
                .unwrap(),
            "{kind}"
        );
        assert_eq!(store.load(&kv.key).await.unwrap().unwrap().value, b"e");
        // A state whose owner is gone is a conflict, as for `cas`.
        assert!(store.delete_user(a.id, v.id).await.unwrap());
        assert!(
            matches!(
                store.cas_registering(&kv, None, b"f", None, v.id).await,
                Err(StoreError::Conflict)
            ),
            "{kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registering_while_the_user_is_deleted_does_not_deadlock() {
    // A registering compare-and-set that updates a state, and the deletion
    // of its user, at once. The deletion locks the user's row, then its
    // states; were the compare-and-set to lock the state first and the
    // user second, PostgreSQL would break the deadlock by failing one of
    // them. A trigger holds the compare-and-set on the state's row long
    // enough for the deletion to start meanwhile.
    let Some(base) = support::postgres_url() else {
        return;
    };
    let url = support::fresh_postgres(&base).await;
    let store: Arc<dyn Store> = Arc::new(Postgres::connect(&url, 4).await.unwrap());
    let (a, u, _, _) = two_users_with_devices(&store).await;
    let k = owned(&a, Some(&u), &format!("user:{}:token", u.id));
    assert!(store.cas(&k, None, b"a", None).await.unwrap());
    let read = store.load(&k.key).await.unwrap().unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE FUNCTION slow_state() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$; \
             CREATE TRIGGER slow_state BEFORE UPDATE ON states \
             FOR EACH ROW EXECUTE FUNCTION slow_state();",
        )
        .await
        .unwrap();
    let writing = {
        let (store, k) = (Arc::clone(&store), k.clone());
        tokio::spawn(async move {
            store
                .cas_registering(&k, Some(read.version), b"b", None, u.id)
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let deleting = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.delete_user(a.id, u.id).await })
    };
    let written = writing.await.unwrap();
    let deleted = deleting.await.unwrap();
    assert!(
        matches!(written, Ok(true)),
        "the compare-and-set: {written:?}"
    );
    assert!(matches!(deleted, Ok(true)), "the deletion: {deleted:?}");
    assert!(store.load(&k.key).await.unwrap().is_none());
}

#[tokio::test]
async fn owned_states_hold_under_a_linguistic_collation() {
    // A database created with a linguistic collation orders ':' and ';'
    // by other rules than their bytes; the ranges must not depend on it.
    let Some(base) = support::postgres_url() else {
        return;
    };
    let url = support::fresh_postgres_linguistic(&base).await;
    let store: Arc<dyn Store> = Arc::new(Postgres::connect(&url, 2).await.unwrap());
    users_own_their_states_only("postgres, ICU en-US", &store).await;
}

/// Conversions are written in batches: each marks the sends of its own
/// verification of its own application, and nothing else.
#[tokio::test]
async fn a_batch_of_conversions_marks_only_its_verifications() {
    use passcode_server::store::{AttemptFilter, AttemptRow, Conversion};
    for (kind, store, _dir) in support::stores().await {
        let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
        let b = store.create_app(new_app("B", 2, false), 0).await.unwrap();
        let attempt = |n: u8, app_id: i64, verification: &str| AttemptRow {
            seq: 0,
            sid: format!("VL{:032x}", n),
            app_id,
            service_sid: format!("VA{:032x}", 1),
            verification_sid: verification.to_owned(),
            channel: "sms".into(),
            country: "US".into(),
            masked_to: "+1775461XXXX".into(),
            to_tag: "tag".into(),
            code_length: 6,
            locale: "en".into(),
            converted: false,
            created_at: 10,
            updated_at: 10,
        };
        let (one, two) = ("VE1".to_owned(), "VE2".to_owned());
        for row in [
            attempt(1, a.id, &one),
            attempt(2, a.id, &one),
            attempt(3, a.id, &two),
            attempt(4, b.id, &one),
        ] {
            store.record_attempt(&row).await.unwrap();
        }
        let convert = |app_id: i64, verification_sid: &str| Conversion {
            app_id,
            verification_sid: verification_sid.to_owned(),
            at: 20,
        };
        store
            .convert_attempts(&[convert(a.id, &one), convert(b.id, "VE9")])
            .await
            .unwrap();
        store.convert_attempts(&[]).await.unwrap();
        let converted = |app_id: i64| {
            let store = Arc::clone(&store);
            async move {
                let rows = store
                    .attempts(app_id, &AttemptFilter::default(), 0, 10)
                    .await
                    .unwrap();
                let mut rows: Vec<(String, bool, i64)> = rows
                    .into_iter()
                    .map(|r| (r.sid, r.converted, r.updated_at))
                    .collect();
                rows.sort();
                rows
            }
        };
        let sid = |n: u8| format!("VL{:032x}", n);
        assert_eq!(
            converted(a.id).await,
            vec![(sid(1), true, 20), (sid(2), true, 20), (sid(3), false, 10)],
            "{kind}"
        );
        assert_eq!(converted(b.id).await, vec![(sid(4), false, 10)], "{kind}");
    }
}

/// A state removed and made again is not the state a request read before
/// the removal: that request's compare-and-set loses, whatever versions
/// the two happen to have.
#[tokio::test]
async fn a_state_made_again_is_not_the_one_read_before() {
    for (kind, store, _dir) in support::stores().await {
        let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
        let k = owned(&a, None, "k");
        for _ in 0..20 {
            assert!(store.cas(&k, None, b"old", None).await.unwrap(), "{kind}");
            let read = store.load("k").await.unwrap().unwrap();
            store.remove("k").await.unwrap();
            assert!(store.cas(&k, None, b"new", None).await.unwrap(), "{kind}");
            assert!(
                !store
                    .cas(&k, Some(read.version), b"stale", None)
                    .await
                    .unwrap(),
                "{kind}: a write decided on the removed state"
            );
            assert_eq!(store.load("k").await.unwrap().unwrap().value, b"new");
            store.remove("k").await.unwrap();
        }
    }
}

/// A Verify check reads its service and its state in one read: nothing
/// for another application's service or none, the state (or its absence)
/// for the application's own.
#[tokio::test]
async fn a_services_state_is_read_with_the_service() {
    use passcode_server::store::VerifyServiceRow;
    for (kind, store, _dir) in support::stores().await {
        let a = store.create_app(new_app("A", 1, false), 0).await.unwrap();
        let b = store.create_app(new_app("B", 2, false), 0).await.unwrap();
        let sid = format!("VA{:032x}", 7);
        let row = VerifyServiceRow {
            seq: 0,
            sid: sid.clone(),
            app_id: a.id,
            settings: "{}".into(),
            version: 1,
            created_at: 0,
            updated_at: 0,
        };
        assert!(store.create_verify_service(&row).await.unwrap(), "{kind}");
        let read = |app_id: i64, sid: String| {
            let store = Arc::clone(&store);
            async move { store.service_state(app_id, &sid, "k").await.unwrap() }
        };
        assert_eq!(read(a.id, sid.clone()).await, Some(None), "{kind}");
        assert!(
            store
                .cas(&owned(&a, None, "k"), None, b"v", None)
                .await
                .unwrap()
        );
        let state = store.load("k").await.unwrap();
        assert_eq!(read(a.id, sid.clone()).await, Some(state), "{kind}");
        assert_eq!(read(b.id, sid.clone()).await, None, "{kind}: not B's");
        assert_eq!(
            read(a.id, format!("VA{:032x}", 8)).await,
            None,
            "{kind}: no such service"
        );
    }
}
