//! The admin's messages, the same in the three contracts: pause and resume (registry
//! and consent manager), schedule, apply and cancel a wiring or code change (applied
//! only after the delay fixed at deployment), hand the role over, and read it all.

use super::{FlowError, Result, Session};
use medconsent_chain::Signer;
use medconsent_shared::{AccountId, AdminChange, Hash, ScheduledChange, Timestamp};

/// One of the three contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Governed {
    Registry,
    Consents,
    Log,
}

impl Governed {
    pub const ALL: [Governed; 3] = [Governed::Registry, Governed::Consents, Governed::Log];

    pub fn name(self) -> &'static str {
        match self {
            Governed::Registry => "record_registry",
            Governed::Consents => "consent_manager",
            Governed::Log => "access_log",
        }
    }
}

/// What an admin call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCall {
    /// Pause (true) or resume (false); the log has no pause.
    Pause(bool),
    /// Announce a change; it may be applied once the delay has passed.
    Schedule(AdminChange),
    Apply,
    Cancel,
    /// Propose a successor, who must accept.
    Propose(AccountId),
    Accept,
}

/// A contract's admin state at the finalized block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminState {
    pub admin: AccountId,
    pub pending_admin: Option<AccountId>,
    /// None for the log, which has no pause.
    pub paused: Option<bool>,
    pub scheduled: Option<ScheduledChange>,
    pub change_delay: Timestamp,
    pub full_code: Hash,
}

/// Runs `$body` with `$calls` (the contract's call builder), `$address` and `$refused`
/// (its typed error into a FlowError) bound for the contract `$which`: the admin
/// messages have the same names in the three, their builders and errors differ.
macro_rules! on_contract {
    ($session:expr, $which:expr, |$calls:ident, $address:ident, $refused:ident| $body:expr) => {
        match $which {
            Governed::Registry => {
                #[allow(unused_mut)]
                let mut $calls = $session.contracts().registry();
                let $address = $session.contracts().registry;
                let $refused = FlowError::RegistryRefused;
                $body
            }
            Governed::Consents => {
                #[allow(unused_mut)]
                let mut $calls = $session.contracts().consents();
                let $address = $session.contracts().consents;
                let $refused = FlowError::ConsentRefused;
                $body
            }
            Governed::Log => {
                #[allow(unused_mut)]
                let mut $calls = $session.contracts().log();
                let $address = $session.contracts().log;
                let $refused = FlowError::LogRefused;
                $body
            }
        }
    };
}

/// Submits `$message` and turns its answer into the call's value or a typed refusal.
macro_rules! submitted {
    ($session:expr, $signer:expr, $address:expr, $refused:expr, $message:expr) => {{
        let (result, included) = $session.chain.submit($signer, &$address, &$message).await?;
        match (result, included) {
            (Ok(value), Some(_)) => Ok(value),
            (Err(e), _) => Err($refused(e)),
            (Ok(_), None) => Err(FlowError::Reverted),
        }
    }};
}

impl Session {
    /// Runs `call` on `which` as `signer`; a scheduled change's effective time (ms).
    pub async fn admin_call(
        &self,
        signer: &Signer,
        which: Governed,
        call: AdminCall,
    ) -> Result<Option<Timestamp>> {
        if let AdminCall::Pause(paused) = call {
            return match which {
                Governed::Registry => {
                    let mut calls = self.contracts().registry();
                    let address = self.contracts().registry;
                    let message = calls.set_paused(paused);
                    submitted!(self, signer, address, FlowError::RegistryRefused, message)
                }
                Governed::Consents => {
                    let mut calls = self.contracts().consents();
                    let address = self.contracts().consents;
                    let message = calls.set_paused(paused);
                    submitted!(self, signer, address, FlowError::ConsentRefused, message)
                }
                Governed::Log => Err(FlowError::NoPause),
            }
            .map(|()| None);
        }
        on_contract!(self, which, |calls, address, refused| match call {
            AdminCall::Schedule(change) => {
                let message = calls.schedule_change(change);
                submitted!(self, signer, address, refused, message).map(Some)
            }
            AdminCall::Apply => {
                let message = calls.apply_change();
                submitted!(self, signer, address, refused, message).map(|()| None)
            }
            AdminCall::Cancel => {
                let message = calls.cancel_change();
                submitted!(self, signer, address, refused, message).map(|()| None)
            }
            AdminCall::Propose(successor) => {
                let message = calls.propose_admin(successor);
                submitted!(self, signer, address, refused, message).map(|()| None)
            }
            AdminCall::Accept => {
                let message = calls.accept_admin();
                submitted!(self, signer, address, refused, message).map(|()| None)
            }
            AdminCall::Pause(_) => unreachable!("handled above"),
        })
    }

    /// `which`'s admin state at the finalized block.
    pub async fn admin_state(&self, which: Governed) -> Result<AdminState> {
        let at = Some(self.chain.finalized().await?);
        let anyone = AccountId::from([0; 32]);
        let paused = match which {
            Governed::Registry => Some(
                self.chain
                    .read(
                        at,
                        &anyone,
                        &self.contracts().registry,
                        &self.contracts().registry().paused(),
                    )
                    .await?,
            ),
            Governed::Consents => Some(
                self.chain
                    .read(
                        at,
                        &anyone,
                        &self.contracts().consents,
                        &self.contracts().consents().paused(),
                    )
                    .await?,
            ),
            Governed::Log => None,
        };
        on_contract!(self, which, |calls, address, refused| {
            let _ = refused;
            Ok(AdminState {
                admin: self
                    .chain
                    .read(at, &anyone, &address, &calls.admin())
                    .await?,
                pending_admin: self
                    .chain
                    .read(at, &anyone, &address, &calls.pending_admin())
                    .await?,
                paused,
                scheduled: self
                    .chain
                    .read(at, &anyone, &address, &calls.scheduled_change())
                    .await?,
                change_delay: self
                    .chain
                    .read(at, &anyone, &address, &calls.change_delay())
                    .await?,
                full_code: self
                    .chain
                    .read(at, &anyone, &address, &calls.full_code())
                    .await?,
            })
        })
    }
}
