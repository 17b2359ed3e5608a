//! Property tests against a naive reference: the `hmac` crate, truncation by
//! direct indexing (RFC 4226 §5.3) and a `u64` modulus. The verdict of every
//! verification must equal what the reference says about every step or
//! counter in the window.
// Helpers unwrap too: in a test, a panic is the failure report.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]

#[path = "support/uniform.rs"]
mod uniform;

use hmac::{KeyInit, Mac};
use passcode::{
    Algorithm, Code, Digits, Hotp, HotpConfig, LookAhead, Period, ResyncWindow, Secret, Totp,
    TotpConfig, VerifyError, Window,
};
use proptest::prelude::*;

fn reference_hmac(algorithm: Algorithm, key: &[u8], counter: u64) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], counter: u64) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
        mac.update(&counter.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }
    match algorithm {
        Algorithm::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, counter),
        Algorithm::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, counter),
        _ => run::<hmac::Hmac<sha2::Sha512>>(key, counter),
    }
}

fn reference_code(algorithm: Algorithm, key: &[u8], counter: u64, digits: u8) -> u64 {
    let mac = reference_hmac(algorithm, key, counter);
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let word = u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    u64::from(word) % 10u64.pow(u32::from(digits))
}

fn text(code: u64, digits: u8) -> String {
    format!("{code:0width$}", width = usize::from(digits))
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(vec![Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512])
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..=150)
}

/// A TOTP setup, the current step, and a time inside that step.
#[derive(Debug, Clone)]
struct Setup {
    algorithm: Algorithm,
    key: Vec<u8>,
    digits: u8,
    period: u64,
    t0: u64,
    now: u64,
    time: u64,
}

impl Setup {
    fn totp(&self) -> Totp {
        let config = TotpConfig::new()
            .with_algorithm(self.algorithm)
            .with_digits(Digits::new(self.digits).unwrap())
            .with_period(Period::new(self.period).unwrap())
            .with_t0(self.t0);
        Totp::from_key(&self.key, config).unwrap()
    }

    fn code(&self, step: u64) -> u64 {
        reference_code(self.algorithm, &self.key, step, self.digits)
    }

    /// Steps of `window` whose reference code is `code`.
    fn matches(&self, code: u64, window: Window) -> Vec<u64> {
        let first = self.now - u64::from(window.behind());
        let last = self.now + u64::from(window.ahead());
        (first..=last)
            .filter(|&step| self.code(step) == code)
            .collect()
    }
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        algorithm(),
        key(),
        6u8..=10,
        prop_oneof![Just(30u64), Just(60), Just(10), Just(1), 1u64..=3600],
        prop_oneof![Just(0u64), 0u64..=2_000_000_000],
        25u64..=1_000_000_000,
        any::<u64>(),
    )
        .prop_map(|(algorithm, key, digits, period, t0, now, within)| Setup {
            algorithm,
            key,
            digits,
            period,
            t0,
            now,
            time: t0 + now * period + within % period,
        })
}

fn window() -> impl Strategy<Value = Window> {
    (0..=Window::MAX_STEPS, 0..=Window::MAX_STEPS).prop_map(|(b, a)| Window::new(b, a).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A code generated for `now + offset` verifies exactly when the offset
    /// is inside the window (or the code collides with a step that is), and
    /// the newest matching step is reported with its drift.
    #[test]
    fn totp_accepts_exactly_inside_the_window(
        setup in setup(),
        window in window(),
        offset in -25i64..=25,
    ) {
        let totp = setup.totp();
        let step = setup.now.checked_add_signed(offset).unwrap();
        let code = setup.code(step);
        prop_assert_eq!(totp.generate_step(step).to_string(), text(code, setup.digits));
        let inside = -i64::from(window.behind()) <= offset && offset <= i64::from(window.ahead());
        let matches = setup.matches(code, window);
        prop_assert!(!inside || matches.contains(&step));
        let verdict = totp.verify(&text(code, setup.digits), setup.time, window);
        match matches.iter().max() {
            Some(&newest) => {
                let matched = verdict.unwrap();
                prop_assert_eq!(matched.step, newest);
                prop_assert_eq!(matched.drift, newest as i64 - setup.now as i64);
            }
            None => prop_assert_eq!(verdict, Err(VerifyError::Invalid)),
        }
    }

    /// With a last accepted step: only later steps are eligible, the newest
    /// eligible match wins, and a code matching only used steps is a replay.
    #[test]
    fn totp_replay_rule(
        setup in setup(),
        window in window(),
        offset in -22i64..=22,
        last_offset in -22i64..=22,
    ) {
        let totp = setup.totp();
        let code = setup.code(setup.now.checked_add_signed(offset).unwrap());
        let last = setup.now.checked_add_signed(last_offset).unwrap();
        let matches = setup.matches(code, window);
        let verdict = totp.verify_after(&text(code, setup.digits), setup.time, window, last);
        match matches.iter().filter(|&&s| s > last).max() {
            Some(&newest) => prop_assert_eq!(verdict.unwrap().step, newest),
            None if !matches.is_empty() => prop_assert_eq!(verdict, Err(VerifyError::Replayed)),
            None => prop_assert_eq!(verdict, Err(VerifyError::Invalid)),
        }
    }

    /// A random code verifies only when the reference finds it in the window.
    #[test]
    fn random_code_verifies_only_on_collision(
        setup in setup(),
        window in window(),
        guess in any::<u64>(),
    ) {
        let totp = setup.totp();
        let code = guess % 10u64.pow(u32::from(setup.digits));
        let verdict = totp.verify(&text(code, setup.digits), setup.time, window);
        match setup.matches(code, window).iter().max() {
            Some(&newest) => prop_assert_eq!(verdict.unwrap().step, newest),
            None => prop_assert_eq!(verdict, Err(VerifyError::Invalid)),
        }
    }

    /// HOTP looks ahead only: a code from before the stored counter or past
    /// the look-ahead is refused, and a match stores the counter after it.
    #[test]
    fn hotp_looks_ahead_only(
        algorithm in algorithm(),
        key in key(),
        digits in 6u8..=8,
        counter in 10u64..=u64::MAX / 2,
        look_ahead in 0..=LookAhead::MAX,
        offset in -10i64..=60,
    ) {
        let hotp = Hotp::from_key(&key, HotpConfig::new()
            .with_algorithm(algorithm)
            .with_digits(Digits::new(digits).unwrap())).unwrap();
        let code = reference_code(algorithm, &key, counter.checked_add_signed(offset).unwrap(), digits);
        let last = counter + u64::from(look_ahead);
        let newest = (counter..=last)
            .filter(|&c| reference_code(algorithm, &key, c, digits) == code)
            .max();
        let verdict = hotp.verify(&text(code, digits), counter, LookAhead::new(look_ahead).unwrap());
        match newest {
            Some(c) => {
                let matched = verdict.unwrap();
                prop_assert_eq!((matched.counter, matched.next_counter), (c, c + 1));
            }
            None => prop_assert_eq!(verdict, Err(VerifyError::Invalid)),
        }
    }

    /// RFC 4226 §7.4 resynchronization finds the newest consecutive pair.
    #[test]
    fn hotp_resync_finds_consecutive_pairs(
        key in key(),
        counter in 0u64..=u64::MAX / 2,
        window in 0u16..=120,
        offset in 0u64..=130,
    ) {
        let hotp = Hotp::from_key(&key, HotpConfig::new()).unwrap();
        let code = |c: u64| reference_code(Algorithm::Sha1, &key, c, 6);
        let (first, second) = (code(counter + offset), code(counter + offset + 1));
        let newest = (counter..=counter + u64::from(window))
            .filter(|&c| code(c) == first && code(c + 1) == second)
            .max();
        let verdict = hotp.resync(&text(first, 6), &text(second, 6), counter, ResyncWindow::new(window).unwrap());
        match newest {
            Some(c) => prop_assert_eq!(verdict.unwrap().counter, c + 1),
            None => prop_assert_eq!(verdict, Err(VerifyError::Invalid)),
        }
    }

    /// Digits grouped by one kind of separator parse back to the digits.
    #[test]
    fn grouped_codes_parse_to_their_digits(
        digits in prop::collection::vec(0u8..10, 6..=10),
        cuts in prop::collection::vec(any::<bool>(), 10),
        hyphen in any::<bool>(),
    ) {
        let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let mut grouped = String::new();
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && cuts[i] {
                grouped.push(if hyphen { '-' } else { ' ' });
            }
            grouped.push(c);
        }
        let count = Digits::new(digits.len() as u8).unwrap();
        let code = Code::parse(&grouped, count).unwrap();
        prop_assert_eq!(code.as_str(), plain.as_str());
        prop_assert_eq!(code.to_string(), plain);
    }

    /// No input string makes parsing panic, and what parses is digits only.
    #[test]
    fn any_input_parses_or_errs(input in ".{0,40}", digits in 6u8..=10) {
        if let Ok(code) = Code::parse(&input, Digits::new(digits).unwrap()) {
            prop_assert_eq!(code.as_str().len(), usize::from(digits));
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    /// Base32 agrees with `data-encoding` and reads the forms people type.
    #[test]
    fn base32_round_trips(bytes in prop::collection::vec(any::<u8>(), 16..=128)) {
        let secret = Secret::from_bytes(&bytes).unwrap();
        let encoded = secret.to_base32().to_string();
        prop_assert_eq!(&encoded, &data_encoding::BASE32_NOPAD.encode(&bytes));
        let padded = data_encoding::BASE32.encode(&bytes);
        let spaced: String = encoded
            .to_lowercase()
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i > 0 && i % 4 == 0).then_some(' ').into_iter().chain([c]))
            .collect();
        for text in [&encoded, &padded, &spaced, &encoded.to_lowercase()] {
            prop_assert_eq!(Secret::from_base32(text).unwrap().as_bytes().to_vec(), bytes.clone());
        }
    }

    /// Whatever `data-encoding` decodes, `from_base32` decodes the same way.
    #[test]
    fn base32_decodes_like_the_reference(text in "[A-Za-z2-7]{26,210}") {
        let reference = data_encoding::BASE32_NOPAD.decode(text.to_uppercase().as_bytes());
        if let Ok(bytes) = reference {
            let decoded = Secret::from_base32(&text);
            if bytes.len() < 16 {
                prop_assert!(decoded.is_err());
            } else {
                // Above `MAX_LEN` the key is kept hashed: compare secrets.
                prop_assert!(decoded.unwrap() == Secret::from_bytes(&bytes).unwrap());
            }
        }
    }
}

/// Two steps at most `span` apart whose 6-digit SHA-1 codes collide, found
/// with the reference implementation.
fn collision(key: &[u8], span: u64) -> (u64, u64) {
    let mut seen = std::collections::HashMap::new();
    for step in 0u64.. {
        let code = reference_code(Algorithm::Sha1, key, step, 6);
        if let Some(&earlier) = seen.get(&code) {
            if step - earlier <= span {
                return (earlier, step);
            }
        }
        seen.insert(code, step);
    }
    unreachable!()
}

/// When a code matches two steps of the window, the newest wins, and a used
/// older match does not hide an unused newer one.
#[test]
fn collisions_pick_the_newest_step() {
    let key = b"12345678901234567890";
    let (older, newer) = collision(key, 2 * u64::from(Window::MAX_STEPS));
    let code = text(reference_code(Algorithm::Sha1, key, older, 6), 6);
    let totp = Totp::from_key(key, TotpConfig::new()).unwrap();
    let time = 30 * older;
    let ahead = u8::try_from(newer - older).unwrap();
    let both = Window::new(0, ahead).unwrap();
    assert_eq!(totp.verify(&code, time, both).unwrap().step, newer);
    assert_eq!(
        totp.verify_after(&code, time, both, older).unwrap().step,
        newer
    );
    assert_eq!(
        totp.verify_after(&code, time, both, newer),
        Err(VerifyError::Replayed)
    );
    let only_older = Window::new(0, ahead - 1).unwrap();
    assert_eq!(totp.verify(&code, time, only_older).unwrap().step, older);

    let hotp = Hotp::from_key(key, HotpConfig::new()).unwrap();
    let look_ahead = LookAhead::new(u16::from(ahead)).unwrap();
    assert_eq!(
        hotp.verify(&code, older, look_ahead).unwrap().counter,
        newer
    );
}

/// `Code::random` draws uniform digits: chi-square over 200,000 digits from
/// a seeded generator. Reducing bytes with `% 10` instead would favour 0-5
/// by 2.4% and fail.
#[test]
fn random_codes_have_uniform_digits() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    uniform::assert_uniform_digits(
        (0..20_000).map(|_| Code::random(&mut rng, 10).unwrap().as_str().to_owned()),
    );
}
