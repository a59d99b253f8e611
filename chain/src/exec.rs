//! The bytes of `ContractsApi_call`: the request pallet-contracts' runtime API takes and
//! the leading fields of the `ContractResult` it answers with. Only what a client reads
//! is decoded; the trailing event list (absent in dry runs) is ignored.

use medconsent_shared::AccountId;
use parity_scale_codec::{Compact, Decode, Encode};

/// `ContractsApi_call`'s arguments: origin, dest, value, gas limit (none: the most a
/// block allows), storage deposit limit (none: what the origin can pay), input.
#[derive(Encode)]
pub(crate) struct CallRequest {
    origin: [u8; 32],
    dest: [u8; 32],
    value: u128,
    gas_limit: Option<Weight>,
    storage_deposit_limit: Option<u128>,
    input: Vec<u8>,
}

impl CallRequest {
    pub(crate) fn new(origin: &AccountId, dest: &AccountId, input: Vec<u8>) -> Self {
        Self {
            origin: *AsRef::<[u8; 32]>::as_ref(origin),
            dest: *AsRef::<[u8; 32]>::as_ref(dest),
            value: 0,
            gas_limit: None,
            storage_deposit_limit: None,
            input,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
struct Weight {
    ref_time: Compact<u64>,
    proof_size: Compact<u64>,
}

/// Why a dry run produced no output at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The call trapped or the runtime refused it (no such contract, out of gas, ...).
    /// The bytes are the runtime's `DispatchError`; the debug message, if the node
    /// collects one, explains it.
    #[error("the runtime refused the call (dispatch error 0x{dispatch_error}){debug}")]
    Dispatch {
        dispatch_error: String,
        debug: String,
    },
    /// The contract answered in a form that is not this message's result.
    #[error("unexpected output from the contract: {0}")]
    Output(String),
}

/// A dry run's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    pub gas_required: (u64, u64),
    /// Storage deposit the call would charge (positive) or refund (negative).
    pub storage_deposit: i128,
    /// Whether the contract reverted (a message that returned `Err`).
    pub reverted: bool,
    /// The message's SCALE output: `Result<R, LangError>`.
    pub data: Vec<u8>,
}

const REVERT: u32 = 1;

impl DryRun {
    pub(crate) fn decode_result(bytes: &[u8]) -> Result<Self, crate::Error> {
        let input = &mut &bytes[..];
        let _consumed = Weight::decode(input)?;
        let required = Weight::decode(input)?;
        let deposit_kind = u8::decode(input)?;
        let amount = u128::decode(input)?;
        let storage_deposit = i128::try_from(amount).unwrap_or(i128::MAX);
        let storage_deposit = if deposit_kind == 0 {
            storage_deposit.checked_neg().unwrap_or(i128::MIN)
        } else {
            storage_deposit
        };
        let debug = Vec::<u8>::decode(input)?;
        match u8::decode(input)? {
            0 => {
                let flags = u32::decode(input)?;
                let data = Vec::<u8>::decode(input)?;
                Ok(DryRun {
                    gas_required: (required.ref_time.0, required.proof_size.0),
                    storage_deposit,
                    reverted: flags & REVERT != 0,
                    data,
                })
            }
            _ => {
                let debug = String::from_utf8_lossy(&debug);
                Err(ExecError::Dispatch {
                    dispatch_error: hex::encode(input.get(..input.len().min(8)).unwrap_or(&[])),
                    debug: if debug.is_empty() {
                        String::new()
                    } else {
                        format!(": {debug}")
                    },
                }
                .into())
            }
        }
    }

    /// The message's return value. ink! wraps every message's output in
    /// `Result<_, LangError>`; a `LangError` means the contract did not know the message.
    pub fn value<R: Decode>(&self) -> Result<R, crate::Error> {
        let decoded = <Result<R, ink::LangError>>::decode(&mut &self.data[..])
            .map_err(|e| ExecError::Output(format!("{e}")))?;
        decoded.map_err(|e| ExecError::Output(format!("{e:?}")).into())
    }

    /// The weight to send with the transaction: the dry run's plus a quarter.
    pub fn gas_required_with_margin(&self) -> (u64, u64) {
        let (ref_time, proof) = self.gas_required;
        (
            ref_time.saturating_add(ref_time / 4),
            proof.saturating_add(proof / 4),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(result: Result<(u32, Vec<u8>), Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        Weight {
            ref_time: Compact(5),
            proof_size: Compact(6),
        }
        .encode_to(&mut out);
        Weight {
            ref_time: Compact(1_000),
            proof_size: Compact(2_000),
        }
        .encode_to(&mut out);
        1u8.encode_to(&mut out); // Charge
        77u128.encode_to(&mut out);
        b"".to_vec().encode_to(&mut out);
        match result {
            Ok((flags, data)) => {
                0u8.encode_to(&mut out);
                flags.encode_to(&mut out);
                data.encode_to(&mut out);
            }
            Err(error) => {
                1u8.encode_to(&mut out);
                out.extend(error);
            }
        }
        None::<Vec<u8>>.encode_to(&mut out);
        out
    }

    #[test]
    fn a_returned_value_decodes_with_its_type() {
        let data = Ok::<Result<u64, u8>, ink::LangError>(Ok(42)).encode();
        let run = DryRun::decode_result(&answer(Ok((0, data)))).unwrap();
        assert_eq!(run.gas_required, (1_000, 2_000));
        assert_eq!(run.storage_deposit, 77);
        assert!(!run.reverted);
        assert_eq!(run.value::<Result<u64, u8>>().unwrap(), Ok(42));
        assert_eq!(run.gas_required_with_margin(), (1_250, 2_500));
    }

    #[test]
    fn a_revert_keeps_the_typed_error() {
        let data = Ok::<Result<u64, u8>, ink::LangError>(Err(3)).encode();
        let run = DryRun::decode_result(&answer(Ok((REVERT, data)))).unwrap();
        assert!(run.reverted);
        assert_eq!(run.value::<Result<u64, u8>>().unwrap(), Err(3));
    }

    #[test]
    fn a_dispatch_error_and_an_unknown_message_are_errors() {
        let refused = DryRun::decode_result(&answer(Err(vec![3, 0, 0]))).unwrap_err();
        assert!(matches!(
            refused,
            crate::Error::Exec(ExecError::Dispatch { .. })
        ));
        let data = Err::<u64, ink::LangError>(ink::LangError::CouldNotReadInput).encode();
        let run = DryRun::decode_result(&answer(Ok((REVERT, data)))).unwrap();
        assert!(matches!(
            run.value::<u64>(),
            Err(crate::Error::Exec(ExecError::Output(_)))
        ));
    }
}
