//! When the command line uses colour: `--color auto|always|never`, as ripgrep, fd and
//! hyperfine take it.
//!
//! `auto` (the default) colours standard output only when it is a terminal and
//! `NO_COLOR` is not set to a non-empty value (no-color.org: an empty `NO_COLOR` is
//! as good as unset). `always` colours even into a pipe or file (and wins over
//! `NO_COLOR`, as a command-line flag should), `never` never does. The choice is made
//! once, in [`init`], and read everywhere through [`enabled`].

use smartcache::check::Status;
use std::io::IsTerminal;
use std::sync::OnceLock;

/// The `--color` choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Choice {
    /// Colour when standard output is a terminal and NO_COLOR is empty or unset.
    Auto,
    /// Always colour, even into a pipe or file.
    Always,
    /// Never colour.
    Never,
}

static ENABLED: OnceLock<bool> = OnceLock::new();

/// Decide once, from the flag, the environment and standard output.
pub fn init(choice: Choice) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let on = decide(choice, no_color, std::io::stdout().is_terminal());
    let _ = ENABLED.set(on);
}

/// Whether colour is on for a choice, `NO_COLOR` (set and non-empty) and a terminal.
fn decide(choice: Choice, no_color: bool, terminal: bool) -> bool {
    match choice {
        Choice::Always => true,
        Choice::Never => false,
        Choice::Auto => terminal && !no_color,
    }
}

/// Whether standard output is coloured.
pub fn enabled() -> bool {
    *ENABLED.get().unwrap_or(&false)
}

/// `text` in the colour of `status` when colour is on.
pub fn paint(status: Status, text: &str) -> String {
    if !enabled() {
        return text.to_string();
    }
    format!("\x1b[{}m{text}\x1b[0m", ansi(status))
}

/// The ANSI colour code of a status: green, yellow, cyan, red.
pub fn ansi(status: Status) -> &'static str {
    match status {
        Status::Valid => "32",
        Status::Outdated => "33",
        Status::Uncached => "36",
        Status::MissingRender => "31",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_counts_only_when_non_empty() {
        assert!(decide(Choice::Auto, false, true));
        assert!(!decide(Choice::Auto, true, true));
        assert!(!decide(Choice::Auto, false, false));
        assert!(decide(Choice::Always, true, false));
        assert!(!decide(Choice::Never, false, true));
    }
}
