//! A patient's records, and the clinician's chart: which records its consents cover
//! (a free check, nothing logged) and opening them with one on-chain access.

use super::{read_secret, reader, session, ChainArgs, Done, Global, Output, PurposeArg};
use medconsent_chain::account_of;
use medconsent_client::exit::{Exit, Failure};
use medconsent_client::flow::{chart_file, ChartAsk, FlowError};
use medconsent_client::store::{check_output, LocalStore};
use medconsent_client::words;
use medconsent_shared::words::category_name;
use medconsent_shared::{Basis, RecordId, Verdict, MAX_CHART_RECORDS};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct RecordsArgs {
    /// The patient's account (SS58 or 0x-hex).
    #[arg(long)]
    patient: String,
}

#[derive(clap::Args)]
pub(crate) struct ChartArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The patient's account (SS58 or 0x-hex).
    #[arg(long)]
    patient: String,
    /// Why the chart is read (the consents must cover it).
    #[arg(long, value_enum, default_value = "treat")]
    purpose: PurposeArg,
    /// Open records: `covered` (those the consents cover now), `all`, or ids
    /// (comma-separated). Without it the chart is only listed, nothing logged.
    #[arg(long, requires_all = ["secret", "store", "folder"])]
    open: Option<String>,
    /// The clinician's X25519 secret (its key in the directory).
    #[arg(long)]
    secret: Option<PathBuf>,
    /// Local folder for ciphertext.
    #[arg(long)]
    store: Option<PathBuf>,
    /// Folder the opened records are written to (`record-ID` each; created if missing).
    #[arg(long)]
    folder: Option<PathBuf>,
}

fn record_row(record: &medconsent_shared::Record) -> String {
    format!(
        "record={} category={} version={} author={} updated={}",
        record.id,
        category_name(record.category),
        record.version,
        medconsent_chain::ss58(&record.author),
        words::describe_time(record.updated_at)
    )
}

pub(crate) async fn records(global: &Global, args: RecordsArgs, out: &mut Output) -> Done {
    let patient = medconsent_chain::parse_account(&args.patient)?;
    let session = reader(global).await?;
    let at = session.chain.finalized().await?;
    let records = session.records_of(at, &patient, patient).await?;
    for record in &records {
        out.row("records", record_row(record), super::output::record(record));
    }
    out.field("records_count", records.len());
    Ok(())
}

fn verdict_words(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Permit(Basis::Consent(id)) => format!("covered by consent {id}"),
        Verdict::Permit(basis) => format!("covered ({basis:?})").to_lowercase(),
        Verdict::Deny(reason) => format!("not covered: {}", words::describe_deny_reason(*reason)),
    }
}

/// The ids `--open` names, checked against the patient's records before anything is sent.
fn chosen(open: &str, all: &[RecordId], covered: &[RecordId]) -> Result<Vec<RecordId>, Failure> {
    let ids: Vec<RecordId> = match open {
        "all" => all.to_vec(),
        "covered" => covered.to_vec(),
        list => list
            .split(',')
            .map(|id| {
                id.trim()
                    .parse()
                    .map_err(|_| Failure::usage(format!("--open: {id:?} is not a record id")))
            })
            .collect::<Result<_, _>>()?,
    };
    if let Some(id) = ids.iter().find(|id| !all.contains(id)) {
        return Err(Failure::usage(format!(
            "record {id} is not an active record of this patient"
        )));
    }
    if ids.is_empty() {
        return Err(Failure::refused("no records to open"));
    }
    if ids.len() > MAX_CHART_RECORDS {
        return Err(Failure::usage(format!(
            "{} records; one chart opens at most {MAX_CHART_RECORDS}",
            ids.len()
        )));
    }
    Ok(ids)
}

pub(crate) async fn chart(global: &Global, args: ChartArgs, out: &mut Output) -> Done {
    let patient = medconsent_chain::parse_account(&args.patient)?;
    let purpose = args.purpose.into();
    // Local inputs first: a local mistake never spends an access.
    let secret = args.secret.as_deref().map(read_secret).transpose()?;
    if let Some(folder) = &args.folder {
        std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    }
    let (session, signer) = session(global, &args.chain).await?;
    let me = account_of(&signer);
    let listed = session.covered_records(&me, patient, purpose).await?;
    let all: Vec<RecordId> = listed.iter().map(|c| c.record.id).collect();
    let covered: Vec<RecordId> = listed
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Permit(_)))
        .map(|c| c.record.id)
        .collect();
    let (Some(open), Some(secret), Some(store), Some(folder)) =
        (args.open, secret, args.store, args.folder)
    else {
        for c in &listed {
            let mut value = super::output::record(&c.record);
            value["access"] = verdict_words(&c.verdict).into();
            out.row(
                "records",
                format!("{} {}", record_row(&c.record), verdict_words(&c.verdict)),
                value,
            );
        }
        out.field("covered", covered.len());
        out.field_as(
            "checked",
            "free check at the finalized block, nothing logged; a read may still be refused",
            "dry run, nothing logged".into(),
        );
        return Ok(());
    };
    let ids = chosen(&open, &all, &covered)?;
    for &id in &ids {
        check_output(&chart_file(&folder, id))?;
    }
    let store = LocalStore::new(store).map_err(|e| Failure::usage(e.to_string()))?;
    let ask = ChartAsk {
        patient,
        records: ids,
        purpose,
    };
    let opened = session
        .open_chart(&signer, &secret, &ask, &store, &folder)
        .await?;
    let mut failed = Vec::new();
    for row in &opened {
        match &row.outcome {
            Ok(done) => out.row(
                "opened",
                format!(
                    "record={} opened={} version={} log_seq={}",
                    row.record,
                    done.out.display(),
                    done.version,
                    done.log_seq
                ),
                serde_json::json!({
                    "record": row.record, "file": done.out.display().to_string(),
                    "version": done.version, "log_seq": done.log_seq,
                    "suspects": done.suspects,
                }),
            ),
            Err(e) => {
                out.row(
                    "refused",
                    format!("record={} refused: {e}", row.record),
                    serde_json::json!({ "record": row.record, "error": e.to_string() }),
                );
                failed.push(e);
            }
        }
    }
    out.field("opened_count", opened.len().saturating_sub(failed.len()));
    match failed.first() {
        None => Ok(()),
        Some(first) => {
            let exit = if failed.iter().all(|e| matches!(e, FlowError::Denied(_))) {
                Exit::Refused
            } else {
                medconsent_client::exit::exit_of(first)
            };
            Err(Failure::new(
                exit,
                format!(
                    "{} of {} records were not opened",
                    failed.len(),
                    opened.len()
                ),
            ))
        }
    }
}
