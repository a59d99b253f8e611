//! The commands for consents and the provider directory, in words: a patient (or a
//! delegate, `--for PATIENT`) grants, restricts and revokes; anyone lists a patient's
//! consents, a directory entry or a record (the chain is public); the admin registers,
//! suspends and reactivates providers and key servers.

use super::{reader, session, ChainArgs, Done, Global, Output};
use clap::Subcommand;
use medconsent_chain::{parse_account, ss58};
use medconsent_client::exit::Failure;
use medconsent_client::flow::{names_of, resolve, Listed};
use medconsent_client::words;
use medconsent_shared::{AccountId, ConsentTerms, Decision, Grantee, RecordStatus};

/// A grant or restriction, signed and sent by the patient or a delegate.
#[derive(clap::Args)]
pub(crate) struct TermsArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    terms: TermsWords,
    /// Act for this patient, as its delegate (default: the signer is the patient).
    #[arg(long = "for")]
    for_patient: Option<String>,
}

/// What a grant or restriction says.
#[derive(clap::Args)]
pub(crate) struct TermsWords {
    /// Who: a provider's display name, an account (SS58 or 0x-hex), or `anyone`
    /// (restrictions only).
    #[arg(long)]
    to: String,
    /// Which of the patient's records: `all`, `category:N` or `record:N`.
    #[arg(long, default_value = "all")]
    scope: String,
    /// What the grantee may (or, restricted, may not) do: `read`, `append`, comma-separated.
    #[arg(long, default_value = "read")]
    actions: String,
    /// For which purposes (HL7 PurposeOfUse): treat, etreat, hpaymt, hoperat, hresch,
    /// pubhlth, patrqt, comma-separated.
    #[arg(long)]
    purposes: String,
    /// First day it applies (YYYY-MM-DD, UTC); default: at once.
    #[arg(long)]
    from: Option<String>,
    /// First day it no longer applies (YYYY-MM-DD, UTC); default: until revoked.
    #[arg(long)]
    until: Option<String>,
}

impl TermsWords {
    /// The terms, each word checked before anything is sent or read.
    pub(crate) fn terms(&self, decision: Decision) -> Result<ConsentTerms, Failure> {
        let day = |text: &Option<String>| {
            text.as_deref()
                .map(words::parse_date)
                .transpose()
                .map_err(words_error)
        };
        Ok(ConsentTerms {
            decision,
            scope: words::parse_scope(&self.scope).map_err(words_error)?,
            actions: words::parse_actions(&self.actions).map_err(words_error)?,
            purposes: words::parse_purposes(&self.purposes).map_err(words_error)?,
            valid_from: day(&self.from)?.unwrap_or(0),
            valid_until: day(&self.until)?,
        })
    }

    /// The grantee `--to` names: `anyone`, an account, or a provider's display name.
    pub(crate) fn grantee(&self, directory: &[Listed]) -> Result<Grantee, Failure> {
        grantee(directory, &self.to)
    }
}

fn words_error(e: words::WordsError) -> Failure {
    Failure::usage(e.to_string())
}

/// `anyone`, an account, or a provider's display name in `directory` (no provider may
/// be named `anyone`).
pub(crate) fn grantee(directory: &[Listed], text: &str) -> Result<Grantee, Failure> {
    if text.eq_ignore_ascii_case("anyone") {
        return Ok(Grantee::Anyone);
    }
    Ok(Grantee::Account(resolve(text, directory)?))
}

#[derive(clap::Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The consent's id (`medconsent consents` lists them).
    #[arg(long)]
    consent: u64,
    /// Whom the consent is to (a provider's name, an account, or `anyone`): it is
    /// revoked only if the
    /// finalized chain agrees, so a node listing other ids cannot misdirect it.
    #[arg(long)]
    to: String,
    /// Act for this patient, as its delegate.
    #[arg(long = "for")]
    for_patient: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum DelegateCommand {
    /// Appoint (or re-appoint with a new term) a delegate: a guardian or caregiver who
    /// may grant, restrict, revoke and write records for the patient.
    Appoint {
        #[command(flatten)]
        chain: ChainArgs,
        /// The delegate's account (SS58 or 0x-hex).
        #[arg(long)]
        to: String,
        /// First day the delegation no longer holds (YYYY-MM-DD, UTC); default: until
        /// removed.
        #[arg(long)]
        until: Option<String>,
    },
    /// Remove a delegate.
    Remove {
        #[command(flatten)]
        chain: ChainArgs,
        /// The delegate's account (SS58 or 0x-hex).
        #[arg(long)]
        to: String,
    },
}

#[derive(clap::Args)]
pub(crate) struct OptOutArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// `refuse`: no break-glass access to the patient's records; `allow`: again.
    #[arg(value_parser = ["refuse", "allow"])]
    choice: String,
    /// Act for this patient, as its delegate.
    #[arg(long = "for")]
    for_patient: Option<String>,
}

pub(crate) fn account(text: &str) -> Result<AccountId, String> {
    parse_account(text)
}

/// The patient a command acts for: `--for`'s, else the signer itself.
fn acting_for(
    for_patient: Option<&str>,
    signer: &medconsent_chain::Signer,
) -> Result<AccountId, String> {
    match for_patient {
        Some(patient) => account(patient),
        None => Ok(medconsent_chain::account_of(signer)),
    }
}

/// A grant (`Permit`) or restriction (`Deny`): prints `consent=ID` and the consent.
pub(crate) async fn grant(
    global: &Global,
    args: TermsArgs,
    decision: Decision,
    out: &mut Output,
) -> Done {
    let terms = args.terms.terms(decision)?;
    let (session, signer) = session(global, &args.chain).await?;
    let patient = acting_for(args.for_patient.as_deref(), &signer)?;
    // One read of the directory: the name resolved is the name shown.
    let directory = session.directory().await?;
    let grantee = args.terms.grantee(&directory)?;
    let id = session.grant(&signer, patient, grantee, terms).await?;
    out.field("consent", id);
    if let Some(consent) = session.consent(patient, id).await? {
        let names = names_of(&directory);
        out.field_as(
            "granted",
            words::describe_consent(&consent, &names),
            super::output::consent(&consent, &names),
        );
    }
    Ok(())
}

pub(crate) async fn revoke(global: &Global, args: RevokeArgs, out: &mut Output) -> Done {
    let (session, signer) = session(global, &args.chain).await?;
    let patient = acting_for(args.for_patient.as_deref(), &signer)?;
    let directory = session.directory().await?;
    let grantee = grantee(&directory, &args.to)?;
    let revoked = session
        .revoke(&signer, patient, args.consent, grantee)
        .await?;
    let names = names_of(&directory);
    out.field_as(
        "revoked",
        words::describe_consent(&revoked, &names),
        super::output::consent(&revoked, &names),
    );
    Ok(())
}

/// Every consent of a patient, one line each.
pub(crate) async fn consents(global: &Global, patient: &str, out: &mut Output) -> Done {
    let patient = account(patient)?;
    let session = reader(global).await?;
    let all = session.consents(patient).await?;
    let names = session.names().await?;
    for consent in &all {
        out.row(
            "consents",
            words::describe_consent(consent, &names),
            super::output::consent(consent, &names),
        );
    }
    out.field("consents_count", all.len());
    Ok(())
}

/// A directory entry (by account or display name); an account not in the directory is
/// refused.
pub(crate) async fn provider(global: &Global, who: &str, out: &mut Output) -> Done {
    let session = reader(global).await?;
    let directory = session.directory().await?;
    let who = resolve(who, &directory)?;
    if let Some(entry) = directory.iter().find(|l| l.account == who) {
        show_listed(entry, "provider", out, false);
        return Ok(());
    }
    // Registered before the directory kept its listing (an upgraded deployment).
    match session.provider(who).await? {
        Some(provider) => {
            let entry = Listed {
                account: who,
                provider,
                name: None,
            };
            show_listed(&entry, "provider", out, false);
            Ok(())
        }
        None => Err(Failure::refused(format!(
            "{} is not in the provider directory",
            ss58(&who)
        ))),
    }
}

/// The whole directory in registration order: name, account, roles, status.
pub(crate) async fn providers(global: &Global, out: &mut Output) -> Done {
    let session = reader(global).await?;
    let directory = session.directory().await?;
    for entry in &directory {
        show_listed(entry, "providers", out, true);
    }
    out.field("providers_count", directory.len());
    Ok(())
}

fn show_listed(entry: &Listed, key: &str, out: &mut Output, row: bool) {
    let shown = names_of(std::slice::from_ref(entry)).show(&entry.account);
    let line = format!("{shown} {}", words::describe_provider(&entry.provider));
    let value = super::output::provider(&entry.account, &entry.provider, entry.name.as_deref());
    if row {
        out.row(key, line, value);
    } else {
        out.field_as(key, line, value);
    }
}

/// A record as the finalized chain has it: hashes and ids, never content.
pub(crate) async fn record(global: &Global, id: u64, out: &mut Output) -> Done {
    let session = reader(global).await?;
    let at = session.chain.finalized().await?;
    let record = session
        .record_at(Some(at), &AccountId::from([0; 32]), id)
        .await?;
    if global.json {
        out.field_as("record", "", super::output::record(&record));
        return Ok(());
    }
    let status = match record.status {
        RecordStatus::Active => "active",
        RecordStatus::Retired => "retired",
    };
    out.field("record", record.id);
    out.field("patient", ss58(&record.patient));
    out.field("author", ss58(&record.author));
    out.field(
        "category",
        medconsent_shared::words::category_name(record.category),
    );
    out.field("version", record.version);
    out.field(
        "content_hash",
        format!("0x{}", hex::encode(record.content_hash)),
    );
    out.field("updated", words::describe_time(record.updated_at));
    out.field("status", status);
    Ok(())
}

pub(crate) async fn delegate(global: &Global, command: DelegateCommand, out: &mut Output) -> Done {
    let (chain, to) = match &command {
        DelegateCommand::Appoint { chain, to, .. } | DelegateCommand::Remove { chain, to } => {
            (chain, account(to)?)
        }
    };
    let appoint = match &command {
        DelegateCommand::Appoint { until, .. } => Some(
            until
                .as_deref()
                .map(words::parse_date)
                .transpose()
                .map_err(|e| Failure::usage(e.to_string()))?,
        ),
        DelegateCommand::Remove { .. } => None,
    };
    let (session, patient) = session(global, chain).await?;
    session.set_delegate(&patient, to, appoint).await?;
    match appoint {
        Some(until) => {
            out.field("appointed", ss58(&to));
            out.field(
                "until",
                until.map_or_else(|| "removed".to_owned(), words::describe_time),
            );
        }
        None => out.field("removed", ss58(&to)),
    }
    Ok(())
}

pub(crate) async fn emergency_opt_out(global: &Global, args: OptOutArgs, out: &mut Output) -> Done {
    let (session, signer) = session(global, &args.chain).await?;
    let patient = acting_for(args.for_patient.as_deref(), &signer)?;
    let refuse = args.choice == "refuse";
    session
        .set_emergency_opt_out(&signer, patient, refuse)
        .await?;
    out.field("break_glass", if refuse { "refused" } else { "allowed" });
    out.field("patient", ss58(&patient));
    Ok(())
}
