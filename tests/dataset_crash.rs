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
        let mut child = build_command(&fx, "sleep 0.005", "0.01")
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

    let start = std::time::Instant::now();
    let out = build_command(&fx, "sleep 0.005", "5").output().unwrap();
    assert!(
        start.elapsed() < claims_stale_after(),
        "the final build waited for claims of dead builds to go stale"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Claims left by the killed builds (their processes are gone) on contents still
    // needed were broken at once (the build did not wait for them to go stale); those
    // left beside a published artifact, or on contents changed since, are orphans for gc.
    let claims = || -> Vec<String> {
        walk_files(&fx.cache().join("objects"))
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| p.ends_with(".claim"))
            .collect()
    };
    let referenced: Vec<String> = index::load(&fx.cache())
        .unwrap()
        .index
        .entries
        .values()
        .flat_map(|e| e.variants.values().cloned().collect::<Vec<_>>())
        .collect();
    for c in claims() {
        let art = c.trim_end_matches(".claim");
        let needed = referenced.iter().any(|r| art.ends_with(r.as_str()));
        assert!(!needed || std::path::Path::new(art).exists(), "{c}");
    }
    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let sources = cache.sources(&[fx.src()], None).unwrap();
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    assert_eq!(
        (r.counts.unchanged, r.counts.missing_artifacts),
        (n as usize, 0)
    );
    let v = cache.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    // Temporary outputs of killed transforms and stale claims are orphans for gc;
    // nothing listed goes.
    cache.gc(false).unwrap();
    assert_eq!(claims(), Vec::<String>::new());
    assert!(cache.verify().unwrap().problems.is_empty());
    let r = cache.status(&sources, &StatusOptions::default()).unwrap();
    assert_eq!(
        (r.counts.unchanged, r.counts.missing_artifacts),
        (n as usize, 0)
    );
}

/// Ctrl-C as a terminal sends it: SIGINT to the build and its transforms (one process
/// group). Running transforms are let finish or die, nothing more starts, the index is
/// saved with everything finished (no checkpoint needed), no source is recorded as
/// failed, and the exit status is 130. The next build does only the rest.
#[cfg(unix)]
#[test]
fn ctrl_c_saves_everything_finished_and_records_no_failure() {
    use std::os::unix::process::CommandExt;
    let fx = Fx::new();
    let n = 40;
    for i in 0..n {
        fx.write(&format!("f{i:02}"), &format!("file {i}\n"));
    }
    // No periodic checkpoint: whatever is saved is saved on the way out. Each transform
    // notes its start in a log.
    let log = fx.root.join("started.log");
    let pause = format!("echo x >> {}; sleep 0.1", log.display());
    let child = build_command(&fx, &pause, "3600")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    // Interrupt once a few transforms have finished (whatever the machine's speed): with
    // two at a time, six started means at least four finished.
    let started = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let start = std::time::Instant::now();
    while started() < 6 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let pgid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains(", 0 failed\n"), "{stdout}");
    assert!(stdout.contains("interrupted: "), "{stdout}");

    let cache = DatasetCache::open(&fx.cache()).unwrap();
    let loaded = index::load(cache.dir()).unwrap();
    let done = loaded.index.entries.len();
    assert!(done > 0 && done < n, "{done} of {n} recorded:\n{stdout}");
    assert!(
        loaded.index.failures.is_empty(),
        "{:?}",
        loaded.index.failures
    );
    for (rel, a) in &loaded.index.artifacts {
        let (checksum, size) = hash_file_counted(&cache.artifact_path(rel).unwrap()).unwrap();
        assert_eq!(
            (checksum.as_str(), size),
            (a.checksum.as_str(), a.size),
            "{rel}"
        );
    }

    let same = format!("{pause}; tr a-z A-Z < {{in}} > {{out}}");
    let (code, out, _) = fx.build("up", &same, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("; {} transformed,", n - done)),
        "{done} done before: {out}"
    );
}

/// Every file below `dir` (none if it does not exist).
fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `smartcache dataset build` of the fixture's sources, variant `up`, two jobs, with a
/// transform that runs `pause` first and the given checkpoint interval (seconds).
fn build_command(fx: &Fx, pause: &str, checkpoint: &str) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("smartcache"));
    c.args(["dataset", "build"])
        .arg(fx.src())
        .arg("--cache")
        .arg(fx.cache())
        .args(["--variant", "up", "--exec"])
        .arg(format!("{pause}; tr a-z A-Z < {{in}} > {{out}}"))
        .args(["-j", "2", "--checkpoint", checkpoint]);
    c
}

/// How long a claim of a build on another machine is honoured without a heartbeat.
fn claims_stale_after() -> Duration {
    Duration::from_secs(60)
}
