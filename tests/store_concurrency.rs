//! Several writers recording disjoint frame ranges into one cache at once lose no frame,
//! whether they are threads of one process or separate processes (render-farm nodes on
//! shared storage).

mod store_common;

use smartcache::store::{CacheDir, FrameEntry};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use store_common::{frame_hash, frames, meta};

const WRITERS: i64 = 8;
/// Each writer records this many frames, in chunks of `CHUNK`, so records interleave.
const FRAMES_PER_WRITER: i64 = 40;
const CHUNK: i64 = 4;

/// Set in the environment of a child process: the cache directory to record into.
const CHILD_DIR_ENV: &str = "SMARTCACHE_STORE_TEST_CHILD_DIR";
/// Set in the environment of a child process: which writer it is.
const CHILD_INDEX_ENV: &str = "SMARTCACHE_STORE_TEST_CHILD_INDEX";

/// Record writer `w`'s frames, `CHUNK` at a time, also putting one object per chunk.
fn record_as_writer(cache: &CacheDir, w: i64) {
    let start = 1001 + w * FRAMES_PER_WRITER;
    let mut f = start;
    while f < start + FRAMES_PER_WRITER {
        let chunk = frames("w", f..=f + CHUNK - 1);
        cache
            .put_object(format!(r#"{{"writer":{w},"first":{f}}}"#).as_bytes())
            .unwrap();
        cache.record_master(meta("Write1", "r"), chunk).unwrap();
        f += CHUNK;
    }
}

/// The master every run must end with: all writers' frames.
fn expected_frames() -> BTreeMap<i64, FrameEntry> {
    frames("w", 1001..=1000 + WRITERS * FRAMES_PER_WRITER)
}

fn assert_all_frames_kept(cache: &CacheDir) {
    let master = cache.master().unwrap().unwrap();
    assert_eq!(master.frames.len() as i64, WRITERS * FRAMES_PER_WRITER);
    assert_eq!(master.frames, expected_frames());
    assert_eq!(master.frames[&1001].hash, frame_hash("w", 1001));
    let objects = std::fs::read_dir(cache.manifests_dir()).unwrap().count() as i64;
    assert_eq!(objects, WRITERS * FRAMES_PER_WRITER / CHUNK);
    // No writer left a temp file behind.
    let master_dir: Vec<_> = std::fs::read_dir(cache.path().join("master"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut master_dir = master_dir;
    master_dir.sort();
    assert_eq!(master_dir, ["hash.json", "hash.json.bak"]);
}

#[test]
fn threads_recording_disjoint_ranges_lose_no_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(tmp.path());
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let cache = &cache;
            s.spawn(move || record_as_writer(cache, w));
        }
    });
    assert_all_frames_kept(&cache);
}

/// Re-runs this very test in child processes: with the child variables set, the test is
/// one writer; without them it is the parent that starts the writers and checks the
/// result (so the child role cannot pass on its own without the parent's check).
#[test]
fn processes_recording_disjoint_ranges_lose_no_frame() {
    if let (Ok(dir), Ok(index)) = (std::env::var(CHILD_DIR_ENV), std::env::var(CHILD_INDEX_ENV)) {
        record_as_writer(&CacheDir::new(dir), index.parse().unwrap());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "processes_recording_disjoint_ranges_lose_no_frame",
                    "--test-threads=1",
                    "--quiet",
                ])
                .env(CHILD_DIR_ENV, tmp.path())
                .env(CHILD_INDEX_ENV, w.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_all_frames_kept(&CacheDir::new(tmp.path()));
}
