//! A conservative evaluator for Nuke expressions and Nuke's Tcl substitutions.
//!
//! The manifest needs *values* to decide, per frame, which inputs a node reads (a
//! Switch's `which {{frame>=10}}`, a `disable {{!parent.enable}}`, a TimeOffset given
//! by an expression) and which files it reads (`[value root.project_directory]/p.%04d.exr`,
//! `[file dirname [value root.name]]/plates/x.exr`, `[format %04d [frame]]`). A wrong
//! value prunes the wrong branch and hides a change, breaking smartcache's first rule
//! (never miss an invalidation). So the contract is:
//!
//! **a value is returned only when it is what Nuke computes; otherwise an [`Unknown`]
//! names the part that could not be evaluated and why.** Never a guess.
//!
//! # What is evaluated
//!
//! * [`eval_expression`]: Nuke's expression language (`nuke.rs`) after Tcl substitution
//!   of the whole text, as Nuke does: numbers (decimal, exponent, `0x` hex), `frame`,
//!   `t`, `x`, `pi`, `true`, `false`, C operators and precedence, the math library
//!   (`functions.rs`), knob paths (`Blur1.size`, `size.w`, `matrix.0`, `parent.gain`)
//!   read through the [`Scope`], and knob reads at another time (`Blur1.size(frame-1)`).
//! * [`eval_tcl`]: a knob text with `[…]` and `$…` substitutions (a file path, a
//!   label): Tcl parsing with nesting, quoting and escapes (`tcl.rs`); the commands
//!   `value`, `knob`, `frame`, `getenv`, `topnode`, `exists`, `if`, `return`, `expr`
//!   (`tcl_expr.rs`), `format` (`format.rs`), `string` (`strings.rs`), `file`
//!   (`files.rs`), `lindex llength lrange split join concat list` (`lists.rs`).
//!
//! # What is deliberately Unknown
//!
//! * Anything that runs code or reads state the scope does not describe: `[python …]`,
//!   `exec`, `open`, `source`, unknown commands; `curve`, `value`, `y`, `random`,
//!   `noise`, `fBm`, `turbulence`, colour lookups.
//! * Anything whose result differs between Tcl versions (Nuke has shipped several)
//!   or C libraries (Linux, macOS, Windows): numbers printed by Tcl that do not print
//!   identically everywhere (`number.rs`), `%e`, rounding ties, integers beyond 32
//!   bits, octal-looking literals, list quoting beyond braces, Unicode case mapping.
//! * Decisions on approximate values: transcendental functions (`sin`, `exp`, `pow`…)
//!   come from the host's C library and may differ from Nuke's in the last bit; such a
//!   value may be returned by [`eval_expression_num`] (marked inexact) but never decides
//!   a comparison, a rounding or a condition, and [`eval_expression`] refuses it.
//! * Arithmetic without a finite result (division by zero, `sqrt(-1)`, overflow),
//!   malformed text, and reads the scope cannot answer ([`Why::Unavailable`]).
//! * Unbounded work: nesting deeper than [`MAX_DEPTH`] (brackets, parentheses,
//!   operators, `if` bodies all count), more work than a budget proportional to the
//!   text's length, or texts longer than 1 MiB ([`Why::Limit`]). Evaluation never
//!   panics and never recurses without a bound.
//!
//! # Decisions
//!
//! * Numbers become text only in Tcl: integers print in decimal; a double prints only
//!   when its exact value has at most 12 significant digits and lies in [1e-4, 1e12)
//!   (`2.0`, `1001.5`, `0.125`), which every Tcl version prints alike; `[frame]` prints
//!   an integral frame as an integer (`1001`) and is Unknown on a fractional frame.
//! * An unset environment variable is Unknown, for `$env(NAME)` (a Tcl error) and
//!   for `[getenv NAME]` (Nuke does not document the result).
//! * `&&`, `||`, `?:` and `if` evaluate only the branch they need (Tcl does; for the
//!   expression language the skipped branch could only matter through an error, and
//!   it must still parse), so `determinant == 0 ? 0 : 1/determinant` is 0, not Unknown.
//!
//! ```
//! use smartcache::eval::interp::{eval_expression, eval_tcl, NoScope, Scope, Why};
//!
//! struct Ctrl;
//! impl Scope for Ctrl {
//!     fn number(&mut self, path: &str, _: f64) -> Option<f64> {
//!         (path == "Ctrl.k").then_some(1.0)
//!     }
//!     fn text(&mut self, path: &str, _: f64) -> Option<String> {
//!         (path == "root.name").then(|| "/shows/abc/sh010/comp.nk".to_owned())
//!     }
//!     fn env(&mut self, _: &str) -> Option<String> { None }
//!     fn var(&mut self, name: &str) -> Option<String> { (name == "gui").then(|| "0".into()) }
//!     fn topnode(&mut self, _: Option<&str>) -> Option<String> { None }
//! }
//!
//! assert_eq!(eval_expression("frame>=10 && Ctrl.k", 12.0, &mut Ctrl), Ok(1.0));
//! assert_eq!(eval_expression("$gui", 12.0, &mut Ctrl), Ok(0.0));
//! assert_eq!(
//!     eval_tcl("[file dirname [value root.name]]/plates/p.[format %04d [frame]].exr", 12.0, &mut Ctrl),
//!     Ok("/shows/abc/sh010/plates/p.0012.exr".to_owned())
//! );
//! let e = eval_tcl("[python nuke.root().name()]", 1.0, &mut NoScope).unwrap_err();
//! assert_eq!((e.part.as_str(), e.why), ("[python nuke.root().name()]", Why::Unsupported));
//! ```

mod commands;
mod ctx;
mod error;
mod files;
mod format;
mod functions;
mod lists;
mod nuke;
mod nuke_lex;
mod number;
mod scope;
mod strings;
mod tcl;
mod tcl_expr;
#[cfg(test)]
mod testing;

pub use error::{Unknown, Why};
pub use functions::Num;
pub use scope::{NoScope, Read, Recording, Scope};

use ctx::Ctx;

/// Deepest nesting of brackets, parentheses, operators and `if` bodies evaluated.
pub const MAX_DEPTH: usize = 64;

/// Evaluates a Nuke expression (`frame>=10 && Ctrl.k`, `parent.size*2`,
/// `"parent.ControlsA.\[value this.number]"` unescaped) at `frame`. Tcl substitutions
/// inside it are done first, as Nuke does. Only exact values are returned: a result
/// that went through a transcendental function is Unknown ([`Why::Inexact`]); use
/// [`eval_expression_num`] to accept it.
pub fn eval_expression(text: &str, frame: f64, scope: &mut dyn Scope) -> Result<f64, Unknown> {
    let n = eval_expression_num(text, frame, scope)?;
    if n.exact {
        Ok(n.value)
    } else {
        Err(Unknown::new(
            Why::Inexact,
            text,
            "the value went through a C library function that may round differently in Nuke",
        ))
    }
}

/// Like [`eval_expression`], but also returns approximate values (marked
/// `exact: false`): correct to within the last bits, for callers that only record
/// the value. Decisions inside the expression are still made only on exact values.
pub fn eval_expression_num(text: &str, frame: f64, scope: &mut dyn Scope) -> Result<Num, Unknown> {
    let mut ctx = Ctx::new(scope, frame, text, commands::run);
    nuke::evaluate(&mut ctx, text)
}

/// Substitutes a Tcl string (a file knob, a Text node's message, already unescaped
/// from the script's quoting) at `frame`: `[…]` command substitutions and `$…`
/// variables; everything else is literal.
pub fn eval_tcl(text: &str, frame: f64, scope: &mut dyn Scope) -> Result<String, Unknown> {
    let mut ctx = Ctx::new(scope, frame, text, commands::run);
    tcl::subst(&mut ctx, text)
}
