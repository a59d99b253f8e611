//! The benchmark (scripts/bench.sh runs it; the default suite skips it): weight and
//! storage deposit of every state-changing message on the RELEASE builds, the access
//! path and grant/revoke after 1, 100 and 1,000 earlier records, consents and log entries,
//! and what that means per block. Writes the report to `$MEDCONSENT_BENCH_OUT`.
//!
//! Figures are the dry run's `gas_consumed` and `storage_deposit` of the very transaction
//! that is then submitted, so they are deterministic weights, not timings.

use crate::support::*;
use ink_e2e::{ContractsBackend, Keypair};
use medconsent_shared::{
    signing_message, Action, ActionSet, ConsentShown, ConsentTerms, Decision, Grantee, Purpose,
    PurposeSet, Role, RoleSet, Scope, SignedAction, SigningDomain,
};
use pallet_contracts::StorageDeposit;
use std::fmt::Write;

/// pallet-contracts 31 charges this, outside `gas_consumed`, on every `Contracts::call`
/// (its `WeightInfo::call()`: 216,983 ns + 11 reads x 25 us + 4 writes x 100 us, 9,244 B),
/// and frame charges the extrinsic base weight (124,414 ns) on top.
const CALL_OVERHEAD_REF_TIME: u64 = 891_983_000 + 124_414_000;
const CALL_OVERHEAD_PROOF: u64 = 9_244;
/// substrate-contracts-node: 2 s of ref_time per block, 75 % for normal extrinsics,
/// proof size unbounded.
const DEV_NORMAL_REF_TIME: u64 = 1_500_000_000_000;
/// A parachain block: 0.5 s ref_time and 5 MiB proof, 75 % of each for normal extrinsics.
const PARA_NORMAL_REF_TIME: u64 = 375_000_000_000;
const PARA_NORMAL_PROOF: u64 = 5 * 1024 * 1024 * 3 / 4;
/// substrate-contracts-node's deposit: 0.1 unit per storage item, 0.000005 per byte.
const DEPOSIT_PER_ITEM: i128 = 100_000_000_000;
const DEPOSIT_PER_BYTE: i128 = 5_000_000;
/// A CIDv1 locator as the client makes it (59 bytes).
const LOCATOR: &[u8] = b"bafkreidcqr2xa6jvuo5neq2fnsm2mfxmsdrrhcso5nuonwbvvdoxteaz7u";
const HISTORY: [u64; 3] = [1, 100, 1_000];
/// Chart sizes measured, with their row labels; the first and last give the price of one
/// more record.
const CHARTS: [(usize, &str); 4] = [
    (1, "access_chart: 1 record"),
    (2, "access_chart: 2 records"),
    (8, "access_chart: 8 records"),
    (32, "access_chart: 32 records"),
];

#[derive(Clone, Copy, Debug, PartialEq)]
struct Cost {
    ref_time: u64,
    proof_size: u64,
    /// Net deposit in plancks: positive charged, negative refunded.
    deposit: i128,
}

impl Cost {
    fn of<R>(submitted: &Submitted<R>) -> Self {
        let exec = &submitted.dry_run.exec_result;
        let deposit = match exec.storage_deposit {
            StorageDeposit::Charge(amount) => amount as i128,
            StorageDeposit::Refund(amount) => -(amount as i128),
        };
        Cost {
            ref_time: exec.gas_consumed.ref_time(),
            proof_size: exec.gas_consumed.proof_size(),
            deposit,
        }
    }

    /// Calls of this cost that fit in a block's normal share: (dev node, parachain).
    fn per_block(&self) -> (u64, u64) {
        let ref_time = self.ref_time + CALL_OVERHEAD_REF_TIME;
        let proof = self.proof_size + CALL_OVERHEAD_PROOF;
        let dev = DEV_NORMAL_REF_TIME / ref_time;
        let para = (PARA_NORMAL_REF_TIME / ref_time).min(PARA_NORMAL_PROOF / proof);
        (dev, para)
    }
}

/// Units of 1e12 plancks, as the dev chain's tokens are counted.
fn units(plancks: i128) -> String {
    format!("{:.6}", plancks as f64 / 1e12)
}

/// A deposit as (items, bytes): whole items first, since one item costs more than the
/// largest value we store.
fn items_and_bytes(deposit: i128) -> String {
    let items = deposit / DEPOSIT_PER_ITEM;
    let bytes = (deposit % DEPOSIT_PER_ITEM) / DEPOSIT_PER_BYTE;
    format!("{items:+} / {bytes:+}")
}

fn ms(ref_time: u64) -> String {
    format!("{:.3}", ref_time as f64 / 1e9)
}

fn kb(proof: u64) -> String {
    format!("{:.1}", proof as f64 / 1e3)
}

#[derive(Default)]
struct Report {
    rows: Vec<(&'static str, &'static str, Cost)>,
}

impl Report {
    /// Submits `message` as `signer`, expecting success, and records its cost.
    async fn measure<Args, T, E>(
        &mut self,
        client: &mut Client,
        signer: &Keypair,
        message: &Message<Args, Result<T, E>>,
        contract: &'static str,
        label: &'static str,
    ) -> E2EResult<T>
    where
        Args: Sync + ink::scale::Encode + Clone,
        T: Send + ink::scale::Decode,
        E: Send + ink::scale::Decode + core::fmt::Debug,
    {
        let submitted = client.call(signer, message).submit().await?;
        let cost = Cost::of(&submitted);
        println!("BENCH {contract} {label} {cost:?}");
        self.rows.push((contract, label, cost));
        submitted.return_value().okay()
    }
}

fn permit(scope: Scope, action: Action) -> ConsentTerms {
    ConsentTerms {
        decision: Decision::Permit,
        scope,
        actions: ActionSet::from([action]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 0,
        valid_until: None,
    }
}

/// A grantee account nobody holds: history padding.
fn bystander(n: u64) -> Grantee {
    let mut raw = [0xbb; 32];
    raw[..8].copy_from_slice(&n.to_le_bytes());
    Grantee::Account(raw.into())
}

fn content_hash(n: u64) -> [u8; 32] {
    let mut raw = [0xc0; 32];
    raw[..8].copy_from_slice(&n.to_le_bytes());
    raw
}

/// Deploys (with no change delay), wires, and replaces the (debug) e2e code with the
/// release builds.
async fn release_system(client: &mut Client, genesis_hash: [u8; 32]) -> E2EResult<System> {
    let sys = deploy_on(client, genesis_hash).await?;
    let registry = release_upgrade(client, "record_registry").await?;
    let consents = release_upgrade(client, "consent_manager").await?;
    let log = release_upgrade(client, "access_log").await?;
    let upgrade = |change| change;
    submit_ok(
        client,
        &admin(),
        &sys.registry().schedule_change(upgrade(registry)),
    )
    .await?;
    submit_ok(
        client,
        &admin(),
        &sys.consents().schedule_change(upgrade(consents)),
    )
    .await?;
    submit_ok(client, &admin(), &sys.log().schedule_change(upgrade(log))).await?;
    Ok(sys)
}

/// Every state-changing message once, on a fresh system.
mod measure;
mod report;

use measure::{every_message, history_growth, HISTORY_PATHS};
use report::{growth, render, wasm_sizes};

#[test]
#[ignore = "the benchmark: run by scripts/bench.sh"]
fn benchmark() -> E2EResult<()> {
    block_on(run_benchmark())
}

/// On a node of its own, so that signed consents can be bound to its genesis hash.
async fn run_benchmark() -> E2EResult<()> {
    let base = std::env::temp_dir().join(format!("medconsent-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let node = OwnNode::start(&base).await?;
    let genesis_hash = node.genesis_hash().await?;
    let mut client = node.client().await?;
    let sizes = wasm_sizes()?;
    let mut messages = Report::default();
    every_message(&mut client, genesis_hash, &mut messages).await?;
    let history = history_growth(&mut client, genesis_hash).await?;
    let report = render(&sizes, &messages, &history)?;
    let out = std::env::var("MEDCONSENT_BENCH_OUT")
        .unwrap_or_else(|_| format!("{}/../BENCHMARKS.md", env!("CARGO_MANIFEST_DIR")));
    std::fs::write(&out, report)?;
    println!("BENCH wrote {out}");
    // The bound: the access path's cost must not grow with a patient's history.
    for (path, name) in HISTORY_PATHS.iter().enumerate() {
        let [ref_time, proof, _] = growth(&history, path);
        assert!(
            ref_time.max(proof) <= 1.05,
            "{name} grows with history: ref_time x{ref_time:.4}, proof x{proof:.4}"
        );
    }
    drop(client);
    drop(node);
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
