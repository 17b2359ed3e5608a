//! The policy paths (SMS check, credential check, base32, key URIs) beside
//! their floors and peers, measured by
//! Criterion one ID after another (see `support/groups.rs` for the groups
//! and IDs). `benches/report.sh` prints the medians; on a shared machine,
//! `paired.rs` gives the ratios that hold.

// criterion_group! generates an undocumented public function; setup code
// unwraps, as tests do.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};

// Each bench uses part of the shared groups.
#[allow(dead_code)]
#[path = "support/groups.rs"]
mod groups;

fn benches(c: &mut Criterion) {
    for group in groups::policy_groups() {
        let mut criterion_group = c.benchmark_group(&group.name);
        for (id, mut f) in group.ids {
            criterion_group.bench_function(id, |b| b.iter(&mut f));
        }
        criterion_group.finish();
    }
}

criterion_group!(policies, benches);
criterion_main!(policies);
