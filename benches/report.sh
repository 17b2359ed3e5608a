#!/usr/bin/env bash
# Prints the latest `cargo bench --bench verify --bench policies` results as
# a markdown table of Criterion's medians, each path's ratio to the floors
# and peers measured in the same run, and whether the speed targets hold.
# Exits 1 when a target is missed. Criterion measures one ID after another;
# on a machine whose speed drifts, `cargo bench --bench paired` (interleaved)
# gives the ratios that hold.
#
#   cargo bench && bash benches/report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import json, os, platform, subprocess, sys

ROOT = "target/criterion"
IDS = ["passcode", "passcode_cold", "floor_hmac_clone", "floor_compress", "totp-rs", "totp-lite"]

def median(group, bench_id):
    path = os.path.join(ROOT, group, bench_id, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None

def fmt_time(ns):
    if ns is None:
        return "-"
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"

def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
print(f"Medians from one run of `cargo bench --bench verify` on {cpu}, {os.cpu_count()} cores, {rustc}.")
print()
print("| group | " + " | ".join(IDS) + " | passcode / floor_compress | passcode / floor_hmac_clone | passcode / totp-rs | passcode_cold / totp-rs |")
print("|---" * (len(IDS) + 5) + "|")
results = {}
for algorithm in ["sha1", "sha256", "sha512"]:
    for kind in ["generate", "verify_valid", "verify_wrong"]:
        group = f"{algorithm}_{kind}"
        row = {i: median(group, i) for i in IDS}
        results[group] = row
        if all(v is None for v in row.values()):
            continue
        cells = [fmt_time(row[i]) for i in IDS]
        cells += [ratio(row["passcode"], row["floor_compress"]), ratio(row["passcode"], row["floor_hmac_clone"]),
                  ratio(row["passcode"], row["totp-rs"]), ratio(row["passcode_cold"], row["totp-rs"])]
        print(f"| {group} | " + " | ".join(cells) + " |")

print()
others = [("sms_check", ["floor_hmac_sha256"]), ("totp_check", ["floor_verify_after"]),
          ("base32_decode", ["base32ct", "data-encoding"]), ("uri_parse", ["totp-rs"])]
rows = [(g, median(g, "passcode"), [(i, median(g, i)) for i in ids]) for g, ids in others]
if any(p for _, p, _ in rows):
    print("Policy paths (`cargo bench --bench policies`), medians and passcode's ratio to each:")
    print()
    print("| group | passcode | compared with |")
    print("|---|---|---|")
    for group, ours, theirs in rows:
        if ours is None:
            continue
        cells = ", ".join(f"{i} {fmt_time(t)} ({ratio(ours, t)})" for i, t in theirs if t)
        print(f"| {group} | {fmt_time(ours)} | {cells} |")
    print()

checks = []
def check(label, value, limit):
    if value is None:
        checks.append(f"- MISSING {label}: not measured")
        return False
    ok = value <= limit
    checks.append(f"- {'PASS' if ok else 'FAIL'} {label}: {value:.3f} (target <= {limit})")
    return ok

wrong = results.get("sha1_verify_wrong", {})
ok = True
if wrong.get("passcode") and wrong.get("floor_compress"):
    ok &= check("sha1_verify_wrong passcode / floor_compress", wrong["passcode"] / wrong["floor_compress"], 1.10)
else:
    ok &= check("sha1_verify_wrong passcode / floor_compress", None, 1.10)
if wrong.get("passcode_cold") and wrong.get("totp-rs"):
    ok &= check("sha1_verify_wrong passcode_cold / totp-rs", wrong["passcode_cold"] / wrong["totp-rs"], 0.65)
else:
    ok &= check("sha1_verify_wrong passcode_cold / totp-rs", None, 0.65)
for algorithm in ["sha1", "sha256", "sha512"]:
    valid = results.get(f"{algorithm}_verify_valid", {}).get("passcode")
    wrong_ = results.get(f"{algorithm}_verify_wrong", {}).get("passcode")
    spread = abs(valid / wrong_ - 1) if valid and wrong_ else None
    ok &= check(f"{algorithm} passcode |valid / wrong - 1|", spread, 0.05)
print("Targets:")
print("\n".join(checks))
sys.exit(0 if ok else 1)
PY
