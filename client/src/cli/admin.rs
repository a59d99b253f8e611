//! The admin's commands: the provider directory (register, suspend, reactivate) and
//! each contract's governance (pause, resume, schedule, apply, cancel, hand over).

use super::parties::account;
use super::{reader, session, ChainArgs, Done, Global, Output};
use clap::{Subcommand, ValueEnum};
use medconsent_chain::ss58;
use medconsent_client::deployment_file;
use medconsent_client::exit::Failure;
use medconsent_client::flow::{check_name, AdminCall, Governed};
use medconsent_client::words;
use medconsent_shared::{AdminChange, Hash};

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Register a provider or key server with its roles and X25519 public key.
    Register {
        #[command(flatten)]
        chain: ChainArgs,
        /// The provider's or key server's account (SS58 or 0x-hex).
        #[arg(long)]
        account: String,
        /// clinician, emergency-responder, researcher, auditor, key-server (comma-separated).
        #[arg(long)]
        roles: String,
        /// Its X25519 public key: 0x-hex, or a file of what `keygen` printed.
        #[arg(long)]
        public_key: String,
        /// Its public display name (at most 64 bytes), shown wherever its account is.
        #[arg(long)]
        name: Option<String>,
    },
    /// Give a provider or key server its public display name, or change it.
    Name {
        #[command(flatten)]
        chain: ChainArgs,
        /// The provider's or key server's account (SS58 or 0x-hex), or its current name.
        #[arg(long)]
        account: String,
        /// The display name (at most 64 bytes; providers are public parties, never
        /// name a patient).
        #[arg(long)]
        name: String,
    },
    /// Suspend a provider or key server: it reads nothing and takes no deposit.
    Suspend {
        #[command(flatten)]
        chain: ChainArgs,
        /// The provider's or key server's account (SS58 or 0x-hex), or its name.
        #[arg(long)]
        account: String,
    },
    /// Reactivate a suspended provider or key server.
    Reactivate {
        #[command(flatten)]
        chain: ChainArgs,
        /// The provider's or key server's account (SS58 or 0x-hex), or its name.
        #[arg(long)]
        account: String,
    },
    /// Pause a contract (registry or consents): nothing is registered, read or granted
    /// until resumed; reviews and revocations still go through.
    Pause(ContractArgs),
    /// Resume a paused contract.
    Resume(ContractArgs),
    /// Announce a change, applied (by `apply`) only after the delay fixed at deployment:
    /// new peers (`--peers A,B`, in the contract's peers order) or new code (`--code
    /// FRONT,FULL`, both uploaded).
    Schedule {
        #[command(flatten)]
        on: ContractArgs,
        /// The two peer contracts' addresses.
        #[arg(long, conflicts_with = "code", required_unless_present = "code")]
        peers: Option<String>,
        /// The new front and full code hashes (0x-hex).
        #[arg(long)]
        code: Option<String>,
    },
    /// Apply the scheduled change once its delay has passed.
    Apply(ContractArgs),
    /// Cancel the scheduled change.
    Cancel(ContractArgs),
    /// Each contract's admin, successor, pause, scheduled change and delay (anyone may
    /// read).
    Changes,
    /// Propose a successor for the admin role; it takes effect when they accept.
    Propose {
        #[command(flatten)]
        on: ContractArgs,
        /// The successor's account (SS58 or 0x-hex).
        #[arg(long)]
        to: String,
    },
    /// Accept the admin role you were proposed for.
    Accept(ContractArgs),
}

/// The admin and the contract an admin message goes to.
#[derive(clap::Args)]
pub(crate) struct ContractArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Which contract.
    #[arg(long, value_enum)]
    contract: ContractArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ContractArg {
    /// The record registry.
    Registry,
    /// The consent manager.
    Consents,
    /// The access log.
    Log,
}

impl From<ContractArg> for Governed {
    fn from(contract: ContractArg) -> Self {
        match contract {
            ContractArg::Registry => Governed::Registry,
            ContractArg::Consents => Governed::Consents,
            ContractArg::Log => Governed::Log,
        }
    }
}

pub(crate) async fn admin(global: &Global, command: AdminCommand, out: &mut Output) -> Done {
    let (chain, who, done) = match &command {
        AdminCommand::Register { chain, account, .. } => (chain, account, "registered"),
        AdminCommand::Name { chain, account, .. } => (chain, account, "named"),
        AdminCommand::Suspend { chain, account } => (chain, account, "suspended"),
        AdminCommand::Reactivate { chain, account } => (chain, account, "reactivated"),
        _ => return governance(global, command, out).await,
    };
    // Every local word is checked before the chain is asked anything.
    let registration = match &command {
        AdminCommand::Register {
            roles,
            public_key,
            name,
            ..
        } => {
            let roles = words::parse_roles(roles).map_err(|e| Failure::usage(e.to_string()))?;
            let key = deployment_file::public_key_arg("--public-key", public_key)?;
            if let Some(name) = name {
                check_name(name)?;
            }
            Some((roles, key))
        }
        AdminCommand::Name { name, .. } => {
            check_name(name)?;
            None
        }
        _ => None,
    };
    // A new entry has no name yet: its account is asked, and checked before connecting.
    let new_account = match &command {
        AdminCommand::Register { .. } => Some(account(who)?),
        _ => None,
    };
    let (session, admin) = session(global, chain).await?;
    let who = match new_account {
        Some(account) => account,
        None => session.resolve(who).await?,
    };
    let name = match &command {
        AdminCommand::Register { name, .. } => name.as_deref(),
        AdminCommand::Name { name, .. } => Some(name.as_str()),
        _ => None,
    };
    match (&command, registration) {
        (AdminCommand::Register { .. }, Some((roles, key))) => {
            session.register_provider(&admin, who, roles, key).await?
        }
        (AdminCommand::Suspend { .. }, _) => {
            session.set_provider_suspended(&admin, who, true).await?
        }
        (AdminCommand::Reactivate { .. }, _) => {
            session.set_provider_suspended(&admin, who, false).await?
        }
        _ => {}
    }
    // Two transactions when registering with a name: the first is said done (words are
    // printed at once; --json keeps it beside an error) before the second is sent.
    if !matches!(command, AdminCommand::Name { .. }) {
        out.field(done, ss58(&who));
    }
    if let Some(name) = name {
        session.set_provider_name(&admin, who, name).await?;
        out.field("name", name);
    }
    if matches!(command, AdminCommand::Name { .. }) {
        out.field(done, ss58(&who));
    }
    Ok(())
}

fn hash(text: &str) -> Result<Hash, Failure> {
    medconsent_keyrelease::wire::hash_from_hex(text)
        .map(Hash::from)
        .ok_or_else(|| Failure::usage(format!("{text}: not 32 bytes of 0x-hex")))
}

fn pair(text: &str) -> Result<(&str, &str), Failure> {
    text.split_once(',')
        .ok_or_else(|| Failure::usage(format!("{text}: two values, comma-separated")))
}

/// The change `--peers` or `--code` names.
fn change(peers: Option<&str>, code: Option<&str>) -> Result<AdminChange, Failure> {
    match (peers, code) {
        (Some(peers), None) => {
            let (first, second) = pair(peers)?;
            Ok(AdminChange::Peers(account(first)?, account(second)?))
        }
        (None, Some(code)) => {
            let (front, full) = pair(code)?;
            Ok(AdminChange::Code(hash(front)?, hash(full)?))
        }
        _ => Err(Failure::usage("name --peers A,B or --code FRONT,FULL")),
    }
}

async fn governance(global: &Global, command: AdminCommand, out: &mut Output) -> Done {
    let (on, call, done) = match command {
        AdminCommand::Pause(on) => (on, AdminCall::Pause(true), "paused"),
        AdminCommand::Resume(on) => (on, AdminCall::Pause(false), "resumed"),
        AdminCommand::Schedule { on, peers, code } => {
            let change = change(peers.as_deref(), code.as_deref())?;
            (on, AdminCall::Schedule(change), "scheduled")
        }
        AdminCommand::Apply(on) => (on, AdminCall::Apply, "applied"),
        AdminCommand::Cancel(on) => (on, AdminCall::Cancel, "cancelled"),
        AdminCommand::Propose { on, to } => (on, AdminCall::Propose(account(&to)?), "proposed"),
        AdminCommand::Accept(on) => (on, AdminCall::Accept, "accepted"),
        AdminCommand::Changes => return changes(global, out).await,
        _ => unreachable!("the directory commands are handled by admin"),
    };
    let which = Governed::from(on.contract);
    let (session, admin) = session(global, &on.chain).await?;
    let effective = session.admin_call(&admin, which, call).await?;
    out.field(done, which.name());
    if let Some(at) = effective {
        out.field_as(
            "effective",
            words::describe_time(at),
            super::output::time(at),
        );
    }
    Ok(())
}

fn describe_change(change: &AdminChange) -> String {
    match change {
        AdminChange::Peers(first, second) => format!("peers {},{}", ss58(first), ss58(second)),
        AdminChange::Code(front, full) => format!(
            "code 0x{},0x{}",
            hex::encode(front.as_ref()),
            hex::encode(full.as_ref())
        ),
    }
}

async fn changes(global: &Global, out: &mut Output) -> Done {
    let session = reader(global).await?;
    for which in Governed::ALL {
        let state = session.admin_state(which).await?;
        let scheduled = state.scheduled.map_or_else(
            || "none".to_owned(),
            |s| {
                format!(
                    "{} from {}",
                    describe_change(&s.change),
                    words::describe_time(s.effective_at)
                )
            },
        );
        let paused = match state.paused {
            Some(true) => "paused",
            Some(false) => "running",
            None => "running (no pause)",
        };
        let line = format!(
            "{} admin={} successor={} {paused} delay={}s scheduled={scheduled}",
            which.name(),
            ss58(&state.admin),
            state
                .pending_admin
                .as_ref()
                .map_or_else(|| "none".to_owned(), ss58),
            state.change_delay / 1000,
        );
        out.row(
            "contracts",
            line,
            serde_json::json!({
                "contract": which.name(),
                "admin": ss58(&state.admin),
                "successor": state.pending_admin.as_ref().map(ss58),
                "paused": state.paused,
                "change_delay_ms": state.change_delay,
                "scheduled": scheduled,
                "full_code": format!("0x{}", hex::encode(state.full_code.as_ref())),
            }),
        );
    }
    Ok(())
}
