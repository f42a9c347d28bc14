//! `--worker`: one long-running process per job slot, so a transform loads its model,
//! interpreter or GPU context once per slot instead of once per item.
//!
//! # Protocol
//!
//! The command runs under `sh -c` with stdin and stdout as pipes. For each item the
//! build writes one line to its stdin:
//!
//! ```text
//! <input path>\t<output path>[\t<sidecar path>…]\n
//! ```
//!
//! and the worker answers, in the same order, one line per item on its stdout:
//!
//! ```text
//! ok\n                      the output file is written
//! error <message>\n         this item failed (the message is recorded)
//! ```
//!
//! Up to [`super::WORKER_IN_FLIGHT`] items are sent before their answers are read, so a
//! worker may read ahead and batch. Anything else the worker writes to stdout is a
//! protocol error; its stderr is kept (the last lines explain a crash). When the worker
//! exits or breaks the protocol, the items in flight fail with what happened and the
//! next item starts a new worker. At the end of the build its stdin is closed: it should
//! exit.
//!
//! Paths are passed as text: an item whose paths contain a tab, a newline or bytes
//! that are not UTF-8 fails without being sent.

use super::{describe, tail, Item, Runner};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Lines of a worker's stderr kept for error messages.
const STDERR_LINES: usize = 20;

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Proc {
    fn start(cmd: &str) -> Result<Proc, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the worker: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let reader = child.stderr.take().map(|err| {
            let keep = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut k = keep.lock().unwrap_or_else(|p| p.into_inner());
                    if k.len() == STDERR_LINES {
                        k.pop_front();
                    }
                    k.push_back(line);
                }
            })
        });
        Ok(Proc {
            child,
            stdin,
            stdout,
            stderr,
            reader,
        })
    }

    /// Wait for the process (it was told to go, or it went) and say how it ended.
    /// `None`: killed by SIGINT.
    fn finish(mut self, kill: bool) -> Option<String> {
        drop(self.stdin);
        if kill {
            let _ = self.child.kill();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    break self.child.wait().ok();
                }
                Err(_) => break None,
            }
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let err: Vec<String> = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        let how = match status.map(describe) {
            Some(None) => return None,
            Some(Some(s)) => s,
            None => "ended".into(),
        };
        let t = tail(&err.join("\n"));
        Some(if t.is_empty() {
            how
        } else {
            format!("{how}: {t}")
        })
    }
}

/// The runner of one job slot: its worker process, started on first use and again after
/// it dies.
pub(crate) struct WorkerRunner {
    cmd: String,
    proc: Option<Proc>,
    interrupted: Option<Arc<AtomicBool>>,
    /// Lines queued, not written yet.
    out: String,
    /// Items sent whose result was not taken.
    in_flight: usize,
    /// The oldest of them that went down with a worker that is gone, and why: their
    /// results are that failure (items sent since go to a new worker).
    dead: usize,
    lost: String,
    line: String,
}

impl WorkerRunner {
    pub fn new(cmd: &str, interrupted: Option<Arc<AtomicBool>>) -> WorkerRunner {
        WorkerRunner {
            cmd: cmd.to_string(),
            proc: None,
            interrupted,
            out: String::new(),
            in_flight: 0,
            dead: 0,
            lost: String::new(),
            line: String::new(),
        }
    }

    /// The worker is gone or useless: reap it and describe the end for the items it had.
    fn lost(&mut self, what: &str, kill: bool) -> String {
        let Some(p) = self.proc.take() else {
            return what.to_string();
        };
        match p.finish(kill) {
            Some(how) => format!("{what} (worker {how})"),
            None => {
                if let Some(f) = &self.interrupted {
                    f.store(true, Ordering::SeqCst);
                }
                "transform interrupted".into()
            }
        }
    }
}

fn line_of(it: &Item) -> Result<String, String> {
    let mut parts = vec![it.input, it.output];
    parts.extend(it.sidecars.iter().map(|p| p.as_path()));
    let mut line = String::new();
    for (k, p) in parts.iter().enumerate() {
        let s = p
            .to_str()
            .ok_or("a path is not valid UTF-8: cannot be passed to a --worker")?;
        if s.contains(['\t', '\n', '\r']) {
            return Err(format!(
                "{s:?} contains a tab or newline: cannot be passed to a --worker"
            ));
        }
        if k > 0 {
            line.push('\t');
        }
        line.push_str(s);
    }
    line.push('\n');
    Ok(line)
}

impl WorkerRunner {
    /// Queue `it` for the worker (started if none runs); its result comes from a later
    /// [`Self::recv`], in order. `Err`: it failed without being sent (its paths cannot
    /// be passed, or the worker cannot start).
    pub fn send(&mut self, it: &Item) -> Result<(), String> {
        let line = line_of(it)?;
        if self.proc.is_none() {
            self.proc = Some(Proc::start(&self.cmd)?);
        }
        self.out.push_str(&line);
        self.in_flight += 1;
        Ok(())
    }

    /// Write the lines queued (all at once: one `write` for a burst of items).
    fn flush(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let Some(p) = self.proc.as_mut() else {
            self.out.clear();
            return;
        };
        let written = p
            .stdin
            .write_all(self.out.as_bytes())
            .and_then(|_| p.stdin.flush());
        self.out.clear();
        if written.is_err() {
            let why = self.lost("the worker exited before reading its input", false);
            self.fail_in_flight(why);
        }
    }

    /// Every item in flight fails with `why` (their worker is gone).
    fn fail_in_flight(&mut self, why: String) {
        self.dead = self.in_flight;
        self.lost = why;
    }

    /// The result of the oldest item in flight (there must be one).
    pub fn recv(&mut self) -> Result<(), String> {
        if self.dead == 0 {
            self.flush();
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.dead > 0 {
            self.dead -= 1;
            return Err(self.lost.clone());
        }
        let Some(p) = self.proc.as_mut() else {
            return Err("the worker is not running".into());
        };
        self.line.clear();
        let got = p.stdout.read_line(&mut self.line);
        let reply = self.line.trim_end_matches(['\n', '\r']);
        match got {
            Ok(_) if reply == "ok" => Ok(()),
            Ok(n) if n > 0 && (reply == "error" || reply.starts_with("error ")) => {
                let msg = reply.strip_prefix("error").unwrap_or("").trim();
                Err(if msg.is_empty() {
                    "the worker reported an error".into()
                } else {
                    msg.to_string()
                })
            }
            Ok(0) | Err(_) => {
                let why = self.lost("the worker exited while this item was in flight", false);
                self.fail_in_flight(why.clone());
                Err(why)
            }
            Ok(_) => {
                // Its state is unknown: stop it; the next item starts another.
                let shown: String = reply.chars().take(80).collect();
                if let Some(p) = self.proc.take() {
                    let _ = p.finish(true);
                }
                self.fail_in_flight(
                    "in flight when the worker broke the protocol (it was restarted)".into(),
                );
                Err(format!(
                    "worker protocol error: expected `ok` or `error <message>`, got `{shown}`"
                ))
            }
        }
    }
}

impl Runner for WorkerRunner {
    fn worker(&mut self) -> Option<&mut WorkerRunner> {
        Some(self)
    }

    fn run(&mut self, items: &[Item]) -> Vec<Result<(), String>> {
        // Every item queued, then the results in order: an item that cannot be sent
        // fails on its own.
        let sent: Vec<Result<(), String>> = items.iter().map(|it| self.send(it)).collect();
        sent.into_iter()
            .map(|s| s.and_then(|()| self.recv()))
            .collect()
    }
}

impl Drop for WorkerRunner {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            let _ = p.finish(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn items(dir: &Path, n: usize) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let ins: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("in{i}"))).collect();
        let outs: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("out{i}"))).collect();
        for (i, p) in ins.iter().enumerate() {
            std::fs::write(p, format!("item {i}")).unwrap();
        }
        (ins, outs)
    }

    fn run(
        cmd: &str,
        ins: &[PathBuf],
        outs: &[PathBuf],
        r: &mut WorkerRunner,
    ) -> Vec<Result<(), String>> {
        let its: Vec<Item> = ins
            .iter()
            .zip(outs)
            .map(|(i, o)| Item {
                input: i,
                output: o,
                sidecars: &[],
            })
            .collect();
        let _ = cmd;
        r.run(&its)
    }

    const COPY: &str =
        r#"while IFS="$(printf '\t')" read -r i o; do cat "$i" > "$o" && echo ok; done"#;

    #[test]
    fn one_process_serves_many_items() {
        let dir = tempfile::tempdir().unwrap();
        let (ins, outs) = items(dir.path(), 40);
        let cmd = format!("echo started >> {}/starts; {COPY}", dir.path().display());
        let mut r = WorkerRunner::new(&cmd, None);
        for chunk in 0..4 {
            let s = chunk * 10..chunk * 10 + 10;
            assert!(run(&cmd, &ins[s.clone()], &outs[s], &mut r)
                .iter()
                .all(Result::is_ok));
        }
        drop(r);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("starts")).unwrap(),
            "started\n"
        );
        assert_eq!(std::fs::read_to_string(&outs[39]).unwrap(), "item 39");
    }

    #[test]
    fn errors_crashes_and_protocol_breaks_fail_only_the_items_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let (ins, outs) = items(dir.path(), 6);
        // Item 1 is refused, item 3 crashes the worker (after reading ahead), item 5
        // gets a reply that is not in the protocol.
        let cmd = r#"while IFS="$(printf '\t')" read -r i o; do
            case "$i" in
              *in1) echo "error cannot decode";;
              *in3) echo "boom: out of memory" >&2; exit 7;;
              *in5) echo "what?";;
              *) cat "$i" > "$o"; echo ok;;
            esac
          done"#;
        let mut r = WorkerRunner::new(cmd, None);
        let res = run(cmd, &ins[..3], &outs[..3], &mut r);
        assert_eq!(res, vec![Ok(()), Err("cannot decode".into()), Ok(())]);
        let res = run(cmd, &ins[3..5], &outs[3..5], &mut r);
        let crash = "the worker exited while this item was in flight (worker exit status 7: boom: out of memory)";
        assert_eq!(res, vec![Err(crash.into()), Err(crash.into())]);
        // Restarted for the next batch.
        let res = run(cmd, &ins[4..6], &outs[4..6], &mut r);
        assert_eq!(res[0], Ok(()));
        assert!(
            res[1].as_ref().unwrap_err().starts_with(
                "worker protocol error: expected `ok` or `error <message>`, got `what?`"
            ),
            "{res:?}"
        );
        let res = run(cmd, &ins[..1], &outs[..1], &mut r);
        assert_eq!(res, vec![Ok(())], "restarted after the protocol error");
        // A worker that cannot start at all.
        let mut bad = WorkerRunner::new("exit 3", None);
        let res = run("", &ins[..2], &outs[..2], &mut bad);
        assert!(
            res.iter()
                .all(|r| r.as_ref().unwrap_err().contains("exit status 3")),
            "{res:?}"
        );
        // A path with a tab is not sent.
        let tab = dir.path().join("a\tb");
        let res = r.run(&[Item {
            input: &tab,
            output: &outs[0],
            sidecars: &[],
        }]);
        assert!(
            res[0]
                .as_ref()
                .unwrap_err()
                .contains("contains a tab or newline"),
            "{res:?}"
        );
    }
}
