//! What the scenarios share: the people's steps (put, grant, revoke, access, read), raw
//! requests to a server, and small measures. Re-exports the types the scenarios use.

pub use crate::world::{Person, World};
pub use medconsent_chain::Signer;
pub use medconsent_client::flow::{FlowError, Session};
pub use medconsent_keyrelease::envelope::{self, deposit_context};
pub use medconsent_keyrelease::request::{Deposit, ReleaseRequest, SignedDeposit, SignedRequest};
pub use medconsent_shared::{
    Action, ActionSet, ConsentId, ConsentTerms, Decision, DenyReason, EntryKind, Grantee, LogEntry,
    ProviderStatus, Purpose, PurposeSet, RecordId, Scope,
};
pub use serde_json::Value;
pub use std::time::{Duration, Instant};
pub type Outcome = Result<(), String>;

pub fn treat_permit(scope: Scope) -> ConsentTerms {
    ConsentTerms {
        decision: Decision::Permit,
        scope,
        actions: ActionSet::from([Action::Read]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 0,
        valid_until: None,
    }
}

pub async fn put(w: &World, s: &Session, name: &str, text: &str) -> Result<RecordId, String> {
    Ok(put_written(w, s, name, text).await?.record)
}

/// The patient puts `text`, deposited at all three servers; what the put left behind.
pub async fn put_written(
    w: &World,
    s: &Session,
    name: &str,
    text: &str,
) -> Result<medconsent_client::flow::Written, String> {
    let input = w.plaintext(name, text);
    let sealed = s
        .put(
            &w.patient.signer,
            &w.patient.secret,
            &input,
            3,
            &w.patient.store,
        )
        .await
        .map_err(|e| format!("put: {e}"))?;
    ensure!(
        sealed.shares_deposited == 3,
        "{} shares deposited",
        sealed.shares_deposited
    );
    Ok(sealed)
}

pub async fn grant(
    w: &World,
    s: &Session,
    grantee: &Person,
    scope: Scope,
) -> Result<ConsentId, String> {
    grant_terms(w, s, grantee, treat_permit(scope)).await
}

/// The patient grants `grantee` `terms`, finalized; the consent's id.
pub async fn grant_terms(
    w: &World,
    s: &Session,
    grantee: &Person,
    terms: ConsentTerms,
) -> Result<ConsentId, String> {
    let mut consents = w.deployment.contracts().consents();
    let message = consents.grant(
        w.patient.account(),
        Grantee::Account(grantee.account()),
        terms,
    );
    match s
        .chain
        .submit(
            &w.patient.signer,
            &w.deployment.contracts().consents,
            &message,
        )
        .await
    {
        Ok((Ok(id), Some(_))) => Ok(id),
        other => Err(format!("grant: {other:?}")),
    }
}

/// Revokes `consent`, naming it (grantee and terms) as the patient's node lists it.
pub async fn revoke(w: &World, s: &Session, consent: ConsentId) -> Outcome {
    let mut consents = w.deployment.contracts().consents();
    let patient = w.patient.account();
    let listed = s
        .chain
        .read(
            None,
            &patient,
            &w.deployment.contracts().consents,
            &consents.consent(patient, consent),
        )
        .await
        .map_err(|e| format!("consent {consent}: {e}"))?
        .ok_or(format!("consent {consent}: not listed"))?;
    let message = consents.revoke(patient, consent, listed.shown());
    match s
        .chain
        .submit(
            &w.patient.signer,
            &w.deployment.contracts().consents,
            &message,
        )
        .await
    {
        Ok((Ok(()), Some(_))) => Ok(()),
        other => Err(format!("revoke: {other:?}")),
    }
}

/// The reader's on-chain access, finalized; its log entry.
pub async fn access(
    w: &World,
    s: &Session,
    reader: &Person,
    record: RecordId,
) -> Result<LogEntry, String> {
    access_for(w, s, reader, record, Purpose::Treat).await
}

pub async fn access_for(
    w: &World,
    s: &Session,
    reader: &Person,
    record: RecordId,
    purpose: Purpose,
) -> Result<LogEntry, String> {
    let mut registry = w.deployment.contracts().registry();
    let message = registry.access_record(record, purpose);
    let (_, included) = s
        .chain
        .submit(&reader.signer, &w.deployment.contracts().registry, &message)
        .await
        .map_err(|e| e.to_string())?;
    let included = included.ok_or("the access reverted")?;
    let patient = w.patient.account();
    s.my_entry(included.block, &patient, &reader.account(), record)
        .await
        .map_err(|e| e.to_string())
}

/// `reader`'s `medconsent get` of `record` for treatment, to `out`.
pub async fn read_as(
    s: &Session,
    reader: &Person,
    record: RecordId,
    out: &std::path::Path,
) -> Result<medconsent_client::flow::Opened, FlowError> {
    s.get(
        &reader.signer,
        &reader.secret,
        record,
        Purpose::Treat,
        &reader.store,
        out,
    )
    .await
}

pub async fn chain_now(s: &Session) -> u64 {
    let at = s.chain.finalized().await.unwrap();
    s.chain.now_at(at).await.unwrap()
}

pub fn request_for(
    server_key: [u8; 32],
    entry: &LogEntry,
    version: u32,
    requester: &Person,
    now: u64,
) -> ReleaseRequest {
    ReleaseRequest {
        server: server_key,
        patient: entry.patient,
        record: entry.record.unwrap_or_default(),
        version,
        log_seq: entry.seq,
        requester: requester.account(),
        reply_key: requester.public_key(),
        expires_at: now + 60_000,
    }
}

pub fn signed_by(signer: &Signer, request: ReleaseRequest) -> SignedRequest {
    let signature = signer.sign(&request.signing_message()).0;
    SignedRequest { request, signature }
}

/// POSTs a release request; (status, error code or "").
pub async fn post_release(url: &str, signed: &SignedRequest) -> (u16, String) {
    let body = serde_json::to_value(medconsent_keyrelease::wire::SignedBody {
        signed: medconsent_keyrelease::wire::to_hex(&signed),
    })
    .unwrap();
    post_json(url, "/v1/release", &body).await
}

pub async fn post_json(url: &str, path: &str, body: &Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let json: Value = response.json().await.unwrap_or_default();
    (
        status,
        listed_code(status, json["error"].as_str().unwrap_or("")),
    )
}

/// A refusal's code if it is in the one list with this status; otherwise a text no
/// expected pair matches, so a code made up on the spot or a wrong status fails.
pub fn listed_code(status: u16, code: &str) -> String {
    if (200..300).contains(&status) {
        return code.to_owned();
    }
    match medconsent_keyrelease::wire::ErrorCode::parse(code) {
        Some(listed) if listed.status() == status => code.to_owned(),
        _ => format!("unlisted {status} {code:?}"),
    }
}

pub async fn health(url: &str) -> Result<Value, String> {
    let response = reqwest::get(format!("{url}/v1/health"))
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        response.status().as_u16() == 200,
        "health: {}",
        response.status()
    );
    response.json().await.map_err(|e| e.to_string())
}

pub async fn versions_held(url: &str, record: RecordId) -> Vec<u64> {
    let json: Value = reqwest::get(format!("{url}/v1/records/{record}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// `charts` access_chart transactions of `reader`, each reading `record` 32 times: their
/// Access entries, 32 per transaction.
pub async fn chart_entries(
    w: &World,
    s: &Session,
    reader: &Person,
    record: RecordId,
    charts: usize,
) -> Result<Vec<LogEntry>, String> {
    let patient = w.patient.account();
    let mut entries = Vec::new();
    for _ in 0..charts {
        let mut registry = w.deployment.contracts().registry();
        let message = registry.access_chart(patient, vec![record; 32], Purpose::Treat);
        let (_, included) = s
            .chain
            .submit(&reader.signer, &w.deployment.contracts().registry, &message)
            .await
            .map_err(|e| e.to_string())?;
        let block = included.ok_or("the chart reverted")?.block;
        let log = w.deployment.contracts().log();
        let head = s
            .chain
            .read(
                Some(block),
                &reader.account(),
                &w.deployment.contracts().log,
                &log.head(patient),
            )
            .await
            .map_err(|e| e.to_string())?;
        let chart = s
            .chain
            .read(
                Some(block),
                &reader.account(),
                &w.deployment.contracts().log,
                &log.entries(patient, head.length - 32, 32),
            )
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            chart
                .iter()
                .all(|e| e.kind == EntryKind::Access && e.block == block.number),
            "chart entries"
        );
        entries.extend(chart);
    }
    Ok(entries)
}

/// Server `i` of the deployment, as the client addresses it.
pub fn key_server(w: &World, i: usize) -> medconsent_client::servers::KeyServer {
    medconsent_client::servers::KeyServer {
        endpoint: w.deployment.key_servers[i].clone(),
        public_key: w.servers[i].public_key,
    }
}

/// The `q`th percentile of sorted `list`, in ms (nearest rank; 100 is the maximum).
pub fn percentile_ms(list: &[Duration], q: usize) -> f64 {
    let Some(last) = list.len().checked_sub(1) else {
        return 0.0;
    };
    let rank = (list.len() * q).div_ceil(100).saturating_sub(1).min(last);
    list[rank].as_secs_f64() * 1000.0
}

pub fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The admin's directory change, finalized.
pub async fn set_suspended(
    w: &World,
    s: &Session,
    account: medconsent_shared::AccountId,
    suspend: bool,
) -> Outcome {
    let admin = medconsent_chain::signer_from_uri("//Alice").unwrap();
    let mut consents = w.deployment.contracts().consents();
    let message = if suspend {
        consents.suspend_provider(account)
    } else {
        consents.reactivate_provider(account)
    };
    match s
        .chain
        .submit(&admin, &w.deployment.contracts().consents, &message)
        .await
    {
        Ok((Ok(()), Some(_))) => Ok(()),
        other => Err(format!("suspend {suspend}: {other:?}")),
    }
}

// ---- scenarios ---------------------------------------------------------------------

/// POSTs a deposit; (status, error code or "").
pub async fn post_deposit(url: &str, signer: &Signer, deposit: Deposit) -> (u16, String) {
    let signature = signer.sign(&deposit.signing_message()).0;
    let signed = SignedDeposit { deposit, signature };
    let body = serde_json::to_value(medconsent_keyrelease::wire::SignedBody {
        signed: medconsent_keyrelease::wire::to_hex(&signed),
    })
    .unwrap();
    post_json(url, "/v1/deposit", &body).await
}

/// A session whose server `i` (0-based) is a hostile stand-in at `url`, with a client
/// timeout long enough that only not waiting for a hung server lets a read finish.
pub async fn session_with_stand_ins(w: &World, stand_ins: &[(usize, &str)]) -> Session {
    let mut deployment = w.deployment.clone();
    for (i, url) in stand_ins {
        deployment.key_servers[*i].url = (*url).to_owned();
    }
    let mut session = Session::connect(deployment).await.unwrap();
    session.servers = medconsent_client::servers::Servers::with_timeout(Duration::from_secs(3600));
    session
}
