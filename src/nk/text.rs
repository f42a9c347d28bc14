//! Turning script bytes into text: lossless-enough UTF-8 decoding, Tcl backslash
//! unescaping for names, and byte offsets to `line:col`.

use compact_str::CompactString;

/// Decode `bytes` as UTF-8 without ever failing: valid sequences are kept as they are
/// and every invalid byte is written as `\xNN`, so that two values differing only in
/// invalid bytes still differ (a lossy U+FFFD replacement would make them equal and
/// could hide a change from the cache).
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => decode_slow(bytes),
    }
}

fn decode_slow(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// The script's bytes, with the whole-file UTF-8 check done once: when the file is valid
/// UTF-8 (nearly always), a word's text is a checked `&str` slice (an O(1) boundary
/// check) instead of a fresh validation of every knob value.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub bytes: &'a [u8],
    utf8: Option<&'a str>,
}

impl<'a> Source<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            utf8: std::str::from_utf8(bytes).ok(),
        }
    }

    /// The text of `bytes[start..end]`, decoded as [`decode`] does (inline when short,
    /// as most knob texts and names are).
    pub fn text(&self, start: usize, end: usize) -> CompactString {
        match self.str(start, end) {
            std::borrow::Cow::Borrowed(t) => CompactString::new(t),
            std::borrow::Cow::Owned(t) => t.into(),
        }
    }

    /// The text of `bytes[start..end]`, decoded as [`decode`] does: borrowed from the
    /// script when it is valid UTF-8.
    pub fn str(&self, start: usize, end: usize) -> std::borrow::Cow<'a, str> {
        match self.utf8.and_then(|s| s.get(start..end)) {
            Some(t) => std::borrow::Cow::Borrowed(t),
            None => std::borrow::Cow::Owned(decode(&self.bytes[start..end])),
        }
    }

    /// The text of `bytes[start..end]` with backslash escapes applied ([`unescape`]).
    pub fn unescaped(&self, start: usize, end: usize) -> CompactString {
        let b = &self.bytes[start..end];
        // Names and keys are short: a plain scan beats a vectorised search's set-up.
        if !b.contains(&b'\\') {
            return self.text(start, end);
        }
        unescape(b).into()
    }
}

/// The text a quoted or bare word stands for: Tcl backslash sequences replaced
/// (`\n`, `\t`, `\r` become control characters, `\<newline><spaces>` a single space, any
/// other `\c` the character `c`). Used for names and keys, never for knob values, which
/// keep their exact source text.
pub fn unescape(bytes: &[u8]) -> String {
    if memchr::memchr(b'\\', bytes).is_none() {
        return decode(bytes);
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' || i + 1 == bytes.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'\n' => {
                out.push(b' ');
                while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
                    i += 1;
                }
            }
            other => out.push(other),
        }
    }
    decode(&out)
}

/// Converts byte offsets to 1-based `line:col` (the column counts characters, not
/// bytes). Offsets are usually asked for in increasing order (nodes in file order), so
/// the locator remembers where it stopped and only counts the newlines in between:
/// linear overall, and no per-line table is kept in memory.
pub struct Locator<'a> {
    src: &'a [u8],
    offset: usize,
    line: u32,
    line_start: usize,
}

impl<'a> Locator<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        Self {
            src,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The line and column of byte `offset` (clamped to the end of the input).
    pub fn locate(&mut self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.src.len());
        if offset < self.offset {
            *self = Self::new(self.src);
        }
        let between = &self.src[self.offset..offset];
        for nl in memchr::memchr_iter(b'\n', between) {
            self.line = self.line.saturating_add(1);
            self.line_start = self.offset + nl + 1;
        }
        self.offset = offset;
        let col = self.src[self.line_start..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        (self.line, u32::try_from(col + 1).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_are_escaped_and_stay_distinct() {
        assert_eq!(decode(b"caf\xc3\xa9"), "café");
        assert_eq!(decode(b"a\xffb"), "a\\xFFb");
        assert_ne!(decode(b"a\xfeb"), decode(b"a\xffb"));
        assert_eq!(decode(b"\xe2\x82"), "\\xE2\\x82");
    }

    #[test]
    fn unescape_follows_tcl() {
        assert_eq!(unescape(br#"a\"b\[c\]\{\}\\"#), r#"a"b[c]{}\"#);
        assert_eq!(unescape(b"x\\ny"), "x\ny");
        assert_eq!(unescape(b"x\\\n   y"), "x y");
        assert_eq!(unescape(b"trailing\\"), "trailing\\");
    }

    #[test]
    fn locator_counts_lines_and_characters() {
        let src = "ab\ncé d\n\nx".as_bytes();
        let mut l = Locator::new(src);
        assert_eq!(l.locate(0), (1, 1));
        assert_eq!(l.locate(4), (2, 2));
        assert_eq!(l.locate(7), (2, 4)); // after the two-byte é
        assert_eq!(l.locate(10), (4, 1));
        assert_eq!(l.locate(1), (1, 2)); // going back restarts
        assert_eq!(l.locate(999), (4, 2));
    }
}
