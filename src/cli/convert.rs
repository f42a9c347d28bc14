//! `smartcache convert`: write a script as a host-neutral JSON graph.
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  smartcache convert comp.nk -o comp.json\n  \
smartcache convert comp.nk | jq '.nodes | length'"
)]
pub struct Args {
    /// The script to convert (.nk, .gizmo, or a JSON graph).
    script: PathBuf,
    /// Where to write the JSON graph (written atomically); standard output when absent.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let script = smartcache::graph::LoadedScript::read(&args.script)?.script;
    super::warn_script(&script);
    let text = smartcache::json_graph::write(&script);
    match args.output {
        Some(out) => smartcache::fsutil::atomic_write(&out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?,
        None => out!("{text}")?,
    }
    Ok(super::EXIT_OK)
}
