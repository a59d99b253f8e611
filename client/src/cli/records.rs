//! A record's life: put, get, rotate, retire, where its shares are; and the patient's
//! trail: the verified audit trail and the accounting of disclosures.

use super::{read_secret, reader, session, ChainArgs, Done, Global, Output, PurposeArg};
use medconsent_client::exit::{Exit, Failure};
use medconsent_client::flow::{Authoring, Written};
use medconsent_client::store::{check_output, LocalStore};
use medconsent_client::words::Names;
use medconsent_client::{audit, words};
use medconsent_shared::words::parse_category;
use medconsent_shared::{EntryKind, Purpose, RecordStatus};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct PutArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The patient's X25519 secret: the own copy of the record key is sealed to it
    /// (not needed with --for: only the patient keeps a copy).
    #[arg(long, required_unless_present = "for_patient")]
    secret: Option<PathBuf>,
    /// The file to seal.
    #[arg(long = "in")]
    input: PathBuf,
    /// Its category, by name or number (`medconsent categories`).
    #[arg(long)]
    category: String,
    /// Write the record into this patient's records (SS58 or 0x-hex): a delegate of
    /// the patient, or a provider whose Append permit covers the category and purpose.
    #[arg(long = "for")]
    for_patient: Option<String>,
    /// The purpose the chain checks the Append permit for (with --for; default
    /// treat). The patient's own records are written for PATRQT.
    #[arg(long, value_enum, requires = "for_patient")]
    purpose: Option<PurposeArg>,
    /// Local folder for ciphertext and the own key copies.
    #[arg(long)]
    store: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The reader's X25519 secret (its key in the directory, for a provider).
    #[arg(long)]
    secret: PathBuf,
    /// The record's id.
    #[arg(long)]
    record: u64,
    /// Why it is read (the consent must cover it; a patient reads its own for patrqt).
    #[arg(long, value_enum, default_value = "treat")]
    purpose: PurposeArg,
    /// Local folder for ciphertext.
    #[arg(long)]
    store: PathBuf,
    /// Where the plaintext goes (checked before the access is made).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct RotateArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The patient's X25519 secret (its own key copy is read and a new one sealed).
    #[arg(long)]
    secret: PathBuf,
    /// The record's id.
    #[arg(long)]
    record: u64,
    /// Local folder for ciphertext and the own key copies.
    #[arg(long)]
    store: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct RetireArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The record's id.
    #[arg(long)]
    record: u64,
    /// Local folder whose own key copies of the record are deleted.
    #[arg(long)]
    store: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct SharesArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The record's id.
    #[arg(long)]
    record: u64,
}

#[derive(clap::Args)]
pub(crate) struct AuditArgs {
    /// The patient's account (SS58 or 0x-hex).
    #[arg(long)]
    patient: String,
}

#[derive(clap::Args)]
pub(crate) struct DisclosuresArgs {
    /// The patient's account (SS58 or 0x-hex).
    #[arg(long)]
    patient: String,
    /// First day of the window (YYYY-MM-DD, UTC); default: the beginning.
    #[arg(long)]
    from: Option<String>,
    /// First day after the window (YYYY-MM-DD, UTC); default: now.
    #[arg(long)]
    until: Option<String>,
}

/// What `put` and `rotate` print.
fn written(out: &mut Output, sealed: &Written) {
    out.field("record", sealed.record);
    out.field("version", sealed.version);
    out.field(
        "content_hash",
        format!("0x{}", hex::encode(sealed.content_hash)),
    );
    out.field("cid", sealed.cid.clone());
    out.field("shares_deposited", sealed.shares_deposited);
}

fn local_store(path: PathBuf) -> Result<LocalStore, Failure> {
    let shown = path.display().to_string();
    LocalStore::new(path).map_err(|e| Failure::usage(format!("{shown}: {e}")))
}

pub(crate) async fn put(global: &Global, args: PutArgs, out: &mut Output) -> Done {
    // Local mistakes before anything is sent: the input file, the category, the secret.
    std::fs::metadata(&args.input).map_err(|e| format!("{}: {e}", args.input.display()))?;
    let category = parse_category(&args.category)?;
    let owner = args.secret.as_deref().map(read_secret).transpose()?;
    let store = local_store(args.store)?;
    let (session, signer) = session(global, &args.chain).await?;
    let sealed = match args.for_patient {
        None => {
            let owner = owner.ok_or("--secret: the patient's own key copy needs it")?;
            session
                .put(&signer, &owner, &args.input, category, &store)
                .await?
        }
        Some(patient) => {
            let authoring = Authoring {
                patient: medconsent_chain::parse_account(&patient)?,
                purpose: args.purpose.map_or(Purpose::Treat, Purpose::from),
            };
            session
                .put_as(
                    &signer,
                    owner.as_ref(),
                    authoring,
                    &args.input,
                    category,
                    &store,
                )
                .await?
        }
    };
    written(out, &sealed);
    Ok(())
}

pub(crate) async fn get(global: &Global, args: GetArgs, out: &mut Output) -> Done {
    let reader_secret = read_secret(&args.secret)?;
    check_output(&args.out)?;
    let store = local_store(args.store)?;
    let (session, signer) = session(global, &args.chain).await?;
    let opened = session
        .get(
            &signer,
            &reader_secret,
            args.record,
            args.purpose.into(),
            &store,
            &args.out,
        )
        .await?;
    out.field("record", opened.record);
    out.field("version", opened.version);
    out.field("log_seq", opened.log_seq);
    out.field("shares_used", opened.shares_used);
    for url in &opened.suspects {
        out.row("suspects", format!("suspect={url}"), url.clone().into());
    }
    out.field("opened", opened.out.display().to_string());
    Ok(())
}

pub(crate) async fn rotate(global: &Global, args: RotateArgs, out: &mut Output) -> Done {
    let owner = read_secret(&args.secret)?;
    let store = local_store(args.store)?;
    let (session, signer) = session(global, &args.chain).await?;
    let sealed = session.rotate(&signer, &owner, args.record, &store).await?;
    written(out, &sealed);
    Ok(())
}

pub(crate) async fn retire(global: &Global, args: RetireArgs, out: &mut Output) -> Done {
    let store = local_store(args.store)?;
    let (session, signer) = session(global, &args.chain).await?;
    let retired = session.retire(&signer, args.record, &store).await?;
    out.field("retired", args.record);
    out.field("own_key_copies_deleted", retired.own_copies_deleted);
    let servers = retired.at_servers.len();
    let mut unconfirmed = 0usize;
    for (url, result) in retired.at_servers {
        match result {
            Ok(deleted) => out.row(
                "deleted_at",
                format!("deleted_at {url}={deleted}"),
                serde_json::json!({ "server": url, "deleted": deleted }),
            ),
            Err(e) => {
                unconfirmed = unconfirmed.saturating_add(1);
                eprintln!("medconsent: {url} did not delete: {e}");
            }
        }
    }
    if unconfirmed > 0 {
        return Err(Failure::new(
            Exit::Unavailable,
            format!(
                "{unconfirmed} of {servers} key servers did not confirm the deletion: run the \
                 same `medconsent retire` again when they are back (each also deletes by \
                 itself once it sees the retirement)"
            ),
        ));
    }
    Ok(())
}

pub(crate) async fn shares(global: &Global, args: SharesArgs, out: &mut Output) -> Done {
    let (session, signer) = session(global, &args.chain).await?;
    let me = medconsent_chain::account_of(&signer);
    let holdings = session.holdings(&me, args.record).await?;
    let retired = holdings.status == RecordStatus::Retired;
    out.field("record", args.record);
    out.field("version", holdings.version);
    out.field("status", if retired { "retired" } else { "active" });
    for (url, held) in &holdings.at_servers {
        match held {
            Ok(versions) => out.row(
                "servers",
                format!("versions_at {url}={versions:?}"),
                serde_json::json!({ "server": url, "versions": versions }),
            ),
            Err(e) => eprintln!("medconsent: {url} did not say: {e}"),
        }
    }
    out.field("holding_current", holdings.holding_current());
    if !holdings.enough() {
        let what = if retired {
            "the record is retired, its key destroyed"
        } else {
            "`medconsent rotate` deposits new shares"
        };
        return Err(Failure::new(
            Exit::Unavailable,
            format!(
                "{} of the key servers hold a share of version {}, {} needed: a reader \
                 cannot rebuild its key ({what})",
                holdings.holding_current(),
                holdings.version,
                holdings.threshold
            ),
        ));
    }
    Ok(())
}

/// A time window of days, `--from` (default: the beginning) to before `--until`
/// (default: none), in chain time; a window that ends before it starts is refused.
pub(crate) fn window(
    from: Option<&str>,
    until: Option<&str>,
) -> Result<(u64, Option<u64>), Failure> {
    let day = |text: Option<&str>| {
        text.map(words::parse_date)
            .transpose()
            .map_err(|e| Failure::usage(e.to_string()))
    };
    let (from, until) = (day(from)?.unwrap_or(0), day(until)?);
    if until.is_some_and(|until| until <= from) {
        return Err(Failure::usage("--until must be a later day than --from"));
    }
    Ok((from, until))
}

/// The patient's verified trail and the directory's names to show its actors by.
pub(crate) async fn verified(
    global: &Global,
    patient: &str,
) -> Result<(audit::Trail, Names), Failure> {
    let patient = medconsent_chain::parse_account(patient)?;
    let session = reader(global).await?;
    let names = session.names().await?;
    audit::verified_trail(&session.chain, session.deployment.contracts(), patient)
        .await
        .map(|trail| (trail, names))
        .map_err(|e| match e {
            audit::AuditError::Chain(e) => Failure::from(e),
            other => Failure::new(
                Exit::Unverified,
                format!("the audit trail does not verify: {other}"),
            ),
        })
}

pub(crate) async fn audit(global: &Global, args: AuditArgs, out: &mut Output) -> Done {
    let (trail, names) = verified(global, &args.patient).await?;
    for entry in &trail.entries {
        out.row(
            "entries",
            audit::describe(entry, &names),
            super::output::entry(entry, &names),
        );
    }
    out.field_as(
        "verified",
        format!(
            "{} entries at block {}, head 0x{}",
            trail.entries.len(),
            trail.at.number,
            hex::encode(trail.head_hash)
        ),
        serde_json::json!({
            "entries": trail.entries.len(),
            "block": trail.at.number,
            "head": format!("0x{}", hex::encode(trail.head_hash)),
        }),
    );
    Ok(())
}

/// Accesses, denials and break-glass reads of the patient's records with `from <= time
/// < until`, from the trail verified to the head.
pub(crate) async fn disclosures(global: &Global, args: DisclosuresArgs, out: &mut Output) -> Done {
    let (from, until) = window(args.from.as_deref(), args.until.as_deref())?;
    let (trail, names) = verified(global, &args.patient).await?;
    let disclosed = trail.entries.iter().filter(|e| {
        e.timestamp >= from
            && until.is_none_or(|until| e.timestamp < until)
            && matches!(
                e.kind,
                EntryKind::Access | EntryKind::Denied(_) | EntryKind::Emergency { .. }
            )
    });
    let mut count = 0usize;
    for entry in disclosed {
        count = count.saturating_add(1);
        out.row(
            "disclosures",
            audit::describe(entry, &names),
            super::output::entry(entry, &names),
        );
    }
    out.field("disclosures_count", count);
    out.field_as(
        "verified",
        format!("to the head at block {}", trail.at.number),
        serde_json::json!({ "block": trail.at.number }),
    );
    Ok(())
}
