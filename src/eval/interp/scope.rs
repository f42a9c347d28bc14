//! What an expression may read while it is evaluated.
//!
//! Every read goes through [`Scope`], so the caller decides (and can record, with
//! [`Recording`], or refuse, with [`NoScope`]) exactly what a value depends on. A
//! `None` answer makes the evaluation stop with [`Why::Unavailable`](super::Why): the
//! scope never has to guess either.

/// The graph and render context an expression is evaluated in.
///
/// Paths are passed exactly as the text writes them (`Blur1.size`, `size`, `parent.gain`,
/// `root.first_frame`, `Transform1.translate.x`, `input.width`, `this.which`,
/// `parent.ControlsA.3` after a substitution built it): resolving them (the search
/// upwards Nuke does, [`Reference::candidates`](crate::eval::Reference::candidates))
/// is the caller's job.
pub trait Scope {
    /// The numeric value of the knob named by `path` at time `frame`, as Nuke's
    /// expression engine reads it; `None` when unknown (or when the knob does not
    /// exist: Nuke rejects such an expression).
    ///
    /// The value is taken as exact: comparisons, roundings and conditions are decided
    /// on it. A value that may differ from Nuke's in its last bits (a smooth curve
    /// evaluated by other code than Nuke's) must be `None`.
    fn number(&mut self, path: &str, frame: f64) -> Option<f64>;

    /// The text Tcl's `[value PATH]` gives at `frame`; `None` when unknown.
    fn text(&mut self, path: &str, frame: f64) -> Option<String>;

    /// An environment variable, for `[getenv NAME]` and `$env(NAME)`; `None` when unset
    /// or unknown. Both make the evaluation Unknown: Tcl fails on an unset
    /// `$env(NAME)`, and what Nuke's `getenv` gives for an unset variable is not
    /// documented.
    fn env(&mut self, name: &str) -> Option<String>;

    /// A Tcl global variable such as `$gui` (`"0"` when rendering) or `$frame`; `None`
    /// when unknown.
    fn var(&mut self, name: &str) -> Option<String>;

    /// `[topnode]` (`node` is `None`: the node holding the text) or `[topnode NODE]`:
    /// the name of the node at the top of the input-0 chain; `None` when unknown.
    fn topnode(&mut self, node: Option<&str>) -> Option<String>;

    /// `[knob PATH]` with one argument: the knob's whole state as Nuke saves it (for
    /// an animated knob, its curve text), which is not always what `[value PATH]`
    /// gives. `None` (the default) makes `[knob …]` Unknown.
    fn knob_script(&mut self, path: &str) -> Option<String> {
        let _ = path;
        None
    }

    /// `[exists PATH]`: whether the node or knob exists. `None` (the default) makes
    /// `[exists …]` Unknown.
    fn exists(&mut self, path: &str) -> Option<bool> {
        let _ = path;
        None
    }

    /// Whether a bare word of the expression language (`frame`, `t`, `x`, `pi`, `PI`,
    /// `true`, `false`) must not be read as the built-in because a field of the current
    /// knob, a knob or a node in reach has the same name. Nuke documents these words as
    /// built-ins (and a Read node's `frame` knob holding `frame+10` shows `frame` wins
    /// over a knob of that name), so the default is `false`; a caller that prefers to
    /// refuse such texts returns `true`, which makes the word Unknown.
    fn shadows(&mut self, word: &str) -> bool {
        let _ = word;
        false
    }
}

/// A scope that answers nothing: evaluating with it tells whether a text needs the
/// scope at all (an [`Unknown`](super::Unknown) with [`Why::Unavailable`](super::Why)
/// means "supported so far, but it reads something").
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScope;

impl Scope for NoScope {
    fn number(&mut self, _: &str, _: f64) -> Option<f64> {
        None
    }
    fn text(&mut self, _: &str, _: f64) -> Option<String> {
        None
    }
    fn env(&mut self, _: &str) -> Option<String> {
        None
    }
    fn var(&mut self, _: &str) -> Option<String> {
        None
    }
    fn topnode(&mut self, _: Option<&str>) -> Option<String> {
        None
    }
}

/// One read an evaluation made through a scope.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// A knob's value as a number.
    Number {
        /// The knob, as written.
        path: String,
        /// The frame it was read at.
        frame: f64,
    },
    /// A knob's value as text.
    Text {
        /// The knob, as written.
        path: String,
        /// The frame it was read at.
        frame: f64,
    },
    /// A knob's script (its text, not its value).
    KnobScript {
        /// The knob, as written.
        path: String,
    },
    /// Whether a node or knob exists.
    Exists {
        /// The node or knob, as written.
        path: String,
    },
    /// An environment variable.
    Env {
        /// Its name.
        name: String,
    },
    /// A Tcl variable.
    Var {
        /// Its name.
        name: String,
    },
    /// The node at the top of an input-0 chain.
    Topnode {
        /// The node asked about (`None`: the node itself).
        node: Option<String>,
    },
}

/// Wraps a scope and records every read, in order, whatever the answer: what a value
/// depends on, for the manifest to attach.
pub struct Recording<'a> {
    inner: &'a mut dyn Scope,
    /// Every read so far, in order.
    pub reads: Vec<Read>,
}

impl<'a> Recording<'a> {
    /// Record the reads made through `inner`.
    pub fn new(inner: &'a mut dyn Scope) -> Recording<'a> {
        Recording {
            inner,
            reads: Vec::new(),
        }
    }
}

impl Scope for Recording<'_> {
    fn number(&mut self, path: &str, frame: f64) -> Option<f64> {
        self.reads.push(Read::Number {
            path: path.to_owned(),
            frame,
        });
        self.inner.number(path, frame)
    }
    fn text(&mut self, path: &str, frame: f64) -> Option<String> {
        self.reads.push(Read::Text {
            path: path.to_owned(),
            frame,
        });
        self.inner.text(path, frame)
    }
    fn env(&mut self, name: &str) -> Option<String> {
        self.reads.push(Read::Env {
            name: name.to_owned(),
        });
        self.inner.env(name)
    }
    fn var(&mut self, name: &str) -> Option<String> {
        self.reads.push(Read::Var {
            name: name.to_owned(),
        });
        self.inner.var(name)
    }
    fn topnode(&mut self, node: Option<&str>) -> Option<String> {
        self.reads.push(Read::Topnode {
            node: node.map(str::to_owned),
        });
        self.inner.topnode(node)
    }
    fn knob_script(&mut self, path: &str) -> Option<String> {
        self.reads.push(Read::KnobScript {
            path: path.to_owned(),
        });
        self.inner.knob_script(path)
    }
    fn exists(&mut self, path: &str) -> Option<bool> {
        self.reads.push(Read::Exists {
            path: path.to_owned(),
        });
        self.inner.exists(path)
    }
    fn shadows(&mut self, word: &str) -> bool {
        self.inner.shadows(word)
    }
}
