//! Blender drivers: `{driver TYPE "EXPRESSION" VARIABLE… [FIELD=VALUE…]}`.
//!
//! A JSON graph exported from Blender writes a driven property as this text (see
//! [`crate::json_graph`]): the driver type (`SCRIPTED`, `SUM`, `AVERAGE`, `MIN`, `MAX`),
//! the Python expression, each variable as canonical JSON (its name, type and targets;
//! a target inside the exported node tree names the knob it reads, `{"knob":
//! "Blur.size_x"}`, a target outside it carries its value, F-curve or per-frame samples),
//! then any other setting of the driver (a remapping F-curve, for instance).
//!
//! The whole text is always part of the frame's entry, so an edit of any of it is a
//! change. What [`Driver::analyse`] adds is what the text alone cannot say:
//!
//! * a driver whose value is plain arithmetic on the frame, numbers and knobs of the
//!   tree (`frame * 2`, `min(a, b) + 1`, `a ** 2`, a `SUM` of two knobs) is translated
//!   into the equivalent Nuke expression, so the engine reads the knobs it names (their
//!   values at the frame become part of the entry) and can evaluate it where a value
//!   decides something (a Switch driven by the frame);
//! * anything else (other Python, a variable it cannot resolve, a remapping) is
//!   conservative: it depends on the frame and on every knob its variables name.

use super::expr::{self, Expression};

/// Functions of Blender's driver namespace that mean the same in a Nuke expression.
const FUNCTIONS: &[&str] = &[
    "abs", "min", "max", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sqrt", "floor",
    "ceil", "exp", "log", "pow", "hypot", "radians", "degrees", "fmod",
];

/// Parsing stops beyond this nesting (parentheses, operators): such a driver is
/// simply not translated.
const MAX_DEPTH: usize = 64;

/// What a driver depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Driver {
    /// The equivalent Nuke expression, when the driver is plain arithmetic.
    pub translated: Option<String>,
    /// The analysis: knobs read, frame dependence, what could not be resolved.
    pub expression: Expression,
}

/// One variable: a knob of the tree, a constant, or something else.
enum Var {
    Knob(String),
    Number(String),
    Other,
}

impl Driver {
    /// Analyses the text inside the braces. Never fails: what is not understood is
    /// conservative.
    pub fn analyse(inner: &str) -> Driver {
        let words = words(inner);
        let mut it = words.iter().map(String::as_str);
        let head = it.next();
        let kind = it.next().unwrap_or("");
        let source = it.next().unwrap_or("");
        let mut vars: Vec<(String, Var)> = Vec::new();
        let mut knobs: Vec<String> = Vec::new();
        let mut extra = false;
        for w in it {
            match serde_json::from_str::<serde_json::Value>(w) {
                Ok(v) if v.is_object() && v.get("name").is_some() => {
                    let (name, var) = variable(&v, &mut knobs);
                    vars.push((name, var));
                }
                // A remapping F-curve or any other setting: not arithmetic on the
                // variables any more.
                _ => extra = true,
            }
        }
        let translated = if head != Some("driver") || extra {
            None
        } else {
            translate(kind, source, &vars)
        };
        let expression = match &translated {
            Some(t) => expr::analyse(t),
            None => {
                // Conservative: the frame, and every knob a variable names.
                let text = knobs.join(" + ");
                let mut e = expr::analyse(&text);
                e.text = String::new();
                e.time_dependent = true;
                e.unresolvable.push(format!("driver {source}"));
                e
            }
        };
        Driver {
            translated,
            expression,
        }
    }
}

/// A variable's name and what it stands for; the knobs it names are added to `knobs`.
fn variable(v: &serde_json::Value, knobs: &mut Vec<String>) -> (String, Var) {
    let name = v["name"].as_str().unwrap_or("").to_string();
    let targets = v.get("targets").and_then(|t| t.as_array());
    let mut named = Vec::new();
    if let Some(ts) = targets {
        for t in ts {
            if let Some(k) = t.get("knob").and_then(|k| k.as_str()) {
                if is_path(k) {
                    named.push(k.to_string());
                }
            }
        }
    }
    knobs.extend(named.iter().cloned());
    let single = v.get("type").and_then(|t| t.as_str()) == Some("SINGLE_PROP");
    let var = match targets.map(Vec::as_slice) {
        Some([t]) if single => match (t.get("knob").and_then(|k| k.as_str()), t.get("value")) {
            (Some(k), None) if is_path(k) => Var::Knob(k.to_string()),
            (None, Some(serde_json::Value::Number(n)))
                if t.get("fcurve").is_none() && t.get("samples").is_none() =>
            {
                Var::Number(n.to_string())
            }
            (None, Some(serde_json::Value::Bool(b))) if t.get("fcurve").is_none() => {
                Var::Number(if *b { "1" } else { "0" }.to_string())
            }
            _ => Var::Other,
        },
        _ => Var::Other,
    };
    (name, var)
}

/// `Node.knob`, `Group.Node.knob`: identifiers joined by dots.
fn is_path(p: &str) -> bool {
    p.split('.').count() >= 2 && p.split('.').all(is_identifier)
}

fn is_identifier(w: &str) -> bool {
    let mut b = w.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The Nuke expression equal to the driver, when it is arithmetic on resolvable names.
fn translate(kind: &str, source: &str, vars: &[(String, Var)]) -> Option<String> {
    let value_of = |v: &Var| match v {
        Var::Knob(k) => Some(k.clone()),
        Var::Number(n) => Some(format!("({n})")),
        Var::Other => None,
    };
    let all: Option<Vec<String>> = vars.iter().map(|(_, v)| value_of(v)).collect();
    match kind {
        "SCRIPTED" => {
            let mut p = Parser {
                toks: tokens(source)?,
                pos: 0,
                vars,
                depth: 0,
            };
            let out = p.sum()?;
            (p.pos == p.toks.len()).then_some(out)
        }
        "SUM" | "AVERAGE" if !vars.is_empty() => {
            let all = all?;
            let sum = format!("({})", all.join("+"));
            Some(if kind == "SUM" {
                sum
            } else {
                format!("({sum}/{})", all.len())
            })
        }
        "MIN" | "MAX" if !vars.is_empty() => {
            let f = kind.to_ascii_lowercase();
            let mut it = all?.into_iter();
            let first = it.next()?;
            Some(it.fold(first, |acc, v| format!("{f}({acc},{v})")))
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Name(String),
    Op(&'static str),
}

/// Python tokens of the arithmetic subset; `None` on anything else.
fn tokens(s: &str) -> Option<Vec<Tok>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                i += 1;
                if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let t = &s[start..i];
            // `1.2.3`, `1e`: not a number; `1_000`, `0x10`: not in the subset.
            t.parse::<f64>().ok().filter(|v| v.is_finite())?;
            if i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                return None;
            }
            out.push(Tok::Num(t.to_string()));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Name(s[start..i].to_string()));
        } else {
            let op = match (c, b.get(i + 1)) {
                (b'*', Some(b'*')) => "**",
                (b'+', _) => "+",
                (b'-', _) => "-",
                (b'*', _) => "*",
                (b'/', Some(b'/')) => return None,
                (b'/', _) => "/",
                (b'(', _) => "(",
                (b')', _) => ")",
                (b',', _) => ",",
                _ => return None,
            };
            i += op.len();
            out.push(Tok::Op(op));
        }
    }
    Some(out)
}

/// Recursive descent over Python's precedence for `+ - * / **`, unary signs, calls
/// and parentheses, writing a fully parenthesised Nuke expression.
struct Parser<'v> {
    toks: Vec<Tok>,
    pos: usize,
    vars: &'v [(String, Var)],
    depth: usize,
}

impl Parser<'_> {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op)
    }

    fn eat(&mut self, op: &str) -> bool {
        let hit = self.peek_op(op);
        self.pos += usize::from(hit);
        hit
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn sum(&mut self) -> Option<String> {
        self.enter()?;
        let mut acc = self.product()?;
        loop {
            let op = if self.eat("+") {
                "+"
            } else if self.eat("-") {
                "-"
            } else {
                break;
            };
            let rhs = self.product()?;
            acc = format!("({acc}{op}{rhs})");
        }
        self.depth -= 1;
        Some(acc)
    }

    fn product(&mut self) -> Option<String> {
        let mut acc = self.unary()?;
        loop {
            let op = if self.eat("*") {
                "*"
            } else if self.eat("/") {
                "/"
            } else {
                break;
            };
            let rhs = self.unary()?;
            acc = format!("({acc}{op}{rhs})");
        }
        Some(acc)
    }

    fn unary(&mut self) -> Option<String> {
        self.enter()?;
        let out = if self.eat("-") {
            format!("(-{})", self.unary()?)
        } else if self.eat("+") {
            self.unary()?
        } else {
            self.power()?
        };
        self.depth -= 1;
        Some(out)
    }

    fn power(&mut self) -> Option<String> {
        let base = self.atom()?;
        if self.eat("**") {
            // Right-associative, and binds tighter than a unary sign on its left only.
            let exp = self.unary()?;
            return Some(format!("pow({base},{exp})"));
        }
        Some(base)
    }

    fn atom(&mut self) -> Option<String> {
        let tok = self.toks.get(self.pos)?.clone();
        self.pos += 1;
        match tok {
            Tok::Num(n) => Some(format!("({n})")),
            Tok::Op("(") => {
                let inner = self.sum()?;
                self.eat(")").then_some(inner)
            }
            Tok::Name(name) if self.peek_op("(") => {
                self.pos += 1;
                if !FUNCTIONS.contains(&name.as_str()) {
                    return None;
                }
                let mut args = vec![self.sum()?];
                while self.eat(",") {
                    args.push(self.sum()?);
                }
                if !self.eat(")") {
                    return None;
                }
                match (name.as_str(), args.len()) {
                    // Python's min and max take any number of arguments.
                    ("min" | "max", n) if n >= 2 => {
                        let mut it = args.into_iter();
                        let first = it.next()?;
                        Some(it.fold(first, |acc, a| format!("{name}({acc},{a})")))
                    }
                    ("min" | "max", _) => None,
                    ("atan2" | "pow" | "hypot" | "fmod", 2) => {
                        Some(format!("{name}({})", args.join(",")))
                    }
                    ("atan2" | "pow" | "hypot" | "fmod", _) => None,
                    (_, 1) => Some(format!("{name}({})", args[0])),
                    _ => None,
                }
            }
            // A variable shadows the namespace's own names.
            Tok::Name(name) => match self.vars.iter().rev().find(|(n, _)| *n == name) {
                Some((_, Var::Knob(k))) => Some(k.clone()),
                Some((_, Var::Number(n))) => Some(format!("({n})")),
                Some((_, Var::Other)) => None,
                None => matches!(name.as_str(), "frame" | "pi").then_some(name),
            },
            Tok::Op(_) => None,
        }
    }
}

/// Splits a driver's text into words: bare words, and `"…"` with backslash escapes.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut w = String::new();
        if c == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => w.extend(chars.next()),
                    '"' => break,
                    c => w.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
        }
        out.push(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(text: &str) -> Option<String> {
        Driver::analyse(text).translated
    }

    #[test]
    fn arithmetic_is_translated_with_python_precedence() {
        let knob = r#""{\"name\":\"a\",\"targets\":[{\"knob\":\"Blur.size_x\"}],\"type\":\"SINGLE_PROP\"}""#;
        assert_eq!(
            tr(&format!(r#"driver SCRIPTED "-frame ** 2 + a * 3" {knob}"#)).as_deref(),
            Some("((-pow(frame,(2)))+(Blur.size_x*(3)))")
        );
        let d = Driver::analyse(&format!(r#"driver SCRIPTED "a / 2" {knob}"#));
        assert!(!d.expression.time_dependent);
        assert_eq!(d.expression.refs[0].path(), "Blur.size_x");
        assert_eq!(
            tr(&format!("driver SUM \"\" {knob} {knob}")).as_deref(),
            Some("(Blur.size_x+Blur.size_x)")
        );
        assert_eq!(
            tr(r#"driver SCRIPTED "max(1, 2, frame)""#).as_deref(),
            Some("max(max((1),(2)),frame)")
        );
    }

    #[test]
    fn anything_else_is_conservative() {
        let knob = r#""{\"name\":\"a\",\"targets\":[{\"knob\":\"Blur.size_x\"}],\"type\":\"SINGLE_PROP\"}""#;
        for text in [
            "driver SCRIPTED \"frame if frame > 3 else 0\"".to_string(),
            "driver SCRIPTED \"bpy.data.objects[0].location.x\"".to_string(),
            "driver SCRIPTED \"b * 2\"".to_string(),
            "driver SCRIPTED \"1 // 2\"".to_string(),
            format!("driver SCRIPTED \"a\" {knob} \"remap={{}}\""),
            format!("driver SCRIPTED \"{}\"", "(".repeat(500)),
        ] {
            let d = Driver::analyse(&text);
            assert_eq!(d.translated, None, "{text}");
            assert!(d.expression.time_dependent, "{text}");
        }
        let d = Driver::analyse(&format!("driver SCRIPTED \"a if a else 1\" {knob}"));
        assert_eq!(d.expression.refs[0].path(), "Blur.size_x");
    }
}
