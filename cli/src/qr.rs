//! QR codes of a key URI: Unicode half blocks for the terminal, PNG and SVG
//! images for everything else, and the files they are written to.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::Path;

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};
use zeroize::Zeroizing;

use crate::error::CliError;

/// How the terminal drawing shows dark and light modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Black on bright white set with ANSI colors: right on any terminal
    /// background. Only for a terminal, and only without `NO_COLOR`.
    Colored,
    /// Light modules drawn, dark ones left as background: a dark terminal
    /// (the convention of `qrencode -t UTF8`).
    LightDrawn,
    /// Dark modules drawn: a light terminal.
    DarkDrawn,
}

/// Modules of quiet zone around the terminal drawing. The standard asks
/// for four; two keep a code of a typical URI within 24 terminal lines, and
/// phone cameras read it from a screen.
const TERMINAL_QUIET_ZONE: usize = 2;
/// Modules of quiet zone in the files, as the standard asks.
const FILE_QUIET_ZONE: u32 = 4;
/// Pixels per module in the PNG file.
const PNG_SCALE: u32 = 8;

/// Half-block characters for (top, bottom) of a cell, each `true` when drawn.
fn half_block(top: bool, bottom: bool) -> char {
    match (top, bottom) {
        (true, true) => '█',
        (true, false) => '▀',
        (false, true) => '▄',
        (false, false) => ' ',
    }
}

/// The QR code of `text` drawn with half blocks: one character per module
/// across, two modules per line down.
///
/// Low error correction: a screen does not smudge, and the smaller code
/// fits a terminal.
pub(crate) fn terminal(text: &str, style: Style) -> Result<String, CliError> {
    let code = encode(text, EcLevel::L)?;
    let width = code.width();
    let dark = code.to_colors();
    let size = width + 2 * TERMINAL_QUIET_ZONE;
    // Whether the module at (x, y) of the drawing, quiet zone included, is dark.
    let is_dark = |x: usize, y: usize| {
        let inside = |v: usize| v.checked_sub(TERMINAL_QUIET_ZONE).filter(|v| *v < width);
        match (inside(x), inside(y)) {
            (Some(x), Some(y)) => dark.get(y * width + x) == Some(&Color::Dark),
            _ => false,
        }
    };
    let drawn = |x, y| match style {
        Style::Colored | Style::DarkDrawn => is_dark(x, y),
        Style::LightDrawn => !is_dark(x, y),
    };
    let mut out = String::new();
    for y in (0..size).step_by(2) {
        if style == Style::Colored {
            out.push_str("\x1b[30;107m");
        }
        // The odd last line's lower half lies outside the drawing: light,
        // widening the quiet zone.
        out.extend((0..size).map(|x| {
            let bottom = if y + 1 < size {
                drawn(x, y + 1)
            } else {
                style == Style::LightDrawn
            };
            half_block(drawn(x, y), bottom)
        }));
        if style == Style::Colored {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    Ok(out)
}

/// The QR code of `text` as a PNG image: black on white, 8 pixels a
/// module, a four-module quiet zone.
pub(crate) fn png(text: &str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let code = encode(text, EcLevel::M)?;
    let width = u32::try_from(code.width()).map_err(|_| too_long())?;
    let dark = code.to_colors();
    let size = (width + 2 * FILE_QUIET_ZONE) * PNG_SCALE;
    let pixels: Zeroizing<Vec<u8>> = Zeroizing::new(
        (0..size)
            .flat_map(|y| (0..size).map(move |x| (x, y)))
            .map(|(x, y)| {
                let module = |v: u32| {
                    (v / PNG_SCALE)
                        .checked_sub(FILE_QUIET_ZONE)
                        .filter(|v| *v < width)
                };
                let is_dark = match (module(x), module(y)) {
                    (Some(x), Some(y)) => {
                        dark.get(usize::try_from(y * width + x).unwrap_or(usize::MAX))
                            == Some(&Color::Dark)
                    }
                    _ => false,
                };
                if is_dark { 0 } else { 255 }
            })
            .collect(),
    );
    let error = |e: png::EncodingError| CliError::new(format!("cannot encode the PNG image: {e}"));
    let mut image = Zeroizing::new(Vec::new());
    let mut encoder = png::Encoder::new(&mut *image, size, size);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(error)?;
    writer.write_image_data(&pixels).map_err(error)?;
    writer.finish().map_err(error)?;
    Ok(image)
}

/// The QR code of `text` as an SVG image.
pub(crate) fn svg(text: &str) -> Result<Zeroizing<String>, CliError> {
    let code = encode(text, EcLevel::M)?;
    Ok(Zeroizing::new(
        code.render::<svg::Color<'_>>()
            .quiet_zone(true)
            .min_dimensions(256, 256)
            .build(),
    ))
}

fn encode(text: &str, level: EcLevel) -> Result<QrCode, CliError> {
    QrCode::with_error_correction_level(text, level).map_err(|_| too_long())
}

fn too_long() -> CliError {
    CliError::new("the key URI is too long for a QR code: use a shorter issuer or account")
}

/// Whether `path` may be written by [`write_private`], checked before
/// anything is written so that a refusal leaves no file behind: it must
/// not exist, or with `force` be a regular file. A symbolic link is never
/// replaced (nor followed), and a device or other special file is never
/// touched.
pub(crate) fn check_writable(path: &Path, force: bool) -> Result<(), CliError> {
    let name = path.display();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::new(format!("cannot create '{name}': {e}"))),
        Ok(_) if !force => Err(CliError::new(format!(
            "'{name}' already exists: give --force to replace it"
        ))),
        Ok(meta) if meta.file_type().is_symlink() => Err(CliError::new(format!(
            "'{name}' is a symbolic link: it is neither followed nor replaced, even with --force"
        ))),
        Ok(meta) if !meta.is_file() => Err(CliError::new(format!(
            "'{name}' is not a regular file: it is not replaced, even with --force"
        ))),
        Ok(_) => Ok(()),
    }
}

/// Writes `bytes` to a new file only its owner can read: it holds the
/// secret. With `force`, a regular file there is removed first (its other
/// hard links keep their contents). The file is created exclusively
/// (`O_CREAT | O_EXCL`), which never follows a symbolic link, so a link or
/// file that appears after [`check_writable`] makes this fail instead of
/// writing through it.
pub(crate) fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<(), CliError> {
    check_writable(path, force)?;
    let name = path.display();
    let error = |e: io::Error| CliError::new(format!("cannot write '{name}': {e}"));
    if force {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(error(e)),
            _ => {}
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    // Created with the mode, never widened first and narrowed after.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => CliError::new(format!(
            "'{name}' appeared while it was being created: not replaced"
        )),
        _ => CliError::new(format!("cannot create '{name}': {e}")),
    })?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(error)
}

#[cfg(test)]
#[path = "../tests/support/qr_read.rs"]
mod qr_read;

#[cfg(test)]
mod tests {
    use super::qr_read::{decode, unpack_half_blocks};
    use super::*;

    const URI: &str = "otpauth://totp/ACME%20Co:alice@example.com\
                       ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co";

    #[test]
    fn every_terminal_style_decodes_to_the_text() {
        let light = terminal(URI, Style::LightDrawn).unwrap();
        let dark = terminal(URI, Style::DarkDrawn).unwrap();
        let (light_modules, dark_modules) = (
            unpack_half_blocks(light.lines(), false),
            unpack_half_blocks(dark.lines(), true),
        );
        assert_eq!(decode(&light_modules), URI);
        assert_eq!(decode(&dark_modules), URI);
        assert_eq!(light_modules, dark_modules);
        let colored = terminal(URI, Style::Colored).unwrap();
        let stripped = colored.replace("\x1b[30;107m", "").replace("\x1b[0m", "");
        assert_eq!(stripped, dark);
        assert!(!light.contains('\x1b') && !dark.contains('\x1b'));
    }

    #[test]
    fn the_terminal_drawing_fits_a_small_terminal() {
        let drawing = terminal(URI, Style::LightDrawn).unwrap();
        assert!(drawing.lines().count() <= 23, "{drawing}");
        assert!(drawing.lines().all(|line| line.chars().count() <= 80));
    }
}
