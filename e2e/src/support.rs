//! Deployment, wiring and small helpers shared by the scenarios.

use access_log::access_log::{AccessLog, AccessLogRef};
use consent_manager::consent_manager::{ConsentManager, ConsentManagerRef};
use ink::codegen::ContractCallBuilder;
use ink::primitives::AccountId;
use ink_e2e::subxt::backend::legacy::LegacyRpcMethods;
use ink_e2e::subxt::backend::rpc::RpcClient;
use ink_e2e::subxt::dynamic::Value;
use ink_e2e::{AccountKeyring, ChainBackend, ContractsBackend, Keypair};
pub use medconsent_shared::AdminChange;
use medconsent_shared::{
    verify_chain, Action, ActionSet, Consent, ConsentShown, ConsentTerms, Decision, Grantee,
    LogEntry, Purpose, PurposeSet, Record, RecordVersion, Role, RoleSet, Scope, MAX_PAGE,
};
use record_registry::record_registry::{RecordRegistry, RecordRegistryRef};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Client = ink_e2e::Client<ink_e2e::PolkadotConfig, ink::env::DefaultEnvironment>;
pub type E2EResult<T> = Result<T, Box<dyn std::error::Error>>;

pub type RegistryCalls = <RecordRegistry as ContractCallBuilder>::Type;
pub type ConsentCalls = <ConsentManager as ContractCallBuilder>::Type;
pub type LogCalls = <AccessLog as ContractCallBuilder>::Type;

/// The cast: alice administers, bob is the patient, charlie his delegate, dave a
/// clinician, eve a clinician and emergency responder, ferdie a stranger.
pub fn admin() -> Keypair {
    ink_e2e::alice()
}
pub fn patient() -> Keypair {
    ink_e2e::bob()
}
pub fn delegate() -> Keypair {
    ink_e2e::charlie()
}
pub fn doctor() -> Keypair {
    ink_e2e::dave()
}
pub fn responder() -> Keypair {
    ink_e2e::eve()
}
pub fn stranger() -> Keypair {
    ink_e2e::ferdie()
}

pub fn id(keyring: AccountKeyring) -> AccountId {
    ink_e2e::account_id(keyring)
}
pub fn admin_id() -> AccountId {
    id(AccountKeyring::Alice)
}
pub fn patient_id() -> AccountId {
    id(AccountKeyring::Bob)
}
pub fn delegate_id() -> AccountId {
    id(AccountKeyring::Charlie)
}
pub fn doctor_id() -> AccountId {
    id(AccountKeyring::Dave)
}
pub fn responder_id() -> AccountId {
    id(AccountKeyring::Eve)
}
pub fn stranger_id() -> AccountId {
    id(AccountKeyring::Ferdie)
}

pub const DOCTOR_KEY: [u8; 32] = [0xd0; 32];
pub const RESPONDER_KEY: [u8; 32] = [0xe0; 32];
pub const LABS: u16 = 3;
pub const MENTAL_HEALTH: u16 = 9;

/// The three deployed contracts.
pub struct System {
    pub registry: AccountId,
    pub consents: AccountId,
    pub log: AccountId,
}

impl System {
    pub fn registry(&self) -> RegistryCalls {
        ink_e2e::create_call_builder::<RecordRegistry>(self.registry)
    }
    pub fn consents(&self) -> ConsentCalls {
        ink_e2e::create_call_builder::<ConsentManager>(self.consents)
    }
    pub fn log(&self) -> LogCalls {
        ink_e2e::create_call_builder::<AccessLog>(self.log)
    }
}

/// The genesis hash the consent manager is given on ink_e2e's nodes, which do not tell
/// theirs: no signed consent verifies there. The signed-consent tests run on a node of
/// their own (`OwnNode`) and pass its real genesis hash.
pub const UNKNOWN_GENESIS: [u8; 32] = [0; 32];

/// Deploys the three contracts as the admin, unwired, with no change delay (the
/// timelock tests deploy with one: `instantiate_with`).
pub async fn instantiate(client: &mut Client) -> E2EResult<System> {
    instantiate_with(client, UNKNOWN_GENESIS, 0).await
}

/// Deploys the three contracts as the admin, unwired, for the chain of `genesis_hash`,
/// each with `change_delay` ms between announcing a wiring or code change and applying it.
pub async fn instantiate_with(
    client: &mut Client,
    genesis_hash: [u8; 32],
    change_delay: u64,
) -> E2EResult<System> {
    let log_full = upload_full_code(client, "access_log_full").await?;
    let consents_full = upload_full_code(client, "consent_manager_full").await?;
    let registry_full = upload_full_code(client, "record_registry_full").await?;
    let log = client
        .instantiate(
            "access_log",
            &admin(),
            &mut AccessLogRef::new(change_delay, log_full),
        )
        .submit()
        .await?
        .account_id;
    let consents = client
        .instantiate(
            "consent_manager",
            &admin(),
            &mut ConsentManagerRef::new(genesis_hash, change_delay, consents_full),
        )
        .submit()
        .await?
        .account_id;
    let registry = client
        .instantiate(
            "record_registry",
            &admin(),
            &mut RecordRegistryRef::new(change_delay, registry_full),
        )
        .submit()
        .await?
        .account_id;
    Ok(System {
        registry,
        consents,
        log,
    })
}

/// Uploads a contract's full code (the code its off-path messages run in, see
/// `medconsent_shared::split`) and returns its hash; code already on chain is fine.
pub async fn upload_full_code(client: &mut Client, name: &str) -> E2EResult<ink::primitives::Hash> {
    Ok(client.upload(name, &admin()).submit().await?.code_hash)
}

/// Deploys and wires the system, and registers the two providers.
pub async fn deploy(client: &mut Client) -> E2EResult<System> {
    deploy_on(client, UNKNOWN_GENESIS).await
}

/// `deploy` for the chain of `genesis_hash`.
pub async fn deploy_on(client: &mut Client, genesis_hash: [u8; 32]) -> E2EResult<System> {
    deploy_with(client, genesis_hash, 0).await
}

/// `deploy` with a change delay (ms) for every later wiring or code change.
pub async fn deploy_with(
    client: &mut Client,
    genesis_hash: [u8; 32],
    change_delay: u64,
) -> E2EResult<System> {
    let sys = instantiate_with(client, genesis_hash, change_delay).await?;
    wire(client, &sys).await?;
    let clinician = RoleSet::from([Role::Clinician]);
    let responder = RoleSet::from([Role::Clinician, Role::EmergencyResponder]);
    submit_ok(
        client,
        &admin(),
        &sys.consents()
            .register_provider(doctor_id(), clinician, DOCTOR_KEY),
    )
    .await?;
    submit_ok(
        client,
        &admin(),
        &sys.consents()
            .register_provider(responder_id(), responder, RESPONDER_KEY),
    )
    .await?;
    Ok(sys)
}

/// The first wiring of a fresh deployment (it applies at once).
pub async fn wire(client: &mut Client, sys: &System) -> E2EResult<()> {
    let log_writers = AdminChange::Peers(sys.registry, sys.consents);
    submit_ok(client, &admin(), &sys.log().schedule_change(log_writers)).await?;
    let registry_peers = AdminChange::Peers(sys.consents, sys.log);
    submit_ok(
        client,
        &admin(),
        &sys.registry().schedule_change(registry_peers),
    )
    .await?;
    let consent_peers = AdminChange::Peers(sys.registry, sys.log);
    submit_ok(
        client,
        &admin(),
        &sys.consents().schedule_change(consent_peers),
    )
    .await?;
    Ok(())
}

/// The id the registry gives the next record: what a client seals for and passes.
pub async fn next_record_id(client: &mut Client, sys: &System) -> E2EResult<u64> {
    query(client, &sys.registry().next_record_id()).await
}

pub type Message<Args, R> = ink_e2e::CallBuilderFinal<ink::env::DefaultEnvironment, Args, R>;
pub type Submitted<R> = ink_e2e::CallResult<
    ink::env::DefaultEnvironment,
    R,
    ink_e2e::subxt::blocks::ExtrinsicEvents<ink_e2e::PolkadotConfig>,
>;

/// Submits a message that returns `Result<T, E>` and expects `Ok(T)`.
pub async fn submit_ok<Args, T, E>(
    client: &mut Client,
    signer: &Keypair,
    message: &Message<Args, Result<T, E>>,
) -> E2EResult<T>
where
    Args: Sync + ink::scale::Encode + Clone,
    T: Send + ink::scale::Decode,
    E: Send + ink::scale::Decode + core::fmt::Debug,
{
    let result = client.call(signer, message).submit().await?;
    Ok(result
        .return_value()
        .map_err(|e| format!("expected Ok, got Err({e:?})"))?)
}

/// Submits a message, prints the weight and storage deposit its dry run reported
/// (`GAS <label> ref_time=… proof_size=… deposit=…`, read by the benchmark script), and
/// returns the whole result so events can be inspected.
pub async fn submit_measured<Args, R>(
    client: &mut Client,
    signer: &Keypair,
    message: &Message<Args, R>,
    label: &str,
) -> E2EResult<Submitted<R>>
where
    Args: Sync + ink::scale::Encode + Clone,
    R: Send + ink::scale::Decode,
{
    let result = client.call(signer, message).submit().await?;
    let exec = &result.dry_run.exec_result;
    println!(
        "GAS {label} ref_time={} proof_size={} deposit={:?}",
        exec.gas_consumed.ref_time(),
        exec.gas_consumed.proof_size(),
        exec.storage_deposit
    );
    Ok(result)
}

/// A message that must fail with `expected`: its dry run returns that error, and the
/// transaction, sent anyway, fails on chain (pallet-contracts reports a reverted call as
/// `ContractReverted`), so the caller can then check that nothing changed.
pub async fn submit_err<Args, T, E>(
    client: &mut Client,
    signer: &Keypair,
    message: &Message<Args, Result<T, E>>,
    expected: E,
) -> E2EResult<()>
where
    Args: Sync + ink::scale::Encode + Clone,
    T: Send + ink::scale::Decode + core::fmt::Debug,
    E: Send + ink::scale::Decode + core::fmt::Debug + PartialEq,
{
    let dry_run = client.call(signer, message).dry_run().await?;
    assert_eq!(dry_run.return_value().unwrap_err(), expected);
    let sent = client.call(signer, message).submit().await;
    assert!(sent.is_err(), "a reverted call must fail on chain");
    Ok(())
}

/// Reads a query by dry run (queries need no permission: a stranger asks).
pub async fn query<Args, R>(client: &mut Client, message: &Message<Args, R>) -> E2EResult<R>
where
    Args: Sync + ink::scale::Encode + Clone,
    R: Send + ink::scale::Decode,
{
    dry_run_as(client, &stranger(), message).await
}

/// What `signer` would get from a message at the last block, without a transaction.
pub async fn dry_run_as<Args, R>(
    client: &mut Client,
    signer: &Keypair,
    message: &Message<Args, R>,
) -> E2EResult<R>
where
    Args: Sync + ink::scale::Encode + Clone,
    R: Send + ink::scale::Decode,
{
    Ok(client.call(signer, message).dry_run().await?.return_value())
}

/// Consent `id` of `patient` as the patient is shown it, as `revoke` and a signed
/// revocation name it.
pub async fn listed(
    client: &mut Client,
    sys: &System,
    patient: AccountId,
    id: u64,
) -> E2EResult<ConsentShown> {
    let consent = query(client, &sys.consents().consent(patient, id))
        .await?
        .ok_or("no such consent")?;
    Ok(consent.shown())
}

/// A Read permit for TREAT over `scope`, valid from now on.
pub fn read_permit(scope: Scope) -> ConsentTerms {
    ConsentTerms {
        decision: Decision::Permit,
        scope,
        actions: ActionSet::from([Action::Read]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 0,
        valid_until: None,
    }
}

pub fn restriction(scope: Scope) -> ConsentTerms {
    ConsentTerms {
        decision: Decision::Deny,
        ..read_permit(scope)
    }
}

/// Every entry of a patient's chain (paged through), checked against the head.
pub async fn verified_chain(
    client: &mut Client,
    sys: &System,
    patient: AccountId,
) -> E2EResult<Vec<LogEntry>> {
    let head = query(client, &sys.log().head(patient)).await?;
    let mut entries = Vec::new();
    while (entries.len() as u64) < head.length {
        let start = entries.len() as u64;
        let page = query(client, &sys.log().entries(patient, start, MAX_PAGE)).await?;
        assert!(!page.is_empty(), "chain shorter than its head says");
        entries.extend(page);
    }
    assert_eq!(
        verify_chain([0; 32], &entries),
        Ok(head.last_hash),
        "the chain recomputed from its entries must equal the on-chain head"
    );
    Ok(entries)
}

/// A content hash that stands for one sealed payload.
pub fn content(n: u8) -> [u8; 32] {
    [n; 32]
}

/// An event as emitted: its topics and its SCALE-encoded data.
pub type Emitted = (Vec<[u8; 32]>, Vec<u8>);

/// Every contract event of a transaction: (emitting contract, topics, data).
pub fn events_of<R>(result: &Submitted<R>) -> E2EResult<Vec<(AccountId, Emitted)>> {
    Ok(result
        .contract_emitted_events()?
        .into_iter()
        .map(|e| {
            let topics = e.topics.iter().map(|t| t.0).collect();
            (e.event.contract, (topics, e.event.data))
        })
        .collect())
}

/// The log's `EntryAppended` for `patient` as `events_of` shows it: anonymous, the
/// patient its only topic (and its only field).
pub fn entry_appended(sys: &System, patient: AccountId) -> (AccountId, Emitted) {
    (sys.log, (vec![topic(patient)], topic(patient).to_vec()))
}

/// An account id as an event topic (32 bytes fit a topic as they are).
pub fn topic(account: AccountId) -> [u8; 32] {
    *AsRef::<[u8; 32]>::as_ref(&account)
}

/// The patient registers a record of `category` with content `n`; returns its id.
pub async fn patient_record(
    client: &mut Client,
    sys: &System,
    category: u16,
    n: u8,
) -> E2EResult<u64> {
    let id = next_record_id(client, sys).await?;
    let register = sys.registry().register_record(
        patient_id(),
        id,
        category,
        content(n),
        vec![],
        Purpose::PatientRequest,
    );
    submit_ok(client, &patient(), &register).await
}

/// A record with two versions and a consent the doctor has used: what an upgrade or a
/// restart must keep.
pub struct History {
    pub record: u64,
    pub consent: u64,
}

/// The patient registers a record (content 1), amends it (content 2) and grants the doctor
/// Read for TREAT; the doctor reads it `reads` times.
pub async fn make_history(client: &mut Client, sys: &System, reads: usize) -> E2EResult<History> {
    let record = patient_record(client, sys, LABS, 1).await?;
    let amend =
        sys.registry()
            .amend_record(record, content(2), b"v2".to_vec(), Purpose::PatientRequest);
    submit_ok(client, &patient(), &amend).await?;
    let grant = sys.consents().grant(
        patient_id(),
        Grantee::Account(doctor_id()),
        read_permit(Scope::AllRecords),
    );
    let consent = submit_ok(client, &patient(), &grant).await?;
    let access = sys.registry().access_record(record, Purpose::Treat);
    for _ in 0..reads {
        submit_ok(client, &doctor(), &access).await?;
    }
    Ok(History { record, consent })
}

/// What the chain holds of a `History`: the record, its first version, the consent and
/// the patient's verified chain.
#[derive(Debug, PartialEq)]
pub struct Kept {
    pub record: Option<Record>,
    pub first_version: Option<RecordVersion>,
    pub consent: Option<Consent>,
    pub chain: Vec<LogEntry>,
}

pub async fn kept(client: &mut Client, sys: &System, history: &History) -> E2EResult<Kept> {
    let p = patient_id();
    let first_version = query(client, &sys.registry().record_version(history.record, 1)).await?;
    assert_eq!(
        first_version.as_ref().map(|v| v.content_hash),
        Some(content(1))
    );
    Ok(Kept {
        record: query(client, &sys.registry().record(history.record)).await?,
        first_version,
        consent: query(client, &sys.consents().consent(p, history.consent)).await?,
        chain: verified_chain(client, sys, p).await?,
    })
}

/// `?` for a contract's `Result`, whose error type is not a `std::error::Error`.
pub trait Okay<T> {
    fn okay(self) -> E2EResult<T>;
}

impl<T, E: core::fmt::Debug> Okay<T> for Result<T, E> {
    fn okay(self) -> E2EResult<T> {
        self.map_err(|e| format!("the contract returned Err({e:?})").into())
    }
}

/// Uploads a contract's release build (from `cargo contract build --release`, which
/// scripts/test.sh runs before this suite) and returns its code hash. The e2e contracts
/// are debug builds, so this is different code for the same storage layout.
pub async fn upload_release_code(
    client: &mut Client,
    contract: &str,
) -> E2EResult<ink::primitives::Hash> {
    let path = format!(
        "{}/../target/ink/{contract}/{contract}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let code = std::fs::read(&path)
        .map_err(|e| format!("{path}: {e} (run `cargo contract build --release` first)"))?;
    let mut hash = [0u8; 32];
    ink::env::hash_bytes::<ink::env::hash::Blake2x256>(&code, &mut hash);
    client
        .runtime_call(
            &admin(),
            "Contracts",
            "upload_code",
            vec![
                Value::from_bytes(code),
                Value::unnamed_variant("None", vec![]),
                Value::unnamed_variant("Enforced", vec![]),
            ],
        )
        .await
        .map_err(|e| format!("upload of {contract}: {e:?}"))?;
    Ok(hash.into())
}

/// Uploads the release builds of a contract's front and full code and returns the
/// upgrade to them.
pub async fn release_upgrade(client: &mut Client, contract: &str) -> E2EResult<AdminChange> {
    let front = upload_release_code(client, contract).await?;
    let full = upload_release_code(client, &format!("{contract}_full")).await?;
    Ok(AdminChange::Code(front, full))
}

/// Runs an async test body in a plain `#[test]` (for tests that start their own node).
pub fn block_on(body: impl std::future::Future<Output = E2EResult<()>>) -> E2EResult<()> {
    ink_e2e::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(body)
}

/// A substrate-contracts-node of a test's own, on a database the test names (ink_e2e's
/// nodes are throwaway and do not tell their URL).
pub struct OwnNode {
    child: Child,
    url: String,
}

impl OwnNode {
    pub async fn start(base: &std::path::Path) -> E2EResult<Self> {
        let program = std::env::var("CONTRACTS_NODE")
            .unwrap_or_else(|_| "substrate-contracts-node".to_string());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(program)
            .args(["--dev", "--port=0", "--rpc-port"])
            .arg(port.to_string())
            .arg("--base-path")
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let url = format!("ws://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(120);
        while RpcClient::from_url(&url).await.is_err() {
            if Instant::now() > deadline {
                return Err(format!("node at {url} did not come up").into());
            }
            ink_e2e::tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(OwnNode { child, url })
    }

    pub async fn client(&self) -> E2EResult<Client> {
        let contracts = ink_e2e::build_root_and_contract_dependencies();
        Ok(Client::new(RpcClient::from_url(&self.url).await?, contracts).await?)
    }

    /// The chain's genesis hash (what signed consents are bound to).
    pub async fn genesis_hash(&self) -> E2EResult<[u8; 32]> {
        let rpc = RpcClient::from_url(&self.url).await?;
        let methods = LegacyRpcMethods::<ink_e2e::PolkadotConfig>::new(rpc);
        Ok(methods.genesis_hash().await?.0)
    }

    /// SIGKILL: no chance to flush anything the node had not already committed.
    pub fn kill(mut self) -> E2EResult<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
