//! `smartcache dataset watch` end to end: with a watcher serving the tree, `status`
//! must report exactly what a walk of the disk reports, after every kind of change a
//! tree can go through (and a long random sequence of them); the watcher refuses what
//! it cannot serve, and `status` falls back to the walk without it.
#![cfg(target_os = "linux")]

mod dataset_common;
use dataset_common::*;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const C: &str = "cache";

/// A running `dataset watch`, stopped when dropped.
struct Watcher {
    child: Child,
}

impl Watcher {
    fn start(fx: &Fx, extra: &[&str]) -> Watcher {
        Self::start_for(fx, C, extra)
    }

    fn start_for(fx: &Fx, cache: &str, extra: &[&str]) -> Watcher {
        let child = Command::new(assert_cmd::cargo::cargo_bin("smartcache"))
            .current_dir(&fx.root)
            .args(["dataset", "watch", "src", "--cache", cache])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let w = Watcher { child };
        let start = Instant::now();
        while !status_in(fx, cache, false).1 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the watcher did not start serving"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        w
    }

    /// Stop it and return what it printed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            e.read_to_string(&mut err).unwrap();
        }
        err
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `status --json` (walking the disk when `walk`): the report without its `watched`
/// flag, and the flag.
fn status_json(fx: &Fx, walk: bool) -> (serde_json::Value, bool) {
    status_in(fx, C, walk)
}

/// [`status_json`] of the cache `cache`.
fn status_in(fx: &Fx, cache: &str, walk: bool) -> (serde_json::Value, bool) {
    let mut c = fx.cmd();
    if walk {
        c.env("SMARTCACHE_NO_WATCH", "1");
    } else {
        c.env_remove("SMARTCACHE_NO_WATCH");
    }
    let out = c
        .args(["dataset", "status", "src", "--cache", cache, "--json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let watched = v
        .as_object_mut()
        .unwrap()
        .remove("watched")
        .is_some_and(|w| w == serde_json::Value::Bool(true));
    (v, watched)
}

/// The watched status equals the walked one (and was served by the watcher).
#[track_caller]
fn assert_same(fx: &Fx, what: &str) {
    let (watched, served) = status_json(fx, false);
    let (walked, _) = status_json(fx, true);
    assert!(served, "after {what}: status did not use the watcher");
    assert_eq!(
        watched, walked,
        "after {what}: watched and walked status differ"
    );
}

/// A built cache of a small tree whose entries are all trusted on their fingerprints
/// (the files were written outside the racy window of the build): a status reads no
/// file, so a stale fingerprint from the watcher would show.
/// `prepare` adds to the tree before the build.
fn built_with(prepare: impl FnOnce(&Fx)) -> Fx {
    let fx = Fx::new();
    for d in ["a", "a/b", "c"] {
        for i in 0..5 {
            fx.write(&format!("{d}/f{i}.txt"), &format!("{d} {i}\n"));
        }
    }
    fx.write("top.txt", "top\n");
    prepare(&fx);
    wait_out_racy_window();
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    let (report, _) = status_json(&fx, true);
    assert_eq!(report["counts"]["hashed"], 0, "{report}");
    fx
}

fn built() -> Fx {
    built_with(|_| {})
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn a_watched_status_reports_what_a_walk_reports_after_every_kind_of_change() {
    // Indexed files whose content can change through a path outside the tree: a hard
    // link and a symlink to files outside. Their directories are listed at every
    // request (a write through the other name is not heard of in `src`).
    let fx = built_with(|fx| {
        let outside = fx.root.join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("shared.txt"), "shared\n").unwrap();
        fs::hard_link(outside.join("shared.txt"), fx.src().join("c/shared.txt")).unwrap();
        fs::write(outside.join("pointed.txt"), "pointed\n").unwrap();
        symlink(outside.join("pointed.txt"), fx.src().join("a/b/link.txt")).unwrap();
    });
    let outside = fx.root.join("outside");
    let w = Watcher::start(&fx, &["--verify-every", "0"]);
    assert_same(&fx, "nothing");
    let src = fx.src();
    fs::write(outside.join("shared.txt"), "SHARED\n").unwrap();
    assert_same(&fx, "a hard-linked file rewritten through its outside name");
    fs::write(outside.join("pointed.txt"), "POINTED\n").unwrap();
    assert_same(&fx, "a symlink's target rewritten outside the tree");
    let (report, _) = status_json(&fx, false);
    assert_eq!(report["counts"]["changed"], 2, "{report}");

    // Same size, mtime put back: only the change time and the content moved.
    let p = src.join("a/f0.txt");
    let mtime = fs::metadata(&p).unwrap().modified().unwrap();
    fs::write(&p, "A 0\n").unwrap();
    set_mtime(&p, mtime);
    assert_same(&fx, "a same-size rewrite with its mtime restored");
    fs::write(src.join("a/f1.txt"), "a 1 and more\n").unwrap();
    assert_same(&fx, "a longer rewrite");
    fs::File::options()
        .write(true)
        .open(src.join("a/b/f2.txt"))
        .unwrap()
        .set_len(1)
        .unwrap();
    assert_same(&fx, "a truncation");
    fx.touch("a/b/f3.txt", 500);
    assert_same(&fx, "a touch");
    fs::set_permissions(src.join("c/f0.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    assert_same(&fx, "a chmod");
    fs::remove_file(src.join("c/f1.txt")).unwrap();
    assert_same(&fx, "a removal");
    fs::rename(src.join("c/f2.txt"), src.join("c/f2-renamed.txt")).unwrap();
    assert_same(&fx, "a rename within a directory");
    fs::rename(src.join("c/f3.txt"), src.join("a/b/f3-moved.txt")).unwrap();
    assert_same(&fx, "a move to another directory");
    fx.write("new/deeper/still/n.txt", "new\n");
    assert_same(&fx, "a new nested tree");
    fs::rename(src.join("a"), src.join("a2")).unwrap();
    fx.write("a/other.txt", "another a\n");
    assert_same(&fx, "a directory moved and another made under its name");
    fs::remove_dir_all(src.join("new")).unwrap();
    assert_same(&fx, "a tree removed");
    fs::rename(src.join("a2/b"), src.join("b-up")).unwrap();
    fs::write(src.join("b-up/f4.txt"), "written after the move\n").unwrap();
    assert_same(&fx, "a subdirectory moved up and written in");
    fs::remove_dir_all(src.join("c")).unwrap();
    symlink(&outside, src.join("c")).unwrap();
    assert_same(&fx, "a directory replaced by a symlink to one");
    fs::write(outside.join("target.txt"), "target\n").unwrap();
    symlink(outside.join("target.txt"), src.join("link.txt")).unwrap();
    assert_same(&fx, "a symlink to a file outside");
    fs::write(outside.join("target.txt"), "target, rewritten\n").unwrap();
    assert_same(&fx, "the symlink's target rewritten outside the tree");
    symlink(fx.root.join("nowhere"), src.join("broken.txt")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(src.join("pipe"))
        .status()
        .unwrap()
        .success());
    assert_same(&fx, "a broken symlink and a FIFO");
    fx.write("café.txt", "x");
    fs::write(
        src.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"bad\xff.txt")),
        "x",
    )
    .unwrap();
    assert_same(&fx, "names in and out of UTF-8");
    drop(w);

    // Without the watcher, status walks (and says so by not claiming otherwise).
    let (_, served) = status_json(&fx, false);
    assert!(!served);
}

#[test]
fn a_hard_link_written_from_outside_is_caught_by_the_periodic_check() {
    let fx = built();
    let w = Watcher::start(&fx, &["--verify-every", "1"]);
    // The one change inotify on `src` cannot hear of: a link made from outside after
    // the file was listed, written through.
    let outside = fx.root.join("elsewhere.txt");
    fs::hard_link(fx.src().join("c/f4.txt"), &outside).unwrap();
    fs::write(&outside, "rewritten elsewhere\n").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_same(&fx, "the periodic check");
    let (report, _) = status_json(&fx, false);
    assert_eq!(report["counts"]["changed"], 1);
    let err = w.stop();
    assert!(
        err.contains("1 directories changed without a notification") && err.contains("/src/c"),
        "{err}"
    );
}

#[test]
fn random_edits_keep_the_watched_status_equal_to_the_walked_one() {
    let fx = built();
    let _w = Watcher::start(&fx, &["--verify-every", "0"]);
    let src = fx.src();
    // A fixed-seed generator: the sequence is the same on every run.
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let dirs = ["", "a", "a/b", "c", "d/e"];
    for step in 0..120 {
        let dir = src.join(dirs[next(dirs.len())]);
        fs::create_dir_all(&dir).unwrap();
        let name = format!("r{}.txt", next(6));
        let p = dir.join(&name);
        match next(7) {
            0 | 1 => fs::write(&p, format!("step {step} {}\n", next(3))).unwrap(),
            2 => {
                let _ = fs::remove_file(&p);
            }
            3 => {
                let to = src
                    .join(dirs[next(dirs.len())])
                    .join(format!("m{}.txt", next(4)));
                fs::create_dir_all(to.parent().unwrap()).unwrap();
                let _ = fs::rename(&p, to);
            }
            4 => {
                if p.exists() {
                    set_mtime(
                        &p,
                        SystemTime::now() - Duration::from_secs(next(1000) as u64),
                    );
                }
            }
            5 => {
                let d = src.join(["x", "y"][next(2)]);
                if d.exists() {
                    fs::remove_dir_all(&d).unwrap();
                } else {
                    fs::create_dir_all(d.join("z")).unwrap();
                    fs::write(d.join("z/in.txt"), format!("{step}")).unwrap();
                }
            }
            _ => {
                let (a, b) = (src.join("d"), src.join("d-moved"));
                if a.exists() && !b.exists() {
                    fs::rename(&a, &b).unwrap();
                } else if b.exists() && !a.exists() {
                    fs::rename(&b, &a).unwrap();
                }
            }
        }
        if step % 3 == 2 {
            assert_same(&fx, &format!("random step {step}"));
        }
    }
    // A build reads the tree from the watcher too, and leaves it clean.
    let (code, _, err) = fx.build("up", UPPER, &[]);
    assert_eq!(code, 0, "{err}");
    assert_same(&fx, "a build");
    let (report, _) = status_json(&fx, false);
    for k in ["new", "changed", "touched", "removed", "missing_artifacts"] {
        assert_eq!(report["counts"][k], 0, "{k}: {report}");
    }
}

#[test]
fn a_cache_inside_the_watched_tree_is_left_out() {
    let fx = Fx::new();
    fx.write("a/x.txt", "x\n");
    fx.write("y.txt", "y\n");
    let inner = "src/.cache";
    let build = |fx: &Fx| {
        fx.cmd()
            .args([
                "dataset",
                "build",
                "src",
                "--cache",
                inner,
                "--variant",
                "up",
            ])
            .args(["--exec", UPPER])
            .output()
            .unwrap()
    };
    assert!(build(&fx).status.success());
    let _w = Watcher::start_for(&fx, inner, &["--verify-every", "0"]);
    fx.write("a/x.txt", "x, changed\n");
    // The build writes below the watched root, in the cache: none of it is a source.
    assert!(build(&fx).status.success());
    let (watched, served) = status_in(&fx, inner, false);
    let (walked, _) = status_in(&fx, inner, true);
    assert!(served);
    assert_eq!(watched, walked);
    assert_eq!(watched["counts"]["unchanged"], 2, "{watched}");
    assert_eq!(watched["counts"]["new"], 0, "{watched}");
}

#[test]
fn the_watcher_refuses_what_it_cannot_serve() {
    let fx = built();
    let w = Watcher::start(&fx, &[]);
    // One watcher per cache.
    let (code, _, err) = fx.run(&["watch", "src", "--cache", C]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: <T>/cache: cannot watch: a watcher already serves this cache\n"
    );
    // A root it does not watch is walked (and reported the same).
    fx.write("../other/o.txt", "o\n");
    let out = fx
        .cmd()
        .args(["dataset", "status", "other", "--cache", C, "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"watched\""));
    drop(w);
    // Directories only.
    let other = Fx::new();
    other.write("f.txt", "f\n");
    let (code, _, err) = other.run(&["watch", "src/f.txt", "--cache", C]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: <T>/src/f.txt: cannot watch: not a directory (the watcher watches directory trees)\n"
    );
}
