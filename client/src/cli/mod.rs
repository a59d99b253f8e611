//! The `medconsent` command's arguments, one subcommand per thing a party does, and the
//! dispatch to the modules that carry them out.

mod admin;
mod clinician;
mod emergency;
mod fhir;
mod output;
mod parties;
mod records;
mod signed;

use clap::{Parser, Subcommand, ValueEnum};
use medconsent_chain::{signer_from_uri, Deployment};
use medconsent_client::deployment_file::{self, DeploymentCommand};
use medconsent_client::exit::Failure;
use medconsent_client::flow::Session;
use medconsent_keyrelease::keyfile;
use medconsent_shared::{Decision, Purpose};
pub(crate) use output::Output;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use x25519_dalek::StaticSecret;

pub(crate) type Done = Result<(), Failure>;

#[derive(Parser)]
#[command(
    version,
    about = "medconsent: patient-controlled medical records on a pallet-contracts chain",
    long_about = "medconsent: patient-controlled medical records on a pallet-contracts chain.\n\n\
        Patients (and their delegates) put records and grant, restrict and revoke access; \
        clinicians list and open a patient's chart and add results; emergency responders \
        break the glass; admins run the provider directory.",
    after_help = "Exit status: 0 done; 1 refused by the chain or the key servers; 2 a usage \
        or local mistake (nothing was sent); 3 the node or the key servers unavailable; 4 an \
        answer that does not check out (a node or a server may be lying)."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes, before or after its name.
#[derive(clap::Args)]
pub(crate) struct Global {
    /// Deployment file: node URL, contract addresses, key servers and threshold.
    #[arg(long, global = true, default_value = "deployments/development.json")]
    pub(crate) deployment: PathBuf,
    /// Say each step on stderr even when it is not a terminal (on a terminal it does).
    #[arg(long, short, global = true, conflicts_with = "quiet")]
    pub(crate) verbose: bool,
    /// Say no steps (warnings and errors still go to stderr).
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    /// Print one JSON object on stdout instead of lines of words (a failure too, as
    /// {"error": {"exit", "kind", "message"}}).
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// Who signs.
#[derive(clap::Args)]
pub(crate) struct ChainArgs {
    /// A development account's secret URI (`//Bob`: public knowledge). Any other secret
    /// (a mnemonic, a 0x seed) comes from --suri-file or the MEDCONSENT_SURI variable,
    /// never the command line, which every user of the machine can read.
    #[arg(long, conflicts_with = "suri_file")]
    suri: Option<String>,
    /// A file holding the signing account's secret URI.
    #[arg(long)]
    suri_file: Option<PathBuf>,
    /// Accept key servers at plain http:// beyond this machine (a network you control).
    #[arg(long)]
    insecure: bool,
}

#[derive(Subcommand)]
enum Command {
    /// New X25519 key pair: the secret (hex) goes to a new file (mode 0600; an existing
    /// file is refused), the public key is printed.
    Keygen {
        /// Where to write the secret key.
        #[arg(long)]
        secret_out: PathBuf,
    },
    /// The public key of a secret key file.
    PublicKey {
        /// The secret key file.
        #[arg(long)]
        secret: PathBuf,
    },
    /// The record categories: the names every command shows and takes.
    Categories,
    /// Patient (or, with --for, a delegate or a clinician with an Append permit): seal a
    /// file as a new record, register it on chain, store the ciphertext at the key
    /// servers and deposit one key share per server.
    Put(records::PutArgs),
    /// Reader: access one record on chain (logged), collect key shares, fetch, verify
    /// against the chain's hash and decrypt.
    Get(records::GetArgs),
    /// Patient: new key, new shares, new version of a record; the servers drop the old
    /// version's shares.
    Rotate(records::RotateArgs),
    /// Patient: retire a record on chain, have every key server delete its shares and
    /// delete the own key copies of all its versions from the store.
    Retire(records::RetireArgs),
    /// Which key servers hold a share of a record's current version (their word): fails
    /// if fewer than the threshold do, when a reader could not rebuild the key.
    Shares(records::SharesArgs),
    /// A patient's records in words, as the finalized chain has them (anyone may read:
    /// the chain is public; ids, categories and hashes, never content).
    Records(clinician::RecordsArgs),
    /// Clinician: which of a patient's records its consents cover for a purpose (a free
    /// check, nothing logged), or open them: one on-chain access for the whole chart,
    /// every record logged, the files written to a folder.
    Chart(clinician::ChartArgs),
    /// Emergency responder: break-glass read of one record, with a written justification
    /// (its hash is logged for the patient's review).
    BreakGlass(emergency::BreakGlassArgs),
    /// A patient's break-glass accesses and their reviews (anyone may read).
    Emergencies(emergency::EmergenciesArgs),
    /// Patient (or a delegate, --for): mark break-glass accesses justified or not, several
    /// at once.
    Review(emergency::ReviewArgs),
    /// A patient's audit trail, every entry checked against the one before it and the
    /// last against the on-chain head (at the finalized block); fails if it does not
    /// verify. Anyone may read it: the chain is public.
    Audit(records::AuditArgs),
    /// Accounting of disclosures: who accessed (or was denied, or broke the glass into)
    /// a patient's records in a time window, from the verified trail.
    Disclosures(records::DisclosuresArgs),
    /// Patient (or a delegate, --for): grant a permit to an account.
    Grant(parties::TermsArgs),
    /// Patient (or a delegate, --for): restrict access (a Deny rule, which wins over any
    /// permit); `--to anyone` restricts everyone.
    Restrict(parties::TermsArgs),
    /// Patient (or a delegate, --for): revoke a consent, naming the grantee and terms
    /// listed for its id (the contract refuses if the id holds others).
    Revoke(parties::RevokeArgs),
    /// Patient: sign a grant (or, --restrict, a restriction) into a file for a provider
    /// to submit and pay for; nothing is sent.
    Sign(signed::SignArgs),
    /// Provider: submit a consent the patient signed (`medconsent sign`).
    Submit(signed::SubmitArgs),
    /// Patient (or a delegate, --for): void a signed consent not yet submitted.
    Void(signed::VoidArgs),
    /// A patient's consents in words, revoked ones included. Anyone may read them: the
    /// chain is public.
    Consents {
        /// The patient's account (SS58 or 0x-hex).
        #[arg(long)]
        patient: String,
    },
    /// An account's entry in the provider directory: name, roles, status, public key.
    Provider {
        /// The provider's account (SS58 or 0x-hex), or its display name.
        #[arg(long)]
        account: String,
    },
    /// The provider directory in registration order: names, accounts, roles, status.
    Providers,
    /// A record as the finalized chain has it: ids and hashes, never content.
    Record {
        /// The record's id.
        #[arg(long)]
        record: u64,
    },
    /// Patient: appoint or remove a delegate.
    Delegate {
        #[command(subcommand)]
        command: parties::DelegateCommand,
    },
    /// Patient (or a delegate, --for): `refuse` break-glass access to the patient's
    /// records, or `allow` it again.
    EmergencyOptOut(parties::OptOutArgs),
    /// Hospital systems: a patient's consents and audit trail as HL7 FHIR R5 Bundles, and
    /// a FHIR Consent read back into a grant.
    Fhir {
        #[command(subcommand)]
        command: fhir::FhirCommand,
    },
    /// Admin: register, name, suspend and reactivate providers and key servers; pause, resume,
    /// schedule, apply and cancel changes; hand the role over.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// The deployment file: write it, add key servers, set the threshold, make the
    /// page's configuration from it.
    Deployment {
        #[command(subcommand)]
        command: DeploymentCommand,
    },
}

/// HL7 PurposeOfUse codes.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PurposeArg {
    /// Treatment.
    Treat,
    /// Emergency treatment.
    Etreat,
    /// Payment.
    Hpaymt,
    /// Healthcare operations.
    Hoperat,
    /// Research.
    Hresch,
    /// Public health.
    Pubhlth,
    /// The patient's own request.
    Patrqt,
}

impl From<PurposeArg> for Purpose {
    fn from(purpose: PurposeArg) -> Self {
        match purpose {
            PurposeArg::Treat => Purpose::Treat,
            PurposeArg::Etreat => Purpose::EmergencyTreat,
            PurposeArg::Hpaymt => Purpose::Payment,
            PurposeArg::Hoperat => Purpose::Operations,
            PurposeArg::Hresch => Purpose::Research,
            PurposeArg::Pubhlth => Purpose::PublicHealth,
            PurposeArg::Patrqt => Purpose::PatientRequest,
        }
    }
}

pub(crate) fn read_secret(path: &Path) -> Result<StaticSecret, Failure> {
    keyfile::read_secret(path).map_err(|e| Failure::usage(e.to_string()))
}

/// The signing secret: a dev URI from --suri, else --suri-file, else MEDCONSENT_SURI.
fn secret_uri(chain: &ChainArgs) -> Result<String, String> {
    if let Some(uri) = &chain.suri {
        if !uri.starts_with("//") {
            return Err(
                "--suri takes only development accounts (//Alice, //Bob, ...): give a real \
                 secret with --suri-file FILE or the MEDCONSENT_SURI variable"
                    .into(),
            );
        }
        return Ok(uri.clone());
    }
    if let Some(path) = &chain.suri_file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(text.trim().to_owned());
    }
    std::env::var("MEDCONSENT_SURI").map_err(|_| {
        "name the signing account: --suri //Dev, --suri-file FILE or MEDCONSENT_SURI".into()
    })
}

/// A session that only reads the public chain (and asks key servers nothing signed).
pub(crate) async fn reader(global: &Global) -> Result<Session, Failure> {
    let deployment = Deployment::load(&global.deployment).map_err(Failure::from)?;
    let mut session = Session::connect(deployment).await?;
    session.verbose = global.verbose || (!global.quiet && std::io::stderr().is_terminal());
    Ok(session)
}

/// A session with its signer.
pub(crate) async fn session(
    global: &Global,
    chain: &ChainArgs,
) -> Result<(Session, medconsent_chain::Signer), Failure> {
    let signer = signer_from_uri(&secret_uri(chain)?)
        .map_err(|e| Failure::usage(format!("the secret URI: {e}")))?;
    let mut session = reader(global).await?;
    session.insecure = chain.insecure;
    Ok((session, signer))
}

pub(crate) async fn run(cli: Cli, out: &mut Output) -> Done {
    let global = &cli.global;
    match cli.command {
        Command::Keygen { secret_out } => {
            let public = keyfile::new_key_file(&secret_out).map_err(|e| e.to_string())?;
            out.field(
                "public_key",
                format!("0x{}", hex::encode(public.as_bytes())),
            );
        }
        Command::PublicKey { secret } => {
            let public = x25519_dalek::PublicKey::from(&read_secret(&secret)?);
            out.field(
                "public_key",
                format!("0x{}", hex::encode(public.as_bytes())),
            );
        }
        Command::Categories => {
            for (code, name) in medconsent_shared::words::CATEGORIES {
                out.row(
                    "categories",
                    format!("{code:>3} {name}"),
                    serde_json::json!({ "code": code, "name": name }),
                );
            }
        }
        Command::Put(args) => records::put(global, args, out).await?,
        Command::Get(args) => records::get(global, args, out).await?,
        Command::Rotate(args) => records::rotate(global, args, out).await?,
        Command::Retire(args) => records::retire(global, args, out).await?,
        Command::Shares(args) => records::shares(global, args, out).await?,
        Command::Audit(args) => records::audit(global, args, out).await?,
        Command::Disclosures(args) => records::disclosures(global, args, out).await?,
        Command::Records(args) => clinician::records(global, args, out).await?,
        Command::Chart(args) => clinician::chart(global, args, out).await?,
        Command::BreakGlass(args) => emergency::break_glass(global, args, out).await?,
        Command::Emergencies(args) => emergency::emergencies(global, args, out).await?,
        Command::Review(args) => emergency::review(global, args, out).await?,
        Command::Deployment { command } => deployment_file::run(command, &global.deployment)?,
        Command::Grant(args) => parties::grant(global, args, Decision::Permit, out).await?,
        Command::Restrict(args) => parties::grant(global, args, Decision::Deny, out).await?,
        Command::Revoke(args) => parties::revoke(global, args, out).await?,
        Command::Sign(args) => signed::sign(global, args, out).await?,
        Command::Submit(args) => signed::submit(global, args, out).await?,
        Command::Void(args) => signed::void(global, args, out).await?,
        Command::Consents { patient } => parties::consents(global, &patient, out).await?,
        Command::Provider { account } => parties::provider(global, &account, out).await?,
        Command::Providers => parties::providers(global, out).await?,
        Command::Record { record } => parties::record(global, record, out).await?,
        Command::Admin { command } => admin::admin(global, command, out).await?,
        Command::Fhir { command } => fhir::fhir(global, command, out).await?,
        Command::Delegate { command } => parties::delegate(global, command, out).await?,
        Command::EmergencyOptOut(args) => parties::emergency_opt_out(global, args, out).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(suri: Option<&str>, suri_file: Option<PathBuf>) -> ChainArgs {
        ChainArgs {
            suri: suri.map(str::to_owned),
            suri_file,
            insecure: false,
        }
    }

    #[test]
    fn a_real_secret_never_comes_from_the_command_line() {
        assert_eq!(secret_uri(&args(Some("//Bob"), None)), Ok("//Bob".into()));
        let mnemonic = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
        for secret in [mnemonic, "0x1234", "bottom drive//hard"] {
            let refused = secret_uri(&args(Some(secret), None)).unwrap_err();
            assert!(refused.contains("--suri-file"), "{refused}");
            assert!(!refused.contains(secret), "the secret echoed: {refused}");
        }
        let dir = std::env::temp_dir().join(format!("medconsent-suri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("suri");
        std::fs::write(&file, format!("{mnemonic}\n")).unwrap();
        assert_eq!(secret_uri(&args(None, Some(file))), Ok(mnemonic.into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every argument of every command says what it is in `--help`.
    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (no about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let command = Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&command, "medconsent", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }
}
