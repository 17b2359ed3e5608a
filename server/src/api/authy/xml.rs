//! The Authy API's XML format: every `/protected/xml/...` path answers what
//! its JSON twin answers, written as XML.
//!
//! The shape is the one the official Java client before 1.2 (`com.authy.api`,
//! github.com/twilio/authy-java at 8ce7496 and earlier) parses with JAXB:
//! an answer is the root element `hash` (`Hash`: `message`, `token`,
//! `success`, and `user` holding `id`), and a failure the root element
//! `errors` (`Error`: `message`, `url`, `country-code`); the client tells
//! them apart by trying to read `errors` first (`Tokens.errorFromXml`).
//! `country-code` shows the rest of the rule, Rails' `Hash#to_xml`, which
//! Authy's service was written with: member names with `-` for `_`, a
//! `type` attribute on booleans, integers, floats and arrays, `nil="true"`
//! for null, and an array's items named by its name without a final `s`.
//! JAXB ignores the elements and attributes it does not map, so the whole
//! JSON answer is there, in its order.

use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::ApiError;

/// The content type of every XML answer.
pub const XML: &str = "application/xml;charset=utf-8";

/// The most bytes of a JSON answer turned into XML (the server's own
/// answers; the largest, `app/stats`, is a few KiB).
const ANSWER_LIMIT: usize = 1 << 20;

/// Writes the answer of the JSON route as XML: `hash` for a success,
/// `errors` for a failure. An answer that is not JSON (a QR image) passes
/// as it is.
pub async fn respond(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let root = if parts.status.is_success() {
        "hash"
    } else {
        "errors"
    };
    let xml = match axum::body::to_bytes(body, ANSWER_LIMIT).await {
        Ok(bytes) => to_xml(root, &bytes),
        Err(_) => None,
    };
    let xml = xml.unwrap_or_else(|| {
        tracing::error!("an answer could not be written as XML");
        parts.status = ApiError::Internal.status();
        to_xml("errors", &ApiError::Internal.body()).unwrap_or_default()
    });
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(XML));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(xml))
}

/// `json` as the XML document with root element `root`; `None` when it is
/// not JSON.
#[must_use]
pub fn to_xml(root: &str, json: &[u8]) -> Option<String> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut de = serde_json::Deserializer::from_slice(json);
    Element {
        name: root,
        out: &mut out,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    out.push('\n');
    Some(out)
}

/// One JSON value written as the element `name`, as it is read: the
/// members keep their order without a map in between.
struct Element<'a> {
    name: &'a str,
    out: &'a mut String,
}

impl Element<'_> {
    fn leaf(self, kind: Option<&str>, text: &str) {
        let _ = write!(self.out, "<{}", self.name);
        if let Some(kind) = kind {
            let _ = write!(self.out, " type=\"{kind}\"");
        }
        self.out.push('>');
        escape(text, self.out);
        let _ = write!(self.out, "</{}>", self.name);
    }
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.leaf(Some("boolean"), if v { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.leaf(Some("integer"), &v.to_string());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.leaf(Some("integer"), &v.to_string());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.leaf(Some("float"), &v.to_string());
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.leaf(None, v);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        let _ = write!(self.out, "<{} nil=\"true\"/>", self.name);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let _ = write!(self.out, "<{}>", self.name);
        while let Some(key) = map.next_key::<String>()? {
            let name = element_name(&key);
            map.next_value_seed(Element {
                name: &name,
                out: &mut *self.out,
            })?;
        }
        let _ = write!(self.out, "</{}>", self.name);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let _ = write!(self.out, "<{} type=\"array\">", self.name);
        let item = self
            .name
            .strip_suffix('s')
            .filter(|s| !s.is_empty())
            .unwrap_or("item")
            .to_owned();
        while seq
            .next_element_seed(Element {
                name: &item,
                out: &mut *self.out,
            })?
            .is_some()
        {}
        let _ = write!(self.out, "</{}>", self.name);
        Ok(())
    }
}

/// A member's name as an element's: `_` written `-`, anything but ASCII
/// letters, digits and `-` written `-`, and a name that would not start
/// with a letter prefixed with `item-` (the server's own names never need
/// either).
fn element_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "item-");
    }
    name
}

/// Text with XML's five special characters escaped, and what XML 1.0
/// cannot carry dropped: control characters, and U+FFFE and U+FFFF.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_order_names_and_types() {
        let json = br#"{"message":"a<b & 'c'","success":true,"user":{"id":1208},"n":null,"devices":["android","ios"],"x_y":1.5,"9":[]}"#;
        assert_eq!(
            to_xml("hash", json).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hash>\
             <message>a&lt;b &amp; &apos;c&apos;</message>\
             <success type=\"boolean\">true</success>\
             <user><id type=\"integer\">1208</id></user>\
             <n nil=\"true\"/>\
             <devices type=\"array\"><device>android</device><device>ios</device></devices>\
             <x-y type=\"float\">1.5</x-y>\
             <item-9 type=\"array\"></item-9>\
             </hash>\n"
        );
    }

    #[test]
    fn what_is_not_json_is_refused() {
        assert_eq!(to_xml("hash", b"{"), None);
        assert_eq!(to_xml("hash", b"{} {}"), None);
        assert_eq!(to_xml("hash", b"\xff"), None);
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(
            to_xml("hash", "{\"m\":\"a\\u0000b\\u001bc\\n\"}".as_bytes()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hash><m>abc\n</m></hash>\n"
        );
        assert_eq!(
            to_xml("hash", "{\"m\":\"a\\ufffeb\\uffffc\"}".as_bytes()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hash><m>abc</m></hash>\n"
        );
    }
}
