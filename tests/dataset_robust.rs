//! The dataset cache where its users keep it: on a read-only mount, with artifacts
//! damaged in place, with names that are not UTF-8, broken symbolic links and special
//! files among the sources, and with entries recorded in their files' clock tick.

mod dataset_common;
use dataset_common::*;
use std::fs;
use std::path::{Path, PathBuf};

const C: &str = "cache";

/// `path`, mounted read-only for as long as the value lives.
struct ReadOnly {
    at: PathBuf,
    mounted: bool,
}

impl ReadOnly {
    /// A read-only view of `dir` at `at`: a read-only bind mount as root (root ignores
    /// file permissions), else the same tree with write permission removed.
    fn of(dir: &Path, at: &Path) -> ReadOnly {
        fs::create_dir_all(at).unwrap();
        let root = is_root();
        if root {
            let ok = |args: &[&str]| {
                std::process::Command::new("mount")
                    .args(args)
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let (d, a) = (dir.to_str().unwrap(), at.to_str().unwrap());
            assert!(ok(&["--bind", d, a]), "mount --bind {d} {a}");
            assert!(ok(&["-o", "remount,bind,ro", a]), "remount read-only");
            return ReadOnly {
                at: at.to_path_buf(),
                mounted: true,
            };
        }
        fs::remove_dir(at).unwrap();
        copy_tree(dir, at);
        chmod_tree(at, false);
        ReadOnly {
            at: at.to_path_buf(),
            mounted: false,
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount").arg(&self.at).status();
        } else {
            chmod_tree(&self.at, true);
        }
    }
}

/// Whether this process runs as root (effective uid 0), asked of `id -u`.
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn copy_tree(from: &Path, to: &Path) {
    assert!(std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success());
}

fn chmod_tree(dir: &Path, writable: bool) {
    let mode = if writable { "u+w" } else { "a-w" };
    assert!(std::process::Command::new("chmod")
        .args(["-R", mode])
        .arg(dir)
        .status()
        .unwrap()
        .success());
}

#[cfg(unix)]
#[test]
fn a_read_only_cache_serves_status_get_verify_and_export() {
    let fx = Fx::new();
    fx.write("a.txt", "alpha\n");
    fx.write("b.txt", "bravo\n");
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    wait_out_racy_window();
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    let ro = ReadOnly::of(&fx.cache(), &fx.root.join("ro"));
    // It really is read-only.
    assert!(fs::write(ro.at.join("probe"), "x").is_err());
    let before = tree_state(&ro.at);
    let ro_arg = ro.at.to_str().unwrap();

    let (code, out, err) = fx.run(&["status", "src", "--cache", ro_arg]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, "0 new, 0 changed, 0 touched, 0 removed, 2 unchanged, 0 deduplicated, 0 missing artifacts, 0 reusable, 0 failed (0 files read)\n");
    let (code, out, err) = fx.run(&[
        "get",
        "src/a.txt",
        "--cache",
        ro_arg,
        "--variant",
        "up",
        "--verify",
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("<T>/ro/objects/"), "{out}");
    assert_eq!(
        read(Path::new(
            &out.trim().replace("<T>", fx.root.to_str().unwrap())
        )),
        "ALPHA\n"
    );
    let (code, out, _) = fx.run(&["verify", "--cache", ro_arg]);
    assert_eq!(
        (code, out.as_str()),
        (0, "2 entries, 2 artifacts checked, 0 problems\n")
    );
    let (code, out, _) = fx.run(&[
        "export",
        "--cache",
        ro_arg,
        "--variant",
        "up",
        "--format",
        "tsv",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2);
    assert!(out.starts_with("<T>/src/a.txt\tobjects/"), "{out}");
    // A source changed since: reported, and status still writes nothing.
    fx.write("b.txt", "BRAVO, changed\n");
    let (code, out, _) = fx.run(&["status", "src", "--cache", ro_arg]);
    assert_eq!(code, 1);
    assert!(out.starts_with("changed    <T>/src/b.txt\n"), "{out}");
    // Asking it to write (a touched file to re-stamp) is a clear error, exit 2.
    fx.touch("a.txt", 50);
    let (code, _, err) = fx.run(&["status", "src", "--cache", ro_arg, "--update"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Read-only file system") || err.contains("Permission denied"),
        "{err}"
    );
    assert_eq!(tree_state(&ro.at), before, "nothing written");
}

#[test]
fn an_artifact_damaged_in_place_is_refused_reported_and_rebuilt() {
    let fx = Fx::new();
    fx.write("a.txt", "alpha\n");
    fx.write("b.txt", "bravo\n");
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    let get = |extra: &[&str]| {
        let mut args = vec!["get", "src/a.txt", "--cache", C, "--variant", "up"];
        args.extend_from_slice(extra);
        fx.run(&args)
    };
    let (_, out, _) = get(&[]);
    let art = PathBuf::from(out.trim().replace("<T>", fx.root.to_str().unwrap()));
    // Same size, other bytes, written in place.
    fs::OpenOptions::new()
        .write(true)
        .open(&art)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"ALPHX\n"))
        .unwrap();
    for extra in [&[][..], &["--verify"][..]] {
        let (code, out, err) = get(extra);
        assert_eq!((code, out.as_str()), (1, ""), "{extra:?}");
        assert!(
            err.contains("the artifact does not match what was recorded (checksum "),
            "{err}"
        );
        assert!(
            err.ends_with("run `smartcache dataset verify --repair` or a build\n"),
            "{err}"
        );
    }
    let (code, out, _) = fx.run(&["verify", "--cache", C]);
    assert_eq!(code, 1);
    assert!(
        out.ends_with("2 entries, 2 artifacts checked, 1 problems\n"),
        "{out}"
    );
    // A build finds it (its fingerprint moved), reads it, and makes it again.
    let (code, out, _) = fx.build("up", UPPER, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "0 new, 0 changed, 0 touched, 2 unchanged, 0 removed; 1 transformed, 0 deduplicated, 0 failed\n\
         1 artifacts did not match their checksum and were built again\n"
    );
    assert_eq!(read(&art), "ALPHA\n");
    assert_eq!(get(&["--verify"]).0, 0);

    // verify --repair takes the damaged artifact away; status then says it is missing,
    // and the next build makes it.
    fs::write(&art, "ALPHY\n").unwrap();
    let (code, out, _) = fx.run(&["verify", "--cache", C, "--repair"]);
    assert_eq!(code, 1);
    assert!(out.ends_with("repair: removed 1 artifacts that did not match their checksum; a build makes them again\n"), "{out}");
    assert!(!art.exists());
    let (code, out, _) = fx.run(&["status", "src", "--cache", C, "--variant", "up"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("missing    <T>/src/a.txt [up]\n"), "{out}");
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    assert_eq!(read(&art), "ALPHA\n");
    assert_eq!(fx.run(&["verify", "--cache", C]).0, 0);
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_one_failed_item() {
    use std::os::unix::ffi::OsStrExt;
    let fx = Fx::new();
    fx.write("a.txt", "alpha\n");
    fs::write(
        fx.src().join(std::ffi::OsStr::from_bytes(b"bad\xff.txt")),
        "x",
    )
    .unwrap();
    fs::create_dir(fx.src().join(std::ffi::OsStr::from_bytes(b"dir\xfe"))).unwrap();
    let (code, out, _) = fx.run(&["status", "src", "--cache", C]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "new        <T>/src/a.txt\n\
         unreadable <T>/src/bad\\xff.txt: the name is not valid UTF-8 (shown escaped); the index stores paths as text\n\
         unreadable <T>/src/dir\\xfe: a directory whose name is not valid UTF-8 (shown escaped): its files are left out; the index stores paths as text\n\
         1 new, 0 changed, 0 touched, 0 removed, 0 unchanged, 0 deduplicated, 0 missing artifacts, 0 reusable, 0 failed (1 files read)\n"
    );
    let (code, out, _) = fx.build("up", UPPER, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "1 new, 0 changed, 0 touched, 0 unchanged, 0 removed; 1 transformed, 0 deduplicated, 2 failed\n\
         failed: <T>/src/bad\\xff.txt: the name is not valid UTF-8 (shown escaped); the index stores paths as text\n\
         failed: <T>/src/dir\\xfe: a directory whose name is not valid UTF-8 (shown escaped): its files are left out; the index stores paths as text\n"
    );
    assert_eq!(
        fx.run(&["get", "src/a.txt", "--cache", C, "--variant", "up"])
            .0,
        0
    );
}

#[cfg(unix)]
#[test]
fn broken_links_and_special_files_are_unreadable_and_keep_their_entries() {
    let fx = Fx::new();
    fx.write("a.txt", "alpha\n");
    let drive = fx.root.join("drive");
    fs::create_dir(&drive).unwrap();
    fs::write(drive.join("img.raw"), "raw pixels\n").unwrap();
    std::os::unix::fs::symlink(drive.join("img.raw"), fx.src().join("img.raw")).unwrap();
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    let (_, art, _) = fx.run(&["get", "src/img.raw", "--cache", C, "--variant", "up"]);
    // The drive behind the link goes away; a FIFO appears.
    fs::rename(&drive, fx.root.join("unmounted")).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(fx.src().join("pipe"))
        .status()
        .unwrap()
        .success());
    let (code, out, _) = fx.run(&["status", "src", "--cache", C]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "unreadable <T>/src/img.raw: a broken symbolic link (its target does not exist)\n\
         unreadable <T>/src/pipe: a FIFO, not a regular file\n\
         0 new, 0 changed, 0 touched, 0 removed, 1 unchanged, 0 deduplicated, 0 missing artifacts, 0 reusable, 0 failed (1 files read)\n"
    );
    let (code, out, _) = fx.build("up", UPPER, &[]);
    assert_eq!(code, 1);
    assert!(out.starts_with("0 new, 0 changed, 0 touched, 1 unchanged, 0 removed; 0 transformed, 0 deduplicated, 2 failed\n"), "{out}");
    // The entry and its artifact are kept: gc has nothing to collect, the artifact
    // still serves the link (sourceless), and when the drive is back nothing is rebuilt.
    assert_eq!(
        fx.run(&["gc", "--cache", C, "--dry-run"]).1,
        "would delete 0 files, 0 bytes\n"
    );
    assert_eq!(
        fx.run(&["get", "src/img.raw", "--cache", C, "--variant", "up"])
            .1,
        art
    );
    fs::rename(fx.root.join("unmounted"), &drive).unwrap();
    fs::remove_file(fx.src().join("pipe")).unwrap();
    let (code, out, _) = fx.build("up", UPPER, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("; 0 transformed,"), "{out}");
}

#[test]
fn racy_entries_are_restamped_by_status_update_and_by_get() {
    let fx = Fx::new();
    for i in 0..6 {
        fx.write(&format!("f{i}"), &format!("file {i}\n"));
    }
    // Built in the files' clock tick: every entry is racy and is read by each status.
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    wait_out_racy_window();
    let summary = |extra: &[&str]| {
        let mut args = vec!["status", "src", "--cache", C];
        args.extend_from_slice(extra);
        fx.run(&args).1
    };
    for _ in 0..2 {
        assert!(summary(&[]).ends_with("(6 files read)\n"));
    }
    // The first get of a file re-stamps its entry.
    assert_eq!(
        fx.run(&["get", "src/f0", "--cache", C, "--variant", "up"])
            .0,
        0
    );
    assert!(summary(&[]).ends_with("(5 files read)\n"));
    let out = summary(&["--update"]);
    assert!(
        out.ends_with("(5 files read)\n5 entries re-stamped\n"),
        "{out}"
    );
    assert!(summary(&[]).ends_with(
        "6 unchanged, 0 deduplicated, 0 missing artifacts, 0 reusable, 0 failed (0 files read)\n"
    ));
    // Most of the index re-stamped: folded into a new base, no segment left to merge.
    let index: Vec<String> = std::fs::read_dir(fx.cache().join("index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        index.iter().all(|n| !n.starts_with("seg-")),
        "segments left: {index:?}"
    );
}
