//! Tokens of Nuke's expression language (after Tcl substitution).

use super::ctx::Ctx;
use super::error::{malformed, unsupported, Unknown};
use super::number::{parse_lexeme, scan_number, NumText};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    /// A name or dotted path as written: `frame`, `Blur1.size`, `matrix.0`.
    Name(String),
    /// `+ - * / % ! < > <= >= == != && ||`.
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Question,
    Colon,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte range in the substituted text, for error messages.
    pub start: usize,
    pub end: usize,
}

fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Splits `s` into tokens. Operators whose meaning in Nuke is not documented (`**`,
/// `^`, `&`, `|`, `~`, `<<`, `>>`) are Unsupported; any other stray character is
/// Malformed.
pub(crate) fn tokens(ctx: &mut Ctx<'_>, s: &str) -> Result<Vec<Token>, Unknown> {
    ctx.charge(s.len(), s)?;
    let b = s.as_bytes();
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        let start = i;
        let tok = if c.is_ascii_digit() || (c == b'.' && at(i + 1).is_ascii_digit()) {
            let len = scan_number(b, i);
            i += len;
            let lexeme = &s[start..i];
            if ident_char(at(i)) || at(i) == b'.' {
                return malformed(&s[start..=i], "malformed number");
            }
            match parse_lexeme(lexeme) {
                NumText::Int(v) => Tok::Num(v as f64),
                NumText::Dbl(v) => Tok::Num(v),
                NumText::Unclear => {
                    return unsupported(
                        lexeme,
                        "number whose reading differs between parsers (leading zero, overflow)",
                    )
                }
                NumText::NotNumber => return malformed(lexeme, "malformed number"),
            }
        } else if ident_start(c) {
            i += 1;
            while ident_char(at(i)) {
                i += 1;
            }
            while at(i) == b'.' && ident_char(at(i + 1)) {
                i += 1;
                while ident_char(at(i)) {
                    i += 1;
                }
            }
            Tok::Name(s[start..i].to_owned())
        } else {
            let two = [c, at(i + 1)];
            let (tok, len) = match &two {
                b"<=" => (Tok::Op("<="), 2),
                b">=" => (Tok::Op(">="), 2),
                b"==" => (Tok::Op("=="), 2),
                b"!=" => (Tok::Op("!="), 2),
                b"&&" => (Tok::Op("&&"), 2),
                b"||" => (Tok::Op("||"), 2),
                b"**" | b"<<" | b">>" => {
                    return unsupported(&s[i..i + 2], "operator not documented for Nuke")
                }
                _ => match c {
                    b'+' => (Tok::Op("+"), 1),
                    b'-' => (Tok::Op("-"), 1),
                    b'*' => (Tok::Op("*"), 1),
                    b'/' => (Tok::Op("/"), 1),
                    b'%' => (Tok::Op("%"), 1),
                    b'!' => (Tok::Op("!"), 1),
                    b'<' => (Tok::Op("<"), 1),
                    b'>' => (Tok::Op(">"), 1),
                    b'(' => (Tok::LParen, 1),
                    b')' => (Tok::RParen, 1),
                    b',' => (Tok::Comma, 1),
                    b'?' => (Tok::Question, 1),
                    b':' => (Tok::Colon, 1),
                    b'^' | b'&' | b'|' | b'~' => {
                        return unsupported(&s[i..i + 1], "operator not documented for Nuke")
                    }
                    _ => {
                        let end = s[i..].chars().next().map_or(i + 1, |ch| i + ch.len_utf8());
                        return malformed(&s[i..end], "unexpected character in expression");
                    }
                },
            };
            i += len;
            tok
        };
        out.push(Token { tok, start, end: i });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::interp::scope::NoScope;

    fn lex(s: &str) -> Result<Vec<Tok>, Unknown> {
        let mut scope = NoScope;
        let mut ctx = Ctx::new(&mut scope, 1.0, s, crate::eval::interp::ctx::no_commands);
        tokens(&mut ctx, s).map(|v| v.into_iter().map(|t| t.tok).collect())
    }

    #[test]
    fn paths_numbers_and_operators() {
        assert_eq!(
            lex("parent.size.w*2>=.5 ? matrix.0 : -Blur1.size(frame-1)").unwrap(),
            vec![
                Tok::Name("parent.size.w".into()),
                Tok::Op("*"),
                Tok::Num(2.0),
                Tok::Op(">="),
                Tok::Num(0.5),
                Tok::Question,
                Tok::Name("matrix.0".into()),
                Tok::Colon,
                Tok::Op("-"),
                Tok::Name("Blur1.size".into()),
                Tok::LParen,
                Tok::Name("frame".into()),
                Tok::Op("-"),
                Tok::Num(1.0),
                Tok::RParen,
            ]
        );
        assert_eq!(lex("0x10").unwrap(), vec![Tok::Num(16.0)]);
    }

    #[test]
    fn bad_tokens() {
        for (text, part) in [
            ("2pi", "2p"),
            ("1.2.3", "1.2."),
            ("a . b", "."),
            ("a = b", "="),
            ("\"x\"", "\""),
            ("2**3", "**"),
            ("1 ^ 2", "^"),
            ("010", "010"),
            ("é", "é"),
        ] {
            assert_eq!(lex(text).unwrap_err().part, part, "{text}");
        }
    }
}
