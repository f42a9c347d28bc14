//! Names of snapshot directories: `YYYYMMDDTHHMMSS.mmmZ`, the UTC time of the check,
//! optionally followed by `-N` when several checks fell in the same millisecond.
//!
//! The time part is fixed-width, so names sort by time as plain strings and in any file
//! browser; the suffix is compared numerically so that `-10` sorts after `-9`. There are
//! no colons, which some file systems (and Windows) reject.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use std::fmt;

/// Length of the time part, `YYYYMMDDTHHMMSS.mmmZ`.
const STAMP_LEN: usize = 20;

/// The id (directory name) of one snapshot. Ordered oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotId {
    /// The fixed-width time part; comparing it as a string compares the times.
    stamp: String,
    /// 0 for no suffix, N for `-N`.
    seq: u32,
}

impl SnapshotId {
    /// The id for a check made at `time` (sub-millisecond precision is dropped).
    pub fn from_time(time: DateTime<Utc>) -> Self {
        Self {
            stamp: time.format("%Y%m%dT%H%M%S%.3fZ").to_string(),
            seq: 0,
        }
    }

    /// Parse a directory name; `None` for anything that is not exactly a snapshot id
    /// (foreign directories, `master`, `manifests`, temp names).
    pub fn parse(name: &str) -> Option<Self> {
        let (stamp, seq) = match name.split_once('-') {
            Some((stamp, suffix)) => (stamp, parse_suffix(suffix)?),
            None => (name, 0),
        };
        parse_stamp(stamp)?;
        Some(Self {
            stamp: stamp.to_string(),
            seq,
        })
    }

    /// The id that sorts right after this one: the next suffix within the same
    /// millisecond (`-1`, `-2`, …), or after suffix `u32::MAX` the next millisecond.
    /// `None` only after `99991231T235959.999Z-4294967295`: no later time fits the
    /// four-digit year.
    pub fn successor(&self) -> Option<Self> {
        if let Some(seq) = self.seq.checked_add(1) {
            return Some(Self {
                stamp: self.stamp.clone(),
                seq,
            });
        }
        let next = Self::from_time(self.time() + chrono::Duration::milliseconds(1));
        parse_stamp(&next.stamp).map(|_| next)
    }

    /// The time of the check, to the millisecond.
    pub fn time(&self) -> DateTime<Utc> {
        // The stamp was validated on construction; `from_time` output always parses.
        parse_stamp(&self.stamp).unwrap_or_default()
    }

    /// The collision suffix (0 when there is none).
    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stamp)?;
        if self.seq > 0 {
            write!(f, "-{}", self.seq)?;
        }
        Ok(())
    }
}

impl serde::Serialize for SnapshotId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A positive decimal without leading zeros, so every suffix has one spelling.
fn parse_suffix(s: &str) -> Option<u32> {
    if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parse `YYYYMMDDTHHMMSS.mmmZ` into a time, checking every field's range.
fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != STAMP_LEN || b[8] != b'T' || b[15] != b'.' || b[19] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = &s[range];
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)?;
    let time = date.and_hms_milli_opt(num(9..11)?, num(11..13)?, num(13..15)?, num(16..19)?)?;
    let utc = time.and_utc();
    // Reject leap-second spellings chrono accepts but `from_time` would never produce.
    (utc.second() < 60 && utc.year() == year).then_some(utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn format_and_parse_round_trip() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 23, 15, 7).unwrap()
            + chrono::Duration::milliseconds(42);
        let id = SnapshotId::from_time(t);
        assert_eq!(id.to_string(), "20261122T231507.042Z");
        assert_eq!(SnapshotId::parse("20261122T231507.042Z"), Some(id.clone()));
        assert_eq!(id.time(), t);
        let second = id.successor().and_then(|s| s.successor()).unwrap();
        assert_eq!(second.to_string(), "20261122T231507.042Z-2");
        assert_eq!(SnapshotId::parse("20261122T231507.042Z-2"), Some(second));
    }

    #[test]
    fn successors_move_to_the_next_millisecond_after_the_last_suffix() {
        let last = SnapshotId::parse("29991231T235959.999Z-4294967295").unwrap();
        assert_eq!(
            last.successor().unwrap().to_string(),
            "30000101T000000.000Z"
        );
        let end = SnapshotId::parse("99991231T235959.999Z-4294967295").unwrap();
        assert_eq!(end.successor(), None);
    }

    #[test]
    fn rejects_foreign_names() {
        for bad in [
            "master",
            "manifests",
            ".lock",
            "20261122T231507.042Z-0",
            "20261122T231507.042Z-01",
            "20261122T231507.042Z-",
            "20261122T231507.042Z-x",
            "20261322T231507.042Z",
            "20261122T246007.042Z",
            "20261122T231507.042",
            "20261122T23:15:07.042Z",
            "2026-11-22T231507.042Z",
            "+0261122T231507.042Z",
        ] {
            assert_eq!(SnapshotId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn suffixes_sort_numerically_after_the_plain_id() {
        let mut ids: Vec<_> = [
            "20261122T231507.043Z",
            "20261122T231507.042Z-10",
            "20261122T231507.042Z-2",
            "20261122T231507.042Z",
            "20251231T235959.999Z",
        ]
        .iter()
        .map(|s| SnapshotId::parse(s).unwrap())
        .collect();
        ids.sort();
        let names: Vec<_> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "20251231T235959.999Z",
                "20261122T231507.042Z",
                "20261122T231507.042Z-2",
                "20261122T231507.042Z-10",
                "20261122T231507.043Z",
            ]
        );
    }
}
