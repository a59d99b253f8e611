//! The key-release protocol (SPEC.md, "Key release follows the chain"): a record key is
//! split into t-of-n shares, one per key server ([`shamir`]); a reader who has made the
//! on-chain access asks each server with a request signed by its sr25519 account key
//! ([`request`]); a server releases its share only if the chain's log backs the request
//! ([`decide`]). Servers and clients both use this crate, so both sides agree on every
//! byte; the chain's types come from `contracts/shared`.

pub mod decide;
pub mod envelope;
pub mod request;
pub mod shamir;
