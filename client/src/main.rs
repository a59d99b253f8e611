//! `medconsent`: the patient's and the reader's command line.

mod party_commands;

use clap::{Parser, Subcommand, ValueEnum};
use medconsent_chain::{signer_from_uri, Deployment};
use medconsent_client::audit;
use medconsent_client::deployment_file::{self, DeploymentCommand};
use medconsent_client::flow::Session;
use medconsent_client::store::LocalStore;
use medconsent_keyrelease::keyfile;
use medconsent_shared::{Decision, Purpose, RecordStatus};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use x25519_dalek::{PublicKey, StaticSecret};

#[derive(Parser)]
#[command(
    version,
    about = "medconsent: seal records and deposit their key shares (patient), read them through a logged on-chain access (reader)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the deployment is and who signs.
#[derive(clap::Args)]
struct ChainArgs {
    /// Deployment file: node URL, contract addresses, key servers and threshold.
    #[arg(long, default_value = "deployments/development.json")]
    deployment: PathBuf,
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
    /// Say each step on stderr even when it is not a terminal (on a terminal it does).
    #[arg(long, short, conflicts_with = "quiet")]
    verbose: bool,
    /// Say no steps (warnings and errors still go to stderr).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// New X25519 key pair: the secret (hex) goes to a new file (mode 0600; an existing
    /// file is refused), the public key is printed.
    Keygen {
        #[arg(long)]
        secret_out: PathBuf,
    },
    /// The public key of a secret key file.
    PublicKey {
        #[arg(long)]
        secret: PathBuf,
    },
    /// Patient (or, with --for, a delegate or a clinician with an Append permit): seal a
    /// file as a new record, register it on chain, store the ciphertext at the key
    /// servers and deposit one key share per server.
    Put {
        #[command(flatten)]
        chain: ChainArgs,
        /// The patient's X25519 secret: the own copy of the record key is sealed to it
        /// (not needed with --for: only the patient keeps a copy).
        #[arg(long, required_unless_present = "for_patient")]
        secret: Option<PathBuf>,
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        category: u16,
        /// Write the record into this patient's records (SS58 or 0x-hex): a delegate of
        /// the patient, or a provider whose Append permit covers the category and purpose.
        #[arg(long = "for")]
        for_patient: Option<String>,
        /// The purpose the chain checks the Append permit for (with --for; default
        /// treat). The patient's own records are written for PATRQT.
        #[arg(long, value_enum, requires = "for_patient")]
        purpose: Option<PurposeArg>,
        /// Local directory for ciphertext and the own key copies.
        #[arg(long)]
        store: PathBuf,
    },
    /// Reader: access the record on chain (logged), collect key shares, fetch, verify
    /// against the chain's hash and decrypt.
    Get {
        #[command(flatten)]
        chain: ChainArgs,
        /// The reader's X25519 secret (its key in the directory, for a provider).
        #[arg(long)]
        secret: PathBuf,
        #[arg(long)]
        record: u64,
        #[arg(long, value_enum, default_value = "treat")]
        purpose: PurposeArg,
        #[arg(long)]
        store: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Patient: new key, new shares, new version of a record; the servers drop the old
    /// version's shares.
    Rotate {
        #[command(flatten)]
        chain: ChainArgs,
        #[arg(long)]
        secret: PathBuf,
        #[arg(long)]
        record: u64,
        #[arg(long)]
        store: PathBuf,
    },
    /// Patient: retire a record on chain, have every key server delete its shares and
    /// delete the own key copies of all its versions from the store.
    Retire {
        #[command(flatten)]
        chain: ChainArgs,
        #[arg(long)]
        record: u64,
        #[arg(long)]
        store: PathBuf,
    },
    /// A patient's audit trail, every entry checked against the one before it and the
    /// last against the on-chain head (at the finalized block); exits 1 if it does not
    /// verify. Anyone may read it: the chain is public.
    Audit {
        #[arg(long, default_value = "deployments/development.json")]
        deployment: PathBuf,
        /// The patient's account (SS58).
        #[arg(long)]
        patient: String,
    },
    /// Patient (or a delegate, --for): grant a permit to an account.
    Grant(party_commands::TermsArgs),
    /// Patient (or a delegate, --for): restrict access (a Deny rule, which wins over any
    /// permit); `--to anyone` restricts everyone.
    Restrict(party_commands::TermsArgs),
    /// Patient (or a delegate, --for): revoke a consent, naming the grantee and terms
    /// listed for its id (the contract refuses if the id holds others).
    Revoke(party_commands::RevokeArgs),
    /// A patient's consents in words, revoked ones included. Anyone may read them: the
    /// chain is public.
    Consents {
        #[command(flatten)]
        read: party_commands::ReadArgs,
        #[arg(long)]
        patient: String,
    },
    /// An account's entry in the provider directory: roles, status, public key.
    Provider {
        #[command(flatten)]
        read: party_commands::ReadArgs,
        #[arg(long)]
        account: String,
    },
    /// A record as the finalized chain has it: ids and hashes, never content.
    Record {
        #[command(flatten)]
        read: party_commands::ReadArgs,
        #[arg(long)]
        record: u64,
    },
    /// Patient: appoint or remove a delegate.
    Delegate {
        #[command(subcommand)]
        command: party_commands::DelegateCommand,
    },
    /// Patient (or a delegate, --for): `refuse` break-glass access to the patient's
    /// records, or `allow` it again.
    EmergencyOptOut(party_commands::OptOutArgs),
    /// Admin: register, suspend and reactivate providers and key servers.
    Admin {
        #[command(subcommand)]
        command: party_commands::AdminCommand,
    },
    /// The deployment file: write it, add key servers, set the threshold, make the
    /// page's configuration from it.
    Deployment {
        #[command(subcommand)]
        command: DeploymentCommand,
    },
    /// Which key servers hold a share of a record's current version (their word): exits
    /// 1 if fewer than the threshold do, when a reader could not rebuild the key.
    Shares {
        #[command(flatten)]
        chain: ChainArgs,
        #[arg(long)]
        record: u64,
    },
}

/// HL7 PurposeOfUse codes.
#[derive(Clone, Copy, ValueEnum)]
enum PurposeArg {
    Treat,
    Etreat,
    Hpaymt,
    Hoperat,
    Hresch,
    Pubhlth,
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

#[tokio::main]
async fn main() {
    if let Err(message) = run(Cli::parse()).await {
        eprintln!("medconsent: {message}");
        std::process::exit(1);
    }
}

fn read_secret(path: &Path) -> Result<StaticSecret, String> {
    keyfile::read_secret(path).map_err(|e| e.to_string())
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

async fn session(chain: &ChainArgs) -> Result<(Session, medconsent_chain::Signer), String> {
    let deployment = Deployment::load(&chain.deployment).map_err(|e| e.to_string())?;
    let signer =
        signer_from_uri(&secret_uri(chain)?).map_err(|e| format!("the secret URI: {e}"))?;
    let mut session = Session::connect(deployment)
        .await
        .map_err(|e| e.to_string())?;
    session.insecure = chain.insecure;
    session.verbose = chain.verbose || (!chain.quiet && std::io::stderr().is_terminal());
    Ok((session, signer))
}

/// What `put` and `rotate` print, one `name=value` per line.
fn print_written(sealed: &medconsent_client::flow::Written) {
    println!("record={}", sealed.record);
    println!("version={}", sealed.version);
    println!("content_hash=0x{}", hex::encode(sealed.content_hash));
    println!("cid={}", sealed.cid);
    println!("shares_deposited={}", sealed.shares_deposited);
}

async fn run(cli: Cli) -> Result<(), String> {
    let fail = |e: medconsent_client::flow::FlowError| e.to_string();
    match cli.command {
        Command::Keygen { secret_out } => {
            let public = keyfile::new_key_file(&secret_out).map_err(|e| e.to_string())?;
            println!("public_key=0x{}", hex::encode(public.as_bytes()));
        }
        Command::PublicKey { secret } => {
            let secret = read_secret(&secret)?;
            println!(
                "public_key=0x{}",
                hex::encode(PublicKey::from(&secret).as_bytes())
            );
        }
        Command::Put {
            chain,
            secret,
            input,
            category,
            for_patient,
            purpose,
            store,
        } => {
            // Local mistakes before anything is sent: the input file and the secret.
            std::fs::metadata(&input).map_err(|e| format!("{}: {e}", input.display()))?;
            let owner = secret.as_deref().map(read_secret).transpose()?;
            let store = LocalStore::new(store).map_err(|e| e.to_string())?;
            let (session, signer) = session(&chain).await?;
            let sealed = match for_patient {
                None => {
                    let owner = owner.ok_or("--secret: the patient's own key copy needs it")?;
                    session.put(&signer, &owner, &input, category, &store).await
                }
                Some(patient) => {
                    let authoring = medconsent_client::flow::Authoring {
                        patient: medconsent_chain::parse_account(&patient)?,
                        purpose: purpose.map_or(Purpose::Treat, Purpose::from),
                    };
                    session
                        .put_as(&signer, owner.as_ref(), authoring, &input, category, &store)
                        .await
                }
            }
            .map_err(fail)?;
            print_written(&sealed);
        }
        Command::Get {
            chain,
            secret,
            record,
            purpose,
            store,
            out,
        } => {
            let reader_secret = read_secret(&secret)?;
            let store = LocalStore::new(store).map_err(|e| e.to_string())?;
            let (session, signer) = session(&chain).await?;
            let opened = session
                .get(
                    &signer,
                    &reader_secret,
                    record,
                    purpose.into(),
                    &store,
                    &out,
                )
                .await
                .map_err(fail)?;
            println!("record={}", opened.record);
            println!("version={}", opened.version);
            println!("log_seq={}", opened.log_seq);
            println!("shares_used={}", opened.shares_used);
            for url in &opened.suspects {
                println!("suspect={url}");
            }
            println!("opened={}", opened.out.display());
        }
        Command::Rotate {
            chain,
            secret,
            record,
            store,
        } => {
            let owner = read_secret(&secret)?;
            let store = LocalStore::new(store).map_err(|e| e.to_string())?;
            let (session, signer) = session(&chain).await?;
            let sealed = session
                .rotate(&signer, &owner, record, &store)
                .await
                .map_err(fail)?;
            print_written(&sealed);
        }
        Command::Retire {
            chain,
            record,
            store,
        } => {
            let store = LocalStore::new(store).map_err(|e| e.to_string())?;
            let (session, signer) = session(&chain).await?;
            let retired = session
                .retire(&signer, record, &store)
                .await
                .map_err(fail)?;
            println!("retired={record}");
            println!("own_key_copies_deleted={}", retired.own_copies_deleted);
            let servers = retired.at_servers.len();
            let mut unconfirmed = 0usize;
            for (url, result) in retired.at_servers {
                match result {
                    Ok(deleted) => println!("deleted_at {url}={deleted}"),
                    Err(e) => {
                        unconfirmed = unconfirmed.saturating_add(1);
                        eprintln!("medconsent: {url} did not delete: {e}");
                    }
                }
            }
            if unconfirmed > 0 {
                return Err(format!(
                    "{unconfirmed} of {servers} key servers did not confirm the deletion: run \
                     the same `medconsent retire` again when they are back (each also deletes \
                     by itself once it sees the retirement)"
                ));
            }
        }
        Command::Deployment { command } => deployment_file::run(command)?,
        Command::Grant(args) => party_commands::grant(args, Decision::Permit).await?,
        Command::Restrict(args) => party_commands::grant(args, Decision::Deny).await?,
        Command::Revoke(args) => party_commands::revoke(args).await?,
        Command::Consents { read, patient } => party_commands::consents(read, &patient).await?,
        Command::Provider { read, account } => party_commands::provider(read, &account).await?,
        Command::Record { read, record } => party_commands::record(read, record).await?,
        Command::Admin { command } => party_commands::admin(command).await?,
        Command::Delegate { command } => party_commands::delegate(command).await?,
        Command::EmergencyOptOut(args) => party_commands::emergency_opt_out(args).await?,
        Command::Audit {
            deployment,
            patient,
        } => {
            let deployment = Deployment::load(&deployment).map_err(|e| e.to_string())?;
            let patient = medconsent_chain::parse_account(&patient)?;
            let chain = medconsent_chain::Chain::connect(&deployment.url)
                .await
                .map_err(|e| e.to_string())?;
            let trail = audit::verified_trail(&chain, deployment.contracts(), patient)
                .await
                .map_err(|e| format!("the audit trail does not verify: {e}"))?;
            for entry in &trail.entries {
                println!("{}", audit::describe(entry));
            }
            println!(
                "verified={} entries at block {}, head 0x{}",
                trail.entries.len(),
                trail.at.number,
                hex::encode(trail.head_hash)
            );
        }
        Command::Shares { chain, record } => {
            let (session, signer) = session(&chain).await?;
            let me = medconsent_chain::account_of(&signer);
            let holdings = session.holdings(&me, record).await.map_err(fail)?;
            println!("record={record}");
            println!("version={}", holdings.version);
            println!("status={:?}", holdings.status);
            for (url, held) in &holdings.at_servers {
                match held {
                    Ok(versions) => println!("versions_at {url}={versions:?}"),
                    Err(e) => eprintln!("medconsent: {url} did not say: {e}"),
                }
            }
            println!("holding_current={}", holdings.holding_current());
            if !holdings.enough() {
                let what = if holdings.status == RecordStatus::Retired {
                    "the record is retired, its key destroyed"
                } else {
                    "`medconsent rotate` deposits new shares"
                };
                return Err(format!(
                    "{} of the key servers hold a share of version {}, {} needed: a reader \
                     cannot rebuild its key ({what})",
                    holdings.holding_current(),
                    holdings.version,
                    holdings.threshold
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(suri: Option<&str>, suri_file: Option<PathBuf>) -> ChainArgs {
        ChainArgs {
            deployment: PathBuf::from("deployment.json"),
            suri: suri.map(str::to_owned),
            suri_file,
            insecure: false,
            verbose: false,
            quiet: false,
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
}
