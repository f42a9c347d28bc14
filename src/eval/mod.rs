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

pub mod curve;
pub mod expr;
mod num;
pub mod value;

pub use curve::{Curve, Extrap, Interp, Key, BLUR_HALF_WINDOW};
pub use expr::{Expression, Reference};
pub use value::{ExprKind, FramePart, FrameValue, KnobValue, Part};
