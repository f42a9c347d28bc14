//! The default ignore rules against the corpus of real scripts: they must drop the
//! cosmetic nodes and knobs real files are full of, and never a knob that can change
//! pixels. The corpus is found at `$SMARTCACHE_SHARED/corpus` or
//! `$CARGO_MANIFEST_DIR/../shared/corpus`; a missing corpus fails the test.

use smartcache::ignore::RuleSet;
use std::collections::BTreeMap;
mod common;

/// Knobs that can change pixels or what a render reads; no default rule may drop them.
const PIXEL_KNOBS: &[&str] = &[
    "disable",
    "mix",
    "channels",
    "maskChannelMask",
    "maskChannelInput",
    "file",
    "format",
    "first",
    "last",
    "first_frame",
    "last_frame",
    "inputs",
    "which",
    "operation",
    "size",
    "addUserKnob",
    "onCreate",
    "lifetime_type",
    "lifetime_start",
    "lifetime_end",
    "curves",
    "kernelSource",
    "message",
    "useGPUIfAvailable",
    "cacheBreaker",
    "output",
    "render_mode",
    "workingSpaceLUT",
    "int8Lut",
    "int16Lut",
    "logLut",
    "floatLut",
    "colorManagement",
];

#[test]
fn default_rules_on_the_corpus() {
    let set = RuleSet::builtin();
    let mut fired: BTreeMap<String, usize> = BTreeMap::new();
    let paths = common::corpus_files();
    assert_eq!(paths.len(), 360, "the corpus holds 360 scripts");
    for path in &paths {
        let script = smartcache::graph::LoadedScript::read(path)
            .map(|l| l.script)
            .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        for d in set.dropped(&script) {
            if let Some(knob) = d.knob {
                assert!(
                    !PIXEL_KNOBS.contains(&knob),
                    "{}: {}.{knob} dropped by `{}` ({})",
                    path.display(),
                    d.node,
                    d.rule,
                    d.rule.origin
                );
            }
            *fired.entry(d.rule.to_string()).or_default() += 1;
        }
    }
    for rule in [
        "node Dot",
        "node NoOp",
        "node BackdropNode",
        "node StickyNote",
        "node Viewer",
        "node PostageStamp",
        "knob name",
        "knob xpos",
        "knob ypos",
        "knob label",
        "knob selected",
        "knob tile_color",
        "knob note_font*",
        "knob knobChanged",
        "knob BlinkScript:recompileCount",
        "knob {Roto,RotoPaint,SplineWarp3}:toolbar_*",
    ] {
        assert!(
            fired.get(rule).copied().unwrap_or(0) > 0,
            "`{rule}` never fired on the corpus: {fired:#?}"
        );
    }
}
