//! The Verify surface's parameters: `application/x-www-form-urlencoded`
//! in the body of a POST and in the query of a GET, PascalCase names with
//! dotted sub-keys (`Totp.TimeStep`), `+` or `%20` for a space. Written
//! here rather than with `form_urlencoded` because that crate replaces
//! bytes that are not UTF-8 silently, and a value that is not UTF-8 must be
//! refused by name (60200), not changed.

use percent_encoding::percent_decode;

use super::error::VerifyError;

/// The most parameters a request may carry.
pub const MAX_PARAMS: usize = 256;
/// The longest body or query, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The parameters of one request, in order.
#[derive(Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

/// Names only: values carry numbers, codes and secrets.
impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(name, _)| name))
            .finish()
    }
}

/// A name or value: UTF-8 with no NUL (which no parameter has a use for,
/// and which PostgreSQL refuses in text).
fn decode(raw: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(bytes)
        .ok()
        .filter(|text| !text.contains('\0'))
}

impl Form {
    /// Reads `query` and `body` (a form) together, the query first.
    ///
    /// # Errors
    /// 60200 naming the parameter that is not UTF-8, or past the bounds.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Result<Self, VerifyError> {
        let mut pairs = Vec::new();
        for source in [query.unwrap_or("").as_bytes(), body] {
            if source.len() > BODY_LIMIT {
                return Err(VerifyError::invalid("the request is too large"));
            }
            for pair in source.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
                if pairs.len() >= MAX_PARAMS {
                    return Err(VerifyError::invalid("too many parameters"));
                }
                let (name, value) = match pair.iter().position(|&b| b == b'=') {
                    Some(at) => (&pair[..at], &pair[at + 1..]),
                    None => (pair, &b""[..]),
                };
                let name = decode(name).ok_or_else(|| VerifyError::invalid("a parameter name"))?;
                let value = decode(value).ok_or_else(|| VerifyError::parameter(&name))?;
                pairs.push((name, value));
            }
        }
        Ok(Self { pairs })
    }

    /// The last value of `name`, if given.
    #[must_use]
    pub fn text(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order (a repeated key is an array).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name`'s value, at most `max` characters.
    ///
    /// # Errors
    /// 60200 naming it when longer.
    pub fn short(&self, name: &str, max: usize) -> Result<Option<String>, VerifyError> {
        match self.text(name) {
            Some(v) if v.chars().count() > max => Err(VerifyError::parameter(name)),
            Some(v) => Ok(Some(v.to_owned())),
            None => Ok(None),
        }
    }

    /// A required value, at most `max` characters.
    ///
    /// # Errors
    /// 60200 naming it when missing, empty or longer.
    pub fn required(&self, name: &str, max: usize) -> Result<String, VerifyError> {
        self.short(name, max)?
            .filter(|v| !v.is_empty())
            .ok_or_else(|| VerifyError::parameter(name))
    }

    /// `true` or `false` (as both SDKs write them; any case).
    ///
    /// # Errors
    /// 60200 naming it for any other value.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, VerifyError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(VerifyError::parameter(name)),
        }
    }

    /// An integer in `range`.
    ///
    /// # Errors
    /// 60200 naming it when not one, or out of range.
    pub fn integer(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Option<u32>, VerifyError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or_else(|| VerifyError::parameter(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_read_as_the_sdks_write_them() {
        let form = Form::parse(
            Some("PageSize=2"),
            b"FriendlyName=My+app%20one&Totp.TimeStep=30&Flag=TRUE&To=%2B15017122661&Empty",
        )
        .unwrap();
        assert_eq!(form.text("FriendlyName"), Some("My app one"));
        assert_eq!(form.text("To"), Some("+15017122661"));
        assert_eq!(form.text("PageSize"), Some("2"));
        assert_eq!(form.text("Empty"), Some(""));
        assert_eq!(form.integer("Totp.TimeStep", 20..=60).unwrap(), Some(30));
        assert_eq!(form.boolean("Flag").unwrap(), Some(true));
        assert!(form.integer("PageSize", 3..=5).is_err());
        assert!(form.required("Empty", 10).is_err());
        assert!(form.short("FriendlyName", 5).is_err());
    }

    #[test]
    fn bad_bytes_and_floods_are_refused_by_name() {
        let error = Form::parse(None, b"Code=%FF%FE").unwrap_err();
        assert_eq!(error.message, "Invalid parameter: Code");
        let error = Form::parse(None, b"Description=a%00b").unwrap_err();
        assert_eq!(error.message, "Invalid parameter: Description");
        let form = Form::parse(None, b"Code=123456&To=%2B15017122661").unwrap();
        assert_eq!(
            format!("{form:?}"),
            r#"["Code", "To"]"#,
            "no value in Debug"
        );
        for times in [1, 10, 1000] {
            let many = "A=1&".repeat(MAX_PARAMS * times + 1);
            assert!(
                Form::parse(None, many.as_bytes()).is_err(),
                "{times}x the parameters"
            );
            assert!(
                Form::parse(Some(&many), b"").is_err(),
                "{times}x in the query"
            );
            let big = vec![b'a'; BODY_LIMIT * times + 1];
            assert!(Form::parse(None, &big).is_err(), "{times}x the body");
        }
        let at_the_bound = "A=1&".repeat(MAX_PARAMS);
        assert!(Form::parse(None, at_the_bound.as_bytes()).is_ok());
    }
}
