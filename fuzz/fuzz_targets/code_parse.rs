//! `Code::parse` agrees with `reference::parse_code`, which checks the same
//! documented rules group by group instead of in one pass: the same error,
//! or the same digits. A parsed code is exactly the digits typed, in
//! `as_str`, `Display` and a second parse, and its `Debug` shows none.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode::{Code, Digits};
use passcode_fuzz::reference::parse_code;

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any text.
    Text { text: String, digits: u8 },
    /// Digits with separators between them (or around them), so that the
    /// well-formed side is reached as often as the malformed one.
    Grouped {
        digits: u8,
        /// Each part: a run of digits, then a separator (0: none, 1: space,
        /// 2: hyphen, other: that byte).
        parts: Vec<(u8, u8, u8)>,
    },
}

fuzz_target!(|input: Input| {
    let (text, digits) = match input {
        Input::Text { text, digits } => (text, digits),
        Input::Grouped { digits, parts } => {
            let mut text = String::new();
            for (seed, run, separator) in parts {
                for i in 0..run % 6 {
                    text.push(char::from(b'0' + seed.wrapping_add(i) % 10));
                }
                match separator {
                    0 => {}
                    1 => text.push(' '),
                    2 => text.push('-'),
                    other => text.push(char::from(other)),
                }
            }
            (text, digits)
        }
    };
    let digits = 6 + digits % 5;
    let parsed = Code::parse(&text, Digits::new(digits).expect("6 to 10"));
    let expected = parse_code(&text, digits);
    match (&parsed, &expected) {
        (Ok(code), Ok(plain)) => {
            assert_eq!(code.as_str(), plain, "{text:?}");
            assert_eq!(code.to_string(), *plain);
            assert_eq!(code.as_str().len(), usize::from(digits));
            assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
            let again = Code::parse(code.as_str(), Digits::new(digits).expect("6 to 10"));
            assert!(again.as_ref() == Ok(code), "{text:?} does not parse back");
            assert_eq!(format!("{code:?}"), "Code { .. }");
        }
        (Err(error), Err(reference)) => assert_eq!(error, reference, "{text:?}"),
        _ => panic!(
            "{text:?} with {digits} digits: passcode says {:?}, the reference {expected:?}",
            parsed.as_ref().map(Code::as_str),
        ),
    }
});
