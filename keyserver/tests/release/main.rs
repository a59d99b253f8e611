//! Key release end to end: a real node, the deployed contracts, three key-server
//! processes, and the client library doing what `medconsent put/get/rotate/retire` do.
//! Run by scripts/test.sh after the release builds; prints libtest-style lines.

mod hostile;
mod world;

use futures::future::BoxFuture;
use medconsent_chain::Signer;
use medconsent_client::flow::{FlowError, Session};
use medconsent_keyrelease::envelope::{self, deposit_context};
use medconsent_keyrelease::request::{Deposit, ReleaseRequest, SignedDeposit, SignedRequest};
use medconsent_shared::{
    Action, ActionSet, ConsentId, ConsentTerms, Decision, DenyReason, EntryKind, Grantee, LogEntry,
    ProviderStatus, Purpose, PurposeSet, RecordId, Scope,
};
use parity_scale_codec::Encode;
use serde_json::Value;
use std::time::{Duration, Instant};
use world::{Person, World};

type Outcome = Result<(), String>;
type Scenario = fn(&'static World) -> BoxFuture<'static, Outcome>;

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// (name, scenario) for each async scenario function named.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        vec![$((
            stringify!($name),
            (|w: &'static World| -> BoxFuture<'static, Outcome> { Box::pin($name(w)) }) as Scenario,
        )),*]
    };
}

mod bench;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let scenarios: Vec<(&str, Scenario)> = scenarios![
        no_key_before_the_grant_and_a_key_after_it,
        a_replayed_request_is_refused_as_used,
        another_readers_entry_and_forged_signatures_are_refused,
        an_entry_for_another_record_is_refused,
        refused_deposits_and_unsealable_releases_change_nothing,
        a_stale_entry_is_refused,
        malformed_requests_get_4xx_and_the_server_keeps_serving,
        one_server_down_still_decrypts_two_down_is_a_clear_error_and_sigkill_loses_nothing,
        rotation_moves_readers_to_the_new_version,
        no_key_after_the_revoke,
        retiring_destroys_every_share,
        a_directory_change_not_yet_final_is_waited_for,
        a_hostile_key_server_costs_tries_never_a_wrong_key_nor_a_stall,
        load_concurrent_releases_none_lost_none_wrong,
    ];
    let world: &'static World = Box::leak(Box::new(runtime.block_on(World::start())));
    if std::env::args().any(|a| a == "--bench") {
        // scripts/bench.sh: the figures for BENCHMARKS.md instead of the scenarios.
        let out = std::env::var_os("MEDCONSENT_BENCH_OUT")
            .map_or_else(|| world::repo_root().join("BENCHMARKS.md"), Into::into);
        let outcome = runtime.block_on(bench::run(world, &out));
        world.shutdown();
        if let Err(why) = outcome {
            eprintln!("bench failed: {why}");
            std::process::exit(1);
        }
        return;
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (name, scenario) in scenarios {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let started = Instant::now();
        match runtime.block_on(scenario(world)) {
            Ok(()) => {
                passed += 1;
                println!(
                    "test {name} ... ok ({:.1} s)",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n    {why}");
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("test result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out");
    world.shutdown();
    std::process::exit(i32::from(failed > 0));
}

fn treat_permit(scope: Scope) -> ConsentTerms {
    ConsentTerms {
        decision: Decision::Permit,
        scope,
        actions: ActionSet::from([Action::Read]),
        purposes: PurposeSet::from([Purpose::Treat]),
        valid_from: 0,
        valid_until: None,
    }
}

async fn put(w: &World, s: &Session, name: &str, text: &str) -> Result<RecordId, String> {
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
    Ok(sealed.record)
}

async fn grant(
    w: &World,
    s: &Session,
    grantee: &Person,
    scope: Scope,
) -> Result<ConsentId, String> {
    let mut consents = w.deployment.contracts.consents();
    let message = consents.grant(
        w.patient.account(),
        Grantee::Account(grantee.account()),
        treat_permit(scope),
    );
    match s
        .chain
        .submit(
            &w.patient.signer,
            &w.deployment.contracts.consents,
            &message,
        )
        .await
    {
        Ok((Ok(id), Some(_))) => Ok(id),
        other => Err(format!("grant: {other:?}")),
    }
}

async fn revoke(w: &World, s: &Session, consent: ConsentId) -> Outcome {
    let mut consents = w.deployment.contracts.consents();
    let message = consents.revoke(w.patient.account(), consent);
    match s
        .chain
        .submit(
            &w.patient.signer,
            &w.deployment.contracts.consents,
            &message,
        )
        .await
    {
        Ok((Ok(()), Some(_))) => Ok(()),
        other => Err(format!("revoke: {other:?}")),
    }
}

/// The reader's on-chain access, finalized; its log entry.
async fn access(
    w: &World,
    s: &Session,
    reader: &Person,
    record: RecordId,
) -> Result<LogEntry, String> {
    access_for(w, s, reader, record, Purpose::Treat).await
}

async fn access_for(
    w: &World,
    s: &Session,
    reader: &Person,
    record: RecordId,
    purpose: Purpose,
) -> Result<LogEntry, String> {
    let mut registry = w.deployment.contracts.registry();
    let message = registry.access_record(record, purpose);
    let (_, included) = s
        .chain
        .submit(&reader.signer, &w.deployment.contracts.registry, &message)
        .await
        .map_err(|e| e.to_string())?;
    let included = included.ok_or("the access reverted")?;
    let patient = w.patient.account();
    s.my_entry(included.block, &patient, &reader.account(), record)
        .await
        .map_err(|e| e.to_string())
}

/// `reader`'s `medconsent get` of `record` for treatment, to `out`.
async fn read_as(
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

async fn chain_now(s: &Session) -> u64 {
    let at = s.chain.finalized().await.unwrap();
    s.chain.now_at(at).await.unwrap()
}

fn request_for(
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

fn signed_by(signer: &Signer, request: ReleaseRequest) -> SignedRequest {
    let signature = signer.sign(&request.signing_message()).0;
    SignedRequest { request, signature }
}

/// POSTs a release request; (status, error code or "").
async fn post_release(url: &str, signed: &SignedRequest) -> (u16, String) {
    let body = serde_json::json!({ "signed": format!("0x{}", hex::encode(signed.encode())) });
    post_json(url, "/v1/release", &body).await
}

async fn post_json(url: &str, path: &str, body: &Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let json: Value = response.json().await.unwrap_or_default();
    (status, json["error"].as_str().unwrap_or("").to_owned())
}

async fn health(url: &str) -> Result<Value, String> {
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

async fn versions_held(url: &str, record: RecordId) -> Vec<u64> {
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
async fn chart_entries(
    w: &World,
    s: &Session,
    reader: &Person,
    record: RecordId,
    charts: usize,
) -> Result<Vec<LogEntry>, String> {
    let patient = w.patient.account();
    let mut entries = Vec::new();
    for _ in 0..charts {
        let mut registry = w.deployment.contracts.registry();
        let message = registry.access_chart(patient, vec![record; 32], Purpose::Treat);
        let (_, included) = s
            .chain
            .submit(&reader.signer, &w.deployment.contracts.registry, &message)
            .await
            .map_err(|e| e.to_string())?;
        let block = included.ok_or("the chart reverted")?.block;
        let log = w.deployment.contracts.log();
        let head = s
            .chain
            .read(
                Some(block),
                &reader.account(),
                &w.deployment.contracts.log,
                &log.head(patient),
            )
            .await
            .map_err(|e| e.to_string())?;
        let chart = s
            .chain
            .read(
                Some(block),
                &reader.account(),
                &w.deployment.contracts.log,
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
fn key_server(w: &World, i: usize) -> medconsent_client::servers::KeyServer {
    medconsent_client::servers::KeyServer {
        endpoint: w.deployment.key_servers[i].clone(),
        public_key: w.servers[i].public_key,
    }
}

/// The `q`th percentile of sorted `list`, in ms (nearest rank; 100 is the maximum).
fn percentile_ms(list: &[Duration], q: usize) -> f64 {
    let Some(last) = list.len().checked_sub(1) else {
        return 0.0;
    };
    let rank = (list.len() * q).div_ceil(100).saturating_sub(1).min(last);
    list[rank].as_secs_f64() * 1000.0
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

// ---- scenarios ---------------------------------------------------------------------

async fn no_key_before_the_grant_and_a_key_after_it(w: &World) -> Outcome {
    let s = w.session().await;
    let text = "Synthetic lab report: haemoglobin 14.1 g/dL (no real patient).";
    let record = put(w, &s, "report-1.txt", text).await?;
    // Before any consent: the access is denied (and logged), so there is no key.
    let out = w.out_path("report-1.early");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::Denied(DenyReason::NoConsent)) => {}
        other => return Err(format!("before the grant: {other:?}")),
    }
    ensure!(!out.exists(), "a plaintext was written without consent");
    let before: Vec<u64> = futures::future::join_all(w.servers.iter().map(|sv| health(&sv.url)))
        .await
        .into_iter()
        .map(|h| h.map(|h| h["releases"].as_u64().unwrap_or(0)))
        .collect::<Result<_, _>>()?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let out = w.out_path("report-1.opened");
    let opened = read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("after the grant: {e}"))?;
    ensure!(read(&out) == text, "the decrypted text differs");
    ensure!(
        opened.shares_used == 2,
        "{} shares used",
        opened.shares_used
    );
    // Every server released once, for that entry, and recorded it.
    for (server, before) in w.servers.iter().zip(before) {
        let after = health(&server.url).await?["releases"].as_u64().unwrap_or(0);
        ensure!(
            after == before + 1,
            "{}: releases {before} -> {after}",
            server.url
        );
    }
    Ok(())
}

async fn a_replayed_request_is_refused_as_used(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "replay.txt", "replay").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let entry = access(w, &s, &w.doctor, record).await?;
    ensure!(entry.kind == EntryKind::Access, "{:?}", entry.kind);
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let signed = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    let first = post_release(&server.url, &signed).await;
    ensure!(first == (200, String::new()), "first: {first:?}");
    let again = post_release(&server.url, &signed).await;
    ensure!(again == (409, "entry_used".into()), "replay: {again:?}");
    // A fresh signature over the same entry is the same entry: still used.
    let resigned = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now + 1),
    );
    let third = post_release(&server.url, &resigned).await;
    ensure!(third == (409, "entry_used".into()), "re-signed: {third:?}");
    // The same entry at another server is that server's first use.
    let other = &w.servers[1];
    let elsewhere = signed_by(
        &w.doctor.signer,
        request_for(other.public_key, &entry, 1, &w.doctor, now),
    );
    ensure!(
        post_release(&other.url, &elsewhere).await.0 == 200,
        "second server refused"
    );
    // A request for one server is worthless at another.
    let crossed = post_release(&w.servers[2].url, &signed).await;
    ensure!(
        crossed == (400, "wrong_server".into()),
        "crossed: {crossed:?}"
    );
    Ok(())
}

async fn another_readers_entry_and_forged_signatures_are_refused(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "other.txt", "other").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let entry = access(w, &s, &w.doctor, record).await?;
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    // Eve names Dave's entry in her own, validly signed, request.
    let eve = signed_by(
        &w.stranger.signer,
        request_for(server.public_key, &entry, 1, &w.stranger, now),
    );
    let got = post_release(&server.url, &eve).await;
    ensure!(
        got == (403, "other_reader".into()),
        "Eve with Dave's entry: {got:?}"
    );
    // Eve signs a request in Dave's name.
    let forged = signed_by(
        &w.stranger.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    let got = post_release(&server.url, &forged).await;
    ensure!(got == (401, "bad_signature".into()), "forged: {got:?}");
    // Dave's signature, with the reply key changed to Eve's afterwards.
    let mut moved = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    moved.request.reply_key = w.stranger.public_key();
    let got = post_release(&server.url, &moved).await;
    ensure!(
        got == (401, "bad_signature".into()),
        "moved reply key: {got:?}"
    );
    // Dave signing for a reply key that is not his directory key.
    let mut elsewhere = request_for(server.public_key, &entry, 1, &w.doctor, now);
    elsewhere.reply_key = w.stranger.public_key();
    let got = post_release(&server.url, &signed_by(&w.doctor.signer, elsewhere)).await;
    ensure!(
        got == (403, "reply_key_mismatch".into()),
        "other reply key: {got:?}"
    );
    // None of these used the entry: Dave's own request still works.
    let own = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &entry, 1, &w.doctor, now),
    );
    let got = post_release(&server.url, &own).await;
    ensure!(got.0 == 200, "Dave after the refusals: {got:?}");
    Ok(())
}

async fn an_entry_for_another_record_is_refused(w: &World) -> Outcome {
    let s = w.session().await;
    let first = put(w, &s, "a.txt", "a").await?;
    let second = put(w, &s, "b.txt", "b").await?;
    grant(w, &s, &w.doctor, Scope::Record(first)).await?;
    let entry = access(w, &s, &w.doctor, first).await?;
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let mut request = request_for(server.public_key, &entry, 1, &w.doctor, now);
    request.record = second;
    let got = post_release(&server.url, &signed_by(&w.doctor.signer, request)).await;
    ensure!(got == (403, "other_record".into()), "{got:?}");
    // A denied entry (Eve has no consent) backs nothing.
    let denied = access(w, &s, &w.stranger, first).await?;
    ensure!(
        matches!(denied.kind, EntryKind::Denied(_)),
        "{:?}",
        denied.kind
    );
    let request = request_for(server.public_key, &denied, 1, &w.stranger, now);
    let got = post_release(&server.url, &signed_by(&w.stranger.signer, request)).await;
    ensure!(
        got == (403, "not_an_access".into()),
        "denied entry: {got:?}"
    );
    // An entry that does not exist (yet).
    let mut request = request_for(server.public_key, &entry, 1, &w.doctor, now);
    request.log_seq = entry.seq + 1_000;
    let got = post_release(&server.url, &signed_by(&w.doctor.signer, request)).await;
    ensure!(
        got == (404, "no_such_entry".into()),
        "future entry: {got:?}"
    );
    Ok(())
}

/// POSTs a deposit; (status, error code or "").
async fn post_deposit(url: &str, signer: &Signer, deposit: Deposit) -> (u16, String) {
    let signature = signer.sign(&deposit.signing_message()).0;
    let signed = SignedDeposit { deposit, signature };
    let body = serde_json::json!({ "signed": format!("0x{}", hex::encode(signed.encode())) });
    post_json(url, "/v1/deposit", &body).await
}

async fn refused_deposits_and_unsealable_releases_change_nothing(w: &World) -> Outcome {
    let s = w.session().await;
    let text = "kept as deposited";
    let record = put(w, &s, "keep.txt", text).await?;
    let server = &w.servers[0];
    let hash = s
        .record_at(None, &w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?
        .content_hash;
    let now = chain_now(&s).await;
    let server_key = x25519_dalek::PublicKey::from(server.public_key);
    let deposit = |patient: &Person, version: u32, index: u8, sealed_index: u8| Deposit {
        server: server.public_key,
        patient: patient.account(),
        record,
        version,
        content_hash: hash,
        index,
        share: envelope::seal(
            &[9; 32],
            &server_key,
            &deposit_context(&server.public_key, record, version, &hash, sealed_index),
        )
        .unwrap(),
        expires_at: now + 60_000,
    };
    // A share sealed for another index does not open under the deposit's terms.
    let got = post_deposit(&server.url, &w.patient.signer, deposit(&w.patient, 1, 1, 2)).await;
    ensure!(got == (400, "bad_share".into()), "other index: {got:?}");
    // Eve, signing as herself, cannot plant a share for Bob's record.
    let got = post_deposit(
        &server.url,
        &w.stranger.signer,
        deposit(&w.stranger, 1, 1, 1),
    )
    .await;
    ensure!(
        got == (403, "not_the_patient".into()),
        "Eve's deposit: {got:?}"
    );
    // Bob cannot deposit for a version the chain does not have yet.
    let got = post_deposit(&server.url, &w.patient.signer, deposit(&w.patient, 2, 1, 1)).await;
    ensure!(
        got == (403, "wrong_version".into()),
        "future version: {got:?}"
    );
    // Nothing changed: the server holds version 1 only, and the record still opens with
    // the shares that were deposited at `put`.
    ensure!(
        versions_held(&server.url, record).await == vec![1],
        "the held versions changed"
    );
    // (Bob's own read, PATRQT: Dave's rule budget with Bob belongs to other scenarios.)
    let out = w.out_path("keep.opened");
    s.get(
        &w.patient.signer,
        &w.patient.secret,
        record,
        Purpose::PatientRequest,
        &w.patient.store,
        &out,
    )
    .await
    .map_err(|e| format!("after the refused deposits: {e}"))?;
    ensure!(read(&out) == text, "the record opens to another text");

    // Bob's own (PATRQT) read may name any reply key, but not a low-order one; the refusal
    // does not use up the entry.
    let own = access_for(w, &s, &w.patient, record, Purpose::PatientRequest).await?;
    ensure!(
        own.kind == EntryKind::Access,
        "Bob's own read: {:?}",
        own.kind
    );
    let mut weak = request_for(server.public_key, &own, 1, &w.patient, now);
    weak.reply_key = [0; 32];
    let got = post_release(&server.url, &signed_by(&w.patient.signer, weak)).await;
    ensure!(
        got == (400, "weak_reply_key".into()),
        "weak reply key: {got:?}"
    );
    let proper = signed_by(
        &w.patient.signer,
        request_for(server.public_key, &own, 1, &w.patient, now),
    );
    let got = post_release(&server.url, &proper).await;
    ensure!(got.0 == 200, "after the weak key: {got:?}");
    // A server without a share of the record says so, and keeps the entry unused.
    let strict = &w.strict;
    let request = signed_by(
        &w.patient.signer,
        request_for(strict.public_key, &own, 1, &w.patient, now),
    );
    let got = post_release(&strict.url, &request).await;
    ensure!(got == (404, "no_share".into()), "no share: {got:?}");
    let releases = health(&strict.url).await?["releases"].as_u64();
    ensure!(
        releases == Some(0),
        "the strict server recorded {releases:?} releases"
    );
    Ok(())
}

async fn a_stale_entry_is_refused(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "stale.txt", "stale").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let entry = access(w, &s, &w.doctor, record).await?;
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // The chain's clock moves only with blocks: make one.
    access(w, &s, &w.stranger, record).await?;
    let now = chain_now(&s).await;
    ensure!(
        now > entry.timestamp + 3_000,
        "the chain clock did not move"
    );
    let strict = &w.strict;
    let signed = signed_by(
        &w.doctor.signer,
        request_for(strict.public_key, &entry, 1, &w.doctor, now),
    );
    let got = post_release(&strict.url, &signed).await;
    ensure!(got == (403, "stale_entry".into()), "{got:?}");
    Ok(())
}

async fn malformed_requests_get_4xx_and_the_server_keeps_serving(w: &World) -> Outcome {
    let url = &w.servers[0].url;
    let http = reqwest::Client::new();
    let raw = |path: &str, body: Vec<u8>| {
        http.post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let json: Value = r.json().await.unwrap_or_default();
        (status, json["error"].as_str().unwrap_or("").to_owned())
    };
    let cases: Vec<(&str, Vec<u8>, (u16, &str))> = vec![
        ("/v1/release", b"{".to_vec(), (400, "malformed_json")),
        (
            "/v1/release",
            br#"{"signed": 5}"#.to_vec(),
            (422, "wrong_type"),
        ),
        (
            "/v1/release",
            br#"{"signed": "0x00", "extra": 1}"#.to_vec(),
            (422, "wrong_type"),
        ),
        (
            "/v1/release",
            br#"{"signed": "zz"}"#.to_vec(),
            (400, "bad_encoding"),
        ),
        (
            "/v1/release",
            br#"{"signed": "0x0102"}"#.to_vec(),
            (400, "bad_encoding"),
        ),
        (
            "/v1/deposit",
            br#"{"signed": "0x"}"#.to_vec(),
            (400, "bad_encoding"),
        ),
        (
            "/v1/retire",
            br#"{"record": "seven"}"#.to_vec(),
            (422, "wrong_type"),
        ),
        ("/v1/release", vec![b' '; 64 * 1024], (413, "too_large")),
        ("/v1/nothing-here", b"{}".to_vec(), (404, "not_found")),
    ];
    for (path, body, expected) in cases {
        let got = code(raw(path, body).await.map_err(|e| e.to_string())?).await;
        ensure!(
            got == (expected.0, expected.1.to_owned()),
            "{path}: {got:?}, expected {expected:?}"
        );
    }
    let plain = http
        .post(format!("{url}/v1/release"))
        .body("{}")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let got = code(plain).await;
    ensure!(got == (415, "not_json".into()), "no content type: {got:?}");
    // A blob whose bytes do not hash to its name is refused.
    let put = http
        .put(format!("{url}/v1/blobs/0x{}", hex::encode([7u8; 32])))
        .body("not that")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let got = code(put).await;
    ensure!(got == (400, "hash_mismatch".into()), "blob: {got:?}");
    health(url).await?;
    // The operator's log has a line for each refusal with its status and code, and none
    // of what the bodies held.
    let log = std::fs::read_to_string(&w.servers[0].log).map_err(|e| e.to_string())?;
    for line in [
        "method=POST path=/v1/release status=400 error=malformed_json ",
        "method=POST path=/v1/release status=422 error=wrong_type ",
        "method=POST path=/v1/retire status=422 error=wrong_type ",
        "method=POST path=/v1/release status=413 error=too_large ",
        "method=POST path=/v1/nothing-here status=404 error=not_found ",
        "method=POST path=/v1/release status=415 error=not_json ",
        "method=GET path=/v1/health status=200 error=- ",
    ] {
        ensure!(log.contains(line), "no log line with {line:?}");
    }
    ensure!(
        log.lines()
            .all(|l| l.starts_with("request ") && !l.contains("seven") && !l.contains("0x0102")),
        "the log holds more than request lines"
    );
    Ok(())
}

async fn one_server_down_still_decrypts_two_down_is_a_clear_error_and_sigkill_loses_nothing(
    w: &World,
) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "down.txt", "down").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let counts = |h: Value| {
        (
            h["shares"].as_u64().unwrap(),
            h["releases"].as_u64().unwrap(),
        )
    };
    let servers = &w.servers;
    // What each server had confirmed when it was killed.
    let mut at_kill = [(0, 0); 3];
    at_kill[2] = counts(health(&servers[2].url).await?);
    servers[2].kill();
    // What `medconsent shares` tells the patient: two of three hold version 1, enough.
    let holdings = s
        .holdings(&w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        holdings.version == 1
            && holdings.holding_current() == 2
            && holdings.enough()
            && holdings.at_servers[..2]
                .iter()
                .all(|(_, held)| held == &Ok(vec![1]))
            && holdings.at_servers[2].1.is_err(),
        "one down: {holdings:?}"
    );
    let out = w.out_path("down.one");
    let opened = read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("one server down: {e}"))?;
    ensure!(
        read(&out) == "down" && opened.shares_used == 2,
        "one down: {opened:?}"
    );
    at_kill[1] = counts(health(&servers[1].url).await?);
    servers[1].kill();
    let holdings = s
        .holdings(&w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        holdings.holding_current() == 1 && !holdings.enough(),
        "two down: {holdings:?}"
    );
    let out = w.out_path("down.two");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::NotEnoughShares {
            got: 1,
            needed: 2,
            refusals,
        }) => {
            ensure!(
                refusals.iter().all(|r| r.contains("unreachable")),
                "{refusals:?}"
            );
        }
        other => return Err(format!("two servers down: {other:?}")),
    }
    ensure!(!out.exists(), "a plaintext from one share");
    // SIGKILLed servers come back with every share and every release record.
    servers[1].start(&w.deployment_file);
    servers[2].start(&w.deployment_file);
    for (i, server) in w.servers.iter().enumerate().skip(1) {
        let now = counts(health(&server.url).await?);
        ensure!(
            now == at_kill[i],
            "{}: {:?} at the kill, {now:?} after",
            server.url,
            at_kill[i]
        );
    }
    let out = w.out_path("down.back");
    read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("after the restart: {e}"))?;
    ensure!(read(&out) == "down", "after the restart");
    Ok(())
}

async fn rotation_moves_readers_to_the_new_version(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "rotate.txt", "rotate me").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let old_entry = access(w, &s, &w.doctor, record).await?;
    let rotated = s
        .rotate(
            &w.patient.signer,
            &w.patient.secret,
            record,
            &w.patient.store,
        )
        .await
        .map_err(|e| format!("rotate: {e}"))?;
    ensure!(
        rotated.version == 2 && rotated.shares_deposited == 3,
        "{rotated:?}"
    );
    for server in &w.servers {
        let held = versions_held(&server.url, record).await;
        ensure!(held == vec![2], "{} holds {held:?}", server.url);
    }
    // An entry made before the rotation asks for version 1: refused.
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let stale_version = signed_by(
        &w.doctor.signer,
        request_for(server.public_key, &old_entry, 1, &w.doctor, now),
    );
    let got = post_release(&server.url, &stale_version).await;
    ensure!(got == (403, "wrong_version".into()), "{got:?}");
    let out = w.out_path("rotate.opened");
    let opened = read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("after rotation: {e}"))?;
    ensure!(
        opened.version == 2 && read(&out) == "rotate me",
        "{opened:?}"
    );
    Ok(())
}

async fn no_key_after_the_revoke(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "revoke.txt", "revoke").await?;
    let consent = grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let out = w.out_path("revoke.before");
    read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("before the revoke: {e}"))?;
    revoke(w, &s, consent).await?;
    let out = w.out_path("revoke.after");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::Denied(DenyReason::NoConsent)) => {}
        other => return Err(format!("after the revoke: {other:?}")),
    }
    ensure!(!out.exists(), "a plaintext after the revoke");
    Ok(())
}

async fn retiring_destroys_every_share(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "retire.txt", "retire").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let unused = access(w, &s, &w.doctor, record).await?;
    // Before retirement a server refuses to delete anything.
    let early = post_json(
        &w.servers[0].url,
        "/v1/retire",
        &serde_json::json!({"record": record}),
    )
    .await;
    ensure!(early == (409, "not_retired".into()), "early: {early:?}");
    ensure!(
        versions_held(&w.servers[0].url, record).await == vec![1],
        "shares gone early"
    );
    let versioned = s
        .record_at(None, &w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    let owner_copy = w
        .patient
        .store
        .dir()
        .join(format!("{}.owner", hex::encode(versioned.content_hash)));
    ensure!(owner_copy.exists(), "no owner copy before the retirement");
    let retired = s
        .retire(&w.patient.signer, record, &w.patient.store)
        .await
        .map_err(|e| format!("retire: {e}"))?;
    for (url, deleted) in &retired.at_servers {
        ensure!(deleted == &Ok(1), "{url}: {deleted:?}");
    }
    // The patient's own copy of the key went too: no copy of it is left.
    ensure!(
        retired.own_copies_deleted == 1 && !owner_copy.exists(),
        "own copies deleted: {}",
        retired.own_copies_deleted
    );
    for server in &w.servers {
        ensure!(
            versions_held(&server.url, record).await.is_empty(),
            "{} kept a share",
            server.url
        );
    }
    let holdings = s
        .holdings(&w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        holdings.status == medconsent_shared::RecordStatus::Retired
            && holdings.holding_current() == 0
            && holdings
                .at_servers
                .iter()
                .all(|(_, held)| held == &Ok(vec![])),
        "after retirement: {holdings:?}"
    );
    // The unused entry from before the retirement gets nothing.
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let got = post_release(
        &server.url,
        &signed_by(
            &w.doctor.signer,
            request_for(server.public_key, &unused, 1, &w.doctor, now),
        ),
    )
    .await;
    ensure!(got == (410, "retired".into()), "{got:?}");
    let out = w.out_path("retire.after");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::Denied(DenyReason::RecordRetired)) => Ok(()),
        other => Err(format!("after retirement: {other:?}")),
    }
}

/// The admin suspends server 3 and a client asks for the key servers while the
/// suspension is in the best block but not yet final (the dev node finalizes about a
/// second behind): the client waits for finality and leaves server 3 out, rather than
/// deposit to the directory of a block ago. The same wait covers a server just added
/// (the demo's put once spread its shares over two servers, not three).
async fn a_directory_change_not_yet_final_is_waited_for(w: &World) -> Outcome {
    let s = w.session().await;
    let admin = medconsent_chain::signer_from_uri("//Alice")?;
    let contracts = w.deployment.contracts;
    let suspended = w.servers[2].account;
    let status_at = |at| {
        let chain = s.chain.clone();
        async move {
            chain
                .read(
                    Some(at),
                    &suspended,
                    &contracts.consents,
                    &contracts.consents().provider(suspended),
                )
                .await
                .map_err(|e| e.to_string())
                .map(|p| p.map(|p| p.status))
        }
    };
    let chain = s.chain.clone();
    let suspend = tokio::spawn(async move {
        let mut consents = contracts.consents();
        chain
            .submit(
                &admin,
                &contracts.consents,
                &consents.suspend_provider(suspended),
            )
            .await
            .map(|(result, included)| (format!("{result:?}"), included.is_some()))
            .map_err(|e| e.to_string())
    });
    // The check, then the reactivation whatever its outcome: the scenarios after this
    // one need server 3.
    let checked = async {
        let started = Instant::now();
        let best = loop {
            let best = s.chain.best().await.map_err(|e| e.to_string())?;
            if status_at(best).await? == Some(ProviderStatus::Suspended) {
                break best;
            }
            ensure!(
                started.elapsed() < Duration::from_secs(30),
                "the suspension never reached a block"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let finalized = s.chain.finalized().await.map_err(|e| e.to_string())?;
        ensure!(
            finalized.number < best.number && status_at(finalized).await? == Some(ProviderStatus::Active),
            "the suspension was final before the client asked (block {}, finalized {}): nothing to wait for",
            best.number,
            finalized.number
        );
        let servers = s.key_servers().await.map_err(|e| e.to_string())?;
        let urls: Vec<&str> = servers.iter().map(|k| k.endpoint.url.as_str()).collect();
        let finalized = s.chain.finalized().await.map_err(|e| e.to_string())?;
        ensure!(
            urls == [w.servers[0].url.as_str(), w.servers[1].url.as_str()]
                && finalized.number >= best.number,
            "key servers {urls:?} with the suspension in block {} and finalized {}",
            best.number,
            finalized.number
        );
        Ok::<(), String>(())
    }
    .await;
    let (result, included) = suspend.await.map_err(|e| e.to_string())??;
    ensure!(included, "suspend_provider: {result}");
    let admin = medconsent_chain::signer_from_uri("//Alice")?;
    let (result, included) = s
        .chain
        .submit(
            &admin,
            &contracts.consents,
            &contracts.consents().reactivate_provider(suspended),
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure!(included.is_some(), "reactivate_provider: {result:?}");
    let servers = s.key_servers().await.map_err(|e| e.to_string())?;
    ensure!(
        servers.len() == 3,
        "{} servers after the reactivation",
        servers.len()
    );
    checked
}

/// A session whose server `i` (0-based) is a hostile stand-in at `url`, with a client
/// timeout long enough that only not waiting for a hung server lets a read finish.
async fn session_with_stand_ins(w: &World, stand_ins: &[(usize, &str)]) -> Session {
    let mut deployment = w.deployment.clone();
    for (i, url) in stand_ins {
        deployment.key_servers[*i].url = (*url).to_owned();
    }
    let mut session = Session::connect(deployment).await.unwrap();
    session.servers = medconsent_client::servers::Servers::with_timeout(Duration::from_secs(3600));
    session
}

/// One server of three lies (a made-up share under its own or another's index, a made-up
/// blob), hangs, or answers a megabyte: the reader still gets the right plaintext from the
/// two honest ones. Two liars (t of them) give SharesDisagree and no file, never a wrong
/// plaintext.
async fn a_hostile_key_server_costs_tries_never_a_wrong_key_nor_a_stall(w: &World) -> Outcome {
    use hostile::Lie;
    let s = w.session().await;
    let text = "Synthetic discharge letter (no real patient).";
    let record = put(w, &s, "hostile.txt", text).await?;
    grant(w, &s, &w.stranger, Scope::Record(record)).await?;
    let reader = &w.stranger;
    for (run, lie) in [
        Lie::WrongShare,
        Lie::OthersIndex(2),
        Lie::OthersIndex(0),
        Lie::Hang,
        Lie::Oversized,
    ]
    .into_iter()
    .enumerate()
    {
        let liar = hostile::start(lie, 1).await;
        let session = session_with_stand_ins(w, &[(0, &liar.url)]).await;
        // A store of its own: the ciphertext comes from the servers each time.
        let store = medconsent_client::store::Store::new(w.out_path(&format!("hostile-{run}")))
            .map_err(|e| e.to_string())?;
        let out = w.out_path(&format!("hostile-{run}.txt"));
        let reading = session.get(
            &reader.signer,
            &reader.secret,
            record,
            Purpose::Treat,
            &store,
            &out,
        );
        // A guard so a stalled read fails the test instead of hanging it; not a timing.
        let opened = tokio::time::timeout(Duration::from_secs(120), reading)
            .await
            .map_err(|_| format!("{lie:?}: the read waited for the hostile server"))?
            .map_err(|e| format!("{lie:?}: {e}"))?;
        ensure!(read(&out) == text, "{lie:?}: another plaintext");
        ensure!(
            opened.shares_used == 2,
            "{lie:?}: {} shares",
            opened.shares_used
        );
        // A liar whose share arrived is named; an honest server never is. (The read does
        // not wait for a third answer, so whether the liar's came in varies.)
        let gave_a_share = matches!(lie, Lie::WrongShare | Lie::OthersIndex(_));
        let named: Vec<String> = if gave_a_share && opened.shares_received == 3 {
            vec![liar.url.clone()]
        } else {
            Vec::new()
        };
        ensure!(
            opened.suspects == named,
            "{lie:?}: suspects {:?} with {} shares received",
            opened.suspects,
            opened.shares_received
        );
    }

    // The oversized answer is refused as such, not parsed.
    let liar = hostile::start(Lie::Oversized, 1).await;
    let session = session_with_stand_ins(w, &[(0, &liar.url)]).await;
    let entry = access(w, &s, reader, record).await?;
    let now = chain_now(&s).await;
    let signed = signed_by(
        &reader.signer,
        request_for(w.servers[0].public_key, &entry, 1, reader, now),
    );
    let mut stand_in = key_server(w, 0);
    stand_in.endpoint.url = liar.url.clone();
    match session.servers.release(&stand_in, &signed).await {
        Err(medconsent_client::servers::ServerError::Garbled { why, .. })
            if why.contains("larger than") => {}
        other => return Err(format!("a 1 MiB answer: {other:?}")),
    }

    // Two liars are t of them: no plaintext at all, never a wrong one.
    let first = hostile::start(Lie::WrongShare, 1).await;
    let second = hostile::start(Lie::WrongShare, 2).await;
    let session = session_with_stand_ins(w, &[(0, &first.url), (1, &second.url)]).await;
    let store = medconsent_client::store::Store::new(w.out_path("hostile-two"))
        .map_err(|e| e.to_string())?;
    let out = w.out_path("hostile-two.txt");
    match session
        .get(
            &reader.signer,
            &reader.secret,
            record,
            Purpose::Treat,
            &store,
            &out,
        )
        .await
    {
        Err(FlowError::SharesDisagree) => {}
        other => return Err(format!("two liars: {other:?}")),
    }
    ensure!(!out.exists(), "two liars left a file");
    Ok(())
}

/// At least 500 releases from concurrent clients: every one answered 200, every share
/// opens for its entry, and every pair of shares rebuilds the same key, which decrypts
/// the record. Prints latency percentiles per server for BENCHMARKS.md.
async fn load_concurrent_releases_none_lost_none_wrong(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "load.txt", "load").await?;
    // Eve reads: Dave's rules with Bob (at most 8 per pair) went to the earlier scenarios.
    grant(w, &s, &w.stranger, Scope::Record(record)).await?;
    let entries = chart_entries(w, &s, &w.stranger, record, 6).await?;
    let patient = w.patient.account();
    let now = chain_now(&s).await;
    let doctor = &w.stranger;
    let mut jobs = Vec::new();
    for entry in &entries {
        for (i, server) in w.servers.iter().enumerate() {
            let signed = signed_by(
                &doctor.signer,
                request_for(server.public_key, entry, 1, doctor, now),
            );
            jobs.push((i, entry.seq, signed));
        }
    }
    let total = jobs.len();
    ensure!(total >= 500, "only {total} releases planned");
    let servers = &s.servers;
    let started = Instant::now();
    // 16 clients in flight at a time.
    let results: Vec<_> =
        futures::stream::StreamExt::collect(futures::stream::StreamExt::buffer_unordered(
            futures::stream::iter(jobs.into_iter().map(|(i, seq, signed)| {
                let ks = key_server(w, i);
                async move {
                    let t = Instant::now();
                    let answer = servers.release(&ks, &signed).await;
                    (i, seq, t.elapsed(), answer)
                }
            })),
            16,
        ))
        .await;
    let elapsed = started.elapsed();
    let mut by_entry: std::collections::BTreeMap<u64, Vec<medconsent_keyrelease::shamir::Share>> =
        Default::default();
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); 3];
    for (i, seq, latency, answer) in results {
        let released = answer.map_err(|e| format!("a release failed: {e}"))?;
        let context = medconsent_keyrelease::envelope::release_context(
            &w.servers[i].public_key,
            &patient,
            record,
            1,
            seq,
            &doctor.account(),
            released.index,
        );
        let value =
            medconsent_keyrelease::envelope::open(&released.share, &doctor.secret, &context)
                .map_err(|e| format!("a released share does not open: {e}"))?;
        by_entry
            .entry(seq)
            .or_default()
            .push(medconsent_keyrelease::shamir::Share {
                index: released.index,
                value: *value,
            });
        latencies[i].push(latency);
    }
    let mut key = None;
    for (seq, shares) in &by_entry {
        ensure!(shares.len() == 3, "entry {seq}: {} shares", shares.len());
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let chosen = [shares[pair[0]].clone(), shares[pair[1]].clone()];
            let rebuilt =
                *medconsent_keyrelease::shamir::combine(&chosen, 2).map_err(|e| e.to_string())?;
            ensure!(
                *key.get_or_insert(rebuilt) == rebuilt,
                "entry {seq}: shares rebuild another key"
            );
        }
    }
    // The key they all rebuild decrypts the record.
    let record_now = s
        .record_at(None, &doctor.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    let blob = w.patient.store.blob_path(&record_now.content_hash);
    let out = w.out_path("load.opened");
    let key = zeroize::Zeroizing::new(key.ok_or("no key")?);
    medconsent_client::store::open_verified(
        std::fs::File::open(blob).map_err(|e| e.to_string())?,
        &record_now.content_hash,
        &key,
        medconsent_client::Binding {
            record_id: record,
            version: 1,
        },
        &out,
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    ensure!(read(&out) == "load", "the rebuilt key opens another text");
    println!(
        "    load: {total} releases, 16 in flight, {:.1} s, {:.0} releases/s overall",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    for (i, mut list) in latencies.into_iter().enumerate() {
        list.sort();
        println!(
            "    load: server {} release latency p50 {:.1} ms, p95 {:.1} ms ({} releases)",
            i + 1,
            percentile_ms(&list, 50),
            percentile_ms(&list, 95),
            list.len()
        );
    }
    Ok(())
}
