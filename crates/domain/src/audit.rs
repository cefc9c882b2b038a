//! The audit log's hash chain. Entries are chained per partition (the acting organisation's
//! code), so appends in different organisations never wait for one another, while any edit,
//! insertion or deletion inside a partition breaks the chain.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash of the (empty) chain before the first entry of every partition.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hashed content of one audit entry. Field order is part of the format: do not reorder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EntryContent<'a> {
    pub partition: &'a str,
    pub seq: i64,
    pub at: &'a str,
    pub actor_user: Option<&'a str>,
    pub actor_org: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// The canonical text form of a timestamp in the chain (UTC, microseconds), which both
/// databases store without loss.
pub fn canonical_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Truncates a timestamp to the microseconds the databases keep.
pub fn truncate_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// `sha256(prev_hash ‖ canonical JSON of the content)`, hex.
pub fn entry_hash(prev_hash: &str, content: &EntryContent<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    // Serialising a struct of strings and integers cannot fail.
    h.update(serde_json::to_vec(content).unwrap_or_default());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

/// A problem found when verifying a partition's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChainBreak {
    /// The chain (an organisation's code, or `system`).
    pub partition: String,
    /// The entry at which the chain breaks.
    pub seq: i64,
    /// What is wrong there (edited, missing, moved or truncated).
    pub reason: String,
}

/// Verifies one partition's chain entry by entry (in ascending `seq` order), so that a
/// partition of any size can be streamed through it.
#[derive(Debug)]
pub struct ChainVerifier {
    partition: String,
    prev: String,
    expected_seq: i64,
    pub breaks: Vec<ChainBreak>,
}

impl ChainVerifier {
    pub fn new(partition: &str) -> Self {
        ChainVerifier {
            partition: partition.to_owned(),
            prev: GENESIS.to_owned(),
            expected_seq: 1,
            breaks: Vec::new(),
        }
    }

    fn brk(&mut self, seq: i64, reason: &str) {
        self.breaks.push(ChainBreak {
            partition: self.partition.clone(),
            seq,
            reason: reason.to_owned(),
        });
    }

    pub fn feed(&mut self, content: &EntryContent<'_>, stored_hash: &str) {
        if content.seq != self.expected_seq {
            self.brk(self.expected_seq, "entry missing (sequence gap)");
        }
        if content.partition != self.partition {
            self.brk(content.seq, "entry moved to another partition");
        }
        if entry_hash(&self.prev, content) != stored_hash {
            self.brk(content.seq, "hash mismatch (entry edited or chain broken)");
        }
        self.expected_seq = content.seq + 1;
        self.prev = stored_hash.to_owned();
    }

    /// Checks the partition's head (last seq and hash recorded at append time); a missing head
    /// for a partition with entries, or a head beyond the last entry, is a break too.
    pub fn finish(mut self, head: Option<(i64, &str)>) -> Vec<ChainBreak> {
        let last = self.expected_seq - 1;
        match head {
            Some((seq, hash)) if seq != last || hash != self.prev => self.brk(
                seq,
                "head does not match the last entry (entries deleted at the end)",
            ),
            None if last > 0 => self.brk(last, "partition head missing"),
            _ => {}
        }
        self.breaks
    }
}

/// Verifies entries of one partition given all at once (see [`ChainVerifier`]).
pub fn verify_partition<'a>(
    partition: &str,
    entries: impl IntoIterator<Item = (EntryContent<'a>, &'a str)>,
    head: Option<(i64, &str)>,
) -> Vec<ChainBreak> {
    let mut v = ChainVerifier::new(partition);
    for (content, hash) in entries {
        v.feed(&content, hash);
    }
    v.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, after: &'static str) -> EntryContent<'static> {
        EntryContent {
            partition: "13",
            seq,
            at: "2026-01-01T00:00:00.000000Z",
            actor_user: Some("u1"),
            actor_org: Some("13"),
            ip: None,
            action: "user.create",
            object_type: "user",
            object_id: "x",
            before: None,
            after: Some(after),
        }
    }

    #[test]
    fn chain_detects_edit_gap_and_truncation() {
        let e1 = entry(1, "{\"a\":1}");
        let h1 = entry_hash(GENESIS, &e1);
        let e2 = entry(2, "{\"a\":2}");
        let h2 = entry_hash(&h1, &e2);
        let e3 = entry(3, "{\"a\":3}");
        let h3 = entry_hash(&h2, &e3);
        let ok = verify_partition(
            "13",
            [
                (e1.clone(), h1.as_str()),
                (e2.clone(), h2.as_str()),
                (e3.clone(), h3.as_str()),
            ],
            Some((3, &h3)),
        );
        assert!(ok.is_empty());
        let edited = entry(2, "{\"a\":99}");
        let b = verify_partition(
            "13",
            [
                (e1.clone(), h1.as_str()),
                (edited, h2.as_str()),
                (e3.clone(), h3.as_str()),
            ],
            Some((3, &h3)),
        );
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].seq, 2);
        let gap = verify_partition(
            "13",
            [(e1.clone(), h1.as_str()), (e3.clone(), h3.as_str())],
            Some((3, &h3)),
        );
        assert!(!gap.is_empty());
        let truncated =
            verify_partition("13", [(e1, h1.as_str()), (e2, h2.as_str())], Some((3, &h3)));
        assert_eq!(truncated.len(), 1);
    }
}
