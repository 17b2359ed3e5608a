//! Writes the seed corpus of `state_bytes`: real encodings of every state
//! type, fresh and used, which a fuzzer could not forge past their CRC-32.
//!
//! ```sh
//! cd fuzz && cargo run --example state_seeds
//! ```

use std::{fs, path::Path};

use passcode::{
    BackupFormat, BackupVerifier, Hotp, HotpConfig, HotpPolicy, HotpState, RateLimit,
    RateLimitState, Secret, SmsPolicy, SmsVerifier, Totp, TotpConfig, TotpPolicy, TotpState,
};
use passcode_fuzz::input::ReplayRng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/state_bytes");
    fs::create_dir_all(&dir)?;
    let write = |name: &str, bytes: &[u8]| fs::write(dir.join(format!("seed-{name}")), bytes);

    // TOTP: new; and after a success one step behind (a pending drift)
    // followed by a failure.
    write("totp-new", &TotpState::new().to_bytes())?;
    let totp = Totp::from_key(&[5; 20], TotpConfig::new())?;
    let mut state = TotpState::new();
    let behind = totp.generate(1_000_000_000 - 30)?.to_string();
    totp.check(&TotpPolicy::new(), &mut state, &behind, 1_000_000_000)?;
    let _ = totp.check(&TotpPolicy::new(), &mut state, "000000", 1_000_000_000);
    write("totp-used", &state.to_bytes())?;

    // HOTP: at the top of the range, and after a success and a failure.
    write("hotp-max", &HotpState::new(u64::MAX).to_bytes())?;
    let hotp = Hotp::from_key(&[5; 20], HotpConfig::new())?;
    let mut state = HotpState::new(0);
    hotp.check(&HotpPolicy::new(), &mut state, hotp.generate(3).as_str(), 0)?;
    let _ = hotp.check(&HotpPolicy::new(), &mut state, "000000", 0);
    write("hotp-used", &state.to_bytes())?;

    // Rate limits: new, and used under a limit whose spacing is fractional.
    write("rate-new", &RateLimitState::new().to_bytes())?;
    let mut state = RateLimitState::new();
    for _ in 0..30 {
        let _ = RateLimit::new(1_500, 60, 25)?.check(&mut state, 1_000);
    }
    write("rate-used", &state.to_bytes())?;

    // SMS: pending, approved, canceled.
    let verifier = SmsVerifier::new(&Secret::from_bytes(&[7; 32])?, SmsPolicy::new())?;
    let (mut state, code) = verifier.start(&mut ReplayRng::new(&[1; 16]), "+14155552671", 1_000);
    write("sms-pending", &state.to_bytes())?;
    let mut canceled = state;
    canceled.cancel();
    write("sms-canceled", &canceled.to_bytes())?;
    let _ = verifier.check(&mut state, "+14155552671", code.as_str(), 1_010)?;
    write("sms-approved", &state.to_bytes())?;

    // Backup codes: one digit code; a full set of character codes, one used.
    let verifier = BackupVerifier::new(&Secret::from_bytes(&[3; 32])?)?;
    let (set, _) = verifier.generate(&mut ReplayRng::new(&[9; 64]), BackupFormat::Digits8, 1)?;
    write("backup-one", &set.to_bytes())?;
    let bytes: Vec<u8> = (0..=255).collect();
    let (mut set, codes) =
        verifier.generate(&mut ReplayRng::new(&bytes), BackupFormat::Chars10, 16)?;
    let _ = verifier.check(&mut set, codes[5].as_str());
    write("backup-full", &set.to_bytes())?;
    Ok(())
}
