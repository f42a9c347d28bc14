//! `smartcache status`: every cache of scripts at a glance, as smartCache's cache
//! manager shows the caches of a working file, for a whole show at once.
//!
//! The caches of a script are found by convention ([`smartcache::render::caches`]): each
//! Write node, and every output recorded in the `.smartcache` folder beside the script
//! (or under `--cache-root`). Each cache is checked over its frame range (the Write
//! node's own range when `use_limit` is on, else the script's) with a read-only check,
//! so that looking writes nothing; `--snapshot` writes the snapshot a `check` would.
//! Scripts are surveyed in parallel. The survey ([`survey`]) is shared with `report`.

use super::render::HashArgs;
use super::{color, print_json, EXIT_ERROR, EXIT_INVALID, EXIT_OK};
use rayon::prelude::*;
use smartcache::check::Status;
use smartcache::frames::format_spec;
use smartcache::render::{self, caches, CheckOptions, CheckReport};
use smartcache::store::CacheDir;
use std::path::{Path, PathBuf};

/// `smartcache status`.
#[derive(clap::Args)]
#[command(
    after_help = "Caches are found by convention: for each Write node of a \
script (and each other output recorded there), .smartcache/<script stem>/<node> beside \
the script, or <cache root>/<script stem>/<node> with --cache-root; record and check use \
the same directory when --cache-dir is not given. A Write node without a cache is listed \
as \"no cache\" and does not change the exit status.\n\n\
Each cache is checked over the Write node's frame range (first-last when use_limit is \
on) or the script's, without writing anything (--snapshot writes the snapshot check \
writes). Directories are searched for .nk files (hidden folders skipped), scripts \
checked in parallel.\n\n\
Exit status: 0 when every cache is valid, 1 when any is not, 2 when a script or cache \
cannot be read.\n\n\
Examples:\n  smartcache status comp.nk\n  smartcache status shots/ --json\n  \
smartcache status shots/ --cache-root /caches/show --snapshot"
)]
pub struct Args {
    /// Scripts, or directories searched for .nk scripts.
    #[arg(required = true, value_name = "SCRIPT|DIR")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    find: FindArgs,
    /// Print `{"caches":[{"script","node","cache_dir","frames","state","summary",…}],"valid"}`.
    #[arg(long)]
    json: bool,
}

/// How caches are found and checked (shared by `status` and `report`).
#[derive(clap::Args)]
pub struct FindArgs {
    /// Caches live under DIR, one directory per script stem and node
    /// (`DIR/<script stem>/<node>`), instead of beside each script.
    #[arg(long, value_name = "DIR")]
    pub cache_root: Option<PathBuf>,
    /// Write a timestamped snapshot into each cache checked (as `check` does); by
    /// default nothing is written.
    #[arg(long)]
    pub snapshot: bool,
    #[command(flatten)]
    pub hashing: HashArgs,
}

/// One cache of one script, and what its check found.
pub struct Row {
    /// The script.
    pub script: PathBuf,
    /// The output node (empty when the script itself cannot be read).
    pub node: String,
    /// Its cache directory.
    pub cache_dir: PathBuf,
    /// The frames checked, first and last.
    pub range: (i64, i64),
    /// What was found.
    pub state: State,
}

/// What a cache's check found.
pub enum State {
    /// The cache directory holds no master: nothing recorded.
    NotRecorded,
    /// Checked.
    Checked(Box<CheckReport>),
    /// The script or the cache cannot be read (the error, naming the file).
    Failed(String),
}

impl Row {
    /// Whether this row makes the exit status non-zero, and how.
    fn exit(&self) -> u8 {
        match &self.state {
            State::NotRecorded => EXIT_OK,
            State::Checked(r) if r.all_valid() => EXIT_OK,
            State::Checked(_) => EXIT_INVALID,
            State::Failed(_) => EXIT_ERROR,
        }
    }

    /// The most pressing status among the checked frames (`None` unless checked).
    pub fn worst(&self) -> Option<Status> {
        let State::Checked(r) = &self.state else {
            return None;
        };
        let rank = |s: &Status| match s {
            Status::Valid => 0,
            Status::Uncached => 1,
            Status::MissingRender => 2,
            Status::Outdated => 3,
        };
        r.frames.iter().map(|f| f.status).max_by_key(rank)
    }

    /// The first frame that is not valid, with its first reason's text (or its status
    /// when it has no reason, as an uncached frame).
    pub fn first_reason(&self) -> Option<(i64, Status, String)> {
        let State::Checked(r) = &self.state else {
            return None;
        };
        let f = r.frames.iter().find(|f| f.status != Status::Valid)?;
        let text = f
            .reasons
            .first()
            .map_or_else(|| f.status.as_str().to_string(), |x| x.text.clone());
        Some((f.frame, f.status, text))
    }
}

/// The combined exit status of rows: 2 when any failed, else 1 when any is not valid.
pub fn exit_of(rows: &[Row]) -> u8 {
    rows.iter().map(Row::exit).max().unwrap_or(EXIT_OK)
}

/// Find every cache of the scripts named (directories searched) and check each.
pub fn survey(paths: &[PathBuf], find: &FindArgs) -> anyhow::Result<Vec<Row>> {
    let scripts = caches::find_scripts(paths)?;
    if scripts.is_empty() {
        anyhow::bail!(
            "no .nk scripts found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let bar = scripts_bar(scripts.len());
    let rows: Vec<Vec<Row>> = scripts
        .par_iter()
        .map(|script| {
            let rows = survey_script(script, find);
            bar.inc(1);
            rows
        })
        .collect();
    bar.finish_and_clear();
    Ok(rows.into_iter().flatten().collect())
}

/// A progress bar over scripts on standard error, drawn only on a terminal and for a
/// directory of several scripts.
fn scripts_bar(len: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || len < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("checking {bar:40} {pos}/{len} scripts ({eta})")
            .expect("a valid template"),
    );
    bar
}

/// The caches of one script, checked.
fn survey_script(path: &Path, find: &FindArgs) -> Vec<Row> {
    let root = find.cache_root.as_deref();
    let (loaded, rules, profile) = match find.hashing.load(path) {
        Ok(l) => l,
        Err(e) => {
            return vec![Row {
                script: path.to_path_buf(),
                node: String::new(),
                cache_dir: caches::scripts_caches(path, root),
                range: (0, 0),
                state: State::Failed(super::error_chain(&e)),
            }]
        }
    };
    let script_range = loaded.script.frame_range();
    let mut outputs: Vec<(String, PathBuf, (i64, i64))> = caches::write_nodes(&loaded.script)
        .into_iter()
        .map(|w| {
            let dir = caches::cache_dir_for(path, &w.name, root);
            (w.name, dir, w.limit.unwrap_or(script_range))
        })
        .collect();
    for (node, dir) in caches::recorded_nodes(path, root) {
        if !outputs.iter().any(|(n, d, _)| *n == node || *d == dir) {
            outputs.push((node, dir, script_range));
        }
    }
    outputs
        .into_iter()
        .map(|(node, cache_dir, range)| {
            let cache = CacheDir::new(&cache_dir);
            let state = if !cache.master_path().exists() && !cache.master_backup_path().exists() {
                State::NotRecorded
            } else {
                let frames: Vec<i64> = (range.0..=range.1).collect();
                let opts = CheckOptions::new(&node, &rules, &profile)
                    .frames(&frames)
                    .snapshot(find.snapshot);
                match render::check(&loaded, &cache, &opts) {
                    Ok(report) => {
                        for w in &report.warnings {
                            eprintln!("warning: {} {node}: {w}", path.display());
                        }
                        State::Checked(Box::new(report))
                    }
                    Err(e) => State::Failed(format!("{}: {node}: {e}", path.display())),
                }
            };
            Row {
                script: path.to_path_buf(),
                node,
                cache_dir,
                range,
                state,
            }
        })
        .collect()
}

/// `smartcache status`.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let rows = survey(&args.paths, &args.find)?;
    for r in &rows {
        if let State::Failed(e) = &r.state {
            eprintln!("error: {e}");
        }
    }
    if args.json {
        print_json(&to_json(&rows))?;
    } else {
        print_table(&rows)?;
    }
    Ok(exit_of(&rows))
}

/// The counts of a checked cache per status.
fn count(r: &CheckReport, s: Status) -> usize {
    r.frames.iter().filter(|f| f.status == s).count()
}

/// One row per cache, columns aligned, then a summary line.
fn print_table(rows: &[Row]) -> std::io::Result<()> {
    let head = [
        "SCRIPT",
        "NODE",
        "FRAMES",
        "STATUS",
        "VALID",
        "OUTDATED",
        "UNCACHED",
        "MISSING",
        "FIRST REASON",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            let frames = range_text(r);
            let (status, counts, reason) = match &r.state {
                State::NotRecorded => (
                    "no cache".to_string(),
                    ["-"; 4].map(String::from),
                    format!("nothing recorded in {}", r.cache_dir.display()),
                ),
                State::Failed(e) => ("error".to_string(), ["-"; 4].map(String::from), e.clone()),
                State::Checked(c) => (
                    r.worst().map_or("valid", Status::as_str).to_string(),
                    [
                        Status::Valid,
                        Status::Outdated,
                        Status::Uncached,
                        Status::MissingRender,
                    ]
                    .map(|s| count(c, s).to_string()),
                    r.first_reason()
                        .map(|(f, _, t)| format!("{f}: {t}"))
                        .unwrap_or_default(),
                ),
            };
            let [v, o, u, m] = counts;
            [
                r.script.display().to_string(),
                if r.node.is_empty() {
                    "-".into()
                } else {
                    r.node.clone()
                },
                frames,
                status,
                v,
                o,
                u,
                m,
                reason,
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, cell) in width.iter_mut().zip(c) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |c: &[String; 9], paint: Option<Status>| -> String {
        let mut s = String::new();
        for (i, cell) in c.iter().enumerate() {
            let pad = width[i].saturating_sub(cell.chars().count());
            let shown = match (i, paint) {
                (3, Some(st)) => color::paint(st, cell),
                _ => cell.clone(),
            };
            if i == 8 {
                s.push_str(&shown);
            } else if (4..8).contains(&i) {
                s.push_str(&" ".repeat(pad));
                s.push_str(&shown);
                s.push_str("  ");
            } else {
                s.push_str(&shown);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string()
    };
    outln!("{}", line(&head.map(String::from), None))?;
    for (r, c) in rows.iter().zip(&cells) {
        outln!("{}", line(c, r.worst()))?;
    }
    let checked = rows
        .iter()
        .filter(|r| matches!(r.state, State::Checked(_)))
        .count();
    let valid = rows
        .iter()
        .filter(|r| matches!(&r.state, State::Checked(c) if c.all_valid()))
        .count();
    let uncached = rows
        .iter()
        .filter(|r| matches!(r.state, State::NotRecorded))
        .count();
    let failed = rows
        .iter()
        .filter(|r| matches!(r.state, State::Failed(_)))
        .count();
    let mut scripts: Vec<&Path> = rows.iter().map(|r| r.script.as_path()).collect();
    scripts.dedup();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut summary = format!(
        "{} in {}: {valid} valid, {} not valid",
        plural(checked, "cache", "caches"),
        plural(scripts.len(), "script", "scripts"),
        checked - valid
    );
    if uncached > 0 {
        summary.push_str(&format!(
            ", {} without a cache",
            plural(uncached, "output", "outputs")
        ));
    }
    if failed > 0 {
        summary.push_str(&format!(", {}", plural(failed, "error", "errors")));
    }
    outln!("{summary}")
}

/// `status --json`.
fn to_json(rows: &[Row]) -> serde_json::Value {
    let caches: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::json!({
                "script": r.script,
                "node": r.node,
                "cache_dir": r.cache_dir,
                "frames": range_text(r),
            });
            match &r.state {
                State::NotRecorded => v["state"] = "not-recorded".into(),
                State::Failed(e) => {
                    v["state"] = "error".into();
                    v["error"] = e.clone().into();
                }
                State::Checked(c) => {
                    v["state"] = "checked".into();
                    v["valid"] = c.all_valid().into();
                    v["summary"] = c
                        .counts()
                        .into_iter()
                        .map(|(k, n)| (k.as_str().to_string(), serde_json::Value::from(n)))
                        .collect::<serde_json::Map<_, _>>()
                        .into();
                    v["to_render"] = format_spec(&c.to_render()).into();
                    v["snapshot"] = serde_json::to_value(&c.snapshot).unwrap_or_default();
                    if let Some(f) = c.frames.iter().find(|f| f.status != Status::Valid) {
                        v["first_reason"] = serde_json::json!({
                            "frame": f.frame,
                            "status": f.status,
                            "reason": f.reasons.first(),
                        });
                    }
                }
            }
            v
        })
        .collect();
    serde_json::json!({
        "caches": caches,
        "valid": exit_of(rows) == EXIT_OK,
    })
}

/// The frames of a row's range (`1001-1100`; `-` when the script cannot be read).
pub fn range_text(r: &Row) -> String {
    if r.node.is_empty() {
        "-".to_string()
    } else {
        format!("{}-{}", r.range.0, r.range.1)
    }
}
