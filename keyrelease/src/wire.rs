//! The key servers' HTTP surface as both sides see it: one serde definition of each
//! body, the one list of refusal codes with their statuses, and the size limits. The
//! server writes these types and the client reads them, so a field renamed on one side
//! fails to compile on the other, and a malformed answer is an error, never a default.
//!
//! Signed messages travel as their SCALE bytes in 0x-hex, so the bytes a wallet signs
//! are exactly the bytes the server checks.

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The largest answer a client reads from a key server (a release, a receipt, a
/// refusal): a hostile server cannot make it buffer more.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The largest ciphertext blob a client fetches, and a server's default upload limit.
pub const MAX_BLOB_BYTES: usize = 64 << 20;
/// A server's default limit on every other request body.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// How long one request to one server may take, body included, by default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every refusal a key server answers with: a stable code (clients match on it) and the
/// HTTP status it implies. The one list: the server, the client, the tests and the
/// README all take it from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    BadSignature,
    WrongServer,
    Expired,
    BadShare,
    WeakReplyKey,
    BadEncoding,
    MalformedJson,
    BadBody,
    BadHash,
    HashMismatch,
    BadRecordId,
    NotAnAccess,
    OtherReader,
    OtherRecord,
    StaleEntry,
    EntryBeforeVersion,
    WrongVersion,
    ReplyKeyMismatch,
    RequesterSuspended,
    ServerNotListed,
    NotThePatient,
    NotAnAuthor,
    NoSuchEntry,
    RecordNotFound,
    NoShare,
    NoBlob,
    NotFound,
    MethodNotAllowed,
    EntryUsed,
    ContentMismatch,
    NotRetired,
    Retired,
    TooLarge,
    NotJson,
    WrongType,
    Storage,
    ShareUnreadable,
    ChainUnavailable,
    NodesDisagree,
    UnregisteredBlob,
    RequestTimeout,
    Busy,
    ContractsChanged,
    ChainBehind,
    ShareHeld,
    NotAnEmergency,
    NotTheResponder,
    NotPatientOrDelegate,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 48] = [
        ErrorCode::BadSignature,
        ErrorCode::WrongServer,
        ErrorCode::Expired,
        ErrorCode::BadShare,
        ErrorCode::WeakReplyKey,
        ErrorCode::BadEncoding,
        ErrorCode::MalformedJson,
        ErrorCode::BadBody,
        ErrorCode::BadHash,
        ErrorCode::HashMismatch,
        ErrorCode::BadRecordId,
        ErrorCode::NotAnAccess,
        ErrorCode::OtherReader,
        ErrorCode::OtherRecord,
        ErrorCode::StaleEntry,
        ErrorCode::EntryBeforeVersion,
        ErrorCode::WrongVersion,
        ErrorCode::ReplyKeyMismatch,
        ErrorCode::RequesterSuspended,
        ErrorCode::ServerNotListed,
        ErrorCode::NotThePatient,
        ErrorCode::NotAnAuthor,
        ErrorCode::NoSuchEntry,
        ErrorCode::RecordNotFound,
        ErrorCode::NoShare,
        ErrorCode::NoBlob,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::EntryUsed,
        ErrorCode::ContentMismatch,
        ErrorCode::NotRetired,
        ErrorCode::Retired,
        ErrorCode::TooLarge,
        ErrorCode::NotJson,
        ErrorCode::WrongType,
        ErrorCode::Storage,
        ErrorCode::ShareUnreadable,
        ErrorCode::ChainUnavailable,
        ErrorCode::NodesDisagree,
        ErrorCode::UnregisteredBlob,
        ErrorCode::RequestTimeout,
        ErrorCode::Busy,
        ErrorCode::ContractsChanged,
        ErrorCode::ChainBehind,
        ErrorCode::ShareHeld,
        ErrorCode::NotAnEmergency,
        ErrorCode::NotTheResponder,
        ErrorCode::NotPatientOrDelegate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::WrongServer => "wrong_server",
            ErrorCode::Expired => "expired",
            ErrorCode::BadShare => "bad_share",
            ErrorCode::WeakReplyKey => "weak_reply_key",
            ErrorCode::BadEncoding => "bad_encoding",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::BadBody => "bad_body",
            ErrorCode::BadHash => "bad_hash",
            ErrorCode::HashMismatch => "hash_mismatch",
            ErrorCode::BadRecordId => "bad_record_id",
            ErrorCode::NotAnAccess => "not_an_access",
            ErrorCode::OtherReader => "other_reader",
            ErrorCode::OtherRecord => "other_record",
            ErrorCode::StaleEntry => "stale_entry",
            ErrorCode::EntryBeforeVersion => "entry_before_version",
            ErrorCode::WrongVersion => "wrong_version",
            ErrorCode::ReplyKeyMismatch => "reply_key_mismatch",
            ErrorCode::RequesterSuspended => "requester_suspended",
            ErrorCode::ServerNotListed => "server_not_listed",
            ErrorCode::NotThePatient => "not_the_patient",
            ErrorCode::NotAnAuthor => "not_an_author",
            ErrorCode::NoSuchEntry => "no_such_entry",
            ErrorCode::RecordNotFound => "record_not_found",
            ErrorCode::NoShare => "no_share",
            ErrorCode::NoBlob => "no_blob",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::EntryUsed => "entry_used",
            ErrorCode::ContentMismatch => "content_mismatch",
            ErrorCode::NotRetired => "not_retired",
            ErrorCode::Retired => "retired",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::NotJson => "not_json",
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::Storage => "storage",
            ErrorCode::ShareUnreadable => "share_unreadable",
            ErrorCode::ChainUnavailable => "chain_unavailable",
            ErrorCode::NodesDisagree => "nodes_disagree",
            ErrorCode::UnregisteredBlob => "unregistered_blob",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::Busy => "busy",
            ErrorCode::ContractsChanged => "contracts_changed",
            ErrorCode::ChainBehind => "chain_behind",
            ErrorCode::ShareHeld => "share_held",
            ErrorCode::NotAnEmergency => "not_an_emergency",
            ErrorCode::NotTheResponder => "not_the_responder",
            ErrorCode::NotPatientOrDelegate => "not_patient_or_delegate",
        }
    }

    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadSignature => 401,
            WrongServer | Expired | BadShare | WeakReplyKey | BadEncoding | MalformedJson
            | BadBody | BadHash | HashMismatch | BadRecordId => 400,
            NotAnAccess | OtherReader | OtherRecord | StaleEntry | EntryBeforeVersion
            | WrongVersion | ReplyKeyMismatch | RequesterSuspended | ServerNotListed
            | NotThePatient | NotAnAuthor | UnregisteredBlob | NotAnEmergency | NotTheResponder
            | NotPatientOrDelegate => 403,
            NoSuchEntry | RecordNotFound | NoShare | NoBlob | NotFound => 404,
            MethodNotAllowed => 405,
            RequestTimeout => 408,
            EntryUsed | ContentMismatch | NotRetired | ShareHeld => 409,
            Retired => 410,
            TooLarge => 413,
            NotJson => 415,
            WrongType => 422,
            Storage | ShareUnreadable => 500,
            ChainUnavailable => 502,
            NodesDisagree | Busy | ContractsChanged | ChainBehind => 503,
        }
    }

    /// The code a server sent, if it is one of the list.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every refusal's body: `{"error": code, "message": text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalBody {
    pub error: String,
    /// For people; a refusal without one still has its code.
    #[serde(default)]
    pub message: String,
}

/// `POST /v1/deposit` and `POST /v1/release`: a signed message's SCALE bytes in hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedBody {
    pub signed: String,
}

/// `POST /v1/deposit` answer (201): the share kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositReceipt {
    pub record: u64,
    pub version: u32,
    pub index: u8,
}

/// `POST /v1/justifications` answer (201): the justification share kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JustificationReceipt {
    pub log_seq: u64,
    pub index: u8,
}

/// `POST /v1/release` answer: the `ReleasedShare`'s SCALE bytes in hex (and of
/// `POST /v1/justifications/release`: the `ReleasedJustification`'s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedBody {
    pub released: String,
}

/// `POST /v1/retire`: the record retired on chain whose shares go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetireBody {
    pub record: u64,
}

/// `POST /v1/retire` answer: how many shares were deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetireReceipt {
    pub record: u64,
    pub deleted: u64,
}

/// `GET /v1/records/{id}` answer: the versions this server holds a share of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordShares {
    pub record: u64,
    pub versions: Vec<u32>,
}

/// `PUT /v1/blobs/0x{hash}?record=ID`: the record whose current content hash names the
/// blob. A server keeps only ciphertext the chain names, so a stranger cannot fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobUpload {
    pub record: u64,
}

/// `PUT /v1/blobs/0x{hash}` answer (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobReceipt {
    pub content_hash: String,
    pub size: u64,
}

/// `GET /v1/health` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The server's X25519 public key, 0x-hex.
    pub public_key: String,
    /// Its account in the provider directory, SS58.
    pub account: String,
    pub shares: u64,
    pub releases: u64,
}

/// Why hex-encoded SCALE bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error("not hex: {0}")]
    NotHex(String),
    #[error("not SCALE of this message: {0}")]
    NotScale(String),
    #[error("trailing bytes")]
    Trailing,
}

/// `0x` + the hex of `value`'s SCALE bytes.
pub fn to_hex<T: Encode>(value: &T) -> String {
    format!("0x{}", hex::encode(value.encode()))
}

/// The value whose SCALE bytes `text` holds in hex (0x optional), all of them.
pub fn from_hex<T: Decode>(text: &str) -> Result<T, EncodingError> {
    let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|e| EncodingError::NotHex(e.to_string()))?;
    let input = &mut bytes.as_slice();
    let value = T::decode(input).map_err(|e| EncodingError::NotScale(e.to_string()))?;
    if !input.is_empty() {
        return Err(EncodingError::Trailing);
    }
    Ok(value)
}

/// A 32-byte value (a hash, a key) in 0x-hex.
pub fn hash_to_hex(bytes: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// The 32 bytes `text` holds in hex (0x optional).
pub fn hash_from_hex(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ReleasedShare;

    #[test]
    fn codes_are_distinct_parse_back_and_are_errors() {
        let names: std::collections::BTreeSet<_> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!((400..600).contains(&code.status()), "{code}");
        }
        assert_eq!(ErrorCode::parse("made_up"), None);
    }

    /// The refusal list in docs/design.md is this one, status for status.
    #[test]
    fn the_documented_codes_are_the_list() {
        let design = include_str!("../../docs/design.md");
        let start = design.find("Every refusal is JSON").expect("the paragraph");
        let paragraph = &design[start..start + design[start..].find("\n\n").unwrap()];
        let mut documented = std::collections::BTreeMap::new();
        let mut status = 0u16;
        for word in paragraph.split_whitespace() {
            let word = word.trim_end_matches([',', ';', '.']);
            if let Ok(number) = word.parse::<u16>() {
                status = number;
            } else if let Some(code) = word.strip_prefix('`').and_then(|w| w.strip_suffix('`')) {
                if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    documented.insert(code.to_owned(), status);
                }
            }
        }
        let listed: std::collections::BTreeMap<String, u16> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), c.status()))
            .collect();
        assert_eq!(documented, listed);
    }

    #[test]
    fn malformed_answers_are_errors_not_defaults() {
        // A field missing, of the wrong type, or a version out of range.
        for (text, what) in [
            (r#"{"record": 1}"#, "deleted missing"),
            (r#"{"record": 1, "deleted": "3"}"#, "deleted a string"),
            (r#"{"record": 1, "deleted": -1}"#, "deleted negative"),
        ] {
            assert!(
                serde_json::from_str::<RetireReceipt>(text).is_err(),
                "{what}"
            );
        }
        for (text, what) in [
            (r#"{"record": 1}"#, "versions missing"),
            (
                r#"{"record": 1, "versions": ["1"]}"#,
                "a version as a string",
            ),
            (
                r#"{"record": 1, "versions": [4294967296]}"#,
                "a version past u32",
            ),
            (r#"{"record": 1, "versions": 2}"#, "not a list"),
        ] {
            assert!(
                serde_json::from_str::<RecordShares>(text).is_err(),
                "{what}"
            );
        }
        let held: RecordShares =
            serde_json::from_str(r#"{"record": 1, "versions": [0, 2]}"#).unwrap();
        assert_eq!(held.versions, vec![0, 2]);
    }

    #[test]
    fn scale_hex_round_trips_and_refuses_garbage() {
        let share = ReleasedShare {
            index: 2,
            share: [5u8; crate::envelope::SEALED_LEN],
        };
        let text = to_hex(&share);
        assert_eq!(from_hex::<ReleasedShare>(&text), Ok(share));
        assert!(matches!(
            from_hex::<ReleasedShare>("0xzz"),
            Err(EncodingError::NotHex(_))
        ));
        assert!(matches!(
            from_hex::<ReleasedShare>("0x02"),
            Err(EncodingError::NotScale(_))
        ));
        assert_eq!(
            from_hex::<ReleasedShare>(&format!("{text}00")),
            Err(EncodingError::Trailing)
        );
    }
}
