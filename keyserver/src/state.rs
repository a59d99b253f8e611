//! A key server's state (its keys, its database, its view of the chain, its rules) and
//! what every handler asks of it first: the block it acts at, and a share handed on.

use crate::facts::ChainReader;
use crate::http::ApiError;
use crate::metrics::Metrics;
use crate::share_db::ShareDb;
use medconsent_keyrelease::decide::{self, Policy};
use medconsent_keyrelease::envelope;
use medconsent_keyrelease::wire::ErrorCode;
use medconsent_shared::AccountId;
use std::sync::Arc;
use x25519_dalek::{PublicKey, StaticSecret};

/// A key server's state: its keys, its database, its view of the chain, its rules.
pub struct ServerState {
    pub shares: ShareDb,
    pub reader: ChainReader,
    pub secret: StaticSecret,
    pub public: [u8; 32],
    pub account: AccountId,
    pub policy: Policy,
    /// Ciphertext blobs, one per content hash, and the largest one taken (bytes).
    pub blobs: crate::blob_store::BlobStore,
    pub blob_limit: usize,
    /// Held for reading while an upload stores and names a blob, for writing while the
    /// sweep forgets names and deletes the blobs left unnamed (`crate::sweep::settle`).
    pub blob_names: tokio::sync::RwLock<()>,
    pub metrics: Arc<Metrics>,
    /// The deployment the server acts for, and whether the chain still matches its pins.
    pub deployment: medconsent_chain::Deployment,
    pub pins: crate::pins::PinWatch,
    /// How far (ms) the agreed finalized block may be behind the server's clock.
    pub max_chain_lag_ms: u64,
}

impl ServerState {
    /// The finalized block the server acts at, and its time, once it may act there
    /// ([`ServerState::ready_at`]) and the directory lists it with its key.
    pub(crate) async fn acting_block(&self) -> Result<(medconsent_chain::Block, u64), ApiError> {
        let (block, now) = self.reader.finalized().await?;
        self.ready_at(block, now).await?;
        decide::server_listed(self.reader.own_listing(block).await?.as_ref(), &self.public)?;
        Ok((block, now))
    }

    /// Opens a share kept sealed to this server under `kept`, and seals it to
    /// `reply_key` under `handed`: what a release hands out.
    pub(crate) fn reseal(
        &self,
        sealed: &medconsent_keyrelease::envelope::Sealed,
        kept: &[u8],
        reply_key: [u8; 32],
        handed: &[u8],
    ) -> Result<medconsent_keyrelease::envelope::Sealed, ApiError> {
        let share = envelope::open(sealed, &self.secret, kept).map_err(|_| {
            ApiError::new(
                ErrorCode::ShareUnreadable,
                "a stored share does not open with this server's key",
            )
        })?;
        envelope::seal(&share, &PublicKey::from(reply_key), handed)
            .map_err(|_| ApiError::new(ErrorCode::WeakReplyKey, "a low-order reply key"))
    }

    /// Whether the server may act at `block` (chain time `now`): the block is recent by
    /// the server's own clock (a node cannot move it into the past), and the contracts
    /// are the pinned ones (`crate::pins`).
    pub(crate) async fn ready_at(
        &self,
        block: medconsent_chain::Block,
        now: u64,
    ) -> Result<(), ApiError> {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        if now.saturating_add(self.max_chain_lag_ms) < wall {
            return Err(ApiError::new(
                ErrorCode::ChainBehind,
                format!(
                    "the finalized block the server's nodes agree on is {} s old by its clock",
                    wall.saturating_sub(now) / 1_000
                ),
            ));
        }
        crate::pins::ensure_pinned(self, block, now)
            .await
            .map_err(|e| match e {
                crate::pins::PinError::Read(e) => ApiError::from(e),
                crate::pins::PinError::Changed(why) => {
                    ApiError::new(ErrorCode::ContractsChanged, why)
                }
            })
    }
}
