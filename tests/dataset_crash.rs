//! Crash safety: builds killed with SIGKILL at pseudo-random moments, many times over.
//! After every kill the index loads, and every artifact it lists exists and matches its
//! recorded size and checksum. A final uninterrupted build completes the cache.

mod dataset_common;
use dataset_common::*;
use smartcache::dataset::{hash_file_counted, index, DatasetCache, StatusOptions};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn sigkilled_builds_always_leave_a_loadable_consistent_index() {
    let fx = Fx::new();
    let n = 120;
    let mut rng = Lcg(0x5eed);
    for i in 0..n {
        fx.write(
            &format!("s{}/f{i:03}", i % 5),
            &format!("{i} {}\n", rng.next()),
        );
    }
    let bin = assert_cmd::cargo::cargo_bin("smartcache");
    let mut listed_total = 0;
    for round in 0..20 {
        // Some sources change between rounds, so every round has work to interrupt.
        for _ in 0..15 {
            let i = rng.next() % n;
            fx.write(
                &format!("s{}/f{i:03}", i % 5),
                &format!("{i} round {round} {}\n", rng.next()),
            );
        }
        let mut child = Command::new(&bin)
            .args(["dataset", "build"])
            .arg(fx.src())
            .arg("--cache")
            .arg(fx.cache())
            .args([
                "--variant",
                "up",
                "--exec",
                "sleep 0.005; tr a-z A-Z < {in} > {out}",
            ])
            .args(["-j", "2", "--checkpoint", "0.01"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + rng.next() % 400));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let loaded = index::load(&fx.cache())
            .unwrap_or_else(|e| panic!("round {round}: the index does not load: {e}"));
        let cache = DatasetCache::open(&fx.cache()).unwrap();
        for (src, e) in &loaded.index.entries {
            for (variant, rel) in &e.variants {
                let rec = loaded.index.artifacts.get(rel).unwrap_or_else(|| {
                    panic!("round {round}: {src} [{variant}] lists {rel} without a record")
                });
                let path = cache.artifact_path(rel).unwrap();
                let (checksum, size) = hash_file_counted(&path)
                    .unwrap_or_else(|err| panic!("round {round}: {src}: {rel}: {err}"));
                assert_eq!(
                    (size, &checksum),
                    (rec.size, &rec.checksum),
                    "round {round}: {rel}"
                );
                listed_total += 1;
            }
        }
    }
    assert!(
        listed_total > 0,
        "the kills never let any artifact be recorded"
    );

    let out = Command::new(&bin)
        .args(["dataset", "build"])
        .arg(fx.src())
        .arg("--cache")
        .arg(fx.cache())
        .args([
            "--variant",
            "up",
            "--exec",
            "sleep 0.005; tr a-z A-Z < {in} > {out}",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    assert_eq!(
        (r.counts.unchanged, r.counts.missing_artifacts),
        (n as usize, 0)
    );
    let v = cache.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    // Temporary outputs of killed transforms are orphans for gc; nothing listed goes.
    cache.gc(false).unwrap();
    assert!(cache.verify().unwrap().problems.is_empty());
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    assert_eq!(
        (r.counts.unchanged, r.counts.missing_artifacts),
        (n as usize, 0)
    );
}
