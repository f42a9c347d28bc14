//! How node classes use time: which frames of their inputs a frame depends on.
//!
//! Rule 1 ("never miss an invalidation") decides the defaults: a class that is known
//! to read other frames but is not modelled exactly reads *all* frames; a class whose
//! output varies with the frame even when no knob is animated (grain, particles) puts
//! the frame into its record. Unknown classes (plug-ins) are assumed frame-local, as the
//! design says; gizmos are groups and are walked, so their inner time nodes count.

use globset::{GlobSet, GlobSetBuilder};
use std::sync::OnceLock;

/// The time behaviour of a node class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBehaviour {
    /// Frame f reads frame f of its inputs.
    Local,
    /// Frame f reads frame f of its inputs, and its own output varies with f even when
    /// no knob is animated (per-frame random seeds, frame-numbered files).
    FrameVarying,
    /// `TimeOffset`: frame f reads frame `f - time_offset` (all frames when
    /// `reverse_input` is set, which depends on the input's range).
    Offset,
    /// `FrameHold`: frame f reads `first_frame`, or with `increment` N the latest
    /// multiple of N from `first_frame`.
    Hold,
    /// Reads an unmodelled set of frames: every frame of every input, conservatively.
    AllFrames,
}

/// Classes that read other frames and are not modelled exactly. Globs, matched on the
/// class name (plug-in classes carry vendor prefixes, hence the `*` forms).
const ALL_FRAMES: &[&str] = &[
    "Retime",
    "TimeWarp",
    "FrameBlend",
    "TimeEcho",
    "TimeBlur",
    "MotionBlur",
    "MotionBlur2D",
    "MotionBlur3D",
    "VectorBlur*",
    "VectorGenerator",
    "SmartVector",
    "VectorDistort",
    "Kronos",
    "OFlow*",
    "*oflow*",
    "*kronos*",
    "TimeClip",
    "AppendClip",
    "Denoise*",
    "Temporal*",
    "F_Steadiness",
    "F_DeFlicker*",
    "DeFlicker*",
    "Particle*",
    "CameraTracker",
    "PlanarTracker",
    "Tracker*",
    "Stabilize2D",
    "NoTimeBlur",
];

/// Classes whose output changes from frame to frame by themselves.
const FRAME_VARYING: &[&str] = &[
    "Grain*",
    "ScannedGrain",
    "F_ReGrain",
    "*Grain_v*",
    "Read",
    "DeepRead",
    "ReadGeo*",
];

fn set(globs: &[&str]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(
            globset::GlobBuilder::new(g)
                .case_insensitive(true)
                .build()
                .expect("built-in globs are valid"),
        );
    }
    b.build().expect("built-in glob set is valid")
}

/// The time behaviour of `class`.
pub fn behaviour(class: &str) -> TimeBehaviour {
    static ALL: OnceLock<GlobSet> = OnceLock::new();
    static VARYING: OnceLock<GlobSet> = OnceLock::new();
    match class {
        "TimeOffset" => TimeBehaviour::Offset,
        "FrameHold" => TimeBehaviour::Hold,
        _ if ALL.get_or_init(|| set(ALL_FRAMES)).is_match(class) => TimeBehaviour::AllFrames,
        _ if VARYING.get_or_init(|| set(FRAME_VARYING)).is_match(class) => {
            TimeBehaviour::FrameVarying
        }
        _ => TimeBehaviour::Local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_behaviours() {
        assert_eq!(behaviour("TimeOffset"), TimeBehaviour::Offset);
        assert_eq!(behaviour("FrameHold"), TimeBehaviour::Hold);
        assert_eq!(behaviour("Retime"), TimeBehaviour::AllFrames);
        assert_eq!(
            behaviour("OFXuk.co.thefoundry.time.oflow_v100"),
            TimeBehaviour::AllFrames
        );
        assert_eq!(behaviour("Grain2"), TimeBehaviour::FrameVarying);
        assert_eq!(behaviour("Read"), TimeBehaviour::FrameVarying);
        assert_eq!(behaviour("Blur"), TimeBehaviour::Local);
        assert_eq!(behaviour("SomeVendorPlugin"), TimeBehaviour::Local);
    }
}
