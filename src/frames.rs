//! Frame lists (`1001-1100`, `1001-1100x2`, `1001,1005,1010-1020`) and frame-numbered
//! file patterns (`out.%04d.exr`, `out.####.exr`).

use std::collections::BTreeSet;

/// A parse error in a frame list, with the byte column (1-based) where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame list \"{spec}\", column {col}: {message}")]
pub struct FrameSpecError {
    /// The frame list as given.
    pub spec: String,
    /// The 1-based column where it went wrong.
    pub col: usize,
    /// What was expected there.
    pub message: String,
}

/// Largest number of frames one list may expand to: a typo such as `1-100000000` is an
/// error, not an hour of hashing.
pub const MAX_FRAMES: usize = 1_000_000;

/// Parse a frame list into sorted, distinct frames.
///
/// Items are separated by commas; an item is `N`, `A-B` or `A-BxS` (every S-th frame
/// from A to B). Negative frames are written with a leading minus (`-5--1`). An error
/// names the column of the very character that is wrong (see
/// [`FrameSpecError::pointer`]).
pub fn parse_frames(spec: &str) -> Result<Vec<i64>, FrameSpecError> {
    let err = |at: usize, message: &str| FrameSpecError {
        spec: spec.to_string(),
        col: spec[..at.min(spec.len())].chars().count() + 1,
        message: message.to_string(),
    };
    let mut frames = BTreeSet::new();
    let mut offset = 0;
    for item in spec.split(',') {
        let start = offset;
        offset += item.len() + 1;
        let lead = item.len() - item.trim_start().len();
        let t = item.trim();
        let at = start + lead;
        if t.is_empty() {
            return Err(err(start, "empty item"));
        }
        let (range, step) = match t.find(['x', 'X']) {
            Some(i) => {
                let text = &t[i + 1..];
                let step_at = at + i + 1 + (text.len() - text.trim_start().len());
                let step: i64 = number(text.trim())
                    .map_err(|bad| err(step_at + bad, "expected a step after 'x'"))?;
                if step <= 0 {
                    return Err(err(step_at, "the step must be positive"));
                }
                (&t[..i], step)
            }
            None => (t, 1),
        };
        // Split `A-B` at a '-' that is not a leading sign.
        let split = range
            .char_indices()
            .skip(1)
            .find(|&(i, c)| c == '-' && !range[..i].ends_with('-'))
            .map(|(i, _)| i);
        let (a, b, b_at) = match split {
            Some(i) => (&range[..i], &range[i + 1..], at + i + 1),
            None => (range, range, at),
        };
        let a_lead = a.len() - a.trim_start().len();
        let a: i64 =
            number(a.trim()).map_err(|bad| err(at + a_lead + bad, "expected a frame number"))?;
        let b_at = b_at + (b.len() - b.trim_start().len());
        let b: i64 = number(b.trim()).map_err(|bad| err(b_at + bad, "expected a frame number"))?;
        if b < a {
            return Err(err(b_at, "the range ends before it starts"));
        }
        let count = ((b - a) / step) as usize + 1;
        if frames.len() + count > MAX_FRAMES {
            return Err(err(at, "too many frames (at most 1,000,000)"));
        }
        let mut f = a;
        while f <= b {
            frames.insert(f);
            f += step;
        }
    }
    Ok(frames.into_iter().collect())
}

/// An integer with an optional leading minus, or the byte offset of the first character
/// that cannot be part of one (the end when the text is empty or the number too large).
fn number(text: &str) -> Result<i64, usize> {
    let digits_from = usize::from(text.starts_with('-'));
    if let Some(bad) = text[digits_from..].find(|c: char| !c.is_ascii_digit()) {
        return Err(digits_from + bad);
    }
    if text.len() == digits_from {
        return Err(text.len());
    }
    text.parse().map_err(|_| 0)
}

impl FrameSpecError {
    /// The frame list and a caret under the wrong character, indented by two spaces:
    ///
    /// ```text
    ///   1001,10a
    ///          ^
    /// ```
    pub fn pointer(&self) -> String {
        format!(
            "  {}\n  {}^",
            self.spec,
            " ".repeat(self.col.saturating_sub(1))
        )
    }
}

/// Frame-list syntaxes of the tools that re-render frames (`check --outdated --format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFormat {
    /// smartcache's own `--frames` syntax: `1040-1060,1075,1080-1090x2`.
    Spec,
    /// Nuke's frame ranges (`nuke -F`, the Frames to render dialog): ranges separated by
    /// spaces, `x` for a step: `1040-1060 1075 1080-1090x2`.
    Nuke,
    /// Deadline's frame list: comma-separated, `x` for a step: `1040-1060,1075,1080-1090x2`.
    Deadline,
    /// OpenCue's frame range (a layer's range): comma-separated, `x` for a step:
    /// `1040-1060,1075,1080-1090x2`.
    OpenCue,
    /// One frame per line.
    List,
}

/// Sorted frames written in `format` (empty for no frames; [`FrameFormat::List`] ends
/// each frame with a newline, the others end without one).
pub fn format_frames(frames: &[i64], format: FrameFormat) -> String {
    match format {
        FrameFormat::Spec | FrameFormat::Deadline | FrameFormat::OpenCue => format_spec(frames),
        FrameFormat::Nuke => ranges(frames).join(" "),
        FrameFormat::List => frames.iter().map(|f| format!("{f}\n")).collect(),
    }
}

/// Collapse sorted frames into compact ranges for people: `[1,2,3,5,7,9]` →
/// `1-3, 5-9x2`.
pub fn format_ranges(frames: &[i64]) -> String {
    ranges(frames).join(", ")
}

/// Collapse sorted frames into a frame list as [`parse_frames`] reads it (and
/// `--frames` takes): `[1,2,3,5,7,9]` → `1-3,5-9x2`.
pub fn format_spec(frames: &[i64]) -> String {
    ranges(frames).join(",")
}

/// The ranges of sorted frames, each as `N`, `A-B` or `A-BxS`.
fn ranges(frames: &[i64]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        let start = frames[i];
        if i + 1 < frames.len() {
            let step = frames[i + 1] - start;
            let mut j = i + 1;
            while j + 1 < frames.len() && frames[j + 1] - frames[j] == step {
                j += 1;
            }
            if step == 1 || j > i + 1 {
                parts.push(if step == 1 {
                    format!("{}-{}", start, frames[j])
                } else {
                    format!("{}-{}x{}", start, frames[j], step)
                });
                i = j + 1;
                continue;
            }
        }
        parts.push(start.to_string());
        i += 1;
    }
    parts
}

/// Substitute `frame` into a file pattern: `%04d`/`%d` (printf style), a run of `#`
/// (one digit per `#`, as Nuke pads), or `$F`/`$F4` (unpadded, padded to 4). A pattern
/// without any is returned unchanged (a single file used for every frame).
pub fn expand_pattern(pattern: &str, frame: i64) -> String {
    if let Some((start, len, width)) = frame_token(pattern) {
        return format!(
            "{}{}{}",
            &pattern[..start],
            pad(frame, width),
            &pattern[start + len..]
        );
    }
    pattern.to_string()
}

/// Whether a pattern names a file per frame (see [`expand_pattern`]).
pub fn has_frame_token(pattern: &str) -> bool {
    frame_token(pattern).is_some()
}

/// The first frame token of a pattern: its byte offset, length and padding width.
fn frame_token(pattern: &str) -> Option<(usize, usize, usize)> {
    let b = pattern.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'%' => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if b.get(i + 1 + digits) == Some(&b'd') {
                    let width = pattern[i + 1..i + 1 + digits]
                        .trim_start_matches('0')
                        .parse()
                        .unwrap_or(0);
                    return Some((i, digits + 2, width));
                }
            }
            b'#' => {
                let len = b[i..].iter().take_while(|&&c| c == b'#').count();
                return Some((i, len, len));
            }
            b'$' if b.get(i + 1) == Some(&b'F') => {
                let digits = b[i + 2..].iter().take_while(|c| c.is_ascii_digit()).count();
                let next = b.get(i + 2 + digits);
                if !next.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                    let width = pattern[i + 2..i + 2 + digits].parse().unwrap_or(0);
                    return Some((i, digits + 2, width));
                }
            }
            _ => {}
        }
    }
    None
}

fn pad(frame: i64, width: usize) -> String {
    if frame < 0 {
        format!("-{:0width$}", -frame, width = width.saturating_sub(1))
    } else {
        format!("{frame:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_spec_reads_back_as_the_same_frames() {
        let frames = [1, 2, 3, 5, 7, 9, 20, -4];
        let mut sorted = frames.to_vec();
        sorted.sort_unstable();
        assert_eq!(format_spec(&sorted), "-4,1-3,5-9x2,20");
        assert_eq!(parse_frames(&format_spec(&sorted)).unwrap(), sorted);
        assert_eq!(format_spec(&[]), "");
    }

    #[test]
    fn frame_lists() {
        assert_eq!(
            parse_frames("1001-1005").unwrap(),
            [1001, 1002, 1003, 1004, 1005]
        );
        assert_eq!(parse_frames("1-9x4").unwrap(), [1, 5, 9]);
        assert_eq!(
            parse_frames("1001,1005,1010-1012").unwrap(),
            [1001, 1005, 1010, 1011, 1012]
        );
        assert_eq!(parse_frames("-3--1, 2").unwrap(), [-3, -2, -1, 2]);
        assert_eq!(parse_frames("5,5,4").unwrap(), [4, 5]);
        let e = parse_frames("1001,10a").unwrap_err();
        assert_eq!(
            e.to_string(),
            "frame list \"1001,10a\", column 8: expected a frame number"
        );
        assert_eq!(e.pointer(), "  1001,10a\n         ^");
        let col = |s: &str| parse_frames(s).unwrap_err().col;
        assert_eq!(col("1-10x"), 6);
        assert_eq!(col("1-10x0"), 6);
        assert_eq!(col("1, 20-1"), 7);
        assert_eq!(col("1,,2"), 3);
        assert_eq!(col("1- 5b"), 5);
        assert_eq!(col("--3"), 2);
        assert!(parse_frames("9-1").is_err());
        assert!(parse_frames("1-10x0").is_err());
        assert!(parse_frames("1-100000000").is_err());
    }

    #[test]
    fn formats_of_render_tools() {
        let frames = [1040, 1041, 1042, 1075, 1080, 1082, 1084];
        assert_eq!(
            format_frames(&frames, FrameFormat::Spec),
            "1040-1042,1075,1080-1084x2"
        );
        assert_eq!(
            format_frames(&frames, FrameFormat::Nuke),
            "1040-1042 1075 1080-1084x2"
        );
        assert_eq!(
            format_frames(&frames, FrameFormat::Deadline),
            "1040-1042,1075,1080-1084x2"
        );
        assert_eq!(
            format_frames(&frames, FrameFormat::OpenCue),
            "1040-1042,1075,1080-1084x2"
        );
        assert_eq!(format_frames(&[3, 4], FrameFormat::List), "3\n4\n");
        assert_eq!(format_frames(&[], FrameFormat::Nuke), "");
    }

    #[test]
    fn ranges_are_compact() {
        assert_eq!(format_ranges(&[1, 2, 3, 5, 7, 9, 20]), "1-3, 5-9x2, 20");
        assert_eq!(format_ranges(&[4]), "4");
        assert_eq!(format_ranges(&[4, 9]), "4, 9");
    }

    #[test]
    fn patterns() {
        assert_eq!(expand_pattern("out.%04d.exr", 7), "out.0007.exr");
        assert_eq!(expand_pattern("out.%d.exr", 1001), "out.1001.exr");
        assert_eq!(expand_pattern("out.####.exr", 42), "out.0042.exr");
        assert_eq!(expand_pattern("still.exr", 42), "still.exr");
        assert_eq!(expand_pattern("o.%04d.exr", -3), "o.-003.exr");
        assert_eq!(expand_pattern("o.$F4.exr", 42), "o.0042.exr");
        assert_eq!(expand_pattern("o.$F.exr", 42), "o.42.exr");
        assert_eq!(expand_pattern("$FOO/o.exr", 42), "$FOO/o.exr");
        assert!(has_frame_token("a.#.exr") && !has_frame_token("a.exr"));
    }
}
