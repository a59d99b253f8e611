//! Retirement finishes at every server: each deletes, by itself, the shares of the
//! records its nodes agree are retired at a finalized block, on start and then every
//! interval, so a server that was down, suspended or simply not told when a patient
//! retired a record deletes its shares when it can. The cost is one dry run per record
//! held per sweep (the records are read one by one; see BENCHMARKS.md for a read's
//! cost), hence a long default interval: the client also tells every server at once.

use crate::facts::ReadError;
use crate::http::ServerState;
use crate::share_db::ShareDbError;
use medconsent_shared::RecordStatus;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("{0}")]
    ShareDb(#[from] ShareDbError),
    #[error("{0}")]
    Pins(#[from] crate::pins::PinError),
}

/// One pass: the records held whose retirement the nodes agree on lose their shares.
/// Returns the records deleted.
pub async fn sweep_once(server: &ServerState) -> Result<Vec<u64>, SweepError> {
    let held = tokio::task::block_in_place(|| server.shares.records_held())?;
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let (block, now) = server.reader.finalized().await?;
    // Only the pinned registry is believed about retirements: another could call every
    // record retired and have every share deleted.
    crate::pins::ensure_pinned(server, block, now).await?;
    let mut deleted = Vec::new();
    for record in held {
        // One record the nodes do not agree on does not stop the others.
        let retired = match server.reader.record(block, record).await {
            Ok(found) => found.is_some_and(|r| r.status == RecordStatus::Retired),
            Err(e) => {
                tracing::warn!("sweep: record {record}: {e}");
                continue;
            }
        };
        if retired {
            tokio::task::block_in_place(|| server.shares.drop_record(record))?;
            deleted.push(record);
        }
    }
    Ok(deleted)
}

/// Sweeps now and then every `interval`, for as long as the server runs. A failed pass
/// (nodes down or disagreeing) is logged and tried again at the next.
pub async fn run(server: Arc<ServerState>, interval: Duration) {
    loop {
        match sweep_once(&server).await {
            Ok(deleted) => {
                for record in deleted {
                    tracing::info!(
                        "sweep: record {record} is retired on chain: its shares deleted"
                    );
                }
            }
            Err(e) => tracing::warn!("sweep: {e}"),
        }
        tokio::time::sleep(interval).await;
    }
}
