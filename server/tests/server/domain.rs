//! The domain alone: its verbs called with a fixed time and a recording
//! sender, no HTTP, on SQLite and on PostgreSQL. What each verb answers is
//! the domain's own outcome or `domain::Error`, which each surface then
//! words its own way.

use std::sync::Arc;

use passcode_server::crypto::{MasterKey, key_hash};
use passcode_server::domain::{
    CheckFor, Checked, Domain, Error, Feature, Limit, Limits, ServicePatch, StartRequest,
    VerifyStart, VerifyStatus,
};
use passcode_server::sender::Channel;
use passcode_server::store::{App, AppPatch, NewApp};

use super::support::{Recorder, stores};

/// 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000;

async fn domain_and_app(
    store: Arc<dyn passcode_server::store::Store>,
) -> (Domain, App, Arc<Recorder>) {
    let app = store
        .create_app(
            NewApp {
                name: "Acme".into(),
                key_hash: key_hash("acme-key-0000000000000000000000"),
                token_length: 7,
                sandbox: false,
            },
            0,
        )
        .await
        .unwrap();
    let sent = Arc::new(Recorder::default());
    let domain = Domain::new(
        store,
        Arc::new(MasterKey::from_bytes(&[9; 32])),
        sent.clone(),
        Limits::default(),
    );
    (domain, app, sent)
}

fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

#[tokio::test]
async fn verbs_answer_outcomes_and_domain_errors_on_every_store() {
    for (engine, store, _dir) in stores().await {
        let (domain, app, sent) = domain_and_app(store.clone()).await;

        // Authy's phone verification: a wrong code is the domain's
        // WrongCode, the right one approves once, then nothing is pending.
        let start = |number: &str| StartRequest {
            via: Channel::Sms,
            country_code: 1,
            phone_number: number.into(),
            locale: None,
            code_length: 6,
            custom_message: None,
            custom_code: false,
        };
        domain
            .start_verification(&app, start("775-461-5609"), T0)
            .await
            .unwrap();
        let code = sent.last().code;
        assert_eq!(
            domain
                .check_verification(&app, 1, "775-461-5609", &wrong(&code), T0 + 1)
                .await,
            Err(Error::WrongCode),
            "{engine}"
        );
        assert_eq!(
            domain
                .check_verification(&app, 1, "775-461-5609", &code, T0 + 2)
                .await,
            Ok(()),
            "{engine}"
        );
        assert!(
            matches!(
                domain
                    .check_verification(&app, 1, "775-461-5609", &code, T0 + 3)
                    .await,
                Err(Error::NoPendingVerification(_))
            ),
            "{engine}"
        );
        assert_eq!(
            domain
                .check_verification(&app, 1, "12", &code, T0 + 3)
                .await,
            Err(Error::InvalidPhone),
            "{engine}"
        );
        // A number with an E.164 form that is not valid (+1 200 is no area
        // code): found nowhere, and answered as invalid, as before a check
        // read numbers only as far as their keys.
        assert_eq!(
            domain
                .check_verification(&app, 1, "200-555-0123", &code, T0 + 3)
                .await,
            Err(Error::InvalidPhone),
            "{engine}"
        );

        // A sixth send to one number in its ten minutes: Limited, by name.
        for _ in 0..5 {
            domain
                .start_verification(&app, start("775-461-5610"), T0)
                .await
                .unwrap();
        }
        assert!(
            matches!(
                domain
                    .start_verification(&app, start("775-461-5610"), T0)
                    .await,
                Err(Error::Limited(
                    Limit::VerificationSends | Limit::DestinationBurst
                ))
            ),
            "{engine}"
        );

        // Verify: a wrong code is the outcome Incorrect (the Verify surface
        // answers it 200 pending), the right one Approved.
        let service = domain
            .create_verify_service(
                &app,
                ServicePatch {
                    friendly_name: Some("Acme".into()),
                    ..ServicePatch::default()
                },
                T0,
            )
            .await
            .unwrap();
        let request = VerifyStart {
            to: "+17754615611".into(),
            channel: Channel::Sms,
            mail_from: (None, None),
            locale: None,
            custom_friendly_name: None,
            custom_code: None,
            rate_limits: Vec::new(),
        };
        let started = domain
            .start_verify(&app, &service, request.clone(), T0)
            .await
            .unwrap();
        assert_eq!(started.status, VerifyStatus::Pending);
        let code = sent.last().code;
        let by_sid = CheckFor::Sid(started.sid.clone());
        match domain
            .check_verify(&app, &service.sid, by_sid.clone(), &wrong(&code), T0 + 1)
            .await
            .unwrap()
        {
            Checked::Incorrect(v) => assert_eq!(v.status, VerifyStatus::Pending, "{engine}"),
            other => panic!("{engine}: {other:?}"),
        }
        match domain
            .check_verify(&app, &service.sid, by_sid.clone(), &code, T0 + 2)
            .await
            .unwrap()
        {
            Checked::Approved(v) => assert_eq!(v.status, VerifyStatus::Approved, "{engine}"),
            other => panic!("{engine}: {other:?}"),
        }
        assert_eq!(
            domain
                .check_verify(&app, &service.sid, by_sid, &code, T0 + 3)
                .await,
            Err(Error::NotFound),
            "{engine}"
        );

        // E-mail without a mailer; SMS switched off: Disabled, by feature.
        let mut by_mail = request.clone();
        by_mail.to = "alice@example.com".into();
        by_mail.channel = Channel::Email;
        assert_eq!(
            domain.start_verify(&app, &service, by_mail, T0).await,
            Err(Error::Disabled(Feature::Email)),
            "{engine}"
        );
        let off = store
            .update_app(
                app.id,
                AppPatch {
                    sms_enabled: Some(false),
                    ..AppPatch::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            domain.start_verify(&off, &service, request, T0).await,
            Err(Error::Disabled(Feature::Sms)),
            "{engine}"
        );
    }
}
