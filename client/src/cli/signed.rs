//! Consent signed by the patient for someone else to submit: `sign` writes it to a file
//! (nothing sent), `submit` relays it (the relayer pays), `void` cancels an unused one.

use super::parties::TermsWords;
use super::{session, ChainArgs, Done, Global, Output};
use medconsent_client::exit::Failure;
use medconsent_client::flow::{names_of, Relay};
use medconsent_client::words::describe_grantee;
use medconsent_shared::Decision;
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    terms: TermsWords,
    /// Sign a restriction (a Deny rule) instead of a permit.
    #[arg(long)]
    restrict: bool,
    /// Days (of chain time) during which the signature may be submitted.
    #[arg(long, default_value_t = 7)]
    valid_days: u32,
    /// The file the signed consent is written to (a new file; JSON, readable).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct SubmitArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The signed consent file the patient gave.
    #[arg(long)]
    signed: PathBuf,
}

#[derive(clap::Args)]
pub(crate) struct VoidArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The nonce of the signature to void (its file says it).
    #[arg(long)]
    nonce: u64,
    /// Act for this patient, as its delegate.
    #[arg(long = "for")]
    for_patient: Option<String>,
}

pub(crate) async fn sign(global: &Global, args: SignArgs, out: &mut Output) -> Done {
    let decision = if args.restrict {
        Decision::Deny
    } else {
        Decision::Permit
    };
    let terms = args.terms.terms(decision)?;
    if args.out.exists() {
        return Err(Failure::usage(format!(
            "{}: exists; name a new file",
            args.out.display()
        )));
    }
    let (session, patient) = session(global, &args.chain).await?;
    let directory = session.directory().await?;
    let grantee = args.terms.grantee(&directory)?;
    let valid_for = u64::from(args.valid_days).saturating_mul(86_400_000);
    let relay = session
        .sign_consent(&patient, grantee, terms, valid_for)
        .await?;
    let mut text = serde_json::to_string_pretty(&relay).expect("serializes");
    text.push('\n');
    std::fs::write(&args.out, text).map_err(|e| format!("{}: {e}", args.out.display()))?;
    out.field("signed", args.out.display().to_string());
    out.field("to", describe_grantee(&grantee, &names_of(&directory)));
    out.field("nonce", relay.nonce);
    out.field_as(
        "deadline",
        medconsent_client::words::describe_time(relay.deadline),
        super::output::time(relay.deadline),
    );
    Ok(())
}

pub(crate) async fn submit(global: &Global, args: SubmitArgs, out: &mut Output) -> Done {
    let text = std::fs::read_to_string(&args.signed)
        .map_err(|e| format!("{}: {e}", args.signed.display()))?;
    let relay: Relay = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a signed consent: {e}", args.signed.display()))?;
    relay
        .parts()
        .map_err(|e| format!("{}: {e}", args.signed.display()))?;
    let (session, relayer) = session(global, &args.chain).await?;
    let id = session.submit_signed(&relayer, &relay).await?;
    out.field("consent", id);
    out.field("patient", relay.patient);
    Ok(())
}

pub(crate) async fn void(global: &Global, args: VoidArgs, out: &mut Output) -> Done {
    let (session, signer) = session(global, &args.chain).await?;
    let patient = match &args.for_patient {
        Some(patient) => medconsent_chain::parse_account(patient)?,
        None => medconsent_chain::account_of(&signer),
    };
    session.void_signature(&signer, patient, args.nonce).await?;
    out.field("voided", args.nonce);
    Ok(())
}
