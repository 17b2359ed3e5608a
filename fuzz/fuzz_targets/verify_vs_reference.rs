//! `Totp::verify`, `Totp::verify_after`, `Hotp::verify` and `Hotp::resync`
//! return exactly the verdict of the naive reference in `src/reference.rs`:
//! the same step or counter and drift, or the same error down to the
//! `CodeError` and `StepError`. Codes are either arbitrary text or the right
//! code of a step near the window, so matches, collisions and replays are
//! all reached.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use passcode::{Hotp, LookAhead, ResyncWindow, SecretError, Totp, Window};
use passcode_fuzz::input::{Time, TotpParams, TypedCode};

#[derive(Arbitrary, Debug)]
struct Input {
    params: TotpParams,
    time: Time,
    /// Each side taken modulo 21.
    behind: u8,
    ahead: u8,
    last: Option<Last>,
    code: TypedCode,
    counter: Time,
    /// Taken modulo 51.
    look_ahead: u8,
    hotp_code: TypedCode,
    resync: Option<Resync>,
}

/// The last accepted step: near the current one, or anywhere.
#[derive(Arbitrary, Debug)]
enum Last {
    Relative(i8),
    Absolute(Time),
}

#[derive(Arbitrary, Debug)]
struct Resync {
    first: TypedCode,
    /// Whether the second code is the successor of the first (when the
    /// first is a right code).
    consecutive: bool,
    second: TypedCode,
    window: ResyncSpan,
}

/// Resync windows reach 1,000 counters; most runs stay small to keep the
/// fuzzer fast.
#[derive(Arbitrary, Debug)]
enum ResyncSpan {
    Small(u8),
    Any(u16),
}

fuzz_target!(|input: Input| {
    let params = &input.params;
    let config = params.config();
    let key = params.key();
    if key.is_empty() {
        assert_eq!(Totp::from_key(key, config).err(), Some(SecretError::Empty));
        return;
    }
    let totp = Totp::from_key(key, config).expect("any non-empty key");
    let reference = params.reference();
    let time = input.time.get();
    let window = Window::new(input.behind % 21, input.ahead % 21).expect("0 to 20");

    // `generate` and `generate_step` agree with the reference.
    let now = reference.step(time);
    assert_eq!(
        totp.generate(time).map(|code| code.to_string()),
        now.map(|step| reference.credential.code(step)),
    );
    let base = now.unwrap_or(0);
    let typed = input.code.text(
        base,
        |o| i64::from(o % 26),
        |s| reference.credential.code(s),
    );
    if let TypedCode::Offset { offset, .. } = input.code {
        let step = base.wrapping_add_signed(i64::from(offset % 26));
        assert_eq!(
            totp.generate_step(step).as_str(),
            reference.credential.code(step)
        );
    }

    let last = input.last.map(|last| match last {
        Last::Relative(offset) => base.wrapping_add_signed(i64::from(offset % 26)),
        Last::Absolute(step) => step.get(),
    });
    let verdict = match last {
        None => totp.verify(&typed, time, window),
        Some(last) => totp.verify_after(&typed, time, window, last),
    };
    let expected = reference.verify(&typed, time, window.behind(), window.ahead(), last);
    assert_eq!(
        verdict.map(|m| (m.step, m.drift)),
        expected,
        "TOTP {typed:?} at {time}, {window:?}, last {last:?}",
    );

    // HOTP over the same key.
    let hotp = Hotp::from_key(key, params.hotp_config()).expect("any non-empty key");
    let credential = &reference.credential;
    let counter = input.counter.get();
    let look_ahead = u16::from(input.look_ahead % 51);
    let typed = input
        .hotp_code
        .text(counter, |o| i64::from(o % 64), |c| credential.code(c));
    let verdict = hotp.verify(
        &typed,
        counter,
        LookAhead::new(look_ahead).expect("0 to 50"),
    );
    assert_eq!(
        verdict.map(|m| (m.counter, m.next_counter)),
        credential.hotp_verify(&typed, counter, look_ahead),
        "HOTP {typed:?} at counter {counter}, look-ahead {look_ahead}",
    );

    if let Some(resync) = input.resync {
        let window = match resync.window {
            ResyncSpan::Small(n) => u16::from(n),
            ResyncSpan::Any(n) => n % (ResyncWindow::MAX + 1),
        };
        let reduce = |o: i8| i64::from(o).rem_euclid(i64::from(window) + 8);
        let first = resync.first.text(counter, reduce, |c| credential.code(c));
        let second = match (&resync.first, resync.consecutive) {
            (TypedCode::Offset { offset, .. }, true) => {
                credential.code(counter.wrapping_add_signed(reduce(*offset)).wrapping_add(1))
            }
            _ => resync.second.text(counter, reduce, |c| credential.code(c)),
        };
        let verdict = hotp.resync(
            &first,
            &second,
            counter,
            ResyncWindow::new(window).expect("0 to 1000"),
        );
        assert_eq!(
            verdict.map(|m| (m.counter, m.next_counter)),
            credential.hotp_resync(&first, &second, counter, window),
            "resync {first:?} {second:?} at counter {counter}, window {window}",
        );
    }
});
