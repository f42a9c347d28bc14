//! The Tcl commands the evaluator runs, and the refusal of every other one.
//!
//! Nuke's own commands: `value PATH`, `knob PATH` (one argument: read), `frame`,
//! `getenv NAME`, `topnode ?NODE?`, `exists PATH` (the last two only if the scope
//! answers). Tcl's: `if`, `return`, `expr`, `format`, `string`, `file`, and the list
//! commands. Anything else (`python`, `exec`, `open`, `source`, `set`, `knobs`,
//! `metadata`, unknown names…) is Unknown: it may run code, touch files, or depend on
//! state the scope does not describe.

use super::ctx::{Ctx, Flow};
use super::error::{inexact, malformed, unavailable, unsupported, Unknown};
use super::number::frame_text;
use super::tcl::eval_script;
use super::{files, format, lists, strings, tcl_expr};

/// Runs one command. `text` is its source (for error messages).
pub(crate) fn run(ctx: &mut Ctx<'_>, words: &[String], text: &str) -> Result<Flow, Unknown> {
    let whole = || format!("[{}]", text.trim());
    let (name, args) = words.split_first().expect("a command has a name");
    ctx.charge(words.len(), text)?;
    let out = match (name.as_str(), args) {
        ("value", [path]) => match ctx.scope.text(path, ctx.frame) {
            Some(v) => v,
            None => return unavailable(&whole(), "knob value not available"),
        },
        ("value", _) => return unsupported(&whole(), "value with a default or options"),
        ("knob", [path]) => match ctx.scope.knob_script(path) {
            Some(v) => v,
            None => return unavailable(&whole(), "knob script not available"),
        },
        ("knob", _) => return unsupported(&whole(), "knob with a value sets the knob"),
        ("frame", []) => match frame_text(ctx.frame) {
            Some(v) => v,
            None => {
                return inexact(
                    &whole(),
                    "how Nuke prints a fractional frame is not documented",
                )
            }
        },
        ("frame", _) => return unsupported(&whole(), "frame with an argument changes the frame"),
        ("getenv", [var]) => match ctx.scope.env(var) {
            Some(v) => v,
            None => return unavailable(&whole(), "environment variable not set or not known"),
        },
        ("topnode", []) | ("topnode", [_]) => {
            match ctx.scope.topnode(args.first().map(String::as_str)) {
                Some(v) => v,
                None => return unavailable(&whole(), "top node not available"),
            }
        }
        ("exists", [path]) => match ctx.scope.exists(path) {
            Some(b) => if b { "1" } else { "0" }.to_owned(),
            None => return unavailable(&whole(), "existence not available"),
        },
        ("return", []) => return Ok(Flow::Return(String::new())),
        ("return", [v]) => return Ok(Flow::Return(v.clone())),
        ("if", _) => return if_command(ctx, args, &whole()),
        ("expr", _) => {
            let joined = lists::concat(args, &whole())?;
            tcl_expr::expr_text(ctx, &joined)?
        }
        ("format", _) => format::format(ctx, args, &whole())?,
        ("string", _) => strings::string(ctx, args, &whole())?,
        ("file", _) => files::file(ctx, args, &whole())?,
        ("lindex" | "llength" | "lrange" | "split" | "join" | "concat" | "list", _) => {
            lists::command(ctx, name, args, &whole())?
        }
        ("python" | "exec" | "open" | "source" | "eval" | "uplevel" | "subst", _) => {
            return unsupported(&whole(), "runs code or reads files: never evaluated")
        }
        _ => return unsupported(&whole(), "Tcl command not evaluated"),
    };
    ctx.produce(out.len(), text)?;
    Ok(Flow::Normal(out))
}

/// `if COND ?then? BODY ?elseif COND ?then? BODY …? ?else? ?BODY?`: only the chosen
/// body is evaluated.
fn if_command(ctx: &mut Ctx<'_>, args: &[String], part: &str) -> Result<Flow, Unknown> {
    let mut i = 0;
    loop {
        let Some(cond) = args.get(i) else {
            return malformed(part, "if without a condition");
        };
        i += 1;
        if args.get(i).is_some_and(|w| w == "then") {
            i += 1;
        }
        let Some(body) = args.get(i) else {
            return malformed(part, "if without a body");
        };
        i += 1;
        if tcl_expr::condition(ctx, cond)? {
            return eval_script(ctx, body);
        }
        match args.get(i).map(String::as_str) {
            None => return Ok(Flow::Normal(String::new())),
            Some("elseif") => i += 1,
            Some(word) => {
                let else_body = if word == "else" {
                    args.get(i + 1)
                } else {
                    Some(&args[i])
                };
                let last = if word == "else" { i + 2 } else { i + 1 };
                return match else_body {
                    Some(b) if last == args.len() => eval_script(ctx, b),
                    _ => malformed(part, "malformed else branch of if"),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::eval::interp::testing::{tcl, why, MapScope};
    use crate::eval::interp::{eval_tcl, Why};

    fn scope() -> MapScope {
        let mut s = MapScope::new()
            .text("speed", "1")
            .text("translate.x", "0")
            .text("translate.y", "2")
            .text("Read1.file", "/plates/a.%04d.exr")
            .env("SHOW", "abc");
        s.topnode = Some("Read1".into());
        s
    }

    fn ok(text: &str) -> String {
        tcl(&mut scope(), text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn nuke_commands() {
        assert_eq!(ok("[frame]"), "1001");
        assert_eq!(ok("[getenv SHOW]"), "abc");
        assert_eq!(ok("[value [topnode].file]"), "/plates/a.%04d.exr");
        assert_eq!(
            ok("[file rootname [value [topnode].file]]"),
            "/plates/a.%04d"
        );
        assert_eq!(
            why(eval_tcl("[frame]", 1001.5, &mut scope())).0,
            Why::Inexact
        );
        for (text, want) in [
            ("[frame 3]", Why::Unsupported),
            ("[knob Read1.first 10]", Why::Unsupported),
            ("[knob Read1.first]", Why::Unavailable),
            ("[exists parent.input1]", Why::Unavailable),
            ("[getenv NOPE]", Why::Unavailable),
            ("[topnode a b]", Why::Unsupported),
            ("[value -default 1 x]", Why::Unsupported),
            ("[python {nuke.thisNode()}]", Why::Unsupported),
            ("[metadata input/filename]", Why::Unsupported),
            ("[nosuchcommand]", Why::Unsupported),
        ] {
            assert_eq!(why(tcl(&mut scope(), text)).0, want, "{text}");
        }
    }

    #[test]
    fn if_command() {
        assert_eq!(
            ok("[if {[value speed] == 1} then {return \"\"} else {return \"spd [value speed]\"}]"),
            ""
        );
        assert_eq!(
            ok("[if {[value speed] != 1} then {return \"\"} else {return \"spd [value speed]\"}]"),
            "spd 1"
        );
        assert_eq!(
            ok("[if {[value translate.x] != 0 || [value translate.y] != 0} {return \"t [value translate.x] [value translate.y]\"} {return \"\"}]"),
            "t 0 2"
        );
        assert_eq!(
            ok("[if {0} {return a} elseif {1} {return b} else {return c}]"),
            "b"
        );
        assert_eq!(
            ok("[if {0} {return a} elseif {0} then {return b} else {return c}]"),
            "c"
        );
        assert_eq!(ok("[if {0} {return a}]"), "");
        assert_eq!(ok("[if {\"yes\"} {return a}]"), "a");
        assert_eq!(ok("[if {1} {string length abc}]"), "3");
        // The branch not taken is not evaluated.
        assert_eq!(ok("[if {1} {return a} {python boom}]"), "a");
        for text in [
            "[if]",
            "[if {1}]",
            "[if {0} {a} else]",
            "[if {0} {a} else {b} c]",
            "[if {\"maybe\"} {return a}]",
            "[if {\"t\"} {return a}]",
        ] {
            assert!(tcl(&mut scope(), text).is_err(), "{text}");
        }
    }
}
