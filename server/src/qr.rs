//! The PNG of a key URI's QR code, for the link `users/{id}/secret` gives.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of quiet zone, as the standard asks.
const QUIET_ZONE: usize = 4;
/// Pixels a module.
const SCALE: usize = 6;

/// The QR code of `text` as a grayscale PNG, black on white.
///
/// # Errors
/// When the text does not fit a QR code or the encoder fails.
pub fn png(text: &str) -> Result<Vec<u8>, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| e.to_string())?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET_ZONE) * SCALE;
    let module = |v: usize| (v / SCALE).checked_sub(QUIET_ZONE).filter(|m| *m < width);
    let mut pixels = vec![255u8; side * side];
    for (i, pixel) in pixels.iter_mut().enumerate() {
        if let (Some(x), Some(y)) = (module(i % side), module(i / side))
            && colors.get(y * width + x) == Some(&Color::Dark)
        {
            *pixel = 0;
        }
    }
    let side = u32::try_from(side).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}
