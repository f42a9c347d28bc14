//! The `smartcache` command line: parse arguments and hand over to [`cli`].
mod cli;

fn main() -> std::process::ExitCode {
    quiet_on_closed_pipe();
    cli::main()
}

/// `smartcache graph big.nk --json | head` closes our standard output early. Like
/// other Unix tools, end quietly then instead of reporting a panic: `println!` panics
/// on a broken pipe, so the panic hook recognises that one message and exits 0.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("Broken pipe") && msg.contains("failed printing to stdout") {
            std::process::exit(0);
        }
        default(info);
    }));
}
