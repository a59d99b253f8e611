//! Test support (std only): a decode-level fuzz of a contract's message input. Valid
//! inputs (selector + SCALE arguments) are damaged at random (bytes changed, cut,
//! extended, replaced, arguments swapped for noise) and fed to the decoder ink! runs
//! before any message. A deterministic xorshift generator keeps every run the same.

use ink::prelude::vec::Vec;
use ink::reflect::{DecodeDispatch, DispatchError};

/// What the fuzz saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FuzzReport {
    /// Damaged inputs that still decoded to some message (the message then runs and
    /// checks its arguments like any other call).
    pub decoded: u32,
    /// Inputs refused by the decoder: ink! reverts those calls before any message code.
    pub refused: u32,
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
        crate::message_input!("schedule_change", crate::AdminChange::Code([9; 32].into())),
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
