//! Every knob value of the real scripts in the shared corpus goes through
//! `KnobValue::parse` and `at` without panicking, with parts that tile the text,
//! deterministic canonical bytes, and animations found where the text has keys.
//!
//! Knob values are cut out of the files with a deliberately crude rule (an indented
//! `name {…}` or `name "…"` line, braces balanced), which also feeds whole node blocks in
//! as values: good, since anything a reader hands over must be survivable.

use smartcache::eval::KnobValue;
mod common;

/// Byte ranges of `name {…}` and `name "…"` values that start a line.
fn values(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut line = 0;
    while line < b.len() {
        let mut i = line;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let name_start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
            i += 1;
        }
        if i > name_start && i + 1 < b.len() && b[i] == b' ' {
            let start = i + 1;
            let end = match b[start] {
                b'{' => {
                    let mut depth = 0usize;
                    let mut j = start;
                    loop {
                        if j >= b.len() {
                            break None;
                        }
                        match b[j] {
                            b'\\' => j += 1,
                            b'{' => depth += 1,
                            b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break Some(j + 1);
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                }
                b'"' => {
                    let mut j = start + 1;
                    while j < b.len() && b[j] != b'"' {
                        j += if b[j] == b'\\' { 2 } else { 1 };
                    }
                    (j < b.len()).then_some(j + 1)
                }
                _ => None,
            };
            if let Some(end) = end {
                if text.is_char_boundary(start) && text.is_char_boundary(end) {
                    out.push(&text[start..end]);
                }
            }
        }
        line = match b[line..].iter().position(|&c| c == b'\n') {
            Some(p) => line + p + 1,
            None => b.len(),
        };
    }
    out
}

#[test]
fn every_corpus_value_parses_and_views_consistently() {
    let mut count = 0usize;
    let mut animated = 0usize;
    for path in common::corpus_files() {
        let bytes = std::fs::read(&path).expect("corpus file is readable");
        let text = String::from_utf8_lossy(&bytes);
        for value in values(&text) {
            count += 1;
            let v = KnobValue::parse(value);
            let mut at = 0;
            for p in v.parts().iter() {
                let span = p.span();
                assert_eq!(
                    span.start,
                    at,
                    "{}: parts do not tile {value:?}",
                    path.display()
                );
                at = span.end;
            }
            assert_eq!(at, value.len(), "{}", path.display());
            let a = v.at(1001.0).canonical_bytes();
            let json: serde_json::Value =
                serde_json::from_slice(&a).expect("canonical bytes are JSON");
            assert!(json.get("value").is_some());
            assert_eq!(KnobValue::parse(value).at(1001.0).canonical_bytes(), a);
            if v.is_static() {
                assert_eq!(v.at(-3.5).canonical_bytes(), a, "{value:?} is static");
            }
            // A knob value that is an animation (Nuke writes `{{curve …}}` or
            // `{0 {curve …} 0}`) is found animated.
            let animation_like = value.starts_with("{{curve x") || value.starts_with("{0 {curve x");
            if animation_like {
                assert!(v.is_animated(), "{}: {value:?}", path.display());
                animated += 1;
            }
        }
    }
    assert!(
        count > 10_000,
        "the corpus should yield many knob values, got {count}"
    );
    assert!(animated > 0, "the corpus holds animated knobs");
}
