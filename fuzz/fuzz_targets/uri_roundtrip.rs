//! Key URIs: parsing any text never panics, and whatever parses is written
//! back by `KeyUri` to a URI that parses to the same values; building a
//! `KeyUri` from arbitrary names and parameters either round-trips exactly
//! (`parse(format(x)) == x`) or fails for a reason its input shows.
//! Whatever parses holds no control, line-separator or bidirectional
//! formatting character in its issuer or account.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode::{
    Digits, HotpConfig, KeyUri, OtpKind, OwnedKeyUri, ParsedKeyUri, Secret, SecretError, UriError,
};
use passcode_fuzz::input::{AnyAlgorithm, TotpParams};

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any text, often behind the right scheme and type so that parsing gets
    /// past its first checks.
    Text { prefix: u8, text: String },
    /// Names and parameters to write, then read back.
    Written {
        /// 16 to 64 bytes are used.
        secret: Vec<u8>,
        issuer: Option<String>,
        account: String,
        hotp: Option<(AnyAlgorithm, u8, u64)>,
        totp: TotpParams,
    },
}

/// Controls, line and paragraph separators, and bidirectional formatting
/// characters: what `UriError::UnsafeCharacter` documents.
fn is_unsafe(c: char) -> bool {
    matches!(
        u32::from(c),
        0..=0x1f | 0x7f..=0x9f | 0x61c | 0x200e | 0x200f | 0x2028..=0x202e | 0x2066..=0x2069
    )
}

fn same(
    parsed: &ParsedKeyUri<'_>,
    issuer: Option<&str>,
    account: &str,
    secret: &Secret,
    kind: OtpKind,
) {
    assert_eq!(parsed.account().to_string(), account);
    assert_eq!(parsed.issuer().map(|i| i.to_string()).as_deref(), issuer);
    assert!(parsed.secret() == secret, "the secret changed");
    assert_eq!(parsed.kind(), kind);
}

fuzz_target!(|input: Input| match input {
    Input::Text { prefix, text } => {
        let text = match prefix % 4 {
            0 => text,
            1 => format!("otpauth://totp/{text}"),
            2 => format!("otpauth://hotp/{text}"),
            _ => format!(
                "otpauth://totp/Issuer:account?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&{text}"
            ),
        };
        let Ok(parsed) = ParsedKeyUri::parse(&text) else {
            return;
        };
        // Whatever was read can be written, and reads back the same.
        let owned = OwnedKeyUri::from(parsed.clone());
        assert!(
            !owned
                .account
                .chars()
                .chain(owned.issuer.iter().flat_map(|i| i.chars()))
                .any(is_unsafe),
            "{text:?} read an unsafe character"
        );
        // The one documented exception: a key longer than `Secret::MAX_LEN`
        // is kept only as its digests, and has no base32 to write.
        if owned.secret.is_hashed() {
            assert_eq!(
                owned.to_uri().err(),
                Some(UriError::Secret(SecretError::KeyNotKept))
            );
            return;
        }
        let uri = owned
            .to_uri()
            .unwrap_or_else(|e| panic!("{text:?} parsed but cannot be written: {e}"))
            .to_string();
        let again =
            ParsedKeyUri::parse(&uri).unwrap_or_else(|e| panic!("{uri:?} does not parse: {e}"));
        same(
            &again,
            owned.issuer.as_deref(),
            &owned.account,
            &owned.secret,
            owned.kind,
        );
    }
    Input::Written {
        secret,
        issuer,
        account,
        hotp,
        totp,
    } => {
        let len = secret.len().clamp(16, 64);
        let mut bytes = secret;
        bytes.resize(len.max(bytes.len()), 0x5a);
        let Ok(secret) = Secret::from_bytes(&bytes[..len]) else {
            return;
        };
        let kind = match hotp {
            Some((algorithm, digits, counter)) => OtpKind::Hotp {
                config: HotpConfig::new()
                    .with_algorithm(algorithm.get())
                    .with_digits(Digits::new(6 + digits % 5).expect("6 to 10")),
                counter,
            },
            None => OtpKind::Totp(totp.config()),
        };
        let written = match issuer.as_deref() {
            Some(issuer) => KeyUri::with_issuer(&secret, kind, issuer, &account),
            None => KeyUri::new(&secret, kind, &account),
        };
        match written {
            Ok(uri) => {
                let text = uri.to_string();
                let parsed = ParsedKeyUri::parse(&text)
                    .unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
                same(&parsed, issuer.as_deref(), &account, &secret, kind);
            }
            Err(error) => {
                let t0 = matches!(kind, OtpKind::Totp(config) if config.t0() != 0);
                let explained = match error {
                    UriError::EmptyAccount => account.is_empty(),
                    UriError::EmptyIssuer => issuer.as_deref() == Some(""),
                    UriError::AmbiguousAccount => issuer.is_none() && account.contains(':'),
                    UriError::NonZeroT0 => t0,
                    UriError::UnsafeCharacter => account
                        .chars()
                        .chain(issuer.iter().flat_map(|i| i.chars()))
                        .any(is_unsafe),
                    // Percent-encoding at most triples a name, which appears
                    // twice with an issuer: only long names can overflow.
                    UriError::TooLong => {
                        3 * (2 * issuer.as_deref().map_or(0, str::len) + account.len()) + 200
                            > ParsedKeyUri::MAX_LEN
                    }
                    _ => false,
                };
                assert!(
                    explained,
                    "{error:?} for issuer {issuer:?}, account {account:?}, {kind:?}"
                );
            }
        }
    }
});
