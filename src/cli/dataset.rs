//! `smartcache dataset …`: the file-level dataset cache from the command line.
//!
//! The library does the work ([`smartcache::dataset`]); this file parses arguments,
//! draws the progress bar and prints reports.

use super::{EXIT_INVALID, EXIT_OK};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use smartcache::dataset::{
    self, ArtifactState, BuildObserver, BuildOptions, DatasetCache, DatasetError, FileState,
    GetOptions, Shard, StatusOptions, Transform,
};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
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
    #[command(
        after_help = "Examples:\n  smartcache dataset status images/ --cache-dir cache\n  \
smartcache dataset status images/ --cache-dir cache --json"
    )]
    Status(StatusArgs),
    /// Run the transform where needed, once per distinct content (identical sources
    /// share one artifact): `--exec 'CMD {in} {out}'` (a process per item) or
    /// `--worker 'CMD'` (a long-running process per job slot). Exit 1 when any source
    /// failed. Ctrl-C (or SIGTERM) lets running transforms finish, records everything
    /// finished and exits 130; a second one stops at once (losing at most one checkpoint
    /// interval).
    #[command(
        after_help = "Examples:\n  smartcache dataset build images/ --cache-dir cache \
--variant 512 --ext png --exec 'convert {in} -resize 512x512 {out}'\n  \
smartcache dataset build images/ --cache-dir /shared/cache --variant 512 --shard 2/8 \
--worker 'python resize_worker.py'"
    )]
    Build(BuildArgs),
    /// Print the path of the artifact serving PATH for a variant (`--many`: of every
    /// path read from a file or stdin, one `path<TAB>artifact` line each).
    #[command(
        after_help = "Examples:\n  smartcache dataset get images/cat.jpg --cache-dir cache --variant 512\n  \
find images -name '*.jpg' | smartcache dataset get --many - --cache-dir cache --variant 512"
    )]
    Get(GetArgs),
    /// Write the path -> artifact map of a variant (JSON or TSV), for readers in other
    /// languages. Artifact names follow a documented contract (docs/dataset.md).
    #[command(
        after_help = "Examples:\n  smartcache dataset export --cache-dir cache --variant 512 -o map.json\n  \
smartcache dataset export --cache-dir cache --variant 512 --format tsv"
    )]
    Export(ExportArgs),
    /// Check that every entry has its artifacts, producer and checksums (can the cache
    /// serve without the sources?). Exit 1 on any problem. `--repair` removes artifacts
    /// that no longer match their checksum, so that the next build makes them again.
    #[command(
        after_help = "Examples:\n  smartcache dataset verify --cache-dir cache\n  \
smartcache dataset verify --cache-dir cache --variant 512 --repair"
    )]
    Verify(VerifyArgs),
    /// Watch source trees and keep their listings in memory, so that `status` and
    /// `build` of this cache stat only what changed (Linux, inotify). Runs until
    /// stopped; `SMARTCACHE_NO_WATCH=1` makes a command walk the disk anyway.
    #[command(
        after_help = "Examples:\n  smartcache dataset watch images/ --cache cache &\n  \
smartcache dataset status images/ --cache cache"
    )]
    Watch(WatchArgs),
    /// Delete artifacts no entry references (preview with --dry-run).
    #[command(
        after_help = "Examples:\n  smartcache dataset gc --cache-dir cache --dry-run\n  \
smartcache dataset gc --cache-dir cache --json"
    )]
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
    /// The transform command, run once per item; `{in}`, `{out}` and `{sidecars}` are
    /// replaced by the source, output and sidecar paths. Run directly when it has no
    /// shell syntax, else under `sh -c` with the paths shell-quoted.
    #[arg(long, value_name = "CMD", conflicts_with = "worker")]
    exec: Option<String>,
    /// A long-running transform, one per job slot (`sh -c CMD`): reads
    /// `in<TAB>out[<TAB>sidecar…]` lines on stdin, answers `ok` or `error <message>`
    /// per line on stdout.
    #[arg(long, value_name = "CMD")]
    worker: Option<String>,
    /// Producer id (transform name and version). Default: derived from --exec or
    /// --worker and --ext, so another command never serves the old command's artifacts.
    #[arg(long)]
    producer: Option<String>,
    /// Extension of artifact files (some tools pick the output format from it).
    #[arg(long, value_name = "EXT")]
    ext: Option<String>,
}

impl ProducerArgs {
    fn producer(&self) -> Option<String> {
        let ext = self.ext.as_deref().unwrap_or("");
        let derived = |kind: &str, cmd: &str| {
            let h = smartcache::hash::hex128(format!("{cmd}\0{ext}").as_bytes());
            format!("{kind}:{}", &h[..16])
        };
        self.producer.clone().or_else(|| {
            (self.exec.as_ref().map(|c| derived("exec", c)))
                .or_else(|| self.worker.as_ref().map(|c| derived("worker", c)))
        })
    }

    /// The transform the arguments name.
    fn transform(&self) -> anyhow::Result<Transform<'static>> {
        match (&self.exec, &self.worker) {
            (Some(cmd), _) => Ok(Transform::exec(cmd)?),
            (None, Some(cmd)) => Ok(Transform::worker(cmd)),
            (None, None) => {
                anyhow::bail!("build needs --exec 'CMD {{in}} {{out}}' or --worker 'CMD'")
            }
        }
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
    /// Group files into items with this sidecar glob (repeatable; default: the rule the
    /// cache records).
    #[arg(long = "sidecar", value_name = "GLOB")]
    sidecars: Vec<String>,
    /// Record the fingerprints of files whose content was read and found unchanged
    /// (entries recorded in the same clock tick as their file's last change), so the
    /// next status trusts them without reading them.
    #[arg(long)]
    update: bool,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct WatchArgs {
    /// Source directories.
    #[arg(required = true, value_name = "SRC")]
    sources: Vec<PathBuf>,
    #[command(flatten)]
    cache: CacheArg,
    /// List every directory again this often (seconds; 0: never), as a check on
    /// changes inotify cannot see (writes through shared mappings or outside hard links).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    verify_every: u64,
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
    /// Companion files of each item, hashed with it and passed to the transform
    /// (`{sidecars}`, extra worker fields): files matching GLOB (repeatable) with the
    /// item's stem (`img.txt` for `img.png`). Recorded for later status and get.
    #[arg(long = "sidecar", value_name = "GLOB")]
    sidecars: Vec<String>,
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
    /// The source file (or use --many).
    #[arg(required_unless_present = "many", conflicts_with = "many")]
    path: Option<PathBuf>,
    /// Read source paths, one per line, from FILE (`-` for stdin) and print one
    /// `path<TAB>artifact` line each; a path that cannot be served is reported on
    /// stderr (exit 1 at the end).
    #[arg(long, value_name = "FILE")]
    many: Option<PathBuf>,
    #[command(flatten)]
    cache: CacheArg,
    /// Variant key (e.g. 512x512, proxy-half).
    #[arg(long)]
    variant: String,
    /// Producer the artifact must come from (default: the variant's current producer).
    #[arg(long)]
    producer: Option<String>,
    /// Read the artifact and check it against its recorded checksum before serving it.
    #[arg(long)]
    verify: bool,
    #[command(flatten)]
    trust: TrustArg,
    /// With --many: print a JSON array of {path, artifact} or {path, error}.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    cache: CacheArg,
    /// Variant key (e.g. 512x512, proxy-half).
    #[arg(long)]
    variant: String,
    /// `json` (an object with the map and what it was made from) or `tsv`
    /// (`path<TAB>artifact` lines).
    #[arg(long, default_value = "json", value_parser = ["json", "tsv"])]
    format: String,
    /// Write to FILE (atomically) instead of stdout. Artifact paths are relative to the
    /// cache directory.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    cache: CacheArg,
    /// Remove artifacts whose content no longer matches their checksum (`get` refuses
    /// them; the next build of their variant makes them again).
    #[arg(long)]
    repair: bool,
    /// Print the problems found as JSON.
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
    /// Print what was (or would be) deleted as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(c: Command) -> anyhow::Result<u8> {
    match c {
        Command::Status(a) => status(a),
        Command::Build(a) => build(a),
        Command::Get(a) => get(a),
        Command::Export(a) => export(a),
        Command::Verify(a) => verify(a),
        Command::Gc(a) => gc(a),
        Command::Watch(a) => watch(a),
    }
}

fn watch(a: WatchArgs) -> anyhow::Result<u8> {
    let cache = &a.cache.cache;
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let opts = dataset::WatchOptions {
        verify_every: (a.verify_every > 0).then(|| Duration::from_secs(a.verify_every)),
    };
    dataset::watch(cache, &a.sources, &opts, &mut |event| match event {
        dataset::WatchEvent::Ready {
            dirs,
            files,
            volatile,
        } => {
            let plural = |n: usize, one: &str, many: &str| {
                format!("{n} {}", if n == 1 { one } else { many })
            };
            eprintln!(
                "watching {} in {} ({volatile} listed again at every request); serving cache {}",
                plural(files, "file", "files"),
                plural(dirs, "directory", "directories"),
                cache.display()
            );
        }
        dataset::WatchEvent::Unheard(dirs) => {
            eprintln!(
                "warning: {} directories changed without a notification (shared mappings or outside hard links?), now listed again: {}",
                dirs.len(),
                dirs.join(", ")
            );
        }
    })?;
    Ok(EXIT_OK)
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
        update: a.update,
        sidecars: (!a.sidecars.is_empty()).then(|| a.sidecars.clone()),
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
        if a.update {
            writeln!(out, "{} entries re-stamped", report.updated)?;
        }
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
    let transform = a.producer.transform()?;
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
        sidecars: (!a.sidecars.is_empty()).then(|| a.sidecars.clone()),
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
    let report = cache.build(&sources, &opts, &transform, &observer)?;
    observer.0.finish_and_clear();
    warn_all(&report.warnings);
    if a.json {
        print_json(&report)?;
    } else {
        outln!(
            "{} new, {} changed, {} touched, {} unchanged, {} removed; {} transformed, {} deduplicated, {} failed",
            report.new,
            report.changed,
            report.touched,
            report.unchanged,
            report.removed,
            report.transformed,
            report.deduplicated,
            report.failures.len()
        )?;
        if report.repaired > 0 {
            outln!(
                "{} artifacts did not match their checksum and were built again",
                report.repaired
            )?;
        }
        if report.waited > 0 {
            outln!(
                "{} contents were built by another build running at the same time",
                report.waited
            )?;
        }
        for f in &report.failures {
            outln!("failed: {}: {}", f.path, f.error)?;
        }
        if cancel.load(Ordering::SeqCst) {
            outln!(
                "interrupted: {} transforms not run; the index holds everything finished",
                report.cancelled
            )?;
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

/// `get`'s answer for one path: exit 1 for what a user can fix, 2 for the rest.
fn served(e: &DatasetError) -> bool {
    matches!(
        e,
        DatasetError::NotIndexed { .. }
            | DatasetError::NoArtifact { .. }
            | DatasetError::Stale { .. }
            | DatasetError::Corrupt { .. }
    )
}

fn get(a: GetArgs) -> anyhow::Result<u8> {
    let cache = open_ro(&a.cache.cache)?;
    let opts = GetOptions {
        producer: a.producer.clone(),
        trust_index: a.trust.on(),
        verify: a.verify,
    };
    let Some(list) = &a.many else {
        let path = a.path.as_deref().unwrap_or(Path::new(""));
        return match cache.get_with(path, &a.variant, &opts) {
            Ok(p) => {
                outln!("{}", p.display())?;
                Ok(EXIT_OK)
            }
            Err(e) if served(&e) => {
                eprintln!("error: {e}");
                Ok(EXIT_INVALID)
            }
            Err(e) => Err(e.into()),
        };
    };
    let input: Box<dyn BufRead> = if list == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(list).with_context(|| format!("{}", list.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    let mut json = Vec::new();
    for line in input.lines() {
        let line = line.with_context(|| format!("reading {}", list.display()))?;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        match cache.get_with(Path::new(line), &a.variant, &opts) {
            Ok(p) if a.json => json.push(serde_json::json!({"path": line, "artifact": p})),
            Ok(p) => writeln!(out, "{line}\t{}", p.display())?,
            Err(e) if served(&e) => {
                failed += 1;
                if a.json {
                    json.push(serde_json::json!({"path": line, "error": e.to_string()}));
                } else {
                    eprintln!("error: {e}");
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if a.json {
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(if failed == 0 { EXIT_OK } else { EXIT_INVALID })
}

fn export(a: ExportArgs) -> anyhow::Result<u8> {
    let cache = open_ro(&a.cache.cache)?;
    let map = cache.export(&a.variant)?;
    warn_all(&map.warnings);
    let mut bytes = Vec::new();
    if a.format == "tsv" {
        for (p, rel) in &map.artifacts {
            writeln!(bytes, "{p}\t{rel}")?;
        }
    } else {
        serde_json::to_writer_pretty(&mut bytes, &map)?;
        writeln!(bytes)?;
    }
    match &a.output {
        Some(path) => smartcache::fsutil::atomic_write(path, &bytes)?,
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    if !map.missing.is_empty() {
        eprintln!(
            "{} of {} entries have no artifact for variant `{}` (not built, or deleted)",
            map.missing.len(),
            map.missing.len() + map.artifacts.len(),
            a.variant
        );
    }
    Ok(EXIT_OK)
}

fn verify(a: VerifyArgs) -> anyhow::Result<u8> {
    let cache = open_ro(&a.cache.cache)?;
    let report = cache.verify()?;
    warn_all(&report.warnings);
    let removed = if a.repair {
        cache.repair(&report)?
    } else {
        Vec::new()
    };
    if a.json {
        print_json(&report)?;
    } else {
        for p in &report.problems {
            outln!("{} [{}]: {}", p.source, p.variant, p.problem)?;
        }
        outln!(
            "{} entries, {} artifacts checked, {} problems",
            report.entries,
            report.artifacts_checked,
            report.problems.len()
        )?;
        if a.repair {
            outln!(
                "repair: removed {} artifacts that did not match their checksum; a build makes them again",
                removed.len()
            )?;
        }
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
            outln!("{p}")?;
        }
        let verb = if a.dry_run { "would delete" } else { "deleted" };
        outln!("{verb} {} files, {} bytes", report.count, report.bytes)?;
    }
    Ok(EXIT_OK)
}
