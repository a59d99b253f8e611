//! The admin role every contract carries: two-step transfer, and wiring and code changes
//! that are announced and take effect only after a delay fixed at deployment. The rules
//! live here; the messages that apply them are written once by `#[admin_messages]` (contracts/admin_messages).

use crate::{AccountId, Hash, Timestamp};
use ink::env::DefaultEnvironment;

/// Why an admin action was refused; each contract's error enum has a variant for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminFault {
    NotAdmin,
    NotPendingAdmin,
    UpgradeFailed,
    /// A peer or writer address that is not a contract (a wallet could forge entries).
    NotAContract,
    /// No change is scheduled, or not the one named.
    NothingScheduled,
    /// The scheduled change's delay has not passed yet.
    NotYetDue,
}

/// `impl From<AdminFault> for $error`: each contract's error has one variant of the same
/// name for each fault. One definition for the three contracts.
#[macro_export]
macro_rules! admin_faults_into {
    ($error:ty) => {
        impl From<$crate::AdminFault> for $error {
            fn from(fault: $crate::AdminFault) -> Self {
                match fault {
                    $crate::AdminFault::NotAdmin => Self::NotAdmin,
                    $crate::AdminFault::NotPendingAdmin => Self::NotPendingAdmin,
                    $crate::AdminFault::UpgradeFailed => Self::UpgradeFailed,
                    $crate::AdminFault::NotAContract => Self::NotAContract,
                    $crate::AdminFault::NothingScheduled => Self::NothingScheduled,
                    $crate::AdminFault::NotYetDue => Self::NotYetDue,
                }
            }
        }
    };
}

/// A change of the admin's that patients must be able to see coming: it is announced
/// (`ChangeScheduled`), and applies only once the contract's delay has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub enum AdminChange {
    /// Wire the two peer contracts, in the order of the contract's `peers` query.
    Peers(AccountId, AccountId),
    /// Replace the contract's code, keeping its storage: `Code(front, full)`, the code
    /// at the contract's address and the full code its rarer messages run in (see
    /// `split`). Both must have been uploaded.
    Code(Hash, Hash),
}

/// An announced change and the first moment it may be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct ScheduledChange {
    pub change: AdminChange,
    pub effective_at: Timestamp,
}

/// Current admin, the proposed successor, and the delay every change must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Admin {
    current: AccountId,
    pending: Option<AccountId>,
    /// Milliseconds between announcing a change and applying it; fixed at deployment.
    delay: Timestamp,
}

/// A wiring or code change was announced; it may be applied from `effective_at`.
#[ink::event]
pub struct ChangeScheduled {
    pub change: AdminChange,
    pub effective_at: Timestamp,
}

/// The announced change was applied.
#[ink::event]
pub struct ChangeApplied {
    pub change: AdminChange,
}

/// The announced change was withdrawn.
#[ink::event]
pub struct ChangeCancelled {
    pub change: AdminChange,
}

/// An admin transfer was proposed.
#[ink::event]
pub struct AdminProposed {
    #[ink(topic)]
    pub proposed: AccountId,
}

/// The proposed admin accepted.
#[ink::event]
pub struct AdminChanged {
    #[ink(topic)]
    pub admin: AccountId,
}

/// The contract was paused or resumed.
#[ink::event]
pub struct PauseChanged {
    pub paused: bool,
}

impl Admin {
    pub fn new(admin: AccountId, delay: Timestamp) -> Self {
        Self {
            current: admin,
            pending: None,
            delay,
        }
    }

    pub fn delay(&self) -> Timestamp {
        self.delay
    }

    pub fn current(&self) -> AccountId {
        self.current
    }

    pub fn pending(&self) -> Option<AccountId> {
        self.pending
    }

    pub fn ensure(&self, caller: &AccountId) -> Result<(), AdminFault> {
        if *caller == self.current {
            Ok(())
        } else {
            Err(AdminFault::NotAdmin)
        }
    }

    /// Step one: the admin names a successor (a later proposal replaces it).
    pub fn propose(&mut self, caller: &AccountId, successor: AccountId) -> Result<(), AdminFault> {
        self.ensure(caller)?;
        self.pending = Some(successor);
        ink::env::emit_event::<DefaultEnvironment, _>(AdminProposed {
            proposed: successor,
        });
        Ok(())
    }

    /// Step two: the successor takes over, so a mistyped address cannot lock the admin out.
    pub fn accept(&mut self, caller: &AccountId) -> Result<(), AdminFault> {
        if self.pending != Some(*caller) {
            return Err(AdminFault::NotPendingAdmin);
        }
        self.current = *caller;
        self.pending = None;
        ink::env::emit_event::<DefaultEnvironment, _>(AdminChanged { admin: *caller });
        Ok(())
    }

    /// Announces `change`. `unwired` says the contract has no peers yet: its first wiring
    /// is part of deployment and is due at once; anything else waits the delay. A later
    /// announcement replaces an earlier one and restarts its clock.
    pub fn schedule(
        &self,
        caller: &AccountId,
        change: AdminChange,
        now: Timestamp,
        unwired: bool,
    ) -> Result<ScheduledChange, AdminFault> {
        self.ensure(caller)?;
        if let AdminChange::Peers(first, second) = change {
            ensure_contracts(&first, &second)?;
        }
        let first_wiring = unwired && matches!(change, AdminChange::Peers(..));
        let wait = if first_wiring { 0 } else { self.delay };
        let scheduled = ScheduledChange {
            change,
            effective_at: now.saturating_add(wait),
        };
        ink::env::emit_event::<DefaultEnvironment, _>(ChangeScheduled {
            change,
            effective_at: scheduled.effective_at,
        });
        Ok(scheduled)
    }

    /// The change to apply now: the scheduled one, once due. A code change's front is
    /// applied here; the caller moves its full-code lock and stores new peers (checked to be contracts when announced: no
    /// wallet's key can later sign for a contract's address).
    pub fn apply(
        &self,
        caller: &AccountId,
        scheduled: Option<ScheduledChange>,
        now: Timestamp,
    ) -> Result<AdminChange, AdminFault> {
        self.ensure(caller)?;
        let scheduled = scheduled.ok_or(AdminFault::NothingScheduled)?;
        if now < scheduled.effective_at {
            return Err(AdminFault::NotYetDue);
        }
        if let AdminChange::Code(front, _) = scheduled.change {
            ink::env::set_code_hash::<DefaultEnvironment>(&front)
                .map_err(|_| AdminFault::UpgradeFailed)?;
        }
        ink::env::emit_event::<DefaultEnvironment, _>(ChangeApplied {
            change: scheduled.change,
        });
        Ok(scheduled.change)
    }

    /// Withdraws the scheduled change.
    pub fn cancel(
        &self,
        caller: &AccountId,
        scheduled: Option<ScheduledChange>,
    ) -> Result<(), AdminFault> {
        self.ensure(caller)?;
        let scheduled = scheduled.ok_or(AdminFault::NothingScheduled)?;
        ink::env::emit_event::<DefaultEnvironment, _>(ChangeCancelled {
            change: scheduled.change,
        });
        Ok(())
    }

    /// Admin-gated pause switch; returns the new value for the caller to store.
    pub fn set_paused(&self, caller: &AccountId, paused: bool) -> Result<bool, AdminFault> {
        self.ensure(caller)?;
        ink::env::emit_event::<DefaultEnvironment, _>(PauseChanged { paused });
        Ok(paused)
    }
}

/// Peers and writers must be contracts: a wallet named as writer could append forged
/// entries, and a wallet as peer could answer anything.
fn ensure_contracts(first: &AccountId, second: &AccountId) -> Result<(), AdminFault> {
    let is_contract = |account| ink::env::is_contract::<DefaultEnvironment>(account);
    if is_contract(first) && is_contract(second) {
        Ok(())
    } else {
        Err(AdminFault::NotAContract)
    }
}
