//! Curve evaluation, implicit frames, slopes, extrapolation and influence sets.
//!
//! Expected values are computed by hand from the Hermite basis
//! h00 = 2s³-3s²+1, h10 = s³-2s²+s, h01 = -2s³+3s², h11 = s³-s², chosen at parameters
//! where the arithmetic is exact in binary so that the comparisons can be exact.

use proptest::prelude::*;
use smartcache::eval::{Curve, Extrap, Interp, KnobValue};

fn curve(inner: &str) -> Curve {
    Curve::parse(inner)
}

fn value(inner: &str, f: f64) -> f64 {
    curve(inner).value_at(f).expect("curve has keys")
}

fn canonical_keys(inner: &str) -> Vec<String> {
    curve(inner)
        .keys()
        .iter()
        .map(|k| k.canonical().to_owned())
        .collect()
}

fn bytes(knob: &str, f: f64) -> String {
    String::from_utf8(KnobValue::parse(knob).at(f).canonical_bytes()).unwrap()
}

#[test]
fn constant_interpolation_holds_until_the_next_key() {
    let c = "curve K x1 0 x11 10";
    assert_eq!(value(c, 1.0), 0.0);
    assert_eq!(value(c, 5.0), 0.0);
    assert_eq!(value(c, 10.9), 0.0);
    assert_eq!(value(c, 11.0), 10.0);
}

#[test]
fn linear_interpolation_is_a_straight_line() {
    let c = "curve L x1 0 x11 10";
    assert_eq!(value(c, 5.0), 4.0);
    assert_eq!(value(c, 3.5), 2.5);
    assert_eq!(value(c, 11.0), 10.0);
}

#[test]
fn smooth_is_the_default_and_eases_at_end_keys() {
    // Two keys: both are end keys, so both tangents are flat.
    let c = "curve x0 0 x4 8";
    assert_eq!(value(c, 1.0), 1.25); // 8 * h01(0.25) = 8 * 0.15625
    assert_eq!(value(c, 2.0), 4.0);
    assert_eq!(value(c, 3.0), 6.75); // 8 * h01(0.75) = 8 * 0.84375
    assert!(curve(c).keys().iter().all(|k| k.interp == Interp::Smooth));
}

#[test]
fn smooth_flattens_at_an_extremum() {
    // The middle key is above both neighbours: its tangent is flat.
    assert_eq!(value("curve x0 0 x1 5 x2 0", 0.5), 2.5);
}

#[test]
fn smooth_uses_catmull_rom_slope_within_bounds() {
    // Key 1: chords 1 and 3, Catmull-Rom slope 16/8 = 2, bound 3*1 = 3: slope 2.
    // At 2 (s = 0.5, h = 4): 4*h01 + 4*2*h11 = 2 - 1 = 1.
    assert_eq!(value("curve x0 0 x4 4 x8 16", 2.0), 1.0);
}

#[test]
fn smooth_clamps_where_catmull_rom_overshoots() {
    // Key 1: chords 0.5 and 4.5, Catmull-Rom slope 10/4 = 2.5, clamped to 3*0.5 = 1.5.
    // At 1 (s = 0.5, h = 2): h01*1 + h11*2*1.5 = 0.5 - 0.375.
    assert_eq!(value("curve S x0 0 x2 1 x4 10", 1.0), 0.125);
    // R keeps the unclamped slope (key 0's slope is its chord 0.5):
    // h10*2*0.5 + h01*1 + h11*2*2.5 = 0.125 + 0.5 - 0.625 = 0.
    assert_eq!(value("curve R x0 0 x2 1 x4 10", 1.0), 0.0);
}

#[test]
fn cubic_is_the_natural_spline() {
    // Through (0,0) (1,1) (2,0): second derivatives 0, -3, 0; on [0,1] the spline is
    // -x³/2 + 3x/2, so at 0.5: -0.0625 + 0.75.
    let c = "curve C x0 0 x1 1 x2 0";
    assert_eq!(value(c, 0.5), 0.6875);
    assert_eq!(value(c, 1.5), 0.6875);
    // Every key of a cubic curve moves every frame: a far key changes the value here.
    let near = value("curve C x0 0 x1 1 x2 0 x3 0 x4 0", 0.5);
    let far = value("curve C x0 0 x1 1 x2 0 x3 0 x4 7", 0.5);
    assert_ne!(near, far);
    assert_eq!(
        curve("curve C x0 0 x1 1 x2 0 x3 0 x4 7").influence(0.5),
        vec![0, 1, 2, 3, 4]
    );
}

#[test]
fn user_slopes_override_the_interpolation() {
    // s2 on key 1 sets its left tangent: 4*h01 + 4*2*h11 at s = 0.5 = 2 - 1.
    assert_eq!(value("curve x0 0 s0 x4 4 s2", 2.0), 1.0);
    // t1 sets key 0's right tangent (s5 only its left one): 4*1*h10 + 4*h01 = 0.5 + 2.
    assert_eq!(value("curve x0 0 s5 t1 x4 4", 2.0), 2.5);
    // Flat user slopes on linear keys ease like smooth ones.
    assert_eq!(value("curve L x0 0 s0 x4 8 s0", 1.0), 1.25);
    let c = curve("curve x0 0 s5 t1 x4 4");
    let k = &c.keys()[0];
    assert_eq!((k.left_slope(), k.right_slope()), (Some(5.0), Some(1.0)));
}

#[test]
fn handle_lengths_bend_the_segment() {
    let default = value("curve x0 0 s0 x4 4 s0", 1.0);
    let long = value("curve x0 0 s0 v3 x4 4 s0", 1.0);
    assert_eq!(default, 0.625);
    assert!(
        long < default,
        "a longer flat handle holds the start value longer: {long}"
    );
    // Handles on a straight line keep it straight.
    let straight = value("curve L x0 0 v2 x3 3 u0.5", 1.0);
    assert!((straight - 1.0).abs() < 1e-12, "{straight}");
}

#[test]
fn extrapolation_constant_and_linear() {
    assert_eq!(value("curve L x0 0 x4 8", -2.0), 0.0);
    assert_eq!(value("curve L x0 0 x4 8", 10.0), 8.0);
    assert_eq!(value("curve L l x0 0 x4 8", -2.0), -4.0);
    assert_eq!(value("curve L l x0 0 x4 8", 10.0), 20.0);
    // Letters are sticky: `l` before the second key leaves the first one constant.
    let c = curve("curve L x0 0 l x4 8");
    assert_eq!(c.keys()[0].extrap, Extrap::Constant);
    assert_eq!(c.keys()[1].extrap, Extrap::Linear);
    assert_eq!(value("curve L x0 0 l x4 8", -2.0), 0.0);
    assert_eq!(value("curve L x0 0 l x4 8", 6.0), 12.0);
    // A smooth end key has a flat tangent, so linear extrapolation stays level.
    assert_eq!(value("curve l x0 0 x4 8", 10.0), 8.0);
}

#[test]
fn implicit_frames_step_on_from_the_previous_keys() {
    assert_eq!(
        canonical_keys("curve x1 233 497 494"),
        ["Sk x1 233", "Sk x2 497", "Sk x3 494"]
    );
    assert_eq!(canonical_keys("curve 5 6"), ["Sk x0 5", "Sk x1 6"]);
    assert_eq!(
        canonical_keys("curve x10 1 x20 2 3 4"),
        ["Sk x10 1", "Sk x20 2", "Sk x30 3", "Sk x40 4"]
    );
    assert_eq!(
        canonical_keys("curve x1 0 x1.5 1 2"),
        ["Sk x1 0", "Sk x1.5 1", "Sk x2 2"]
    );
    assert_eq!(value("curve L x1 233 497 494", 1.5), 365.0);
}

#[test]
fn canonical_key_text_spells_out_sticky_letters_and_keeps_numbers_as_written() {
    assert_eq!(
        canonical_keys("curve L x1001 1.0 S l x1005 2.50 s0.5 t-1 u2 v0.5 K x1010 3"),
        [
            "Lk x1001 1.0",
            "Sl x1005 2.50 s0.5 t-1 u2 v0.5",
            "Kl x1010 3"
        ]
    );
}

#[test]
fn unknown_tokens_are_kept_and_make_every_key_influence() {
    let c = curve("curve x0 0 Z x10 1 x20 2 q7");
    assert_eq!(c.unknown, ["Z", "q7"]);
    assert!(!c.is_exact());
    assert_eq!(c.influence(1.0), vec![0, 1, 2]);
    // Kept as written in the frame view, and the frame is then part of the manifest.
    assert_eq!(
        bytes("{{curve x0 0 Z x10 1 x20 2 q7}}", 1.0),
        r#"{"time_dependent":true,"value":["{",{"animation":"{curve x0 0 Z x10 1 x20 2 q7}"},"}"]}"#
    );
}

#[test]
fn out_of_order_keys_are_sorted_and_influence_everything() {
    let c = curve("curve L x10 1 x0 0");
    assert_eq!(c.keys()[0].frame, 0.0);
    assert_eq!(value("curve L x10 1 x0 0", 5.0), 0.5);
    assert!(!c.is_exact());
    assert_eq!(c.influence(5.0), vec![0, 1]);
}

#[test]
fn influence_of_each_interpolation() {
    let keys = "x0 0 x10 1 x20 3 x30 3.5 x40 9";
    // Linear: only the bracketing keys.
    assert_eq!(
        curve(&format!("curve L {keys}")).influence(15.0),
        vec![1, 2]
    );
    // Constant: the key before; the next one counts only from its own frame, so
    // editing it cannot move the frames before it.
    assert_eq!(curve(&format!("curve K {keys}")).influence(15.0), vec![1]);
    assert_eq!(
        curve(&format!("curve K {keys}")).influence(19.6),
        vec![1, 2]
    );
    // Smooth and Catmull-Rom: the bracketing keys and their neighbours.
    assert_eq!(
        curve(&format!("curve {keys}")).influence(15.0),
        vec![0, 1, 2, 3]
    );
    assert_eq!(
        curve(&format!("curve R {keys}")).influence(15.0),
        vec![0, 1, 2, 3]
    );
    // Cubic: everything.
    assert_eq!(
        curve(&format!("curve C {keys}")).influence(15.0),
        vec![0, 1, 2, 3, 4]
    );
    // User slopes cut the dependence on neighbours.
    assert_eq!(
        curve("curve x0 0 x10 1 s1 x20 3 s1 x30 3.5 x40 9").influence(15.0),
        vec![1, 2]
    );
    // On a key, the window reaches both segments around it.
    assert_eq!(
        curve(&format!("curve L {keys}")).influence(10.0),
        vec![0, 1, 2]
    );
    // Before the first key: constant extrapolation needs only that key; linear needs
    // its tangent too.
    assert_eq!(curve(&format!("curve L {keys}")).influence(-5.0), vec![0]);
    assert_eq!(
        curve(&format!("curve L l {keys}")).influence(-5.0),
        vec![0, 1]
    );
    assert_eq!(
        curve(&format!("curve L l {keys}")).influence(50.0),
        vec![3, 4]
    );
    // A NaN frame has no value and no panic.
    assert_eq!(curve(&format!("curve {keys}")).value_at(f64::NAN), None);
    assert!(!bytes("{{curve x0 0 x10 1}}", f64::NAN).is_empty());
    // No keys, no influence.
    assert!(curve("curve").influence(1.0).is_empty());
    assert_eq!(curve("curve").value_at(1.0), None);
}

#[test]
fn moving_a_key_outside_the_influence_keeps_the_bytes() {
    let base = "{{curve x1 0 x10 5 x20 8 x30 9 x40 20}}";
    // Key 1's tangent: Catmull-Rom 8/19 (within 3 * 0.3); key 2's: 0.2 (within 0.3).
    // At 15 (s = 0.5, h = 10): 5/2 + 10/8 * 8/19 + 8/2 - 10/8 * 0.2 = 6.25 + 10/19.
    let at15 = bytes(base, 15.0);
    assert_eq!(
        at15,
        r#"{"value":["{",{"curve":{"keys":["Sk x1 0","Sk x10 5","Sk x20 8","Sk x30 9"],"value":"6.776315789473684"}},"}"]}"#
    );
    // Key 4 cannot reach frame 15: moving it or changing its value changes nothing.
    assert_eq!(bytes("{{curve x1 0 x10 5 x20 8 x30 9 x45 20}}", 15.0), at15);
    assert_eq!(bytes("{{curve x1 0 x10 5 x20 8 x30 9 x40 -3}}", 15.0), at15);
    // Adding a key far away changes nothing either.
    assert_eq!(
        bytes("{{curve x1 0 x10 5 x20 8 x30 9 x40 20 x60 1}}", 15.0),
        at15
    );
    // Key 3 feeds key 2's tangent: changing it changes the value and the bytes.
    let moved = bytes("{{curve x1 0 x10 5 x20 8 x30 12 x40 20}}", 15.0);
    assert_ne!(moved, at15);
    assert_ne!(
        value("curve x1 0 x10 5 x20 8 x30 12 x40 20", 15.0),
        value("curve x1 0 x10 5 x20 8 x30 9 x40 20", 15.0)
    );
    // Moving key 3 in frame changes the bytes too.
    assert_ne!(bytes("{{curve x1 0 x10 5 x20 8 x31 9 x40 20}}", 15.0), at15);
}

#[test]
fn a_smooth_tangent_reaches_back_to_the_previous_key() {
    // Key 1's tangent is the chord from key 0 to key 2: (2 - 0)/8, then (2 + 2)/8 once
    // key 0 drops to -2. Frame 6 lies between keys 1 and 2 only, yet it moves.
    let before = "{{curve x0 0 x4 1 x8 2 x12 3}}";
    let after = "{{curve x0 -2 x4 1 x8 2 x12 3}}";
    assert_eq!(curve_of(before).influence(6.0), vec![0, 1, 2, 3]);
    assert_ne!(
        curve_of(before).value_at(6.0),
        curve_of(after).value_at(6.0)
    );
    assert_ne!(bytes(before, 6.0), bytes(after, 6.0));
}

#[test]
fn one_key_curves_are_static() {
    let v = KnobValue::parse("{{curve x1 5}}");
    assert!(v.is_animated());
    assert!(v.is_static());
    assert_eq!(
        bytes("{{curve x1 5}}", -100.0),
        bytes("{{curve x1 5}}", 100.0)
    );
    assert!(!KnobValue::parse("{{curve x1 5 x2 6}}").is_static());
}

// ---------------------------------------------------------------------------
// Property: a key edit that can move the value anywhere in [f - 0.5, f + 0.5] changes
// the canonical bytes at f.

#[derive(Debug, Clone)]
struct GenKey {
    letter: Option<&'static str>,
    gap: u8,
    half: bool,
    value: i8,
    slope: Option<i8>,
}

fn gen_key() -> impl Strategy<Value = GenKey> {
    (
        prop::option::weighted(
            0.4,
            prop::sample::select(vec!["K", "L", "S", "R", "C", "k", "l"]),
        ),
        1u8..8,
        any::<bool>(),
        -5i8..6,
        prop::option::weighted(0.2, -3i8..4),
    )
        .prop_map(|(letter, gap, half, value, slope)| GenKey {
            letter,
            gap,
            half,
            value,
            slope,
        })
}

/// Curves whose values mostly climb, so that smooth keys often have non-flat tangents
/// (random values would make most keys extrema, whose tangents ignore their neighbours).
fn gen_keys() -> impl Strategy<Value = Vec<GenKey>> {
    prop::collection::vec(gen_key(), 1..8).prop_map(|mut keys| {
        let mut level = 0i8;
        for k in &mut keys {
            level = level.saturating_add(k.value.rem_euclid(4) - 1);
            k.value = level;
        }
        keys
    })
}

fn render(keys: &[GenKey]) -> String {
    let mut s = String::from("{{curve");
    let mut x = 0.0;
    for k in keys {
        x += f64::from(k.gap) + if k.half { 0.5 } else { 0.0 };
        if let Some(l) = k.letter {
            s.push_str(&format!(" {l}"));
        }
        s.push_str(&format!(" x{x} {}", k.value));
        if let Some(m) = k.slope {
            s.push_str(&format!(" s{m}"));
        }
    }
    s.push_str("}}");
    s
}

#[derive(Debug, Clone)]
enum Edit {
    Value(usize, i8),
    Gap(usize, u8),
    Letter(usize, Option<&'static str>),
    Slope(usize, Option<i8>),
    Delete(usize),
    Insert(usize, GenKey),
}

/// Every single-key edit of `keys`: new values, gaps, letters and slopes, deletion,
/// and insertion of a key before each key and at the end.
fn all_edits(keys: &[GenKey]) -> Vec<Edit> {
    const LETTERS: [Option<&str>; 8] = [
        None,
        Some("K"),
        Some("L"),
        Some("S"),
        Some("R"),
        Some("C"),
        Some("k"),
        Some("l"),
    ];
    let mut out = Vec::new();
    for (j, k) in keys.iter().enumerate() {
        out.push(Edit::Value(j, k.value.saturating_add(1)));
        out.push(Edit::Value(j, k.value.saturating_sub(2)));
        out.push(Edit::Gap(j, k.gap + 1));
        if k.gap > 1 {
            out.push(Edit::Gap(j, k.gap - 1));
        }
        out.extend(LETTERS.iter().map(|&l| Edit::Letter(j, l)));
        out.extend([None, Some(0), Some(2)].map(|m| Edit::Slope(j, m)));
        out.push(Edit::Delete(j));
    }
    for j in 0..=keys.len() {
        let new = GenKey {
            letter: None,
            gap: 1,
            half: true,
            value: 3,
            slope: None,
        };
        out.push(Edit::Insert(j, new));
    }
    out
}

fn apply(keys: &[GenKey], edit: &Edit) -> Vec<GenKey> {
    let mut out = keys.to_vec();
    let n = out.len();
    match edit.clone() {
        Edit::Value(i, v) => out[i % n].value = v,
        Edit::Gap(i, g) => out[i % n].gap = g,
        Edit::Letter(i, l) => out[i % n].letter = l,
        Edit::Slope(i, m) => out[i % n].slope = m,
        Edit::Delete(i) => {
            out.remove(i % n);
        }
        Edit::Insert(i, k) => out.insert(i.min(n), k),
    }
    out
}

fn curve_of(knob: &str) -> Curve {
    Curve::parse(&knob[2..knob.len() - 2])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn a_key_edit_that_moves_the_window_changes_the_bytes(
        keys in gen_keys(),
        f2 in -4i32..80,
    ) {
        let f = f64::from(f2) / 2.0;
        let before = render(&keys);
        let c0 = curve_of(&before);
        let b0 = bytes(&before, f);
        for edit in all_edits(&keys) {
            let after = render(&apply(&keys, &edit));
            let c1 = curve_of(&after);
            let moved = (-4..=4).any(|k| {
                let t = f + f64::from(k) * 0.125;
                c0.value_at(t).map(f64::to_bits) != c1.value_at(t).map(f64::to_bits)
            });
            if moved {
                prop_assert_ne!(&b0, &bytes(&after, f), "{} -> {} at {}", before, after, f);
            }
        }
    }

    #[test]
    fn the_influence_set_only_grows_the_bytes_where_needed(
        keys in gen_keys(),
        f2 in -4i32..80,
    ) {
        // Editing the value of a key outside the influence set never changes the bytes.
        let f = f64::from(f2) / 2.0;
        let text = render(&keys);
        let c = curve_of(&text);
        let inf = c.influence(f);
        for j in 0..keys.len() {
            if inf.contains(&j) {
                continue;
            }
            let mut edited = keys.clone();
            edited[j].value = if edited[j].value == 5 { -5 } else { 5 };
            prop_assert_eq!(bytes(&text, f), bytes(&render(&edited), f), "key {} of {} at {}", j, text, f);
        }
    }
}
