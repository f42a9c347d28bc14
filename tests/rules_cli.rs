//! `smartcache rules` end to end: the rules in force, layering from the environment and
//! from `--rules`, JSON output, `--why-ignored`, and bad rule files.

use assert_cmd::Command;
use std::path::Path;

/// `smartcache rules ARGS…` run from the crate root (so fixture paths in the output are
/// relative and stable) with no rule files from the caller's environment.
fn rules(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("smartcache").expect("the smartcache binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SMARTCACHE_RULES")
        .arg("rules")
        .args(args);
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().expect("smartcache runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The fingerprint on the last line of the text output.
fn fingerprint(text: &str) -> &str {
    let last = text.lines().last().unwrap_or_default();
    last.strip_prefix("fingerprint ").unwrap_or(last)
}

#[test]
fn builtin_rules_with_origins_reasons_and_fingerprint() {
    insta::assert_snapshot!(stdout(&mut rules(&[])));
}

#[test]
fn rules_files_layer_after_the_environment() {
    let text = stdout(
        rules(&["--rules", "fixtures/rules/extra.rules"])
            .env("SMARTCACHE_RULES", "fixtures/rules/env.rules"),
    );
    // Only the layered part: the builtin part is the snapshot above.
    let layered: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("builtin:"))
        .collect();
    insta::assert_snapshot!(layered.join("\n"));

    let builtin = stdout(&mut rules(&[]));
    assert_ne!(fingerprint(&text), fingerprint(&builtin));
}

#[test]
fn json_lists_kind_pattern_reason_origin() {
    let json = stdout(&mut rules(&[
        "--json",
        "--rules",
        "fixtures/rules/extra.rules",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let text = stdout(&mut rules(&["--rules", "fixtures/rules/extra.rules"]));
    assert_eq!(v["fingerprint"], fingerprint(&text));
    let rules = v["rules"].as_array().expect("a rules array");
    let layered: Vec<&serde_json::Value> = rules
        .iter()
        .filter(|r| !r["origin"].as_str().unwrap_or("").starts_with("builtin:"))
        .collect();
    insta::assert_json_snapshot!(layered);
    assert_eq!(
        rules[0],
        serde_json::json!({
            "kind": "node",
            "pattern": "Dot",
            "reason": "a wiring elbow: its output is its input",
            "origin": "builtin:43"
        })
    );
}

#[test]
fn formatting_a_rule_file_keeps_the_fingerprint() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let tidy = dir.path().join("tidy.rules");
    let messy = dir.path().join("messy.rules");
    std::fs::write(&tidy, "keep node NoOp\nknob Read:reload\n").expect("write");
    std::fs::write(
        &messy,
        "# comment\n\n   keep   node NoOp   # why\n\tknob Read : reload#because\n",
    )
    .expect("write");
    let fp = |p: &Path| {
        let text = stdout(&mut rules(&[
            "--rules",
            p.to_str().expect("UTF-8 temp path"),
        ]));
        fingerprint(&text).to_string()
    };
    assert_eq!(fp(&tidy), fp(&messy));
}

#[test]
fn bad_rule_file_exits_2_with_file_line_col() {
    let out = rules(&["--rules", "fixtures/rules/bad.rules"])
        .output()
        .expect("smartcache runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: fixtures/rules/bad.rules:3:15: a knob pattern has at most one `:` (CLASS:KNOB)\n"
    );
}

#[test]
fn bad_rule_file_from_the_environment_exits_2() {
    let out = rules(&[])
        .env("SMARTCACHE_RULES", "fixtures/rules/bad.rules")
        .output()
        .expect("smartcache runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: fixtures/rules/bad.rules:3:15: a knob pattern has at most one `:` (CLASS:KNOB)\n"
    );
}

#[test]
fn missing_rule_file_exits_2_naming_it() {
    let out = rules(&["--rules", "fixtures/rules/absent.rules"])
        .output()
        .expect("smartcache runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: fixtures/rules/absent.rules: cannot read rule file: "),
        "{err}"
    );
}

#[test]
fn why_ignored_on_a_missing_script_exits_2() {
    let out = rules(&["--why-ignored", "fixtures/rules/absent.nk"])
        .output()
        .expect("smartcache runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("fixtures/rules/absent.nk"), "{err}");
}

#[test]
fn why_ignored_names_node_knob_rule_and_origin() {
    let text = stdout(&mut rules(&[
        "--rules",
        "fixtures/rules/extra.rules",
        "--why-ignored",
        "fixtures/rules/shot.nk",
    ]));
    insta::assert_snapshot!(text);
}

#[test]
fn why_ignored_json() {
    let json = stdout(&mut rules(&[
        "--json",
        "--why-ignored",
        "fixtures/rules/shot.nk",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    insta::assert_json_snapshot!(v["dropped"]);
}
