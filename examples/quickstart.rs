//! Enrol a new TOTP secret, print the current code, and verify it.

use passcode::{Algorithm, Secret, Totp, TotpConfig, Window};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = Secret::generate(&mut rand::rng(), Algorithm::Sha1);
    let totp = Totp::new(&secret, TotpConfig::default())?;
    println!("secret (base32): {}", secret.to_base32());

    let code = totp.generate_now()?;
    println!("current code:    {code}");

    let matched = totp.verify_now(code.as_str(), Window::default())?;
    println!(
        "verified:        step {} (drift {})",
        matched.step, matched.drift
    );

    let wrong = if code.as_str() == "000000" {
        "000001"
    } else {
        "000000"
    };
    match totp.verify_now(wrong, Window::default()) {
        Ok(_) => println!("a wrong code verified: {wrong} collides with this window"),
        Err(e) => println!("wrong code {wrong}: {e}"),
    }
    Ok(())
}
