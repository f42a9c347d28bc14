//! The typed semantics of one node class, as the manifest uses them.
//!
//! A [`Semantics`] is what the profile says of a class once every line that matches it
//! has been applied (see [`super::Profile::semantics`]). It is also what a stored setup
//! object keeps for each class it holds, so that a frame recorded under one profile is
//! explained with the semantics it was hashed with.

use serde::{Deserialize, Serialize};

/// A knob a role reads: the names to try, in order (the first one the node sets is
/// used), and the values that apply when the node sets none (knobs at their default are
/// not saved). Several defaults mean "one of these, depending on the host's version":
/// the manifest covers each. No default means "unknown": the manifest is conservative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnobRef {
    /// The knob names to try, in order.
    pub names: Vec<String>,
    /// The values when the node sets none (empty: unknown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<String>,
}

impl KnobRef {
    /// A knob with one name and no default.
    pub fn named(name: &str) -> KnobRef {
        KnobRef {
            names: vec![name.to_string()],
            defaults: Vec::new(),
        }
    }

    /// The `knob|alt:default|default2` form.
    pub fn spec(&self) -> String {
        let mut s = self.names.join("|");
        if !self.defaults.is_empty() {
            s.push(':');
            s.push_str(&self.defaults.join("|"));
        }
        s
    }
}

/// Which inputs a node reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Inputs {
    /// Every input.
    #[default]
    All,
    /// The one input a selector knob names (Switch): `which` clamped to the inputs.
    Select {
        /// The selector knob.
        which: KnobRef,
    },
    /// The inputs a fractional selector blends (Dissolve): floor and ceil of `which`.
    Blend {
        /// The blend knob.
        which: KnobRef,
    },
}

/// A shutter: how long it stays open and where it opens relative to the frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutter {
    /// How long the shutter stays open, in frames.
    pub shutter: Option<KnobRef>,
    /// Where it opens relative to the frame (`start`, `centred`, `end`, `custom`).
    pub offset: Option<KnobRef>,
    /// The opening offset when `offset` is `custom`.
    pub custom: Option<KnobRef>,
}

/// The mapping of a clip's frames (Read, TimeClip): `first`-`last` range, a frame mode
/// (`expression`, `start at`, `offset`) with its `frame` value, and what happens before
/// and after the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clip {
    /// The clip's first frame.
    pub first: Option<KnobRef>,
    /// The clip's last frame.
    pub last: Option<KnobRef>,
    /// The frame mode (`expression`, `start at`, `offset`).
    pub mode: Option<KnobRef>,
    /// The mode's frame value.
    pub frame: Option<KnobRef>,
    /// What happens before the range (`hold`, `loop`, `bounce`, `black`).
    pub before: Option<KnobRef>,
    /// What happens after the range.
    pub after: Option<KnobRef>,
    /// What a missing file becomes (`nearest frame`: the nearest existing one).
    #[serde(default)]
    pub on_error: Option<KnobRef>,
}

impl Clip {
    /// The knobs the mapping reads.
    pub fn knobs(&self) -> impl Iterator<Item = &KnobRef> {
        [
            &self.first,
            &self.last,
            &self.mode,
            &self.frame,
            &self.before,
            &self.after,
            &self.on_error,
        ]
        .into_iter()
        .flatten()
    }
}

/// Which frames of its inputs a node reads at frame f.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Time {
    /// Frame f.
    #[default]
    Local,
    /// `f - offset`; every frame when `reverse` is on (it depends on the input's range).
    Offset {
        /// The offset in frames.
        offset: Option<KnobRef>,
        /// Whether the input is played backwards.
        reverse: Option<KnobRef>,
    },
    /// The held frame: `frame`, or with `increment` N the latest N-th frame from it.
    Hold {
        /// The held frame.
        frame: Option<KnobRef>,
        /// Hold every N-th frame from `frame`.
        increment: Option<KnobRef>,
    },
    /// `count - 1` frames before f and f; with `use_range` on, `first` to `last`.
    Range {
        /// How many frames are read.
        count: Option<KnobRef>,
        /// The range's first frame (with `use_range`).
        first: Option<KnobRef>,
        /// The range's last frame (with `use_range`).
        last: Option<KnobRef>,
        /// Whether `first`-`last` is read instead of `count` frames.
        use_range: Option<KnobRef>,
    },
    /// `f - behind` to f.
    Behind {
        /// How many frames back.
        behind: Option<KnobRef>,
    },
    /// Every time in the shutter around f (TimeBlur), in `divisions` samples.
    Samples {
        /// How many samples.
        divisions: Option<KnobRef>,
        /// The shutter sampled.
        shutter: Shutter,
    },
    /// The whole frames around f (floor and ceil).
    Snap,
    /// A clip's frame mapping.
    Clip(Clip),
    /// A retime: `in_first + (f - out_first) * speed`, blended over `shutter`.
    Retime {
        /// The input range's first frame.
        in_first: Option<KnobRef>,
        /// The input range's last frame.
        in_last: Option<KnobRef>,
        /// The output range's first frame.
        out_first: Option<KnobRef>,
        /// The speed.
        speed: Option<KnobRef>,
        /// Whether the input is played backwards.
        reverse: Option<KnobRef>,
        /// What happens before the range.
        before: Option<KnobRef>,
        /// What happens after the range.
        after: Option<KnobRef>,
        /// The shutter blended over.
        shutter: Option<KnobRef>,
    },
    /// The frame a lookup curve gives at f, blended over `shutter`.
    Lookup {
        /// The lookup curve.
        lookup: Option<KnobRef>,
        /// The shutter blended over.
        shutter: Option<KnobRef>,
    },
    /// Every frame.
    All,
}

/// Motion blur: when `on` exceeds `above`, the node samples its knobs (and, with
/// `inputs`, its inputs) over the shutter window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MotionBlur {
    /// The knob that turns motion blur on.
    pub on: KnobRef,
    /// The value `on` must exceed (text, as written).
    pub above: String,
    /// The shutter window.
    pub shutter: Shutter,
    /// Whether the inputs are sampled over it too.
    pub inputs: bool,
}

/// What kind of file a knob names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A frame sequence of images.
    Image,
    /// The image sequence read in proxy mode.
    Proxy,
    /// Deep images.
    Deep,
    /// Geometry or a scene (Alembic, FBX, OBJ).
    Geometry,
    /// A LUT.
    Lut,
    /// A colour decision list (`.cc`, `.ccc`, `.cdl`).
    Cdl,
    /// An OCIO configuration.
    OcioConfig,
    /// A font.
    Font,
    /// A nested script (Precomp, LiveGroup).
    Script,
    /// A vector field.
    Vectorfield,
}

impl FileKind {
    /// Every kind, in the order of the profile documentation.
    pub const ALL: [FileKind; 10] = [
        FileKind::Image,
        FileKind::Proxy,
        FileKind::Deep,
        FileKind::Geometry,
        FileKind::Lut,
        FileKind::Cdl,
        FileKind::OcioConfig,
        FileKind::Font,
        FileKind::Script,
        FileKind::Vectorfield,
    ];

    /// The word a profile uses.
    pub fn word(self) -> &'static str {
        match self {
            FileKind::Image => "image",
            FileKind::Proxy => "proxy",
            FileKind::Deep => "deep",
            FileKind::Geometry => "geometry",
            FileKind::Lut => "lut",
            FileKind::Cdl => "cdl",
            FileKind::OcioConfig => "ocio-config",
            FileKind::Font => "font",
            FileKind::Script => "script",
            FileKind::Vectorfield => "vectorfield",
        }
    }

    /// Whether the files form a frame sequence (one file per frame).
    pub fn is_sequence(self) -> bool {
        matches!(
            self,
            FileKind::Image | FileKind::Proxy | FileKind::Deep | FileKind::Geometry
        )
    }
}

/// A knob that names a file, and what kind of file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileKnob {
    /// The knob.
    pub knob: String,
    /// What kind of file it names.
    pub kind: FileKind,
}

/// Which Root settings a class reads besides those every node reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RootReads {
    /// None besides those every node reads.
    #[default]
    None,
    /// These settings.
    Some(Vec<String>),
    /// Every Root setting.
    All,
}

impl RootReads {
    /// Whether the class reads Root setting `knob`.
    pub fn reads(&self, knob: &str) -> bool {
        match self {
            RootReads::None => false,
            RootReads::Some(k) => k.iter().any(|k| k == knob),
            RootReads::All => true,
        }
    }
}

/// What a node class does to a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Semantics {
    /// The profile names the class: it is the host's, not a plug-in or a gizmo.
    pub known: bool,
    /// The output is input 0 (wiring only).
    #[serde(default)]
    pub pass: bool,
    /// Which inputs it reads.
    #[serde(default)]
    pub inputs: Inputs,
    /// The knob that disables the node (`None`: it cannot be disabled).
    pub disable: Option<String>,
    /// The knob naming the input slot a disabled node passes through (`None`: input
    /// 0). A negative slot passes nothing; a value that is not a slot, every input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_input: Option<KnobRef>,
    /// Which frames of its inputs it reads.
    #[serde(default)]
    pub time: Time,
    /// Its motion blur, if it has one.
    #[serde(default)]
    pub blur: Option<MotionBlur>,
    /// Its own knobs are read at every frame.
    #[serde(default)]
    pub own_all: bool,
    /// Its output changes from frame to frame by itself.
    #[serde(default)]
    pub varying: bool,
    /// Knobs and upstream are sampled up to this many frames around the frame (text of
    /// a number, as written).
    #[serde(default)]
    pub pad: Option<String>,
    /// The knobs that name files.
    #[serde(default)]
    pub files: Vec<FileKnob>,
    /// The Root settings it reads besides those every node reads.
    #[serde(default)]
    pub reads_root: RootReads,
}

impl Default for Semantics {
    fn default() -> Self {
        Semantics {
            known: false,
            pass: false,
            inputs: Inputs::All,
            disable: Some("disable".to_string()),
            disable_input: None,
            time: Time::Local,
            blur: None,
            own_all: false,
            varying: false,
            pad: None,
            files: Vec::new(),
            reads_root: RootReads::None,
        }
    }
}

impl Semantics {
    /// The pad as a number of frames (0 when none).
    pub fn pad_frames(&self) -> f64 {
        self.pad
            .as_deref()
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| p.is_finite() && *p > 0.0)
            .unwrap_or(0.0)
    }

    /// The kind of file knob `knob` names, if the class reads files through it.
    pub fn file_kind(&self, knob: &str) -> Option<FileKind> {
        self.files.iter().find(|f| f.knob == knob).map(|f| f.kind)
    }
}

/// What the profile says of the Root settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RootSemantics {
    /// Settings recorded only for the nodes that read them.
    pub on_demand: Vec<String>,
    /// Root knobs that name files every frame reads (a custom OCIO config).
    pub files: Vec<FileKnob>,
    /// The environment variable naming the OCIO config when no Root knob names one.
    pub ocio_env: Option<String>,
    /// The Root knob and value that say colour management is OCIO (`$OCIO` is read only
    /// then).
    pub ocio_when: Option<(String, String)>,
}
