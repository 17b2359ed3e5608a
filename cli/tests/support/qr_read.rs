//! Reading a drawn QR code back, as a phone camera would: half-block
//! terminal lines into modules, and modules into the text they encode
//! (`rqrr`). Shared by the drawing's unit tests and the binary's tests.
// A test helper: a panic here is the failure report.
#![allow(clippy::unwrap_used, clippy::panic)]

/// Decodes the one QR code in a bitmap (`true` = dark), scaled up with a
/// light margin as a camera would see it.
pub(crate) fn decode(modules: &[Vec<bool>]) -> String {
    let (scale, margin) = (4, 8);
    let (w, h) = (modules[0].len(), modules.len());
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(
        (w + 2 * margin) * scale,
        (h + 2 * margin) * scale,
        |x, y| {
            let (x, y) = (
                (x / scale).wrapping_sub(margin),
                (y / scale).wrapping_sub(margin),
            );
            let dark = modules
                .get(y)
                .and_then(|row| row.get(x))
                .copied()
                .unwrap_or(false);
            if dark { 0 } else { 255 }
        },
    );
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

/// Turns half-block lines back into modules: each character is two
/// modules high; `drawn_is_dark` says whether a drawn half is dark.
pub(crate) fn unpack_half_blocks<S: AsRef<str>>(
    lines: impl IntoIterator<Item = S>,
    drawn_is_dark: bool,
) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in lines {
        let (top, bottom): (Vec<bool>, Vec<bool>) = line
            .as_ref()
            .chars()
            .map(|c| match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("not a half block: {other:?}"),
            })
            .unzip();
        rows.push(top.into_iter().map(|d| d == drawn_is_dark).collect());
        rows.push(bottom.into_iter().map(|d| d == drawn_is_dark).collect());
    }
    rows
}
