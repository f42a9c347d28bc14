//! The `smartcache` command line: parse arguments and hand over to [`cli`].
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
