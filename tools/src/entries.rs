//! What a WAL entry does, in words, for `wal-inspect --records`: the engine's transaction
//! entries (kind 1) with their operations, RIDs, record kinds, sizes and schema changes; the
//! replication layer's membership (kind 2) and blank (kind 3) entries. Decoded with the
//! engine's own decoders, so what is shown is what `apply` would read.

use basalt_engine::entry::{transactions_of, MarkerEntry, Op, BATCH_KIND, BLANK_KIND, ENTRY_KIND, MEMBERSHIP_KIND};
use basalt_engine::record::{body_kind, Direction};
use basalt_engine::{RecordKind, SchemaChange, TxEntry};

/// Operations described in full per entry; the rest are counted.
pub const OPS_SHOWN_MAX: usize = 8;

fn kind_word(body: &[u8]) -> &'static str {
    match body_kind(body) {
        RecordKind::Vertex => "vertex",
        RecordKind::Edge => "edge",
        RecordKind::Document => "document",
    }
}

fn schema_words(change: &SchemaChange) -> String {
    match change {
        SchemaChange::CreateClass { name, superclass, cluster, .. } => format!(
            "create class {name}{}{}",
            superclass.as_ref().map(|s| format!(" extends {s}")).unwrap_or_default(),
            cluster.map(|c| format!(" (cluster {c})")).unwrap_or_default()
        ),
        SchemaChange::RenameClass { name, new_name } => format!("rename class {name} to {new_name}"),
        SchemaChange::SetSuperclass { name, superclass } => {
            format!("class {name} superclass {}", superclass.as_deref().unwrap_or("none"))
        }
        SchemaChange::SetAbstract { name, is_abstract, .. } => format!("class {name} abstract {is_abstract}"),
        SchemaChange::SetStrict { name, strict } => format!("class {name} strict {strict}"),
        SchemaChange::DropClass { name } => format!("drop class {name}"),
        SchemaChange::CreateProperty { class, property } => {
            format!("create property {class}.{} {}", property.name, property.ty.name())
        }
        SchemaChange::AlterProperty { class, property } => format!("alter property {class}.{}", property.name),
        SchemaChange::DropProperty { class, name } => format!("drop property {class}.{name}"),
        SchemaChange::CreateIndex { index } => {
            format!("create index {} on {} ({})", index.name, index.class, index.fields.join(", "))
        }
        SchemaChange::DropIndex { name } => format!("drop index {name}"),
    }
}

fn bag(direction: Direction, label: &str) -> String {
    format!("{}{label}", direction.prefix())
}

/// One operation in words.
pub fn op_words(op: &Op) -> String {
    match op {
        Op::Insert { rid, body } => format!("insert {} {rid} ({} B)", kind_word(body), body.len()),
        Op::Update { rid, fields } => format!("update {rid} (fields {} B)", fields.len()),
        Op::Delete { rid } => format!("delete {rid}"),
        Op::LinkAdd { vertex, direction, label, edge, other } => {
            format!("link {vertex}.{} += {edge} -> {other}", bag(*direction, label))
        }
        Op::LinkRemove { vertex, direction, label, edge } => {
            format!("unlink {vertex}.{} -= {edge}", bag(*direction, label))
        }
        Op::Schema(change) => format!("schema: {}", schema_words(change)),
    }
}

/// What one encoded transaction entry does.
fn transaction_words(payload: &[u8]) -> String {
    match TxEntry::decode(payload) {
        Ok(tx) => {
            let mut parts: Vec<String> = tx.ops.iter().take(OPS_SHOWN_MAX).map(op_words).collect();
            if tx.ops.len() > OPS_SHOWN_MAX {
                parts.push(format!("... {} more", tx.ops.len() - OPS_SHOWN_MAX));
            }
            let time = match tx.commit_time_us {
                0 => String::new(),
                t => format!(", committed {}", crate::time::format_time_us(t)),
            };
            format!("tx term {}{time}, {} ops: {}", tx.term, tx.ops.len(), parts.join("; "))
        }
        Err(e) => format!("undecodable transaction entry: {e}"),
    }
}

/// What an entry of WAL kind `kind` with this payload does; `None` for kinds the engine
/// does not write (a log of another program, or a test's).
pub fn describe(kind: u8, payload: &[u8]) -> Option<String> {
    let kind = basalt_wal::Kind(kind);
    Some(if kind == ENTRY_KIND {
        transaction_words(payload)
    } else if kind == BATCH_KIND {
        match transactions_of(kind, payload) {
            Ok(members) => {
                let shown: Vec<String> = members.iter().take(OPS_SHOWN_MAX).map(|m| transaction_words(m)).collect();
                let more = members.len().saturating_sub(OPS_SHOWN_MAX);
                let more = if more > 0 { format!(" | ... {more} more") } else { String::new() };
                format!("batch of {} transactions: {}{more}", members.len(), shown.join(" | "))
            }
            Err(e) => format!("undecodable batch entry: {e}"),
        }
    } else if kind == MEMBERSHIP_KIND || kind == BLANK_KIND {
        match MarkerEntry::decode(kind, payload) {
            Ok(MarkerEntry { term, membership: Some(m) }) => format!("membership, term {term} ({} B)", m.len()),
            Ok(MarkerEntry { term, membership: None }) => format!("blank (a new leader's first entry), term {term}"),
            Err(e) => format!("undecodable marker entry: {e}"),
        }
    } else {
        return None;
    })
}

/// The commit time (unix microseconds) of a transaction entry that decodes and carries one;
/// of a batch, its latest member's (the batch is one log entry: it is in or out whole).
pub fn commit_time(kind: u8, payload: &[u8]) -> Option<u64> {
    let members = transactions_of(basalt_wal::Kind(kind), payload).ok()?;
    members.iter().filter_map(|m| TxEntry::decode(m).ok()).map(|tx| tx.commit_time_us).max().filter(|t| *t != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_engine::Rid;

    #[test]
    fn transactions_and_marks_are_described() {
        let mut tx = TxEntry {
            term: 3,
            proposal: None,
            commit_time_us: 0,
            ops: vec![
                Op::Delete { rid: Rid::new(9, 4) },
                Op::LinkRemove {
                    vertex: Rid::new(9, 1),
                    direction: Direction::Out,
                    label: "knows".into(),
                    edge: Rid::new(11, 0),
                },
            ],
        };
        let (kind, bytes) = (ENTRY_KIND, tx.encode());
        assert_eq!(
            describe(kind.0, &bytes).as_deref(),
            Some("tx term 3, 2 ops: delete #9:4; unlink #9:1.out_knows -= #11:0")
        );
        tx.commit_time_us = 1_796_605_323_000_042;
        assert_eq!(commit_time(ENTRY_KIND.0, &tx.encode()), Some(tx.commit_time_us));
        assert!(describe(ENTRY_KIND.0, &tx.encode())
            .unwrap()
            .starts_with("tx term 3, committed 2026-12-07T01:02:03.000042Z, 2 ops"));
        let (kind, bytes) = MarkerEntry { term: 7, membership: None }.encode();
        assert_eq!(commit_time(kind.0, &bytes), None);
        assert_eq!(describe(kind.0, &bytes).as_deref(), Some("blank (a new leader's first entry), term 7"));
        assert!(describe(1, b"\xff").unwrap().starts_with("undecodable transaction entry"));
        let one = tx.encode();
        let batch = basalt_engine::entry::encode_batch([one.as_slice(), one.as_slice()]);
        assert!(describe(BATCH_KIND.0, &batch)
            .unwrap()
            .starts_with("batch of 2 transactions: tx term 3, committed 2026-12-07T01:02:03.000042Z, 2 ops"));
        assert!(describe(BATCH_KIND.0, &batch[..3]).unwrap().starts_with("undecodable batch entry"));
        // A batch's commit time is its latest member's.
        let (early, late) = (TxEntry { commit_time_us: 5, ..tx.clone() }, TxEntry { commit_time_us: 9, ..tx.clone() });
        let timed = basalt_engine::entry::encode_batch([late.encode().as_slice(), early.encode().as_slice()]);
        assert_eq!(commit_time(BATCH_KIND.0, &timed), Some(9));
        assert_eq!(commit_time(ENTRY_KIND.0, &early.encode()), Some(5));
        assert_eq!(describe(0, b"x"), None);
    }
}
