//! Break-glass: the responder's read with a written justification, the list of a
//! patient's break-glass accesses, and the patient's review of them.

use super::{read_secret, reader, session, ChainArgs, Done, Global, Output};
use medconsent_chain::account_of;
use medconsent_client::exit::{Exit, Failure};
use medconsent_client::flow::justification_hash;
use medconsent_client::flow::FlowError;
use medconsent_client::store::{check_output, LocalStore};
use medconsent_client::words;
use medconsent_shared::{EntryKind, Review};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct BreakGlassArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The responder's X25519 secret (its key in the directory).
    #[arg(long)]
    secret: PathBuf,
    /// The record's id.
    #[arg(long)]
    record: u64,
    /// Why, in words (at most 2,048 bytes): its salted blake2b-256 hash goes into the
    /// patient's log (the text does not: it may say things about the patient); the text is left
    /// sealed for the patient at the key servers, where only the patient and its
    /// delegates read it (`emergencies --texts`).
    #[arg(long, conflicts_with = "justification_file")]
    justification: Option<String>,
    /// The justification from a file (UTF-8).
    #[arg(long)]
    justification_file: Option<PathBuf>,
    /// Local folder for ciphertext.
    #[arg(long)]
    store: PathBuf,
    /// Where the plaintext goes (checked before the glass is broken).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct EmergenciesArgs {
    /// The patient's account (SS58 or 0x-hex).
    #[arg(long)]
    patient: String,
    /// A justification text (a file) to compare with each access's logged hash, with
    /// the salt `break-glass` printed (--salt).
    #[arg(long, requires = "salt")]
    check: Option<PathBuf>,
    /// The salt under the logged hash (0x-hex, as `break-glass` printed it).
    #[arg(long, requires = "check")]
    salt: Option<String>,
    /// Also read each justification the responder left sealed at the key servers, checked
    /// against the logged hash: signed by the patient or a delegate (--suri/--suri-file).
    #[arg(long)]
    texts: bool,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(clap::Args)]
pub(crate) struct ReviewArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Indexes (as `emergencies` lists them, comma-separated) found justified.
    #[arg(long, default_value = "")]
    justified: String,
    /// Indexes found unjustified.
    #[arg(long, default_value = "")]
    unjustified: String,
    /// Act for this patient, as its delegate.
    #[arg(long = "for")]
    for_patient: Option<String>,
}

fn justification(args: &BreakGlassArgs) -> Result<String, Failure> {
    let text = match (&args.justification, &args.justification_file) {
        (Some(text), None) => text.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?,
        _ => {
            return Err(Failure::usage(
                "say why: --justification TEXT or --justification-file FILE",
            ))
        }
    };
    if text.trim().is_empty() {
        return Err(Failure::usage("the justification is empty"));
    }
    Ok(text)
}

pub(crate) async fn break_glass(global: &Global, args: BreakGlassArgs, out: &mut Output) -> Done {
    let text = justification(&args)?;
    medconsent_client::flow::check_justification(&text)?;
    let secret = read_secret(&args.secret)?;
    check_output(&args.out)?;
    let store = LocalStore::new(args.store).map_err(|e| Failure::usage(e.to_string()))?;
    let (session, signer) = session(global, &args.chain).await?;
    let broken = session
        .break_glass(&signer, &secret, args.record, &text, &store, &args.out)
        .await?;
    out.field("record", broken.opened.record);
    out.field("version", broken.opened.version);
    out.field("log_seq", broken.opened.log_seq);
    out.field(
        "justification_hash",
        format!("0x{}", hex::encode(broken.justification)),
    );
    out.field(
        "justification_salt",
        format!("0x{}", hex::encode(broken.salt)),
    );
    out.field("justification_copies", broken.copies);
    out.field("remaining_today", broken.remaining);
    out.field("opened", broken.opened.out.display().to_string());
    Ok(())
}

pub(crate) async fn emergencies(global: &Global, args: EmergenciesArgs, out: &mut Output) -> Done {
    let patient = medconsent_chain::parse_account(&args.patient)?;
    let claimed = match (&args.check, &args.salt) {
        (Some(file), Some(salt)) => {
            let salt = salt
                .strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .ok_or_else(|| Failure::usage("--salt is 0x and 32 hex digits"))?;
            let text = std::fs::read_to_string(file)
                .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
            Some(justification_hash(&salt, &text))
        }
        _ => None,
    };
    let (session, asker) = if args.texts {
        let (session, signer) = session(global, &args.chain).await?;
        (session, Some(signer))
    } else {
        (reader(global).await?, None)
    };
    let all = session.emergencies(patient).await?;
    let names = session.names().await?;
    let trail = medconsent_client::audit::verified_trail(
        &session.chain,
        session.deployment.contracts(),
        patient,
    )
    .await
    .map_err(|e| Failure::new(medconsent_client::exit::Exit::Unverified, e.to_string()))?;
    let mut mismatched = 0usize;
    for (index, access) in all.iter().enumerate() {
        // The justification hash is in the access's log entry, verified with the trail.
        let logged = trail
            .entries
            .iter()
            .find(|e| e.seq == access.log_seq)
            .and_then(|e| match e.kind {
                EntryKind::Emergency { justification } => Some(justification),
                _ => None,
            });
        let review = match access.review {
            Review::Pending => "pending",
            Review::Justified => "justified",
            Review::Unjustified => "unjustified",
        };
        let hash = logged.map_or_else(|| "missing".to_owned(), |h| format!("0x{}", hex::encode(h)));
        let matches = claimed.map(|c| Some(c) == logged);
        let mut line = format!(
            "index={index} record={} responder={} at={} review={review} justification={hash}",
            access.record_id,
            names.show(&access.responder),
            words::describe_time(access.at),
        );
        if let Some(matches) = matches {
            line.push_str(if matches {
                " text=matches"
            } else {
                " text=differs"
            });
        }
        let mut value = super::output::emergency(index, access, &names);
        value["justification"] = hash.clone().into();
        if let Some(matches) = matches {
            value["text_matches"] = matches.into();
        }
        // The text as left at the key servers, checked against the logged hash; one that
        // cannot be read is said so and the listing goes on; one that is not the logged
        // one (a server or the responder lied) fails the command once it is listed.
        if let (Some(asker), Some(logged)) = (&asker, logged) {
            match session
                .justification(asker, patient, access.log_seq, &logged)
                .await
            {
                Ok(text) => {
                    line.push_str(&format!(" claimed={text:?}"));
                    value["justification_text"] = text.into();
                }
                Err(e) => {
                    let said = match e {
                        FlowError::JustificationMismatch(_) => {
                            mismatched = mismatched.saturating_add(1);
                            "mismatch"
                        }
                        _ => "unread",
                    };
                    eprintln!("medconsent: index {index}: the justification's text: {e}");
                    line.push_str(&format!(" claimed={said}"));
                    value["justification_text"] = serde_json::Value::Null;
                    value["justification_read"] = said.into();
                }
            }
        }
        out.row("emergencies", line, value);
    }
    out.field("emergencies_count", all.len());
    if mismatched > 0 {
        return Err(Failure::new(
            Exit::Unverified,
            format!("{mismatched} justification copies are not the text whose hash was logged"),
        ));
    }
    Ok(())
}

fn indexes(list: &str, justified: bool) -> Result<Vec<(u64, bool)>, Failure> {
    list.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| {
            i.parse()
                .map(|index| (index, justified))
                .map_err(|_| Failure::usage(format!("{i:?} is not an index")))
        })
        .collect()
}

pub(crate) async fn review(global: &Global, args: ReviewArgs, out: &mut Output) -> Done {
    let mut reviews = indexes(&args.justified, true)?;
    reviews.extend(indexes(&args.unjustified, false)?);
    if reviews.is_empty() {
        return Err(Failure::usage(
            "name what was reviewed: --justified 0,1 and/or --unjustified 2",
        ));
    }
    let (session, signer) = session(global, &args.chain).await?;
    let patient = match &args.for_patient {
        Some(patient) => medconsent_chain::parse_account(patient)?,
        None => account_of(&signer),
    };
    session
        .review_emergencies(&signer, patient, reviews.clone())
        .await?;
    for (index, justified) in reviews {
        let said = if justified {
            "justified"
        } else {
            "unjustified"
        };
        out.row(
            "reviewed",
            format!("reviewed index={index} {said}"),
            serde_json::json!({ "index": index, "justified": justified }),
        );
    }
    Ok(())
}
