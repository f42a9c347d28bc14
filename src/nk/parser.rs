//! The stack machine: top-level commands of a script turned into a [`Script`].
//!
//! Nuke saves a graph as a program for a stack of nodes: every node command pops its
//! inputs (top of the stack first, as input 0) and pushes itself; `set`/`push` name and
//! re-push stack items; groups open a scope that `end_group` closes. See NK-FORMAT.md and
//! docs/nk-reader.md for the rules and where this reader is lenient.

use super::error::{ErrorKind, ParseError};
use super::lexer::{LexError, Lexer, Word, WordKind};
use super::text::{decode, Locator, Source};
use crate::graph::{Knob, Node, NodeId, Script, Span};
use compact_str::CompactString;
use std::collections::HashMap;
use std::path::Path;

/// Deepest group nesting accepted. Full dotted names grow with depth, so the names of a
/// pathological 10,000-deep nest alone would take hundreds of megabytes; real scripts
/// stay under ten levels.
pub const MAX_GROUP_DEPTH: usize = 1000;

/// Most inputs a node may pop. Guards against `inputs 4000000000` allocating slots.
pub const MAX_INPUTS: usize = 65_536;

/// One stack item: a node, or an empty input (`push 0`, popping an empty stack).
type Item = Option<NodeId>;

/// An open group: its node, and the stack depth its children start at. Children never
/// pop below it (they see an empty input instead), and `end_group` drops whatever they
/// left above it.
struct Scope {
    group: NodeId,
    floor: usize,
    line: u32,
}

/// The reader's state while it runs through a file.
pub struct Parser<'a> {
    src: &'a [u8],
    text: Source<'a>,
    path: Option<&'a Path>,
    loc: Locator<'a>,
    script: Script,
    stack: Vec<Item>,
    /// Variables set by `set VAR [stack N]`, keyed by their name's bytes in `src`.
    vars: HashMap<&'a [u8], Item>,
    scopes: Vec<Scope>,
    /// Word buffer reused by every node body (one allocation per file, not per node).
    scratch: Vec<Word>,
    /// Clones made so far of each source node (names unnamed clones).
    clones: HashMap<NodeId, usize>,
    /// Next number to try when naming an unnamed node, per group and class.
    auto_names: HashMap<(Option<NodeId>, String), usize>,
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a [u8], path: Option<&'a Path>) -> Self {
        let script = Script {
            path: path.map(Path::to_path_buf),
            ..Script::default()
        };
        Self {
            src,
            text: Source::new(src),
            path,
            loc: Locator::new(src),
            script,
            stack: Vec::new(),
            vars: HashMap::new(),
            scopes: Vec::new(),
            scratch: Vec::new(),
            clones: HashMap::new(),
            auto_names: HashMap::new(),
        }
    }

    fn err(&mut self, offset: usize, kind: ErrorKind) -> ParseError {
        let (line, col) = self.loc.locate(offset);
        ParseError {
            path: self.path.map(Path::to_path_buf),
            line,
            col,
            kind,
        }
    }

    fn lex_err(&mut self, e: LexError) -> ParseError {
        self.err(e.offset, e.kind)
    }

    /// Run every top-level command and return the script.
    pub fn run(mut self) -> Result<Script, ParseError> {
        let src = self.src;
        let mut lexer = Lexer::new(src, 0, src.len());
        let mut words: Vec<Word> = Vec::new();
        loop {
            match lexer.next_command(&mut words) {
                Ok(true) => self.command(&words)?,
                Ok(false) => break,
                Err(e) => return Err(self.lex_err(e)),
            }
        }
        if let Some(scope) = self.scopes.last() {
            let group = self.script.graph.node(scope.group).name.to_string();
            let line = scope.line;
            return Err(self.err(src.len(), ErrorKind::UnclosedGroup { group, line }));
        }
        Ok(self.script)
    }

    fn command(&mut self, words: &[Word]) -> Result<(), ParseError> {
        let src = self.src;
        let head = words[0];
        if head.kind != WordKind::Bare {
            let text = decode(head.raw(src));
            return Err(self.err(head.start, ErrorKind::UnknownCommand(text)));
        }
        let args = &words[1..];
        match head.raw(src) {
            b"set" => self.cmd_set(head, args),
            b"push" => self.cmd_push(head, args),
            b"pop" => {
                self.no_args("pop", args)?;
                self.pop_required("pop", head, 1)?;
                Ok(())
            }
            b"dup" => {
                self.no_args("dup", args)?;
                let top = self.pop_required("dup", head, 1)?[0];
                self.stack.extend([top, top]);
                Ok(())
            }
            b"exch" => {
                self.no_args("exch", args)?;
                let v = self.pop_required("exch", head, 2)?;
                self.stack.extend([v[0], v[1]]);
                Ok(())
            }
            b"index" => self.cmd_index(head, args),
            b"roll" => self.cmd_roll(head, args),
            b"end_group" => {
                self.no_args("end_group", args)?;
                let Some(scope) = self.scopes.pop() else {
                    return Err(self.err(head.start, ErrorKind::EndGroupWithoutGroup));
                };
                self.stack.truncate(scope.floor);
                Ok(())
            }
            b"version" => {
                if let (Some(first), Some(last)) = (args.first(), args.last()) {
                    self.script.version = Some(decode(&src[first.start..last.end]));
                }
                Ok(())
            }
            // Layout and layer declarations: metadata that does not touch the graph.
            b"define_window_layout_xml" | b"add_layer" => Ok(()),
            b"clone" => self.cmd_clone(words),
            b"Root" => {
                let body = self.body_of(words)?;
                let parsed = self.body(body)?;
                self.script.root.extend(parsed.knobs);
                Ok(())
            }
            b"}" => Err(self.err(head.start, ErrorKind::UnexpectedCloseBrace)),
            _ => {
                let body = self.body_of(words)?;
                self.node(words, body)
            }
        }
    }

    /// The braced body of a `Class { … }` command, or an error for any other shape.
    fn body_of(&mut self, words: &[Word]) -> Result<Word, ParseError> {
        match words {
            [_, body] if body.kind == WordKind::Braced => Ok(*body),
            _ => {
                let text = decode(words[0].raw(self.src));
                Err(self.err(words[0].start, ErrorKind::UnknownCommand(text)))
            }
        }
    }

    /// Stack commands that take no argument refuse one rather than ignore it.
    fn no_args(&mut self, cmd: &'static str, args: &[Word]) -> Result<(), ParseError> {
        if let Some(a) = args.first() {
            let arg = decode(a.raw(self.src));
            return Err(self.err(
                a.start,
                ErrorKind::BadArgument {
                    command: cmd,
                    arg,
                    expected: "no argument",
                },
            ));
        }
        Ok(())
    }

    /// Pop `n` items for a stack command that needs them to exist (unlike a node's
    /// inputs, which read an empty stack as empty inputs). Returns them top first.
    fn pop_required(
        &mut self,
        cmd: &'static str,
        head: Word,
        n: usize,
    ) -> Result<Vec<Item>, ParseError> {
        let avail = self.stack.len() - self.floor();
        if avail < n {
            return Err(self.err(
                head.start,
                ErrorKind::StackUnderflow {
                    command: cmd,
                    needed: n,
                    found: avail,
                },
            ));
        }
        let at = self.stack.len() - n;
        let mut v = self.stack.split_off(at);
        v.reverse();
        Ok(v)
    }

    /// The lowest stack index the current scope may touch.
    fn floor(&self) -> usize {
        self.scopes.last().map_or(0, |s| s.floor)
    }

    /// A count argument (`index N`, `roll N M`, `[stack N]`).
    fn count_arg(
        &mut self,
        cmd: &'static str,
        w: Option<&Word>,
        at: usize,
    ) -> Result<usize, ParseError> {
        let Some(w) = w else {
            return Err(self.err(
                at,
                ErrorKind::BadArgument {
                    command: cmd,
                    arg: String::new(),
                    expected: "a count",
                },
            ));
        };
        let raw = w.inner(self.src);
        match std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
        {
            Some(n) => Ok(n),
            None => {
                let arg = decode(raw);
                Err(self.err(
                    w.start,
                    ErrorKind::BadArgument {
                        command: cmd,
                        arg,
                        expected: "a non-negative integer",
                    },
                ))
            }
        }
    }

    /// `set VAR [stack N]`: remember the item N below the top (no pop). Reading past
    /// the bottom gives an empty input, as for `set cut_paste_input [stack 0]` at the
    /// start of a clipboard file.
    fn cmd_set(&mut self, head: Word, args: &[Word]) -> Result<(), ParseError> {
        let src = self.src;
        let shape = "`set VAR [stack N]`";
        let [var, value] = args else {
            return Err(self.err(head.start, ErrorKind::BadCommand("set".into(), shape)));
        };
        let v = value.raw(src);
        let inner = (value.kind == WordKind::Bare && v.starts_with(b"[") && v.ends_with(b"]"))
            .then(|| &v[1..v.len() - 1]);
        let Some(n) = inner
            .and_then(|i| i.trim_ascii().strip_prefix(b"stack"))
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.trim().parse::<usize>().ok())
        else {
            return Err(self.err(value.start, ErrorKind::BadCommand("set".into(), shape)));
        };
        let item = self
            .stack
            .len()
            .checked_sub(n)
            .and_then(|i| i.checked_sub(1))
            .filter(|&i| i >= self.floor())
            .and_then(|i| self.stack[i]);
        self.vars.insert(var.inner(src), item);
        Ok(())
    }

    /// `push $VAR` or `push 0` (an empty input).
    fn cmd_push(&mut self, head: Word, args: &[Word]) -> Result<(), ParseError> {
        let src = self.src;
        let [arg] = args else {
            return Err(self.err(
                head.start,
                ErrorKind::BadCommand("push".into(), "`push $VAR` or `push 0`"),
            ));
        };
        let raw = arg.inner(src);
        if raw == b"0" {
            self.stack.push(None);
            return Ok(());
        }
        let Some(name) = raw.strip_prefix(b"$") else {
            let text = decode(raw);
            return Err(self.err(
                arg.start,
                ErrorKind::BadArgument {
                    command: "push",
                    arg: text,
                    expected: "`$VAR` or `0`",
                },
            ));
        };
        match self.vars.get(name) {
            Some(&item) => self.stack.push(item),
            // Clipboard files push a variable the pasting session set; unset means
            // "nothing selected", an empty input.
            None if name == b"cut_paste_input" => self.stack.push(None),
            None => {
                let var = decode(name);
                return Err(self.err(arg.start, ErrorKind::UnknownVariable(var)));
            }
        }
        Ok(())
    }

    /// `index N`: push a copy of the item N below the top.
    fn cmd_index(&mut self, head: Word, args: &[Word]) -> Result<(), ParseError> {
        if args.len() != 1 {
            return Err(self.err(
                head.start,
                ErrorKind::BadCommand("index".into(), "one count: `index N`"),
            ));
        }
        let n = self.count_arg("index", args.first(), head.start)?;
        let avail = self.stack.len() - self.floor();
        if n >= avail {
            return Err(self.err(
                head.start,
                ErrorKind::StackUnderflow {
                    command: "index",
                    needed: n.saturating_add(1),
                    found: avail,
                },
            ));
        }
        let item = self.stack[self.stack.len() - 1 - n];
        self.stack.push(item);
        Ok(())
    }

    /// `roll N M`: rotate the top N items by M positions toward the top (PostScript
    /// `roll`): with `a b c` (c on top), `roll 3 1` gives `c a b`.
    fn cmd_roll(&mut self, head: Word, args: &[Word]) -> Result<(), ParseError> {
        if args.len() != 2 {
            return Err(self.err(
                head.start,
                ErrorKind::BadCommand("roll".into(), "two counts: `roll N M`"),
            ));
        }
        let n = self.count_arg("roll", args.first(), head.start)?;
        let avail = self.stack.len() - self.floor();
        let m_word = args[1];
        let m_raw = m_word.inner(self.src);
        let Some(m) = std::str::from_utf8(m_raw)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
        else {
            let arg = decode(m_raw);
            return Err(self.err(
                m_word.start,
                ErrorKind::BadArgument {
                    command: "roll",
                    arg,
                    expected: "an integer",
                },
            ));
        };
        if n > avail {
            return Err(self.err(
                head.start,
                ErrorKind::StackUnderflow {
                    command: "roll",
                    needed: n,
                    found: avail,
                },
            ));
        }
        if n > 0 {
            let at = self.stack.len() - n;
            let shift = m.rem_euclid(n as i64) as usize;
            self.stack[at..].rotate_right(shift);
        }
        Ok(())
    }

    /// Read a `{ … }` body as knob lines: `name value…`, the value being the exact
    /// source text from its first word to its last.
    fn body(&mut self, body: Word) -> Result<Body, ParseError> {
        let src = self.src;
        let mut lexer = Lexer::new(src, body.start + 1, body.end - 1);
        let mut words = std::mem::take(&mut self.scratch);
        // Most nodes have a handful of knobs: start with room for them rather than
        // growing through 1, 2, 4.
        let mut out = Body {
            knobs: Vec::with_capacity(8),
            ..Body::default()
        };
        loop {
            match lexer.next_command(&mut words) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(self.lex_err(e)),
            }
            let key = words[0];
            let name = word_text(&self.text, key);
            let (Some(first), Some(last)) = (words.get(1), words.last()) else {
                // A bare word in a body (seen in shipped toolsets): Nuke loads it as a
                // knob with no value, so it is kept, hashed, and reported.
                let w = self.err(key.start, ErrorKind::KnobWithoutValue(name.to_string()));
                self.script
                    .warnings
                    .push(format!("{w}; kept as a knob with an empty value"));
                out.knobs.push(Knob::new(&name, ""));
                continue;
            };
            match name.as_str() {
                "name" if words.len() == 2 => out.name = Some(word_text(&self.text, *first).into()),
                "name" => out.name = Some(self.text.text(first.start, last.end).into()),
                "inputs" => out.inputs_at = Some(first.start),
                _ => {}
            }
            out.knobs
                .push(Knob::new(&name, &self.text.str(first.start, last.end)));
        }
        self.scratch = words;
        // The graph keeps every node's knobs: not the spare room (a large script has
        // hundreds of thousands of knobs).
        out.knobs.shrink_to_fit();
        Ok(out)
    }

    /// How many inputs a node pops: its `inputs` knob (`N` or `N+M`), default 1.
    fn input_count(&mut self, body: &Body) -> Result<usize, ParseError> {
        let (Some(v), Some(at)) = (
            body.knobs.iter().rev().find(|k| k.name() == "inputs"),
            body.inputs_at,
        ) else {
            return Ok(1);
        };
        match parse_inputs(v.value()) {
            Some(n) => Ok(n),
            None => {
                let value = v.value().to_string();
                Err(self.err(at, ErrorKind::BadInputs(value)))
            }
        }
    }

    /// Pop one input: the top of the stack, or an empty input when the current scope
    /// has nothing left (the first node of a gizmo, toolset or group).
    fn pop_input(&mut self) -> Item {
        if self.stack.len() > self.floor() {
            self.stack.pop().flatten()
        } else {
            None
        }
    }

    /// A `Class { knobs }` command.
    fn node(&mut self, words: &[Word], body: Word) -> Result<(), ParseError> {
        let head = words[0];
        let class = self.text.text(head.start, head.end);
        let parsed = self.body(body)?;
        let n_inputs = self.input_count(&parsed)?;
        let short = match parsed.name {
            Some(name) => name,
            None => self.auto_name(&class),
        };
        let id = self.add(class, short, parsed.knobs, n_inputs, head.start, body.end);
        if self.script.graph.node(id).is_group() {
            self.open_group(id, head.start)?;
        }
        Ok(())
    }

    /// `clone $VAR { knobs }`: a node sharing the class and knobs of the node in VAR,
    /// with the block's own knobs layered on top.
    fn cmd_clone(&mut self, words: &[Word]) -> Result<(), ParseError> {
        let src = self.src;
        let head = words[0];
        let shape = "`clone $VAR { knobs }`";
        let [_, var, body] = words else {
            return Err(self.err(head.start, ErrorKind::BadCommand("clone".into(), shape)));
        };
        let Some(name) = var
            .inner(src)
            .strip_prefix(b"$")
            .filter(|_| body.kind == WordKind::Braced)
        else {
            return Err(self.err(var.start, ErrorKind::BadCommand("clone".into(), shape)));
        };
        let source = match self.vars.get(name) {
            Some(Some(id)) => *id,
            Some(None) => {
                let v = decode(name);
                return Err(self.err(var.start, ErrorKind::EmptyCloneSource(v)));
            }
            None => {
                let v = decode(name);
                return Err(self.err(var.start, ErrorKind::UnknownCloneSource(v)));
            }
        };
        let own = self.body(*body)?;
        let src_node = self.script.graph.node(source);
        let class = src_node.class.clone();
        let source_short = src_node.short_name().to_owned();
        // The block's own `inputs` decides what the clone pops (it is wired on its
        // own); without one, the clone pops what its source did. The source's `inputs`
        // was validated when the source was read.
        let inherited = src_node.knob("inputs").and_then(parse_inputs).unwrap_or(1);
        let mut knobs = src_node.knobs.clone();
        let n_inputs = if own.inputs_at.is_some() {
            self.input_count(&own)?
        } else {
            inherited
        };
        let named = own.name.is_some();
        let short = match own.name {
            Some(name) => name,
            None => {
                let k = self.clones.entry(source).or_insert(0);
                *k += 1;
                format!("{source_short}_clone{k}")
            }
        };
        layer(&mut knobs, own.knobs);
        if !named {
            // The inherited `name` knob would name the source: make it name the clone.
            if let Some(k) = knobs.iter_mut().rev().find(|k| k.name() == "name") {
                k.set_value(&short);
            }
        }
        let id = self.add(class, short, knobs, n_inputs, head.start, body.end);
        self.script.graph.node_mut(id).clone_of = Some(source);
        Ok(())
    }

    /// Create a node in the current group: pop its inputs, wire them, push it.
    fn add(
        &mut self,
        class: CompactString,
        short: String,
        knobs: Vec<Knob>,
        n_inputs: usize,
        start: usize,
        end: usize,
    ) -> NodeId {
        let parent = self.scopes.last().map(|s| s.group);
        let name = match parent {
            Some(p) => format!("{}.{}", self.script.graph.node(p).name, short),
            None => short,
        };
        let (line, col) = self.loc.locate(start);
        let mut node = Node::new(name, class);
        node.knobs = knobs;
        node.parent = parent;
        node.input_count = n_inputs;
        node.span = Span {
            line,
            col,
            start,
            end,
        };
        let id = self.script.graph.add_node(node);
        // The top of the stack is input 0. Wiring as we pop keeps this allocation-free.
        for slot in 0..n_inputs {
            if let Some(input) = self.pop_input() {
                self.script.graph.connect(input, id, slot);
            }
        }
        self.stack.push(Some(id));
        id
    }

    fn open_group(&mut self, id: NodeId, at: usize) -> Result<(), ParseError> {
        if self.scopes.len() >= MAX_GROUP_DEPTH {
            return Err(self.err(at, ErrorKind::GroupsTooDeep(MAX_GROUP_DEPTH)));
        }
        let (line, _) = self.loc.locate(at);
        self.scopes.push(Scope {
            group: id,
            floor: self.stack.len(),
            line,
        });
        Ok(())
    }

    /// A name for a node without a `name` knob, as Nuke gives one: the class followed
    /// by the first number not yet used in the group.
    fn auto_name(&mut self, class: &str) -> String {
        let parent = self.scopes.last().map(|s| s.group);
        let prefix = parent.map(|p| self.script.graph.node(p).name.clone());
        let next = self
            .auto_names
            .entry((parent, class.to_owned()))
            .or_insert(1);
        loop {
            let short = format!("{class}{next}");
            *next += 1;
            let full = match &prefix {
                Some(p) => format!("{p}.{short}"),
                None => short.clone(),
            };
            if self.script.graph.find(&full).is_none() {
                return short;
            }
        }
    }
}

/// An `inputs` value: `N` or `N+M` (main plus mask inputs), at most [`MAX_INPUTS`].
fn parse_inputs(value: &str) -> Option<usize> {
    value
        .split('+')
        .map(|p| p.trim().parse::<usize>().ok())
        .try_fold(0usize, |acc, p| p.and_then(|p| acc.checked_add(p)))
        .filter(|&n| n <= MAX_INPUTS)
}

/// The text a single word stands for (names, keys): a braced word's content
/// verbatim, a quoted or bare word's content with backslash escapes applied.
fn word_text(src: &Source, w: Word) -> CompactString {
    match w.kind {
        WordKind::Braced => src.text(w.start + 1, w.end - 1),
        WordKind::Quoted => src.unescaped(w.start + 1, w.end - 1),
        WordKind::Bare => src.unescaped(w.start, w.end),
    }
}

/// A node body as read: its knobs, and what the stack machine needs from them.
#[derive(Default)]
struct Body {
    knobs: Vec<Knob>,
    /// The last `name` knob's text, unquoted.
    name: Option<String>,
    /// Where the last `inputs` knob's value starts (for error positions).
    inputs_at: Option<usize>,
}

/// Layer `own` knobs over `base`: a knob `base` already has takes the new value in
/// place; others are appended. `addUserKnob` declarations are always appended.
fn layer(base: &mut Vec<Knob>, own: Vec<Knob>) {
    for k in own {
        let existing = (k.name() != "addUserKnob")
            .then(|| base.iter().rposition(|b| b.name() == k.name()))
            .flatten();
        match existing {
            Some(i) => base[i].set_value(k.value()),
            None => base.push(k),
        }
    }
}
