//! A file-system watcher that spares `status` and `build` their `stat` of every file.
//!
//! Without a watcher, a walk of 100,000 unchanged files costs 100,000 `fstatat` calls
//! and a `getdents64` per directory: that is two thirds of `status`, and a floor no
//! walk can go under (docs/dataset.md, "Status against git: the floor"). A directory's
//! times do not move when a file in it is rewritten, so nothing cheaper than a `stat`
//! per file can tell, from outside, that a file did not change. A process that watches
//! the tree can: `smartcache dataset watch SRC --cache DIR` lists every directory once,
//! keeps the listings (names, fingerprints, subdirectories, exactly what the walk would
//! produce) in memory, and lists again only the directories inotify reports a change in
//! ([`mirror`]). `status` and `build` of that cache ask it for the listings over a Unix
//! socket ([`wire`]) and build the very same [`Sources`](super::Sources) from them; the
//! validation against the index that follows is unchanged.
//!
//! # Why an answer is never stale
//!
//! inotify queues an event inside the system call that makes the change (`write`,
//! `truncate`, `rename`, `utimensat`, ...), before that call returns. The watcher reads
//! the queue *after* it receives a request, so every change that completed before the
//! client asked has been read, and its directory listed again, before the answer is
//! written. (Git's fsmonitor protocol uses cookie files for the same guarantee with
//! watchers whose events arrive late; inotify's do not.)
//!
//! # What inotify cannot hear of
//!
//! Changes that reach a file without passing through the watched directory. The
//! watcher lists these directories again at every answer instead of trusting events
//! (they are *volatile*, and cost what a walk costs): directories holding symlinks or
//! files with other hard links, directories on file systems other than a short list of
//! local ones (NFS, SMB, FUSE and 9p see changes made on other machines without
//! telling the kernel here), and directories whose watch could not be added (the
//! per-user limit, `fs.inotify.max_user_watches`). What remains unseen, and is
//! documented as the watcher's limit: writes through a shared memory mapping, and
//! writes through a hard link made from outside the tree after the file was listed. For
//! those, the watcher lists every directory again every `--verify-every` seconds (60
//! by default) and reports any difference it finds; `SMARTCACHE_NO_WATCH=1` makes a
//! command walk the disk itself.
//!
//! # Who may ask
//!
//! The socket is in Linux's abstract namespace, named after the user and the cache
//! directory (no file to leave behind, and none to create in a read-only cache). Both
//! ends check the other's user id (`SO_PEERCRED`): another user can neither read the
//! listings nor pose as the watcher and feed `status` a stale tree.

#[cfg(target_os = "linux")]
mod mirror;
mod wire;

use super::error::{io_at, DatasetError};
use super::sources::Listing;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Set (to anything but `0` or nothing) to make commands walk the disk even when a
/// watcher runs.
pub const NO_WATCH_ENV: &str = "SMARTCACHE_NO_WATCH";

/// Settings of [`watch`].
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// List every directory again this often, as a check on changes inotify cannot
    /// hear of (`None`: never).
    pub verify_every: Option<Duration>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            verify_every: Some(Duration::from_secs(60)),
        }
    }
}

/// What a running watcher tells its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The first listing is done and requests are served.
    Ready {
        /// Directories held.
        dirs: usize,
        /// Files in them.
        files: usize,
        /// Directories listed again at every request (see the module docs).
        volatile: usize,
    },
    /// A periodic check found directories whose listing changed without an event.
    Unheard(Vec<String>),
}

/// The abstract socket name of the watcher of the (canonical) cache directory `cache`.
#[cfg(target_os = "linux")]
fn socket_addr(cache: &Path) -> std::io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    let uid = rustix::process::getuid().as_raw();
    let key = xxhash_rust::xxh3::xxh3_64(cache.as_os_str().as_encoded_bytes());
    let name = format!("smartcache-watch-{uid}-{key:016x}");
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
}

/// Whether the peer of `stream` runs as this user.
#[cfg(target_os = "linux")]
fn same_user(stream: &std::os::unix::net::UnixStream) -> bool {
    rustix::net::sockopt::socket_peercred(stream).is_ok_and(|c| c.uid == rustix::process::getuid())
}

/// Run the watcher of `cache_dir` over the directories `roots` until the process is
/// stopped, serving the listings to `status` and `build`. `tell` hears when it is
/// ready and what its periodic checks find.
#[cfg(target_os = "linux")]
pub fn watch(
    cache_dir: &Path,
    roots: &[PathBuf],
    opts: &WatchOptions,
    tell: &mut dyn FnMut(WatchEvent),
) -> Result<(), DatasetError> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use std::io::ErrorKind;
    use std::os::unix::net::UnixListener;
    use std::time::Instant;

    let cache = cache_dir.canonicalize().map_err(io_at(cache_dir))?;
    let mut dirs = Vec::new();
    for r in roots {
        let c = r.canonicalize().map_err(io_at(r))?;
        if !c.is_dir() {
            return Err(DatasetError::Watch {
                path: c,
                why: "not a directory (the watcher watches directory trees)".into(),
            });
        }
        dirs.push(super::sources::path_str(&c)?.to_string());
    }
    let cache_text = super::sources::path_str(&cache)?.to_string();
    let exclude = dirs
        .iter()
        .any(|r| super::sources::within(&cache_text, r))
        .then_some(cache_text);

    let addr = socket_addr(&cache).map_err(io_at(&cache))?;
    let listener = UnixListener::bind_addr(&addr).map_err(|e| DatasetError::Watch {
        path: cache.clone(),
        why: if e.kind() == ErrorKind::AddrInUse {
            "a watcher already serves this cache".into()
        } else {
            format!("cannot open its socket: {e}")
        },
    })?;
    let mut tree = mirror::Mirror::new(dirs, exclude).map_err(|e| DatasetError::Watch {
        path: cache.clone(),
        why: format!("inotify: {e}"),
    })?;
    listener.set_nonblocking(true).map_err(io_at(&cache))?;
    let (d, f, v) = tree.size();
    tell(WatchEvent::Ready {
        dirs: d,
        files: f,
        volatile: v,
    });

    // After a burst of events, the dirty directories are listed once the tree has been
    // quiet this long (a request lists them at once).
    let settle = Duration::from_millis(200);
    let drain = |tree: &mut mirror::Mirror| {
        tree.drain().map_err(|e| DatasetError::Watch {
            path: cache.clone(),
            why: format!("reading inotify events: {e}"),
        })
    };
    let mut next_check = opts.verify_every.map(|e| Instant::now() + e);
    loop {
        let wait = match (tree.pending(), next_check) {
            (true, _) => Some(settle),
            (false, Some(t)) => Some(t.saturating_duration_since(Instant::now())),
            (false, None) => None,
        };
        let timeout = wait.map(|w| Timespec {
            tv_sec: w.as_secs() as i64,
            tv_nsec: i64::from(w.subsec_nanos()),
        });
        let (events, clients) = {
            let mut fds = [
                PollFd::new(tree.fd(), PollFlags::IN),
                PollFd::new(&listener, PollFlags::IN),
            ];
            match poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io_at(&cache)(e.into())),
            }
            (!fds[0].revents().is_empty(), !fds[1].revents().is_empty())
        };
        if events {
            drain(&mut tree)?;
        }
        if clients {
            loop {
                match listener.accept() {
                    Ok((stream, _)) => answer_client(stream, &mut tree, &drain)?,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // WouldBlock: every waiting client served.
                    Err(_) => break,
                }
            }
        } else if !events && tree.pending() {
            tree.refresh();
        }
        if next_check.is_some_and(|t| Instant::now() >= t) {
            drain(&mut tree)?;
            let unheard = tree.verify();
            if !unheard.is_empty() {
                tell(WatchEvent::Unheard(unheard));
            }
            next_check = opts.verify_every.map(|e| Instant::now() + e);
        }
    }
}

/// Read one client's request and answer it, current as of its arrival. A client of
/// another user, one too slow to send its request, or one that hangs up is dropped;
/// only a failure to read the events stops the watcher.
#[cfg(target_os = "linux")]
fn answer_client(
    mut stream: std::os::unix::net::UnixStream,
    tree: &mut mirror::Mirror,
    drain: &dyn Fn(&mut mirror::Mirror) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    use std::io::{Read, Write};
    if !same_user(&stream) || stream.set_nonblocking(false).is_err() {
        return Ok(());
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(60)));
    let mut request = Vec::new();
    let limit = wire::MAX_REQUEST as u64 + 1;
    if (&mut stream).take(limit).read_to_end(&mut request).is_err() {
        return Ok(());
    }
    let answer = match wire::read_request(&request) {
        Ok(roots) => {
            // The order that makes the answer current: the request is in, so every
            // change before it is queued; read them, list again.
            drain(tree)?;
            tree.refresh();
            tree.answer(&roots)
        }
        Err(why) => wire::refused(&why),
    };
    // A client that gave up is not the watcher's problem.
    let _ = stream.write_all(&answer);
    Ok(())
}

/// The watcher needs inotify.
#[cfg(not(target_os = "linux"))]
pub fn watch(
    cache_dir: &Path,
    _roots: &[PathBuf],
    _opts: &WatchOptions,
    _tell: &mut dyn FnMut(WatchEvent),
) -> Result<(), DatasetError> {
    Err(DatasetError::Watch {
        path: cache_dir.to_path_buf(),
        why: "the watcher needs Linux's inotify".into(),
    })
}

/// The listings of every directory below `roots` (canonical directories) from the
/// watcher of `cache_dir`, by path; `None` when no watcher runs for this cache, it does
/// not watch every root, it answers wrongly, or [`NO_WATCH_ENV`] is set. The caller
/// then walks the disk.
#[cfg(target_os = "linux")]
pub(crate) fn ask(cache_dir: &Path, roots: &[String]) -> Option<HashMap<String, Listing>> {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    if std::env::var_os(NO_WATCH_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let cache = cache_dir.canonicalize().ok()?;
    let mut stream = UnixStream::connect_addr(&socket_addr(&cache).ok()?).ok()?;
    if !same_user(&stream) {
        return None;
    }
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    // Generous (after a queue overflow the watcher lists the whole tree first), yet
    // bounded: a watcher that hangs costs a command this long, then it walks.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream.write_all(&wire::request(roots)).ok()?;
    stream.shutdown(std::net::Shutdown::Write).ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let listings = wire::read_answer(&answer).ok()?;
    Some(
        listings
            .into_iter()
            .map(|l| (l.files.path.clone(), l))
            .collect(),
    )
}

/// No watcher outside Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn ask(_cache_dir: &Path, _roots: &[String]) -> Option<HashMap<String, Listing>> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    #[test]
    fn garbage_and_hang_ups_do_not_stop_the_watcher() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let (src, cache) = (root.join("src"), root.join("cache"));
        std::fs::create_dir_all(src.join("d")).unwrap();
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::write(src.join("d/f.txt"), "f").unwrap();
        let (c, s) = (cache.clone(), src.clone());
        // Runs until the test binary exits.
        std::thread::spawn(move || {
            let opts = WatchOptions { verify_every: None };
            let _ = watch(&c, &[s], &opts, &mut |_| {});
        });
        let roots = vec![src.to_str().unwrap().to_string()];
        let start = std::time::Instant::now();
        while ask(&cache, &roots).is_none() {
            assert!(start.elapsed() < Duration::from_secs(30), "not serving");
            std::thread::sleep(Duration::from_millis(20));
        }
        let addr = socket_addr(&cache).unwrap();
        // Not a request: refused, and the next client is served.
        let mut c = UnixStream::connect_addr(&addr).unwrap();
        c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).unwrap();
        assert!(wire::read_answer(&answer)
            .unwrap_err()
            .starts_with("the watcher refused: not a smartcache watch request"));
        // Hang-ups before the request ends and before the answer is read.
        drop(UnixStream::connect_addr(&addr).unwrap());
        let mut c = UnixStream::connect_addr(&addr).unwrap();
        c.write_all(&wire::request(&roots)).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        drop(c);
        // Still serving, and right.
        std::fs::write(src.join("d/g.txt"), "g").unwrap();
        let got = ask(&cache, &roots).expect("still serving");
        let d = src.join("d");
        let mut want = super::super::sources::list_dir(d.to_str().unwrap(), true).unwrap();
        let mut held = got[d.to_str().unwrap()].clone();
        for l in [&mut want, &mut held] {
            l.files.stats.iter_mut().for_each(|s| s.at = 0);
        }
        assert_eq!(held, want);
        assert_eq!(held.files.ends.len(), 2);
    }
}
