//! How a `medconsent` command ends: one exit status per kind of outcome, so a script can
//! tell "the chain said no" from "the node is down" from "you typed it wrong".

use crate::flow::FlowError;
use crate::servers::ServerError;

/// A command's exit status. Usage errors found by the argument parser also exit 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Done = 0,
    /// Refused by the chain (a typed contract error, a denial) or by the key servers.
    Refused = 1,
    /// A mistake on this side: an argument, a local file, the deployment file. Nothing
    /// was sent (or logged) on its account.
    Usage = 2,
    /// The node or the key servers could not be reached, or too few of them answered.
    Unavailable = 3,
    /// An answer did not check out (a hash, a signature, a share, an entry that should
    /// be there): a node or a server may be lying.
    Unverified = 4,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A command's failure: its exit status and what to tell the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(Exit::Refused, message)
    }
}

/// A bare message is a local mistake (a bad argument or file), found before anything
/// was sent.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::usage(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Self::usage(message)
    }
}

impl From<FlowError> for Failure {
    fn from(error: FlowError) -> Self {
        Self::new(exit_of(&error), error.to_string())
    }
}

impl From<medconsent_chain::Error> for Failure {
    fn from(error: medconsent_chain::Error) -> Self {
        Self::new(exit_of_chain(&error), error.to_string())
    }
}

impl From<ServerError> for Failure {
    fn from(error: ServerError) -> Self {
        let exit = match error {
            ServerError::Unreachable { .. } => Exit::Unavailable,
            ServerError::Refused { .. } => Exit::Refused,
            ServerError::Garbled { .. } => Exit::Unverified,
        };
        Self::new(exit, error.to_string())
    }
}

fn exit_of_chain(error: &medconsent_chain::Error) -> Exit {
    use medconsent_chain::Error;
    match error {
        Error::Rpc(_) | Error::NotFinalized(_) => Exit::Unavailable,
        Error::Exec(_) => Exit::Refused,
        Error::Decode(_) | Error::Missing(_) | Error::Garbled(_) => Exit::Unverified,
        Error::Deployment(_) => Exit::Usage,
    }
}

/// The exit status of a flow's failure.
pub fn exit_of(error: &FlowError) -> Exit {
    match error {
        FlowError::Chain(e) => exit_of_chain(e),
        FlowError::Local(crate::Error::Io(_)) => Exit::Usage,
        FlowError::Local(_) => Exit::Unverified,
        FlowError::NoRecord(_)
        | FlowError::RegistryRefused(_)
        | FlowError::ConsentRefused(_)
        | FlowError::LogRefused(_)
        | FlowError::OtherGrantee { .. }
        | FlowError::Reverted
        | FlowError::RecordIdTaken(_)
        | FlowError::NotYourActiveRecord(_)
        | FlowError::RecordRetired(_)
        | FlowError::Denied(_) => Exit::Refused,
        FlowError::TooFewListed { .. }
        | FlowError::PlainText(_)
        | FlowError::KeyServerCa(_)
        | FlowError::BadRelay(_)
        | FlowError::BadName(_)
        | FlowError::UnknownName { .. }
        | FlowError::AmbiguousName { .. }
        | FlowError::JustificationTooLong(_)
        | FlowError::NoPause => Exit::Usage,
        FlowError::TooFewServers { .. }
        | FlowError::TooFewAnswering { .. }
        | FlowError::NoBlob(_) => Exit::Unavailable,
        FlowError::NotEnoughShares { unreachable, .. } => {
            if *unreachable > 0 {
                Exit::Unavailable
            } else {
                Exit::Refused
            }
        }
        FlowError::ConsentNotFound(_)
        | FlowError::UnexpectedVersion { .. }
        | FlowError::NoEntry
        | FlowError::EntryWithoutRecord
        | FlowError::UnexpectedEntry(_)
        | FlowError::Garbled(_)
        | FlowError::SharesDisagree
        | FlowError::JustificationMismatch(_)
        | FlowError::Shamir(_)
        | FlowError::Envelope(_) => Exit::Unverified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::DenyReason;

    #[test]
    fn each_kind_of_failure_has_its_own_status() {
        let shares = |unreachable| FlowError::NotEnoughShares {
            got: 1,
            needed: 2,
            refusals: vec![],
            unreachable,
        };
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "report.pdf");
        for (error, exit) in [
            (FlowError::Denied(DenyReason::NoConsent), Exit::Refused),
            (FlowError::RecordRetired(3), Exit::Refused),
            (shares(0), Exit::Refused),
            (shares(1), Exit::Unavailable),
            (
                FlowError::TooFewServers {
                    active: 1,
                    needed: 2,
                },
                Exit::Unavailable,
            ),
            (
                FlowError::TooFewAnswering {
                    answered: 1,
                    needed: 2,
                },
                Exit::Unavailable,
            ),
            (FlowError::Local(crate::Error::Io(io)), Exit::Usage),
            (FlowError::JustificationTooLong(3000), Exit::Usage),
            (FlowError::JustificationMismatch(4), Exit::Unverified),
            (
                FlowError::TooFewListed {
                    listed: 0,
                    needed: 2,
                },
                Exit::Usage,
            ),
            (
                FlowError::AmbiguousName {
                    name: "Dr Jo Lee".into(),
                    candidates: vec![],
                },
                Exit::Usage,
            ),
            (
                FlowError::UnknownName {
                    name: "Dr Who".into(),
                    known: vec![],
                },
                Exit::Usage,
            ),
            (FlowError::SharesDisagree, Exit::Unverified),
            (FlowError::NoEntry, Exit::Unverified),
            (
                FlowError::Local(crate::Error::DecryptionFailed),
                Exit::Unverified,
            ),
        ] {
            let said = error.to_string();
            let failure = Failure::from(error);
            assert_eq!(failure.exit, exit, "{said}");
            assert_eq!(failure.message, said);
        }
        let codes = [
            Exit::Done,
            Exit::Refused,
            Exit::Usage,
            Exit::Unavailable,
            Exit::Unverified,
        ]
        .map(Exit::code);
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        assert_eq!(Failure::from("--record: not a number").exit, Exit::Usage);
    }
}
