//! The contracts a server acts for must stay the ones its deployment file pins: their
//! code (front and full) and their wiring. A compromised admin could otherwise swap in a
//! registry that makes up Access entries, and every server would release on them. A
//! watcher reads the three contracts at a finalized block its nodes agree on, on start
//! and every interval; while anything differs from the pins the server releases nothing
//! and takes no deposit (503 `contracts_changed`), until its operator reviews the change
//! and restarts it with a deployment file that pins the new code or wiring. An announced
//! change (the admin's delay runs) is logged when first seen, so the operator has that
//! delay to review it, and from the time it may apply the server refuses too: a change
//! applied between two looks is never acted on.

use crate::facts::ReadError;
use crate::http::ServerState;
use medconsent_chain::{AccountId, DeployedContract, Deployment};
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
    /// None: as pinned. Some: why not (or that they could not be read yet).
    changed: Mutex<Option<String>>,
    announced: Mutex<Vec<ScheduledChange>>,
    /// The earliest time (ms, chain time) an announced change may apply: from then on
    /// the server refuses, so there is no gap between a change and the next look.
    due_at: Mutex<Option<u64>>,
}

impl PinWatch {
    /// A watch that refuses until the first read says the contracts are as pinned.
    pub fn unchecked() -> Self {
        Self {
            changed: Mutex::new(Some("the contracts were not read yet".into())),
            announced: Mutex::new(Vec::new()),
            due_at: Mutex::new(None),
        }
    }

    /// Why the server must not act at chain time `now`: an announced change may have
    /// applied by then.
    pub fn due(&self, now: u64) -> Option<String> {
        let due_at = *self.due_at.lock().unwrap_or_else(|e| e.into_inner());
        due_at.filter(|at| *at <= now).map(|at| {
            format!("an announced change of the contracts may apply from {at} (ms): waiting for the operator's review")
        })
    }

    /// Why the server must not act now, if it must not.
    pub fn changed(&self) -> Option<String> {
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, now: Option<String>) {
        let mut changed = self.changed.lock().unwrap_or_else(|e| e.into_inner());
        if *changed != now {
            match &now {
                Some(why) => eprintln!("contracts: {why}: releasing nothing until reviewed"),
                None => eprintln!("contracts: as the deployment pins them"),
            }
        }
        *changed = now;
    }

    /// Logs each announced change once, and keeps the earliest time one may apply.
    fn announce(&self, state: &ContractsState) {
        let earliest = [&state.registry, &state.consents, &state.log]
            .iter()
            .filter_map(|c| c.scheduled.map(|s| s.effective_at))
            .min();
        *self.due_at.lock().unwrap_or_else(|e| e.into_inner()) = earliest;
        let mut seen = self.announced.lock().unwrap_or_else(|e| e.into_inner());
        for (name, contract) in [
            ("record registry", &state.registry),
            ("consent manager", &state.consents),
            ("access log", &state.log),
        ] {
            if let Some(scheduled) = contract.scheduled {
                if !seen.contains(&scheduled) {
                    eprintln!(
                        "contracts: the admin announced a change of the {name}: {:?}, effective at {} (ms): review it",
                        scheduled.change, scheduled.effective_at
                    );
                    seen.push(scheduled);
                }
            }
        }
    }
}

/// One look: the contracts at a finalized block the nodes agree on, against the pins.
pub async fn check_once(server: &ServerState) -> Result<(), ReadError> {
    let (block, _) = server.reader.finalized().await?;
    let state = server.reader.contracts_state(block).await?;
    server.pins.announce(&state);
    let found = differences(&server.deployment, &state);
    server
        .pins
        .set((!found.is_empty()).then(|| found.join("; ")));
    Ok(())
}

/// Looks every `interval` for as long as the server runs. A failed look (nodes down or
/// disagreeing) keeps the last verdict.
pub async fn run(server: Arc<ServerState>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        if let Err(e) = check_once(&server).await {
            eprintln!("contracts: not read: {e}");
        }
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
