//! The lenient parameter decoder: what every Authy client sends, merged.
//!
//! Clients put parameters in the query string (PHP, even on POST), in a
//! form body (npm `authy`, even on GET), or in a JSON body (Python,
//! authy-client, Java, sometimes empty). Names nest with brackets
//! (`user[email]`, `logos[][res]`) or as JSON objects. Booleans come as
//! `true`, `True`, `1` or JSON; numbers as JSON numbers or strings. All of
//! it lands in one JSON object, query first, then the body over it.

use percent_encoding::percent_decode;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The largest body read; past it the request is refused (400, 60002).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The longest query string read; past it the request is refused (400,
/// 60002). Decoding only shrinks text, so the decoded parameters of a
/// request are at most this plus [`BODY_LIMIT`].
pub const QUERY_LIMIT: usize = 16 * 1024;

/// The most levels a parameter name may have, the name itself counted:
/// `a[b][c][d][e]`. Authy's clients use three (`user[email]`,
/// `logos[0][res]`); deeper input is refused (400, 60004) before anything
/// is built from it, so nothing here or in the drop of what it builds
/// recurses deeper than this. A JSON body is held to the same depth.
pub const MAX_DEPTH: usize = 5;

/// The most parameters a request may carry, query and body together
/// (form pairs, or a JSON body's values at any level).
pub const MAX_PARAMS: usize = 256;

/// The merged parameters of one request.
#[derive(Default)]
pub struct Params {
    root: Map<String, Value>,
}

// Parameters hold codes and keys: their Debug names the keys only.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.root.keys()).finish()
    }
}

/// How the body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
}

impl Params {
    /// Merges `query` (the raw query string) and `body` (read as its
    /// `content_type` says, or by its first byte when no type is given).
    ///
    /// # Errors
    /// [`ApiError::InvalidEncoding`] for text that is not UTF-8,
    /// [`ApiError::InvalidRequest`] for a JSON body that does not parse or is
    /// not an object, or a content type the API does not take.
    pub fn parse(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, ApiError> {
        let mut params = Self::default();
        let mut count = 0;
        if let Some(query) = query {
            if query.len() > QUERY_LIMIT {
                return Err(ApiError::InvalidRequest("the query string is too long"));
            }
            params.merge_form(query.as_bytes(), &mut count)?;
        }
        let trimmed = body.trim_ascii();
        if trimmed.is_empty() {
            // Java sends `Content-Type: application/json` with no body.
            return Ok(params);
        }
        let kind = match content_type.map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if t.starts_with("application/json") || t.contains("+json") => BodyKind::Json,
            Some(t) if t.starts_with("application/x-www-form-urlencoded") => BodyKind::Form,
            Some(t) if t.starts_with("multipart/") => {
                return Err(ApiError::InvalidRequest(
                    "multipart bodies are not accepted",
                ));
            }
            _ if trimmed.first() == Some(&b'{') => BodyKind::Json,
            _ => BodyKind::Form,
        };
        match kind {
            BodyKind::Form => params.merge_form(body, &mut count)?,
            BodyKind::Json => {
                let value: Value = serde_json::from_slice(trimmed).map_err(|e| {
                    if e.classify() == serde_json::error::Category::Syntax
                        && std::str::from_utf8(trimmed).is_err()
                    {
                        ApiError::InvalidEncoding
                    } else {
                        ApiError::InvalidRequest("the body is not a JSON object")
                    }
                })?;
                // serde_json refuses nesting past 128 levels itself; this
                // holds the rest to the decoder's depth before the merge
                // (which recurses) sees it.
                check_shape(&value, &mut count)?;
                match value {
                    Value::Object(object) => merge(&mut params.root, object),
                    Value::Null => {}
                    _ => return Err(ApiError::InvalidRequest("the body is not a JSON object")),
                }
            }
        }
        Ok(params)
    }

    fn merge_form(&mut self, text: &[u8], count: &mut usize) -> Result<(), ApiError> {
        for pair in text.split(|&b| b == b'&') {
            if pair.is_empty() {
                continue;
            }
            *count += 1;
            if *count > MAX_PARAMS {
                return Err(too_many());
            }
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if name.is_empty() {
                continue;
            }
            insert(&mut self.root, &segments(&name)?, Value::String(value));
        }
        Ok(())
    }

    /// The value at `path` (`["user", "email"]`), if any.
    #[must_use]
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut value = self.root.get(*first)?;
        for key in rest {
            value = value.as_object()?.get(*key)?;
        }
        Some(value)
    }

    /// A text parameter: strings as they are, numbers and booleans as
    /// text; `null` and absence are `None`.
    ///
    /// # Errors
    /// [`ApiError::InvalidParameter`] for an object or an array.
    pub fn text(&self, name: &'static str, path: &[&str]) -> Result<Option<String>, ApiError> {
        match self.get(path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(ApiError::InvalidParameter {
                name,
                reason: "must be a string".into(),
            }),
        }
    }

    /// A boolean: JSON booleans, `true`/`false` in any case, `1`/`0`,
    /// `yes`/`no`, `on`/`off`; `null`, an empty string and absence are
    /// `None`.
    ///
    /// # Errors
    /// [`ApiError::InvalidParameter`] for anything else.
    pub fn boolean(&self, name: &'static str, path: &[&str]) -> Result<Option<bool>, ApiError> {
        let invalid = || ApiError::InvalidParameter {
            name,
            reason: "is not a valid Boolean".into(),
        };
        match self.get(path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(1) => Ok(Some(true)),
                Some(0) => Ok(Some(false)),
                _ => Err(invalid()),
            },
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" | "yes" | "on" | "t" => Ok(Some(true)),
                "false" | "0" | "no" | "off" | "f" => Ok(Some(false)),
                _ => Err(invalid()),
            },
            Some(_) => Err(invalid()),
        }
    }

    /// A non-negative integer from a JSON number or a string of digits.
    ///
    /// # Errors
    /// [`ApiError::InvalidParameter`] naming the value (cut to 32
    /// characters), as Authy did: `'xxx' is not a valid Integer`.
    pub fn integer(&self, name: &'static str, path: &[&str]) -> Result<Option<u64>, ApiError> {
        let invalid = |shown: &str| ApiError::InvalidParameter {
            name,
            reason: format!(
                "'{}' is not a valid Integer",
                shown.chars().take(32).collect::<String>()
            ),
        };
        match self.get(path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| invalid(&n.to_string())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => {
                let t = s.trim();
                let t = t.strip_prefix('+').unwrap_or(t);
                if t.bytes().all(|b| b.is_ascii_digit()) {
                    t.parse().map(Some).map_err(|_| invalid(s))
                } else {
                    Err(invalid(s))
                }
            }
            Some(_) => Err(invalid("")),
        }
    }
}

/// Percent-decodes one form component (`+` is a space) as UTF-8.
fn decode(raw: &[u8]) -> Result<String, ApiError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| ApiError::InvalidEncoding)
}

fn too_many() -> ApiError {
    ApiError::InvalidRequest("too many parameters")
}

fn too_deep() -> ApiError {
    ApiError::InvalidParameter {
        name: "parameters",
        reason: "nested too deeply".into(),
    }
}

/// `user[email]` -> `["user", "email"]`; `logos[][res]` -> `["logos", "",
/// "res"]`; a name whose brackets do not close is one plain name.
///
/// # Errors
/// More than [`MAX_DEPTH`] levels.
fn segments(name: &str) -> Result<Vec<&str>, ApiError> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name]);
    };
    if open == 0 || !name.ends_with(']') {
        return Ok(vec![name]);
    }
    let mut out = vec![&name[..open]];
    let mut rest = &name[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Ok(vec![name]);
        };
        if out.len() == MAX_DEPTH {
            return Err(too_deep());
        }
        out.push(&inner[..close]);
        rest = &inner[close + 1..];
    }
    Ok(if rest.is_empty() { out } else { vec![name] })
}

/// Holds a parsed JSON body to [`MAX_DEPTH`] levels and, with what the
/// query held, [`MAX_PARAMS`] values. A walk with its own stack, not a
/// recursion: the value may be nested as deep as serde_json allows.
fn check_shape(value: &Value, count: &mut usize) -> Result<(), ApiError> {
    let mut pending: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        if depth == MAX_DEPTH {
            return Err(too_deep());
        }
        for child in children {
            *count += 1;
            if *count > MAX_PARAMS {
                return Err(too_many());
            }
            pending.push((child, depth + 1));
        }
    }
    Ok(())
}

/// Puts `value` at `path`, making objects and arrays on the way (Rails'
/// rules: `a[]` appends; `a[][k]` fills the last element until it already
/// has `k`). A later value for the same name wins. It recurses once a
/// level: `path` has at most [`MAX_DEPTH`] of them.
fn insert(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some((next, after)) = rest.split_first() else {
        map.insert((*first).to_owned(), value);
        return;
    };
    if next.is_empty() {
        let slot = map
            .entry((*first).to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        let Value::Array(items) = slot else { return };
        match after.first() {
            None => items.push(value),
            Some(key) => {
                let fits = matches!(items.last(), Some(Value::Object(o)) if !o.contains_key(*key));
                if !fits {
                    items.push(Value::Object(Map::new()));
                }
                if let Some(Value::Object(object)) = items.last_mut() {
                    insert(object, after, value);
                }
            }
        }
        return;
    }
    let slot = map
        .entry((*first).to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(object) = slot {
        insert(object, rest, value);
    }
}

/// Deep merge: objects merge key by key, anything else replaces. It
/// recurses once a level of `from`, which [`check_shape`] held to
/// [`MAX_DEPTH`].
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Object(old)), Value::Object(new)) => merge(old, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(query: Option<&str>, kind: Option<&str>, body: &str) -> Value {
        Value::Object(Params::parse(query, kind, body.as_bytes()).unwrap().root)
    }

    #[test]
    fn brackets_nest_in_query_and_form() {
        // npm authy's recorded create-user body.
        let v = parse(
            Some("send_install_link_via_sms=false"),
            Some("application/x-www-form-urlencoded"),
            "user%5Bemail%5D=a%40b.com&user%5Bcellphone%5D=111-111-1111&user%5Bcountry_code%5D=1",
        );
        assert_eq!(
            v,
            json!({"send_install_link_via_sms":"false","user":{"email":"a@b.com","cellphone":"111-111-1111","country_code":"1"}})
        );
    }

    #[test]
    fn arrays_of_objects_follow_rails() {
        let v = parse(
            None,
            None,
            "logos[][res]=default&logos[][url]=a&logos[][res]=low&logos[][url]=b&k[]=1&k[]=2",
        );
        assert_eq!(
            v,
            json!({"logos":[{"res":"default","url":"a"},{"res":"low","url":"b"}],"k":["1","2"]})
        );
    }

    #[test]
    fn json_body_merges_over_the_query() {
        let v = parse(
            Some("force=false&a=1"),
            Some("application/json"),
            r#"{"force":true,"user":{"email":"x"}}"#,
        );
        assert_eq!(v, json!({"force":true,"a":"1","user":{"email":"x"}}));
    }

    #[test]
    fn an_empty_json_body_is_no_parameters() {
        assert_eq!(parse(None, Some("application/json"), ""), json!({}));
        assert_eq!(parse(None, Some("application/json"), "  "), json!({}));
        assert_eq!(parse(None, Some("application/json"), "{}"), json!({}));
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        let err = |q: Option<&str>, t: Option<&str>, b: &[u8]| Params::parse(q, t, b).unwrap_err();
        assert_eq!(
            err(None, Some("application/json"), b"{"),
            ApiError::InvalidRequest("the body is not a JSON object")
        );
        assert_eq!(
            err(None, Some("application/json"), b"[1]"),
            ApiError::InvalidRequest("the body is not a JSON object")
        );
        assert_eq!(err(Some("a=%FF"), None, b""), ApiError::InvalidEncoding);
        assert_eq!(
            err(None, Some("application/x-www-form-urlencoded"), b"a=\xff"),
            ApiError::InvalidEncoding
        );
        assert_eq!(
            err(None, Some("application/json"), b"{\"a\":\"\xff\"}"),
            ApiError::InvalidEncoding
        );
    }

    #[test]
    fn booleans_and_integers_are_lenient() {
        let p = Params::parse(
            Some("a=True&b=0&c=1&d=False&n=57&m=%2B1&bad=xxx"),
            Some("application/json"),
            br#"{"e":null,"f":true,"g":57}"#,
        )
        .unwrap();
        let b = |k: &'static str| p.boolean(k, &[k]).unwrap();
        assert_eq!(
            [b("a"), b("b"), b("c"), b("d"), b("e"), b("f"), b("zz")],
            [
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                None,
                Some(true),
                None
            ]
        );
        assert_eq!(p.integer("n", &["n"]).unwrap(), Some(57));
        assert_eq!(p.integer("g", &["g"]).unwrap(), Some(57));
        assert_eq!(p.integer("m", &["m"]).unwrap(), Some(1));
        assert_eq!(
            p.integer("country_code", &["bad"]).unwrap_err().message(),
            "Invalid parameter: country_code - 'xxx' is not a valid Integer"
        );
        assert!(p.boolean("bad", &["bad"]).is_err());
        assert_eq!(p.text("g", &["g"]).unwrap().as_deref(), Some("57"));
    }

    #[test]
    fn unclosed_brackets_are_plain_names() {
        assert_eq!(segments("a[b").unwrap(), vec!["a[b"]);
        assert_eq!(segments("[a]").unwrap(), vec!["[a]"]);
        assert_eq!(segments("a[b]c").unwrap(), vec!["a[b]c"]);
        assert_eq!(segments("a[b][]").unwrap(), vec!["a", "b", ""]);
    }

    fn deep(shape: &str, depth: usize) -> String {
        let (open, close) = match shape {
            "percent" => ("%5Ba", "%5D"),
            "array" => ("[", "]"),
            _ => ("[a", "]"),
        };
        let mut name = String::from("a");
        for _ in 1..depth {
            name.push_str(open);
            name.push_str(close);
        }
        name + "=1"
    }

    #[test]
    fn nesting_past_the_limit_is_refused_in_every_shape() {
        let too_deep = ApiError::InvalidParameter {
            name: "parameters",
            reason: "nested too deeply".into(),
        };
        for shape in ["brackets", "percent", "array"] {
            let ok = deep(shape, MAX_DEPTH);
            assert!(Params::parse(Some(&ok), None, b"").is_ok(), "{shape}");
            assert!(Params::parse(None, None, ok.as_bytes()).is_ok(), "{shape}");
            for depth in [MAX_DEPTH + 1, 100, 10_000] {
                let text = deep(shape, depth);
                let body = Params::parse(None, None, text.as_bytes());
                assert_eq!(body.unwrap_err(), too_deep, "{shape} {depth}");
                if text.len() <= QUERY_LIMIT {
                    let query = Params::parse(Some(&text), None, b"");
                    assert_eq!(query.unwrap_err(), too_deep, "{shape} {depth}");
                }
            }
        }
        let json = |depth: usize| "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth);
        assert!(Params::parse(None, Some("application/json"), json(MAX_DEPTH).as_bytes()).is_ok());
        for depth in [MAX_DEPTH + 1, 100] {
            let refused = Params::parse(None, Some("application/json"), json(depth).as_bytes());
            assert_eq!(refused.unwrap_err(), too_deep, "json {depth}");
        }
        // Past serde_json's own limit of 128 levels: refused as unreadable.
        let refused = Params::parse(None, Some("application/json"), json(10_000).as_bytes());
        assert_eq!(
            refused.unwrap_err(),
            ApiError::InvalidRequest("the body is not a JSON object")
        );
    }

    #[test]
    fn parameters_are_counted_and_the_query_is_bounded() {
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("p{i}=1"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert!(Params::parse(Some(&many(MAX_PARAMS)), None, b"").is_ok());
        let refused = ApiError::InvalidRequest("too many parameters");
        assert_eq!(
            Params::parse(Some(&many(MAX_PARAMS + 1)), None, b"").unwrap_err(),
            refused
        );
        // Query and body count together.
        let half = many(MAX_PARAMS / 2 + 1);
        assert_eq!(
            Params::parse(Some(&half), None, half.as_bytes()).unwrap_err(),
            refused
        );
        let values = (0..=MAX_PARAMS).map(|i| i.to_string()).collect::<Vec<_>>();
        let json = format!("{{\"a\":[{}]}}", values.join(","));
        assert_eq!(
            Params::parse(None, Some("application/json"), json.as_bytes()).unwrap_err(),
            refused
        );
        let long = "a=".to_owned() + &"b".repeat(QUERY_LIMIT);
        assert_eq!(
            Params::parse(Some(&long), None, b"").unwrap_err(),
            ApiError::InvalidRequest("the query string is too long")
        );
    }

    #[test]
    fn debug_shows_no_values() {
        let p = Params::parse(Some("api_key=SECRETKEY&token=1234567"), None, b"").unwrap();
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("SECRETKEY") && !shown.contains("1234567"),
            "{shown}"
        );
    }
}
