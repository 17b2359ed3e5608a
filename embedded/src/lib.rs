//! What the firmware does with a code typed on its keypad: verify it against
//! the key in flash, at the time from its real-time clock.
#![no_std]

use passcode::{Digits, Totp, TotpConfig, Window};

/// The RFC 6238 SHA-1 seed, standing in for a provisioned key.
pub const KEY: [u8; 20] = *b"12345678901234567890";

/// Keys TOTP (SHA-1, 8 digits, 30 s) and checks `code` at `time`, one step
/// either way. Not inlined, so its stack use can be measured on its own.
#[inline(never)]
pub fn verify(key: &[u8], code: &str, time: u64) -> bool {
    let config = TotpConfig::new().with_digits(Digits::EIGHT);
    match Totp::from_key(key, config) {
        Ok(totp) => totp.verify(code, time, Window::ONE_STEP).is_ok(),
        Err(_) => false,
    }
}
