//! Helpers shared by the dataset integration tests (included with `mod`).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A source tree and a cache directory in one temporary directory.
pub struct Fx {
    pub tmp: tempfile::TempDir,
    /// Canonical root of the temporary directory (paths in reports start with it).
    pub root: PathBuf,
}

impl Fx {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("src")).unwrap();
        Fx { tmp, root }
    }
    pub fn src(&self) -> PathBuf {
        self.root.join("src")
    }
    pub fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }
    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.src().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        p
    }
    /// Move a file's mtime without touching its content.
    pub fn touch(&self, rel: &str, secs_ago: u64) {
        let f = fs::File::options()
            .write(true)
            .open(self.src().join(rel))
            .unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
            .unwrap();
    }
    /// Replace the temporary root in `s` by `<T>` so outputs are stable.
    pub fn redact(&self, s: &str) -> String {
        s.replace(self.root.to_str().unwrap(), "<T>")
    }
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("smartcache").unwrap();
        c.current_dir(&self.root)
            .env_remove("SMARTCACHE_TRUST_INDEX");
        c
    }
    /// Run `smartcache dataset ARGS…`; returns (exit code, redacted stdout, redacted stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().arg("dataset").args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            self.redact(&String::from_utf8_lossy(&out.stdout)),
            self.redact(&String::from_utf8_lossy(&out.stderr)),
        )
    }
    /// `smartcache dataset build src --cache cache --variant VARIANT --exec EXEC EXTRA…`.
    pub fn build(&self, variant: &str, exec: &str, extra: &[&str]) -> (i32, String, String) {
        let mut args = vec![
            "build",
            "src",
            "--cache",
            "cache",
            "--variant",
            variant,
            "--exec",
            exec,
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// Wait out the racy window so that entries recorded now are trusted on metadata.
pub fn wait_out_racy_window() {
    std::thread::sleep(Duration::from_nanos(
        smartcache::dataset::fingerprint::RACY_WINDOW_NS as u64 + 200_000_000,
    ));
}

pub fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap()
}

/// A transform that upper-cases its input, as an `--exec` template.
pub const UPPER: &str = "tr a-z A-Z < {in} > {out}";

/// Every file below `dir` with its bytes, sorted (to check that a command wrote nothing).
pub fn tree_state(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let bytes = fs::read(&p).unwrap_or_default();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}
