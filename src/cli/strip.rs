//! The one-line coloured strip `check` prints under its summary on a terminal: the
//! checked range at a glance, as the report's timeline shows it in a browser.
//!
//! Frames are bucketed into the terminal's width (a range shorter than the width gets
//! one cell per frame); a bucket shows the most pressing status among its frames
//! (outdated, then missing render, then uncached, then valid), so that no outdated frame
//! disappears in a wide range.

use super::color::ansi;
use smartcache::check::Status;

/// The width to fill: the terminal's, else `$COLUMNS`, else 80.
pub fn width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return usize::from(w).max(1);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&w: &usize| w > 0)
        .unwrap_or(80)
}

/// How pressing a status is in a bucket (higher shows).
fn weight(s: Status) -> u8 {
    match s {
        Status::Valid => 0,
        Status::Uncached => 1,
        Status::MissingRender => 2,
        Status::Outdated => 3,
    }
}

/// The statuses of the cells: `statuses` (one per checked frame, in order) bucketed
/// into at most `width` cells, each the most pressing status of its frames.
pub fn buckets(statuses: &[Status], width: usize) -> Vec<Status> {
    let n = statuses.len();
    let cells = n.min(width.max(1));
    (0..cells)
        .map(|i| {
            let (a, b) = (i * n / cells, ((i + 1) * n / cells).max(i * n / cells + 1));
            statuses[a..b.min(n)]
                .iter()
                .copied()
                .max_by_key(|s| weight(*s))
                .unwrap_or(Status::Valid)
        })
        .collect()
}

/// The strip as coloured block characters (one escape per run of one colour).
pub fn render(statuses: &[Status], width: usize) -> String {
    let cells = buckets(statuses, width);
    let mut out = String::new();
    let mut i = 0;
    while i < cells.len() {
        let run = cells[i..].iter().take_while(|s| **s == cells[i]).count();
        out.push_str(&format!("\x1b[{}m{}", ansi(cells[i]), "█".repeat(run)));
        i += run;
    }
    if !out.is_empty() {
        out.push_str("\x1b[0m");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn frames_are_bucketed_into_the_width() {
        let mut frames = vec![Valid; 100];
        frames[41] = Outdated;
        frames[90] = Uncached;
        let b = buckets(&frames, 10);
        assert_eq!(b.len(), 10);
        assert_eq!(b[4], Outdated);
        assert_eq!(b[9], Uncached);
        assert_eq!(b.iter().filter(|s| **s == Valid).count(), 8);
        // Fewer frames than cells: one cell per frame.
        assert_eq!(buckets(&[Valid, Outdated], 80), [Valid, Outdated]);
        assert!(buckets(&[], 80).is_empty());
        assert_eq!(
            render(&[Valid, Valid, Outdated], 80),
            "\x1b[32m██\x1b[33m█\x1b[0m"
        );
    }
}
