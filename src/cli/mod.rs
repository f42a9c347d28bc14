//! Command-line front end. Each subcommand lives in the file named after it and
//! returns its exit status; errors print as `error: …` and exit with status 2.
//!
//! Results go to standard output through [`outln!`] and [`out!`], which return the
//! write error instead of panicking as `println!` does. When the reader of a pipe has
//! gone (`smartcache graph big.nk --json | head`), that error travels up to [`main`],
//! which ends quietly with status 0, as Unix tools killed by `SIGPIPE` do (the Rust
//! runtime ignores the signal, so the write fails instead).

/// `print!` to standard output, returning the `io::Result` of the write.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `println!` to standard output, returning the `io::Result` of the write.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod classes;
mod color;
mod completions;
mod convert;
mod dataset;
mod graph;
mod render;
mod report;
mod rules;
mod status;
mod strip;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for "every checked item is fine".
pub const EXIT_OK: u8 = 0;
/// Exit status for "some item is not valid / not fine".
pub const EXIT_INVALID: u8 = 1;
/// Exit status for errors: bad input, I/O failure.
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "smartcache",
    version,
    about = "Which cached frames are still valid, and why are the others not?",
    long_about = "smartcache reads compositing scripts (Nuke .nk/.gizmo or a host-neutral JSON \
graph) into a dependency graph, hashes a per-frame manifest of everything a cached \
output depends on, and tells frame by frame whether a cache is still valid and why not.\n\n\
Exit status: 0 when everything checked is valid, 1 when something is not, 2 on error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour the output: auto (a terminal, and NO_COLOR empty or unset),
    /// always, never.
    #[arg(long, global = true, value_enum, default_value_t = color::Choice::Auto, value_name = "WHEN")]
    color: color::Choice,
}

#[derive(Subcommand)]
enum Command {
    /// Read a script and summarise its graph (or print it as JSON or Graphviz).
    Graph(graph::Args),
    /// Write a script as a host-neutral JSON graph (reading it back gives the same graph).
    Convert(convert::Args),
    /// Show the ignore rules in force and their fingerprint.
    Rules(rules::Args),
    /// Show the node-class profile in force, its fingerprint, and what it says of classes.
    Classes(classes::Args),
    /// Render-cache validity: manifest, record, check, explain, snapshots, prune.
    #[command(flatten)]
    Render(render::Command),
    /// Every cache of scripts (or of every .nk below directories) at a glance: one row
    /// per cache with its counts per status and the first reason. Exit 0 only when all
    /// are valid.
    Status(status::Args),
    /// Write a self-contained HTML page of every cache of scripts: a timeline strip per
    /// cache, the reasons per outdated range, a summary table.
    Report(report::Args),
    /// File-level, content-addressed dataset cache.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  smartcache dataset build images/ --cache-dir cache \
--variant 512 --exec 'convert {in} -resize 512x512 {out}'\n  \
smartcache dataset status images/ --cache-dir cache\n  \
smartcache dataset get images/cat.jpg --cache-dir cache --variant 512"
    )]
    Dataset(dataset::Command),
    /// Print a shell completion script (bash, zsh or fish) generated from these
    /// definitions.
    Completions(completions::Args),
    /// Print the man page (roff) generated from these definitions.
    #[command(
        after_help = "Examples:\n  smartcache man > smartcache.1 && man ./smartcache.1\n  \
smartcache man | gzip > /usr/local/share/man/man1/smartcache.1.gz"
    )]
    Man,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    color::init(cli.color);
    let result = match cli.command {
        Command::Graph(a) => graph::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Classes(a) => classes::run(a),
        Command::Render(c) => render::run(c),
        Command::Dataset(c) => dataset::run(c),
        Command::Status(a) => status::run(a),
        Command::Report(a) => report::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man => completions::man(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has gone: nobody is left to
/// read an error message either.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Print the warnings the reader gave about a script on standard error.
pub fn warn_script(script: &smartcache::graph::Script) {
    for w in &script.warnings {
        eprintln!("warning: {w}");
    }
}

/// Print a JSON document, pretty, on standard output.
pub fn print_json(v: &serde_json::Value) -> std::io::Result<()> {
    outln!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON serializes")
    )
}

/// An error and its causes on one line, `outer: inner: …`, leaving out a cause whose
/// text the message already holds (library errors often quote their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every subcommand, at any depth, with its path (`dataset build`).
    fn every_command() -> Vec<(String, clap::Command)> {
        let mut out = Vec::new();
        let mut todo = vec![(String::new(), Cli::command())];
        while let Some((path, cmd)) = todo.pop() {
            for sub in cmd.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                let p = format!("{path} {}", sub.get_name()).trim().to_string();
                todo.push((p, sub.clone()));
            }
            out.push((path, cmd));
        }
        out
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_argument_has_help_and_every_subcommand_examples() {
        let mut missing = Vec::new();
        for (path, cmd) in every_command() {
            if !path.is_empty() {
                let help = cmd
                    .get_after_help()
                    .or(cmd.get_after_long_help())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if !help.contains("Examples:\n") {
                    missing.push(format!("`smartcache {path}` has no Examples section"));
                }
            }
            if !path.is_empty() && cmd.get_about().is_none() {
                missing.push(format!("`smartcache {path}` has no description"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let empty = |h: Option<&clap::builder::StyledStr>| {
                    h.is_none_or(|h| h.to_string().trim().is_empty())
                };
                if empty(arg.get_help()) && empty(arg.get_long_help()) {
                    missing.push(format!("`smartcache {path}`: argument `{id}` has no help"));
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
