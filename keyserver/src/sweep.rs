//! What a server keeps follows the chain. Each server, by itself, deletes the shares
//! and ciphertext of records its nodes agree are retired at a finalized block, and those
//! of versions a rotation superseded (no rule releases a key for them), on start and
//! then every interval: a server that was down, suspended or simply not told deletes
//! when it can. The cost is one dry run per record held per sweep (the records are read
//! one by one; see BENCHMARKS.md for a read's cost), hence a long default interval: the
//! client also tells every server of a retirement at once (`/v1/retire`).

use crate::blob_store::StoreError;
use crate::facts::ReadError;
use crate::http::ServerState;
use crate::share_db::ShareDbError;
use medconsent_shared::{Record, RecordId, RecordStatus};
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
    #[error("{0}")]
    Blobs(#[from] StoreError),
}

/// What settling one record deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub shares: usize,
    pub blobs: usize,
}

/// Brings what the server keeps of `id` in line with `record` as the chain has it:
/// retired, every share and blob goes; active, those of earlier versions go (a newer
/// version than `record`'s stays: its upload may postdate the block read). A blob
/// another record version also names stays (`ShareDb::orphans_of_stale_names`).
pub async fn settle(
    server: &ServerState,
    id: RecordId,
    record: &Record,
) -> Result<Deleted, SweepError> {
    let current = (record.status != RecordStatus::Retired).then_some(record.version);
    let shares = tokio::task::block_in_place(|| match current {
        Some(current) => server.shares.drop_versions_before(id, current),
        None => server.shares.drop_record(id),
    })?;
    if !tokio::task::block_in_place(|| server.shares.has_stale_blob_names(id, current))? {
        return Ok(Deleted { shares, blobs: 0 });
    }
    // Uploads hold the read side while they store and name a blob: a blob found
    // unnamed here cannot be named again before it is deleted. (A waiting sweep holds
    // new uploads back until the ones in flight end, at most a request's timeout.)
    let _no_uploads = server.blob_names.write().await;
    let orphans =
        tokio::task::block_in_place(|| server.shares.orphans_of_stale_names(id, current))?;
    let mut blobs = 0usize;
    // Deleted first, forgotten after: a delete that fails keeps the names, and the
    // next sweep tries again.
    for hash in &orphans {
        if server.blobs.delete(hash).await? {
            blobs = blobs.saturating_add(1);
        }
    }
    tokio::task::block_in_place(|| server.shares.forget_stale_blob_names(id, current))?;
    Ok(Deleted { shares, blobs })
}

/// One pass over the records the server keeps shares or ciphertext of. Returns what was
/// deleted, by record.
pub async fn sweep_once(server: &ServerState) -> Result<Vec<(RecordId, Deleted)>, SweepError> {
    let mut kept = tokio::task::block_in_place(|| server.shares.records_held())?;
    kept.extend(tokio::task::block_in_place(|| {
        server.shares.records_naming_blobs()
    })?);
    kept.sort_unstable();
    kept.dedup();
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let (block, now) = server.reader.finalized().await?;
    // Only the pinned registry is believed about retirements: another could call every
    // record retired and have every share deleted.
    crate::pins::ensure_pinned(server, block, now).await?;
    let mut deleted = Vec::new();
    for id in kept {
        // One record the nodes do not agree on does not stop the others.
        let record = match server.reader.record(block, id).await {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("sweep: record {id}: {e}");
                continue;
            }
        };
        match settle(server, id, &record).await {
            Ok(done) if done != Deleted::default() => deleted.push((id, done)),
            Ok(_) => {}
            Err(e) => tracing::warn!("sweep: record {id}: {e}"),
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
                for (record, Deleted { shares, blobs }) in deleted {
                    tracing::info!(
                        "sweep: record {record} is retired or rotated on chain: \
                         {shares} shares and {blobs} blobs of it deleted"
                    );
                }
            }
            Err(e) => tracing::warn!("sweep: {e}"),
        }
        tokio::time::sleep(interval).await;
    }
}
