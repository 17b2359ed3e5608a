//! `/protected/xml/...`: the JSON answers written as the XML the official
//! Java client before 1.2 reads (`com.authy.api` at authy-java 8ce7496:
//! `Hash` is the root `hash` with `message`, `token`, `success` and
//! `user`/`id`; `Error` the root `errors` with `message`). The golden
//! bodies are the recorded JSON bodies of the same requests, written by
//! the rule `api/authy/xml.rs` states (Rails' `to_xml`); each is also read
//! back by an XML parser into the fields the Java classes map.

use super::*;

const XML_TYPE: &str = "application/xml;charset=utf-8";
const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

impl Server {
    /// A form-encoded request to `/protected/xml/{path}`, the key in the
    /// query as the Java client sends it.
    async fn xml(&self, method: reqwest::Method, key: &str, path: &str, form: &str) -> Answer {
        let join = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}/protected/xml/{path}{join}api_key={key}", self.base);
        self.send(
            self.http
                .request(method, url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.to_owned()),
        )
        .await
    }
}

/// What the Java client's JAXB classes map from a body: the root's name,
/// and `message`, `token`, `success` and `user`/`id` under it.
#[derive(Debug, PartialEq)]
struct Read {
    root: String,
    message: Option<String>,
    token: Option<String>,
    success: Option<bool>,
    user_id: Option<i64>,
}

fn read(body: &str) -> Read {
    let doc = roxmltree::Document::parse(body).unwrap();
    let root = doc.root_element();
    let child = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.children()
            .find(|c| c.has_tag_name(name))
            .and_then(|c| c.text().map(str::to_owned))
    };
    Read {
        root: root.tag_name().name().to_owned(),
        message: child(root, "message"),
        token: child(root, "token"),
        // JAXB reads xsd:boolean: true, false, 1 or 0.
        success: child(root, "success").map(|t| t == "true" || t == "1"),
        user_id: root
            .children()
            .find(|c| c.has_tag_name("user"))
            .and_then(|user| child(user, "id"))
            .map(|id| id.parse().unwrap()),
    }
}

fn assert_xml(answer: &Answer, status: u16, body: &str) {
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (status, format!("{HEAD}{body}\n").as_str())
    );
    assert_eq!(answer.content_type, XML_TYPE);
}

#[tokio::test]
async fn the_java_clients_xml_paths_answer_in_its_xml() {
    let s = start(false).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;

    // users/new (Users.createUser posts user[email], user[cellphone],
    // user[country_code]).
    let created = s
        .xml(
            post.clone(),
            KEY_A,
            "users/new",
            "user%5Bemail%5D=a%40b.com&user%5Bcellphone%5D=775-461-5609&user%5Bcountry_code%5D=1",
        )
        .await;
    assert_xml(
        &created,
        200,
        r#"<hash><message>User created successfully.</message><user><id type="integer">1000</id></user><success type="boolean">true</success></hash>"#,
    );
    assert_eq!(
        read(&created.body),
        Read {
            root: "hash".into(),
            message: Some("User created successfully.".into()),
            token: None,
            success: Some(true),
            user_id: Some(1000),
        }
    );

    // sms/{id}.
    let sent = s.xml(get.clone(), KEY_A, "sms/1000", "").await;
    assert_xml(
        &sent,
        200,
        r#"<hash><success type="boolean">true</success><message>SMS token was sent</message><cellphone>+1-XXX-XXX-XX09</cellphone></hash>"#,
    );
    let code = s.last_code();

    // verify/{token}/{id}: valid (Token.isOk compares the message with
    // "Token is valid."), replayed, invalid.
    let valid = s
        .xml(get.clone(), KEY_A, &format!("verify/{code}/1000"), "")
        .await;
    assert_xml(
        &valid,
        200,
        &format!(
            r#"<hash><message>Token is valid.</message><token>is valid</token><success>true</success><device><id nil="true"/><os-type>sms</os-type><registration-date type="integer">{T0}</registration-date><registration-method nil="true"/><registration-country nil="true"/><registration-region nil="true"/><registration-city nil="true"/><country nil="true"/><region nil="true"/><city nil="true"/><ip nil="true"/><last-account-recovery-at nil="true"/><last-sync-date nil="true"/></device></hash>"#
        ),
    );
    let valid = read(&valid.body);
    assert_eq!(
        (valid.root.as_str(), valid.message.as_deref(), valid.success),
        ("hash", Some("Token is valid."), Some(true))
    );
    let replayed = s
        .xml(get.clone(), KEY_A, &format!("verify/{code}/1000"), "")
        .await;
    assert_xml(
        &replayed,
        401,
        r#"<errors><message>Token is invalid. Token was used recently.</message><token>is invalid</token><success type="boolean">false</success><errors><message>Token is invalid. Token was used recently.</message></errors><error-code>60019</error-code></errors>"#,
    );
    let invalid = s.xml(get.clone(), KEY_A, "verify/1234567/1000", "").await;
    assert_xml(
        &invalid,
        401,
        r#"<errors><message>Token is invalid</message><token>is invalid</token><success type="boolean">false</success><errors><message>Token is invalid</message></errors><error-code>60020</error-code></errors>"#,
    );
    assert_eq!(
        read(&invalid.body),
        Read {
            root: "errors".into(),
            message: Some("Token is invalid".into()),
            token: Some("is invalid".into()),
            success: Some(false),
            user_id: None,
        }
    );

    // users/delete/{id} (Users.deleteUser).
    let deleted = s.xml(post.clone(), KEY_A, "users/delete/1000", "").await;
    assert_xml(
        &deleted,
        200,
        r#"<hash><message>User was added to remove.</message><success type="boolean">true</success></hash>"#,
    );

    // Errors: a wrong key, a user that is gone, a validation failure with
    // its field, a path that does not exist; never JSON.
    let wrong_key = s.xml(get.clone(), "nope", "sms/1000", "").await;
    assert_xml(
        &wrong_key,
        401,
        r#"<errors><message>Invalid API key</message><success type="boolean">false</success><errors><message>Invalid API key</message></errors><error-code>60001</error-code></errors>"#,
    );
    let gone = s.xml(get.clone(), KEY_A, "users/1000/status", "").await;
    assert_xml(
        &gone,
        404,
        r#"<errors><message>User not found.</message><success type="boolean">false</success><errors><message>User not found.</message></errors><error-code>60026</error-code></errors>"#,
    );
    let invalid_user = s
        .xml(
            post.clone(),
            KEY_A,
            "users/new",
            "user%5Bemail%5D=a%40b.com&user%5Bcellphone%5D=12&user%5Bcountry_code%5D=1",
        )
        .await;
    assert_xml(
        &invalid_user,
        400,
        r#"<errors><message>User was not valid</message><success type="boolean">false</success><errors><cellphone>is invalid</cellphone><message>User was not valid</message></errors><cellphone>is invalid</cellphone><error-code>60027</error-code></errors>"#,
    );
    let unknown = s.xml(get, KEY_A, "no/such/path", "").await;
    assert_eq!(
        (unknown.status, unknown.content_type.as_str()),
        (404, XML_TYPE)
    );
    assert_eq!(read(&unknown.body).root, "errors");
}
