//! Re-render only what is outdated: an Open Job Description job for the frames a check
//! found not valid.
//!
//! A check says which frames of a cached output must be rendered again; a render farm
//! runs jobs. [`JobSpec::template`] turns the one into the other: an OpenJD job template
//! (specification `jobtemplate-2023-09`, which AWS Deadline Cloud runs and `openjd-cli`
//! checks and runs locally) with one step whose tasks are the outdated frames in
//! contiguous chunks of at most [`JobSpec::chunk`] frames. Each task runs the render
//! command for its frames, then records exactly those frames into the cache, so that
//! the farm leaves a cache whose next check is valid; tasks record concurrently, which
//! the cache allows (see [`crate::store`]).
//!
//! The script and the cache directory are job parameters (`Script`, `CacheDir`), so one
//! template can be submitted against a copy on the farm's storage. A parameter's default
//! is the path the check used when that path lies below the template's directory, written
//! relative to it: OpenJD joins a `PATH` default to the directory of the template it
//! reads and refuses absolute ones and ones that walk up out of it. Otherwise the
//! parameter has no default and is given at submission (`openjd run -p Script=…`);
//! [`JobSpec::without_default`] names those. The commands run in
//! a bash script the template embeds; the task's values reach it as arguments, never
//! pasted into the script's text, so any path works. In the render and record
//! commands, these placeholders expand to quoted shell words:
//!
//! | placeholder   | value                                              |
//! |---------------|----------------------------------------------------|
//! | `{first}`     | the chunk's first frame                            |
//! | `{last}`      | the chunk's last frame                             |
//! | `{frames}`    | the chunk as a frame list, `first-last`            |
//! | `{script}`    | the `Script` parameter                             |
//! | `{cache_dir}` | the `CacheDir` parameter                           |
//!
//! `{{` stands for a literal `{`. The template is written as JSON, which is also YAML:
//! `openjd` reads either.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The OpenJD template specification the template follows.
pub const SPECIFICATION: &str = "jobtemplate-2023-09";

/// What the job re-renders and how.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// The job's name (shown by the farm).
    pub name: String,
    /// The script: the default of the `Script` parameter.
    pub script: PathBuf,
    /// The cache directory: the default of the `CacheDir` parameter.
    pub cache_dir: PathBuf,
    /// The frames to render, in any order (duplicates ignored).
    pub frames: Vec<i64>,
    /// At most this many frames per task (at least 1).
    pub chunk: usize,
    /// The command rendering a chunk (placeholders as in the module docs).
    pub render_command: String,
    /// The command recording a chunk into the cache.
    pub record_command: String,
}

/// Why a job cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Every checked frame is valid: there is nothing to render.
    #[error("no frames to render: every checked frame is valid")]
    NoFrames,
    /// A chunk of zero frames.
    #[error("--chunk must be at least 1")]
    Chunk,
    /// A `{name}` in a command that is no placeholder.
    #[error("the {which} command has an unknown placeholder `{{{name}}}` (known: {{first}}, {{last}}, {{frames}}, {{script}}, {{cache_dir}}; write {{{{ for a brace)")]
    Placeholder {
        /// `render` or `record`.
        which: &'static str,
        /// The unknown name.
        name: String,
    },
    /// An empty command.
    #[error("the {which} command is empty")]
    Empty {
        /// `render` or `record`.
        which: &'static str,
    },
    /// The template cannot be written.
    #[error(transparent)]
    Write(#[from] crate::fsutil::FsError),
    /// A path the template names cannot be resolved.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

fn io_error(path: &Path, e: std::io::Error) -> JobError {
    JobError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `path` relative to directory `base`, both resolved (symlinks followed) first; `None`
/// when `path` is not below `base`.
fn relative(path: &Path, base: &Path) -> Result<Option<PathBuf>, JobError> {
    let path = path.canonicalize().map_err(|e| io_error(path, e))?;
    let base = base.canonicalize().map_err(|e| io_error(base, e))?;
    Ok(path.strip_prefix(&base).ok().map(|r| {
        if r.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            r.to_path_buf()
        }
    }))
}

impl JobSpec {
    /// The frames split into tasks: contiguous runs, each cut into chunks of at most
    /// `chunk` frames, as `(first, last)`.
    pub fn chunks(&self) -> Vec<(i64, i64)> {
        let mut frames = self.frames.clone();
        frames.sort_unstable();
        frames.dedup();
        let chunk = self.chunk.max(1) as i64;
        let mut out: Vec<(i64, i64)> = Vec::new();
        for f in frames {
            match out.last_mut() {
                Some((first, last)) if *last + 1 == f && f - *first < chunk => *last = f,
                _ => out.push((f, f)),
            }
        }
        out
    }

    /// Write the job template to `path` (atomically), its parameters' defaults relative
    /// to the directory it is written in (see [`Self::template`]).
    pub fn write(&self, path: &Path) -> Result<(), JobError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let text = self.template(dir)?;
        Ok(crate::fsutil::atomic_write(path, text.as_bytes())?)
    }

    /// The parameters (`Script`, `CacheDir`) a template written in directory `dir` has
    /// no default for, with the value to give them: their paths are not below `dir`.
    pub fn without_default(&self, dir: &Path) -> Result<Vec<(&'static str, &Path)>, JobError> {
        let mut out = Vec::new();
        for (name, p) in [("Script", &self.script), ("CacheDir", &self.cache_dir)] {
            if relative(p, dir)?.is_none() {
                out.push((name, p.as_path()));
            }
        }
        Ok(out)
    }

    /// The job template, as JSON text (valid YAML too), for a file in directory `dir`:
    /// the parameters' defaults are relative to it, and absent for paths not below it.
    pub fn template(&self, dir: &Path) -> Result<String, JobError> {
        if self.chunk == 0 {
            return Err(JobError::Chunk);
        }
        let chunks = self.chunks();
        if chunks.is_empty() {
            return Err(JobError::NoFrames);
        }
        let default = |p: &Path| -> Result<Option<String>, JobError> {
            Ok(relative(p, dir)?.map(|r| r.to_string_lossy().into_owned()))
        };
        let (script, cache_dir) = (default(&self.script)?, default(&self.cache_dir)?);
        let render = shell_command(&self.render_command, "render")?;
        let record = shell_command(&self.record_command, "record")?;
        let run = format!(
            "#!/usr/bin/env bash\n\
             # Render one chunk of outdated frames, then record exactly those frames.\n\
             set -euo pipefail\n\
             SCRIPT=\"$1\"\n\
             CACHE_DIR=\"$2\"\n\
             FIRST=\"${{3%%:*}}\"\n\
             LAST=\"${{3##*:}}\"\n\
             {render}\n\
             {record}\n"
        );
        let range: Vec<Value> = chunks
            .iter()
            .map(|(a, b)| Value::String(format!("{a}:{b}")))
            .collect();
        let mut doc = json!({
            "specificationVersion": SPECIFICATION,
            "name": self.name,
            "parameterDefinitions": [
                {
                    "name": "Script",
                    "type": "PATH",
                    "objectType": "FILE",
                    "dataFlow": "IN",
                    "description": "The script whose output is re-rendered."
                },
                {
                    "name": "CacheDir",
                    "type": "PATH",
                    "objectType": "DIRECTORY",
                    "dataFlow": "INOUT",
                    "description": "The smartcache cache directory the frames are recorded into."
                }
            ],
            "steps": [{
                "name": "RenderOutdated",
                "parameterSpace": {
                    "taskParameterDefinitions": [{
                        "name": "Frames",
                        "type": "STRING",
                        "range": range
                    }]
                },
                "script": {
                    "actions": {
                        "onRun": {
                            "command": "bash",
                            "args": [
                                "{{Task.File.Run}}",
                                "{{Param.Script}}",
                                "{{Param.CacheDir}}",
                                "{{Task.Param.Frames}}"
                            ]
                        }
                    },
                    "embeddedFiles": [{
                        "name": "Run",
                        "type": "TEXT",
                        "runnable": true,
                        "data": run
                    }]
                }
            }]
        });
        for (k, d) in [script, cache_dir].into_iter().enumerate() {
            if let Some(d) = d {
                doc["parameterDefinitions"][k]["default"] = Value::String(d);
            }
        }
        let mut text = serde_json::to_string_pretty(&doc)
            .expect("serialising a JSON value to a string cannot fail");
        text.push('\n');
        Ok(text)
    }
}

/// `template` with its placeholders expanded into the embedded script's variables.
fn shell_command(template: &str, which: &'static str) -> Result<String, JobError> {
    if template.trim().is_empty() {
        return Err(JobError::Empty { which });
    }
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if let Some(literal) = after.strip_prefix('{') {
            // `{{` is a literal brace (`awk '{{print $1}'`).
            out.push('{');
            rest = literal;
            continue;
        }
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &after[..close];
        let word = match name {
            "first" => "\"$FIRST\"",
            "last" => "\"$LAST\"",
            "frames" => "\"$FIRST-$LAST\"",
            "script" => "\"$SCRIPT\"",
            "cache_dir" => "\"$CACHE_DIR\"",
            _ => {
                return Err(JobError::Placeholder {
                    which,
                    name: name.to_string(),
                })
            }
        };
        out.push_str(word);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Quote `s` as one POSIX shell word.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(frames: Vec<i64>, chunk: usize) -> JobSpec {
        JobSpec {
            name: "job".into(),
            script: "/s.nk".into(),
            cache_dir: "/c".into(),
            frames,
            chunk,
            render_command: "render {script} -s {first} -e {last}".into(),
            record_command: "smartcache record {script} --cache-dir {cache_dir} --frames {frames}"
                .into(),
        }
    }

    #[test]
    fn chunks_are_contiguous_and_bounded() {
        assert_eq!(
            spec(vec![7, 1, 2, 3, 4, 5, 9, 10, 3], 2).chunks(),
            [(1, 2), (3, 4), (5, 5), (7, 7), (9, 10)]
        );
        assert_eq!(spec(vec![-3, -2, -1, 0], 10).chunks(), [(-3, 0)]);
    }

    #[test]
    fn placeholders_become_quoted_variables() {
        assert_eq!(
            shell_command("r {script} {frames}", "render").unwrap(),
            r#"r "$SCRIPT" "$FIRST-$LAST""#
        );
        assert!(matches!(
            shell_command("r {nope}", "render"),
            Err(JobError::Placeholder { which: "render", name }) if name == "nope"
        ));
        assert!(shell_command("awk '{print}'", "render")
            .unwrap_err()
            .to_string()
            .contains("{print}"));
        assert_eq!(
            shell_command("awk '{{print}' {last}", "render").unwrap(),
            r#"awk '{print}' "$LAST""#
        );
        assert!(matches!(
            spec(vec![], 1).template(Path::new("/")),
            Err(JobError::NoFrames)
        ));
        assert!(matches!(
            spec(vec![1], 0).template(Path::new("/")),
            Err(JobError::Chunk)
        ));
        assert_eq!(shell_quote("a b'c"), r#"'a b'\''c'"#);
    }

    #[test]
    fn defaults_are_relative_to_the_template() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for d in ["shot/comp", "shot/cache", "elsewhere"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("shot/comp/s.nk"), "").unwrap();
        let mut job = spec(vec![1, 2], 10);
        job.script = root.join("shot/comp/s.nk");
        job.cache_dir = root.join("shot/cache");
        let defaults = |path: &Path| -> Vec<Option<String>> {
            let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            doc["parameterDefinitions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["default"].as_str().map(String::from))
                .collect()
        };
        let path = root.join("shot/job.json");
        job.write(&path).unwrap();
        assert_eq!(
            defaults(&path),
            [Some("comp/s.nk".to_string()), Some("cache".to_string())]
        );
        assert!(job.without_default(&root.join("shot")).unwrap().is_empty());
        // Not below the template's folder: no default, given at submission.
        let path = root.join("elsewhere/job.json");
        job.write(&path).unwrap();
        assert_eq!(defaults(&path), [None, None]);
        let names: Vec<&str> = job
            .without_default(&root.join("elsewhere"))
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["Script", "CacheDir"]);
        assert_eq!(
            relative(&root.join("shot"), &root.join("shot")).unwrap(),
            Some(PathBuf::from("."))
        );
        let missing = root.join("nope.nk");
        job.script = missing.clone();
        assert!(matches!(job.write(&path), Err(JobError::Io { path, .. }) if path == missing));
    }
}
