//! The server's parameter decoder (query + form + JSON, brackets, lenient
//! booleans and numbers) never panics on any request, answers a typed
//! error or parameters, and reads back every plain `name=value` pair of a
//! well-formed query string as the last value given for that name.
//!
//! Names nested thousands of levels deep once overflowed the stack (a
//! one-request crash): `Nested` writes such a name from two bytes of
//! depth, so the fuzzer reaches depths its length limit would not let it
//! spell, and `fuzz/dict/server_params.dict` gives it the brackets.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode_server::api::authy::params::{MAX_DEPTH, MAX_PARAMS, Params, QUERY_LIMIT};

#[derive(Arbitrary, Debug)]
enum Input {
    /// Anything, as it might come off the wire.
    Raw {
        query: Option<String>,
        content_type: u8,
        body: Vec<u8>,
    },
    /// A query string written from pairs, percent-encoded properly.
    Pairs { pairs: Vec<(String, String)> },
    /// A name nested `depth` levels deep, in one of the shapes clients
    /// nest with, as a query, a form body or a JSON body.
    Nested { shape: u8, depth: u16, place: u8 },
}

const SHAPES: [(&str, &str); 4] = [("[a]", ""), ("%5Ba%5D", ""), ("[]", ""), ("{\"a\":", "}")];

const TYPES: [Option<&str>; 5] = [
    None,
    Some("application/json"),
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=x"),
    Some("text/plain"),
];

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw { query, content_type, body } => {
            let kind = TYPES[usize::from(content_type) % TYPES.len()];
            if let Ok(params) = Params::parse(query.as_deref(), kind, &body) {
                for name in ["a", "user", "force", "country_code", "api_key"] {
                    let _ = params.text("x", &[name]);
                    let _ = params.boolean("x", &[name]);
                    let _ = params.integer("x", &[name]);
                    let _ = params.text("x", &["user", name]);
                }
                let _ = format!("{params:?}");
            }
        }
        Input::Pairs { pairs } => {
            let query: Vec<String> =
                pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            let query = query.join("&");
            let Ok(params) = Params::parse(Some(&query), None, b"") else {
                // Refused only past a bound: too long, too many, too deep.
                let deep = pairs.iter().any(|(k, _)| k.matches('[').count() >= MAX_DEPTH);
                assert!(query.len() > QUERY_LIMIT || pairs.len() > MAX_PARAMS || deep);
                return;
            };
            for (name, _) in &pairs {
                // Plain names only: brackets nest (and `a[b]` turns `a` into
                // an object), and an empty name is skipped.
                let nested = pairs.iter().any(|(k, _)| k.starts_with(&format!("{name}[")));
                if name.is_empty() || name.contains('[') || nested {
                    continue;
                }
                let last = pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                let read = params.text("x", &[name.as_str()]).expect("a string value");
                assert_eq!(read, last, "{name:?}");
            }
        }
        Input::Nested { shape, depth, place } => {
            let (open, close) = SHAPES[usize::from(shape) % SHAPES.len()];
            let depth = usize::from(depth);
            if !close.is_empty() && depth == 0 {
                return; // `1` alone: not a JSON object, refused as such.
            }
            let text = if close.is_empty() {
                format!("a{}=1", open.repeat(depth))
            } else {
                format!("{}1{}", open.repeat(depth), close.repeat(depth))
            };
            let parsed = match (close.is_empty(), place % 2) {
                (true, 0) => Params::parse(Some(&text), None, b""),
                (true, _) => Params::parse(None, None, text.as_bytes()),
                (false, _) => Params::parse(None, Some("application/json"), text.as_bytes()),
            };
            // `a` and `depth` levels below it, or `depth` JSON objects.
            let levels = if close.is_empty() { depth + 1 } else { depth };
            assert_eq!(parsed.is_ok(), levels <= MAX_DEPTH, "{levels} levels");
        }
    }
});
