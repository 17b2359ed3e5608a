//! Decimal arithmetic on secret 31-bit values without secret-dependent
//! timing: the remainder modulo a power of ten, and writing digits.
//!
//! The obvious `value % 1_000_000` is not enough even with a compile-time
//! divisor. Compilers turn it into a multiply by an inverse only where the CPU
//! has a wide multiply: on Cortex-M0 it becomes a call to a software divider
//! whose running time depends on the dividend, and Cortex-M3 ends a multiply
//! early for small operands. So there are two strategies:
//!
//! - where the 64-bit multiply takes the same time for every operand (x86-64,
//!   AArch64), an explicit multiply by a precomputed inverse;
//! - everywhere else, a ladder of conditional subtractions chosen with
//!   `subtle`, which needs neither division nor multiplication.
//!
//! Both are compiled everywhere and tested on every host; the target picks
//! one at compile time.

use rand_core::CryptoRng;
use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroize;

use crate::declassify;

/// Whether this target multiplies 64-bit values in constant time.
const CONSTANT_TIME_MULTIPLY: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Writes `value < 10^out.len()` as `out.len()` ASCII digits (at most ten).
pub(crate) fn write_digits(value: u32, out: &mut [u8]) {
    if CONSTANT_TIME_MULTIPLY {
        write_digits_by_inverse(value, out);
    } else {
        write_digits_by_subtraction(value, out);
    }
}

/// The digit a uniformly random byte stands for, or `None` for a byte that
/// must be drawn again: bytes below 250 (the largest multiple of ten a byte
/// holds) give `byte mod 10`, each digit from exactly 25 of them, so digits
/// are uniform. Whether a byte is skipped says nothing of the digits kept,
/// so that decision is released (see `declassify.rs`).
pub(crate) fn digit_from_byte(byte: u8) -> Option<u8> {
    if declassify::public(byte < 250) {
        let [.., digit] = const { Modulus::new(10) }
            .remainder(u32::from(byte))
            .to_be_bytes();
        Some(b'0' | digit)
    } else {
        None
    }
}

/// Fills `out` with uniformly random ASCII digits from `rng`.
///
/// A working generator fills ten digits from 16 bytes but for a chance near
/// 2^-25 (seven of 16 bytes skipped), and then from the next 16; the rounds are bounded so that a broken one cannot hang the
/// caller, and in the last every byte is taken (with the slight bias of
/// `byte mod 10`).
pub(crate) fn random_digits<R: CryptoRng + ?Sized>(rng: &mut R, out: &mut [u8]) {
    let mut filled = 0usize;
    for round in 0..=64 {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        for &byte in &bytes {
            let digit = match digit_from_byte(byte) {
                // `byte` is 250 or more here: no division on a secret byte.
                None if round == 64 => digit_from_byte(byte.wrapping_sub(250)),
                digit => digit,
            };
            if let (Some(digit), Some(slot)) = (digit, out.get_mut(filled)) {
                *slot = digit;
                filled = filled.saturating_add(1);
            }
        }
        bytes.zeroize();
        if filled >= out.len() {
            break;
        }
    }
}

/// The multiplier and shift that divide every 31-bit value by `d`
/// (Granlund and Montgomery, "Division by invariant integers using
/// multiplication", 1994, Theorem 4.2 with N = 31): with
/// `l = ceil(log2 d)` and `m = floor(2^(31+l) / d) + 1`,
/// `floor(n / d) = floor(n * m / 2^(31+l))` for all `n < 2^31`, and
/// `m < 2^32`, so the product fits in 64 bits.
// Evaluated at compile time, where an overflow is a build error.
#[allow(clippy::arithmetic_side_effects)]
const fn inverse(d: u32) -> (u64, u32) {
    let l = u32::BITS - (d - 1).leading_zeros();
    let shift = 31 + l;
    ((1u64 << shift) / d as u64 + 1, shift)
}

/// `floor(value / D)` for `value < 2^31`.
fn quotient_by_inverse<const D: u32>(value: u32) -> u32 {
    let (multiplier, shift) = const { inverse(D) };
    // value < 2^31 and multiplier < 2^32: the product stays below 2^63, and
    // the quotient below 2^31.
    let quotient = u64::from(value).wrapping_mul(multiplier) >> shift;
    u32::try_from(quotient).unwrap_or(0)
}

fn write_digits_by_inverse(value: u32, out: &mut [u8]) {
    let mut rest = value;
    for slot in out.iter_mut().rev() {
        let quotient = quotient_by_inverse::<10>(rest);
        let [.., digit] = rest.wrapping_sub(quotient.wrapping_mul(10)).to_be_bytes();
        *slot = b'0' | digit;
        rest = quotient;
    }
}

/// The largest `k` with `d << k < 2^31`: shifting `d` left by one less
/// than its leading zeros leaves it 31 bits long.
// Evaluated at compile time, where an overflow is a build error.
#[allow(clippy::arithmetic_side_effects)]
const fn top_shift(d: u32) -> u32 {
    d.leading_zeros() - 1
}

/// Reduction modulo a power of ten that the digit count picks at run time
/// (the count is public): both strategies' constants, worked out at compile
/// time, so that each candidate of a window pays only the arithmetic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Modulus {
    /// The modulus; 0 for none (ten digits: every 31-bit value is below
    /// 10^10, so it is its own remainder).
    divisor: u32,
    /// `inverse(divisor)`.
    multiplier: u64,
    shift: u32,
    /// The subtraction ladder's rungs: `divisor << k` for `k` below this.
    rungs: u32,
}

impl Modulus {
    /// No reduction.
    pub(crate) const NONE: Self = Self {
        divisor: 0,
        multiplier: 0,
        shift: 0,
        rungs: 0,
    };

    /// Modulo `divisor`; [`NONE`](Self::NONE) below 2. For constants:
    /// evaluated at compile time, where an overflow is a build error.
    #[allow(clippy::arithmetic_side_effects)]
    pub(crate) const fn new(divisor: u32) -> Self {
        if divisor < 2 {
            return Self::NONE;
        }
        let (multiplier, shift) = inverse(divisor);
        Self {
            divisor,
            multiplier,
            shift,
            rungs: top_shift(divisor) + 1,
        }
    }

    /// `value mod divisor` for `value < 2^31`.
    pub(crate) fn remainder(self, value: u32) -> u32 {
        if CONSTANT_TIME_MULTIPLY {
            self.by_inverse(value)
        } else {
            self.by_subtraction(value)
        }
    }

    fn by_inverse(self, value: u32) -> u32 {
        // value < 2^31 and multiplier < 2^32: the product stays below 2^63,
        // and the quotient, in the low half, below 2^31.
        let quotient = u64::from(value)
            .wrapping_mul(self.multiplier)
            .wrapping_shr(self.shift);
        let [q0, q1, q2, q3, ..] = quotient.to_le_bytes();
        value.wrapping_sub(u32::from_le_bytes([q0, q1, q2, q3]).wrapping_mul(self.divisor))
    }

    /// Subtracts `divisor << k` for `k = rungs - 1` down to 0 wherever it
    /// fits. Every operand stays below 2^31, so the top bit of a difference
    /// is its borrow.
    fn by_subtraction(self, value: u32) -> u32 {
        let mut rest = value;
        for shift in (0..self.rungs).rev() {
            let difference = rest.wrapping_sub(self.divisor.wrapping_shl(shift));
            let [fits, ..] = (!difference >> 31).to_le_bytes();
            rest.conditional_assign(&difference, Choice::from(fits));
        }
        rest
    }
}

const POWERS_OF_TEN: [u64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Each digit from a four-step ladder of conditional subtractions of 8, 4,
/// 2 and 1 times its power of ten, most significant first.
fn write_digits_by_subtraction(value: u32, out: &mut [u8]) {
    let mut rest = u64::from(value);
    let powers = POWERS_OF_TEN.iter().take(out.len()).rev();
    for (slot, &power) in out.iter_mut().zip(powers) {
        let mut digit = 0u8;
        for (weight, shift) in [(8u8, 3u32), (4, 2), (2, 1), (1, 0)] {
            // Both operands stay below 2^63, so the top bit is the borrow.
            let difference = rest.wrapping_sub(power.wrapping_shl(shift));
            let [.., fits] = (!difference >> 63).to_be_bytes();
            let fits = Choice::from(fits);
            rest.conditional_assign(&difference, fits);
            digit.conditional_assign(&(digit | weight), fits);
        }
        *slot = b'0' | digit;
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOP: u32 = 0x7fff_ffff;

    const MODULI: [(u32, Modulus); 5] = [
        (10, Modulus::new(10)),
        (1_000_000, Modulus::new(1_000_000)),
        (10_000_000, Modulus::new(10_000_000)),
        (100_000_000, Modulus::new(100_000_000)),
        (1_000_000_000, Modulus::new(1_000_000_000)),
    ];

    /// Each modulus with the remainder of `value` by both strategies.
    fn all_remainders(value: u32) -> [(u32, u32, u32); 5] {
        MODULI.map(|(m, modulus)| (m, modulus.by_inverse(value), modulus.by_subtraction(value)))
    }

    /// Modulo 10 (digit draws): every value a byte gives, and the top ones.
    #[test]
    fn remainders_by_ten() {
        for value in (0..=300).chain(TOP - 300..=TOP) {
            let (_, by_inverse, by_subtraction) = all_remainders(value)[0];
            assert_eq!(
                (by_inverse, by_subtraction),
                (value % 10, value % 10),
                "{value}"
            );
        }
    }

    #[test]
    fn no_modulus_keeps_every_value() {
        for value in [0, 1, 999_999, 1_000_000, TOP - 1, TOP] {
            assert_eq!(Modulus::NONE.by_inverse(value), value);
            assert_eq!(Modulus::NONE.by_subtraction(value), value);
        }
    }

    #[test]
    fn top_shifts() {
        assert_eq!(top_shift(1_000_000), 11);
        assert_eq!(top_shift(10_000_000), 7);
        assert_eq!(top_shift(100_000_000), 4);
        assert_eq!(top_shift(1_000_000_000), 1);
        assert_eq!(top_shift(1 << 20), 10);
    }

    /// Multiples of each modulus, their neighbours, and the ends.
    #[test]
    fn remainders_at_the_edges() {
        for modulus in [1_000_000u32, 10_000_000, 100_000_000, 1_000_000_000] {
            let mut values = std::vec![0, 1, TOP, TOP - 1];
            for k in 1..=TOP / modulus {
                values.extend([k * modulus - 1, k * modulus, k * modulus + 1]);
            }
            for value in values.into_iter().filter(|v| *v <= TOP) {
                for (m, by_inverse, by_subtraction) in all_remainders(value) {
                    assert_eq!(by_inverse, value % m, "{value} mod {m}");
                    assert_eq!(by_subtraction, value % m, "{value} mod {m}");
                }
            }
        }
    }

    #[test]
    fn digits_at_the_edges() {
        for (value, len) in [
            (0, 6),
            (999_999, 6),
            (TOP, 10),
            (1_000_000_000, 10),
            (5, 10),
        ] {
            let expected = std::format!("{value:0len$}");
            let (mut a, mut b) = ([0u8; 10], [0u8; 10]);
            write_digits_by_inverse(value, &mut a[..len]);
            write_digits_by_subtraction(value, &mut b[..len]);
            assert_eq!(&a[..len], expected.as_bytes());
            assert_eq!(&b[..len], expected.as_bytes());
        }
    }

    proptest! {
        #[test]
        fn remainders_match_the_operator(value in 0..=TOP) {
            for (m, by_inverse, by_subtraction) in all_remainders(value) {
                prop_assert_eq!(by_inverse, value % m);
                prop_assert_eq!(by_subtraction, value % m);
            }
        }

        #[test]
        fn digits_match_formatting(value in 0..=TOP, len in 6usize..=10) {
            let value = if len == 10 { value } else { value % 10u32.pow(u32::try_from(len).unwrap()) };
            let expected = std::format!("{value:0len$}");
            let (mut a, mut b) = ([0u8; 10], [0u8; 10]);
            write_digits_by_inverse(value, &mut a[..len]);
            write_digits_by_subtraction(value, &mut b[..len]);
            prop_assert_eq!(&a[..len], expected.as_bytes());
            prop_assert_eq!(&b[..len], expected.as_bytes());
        }
    }
}
