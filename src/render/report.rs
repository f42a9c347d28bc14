//! What the render workflows return. Each report serializes to exactly the document the
//! CLI prints with `--json` (the CLI prints these, nothing else), so a host reading the
//! library's reports and a script reading the CLI's output see the same shape.

use crate::check::{FrameResult, Reason, ReasonKind, Status};
use crate::frames::format_ranges;
use crate::store::SnapshotId;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What [`super::record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    /// The output node recorded.
    pub node: String,
    /// The frames recorded, sorted.
    pub frames: Vec<i64>,
    /// Distinct frame hashes among them.
    pub distinct: usize,
    /// Frames whose render file (with a render pattern) did not exist and was not
    /// recorded.
    pub renders_missing: Vec<i64>,
    /// Whether manifest objects were stored (see [`crate::store::keep_manifests`]).
    pub manifests_kept: bool,
    /// How many frames the master holds now.
    pub master_frames: usize,
    /// `<cache-dir>/master/hash.json`.
    pub master: PathBuf,
    /// Problems worked around (a damaged master restored from its backup), files
    /// missing or unverifiable, classes nothing defines: for the user to see.
    pub warnings: Vec<String>,
    /// Classes the frames read that the profile does not know and no gizmo defines.
    pub unknown_classes: Vec<String>,
}

/// `record --json` (`"unknown_classes"` and `"warnings"` only when there are some).
impl Serialize for RecordReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            recorded: usize,
            distinct_hashes: usize,
            frames: String,
            renders_missing: &'a [i64],
            manifests_kept: bool,
            master_frames: usize,
            master: &'a PathBuf,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            unknown_classes: &'a [String],
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            warnings: &'a [String],
        }
        Wire {
            recorded: self.frames.len(),
            distinct_hashes: self.distinct,
            frames: format_ranges(&self.frames),
            renders_missing: &self.renders_missing,
            manifests_kept: self.manifests_kept,
            master_frames: self.master_frames,
            master: &self.master,
            unknown_classes: &self.unknown_classes,
            warnings: &self.warnings,
        }
        .serialize(s)
    }
}

/// What [`super::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The output node checked.
    pub node: String,
    /// The snapshot written (`None` for a read-only check).
    pub snapshot: Option<SnapshotId>,
    /// Every checked frame, in order.
    pub frames: Vec<FrameResult>,
    /// Whether the master exists at all.
    pub has_master: bool,
    /// Problems worked around (a damaged master read from its backup), files missing
    /// or unverifiable, classes nothing defines: for the user to see.
    pub warnings: Vec<String>,
    /// Classes the frames read that the profile does not know and no gizmo defines.
    pub unknown_classes: Vec<String>,
}

impl CheckReport {
    /// `true` when every checked frame is valid.
    pub fn all_valid(&self) -> bool {
        self.frames.iter().all(|r| r.status == Status::Valid)
    }

    /// The frames to render again: every frame that is not valid (outdated, uncached,
    /// or whose render is missing), sorted.
    pub fn to_render(&self) -> Vec<i64> {
        self.frames
            .iter()
            .filter(|r| r.status != Status::Valid)
            .map(|r| r.frame)
            .collect()
    }

    /// Strict checking: a frame that reads a path that cannot be verified, or a class
    /// nothing defines, is outdated, since smartcache cannot vouch for it.
    pub fn make_strict(&mut self) {
        for r in &mut self.frames {
            let mut why: Vec<String> = r.unverifiable.clone();
            why.extend(
                self.unknown_classes
                    .iter()
                    .map(|c| format!("class {c} is not known to the profile")),
            );
            if why.is_empty() {
                continue;
            }
            if r.status == Status::Valid {
                r.status = Status::Outdated;
            }
            for w in why {
                r.reasons.push(Reason::simple(
                    ReasonKind::Unverifiable,
                    format!("strict: {w}"),
                ));
            }
        }
    }

    /// How many frames have each status (statuses with none left out).
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.frames {
            *counts.entry(r.status).or_insert(0) += 1;
        }
        counts
    }
}

/// `check --json`: `{"frames":[…],"node","snapshot","summary":{status: count},
/// "to_render","valid"}`, and `"unknown_classes"` when there are some. `to_render` is
/// the frames not valid as a frame list (`1040-1060,1075`, empty when all are valid),
/// what `check --outdated` prints.
impl Serialize for CheckReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            frames: &'a [FrameResult],
            node: &'a str,
            snapshot: Option<&'a SnapshotId>,
            summary: BTreeMap<&'static str, usize>,
            to_render: String,
            valid: bool,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            unknown_classes: &'a [String],
        }
        Wire {
            frames: &self.frames,
            node: &self.node,
            snapshot: self.snapshot.as_ref(),
            summary: self
                .counts()
                .into_iter()
                .map(|(k, n)| (k.as_str(), n))
                .collect(),
            to_render: crate::frames::format_spec(&self.to_render()),
            valid: self.all_valid(),
            unknown_classes: &self.unknown_classes,
        }
        .serialize(s)
    }
}

/// What [`super::explain`] found: `explain --json` is the frame's result with the
/// snapshot's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// The snapshot the master was compared with.
    pub snapshot: SnapshotId,
    /// The frame, its status and reasons.
    #[serde(flatten)]
    pub result: FrameResult,
    /// Problems worked around (a damaged master read from its backup).
    #[serde(skip)]
    pub warnings: Vec<String>,
}
