//! `smartcache classes`: the node-class profile in force, its fingerprint, and what it
//! says of given classes.

use super::EXIT_OK;
use smartcache::profile::Profile;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  smartcache classes --class TimeOffset --class Switch\n  \
smartcache classes --profile studio.profile --json\n  smartcache classes --host blender"
)]
pub struct Args {
    /// Extra profile files, layered over the built-in profile and $SMARTCACHE_PROFILE.
    #[arg(long = "profile", value_name = "FILE")]
    profiles: Vec<PathBuf>,
    /// The host whose built-in profile to start from.
    #[arg(long, default_value = "nuke")]
    host: String,
    /// Show the semantics the profile gives this class (repeatable).
    #[arg(long = "class", value_name = "CLASS")]
    classes: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let profile = Profile::load(&args.host, &args.profiles)?;
    if args.json {
        let lines: Vec<_> = profile
            .lines()
            .map(|(origin, d)| serde_json::json!({"origin": origin, "directive": d}))
            .collect();
        let classes: serde_json::Map<String, serde_json::Value> = args
            .classes
            .iter()
            .map(|c| {
                let s = profile.semantics(c);
                (
                    c.clone(),
                    serde_json::to_value(&*s).expect("semantics serialize"),
                )
            })
            .collect();
        let doc = serde_json::json!({
            "profile": profile.name(),
            "fingerprint": profile.fingerprint(),
            "lines": lines,
            "classes": classes,
        });
        super::print_json(&doc)?;
        return Ok(EXIT_OK);
    }
    if args.classes.is_empty() {
        outln!(
            "# profile {}, fingerprint {}",
            profile.name(),
            profile.fingerprint()
        )?;
        for (origin, d) in profile.lines() {
            outln!("{d:<60}  # {origin}")?;
        }
        return Ok(EXIT_OK);
    }
    for c in &args.classes {
        let s = profile.semantics(c);
        let known = if s.known {
            "known"
        } else {
            "not known to the profile: a plug-in or a gizmo"
        };
        outln!("{c} ({known})")?;
        let json = serde_json::to_string_pretty(&*s).expect("semantics serialize");
        for line in json.lines() {
            outln!("  {line}")?;
        }
    }
    Ok(EXIT_OK)
}
