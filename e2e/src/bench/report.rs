//! Reporting: the tables of BENCHMARKS.md from what was measured, against the targets
//! and the sizes before the split.

use super::measure::{HistoryCosts, HISTORY_PATHS};
use super::*;

/// Each contract's front (deployed) and full code, as built by `cargo contract build --release`.
pub(super) const ARTIFACTS: [&str; 6] = [
    "record_registry",
    "consent_manager",
    "access_log",
    "record_registry_full",
    "consent_manager_full",
    "access_log_full",
];

pub(super) fn wasm_sizes() -> E2EResult<Vec<(&'static str, u64)>> {
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

pub(super) fn cost_cells(cost: &Cost) -> String {
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

pub(super) fn render(
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
        "Largest / smallest across N (the bound is 1.05; deposit compares absolute values):"
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
pub(super) const CODE_REF_TIME_PER_BYTE: u64 = 33_471;
pub(super) const CALL_REF_TIME: u64 = 250_370_283 + 2 * 25_000_000 + 2 * 100_000_000;
pub(super) const CALL_PROOF: u64 = 2_721;

/// The release before this diet (commit 4b0ff8a's BENCHMARKS.md): each contract's size
/// in bytes (one code per contract then), and (ref_time ps, proof bytes) of the two paths
/// the diet targets. The sizes of the release before the hardening (fd52eae) bound the
/// fronts.
pub(super) const BEFORE_SIZES: [(&str, u64, u64); 3] = [
    ("record_registry", 36_438, 31_071),
    ("consent_manager", 41_001, 37_614),
    ("access_log", 19_165, 16_207),
];
pub(super) const BEFORE_PATHS: [(&str, u64, u64); 2] = [
    ("access_record: released", 5_943_000_000, 119_300),
    ("grant", 4_480_000_000, 79_700),
];
/// The diet's targets: access_record <= 3.9 ms and 70 KB, grant <= 3.2 ms; one more
/// record of a chart <= 0.3 ms and 1.5 KB; 300 records per parachain block.
pub(super) const ACCESS_TARGET: (u64, u64) = (3_900_000_000, 70_000);
pub(super) const GRANT_TARGET_REF_TIME: u64 = 3_200_000_000;
pub(super) const EXTRA_RECORD_TARGET: (u64, u64) = (300_000_000, 1_500);
pub(super) const RECORDS_PER_PARA_BLOCK_TARGET: u64 = 300;

pub(super) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

pub(super) fn row_cost(messages: &Report, label: &str) -> Option<Cost> {
    messages
        .rows
        .iter()
        .find(|(_, row, _)| *row == label)
        .map(|(_, _, cost)| *cost)
}

/// The diet against the release before it, and against its targets.
pub(super) fn render_against_baseline(
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
pub(super) fn render_chart(out: &mut String, messages: &Report) -> std::fmt::Result {
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

pub(super) fn render_breakdown(
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
pub(super) fn render_feature_prices(out: &mut String) -> std::fmt::Result {
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
pub(super) fn growth(history: &[(u64, HistoryCosts)], path: usize) -> [f64; 3] {
    let costs: Vec<Cost> = history.iter().map(|(_, c)| c.paths[path]).collect();
    [
        ratio(costs.iter().map(|c| c.ref_time as f64)),
        ratio(costs.iter().map(|c| c.proof_size as f64)),
        ratio(costs.iter().map(|c| c.deposit.unsigned_abs() as f64)),
    ]
}

pub(super) fn ratio(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::MIN, f64::max);
    let min = values.fold(f64::MAX, f64::min);
    if min > 0.0 {
        max / min
    } else {
        1.0
    }
}
