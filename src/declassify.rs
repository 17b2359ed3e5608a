//! The points where a secret-derived value becomes public on purpose.
//!
//! Verification keeps everything secret in `Choice` values and masked
//! selects until its very end; these functions are that end. Each call site
//! is a deliberate release: the accept or reject bit, the matched step or
//! counter the caller is told (and which backup code was used), a code's
//! text when it is shown to its user, which random bytes a digit draw skips
//! (independent of the digits kept), and whether a new backup code repeats
//! an earlier one of its set (it is then drawn again).
//!
//! Built with `RUSTFLAGS="--cfg passcode_ct_check"` (only `ct-check/` does
//! that), each release also tells valgrind's memcheck that the value is now
//! defined. The constant-time check then marks the key undefined and fails
//! on any other branch or memory address that depends on it.

use subtle::Choice;

/// `choice` as a plain `bool`, released.
pub(crate) fn choice(choice: Choice) -> bool {
    public(choice.unwrap_u8()) == 1
}

/// `value`, released.
pub(crate) fn public<T: Copy>(value: T) -> T {
    mark_defined(&value);
    value
}

/// Releases `bytes` where they are: a code being shown to its user.
pub(crate) fn release(bytes: &[u8]) {
    mark_defined(bytes);
}

#[cfg(passcode_ct_check)]
fn mark_defined<T: ?Sized>(value: &T) {
    use crabgrind::memcheck::{MemState, mark_memory};
    let address = core::ptr::from_ref(value).cast::<core::ffi::c_void>();
    // Outside valgrind this reports that valgrind is absent: nothing to do.
    let _ = mark_memory(address, size_of_val(value), MemState::Defined);
}

#[cfg(not(passcode_ct_check))]
fn mark_defined<T: ?Sized>(_: &T) {}
