//! The admin role every contract carries: two-step transfer and code upgrade. Messages
//! live in each contract (ink! has no inherited messages); the rules live here once.

use crate::{AccountId, Hash};
use ink::env::DefaultEnvironment;

/// Why an admin action was refused; each contract's error enum has a variant for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminFault {
    NotAdmin,
    NotPendingAdmin,
    UpgradeFailed,
}

/// Current admin and the proposed successor, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Admin {
    current: AccountId,
    pending: Option<AccountId>,
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

/// The contract's code was replaced; storage is kept.
#[ink::event]
pub struct CodeUpgraded {
    pub code_hash: Hash,
}

/// The contract was paused or resumed.
#[ink::event]
pub struct PauseChanged {
    pub paused: bool,
}

impl Admin {
    pub fn new(admin: AccountId) -> Self {
        Self {
            current: admin,
            pending: None,
        }
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

    /// Replaces the calling contract's code, keeping its storage.
    pub fn upgrade(&self, caller: &AccountId, code_hash: Hash) -> Result<(), AdminFault> {
        self.ensure(caller)?;
        ink::env::set_code_hash::<DefaultEnvironment>(&code_hash)
            .map_err(|_| AdminFault::UpgradeFailed)?;
        ink::env::emit_event::<DefaultEnvironment, _>(CodeUpgraded { code_hash });
        Ok(())
    }

    /// Admin-gated pause switch; returns the new value for the caller to store.
    pub fn set_paused(&self, caller: &AccountId, paused: bool) -> Result<bool, AdminFault> {
        self.ensure(caller)?;
        ink::env::emit_event::<DefaultEnvironment, _>(PauseChanged { paused });
        Ok(paused)
    }
}
