//! The contracts a server acts for must stay the ones its deployment file pins: their
//! code (front and full) and their wiring. A compromised admin could otherwise swap in a
//! registry that makes up Access entries, and every server would release on them. A
//! watcher reads the three contracts at a finalized block its nodes agree on, on start
//! and every interval; while anything differs from the pins the server releases nothing
//! deletes nothing (503 `contracts_changed`), until its operator reviews the change and
//! restarts it with a deployment file that pins the new code or wiring; a change undone
//! later still needs that review. An announced change (the admin's delay runs) is logged
//! when first seen, and from the time it may apply the server refuses. A look vouches for
//! the contracts until its chain time plus the deployment's change delay (no change can
//! apply sooner); a request at a later block looks itself first, so a watcher that could
//! not read (a node garbling these reads) never leaves the server acting unchecked.

use crate::facts::ReadError;
use crate::http::ServerState;
use medconsent_chain::{AccountId, Block, DeployedContract, Deployment};
use medconsent_shared::ScheduledChange;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One contract as the chain has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractState {
    pub code_hash: Option<[u8; 32]>,
    pub full_code: [u8; 32],
    pub peers: (Option<AccountId>, Option<AccountId>),
    pub scheduled: Option<ScheduledChange>,
}

/// The three contracts as the chain has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractsState {
    pub registry: ContractState,
    pub consents: ContractState,
    pub log: ContractState,
}

/// What differs from the deployment's pins, in words (empty: as pinned).
pub fn differences(deployment: &Deployment, state: &ContractsState) -> Vec<String> {
    let pinned = &deployment.contracts;
    let (registry, consents, log) = (
        pinned.record_registry.address,
        pinned.consent_manager.address,
        pinned.access_log.address,
    );
    let mut found = Vec::new();
    let mut check =
        |name: &str, pin: &DeployedContract, now: &ContractState, peers: (AccountId, AccountId)| {
            if now.code_hash != Some(pin.code_hash) {
                found.push(format!("the {name}'s code is not the pinned one"));
            }
            if now.full_code != pin.full_code_hash {
                found.push(format!("the {name}'s full code is not the pinned one"));
            }
            if now.peers != (Some(peers.0), Some(peers.1)) {
                found.push(format!("the {name} is wired to other contracts"));
            }
        };
    check(
        "record registry",
        &pinned.record_registry,
        &state.registry,
        (consents, log),
    );
    check(
        "consent manager",
        &pinned.consent_manager,
        &state.consents,
        (registry, log),
    );
    check(
        "access log",
        &pinned.access_log,
        &state.log,
        (registry, consents),
    );
    found
}

/// Whether the contracts are as pinned, as last read.
#[derive(Default)]
pub struct PinWatch {
    /// Some: why the server refuses, for good (until its operator restarts it with new
    /// pins): a change seen once is never forgotten, even if the admin undoes it, since
    /// what the changed code wrote meanwhile stays.
    changed: Mutex<Option<String>>,
    announced: Mutex<Vec<ScheduledChange>>,
    /// The earliest time (ms, chain time) an announced change may apply.
    due_at: Mutex<Option<u64>>,
    /// The chain time of the last look that found the contracts as pinned. No change
    /// can apply before it plus the deployment's change delay, so until then no new
    /// look is needed; after it, a request looks itself before acting.
    looked_at: Mutex<Option<u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl PinWatch {
    /// Why the server must not act at chain time `now`, if it must not; `None` also
    /// when a fresh look is needed first (see [`PinWatch::needs_look`]).
    pub fn refusal(&self, now: u64) -> Option<String> {
        if let Some(why) = lock(&self.changed).clone() {
            return Some(why);
        }
        let due_at = *lock(&self.due_at);
        due_at.filter(|at| *at <= now).map(|at| {
            format!("an announced change of the contracts may apply from {at} (ms): waiting for the operator's review")
        })
    }

    /// Whether the last good look is too old to vouch for chain time `now`.
    pub fn needs_look(&self, now: u64, change_delay: u64) -> bool {
        lock(&self.looked_at).is_none_or(|at| at.saturating_add(change_delay) <= now)
    }

    fn record(&self, at: u64, found: Vec<String>) {
        if found.is_empty() {
            let mut looked_at = lock(&self.looked_at);
            *looked_at = Some(looked_at.map_or(at, |before| before.max(at)));
            return;
        }
        let mut changed = lock(&self.changed);
        if changed.is_none() {
            let why = found.join("; ");
            tracing::error!("contracts: {why}: releasing nothing until the operator restarts this server with new pins");
            *changed = Some(why);
        }
    }

    /// Logs each announced change once, and keeps the earliest time one may apply.
    fn announce(&self, state: &ContractsState) {
        let earliest = [&state.registry, &state.consents, &state.log]
            .iter()
            .filter_map(|c| c.scheduled.map(|s| s.effective_at))
            .min();
        *lock(&self.due_at) = earliest;
        let mut seen = lock(&self.announced);
        for (name, contract) in [
            ("record registry", &state.registry),
            ("consent manager", &state.consents),
            ("access log", &state.log),
        ] {
            if let Some(scheduled) = contract.scheduled {
                if !seen.contains(&scheduled) {
                    tracing::warn!(
                        "contracts: the admin announced a change of the {name}: {:?}, effective at {} (ms): review it",
                        scheduled.change, scheduled.effective_at
                    );
                    seen.push(scheduled);
                }
            }
        }
    }
}

/// One look at `block` (chain time `now`): the contracts against the pins.
pub async fn look(server: &ServerState, block: Block, now: u64) -> Result<(), ReadError> {
    let state = server.reader.contracts_state(block).await?;
    server.pins.announce(&state);
    server
        .pins
        .record(now, differences(&server.deployment, &state));
    Ok(())
}

/// Before acting at `block`: the contracts are as pinned, looking again first if the
/// last look is too old to vouch for `now`; nothing announced may apply yet.
pub async fn ensure_pinned(server: &ServerState, block: Block, now: u64) -> Result<(), PinError> {
    if server
        .pins
        .needs_look(now, server.deployment.change_delay_ms)
    {
        look(server, block, now).await?;
    }
    match server.pins.refusal(now) {
        Some(why) => Err(PinError::Changed(why)),
        None => Ok(()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("{0}")]
    Changed(String),
}

/// Looks every `interval` for as long as the server runs, so a request rarely has to.
/// A failed look (nodes down or disagreeing) is logged; requests then look themselves.
pub async fn run(server: Arc<ServerState>, interval: Duration) {
    loop {
        let looked = async {
            let (block, now) = server.reader.finalized().await?;
            look(&server, block, now).await
        };
        if let Err(e) = looked.await {
            tracing::warn!("contracts: not read: {e}");
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::AdminChange;

    /// A deployment with distinct addresses and code hashes (the values do not matter).
    fn deployment() -> Deployment {
        let contract = |address: u8, code: u8| DeployedContract {
            address: AccountId::from([address; 32]),
            code_hash: [code; 32],
            full_code_hash: [code.wrapping_add(1); 32],
        };
        let mut deployment = Deployment::parse(
            r#"{"chain": "dev", "genesis_hash": "0x0000000000000000000000000000000000000000000000000000000000000000",
                "url": "ws://127.0.0.1:9944", "change_delay_ms": 1,
                "contracts": {
                  "access_log": {"address": "0x0101010101010101010101010101010101010101010101010101010101010101", "code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000", "full_code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000"},
                  "consent_manager": {"address": "0x0202020202020202020202020202020202020202020202020202020202020202", "code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000", "full_code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000"},
                  "record_registry": {"address": "0x0303030303030303030303030303030303030303030303030303030303030303", "code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000", "full_code_hash": "0x0000000000000000000000000000000000000000000000000000000000000000"}}}"#,
        )
        .unwrap();
        deployment.contracts.access_log = contract(1, 10);
        deployment.contracts.consent_manager = contract(2, 20);
        deployment.contracts.record_registry = contract(3, 30);
        deployment
    }

    fn as_pinned(d: &Deployment) -> ContractsState {
        let state = |c: &DeployedContract, peers: (u8, u8)| ContractState {
            code_hash: Some(c.code_hash),
            full_code: c.full_code_hash,
            peers: (
                Some(AccountId::from([peers.0; 32])),
                Some(AccountId::from([peers.1; 32])),
            ),
            scheduled: None,
        };
        ContractsState {
            registry: state(&d.contracts.record_registry, (2, 1)),
            consents: state(&d.contracts.consent_manager, (3, 1)),
            log: state(&d.contracts.access_log, (3, 2)),
        }
    }

    #[test]
    fn any_code_or_wiring_change_is_a_difference_and_an_announcement_is_not() {
        let d = deployment();
        let pinned = as_pinned(&d);
        assert_eq!(differences(&d, &pinned), Vec::<String>::new());
        let mut announced = pinned;
        announced.registry.scheduled = Some(ScheduledChange {
            change: AdminChange::Code([7; 32].into(), [8; 32].into()),
            effective_at: 9,
        });
        assert_eq!(differences(&d, &announced), Vec::<String>::new());
        let mut front = pinned;
        front.registry.code_hash = Some([7; 32]);
        let mut full = pinned;
        full.log.full_code = [8; 32];
        let mut wiring = pinned;
        wiring.consents.peers.1 = Some(AccountId::from([9; 32]));
        let mut gone = pinned;
        gone.consents.code_hash = None;
        let mut swapped = pinned;
        swapped.registry.peers = (swapped.registry.peers.1, swapped.registry.peers.0);
        for (changed, expected) in [
            (front, "the record registry's code is not the pinned one"),
            (full, "the access log's full code is not the pinned one"),
            (wiring, "the consent manager is wired to other contracts"),
            (gone, "the consent manager's code is not the pinned one"),
            (swapped, "the record registry is wired to other contracts"),
        ] {
            assert_eq!(differences(&d, &changed), vec![expected.to_owned()]);
        }
    }
}
