//! `--bench`: the key-release figures of BENCHMARKS.md measured in the same
//! world as the scenarios: one server's check and release one request at a time, releases
//! per second per server, a full 2-of-3 `get` with and without the on-chain access, and
//! what a share and a release record cost the server's database. Wall-clock timings on
//! this machine; printed, written to the "Key release" section, never asserted.

use crate::fixtures::{
    chain_now, chart_entries, grant, key_server, percentile_ms, put, read_as, request_for,
    signed_by,
};
use crate::world::{World, THRESHOLD};
use medconsent_client::flow::Session;
use medconsent_keyrelease::envelope::SEALED_LEN;
use medconsent_keyserver::facts::ChainReader;
use medconsent_keyserver::share_db::{ReleaseRecord, ShareDb, StoredShare};
use medconsent_shared::{LogEntry, RecordId, Scope};
use parity_scale_codec::Encode;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Entries released one at a time at each server.
const SEQUENTIAL_CHARTS: usize = 4;
/// Entries released concurrently at each server, one server at a time.
const THROUGHPUT_CHARTS: usize = 8;
const IN_FLIGHT: usize = 16;
const GETS: usize = 10;
/// Entries released by one server reading one node, then as many reading two.
const QUORUM_CHARTS: usize = 2;
const RECORD_BYTES: usize = 16 * 1024;
/// Records in the chart, and chart opens timed.
const CHART: usize = 32;
const CHART_RUNS: usize = 3;
const STORED: usize = 10_000;

pub async fn run(w: &World, out: &std::path::Path) -> Result<(), String> {
    let s = w.session().await;
    let reader = &w.stranger;
    let text: String = "Synthetic observation, no real patient. "
        .chars()
        .cycle()
        .take(RECORD_BYTES)
        .collect();
    let record = put(w, &s, "bench.txt", &text).await?;
    grant(w, &s, reader, Scope::Record(record)).await?;
    let charts = SEQUENTIAL_CHARTS + THROUGHPUT_CHARTS + QUORUM_CHARTS;
    println!("bench: {charts} chart accesses of 32 entries each");
    let entries = chart_entries(w, &s, reader, record, charts).await?;
    let (sequential, rest) = entries.split_at(SEQUENTIAL_CHARTS * 32);
    let (concurrent, quorum) = rest.split_at(THROUGHPUT_CHARTS * 32);

    let mut report = String::new();
    writeln!(report, "## Key release\n").unwrap();
    writeln!(
        report,
        "Measured by `scripts/bench.sh` with `keyserver/tests/release --bench`: the release \
         build of `medconsent-keyserver`, three server processes and substrate-contracts-node \
         `--dev` on this machine ({} cores), HTTP over loopback, threshold {THRESHOLD} of 3. \
         These are wall-clock timings: unlike the weights above they vary from run to run.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
    .unwrap();

    println!("bench: one request at a time");
    one_at_a_time(w, &s, sequential, &mut report).await?;
    println!("bench: {IN_FLIGHT} in flight, one server at a time");
    per_second(w, &s, concurrent, &mut report).await?;
    println!("bench: one node and a two-node quorum; forged requests");
    nodes(w, &s, quorum, &mut report).await?;
    println!("bench: {GETS} full gets with and without the access");
    full_get(w, &s, record, &mut report).await?;
    println!("bench: a {CHART}-record chart against {CHART} single gets");
    chart_against_singles(w, &s, &text, &mut report).await?;
    println!("bench: share and release storage");
    storage(w, &mut report).await?;

    write_section(out, "## Key release\n", &report)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!("BENCH wrote the Key release section of {}", out.display());
    Ok(())
}

/// A table row: shown as it is measured, and kept for the report.
pub fn emit(report: &mut String, line: &str) {
    println!("bench: {line}");
    writeln!(report, "{line}").unwrap();
}

/// `| label | n | p50 | p95 | max |` of `list` (ms).
pub fn row(label: &str, list: &mut [Duration]) -> String {
    list.sort();
    format!(
        "| {label} | {} | {:.1} | {:.1} | {:.1} |",
        list.len(),
        percentile_ms(list, 50),
        percentile_ms(list, 95),
        percentile_ms(list, 100)
    )
}

async fn one_at_a_time(
    w: &World,
    s: &Session,
    entries: &[LogEntry],
    report: &mut String,
) -> Result<(), String> {
    let reader = &w.stranger;
    let now = chain_now(s).await;
    writeln!(
        report,
        "### One server's check and release\n\n\
         One request at a time, each for a fresh Access entry: the client's round trip for \
         `POST /v1/release`, which covers the signature, the latest finalized block and its \
         time, three dry runs at that block (the entry, the record, the requester's directory \
         key), opening the deposited share, sealing it to the reader and the committed \
         \"used\" mark (redb, fsync) before the answer. \"Chain reads\" runs the server's own \
         reading code (`facts::ChainReader`) from the benchmark for the same requests; the \
         health route's round trip is the floor of HTTP alone. The server makes its three \
         dry runs one after another: made concurrently on its one RPC connection they cost \
         about 40 ms more (p50 48 ms per release, measured before the change). \
         Target: p95 under 50 ms.\n\n\
         | server | releases | p50 ms | p95 ms | max ms | chain reads p50 ms | health p50 ms | target |\n\
         |---|---:|---:|---:|---:|---:|---:|---|"
    )
    .unwrap();
    let http = reqwest::Client::new();
    for (i, server) in w.servers.iter().enumerate() {
        let ks = key_server(w, i);
        let mut latencies = release_each(s, &ks, reader, entries, now)
            .await
            .map_err(|e| format!("server {}: {e}", i + 1))?;
        let mut health = Vec::new();
        for _ in 0..entries.len() {
            let started = Instant::now();
            let status = http
                .get(format!("{}/v1/health", server.url))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .status();
            health.push(started.elapsed());
            ensure!(status.as_u16() == 200, "health {status}");
        }
        // The server's chain reads alone, from here: the same code on its own connection.
        let node = medconsent_keyserver::facts::Node {
            url: w.node_url.clone(),
            chain: medconsent_chain::Chain::connect(&w.node_url)
                .await
                .map_err(|e| e.to_string())?,
        };
        let chain_reader = ChainReader::new(
            vec![node],
            1,
            w.deployment.contracts(),
            server.account,
            std::sync::Arc::new(medconsent_keyserver::metrics::Metrics::default()),
        );
        let mut reads = Vec::new();
        for entry in entries {
            let request = request_for(server.public_key, entry, 1, reader, now);
            let started = Instant::now();
            let (block, now) = chain_reader.finalized().await.map_err(|e| e.to_string())?;
            chain_reader
                .release_facts(block, now, &request)
                .await
                .map_err(|e| e.to_string())?;
            reads.push(started.elapsed());
        }
        reads.sort();
        health.sort();
        latencies.sort();
        let p95 = percentile_ms(&latencies, 95);
        let line = format!(
            "{} {:.1} | {:.1} | {} |",
            row(&format!("{}", i + 1), &mut latencies),
            percentile_ms(&reads, 50),
            percentile_ms(&health, 50),
            if p95 < 50.0 { "met" } else { "missed" }
        );
        emit(report, &line);
    }
    writeln!(report).unwrap();
    Ok(())
}

/// Each entry's share asked of `ks`, one request at a time: the round trips.
async fn release_each(
    s: &Session,
    ks: &medconsent_client::servers::KeyServer,
    reader: &crate::world::Person,
    entries: &[LogEntry],
    now: u64,
) -> Result<Vec<Duration>, String> {
    let mut latencies = Vec::with_capacity(entries.len());
    for entry in entries {
        let signed = signed_by(
            &reader.signer,
            request_for(ks.public_key, entry, 1, reader, now),
        );
        let started = Instant::now();
        s.servers
            .release(ks, &signed)
            .await
            .map_err(|e| e.to_string())?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

async fn nodes(
    w: &World,
    s: &Session,
    entries: &[LogEntry],
    report: &mut String,
) -> Result<(), String> {
    let reader = &w.stranger;
    let now = chain_now(s).await;
    writeln!(
        report,
        "### One node or a quorum of two, and a forged request\n\n\
         Server 3 restarted reading one node, then two (`--node` twice, the same node as \
         127.0.0.1 and as localhost: two connections, so the quorum's cost without a second \
         machine's latency); one request at a time, each for a fresh Access entry. With two \
         nodes each fact is read from both at once and compared. A forged request \
         (another's signature) is refused before any chain read. Target: p95 under 20 ms \
         with the quorum.\n\n\
         | nodes | requests | p50 ms | p95 ms | max ms | target |\n|---|---:|---:|---:|---:|---|"
    )
    .unwrap();
    let server = &w.servers[2];
    let ks = key_server(w, 2);
    let node = ["--node".to_owned(), w.node_url.clone()];
    // The same node by another name: the server refuses one URL twice.
    let same_node = [
        "--node".to_owned(),
        w.node_url.replace("127.0.0.1", "localhost"),
    ];
    let (first, second) = entries.split_at(entries.len() / 2);
    for (label, nodes, batch) in [
        ("1", node.to_vec(), first),
        ("2 (quorum 2)", [node.clone(), same_node].concat(), second),
    ] {
        server.kill();
        server.start_reading(&w.deployment_file, &nodes);
        let mut latencies = release_each(s, &ks, reader, batch, now)
            .await
            .map_err(|e| format!("{label} nodes: {e}"))?;
        let p95 = {
            latencies.sort();
            percentile_ms(&latencies, 95)
        };
        let met = if label == "1" {
            "-"
        } else if p95 < 20.0 {
            "met"
        } else {
            "missed"
        };
        emit(report, &format!("{} {met} |", row(label, &mut latencies)));
    }
    server.kill();
    server.start_reading(&w.deployment_file, &node);
    // Forged: Eve's signature over a request in Dave's name, for server 3.
    let mut forged = Vec::new();
    for entry in first {
        let mut signed = signed_by(
            &w.doctor.signer,
            request_for(server.public_key, entry, 1, &w.doctor, now),
        );
        signed.signature = signed_by(&reader.signer, signed.request.clone()).signature;
        let started = Instant::now();
        let refused = s.servers.release(&ks, &signed).await;
        forged.push(started.elapsed());
        if refused.as_ref().err().and_then(|e| e.code()) != Some("bad_signature") {
            return Err(format!("a forged request: {refused:?}"));
        }
    }
    emit(
        report,
        &format!("{} - |", row("forged (refused)", &mut forged)),
    );
    writeln!(report).unwrap();
    Ok(())
}

async fn per_second(
    w: &World,
    s: &Session,
    entries: &[LogEntry],
    report: &mut String,
) -> Result<(), String> {
    let reader = &w.stranger;
    let now = chain_now(s).await;
    writeln!(
        report,
        "### Releases per second per server\n\n\
         {IN_FLIGHT} requests in flight at one server while the other two are idle; the node \
         and the client share the machine's cores with it. Latency here includes queueing.\n\n\
         | server | releases | in flight | seconds | releases/s | p50 ms | p95 ms |\n\
         |---|---:|---:|---:|---:|---:|---:|"
    )
    .unwrap();
    for (i, server) in w.servers.iter().enumerate() {
        let ks = key_server(w, i);
        let jobs: Vec<_> = entries
            .iter()
            .map(|entry| {
                signed_by(
                    &reader.signer,
                    request_for(server.public_key, entry, 1, reader, now),
                )
            })
            .collect();
        let started = Instant::now();
        let results: Vec<_> =
            futures::stream::StreamExt::collect(futures::stream::StreamExt::buffer_unordered(
                futures::stream::iter(jobs.iter().map(|signed| {
                    let ks = &ks;
                    async move {
                        let t = Instant::now();
                        let answer = s.servers.release(ks, signed).await;
                        (t.elapsed(), answer)
                    }
                })),
                IN_FLIGHT,
            ))
            .await;
        let elapsed = started.elapsed().as_secs_f64();
        let mut latencies = Vec::new();
        for (latency, answer) in results {
            answer.map_err(|e| format!("server {}: {e}", i + 1))?;
            latencies.push(latency);
        }
        latencies.sort();
        let line = format!(
            "| {} | {} | {IN_FLIGHT} | {elapsed:.2} | {:.0} | {:.1} | {:.1} |",
            i + 1,
            latencies.len(),
            latencies.len() as f64 / elapsed,
            percentile_ms(&latencies, 50),
            percentile_ms(&latencies, 95)
        );
        emit(report, &line);
    }
    writeln!(report).unwrap();
    Ok(())
}

async fn full_get(
    w: &World,
    s: &Session,
    record: RecordId,
    report: &mut String,
) -> Result<(), String> {
    let reader = &w.stranger;
    let servers = s.key_servers().await.map_err(|e| e.to_string())?;
    let (mut access, mut open, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..GETS {
        // Without the access: the access first (timed on its own), then the shares.
        let started = Instant::now();
        let entry = crate::fixtures::access(w, s, reader, record).await?;
        access.push(started.elapsed());
        let out = w.out_path(&format!("bench-open-{run}"));
        let started = Instant::now();
        s.open_with_entry(
            &reader.signer,
            &reader.secret,
            &servers,
            &entry,
            &reader.store,
            &out,
        )
        .await
        .map_err(|e| format!("open_with_entry: {e}"))?;
        open.push(started.elapsed());
        ensure!(
            std::fs::metadata(&out).map_or(0, |m| m.len()) == RECORD_BYTES as u64,
            "the opened record has another length"
        );
        // With it: what `medconsent get` does.
        let out = w.out_path(&format!("bench-get-{run}"));
        let started = Instant::now();
        read_as(s, reader, record, &out)
            .await
            .map_err(|e| format!("get: {e}"))?;
        whole.push(started.elapsed());
    }
    writeln!(
        report,
        "### A full {THRESHOLD}-of-3 `get`\n\n\
         A {} KiB record, {GETS} runs each. Without the access: `Session::open_with_entry` \
         given a finalized Access entry (the finalized block, the record at it, three \
         release requests in parallel, shares opened and combined, the ciphertext fetched \
         from a key server's blob route, its hash checked against the chain, decrypted). \
         The access: `access_record` submitted, included, finalized, and the reader's entry \
         read. With it: `Session::get`, which is `medconsent get`. The access waits for its \
         block to be finalized, so the two rows that include it move in steps of the dev \
         node's block time and their difference is within that step: a `get` is bounded by \
         finality, not by the servers.\n\n\
         | path | runs | p50 ms | p95 ms | max ms |\n\
         |---|---:|---:|---:|---:|",
        RECORD_BYTES / 1024
    )
    .unwrap();
    for (label, list) in [
        (
            "shares, blob and decryption (without the access)",
            &mut open,
        ),
        ("the on-chain access to finality", &mut access),
        ("`get` including the access", &mut whole),
    ] {
        let line = row(label, list);
        emit(report, &line);
    }
    writeln!(report).unwrap();
    Ok(())
}

/// A chart of 32 records opened as `medconsent chart --open` does (one `access_chart`,
/// one finality wait, every record's shares asked for at once), split into the access
/// and the opening, against the same 32 records read by 32 `get`s one after another.
async fn chart_against_singles(
    w: &World,
    s: &Session,
    text: &str,
    report: &mut String,
) -> Result<(), String> {
    let reader = &w.stranger;
    let mut records = Vec::with_capacity(CHART);
    for n in 0..CHART {
        records.push(put(w, s, &format!("chart-{n}.txt"), text).await?);
    }
    grant(w, s, reader, Scope::AllRecords).await?;
    let servers = s.key_servers().await.map_err(|e| e.to_string())?;
    let ask = medconsent_client::flow::ChartAsk {
        patient: w.patient.account(),
        records: records.clone(),
        purpose: medconsent_shared::Purpose::Treat,
    };
    let (mut whole, mut access, mut open) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..CHART_RUNS {
        let folder = w.out_path(&format!("bench-chart-{run}"));
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let opened = s
            .open_chart(&reader.signer, &reader.secret, &ask, &reader.store, &folder)
            .await
            .map_err(|e| format!("open_chart: {e}"))?;
        whole.push(started.elapsed());
        ensure!(
            opened.iter().all(|r| r.outcome.is_ok()),
            "a chart record did not open"
        );
        let folder = w.out_path(&format!("bench-chart-split-{run}"));
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let entries = s
            .chart_access(&reader.signer, &ask)
            .await
            .map_err(|e| format!("chart_access: {e}"))?;
        access.push(started.elapsed());
        let started = Instant::now();
        let opened = s
            .open_chart_entries(
                &reader.signer,
                &reader.secret,
                &servers,
                &entries,
                &reader.store,
                &folder,
            )
            .await;
        open.push(started.elapsed());
        ensure!(
            opened.iter().all(|r| r.outcome.is_ok()),
            "a split chart record did not open"
        );
    }
    let started = Instant::now();
    for (n, &record) in records.iter().enumerate() {
        let out = w.out_path(&format!("bench-single-{n}"));
        read_as(s, reader, record, &out)
            .await
            .map_err(|e| format!("get {record}: {e}"))?;
    }
    let mut singles = vec![started.elapsed()];
    writeln!(
        report,
        "### A {CHART}-record chart against {CHART} single reads\n\n\
         {CHART} records of {} KiB. The chart is `Session::open_chart`, what `medconsent \
         chart --open` does: one `access_chart` for all of them, one finality wait, then \
         every record's release requests and blob fetch at once; split below into the \
         access to finality and the opening without it. The single reads are {CHART} \
         `Session::get`s one after another (what {CHART} `medconsent get`s do), each with \
         its own access and finality wait: one run, timed whole.\n\n\
         | path | runs | p50 ms | p95 ms | max ms |\n\
         |---|---:|---:|---:|---:|",
        RECORD_BYTES / 1024
    )
    .unwrap();
    for (label, list) in [
        ("the chart, access and opening", &mut whole),
        ("the chart's `access_chart` to finality", &mut access),
        ("its records opened (without the access)", &mut open),
        ("32 single `get`s, one after another", &mut singles),
    ] {
        let line = row(label, list);
        emit(report, &line);
    }
    writeln!(report).unwrap();
    Ok(())
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A fresh database filled the way a server fills it (one committed transaction per
/// deposit and per release), and the live servers' files as they stand.
async fn storage(w: &World, report: &mut String) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("bench.redb");
    let store = ShareDb::open(&path).map_err(|e| e.to_string())?;
    let empty = file_len(&path);
    let share = StoredShare {
        patient: w.patient.account(),
        content_hash: [7; 32],
        index: 1,
        sealed: [9; SEALED_LEN],
    };
    let mut deposit_commits = Vec::new();
    for record in 0..STORED as u64 {
        let started = Instant::now();
        store
            .put_share(record, 1, &share)
            .map_err(|e| e.to_string())?;
        deposit_commits.push(started.elapsed());
    }
    let with_shares = file_len(&path);
    let release = ReleaseRecord {
        requester: w.stranger.account(),
        record: 1,
        version: 1,
        released_at: 0,
    };
    let mut release_commits = Vec::new();
    for seq in 0..STORED as u64 {
        let started = Instant::now();
        let claimed = store
            .claim(&w.patient.account(), seq, &release)
            .map_err(|e| e.to_string())?;
        release_commits.push(started.elapsed());
        ensure!(claimed, "entry {seq} was claimed twice");
    }
    let with_releases = file_len(&path);
    deposit_commits.sort();
    release_commits.sort();
    let per = |grown: u64| grown as f64 / STORED as f64;
    writeln!(
        report,
        "### Storage at a server\n\n\
         Each server keeps one share per record version (older versions are dropped on \
         rotation, all of them on retirement) and one release record per released entry, \
         forever. Encoded sizes are the SCALE values the server writes; file growth is a \
         fresh redb file after {STORED} deposits, then {STORED} releases, each its own \
         committed transaction as the server makes them (redb grows its file in regions, so \
         this is an average, not a per-row constant; an empty file is already {empty} bytes, \
         which the first rows fill).\n\n\
         | what | encoded value + key bytes | file growth per row | commit p50 ms | commit p95 ms |\n\
         |---|---:|---:|---:|---:|\n\
         | a share (patient, content hash, index, 104-byte sealed share; key record + version) | {} + 12 | {:.0} | {:.2} | {:.2} |\n\
         | a release record (requester, record, version, time; key patient + seq) | {} + 40 | {:.0} | {:.2} | {:.2} |\n\n\
         Shares are bounded by the records the server holds; release records grow by one \
         per released entry, kept on purpose as the server's own accounting.\n",
        share.encoded_size(),
        per(with_shares.saturating_sub(empty)),
        percentile_ms(&deposit_commits, 50),
        percentile_ms(&deposit_commits, 95),
        release.encoded_size(),
        per(with_releases.saturating_sub(with_shares)),
        percentile_ms(&release_commits, 50),
        percentile_ms(&release_commits, 95),
    )
    .unwrap();
    writeln!(
        report,
        "The live servers after this run:\n\n\
         | server | shares | releases | file bytes |\n|---|---:|---:|---:|"
    )
    .unwrap();
    for (i, server) in w.servers.iter().enumerate() {
        let health = crate::fixtures::health(&server.url).await?;
        writeln!(
            report,
            "| {} | {} | {} | {} |",
            i + 1,
            health["shares"],
            health["releases"],
            file_len(&server.db)
        )
        .unwrap();
    }
    writeln!(report).unwrap();
    Ok(())
}

/// Replaces the "## Key release" section of `out` (up to the next "## " heading) with
/// `section`, or appends it.
/// Replaces the section under `heading` in `out` (or appends it).
pub fn write_section(out: &std::path::Path, heading: &str, section: &str) -> std::io::Result<()> {
    let current = std::fs::read_to_string(out).unwrap_or_default();
    let updated = match current.find(heading) {
        Some(start) => {
            let rest = &current[start + heading.len()..];
            let end = rest
                .find("\n## ")
                .map_or(current.len(), |i| start + heading.len() + i + 1);
            format!("{}{section}{}", &current[..start], &current[end..])
        }
        None => {
            let sep = if current.ends_with("\n\n") || current.is_empty() {
                ""
            } else if current.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{current}{sep}{section}")
        }
    };
    std::fs::write(out, updated)
}
