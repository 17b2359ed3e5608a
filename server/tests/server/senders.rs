//! The network senders against local fakes: what goes over the wire, the
//! signature, retries and the flush at shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use passcode_server::redacted::Redacted;
use passcode_server::sender::outbox::Retry;
use passcode_server::sender::{Channel, Message, SenderSecrets, SenderSpec};
use sha2::Sha256;

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
}

/// A fake gateway on loopback answering `statuses` in turn (then 200).
async fn fake(statuses: &[u16]) -> (String, Fake) {
    let fake = Fake::default();
    fake.statuses.lock().unwrap().extend(statuses.iter().rev());
    let state = fake.clone();
    let app = Router::new().fallback(post(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let state = state.clone();
        async move {
            state
                .seen
                .lock()
                .unwrap()
                .push((uri.path().to_owned(), headers, body));
            let status = state.statuses.lock().unwrap().pop().unwrap_or(200);
            StatusCode::from_u16(status).unwrap()
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), fake)
}

fn message(channel: Channel) -> Message {
    Message {
        app_id: 3,
        to: "+14155552671".into(),
        channel,
        locale: "es",
        body: "Tu código de verificación de Acme es: 1234567".into(),
        code: "1234567".into(),
    }
}

const FAST: Retry = Retry {
    attempts: 4,
    first_delay: Duration::from_millis(10),
};

#[tokio::test]
async fn the_webhook_is_signed_and_retried_until_it_is_taken() {
    let (base, fake) = fake(&[500, 503]).await;
    let secrets = SenderSecrets {
        webhook_secret: Some(Redacted::new("whsec-test".into())),
        ..SenderSecrets::default()
    };
    let sender = SenderSpec::Webhook(format!("{base}/hook"))
        .build(&secrets, FAST)
        .unwrap();
    sender.send(&message(Channel::Sms)).await.unwrap();
    sender.flush(Duration::from_secs(5)).await;
    let seen = fake.seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "two failures, then delivered");
    for (path, headers, body) in seen.iter() {
        assert_eq!(path, "/hook");
        assert_eq!(
            body.as_ref(),
            r#"{"app_id":3,"to":"+14155552671","channel":"sms","locale":"es","body":"Tu código de verificación de Acme es: 1234567","code":"1234567"}"#.as_bytes()
        );
        let timestamp = headers["x-passcode-timestamp"].to_str().unwrap();
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"whsec-test").unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(headers["x-passcode-signature"].to_str().unwrap(), expected);
    }
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let (base, fake) = fake(&[400]).await;
    let secrets = SenderSecrets {
        webhook_secret: Some(Redacted::new("s".into())),
        ..SenderSecrets::default()
    };
    let sender = SenderSpec::Webhook(base).build(&secrets, FAST).unwrap();
    sender.send(&message(Channel::Sms)).await.unwrap();
    sender.flush(Duration::from_secs(5)).await;
    assert_eq!(fake.seen.lock().unwrap().len(), 1);
    // After the flush the queue is closed: a send is refused, not lost.
    assert!(sender.send(&message(Channel::Sms)).await.is_err());
}

/// D15: the webhook followed redirects, posting the code and its
/// signature again to wherever the first host sent it.
#[tokio::test]
async fn a_redirect_is_a_refused_delivery_not_followed() {
    passcode_server::telemetry::recorder();
    let (elsewhere, stolen) = fake(&[]).await;
    let redirect = Router::new().fallback(post(move || {
        let to = format!("{elsewhere}/steal");
        async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, redirect).await });
    let secrets = SenderSecrets {
        webhook_secret: Some(Redacted::new("s".into())),
        twilio_account_sid: Some("ACtest".into()),
        twilio_auth_token: Some(Redacted::new("token".into())),
        twilio_from: Some("+15005550006".into()),
        twilio_base_url: Some(format!("http://{addr}")),
    };
    for spec in [
        SenderSpec::Webhook(format!("http://{addr}/hook")),
        SenderSpec::Twilio,
    ] {
        let sender = spec.build(&secrets, FAST).unwrap();
        sender.send(&message(Channel::Sms)).await.unwrap();
        sender.flush(Duration::from_secs(5)).await;
    }
    assert_eq!(
        stolen.seen.lock().unwrap().len(),
        0,
        "a redirect was followed"
    );
    let metrics = passcode_server::telemetry::render();
    assert!(
        // Twilio's only refusal in this binary (the webhook has others).
        metrics.contains(r#"passcode_deliveries_total{gateway="twilio",outcome="refused"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_network_sender_needs_its_secret() {
    let error = SenderSpec::Webhook("http://127.0.0.1:9/x".into())
        .build(&SenderSecrets::default(), FAST)
        .err()
        .unwrap();
    assert!(error.to_string().contains("PASSCODE_WEBHOOK_SECRET"));
    let error = SenderSpec::Twilio
        .build(&SenderSecrets::default(), FAST)
        .err()
        .unwrap();
    assert!(error.to_string().contains("PASSCODE_TWILIO_ACCOUNT_SID"));
}

#[tokio::test]
async fn twilio_gets_messages_and_calls_as_its_api_takes_them() {
    let (base, fake) = fake(&[]).await;
    let secrets = SenderSecrets {
        twilio_account_sid: Some("ACtest".into()),
        twilio_auth_token: Some(Redacted::new("token".into())),
        twilio_from: Some("+15005550006".into()),
        twilio_base_url: Some(base),
        ..SenderSecrets::default()
    };
    let sender = SenderSpec::Twilio.build(&secrets, FAST).unwrap();
    sender.send(&message(Channel::Sms)).await.unwrap();
    sender.send(&message(Channel::Call)).await.unwrap();
    sender.flush(Duration::from_secs(5)).await;
    let mut seen = fake.seen.lock().unwrap().clone();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ACtest:token")
    );
    let form = |body: &Bytes| -> Vec<(String, String)> {
        let text = std::str::from_utf8(body).unwrap();
        text.split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(&s.replace('+', " "))
                        .decode_utf8()
                        .unwrap()
                        .into_owned()
                };
                (decode(k), decode(v))
            })
            .collect()
    };
    let (path, headers, body) = &seen[0];
    assert_eq!(path, "/2010-04-01/Accounts/ACtest/Calls.json");
    assert_eq!(headers["authorization"].to_str().unwrap(), auth);
    assert_eq!(form(body), vec![
        ("To".into(), "+14155552671".into()),
        ("From".into(), "+15005550006".into()),
        (
            "Twiml".into(),
            "<Response><Say language=\"es-ES\">Tu código de verificación de Acme es: 1234567</Say></Response>".into()
        ),
    ]);
    let (path, headers, body) = &seen[1];
    assert_eq!(path, "/2010-04-01/Accounts/ACtest/Messages.json");
    assert_eq!(headers["authorization"].to_str().unwrap(), auth);
    assert_eq!(
        form(body),
        vec![
            ("To".into(), "+14155552671".into()),
            ("From".into(), "+15005550006".into()),
            (
                "Body".into(),
                "Tu código de verificación de Acme es: 1234567".into()
            ),
        ]
    );
}
