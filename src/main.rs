//! The `smartcache` command line: parse arguments and hand over to [`cli`].
mod cli;

/// On Linux the command line allocates with jemalloc (as fd does), built to give free
/// pages back at once (`.cargo/config.toml`). A record or check reads the whole
/// script, builds the output's setup from it, lets the script go and then hashes
/// frames: glibc's allocator keeps most of the script's pages, scattered between the
/// setup's, so they counted again in the peak: 68 MB against jemalloc's 59 MB for a
/// record of a 50,000-node script of 6.3 MB (mimalloc, the Python extension's
/// allocator: 113 MB, 73 MB with its purge delay at 0).
#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
