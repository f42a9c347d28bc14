//! Numbers as the script writes them, and as smartcache prints the ones it computes.
//!
//! Input numbers are kept as text wherever they are hashed (re-printing a float could
//! turn two different texts into one, or one text into two on another machine), so this
//! module only decides *whether* a word is a number and what it is worth. Computed
//! values (a curve evaluated between keys, an implicit key frame) are printed with
//! Rust's shortest round-trip formatting, which is deterministic across machines.

/// Parses a decimal number in the syntax Nuke writes: optional sign, digits with an
/// optional fraction, optional exponent. Words that Rust's `f64::from_str` would also
/// accept (`inf`, `NaN`, `infinity`) are *not* numbers here: in a curve they would be
/// unknown tokens, which are treated conservatively.
pub fn parse_decimal(word: &str) -> Option<f64> {
    let b = word.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    word.parse().ok()
}

/// `true` for the hexadecimal float words Nuke writes in Roto data (`x41300000`).
pub fn is_hex_float(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() > 1 && b[0] == b'x' && b[1..].iter().all(u8::is_ascii_hexdigit)
}

/// Prints a computed value: shortest text that round-trips, `-0` folded into `0` so
/// that two evaluations that agree numerically always print the same bytes.
pub fn format_f64(v: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    let s = format!("{v:?}");
    // Debug prints integral values as `1.0`; drop the redundant fraction so that an
    // implicit key frame prints like the explicit `x2` a script would write.
    match s.strip_suffix(".0") {
        Some(t) => t.to_owned(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_syntax() {
        assert_eq!(parse_decimal("30"), Some(30.0));
        assert_eq!(parse_decimal("-0.5"), Some(-0.5));
        assert_eq!(parse_decimal(".5"), Some(0.5));
        assert_eq!(parse_decimal("5."), Some(5.0));
        assert_eq!(parse_decimal("1e3"), Some(1000.0));
        assert_eq!(parse_decimal("+2E-1"), Some(0.2));
        for bad in [
            "", "-", ".", "e3", "1e", "inf", "NaN", "1x", "0x10", "1.2.3",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_floats() {
        assert!(is_hex_float("x41300000"));
        assert!(!is_hex_float("x"));
        assert!(!is_hex_float("x1001.5"));
    }

    #[test]
    fn formatting_is_shortest_and_folds_negative_zero() {
        assert_eq!(format_f64(1.0), "1");
        assert_eq!(format_f64(-0.0), "0");
        assert_eq!(format_f64(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_f64(1.5), "1.5");
        assert_eq!(format_f64(1e21), "1e21");
    }
}
