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

    /// A new service of `who`'s application, named `name`: its SID.
    async fn service(&self, who: &Account, name: &str) -> String {
        json(
            &self
                .twilio(who, "POST", "/Services", &[("FriendlyName", name)])
                .await,
        )["sid"]
            .as_str()
            .unwrap()
            .to_owned()
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

/// The response examples of Twilio's OpenAPI description of Verify v2,
/// copied unchanged (`golden/twilio_verify_v2_examples.json` names its
/// commit), by `METHOD path example`.
fn golden(name: &str) -> serde_json::Value {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../golden/twilio_verify_v2_examples.json")).unwrap();
    file["examples"][name].clone()
}

/// Our body against the example: the same keys in the same order,
/// recursively (a list's items and its `meta` each, whichever the list puts
/// first), leaving out the subtrees named in `free` (values the caller
/// gives, such as a challenge's `details`).
fn same_as(ours: &serde_json::Value, example: &str, free: &[&str]) {
    let golden = golden(example);
    assert!(!golden.is_null(), "no example {example}");
    let paths = |v: &serde_json::Value| {
        let mut out = Vec::new();
        key_paths(v, "", &mut out);
        out.retain(|p| {
            !free
                .iter()
                .any(|f| p.starts_with(&format!("{f}.")) || p.contains(&format!("[].{f}.")))
        });
        out
    };
    match (ours.get("meta"), golden.get("meta")) {
        (Some(meta), Some(golden_meta)) => {
            assert_eq!(paths(meta), paths(golden_meta), "{example}: meta {meta}");
            let key = golden_meta["key"].as_str().unwrap();
            let (item, golden_item) = (&ours[key][0], &golden[key][0]);
            assert!(!item.is_null(), "{example}: an empty list: {ours}");
            assert_eq!(paths(item), paths(golden_item), "{example}: item {item}");
        }
        _ => assert_eq!(paths(ours), paths(&golden), "{example}: {ours}"),
    }
}

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
    same_as(&json(&created), "POST /v2/Services createRecord", &[]);
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
    same_as(
        &json(&started),
        "POST /v2/Services/{ServiceSid}/Verifications createVerification",
        &[],
    );
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
    same_as(
        &json(&checked),
        "POST /v2/Services/{ServiceSid}/VerificationCheck verificationChecks200",
        &[],
    );
    assert_eq!(json(&checked)["sid"], v["sid"]);

    let fetched = s.twilio(&a, "GET", &format!("/Services/{sid}"), &[]).await;
    same_as(&json(&fetched), "GET /v2/Services/{Sid} fetchRecord", &[]);
    let updated = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{sid}"),
            &[("Totp.Issuer", "Example")],
        )
        .await;
    same_as(&json(&updated), "POST /v2/Services/{Sid} updateRecord", &[]);
    assert_eq!(json(&updated)["totp"]["issuer"], "Example");
    let second = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{sid}/Verifications"),
            &[("To", "+15017122662"), ("Channel", "sms")],
        )
        .await;
    let ve = json(&second)["sid"].as_str().unwrap().to_owned();
    let path = format!("/Services/{sid}/Verifications/{ve}");
    same_as(
        &json(&s.twilio(&a, "GET", &path, &[]).await),
        "GET /v2/Services/{ServiceSid}/Verifications/{Sid} fetchVerification",
        &[],
    );
    let canceled = s.twilio(&a, "POST", &path, &[("Status", "canceled")]).await;
    same_as(
        &json(&canceled),
        "POST /v2/Services/{ServiceSid}/Verifications/{Sid} updateVerification",
        &[],
    );
    assert_eq!(json(&canceled)["status"], "canceled");
    let listed = s.twilio(&a, "GET", "/Services", &[]).await;
    assert_eq!(listed.status, 200);
    let list = json(&listed);
    same_as(&list, "GET /v2/Services readAll", &[]);
    assert_eq!(list["meta"]["key"], "services");

    // The 429 example of Verifications create, byte for byte.
    let limited =
        golden("POST /v2/Services/{ServiceSid}/Verifications createVerificationRateLimitExceeded")
            .to_string();
    let ours = api::verify::error::VerifyError::from_domain(
        passcode_server::domain::Error::Limited(passcode_server::domain::Limit::ApplicationSends),
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
    let service = s.service(&a, "Race").await;
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
    let service = s.service(&a, "Both").await;
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

/// A check reads its number only as far as the key it was stored under;
/// where nothing is found, the whole reading chooses between "invalid" and
/// "not found", on both surfaces, as when every check read it whole.
#[tokio::test]
async fn a_check_of_a_number_that_is_not_valid_says_so_on_both_surfaces() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Numbers").await;
    let check_path = format!("/Services/{service}/VerificationCheck");
    let check = |to: &'static str, path: String| {
        let s = &s;
        let a = &a;
        async move {
            s.twilio(a, "POST", &path, &[("To", to), ("Code", "123456")])
                .await
        }
    };
    // +1 200 is no area code: the number has an E.164 form, and is not
    // valid. +1 111-111-1111 reads as another form than its text.
    for invalid in ["+12005550123", "+11111111111", "+1775"] {
        let answer = check(invalid, check_path.clone()).await;
        assert_eq!(
            (answer.status, json(&answer)["code"].as_u64()),
            (400, Some(60200)),
            "{invalid}: {}",
            answer.body
        );
    }
    // Valid and never started: not found.
    let never = check("+17754615699", check_path.clone()).await;
    assert_eq!(
        (never.status, json(&never)["code"].as_u64()),
        (404, Some(20404)),
        "{}",
        never.body
    );
    // No such service answers first, whatever the number.
    let missing = format!("/Services/VA{}/VerificationCheck", "0".repeat(32));
    for to in ["+12005550123", "+17754615699"] {
        let answer = check(to, missing.clone()).await;
        assert_eq!(answer.status, 404, "{to}: {}", answer.body);
    }
    // Authy's check: invalid, then valid and never started.
    let authy = |number: &str| {
        format!(r#"{{"country_code":1,"phone_number":"{number}","verification_code":"1234"}}"#)
    };
    let invalid = s
        .post_json(KEY_A, "phones/verification/check", &authy("200-555-0123"))
        .await;
    assert_eq!(
        (invalid.status, invalid.body.as_str()),
        (
            400,
            r#"{"message":"Phone number is invalid","success":false,"errors":{"message":"Phone number is invalid"},"error_code":"60033"}"#
        )
    );
    let never = s
        .post_json(KEY_A, "phones/verification/check", &authy("775-461-5699"))
        .await;
    assert_eq!(
        (never.status, never.body.as_str()),
        (
            404,
            r#"{"message":"No pending verifications for +1 775-461-5699 found.","success":false,"errors":{"message":"No pending verifications for +1 775-461-5699 found."},"error_code":"60023"}"#
        )
    );
}

/// Authy's sandbox takes a number for its shape alone, so a state stored
/// in it does not show that its number is valid: Verify, which reads every
/// number by the metadata, still answers such a number as invalid, and so
/// does Authy's check once the sandbox is off, spending no attempt.
#[tokio::test]
async fn a_number_the_sandbox_took_unread_is_still_answered_as_invalid() {
    let s = start(true).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Sandbox").await;
    // +1 200 is no area code.
    let started = s
        .post_json(
            KEY_A,
            "phones/verification/start",
            r#"{"via":"sms","country_code":1,"phone_number":"200-555-0123","code_length":6}"#,
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let verify = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{service}/VerificationCheck"),
            &[("To", "+12005550123"), ("Code", "000000")],
        )
        .await;
    assert_eq!(
        (verify.status, json(&verify)["code"].as_u64()),
        (400, Some(60200)),
        "{}",
        verify.body
    );
    s.store
        .update_app(
            1,
            AppPatch {
                sandbox: Some(false),
                ..AppPatch::default()
            },
        )
        .await
        .unwrap();
    // A wrong code (the sandbox sent none, so any of six digits is wrong
    // but for a chance of one in a million) and a malformed one, more
    // times than the attempts allowed: never 401 or 429.
    for code in ["000000", "12"].repeat(4) {
        let body = format!(
            r#"{{"country_code":1,"phone_number":"200-555-0123","verification_code":"{code}"}}"#
        );
        let authy = s.post_json(KEY_A, "phones/verification/check", &body).await;
        assert_eq!(
            (authy.status, authy.body.as_str()),
            (
                400,
                r#"{"message":"Phone number is invalid","success":false,"errors":{"message":"Phone number is invalid"},"error_code":"60033"}"#
            ),
            "{code}"
        );
    }
}

#[tokio::test]
async fn bad_input_in_every_parameter_is_a_twilio_error_never_a_5xx() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Bad").await;
    let factor = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{service}/Entities/user-0001/Factors"),
            &[("FactorType", "totp"), ("FriendlyName", "x")],
        )
        .await;
    let factor_path = format!(
        "/Services/{service}/Entities/user-0001/Factors/{}",
        json(&factor)["sid"].as_str().unwrap()
    );
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
        (
            "POST",
            format!("/Services/{service}/Entities"),
            vec!["Identity"],
        ),
        (
            "GET",
            format!("/Services/{service}/Entities"),
            vec!["PageSize", "PageToken"],
        ),
        (
            "POST",
            format!("/Services/{service}/Entities/user-0001/Factors"),
            vec![
                "FactorType",
                "FriendlyName",
                "Binding.Secret",
                "Config.Alg",
                "Config.CodeLength",
                "Config.TimeStep",
                "Config.Skew",
            ],
        ),
        (
            "POST",
            factor_path.clone(),
            vec!["AuthPayload", "FriendlyName"],
        ),
        (
            "POST",
            format!("/Services/{service}/Entities/user-0001/Challenges"),
            vec![
                "FactorSid",
                "ExpirationDate",
                "Details.Message",
                "Details.Fields",
                "HiddenDetails",
                "AuthPayload",
            ],
        ),
        (
            "GET",
            format!("/Services/{service}/Entities/user-0001/Challenges"),
            vec!["Status", "Order", "FactorSid", "PageSize"],
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
                    ("Identity", "user-0002"),
                    ("FactorType", "totp"),
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

fn totp_now(secret: &str, now: u64) -> String {
    let secret = passcode::Secret::from_base32(secret).unwrap();
    Totp::new(&secret, TotpConfig::new())
        .unwrap()
        .generate(now)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn entities_factors_and_challenges_follow_twilios_examples_and_lifecycle() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Totp").await;
    let base = format!("/Services/{service}/Entities");
    let entity = s
        .twilio(
            &a,
            "POST",
            &base,
            &[("Identity", "ff483d1ff591898a9942916050d2ca3f")],
        )
        .await;
    assert_eq!(entity.status, 201, "{}", entity.body);
    same_as(
        &json(&entity),
        "POST /v2/Services/{ServiceSid}/Entities create",
        &[],
    );
    sid_like(&json(&entity)["sid"], "YE");
    let again = s
        .twilio(
            &a,
            "POST",
            &base,
            &[("Identity", "ff483d1ff591898a9942916050d2ca3f")],
        )
        .await;
    assert_eq!(
        (again.status, json(&again)["code"].as_u64()),
        (409, Some(60304))
    );
    let short = s.twilio(&a, "POST", &base, &[("Identity", "short")]).await;
    assert_eq!(
        (short.status, json(&short)["code"].as_u64()),
        (400, Some(60200))
    );
    let ent = format!("{base}/ff483d1ff591898a9942916050d2ca3f");
    same_as(
        &json(&s.twilio(&a, "GET", &ent, &[]).await),
        "GET /v2/Services/{ServiceSid}/Entities/{Identity} fetch",
        &[],
    );
    same_as(
        &json(&s.twilio(&a, "GET", &base, &[]).await),
        "GET /v2/Services/{ServiceSid}/Entities readFull",
        &[],
    );

    // A factor on an unknown identity creates it.
    let created = s
        .twilio(
            &a,
            "POST",
            &format!("{base}/user-0001/Factors"),
            &[("FactorType", "totp"), ("FriendlyName", "Phone")],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let factor = json(&created);
    same_as(
        &factor,
        "POST /v2/Services/{ServiceSid}/Entities/{Identity}/Factors createTotp",
        &[],
    );
    sid_like(&factor["sid"], "YF");
    assert_eq!(factor["status"], "unverified");
    assert_eq!(
        factor["config"],
        serde_json::json!({"alg":"sha1","skew":1,"code_length":6,"time_step":30})
    );
    let secret = factor["binding"]["secret"].as_str().unwrap().to_owned();
    assert!(
        factor["binding"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let yf = factor["sid"].as_str().unwrap().to_owned();
    let fpath = format!("{base}/user-0001/Factors/{yf}");
    let fetched = json(&s.twilio(&a, "GET", &fpath, &[]).await);
    same_as(
        &fetched,
        "GET /v2/Services/{ServiceSid}/Entities/{Identity}/Factors/{Sid} fetchTotp",
        &[],
    );
    assert!(
        fetched.get("binding").is_none(),
        "the secret is shown once: {fetched}"
    );

    // A challenge of an unverified factor is refused; five wrong codes
    // leave it unverified, the sixth is refused.
    let challenges = format!("{base}/user-0001/Challenges");
    let early = s
        .twilio(&a, "POST", &challenges, &[("FactorSid", &yf)])
        .await;
    assert_eq!(
        (early.status, json(&early)["code"].as_u64()),
        (403, Some(60318))
    );
    let now = s.now();
    let right = totp_now(&secret, now);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    for _ in 0..5 {
        let answer = s
            .twilio(&a, "POST", &fpath, &[("AuthPayload", &wrong)])
            .await;
        assert_eq!(json(&answer)["status"], "unverified", "{}", answer.body);
    }
    let sixth = s
        .twilio(&a, "POST", &fpath, &[("AuthPayload", &right)])
        .await;
    assert_eq!(
        (sixth.status, json(&sixth)["code"].as_u64()),
        (429, Some(60310))
    );
    s.advance(3600);
    let right = totp_now(&secret, s.now());
    let verified = s
        .twilio(&a, "POST", &fpath, &[("AuthPayload", &right)])
        .await;
    assert_eq!(json(&verified)["status"], "verified", "{}", verified.body);
    same_as(
        &json(&verified),
        "POST /v2/Services/{ServiceSid}/Entities/{Identity}/Factors/{Sid} verifyTotp",
        &[],
    );

    // The step that verified the factor is used: a challenge with it stays
    // pending; the next step approves one, once.
    let reused = s
        .twilio(
            &a,
            "POST",
            &challenges,
            &[
                ("FactorSid", &yf),
                ("AuthPayload", &right),
                ("HiddenDetails", r#"{"ip":"172.168.1.234"}"#),
                ("Details.Message", "Sign in?"),
                ("Details.Fields", r#"{"label":"Action","value":"Sign in"}"#),
            ],
        )
        .await;
    assert_eq!(reused.status, 201, "{}", reused.body);
    let pending = json(&reused);
    same_as(
        &pending,
        "POST /v2/Services/{ServiceSid}/Entities/{Identity}/Challenges createTotpWithoutAuthPayload",
        &["details", "hidden_details"],
    );
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["hidden_details"]["ip"], "172.168.1.234");
    assert_eq!(pending["details"]["fields"][0]["label"], "Action");
    s.advance(30);
    let next = totp_now(&secret, s.now());
    let yc = pending["sid"].as_str().unwrap().to_owned();
    let cpath = format!("{challenges}/{yc}");
    let approved = s
        .twilio(&a, "POST", &cpath, &[("AuthPayload", &next)])
        .await;
    assert_eq!(json(&approved)["status"], "approved", "{}", approved.body);
    same_as(
        &json(&approved),
        "POST /v2/Services/{ServiceSid}/Entities/{Identity}/Challenges/{Sid} verifyTotp",
        &["details", "hidden_details"],
    );
    let twice = s
        .twilio(&a, "POST", &cpath, &[("AuthPayload", &next)])
        .await;
    assert_eq!(
        (twice.status, json(&twice)["code"].as_u64()),
        (400, Some(60322))
    );
    let replay = s
        .twilio(
            &a,
            "POST",
            &challenges,
            &[("FactorSid", &yf), ("AuthPayload", &next)],
        )
        .await;
    assert_eq!(
        json(&replay)["status"],
        "pending",
        "a step is accepted once: {}",
        replay.body
    );
    s.advance(30);
    let third = totp_now(&secret, s.now());
    let at_once = s
        .twilio(
            &a,
            "POST",
            &challenges,
            &[("FactorSid", &yf), ("AuthPayload", &third)],
        )
        .await;
    same_as(
        &json(&at_once),
        "POST /v2/Services/{ServiceSid}/Entities/{Identity}/Challenges createTotpWithAuthPayload",
        &["details", "hidden_details"],
    );
    assert_eq!(json(&at_once)["status"], "approved");

    // Expiry: 403 / 60323; lists filter by status and factor.
    let expiring = json(
        &s.twilio(&a, "POST", &challenges, &[("FactorSid", &yf)])
            .await,
    );
    s.advance(301);
    let late = s
        .twilio(
            &a,
            "POST",
            &format!("{challenges}/{}", expiring["sid"].as_str().unwrap()),
            &[("AuthPayload", &totp_now(&secret, s.now()))],
        )
        .await;
    assert_eq!(
        (late.status, json(&late)["code"].as_u64()),
        (403, Some(60323))
    );
    let listed = json(
        &s.twilio(
            &a,
            "GET",
            &challenges,
            &[("Status", "approved"), ("FactorSid", &yf)],
        )
        .await,
    );
    same_as(
        &listed,
        "GET /v2/Services/{ServiceSid}/Entities/{Identity}/Challenges readFull",
        &["details", "hidden_details"],
    );
    assert_eq!(
        listed["challenges"].as_array().unwrap().len(),
        2,
        "{listed}"
    );
    let expired = json(
        &s.twilio(&a, "GET", &challenges, &[("Status", "expired")])
            .await,
    );
    assert!(
        expired["challenges"].as_array().unwrap().len() >= 2,
        "{expired}"
    );
    let factors = json(
        &s.twilio(&a, "GET", &format!("{base}/user-0001/Factors"), &[])
            .await,
    );
    same_as(
        &factors,
        "GET /v2/Services/{ServiceSid}/Entities/{Identity}/Factors readFullTotp",
        &[],
    );

    // Push factors are not there yet; deleting the entity takes its factors.
    let push = s
        .twilio(
            &a,
            "POST",
            &format!("{base}/user-0001/Factors"),
            &[("FactorType", "push"), ("FriendlyName", "x")],
        )
        .await;
    assert_eq!(
        (push.status, json(&push)["code"].as_u64()),
        (400, Some(60200))
    );
    assert!(push.body.contains("not supported yet"), "{}", push.body);
    let gone = s
        .twilio(&a, "DELETE", &format!("{base}/user-0001"), &[])
        .await;
    assert_eq!(gone.status, 204);
    assert_eq!(s.twilio(&a, "GET", &fpath, &[]).await.status, 404);
}

#[tokio::test]
async fn an_authy_authenticator_migrates_to_a_verify_factor_sharing_its_steps() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let user = s.create_user(KEY_A, "775-461-5609").await;
    let totp = enrol(&s, KEY_A, user).await;
    let service_sid = s.service(&a, "Moved").await;
    let app = s.store.app(1).await.unwrap().unwrap();
    let service = passcode_server::domain::verify_service(s.store.as_ref(), 1, &service_sid)
        .await
        .unwrap();
    let mut pages = 0;
    let done = passcode_server::domain::migrate_authy_to_verify(
        s.store.as_ref(),
        &app,
        &service,
        s.now(),
        |_| pages += 1,
    )
    .await
    .unwrap();
    assert_eq!((done.created, done.present, pages), (1, 0, 1));
    let again = passcode_server::domain::migrate_authy_to_verify(
        s.store.as_ref(),
        &app,
        &service,
        s.now(),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        (again.created, again.present),
        (0, 1),
        "a re-run makes nothing twice"
    );

    let identity = format!("authy-{user}");
    let factors = json(
        &s.twilio(
            &a,
            "GET",
            &format!("/Services/{service_sid}/Entities/{identity}/Factors"),
            &[],
        )
        .await,
    );
    let factor = &factors["factors"][0];
    assert_eq!(factor["status"], "verified", "{factors}");
    let yf = factor["sid"].as_str().unwrap().to_owned();
    let challenges = format!("/Services/{service_sid}/Entities/{identity}/Challenges");

    // A code accepted by Authy is a replay on Verify, and the reverse.
    let code = totp.generate(s.now()).unwrap().to_string();
    assert_eq!(
        s.get(KEY_A, &format!("verify/{code}/{user}")).await.status,
        200
    );
    let replay = json(
        &s.twilio(
            &a,
            "POST",
            &challenges,
            &[("FactorSid", &yf), ("AuthPayload", &code)],
        )
        .await,
    );
    assert_eq!(replay["status"], "pending", "{replay}");
    s.advance(30);
    let next = totp.generate(s.now()).unwrap().to_string();
    let approved = json(
        &s.twilio(
            &a,
            "POST",
            &challenges,
            &[("FactorSid", &yf), ("AuthPayload", &next)],
        )
        .await,
    );
    assert_eq!(approved["status"], "approved", "{approved}");
    let authy = s.get(KEY_A, &format!("verify/{next}/{user}")).await;
    assert_eq!(authy.status, 401, "{}", authy.body);
    assert!(
        authy.body.contains("60019"),
        "refused as used: {}",
        authy.body
    );
}

#[tokio::test]
async fn an_api_key_acts_for_its_account_until_it_is_deleted() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let key = passcode_server::domain::create_api_key(s.store.as_ref(), 1, "ci", 0)
        .await
        .unwrap();
    assert!(key.sid.starts_with("SK") && key.sid.len() == 34);
    let keyed = Account {
        sid: key.sid.clone(),
        token: key.secret.clone(),
    };
    let created = s
        .twilio(&keyed, "POST", "/Services", &[("FriendlyName", "Keyed")])
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        json(&created)["account_sid"],
        a.sid.as_str(),
        "the key's account, not the key"
    );
    let wrong = Account {
        sid: key.sid.clone(),
        token: "x".repeat(32),
    };
    assert_eq!(s.twilio(&wrong, "GET", "/Services", &[]).await.status, 401);
    // Application 2 has no account: no key for it.
    assert!(
        passcode_server::domain::create_api_key(s.store.as_ref(), 2, "x", 0)
            .await
            .is_err()
    );
    assert!(s.store.delete_api_key(1, &key.sid).await.unwrap());
    let gone = s.twilio(&keyed, "GET", "/Services", &[]).await;
    assert_eq!(
        (gone.status, json(&gone)["code"].as_u64()),
        (401, Some(20003))
    );
}

#[tokio::test]
async fn rate_limits_and_buckets_limit_verifications_by_their_values() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Limited").await;
    let limits = format!("/Services/{service}/RateLimits");
    let created = s
        .twilio(
            &a,
            "POST",
            &limits,
            &[
                ("UniqueName", "end_user_ip_address"),
                ("Description", "per IP"),
            ],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    same_as(
        &json(&created),
        "POST /v2/Services/{ServiceSid}/RateLimits createRateLimit",
        &[],
    );
    let rk = json(&created)["sid"].as_str().unwrap().to_owned();
    sid_like(&json(&created)["sid"], "RK");
    let taken = s
        .twilio(
            &a,
            "POST",
            &limits,
            &[("UniqueName", "end_user_ip_address")],
        )
        .await;
    assert_eq!(
        (taken.status, json(&taken)["code"].as_u64()),
        (409, Some(60208))
    );
    let limit = format!("{limits}/{rk}");
    same_as(
        &json(&s.twilio(&a, "GET", &limit, &[]).await),
        "GET /v2/Services/{ServiceSid}/RateLimits/{Sid} fetchRateLimit",
        &[],
    );
    let described = s
        .twilio(&a, "POST", &limit, &[("Description", "by IP")])
        .await;
    same_as(
        &json(&described),
        "POST /v2/Services/{ServiceSid}/RateLimits/{Sid} updateRateLimit",
        &[],
    );
    assert_eq!(json(&described)["description"], "by IP");
    same_as(
        &json(&s.twilio(&a, "GET", &limits, &[]).await),
        "GET /v2/Services/{ServiceSid}/RateLimits readAll",
        &[],
    );

    let buckets = format!("{limit}/Buckets");
    let bucket = s
        .twilio(&a, "POST", &buckets, &[("Max", "2"), ("Interval", "60")])
        .await;
    assert_eq!(bucket.status, 201, "{}", bucket.body);
    same_as(
        &json(&bucket),
        "POST /v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets createBucket",
        &[],
    );
    let bl = json(&bucket)["sid"].as_str().unwrap().to_owned();
    let again = s
        .twilio(&a, "POST", &buckets, &[("Max", "9"), ("Interval", "60")])
        .await;
    assert_eq!(
        (again.status, json(&again)["code"].as_u64()),
        (409, Some(60211))
    );
    same_as(
        &json(&s.twilio(&a, "GET", &format!("{buckets}/{bl}"), &[]).await),
        "GET /v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid} fetchBucket",
        &[],
    );
    same_as(
        &json(&s.twilio(&a, "GET", &buckets, &[]).await),
        "GET /v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets readFull",
        &[],
    );

    // Two starts an IP a minute, whatever the numbers; another IP is apart.
    let start = |to: &'static str, ip: &'static str| {
        let s = &s;
        let a = &a;
        let path = format!("/Services/{service}/Verifications");
        async move {
            let limits = format!(r#"{{"end_user_ip_address":"{ip}"}}"#);
            s.twilio(
                a,
                "POST",
                &path,
                &[("To", to), ("Channel", "sms"), ("RateLimits", &limits)],
            )
            .await
        }
    };
    assert_eq!(start("+15017122661", "10.0.0.1").await.status, 201);
    assert_eq!(start("+15017122662", "10.0.0.1").await.status, 201);
    let third = start("+15017122663", "10.0.0.1").await;
    assert_eq!(
        (third.status, json(&third)["code"].as_u64()),
        (429, Some(20429)),
        "{}",
        third.body
    );
    assert_eq!(start("+15017122663", "10.0.0.2").await.status, 201);
    s.advance(60);
    assert_eq!(
        start("+15017122664", "10.0.0.1").await.status,
        201,
        "the bucket refills"
    );
    // A raised bucket takes more at once.
    let raised = s
        .twilio(&a, "POST", &format!("{buckets}/{bl}"), &[("Max", "5")])
        .await;
    same_as(
        &json(&raised),
        "POST /v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid} updateBucket",
        &[],
    );
    assert_eq!(json(&raised)["max"], 5);
    let unknown = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{service}/Verifications"),
            &[
                ("To", "+15017122665"),
                ("Channel", "sms"),
                ("RateLimits", r#"{"nope":"1"}"#),
            ],
        )
        .await;
    assert_eq!(
        (unknown.status, json(&unknown)["code"].as_u64()),
        (400, Some(60200))
    );
    // The value is in no key: only its keyed tag.
    let keys = s.state_keys();
    assert!(keys.iter().any(|k| k.contains(":bucket:")), "{keys:?}");
    assert!(keys.iter().all(|k| !k.contains("10.0.0")), "{keys:?}");
    assert_eq!(
        s.twilio(&a, "DELETE", &format!("{buckets}/{bl}"), &[])
            .await
            .status,
        204
    );
    assert_eq!(s.twilio(&a, "DELETE", &limit, &[]).await.status, 204);
    assert_eq!(s.twilio(&a, "GET", &limit, &[]).await.status, 404);
}

/// A loopback receiver of webhook posts: each one's signature header,
/// URL and form parameters.
async fn receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<(String, String)>)>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let tx = tx.clone();
                async move {
                    let signature = headers
                        .get("x-twilio-signature")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    let params = form_urlencoded::parse(&body).into_owned().collect();
                    tx.send((signature, params)).unwrap();
                    "ok"
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

#[tokio::test]
async fn webhooks_hear_factor_and_challenge_events_signed_with_the_auth_token() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Hooks").await;
    let (url, mut received) = receiver().await;
    let hooks = format!("/Services/{service}/Webhooks");
    let created = s
        .twilio(
            &a,
            "POST",
            &hooks,
            &[
                ("FriendlyName", "all"),
                ("EventTypes", "factor.created"),
                ("EventTypes", "factor.verified"),
                ("EventTypes", "challenge.approved"),
                ("WebhookUrl", &url),
            ],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    same_as(
        &json(&created),
        "POST /v2/Services/{ServiceSid}/Webhooks create",
        &[],
    );
    let yw = json(&created)["sid"].as_str().unwrap().to_owned();
    sid_like(&json(&created)["sid"], "YW");
    same_as(
        &json(&s.twilio(&a, "GET", &format!("{hooks}/{yw}"), &[]).await),
        "GET /v2/Services/{ServiceSid}/Webhooks/{Sid} fetch",
        &[],
    );
    same_as(
        &json(&s.twilio(&a, "GET", &hooks, &[]).await),
        "GET /v2/Services/{ServiceSid}/Webhooks readFull",
        &[],
    );
    let bad = s
        .twilio(
            &a,
            "POST",
            &hooks,
            &[
                ("FriendlyName", "x"),
                ("EventTypes", "sms.sent"),
                ("WebhookUrl", &url),
            ],
        )
        .await;
    assert_eq!(
        (bad.status, json(&bad)["code"].as_u64()),
        (400, Some(60200))
    );

    let factors = format!("/Services/{service}/Entities/hook-user-1/Factors");
    let factor = json(
        &s.twilio(
            &a,
            "POST",
            &factors,
            &[("FactorType", "totp"), ("FriendlyName", "Phone")],
        )
        .await,
    );
    let (signature, params) = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .unwrap()
        .unwrap();
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("type"), "factor.created");
    assert_eq!(get("factor_sid"), factor["sid"].as_str().unwrap());
    assert_eq!(get("entity_identity"), "hook-user-1");
    assert_eq!(get("account_sid"), a.sid);
    assert_eq!(
        signature,
        passcode_server::sender::events::twilio_signature(&a.token, &url, &params),
        "signed with the auth token over the URL and the sorted parameters"
    );
    assert_ne!(
        signature,
        passcode_server::sender::events::twilio_signature("other", &url, &params)
    );

    let secret = factor["binding"]["secret"].as_str().unwrap().to_owned();
    let fpath = format!("{factors}/{}", factor["sid"].as_str().unwrap());
    s.twilio(
        &a,
        "POST",
        &fpath,
        &[("AuthPayload", &totp_now(&secret, s.now()))],
    )
    .await;
    let (_, params) = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        params.contains(&("type".into(), "factor.verified".into())),
        "{params:?}"
    );

    // Disabled, it hears nothing; a challenge approved is heard once on.
    let off = s
        .twilio(
            &a,
            "POST",
            &format!("{hooks}/{yw}"),
            &[("Status", "disabled")],
        )
        .await;
    same_as(
        &json(&off),
        "POST /v2/Services/{ServiceSid}/Webhooks/{Sid} update",
        &[],
    );
    assert_eq!(json(&off)["status"], "disabled");
    s.advance(30);
    let challenges = format!("/Services/{service}/Entities/hook-user-1/Challenges");
    let factor_sid = factor["sid"].as_str().unwrap().to_owned();
    s.twilio(
        &a,
        "POST",
        &challenges,
        &[
            ("FactorSid", &factor_sid),
            ("AuthPayload", &totp_now(&secret, s.now())),
        ],
    )
    .await;
    s.twilio(
        &a,
        "POST",
        &format!("{hooks}/{yw}"),
        &[("Status", "enabled")],
    )
    .await;
    s.advance(30);
    let approved = json(
        &s.twilio(
            &a,
            "POST",
            &challenges,
            &[
                ("FactorSid", &factor_sid),
                ("AuthPayload", &totp_now(&secret, s.now())),
            ],
        )
        .await,
    );
    assert_eq!(approved["status"], "approved");
    let (_, params) = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        params.contains(&("type".into(), "challenge.approved".into())),
        "{params:?}"
    );
    assert!(
        params.contains(&(
            "challenge_sid".into(),
            approved["sid"].as_str().unwrap().to_owned()
        )),
        "{params:?}"
    );
    assert!(
        received.try_recv().is_err(),
        "nothing while disabled, nothing twice"
    );
    assert_eq!(
        s.twilio(&a, "DELETE", &format!("{hooks}/{yw}"), &[])
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn attempts_record_each_send_and_their_conversion() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Counted").await;
    let start_path = format!("/Services/{service}/Verifications");
    let first = json(
        &s.twilio(
            &a,
            "POST",
            &start_path,
            &[("To", "+15017122661"), ("Channel", "sms")],
        )
        .await,
    );
    s.twilio(
        &a,
        "POST",
        &start_path,
        &[("To", "+15017122661"), ("Channel", "call")],
    )
    .await;
    let code = s.last_code();
    s.twilio(
        &a,
        "POST",
        &start_path,
        &[
            ("To", "+447400123456"),
            ("Channel", "sms"),
            ("Locale", "es"),
        ],
    )
    .await;
    let checked = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{service}/VerificationCheck"),
            &[("To", "+15017122661"), ("Code", &code)],
        )
        .await;
    assert_eq!(json(&checked)["status"], "approved");

    let listed = json(&s.twilio(&a, "GET", "/Attempts", &[]).await);
    same_as(&listed, "GET /v2/Attempts listVerificationAttempts", &[]);
    let attempts = listed["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{listed}");
    assert_eq!(
        attempts[0]["sid"], first["send_code_attempts"][0]["attempt_sid"],
        "the VL SID of the send"
    );
    assert_eq!(attempts[0]["conversion_status"], "converted");
    assert_eq!(attempts[1]["channel"], "call");
    assert_eq!(attempts[2]["conversion_status"], "unconverted");
    assert_eq!(attempts[2]["channel_data"]["country"], "GB");
    assert_eq!(attempts[2]["channel_data"]["locale"], "es");
    assert!(
        !listed.to_string().contains("7400123456"),
        "no number in full: {listed}"
    );
    let one = json(
        &s.twilio(
            &a,
            "GET",
            &format!("/Attempts/{}", attempts[0]["sid"].as_str().unwrap()),
            &[],
        )
        .await,
    );
    same_as(&one, "GET /v2/Attempts/{Sid} fetchVerificationAttempt", &[]);

    let by_number = json(
        &s.twilio(
            &a,
            "GET",
            "/Attempts",
            &[("ChannelData.To", "+447400123456")],
        )
        .await,
    );
    assert_eq!(
        by_number["attempts"].as_array().unwrap().len(),
        1,
        "{by_number}"
    );
    let by_sid = json(
        &s.twilio(
            &a,
            "GET",
            "/Attempts",
            &[
                ("VerificationSid", first["sid"].as_str().unwrap()),
                ("Channel", "sms"),
            ],
        )
        .await,
    );
    assert_eq!(by_sid["attempts"].as_array().unwrap().len(), 1, "{by_sid}");
    let summary = json(
        &s.twilio(
            &a,
            "GET",
            "/Attempts/Summary",
            &[("VerifyServiceSid", &service)],
        )
        .await,
    );
    same_as(&summary, "GET /v2/Attempts/Summary getAttemptsSummary", &[]);
    assert_eq!(
        (
            &summary["total_attempts"],
            &summary["total_converted"],
            &summary["total_unconverted"],
            &summary["conversion_rate_percentage"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!("66.666666667")
        )
    );
    let b = account(&s, 2).await;
    let other = json(&s.twilio(&b, "GET", "/Attempts", &[]).await);
    assert_eq!(
        other["attempts"].as_array().unwrap().len(),
        0,
        "another account sees none"
    );
}

#[tokio::test]
async fn a_page_of_pending_challenges_is_never_cut_short_by_expired_ones() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Pages").await;
    let base = format!("/Services/{service}/Entities/page-user-1");
    let factor = json(
        &s.twilio(
            &a,
            "POST",
            &format!("{base}/Factors"),
            &[("FactorType", "totp"), ("FriendlyName", "P")],
        )
        .await,
    );
    let secret = factor["binding"]["secret"].as_str().unwrap().to_owned();
    let yf = factor["sid"].as_str().unwrap().to_owned();
    s.twilio(
        &a,
        "POST",
        &format!("{base}/Factors/{yf}"),
        &[("AuthPayload", &totp_now(&secret, s.now()))],
    )
    .await;
    let challenges = format!("{base}/Challenges");
    for _ in 0..3 {
        s.twilio(&a, "POST", &challenges, &[("FactorSid", &yf)])
            .await;
    }
    s.advance(301);
    let mut live = Vec::new();
    for _ in 0..3 {
        live.push(
            json(
                &s.twilio(&a, "POST", &challenges, &[("FactorSid", &yf)])
                    .await,
            )["sid"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Walk the pages as the SDKs do, by next_page_url.
    let mut seen = Vec::new();
    let mut page = json(
        &s.twilio(
            &a,
            "GET",
            &challenges,
            &[("Status", "pending"), ("PageSize", "2")],
        )
        .await,
    );
    loop {
        assert!(page["challenges"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["challenges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["sid"].as_str().unwrap().to_owned()),
        );
        let Some(next) = page["meta"]["next_page_url"].as_str() else {
            break;
        };
        let answer = s
            .send(s.http.get(next).basic_auth(&a.sid, Some(&a.token)))
            .await;
        page = json(&answer);
    }
    assert_eq!(seen, live, "every pending challenge, in order, once");
    let expired = json(
        &s.twilio(&a, "GET", &challenges, &[("Status", "expired")])
            .await,
    );
    assert_eq!(expired["challenges"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_verification_is_seen_only_through_its_own_service() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let one = s.service(&a, "One").await;
    let two = s.service(&a, "Two").await;
    let started = json(
        &s.twilio(
            &a,
            "POST",
            &format!("/Services/{one}/Verifications"),
            &[("To", "+15017122661"), ("Channel", "sms")],
        )
        .await,
    );
    let ve = started["sid"].as_str().unwrap();
    assert_eq!(
        s.twilio(
            &a,
            "GET",
            &format!("/Services/{one}/Verifications/{ve}"),
            &[]
        )
        .await
        .status,
        200
    );
    let other = s
        .twilio(
            &a,
            "GET",
            &format!("/Services/{two}/Verifications/{ve}"),
            &[],
        )
        .await;
    assert_eq!(
        (other.status, json(&other)["code"].as_u64()),
        (404, Some(20404)),
        "{}",
        other.body
    );
    let cancel = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{two}/Verifications/{ve}"),
            &[("Status", "canceled")],
        )
        .await;
    assert_eq!(cancel.status, 404);
    let code = s.last_code();
    let check = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{two}/VerificationCheck"),
            &[("VerificationSid", ve), ("Code", &code)],
        )
        .await;
    assert_eq!(check.status, 404);
    let nul = s
        .twilio(
            &a,
            "GET",
            "/Services/VA00000000000000000000000000000000/Entities/a%00b",
            &[],
        )
        .await;
    assert_eq!(nul.status, 404);
}

#[tokio::test]
async fn twilio_only_resources_say_they_are_not_supported() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = s.service(&a, "Only").await;
    for path in [
        format!("/Services/{service}/MessagingConfigurations"),
        format!("/Services/{service}/AccessTokens"),
        "/SafeList/Numbers".to_owned(),
        "/Forms/form-push".to_owned(),
    ] {
        let answer = s.twilio(&a, "POST", &path, &[("Country", "US")]).await;
        assert_eq!(
            (answer.status, json(&answer)["code"].as_u64()),
            (404, Some(20404)),
            "{path}"
        );
        assert!(
            answer.body.contains("does not support it"),
            "{}",
            answer.body
        );
    }
    let plain = s.twilio(&a, "GET", "/Nothing", &[]).await;
    assert!(
        !plain.body.contains("does not support it"),
        "{}",
        plain.body
    );
    let templates = json(&s.twilio(&a, "GET", "/Templates", &[]).await);
    assert_eq!(templates["templates"], serde_json::json!([]));
    assert_eq!(templates["meta"]["key"], "templates");
}

#[tokio::test]
async fn deleting_a_service_or_an_entity_leaves_no_factor_state_behind() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let factor_states = || async {
        s.state_keys()
            .into_iter()
            .filter(|key| key.contains(":factor"))
            .count()
    };
    let mut services = Vec::new();
    for name in ["One", "Two"] {
        let service = json(
            &s.twilio(&a, "POST", "/Services", &[("FriendlyName", name)])
                .await,
        )["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        for identity in ["user-0001", "user-0002"] {
            let factor = json(
                &s.twilio(
                    &a,
                    "POST",
                    &format!("/Services/{service}/Entities/{identity}/Factors"),
                    &[("FactorType", "totp"), ("FriendlyName", "phone")],
                )
                .await,
            );
            // A wrong code makes the factor's verification state too.
            let wrong = s
                .twilio(
                    &a,
                    "POST",
                    &format!(
                        "/Services/{service}/Entities/{identity}/Factors/{}",
                        factor["sid"].as_str().unwrap()
                    ),
                    &[("AuthPayload", "000000")],
                )
                .await;
            assert_eq!(wrong.status, 200, "{}", wrong.body);
        }
        services.push(service);
    }
    let before = factor_states().await;
    assert!(before >= 4, "{before} factor states");
    let deleted = s
        .twilio(
            &a,
            "DELETE",
            &format!("/Services/{}/Entities/user-0001", services[0]),
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let after_entity = factor_states().await;
    assert!(after_entity < before, "{after_entity} of {before}");
    let deleted = s
        .twilio(&a, "DELETE", &format!("/Services/{}", services[0]), &[])
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    // Only the other service's two factors keep states.
    let left = factor_states().await;
    assert_eq!(left * 2, before, "{left} of {before}");
    let deleted = s
        .twilio(&a, "DELETE", &format!("/Services/{}", services[1]), &[])
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(factor_states().await, 0);
}

#[tokio::test]
async fn a_custom_code_is_sent_and_checked_where_the_service_allows_it() {
    let s = start(false).await;
    let a = account(&s, 1).await;
    let service = |name: &'static str, custom: &'static str| {
        let s = &s;
        let a = &a;
        async move {
            json(
                &s.twilio(
                    a,
                    "POST",
                    "/Services",
                    &[("FriendlyName", name), ("CustomCodeEnabled", custom)],
                )
                .await,
            )["sid"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let custom = service("Custom", "true").await;
    let plain = service("Plain", "false").await;
    let start_with = |sid: String, to: &'static str, code: &'static str| {
        let s = &s;
        let a = &a;
        async move {
            s.twilio(
                a,
                "POST",
                &format!("/Services/{sid}/Verifications"),
                &[("To", to), ("Channel", "sms"), ("CustomCode", code)],
            )
            .await
        }
    };
    let check = |sid: String, to: &'static str, code: String| {
        let s = &s;
        let a = &a;
        async move {
            s.twilio(
                a,
                "POST",
                &format!("/Services/{sid}/VerificationCheck"),
                &[("To", to), ("Code", &code)],
            )
            .await
        }
    };

    // Sent as chosen, of its own length; a wrong code leaves it pending,
    // the right one approves it once.
    let started = start_with(custom.clone(), "+17754615601", "4821").await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(s.last_code(), "4821");
    let sid = json(&started)["sid"].as_str().unwrap().to_owned();
    let again = start_with(custom.clone(), "+17754615601", "4821").await;
    assert_eq!(json(&again)["sid"], sid.as_str(), "sent again, the same");
    assert_eq!(s.last_code(), "4821");
    let wrong = check(custom.clone(), "+17754615601", "4822".into()).await;
    assert_eq!(json(&wrong)["status"], "pending");
    let right = check(custom.clone(), "+17754615601", "4821".into()).await;
    assert_eq!(json(&right)["status"], "approved", "{}", right.body);
    let replay = check(custom.clone(), "+17754615601", "4821".into()).await;
    assert_eq!(replay.status, 404);

    // A custom code asked for while one is pending becomes the live code,
    // the verification the same; typed with a separator, it is the code.
    let first = start_with(custom.clone(), "+17754615605", "1111").await;
    let second = start_with(custom.clone(), "+17754615605", "2222").await;
    assert_eq!(json(&second)["sid"], json(&first)["sid"]);
    assert_eq!(s.last_code(), "2222");
    let old = check(custom.clone(), "+17754615605", "1111".into()).await;
    assert_eq!(json(&old)["status"], "pending", "the replaced code");
    let spaced = check(custom.clone(), "+17754615605", "22 22".into()).await;
    assert_eq!(json(&spaced)["status"], "approved", "{}", spaced.body);
    // So does one asked for while the server's own code is pending.
    let s6 = |code: &'static str| start_with(custom.clone(), "+17754615606", code);
    let plain_start = s
        .twilio(
            &a,
            "POST",
            &format!("/Services/{custom}/Verifications"),
            &[("To", "+17754615606"), ("Channel", "sms")],
        )
        .await;
    let derived = s.last_code();
    assert_eq!(derived.len(), 6);
    let chosen = s6("555555").await;
    assert_eq!(json(&chosen)["sid"], json(&plain_start)["sid"]);
    assert_eq!(s.last_code(), "555555");
    if derived != "555555" {
        let refused = check(custom.clone(), "+17754615606", derived.clone()).await;
        assert_eq!(
            json(&refused)["status"],
            "pending",
            "the server's code, replaced"
        );
    }
    let ok = check(custom.clone(), "+17754615606", "555555".into()).await;
    assert_eq!(json(&ok)["status"], "approved");

    // Accepted on the Authy surface as well, and once: both read one state.
    start_with(custom.clone(), "+17754615602", "90210").await;
    assert_eq!(s.last_code(), "90210");
    let body = r#"{"country_code":1,"phone_number":"775-461-5602","verification_code":"90210"}"#;
    let authy = s.post_json(KEY_A, "phones/verification/check", body).await;
    assert_eq!(authy.status, 200, "{}", authy.body);
    let after = check(custom.clone(), "+17754615602", "90210".into()).await;
    assert_eq!(after.status, 404);

    // Where the service does not allow them, a custom code is ignored, as
    // Twilio ignores it: the service's own six digits go out.
    let ignored = start_with(plain.clone(), "+17754615603", "4821").await;
    assert_eq!(ignored.status, 201);
    let code = s.last_code();
    assert_eq!(code.len(), 6);
    assert_eq!(
        json(&check(plain, "+17754615603", code).await)["status"],
        "approved"
    );

    // Not 4 to 10 digits: refused by name, nothing sent.
    let sent = s.sent.0.lock().unwrap().len();
    for bad in ["123", "12345678901", "12a4", "１２３４"] {
        let refused = start_with(custom.clone(), "+17754615604", bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(json(&refused)["code"], 60200, "{bad}");
    }
    assert_eq!(s.sent.0.lock().unwrap().len(), sent);
}
