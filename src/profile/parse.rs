//! Profile text to directives, with `origin:line:col` errors.
//!
//! The grammar is line based (see `profiles/nuke.profile` for the whole of it): a
//! keyword, then for `class` a glob, then words. Every property is checked here by
//! applying the line to default semantics ([`apply`]), so that a misspelt knob role or
//! an unknown time kind is reported at its column when the file is read, not when some
//! class happens to match it.

use super::semantics::{
    Clip, FileKind, FileKnob, Inputs, KnobRef, MotionBlur, RootReads, RootSemantics, Semantics,
    Shutter, Time,
};
use super::ProfileError;

/// Longest class pattern accepted: a glob compiles to a regex, and a pathological one
/// (thousands of `*`) would exhaust the regex engine's size limit.
pub const MAX_PATTERN: usize = 512;

/// One property of a line: `name` or `name=value`, with the byte offset of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// The property's name.
    pub name: String,
    /// Its value, when given.
    pub value: Option<String>,
    /// Byte offset of the name in the line.
    pub at: usize,
}

/// What a line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `profile NAME`: the profile's name.
    Profile(String),
    /// `known CLASS…`: classes of the host with no special semantics.
    Known(Vec<String>),
    /// `class PATTERN PROP…`: the semantics of the classes the pattern matches.
    Class {
        /// The class pattern (globs allowed).
        pattern: String,
        /// Its properties.
        props: Vec<Prop>,
    },
    /// `unknown PROP…`: what to assume of a class the profile does not know.
    Unknown(Vec<Prop>),
    /// `root PROP…`: how Root settings are read.
    Root(Vec<Prop>),
}

impl Directive {
    /// The directive in canonical form (single spaces, no comment): what the
    /// fingerprint covers.
    pub fn canonical(&self) -> String {
        let props = |p: &[Prop]| {
            p.iter()
                .map(|p| match &p.value {
                    Some(v) => format!(" {}={}", p.name, v),
                    None => format!(" {}", p.name),
                })
                .collect::<String>()
        };
        match self {
            Directive::Profile(n) => format!("profile {n}"),
            Directive::Known(c) => format!("known {}", c.join(" ")),
            Directive::Class { pattern, props: p } => format!("class {pattern}{}", props(p)),
            Directive::Unknown(p) => format!("unknown{}", props(p)),
            Directive::Root(p) => format!("root{}", props(p)),
        }
    }
}

/// A directive and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What it says.
    pub directive: Directive,
    /// `origin:line`.
    pub origin: String,
}

/// Parse profile text; `origin` names the file in line origins and errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Line>, ProfileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let err = |at: usize, message: String| {
            let at = at.min(raw.len());
            ProfileError::Syntax {
                origin: origin.to_string(),
                line: number,
                col: raw.get(..at).map_or(at, |s| s.chars().count()) + 1,
                message,
            }
        };
        let body = raw.find('#').map_or(raw, |h| &raw[..h]);
        let words = words(body);
        let Some(&(keyword, kat)) = words.first() else {
            continue;
        };
        let rest = &words[1..];
        let directive = match keyword {
            "profile" => match rest {
                [(name, _)] => Directive::Profile(name.to_string()),
                _ => return Err(err(kat, "expected `profile NAME`".into())),
            },
            "known" => {
                if rest.is_empty() {
                    return Err(err(kat, "expected class names after `known`".into()));
                }
                for (w, at) in rest {
                    if w.contains(['*', '?', '[', '{']) {
                        return Err(err(
                            *at,
                            format!("`known` takes class names, not patterns (`{w}`); use `class`"),
                        ));
                    }
                }
                Directive::Known(rest.iter().map(|(w, _)| w.to_string()).collect())
            }
            "class" => {
                let Some(&(pattern, pat_at)) = rest.first() else {
                    return Err(err(kat, "expected a class pattern after `class`".into()));
                };
                if pattern.len() > MAX_PATTERN {
                    return Err(err(
                        pat_at,
                        format!("class pattern longer than {MAX_PATTERN} characters"),
                    ));
                }
                if let Err(e) = super::glob(pattern) {
                    return Err(err(pat_at, format!("bad pattern `{pattern}`: {e}")));
                }
                let props = props(&rest[1..]);
                check(&props, false).map_err(|(at, m)| err(at, m))?;
                Directive::Class {
                    pattern: pattern.to_string(),
                    props,
                }
            }
            "unknown" => {
                let props = props(rest);
                check(&props, false).map_err(|(at, m)| err(at, m))?;
                Directive::Unknown(props)
            }
            "root" => {
                let props = props(rest);
                check(&props, true).map_err(|(at, m)| err(at, m))?;
                Directive::Root(props)
            }
            other => {
                return Err(err(
                    kat,
                    format!(
                        "unknown directive `{other}`: expected `profile`, `known`, `class`, \
                         `unknown` or `root`"
                    ),
                ))
            }
        };
        out.push(Line {
            directive,
            origin: format!("{origin}:{number}"),
        });
    }
    Ok(out)
}

/// Whitespace-separated words with their byte offsets.
fn words(s: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((&s[b..i], b));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((&s[b..], b));
    }
    out
}

fn props(words: &[(&str, usize)]) -> Vec<Prop> {
    words
        .iter()
        .map(|(w, at)| match w.split_once('=') {
            Some((n, v)) => Prop {
                name: n.to_string(),
                value: Some(v.to_string()),
                at: *at,
            },
            None => Prop {
                name: w.to_string(),
                value: None,
                at: *at,
            },
        })
        .collect()
}

/// Validate a line's properties by applying them to default semantics.
fn check(props: &[Prop], root: bool) -> Result<(), (usize, String)> {
    if root {
        return apply_root(&mut RootSemantics::default(), props);
    }
    if let Some(p) = props
        .iter()
        .find(|p| matches!(p.name.as_str(), "on-demand" | "ocio-env" | "ocio-when"))
    {
        return Err((p.at, format!("`{}` belongs on the `root` line", p.name)));
    }
    apply(&mut Semantics::default(), props)
}

/// Apply a `root` line's properties.
pub fn apply_root(root: &mut RootSemantics, props: &[Prop]) -> Result<(), (usize, String)> {
    for p in props {
        match p.name.as_str() {
            "on-demand" => root.on_demand = value(p)?.split(',').map(str::to_string).collect(),
            "files" => root.files = files(p)?,
            "ocio-env" => root.ocio_env = Some(value(p)?.to_string()),
            "ocio-when" => {
                let v = value(p)?;
                let Some((knob, val)) = v.split_once(':') else {
                    return Err((
                        p.at,
                        format!("`ocio-when`: expected KNOB:VALUE, found `{v}`"),
                    ));
                };
                root.ocio_when = Some((knob.to_string(), val.to_string()));
            }
            other => {
                return Err((
                    p.at,
                    format!(
                        "`root` takes `on-demand`, `files`, `ocio-env` or `ocio-when`, not \
                         `{other}`"
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// `files=KNOB:KIND,…`.
fn files(p: &Prop) -> Result<Vec<FileKnob>, (usize, String)> {
    let mut files = Vec::new();
    for item in value(p)?.split(',') {
        let Some((knob, kind)) = item.split_once(':') else {
            return Err((p.at, format!("`files`: expected KNOB:KIND, found `{item}`")));
        };
        let Some(kind) = FileKind::ALL.into_iter().find(|k| k.word() == kind) else {
            let kinds: Vec<&str> = FileKind::ALL.iter().map(|k| k.word()).collect();
            return Err((
                p.at,
                format!(
                    "`files`: unknown kind `{kind}` (one of {})",
                    kinds.join(", ")
                ),
            ));
        };
        if knob.is_empty() {
            return Err((p.at, format!("`files`: empty knob name in `{item}`")));
        }
        files.push(FileKnob {
            knob: knob.to_string(),
            kind,
        });
    }
    Ok(files)
}

fn value(p: &Prop) -> Result<&str, (usize, String)> {
    match p.value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err((p.at, format!("`{}` needs a value (`{}=…`)", p.name, p.name))),
    }
}

fn flag(p: &Prop) -> Result<(), (usize, String)> {
    match p.value {
        None => Ok(()),
        Some(_) => Err((p.at, format!("`{}` is a flag and takes no value", p.name))),
    }
}

/// `knob|other:default|default2`.
fn knob_ref(p: &Prop) -> Result<KnobRef, (usize, String)> {
    let v = value(p)?;
    let (names, defaults) = match v.split_once(':') {
        Some((n, d)) => (n, Some(d)),
        None => (v, None),
    };
    let names: Vec<String> = names.split('|').map(str::to_string).collect();
    if names.iter().any(String::is_empty) {
        return Err((p.at, format!("`{}`: empty knob name in `{v}`", p.name)));
    }
    let defaults: Vec<String> = match defaults {
        Some(d) => d.split('|').map(str::to_string).collect(),
        None => Vec::new(),
    };
    if defaults.iter().any(String::is_empty) {
        return Err((p.at, format!("`{}`: empty default in `{v}`", p.name)));
    }
    Ok(KnobRef { names, defaults })
}

/// The time kind a `time=` value names, with its roles unset.
fn time_kind(p: &Prop) -> Result<Time, (usize, String)> {
    Ok(match value(p)? {
        "local" => Time::Local,
        "offset" => Time::Offset {
            offset: None,
            reverse: None,
        },
        "hold" => Time::Hold {
            frame: None,
            increment: None,
        },
        "range" => Time::Range {
            count: None,
            first: None,
            last: None,
            use_range: None,
        },
        "behind" => Time::Behind { behind: None },
        "samples" => Time::Samples {
            divisions: None,
            shutter: Shutter {
                shutter: None,
                offset: None,
                custom: None,
            },
        },
        "snap" => Time::Snap,
        "clip" => Time::Clip(Clip {
            first: None,
            last: None,
            mode: None,
            frame: None,
            before: None,
            after: None,
            on_error: None,
        }),
        "retime" => Time::Retime {
            in_first: None,
            in_last: None,
            out_first: None,
            speed: None,
            reverse: None,
            before: None,
            after: None,
            shutter: None,
        },
        "lookup" => Time::Lookup {
            lookup: None,
            shutter: None,
        },
        "all" => Time::All,
        other => {
            return Err((
                p.at,
                format!(
                    "unknown time kind `{other}`: expected local, offset, hold, range, behind, \
                     samples, snap, clip, retime, lookup or all"
                ),
            ))
        }
    })
}

/// The slot a knob role fills in a time kind, if it has one.
fn time_role<'t>(time: &'t mut Time, role: &str) -> Option<&'t mut Option<KnobRef>> {
    match (time, role) {
        (Time::Offset { offset, .. }, "offset") => Some(offset),
        (Time::Offset { reverse, .. }, "reverse") => Some(reverse),
        (Time::Hold { frame, .. }, "frame") => Some(frame),
        (Time::Hold { increment, .. }, "increment") => Some(increment),
        (Time::Range { count, .. }, "count") => Some(count),
        (Time::Range { first, .. }, "first") => Some(first),
        (Time::Range { last, .. }, "last") => Some(last),
        (Time::Range { use_range, .. }, "use-range") => Some(use_range),
        (Time::Behind { behind }, "behind") => Some(behind),
        (Time::Samples { divisions, .. }, "divisions") => Some(divisions),
        (Time::Samples { shutter, .. }, r) => shutter_role(shutter, r),
        (Time::Clip(c), "first") => Some(&mut c.first),
        (Time::Clip(c), "last") => Some(&mut c.last),
        (Time::Clip(c), "mode") => Some(&mut c.mode),
        (Time::Clip(c), "frame") => Some(&mut c.frame),
        (Time::Clip(c), "before") => Some(&mut c.before),
        (Time::Clip(c), "after") => Some(&mut c.after),
        (Time::Clip(c), "on-error") => Some(&mut c.on_error),
        (Time::Retime { in_first, .. }, "in-first") => Some(in_first),
        (Time::Retime { in_last, .. }, "in-last") => Some(in_last),
        (Time::Retime { out_first, .. }, "out-first") => Some(out_first),
        (Time::Retime { speed, .. }, "speed") => Some(speed),
        (Time::Retime { reverse, .. }, "reverse") => Some(reverse),
        (Time::Retime { before, .. }, "before") => Some(before),
        (Time::Retime { after, .. }, "after") => Some(after),
        (Time::Retime { shutter, .. }, "shutter") => Some(shutter),
        (Time::Lookup { lookup, .. }, "lookup") => Some(lookup),
        (Time::Lookup { shutter, .. }, "shutter") => Some(shutter),
        _ => None,
    }
}

fn shutter_role<'s>(s: &'s mut Shutter, role: &str) -> Option<&'s mut Option<KnobRef>> {
    match role {
        "shutter" => Some(&mut s.shutter),
        "shutter-offset" => Some(&mut s.offset),
        "custom-offset" => Some(&mut s.custom),
        _ => None,
    }
}

/// Every knob role any time kind or motion blur has.
const ROLES: &[&str] = &[
    "offset",
    "reverse",
    "frame",
    "increment",
    "count",
    "first",
    "last",
    "use-range",
    "behind",
    "divisions",
    "shutter",
    "shutter-offset",
    "custom-offset",
    "mode",
    "before",
    "after",
    "in-first",
    "in-last",
    "out-first",
    "speed",
    "lookup",
    "on-error",
];

/// Apply a line's properties to `sem`, in order. Errors carry the property's offset.
pub fn apply(sem: &mut Semantics, props: &[Prop]) -> Result<(), (usize, String)> {
    // Kinds first, so that roles on the same line land in them whatever the order.
    for p in props {
        match p.name.as_str() {
            "time" => sem.time = time_kind(p)?,
            "blur-on" => {
                let on = knob_ref(p)?;
                match &mut sem.blur {
                    Some(b) => b.on = on,
                    None => {
                        sem.blur = Some(MotionBlur {
                            on,
                            above: "0".into(),
                            shutter: Shutter {
                                shutter: None,
                                offset: None,
                                custom: None,
                            },
                            inputs: false,
                        })
                    }
                }
            }
            "inputs" => {
                let which = match &sem.inputs {
                    Inputs::Select { which } | Inputs::Blend { which } => which.clone(),
                    Inputs::All => KnobRef::named("which"),
                };
                sem.inputs = match value(p)? {
                    "all" => Inputs::All,
                    "select" => Inputs::Select { which },
                    "blend" => Inputs::Blend { which },
                    other => {
                        return Err((
                            p.at,
                            format!("unknown inputs `{other}`: expected all, select or blend"),
                        ))
                    }
                };
            }
            _ => {}
        }
    }
    for p in props {
        match p.name.as_str() {
            "time" | "blur-on" | "inputs" => {}
            "pass" => {
                flag(p)?;
                sem.pass = true;
            }
            "varying" => {
                flag(p)?;
                sem.varying = true;
            }
            "blur-inputs" => {
                flag(p)?;
                match &mut sem.blur {
                    Some(b) => b.inputs = true,
                    None => return Err((p.at, "`blur-inputs` needs `blur-on=KNOB`".into())),
                }
            }
            "blur-above" => {
                let v = number(p)?;
                match &mut sem.blur {
                    Some(b) => b.above = v,
                    None => return Err((p.at, "`blur-above` needs `blur-on=KNOB`".into())),
                }
            }
            "own" => match value(p)? {
                "all" => sem.own_all = true,
                "local" => sem.own_all = false,
                other => {
                    return Err((
                        p.at,
                        format!("unknown own `{other}`: expected all or local"),
                    ))
                }
            },
            "pad" => sem.pad = Some(number(p)?),
            "disable" => {
                sem.disable = match value(p)? {
                    "none" => None,
                    k => Some(k.to_string()),
                }
            }
            "disable-input" => sem.disable_input = Some(knob_ref(p)?),
            "which" => match &mut sem.inputs {
                Inputs::Select { which } | Inputs::Blend { which } => *which = knob_ref(p)?,
                Inputs::All => {
                    return Err((
                        p.at,
                        "`which` needs `inputs=select` or `inputs=blend`".into(),
                    ))
                }
            },
            "files" => sem.files = files(p)?,
            "reads-root" => {
                sem.reads_root = match value(p)? {
                    "*" => RootReads::All,
                    "none" => RootReads::None,
                    v => RootReads::Some(v.split(',').map(str::to_string).collect()),
                }
            }
            role if ROLES.contains(&role) => {
                let k = knob_ref(p)?;
                let mut used = false;
                if let Some(slot) = time_role(&mut sem.time, role) {
                    *slot = Some(k.clone());
                    used = true;
                }
                if let Some(b) = &mut sem.blur {
                    if let Some(slot) = shutter_role(&mut b.shutter, role) {
                        *slot = Some(k);
                        used = true;
                    }
                }
                if !used {
                    return Err((
                        p.at,
                        format!(
                            "`{role}` is not a role of this class's time kind or motion blur \
                             (set `time=…` or `blur-on=…` on the same line)"
                        ),
                    ));
                }
            }
            other => return Err((p.at, format!("unknown property `{other}`"))),
        }
    }
    Ok(())
}

fn number(p: &Prop) -> Result<String, (usize, String)> {
    let v = value(p)?;
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(v.to_string()),
        _ => Err((p.at, format!("`{}` needs a number, found `{v}`", p.name))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "t.profile").unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_line_and_column() {
        assert_eq!(
            err("class Foo time=sometimes\n"),
            "t.profile:1:11: unknown time kind `sometimes`: expected local, offset, hold, \
             range, behind, samples, snap, clip, retime, lookup or all"
        );
        assert_eq!(
            err("\nclass Foo frame=x\n"),
            "t.profile:2:11: `frame` is not a role of this class's time kind or motion blur \
             (set `time=…` or `blur-on=…` on the same line)"
        );
        assert_eq!(
            err("nodes Foo\n"),
            "t.profile:1:1: unknown directive `nodes`: expected `profile`, `known`, `class`, \
             `unknown` or `root`"
        );
        assert_eq!(
            err("known Fo*\n"),
            "t.profile:1:7: `known` takes class names, not patterns (`Fo*`); use `class`"
        );
        assert_eq!(
            err("class Foo files=file:movie\n"),
            "t.profile:1:11: `files`: unknown kind `movie` (one of image, proxy, deep, \
             geometry, lut, cdl, ocio-config, font, script, vectorfield)"
        );
        assert!(err(&format!("class {} pass\n", "*".repeat(100_000)))
            .starts_with("t.profile:1:7: class pattern longer than 512 characters"));
    }

    #[test]
    fn roles_land_in_their_time_kind() {
        let lines = parse(
            "class FrameHold time=hold frame=firstFrame|first_frame:0 increment=increment:0\n",
            "t",
        )
        .unwrap();
        let Directive::Class { props, .. } = &lines[0].directive else {
            panic!()
        };
        let mut s = Semantics::default();
        apply(&mut s, props).unwrap();
        assert_eq!(
            s.time,
            Time::Hold {
                frame: Some(KnobRef {
                    names: vec!["firstFrame".into(), "first_frame".into()],
                    defaults: vec!["0".into()]
                }),
                increment: Some(KnobRef {
                    names: vec!["increment".into()],
                    defaults: vec!["0".into()]
                }),
            }
        );
    }
}
