//! Splitting script bytes into Tcl commands and words.
//!
//! The lexer never copies: a [`Word`] is a byte range into the input, with its kind, so a
//! multi-megabyte braced value costs one scan (with `memchr`) and no allocation. Brace
//! and bracket nesting are counted, never recursed into, so 100,000 nested braces are as
//! cheap as one.
//!
//! The same lexer reads the top level of a file and, over a narrower range, the inside of
//! a node's `{ … }` body, where each command is one knob line.

use super::error::ErrorKind;

/// How a word was written; it decides how its text is recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordKind {
    Bare,
    Quoted,
    Braced,
}

/// One word: `start..end` covers the whole source text, braces and quotes included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub kind: WordKind,
}

impl Word {
    /// The word's content: inside the braces or quotes, or the bare text.
    pub fn inner<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        match self.kind {
            WordKind::Bare => &src[self.start..self.end],
            WordKind::Quoted | WordKind::Braced => &src[self.start + 1..self.end - 1],
        }
    }

    /// The exact source text, braces and quotes included.
    pub fn raw<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        &src[self.start..self.end]
    }
}

/// A lexing error at a byte offset (turned into `line:col` by the parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub kind: ErrorKind,
}

/// A cursor over `src[pos..end]` that yields one command (a list of words) at a time.
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    end: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

impl<'a> Lexer<'a> {
    /// A lexer over `src[start..end]`; offsets it reports are offsets into `src`.
    pub fn new(src: &'a [u8], start: usize, end: usize) -> Self {
        let end = end.min(src.len());
        Self {
            src,
            pos: start.min(end),
            end,
        }
    }

    /// Read the next command's words into `words` (cleared first). Returns `false` at
    /// the end of the range. Blank lines and `#` comments at command position are
    /// skipped; a command ends at a newline outside any word.
    pub fn next_command(&mut self, words: &mut Vec<Word>) -> Result<bool, LexError> {
        words.clear();
        self.skip_to_command();
        if self.pos >= self.end {
            return Ok(false);
        }
        loop {
            self.skip_spaces();
            if self.pos >= self.end {
                break;
            }
            if self.src[self.pos] == b'\n' {
                self.pos += 1;
                break;
            }
            let w = self.word()?;
            words.push(w);
        }
        Ok(true)
    }

    /// Skip whitespace, newlines and comments before a command.
    fn skip_to_command(&mut self) {
        while self.pos < self.end {
            let b = self.src[self.pos];
            if is_space(b) || b == b'\n' {
                self.pos += 1;
            } else if b == b'\\' && self.src.get(self.pos + 1) == Some(&b'\n') {
                self.pos += 2;
            } else if b == b'#' {
                self.skip_comment();
            } else {
                return;
            }
        }
    }

    /// A comment runs to the end of the line; backslash-newline continues it (Tcl).
    fn skip_comment(&mut self) {
        loop {
            let rest = &self.src[self.pos..self.end];
            match memchr::memchr(b'\n', rest) {
                None => {
                    self.pos = self.end;
                    return;
                }
                Some(i) => {
                    let nl = self.pos + i;
                    let slashes = self.src[self.pos..nl]
                        .iter()
                        .rev()
                        .take_while(|&&b| b == b'\\')
                        .count();
                    self.pos = nl + 1;
                    if slashes % 2 == 0 {
                        return;
                    }
                }
            }
        }
    }

    /// Skip spaces between words; backslash-newline counts as a space.
    fn skip_spaces(&mut self) {
        while self.pos < self.end {
            let b = self.src[self.pos];
            if is_space(b) {
                self.pos += 1;
            } else if b == b'\\' && self.pos + 1 < self.end && self.src[self.pos + 1] == b'\n' {
                self.pos += 2;
            } else {
                return;
            }
        }
    }

    fn word(&mut self) -> Result<Word, LexError> {
        let start = self.pos;
        let kind = match self.src[start] {
            b'{' => {
                self.pos = self.braced_end(start)?;
                self.expect_separator("`}`")?;
                WordKind::Braced
            }
            b'"' => {
                self.pos = self.quoted_end(start)?;
                self.expect_separator("`\"`")?;
                WordKind::Quoted
            }
            _ => {
                self.pos = self.bare_end(start)?;
                WordKind::Bare
            }
        };
        Ok(Word {
            start,
            end: self.pos,
            kind,
        })
    }

    /// After a closing brace or quote Tcl requires a word separator.
    fn expect_separator(&self, what: &'static str) -> Result<(), LexError> {
        match self.src[..self.end].get(self.pos) {
            None | Some(b'\n') => Ok(()),
            Some(&b) if is_space(b) => Ok(()),
            Some(b'\\') if self.src.get(self.pos + 1) == Some(&b'\n') => Ok(()),
            Some(_) => Err(LexError {
                offset: self.pos,
                kind: ErrorKind::TrailingAfterWord(what),
            }),
        }
    }

    /// The offset just past the brace matching the `{` at `open`. Escaped braces
    /// (`\{`, `\}`) do not count; quotes are ordinary characters.
    pub fn braced_end(&self, open: usize) -> Result<usize, LexError> {
        let mut depth: usize = 0;
        // One iterator for the whole word: no search set-up per brace.
        let mut escaped_at = usize::MAX;
        for j in memchr::memchr3_iter(b'{', b'}', b'\\', &self.src[open..self.end]) {
            let at = open + j;
            if at == escaped_at {
                continue; // the byte after a backslash is escaped, whatever it is
            }
            match self.src[at] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(at + 1);
                    }
                }
                _ => escaped_at = at + 1,
            }
        }
        Err(LexError {
            offset: self.innermost_unclosed(open),
            kind: ErrorKind::UnclosedBrace,
        })
    }

    /// For an unbalanced brace at `open`: the innermost `{` left open at the end of the
    /// range, which is where a missing `}` most likely belongs. Only run on the error
    /// path, so the scan above needs no stack of positions.
    fn innermost_unclosed(&self, open: usize) -> usize {
        let mut opens: Vec<usize> = Vec::new();
        let mut i = open;
        while i < self.end {
            match self.src[i] {
                b'{' => opens.push(i),
                b'}' => {
                    opens.pop();
                }
                b'\\' => i += 1,
                _ => {}
            }
            i += 1;
        }
        opens.last().copied().unwrap_or(open)
    }

    /// The offset just past the `"` closing the quoted word opened at `open`.
    fn quoted_end(&self, open: usize) -> Result<usize, LexError> {
        let mut i = open + 1;
        while i < self.end {
            let Some(j) = memchr::memchr2(b'"', b'\\', &self.src[i..self.end]) else {
                break;
            };
            let at = i + j;
            if self.src[at] == b'"' {
                return Ok(at + 1);
            }
            i = at + 2;
        }
        Err(LexError {
            offset: open,
            kind: ErrorKind::UnterminatedQuote,
        })
    }

    /// The end of a bare word: the next whitespace outside `[ … ]`.
    fn bare_end(&self, start: usize) -> Result<usize, LexError> {
        let mut depth: usize = 0;
        let mut open_at = start;
        let mut i = start;
        while i < self.end {
            let b = self.src[i];
            if !BARE_SPECIAL[b as usize] {
                i += 1;
                continue;
            }
            match b {
                b'\\' => {
                    if self.src.get(i + 1) == Some(&b'\n') && depth == 0 {
                        return Ok(i);
                    }
                    i += 2;
                    continue;
                }
                b'[' => {
                    if depth == 0 {
                        open_at = i;
                    }
                    depth += 1;
                }
                b']' => depth = depth.saturating_sub(1),
                _ if depth == 0 => return Ok(i), // whitespace or newline
                _ => {}
            }
            i += 1;
        }
        if depth > 0 {
            return Err(LexError {
                offset: open_at,
                kind: ErrorKind::UnterminatedBracket,
            });
        }
        Ok(self.end.min(i))
    }
}

/// Bytes that can end or nest a bare word; every other byte is skipped by one table
/// lookup (bare words are most of a script's words).
static BARE_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let special = [b' ', b'\t', b'\r', 0x0b, 0x0c, b'\n', b'\\', b'[', b']'];
    let mut k = 0;
    while k < special.len() {
        t[special[k] as usize] = true;
        k += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn words(src: &str) -> Result<Vec<Vec<String>>, LexError> {
        let b = src.as_bytes();
        let mut lx = Lexer::new(b, 0, b.len());
        let mut out = Vec::new();
        let mut ws = Vec::new();
        while lx.next_command(&mut ws)? {
            out.push(
                ws.iter()
                    .map(|w| String::from_utf8(w.raw(b).to_vec()).unwrap())
                    .collect(),
            );
        }
        Ok(out)
    }

    #[test]
    fn splits_commands_and_words() {
        let got = words("#! shebang\nBlur {\n size 3\n}\n  # note\nset N1 [stack 0]\npush $N1\n")
            .unwrap();
        assert_eq!(
            got,
            vec![
                vec!["Blur", "{\n size 3\n}"],
                vec!["set", "N1", "[stack 0]"],
                vec!["push", "$N1"],
            ]
        );
    }

    #[test]
    fn braces_nest_and_escapes_do_not_count() {
        let got = words(r#"k {a {b \} "c} d} e"#).unwrap();
        assert_eq!(got, vec![vec!["k", r#"{a {b \} "c} d}"#, "e"]]);
    }

    #[test]
    fn quoted_words_keep_escapes_and_span_lines() {
        let got = words("k \"a \\\" \\[b\n c\" x").unwrap();
        assert_eq!(got, vec![vec!["k", "\"a \\\" \\[b\n c\"", "x"]]);
    }

    #[test]
    fn backslash_newline_continues_the_command() {
        let got = words("a b \\\n   c\nd").unwrap();
        assert_eq!(got, vec![vec!["a", "b", "c"], vec!["d"]]);
    }

    #[test]
    fn brackets_nest_in_bare_words() {
        let got = words("x a[value [b c]]d y\n").unwrap();
        assert_eq!(got, vec![vec!["x", "a[value [b c]]d", "y"]]);
    }

    #[test]
    fn errors_point_at_the_opening() {
        assert_eq!(
            words("a {b {c}").unwrap_err().kind,
            ErrorKind::UnclosedBrace
        );
        assert_eq!(words("a {b {c}").unwrap_err().offset, 2);
        assert_eq!(words("a {b {c} {d \\{ e").unwrap_err().offset, 9);
        let e = words("a \"bc").unwrap_err();
        assert_eq!((e.offset, e.kind), (2, ErrorKind::UnterminatedQuote));
        let e = words("a b[c d").unwrap_err();
        assert_eq!((e.offset, e.kind), (3, ErrorKind::UnterminatedBracket));
        let e = words("a {b}c").unwrap_err();
        assert_eq!((e.offset, e.kind), (5, ErrorKind::TrailingAfterWord("`}`")));
    }

    #[test]
    fn deep_braces_do_not_recurse() {
        let n = 100_000;
        let src = format!("k {}{}", "{".repeat(n), "}".repeat(n));
        let got = words(&src).unwrap();
        assert_eq!(got[0][1].len(), 2 * n);
        let e = words(&format!("k {}", "{".repeat(n))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnclosedBrace);
    }
}
