//! `smartcache dataset …` end to end: status categories, build, dedup, variants,
//! producers, failures, get, verify, gc, trust mode, hostile indexes.

mod dataset_common;
use dataset_common::*;
use smartcache::dataset::index;
use std::fs;

const C: &str = "cache";

#[test]
fn status_reports_every_category_and_changes_nothing() {
    let fx = Fx::new();
    fx.write("a.txt", "alpha\n");
    fx.write("b.txt", "bravo\n");
    fx.write("sub/dup.txt", "alpha\n");
    fx.write("gone.txt", "gone\n");
    fx.write("keep.txt", "keep\n");
    let (code, out, _) = fx.run(&["status", "src", "--cache", C]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "new        <T>/src/a.txt\n\
         new        <T>/src/b.txt\n\
         new        <T>/src/gone.txt\n\
         new        <T>/src/keep.txt\n\
         new        <T>/src/sub/dup.txt\n\
         5 new, 0 changed, 0 touched, 0 removed, 0 unchanged, 2 deduplicated, 0 missing artifacts, 0 reusable, 0 failed (5 files read)\n"
    );
    // status wrote nothing, not even the cache directory.
    assert!(!fx.cache().exists());

    let (code, out, _) = fx.build("up", UPPER, &[]);
    assert_eq!((code, out.as_str()), (0, "5 new, 0 changed, 0 touched, 0 unchanged, 0 removed; 4 transformed, 1 deduplicated, 0 failed\n"));
    wait_out_racy_window();

    fx.write("b.txt", "BRAVO!\n"); // changed
    fx.touch("keep.txt", 100); // touched: metadata moved, same content
    fs::remove_file(fx.src().join("gone.txt")).unwrap(); // removed
    fx.write("new.txt", "bravo\n"); // new; the artifact of b.txt's old content still serves it
    fx.write("copy.txt", "alpha\n"); // new, identical to a cached source: reusable
    let cache_before = tree_state(&fx.cache());
    let (code, out, _) = fx.run(&["status", "src", "--cache", C, "--json"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("dataset_status_all_categories", out);
    assert_eq!(
        tree_state(&fx.cache()),
        cache_before,
        "status must not write"
    );

    let (code, out, _) = fx.build("up", UPPER, &[]);
    assert_eq!(code, 0);
    assert_eq!(out, "2 new, 1 changed, 1 touched, 2 unchanged, 1 removed; 1 transformed, 2 deduplicated, 0 failed\n");
    let (_, got, _) = fx.run(&["get", "src/copy.txt", "--cache", C, "--variant", "up"]);
    assert_eq!(
        read(std::path::Path::new(
            got.replace("<T>", fx.root.to_str().unwrap()).trim()
        )),
        "ALPHA\n"
    );
    let (_, got_a, _) = fx.run(&["get", "src/a.txt", "--cache", C, "--variant", "up"]);
    assert_eq!(got, got_a, "identical contents share one artifact");
}

#[test]
fn unchanged_tree_is_validated_without_reading_files() {
    let fx = Fx::new();
    for i in 0..20 {
        fx.write(&format!("d{}/f{i}.txt", i % 3), &format!("content {i}\n"));
    }
    let (code, _, _) = fx.build("v", UPPER, &[]);
    assert_eq!(code, 0);
    // Just built: the records are racy, so a status reads the files to be sure.
    let (_, out, _) = fx.run(&["status", "src", "--cache", C, "--variant", "v"]);
    assert_eq!(out, "0 new, 0 changed, 0 touched, 0 removed, 20 unchanged, 0 deduplicated, 0 missing artifacts, 0 reusable, 0 failed (20 files read)\n");
    // Once out of the racy window, a build re-stamps them and stat alone vouches for them.
    wait_out_racy_window();
    fx.build("v", UPPER, &[]);
    let (code, out, _) = fx.run(&["status", "src", "--cache", C, "--variant", "v"]);
    assert_eq!(code, 0);
    assert_eq!(out, "0 new, 0 changed, 0 touched, 0 removed, 20 unchanged, 0 deduplicated, 0 missing artifacts, 0 reusable, 0 failed (0 files read)\n");
}

#[test]
fn variants_coexist_and_producers_never_mix() {
    let fx = Fx::new();
    fx.write("a.txt", "abc\n");
    fx.write("b.txt", "def\n");
    let lower_rev = "rev < {in} > {out}";
    assert_eq!(fx.build("up", UPPER, &[]).0, 0);
    assert_eq!(fx.build("rev", lower_rev, &[]).0, 0);
    let get = |v: &str| {
        let (code, out, err) = fx.run(&["get", "src/a.txt", "--cache", C, "--variant", v]);
        (
            code,
            out.trim().replace("<T>", fx.root.to_str().unwrap()),
            err,
        )
    };
    let (_, up, _) = get("up");
    let (_, rev, _) = get("rev");
    assert_eq!(
        (read(up.as_ref()), read(rev.as_ref())),
        ("ABC\n".into(), "cba\n".into())
    );
    // Both variants are complete.
    assert_eq!(fx.run(&["status", "src", "--cache", C]).0, 0);

    // A new producer for "up": the old artifacts are not served, all are rebuilt.
    let v2 = "tr a-z A-Z < {in} | tr -d '\\n' > {out}";
    let (code, out, _) = fx.run(&[
        "status",
        "src",
        "--cache",
        C,
        "--variant",
        "up",
        "--exec",
        v2,
    ]);
    assert_eq!(code, 1);
    assert!(
        out.ends_with("2 missing artifacts, 0 reusable, 0 failed (2 files read)\n"),
        "{out}"
    );
    let (code, out, _) = fx.build("up", v2, &[]);
    assert_eq!((code, out.as_str()), (0, "0 new, 0 changed, 0 touched, 2 unchanged, 0 removed; 2 transformed, 0 deduplicated, 0 failed\n"));
    let (_, up2, _) = get("up");
    assert_ne!(up2, up);
    assert_eq!(read(up2.as_ref()), "ABC");
    // Asking explicitly for the old producer finds nothing: its artifacts are orphaned.
    let old_producer = fx.run(&[
        "status",
        "src",
        "--cache",
        C,
        "--variant",
        "up",
        "--exec",
        UPPER,
    ]);
    assert_eq!(old_producer.0, 1);
    // The other variant was not touched.
    assert_eq!(get("rev").1, rev);
    // gc deletes exactly the two superseded "up" artifacts.
    let (_, out, _) = fx.run(&["gc", "--cache", C, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["count"], 2);
    assert_eq!(v["bytes"], 8);
    assert!(!std::path::Path::new(&up).exists());
    assert!(std::path::Path::new(&rev).exists() && std::path::Path::new(&up2).exists());
    assert_eq!(
        fx.run(&["verify", "--cache", C]).1,
        "2 entries, 4 artifacts checked, 0 problems\n"
    );
}

#[test]
fn failing_transform_is_recorded_and_the_rest_goes_on() {
    let fx = Fx::new();
    fx.write("ok1.txt", "one\n");
    fx.write("bad.txt", "two\n");
    fx.write("ok2.txt", "three\n");
    let exec = "case {in} in *bad*) echo 'cannot decode' >&2; exit 3;; esac; cp {in} {out}";
    let (code, out, _) = fx.build("v", exec, &["-j", "2"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "3 new, 0 changed, 0 touched, 0 unchanged, 0 removed; 2 transformed, 0 deduplicated, 1 failed\n\
         failed: <T>/src/bad.txt: transform failed (exit status 3): cannot decode\n"
    );
    let (code, out, _) = fx.run(&["status", "src", "--cache", C, "--variant", "v"]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "missing    <T>/src/bad.txt [v]\n\
         failed     <T>/src/bad.txt: transform failed (exit status 3): cannot decode\n\
         0 new, 0 changed, 0 touched, 0 removed, 3 unchanged, 0 deduplicated, 1 missing artifacts, 0 reusable, 1 failed (3 files read)\n"
    );
    assert_eq!(
        fx.run(&["get", "src/ok1.txt", "--cache", C, "--variant", "v"])
            .0,
        0
    );
    let (code, _, err) = fx.run(&["get", "src/bad.txt", "--cache", C, "--variant", "v"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: <T>/src/bad.txt: no artifact for variant `v` from producer"),
        "{err}"
    );
    // No temporary output is left behind by the failure.
    let (_, out, _) = fx.run(&["gc", "--cache", C, "--dry-run"]);
    assert_eq!(out, "would delete 0 files, 0 bytes\n");
    // Fixed input: the failure clears.
    fx.write("bad.txt", "fine\n");
    let (code, out, _) = fx.build("v", &exec.replace("*bad*", "*nomatch*"), &[]);
    assert_eq!(code, 0, "{out}");
    let (_, out, _) = fx.run(&["status", "src", "--cache", C, "--variant", "v"]);
    assert!(
        out.ends_with("0 missing artifacts, 0 reusable, 0 failed (3 files read)\n"),
        "{out}"
    );
}

#[test]
fn gc_previews_then_deletes_only_unreferenced_artifacts() {
    let fx = Fx::new();
    fx.write("a.txt", "same\n");
    fx.write("b.txt", "same\n");
    fx.write("c.txt", "other\n");
    fx.build("v", UPPER, &[]);
    // a and b share one artifact; removing a keeps it (b references it), removing c frees c's.
    fs::remove_file(fx.src().join("a.txt")).unwrap();
    fs::remove_file(fx.src().join("c.txt")).unwrap();
    fx.build("v", UPPER, &[]);
    let c_art = format!(
        "objects/{}",
        smartcache::dataset::artifact_name(
            &smartcache::hash::hex128(b"other\n"),
            "v",
            &producer_of(UPPER),
            ""
        )
        .trim_start_matches("objects/")
    );
    // A stray temporary file from a killed build is an orphan too.
    fs::write(fx.cache().join("objects/.stray.123.0.tmp"), b"xyz").unwrap();
    let (code, out, _) = fx.run(&["gc", "--cache", C, "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("objects/.stray.123.0.tmp\n{c_art}\nwould delete 2 files, 9 bytes\n")
    );
    assert!(fx.cache().join(&c_art).exists(), "dry run deletes nothing");
    let (_, out, _) = fx.run(&["gc", "--cache", C]);
    assert_eq!(
        out,
        format!("objects/.stray.123.0.tmp\n{c_art}\ndeleted 2 files, 9 bytes\n")
    );
    assert!(!fx.cache().join(&c_art).exists());
    let (code, got, _) = fx.run(&["get", "src/b.txt", "--cache", C, "--variant", "v"]);
    assert_eq!(code, 0);
    assert_eq!(
        read(
            got.trim()
                .replace("<T>", fx.root.to_str().unwrap())
                .as_ref()
        ),
        "SAME\n"
    );
    assert_eq!(
        fx.run(&["gc", "--cache", C, "--dry-run"]).1,
        "would delete 0 files, 0 bytes\n"
    );
    assert_eq!(
        fx.run(&["verify", "--cache", C]).1,
        "1 entries, 1 artifacts checked, 0 problems\n"
    );
}

/// The producer id the CLI derives from an `--exec` template without `--ext`.
fn producer_of(exec: &str) -> String {
    let h = smartcache::hash::hex128(format!("{exec}\0").as_bytes());
    format!("exec:{}", &h[..16])
}

#[test]
fn trust_index_skips_validation_only_when_asked() {
    let fx = Fx::new();
    fx.write("a.txt", "one\n");
    fx.build("v", UPPER, &[]);
    fx.write("a.txt", "two\n");
    let summary = |args: &[&str], env: Option<&str>| {
        let mut c = fx.cmd();
        c.arg("dataset").args(args);
        if let Some(v) = env {
            c.env("SMARTCACHE_TRUST_INDEX", v);
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .to_string()
    };
    let base = ["status", "src", "--cache", C, "--variant", "v"];
    assert!(summary(&base, None).starts_with("0 new, 1 changed"));
    let mut trusted = base.to_vec();
    trusted.push("--trust-index");
    assert!(
        summary(&trusted, None).starts_with("0 new, 0 changed, 0 touched, 0 removed, 1 unchanged")
    );
    assert!(summary(&base, Some("1"))
        .starts_with("0 new, 0 changed, 0 touched, 0 removed, 1 unchanged"));
    assert!(summary(&base, Some("0")).starts_with("0 new, 1 changed"));
    // get refuses a stale source unless trusting.
    let (code, _, err) = fx.run(&["get", "src/a.txt", "--cache", C, "--variant", "v"]);
    assert_eq!(code, 1);
    assert!(err.contains("source changed since it was cached"), "{err}");
    assert_eq!(
        fx.run(&[
            "get",
            "src/a.txt",
            "--cache",
            C,
            "--variant",
            "v",
            "--trust-index"
        ])
        .0,
        0
    );
}

#[test]
fn cache_serves_without_sources_and_verify_finds_damage() {
    let fx = Fx::new();
    fx.write("a.txt", "one\n");
    fx.write("b.txt", "two\n");
    fx.build("v", UPPER, &[]);
    assert_eq!(
        fx.run(&["verify", "--cache", C]),
        (
            0,
            "2 entries, 2 artifacts checked, 0 problems\n".into(),
            String::new()
        )
    );
    fs::rename(fx.src(), fx.root.join("moved")).unwrap();
    let (code, got, _) = fx.run(&["get", "src/a.txt", "--cache", C, "--variant", "v"]);
    assert_eq!(code, 0, "sourceless get");
    let art = got.trim().replace("<T>", fx.root.to_str().unwrap());
    fs::write(&art, "ONF\n").unwrap();
    let (code, out, _) = fx.run(&["verify", "--cache", C]);
    assert_eq!(code, 1);
    let rel = art
        .trim_start_matches(&format!("{}/", fx.cache().display()))
        .to_string();
    let ck = smartcache::hash::hex128(b"ONF\n");
    let recorded = smartcache::hash::hex128(b"ONE\n");
    assert_eq!(
        out,
        format!("<T>/src/a.txt [v]: {rel}: checksum {ck}, recorded {recorded}\n2 entries, 2 artifacts checked, 1 problems\n")
    );
}

#[test]
fn crafted_index_cannot_lead_outside_the_cache() {
    let fx = Fx::new();
    fx.write("a.txt", "one\n");
    fx.build("v", UPPER, &[]);
    let outside = fx.root.join("precious.txt");
    fs::write(&outside, "do not delete").unwrap();
    fs::create_dir_all(fx.root.join("elsewhere")).unwrap();
    fs::write(fx.root.join("elsewhere/victim"), "victim").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(fx.root.join("elsewhere"), fx.cache().join("objects/ln")).unwrap();
    // The index crafted through the library (its on-disk form is binary).
    let mut idx = index::load(&fx.cache()).unwrap().index;
    let key = format!("{}/src/a.txt", fx.root.display());
    let art = index::Artifact {
        source_hash: smartcache::hash::hex128(b"one\n"),
        variant: "v".into(),
        producer: producer_of(UPPER),
        size: 13,
        checksum: smartcache::hash::hex128(b"do not delete"),
        fp: None,
        at: 0,
    };
    idx.artifacts.clear();
    for (i, bad) in [
        "../precious.txt",
        "objects/../../precious.txt",
        outside.to_str().unwrap(),
        "objects/ln/victim",
    ]
    .iter()
    .enumerate()
    {
        idx.artifacts.insert(bad.to_string(), art.clone());
        let mut e = idx.entries[&key].clone();
        e.variants.insert("v".into(), bad.to_string());
        idx.entries.insert(format!("{key}{i}"), e);
    }
    let e = idx.entries.get_mut(&key).unwrap();
    e.variants.insert("v".into(), "../precious.txt".into());
    index::save(&fx.cache(), &idx).unwrap();

    // The entry's own artifact path leads outside and is refused; the artifact derived from
    // its content (inside the cache) is what serves it.
    let genuine = smartcache::dataset::artifact_name(
        &smartcache::hash::hex128(b"one\n"),
        "v",
        &producer_of(UPPER),
        "",
    );
    let (code, out, err) = fx.run(&["get", "src/a.txt", "--cache", C, "--variant", "v"]);
    assert_eq!(
        (code, out, err),
        (0, format!("<T>/cache/{genuine}\n"), String::new())
    );
    // So are the crafted entries (their sources do not exist: served from the cache).
    for i in 0..4 {
        let src = format!("src/a.txt{i}");
        let (code, out, _) = fx.run(&["get", &src, "--cache", C, "--variant", "v"]);
        assert_eq!((code, out), (0, format!("<T>/cache/{genuine}\n")));
    }
    let (code, out, _) = fx.run(&["verify", "--cache", C]);
    assert_eq!(code, 1);
    assert_eq!(
        out.matches("refusing a path that leaves the cache directory")
            .count(),
        5,
        "{out}"
    );
    let (code, out, _) = fx.run(&["gc", "--cache", C]);
    assert_eq!(code, 0);
    // Only the genuine, now unreferenced artifact and the symlink itself are removed.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], [genuine.as_str(), "objects/ln"], "{out}");
    assert!(lines[2].starts_with("deleted 2 files, "), "{out}");
    assert_eq!(lines.len(), 3);
    assert_eq!(read(&outside), "do not delete");
    assert_eq!(read(&fx.root.join("elsewhere/victim")), "victim");
}

#[cfg(unix)]
#[test]
fn symlinked_objects_dir_is_never_walked_or_deleted_in() {
    let fx = Fx::new();
    fx.write("a.txt", "one\n");
    fx.build("v", UPPER, &[]);
    // Replace objects/ by a link to a directory outside the cache holding files that an
    // unguarded walk would take for orphans.
    fs::rename(fx.cache().join("objects"), fx.root.join("real-objects")).unwrap();
    fs::create_dir_all(fx.root.join("outside/zz")).unwrap();
    fs::write(fx.root.join("outside/zz/victim"), "victim").unwrap();
    std::os::unix::fs::symlink(fx.root.join("outside"), fx.cache().join("objects")).unwrap();
    let (code, _, err) = fx.run(&["gc", "--cache", C]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: objects: refusing a path that leaves the cache directory <T>/cache\n"
    );
    assert_eq!(read(&fx.root.join("outside/zz/victim")), "victim");
    // status counts nothing behind the link as present.
    let (code, out, _) = fx.run(&["status", "src", "--cache", C, "--variant", "v"]);
    assert_eq!(code, 1);
    assert!(
        out.ends_with("1 missing artifacts, 0 reusable, 0 failed (1 files read)\n"),
        "{out}"
    );
}

#[test]
fn items_with_sidecars_are_hashed_and_transformed_together() {
    let fx = Fx::new();
    fx.write("img1.png", "pixels 1\n");
    fx.write("img1.txt", "a caption\n");
    fx.write("img1.mask.png", "mask 1\n");
    fx.write("img2.png", "pixels 2\n");
    fx.write("img2.txt", "another caption\n");
    fx.write("lonely.txt", "a sidecar without its primary\n");
    let exec = "cat {in} {sidecars} > {out}";
    let (code, out, _) = fx.build(
        "joined",
        exec,
        &["--sidecar", "*.txt", "--sidecar", "*.mask.png"],
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "2 new, 0 changed, 0 touched, 0 unchanged, 0 removed; 2 transformed, 0 deduplicated, 0 failed\n")
    );
    let get = |rel: &str| {
        let (code, out, err) = fx.run(&["get", rel, "--cache", C, "--variant", "joined"]);
        let text = (code == 0).then(|| {
            read(std::path::Path::new(
                &out.trim().replace("<T>", fx.root.to_str().unwrap()),
            ))
        });
        (code, text, err)
    };
    // Sidecars in suffix order: `.mask.png` before `.txt`.
    assert_eq!(
        get("src/img1.png").1.unwrap(),
        "pixels 1\nmask 1\na caption\n"
    );
    // A sidecar is not an item of its own.
    assert_eq!(get("src/img1.txt").0, 1);
    // The rule is recorded: status groups the same way without being told.
    let (code, out, _) = fx.run(&["status", "src", "--cache", C]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("0 new, 0 changed, 0 touched, 0 removed, 2 unchanged"),
        "{out}"
    );
    // Editing a caption changes its item.
    fx.write("img1.txt", "a better caption\n");
    let (code, out, _) = fx.run(&["status", "src", "--cache", C]);
    assert_eq!(code, 1);
    assert!(out.starts_with("changed    <T>/src/img1.png\n"), "{out}");
    let (code, _, err) = get("src/img1.png");
    assert_eq!(code, 1);
    assert!(err.contains("source changed since it was cached"), "{err}");
    let (code, out, _) = fx.build("joined", exec, &[]);
    assert_eq!(
        (code, out.as_str()),
        (0, "0 new, 1 changed, 0 touched, 1 unchanged, 0 removed; 1 transformed, 0 deduplicated, 0 failed\n")
    );
    assert_eq!(
        get("src/img1.png").1.unwrap(),
        "pixels 1\nmask 1\na better caption\n"
    );
    // A worker gets the sidecars as extra fields.
    let worker =
        r#"while IFS="$(printf '\t')" read -r i o a b; do cat "$i" $a $b > "$o"; echo ok; done"#;
    let (code, out, _) = fx.run(&[
        "build",
        "src",
        "--cache",
        C,
        "--variant",
        "w",
        "--worker",
        worker,
    ]);
    assert_eq!(code, 0, "{out}");
    let (_, got, _) = fx.run(&["get", "src/img2.png", "--cache", C, "--variant", "w"]);
    assert_eq!(
        read(std::path::Path::new(
            &got.trim().replace("<T>", fx.root.to_str().unwrap())
        )),
        "pixels 2\nanother caption\n"
    );
}
