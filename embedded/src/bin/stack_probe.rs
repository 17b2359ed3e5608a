//! `stack-probe`: measures the stack high-water mark of one verification.
//! Paints the free stack with a pattern, verifies a right and a wrong code,
//! finds the deepest word overwritten, and prints the result over
//! semihosting. Run it with `cargo run --release --bin stack-probe` (qemu).
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_halt as _;

const PAINT: u32 = 0x5afe_c0de;
/// Left untouched below the probe's own frame.
const MARGIN: usize = 256;

unsafe extern "C" {
    /// The end of `.bss` and `.data`: the lowest address the stack may reach.
    static mut __sheap: u32;
}

/// The stack used by `f`, in bytes, measured by painting.
fn high_water(f: impl FnOnce() -> bool) -> (bool, usize) {
    let bottom = core::ptr::addr_of_mut!(__sheap) as usize;
    let top = cortex_m::register::msp::read() as usize - MARGIN;
    for address in (bottom..top).step_by(4) {
        // SAFETY: [bottom, top) is free stack below this frame.
        unsafe { (address as *mut u32).write_volatile(PAINT) };
    }
    let result = f();
    let deepest = (bottom..top)
        .step_by(4)
        // SAFETY: as above; reading back what was painted.
        .find(|&address| unsafe { (address as *const u32).read_volatile() } != PAINT)
        .unwrap_or(top);
    (result, top - deepest + MARGIN)
}

#[entry]
fn main() -> ! {
    let key = black_box(&passcode_embedded::KEY);
    let (right, right_stack) =
        high_water(|| passcode_embedded::verify(key, black_box("07081804"), black_box(1_111_111_109)));
    let (wrong, wrong_stack) =
        high_water(|| passcode_embedded::verify(key, black_box("07081805"), black_box(1_111_111_109)));
    hprintln!(
        "right code accepted: {}, stack high-water {} bytes; wrong code accepted: {}, stack high-water {} bytes",
        right,
        right_stack,
        wrong,
        wrong_stack
    );
    let exit = if right && !wrong { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE };
    debug::exit(exit);
    loop {
        cortex_m::asm::wfi();
    }
}
