//! Knob values at a frame: curves, expressions, and what influences them.
//!
//! The render-cache manifest records, for every upstream node and frame, what each knob
//! is worth at that frame. The rule is to never miss an invalidation, then to avoid
//! false ones; so an animated knob's entry must change exactly when an edit can move
//! its value at the frame (or within the motion-blur window around it).
//!
//! * [`value`]: [`KnobValue::parse`] structures a knob's text into plain text, curves and
//!   expressions, and [`KnobValue::at`] gives the canonical [`FrameValue`] at a frame.
//! * [`curve`]: keys, interpolation and extrapolation, evaluation, influence sets.
//! * [`expr`]: references, time dependence and unresolvable parts of expressions and
//!   Tcl strings.
//! * [`fcurve`], [`driver`]: Blender's F-curves and drivers, as a JSON graph exported
//!   from Blender writes them.
//!
//! How the manifest layer uses it:
//!
//! ```
//! use smartcache::eval::KnobValue;
//!
//! let size = KnobValue::parse("{{curve L x1 0 x11 10}}");
//! assert!(size.is_animated() && !size.is_static());
//! // The value at frame 6 and the keys that can move it: the entry to hash.
//! assert_eq!(
//!     String::from_utf8(size.at(6.0).canonical_bytes()).unwrap(),
//!     r#"{"value":["{",{"curve":{"keys":["Lk x1 0","Lk x11 10"],"value":"5"}},"}"]}"#
//! );
//!
//! let linked = KnobValue::parse("{{parent.amount*2}}");
//! // Not animated itself, but the referenced knob's value must be attached per frame.
//! assert!(linked.is_locally_static() && !linked.is_static());
//! assert_eq!(linked.references()[0].path(), "parent.amount");
//! ```

pub mod curve;
pub mod driver;
pub mod expr;
pub mod fcurve;
pub mod interp;
mod num;
pub mod value;

pub use curve::{Curve, Extrap, Interp, Key, BLUR_HALF_WINDOW};
pub use expr::{Expression, Reference};
pub use num::{format_f64, parse_decimal};
pub use value::{ExprKind, FramePart, FrameValue, KnobValue, Part, Parts};
