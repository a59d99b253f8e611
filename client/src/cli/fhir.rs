//! HL7 FHIR R5 for hospital systems: a patient's consents and audit trail exported as
//! Bundles, and a FHIR Consent read back into the grant it says (and submitted with
//! `--submit`). The shapes are `medconsent_fhir`'s; the words (provider names, category
//! names, refusals) the command's own.

use super::parties::account;
use super::records::{verified, window};
use super::{reader, session, ChainArgs, Done, Global, Output};
use clap::Subcommand;
use medconsent_client::exit::Failure;
use medconsent_client::flow::names_of;
use medconsent_client::words;
use medconsent_fhir::import::import;
use medconsent_fhir::{audit::audit_event, collection, consent::consent, Words};
use medconsent_shared::words::category_name;
use medconsent_shared::{AccountId, Consent, ConsentStatus, Decision};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum FhirCommand {
    /// A patient's consents (revoked ones too) as a FHIR R5 Bundle of Consent resources.
    Consents {
        /// The patient's account (SS58 or 0x-hex).
        #[arg(long)]
        patient: String,
        /// Write the Bundle to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A patient's verified audit trail as a FHIR R5 Bundle of AuditEvent resources
    /// (IHE Basic Audit Log Patterns): every entry of the window, once.
    Audit {
        /// The patient's account (SS58 or 0x-hex).
        #[arg(long)]
        patient: String,
        /// First day of the window (YYYY-MM-DD, UTC); default: the beginning.
        #[arg(long)]
        from: Option<String>,
        /// First day after the window (YYYY-MM-DD, UTC); default: now.
        #[arg(long)]
        until: Option<String>,
        /// Write the Bundle to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Read a FHIR R5 Consent (JSON) and print the grant or restriction it maps to, or
    /// each element medconsent cannot express; --submit grants it.
    Import {
        /// The Consent resource (JSON).
        file: PathBuf,
        /// Grant it, signed by the patient (or a delegate, with --for).
        #[arg(long)]
        submit: bool,
        /// Act for this patient, as its delegate.
        #[arg(long = "for")]
        for_patient: Option<String>,
        #[command(flatten)]
        chain: ChainArgs,
    },
}

pub(crate) async fn fhir(global: &Global, command: FhirCommand, out: &mut Output) -> Done {
    match command {
        FhirCommand::Consents { patient, out: file } => {
            let patient = account(&patient)?;
            let session = reader(global).await?;
            let all = session.consents(patient).await?;
            let names = session.names().await?;
            let now = session
                .chain
                .now_at(session.chain.finalized().await?)
                .await?;
            let contracts = session.deployment.contracts();
            let name = |a: &AccountId| names.name(a).map(str::to_owned);
            let words = words_of(&name, &contracts);
            let resources = all.iter().map(|c| consent(c, &words, now)).collect();
            write(collection(resources, now), file.as_deref(), out)
        }
        FhirCommand::Audit {
            patient,
            from,
            until,
            out: file,
        } => {
            let (from, until) = window(from.as_deref(), until.as_deref())?;
            let (trail, names) = verified(global, &patient).await?;
            let session = reader(global).await?;
            let now = session.chain.now_at(trail.at).await?;
            let contracts = session.deployment.contracts();
            let name = |a: &AccountId| names.name(a).map(str::to_owned);
            let words = words_of(&name, &contracts);
            let resources = trail
                .entries
                .iter()
                .filter(|e| e.timestamp >= from && until.is_none_or(|until| e.timestamp < until))
                .map(|e| audit_event(e, &words))
                .collect();
            write(collection(resources, now), file.as_deref(), out)
        }
        FhirCommand::Import {
            file,
            submit,
            for_patient,
            chain,
        } => import_consent(global, &file, submit, for_patient.as_deref(), &chain, out).await,
    }
}

/// The command's words for the export; `provider_name` reads the directory's names.
fn words_of<'a>(
    provider_name: &'a dyn Fn(&AccountId) -> Option<String>,
    contracts: &medconsent_chain::Contracts,
) -> Words<'a> {
    Words {
        provider_name,
        category_name: &category_name,
        deny_reason: &words::describe_deny_reason,
        consent_manager: contracts.consents,
        access_log: contracts.log,
    }
}

/// The Bundle to `file` (and `wrote=FILE resources=N`), or to stdout.
fn write(bundle: Value, file: Option<&Path>, out: &mut Output) -> Done {
    let count = bundle["entry"].as_array().map_or(0, Vec::len);
    match file {
        Some(path) => {
            let text = serde_json::to_vec_pretty(&bundle).map_err(|e| e.to_string())?;
            std::fs::write(path, text)
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
            out.field("wrote", path.display().to_string());
            out.field("resources", count);
        }
        None => super::output::line(format_args!("{bundle:#}")),
    }
    Ok(())
}

async fn import_consent(
    global: &Global,
    file: &Path,
    submit: bool,
    for_patient: Option<&str>,
    chain: &ChainArgs,
    out: &mut Output,
) -> Done {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?;
    let resource: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("{}: not JSON: {e}", file.display())))?;
    let imported = import(&resource).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        Failure::usage(format!(
            "{} says what medconsent cannot express:\n{}",
            file.display(),
            lines.join("\n")
        ))
    })?;
    let (session, signer) = if submit {
        let (session, signer) = session(global, chain).await?;
        (session, Some(signer))
    } else {
        (reader(global).await?, None)
    };
    let directory = session.directory().await?;
    let names = names_of(&directory);
    let said = |id: u64, patient| Consent {
        id,
        patient,
        grantor: patient,
        grantee: imported.grantee,
        terms: imported.terms,
        status: ConsentStatus::Active,
        created_at: 0,
        revoked_at: None,
    };
    let kind = match imported.terms.decision {
        Decision::Permit => "grant",
        Decision::Deny => "restrict",
    };
    let Some(signer) = signer else {
        // No subject: the patient is whoever submits it; shown as the zero account.
        let patient = imported.patient.unwrap_or_else(|| AccountId::from([0; 32]));
        let consent = said(0, patient);
        out.field("maps_to", kind);
        if let Some(patient) = imported.patient {
            out.field("patient", medconsent_chain::ss58(&patient));
        }
        out.field_as(
            "terms",
            words::describe_consent(&consent, &names),
            super::output::consent(&consent, &names),
        );
        return Ok(());
    };
    let patient = match for_patient {
        Some(patient) => account(patient)?,
        None => medconsent_chain::account_of(&signer),
    };
    // Whose consent it is must be written in it: never the signer's by default.
    if imported.patient.is_none() {
        return Err(Failure::usage(
            "the Consent names no subject: say whose it is (subject, an identifier of \
             system urn:medconsent:account) before it is granted",
        ));
    }
    if let Some(subject) = imported.patient.filter(|subject| subject != &patient) {
        return Err(Failure::usage(format!(
            "the Consent's subject is {}, not the patient this grant would be for ({}): \
             sign as that patient or pass --for",
            medconsent_chain::ss58(&subject),
            medconsent_chain::ss58(&patient)
        )));
    }
    let id = session
        .grant(&signer, patient, imported.grantee, imported.terms)
        .await?;
    out.field("consent", id);
    if let Some(consent) = session.consent(patient, id).await? {
        out.field_as(
            "granted",
            words::describe_consent(&consent, &names),
            super::output::consent(&consent, &names),
        );
    }
    Ok(())
}
