//! Little-endian encoding helpers shared by the index's on-disk formats
//! ([`super::base`], [`super::segment`]): a growable writer and a bounds-checked reader
//! that returns `None` on any short or malformed field instead of panicking.

/// Appends fixed-width little-endian integers and length-prefixed strings.
#[derive(Debug, Default)]
pub(crate) struct Enc(pub Vec<u8>);

impl Enc {
    pub fn u8(&mut self, n: u8) {
        self.0.push(n);
    }
    pub fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    pub fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    pub fn i64(&mut self, n: i64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    /// A string as its length (u32) and UTF-8 bytes. Strings of 4 GiB or more do not
    /// occur in an index (paths, hashes, names, error tails); they are cut at a
    /// character boundary rather than written with a wrong length.
    pub fn str(&mut self, s: &str) {
        let mut end = s.len().min(u32::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.u32(end as u32);
        self.0.extend_from_slice(&s.as_bytes()[..end]);
    }
}

/// Reads what [`Enc`] wrote; every method returns `None` past the end of the buffer.
#[derive(Debug, Clone)]
pub(crate) struct Dec<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec { buf, pos: 0 }
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.array().map(u8::from_le_bytes)
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    pub fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
    pub fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    pub fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stops_at_the_end() {
        let mut e = Enc::default();
        e.u8(7);
        e.u32(1 << 20);
        e.u64(u64::MAX);
        e.i64(-3);
        e.str("é/x");
        let mut d = Dec::new(&e.0);
        assert_eq!(d.u8(), Some(7));
        assert_eq!(d.u32(), Some(1 << 20));
        assert_eq!(d.u64(), Some(u64::MAX));
        assert_eq!(d.i64(), Some(-3));
        assert_eq!(d.str(), Some("é/x"));
        assert!(d.is_empty());
        assert_eq!(d.u8(), None);
        // A length running past the end, and bytes that are not UTF-8.
        assert_eq!(Dec::new(&[9, 0, 0, 0, b'a']).str(), None);
        assert_eq!(Dec::new(&[1, 0, 0, 0, 0xff]).str(), None);
    }
}
