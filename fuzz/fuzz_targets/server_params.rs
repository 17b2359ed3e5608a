//! The server's parameter decoder (query + form + JSON, brackets, lenient
//! booleans and numbers) never panics on any request, answers a typed
//! error or parameters, and reads back every plain `name=value` pair of a
//! well-formed query string as the last value given for that name.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode_server::api::params::Params;

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
}

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
            let params = Params::parse(Some(&query.join("&")), None, b"").expect("a well-formed query parses");
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
    }
});
