//! `smartcache dataset …`: the file-level dataset cache from the command line.
//!
//! The library does the work ([`smartcache::dataset`]); this file parses arguments, runs
//! `--exec` commands as transforms, draws the progress bar and prints reports.

use super::{EXIT_INVALID, EXIT_OK};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use smartcache::dataset::{
    self, ArtifactState, BuildObserver, BuildOptions, DatasetCache, DatasetError, FileState, Shard,
    StatusOptions,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Exit status of a build stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report).
const EXIT_INTERRUPTED: u8 = 130;

#[derive(clap::Subcommand)]
pub enum Command {
    /// What changed since the cache was built: new, changed, touched, removed, unchanged,
    /// deduplicated files and missing artifacts. Changes nothing. Exit 1 when anything
    /// is not up to date.
    Status(StatusArgs),
    /// Run the transform where needed: `--exec 'CMD {in} {out}'`, once per distinct
    /// content; identical sources share one artifact. Exit 1 when any source failed.
    /// Ctrl-C (or SIGTERM) lets running transforms finish, saves the index and exits 130;
    /// a second one stops at once (losing at most one checkpoint interval).
    Build(BuildArgs),
    /// Print the path of the artifact serving PATH for a variant.
    Get(GetArgs),
    /// Check that every entry has its artifacts, producer and checksums (can the cache
    /// serve without the sources?). Exit 1 on any problem.
    Verify(VerifyArgs),
    /// Delete artifacts no entry references (preview with --dry-run).
    Gc(GcArgs),
}

#[derive(clap::Args)]
pub struct CacheArg {
    /// The cache directory.
    #[arg(long, value_name = "DIR")]
    cache: PathBuf,
}

#[derive(clap::Args)]
pub struct TrustArg {
    /// Trust the index for files it knows, without checking them (slow storage). Also
    /// turned on by SMARTCACHE_TRUST_INDEX=1.
    #[arg(long)]
    trust_index: bool,
}

impl TrustArg {
    fn on(&self) -> bool {
        self.trust_index || dataset::trust_from_env()
    }
}

#[derive(clap::Args)]
pub struct ProducerArgs {
    /// The transform command; `{in}` and `{out}` are replaced by the (shell-quoted) source
    /// and output paths and the result runs under `sh -c`.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,
    /// Producer id (transform name and version). Default: derived from --exec and --ext,
    /// so another command never serves the old command's artifacts.
    #[arg(long)]
    producer: Option<String>,
    /// Extension of artifact files (some tools pick the output format from it).
    #[arg(long, value_name = "EXT")]
    ext: Option<String>,
}

impl ProducerArgs {
    fn producer(&self) -> Option<String> {
        self.producer.clone().or_else(|| {
            self.exec.as_ref().map(|cmd| {
                let ext = self.ext.as_deref().unwrap_or("");
                let h = smartcache::hash::hex128(format!("{cmd}\0{ext}").as_bytes());
                format!("exec:{}", &h[..16])
            })
        })
    }
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Source files and directories.
    #[arg(required = true, value_name = "SRC")]
    sources: Vec<PathBuf>,
    #[command(flatten)]
    cache: CacheArg,
    /// Check artifacts of this variant only (default: every variant the cache has).
    #[arg(long)]
    variant: Option<String>,
    #[command(flatten)]
    producer: ProducerArgs,
    #[command(flatten)]
    trust: TrustArg,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// Source files and directories.
    #[arg(required = true, value_name = "SRC")]
    sources: Vec<PathBuf>,
    #[command(flatten)]
    cache: CacheArg,
    /// Variant key (e.g. 512x512, proxy-half).
    #[arg(long)]
    variant: String,
    #[command(flatten)]
    producer: ProducerArgs,
    /// Transforms to run at once (default: one per core).
    #[arg(short = 'j', long, default_value_t = 0)]
    jobs: usize,
    /// Handle only shard K of N (1-based) of the sources: farm nodes sharing one cache.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Seconds between index checkpoints during the build.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    checkpoint: f64,
    #[command(flatten)]
    trust: TrustArg,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct GetArgs {
    /// The source file.
    path: PathBuf,
    #[command(flatten)]
    cache: CacheArg,
    #[arg(long)]
    variant: String,
    /// Producer the artifact must come from (default: the variant's current producer).
    #[arg(long)]
    producer: Option<String>,
    #[command(flatten)]
    trust: TrustArg,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    cache: CacheArg,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct GcArgs {
    #[command(flatten)]
    cache: CacheArg,
    /// Show what would be deleted (count, bytes, paths) and delete nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(c: Command) -> anyhow::Result<u8> {
    match c {
        Command::Status(a) => status(a),
        Command::Build(a) => build(a),
        Command::Get(a) => get(a),
        Command::Verify(a) => verify(a),
        Command::Gc(a) => gc(a),
    }
}

/// Open the cache for writing (created if needed).
fn open(dir: &Path) -> anyhow::Result<DatasetCache> {
    DatasetCache::open(dir).with_context(|| format!("opening cache {}", dir.display()))
}

/// Open the cache for reading: nothing is created.
fn open_ro(dir: &Path) -> anyhow::Result<DatasetCache> {
    DatasetCache::at(dir).with_context(|| format!("opening cache {}", dir.display()))
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn status(a: StatusArgs) -> anyhow::Result<u8> {
    let cache = open_ro(&a.cache.cache)?;
    let opts = StatusOptions {
        variant: a.variant.clone(),
        producer: a.producer.producer(),
        ext: a.producer.ext.clone(),
        trust_index: a.trust.on(),
        // The text report prints only files that need attention.
        changes_only: !a.json,
    };
    let report = cache.status_of(&a.sources, &opts)?;
    warn_all(&report.warnings);
    if a.json {
        print_json(&report)?;
    } else {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for f in &report.files {
            let label = match f.state {
                FileState::New => "new",
                FileState::Changed => "changed",
                FileState::Touched => "touched",
                FileState::Removed => "removed",
                FileState::Unreadable => "unreadable",
                FileState::Unchanged => "",
            };
            if !label.is_empty() {
                write!(out, "{label:<11}{}", f.path)?;
                if let Some(e) = &f.error {
                    write!(out, ": {e}")?;
                }
                writeln!(out)?;
            }
            for (v, s) in &f.artifacts {
                match s {
                    ArtifactState::Missing => writeln!(out, "{:<11}{} [{v}]", "missing", f.path)?,
                    ArtifactState::Reusable => writeln!(out, "{:<11}{} [{v}]", "reusable", f.path)?,
                    ArtifactState::Present => {}
                }
            }
            if let Some(e) = &f.failure {
                writeln!(out, "{:<11}{}: {e}", "failed", f.path)?;
            }
        }
        let c = &report.counts;
        writeln!(
            out,
            "{} new, {} changed, {} touched, {} removed, {} unchanged, {} deduplicated, {} missing artifacts, {} reusable, {} failed ({} files read)",
            c.new, c.changed, c.touched, c.removed, c.unchanged, c.deduplicated, c.missing_artifacts,
            c.reusable_artifacts, c.failed, c.hashed
        )?;
    }
    let code = if report.is_clean() {
        EXIT_OK
    } else {
        EXIT_INVALID
    };
    // The process ends here: freeing 100,000 report rows one by one is wasted time.
    std::mem::forget(report);
    Ok(code)
}

/// Progress bar on a terminal; nothing otherwise.
struct Bar(ProgressBar);

impl BuildObserver for Bar {
    fn planned(&self, transforms: u64) {
        self.0.set_length(transforms);
    }
    fn finished(&self, source: &str, error: Option<&str>) {
        if let Some(e) = error {
            self.0.println(format!("failed: {source}: {e}"));
        }
        self.0.inc(1);
    }
}

fn build(a: BuildArgs) -> anyhow::Result<u8> {
    let Some(cmd) = a.producer.exec.clone() else {
        anyhow::bail!("build needs --exec 'CMD {{in}} {{out}}'");
    };
    if !cmd.contains("{in}") || !cmd.contains("{out}") {
        anyhow::bail!("--exec must contain both {{in}} and {{out}}: {cmd}");
    }
    if !(a.checkpoint.is_finite() && a.checkpoint > 0.0) {
        anyhow::bail!("--checkpoint must be a positive number of seconds");
    }
    let shard: Option<Shard> = a.shard.as_deref().map(str::parse).transpose()?;
    let cache = open(&a.cache.cache)?;
    let sources = if a.trust.on() {
        cache.sources_unstatted(&a.sources, shard)?
    } else {
        cache.sources(&a.sources, shard)?
    };
    let producer = a.producer.producer().unwrap_or_default();
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        // Counted apart from `cancel`, which a transform killed by the same Ctrl-C may
        // set first.
        let pressed = AtomicBool::new(false);
        // Best effort: without a handler, Ctrl-C still loses at most one checkpoint.
        let _ = ctrlc::set_handler(move || {
            if pressed.swap(true, Ordering::SeqCst) {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
            cancel.store(true, Ordering::SeqCst);
            eprintln!(
                "interrupted: letting running transforms finish and saving the index \
                 (again to stop at once)"
            );
        });
    }
    let opts = BuildOptions {
        variant: a.variant.clone(),
        producer,
        ext: a.producer.ext.clone().unwrap_or_default(),
        jobs: a.jobs,
        checkpoint: Duration::from_secs_f64(a.checkpoint),
        trust_index: a.trust.on(),
        cancel: Some(Arc::clone(&cancel)),
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} eta {eta}")
        {
            b.set_style(style);
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let observer = Bar(bar);
    let transform = |input: &Path, output: &Path| {
        let result = run_exec(&cmd, input, output);
        if let Err(Interrupted) = result {
            // The terminal's Ctrl-C reached the transform too, maybe before our handler
            // ran: the build is being interrupted, not this source failing.
            cancel.store(true, Ordering::SeqCst);
        }
        result.map_err(|e| e.to_string())
    };
    let report = cache.build(&sources, &opts, &transform, &observer)?;
    observer.0.finish_and_clear();
    warn_all(&report.warnings);
    if a.json {
        print_json(&report)?;
    } else {
        println!(
            "{} new, {} changed, {} touched, {} unchanged, {} removed; {} transformed, {} deduplicated, {} failed",
            report.new,
            report.changed,
            report.touched,
            report.unchanged,
            report.removed,
            report.transformed,
            report.deduplicated,
            report.failures.len()
        );
        for f in &report.failures {
            println!("failed: {}: {}", f.path, f.error);
        }
        if cancel.load(Ordering::SeqCst) {
            println!(
                "interrupted: {} transforms not run; the index holds everything finished",
                report.cancelled
            );
        }
    }
    Ok(if cancel.load(Ordering::SeqCst) {
        EXIT_INTERRUPTED
    } else if report.failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}

/// Quote `s` for `sh`: single quotes, with embedded ones closed, escaped and reopened.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Why an `--exec` command failed.
enum ExecError {
    /// Killed by SIGINT: the user pressed Ctrl-C.
    Interrupted,
    /// Anything else, described.
    Failed(String),
}
use ExecError::Interrupted;

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Interrupted => f.write_str("transform interrupted"),
            ExecError::Failed(s) => f.write_str(s),
        }
    }
}

/// Run the `--exec` template for one source; failure text is the exit status and the
/// end of the command's stderr.
fn run_exec(template: &str, input: &Path, output: &Path) -> Result<(), ExecError> {
    let cmd = template
        .replace("{in}", &sh_quote(&input.to_string_lossy()))
        .replace("{out}", &sh_quote(&output.to_string_lossy()));
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| ExecError::Failed(format!("cannot run sh: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        // SIGINT
        if out.status.signal() == Some(2) {
            return Err(Interrupted);
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let status = match out.status.code() {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    };
    Err(ExecError::Failed(if tail.is_empty() {
        format!("transform failed ({status})")
    } else {
        format!("transform failed ({status}): {}", tail.join(" / "))
    }))
}

fn get(a: GetArgs) -> anyhow::Result<u8> {
    let cache = open_ro(&a.cache.cache)?;
    match cache.get(&a.path, &a.variant, a.producer.as_deref(), a.trust.on()) {
        Ok(p) => {
            println!("{}", p.display());
            Ok(EXIT_OK)
        }
        Err(
            e @ (DatasetError::NotIndexed { .. }
            | DatasetError::NoArtifact { .. }
            | DatasetError::Stale { .. }),
        ) => {
            eprintln!("error: {e}");
            Ok(EXIT_INVALID)
        }
        Err(e) => Err(e.into()),
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<u8> {
    let cache = open_ro(&a.cache.cache)?;
    let report = cache.verify()?;
    warn_all(&report.warnings);
    if a.json {
        print_json(&report)?;
    } else {
        for p in &report.problems {
            println!("{} [{}]: {}", p.source, p.variant, p.problem);
        }
        println!(
            "{} entries, {} artifacts checked, {} problems",
            report.entries,
            report.artifacts_checked,
            report.problems.len()
        );
    }
    Ok(if report.problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}

fn gc(a: GcArgs) -> anyhow::Result<u8> {
    let cache = open(&a.cache.cache)?;
    let report = cache.gc(a.dry_run)?;
    warn_all(&report.warnings);
    if a.json {
        print_json(&report)?;
    } else {
        for p in &report.paths {
            println!("{p}");
        }
        let verb = if a.dry_run { "would delete" } else { "deleted" };
        println!("{verb} {} files, {} bytes", report.count, report.bytes);
    }
    Ok(EXIT_OK)
}
