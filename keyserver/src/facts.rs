//! What the chain says, read at a finalized block only (a block that can still be
//! reorganised away could hold an Access entry that never happens), and only what a
//! quorum of the server's nodes agree on: one lying node, or anyone on the link to it,
//! must not be able to invent an Access entry or a retirement.
//!
//! Each read goes to every node at once; the answer is the one at least `quorum` nodes
//! gave identically. Fewer answers is `Unavailable`; as many but different is `Disagree`
//! (logged, with which node said what). The block: each node's finalized height, the
//! `quorum`-th highest of them (at least `quorum` nodes claim to have finalized it), never
//! below the last block agreed on (a node cannot roll the server's clock back); its hash
//! and time asked of the nodes that have finalized it, and agreed on like any fact.

use crate::metrics::Metrics;
use crate::pins::{ContractState, ContractsState};
use futures::future::join_all;
use medconsent_chain::{Block, Chain, Contracts, Message};
use medconsent_keyrelease::decide::{ChainFacts, DepositorStanding};
use medconsent_keyrelease::request::ReleaseRequest;
use medconsent_shared::{
    AccountId, Hash, LogEntry, LogSeq, Provider, Purpose, Record, RecordId, ScheduledChange,
    Timestamp,
};
use parity_scale_codec::Encode;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One node the server reads.
pub struct Node {
    pub url: String,
    pub chain: Chain,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Fewer than `needed` nodes answered at all.
    #[error("{answered} of the {nodes} nodes answered, {needed} needed: {detail}")]
    Unavailable {
        answered: usize,
        needed: usize,
        nodes: usize,
        detail: String,
    },
    /// Enough nodes answered, but no `needed` of them the same.
    #[error("the nodes disagree on {what}: no {needed} of them gave the same answer")]
    Disagree { what: &'static str, needed: usize },
}

/// At most this many records are remembered for one block.
const RECORD_MEMO: usize = 1024;

#[derive(Default)]
struct RecordMemo {
    at: Option<Block>,
    records: std::collections::HashMap<RecordId, Option<Record>>,
}

pub struct ChainReader {
    nodes: Vec<Node>,
    quorum: usize,
    contracts: Contracts,
    /// The dry runs' origin: the server's own directory account (reads need no rights).
    origin: AccountId,
    /// The highest block the nodes agreed on so far: reads never go below it.
    floor: AtomicU32,
    /// The server's own directory entry at the last block it was read at.
    own_listing: Mutex<Option<(Block, Option<Provider>)>>,
    /// Records as agreed at the last block one was read at: unsigned requests (blob
    /// uploads, retirements) naming one record again and again cost one read a block.
    records: Mutex<RecordMemo>,
    metrics: Arc<Metrics>,
}

impl ChainReader {
    /// `quorum` is clamped to 1..=nodes.len() by the caller's validation (`check_quorum`).
    pub fn new(
        nodes: Vec<Node>,
        quorum: usize,
        contracts: Contracts,
        origin: AccountId,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            nodes,
            quorum,
            contracts,
            origin,
            floor: AtomicU32::new(0),
            own_listing: Mutex::new(None),
            records: Mutex::new(RecordMemo::default()),
            metrics,
        }
    }

    /// The block reads are pinned to, and its time: the server's clock is the chain's.
    pub async fn finalized(&self) -> Result<(Block, Timestamp), ReadError> {
        let heads = join_all(self.nodes.iter().map(|node| node.chain.finalized())).await;
        let mut heights: Vec<u32> = heads
            .iter()
            .filter_map(|head| head.as_ref().ok().map(|block| block.number))
            .collect();
        heights.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&height) = heights.get(self.quorum.saturating_sub(1)) else {
            return Err(self.unavailable(heights.len(), &heads));
        };
        let height = height.max(self.floor.load(Ordering::Relaxed));
        // Only a node that has finalized `height` itself may vote on its hash.
        let voters: Vec<(usize, Option<Block>)> = heads
            .iter()
            .enumerate()
            .filter_map(|(i, head)| match head {
                Ok(block) if block.number == height => Some((i, Some(*block))),
                Ok(block) if block.number > height => Some((i, None)),
                _ => None,
            })
            .collect();
        let agreed = self
            .agree_among(&voters, "the finalized block", |chain, known| async move {
                let block = match known {
                    Some(block) => block,
                    None => chain
                        .block_at(height)
                        .await?
                        .ok_or(medconsent_chain::Error::Missing("finalized block"))?,
                };
                let now = chain.now_at(block).await?;
                Ok((block, now))
            })
            .await?;
        self.floor.fetch_max(agreed.0.number, Ordering::Relaxed);
        Ok(agreed)
    }

    /// The record `id` at `at` (remembered for the block: a block's state never changes).
    pub async fn record(&self, at: Block, id: RecordId) -> Result<Option<Record>, ReadError> {
        {
            let memo = self.records.lock().unwrap_or_else(|e| e.into_inner());
            if memo.at == Some(at) {
                if let Some(record) = memo.records.get(&id) {
                    return Ok(record.clone());
                }
            }
        }
        let message = self.contracts.registry().record(id);
        let record = self
            .agree("the record", |chain| {
                let message = message.clone();
                async move {
                    chain
                        .read(Some(at), &self.origin, &self.contracts.registry, &message)
                        .await
                }
            })
            .await?;
        let mut memo = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if memo.at != Some(at) {
            // Never back to an older block's memo: reads only move forward.
            if memo.at.is_some_and(|seen| seen.number > at.number) {
                return Ok(record);
            }
            *memo = RecordMemo {
                at: Some(at),
                records: Default::default(),
            };
        }
        if memo.records.len() < RECORD_MEMO {
            memo.records.insert(id, record.clone());
        }
        Ok(record)
    }

    /// The entry the request names, the record, and the requester's directory key, read
    /// at `at`. One node's reads one after another: three requests in flight on one RPC
    /// connection cost about 40 ms more (measured: 43 ms against 4.3 ms for the three
    /// reads; most likely the node's small replies held by Nagle's algorithm until our
    /// delayed ACK), see BENCHMARKS.md, Key release. The nodes are asked at once.
    pub async fn release_facts(
        &self,
        at: Block,
        now: Timestamp,
        request: &ReleaseRequest,
    ) -> Result<ChainFacts, ReadError> {
        let entries = self
            .contracts
            .log()
            .entries(request.patient, request.log_seq, 1);
        let record = self.contracts.registry().record(request.record);
        let provider = self.contracts.consents().provider(request.requester);
        let delegation = self
            .contracts
            .consents()
            .delegation(request.patient, request.requester);
        let seq = request.log_seq;
        self.agree("the release facts", |chain| {
            let (entries, record, provider, delegation) = (
                entries.clone(),
                record.clone(),
                provider.clone(),
                delegation.clone(),
            );
            async move {
                let contracts = &self.contracts;
                let entries = chain
                    .read(Some(at), &self.origin, &contracts.log, &entries)
                    .await?;
                let entry = entries.into_iter().find(|entry| entry.seq == seq);
                let record = chain
                    .read(Some(at), &self.origin, &contracts.registry, &record)
                    .await?;
                let provider = chain
                    .read(Some(at), &self.origin, &contracts.consents, &provider)
                    .await?;
                // Only an own-request entry of someone other than the patient asks it.
                let delegate = match &entry {
                    Some(e)
                        if e.purpose == Some(Purpose::PatientRequest) && e.actor != e.patient =>
                    {
                        chain
                            .read(Some(at), &self.origin, &contracts.consents, &delegation)
                            .await?
                            .is_some_and(|d| d.in_force(now))
                    }
                    _ => false,
                };
                Ok(ChainFacts {
                    entry,
                    record,
                    provider,
                    delegate,
                    finalized_at: now,
                })
            }
        })
        .await
    }

    /// Who `depositor` is to `patient` at `at`: a delegate in force (at chain time
    /// `now`), and its directory entry.
    pub async fn depositor_standing(
        &self,
        at: Block,
        now: Timestamp,
        patient: AccountId,
        depositor: AccountId,
    ) -> Result<DepositorStanding, ReadError> {
        let provider = self.contracts.consents().provider(depositor);
        let delegation = self.contracts.consents().delegation(patient, depositor);
        self.agree("the depositor's standing", |chain| {
            let (provider, delegation) = (provider.clone(), delegation.clone());
            async move {
                let consents = &self.contracts.consents;
                let delegate = chain
                    .read(Some(at), &self.origin, consents, &delegation)
                    .await?
                    .is_some_and(|d| d.in_force(now));
                let provider = chain
                    .read(Some(at), &self.origin, consents, &provider)
                    .await?;
                Ok(DepositorStanding { delegate, provider })
            }
        })
        .await
    }

    /// Entry `seq` of `patient`'s chain at `at`, and whether `requester` (when asked: for
    /// someone other than the patient) is a delegate of the patient in force at `now`:
    /// what a break-glass justification's deposit or reading turns on.
    pub async fn entry_and_delegate(
        &self,
        at: Block,
        now: Timestamp,
        patient: AccountId,
        seq: LogSeq,
        requester: Option<AccountId>,
    ) -> Result<(Option<LogEntry>, bool), ReadError> {
        let entries = self.contracts.log().entries(patient, seq, 1);
        let delegation = requester.map(|r| self.contracts.consents().delegation(patient, r));
        self.agree("the break-glass entry", |chain| {
            let (entries, delegation) = (entries.clone(), delegation.clone());
            async move {
                let contracts = &self.contracts;
                let entry = chain
                    .read(Some(at), &self.origin, &contracts.log, &entries)
                    .await?
                    .into_iter()
                    .find(|entry| entry.seq == seq);
                let delegate = match delegation {
                    Some(delegation) => chain
                        .read(Some(at), &self.origin, &contracts.consents, &delegation)
                        .await?
                        .is_some_and(|d| d.in_force(now)),
                    None => false,
                };
                Ok((entry, delegate))
            }
        })
        .await
    }

    /// The three contracts at `at`: code, full code, wiring and any announced change.
    pub async fn contracts_state(&self, at: Block) -> Result<ContractsState, ReadError> {
        self.agree("the contracts", |chain| async move {
            let c = &self.contracts;
            let (registry, consents, log) = (c.registry(), c.consents(), c.log());
            let read = |address| ContractRead {
                chain,
                at,
                origin: &self.origin,
                address,
            };
            Ok(ContractsState {
                registry: read(&c.registry)
                    .state(
                        &registry.full_code(),
                        &registry.peers(),
                        &registry.scheduled_change(),
                    )
                    .await?,
                consents: read(&c.consents)
                    .state(
                        &consents.full_code(),
                        &consents.peers(),
                        &consents.scheduled_change(),
                    )
                    .await?,
                log: read(&c.log)
                    .state(&log.full_code(), &log.writers(), &log.scheduled_change())
                    .await?,
            })
        })
        .await
    }

    /// The server's own entry in the directory at `at` (cached for the block): whether
    /// it may act at all.
    pub async fn own_listing(&self, at: Block) -> Result<Option<Provider>, ReadError> {
        if let Some((block, listing)) = *self.own_listing.lock().unwrap_or_else(|e| e.into_inner())
        {
            if block == at {
                return Ok(listing);
            }
        }
        let message = self.contracts.consents().provider(self.origin);
        let listing = self
            .agree("the server's own listing", |chain| {
                let message = message.clone();
                async move {
                    chain
                        .read(Some(at), &self.origin, &self.contracts.consents, &message)
                        .await
                }
            })
            .await?;
        *self.own_listing.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, listing));
        Ok(listing)
    }

    /// `read` asked of every node; the answer `quorum` of them gave.
    async fn agree<'a, T, F, Fut>(&'a self, what: &'static str, read: F) -> Result<T, ReadError>
    where
        T: PartialEq + Debug,
        F: Fn(&'a Chain) -> Fut,
        Fut: Future<Output = medconsent_chain::Result<T>>,
    {
        let everyone: Vec<(usize, ())> = (0..self.nodes.len()).map(|i| (i, ())).collect();
        self.agree_among(&everyone, what, |chain, ()| read(chain))
            .await
    }

    /// `read` asked of the nodes `voters` names (with what is already known of each).
    async fn agree_among<'a, K, T, F, Fut>(
        &'a self,
        voters: &[(usize, K)],
        what: &'static str,
        read: F,
    ) -> Result<T, ReadError>
    where
        K: Copy,
        T: PartialEq + Debug,
        F: Fn(&'a Chain, K) -> Fut,
        Fut: Future<Output = medconsent_chain::Result<T>>,
    {
        let started = Instant::now();
        let answers = join_all(
            voters
                .iter()
                .filter_map(|&(i, known)| self.nodes.get(i).map(|node| read(&node.chain, known))),
        )
        .await;
        self.metrics.chain_read(started.elapsed());
        let mut groups: Vec<(T, Vec<usize>)> = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        for (&(i, _), answer) in voters.iter().zip(answers) {
            match answer {
                Ok(value) => match groups.iter_mut().find(|(seen, _)| *seen == value) {
                    Some((_, nodes)) => nodes.push(i),
                    None => groups.push((value, vec![i])),
                },
                Err(e) => failures.push(format!("{}: {e}", self.url(i))),
            }
        }
        if let Some(at) = groups.iter().position(|(_, n)| n.len() >= self.quorum) {
            return Ok(groups.swap_remove(at).0);
        }
        let answered: usize = groups.iter().map(|(_, nodes)| nodes.len()).sum();
        if groups.len() > 1 {
            // For the operator: a node that disagrees is lying, broken or on another chain.
            let said: Vec<String> = groups
                .iter()
                .map(|(value, nodes)| {
                    let urls: Vec<&str> = nodes.iter().map(|&i| self.url(i)).collect();
                    format!("[{}] said {value:?}", urls.join(", "))
                })
                .collect();
            tracing::warn!("nodes disagree on {what}: {}", said.join("; "));
            return Err(ReadError::Disagree {
                what,
                needed: self.quorum,
            });
        }
        Err(ReadError::Unavailable {
            answered,
            needed: self.quorum,
            nodes: self.nodes.len(),
            detail: failures.join("; "),
        })
    }

    fn unavailable<T>(&self, answered: usize, heads: &[medconsent_chain::Result<T>]) -> ReadError {
        let detail: Vec<String> = heads
            .iter()
            .enumerate()
            .filter_map(|(i, head)| head.as_ref().err().map(|e| format!("{}: {e}", self.url(i))))
            .collect();
        ReadError::Unavailable {
            answered,
            needed: self.quorum,
            nodes: self.nodes.len(),
            detail: detail.join("; "),
        }
    }

    fn url(&self, i: usize) -> &str {
        self.nodes.get(i).map_or("?", |node| node.url.as_str())
    }
}

/// One contract read from one node at one block.
struct ContractRead<'a> {
    chain: &'a Chain,
    at: Block,
    origin: &'a AccountId,
    address: &'a AccountId,
}

type Peers = (Option<AccountId>, Option<AccountId>);

impl ContractRead<'_> {
    /// Its code hash, and what its three admin queries answer.
    async fn state<A: Encode + Clone, B: Encode + Clone, C: Encode + Clone>(
        &self,
        full_code: &Message<A, Hash>,
        peers: &Message<B, Peers>,
        scheduled: &Message<C, Option<ScheduledChange>>,
    ) -> medconsent_chain::Result<ContractState> {
        let (chain, at, origin, address) = (self.chain, Some(self.at), self.origin, self.address);
        Ok(ContractState {
            code_hash: chain.code_hash_at(self.at, address).await?,
            full_code: chain.read(at, origin, address, full_code).await?.into(),
            peers: chain.read(at, origin, address, peers).await?,
            scheduled: chain.read(at, origin, address, scheduled).await?,
        })
    }
}

/// Why a node URL or quorum is refused at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeConfigError {
    #[error("name at least one node with --node (one you or your organisation runs)")]
    NoNode,
    #[error("{0}: not a ws:// or wss:// URL")]
    NotWebSocket(String),
    #[error(
        "{0}: plain ws:// beyond this machine lets anyone on the path rewrite what the node \
         says; use wss://, or --insecure-node on a network you control"
    )]
    PlainText(String),
    #[error("{0} is named twice: each --node must be another node")]
    Twice(String),
    #[error("--node-quorum {quorum}: between 1 and the {nodes} nodes named")]
    Quorum { quorum: usize, nodes: usize },
}

/// The nodes' URLs are WebSocket URLs, plain text only to this machine unless the operator
/// says otherwise; the quorum (default: every node) is one the nodes can reach.
pub fn check_nodes(
    urls: &[String],
    quorum: Option<usize>,
    insecure: bool,
) -> Result<usize, NodeConfigError> {
    if urls.is_empty() {
        return Err(NodeConfigError::NoNode);
    }
    // The same node twice would count as two votes.
    for (i, url) in urls.iter().enumerate() {
        if urls[..i]
            .iter()
            .any(|u| u.trim_end_matches('/') == url.trim_end_matches('/'))
        {
            return Err(NodeConfigError::Twice(url.clone()));
        }
    }
    for url in urls {
        let (scheme, _) = url
            .split_once("://")
            .ok_or_else(|| NodeConfigError::NotWebSocket(url.clone()))?;
        match scheme {
            "wss" => {}
            "ws" if insecure || medconsent_chain::is_loopback_url(url) => {}
            "ws" => return Err(NodeConfigError::PlainText(url.clone())),
            _ => return Err(NodeConfigError::NotWebSocket(url.clone())),
        }
    }
    let quorum = quorum.unwrap_or(urls.len());
    if quorum == 0 || quorum > urls.len() {
        return Err(NodeConfigError::Quorum {
            quorum,
            nodes: urls.len(),
        });
    }
    Ok(quorum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_nodes_only_on_this_machine_unless_told() {
        let urls = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        for local in [
            "ws://127.0.0.1:9944",
            "ws://localhost:9944",
            "ws://[::1]:9944",
            "ws://127.0.0.2",
        ] {
            assert_eq!(check_nodes(&urls(&[local]), None, false), Ok(1), "{local}");
        }
        assert_eq!(
            check_nodes(&urls(&["wss://rpc.example.org"]), None, false),
            Ok(1)
        );
        for remote in [
            "ws://10.0.0.5:9944",
            "ws://rpc.example.org:9944",
            "ws://127.0.0.1.example.org",
            "ws://localhost.example.org:9944/",
            "ws://[::2]:9944",
            "ws://127.0.0.1@rpc.example.org:9944",
        ] {
            assert_eq!(
                check_nodes(&urls(&[remote]), None, false),
                Err(NodeConfigError::PlainText(remote.into())),
                "{remote}"
            );
            assert_eq!(check_nodes(&urls(&[remote]), None, true), Ok(1));
        }
        for odd in ["http://127.0.0.1:9944", "127.0.0.1:9944", "wss//x"] {
            assert_eq!(
                check_nodes(&urls(&[odd]), None, true),
                Err(NodeConfigError::NotWebSocket(odd.into()))
            );
        }
    }

    #[test]
    fn the_quorum_defaults_to_every_node_and_must_be_reachable() {
        let two = vec!["wss://a".to_string(), "wss://b".to_string()];
        assert_eq!(check_nodes(&two, None, false), Ok(2));
        assert_eq!(check_nodes(&two, Some(1), false), Ok(1));
        assert_eq!(
            check_nodes(&two, Some(3), false),
            Err(NodeConfigError::Quorum {
                quorum: 3,
                nodes: 2
            })
        );
        assert_eq!(
            check_nodes(&two, Some(0), false),
            Err(NodeConfigError::Quorum {
                quorum: 0,
                nodes: 2
            })
        );
        assert_eq!(check_nodes(&[], None, false), Err(NodeConfigError::NoNode));
        let twice = vec!["wss://a".to_string(), "wss://a/".to_string()];
        assert_eq!(
            check_nodes(&twice, None, false),
            Err(NodeConfigError::Twice("wss://a/".into()))
        );
    }
}
