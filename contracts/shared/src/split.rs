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

/// The messages each contract's front runs itself (the access path and grants); every
/// other message forwards to the full code. The one declaration of the split: the test
/// below holds each contract's source to it, and the README's account follows it.
pub const FRONT_MESSAGES: [(&str, &[&str]); 3] = [
    (
        "record_registry",
        &["access_record", "access_chart", "record_patient"],
    ),
    ("consent_manager", &["check_chart", "grant", "revoke"]),
    ("access_log", &["append", "append_chart"]),
];

#[cfg(test)]
mod tests {
    use super::FRONT_MESSAGES;

    /// (message name, whether its body starts by forwarding) for every `#[ink(message)]`
    /// in `source`.
    fn messages(source: &str) -> Vec<(String, bool)> {
        let mut found = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find("#[ink(message)]") {
            rest = &rest[at + "#[ink(message)]".len()..];
            let fn_at = rest.find("fn ").expect("a message is a fn");
            let name: String = rest[fn_at + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let body_at = rest.find('{').expect("a body");
            let first = rest[body_at + 1..].trim_start();
            found.push((name, first.starts_with("self.off_path();")));
        }
        found
    }

    #[test]
    fn the_front_runs_exactly_the_declared_messages() {
        let sources = [
            (
                "record_registry",
                include_str!("../../record_registry/lib.rs"),
            ),
            (
                "consent_manager",
                include_str!("../../consent_manager/lib.rs"),
            ),
            ("access_log", include_str!("../../access_log/lib.rs")),
        ];
        for ((contract, source), (declared_for, front)) in sources.iter().zip(FRONT_MESSAGES) {
            assert_eq!(contract, &declared_for);
            let found = messages(source);
            assert!(found.len() > front.len(), "{contract}: {found:?}");
            for (name, forwards) in &found {
                assert_eq!(
                    !forwards,
                    front.contains(&name.as_str()),
                    "{contract}::{name}: in the front {}, declared {}",
                    !forwards,
                    front.contains(&name.as_str())
                );
            }
            for name in front {
                assert!(
                    found.iter().any(|(n, _)| n == name),
                    "{contract}: declared front message {name} is not a message"
                );
            }
        }
        // The admin's messages, added to every contract, all forward.
        let macro_source = include_str!("../../admin_messages/src/lib.rs");
        let admin = messages(&macro_source[macro_source.find("fn expand(").unwrap()..]);
        assert!(admin.len() >= 12, "{admin:?}");
        assert!(admin.iter().all(|(_, forwards)| *forwards), "{admin:?}");
    }
}
