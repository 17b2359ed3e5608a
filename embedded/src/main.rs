//! `totp-verify`: the smallest useful firmware. Its `.text` is the code size
//! a SHA-1-only device pays for TOTP verification.
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use panic_halt as _;

#[entry]
fn main() -> ! {
    // Opaque inputs, as from a keypad and a clock: nothing is folded away.
    let accepted = passcode_embedded::verify(
        black_box(&passcode_embedded::KEY),
        black_box("07081804"),
        black_box(1_111_111_109),
    );
    black_box(accepted);
    loop {
        cortex_m::asm::wfi();
    }
}
