//! What the chain says, read at the latest finalized block only: a block that can still
//! be reorganised away could hold an Access entry that never happens.

use medconsent_chain::{Block, Chain, Contracts};
use medconsent_keyrelease::decide::ChainFacts;
use medconsent_keyrelease::request::ReleaseRequest;
use medconsent_shared::{AccountId, Record, RecordId, Timestamp};

pub struct ChainReader {
    chain: Chain,
    contracts: Contracts,
    /// The dry runs' origin: the server's own directory account (reads need no rights).
    origin: AccountId,
}

impl ChainReader {
    pub fn new(chain: Chain, contracts: Contracts, origin: AccountId) -> Self {
        Self {
            chain,
            contracts,
            origin,
        }
    }

    /// The latest finalized block and its time: the server's clock is the chain's.
    pub async fn finalized(&self) -> medconsent_chain::Result<(Block, Timestamp)> {
        let block = self.chain.finalized().await?;
        let now = self.chain.now_at(block).await?;
        Ok((block, now))
    }

    pub async fn record(
        &self,
        at: Block,
        id: RecordId,
    ) -> medconsent_chain::Result<Option<Record>> {
        self.chain
            .read(
                Some(at),
                &self.origin,
                &self.contracts.registry,
                &self.contracts.registry().record(id),
            )
            .await
    }

    /// The entry the request names, the record, and the requester's directory key, read
    /// at `at` one after another. Not concurrently: three requests in flight on the one
    /// RPC connection cost about 40 ms more (measured: 43 ms against 4.3 ms for the three
    /// reads; most likely the node's small replies held by Nagle's algorithm until our
    /// delayed ACK), see BENCHMARKS.md, Key release.
    pub async fn release_facts(
        &self,
        at: Block,
        now: Timestamp,
        request: &ReleaseRequest,
    ) -> medconsent_chain::Result<ChainFacts> {
        let entries = self
            .contracts
            .log()
            .entries(request.patient, request.log_seq, 1);
        let provider = self.contracts.consents().provider(request.requester);
        let entries = self
            .chain
            .read(Some(at), &self.origin, &self.contracts.log, &entries)
            .await?;
        let record = self.record(at, request.record).await?;
        let provider = self
            .chain
            .read(Some(at), &self.origin, &self.contracts.consents, &provider)
            .await?;
        Ok(ChainFacts {
            entry: entries
                .into_iter()
                .find(|entry| entry.seq == request.log_seq),
            record,
            directory_key: provider.map(|p| p.public_key),
            finalized_at: now,
        })
    }
}
