//! Content hashing of source files and artifacts: xxh3-128 through [`crate::hash`].
//!
//! Files are read with a plain read loop into a reused per-thread buffer: no mmap (a file
//! truncated under us would fault instead of failing with an error), and small files,
//! which dominate real datasets, take a single `read` and the one-shot hash.

use crate::hash;
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// Read buffer per thread. Measured with `scripts/bench-dataset.sh` on a warm page cache:
/// 64 KiB keeps each chunk in cache between the kernel's copy and the hash and matches
/// `xxhsum`'s system time; 128 KiB and more made `read` four times costlier in system
/// time, 32 KiB paid more per-call overhead.
const BUF_LEN: usize = 64 * 1024;

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; BUF_LEN]);
}

/// xxh3-128 of the content of `path`, as 32 lowercase hex characters.
pub fn hash_file(path: &Path) -> io::Result<String> {
    hash_file_counted(path).map(|(h, _)| h)
}

/// [`hash_file`], also returning the number of bytes read.
pub fn hash_file_counted(path: &Path) -> io::Result<(String, u64)> {
    hash_open(&mut File::open(path)?)
}

/// [`hash_file_counted`] of a file already open (read from where it stands).
pub(crate) fn hash_open(file: &mut File) -> io::Result<(String, u64)> {
    BUF.with(|cell| {
        let mut buf = cell.borrow_mut();
        let first = read_full(file, &mut buf)?;
        if first < buf.len() {
            // The whole file fitted: hash it in one shot.
            return Ok((hash::to_hex(xxh3_128(&buf[..first])), first as u64));
        }
        let mut hasher = Xxh3::new();
        hasher.update(&buf[..first]);
        let mut total = first as u64;
        loop {
            let n = read_full(file, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            total += n as u64;
            if n < buf.len() {
                break;
            }
        }
        Ok((hash::to_hex(hasher.digest128()), total))
    })
}

/// Fill `buf` as far as the file allows; returns fewer bytes than `buf.len()` only at
/// end of file.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_files_match_one_shot_hash() {
        let dir = tempfile::tempdir().unwrap();
        for len in [
            0usize,
            1,
            1000,
            BUF_LEN - 1,
            BUF_LEN,
            BUF_LEN + 1,
            3 * BUF_LEN + 17,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let p = dir.path().join(format!("f{len}"));
            std::fs::write(&p, &data).unwrap();
            let (h, n) = hash_file_counted(&p).unwrap();
            assert_eq!(h, hash::hex128(&data), "len {len}");
            assert_eq!(n, len as u64);
        }
        assert_eq!(
            hash_file(&dir.path().join("f0")).unwrap(),
            "99aa06d3014798d86001c324468d497f"
        );
        assert!(hash_file(&dir.path().join("missing")).is_err());
    }
}
