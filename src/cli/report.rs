//! `smartcache report`: the caches `status` finds, as one self-contained HTML page to
//! look at or send round (a supervisor, a wrangler, a review): one timeline strip per
//! cache with every frame coloured by its status, the reasons of each range that is
//! not valid on hover and in a list below (with the node path each reason names), and
//! the summary table `status` prints.
//!
//! Self-contained means viewable offline and from a mail attachment: the CSS and the
//! script are inline, nothing is fetched. The page works without its script (strips,
//! tooltips and lists are plain HTML); the script only links a range in the list with
//! its frames in the strip on hover, and marks the page `data-ready` so that a headless
//! browser test can tell it ran.

use super::status::{self, FindArgs, Row, State};
use super::EXIT_OK;
use smartcache::check::{group_ranges, Status};
use smartcache::frames::format_ranges;
use std::fmt::Write as _;
use std::path::PathBuf;

/// `smartcache report`.
#[derive(clap::Args)]
#[command(
    after_help = "Caches are found and checked as status finds and checks them \
(read-only unless --snapshot). The page needs no network: open it in any browser. \
Hover a frame for its status and reasons; hover a range in a cache's list to see its \
frames in the strip.\n\n\
Exit status: as status (0 when every cache is valid, 1 when any is not, 2 on errors); \
the page is written in every case but a usage error.\n\n\
Examples:\n  smartcache report comp.nk -o report.html\n  \
smartcache report shots/ --cache-root /caches/show -o /tmp/show-report.html"
)]
pub struct Args {
    /// Scripts, or directories searched for .nk scripts.
    #[arg(required = true, value_name = "SCRIPT|DIR")]
    paths: Vec<PathBuf>,
    /// The HTML file to write (atomically).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    find: FindArgs,
}

/// `smartcache report`.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let rows = status::survey(&args.paths, &args.find)?;
    for r in &rows {
        if let State::Failed(e) = &r.state {
            eprintln!("error: {e}");
        }
    }
    let html = page(&rows);
    smartcache::fsutil::atomic_write(&args.output, html.as_bytes())?;
    let strips = rows
        .iter()
        .filter(|r| matches!(r.state, State::Checked(_)))
        .count();
    eprintln!(
        "wrote {} ({strips} {})",
        args.output.display(),
        if strips == 1 { "cache" } else { "caches" }
    );
    let code = status::exit_of(&rows);
    Ok(if code == EXIT_OK { EXIT_OK } else { code })
}

/// Text escaped for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --valid: #3a9d5d; --outdated: #e0a100; --uncached: #4aa3c7; --missing-render: #d64545; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
h2 { font-size: 1.1em; margin: 1.6em 0 .4em; }
.meta { color: #666; margin: 0 0 1em; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: .3em .7em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.frames { white-space: nowrap; }
.badge { display: inline-block; padding: 0 .5em; border-radius: .6em; color: #fff; font-size: .85em; }
.badge.valid { background: var(--valid); } .badge.outdated { background: var(--outdated); }
.badge.uncached { background: var(--uncached); } .badge.missing-render { background: var(--missing-render); }
.badge.no-cache, .badge.error { background: #888; }
.strip { display: flex; height: 28px; border: 1px solid #bbb; background: #fff; }
.strip .f { flex: 1 1 0; min-width: 0; }
.f.valid { background: var(--valid); } .f.outdated { background: var(--outdated); }
.f.uncached { background: var(--uncached); } .f.missing-render { background: var(--missing-render); }
.strip .f.hl, .strip .f:hover { box-shadow: inset 0 0 0 2px #000; }
.axis { display: flex; justify-content: space-between; color: #666; font-size: .85em; }
ol.reasons { margin: .5em 0; padding-left: 1.4em; }
ol.reasons li.hl { background: #fff3c4; }
code.node { background: #eee; padding: 0 .3em; border-radius: 3px; }
.legend span { display: inline-block; margin-right: 1em; }
.legend i { display: inline-block; width: .9em; height: .9em; margin-right: .3em; vertical-align: -.1em; }
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('section.cache').forEach(function (sec) {
  var frames = sec.querySelectorAll('.strip .f');
  sec.querySelectorAll('ol.reasons li[data-first]').forEach(function (li) {
    var a = +li.dataset.first, b = +li.dataset.last;
    var mark = function (on) {
      li.classList.toggle('hl', on);
      frames.forEach(function (f) {
        var n = +f.dataset.frame;
        if (n >= a && n <= b && f.dataset.status === li.dataset.status) f.classList.toggle('hl', on);
      });
    };
    li.addEventListener('mouseenter', function () { mark(true); });
    li.addEventListener('mouseleave', function () { mark(false); });
  });
});
document.documentElement.dataset.ready = 'yes';
"#;

/// The whole page.
fn page(rows: &[Row]) -> String {
    let mut h = String::new();
    let checked = rows
        .iter()
        .filter(|r| matches!(r.state, State::Checked(_)))
        .count();
    let mut scripts: Vec<&std::path::Path> = rows.iter().map(|r| r.script.as_path()).collect();
    scripts.dedup();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>smartcache report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>smartcache report</h1>\n<p class=\"meta\">{checked} {} in {} {}, checked {}</p>\n",
        if checked == 1 { "cache" } else { "caches" },
        scripts.len(),
        if scripts.len() == 1 {
            "script"
        } else {
            "scripts"
        },
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    );
    h.push_str("<p class=\"legend\">");
    for s in [
        Status::Valid,
        Status::Outdated,
        Status::Uncached,
        Status::MissingRender,
    ] {
        let _ = write!(h, "<span><i class=\"f {0}\"></i>{0}</span>", s.as_str());
    }
    h.push_str("</p>\n");
    summary_table(&mut h, rows);
    for (i, r) in rows.iter().enumerate() {
        if let State::Checked(_) = r.state {
            cache_section(&mut h, i, r);
        }
    }
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    h
}

/// The status of a row as a badge class and text.
fn badge(r: &Row) -> (&'static str, String) {
    match &r.state {
        State::NotRecorded => ("no-cache", "no cache".into()),
        State::Failed(_) => ("error", "error".into()),
        State::Checked(_) => {
            let s = r.worst().unwrap_or(Status::Valid);
            (s.as_str(), s.as_str().to_string())
        }
    }
}

/// The table `status` prints, one row per cache, linking to each cache's section.
fn summary_table(h: &mut String, rows: &[Row]) {
    h.push_str(
        "<table class=\"summary\">\n<thead><tr><th>script</th><th>node</th><th>frames</th>\
         <th>status</th><th>valid</th><th>outdated</th><th>uncached</th><th>missing render</th>\
         <th>first reason</th></tr></thead>\n<tbody>\n",
    );
    for (i, r) in rows.iter().enumerate() {
        let (class, text) = badge(r);
        let node = match &r.state {
            State::Checked(_) => format!("<a href=\"#cache-{i}\">{}</a>", esc(&r.node)),
            _ => esc(&r.node),
        };
        let counts: Vec<String> = match &r.state {
            State::Checked(c) => [
                Status::Valid,
                Status::Outdated,
                Status::Uncached,
                Status::MissingRender,
            ]
            .iter()
            .map(|s| {
                c.frames
                    .iter()
                    .filter(|f| f.status == *s)
                    .count()
                    .to_string()
            })
            .collect(),
            _ => vec!["-".into(); 4],
        };
        let reason = match &r.state {
            State::NotRecorded => format!("nothing recorded in {}", r.cache_dir.display()),
            State::Failed(e) => e.clone(),
            State::Checked(_) => r
                .first_reason()
                .map(|(f, _, t)| format!("{f}: {t}"))
                .unwrap_or_default(),
        };
        let _ = writeln!(
            h,
            "<tr data-row=\"{i}\" data-status=\"{class}\"><td>{}</td><td>{node}</td><td class=\"frames\">{}</td>\
             <td><span class=\"badge {class}\">{text}</span></td>{}<td>{}</td></tr>",
            esc(&r.script.display().to_string()),
            esc(&status::range_text(r)),
            counts
                .iter()
                .map(|c| format!("<td class=\"n\">{c}</td>"))
                .collect::<String>(),
            esc(&reason),
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// One cache: its strip (one element per frame), the axis, the reasons per range.
fn cache_section(h: &mut String, i: usize, r: &Row) {
    let State::Checked(report) = &r.state else {
        return;
    };
    let (class, text) = badge(r);
    let _ = write!(
        h,
        "<section class=\"cache\" id=\"cache-{i}\" data-script=\"{}\" data-node=\"{}\">\n\
         <h2>{} &mdash; {} <span class=\"badge {class}\">{text}</span></h2>\n\
         <div class=\"strip\" data-frames=\"{}\">",
        esc(&r.script.display().to_string()),
        esc(&r.node),
        esc(&r.script.display().to_string()),
        esc(&r.node),
        report.frames.len(),
    );
    let groups = group_ranges(&report.frames);
    for (frames, status, reasons) in &groups {
        let mut title = format!("{} {}", format_ranges(frames), status.as_str());
        for reason in reasons {
            title.push('\n');
            title.push_str(&reason.text);
        }
        let title = esc(&title);
        for f in frames {
            let _ = write!(
                h,
                "<span class=\"f {0}\" data-frame=\"{f}\" data-status=\"{0}\" title=\"{f}: {title}\"></span>",
                status.as_str()
            );
        }
    }
    let first = report.frames.first().map_or(0, |f| f.frame);
    let last = report.frames.last().map_or(0, |f| f.frame);
    let _ = writeln!(
        h,
        "</div>\n<div class=\"axis\"><span>{first}</span><span>{last}</span></div>"
    );
    let bad: Vec<_> = groups
        .iter()
        .filter(|(_, s, _)| *s != Status::Valid)
        .collect();
    if bad.is_empty() {
        h.push_str("<p>Every frame is valid.</p>\n");
    } else {
        h.push_str("<ol class=\"reasons\">\n");
        for (frames, status, reasons) in bad {
            let _ = write!(
                h,
                "<li data-first=\"{}\" data-last=\"{}\" data-status=\"{}\"><b>{}</b> {}",
                frames.first().copied().unwrap_or(0),
                frames.last().copied().unwrap_or(0),
                status.as_str(),
                esc(&format_ranges(frames)),
                status.as_str(),
            );
            if !reasons.is_empty() {
                h.push_str("<ul>");
                for reason in reasons {
                    let node = reason
                        .node
                        .as_deref()
                        .map(|n| format!(" <code class=\"node\">{}</code>", esc(n)))
                        .unwrap_or_default();
                    let _ = write!(h, "<li>{}{node}</li>", esc(&reason.text));
                }
                h.push_str("</ul>");
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ol>\n");
    }
    h.push_str("</section>\n");
}
