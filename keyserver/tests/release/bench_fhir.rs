//! `--bench-fhir`: the FHIR figures of BENCHMARKS.md on a patient whose trail holds
//! exactly 10,000 entries (chart accesses of 32): `medconsent fhir audit` exporting it
//! whole (time and peak memory, from the kernel's accounting of the process), and the
//! `medconsent-fhir-server` process answering AuditEvent searches, first with nothing
//! kept, then with the trail kept and extended. Wall-clock timings on this machine;
//! printed, written to the "FHIR" section, never asserted.

use crate::bench::{emit, row, write_section};
use crate::fhir_server::{get, start};
use crate::fixtures::{grant, put};
use crate::world::{medconsent_bin, World};
use medconsent_shared::{Purpose, Scope, MAX_CHART_RECORDS};
use serde_json::Value;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const TRAIL: u64 = 10_000;
const EXPORTS: usize = 3;
/// Server starts, each timed on its first search (the whole trail read).
const COLD: usize = 5;
/// Searches of each kind against a server keeping the trail.
const SEARCHES: usize = 100;
/// Searches against a server keeping nothing (each reads the whole trail).
const UNKEPT: usize = 20;
/// New charts, each followed by a search that extends the kept trail.
const EXTENSIONS: usize = 5;
const PAGE: usize = 50;

pub async fn run(w: &World, out: &std::path::Path) -> Result<(), String> {
    let s = w.session().await;
    let record = put(
        w,
        &s,
        "fhir-bench.txt",
        "Synthetic observation, no real patient.",
    )
    .await?;
    grant(w, &s, &w.stranger, Scope::Record(record)).await?;
    let started = Instant::now();
    let mut length = trail_length(w, &s).await?;
    println!("bench: filling the trail from {length} to {TRAIL} entries");
    while length < TRAIL {
        let n = usize::try_from(TRAIL - length)
            .unwrap_or(MAX_CHART_RECORDS)
            .min(MAX_CHART_RECORDS);
        chart(w, &s, record, n).await?;
        length = trail_length(w, &s).await?;
    }
    ensure!(length == TRAIL, "the trail holds {length} entries");
    let filled = started.elapsed();
    let bob = medconsent_chain::ss58(&w.patient.account());

    let mut report = String::new();
    writeln!(
        report,
        "## FHIR\n\n\
         Measured by `scripts/bench.sh --only fhir` with `keyserver/tests/release \
         --bench-fhir`: release builds of `medconsent` and `medconsent-fhir-server`, \
         substrate-contracts-node `--dev` on this machine ({} cores), one patient whose trail \
         holds {TRAIL} entries ({} chart accesses of up to {MAX_CHART_RECORDS} records, \
         filled in {:.0} s). Wall-clock timings: they vary from run to run.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        TRAIL.div_ceil(MAX_CHART_RECORDS as u64),
        filled.as_secs_f64()
    )
    .unwrap();

    println!("bench: exports");
    exports(w, &bob, &mut report)?;
    println!("bench: REST searches");
    searches(w, &s, record, &bob, &mut report).await?;

    write_section(out, "## FHIR\n", &report).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("BENCH wrote the FHIR section of {}", out.display());
    Ok(())
}

async fn trail_length(w: &World, s: &medconsent_client::flow::Session) -> Result<u64, String> {
    let patient = w.patient.account();
    let log = w.deployment.contracts().log();
    let at = s.chain.finalized().await.map_err(|e| e.to_string())?;
    let head = s
        .chain
        .read(
            Some(at),
            &patient,
            &w.deployment.contracts().log,
            &log.head(patient),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(head.length)
}

/// The stranger (a provider with a grant) opens `n` copies of `record` in one chart:
/// `n` entries, finalized.
async fn chart(
    w: &World,
    s: &medconsent_client::flow::Session,
    record: medconsent_shared::RecordId,
    n: usize,
) -> Result<(), String> {
    let mut registry = w.deployment.contracts().registry();
    let message = registry.access_chart(w.patient.account(), vec![record; n], Purpose::Treat);
    let (_, included) = s
        .chain
        .submit(
            &w.stranger.signer,
            &w.deployment.contracts().registry,
            &message,
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure!(included.is_some(), "the chart reverted");
    Ok(())
}

/// `medconsent ARGS` run to its end: the wall time and the kernel's peak resident size
/// of that one process (KiB), from wait4.
fn measured(w: &World, args: &[&str]) -> Result<(Duration, u64), String> {
    let started = Instant::now();
    let child = std::process::Command::new(medconsent_bin())
        .args(args)
        .arg("--deployment")
        .arg(&w.deployment_file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child it reaps.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = started.elapsed();
    ensure!(
        reaped == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{args:?} failed (status {status})"
    );
    Ok((took, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

fn exports(w: &World, bob: &str, report: &mut String) -> Result<(), String> {
    writeln!(
        report,
        "### Export of the whole trail\n\n\
         `medconsent fhir audit --patient P --out F` reads the {TRAIL} entries at the \
         finalized block ({} node reads of 32), checks the hash chain to the head, and \
         writes one Bundle of {TRAIL} AuditEvents; `medconsent audit --json` does the same \
         read and check without FHIR. Peak memory is the process's maximum resident size \
         (wait4). Best and worst of {EXPORTS} runs.\n\n\
         | command | runs | time s (best) | time s (worst) | peak memory MiB | output MB |\n\
         |---|---:|---:|---:|---:|---:|",
        TRAIL.div_ceil(32)
    )
    .unwrap();
    let file = w.out_path("trail.fhir.json");
    let file_arg = file.to_str().unwrap().to_owned();
    let commands: [(&str, Vec<&str>); 2] = [
        (
            "`medconsent fhir audit`",
            vec!["fhir", "audit", "--patient", bob, "--out", &file_arg],
        ),
        (
            "`medconsent audit --json`",
            vec!["audit", "--patient", bob, "--json"],
        ),
    ];
    for (label, args) in commands {
        let mut times = Vec::new();
        let mut peak = 0;
        for _ in 0..EXPORTS {
            let (took, kib) = measured(w, &args)?;
            times.push(took);
            peak = peak.max(kib);
        }
        times.sort();
        let size = if args[0] == "fhir" {
            let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
            let bundle: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let entries = bundle["entry"].as_array().map_or(0, Vec::len);
            ensure!(
                entries as u64 == TRAIL,
                "the export holds {entries} entries"
            );
            format!("{:.1}", text.len() as f64 / 1e6)
        } else {
            "–".to_owned()
        };
        emit(
            report,
            &format!(
                "| {label} | {EXPORTS} | {:.2} | {:.2} | {:.1} | {size} |",
                times[0].as_secs_f64(),
                times[times.len() - 1].as_secs_f64(),
                peak as f64 / 1024.0
            ),
        );
    }
    writeln!(report).unwrap();
    Ok(())
}

/// One search's round trip; its answer must be a Bundle of `want` matches.
async fn timed(url: &str, want: u64) -> Result<Duration, String> {
    let started = Instant::now();
    let (status, _, body) = get(url, None).await;
    let took = started.elapsed();
    ensure!(
        status == 200 && body["total"].as_u64() == Some(want),
        "{url}: {status} total {}",
        body["total"]
    );
    Ok(took)
}

async fn searches(
    w: &World,
    s: &medconsent_client::flow::Session,
    record: medconsent_shared::RecordId,
    bob: &str,
    report: &mut String,
) -> Result<(), String> {
    writeln!(
        report,
        "### AuditEvent search over the REST API\n\n\
         `GET [base]/AuditEvent?patient=P&_count={PAGE}` and variants against the \
         `medconsent-fhir-server` process over loopback, one request at a time. Kept \
         nothing (`--trail-cache-entries 0`): every search reads and checks the whole trail \
         at the finalized block. A first search: the same, on a server just started. Kept: \
         the server holds the checked trail and, at each search, reads the head at the \
         finalized block and the entries appended since, checked to chain on from the kept \
         hash.\n\n\
         | search | requests | p50 ms | p95 ms | max ms |\n\
         |---|---:|---:|---:|---:|"
    )
    .unwrap();
    let first_page = |base: &str| format!("{base}/AuditEvent?patient={bob}&_count={PAGE}");

    let unkept = start(w, &["--trail-cache-entries", "0"])?;
    let mut list = Vec::new();
    for _ in 0..UNKEPT {
        list.push(timed(&first_page(&unkept.1), TRAIL).await?);
    }
    emit(report, &row("first page, kept nothing", &mut list));
    drop(unkept);

    let mut list = Vec::new();
    for _ in 0..COLD {
        let server = start(w, &[])?;
        list.push(timed(&first_page(&server.1), TRAIL).await?);
    }
    emit(
        report,
        &row("first search of a server just started", &mut list),
    );

    let server = start(w, &[])?;
    let base = server.1.clone();
    timed(&first_page(&base), TRAIL).await?;
    let mut list = Vec::new();
    for _ in 0..SEARCHES {
        list.push(timed(&first_page(&base), TRAIL).await?);
    }
    emit(report, &row("first page, kept", &mut list));
    let last = TRAIL as usize - PAGE;
    let mut list = Vec::new();
    for _ in 0..SEARCHES {
        let url = format!("{}&_offset={last}", first_page(&base));
        list.push(timed(&url, TRAIL).await?);
    }
    emit(report, &row("last page (`_offset`), kept", &mut list));
    // A date window over the second half of the trail.
    let (_, _, middle) = get(&format!("{base}/AuditEvent/{bob}-{}", TRAIL / 2), None).await;
    let from = middle["recorded"]
        .as_str()
        .ok_or("no recorded time")?
        .to_owned();
    let (_, _, windowed) = get(&format!("{}&date=ge{from}", first_page(&base)), None).await;
    let in_window = windowed["total"].as_u64().ok_or("no total")?;
    let mut list = Vec::new();
    for _ in 0..SEARCHES {
        let url = format!("{}&date=ge{from}", first_page(&base));
        list.push(timed(&url, in_window).await?);
    }
    emit(
        report,
        &row(
            &format!("a date window ({in_window} matches), kept"),
            &mut list,
        ),
    );
    let mut list = Vec::new();
    let mut total = TRAIL;
    for _ in 0..EXTENSIONS {
        chart(w, s, record, MAX_CHART_RECORDS).await?;
        total += MAX_CHART_RECORDS as u64;
        list.push(timed(&first_page(&base), total).await?);
    }
    emit(
        report,
        &row(
            &format!("first search after {MAX_CHART_RECORDS} new entries, kept"),
            &mut list,
        ),
    );
    let peak = server_peak_kib(&server).unwrap_or(0);
    drop(server);
    writeln!(
        report,
        "\nThe server's peak resident size, holding this trail: {:.1} MiB.",
        peak as f64 / 1024.0
    )
    .unwrap();
    println!("bench: server peak {peak} KiB");
    Ok(())
}

/// The running server's peak resident size so far (VmHWM), KiB.
fn server_peak_kib(server: &crate::fhir_server::Server) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.0.id())).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
