//! The one hash the project uses: xxh3-128, written as 32 lowercase hex characters.
//!
//! Frame hashes, manifest object names and file content hashes all go through here so
//! that the algorithm and its text form are decided in one place.

use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// Hash `bytes` with xxh3-128 and return 32 lowercase hex characters.
pub fn hex128(bytes: &[u8]) -> String {
    to_hex(xxh3_128(bytes))
}

/// The text form of a 128-bit hash: 32 lowercase hex characters, most significant first.
pub fn to_hex(h: u128) -> String {
    format!("{h:032x}")
}

/// `true` if `s` looks like a hash this module produced (used to validate names read
/// from disk before they are joined onto a path).
pub fn is_hex128(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A streaming hasher for inputs that do not fit in memory at once (large files).
#[derive(Default, Clone)]
pub struct Hasher(Xxh3);

impl Hasher {
    pub fn new() -> Self {
        Self(Xxh3::new())
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish_hex(&self) -> String {
        to_hex(self.0.digest128())
    }
}

/// Bytes written to a [`Hasher`] are hashed, so a file can be hashed by copying it in
/// (see [`crate::fsutil::read_all`]).
impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot() {
        let data = b"hello smartcache, hello frames";
        let mut h = Hasher::new();
        h.update(&data[..7]);
        h.update(&data[7..]);
        assert_eq!(h.finish_hex(), hex128(data));
        assert!(is_hex128(&hex128(data)));
        assert!(!is_hex128("../etc/passwd"));
    }
}
