//! Render-cache subcommands: `manifest`, `record`, `check`, `explain`, `snapshots`,
//! `prune`. Thin: each parses its arguments, calls [`smartcache::render`] and prints.

use super::{EXIT_INVALID, EXIT_OK};
use anyhow::Context;
use smartcache::check::{group_ranges, FrameResult, Status};
use smartcache::frames::{format_frames, format_ranges, parse_frames, FrameFormat};
use smartcache::ignore::RuleSet;
use smartcache::manifest::source::FileProbe;
use smartcache::manifest::{Prepared, Setup};
use smartcache::profile::Profile;
use smartcache::render::{self, caches, CheckOptions, LoadedScript, RecordOptions};
use smartcache::store::CacheDir;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Options shared by the commands that hash a script.
#[derive(clap::Args)]
pub struct ScriptArgs {
    /// The script (.nk, .gizmo, or a JSON graph).
    script: PathBuf,
    /// The cached output node, by full name (e.g. `Write1`, `Group1.Write1`).
    #[arg(long, short = 'n', value_name = "NODE")]
    node: String,
    #[command(flatten)]
    hashing: HashArgs,
}

/// How a script is hashed: rule and profile layers, where gizmos are found.
#[derive(clap::Args, Clone, Default)]
pub struct HashArgs {
    /// Extra ignore-rule files, layered over the built-in rules and $SMARTCACHE_RULES
    /// in the order given.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Extra node-class profile files, layered over the built-in profile and
    /// $SMARTCACHE_PROFILE in the order given.
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// A directory searched for gizmos (`<Class>.gizmo`), before $NUKE_PATH and
    /// ~/.nuke (repeatable).
    #[arg(long = "plugin-path", value_name = "DIR")]
    pub plugin_path: Vec<PathBuf>,
}

impl HashArgs {
    /// Read the script at `path`, its rules and profile (chosen by its host), and load
    /// the gizmos and Precomp scripts it refers to.
    pub fn load(&self, path: &Path) -> anyhow::Result<(LoadedScript, RuleSet, Profile)> {
        let mut loaded = LoadedScript::read(path)?;
        // The script's host (a JSON graph names it) selects the built-in layers.
        let host = loaded.script.host().to_string();
        let rules = RuleSet::load_host(&host, &self.rules)?;
        let profile = Profile::load(&host, &self.profiles)?;
        super::warn_script(&loaded.script);
        let opts = smartcache::graph::expand::ExpandOptions::with_env(
            self.plugin_path.clone(),
            loaded.base_dir(),
        );
        smartcache::graph::expand::expand(&mut loaded.script, &opts, &profile);
        Ok((loaded, rules, profile))
    }
}

impl ScriptArgs {
    fn load(&self) -> anyhow::Result<(LoadedScript, RuleSet, Profile)> {
        let (loaded, rules, profile) = self.hashing.load(&self.script)?;
        render::suggest::require_node(&loaded, &self.node)?;
        Ok((loaded, rules, profile))
    }
}

/// A farm job re-rendering the frames a check finds not valid.
#[derive(clap::Args)]
pub struct JobArgs {
    /// Write an Open Job Description job template (JSON, also valid YAML) whose tasks
    /// render the frames found not valid, then record them into the cache.
    #[arg(long, value_name = "FILE", requires = "render_command")]
    openjd: Option<PathBuf>,
    /// The command a task runs to render its frames; {first}, {last}, {frames},
    /// {script} and {cache_dir} expand to quoted shell words ({{ is a literal brace).
    #[arg(long, value_name = "CMD", requires = "openjd")]
    render_command: Option<String>,
    /// At most N frames per task (a task is a contiguous run of frames).
    #[arg(long, value_name = "N", default_value_t = 10, requires = "openjd")]
    chunk: usize,
    /// The command a task runs to record its frames (default: this smartcache's
    /// `record` with the same script, node, rules, profiles and plugin path).
    #[arg(long, value_name = "CMD", requires = "openjd")]
    record_command: Option<String>,
}

/// The cache directory and the frames to record or check.
#[derive(clap::Args)]
pub struct CacheArgs {
    /// The cache directory. Default: `.smartcache/<script stem>/<node>` beside the
    /// script (or under --cache-root), where `status` and `report` find it.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Keep caches under DIR, one directory per script stem and node
    /// (`DIR/<script stem>/<node>`), instead of beside the script.
    #[arg(long, value_name = "DIR", conflicts_with = "cache_dir")]
    cache_root: Option<PathBuf>,
    /// Frames: `1001-1100`, `1001-1100x2`, `1001,1005,1010-1020`. Default: the
    /// script's first_frame-last_frame.
    #[arg(long, value_name = "SPEC", allow_hyphen_values = true)]
    frames: Option<String>,
}

impl CacheArgs {
    /// The cache directory: as given, or the convention's for the script and node.
    fn dir(&self, script: &ScriptArgs) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(|| {
            caches::cache_dir_for(&script.script, &script.node, self.cache_root.as_deref())
        })
    }
}

/// Syntaxes of `check --outdated --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RerenderFormat {
    /// smartcache's own --frames syntax: 1040-1060,1075.
    Spec,
    /// Nuke's frame ranges (nuke -F, the Frames to render dialog): 1040-1060 1075.
    Nuke,
    /// Deadline's frame list: 1040-1060,1075 (x for steps).
    Deadline,
    /// OpenCue's frame range: 1040-1060,1075 (x for steps).
    Opencue,
    /// One frame per line.
    List,
}

impl From<RerenderFormat> for FrameFormat {
    fn from(f: RerenderFormat) -> Self {
        match f {
            RerenderFormat::Spec => FrameFormat::Spec,
            RerenderFormat::Nuke => FrameFormat::Nuke,
            RerenderFormat::Deadline => FrameFormat::Deadline,
            RerenderFormat::Opencue => FrameFormat::OpenCue,
            RerenderFormat::List => FrameFormat::List,
        }
    }
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the manifest of one frame: every upstream node and knob value it depends
    /// on, with the ignore rules applied, the files it reads, and its hash.
    #[command(
        after_help = "Files in the manifest (\"files\" per node, \"root_files\"): \
each is listed with its path and what was found: {\"content\": <xxh3-128>}, \"missing\", \
{\"unreadable\": why} or {\"unverifiable\": why}.\n\n\
Fingerprinted: Read and DeepRead frames (through their frame mapping, views and proxy \
mode), ReadGeo/Camera/Axis/Light files, OCIOFileTransform, OCIOCDLTransform and \
Vectorfield files, Text fonts, a LiveGroup's file when its children are inline, and the \
OCIO config every frame reads (Root customOCIOConfigPath, or $OCIO when colour management \
is OCIO) with the files in its search path. Gizmos on the plugin path and Precomp scripts \
are read into the graph node by node instead.\n\n\
Only warned about (listed as unverifiable; outdated by check --strict): paths built by \
Python or anything else smartcache cannot evaluate, sequences read over a span whose \
range is not known, and node classes found neither in the profile nor as a gizmo.\n\n\
Examples:\n  smartcache manifest comp.nk --node Write1 --frame 1001\n  \
smartcache manifest comp.nk --node Write1 --frame 1001 --plugin-path ~/gizmos"
    )]
    Manifest {
        #[command(flatten)]
        script: ScriptArgs,
        /// The frame.
        #[arg(long, short = 'f', allow_negative_numbers = true)]
        frame: f64,
        /// Print JSON (the manifest is always JSON; accepted for symmetry with the other
        /// commands).
        #[arg(long)]
        json: bool,
    },
    /// Hash frames of an output node into the cache's master hash.json (adding new
    /// frames, replacing recorded ones).
    #[command(
        after_help = "Without --render, a Write node's rendered files are taken \
from its file knob (relative to the script's folder, or Root project_directory), so a \
check reports a render deleted or replaced on disk (when none of the frames is rendered \
yet, only their hashes are recorded). Render paths are stored relative to \
the cache directory: a check from another directory or machine with the same mounts \
finds them.\n\n\
Without --cache-dir, the cache is .smartcache/<script stem>/<node> beside the script \
(or <cache root>/<script stem>/<node> with --cache-root), where status and report find \
it.\n\n\
Examples:\n  smartcache record comp.nk --node Write1\n  \
smartcache record comp.nk --node Write1 --frames 1001-1050 --cache-dir /caches/comp\n  \
smartcache record comp.nk --node Group1.Write1 --render 'out/comp.%04d.exr'"
    )]
    Record {
        #[command(flatten)]
        script: ScriptArgs,
        #[command(flatten)]
        cache: CacheArgs,
        /// Rendered files (`out.%04d.exr` or `out.####.exr`): record each frame's
        /// fingerprint so a check reports a render deleted or replaced on disk.
        /// Default: a Write node's file knob.
        #[arg(long, value_name = "PATTERN")]
        render: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check frames against the master: write a timestamped snapshot, compare frame by
    /// frame and explain each outdated frame. Exit 0 if every frame is valid, 1 if not.
    #[command(
        after_help = "--outdated prints only the frames to render again (every \
frame not valid: outdated, uncached or with its render missing) in the syntax --format \
names, and nothing when every frame is valid: spec (1040-1060,1075, as --frames takes \
it), nuke (1040-1060 1075, as Nuke's Frames to render dialog and nuke.FrameRanges take it; \
on nuke's command line each range follows its own -F), deadline and opencue \
(1040-1060,1075), list (one frame per line). Steps are written AxS (1001-1009x2) in every syntax but list. The \
--json report carries the same frames as \"to_render\".\n\n\
On a terminal with colour on (see --color), a one-line strip of the checked range \
follows the summary: green valid, yellow outdated, cyan uncached, red missing render, \
frames bucketed to the terminal's width.\n\n\
Examples:\n  smartcache check comp.nk --node Write1\n  \
smartcache check comp.nk --node Write1 --frames 1001-1050 --json\n  \
nuke -X Write1 $(smartcache check comp.nk -n Write1 --outdated --format nuke | sed 's/[^ ]*/-F &/g') comp.nk\n  \
smartcache check comp.nk -n Write1 --openjd job.yaml --render-command 'nuke -F {frames} -X Write1 {script}'"
    )]
    Check {
        #[command(flatten)]
        script: ScriptArgs,
        #[command(flatten)]
        cache: CacheArgs,
        /// Print `{"frames":[{"frame":N,"status":…,"reasons":[…]}],…}`.
        #[arg(long, conflicts_with = "outdated")]
        json: bool,
        /// Outdate frames that read a path smartcache cannot verify (built by Python, a
        /// sequence of unknown range) or a node class nothing defines.
        #[arg(long)]
        strict: bool,
        /// Print only the frames to render again, as a frame list (see --format).
        #[arg(long)]
        outdated: bool,
        /// The syntax of the --outdated frame list.
        #[arg(long, value_enum, default_value_t = RerenderFormat::Spec, requires = "outdated")]
        format: RerenderFormat,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Explain one frame: node and knob differences between the master and a snapshot.
    #[command(
        after_help = "A frame the snapshot did not check is an error naming the \
snapshots that did.\n\n\
Examples:\n  smartcache explain .smartcache/comp/Write1 --frame 1050\n  \
smartcache explain cache --frame 1050 --snapshot 20261201T145840.505Z --json"
    )]
    Explain {
        /// The cache directory.
        cache_dir: PathBuf,
        /// The frame.
        #[arg(long, short = 'f', allow_negative_numbers = true)]
        frame: i64,
        /// Snapshot id (default: the newest).
        #[arg(long, value_name = "TS")]
        snapshot: Option<String>,
        /// Print the frame's status and reasons as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the snapshots of a cache directory, oldest first.
    #[command(
        after_help = "Examples:\n  smartcache snapshots .smartcache/comp/Write1\n  \
smartcache snapshots cache --json"
    )]
    Snapshots {
        /// The cache directory.
        cache_dir: PathBuf,
        /// Print `{"snapshots":[{"id","frames"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Remove all but the newest N snapshots and the manifest objects nothing refers to.
    #[command(
        after_help = "Examples:\n  smartcache prune cache --keep 5 --dry-run\n  \
smartcache prune .smartcache/comp/Write1 --keep 1"
    )]
    Prune {
        /// The cache directory.
        cache_dir: PathBuf,
        /// How many snapshots to keep.
        #[arg(long, value_name = "N")]
        keep: usize,
        /// Show what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print what was (or would be) removed as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(c: Command) -> anyhow::Result<u8> {
    match c {
        Command::Manifest {
            script,
            frame,
            json: _,
        } => manifest(script, frame),
        Command::Record {
            script,
            cache,
            render,
            json,
        } => record(script, cache, render, json),
        Command::Check {
            script,
            cache,
            json,
            strict,
            outdated,
            format,
            job,
        } => {
            let output = match (json, outdated) {
                (true, _) => Output::Json,
                (_, true) => Output::Rerender(format.into()),
                _ => Output::Text,
            };
            check(script, cache, output, strict, job)
        }
        Command::Explain {
            cache_dir,
            frame,
            snapshot,
            json,
        } => explain(cache_dir, frame, snapshot, json),
        Command::Snapshots { cache_dir, json } => snapshots(cache_dir, json),
        Command::Prune {
            cache_dir,
            keep,
            dry_run,
            json,
        } => prune(cache_dir, keep, dry_run, json),
    }
}

/// The frames given with `--frames`, or `None` for the script's own range. An error
/// points at the wrong character; frames outside the script's range are warned about
/// (a typo such as `101-1100` for `1001-1100` hashes frames nobody renders).
fn frames_of(spec: Option<&str>, loaded: &LoadedScript) -> anyhow::Result<Option<Vec<i64>>> {
    let Some(spec) = spec else {
        return Ok(None);
    };
    let frames = parse_frames(spec).map_err(|e| anyhow::anyhow!("{e}\n{}", e.pointer()))?;
    let (first, last) = loaded.script.frame_range();
    let outside: Vec<i64> = frames
        .iter()
        .copied()
        .filter(|f| *f < first || *f > last)
        .collect();
    if !outside.is_empty() {
        eprintln!(
            "warning: frames {} are outside the frame range of {} ({first}-{last})",
            format_ranges(&outside),
            loaded.path.display()
        );
    }
    Ok(Some(frames))
}

/// How many frames a record or check hashes (for the progress bar).
fn frame_count(frames: Option<&[i64]>, loaded: &LoadedScript) -> usize {
    frames.map_or_else(
        || {
            let (a, b) = loaded.script.frame_range();
            usize::try_from(b.saturating_sub(a).saturating_add(1)).unwrap_or(0)
        },
        <[i64]>::len,
    )
}

/// A progress bar on standard error, drawn only when it is a terminal and the work is
/// long enough to be worth watching.
fn progress_bar(len: usize, what: &'static str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || len < 200 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} frames ({eta})")
            .expect("a valid template"),
    );
    bar.set_message(what);
    bar
}

use super::print_json;

/// Print the problems a workflow worked around, on standard error.
fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn manifest(args: ScriptArgs, frame: f64) -> anyhow::Result<u8> {
    let (loaded, rules, profile) = args.load()?;
    let setup = Setup::build(&loaded.script, &args.node, &rules, &profile)
        .with_context(|| loaded.path.display().to_string())?;
    let prepared = Prepared::new(&setup);
    let probe = FileProbe::new(loaded.base_dir());
    let mut doc = prepared.view(frame, &probe).to_json();
    doc["hash"] = prepared.frame_hash(frame, &probe).0.into();
    doc["output"] = args.node.clone().into();
    doc["rules"] = setup.rules.clone().into();
    doc["profile"] = setup.profile.clone().into();
    print_json(&doc)?;
    Ok(EXIT_OK)
}

fn record(
    args: ScriptArgs,
    cache_args: CacheArgs,
    render: Option<String>,
    json: bool,
) -> anyhow::Result<u8> {
    let (loaded, rules, profile) = args.load()?;
    let frames = frames_of(cache_args.frames.as_deref(), &loaded)?;
    let cache_dir = cache_args.dir(&args);
    let cache = CacheDir::new(&cache_dir);
    let count = frame_count(frames.as_deref(), &loaded);
    let bar = progress_bar(count, "recording");
    let progress = || bar.inc(1);
    let mut opts = RecordOptions::new(&args.node, &rules, &profile).progress(&progress);
    opts.frames = frames.as_deref();
    opts.render = render.as_deref();
    // Given away: the graph is released once the setup is built.
    let report = render::record(loaded, &cache, &opts)?;
    bar.finish_and_clear();
    warn(&report.warnings);
    if json {
        print_json(&serde_json::to_value(&report)?)?;
    } else {
        outln!(
            "recorded {} frames ({}) of {} into {} ({} distinct hashes; master now holds {} frames)",
            report.frames.len(),
            format_ranges(&report.frames),
            args.node,
            report.master.display(),
            report.distinct,
            report.master_frames
        )?;
        if !report.manifests_kept {
            outln!("manifests not kept (CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE is set)")?;
        }
        if !report.renders_missing.is_empty() {
            eprintln!(
                "warning: no rendered file for frames {}: their renders were not recorded",
                format_ranges(&report.renders_missing)
            );
        }
    }
    Ok(EXIT_OK)
}

use super::color::paint;

fn summary(results: &[FrameResult]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for r in results {
        *counts.entry(r.status).or_insert(0usize) += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_groups(results: &[FrameResult]) -> std::io::Result<()> {
    for (frames, status, reasons) in group_ranges(results) {
        let head = paint(status, status.as_str());
        match reasons.as_slice() {
            [] => outln!("{} {head}", format_ranges(&frames))?,
            [one] => outln!("{} {head}: {}", format_ranges(&frames), one.text)?,
            many => {
                outln!("{} {head}:", format_ranges(&frames))?;
                for r in many {
                    outln!("  {}", r.text)?;
                }
            }
        }
    }
    Ok(())
}

/// Write the OpenJD job of `report`'s frames to render (nothing when all are valid).
fn write_job(
    args: &ScriptArgs,
    cache_dir: &Path,
    report: &render::CheckReport,
    job: &JobArgs,
    path: &Path,
) -> anyhow::Result<()> {
    use smartcache::openjd::{shell_quote, JobSpec};
    let frames = report.to_render();
    if frames.is_empty() {
        eprintln!("every frame is valid: no job written to {}", path.display());
        return Ok(());
    }
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let record_command = match &job.record_command {
        Some(c) => c.clone(),
        None => {
            let exe = std::env::current_exe().context("cannot find the smartcache executable")?;
            let mut c = format!(
                "{} record {{script}} --node {} --cache-dir {{cache_dir}} --frames {{frames}}",
                shell_quote(&exe.to_string_lossy()),
                shell_quote(&args.node).replace('{', "{{"),
            );
            let h = &args.hashing;
            let flags = [("--rules", &h.rules), ("--profile", &h.profiles)];
            for (flag, files) in flags.into_iter().chain([("--plugin-path", &h.plugin_path)]) {
                for f in files {
                    let q = shell_quote(&abs(f).to_string_lossy()).replace('{', "{{");
                    c.push_str(&format!(" {flag} {q}"));
                }
            }
            c
        }
    };
    let spec = JobSpec {
        name: format!("smartcache: re-render {}", args.node),
        script: args.script.clone(),
        cache_dir: cache_dir.to_path_buf(),
        frames,
        chunk: job.chunk,
        render_command: job.render_command.clone().unwrap_or_default(),
        record_command,
    };
    spec.write(path)?;
    eprintln!(
        "wrote {} ({} tasks for {} frames)",
        path.display(),
        spec.chunks().len(),
        spec.frames.len()
    );
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let missing = spec.without_default(dir.unwrap_or(Path::new(".")))?;
    if !missing.is_empty() {
        let given: Vec<String> = missing
            .iter()
            .map(|(name, p)| format!("-p {name}={}", shell_quote(&abs(p).to_string_lossy())))
            .collect();
        eprintln!(
            "not below the job's folder, so without a default: submit with {}",
            given.join(" ")
        );
    }
    Ok(())
}

/// What `check` prints.
#[derive(Clone, Copy)]
enum Output {
    /// Ranges per status with their reasons, the summary, and the strip on a terminal.
    Text,
    /// The `--json` report.
    Json,
    /// Only the frames to render again (`--outdated`), in a render tool's syntax.
    Rerender(FrameFormat),
}

fn check(
    args: ScriptArgs,
    cache_args: CacheArgs,
    output: Output,
    strict: bool,
    job: JobArgs,
) -> anyhow::Result<u8> {
    let (loaded, rules, profile) = args.load()?;
    let frames = frames_of(cache_args.frames.as_deref(), &loaded)?;
    let cache_dir = cache_args.dir(&args);
    let cache = CacheDir::new(&cache_dir);
    let count = frame_count(frames.as_deref(), &loaded);
    let bar = progress_bar(count, "checking");
    let progress = || bar.inc(1);
    let mut opts = CheckOptions::new(&args.node, &rules, &profile)
        .progress(&progress)
        .strict(strict);
    opts.frames = frames.as_deref();
    // Given away: the graph is released once the setup is built.
    let report = render::check(loaded, &cache, &opts)?;
    bar.finish_and_clear();
    warn(&report.warnings);
    if let Some(path) = &job.openjd {
        write_job(&args, &cache_dir, &report, &job, path)?;
    }
    match output {
        Output::Json => print_json(&serde_json::to_value(&report)?)?,
        Output::Rerender(format) => {
            let text = format_frames(&report.to_render(), format);
            if !text.is_empty() {
                out!("{text}")?;
                if !text.ends_with('\n') {
                    outln!()?;
                }
            }
        }
        Output::Text => {
            if !report.has_master {
                outln!("no master in {}: nothing recorded yet", cache_dir.display())?;
            }
            print_groups(&report.frames)?;
            let checked: Vec<i64> = report.frames.iter().map(|r| r.frame).collect();
            outln!(
                "{} of {}: {} (snapshot {})",
                format_ranges(&checked),
                args.node,
                summary(&report.frames),
                report
                    .snapshot
                    .as_ref()
                    .map_or_else(|| "not written".to_string(), ToString::to_string)
            )?;
            if super::color::enabled() {
                let statuses: Vec<Status> = report.frames.iter().map(|r| r.status).collect();
                outln!("{}", super::strip::render(&statuses, super::strip::width()))?;
            }
        }
    }
    Ok(if report.all_valid() {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}

fn explain(
    cache_dir: PathBuf,
    frame: i64,
    snapshot: Option<String>,
    json: bool,
) -> anyhow::Result<u8> {
    let cache = CacheDir::new(&cache_dir);
    let id = snapshot.map(|s| cache.snapshot_id(&s)).transpose()?;
    let explained = render::explain(&cache, frame, id.as_ref())?;
    warn(&explained.warnings);
    if json {
        print_json(&serde_json::to_value(&explained)?)?;
    } else {
        let (id, result) = (&explained.snapshot, &explained.result);
        outln!(
            "frame {frame}: {} (master vs snapshot {id})",
            paint(result.status, result.status.as_str())
        )?;
        for r in &result.reasons {
            outln!("  {}", r.text)?;
        }
    }
    Ok(if explained.result.status == Status::Valid {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}

fn snapshots(cache_dir: PathBuf, json: bool) -> anyhow::Result<u8> {
    let cache = CacheDir::new(&cache_dir);
    cache.require_exists()?;
    let ids = cache.snapshots()?;
    if json {
        /// One snapshot in `snapshots --json`.
        #[derive(serde::Serialize)]
        struct Listed<'a> {
            id: &'a smartcache::store::SnapshotId,
            /// Frames it holds (0 when it cannot be read).
            frames: usize,
        }
        let snapshots: Vec<Listed> = ids
            .iter()
            .map(|id| Listed {
                id,
                frames: cache.snapshot(id).map(|f| f.frames.len()).unwrap_or(0),
            })
            .collect();
        #[derive(serde::Serialize)]
        struct List<'a> {
            snapshots: Vec<Listed<'a>>,
        }
        print_json(&serde_json::to_value(List { snapshots })?)?;
    } else if ids.is_empty() {
        outln!("no snapshots in {}", cache_dir.display())?;
    } else {
        for id in &ids {
            let f = cache.snapshot(id)?;
            let frames: Vec<i64> = f.frames.keys().copied().collect();
            outln!("{id}  {} frames ({})", frames.len(), format_ranges(&frames))?;
        }
    }
    Ok(EXIT_OK)
}

fn prune(cache_dir: PathBuf, keep: usize, dry_run: bool, json: bool) -> anyhow::Result<u8> {
    let cache = CacheDir::new(&cache_dir);
    cache.require_exists()?;
    let r = cache.prune(keep, dry_run)?;
    warn(&r.warnings);
    let verb = if dry_run { "would remove" } else { "removed" };
    if json {
        print_json(&serde_json::to_value(&r)?)?;
    } else {
        outln!(
            "{verb} {} snapshots and {} manifest objects ({} bytes); kept {} snapshots, {} objects",
            r.removed_snapshots.len(),
            r.removed_objects.len(),
            r.removed_bytes,
            r.kept_snapshots.len(),
            r.kept_objects
        )?;
        for s in &r.removed_snapshots {
            outln!("  {verb} snapshot {s}")?;
        }
    }
    Ok(EXIT_OK)
}
