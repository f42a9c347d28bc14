//! Claims: a builder about to run the transform for a content says so with a file
//! beside the artifact (`<artifact>.claim`), so that N builders started at once on the
//! same sources (unsharded) run each distinct content about once.
//!
//! A claim is created with a hard link, which fails if the name exists, atomically on
//! NFS too. It holds the claimant's host and process id. The claimant rewrites it every
//! [`HEARTBEAT`] while it holds it and removes it once the artifact is published (or the
//! transform failed). A claim is stale, and may be broken, when its claimant is a
//! process of this host that no longer exists (a crash: recovered at once), or when it
//! has not been rewritten for [`STALE_AFTER`] by the filesystem's own clock (a claimant
//! on another machine that died). A builder that meets a live claim leaves that content
//! for later and, once it has nothing else to do, waits for the artifact to appear, the
//! claim to go (it then builds the content itself) or to become stale.
//!
//! Claiming costs two file creations per content, so a build claims only while another
//! build runs on the cache: each build registers itself in `builds/` (a file rewritten
//! with its claims' heartbeat, removed at its end) and looks there, every [`RECHECK`],
//! for another live one. Having seen one, it claims everything from then on, including
//! the contents it was already working on unclaimed. A build that finds another one
//! registered when it starts waits a few [`RECHECK`]s first, so that the other has
//! claimed its work in flight before it looks at claims.
//!
//! Claims are an optimisation, not a correctness device: artifacts are published with
//! create-if-absent, so two builders that both run a transform still publish one
//! artifact; at worst work is done twice.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a claimant rewrites its claims.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long a claim may go without a heartbeat before it is taken for abandoned.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(60);
/// How often a build that claims nothing looks for another build.
pub(crate) const RECHECK: Duration = Duration::from_millis(20);
/// Where builds register, under the cache directory.
pub(crate) const BUILDS_DIR: &str = "builds";

/// This machine's name, as claims and writer ids record it.
pub(crate) fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The claim file of an artifact.
pub(crate) fn claim_path(artifact: &Path) -> PathBuf {
    let mut name = artifact.file_name().unwrap_or_default().to_os_string();
    name.push(".claim");
    artifact.with_file_name(name)
}

/// The claims one build holds.
#[derive(Debug)]
pub(crate) struct Claims {
    host: String,
    pid: u32,
    /// When this process started (so that a reused process id is not taken for it).
    started: Option<u64>,
    mine: Mutex<HashSet<PathBuf>>,
    /// This build's registration, if it registered (see the module documentation).
    registration: Option<PathBuf>,
    /// Whether another build was seen: from then on every content is claimed.
    contended: AtomicBool,
    /// When `builds/` was last looked at.
    checked: Mutex<Option<Instant>>,
    /// Artifacts being made without a claim (while uncontended), to claim if another
    /// build appears.
    unclaimed: Mutex<HashSet<PathBuf>>,
}

impl Default for Claims {
    fn default() -> Self {
        let pid = std::process::id();
        Claims {
            host: host_name(),
            pid,
            started: start_time(pid),
            mine: Mutex::default(),
            registration: None,
            contended: AtomicBool::new(true),
            checked: Mutex::new(None),
            unclaimed: Mutex::default(),
        }
    }
}

impl Claims {
    /// The claims of a build on the cache at `cache_dir`, registered there so that other
    /// builds know it runs. Without a registration (it could not be written), every
    /// content is claimed.
    pub fn register(cache_dir: &Path, writer: &str) -> Claims {
        let mut c = Claims::default();
        let dir = cache_dir.join(BUILDS_DIR);
        let me = dir.join(writer);
        if fs::create_dir_all(&dir)
            .and_then(|()| fs::write(&me, c.content()))
            .is_ok()
        {
            c.registration = Some(me);
            c.contended = AtomicBool::new(false);
            if c.poll() {
                // Let the builds already running see us and claim their work in flight.
                std::thread::sleep(RECHECK * 4);
            }
        }
        c
    }

    /// Whether another live build is registered (looked up at most every [`RECHECK`];
    /// once seen, for the rest of the build: the contents in flight are claimed then).
    /// Registrations of dead builds are removed.
    pub fn poll(&self) -> bool {
        if self.contended.load(Ordering::Relaxed) {
            return true;
        }
        let Some(me) = &self.registration else {
            return true;
        };
        {
            let mut checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
            if checked.is_some_and(|t| t.elapsed() < RECHECK) {
                return false;
            }
            *checked = Some(Instant::now());
        }
        let Some(dir) = me.parent() else { return true };
        let Ok(items) = fs::read_dir(dir) else {
            return true;
        };
        // The filesystem's clock costs a file creation: read only when another build is
        // registered (most looks, 50 a second, find none).
        let mut clock = None;
        for item in items.flatten() {
            let path = item.path();
            if path == *me
                || path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let clock = *clock.get_or_insert_with(|| {
                fs_clock(me).unwrap_or_else(|_| std::time::SystemTime::now())
            });
            if self.is_stale(&path, clock) {
                let _ = fs::remove_file(&path);
            } else {
                self.contended.store(true, Ordering::Relaxed);
                let pending: Vec<PathBuf> = self
                    .unclaimed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .drain()
                    .collect();
                for artifact in pending {
                    let _ = self.try_claim(&artifact);
                }
                return true;
            }
        }
        false
    }
    /// Whether another build was seen (as last looked: see [`Self::poll`]).
    pub fn contended(&self) -> bool {
        self.contended.load(Ordering::Relaxed)
    }

    fn content(&self) -> String {
        let started = self.started.map(|t| t.to_string()).unwrap_or_default();
        format!("{}\n{}\n{started}\n", self.host, self.pid)
    }

    /// Claim the artifact at `artifact` (its directory exists). `Ok(false)`: somebody
    /// else holds a live claim on it.
    pub fn try_claim(&self, artifact: &Path) -> io::Result<bool> {
        if !self.poll() {
            // No other build: nothing to claim against (yet).
            self.unclaimed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(artifact.to_path_buf());
            return Ok(true);
        }
        let claim = claim_path(artifact);
        for _ in 0..4 {
            // Exclusive create: atomic on local filesystems and on NFS (version 3 on).
            match OpenOptions::new().write(true).create_new(true).open(&claim) {
                Ok(mut f) => {
                    f.write_all(self.content().as_bytes())?;
                    self.mine
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(claim);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            if !self.is_stale(&claim, fs_clock(&claim)?) {
                return Ok(false);
            }
            self.break_stale(&claim);
        }
        Ok(false)
    }

    /// Whether the claim at `claim` is abandoned, judged at filesystem time `clock`.
    /// A claim that vanished counts as stale (claim again).
    fn is_stale(&self, claim: &Path, clock: std::time::SystemTime) -> bool {
        let Ok(meta) = fs::metadata(claim) else {
            return true;
        };
        let text = fs::read_to_string(claim).unwrap_or_default();
        let mut lines = text.lines();
        let host = lines.next().unwrap_or("");
        let pid = lines.next().and_then(|p| p.parse::<u32>().ok());
        let started = lines.next().and_then(|t| t.parse::<u64>().ok());
        if host == self.host {
            if let Some(pid) = pid {
                if pid != self.pid && !process_alive(pid, started) {
                    return true;
                }
            }
        }
        meta.modified()
            .is_ok_and(|m| clock.duration_since(m).is_ok_and(|age| age > STALE_AFTER))
    }

    /// Remove a stale claim. Moved aside first, so that of several builders breaking it
    /// one succeeds; a fresh claim moved by mistake (taken meanwhile) is put back.
    fn break_stale(&self, claim: &Path) {
        let aside = crate::fsutil::temp_path_for(claim);
        if fs::rename(claim, &aside).is_err() {
            return;
        }
        let clock = std::time::SystemTime::now();
        if !self.is_stale(&aside, clock) {
            let _ = fs::hard_link(&aside, claim);
        }
        let _ = fs::remove_file(&aside);
    }

    /// Give up the claim on `artifact`, if we hold it.
    pub fn release(&self, artifact: &Path) {
        self.unclaimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(artifact);
        let claim = claim_path(artifact);
        if self
            .mine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&claim)
        {
            let _ = fs::remove_file(&claim);
        }
    }

    /// Rewrite every claim we hold and our registration, so that nobody takes them for
    /// abandoned.
    pub fn heartbeat(&self) {
        if let Some(me) = &self.registration {
            let _ = fs::write(me, self.content());
        }
        let mine: Vec<PathBuf> = self
            .mine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        for claim in mine {
            if let Ok(mut f) = OpenOptions::new().write(true).truncate(true).open(&claim) {
                let _ = f.write_all(self.content().as_bytes());
            }
        }
    }

    /// Release everything (end of a build).
    pub fn release_all(&self) {
        self.unclaimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let mine: Vec<PathBuf> = self
            .mine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for claim in mine {
            let _ = fs::remove_file(claim);
        }
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        self.release_all();
        if let Some(me) = &self.registration {
            let _ = fs::remove_file(me);
        }
    }
}

/// The filesystem's clock now, in the directory of `near`: the mtime of a file just
/// written there (a claimant on another machine is judged by the same clock).
fn fs_clock(near: &Path) -> io::Result<std::time::SystemTime> {
    let probe = crate::fsutil::temp_path_for(near);
    let result = fs::write(&probe, b"").and_then(|()| fs::metadata(&probe)?.modified());
    let _ = fs::remove_file(&probe);
    result
}

/// Whether process `pid` of this host exists and is the one that started at `started`
/// (a process id is soon reused on a busy machine). Where that cannot be told, `true`
/// (the claim then goes stale by age only).
fn process_alive(pid: u32, started: Option<u64>) -> bool {
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        return true;
    }
    match (start_time(pid), started) {
        (None, _) => !Path::new("/proc").exists(),
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
    }
}

/// When process `pid` started, in clock ticks since boot (`/proc/<pid>/stat`, field 22).
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claimant_and_dead_claimants_are_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let art = dir.path().join("art");
        let a = Claims::default();
        assert!(a.try_claim(&art).unwrap());
        // Another process of this host (pid 1 is alive wherever this runs).
        let mut other = Claims::default();
        other.pid = 1;
        other.started = start_time(1);
        assert!(!other.try_claim(&art).unwrap(), "held by a live process");
        a.release(&art);
        assert!(!claim_path(&art).exists());
        // A claim left by a process that no longer exists is broken at once.
        fs::write(claim_path(&art), format!("{}\n{}\n", a.host, u32::MAX - 7)).unwrap();
        assert!(other.try_claim(&art).unwrap());
        assert_eq!(
            fs::read_to_string(claim_path(&art)).unwrap(),
            other.content()
        );
        // A claim whose process id was reused by another process since (here: ours,
        // started at another time) is broken too.
        other.release(&art);
        let reused = format!(
            "{}\n{}\n{}\n",
            a.host,
            std::process::id(),
            a.started.unwrap() + 1
        );
        fs::write(claim_path(&art), reused).unwrap();
        assert!(other.try_claim(&art).unwrap());
        // Another host's claim: live until it goes without a heartbeat.
        other.release(&art);
        fs::write(claim_path(&art), "elsewhere\n1\n").unwrap();
        assert!(!a.try_claim(&art).unwrap());
        let old = std::time::SystemTime::now() - STALE_AFTER - Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(claim_path(&art))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(a.try_claim(&art).unwrap());
        drop(a);
        assert!(!claim_path(&art).exists(), "released on drop");
    }

    #[test]
    fn a_lone_build_claims_nothing_until_another_registers() {
        let dir = tempfile::tempdir().unwrap();
        let art = dir.path().join("art");
        let a = Claims::register(dir.path(), "a");
        assert!(a.try_claim(&art).unwrap());
        assert!(!claim_path(&art).exists(), "alone: no claim written");
        // A registration of a dead process is cleaned away, not counted.
        fs::write(
            dir.path().join("builds/dead"),
            format!("{}\n{}\n", a.host, u32::MAX - 3),
        )
        .unwrap();
        std::thread::sleep(RECHECK);
        assert!(a.try_claim(&art).unwrap());
        assert!(!dir.path().join("builds/dead").exists());
        let b = Claims::register(dir.path(), "b");
        assert!(b.try_claim(&art).unwrap(), "b sees a: claims");
        assert!(claim_path(&art).exists());
        std::thread::sleep(RECHECK);
        // `a` now sees `b` (a live process: ours) and honours its claim.
        assert!(!a.try_claim(&art).unwrap());
        drop(b);
        assert!(
            !dir.path().join("builds/b").exists(),
            "unregistered on drop"
        );
    }
}
