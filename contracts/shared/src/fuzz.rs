//! Test support (std only): a fuzz of a contract's message input. Valid inputs (the
//! selector and the SCALE arguments) are damaged at random (bytes changed, cut, extended, replaced,
//! arguments swapped for noise) and fed to the decoder ink! runs before any message;
//! every input that still decodes is then run, as ink! runs it, against the contract
//! stored in the off-chain engine, by a caller drawn from a list. A deterministic
//! xorshift generator keeps every run the same.

use ink::prelude::vec::Vec;
use ink::reflect::{DecodeDispatch, DispatchError, ExecuteDispatchable};

/// What the fuzz saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FuzzReport {
    /// Damaged inputs that still decoded to some message (the message then runs and
    /// checks its arguments like any other call).
    pub decoded: u32,
    /// Inputs refused by the decoder: ink! reverts those calls before any message code.
    pub refused: u32,
    /// Decoded inputs whose message ran to its end (its return value handed to ink!).
    pub ran: u32,
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0.wrapping_shl(13);
        self.0 ^= self.0.wrapping_shr(7);
        self.0 ^= self.0.wrapping_shl(17);
        self.0
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }

    /// Uniform enough in `0..bound` (0 for an empty range).
    fn below(&mut self, bound: usize) -> usize {
        let bound = u64::try_from(bound.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next().checked_rem(bound).unwrap_or(0)).unwrap_or(0)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }
}

/// `valid` damaged in one of five ways, chosen by `rng`.
fn damage(valid: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    let noise_len = rng.below(96);
    match rng.below(5) {
        0 => {
            for _ in 0..=rng.below(4) {
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.byte();
                }
            }
        }
        1 => bytes.truncate(rng.below(bytes.len().saturating_add(1))),
        2 => bytes.extend(rng.bytes(noise_len)),
        3 => bytes = rng.bytes(noise_len),
        _ => {
            bytes.truncate(4);
            bytes.extend(rng.bytes(noise_len));
        }
    }
    bytes
}

/// Feeds `cases` damaged inputs per valid input to the decoder `D`. Panics if the
/// decoder panics or answers anything but a decoded message or a refusal; asserts first
/// that every valid input decodes, so the fuzz starts from real calls.
pub fn fuzz_decoding<D: DecodeDispatch>(valid: &[Vec<u8>], cases: u32, seed: u64) -> FuzzReport {
    for input in valid {
        assert!(
            D::decode_dispatch(&mut &input[..]).is_ok(),
            "valid input {input:02x?} must decode"
        );
    }
    let mut rng = XorShift(seed | 1);
    let mut report = FuzzReport::default();
    for input in valid {
        for _ in 0..cases {
            let damaged = damage(input, &mut rng);
            match D::decode_dispatch(&mut &damaged[..]) {
                Ok(_) => report.decoded = report.decoded.saturating_add(1),
                Err(
                    DispatchError::InvalidSelector
                    | DispatchError::UnknownSelector
                    | DispatchError::InvalidParameters,
                ) => report.refused = report.refused.saturating_add(1),
                Err(other) => panic!("{damaged:02x?}: unexpected {other:?}"),
            }
        }
    }
    report
}

/// What the off-chain engine says where ink! would hand a message's result to the chain:
/// reaching it means the message ran to its end without a panic of its own.
const RETURNED: &str = "the off-chain env does not implement `return_value`";

/// Like [`fuzz_decoding`], and every damaged input that decodes is executed as ink!
/// dispatches it, with the caller `callers[i]` for a random `i`, against the contract in
/// root storage (`store` puts it there first). A message may return `Err` (the chain would
/// revert it), but it must never panic: arithmetic, indexing or decoding of its own.
pub fn fuzz_messages<D>(
    valid: &[Vec<u8>],
    cases: u32,
    seed: u64,
    callers: &[crate::AccountId],
) -> FuzzReport
where
    D: DecodeDispatch + ExecuteDispatchable,
{
    let mut rng = XorShift(seed | 1);
    let mut report = FuzzReport::default();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(std::boxed::Box::new(|_| {}));
    let mut failure = None;
    'inputs: for input in valid {
        for _ in 0..cases {
            let damaged = damage(input, &mut rng);
            let Ok(message) = D::decode_dispatch(&mut &damaged[..]) else {
                report.refused = report.refused.saturating_add(1);
                continue;
            };
            report.decoded = report.decoded.saturating_add(1);
            let caller = callers[rng.below(callers.len())];
            ink::env::test::set_caller::<ink::env::DefaultEnvironment>(caller);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                message.execute_dispatchable()
            }));
            let panic_text = match &outcome {
                Err(payload) => payload
                    .downcast_ref::<std::string::String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).into()))
                    .unwrap_or_default(),
                Ok(_) => "returned without handing a value to ink!".into(),
            };
            if panic_text.contains(RETURNED) {
                report.ran = report.ran.saturating_add(1);
            } else {
                failure = Some(std::format!("{damaged:02x?} by {caller:?}: {panic_text}"));
                break 'inputs;
            }
        }
    }
    std::panic::set_hook(quiet);
    if let Some(failure) = failure {
        panic!("a decoded message panicked: {failure}");
    }
    report
}

/// Stores `contract` where ink! loads it from before every message.
pub fn store_root<C: ink::storage::traits::StorageKey + ink::storage::traits::Storable>(
    contract: &C,
) {
    ink::env::set_contract_storage(&C::KEY, contract);
}

/// A message input: the selector of `label` and the SCALE encoding of the arguments.
#[macro_export]
macro_rules! message_input {
    ($label:literal $(, $arg:expr)* $(,)?) => {{
        #[allow(unused_mut)] // a message without arguments appends nothing
        let mut input = ::ink::selector_bytes!($label).to_vec();
        $( ::ink::scale::Encode::encode_to(&$arg, &mut input); )*
        input
    }};
}

/// Inputs of the admin messages all three contracts have.
pub fn admin_inputs(successor: crate::AccountId) -> Vec<Vec<u8>> {
    ink::prelude::vec![
        crate::message_input!("admin"),
        crate::message_input!("pending_admin"),
        crate::message_input!("propose_admin", successor),
        crate::message_input!("accept_admin"),
        crate::message_input!(
            "schedule_change",
            crate::AdminChange::Code([9; 32].into(), [8; 32].into())
        ),
        crate::message_input!("apply_change"),
        crate::message_input!("cancel_change"),
        crate::message_input!("scheduled_change"),
        crate::message_input!("change_delay"),
    ]
}

/// Inputs of the wiring and pause messages of the registry and the consent manager.
pub fn peer_and_pause_inputs(a: crate::AccountId, b: crate::AccountId) -> Vec<Vec<u8>> {
    ink::prelude::vec![
        crate::message_input!("schedule_change", crate::AdminChange::Peers(a, b)),
        crate::message_input!("peers"),
        crate::message_input!("set_paused", true),
        crate::message_input!("paused"),
    ]
}
