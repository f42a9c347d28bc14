//! The math library of Nuke's expression language.
//!
//! Each function is implemented only where its meaning is documented and certain;
//! arguments are checked (a wrong count is Malformed). Results carry whether they are
//! *exact*: computed only with IEEE operations every platform rounds the same way
//! (`+ - * /`, `sqrt`, `floor`, `fmod`, …). Transcendental functions (`sin`, `exp`,
//! `pow`, …) come from the host's C library, which may round the last bit differently
//! from Nuke's, so their results are *approximate*: fine for a value, but refused
//! wherever a tiny difference could flip a decision (comparisons, `floor`, `int`,
//! conditions), see [`Num`].

use super::error::{arithmetic, inexact, unsupported, Unknown};

/// A number of the expression language, with its exactness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num {
    /// The number.
    pub value: f64,
    /// Computed only with operations that round identically everywhere.
    pub exact: bool,
}

impl Num {
    pub(crate) fn exact(value: f64) -> Num {
        Num { value, exact: true }
    }

    pub(crate) fn approx(value: f64) -> Num {
        Num {
            value,
            exact: false,
        }
    }

    /// The value, for an operation where a last-bit difference could change the
    /// result (a comparison, a rounding, a condition).
    pub(crate) fn decisive(self, part: &str) -> Result<f64, Unknown> {
        if self.exact {
            Ok(self.value)
        } else {
            inexact(
                part,
                "a decision on a value the C library may round differently from Nuke's",
            )
        }
    }
}

/// What a name called as a function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Implemented here.
    Function,
    /// A Nuke function deliberately not evaluated.
    Unsupported,
    /// Not a function name: a knob read at another time (`Blur1.size(frame-1)`).
    NotFunction,
}

/// Nuke functions that are never evaluated: their values depend on state smartcache
/// does not model (the knob's own curve, `y`), on noise tables, or on colour lookup
/// tables.
const UNSUPPORTED: &[&str] = &[
    "curve",
    "value",
    "y",
    "random",
    "noise",
    "fBm",
    "turbulence",
    "exponent",
    "mantissa",
    "logb",
    "from_byte",
    "from_rec709",
    "from_sRGB",
    "to_byte",
    "to_rec709",
    "to_sRGB",
];

pub(crate) fn kind(name: &str) -> Kind {
    if UNSUPPORTED.contains(&name) {
        Kind::Unsupported
    } else if arity(name).is_some() {
        Kind::Function
    } else {
        Kind::NotFunction
    }
}

/// Accepted argument counts: `(min, max, odd_only)`; `None` for names that are not
/// implemented functions.
fn arity(name: &str) -> Option<(usize, usize, bool)> {
    Some(match name {
        "abs" | "fabs" | "ceil" | "floor" | "trunc" | "int" | "rint" | "sqrt" | "exp" | "log"
        | "log10" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh"
        | "degrees" | "radians" | "pow2" => (1, 1, false),
        "atan2" | "hypot" | "fmod" | "pow" | "ldexp" | "step" | "min" | "max" => (2, 2, false),
        "lerp" | "mix" | "smoothstep" => (3, 3, false),
        "clamp" => (1, 3, true),
        "equal" => (2, usize::MAX, false),
        "inrange" => (3, usize::MAX, true),
        _ => return None,
    })
}

/// `true` when `name` (an implemented function) accepts `n` arguments.
pub(crate) fn arity_ok(name: &str, n: usize) -> bool {
    arity(name).is_some_and(|(lo, hi, odd)| n >= lo && n <= hi && (!odd || n % 2 == 1))
}

fn all_exact(a: &[Num]) -> bool {
    a.iter().all(|x| x.exact)
}

/// Calls an implemented function whose argument count was checked. `part` is the
/// call's text, for errors.
pub(crate) fn call(name: &str, a: &[Num], part: &str) -> Result<Num, Unknown> {
    let exact = all_exact(a);
    let same = |v: f64| Num { value: v, exact };
    let x = a[0].value;
    let out = match name {
        "abs" | "fabs" => same(x.abs()),
        "ceil" => Num::exact(a[0].decisive(part)?.ceil()),
        "floor" => Num::exact(a[0].decisive(part)?.floor()),
        "trunc" | "int" => Num::exact(a[0].decisive(part)?.trunc()),
        "rint" => {
            let v = a[0].decisive(part)?;
            if (v - v.trunc()).abs() == 0.5 {
                return inexact(part, "rounding a tie depends on the rounding mode");
            }
            Num::exact(v.round())
        }
        "sqrt" => {
            if x < 0.0 {
                return arithmetic(part, "square root of a negative number");
            }
            same(x.sqrt())
        }
        "fmod" => {
            let (p, q) = (a[0].decisive(part)?, a[1].decisive(part)?);
            if q == 0.0 {
                return arithmetic(part, "fmod by zero");
            }
            Num::exact(p % q)
        }
        "min" => same(x.min(a[1].value)),
        "max" => same(x.max(a[1].value)),
        "clamp" => {
            let (lo, hi) = if a.len() == 3 {
                (a[1].value, a[2].value)
            } else {
                (0.0, 1.0)
            };
            if lo > hi {
                return unsupported(
                    part,
                    "clamp with min > max: Nuke's order of tests is not documented",
                );
            }
            same(x.max(lo).min(hi))
        }
        "step" => {
            let (edge, v) = (a[0].decisive(part)?, a[1].decisive(part)?);
            if v == edge {
                // Sources disagree on step(a, a): "0 if x is less than a, else 1" or
                // "1 if a < x, else 0".
                return unsupported(part, "step at its edge is not documented consistently");
            }
            Num::exact(if v < edge { 0.0 } else { 1.0 })
        }
        "smoothstep" => {
            let (lo, hi, v) = (a[0].value, a[1].value, a[2].value);
            if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
                return unsupported(part, "smoothstep with a >= b is not documented");
            }
            if v <= lo {
                same(0.0)
            } else if v >= hi {
                same(1.0)
            } else {
                let t = (v - lo) / (hi - lo);
                Num::approx(t * t * (3.0 - 2.0 * t))
            }
        }
        "ldexp" => {
            let e = a[1].decisive(part)?;
            if e.fract() != 0.0 || !(-1022.0..=1023.0).contains(&e) {
                return unsupported(part, "ldexp exponent that is not a small integer");
            }
            Num {
                value: x * 2f64.powi(e as i32),
                exact: a[0].exact,
            }
        }
        "equal" => {
            let v = a[0].decisive(part)?;
            let mut hit = false;
            for t in &a[1..] {
                hit |= t.decisive(part)? == v;
            }
            Num::exact(if hit { 1.0 } else { 0.0 })
        }
        "inrange" => {
            let v = a[0].decisive(part)?;
            let mut hit = false;
            for pair in a[1..].chunks(2) {
                let (lo, hi) = (pair[0].decisive(part)?, pair[1].decisive(part)?);
                if lo > hi {
                    return unsupported(part, "inrange with first > last is not documented");
                }
                hit |= lo <= v && v <= hi;
            }
            Num::exact(if hit { 1.0 } else { 0.0 })
        }
        // Host C library functions: correct to within an ulp or so, not bit-exact.
        "exp" => Num::approx(x.exp()),
        "log" => Num::approx(x.ln()),
        "log10" => Num::approx(x.log10()),
        "sin" => Num::approx(x.sin()),
        "cos" => Num::approx(x.cos()),
        "tan" => Num::approx(x.tan()),
        "asin" => Num::approx(x.asin()),
        "acos" => Num::approx(x.acos()),
        "atan" => Num::approx(x.atan()),
        "sinh" => Num::approx(x.sinh()),
        "cosh" => Num::approx(x.cosh()),
        "tanh" => Num::approx(x.tanh()),
        // C's atan2(first, second).
        "atan2" => Num::approx(x.atan2(a[1].value)),
        "hypot" => Num::approx(x.hypot(a[1].value)),
        "pow" => Num::approx(x.powf(a[1].value)),
        // Documented as "x raised to the power of 2"; whether Nuke computes x*x or
        // pow(x, 2) is not, so the result is not claimed exact.
        "pow2" => Num::approx(x * x),
        "degrees" => Num::approx(x * (180.0 / std::f64::consts::PI)),
        "radians" => Num::approx(x * (std::f64::consts::PI / 180.0)),
        // Documented as the line through (0, a) and (1, b); the formula (and so its
        // rounding) is not.
        "lerp" | "mix" => Num::approx(a[0].value + (a[1].value - a[0].value) * a[2].value),
        _ => return unsupported(part, "not a Nuke function"),
    };
    if !out.value.is_finite() {
        return arithmetic(part, "result is not a finite number");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(name: &str, args: &[f64]) -> Result<Num, Unknown> {
        let a: Vec<Num> = args.iter().map(|&v| Num::exact(v)).collect();
        assert!(arity_ok(name, a.len()), "{name}/{}", a.len());
        call(name, &a, name)
    }

    fn val(name: &str, args: &[f64]) -> f64 {
        let n = ex(name, args).unwrap();
        assert!(n.exact, "{name}");
        n.value
    }

    #[test]
    fn exact_functions() {
        assert_eq!(val("abs", &[-2.5]), 2.5);
        assert_eq!(val("fabs", &[-2.5]), 2.5);
        assert_eq!(val("ceil", &[1.2]), 2.0);
        assert_eq!(val("floor", &[-1.2]), -2.0);
        assert_eq!(val("trunc", &[-1.7]), -1.0);
        assert_eq!(val("int", &[1.7]), 1.0);
        assert_eq!(val("int", &[-1.7]), -1.0);
        assert_eq!(val("rint", &[1.6]), 2.0);
        assert_eq!(val("rint", &[-1.4]), -1.0);
        assert_eq!(val("sqrt", &[6.25]), 2.5);
        assert_eq!(val("fmod", &[7.5, 2.0]), 1.5);
        assert_eq!(val("fmod", &[-7.0, 3.0]), -1.0);
        assert_eq!(val("min", &[3.0, -1.0]), -1.0);
        assert_eq!(val("max", &[3.0, -1.0]), 3.0);
        assert_eq!(val("clamp", &[1.5]), 1.0);
        assert_eq!(val("clamp", &[-0.5]), 0.0);
        assert_eq!(val("clamp", &[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(val("clamp", &[2.0, 1.0, 3.0]), 2.0);
        assert_eq!(val("step", &[10.0, 9.0]), 0.0);
        assert_eq!(val("step", &[10.0, 11.0]), 1.0);
        assert_eq!(val("smoothstep", &[0.0, 1.0, -1.0]), 0.0);
        assert_eq!(val("smoothstep", &[0.0, 1.0, 1.0]), 1.0);
        assert_eq!(val("ldexp", &[3.0, 4.0]), 48.0);
        assert_eq!(val("equal", &[2.0, 1.0, 2.0]), 1.0);
        assert_eq!(val("equal", &[2.0, 1.0]), 0.0);
        assert_eq!(val("inrange", &[5.0, 1.0, 4.0, 5.0, 9.0]), 1.0);
        assert_eq!(val("inrange", &[5.0, 1.0, 4.0]), 0.0);
    }

    #[test]
    fn approximate_functions_are_marked() {
        let n = ex("smoothstep", &[0.0, 1.0, 0.5]).unwrap();
        assert_eq!((n.value, n.exact), (0.5, false));
        for (name, args) in [
            ("sin", &[1.0][..]),
            ("pow", &[2.0, 3.0]),
            ("pow2", &[3.0]),
            ("lerp", &[0.0, 10.0, 0.5]),
            ("degrees", &[1.0]),
            ("atan2", &[1.0, 1.0]),
        ] {
            assert!(!ex(name, args).unwrap().exact, "{name}");
        }
        assert_eq!(
            ex("atan2", &[1.0, 0.0]).unwrap().value,
            std::f64::consts::FRAC_PI_2
        );
        assert_eq!(ex("pow2", &[3.0]).unwrap().value, 9.0);
        // An approximate argument cannot decide a rounding.
        let a = [Num::approx(1.0)];
        assert_eq!(
            call("floor", &a, "floor").unwrap_err().why,
            super::super::Why::Inexact
        );
        // But a continuous function keeps it, marked.
        assert!(!call("abs", &a, "abs").unwrap().exact);
    }

    #[test]
    fn refusals() {
        use super::super::Why;
        assert_eq!(ex("rint", &[2.5]).unwrap_err().why, Why::Inexact);
        assert_eq!(ex("sqrt", &[-1.0]).unwrap_err().why, Why::Arithmetic);
        assert_eq!(ex("log", &[0.0]).unwrap_err().why, Why::Arithmetic);
        assert_eq!(ex("asin", &[2.0]).unwrap_err().why, Why::Arithmetic);
        assert_eq!(ex("fmod", &[1.0, 0.0]).unwrap_err().why, Why::Arithmetic);
        assert_eq!(ex("exp", &[1000.0]).unwrap_err().why, Why::Arithmetic);
        assert_eq!(
            ex("clamp", &[1.0, 3.0, 2.0]).unwrap_err().why,
            Why::Unsupported
        );
        assert_eq!(
            ex("smoothstep", &[1.0, 1.0, 2.0]).unwrap_err().why,
            Why::Unsupported
        );
        assert_eq!(ex("ldexp", &[1.0, 0.5]).unwrap_err().why, Why::Unsupported);
        assert_eq!(
            ex("inrange", &[1.0, 3.0, 2.0]).unwrap_err().why,
            Why::Unsupported
        );
    }

    #[test]
    fn arities_and_kinds() {
        assert!(arity_ok("clamp", 1) && arity_ok("clamp", 3) && !arity_ok("clamp", 2));
        assert!(!arity_ok("sin", 2) && !arity_ok("atan2", 1));
        assert!(arity_ok("inrange", 5) && !arity_ok("inrange", 4));
        assert_eq!(kind("sin"), Kind::Function);
        assert_eq!(kind("random"), Kind::Unsupported);
        assert_eq!(kind("curve"), Kind::Unsupported);
        assert_eq!(kind("Blur1.size"), Kind::NotFunction);
        assert_eq!(kind("size"), Kind::NotFunction);
    }
}
