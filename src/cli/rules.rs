//! `smartcache rules`: the ignore rules in force, their fingerprint, and (with
//! `--why-ignored SCRIPT`) what they drop from a script and which rule drops each item.

use super::EXIT_OK;
use smartcache::ignore::{Dropped, Rule, RuleSet, RULES_ENV};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(
    after_help = "Rules come from the built-in defaults, then the files named by \
SMARTCACHE_RULES (a PATH-style list), then each --rules FILE; the last matching rule wins.\n\
A rule file has one rule per line, `# reason` after it:\n  \
node CLASS | knob KNOB | knob CLASS:KNOB | keep node CLASS | keep knob [CLASS:]KNOB\n\
CLASS and KNOB are globs (`*`, `?`, `[ab]`, `{a,b}`). Exit status: 0 ok, 2 on error.\n\n\
Examples:\n  smartcache rules\n  smartcache rules --rules studio.rules --why-ignored comp.nk\n  \
smartcache rules --json"
)]
pub struct Args {
    /// A rule file layered on top of the defaults and SMARTCACHE_RULES (repeatable; later
    /// files win).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// List every node and knob of SCRIPT that the rules drop, and the rule that drops it.
    #[arg(long, value_name = "SCRIPT")]
    why_ignored: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let set = RuleSet::load(&args.rules)?;
    let out = match &args.why_ignored {
        None if args.json => rules_json(&set)?,
        None => rules_text(&set),
        Some(path) => {
            let script = smartcache::graph::LoadedScript::read(path)?.script;
            let dropped = set.dropped(&script);
            if args.json {
                dropped_json(&set, path, &dropped)?
            } else {
                dropped_text(&set, &dropped)
            }
        }
    };
    out!("{out}")?;
    Ok(EXIT_OK)
}

/// Width of the rule column: wide enough for most rules, so that a few very long ones
/// (3D class lists) do not push every reason off screen.
const RULE_COLUMN: usize = 36;

/// One line per rule in file syntax, so the output can be pasted into a rule file:
/// `ORIGIN  RULE  # REASON`.
fn rules_text(set: &RuleSet) -> String {
    let origin_width = set
        .rules()
        .iter()
        .map(|r| r.origin.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# {} rules; the last matching rule wins (layers: builtin, ${RULES_ENV}, --rules)",
        set.len()
    );
    for rule in set.rules() {
        let text = rule.to_string();
        let line = match &rule.reason {
            Some(reason) => {
                format!(
                    "{:origin_width$}  {text:RULE_COLUMN$}  # {reason}",
                    rule.origin
                )
            }
            None => format!("{:origin_width$}  {text}", rule.origin),
        };
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out, "fingerprint {}", set.fingerprint());
    out
}

#[derive(serde::Serialize)]
struct RulesJson<'a> {
    fingerprint: String,
    rules: &'a [Rule],
}

fn rules_json(set: &RuleSet) -> anyhow::Result<String> {
    let doc = RulesJson {
        fingerprint: set.fingerprint(),
        rules: set.rules(),
    };
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

/// `NODE  KNOB  RULE  ORIGIN` columns (`-` for a whole node), then a summary line.
fn dropped_text(set: &RuleSet, dropped: &[Dropped<'_>]) -> String {
    let rows: Vec<[String; 4]> = dropped
        .iter()
        .map(|d| {
            [
                d.node.to_string(),
                d.knob.unwrap_or("-").to_string(),
                d.rule.to_string(),
                d.rule.origin.clone(),
            ]
        })
        .collect();
    let header = ["NODE", "KNOB", "RULE", "ORIGIN"].map(str::to_string);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let nodes = dropped.iter().filter(|d| d.knob.is_none()).count();
    let _ = writeln!(
        out,
        "{nodes} node(s) and {} knob(s) dropped; fingerprint {}",
        dropped.len() - nodes,
        set.fingerprint()
    );
    out
}

#[derive(serde::Serialize)]
struct DroppedJson<'a> {
    script: String,
    fingerprint: String,
    dropped: Vec<DroppedItem<'a>>,
}

#[derive(serde::Serialize)]
struct DroppedItem<'a> {
    node: &'a str,
    class: &'a str,
    knob: Option<&'a str>,
    rule: String,
    origin: &'a str,
}

fn dropped_json(set: &RuleSet, script: &Path, dropped: &[Dropped<'_>]) -> anyhow::Result<String> {
    let doc = DroppedJson {
        script: script.display().to_string(),
        fingerprint: set.fingerprint(),
        dropped: dropped
            .iter()
            .map(|d| DroppedItem {
                node: d.node,
                class: d.class,
                knob: d.knob,
                rule: d.rule.to_string(),
                origin: &d.rule.origin,
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartcache::graph::{Knob, Node, Script};

    fn script() -> Script {
        let mut s = Script::default();
        s.root.push(Knob::new("frame", "7"));
        let mut blur = Node::new("Blur1", "Blur");
        blur.knobs = vec![Knob::new("size", "3"), Knob::new("xpos", "0")];
        s.graph.add_node(blur);
        s.graph.add_node(Node::new("Dot1", "Dot"));
        s
    }

    fn set() -> RuleSet {
        RuleSet::parse(
            "node Dot # elbow\nknob xpos\nknob Root:frame # timeline\n",
            "t.rules",
        )
        .unwrap()
    }

    #[test]
    fn rules_text_lists_rules_in_file_syntax() {
        let set = set();
        let expected = format!(
            "# 3 rules; the last matching rule wins (layers: builtin, $SMARTCACHE_RULES, --rules)\n\
             t.rules:1  node Dot                              # elbow\n\
             t.rules:2  knob xpos\n\
             t.rules:3  knob Root:frame                       # timeline\n\
             fingerprint {}\n",
            set.fingerprint()
        );
        assert_eq!(rules_text(&set), expected);
    }

    #[test]
    fn dropped_text_is_a_table_with_a_summary() {
        let set = set();
        let s = script();
        let expected = format!(
            "NODE   KNOB   RULE             ORIGIN\n\
             Root   frame  knob Root:frame  t.rules:3\n\
             Blur1  xpos   knob xpos        t.rules:2\n\
             Dot1   -      node Dot         t.rules:1\n\
             1 node(s) and 2 knob(s) dropped; fingerprint {}\n",
            set.fingerprint()
        );
        assert_eq!(dropped_text(&set, &set.dropped(&s)), expected);
    }

    #[test]
    fn dropped_json_names_node_knob_rule_and_origin() {
        let set = set();
        let s = script();
        let json = dropped_json(&set, Path::new("a.nk"), &set.dropped(&s)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "script": "a.nk",
                "fingerprint": set.fingerprint(),
                "dropped": [
                    {"node": "Root", "class": "Root", "knob": "frame",
                     "rule": "knob Root:frame", "origin": "t.rules:3"},
                    {"node": "Blur1", "class": "Blur", "knob": "xpos",
                     "rule": "knob xpos", "origin": "t.rules:2"},
                    {"node": "Dot1", "class": "Dot", "knob": null,
                     "rule": "node Dot", "origin": "t.rules:1"},
                ]
            })
        );
    }
}
