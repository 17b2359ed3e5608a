//! The Verify v2 surface in-process: golden bodies (the response examples
//! of Twilio's `twilio_verify_v2.json`, as VERIFY-V2.md quotes them),
//! concurrency on one verification, one code across both surfaces, and bad
//! input in every parameter.

use super::*;

/// Basic auth for application 1's account.
struct Account {
    sid: String,
    token: String,
}

async fn account(s: &Server, app: i64) -> Account {
    let token = passcode_server::domain::rotate_token(s.store.as_ref(), app)
        .await
        .unwrap();
    Account {
        sid: token.sid,
        token: token.token,
    }
}

impl Server {
    async fn twilio(
        &self,
        who: &Account,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}/v2{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url).query(form),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).form(form),
        };
        self.send(request.basic_auth(&who.sid, Some(&who.token)))
            .await
    }
}

fn json(answer: &Answer) -> serde_json::Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body))
}

/// The keys of `value`, recursively, in order, as `a.b.c` paths.
fn key_paths(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}{k}");
                out.push(path.clone());
                key_paths(v, &format!("{path}."), out);
            }
        }
        serde_json::Value::Array(items) => {
            if let Some(first) = items.first() {
                key_paths(first, &format!("{prefix}[]."), out);
            }
        }
        _ => {}
    }
}

fn same_shape(ours: &str, golden: &str) {
    let ours: serde_json::Value = serde_json::from_str(ours).unwrap();
    let golden: serde_json::Value = serde_json::from_str(golden).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    key_paths(&ours, "", &mut a);
    key_paths(&golden, "", &mut b);
    assert_eq!(a, b, "ours: {ours}");
}

// twilio_verify_v2.json @ d50069b, Services/{Sid} fetch example (VERIFY-V2.md 2.2).
const SERVICE: &str = r#"{"sid":"VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","friendly_name":"name","code_length":4,"lookup_enabled":false,"psd2_enabled":false,"skip_sms_to_landlines":false,"dtmf_input_required":false,"tts_name":"name","do_not_share_warning_enabled":false,"custom_code_enabled":true,"push":{"include_date":false,"apn_credential_sid":null,"fcm_credential_sid":null},"totp":{"issuer":null,"time_step":null,"code_length":null,"skew":null},"whatsapp":{"msg_service_sid":null,"from":null},"passkeys":{"relying_party":{"id":null,"name":null,"origins":null},"authenticator_attachment":null,"discoverable_credentials":null,"user_verification":null},"default_template_sid":"HJaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","verify_event_subscription_enabled":false,"date_created":"2015-07-30T20:00:00Z","date_updated":"2015-07-30T20:00:00Z","url":"https://verify.twilio.com/v2/Services/VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","links":{"verification_checks":"https://verify.twilio.com/v2/Services/VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/VerificationCheck","verifications":"x","rate_limits":"x","messaging_configurations":"x","entities":"x","webhooks":"x","access_tokens":"x"}}"#;
// Verifications create example (VERIFY-V2.md 2.3).
const VERIFICATION: &str = r#"{"sid":"VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","service_sid":"VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","to":"+15017122661","channel":"sms","status":"pending","valid":false,"date_created":"2015-07-30T20:00:00Z","date_updated":"2015-07-30T20:00:00Z","lookup":{},"amount":null,"payee":null,"send_code_attempts":[{"time":"2015-07-30T20:00:00Z","channel":"SMS","attempt_sid":"VLaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}],"sna":null,"url":"https://verify.twilio.com/v2/Services/VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Verifications/VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#;
// VerificationCheck example (VERIFY-V2.md 2.4).
const CHECK: &str = r#"{"sid":"VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","service_sid":"VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","to":"+15017122661","channel":"sms","status":"approved","valid":true,"amount":null,"payee":null,"sna_attempts_error_codes":[],"date_created":"2015-07-30T20:00:00Z","date_updated":"2015-07-30T20:00:00Z"}"#;
// The list envelope (VERIFY-V2.md 2.9).
const LIST_META: &str = r#"{"page":0,"page_size":50,"first_page_url":"https://verify.twilio.com/v2/Services?PageSize=50&Page=0","previous_page_url":null,"url":"https://verify.twilio.com/v2/Services?PageSize=50&Page=0","next_page_url":null,"key":"services"}"#;

fn sid_like(value: &serde_json::Value, prefix: &str) {
    let text = value.as_str().unwrap_or_default();
    assert!(
        text.len() == 34
            && text.starts_with(prefix)
            && text[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{value} is not a {prefix} SID"
    );
}

fn date_like(value: &serde_json::Value) {
    let text = value.as_str().unwrap_or_default();
    let bytes = text.as_bytes();
    assert!(
        bytes.len() == 20 && bytes[4] == b'-' && bytes[10] == b'T' && bytes[19] == b'Z',
        "{value} is not a Twilio date"
    );
}

#[tokio::test]
async fn bodies_have_twilios_fields_in_twilios_order() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let created = s
        .twilio(&a, "POST", "/Services", &[("FriendlyName", "Golden")])
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.content_type, "application/json");
    same_shape(&created.body, SERVICE);
    let service = json(&created);
    sid_like(&service["sid"], "VA");
    assert_eq!(service["account_sid"], a.sid.as_str());
    assert_eq!(service["code_length"], 6);
    assert_eq!(service["dtmf_input_required"], true);
    date_like(&service["date_created"]);
    let sid = service["sid"].as_str().unwrap().to_owned();
    assert_eq!(
        service["url"],
        format!("{}/v2/Services/{sid}", s.base).as_str()
    );
    assert_eq!(
        service["links"]["verification_checks"],
        format!("{}/v2/Services/{sid}/VerificationCheck", s.base).as_str()
    );

    let started = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{sid}/Verifications"),
            &[("To", "+15017122661"), ("Channel", "sms")],
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    same_shape(&started.body, VERIFICATION);
    let v = json(&started);
    sid_like(&v["sid"], "VE");
    sid_like(&v["send_code_attempts"][0]["attempt_sid"], "VL");
    date_like(&v["send_code_attempts"][0]["time"]);
    assert_eq!(v["lookup"], serde_json::json!({}));

    let code = s.last_code();
    assert_eq!(code.len(), 6);
    let checked = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{sid}/VerificationCheck"),
            &[("To", "+15017122661"), ("Code", &code)],
        )
        .await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    same_shape(&checked.body, CHECK);
    assert_eq!(json(&checked)["sid"], v["sid"]);

    let listed = s.twilio(&a, "GET", "/Services", &[]).await;
    assert_eq!(listed.status, 200);
    let list = json(&listed);
    same_shape(&list["meta"].to_string(), LIST_META);
    assert_eq!(list["meta"]["key"], "services");
    same_shape(&list["services"][0].to_string(), SERVICE);

    // The 429 example of Verifications create, byte for byte.
    let limited = r#"{"code":20429,"message":"Too many requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}"#;
    let ours = api::verify::error::VerifyError::from_domain(
        passcode_server::error::ApiError::TooManyRequests(
            passcode_server::domain::Limit::ApplicationSends,
        ),
        "/x",
    );
    assert_eq!(String::from_utf8(ours.body()).unwrap(), limited);

    let deleted = s
        .twilio(&a, "DELETE", &format!("/Services/{sid}"), &[])
        .await;
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
}

#[tokio::test]
async fn one_right_code_checked_100_times_at_once_approves_once_and_wrong_codes_count_five() {
    let s = start(false).await;
    let a = Arc::new(account(&s, 1).await);
    let service = json(
        &s.twilio(&a, "POST", "/Services", &[("FriendlyName", "Race")])
            .await,
    )["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = Arc::new(s);
    for (to, right) in [("+15017122661", true), ("+15017122662", false)] {
        let started = s
            .twilio(
                &a,
                "POST",
                &format!("/Services/{service}/Verifications"),
                &[("To", to), ("Channel", "sms")],
            )
            .await;
        assert_eq!(started.status, 201, "{}", started.body);
        let code = s.last_code();
        let sent = if right {
            code
        } else {
            format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
        };
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (s, a, path, sent) = (
                Arc::clone(&s),
                Arc::clone(&a),
                format!("/Services/{service}/VerificationCheck"),
                sent.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let answer = s
                    .twilio(&a, "POST", &path, &[("To", to), ("Code", &sent)])
                    .await;
                let status = if answer.status == 200 {
                    json(&answer)["status"].as_str().unwrap().to_owned()
                } else {
                    json(&answer)["code"].to_string()
                };
                (answer.status, status)
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let count = |s: &str| answers.iter().filter(|(_, a)| a == s).count();
        assert!(
            answers.iter().all(|(status, _)| *status < 500),
            "{answers:?}"
        );
        if right {
            assert_eq!(count("approved"), 1, "{answers:?}");
            assert_eq!(count("20404"), 99, "{answers:?}");
        } else {
            assert_eq!(count("pending"), 5, "{answers:?}");
            assert_eq!(count("60202"), 1, "{answers:?}");
            assert_eq!(count("20404"), 94, "{answers:?}");
        }
    }
}

#[tokio::test]
async fn a_code_is_accepted_once_across_both_surfaces() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = json(
        &s.twilio(&a, "POST", "/Services", &[("FriendlyName", "Both")])
            .await,
    )["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let check_path = format!("/Services/{service}/VerificationCheck");
    // Started on Verify, accepted on Authy: then gone on Verify.
    let start_path = format!("/Services/{service}/Verifications");
    let started = s
        .twilio(
            &a,
            "POST",
            &start_path,
            &[("To", "+17754615609"), ("Channel", "sms")],
        )
        .await;
    assert_eq!(started.status, 201);
    let code = s.last_code();
    let body = format!(
        r#"{{"country_code":1,"phone_number":"775-461-5609","verification_code":"{code}"}}"#
    );
    let authy = s.post_json(KEY_A, "phones/verification/check", &body).await;
    assert_eq!(authy.status, 200, "{}", authy.body);
    let verify = s
        .twilio(
            &a,
            "POST",
            &check_path,
            &[("To", "+17754615609"), ("Code", &code)],
        )
        .await;
    assert_eq!(verify.status, 404, "{}", verify.body);

    // Started on Authy, then on Verify: one live code, Verify's; Authy's
    // code is no longer accepted.
    let authy_start =
        r#"{"via":"sms","country_code":1,"phone_number":"775-461-5610","code_length":6}"#;
    assert_eq!(
        s.post_json(KEY_A, "phones/verification/start", authy_start)
            .await
            .status,
        200
    );
    let authy_code = s.last_code();
    let started = s
        .twilio(
            &a,
            "POST",
            &start_path,
            &[("To", "+17754615610"), ("Channel", "sms")],
        )
        .await;
    assert_eq!(started.status, 201);
    let verify_code = s.last_code();
    if verify_code != authy_code {
        let body = format!(
            r#"{{"country_code":1,"phone_number":"775-461-5610","verification_code":"{authy_code}"}}"#
        );
        let old = s.post_json(KEY_A, "phones/verification/check", &body).await;
        assert_eq!(old.status, 401, "{}", old.body);
    }
    let checked = s
        .twilio(
            &a,
            "POST",
            &check_path,
            &[("To", "+17754615610"), ("Code", &verify_code)],
        )
        .await;
    assert_eq!(json(&checked)["status"], "approved", "{}", checked.body);

    // Another application's account sees none of it.
    let b = account(&s, 2).await;
    let other = s
        .twilio(&b, "GET", &format!("/Services/{service}"), &[])
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
}

#[tokio::test]
async fn bad_input_in_every_parameter_is_a_twilio_error_never_a_5xx() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = json(
        &s.twilio(&a, "POST", "/Services", &[("FriendlyName", "Bad")])
            .await,
    )["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let huge = "9".repeat(70_000);
    let long = "x".repeat(4_000);
    let values: Vec<&str> = vec![
        "",
        "-1",
        "abc",
        "99999999999999999999",
        "true",
        "\u{0}",
        &long,
        "+",
        "VA00",
    ];
    let endpoints: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "POST",
            "/Services".into(),
            vec![
                "FriendlyName",
                "CodeLength",
                "LookupEnabled",
                "Totp.TimeStep",
                "Totp.Skew",
                "Totp.CodeLength",
                "CustomCodeEnabled",
                "TtsName",
            ],
        ),
        (
            "POST",
            format!("/Services/{service}"),
            vec![
                "FriendlyName",
                "CodeLength",
                "Totp.Issuer",
                "Push.IncludeDate",
            ],
        ),
        (
            "GET",
            "/Services".into(),
            vec!["PageSize", "Page", "PageToken"],
        ),
        (
            "POST",
            format!("/Services/{service}/Verifications"),
            vec![
                "To",
                "Channel",
                "Locale",
                "CustomCode",
                "CustomFriendlyName",
            ],
        ),
        (
            "POST",
            format!("/Services/{service}/VerificationCheck"),
            vec!["Code", "To", "VerificationSid"],
        ),
        (
            "POST",
            format!("/Services/{service}/Verifications/VE{}", "0".repeat(32)),
            vec!["Status"],
        ),
    ];
    for (method, path, names) in &endpoints {
        for name in names {
            for value in &values {
                let mut form = vec![
                    ("FriendlyName", "ok"),
                    ("To", "+15017122661"),
                    ("Channel", "sms"),
                    ("Code", "123456"),
                ];
                form.retain(|(n, _)| n != name);
                form.push((name, value));
                let answer = s.twilio(&a, method, path, &form).await;
                assert!(
                    answer.status < 500,
                    "{method} {path} {name}={value:.20}: {}",
                    answer.body
                );
                if answer.status >= 400 {
                    let body = json(&answer);
                    assert!(
                        body["code"].is_u64() && body["message"].is_string(),
                        "{}",
                        answer.body
                    );
                    assert_eq!(body["status"], answer.status);
                }
            }
        }
        // Not UTF-8, and a body past the limit.
        let raw = s
            .send(
                s.http
                    .post(format!("{}/v2{path}", s.base))
                    .basic_auth(&a.sid, Some(&a.token))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(b"FriendlyName=%FF%FE&To=%C3%28&Code=%80".to_vec()),
            )
            .await;
        assert!(
            raw.status == 400 || raw.status == 404 || raw.status == 405,
            "{path}: {}",
            raw.body
        );
        let big = s
            .send(
                s.http
                    .post(format!("{}/v2{path}", s.base))
                    .basic_auth(&a.sid, Some(&a.token))
                    .body(format!("To={huge}")),
            )
            .await;
        assert!((400..500).contains(&big.status), "{path}: {}", big.body);
    }
    let anonymous = s.send(s.http.get(format!("{}/v2/Services", s.base))).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(json(&anonymous)["code"], 20003);
    let unknown = s.twilio(&a, "GET", "/Nothing/Here", &[]).await;
    assert_eq!(
        (unknown.status, json(&unknown)["code"].as_u64()),
        (404, Some(20404))
    );
    // Nothing stored was lost: the service answers, its name one of the
    // valid ones sent to it (an update with "ok" is a valid update).
    let fetched = s
        .twilio(&a, "GET", &format!("/Services/{service}"), &[])
        .await;
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    let name = json(&fetched)["friendly_name"].clone();
    assert!(
        name == "Bad"
            || name == "ok"
            || name == "abc"
            || name == "true"
            || name == "-1"
            || name == "+"
            || name == "VA00"
            || name == "99999999999999999999",
        "{name}"
    );
}
