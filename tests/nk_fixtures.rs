//! `smartcache graph` on the hand-written fixtures in `fixtures/nk/`: the JSON graph
//! of every grammar feature, and the exact message and exit status of every error.

use assert_cmd::Command;
use std::path::Path;

fn smartcache(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("smartcache")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

/// stdout of a run that must succeed.
fn ok(args: &[&str]) -> String {
    let out = smartcache(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Exit status and stderr of a run that must fail, with nothing on stdout.
fn failure(args: &[&str]) -> String {
    let out = smartcache(args);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    format!(
        "exit: {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    )
}

const GRAPHS: &[&str] = &[
    "stack",
    "stack_ops",
    "groups",
    "clone",
    "clipboard",
    "unset_clipboard",
    "lexical",
    "latin1",
];

/// Fixtures that load with warnings (see `a_knob_without_a_value_loads_with_a_warning`).
const LENIENT: &[&str] = &["bare_knob"];

#[test]
fn json_graph_of_every_fixture() {
    for name in GRAPHS {
        let path = format!("fixtures/nk/{name}.nk");
        insta::assert_snapshot!(format!("json_{name}"), ok(&["graph", "--json", &path]));
    }
}

const ERRORS: &[&str] = &[
    "unclosed_brace",
    "stray_close_brace",
    "unterminated_quote",
    "unterminated_bracket",
    "trailing_after_brace",
    "end_group_without_group",
    "unclosed_group",
    "unknown_clone_source",
    "empty_clone_source",
    "unknown_variable",
    "bad_inputs",
    "huge_inputs",
    "stack_underflow",
    "bad_set",
    "bad_push",
    "bad_roll",
    "unknown_command",
    "pop_with_argument",
];

#[test]
fn every_error_fixture_fails_with_its_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nk/errors");
    let on_disk = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(on_disk, ERRORS.len(), "every error fixture is listed");
    for name in ERRORS {
        let path = format!("fixtures/nk/errors/{name}.nk");
        let got = failure(&["graph", "--json", &path]);
        assert!(got.starts_with("exit: Some(2)\nerror: "), "{got}");
        insta::assert_snapshot!(format!("error_{name}"), got);
    }
}

#[test]
fn summary_names_counts_groups_and_terminals() {
    insta::assert_snapshot!("summary_stack", ok(&["graph", "fixtures/nk/stack.nk"]));
    insta::assert_snapshot!("summary_groups", ok(&["graph", "fixtures/nk/groups.nk"]));
}

#[test]
fn dot_output_quotes_names_and_labels_slots() {
    insta::assert_snapshot!("dot_stack", ok(&["graph", "--dot", "fixtures/nk/stack.nk"]));
}

#[test]
fn upstream_keeps_what_a_node_depends_on() {
    insta::assert_snapshot!(
        "upstream_k1",
        ok(&[
            "graph",
            "--json",
            "--upstream",
            "K1",
            "fixtures/nk/stack.nk"
        ])
    );
    // Through a group: the Output child's chain, the group itself and what feeds it.
    insta::assert_snapshot!(
        "upstream_after_group",
        ok(&[
            "graph",
            "--json",
            "--upstream",
            "AfterGroup",
            "fixtures/nk/groups.nk"
        ])
    );
}

#[test]
fn upstream_of_an_unknown_node_is_an_error() {
    insta::assert_snapshot!(
        "error_upstream_unknown",
        failure(&["graph", "--upstream", "Nope", "fixtures/nk/stack.nk"])
    );
}

#[test]
fn usage_errors_exit_2() {
    let got = failure(&["graph", "fixtures/nk/stack.nk", "fixtures/nk/groups.nk"]);
    assert_eq!(
        got,
        "exit: Some(2)\nerror: expected one SCRIPT, got 2 (use --check to read several)\n"
    );
    let got = failure(&["graph", "--dot", "--check", "fixtures/nk/stack.nk"]);
    assert!(
        got.starts_with("exit: Some(2)\nerror: the argument '--dot' cannot be used with '--check'"),
        "{got}"
    );
    let got = failure(&["graph", "fixtures/nk/does-not-exist.nk"]);
    assert!(
        got.starts_with(
            "exit: Some(2)\nerror: fixtures/nk/does-not-exist.nk: cannot read the file: "
        ),
        "{got}"
    );
}

#[test]
fn check_reports_each_failing_file_and_totals() {
    let out = smartcache(&["graph", "--check", "fixtures/nk"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    // One line per error fixture (sorted by path), then the totals.
    assert_eq!(lines.len(), ERRORS.len() + 3, "{stdout}");
    let mut sorted = ERRORS.to_vec();
    sorted.sort();
    for (line, name) in lines.iter().zip(&sorted) {
        assert!(
            line.starts_with(&format!("fixtures/nk/errors/{name}.nk:")),
            "{line}"
        );
    }
    let total = GRAPHS.len() + LENIENT.len() + ERRORS.len();
    assert!(
        lines[ERRORS.len()].starts_with(&format!(
            "files {total}, ok {}, failed {}, nodes ",
            GRAPHS.len() + LENIENT.len(),
            ERRORS.len()
        )),
        "{stdout}"
    );
    assert!(
        lines[ERRORS.len() + 1].starts_with("parse only (sum over files, no I/O): "),
        "{stdout}"
    );
    assert!(
        lines[ERRORS.len() + 2].starts_with("peak memory "),
        "{stdout}"
    );
    // All good files: exit 0.
    let out = smartcache(&[
        "graph",
        "--check",
        "fixtures/nk/stack.nk",
        "fixtures/nk/groups.nk",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn help_explains_outputs_and_exit_status() {
    let help = ok(&["graph", "--help"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "--json",
        "--dot",
        "--upstream <NODE>",
        "--check",
        "every popped slot, input 0 first, null for an empty slot",
        "Exit status: 0 when every file reads, 1 when some file does not, 2 on usage errors.",
        "smartcache graph --check scripts/ gizmos/",
    ] {
        assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn a_knob_without_a_value_loads_with_a_warning() {
    let out = smartcache(&["graph", "--json", "fixtures/nk/bare_knob.nk"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "warning: fixtures/nk/bare_knob.nk:3:2: knob `EnvConvolve` has no value; kept as a \
         knob with an empty value\nwarning: fixtures/nk/bare_knob.nk:11:3: knob `size` has no \
         value; kept as a knob with an empty value\n"
    );
    let script =
        smartcache::graph::LoadedScript::read(std::path::Path::new("fixtures/nk/bare_knob.nk"))
            .unwrap()
            .script;
    let tool = script.graph.node(script.graph.find("Tool").unwrap());
    assert_eq!(tool.knob("EnvConvolve"), Some(""));
    assert_eq!(tool.knob("help"), Some("\"convolves an environment\""));
}
