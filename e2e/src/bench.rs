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
    signing_message, Action, ActionSet, ConsentTerms, Decision, Grantee, Purpose, PurposeSet, Role,
    RoleSet, Scope, SignedAction, SigningDomain,
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
async fn every_message(
    client: &mut Client,
    genesis_hash: [u8; 32],
    report: &mut Report,
) -> E2EResult<()> {
    let sys = release_system(client, genesis_hash).await?;
    let (p, dr, er) = (patient_id(), doctor_id(), responder_id());
    let (reg, cm, log) = ("record_registry", "consent_manager", "access_log");

    let register = sys.registry().register_record(
        p,
        0,
        3,
        content_hash(0),
        LOCATOR.to_vec(),
        Purpose::PatientRequest,
    );
    let record = report
        .measure(client, &patient(), &register, reg, "register_record")
        .await?;
    let grant = sys.consents().grant(
        p,
        Grantee::Account(dr),
        permit(Scope::AllRecords, Action::Read),
    );
    let consent = report
        .measure(client, &patient(), &grant, cm, "grant")
        .await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    report
        .measure(client, &doctor(), &access, reg, "access_record: released")
        .await?;
    // Eve is an active provider without consent: the whole path runs and denies.
    report
        .measure(client, &responder(), &access, reg, "access_record: denied")
        .await?;
    // Charts of the same record: what one more record costs inside one call.
    for (records, label) in CHARTS {
        let chart = sys
            .registry()
            .access_chart(p, vec![record; records], Purpose::Treat);
        report
            .measure(client, &doctor(), &chart, reg, label)
            .await?;
    }
    let amend = sys.registry().amend_record(
        record,
        content_hash(1),
        LOCATOR.to_vec(),
        Purpose::PatientRequest,
    );
    report
        .measure(client, &patient(), &amend, reg, "amend_record")
        .await?;
    let emergency = sys.registry().emergency_access(record, [0xee; 32]);
    report
        .measure(client, &responder(), &emergency, reg, "emergency_access")
        .await?;
    let review = sys.registry().review_emergencies(p, vec![(0, true)]);
    report
        .measure(client, &patient(), &review, reg, "review_emergencies (one)")
        .await?;
    let revoke = sys.consents().revoke(p, consent);
    report
        .measure(client, &patient(), &revoke, cm, "revoke")
        .await?;
    // The same, signed by the patient's key and relayed (and paid) by a stranger.
    let domain = SigningDomain {
        contract: sys.consents,
        genesis_hash,
    };
    let terms = permit(Scope::AllRecords, Action::Read);
    let grant = SignedAction::Grant {
        grantee: Grantee::Account(dr),
        terms,
    };
    let signature = patient()
        .sign(&signing_message(&domain, &p, &grant, 0, u64::MAX))
        .0;
    let relayed =
        sys.consents()
            .grant_signed(p, Grantee::Account(dr), terms, 0, u64::MAX, signature);
    let signed_consent = report
        .measure(client, &stranger(), &relayed, cm, "grant_signed")
        .await?;
    let revoke = SignedAction::Revoke {
        consent_id: signed_consent,
    };
    let signature = patient()
        .sign(&signing_message(&domain, &p, &revoke, 1, u64::MAX))
        .0;
    let relayed = sys
        .consents()
        .revoke_signed(p, signed_consent, 1, u64::MAX, signature);
    report
        .measure(client, &stranger(), &relayed, cm, "revoke_signed")
        .await?;
    let retire = sys.registry().retire_record(record);
    report
        .measure(client, &patient(), &retire, reg, "retire_record")
        .await?;

    let appoint = sys.consents().appoint_delegate(delegate_id(), None);
    report
        .measure(client, &patient(), &appoint, cm, "appoint_delegate")
        .await?;
    let remove = sys.consents().remove_delegate(delegate_id());
    report
        .measure(client, &patient(), &remove, cm, "remove_delegate")
        .await?;
    let opt_out = sys.consents().set_emergency_opt_out(p, true);
    report
        .measure(client, &patient(), &opt_out, cm, "set_emergency_opt_out")
        .await?;
    let void = sys.consents().void_signature(p, 0x5eed);
    report
        .measure(client, &patient(), &void, cm, "void_signature")
        .await?;
    let clinician = RoleSet::from([Role::Clinician]);
    let register_provider = sys
        .consents()
        .register_provider(stranger_id(), clinician, [0x5a; 32]);
    report
        .measure(
            client,
            &admin(),
            &register_provider,
            cm,
            "register_provider",
        )
        .await?;
    let suspend = sys.consents().suspend_provider(er);
    report
        .measure(client, &admin(), &suspend, cm, "suspend_provider")
        .await?;
    let reactivate = sys.consents().reactivate_provider(er);
    report
        .measure(client, &admin(), &reactivate, cm, "reactivate_provider")
        .await?;
    let roles = sys.consents().set_provider_roles(dr, clinician);
    report
        .measure(client, &admin(), &roles, cm, "set_provider_roles")
        .await?;
    let rotate = sys.consents().rotate_provider_key([0xd1; 32]);
    report
        .measure(client, &doctor(), &rotate, cm, "rotate_provider_key")
        .await?;

    // Admin messages of each contract (the same `Admin` rules in all three). This
    // system has no change delay, so each rewiring applies within its announcement.
    let rewire = sys
        .registry()
        .schedule_change(AdminChange::Peers(sys.consents, sys.log));
    report
        .measure(
            client,
            &admin(),
            &rewire,
            reg,
            "schedule_change (peers, applied)",
        )
        .await?;
    let rewire = sys
        .consents()
        .schedule_change(AdminChange::Peers(sys.registry, sys.log));
    report
        .measure(
            client,
            &admin(),
            &rewire,
            cm,
            "schedule_change (peers, applied)",
        )
        .await?;
    let rewire = sys
        .log()
        .schedule_change(AdminChange::Peers(sys.registry, sys.consents));
    report
        .measure(
            client,
            &admin(),
            &rewire,
            log,
            "schedule_change (writers, applied)",
        )
        .await?;
    report
        .measure(
            client,
            &admin(),
            &sys.registry().set_paused(true),
            reg,
            "set_paused",
        )
        .await?;
    submit_ok(client, &admin(), &sys.registry().set_paused(false)).await?;
    report
        .measure(
            client,
            &admin(),
            &sys.consents().set_paused(true),
            cm,
            "set_paused",
        )
        .await?;
    submit_ok(client, &admin(), &sys.consents().set_paused(false)).await?;
    let heir = delegate_id();
    report
        .measure(
            client,
            &admin(),
            &sys.log().propose_admin(heir),
            log,
            "propose_admin",
        )
        .await?;
    report
        .measure(
            client,
            &delegate(),
            &sys.log().accept_admin(),
            log,
            "accept_admin",
        )
        .await?;
    let upgrade = release_upgrade(client, "access_log").await?;
    report
        .measure(
            client,
            &delegate(),
            &sys.log().schedule_change(upgrade),
            log,
            "schedule_change (code, applied)",
        )
        .await?;
    Ok(())
}

/// The paths whose cost must not grow with a patient's history, in measuring order.
const HISTORY_PATHS: [&str; 4] = [
    "access_record: released",
    "access_record: denied",
    "grant",
    "revoke",
];

struct HistoryCosts {
    /// One per HISTORY_PATHS entry.
    paths: Vec<Cost>,
    log_length: u64,
}

/// Grows one patient's history to 1, 100 and 1,000 records and consents (each with its
/// log entry) and measures the access path and grant/revoke at each size.
async fn history_growth(
    client: &mut Client,
    genesis_hash: [u8; 32],
) -> E2EResult<Vec<(u64, HistoryCosts)>> {
    let sys = release_system(client, genesis_hash).await?;
    let (p, dr) = (patient_id(), doctor_id());
    let mut levels = Vec::new();
    let (mut records, mut consents) = (0u64, 0u64);
    let mut report = Report::default();
    for level in HISTORY {
        while records < level {
            let next = next_record_id(client, &sys).await?;
            let register = sys.registry().register_record(
                p,
                next,
                3,
                content_hash(1_000_000 + records),
                LOCATOR.to_vec(),
                Purpose::PatientRequest,
            );
            submit_ok(client, &patient(), &register).await?;
            records += 1;
        }
        while consents < level {
            // The first consent is the doctor's (the one the access uses); the others
            // go to distinct accounts, each a pair of its own.
            let grantee = if consents == 0 {
                Grantee::Account(dr)
            } else {
                bystander(consents)
            };
            let grant = sys
                .consents()
                .grant(p, grantee, permit(Scope::AllRecords, Action::Read));
            submit_ok(client, &patient(), &grant).await?;
            consents += 1;
        }
        let access = sys.registry().access_record(0, Purpose::Treat);
        let label = "history";
        report
            .measure(client, &doctor(), &access, "", label)
            .await?;
        report
            .measure(client, &responder(), &access, "", label)
            .await?;
        let grant = sys.consents().grant(
            p,
            Grantee::Account(dr),
            permit(Scope::Category(3), Action::Read),
        );
        let extra = report
            .measure(client, &patient(), &grant, "", label)
            .await?;
        report
            .measure(
                client,
                &patient(),
                &sys.consents().revoke(p, extra),
                "",
                label,
            )
            .await?;
        consents += 1;
        let log_length = query(client, &sys.log().head(p)).await?.length;
        let paths = report.rows.drain(..).map(|(_, _, cost)| cost).collect();
        levels.push((level, HistoryCosts { paths, log_length }));
        println!("BENCH history {level}: log length {log_length}");
    }
    verified_chain(client, &sys, p).await?;
    Ok(levels)
}

/// Each contract's front (deployed) and full code, as built by `cargo contract build --release`.
const ARTIFACTS: [&str; 6] = [
    "record_registry",
    "consent_manager",
    "access_log",
    "record_registry_full",
    "consent_manager_full",
    "access_log_full",
];

fn wasm_sizes() -> E2EResult<Vec<(&'static str, u64)>> {
    ARTIFACTS
        .into_iter()
        .map(|contract| {
            let path = format!(
                "{}/../target/ink/{contract}/{contract}.wasm",
                env!("CARGO_MANIFEST_DIR")
            );
            Ok((contract, std::fs::metadata(&path)?.len()))
        })
        .collect()
}

fn cost_cells(cost: &Cost) -> String {
    let (dev, para) = cost.per_block();
    format!(
        "| {} | {} | {} | {} | {} | {} |",
        ms(cost.ref_time),
        kb(cost.proof_size),
        units(cost.deposit),
        items_and_bytes(cost.deposit),
        dev,
        para
    )
}

fn render(
    sizes: &[(&str, u64)],
    messages: &Report,
    history: &[(u64, HistoryCosts)],
) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    writeln!(out, "# Benchmarks")?;
    writeln!(out)?;
    writeln!(
        out,
        "Written by `scripts/bench.sh` (do not edit by hand): release builds of the three \
         contracts (`cargo contract build --release`, cargo-contract 5.0.3, ink! 5.1.1) on \
         substrate-contracts-node 0.41.0 (pallet-contracts 31). Weights are the dry run of \
         each transaction that was then submitted: deterministic, not timings."
    )?;
    writeln!(out)?;
    writeln!(out, "## Code size (optimized Wasm)")?;
    writeln!(out)?;
    writeln!(out, "| contract | bytes | KiB | target 16 KiB |")?;
    writeln!(out, "|---|---:|---:|---|")?;
    for (contract, bytes) in sizes {
        let verdict = if *bytes <= 16 * 1024 { "met" } else { "over" };
        writeln!(
            out,
            "| {contract} | {bytes} | {:.1} | {verdict} |",
            *bytes as f64 / 1024.0
        )?;
    }
    writeln!(out)?;
    writeln!(out, "## Every state-changing message")?;
    writeln!(out)?;
    writeln!(
        out,
        "ref_time in ms, proof_size in KB (1,000 bytes), deposit in dev-chain units \
         (1e12 plancks; negative = refunded) and as storage items / bytes (0.1 unit per \
         item, 0.000005 per byte, net over all contracts the call touched). \"per block\" \
         adds the fixed cost of a `Contracts::call` extrinsic that `gas_consumed` leaves \
         out (1.016 ms ref_time, 9.2 KB proof) and divides into the normal-class share: \
         dev node 2 s x 75 % ref_time (proof unbounded); parachain 0.5 s x 75 % ref_time \
         and 5 MiB x 75 % proof."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| contract | message | ref_time ms | proof KB | deposit | items / bytes | per block (dev) | per block (parachain) |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for (contract, label, cost) in &messages.rows {
        writeln!(out, "| {contract} | {label} {}", cost_cells(cost))?;
    }
    writeln!(out)?;
    writeln!(out, "`access_record` is the whole access path: the registry asks the consent manager (`check_chart`, for one record) and appends to the access log (`append_chart`); `register_record`, `amend_record`, `retire_record`, `review_emergencies`, `emergency_access`, `grant` and `revoke` each include their log append. `append` itself is only callable by the two writer contracts, so it appears inside those rows. Messages off the access path run in their contract's full code: their rows include loading the front, one delegate call and the full code.")?;
    writeln!(out)?;
    render_against_baseline(&mut out, sizes, messages)?;
    render_breakdown(&mut out, sizes, messages)?;
    render_feature_prices(&mut out)?;
    writeln!(out, "## Cost against history (one patient)")?;
    writeln!(out)?;
    writeln!(
        out,
        "Before each row the patient holds N records and N consents (N-1 of them to other \
         grantees, each a pair of its own), each with its log entry, plus the entries of \
         the rows before. The access is the doctor's read of record 0 under consent 0; the \
         denied access is a provider without consent; grant and revoke add and remove a \
         second rule of the doctor's pair."
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| N | log entries | path | ref_time ms | proof KB | deposit | items / bytes | per block (dev) | per block (parachain) |"
    )?;
    writeln!(out, "|---:|---:|---|---:|---:|---:|---:|---:|---:|")?;
    for (level, costs) in history {
        for (name, cost) in HISTORY_PATHS.iter().zip(&costs.paths) {
            writeln!(
                out,
                "| {level} | {} | {name} {}",
                costs.log_length,
                cost_cells(cost)
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "Largest / smallest across N (the issue's bound is 1.05; deposit compares absolute values):"
    )?;
    writeln!(out)?;
    writeln!(out, "| path | ref_time | proof_size | deposit |")?;
    writeln!(out, "|---|---:|---:|---:|")?;
    for (path, name) in HISTORY_PATHS.iter().enumerate() {
        let [ref_time, proof, deposit] = growth(history, path);
        writeln!(
            out,
            "| {name} | {ref_time:.4} | {proof:.4} | {deposit:.4} |"
        )?;
    }
    Ok(out)
}

/// pallet-contracts 31 (`SubstrateWeight`): loading a contract's code costs 33,471 ps
/// and 1 proof byte per byte of code (`call_with_code_per_byte`); each cross-contract
/// call costs 250,370,283 ps plus 2 reads and 2 writes (RocksDb: 25 / 100 us) and 2,721
/// proof bytes (`seal_call`).
const CODE_REF_TIME_PER_BYTE: u64 = 33_471;
const CALL_REF_TIME: u64 = 250_370_283 + 2 * 25_000_000 + 2 * 100_000_000;
const CALL_PROOF: u64 = 2_721;

/// The release before this diet (commit 4b0ff8a's BENCHMARKS.md): each contract's size
/// in bytes (one code per contract then), and (ref_time ps, proof bytes) of the two paths
/// the diet targets. The sizes of the release the diet issue calls "today" (fd52eae,
/// before the hardening) bound the fronts.
const BEFORE_SIZES: [(&str, u64, u64); 3] = [
    ("record_registry", 36_438, 31_071),
    ("consent_manager", 41_001, 37_614),
    ("access_log", 19_165, 16_207),
];
const BEFORE_PATHS: [(&str, u64, u64); 2] = [
    ("access_record: released", 5_943_000_000, 119_300),
    ("grant", 4_480_000_000, 79_700),
];
/// The diet's targets: access_record <= 3.9 ms and 70 KB, grant <= 3.2 ms; one more
/// record of a chart <= 0.3 ms and 1.5 KB; 300 records per parachain block.
const ACCESS_TARGET: (u64, u64) = (3_900_000_000, 70_000);
const GRANT_TARGET_REF_TIME: u64 = 3_200_000_000;
const EXTRA_RECORD_TARGET: (u64, u64) = (300_000_000, 1_500);
const RECORDS_PER_PARA_BLOCK_TARGET: u64 = 300;

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

fn row_cost(messages: &Report, label: &str) -> Option<Cost> {
    messages
        .rows
        .iter()
        .find(|(_, row, _)| *row == label)
        .map(|(_, _, cost)| *cost)
}

/// The diet against the release before it, and against its targets.
fn render_against_baseline(
    out: &mut String,
    sizes: &[(&str, u64)],
    messages: &Report,
) -> Result<(), std::fmt::Error> {
    let size = |name: &str| {
        sizes
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, b)| *b)
    };
    writeln!(
        out,
        "## Against the release before the diet, and the diet's targets"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Before: the previous BENCHMARKS.md (commit 4b0ff8a), one code per contract. Now each \
         contract is a front (deployed, holding the bodies of the access path and of \
         grants: `append`, `append_chart`; `check_chart`, `grant`, `revoke`; \
         `access_record`, `access_chart`, `record_patient`) and a full code that every \
         other message runs in by delegate call (contracts/shared/src/split.rs). \
         \"Bound\" is the size of the release before the hardening, which no front may pass."
    )?;
    writeln!(out)?;
    writeln!(out, "| what | before | now | change | target | |")?;
    writeln!(out, "|---|---:|---:|---:|---:|---|")?;
    for (contract, before, bound) in BEFORE_SIZES {
        let now = size(contract);
        writeln!(
            out,
            "| {contract} front (bytes) | {before} | {now} | {:+} | <= {bound} | {} |",
            now as i64 - before as i64,
            verdict(now <= bound)
        )?;
        let full = size(&format!("{contract}_full"));
        writeln!(
            out,
            "| {contract}_full (bytes) | {before} | {full} | {:+} | | |",
            full as i64 - before as i64
        )?;
    }
    let ms = |ps: u64| ps as f64 / 1e9;
    for (label, ref_time, proof) in BEFORE_PATHS {
        let Some(cost) = row_cost(messages, label) else {
            continue;
        };
        let (time_target, proof_target) = if label == "grant" {
            (GRANT_TARGET_REF_TIME, None)
        } else {
            (ACCESS_TARGET.0, Some(ACCESS_TARGET.1))
        };
        writeln!(
            out,
            "| {label} ref_time (ms) | {:.3} | {:.3} | {:+.3} | <= {:.1} | {} |",
            ms(ref_time),
            ms(cost.ref_time),
            ms(cost.ref_time) - ms(ref_time),
            ms(time_target),
            verdict(cost.ref_time <= time_target)
        )?;
        let (target, met) = match proof_target {
            Some(t) => (format!("<= {}", kb(t)), verdict(cost.proof_size <= t)),
            None => (String::new(), ""),
        };
        writeln!(
            out,
            "| {label} proof (KB) | {:.1} | {:.1} | {:+.1} | {target} | {met} |",
            proof as f64 / 1e3,
            cost.proof_size as f64 / 1e3,
            (cost.proof_size as f64 - proof as f64) / 1e3,
        )?;
    }
    writeln!(out)?;
    render_chart(out, messages)?;
    Ok(())
}

/// What one more record of a chart costs, and records opened per block.
fn render_chart(out: &mut String, messages: &Report) -> std::fmt::Result {
    let (Some(one), Some(most), Some(single)) = (
        row_cost(messages, CHARTS[0].1),
        row_cost(messages, CHARTS[CHARTS.len() - 1].1),
        row_cost(messages, "access_record: released"),
    ) else {
        return Ok(());
    };
    let extra = (CHARTS[CHARTS.len() - 1].0 - CHARTS[0].0) as u64;
    let per_record = (
        (most.ref_time - one.ref_time) / extra,
        (most.proof_size - one.proof_size) / extra,
    );
    writeln!(out, "## Chart access")?;
    writeln!(out)?;
    writeln!(
        out,
        "`access_chart` opens up to 32 of one patient's records in one call: one \
         `check_chart` (the pair's rules read once) and one `append_chart` (one entry per \
         record). One more record costs ({}-record chart minus 1-record chart) / {extra}: \
         {} ms ref_time (target <= {}: {}) and {} KB proof (target <= {}: {}).",
        CHARTS[CHARTS.len() - 1].0,
        ms(per_record.0),
        ms(EXTRA_RECORD_TARGET.0),
        verdict(per_record.0 <= EXTRA_RECORD_TARGET.0),
        kb(per_record.1),
        kb(EXTRA_RECORD_TARGET.1),
        verdict(per_record.1 <= EXTRA_RECORD_TARGET.1),
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| how | records per call | calls per block (dev) | records per block (dev) | calls per block (parachain) | records per block (parachain) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
    let mut best_para = 0;
    let mut rows = vec![("access_record", 1u64, single)];
    for (records, label) in CHARTS {
        if let Some(cost) = row_cost(messages, label) {
            rows.push(("access_chart", records as u64, cost));
        }
    }
    for (how, records, cost) in rows {
        let (dev, para) = cost.per_block();
        best_para = best_para.max(para * records);
        writeln!(
            out,
            "| {how} | {records} | {dev} | {} | {para} | {} |",
            dev * records,
            para * records
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Best: {best_para} records per parachain block (target >= \
         {RECORDS_PER_PARA_BLOCK_TARGET}: {}).",
        verdict(best_para >= RECORDS_PER_PARA_BLOCK_TARGET)
    )?;
    writeln!(out)?;
    Ok(())
}

fn render_breakdown(
    out: &mut String,
    sizes: &[(&str, u64)],
    messages: &Report,
) -> std::fmt::Result {
    let size = |name: &str| {
        sizes
            .iter()
            .find(|(contract, _)| *contract == name)
            .map_or(0, |(_, bytes)| *bytes)
    };
    let cost = |label: &str| {
        messages
            .rows
            .iter()
            .find(|(_, row, _)| *row == label)
            .map(|(_, _, cost)| *cost)
    };
    writeln!(out, "## Where the weight goes")?;
    writeln!(out)?;
    writeln!(
        out,
        "pallet-contracts 31 charges 33,471 ps and one proof byte per byte of code loaded, \
         and about 0.50 ms and 2.7 KB per cross-contract call (`seal_call` with its storage \
         accesses); every storage write costs about 0.13 ms (one DB write). So the size of \
         every contract a path touches, and the number of calls it makes, set most of its cost:"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| path | code loaded (bytes) | code ref_time ms | calls (incl. delegate) | calls ref_time ms | rest ref_time ms | code + calls proof KB | rest proof KB |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    // appoint_delegate is off the path: the front forwards it to the full code, one
    // delegate call (weighed here like a call).
    let paths: [(&str, u64, u64); 3] = [
        (
            "access_record: released",
            size("record_registry") + size("consent_manager") + size("access_log"),
            2,
        ),
        ("grant", size("consent_manager") + size("access_log"), 1),
        (
            "appoint_delegate",
            size("consent_manager") + size("consent_manager_full"),
            1,
        ),
    ];
    for (label, code, calls) in paths {
        let Some(total) = cost(label) else { continue };
        let code_time = code * CODE_REF_TIME_PER_BYTE;
        let call_time = calls * CALL_REF_TIME;
        let rest = total.ref_time.saturating_sub(code_time + call_time);
        let fixed_proof = code + calls * CALL_PROOF;
        writeln!(
            out,
            "| {label} | {code} | {} | {calls} | {} | {} | {} | {} |",
            ms(code_time),
            ms(call_time),
            ms(rest),
            kb(fixed_proof),
            kb(total.proof_size.saturating_sub(fixed_proof)),
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// The table scripts/lib/feature_prices.py measured, if bench.sh ran it.
fn render_feature_prices(out: &mut String) -> std::fmt::Result {
    let Some(table) = std::env::var("MEDCONSENT_FEATURE_PRICES")
        .ok()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .filter(|table| !table.trim().is_empty())
    else {
        return Ok(());
    };
    writeln!(out, "## What each feature costs in the fronts")?;
    writeln!(out)?;
    writeln!(
        out,
        "Every call of the access path loads the three fronts, so each byte in them costs \
         33.5 ns and one proof byte on every access. scripts/lib/feature_prices.py builds \
         each front again with one feature moved to the full code (its body leaves the \
         front, its dispatch entry stays) or with the dispatch entries of every forwarded \
         message removed, and reports the difference: what the next cut could save."
    )?;
    writeln!(out)?;
    write!(out, "{table}")?;
    writeln!(out)?;
    Ok(())
}

/// Largest / smallest over the history levels of one path: [ref_time, proof, |deposit|].
fn growth(history: &[(u64, HistoryCosts)], path: usize) -> [f64; 3] {
    let costs: Vec<Cost> = history.iter().map(|(_, c)| c.paths[path]).collect();
    [
        ratio(costs.iter().map(|c| c.ref_time as f64)),
        ratio(costs.iter().map(|c| c.proof_size as f64)),
        ratio(costs.iter().map(|c| c.deposit.unsigned_abs() as f64)),
    ]
}

fn ratio(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::MIN, f64::max);
    let min = values.fold(f64::MAX, f64::min);
    if min > 0.0 {
        max / min
    } else {
        1.0
    }
}

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
    // The bound: cost must not grow with history.
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
