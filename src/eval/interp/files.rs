//! Tcl's `file` subcommands that only compute on names: `tail`, `dirname`, `rootname`,
//! `extension`, `join`, `split`.
//!
//! Unix path rules, on paths where every Tcl version and platform agrees: no
//! backslash, no `~` (home expansion), no `:` (Windows drives and volumes), no empty
//! component (`a//b`), no trailing `/`. Other paths, and `normalize` and everything
//! that reads the file system, are Unknown.

use super::ctx::Ctx;
use super::error::{malformed, unsupported, Unknown};
use super::lists;

/// Refuses paths whose meaning varies; `Ok` for those Tcl handles plainly.
fn plain(path: &str, part: &str) -> Result<(), Unknown> {
    if path.is_empty() {
        return unsupported(part, "empty file name");
    }
    if path.contains(['\\', '~', ':']) {
        return unsupported(part, "file name with \\, ~ or : (platform-dependent)");
    }
    if path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
        return unsupported(part, "file name with an empty component or a trailing /");
    }
    Ok(())
}

/// The last component's start in `path`.
fn tail_start(path: &str) -> usize {
    path.rfind('/').map_or(0, |k| k + 1)
}

/// The position of the extension's dot in `path`, if the last component has one.
fn extension_dot(path: &str, part: &str) -> Result<Option<usize>, Unknown> {
    let start = tail_start(path);
    match path[start..].rfind('.') {
        Some(0) => unsupported(part, "dot file: Tcl versions disagree on its extension"),
        Some(k) => Ok(Some(start + k)),
        None => Ok(None),
    }
}

/// `file SUBCOMMAND args…`.
pub(crate) fn file(ctx: &mut Ctx<'_>, args: &[String], part: &str) -> Result<String, Unknown> {
    let Some((sub, rest)) = args.split_first() else {
        return malformed(part, "file without a subcommand");
    };
    match (sub.as_str(), rest) {
        ("tail", [p]) => {
            plain(p, part)?;
            if p == "/" {
                return unsupported(part, "tail of /");
            }
            Ok(p[tail_start(p)..].to_owned())
        }
        ("dirname", [p]) => {
            plain(p, part)?;
            Ok(match p.rfind('/') {
                None => ".".to_owned(),
                Some(0) => "/".to_owned(),
                Some(k) => p[..k].to_owned(),
            })
        }
        ("rootname", [p]) => {
            plain(p, part)?;
            Ok(match extension_dot(p, part)? {
                Some(k) => p[..k].to_owned(),
                None => p.clone(),
            })
        }
        ("extension", [p]) => {
            plain(p, part)?;
            Ok(match extension_dot(p, part)? {
                Some(k) => p[k..].to_owned(),
                None => String::new(),
            })
        }
        ("join", parts) if !parts.is_empty() => {
            let mut out = String::new();
            for p in parts {
                plain(p, part)?;
                if p.starts_with('/') || out.is_empty() {
                    out = p.clone();
                } else {
                    if !out.ends_with('/') {
                        out.push('/');
                    }
                    out.push_str(p);
                }
                ctx.produce(out.len(), part)?;
            }
            Ok(out)
        }
        ("split", [p]) => {
            plain(p, part)?;
            let mut elems = Vec::new();
            if p.starts_with('/') {
                elems.push("/".to_owned());
            }
            elems.extend(p.split('/').filter(|c| !c.is_empty()).map(str::to_owned));
            lists::format(ctx, &elems)
        }
        _ => unsupported(part, "file subcommand or form not evaluated"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::interp::scope::NoScope;

    fn f(args: &[&str]) -> Result<String, Unknown> {
        let mut scope = NoScope;
        let mut ctx = Ctx::new(&mut scope, 1.0, "", crate::eval::interp::ctx::no_commands);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        file(&mut ctx, &args, "file")
    }

    #[test]
    fn names() {
        let ok = |a: &[&str]| f(a).unwrap();
        assert_eq!(ok(&["tail", "/shows/x/comp.nk"]), "comp.nk");
        assert_eq!(ok(&["tail", "comp.nk"]), "comp.nk");
        assert_eq!(ok(&["dirname", "/shows/x/comp.nk"]), "/shows/x");
        assert_eq!(ok(&["dirname", "/comp.nk"]), "/");
        assert_eq!(ok(&["dirname", "comp.nk"]), ".");
        assert_eq!(ok(&["dirname", "./plates/x.exr"]), "./plates");
        assert_eq!(ok(&["dirname", "/"]), "/");
        assert_eq!(ok(&["rootname", "/a/plate.%04d.exr"]), "/a/plate.%04d");
        assert_eq!(ok(&["rootname", "/a.b/c"]), "/a.b/c");
        assert_eq!(ok(&["extension", "/a/plate.%04d.exr"]), ".exr");
        assert_eq!(ok(&["extension", "/a.b/c"]), "");
        assert_eq!(ok(&["extension", "x."]), ".");
        assert_eq!(ok(&["join", "/shows", "x", "comp.nk"]), "/shows/x/comp.nk");
        assert_eq!(ok(&["join", "a", "/b", "c"]), "/b/c");
        assert_eq!(ok(&["join", "/", "a"]), "/a");
        assert_eq!(ok(&["join", "a/b", "c"]), "a/b/c");
        assert_eq!(ok(&["split", "/a/b c/d"]), "/ a {b c} d");
        assert_eq!(ok(&["split", "a/b"]), "a b");
    }

    #[test]
    fn refusals() {
        for args in [
            &["tail", "/a/b/"][..],
            &["tail", "a//b"],
            &["tail", "~/x"],
            &["tail", "C:/x"],
            &["tail", "a\\b"],
            &["tail", ""],
            &["tail", "/"],
            &["rootname", "/a/.hidden"],
            &["join", "a", ""],
            &["join"],
            &["normalize", "a"],
            &["exists", "/a"],
            &["tail", "a", "b"],
        ] {
            assert!(f(args).is_err(), "{args:?}");
        }
    }
}
