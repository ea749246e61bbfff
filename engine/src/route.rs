//! The seams for a log the engine does not own: routing every commit into it, hearing that
//! it refused a proposal, and applying what it committed in batches.
//!
//! The replicated log (openraft, in the server) orders entries; the engine forms them and
//! applies them. Nothing here knows Raft: a [`ProposeLog`] takes an entry's bytes, the
//! replication layer calls [`Database::apply_committed_batch`] with what it committed, and
//! [`Database::proposal_refused`] when it turned an entry away before logging it.

use std::sync::Arc;

use basalt_wal::{Kind, Lsn};

use crate::commit::{ApplyOutcome, Item};
use crate::db::{lock, Database};
use crate::entry::{transactions_of, LogPosition, TxEntry};
use crate::error::{Error, Result};

/// A log that commits go through instead of the local WAL (see [`Database::route_commits`]).
pub trait ProposeLog: Send + Sync + std::fmt::Debug {
    /// Hands the entry's bytes to the log. Called under the forming lock, so entries arrive
    /// in forming order: it must only enqueue, never wait for the log or for apply. Returns
    /// the entry's index if the log already knows it (else the log reports it later through
    /// [`Database::note_logged`]), or the error that refused it (then nothing was logged).
    fn propose(&self, entry: &[u8]) -> Result<Option<Lsn>>;
}

impl Database {
    /// Routes every later commit ([`Database::commit`], [`Database::submit`]) through `log`
    /// instead of the local WAL. The outcomes then come from [`Database::apply_committed`]
    /// and [`Database::apply_committed_batch`]. Forming stays as it is: a replication layer
    /// usually calls [`Database::leadership_lost`] first and opens forming with
    /// [`Database::set_forming_barrier`] once it leads.
    pub fn route_commits(&self, log: Arc<dyn ProposeLog>) {
        *self.router.write().unwrap_or_else(|p| p.into_inner()) = Some(log);
    }

    /// Takes the database offline because its log failed underneath the engine (an append,
    /// a flush or a meta write of the replicated log's store); returns the error. Waiting
    /// committers learn their outcome is unknown; the reason shows until a reopen.
    pub fn log_failed(&self, e: basalt_wal::Error) -> Error {
        self.go_offline(e.into())
    }

    /// The routed log, if any.
    pub(crate) fn router(&self) -> Option<Arc<dyn ProposeLog>> {
        self.router.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Applies committed transaction entries from the replicated log, in order, each at its
    /// position (the first follows the applied position, each next one follows it), once
    /// durable in the local WAL. An entry is one transaction ([`crate::entry::ENTRY_KIND`])
    /// or a batch of them ([`crate::entry::BATCH_KIND`]), applied in order at the batch's
    /// position. One pass under the applier lock and one published view for all of it.
    /// Returns each entry's outcome, in order (a batch is skipped if any of its transactions
    /// was, with their reasons); an IO or corruption error takes the
    /// database offline and is returned (entries before it stay applied).
    pub fn apply_committed_batch(&self, entries: &[(LogPosition, Kind, &[u8])]) -> Result<Vec<ApplyOutcome>> {
        let Some(last) = entries.last() else { return Ok(Vec::new()) };
        let mut items = Vec::with_capacity(entries.len());
        // How many items each entry became.
        let mut sizes = Vec::with_capacity(entries.len());
        for (i, (position, kind, bytes)) in entries.iter().enumerate() {
            let before = items.len();
            if i > 0 && position.index != entries[i - 1].0.index.next() {
                return Err(Error::Invalid(format!(
                    "committed entries out of order: {} after {}",
                    position,
                    entries[i - 1].0
                )));
            }
            let members = match transactions_of(*kind, bytes) {
                Ok(members) if !members.is_empty() => members,
                decoded => {
                    // The same bytes fail the same way everywhere: one bad entry, skipped.
                    let why = match decoded {
                        Err(e) => format!("the batch does not decode: {e}"),
                        Ok(_) => format!("an entry of kind {} holds no transaction", kind.0),
                    };
                    let entry = Err(why);
                    items.push(Item { position: *position, entry, resolve: None });
                    sizes.push(1);
                    continue;
                }
            };
            for member in members {
                let decoded = TxEntry::decode(member).map_err(|e| format!("the entry does not decode: {e}"));
                let resolve = decoded.as_ref().ok().and_then(|e| e.proposal);
                items.push(Item { position: *position, entry: decoded, resolve });
            }
            sizes.push(items.len() - before);
        }
        let failures = {
            let _applier = lock(&self.applier);
            self.check_next(entries[0].0)?;
            if self.wal.status().durable_lsn < last.0.index {
                self.wal.sync().map_err(|e| self.go_offline(e.into()))?;
            }
            self.apply_items(items)?
        };
        self.maybe_checkpoint();
        let mut failures = failures.into_iter();
        Ok(sizes
            .into_iter()
            .map(|n| {
                let why: Vec<String> = failures.by_ref().take(n).flatten().collect();
                if why.is_empty() {
                    ApplyOutcome::Applied
                } else {
                    ApplyOutcome::Skipped(why.join("; "))
                }
            })
            .collect())
    }
}
