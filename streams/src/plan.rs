//! Which kernel computes which counters: measured once on the CPU the
//! process runs on, not decided by a rule about CPUs.
//!
//! How fast each kernel is depends on the core more than on its features.
//! On an EPYC with AVX-512, three SHA-NI chains in flight did a +-1 window
//! in 0.72x to 0.84x of the time of one chain; on a Xeon with AVX-512 they
//! gain a tenth, since one chain already keeps its SHA unit nine-tenths
//! busy, and the sixteen AVX-512 lanes beat them from four counters on; on
//! an EPYC without AVX-512, the three chains gained nothing and the AVX2
//! lanes are the only other way. So at first use, [`plan`] times one call
//! of each kernel the CPU has, on fixed public inputs, keeps the fastest of
//! eight rounds for each, and works out from those costs how best to split
//! every count from 1 to [`WIDE_LANES`] among them. The plan comes from
//! timings of public inputs and from the count, never from a key or a
//! counter. Where two ways cost nearly the same, two processes may plan
//! differently; every plan computes the same values.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::{LANES, STREAMS, WIDE_LANES};

/// One of the kernels behind [`crate::hmac_sha1_counters`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// SHA-NI, with this many chains in flight at once (1 to [`STREAMS`]):
    /// takes exactly that many counters a call.
    Streams(usize),
    /// AVX2: up to [`LANES`] counters a call, at the same cost for any
    /// number of them.
    Lanes,
    /// AVX-512F: up to [`WIDE_LANES`] counters a call, at the same cost for
    /// any number of them.
    WideLanes,
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Streams(1) => f.write_str("SHA-NI, one chain"),
            Self::Streams(width) => write!(f, "SHA-NI, {width} chains"),
            Self::Lanes => f.write_str("AVX2 lanes"),
            Self::WideLanes => f.write_str("AVX-512 lanes"),
        }
    }
}

/// Every kernel, in the order of their codes in a packed plan.
pub(crate) const KERNELS: [Kernel; KINDS] = [
    Kernel::Streams(1),
    Kernel::Streams(2),
    Kernel::Streams(3),
    Kernel::Lanes,
    Kernel::WideLanes,
];
pub(crate) const KINDS: usize = 5;
const _: () = assert!(STREAMS == 3, "KERNELS lists one entry a stream width");

impl Kernel {
    /// The most counters one call takes.
    pub const fn capacity(self) -> usize {
        match self {
            Self::Streams(width) => width,
            Self::Lanes => LANES,
            Self::WideLanes => WIDE_LANES,
        }
    }

    /// How many of `left` counters one call takes, or 0 where it cannot
    /// be used for them: a stream group runs exactly its width.
    const fn takes(self, left: usize) -> usize {
        match self {
            Self::Streams(width) if left < width => 0,
            Self::Streams(width) => width,
            Self::Lanes | Self::WideLanes if left < self.capacity() => left,
            Self::Lanes | Self::WideLanes => self.capacity(),
        }
    }
}

/// Bits a kernel's code takes in a packed plan.
const CODE_BITS: usize = 3;
/// Set in a packed plan once it has been measured.
const MEASURED: u64 = 1 << 63;
const _: () = assert!(KINDS < 1 << CODE_BITS && WIDE_LANES * CODE_BITS < 63);

/// A plan: for each count `n` from 1 to [`WIDE_LANES`], the code of the
/// kernel that takes the first counters of `n` left, in bits
/// `3 (n - 1) ..`, and [`MEASURED`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan(u64);

impl Plan {
    /// The kernel for the first counters of `left` (more than
    /// [`WIDE_LANES`] are planned as that many at a time).
    pub(crate) fn first(self, left: usize) -> Kernel {
        let n = left.clamp(1, WIDE_LANES);
        let shift = CODE_BITS.saturating_mul(n.saturating_sub(1));
        let code = self.0.checked_shr(u32::try_from(shift).unwrap_or(u32::MAX));
        let code = usize::try_from(code.unwrap_or(0) & 0b111).unwrap_or(0);
        KERNELS.get(code).copied().unwrap_or(Kernel::Streams(1))
    }

    /// Each call `count` counters take, in order: the kernel and how many
    /// counters it is given. Every count is covered, since the plan is
    /// built from kernels that each take at least one of what is left.
    pub(crate) fn calls(self, count: usize) -> impl Iterator<Item = (Kernel, usize)> {
        let mut left = count;
        core::iter::from_fn(move || {
            let kernel = self.first(left);
            let take = kernel.takes(left).min(left);
            // `best` plans only kernels that take at least one; a plan
            // from elsewhere that does not ends the calls here.
            (take > 0).then(|| {
                left = left.saturating_sub(take);
                (kernel, take)
            })
        })
    }

    /// The plan of least total cost for every count, given what one call
    /// of each kernel costs (`None` where the CPU lacks it): a shortest
    /// path over counts left, each step a call of one kernel. `None` where
    /// no kernel runs.
    pub(crate) fn best(costs: [Option<u64>; KINDS]) -> Option<Self> {
        let mut total = [0u64; WIDE_LANES + 1];
        let mut packed = MEASURED;
        for n in 1..=WIDE_LANES {
            let mut best: Option<(u64, usize)> = None;
            for (code, (kernel, cost)) in KERNELS.iter().zip(costs).enumerate() {
                let take = kernel.takes(n);
                let (Some(cost), Some(rest)) = (cost, n.checked_sub(take).filter(|_| take > 0))
                else {
                    continue;
                };
                let cost = cost.saturating_add(total.get(rest).copied().unwrap_or(u64::MAX));
                // The earlier kernel wins a tie, so a plan does not change
                // from run to run on a tie.
                if best.is_none_or(|(least, _)| cost < least) {
                    best = Some((cost, code));
                }
            }
            let (cost, code) = best?;
            *total.get_mut(n)? = cost;
            packed |= (code as u64) << (CODE_BITS * (n - 1));
        }
        Some(Self(packed))
    }
}

/// The measured plan, once [`plan`] has run; 0 before.
static PLAN: AtomicU64 = AtomicU64::new(0);

/// This CPU's plan, measured at the first call (about 0.1 to 0.2 ms) and
/// kept. Two threads that both get here first both measure, and the later
/// store wins: either plan computes the same values. `None` where no
/// kernel runs.
pub(crate) fn plan() -> Option<Plan> {
    let packed = PLAN.load(Ordering::Relaxed);
    if packed & MEASURED != 0 {
        return Some(Plan(packed));
    }
    let plan = Plan::best(measure())?;
    PLAN.store(plan.0, Ordering::Relaxed);
    Some(plan)
}

/// Rounds of timing: each kernel's cost is its fastest, so that a round
/// slowed by an interrupt or another thread decides nothing.
#[cfg(target_arch = "x86_64")]
const ROUNDS: usize = 8;
/// Ticks of warm-up calls a kernel gets before its rounds: about 20 µs at
/// the 2 to 3 GHz of a server's time-stamp counter.
#[cfg(target_arch = "x86_64")]
const WARM_UP: u64 = 50_000;
/// The most warm-up calls a kernel gets, whatever the counter says.
#[cfg(target_arch = "x86_64")]
const WARM_UP_CALLS: usize = 200;

/// What one call of each kernel costs on this CPU, in time-stamp counter
/// ticks, fastest of [`ROUNDS`] interleaved rounds over fixed public
/// inputs; `None` for a kernel the CPU lacks. Where it has only one, that
/// one is planned without timing (as under valgrind, which hides SHA-NI and
/// AVX-512), so the plan is the same at every run.
fn measure() -> [Option<u64>; KINDS] {
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
    let mut costs = KERNELS.map(|kernel| crate::kernel_available(kernel).then_some(u64::MAX));
    if costs.iter().flatten().count() < 2 {
        return costs.map(|cost| cost.map(|_| 1));
    }
    #[cfg(target_arch = "x86_64")]
    {
        let inner = [
            0x6745_2301,
            0xefcd_ab89,
            0x98ba_dcfe,
            0x1032_5476,
            0xc3d2_e1f0,
        ];
        let counters: [u64; WIDE_LANES] = core::array::from_fn(|i| i as u64);
        let mut out = [0u32; WIDE_LANES];
        let mut time = |kernel: Kernel| {
            let take = kernel.capacity();
            let (Some(counters), Some(out)) = (counters.get(..take), out.get_mut(..take)) else {
                return u64::MAX;
            };
            let start = x86_timer::ticks();
            let ran = crate::run_kernel(
                kernel,
                core::hint::black_box(&inner),
                &inner,
                core::hint::black_box(counters),
                crate::Out::Truncated(out),
            );
            core::hint::black_box(&out);
            let end = x86_timer::ticks();
            if ran {
                end.wrapping_sub(start)
            } else {
                u64::MAX
            }
        };
        // Calls of each kernel first, for about `WARM_UP` ticks, so that
        // none is timed from a cold instruction cache or while the core
        // still powers up its wide vector units (tens of microseconds on
        // some server cores).
        for kernel in KERNELS
            .iter()
            .zip(&costs)
            .filter_map(|(k, c)| c.map(|_| *k))
        {
            let mut spent = 0u64;
            for _ in 0..WARM_UP_CALLS {
                spent = spent.saturating_add(time(kernel));
                if spent >= WARM_UP {
                    break;
                }
            }
        }
        for _ in 0..ROUNDS {
            for (kernel, cost) in KERNELS.iter().zip(costs.iter_mut()) {
                if let Some(cost) = cost {
                    *cost = (*cost).min(time(*kernel));
                }
            }
        }
    }
    costs
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86_timer {
    use core::arch::x86_64::{_mm_lfence, _rdtsc};

    /// The time-stamp counter, read once every instruction before it has
    /// finished and before any after it starts (LFENCE on both sides), so
    /// that a timed call is all between two reads. `core` has no other
    /// clock; kernels are compared with each other on the same core within
    /// microseconds, so the counter's rate is no matter.
    pub(super) fn ticks() -> u64 {
        // SAFETY: LFENCE (SSE2, in every x86-64 CPU's base set) and RDTSC
        // (also in the base set) take no operands from memory and write
        // none; RDTSC reads a counter into registers.
        unsafe {
            _mm_lfence();
            let ticks = _rdtsc();
            _mm_lfence();
            ticks
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use super::*;

    fn calls(plan: Plan, count: usize) -> Vec<(Kernel, usize)> {
        plan.calls(count).collect()
    }

    /// Costs in nanoseconds a call, measured on 2026-12-07 on the Xeon of
    /// docs/speed.md (SHA-NI, AVX2, AVX-512): one, two and three chains,
    /// eight AVX2 lanes, sixteen AVX-512 lanes.
    const XEON: [Option<u64>; KINDS] = [Some(79), Some(144), Some(213), Some(316), Some(262)];

    #[test]
    fn a_xeon_streams_three_and_gives_four_or_more_to_avx512() {
        let plan = Plan::best(XEON).unwrap();
        assert_eq!(calls(plan, 1), [(Kernel::Streams(1), 1)]);
        assert_eq!(calls(plan, 2), [(Kernel::Streams(2), 2)]);
        assert_eq!(calls(plan, 3), [(Kernel::Streams(3), 3)]);
        for n in 4..=WIDE_LANES {
            assert_eq!(calls(plan, n), [(Kernel::WideLanes, n)], "{n}");
        }
        // A +-10 window: sixteen, then five, each in one call.
        assert_eq!(
            calls(plan, 21),
            [(Kernel::WideLanes, 16), (Kernel::WideLanes, 5)]
        );
    }

    #[test]
    fn without_avx512_lanes_and_chains_share_a_window() {
        let costs = [Some(79), Some(144), Some(213), Some(316), None];
        let plan = Plan::best(costs).unwrap();
        assert_eq!(calls(plan, 3), [(Kernel::Streams(3), 3)]);
        // 316 for eight lanes against 5 * 71: lanes from five on.
        assert_eq!(calls(plan, 5), [(Kernel::Lanes, 5)]);
        assert_eq!(
            calls(plan, 9),
            [(Kernel::Streams(1), 1), (Kernel::Lanes, 8)]
        );
        assert_eq!(calls(plan, 16), [(Kernel::Lanes, 8), (Kernel::Lanes, 8)]);
        assert!(calls(plan, 40).iter().all(|(k, _)| *k != Kernel::WideLanes));
    }

    #[test]
    fn where_chains_do_not_overlap_one_at_a_time_is_as_good() {
        // Three chains cost three times one: a tie, which the earlier
        // kernel (one chain) wins.
        let costs = [Some(80), Some(160), Some(240), None, None];
        let plan = Plan::best(costs).unwrap();
        assert_eq!(calls(plan, 3), [(Kernel::Streams(1), 1); 3]);
    }

    #[test]
    fn every_plan_covers_every_count_with_what_the_cpu_has() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let costs = KERNELS.map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (!seed.is_multiple_of(3)).then_some(seed % 1000 + 1)
            });
            let Some(plan) = Plan::best(costs) else {
                // Only one chain can cover every count alone; without it, a
                // plan needs a lanes kernel (or two and three chains, which
                // cannot cover one counter).
                assert!(costs[0].is_none() && costs[3].is_none() && costs[4].is_none());
                continue;
            };
            // Up to three times a plan's largest count, then 10x and 1000x of it.
            for count in (0..=50).chain([160, 16_000]) {
                let calls = calls(plan, count);
                assert_eq!(calls.iter().map(|(_, n)| n).sum::<usize>(), count);
                for (kernel, n) in calls {
                    let code = KERNELS.iter().position(|k| *k == kernel).unwrap();
                    assert!(costs[code].is_some(), "{kernel} is not on this CPU");
                    assert!(n <= kernel.capacity() && n > 0);
                }
            }
        }
    }

    #[test]
    fn this_cpus_plan_is_measured_once_and_kept() {
        let Some(first) = plan() else {
            assert!(!crate::hmac_sha1_available());
            return;
        };
        assert_eq!(plan(), Some(first));
        assert_ne!(PLAN.load(Ordering::Relaxed) & MEASURED, 0);
    }
}
