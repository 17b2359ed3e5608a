//! Runs one ID of the shared benchmark groups (`support/groups.rs`) a given
//! number of times inside `measured`, for `benches/instructions.sh` to count
//! its instructions under callgrind.
//!
//! Instruction counts do not drift with the neighbours on a shared machine
//! as times do, so a gate on their ratios fails only when the code changes.
//! They say nothing about how well independent work overlaps in an
//! out-of-order core (the timed `paired.rs` does that), and valgrind runs
//! the hash crates' software path whatever the host has: the script prints
//! which one this binary saw.
//!
//! `instructions GROUP ID N` (e.g. `sha1_verify_wrong floor_compress 100`).

#![allow(missing_docs, clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "support/groups.rs"]
mod groups;

/// The only code callgrind counts (`--toggle-collect`): `n` runs of `f`.
#[inline(never)]
fn measured(f: &mut dyn FnMut(), n: u32) {
    for _ in 0..n {
        f();
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [group, id, n] = args.as_slice() else {
        eprintln!("usage: instructions GROUP ID N");
        std::process::exit(2);
    };
    let n: u32 = n.parse().unwrap();
    let mut groups = groups::verify_groups();
    groups.extend(groups::wide_groups());
    groups.extend(groups::policy_groups());
    let Some(f) = groups
        .iter_mut()
        .filter(|g| g.name == *group)
        .flat_map(|g| g.ids.iter_mut())
        .find(|(name, _)| name == id)
        .map(|(_, f)| f)
    else {
        eprintln!("no ID {id} in group {group}");
        std::process::exit(2);
    };
    f(); // warm up: lazy initialization (cpufeatures) is not counted
    measured(f.as_mut(), n);
    println!("sha: {}", groups::sha_path());
}
