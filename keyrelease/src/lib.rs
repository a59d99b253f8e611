//! The key-release protocol, shared by the key servers and every client: a record key is
//! split into t-of-n shares, one per key server ([`shamir`]), each sealed to its server
//! under the terms it is for ([`envelope`]); a reader who has made the on-chain access
//! asks each server with a request signed by its sr25519 account key ([`request`]); a
//! server releases its share only if the chain's log backs the request ([`decide`]).
//! A responder's break-glass justification is left for the patient the same way
//! ([`justification`]). Both sides speak the same HTTP bodies ([`wire`]), keep ciphertext by content hash
//! ([`blobs`]) and keep secrets in the same key files ([`keyfile`]). The chain's types
//! come from `contracts/shared`.

pub mod blobs;
pub mod decide;
pub mod envelope;
pub mod justification;
pub mod keyfile;
pub mod request;
pub mod shamir;
pub mod wire;
