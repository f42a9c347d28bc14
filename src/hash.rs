//! The one hash the project uses: xxh3-128, written as 32 lowercase hex characters.
//!
//! Frame hashes, manifest object names and file content hashes all go through here so
//! that the algorithm and its text form are decided in one place.

use std::fmt;
use std::str::FromStr;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// An xxh3-128 hash: a frame hash, a manifest object's name, a file's content hash.
///
/// Written as 32 lowercase hex characters (its [`fmt::Display`], and how serde reads and
/// writes it). Every hash read from a cache file is parsed into this type as the file is
/// parsed, so a crafted value (`../../etc/passwd`) is refused with the file's line and
/// column, long before anything could join it onto a path; code holding a `Hex128`
/// needs no further check.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hex128(u128);

/// A text that is not 32 lowercase hex characters, refused by [`Hex128::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not 32 lowercase hex characters")]
pub struct NotHex128(pub String);

impl Hex128 {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Hex128 {
        Hex128(xxh3_128(bytes))
    }

    /// The hash whose value is `h`.
    pub fn from_u128(h: u128) -> Hex128 {
        Hex128(h)
    }

    /// The hash's value.
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// Parse the text form (exactly 32 lowercase hex characters, nothing else).
    pub fn parse(s: &str) -> Result<Hex128, NotHex128> {
        if !is_hex128(s) {
            return Err(NotHex128(s.to_string()));
        }
        u128::from_str_radix(s, 16)
            .map(Hex128)
            .map_err(|_| NotHex128(s.to_string()))
    }
}

impl fmt::Display for Hex128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for Hex128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hex128({self})")
    }
}

impl FromStr for Hex128 {
    type Err = NotHex128;
    fn from_str(s: &str) -> Result<Hex128, NotHex128> {
        Hex128::parse(s)
    }
}

impl PartialEq<str> for Hex128 {
    fn eq(&self, other: &str) -> bool {
        Hex128::parse(other).is_ok_and(|h| h == *self)
    }
}

impl PartialEq<&str> for Hex128 {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl serde::Serialize for Hex128 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hex128 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hex128, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Hex128;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("32 lowercase hex characters")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Hex128, E> {
                Hex128::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

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

/// A streaming hasher for inputs that do not fit in memory at once (large files), or
/// that are written a few bytes at a time (a script's digest: names, lengths, values).
///
/// Small writes are gathered in a buffer and handed to xxh3 in large pieces: a streaming
/// xxh3 costs about as much per call as per 64 bytes hashed, and the digest of a
/// 50,000-node script is millions of calls. The hash does not depend on how the input
/// was cut into writes.
#[derive(Clone)]
pub struct Hasher {
    xxh: Xxh3,
    pending: Vec<u8>,
}

/// Bytes a [`Hasher`] gathers before hashing them.
const PENDING: usize = 16 * 1024;

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> Self {
        Self {
            xxh: Xxh3::new(),
            pending: Vec::new(),
        }
    }
    /// Hash `bytes` after what came before.
    #[inline]
    pub fn update(&mut self, bytes: &[u8]) {
        if self.pending.len() + bytes.len() <= self.pending.capacity() {
            self.pending.extend_from_slice(bytes);
        } else {
            self.update_cold(bytes);
        }
    }
    /// [`Hasher::update`] when the buffer has no room: what it holds is hashed once it
    /// would pass [`PENDING`] bytes, and a write of that size or more goes straight
    /// to xxh3. The buffer grows as needed, so hashing a few bytes allocates a few.
    #[inline(never)]
    fn update_cold(&mut self, bytes: &[u8]) {
        if self.pending.len() + bytes.len() > PENDING {
            self.xxh.update(&self.pending);
            self.pending.clear();
        }
        if bytes.len() >= PENDING {
            self.xxh.update(bytes);
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }
    /// The hash of everything seen, as text.
    pub fn finish_hex(&self) -> String {
        to_hex(self.finish().0)
    }
    /// The hash of everything seen.
    pub fn finish(&self) -> Hex128 {
        if self.pending.is_empty() {
            return Hex128(self.xxh.digest128());
        }
        let mut xxh = self.xxh.clone();
        xxh.update(&self.pending);
        Hex128(xxh.digest128())
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
        // Cut into writes of every size, around and across the gathering buffer.
        let big: Vec<u8> = (0..3 * PENDING + 77)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        for piece in [1, 3, 64, 1000, PENDING - 1, PENDING, PENDING + 5, big.len()] {
            let mut h = Hasher::new();
            big.chunks(piece).for_each(|c| h.update(c));
            assert_eq!(h.finish(), Hex128::of(&big), "writes of {piece} bytes");
            // Finishing does not disturb what comes after.
            h.update(b"more");
            let mut all = big.clone();
            all.extend_from_slice(b"more");
            assert_eq!(
                h.finish(),
                Hex128::of(&all),
                "writes of {piece} bytes, then more"
            );
        }
        assert!(!is_hex128("../etc/passwd"));
    }

    #[test]
    fn hex128_parses_only_its_own_text_form() {
        let h = Hex128::of(b"frame");
        assert_eq!(h.to_string(), hex128(b"frame"));
        assert_eq!(Hex128::parse(&h.to_string()), Ok(h));
        for bad in [
            "../../etc/passwd",
            "",
            &"A".repeat(32),
            &"0".repeat(31),
            &"0".repeat(33),
            "+0000000000000000000000000000000",
        ] {
            assert_eq!(
                Hex128::parse(bad).unwrap_err().to_string(),
                format!("{bad:?} is not 32 lowercase hex characters")
            );
        }
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{h}\""));
        assert_eq!(serde_json::from_str::<Hex128>(&json).unwrap(), h);
        let err = serde_json::from_str::<Hex128>("\"/etc/passwd\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"/etc/passwd\" is not 32 lowercase hex characters at line 1 column 13"
        );
    }
}
