//! `--exec`: a command template run once per item.
//!
//! A process per item is what costs here (the transform itself is often a `cp` or a
//! quick `convert`), so a template without shell syntax is executed directly, one
//! process instead of two (`sh` and the command): `cp {in} {out}` runs `cp` with the
//! paths as arguments. Anything else (pipes, redirections, quotes, variables, `;`) runs
//! under `sh -c` with the paths shell-quoted.

use super::{describe, tail, Item, Runner};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A template that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExecTemplateError {
    /// The template lacks `{in}` or `{out}` (the template).
    #[error("--exec must contain both {{in}} and {{out}}: {0}")]
    MissingPlaceholder(String),
}

/// A parsed `--exec` template.
#[derive(Debug, Clone)]
pub(crate) struct Exec {
    template: String,
    /// The argument vector when no shell is needed; each word with placeholders.
    direct: Option<Vec<String>>,
}

const PLACEHOLDERS: [&str; 3] = ["{in}", "{out}", "{sidecars}"];

impl Exec {
    pub fn new(template: &str) -> Result<Exec, ExecTemplateError> {
        if !template.contains("{in}") || !template.contains("{out}") {
            return Err(ExecTemplateError::MissingPlaceholder(template.to_string()));
        }
        Ok(Exec {
            template: template.to_string(),
            direct: direct_words(template),
        })
    }

    pub fn template(&self) -> &str {
        &self.template
    }
}

/// The words of `template` when it needs no shell: only plain characters besides the
/// placeholders, and `{sidecars}` (which expands to several arguments) as a word of its
/// own.
fn direct_words(template: &str) -> Option<Vec<String>> {
    let mut rest = template.to_string();
    for p in PLACEHOLDERS {
        rest = rest.replace(p, "");
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || " -_./:,+@%^".contains(c);
    if !rest.chars().all(plain) {
        return None;
    }
    let words: Vec<String> = template
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let bad_sidecars = words
        .iter()
        .any(|w| w.contains("{sidecars}") && w != "{sidecars}");
    (!words.is_empty() && !bad_sidecars).then_some(words)
}

/// Quote `s` for `sh`: single quotes, with embedded ones closed, escaped and reopened.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub(crate) struct ExecRunner<'a> {
    exec: &'a Exec,
    interrupted: Option<Arc<AtomicBool>>,
}

impl<'a> ExecRunner<'a> {
    pub fn new(exec: &'a Exec, interrupted: Option<Arc<AtomicBool>>) -> ExecRunner<'a> {
        ExecRunner { exec, interrupted }
    }

    fn command(&self, it: &Item) -> Command {
        let input = it.input.to_string_lossy();
        let output = it.output.to_string_lossy();
        match &self.exec.direct {
            Some(words) => {
                let mut argv: Vec<String> = Vec::with_capacity(words.len() + it.sidecars.len());
                for w in words {
                    if w == "{sidecars}" {
                        argv.extend(it.sidecars.iter().map(|s| s.to_string_lossy().into_owned()));
                    } else {
                        argv.push(w.replace("{in}", &input).replace("{out}", &output));
                    }
                }
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
            None => {
                let sidecars: Vec<String> = it
                    .sidecars
                    .iter()
                    .map(|s| sh_quote(&s.to_string_lossy()))
                    .collect();
                let cmd = self
                    .exec
                    .template
                    .replace("{in}", &sh_quote(&input))
                    .replace("{out}", &sh_quote(&output))
                    .replace("{sidecars}", &sidecars.join(" "));
                let mut c = Command::new("sh");
                c.arg("-c").arg(cmd);
                c
            }
        }
    }

    fn run_one(&self, it: &Item) -> Result<(), String> {
        let out = self
            .command(it)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| match &self.exec.direct {
                Some(w) => format!("cannot run `{}`: {e}", w[0]),
                None => format!("cannot run sh: {e}"),
            })?;
        if out.status.success() {
            return Ok(());
        }
        let Some(status) = describe(out.status) else {
            // The terminal's Ctrl-C reached the transform too, maybe before the build's
            // handler ran: the build is being interrupted, not this source failing.
            if let Some(flag) = &self.interrupted {
                flag.store(true, Ordering::SeqCst);
            }
            return Err("transform interrupted".into());
        };
        let t = tail(&String::from_utf8_lossy(&out.stderr));
        Err(if t.is_empty() {
            format!("transform failed ({status})")
        } else {
            format!("transform failed ({status}): {t}")
        })
    }
}

impl Runner for ExecRunner<'_> {
    fn run(&mut self, items: &[Item]) -> Vec<Result<(), String>> {
        items.iter().map(|it| self.run_one(it)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_templates_run_without_a_shell() {
        assert_eq!(
            direct_words("cp {in} {out}"),
            Some(vec!["cp".into(), "{in}".into(), "{out}".into()])
        );
        assert_eq!(
            direct_words("convert {in} -resize 50% --x=1 {out}").map(|w| w.len()),
            None,
            "`=` may be an assignment"
        );
        assert!(direct_words("convert {in} -resize 50% {out}").is_some());
        assert!(direct_words("tool {in} {out} {sidecars}").is_some());
        for shell in [
            "tr a-z A-Z < {in} > {out}",
            "cp {in} {out}; true",
            "cp \"{in}\" {out}",
            "cp $X {in} {out}",
            "x {in} {out}-{sidecars}",
        ] {
            assert_eq!(direct_words(shell), None, "{shell}");
        }
        assert_eq!(
            Exec::new("cp {in} x").unwrap_err(),
            ExecTemplateError::MissingPlaceholder("cp {in} x".into())
        );
    }

    #[test]
    fn runs_both_ways_with_awkward_paths() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("it's a file.txt");
        std::fs::write(&input, "x").unwrap();
        for t in ["cp {in} {out}", "cat {in} > {out}"] {
            let e = Exec::new(t).unwrap();
            let out = dir.path().join(format!("out {}", t.len()));
            let mut r = ExecRunner::new(&e, None);
            let res = r.run(&[Item {
                input: &input,
                output: &out,
                sidecars: &[],
            }]);
            assert_eq!(res, vec![Ok(())], "{t}");
            assert_eq!(std::fs::read_to_string(&out).unwrap(), "x");
        }
        let e = Exec::new("definitely-not-a-command-xyz {in} {out}").unwrap();
        let res = ExecRunner::new(&e, None).run(&[Item {
            input: &input,
            output: &input,
            sidecars: &[],
        }]);
        assert!(
            res[0]
                .as_ref()
                .unwrap_err()
                .starts_with("cannot run `definitely-not-a-command-xyz`: "),
            "{res:?}"
        );
    }
}
