//! Each contract is built twice from one source: the *front* (deployed at the contract's
//! address, named after the contract) and the *full code* (`<contract>_full`, uploaded
//! only). pallet-contracts charges every byte of code a call loads, so the front keeps
//! real bodies only for the messages on the access path; every other message (admin,
//! directory, delegates, queries) forwards its call input unchanged to the full code by
//! a delegate call: same storage, same caller, same address, and the full code's output
//! and revert flag become the call's own. The ABI is the same in both builds.

use crate::Hash;
use ink::env::DefaultEnvironment;

/// Ends the current call with what `full_code` makes of this call's input. Never returns:
/// a tail call ends the call on success and on revert; if the full code traps (or is
/// missing, which the delegate-dependency lock rules out), so does this call.
pub fn run_in_full_code(full_code: Hash) -> ! {
    // No input of our own: FORWARD_INPUT passes the caller's selector and arguments as
    // they came. Called directly, not through ink!'s call builder: every byte of the
    // front is paid on every call.
    #[cfg(target_arch = "wasm32")]
    {
        use pallet_contracts_uapi::{CallFlags, HostFn, HostFnImpl};
        let flags = CallFlags::FORWARD_INPUT | CallFlags::TAIL_CALL;
        let _ = HostFnImpl::delegate_call(flags, full_code.as_ref(), &[], None);
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = full_code;
    panic!("the full code trapped")
}

/// Pins `full_code` for the lifetime of the contract: while locked, its uploader cannot
/// remove it (which would leave every forwarded message dead). Traps if no such code
/// was uploaded, so a contract is never deployed or upgraded onto missing code.
pub fn lock_full_code(full_code: &Hash) {
    ink::env::lock_delegate_dependency::<DefaultEnvironment>(full_code);
}

/// Moves the lock from the old full code to the new one (an upgrade); returns the new.
pub fn swap_full_code(old: &Hash, new: Hash) -> Hash {
    if *old != new {
        ink::env::unlock_delegate_dependency::<DefaultEnvironment>(old);
        lock_full_code(&new);
    }
    new
}
