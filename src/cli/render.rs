//! (placeholder: being written)
#[derive(clap::Subcommand)]
pub enum Command {}

pub fn run(c: Command) -> anyhow::Result<u8> {
    match c {}
}
