use core::ops::RangeInclusive;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::code::{Digits, Typed};
use crate::hmac::Mac;
use crate::{ParamError, StepError, VerifyError, declassify};

/// Which TOTP time steps a code may come from: `behind` steps before the
/// current one, the current one, and `ahead` steps after it (RFC 6238 §5.2).
///
/// Each side is bounded by [`MAX_STEPS`](Self::MAX_STEPS) = 20, ten minutes
/// of drift at 30-second steps: every step in the window is computed on every
/// verification, and each one widens the chance that a guess is accepted.
///
/// ```
/// use passcode::Window;
///
/// let window = Window::new(2, 1)?;
/// assert_eq!((window.behind(), window.ahead()), (2, 1));
/// assert_eq!(Window::default(), Window::new(1, 1)?);
/// assert!(Window::new(21, 0).is_err());
/// # Ok::<(), passcode::ParamError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "WindowRepr", into = "WindowRepr"))]
pub struct Window {
    behind: u8,
    ahead: u8,
}

impl Window {
    /// The widest either side may be.
    pub const MAX_STEPS: u8 = 20;
    /// Only the current step.
    pub const CURRENT: Self = Self {
        behind: 0,
        ahead: 0,
    };
    /// One step each way, the default: RFC 6238 §5.2 recommends at most one
    /// step of network delay, and one step ahead absorbs a device clock that
    /// runs a little fast.
    pub const ONE_STEP: Self = Self {
        behind: 1,
        ahead: 1,
    };

    /// A window reaching `behind` steps into the past and `ahead` into the
    /// future.
    ///
    /// # Errors
    /// [`ParamError::Window`] when a side exceeds [`MAX_STEPS`](Self::MAX_STEPS).
    pub const fn new(behind: u8, ahead: u8) -> Result<Self, ParamError> {
        if behind <= Self::MAX_STEPS && ahead <= Self::MAX_STEPS {
            Ok(Self { behind, ahead })
        } else {
            Err(ParamError::Window)
        }
    }

    /// Steps accepted before the current one.
    #[must_use]
    pub const fn behind(self) -> u8 {
        self.behind
    }

    /// Steps accepted after the current one.
    #[must_use]
    pub const fn ahead(self) -> u8 {
        self.ahead
    }

    /// The steps of this window placed around the step `shift` steps from
    /// `now`: those that exist. Steps below 0 do not, so a window reaching
    /// past step 0 holds fewer steps, and none when it lies wholly below
    /// (`None`). Which steps depends only on public numbers.
    ///
    /// # Errors
    /// [`StepError::Overflow`] when the window reaches past `u64::MAX`.
    pub(crate) fn steps(
        self,
        now: u64,
        shift: i8,
    ) -> Result<Option<RangeInclusive<u64>>, StepError> {
        let shift = i16::from(shift);
        let low = shift.saturating_sub(i16::from(self.behind));
        let high = shift.saturating_add(i16::from(self.ahead));
        match now.checked_add_signed(i64::from(high)) {
            Some(last) => Ok(Some(now.saturating_add_signed(i64::from(low))..=last)),
            None if high < 0 => Ok(None),
            None => Err(StepError::Overflow),
        }
    }
}

/// [`Window::ONE_STEP`].
impl Default for Window {
    fn default() -> Self {
        Self::ONE_STEP
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct WindowRepr {
    behind: u8,
    ahead: u8,
}

#[cfg(feature = "serde")]
impl TryFrom<WindowRepr> for Window {
    type Error = ParamError;

    fn try_from(repr: WindowRepr) -> Result<Self, ParamError> {
        Self::new(repr.behind, repr.ahead)
    }
}

#[cfg(feature = "serde")]
impl From<Window> for WindowRepr {
    fn from(window: Window) -> Self {
        Self {
            behind: window.behind,
            ahead: window.ahead,
        }
    }
}

macro_rules! bounded_count {
    ($(#[$doc:meta])* $name:ident, $max:literal, $error:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(try_from = "u16", into = "u16"))]
        pub struct $name(u16);

        impl $name {
            /// The largest value allowed.
            pub const MAX: u16 = $max;

            /// Checks the bound.
            ///
            /// # Errors
            #[doc = concat!("[`ParamError::", stringify!($error), "`] above [`MAX`](Self::MAX).")]
            pub const fn new(counters: u16) -> Result<Self, ParamError> {
                if counters <= Self::MAX {
                    Ok(Self(counters))
                } else {
                    Err(ParamError::$error)
                }
            }

            /// The number of counters past the stored one.
            #[must_use]
            pub const fn get(self) -> u16 {
                self.0
            }
        }

        impl TryFrom<u16> for $name {
            type Error = ParamError;

            fn try_from(counters: u16) -> Result<Self, ParamError> {
                Self::new(counters)
            }
        }

        impl From<$name> for u16 {
            fn from(value: $name) -> u16 {
                value.0
            }
        }
    };
}

impl LookAhead {
    /// Ten counters: the look-ahead [`HotpPolicy`](crate::HotpPolicy) uses
    /// unless told otherwise.
    pub const TEN: Self = Self(10);
}

bounded_count!(
    /// How many counters past the stored one a HOTP code may come from
    /// (RFC 4226 §7.4's look-ahead window `s`): a user may press the button
    /// without logging in. Never behind: a counter, once passed, stays used.
    ///
    /// Bounded by [`MAX`](Self::MAX) = 50 because every counter in the window
    /// is a code an attacker may guess.
    ///
    /// ```
    /// use passcode::LookAhead;
    ///
    /// assert_eq!(LookAhead::new(10)?.get(), 10);
    /// assert!(LookAhead::new(51).is_err());
    /// # Ok::<(), passcode::ParamError>(())
    /// ```
    LookAhead,
    50,
    LookAhead
);

bounded_count!(
    /// The wider look-ahead used to resynchronize a HOTP counter from two
    /// consecutive codes (RFC 4226 §7.4), at most [`MAX`](Self::MAX) = 1000.
    /// Two codes must match in sequence, which keeps a wide window as hard to
    /// guess as a narrow one with a single code.
    ///
    /// ```
    /// use passcode::ResyncWindow;
    ///
    /// assert_eq!(ResyncWindow::new(1000)?.get(), 1000);
    /// assert!(ResyncWindow::new(1001).is_err());
    /// # Ok::<(), passcode::ParamError>(())
    /// ```
    ResyncWindow,
    1000,
    ResyncWindow
);

/// The outcome of comparing one code with every counter in a range.
///
/// The two flags are kept as bytes, 0 or 1, and or-ed together as plain
/// integers: a `Choice` would pass each candidate's flags through an
/// optimization barrier, where only the final verdict needs one.
pub(crate) struct Scan {
    /// Some eligible counter matched (1) or not (0).
    matched: u8,
    /// The newest eligible counter that matched (meaningful when `matched`).
    counter: u64,
    /// Some counter at or before the last used one matched (1) or not (0).
    replayed: u8,
}

impl Scan {
    /// The verdict, released: the newest eligible match, else a replay,
    /// else invalid. The only branch on what the scan found.
    pub(crate) fn outcome(self) -> Result<u64, VerifyError> {
        if declassify::choice(Choice::from(self.matched)) {
            Ok(declassify::public(self.counter))
        } else if declassify::choice(Choice::from(self.replayed)) {
            Err(VerifyError::Replayed)
        } else {
            Err(VerifyError::Invalid)
        }
    }

    fn new() -> Self {
        Self {
            matched: 0,
            counter: 0,
            replayed: 0,
        }
    }

    /// Records an eligible counter and whether it matched.
    fn eligible(&mut self, counter: u64, hit: Choice) {
        self.counter.conditional_assign(&counter, hit);
        self.matched |= hit.unwrap_u8();
    }
}

/// The union of two ranges of steps, as at most two disjoint ranges in
/// ascending order: one when they overlap or touch, so that no step is
/// computed twice and none between them is added.
pub(crate) fn union(
    a: Option<RangeInclusive<u64>>,
    b: Option<RangeInclusive<u64>>,
) -> [Option<RangeInclusive<u64>>; 2] {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (low, high) = if a.start() <= b.start() {
                (a, b)
            } else {
                (b, a)
            };
            if high.start().saturating_sub(1) <= *low.end() {
                let end = (*low.end()).max(*high.end());
                [Some(*low.start()..=end), None]
            } else {
                [Some(low), Some(high)]
            }
        }
        (a, b) => [a.or(b), None],
    }
}

/// Compares `input` with the code of every counter in `ranges`: all of
/// them, with no early exit, in constant time. A match at a counter at or
/// before `last_used` counts as a replay, not a match; of the other matches
/// the newest wins, so that storing it retires every older counter. The
/// ranges must be disjoint and in ascending order: a later match replaces
/// an earlier one.
///
/// The counters and `last_used` are public; which counter matched is not, and
/// stays in `Choice` and `conditional_assign` until the caller's final branch.
pub(crate) fn scan(
    mac: &Mac,
    digits: Digits,
    ranges: impl IntoIterator<Item = RangeInclusive<u64>>,
    input: &Typed,
    last_used: Option<u64>,
) -> Scan {
    let input = input.value();
    let modulus = digits.modulus();
    let mut scan = Scan::new();
    for counters in ranges {
        mac.for_each(counters, |counter, truncated| {
            let hit = u64::from(modulus.remainder(truncated)).ct_eq(&input);
            // Whether a counter is fresh depends only on public numbers, so
            // it may steer a branch; `hit` stays a `Choice` either way.
            if last_used.is_none_or(|last| counter > last) {
                scan.eligible(counter, hit);
            } else {
                scan.replayed |= hit.unwrap_u8();
            }
        });
    }
    scan
}

/// Finds counters `c` and `c + 1` in `counters` whose codes are `first` and
/// `second`, in constant time; `counter` is then the newest such `c + 1`.
pub(crate) fn scan_pair(
    mac: &Mac,
    digits: Digits,
    counters: RangeInclusive<u64>,
    first: &Typed,
    second: &Typed,
) -> Scan {
    let (first, second) = (first.value(), second.value());
    let modulus = digits.modulus();
    let mut previous_was_first = Choice::from(0);
    let mut scan = Scan::new();
    mac.for_each(counters, |counter, truncated| {
        let code = u64::from(modulus.remainder(truncated));
        let hit = previous_was_first & code.ct_eq(&second);
        scan.eligible(counter, hit);
        previous_was_first = code.ct_eq(&first);
    });
    scan
}
