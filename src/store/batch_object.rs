//! The batch object: the frames hashed together by one record or check.
//!
//! ```json
//! {"format":"smartcache-frames","version":2,"setup":"<setup object>","refs":["<setup object>"],
//!  "frames":{"<frame hash>":{"frame":1001,"sources":{"Read1@1001":[{"knob":"file",…}]}}}}
//! ```
//!
//! One batch per record or check, not one object per frame: a stored object costs
//! fsyncs, and a thousand of them would cost more than hashing a thousand frames. The
//! batch maps each distinct frame hash to one frame that has it and the files read
//! there (what [`crate::manifest::source::RecordedSources`] serves back when the frame
//! is explained), so N identical frames cost one line. `refs` names the setup object so
//! that prune keeps it.

use crate::hash::Hex128;
use crate::manifest::view::FileRead;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format tag of a stored batch object.
pub const BATCH_FORMAT: &str = "smartcache-frames";
/// Version of the batch object format this build reads and writes.
pub const BATCH_VERSION: u64 = 2;

/// One frame of a batch: a frame that had the hash, and the files it read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchFrame {
    /// The frame.
    pub frame: i64,
    /// The files it read, by [`crate::manifest::source::source_key`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, Vec<FileRead>>,
}

/// A batch object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// [`BATCH_FORMAT`].
    pub format: String,
    /// [`BATCH_VERSION`].
    pub version: u64,
    /// The setup object the frames were hashed from.
    pub setup: Hex128,
    /// The objects this one needs kept: the setup.
    pub refs: Vec<Hex128>,
    /// Frame hash to one frame that has it.
    pub frames: BTreeMap<Hex128, BatchFrame>,
}

/// Errors reading a stored batch object.
#[derive(Debug, thiserror::Error)]
#[error("batch object: {0}")]
pub struct BatchReadError(pub String);

impl Batch {
    /// A batch of frames hashed from `setup`.
    pub fn new(setup: Hex128, frames: BTreeMap<Hex128, BatchFrame>) -> Batch {
        Batch {
            format: BATCH_FORMAT.into(),
            version: BATCH_VERSION,
            refs: vec![setup],
            setup,
            frames,
        }
    }

    /// The stored bytes (compact JSON).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialising a batch to memory cannot fail")
    }

    /// Read a stored batch, checking its format and version (object names are
    /// [`Hex128`]s, checked as they are parsed).
    pub fn decode(bytes: &[u8]) -> Result<Batch, BatchReadError> {
        let b: Batch = serde_json::from_slice(bytes).map_err(|e| BatchReadError(e.to_string()))?;
        if b.format != BATCH_FORMAT || b.version != BATCH_VERSION {
            return Err(BatchReadError(format!(
                "format {} version {} (this smartcache reads {BATCH_FORMAT} version \
                 {BATCH_VERSION})",
                b.format, b.version
            )));
        }
        Ok(b)
    }
}
