//! A uniformity check for generated digits, shared by the tests of every
//! generator of numeric codes.

/// Asserts that the ASCII digits in `codes` (other characters are skipped)
/// are uniform: Pearson's chi-square over the ten digits, with 9 degrees of
/// freedom, must stay below 27.88, its 0.1% critical value.
pub(crate) fn assert_uniform_digits<S: AsRef<str>>(codes: impl IntoIterator<Item = S>) {
    let mut counts = [0u64; 10];
    for code in codes {
        for b in code.as_ref().bytes().filter(u8::is_ascii_digit) {
            counts[usize::from(b - b'0')] += 1;
        }
    }
    let expected = counts.iter().sum::<u64>() as f64 / 10.0;
    assert!(expected >= 1_000.0, "too few digits: {counts:?}");
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 27.88, "chi-square {chi2:.1} for {counts:?}");
}
