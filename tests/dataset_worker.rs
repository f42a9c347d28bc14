//! `build --worker`: one long-running transform per job slot, its line protocol, its
//! errors and crashes; `get --many` and `export` for the readers of a built cache.

mod dataset_common;
use dataset_common::*;
use std::fs;

const C: &str = "cache";

/// A worker in `sh` that upper-cases each input and counts its own starts in `starts`.
fn upper_worker(fx: &Fx, body: &str) -> String {
    format!(
        r#"echo start >> {starts}; while IFS="$(printf '\t')" read -r i o; do {body}; done"#,
        starts = fx.root.join("starts").display()
    )
}

const UPPER_BODY: &str = r#"tr a-z A-Z < "$i" > "$o" && echo ok"#;

fn worker_build(fx: &Fx, worker: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "build",
        "src",
        "--cache",
        C,
        "--variant",
        "up",
        "--worker",
        worker,
    ];
    args.extend_from_slice(extra);
    fx.run(&args)
}

#[test]
fn a_worker_per_slot_serves_every_item() {
    let fx = Fx::new();
    for i in 0..50 {
        fx.write(&format!("d{}/f{i:02}.txt", i % 3), &format!("file {i}\n"));
    }
    fx.write("dup.txt", "file 7\n");
    let w = upper_worker(&fx, UPPER_BODY);
    let (code, out, err) = worker_build(&fx, &w, &["-j", "2"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, "51 new, 0 changed, 0 touched, 0 unchanged, 0 removed; 50 transformed, 1 deduplicated, 0 failed\n");
    // Two slots, two worker processes, for 50 items.
    assert_eq!(read(&fx.root.join("starts")), "start\nstart\n");
    let (_, got, _) = fx.run(&["get", "src/d1/f07.txt", "--cache", C, "--variant", "up"]);
    assert_eq!(
        read(std::path::Path::new(
            &got.trim().replace("<T>", fx.root.to_str().unwrap())
        )),
        "FILE 7\n"
    );
    assert_eq!(
        fx.run(&["verify", "--cache", C]).1,
        "51 entries, 50 artifacts checked, 0 problems\n"
    );
    // The producer follows the worker command: the same command has nothing to do.
    let (code, out, _) = worker_build(&fx, &w, &[]);
    assert_eq!((code, out.as_str()), (0, "0 new, 0 changed, 0 touched, 51 unchanged, 0 removed; 0 transformed, 0 deduplicated, 0 failed\n"));
}

#[test]
fn worker_errors_crashes_and_protocol_breaks_fail_only_what_was_in_flight() {
    let fx = Fx::new();
    for i in 0..20 {
        fx.write(&format!("f{i:02}.txt"), &format!("file {i}\n"));
    }
    // One slot, so items go in path order, 16 in flight at a time (f00-f15, then
    // f16-f19). f01 is refused, f03 crashes the worker, f17 gets a reply outside the
    // protocol.
    let body = r#"case "$i" in
        *f01.txt) echo "error cannot decode";;
        *f03.txt) echo "segfault in encoder" >&2; exit 139;;
        *f17.txt) echo "done!";;
        *) tr a-z A-Z < "$i" > "$o"; echo ok;;
      esac"#;
    let w = upper_worker(&fx, body);
    let (code, out, _) = worker_build(&fx, &w, &["-j", "1"]);
    assert_eq!(code, 1);
    let crash = "the worker exited while this item was in flight (worker exit status 139: segfault in encoder)";
    let mut expected = vec![
        "20 new, 0 changed, 0 touched, 0 unchanged, 0 removed; 3 transformed, 0 deduplicated, 17 failed".to_string(),
        "failed: <T>/src/f01.txt: cannot decode".to_string(),
    ];
    // f03 crashed the worker with f04-f15 in flight behind it: they fail with it.
    for i in 3..16 {
        expected.push(format!("failed: <T>/src/f{i:02}.txt: {crash}"));
    }
    // A new worker for f16-f19: f16 is built, f17 breaks the protocol, f18 and f19 were
    // in flight behind it.
    expected.push("failed: <T>/src/f17.txt: worker protocol error: expected `ok` or `error <message>`, got `done!`".into());
    for i in 18..20 {
        expected.push(format!("failed: <T>/src/f{i}.txt: in flight when the worker broke the protocol (it was restarted)"));
    }
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
    assert_eq!(read(&fx.root.join("starts")), "start\nstart\n");
    // The failures are recorded; a fixed worker (another producer) builds everything.
    let (code, out, _) = fx.run(&["status", "src", "--cache", C, "--variant", "up"]);
    assert_eq!(code, 1);
    assert!(
        out.ends_with("17 missing artifacts, 0 reusable, 17 failed (20 files read)\n"),
        "{out}"
    );
    let fixed = upper_worker(&fx, UPPER_BODY);
    let (code, out, _) = worker_build(&fx, &fixed, &["-j", "2"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = fx.run(&["verify", "--cache", C]);
    assert_eq!(
        (code, out.as_str()),
        (0, "20 entries, 20 artifacts checked, 0 problems\n")
    );
}

#[test]
fn get_many_and_export_serve_readers() {
    let fx = Fx::new();
    fx.write("a.txt", "alpha\n");
    fx.write("b.txt", "bravo\n");
    fx.write("c.txt", "alpha\n");
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    let list = fx.root.join("list.txt");
    fs::write(&list, "src/a.txt\nsrc/nope.txt\nsrc/c.txt\n").unwrap();
    let (code, out, err) = fx.run(&[
        "get",
        "--many",
        list.to_str().unwrap(),
        "--cache",
        C,
        "--variant",
        "up",
    ]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("src/a.txt\t<T>/cache/objects/"),
        "{out}"
    );
    assert_eq!(
        lines[0].split('\t').nth(1),
        lines[1].split('\t').nth(1),
        "identical contents, one artifact"
    );
    assert_eq!(
        err,
        "error: <T>/src/nope.txt: not a source file in this cache (not indexed)\n"
    );
    // From stdin, as JSON.
    let out = fx
        .cmd()
        .args([
            "dataset",
            "get",
            "--many",
            "-",
            "--cache",
            C,
            "--variant",
            "up",
            "--json",
        ])
        .write_stdin("src/b.txt\nsrc/nope.txt\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["path"], "src/b.txt");
    assert!(v[0]["artifact"]
        .as_str()
        .unwrap()
        .contains("/cache/objects/"));
    assert_eq!(v[1]["path"], "src/nope.txt");
    assert!(v[1]["error"]
        .as_str()
        .unwrap()
        .ends_with("not a source file in this cache (not indexed)"));

    // export: the map as JSON (to a file) and as TSV; names follow the documented rule.
    let exported = fx.root.join("map.json");
    let (code, _, _) = fx.run(&[
        "export",
        "--cache",
        C,
        "--variant",
        "up",
        "-o",
        exported.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&exported).unwrap()).unwrap();
    assert_eq!(v["format"], "smartcache-dataset-export");
    assert_eq!(v["variant"], "up");
    let producer = v["producer"].as_str().unwrap().to_string();
    let a_key = format!("{}/src/a.txt", fx.root.display());
    let expected = smartcache::dataset::artifact_name(
        &smartcache::hash::hex128(b"alpha\n"),
        "up",
        &producer,
        "",
    );
    assert_eq!(v["artifacts"][&a_key], expected.as_str());
    assert_eq!(v["artifacts"].as_object().unwrap().len(), 3);
    let (_, tsv, _) = fx.run(&["export", "--cache", C, "--variant", "up", "--format", "tsv"]);
    assert_eq!(
        tsv.lines().next().unwrap(),
        format!("<T>/src/a.txt\t{expected}")
    );
}
