//! `smartcache completions SHELL` and `smartcache man`: shell completions and the man
//! page, generated from the same clap definitions that parse the command line, so that
//! neither can drift from the flags the binary takes.

use super::{Cli, EXIT_OK};
use clap::CommandFactory;

/// `smartcache completions`.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
smartcache completions bash > ~/.local/share/bash-completion/completions/smartcache\n  \
smartcache completions zsh > ~/.zfunc/_smartcache   # with fpath+=(~/.zfunc) in ~/.zshrc\n  \
smartcache completions fish > ~/.config/fish/completions/smartcache.fish")]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Print the completion script of `args.shell`.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "smartcache", &mut buf);
    write_stdout(&buf)?;
    Ok(EXIT_OK)
}

/// Print the man page, in roff.
pub fn man() -> anyhow::Result<u8> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    write_stdout(&buf)?;
    Ok(EXIT_OK)
}

/// Write bytes to standard output (a closed pipe is an error the caller ends quietly on).
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}
