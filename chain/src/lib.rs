//! The chain as the off-chain services see it: a node's RPC endpoint running
//! pallet-contracts with the three medconsent contracts.
//!
//! Reads are dry runs (`ContractsApi_call`) pinned to a block the caller chose, usually the
//! latest finalized one, so a key server never acts on a block that can still be reverted.
//! Writes are signed `Contracts::call` extrinsics that return once their block is
//! finalized. Messages are built and results decoded with the contracts' own definitions
//! (their call builders and error types, `contracts/shared`'s types): nothing here
//! restates a selector or a type.
//!
//! Trust: the node answers every read. A key server reads several nodes and acts only on
//! what a quorum of them agree on (a lone lying node could invent an Access entry); the
//! client only loses availability to one.

mod deployment;
mod exec;
pub mod reads;

/// The consent manager's typed refusal.
pub use consent_manager::consent_manager::Error as ConsentError;
pub use deployment::{
    Contracts, DeployedContract, DeployedContracts, Deployment, DeploymentError, KeyServerEndpoint,
};
pub use exec::{DryRun, ExecError};
/// The registry's typed refusal, as its messages return it.
pub use record_registry::record_registry::Error as RegistryError;

use ink::env::call::{
    utils::{ReturnType, Set},
    Call, CallBuilder, ExecutionInput,
};
use ink::env::DefaultEnvironment;
use parity_scale_codec::{Decode, Encode};
use std::time::Duration;
use subxt::backend::legacy::LegacyRpcMethods;
use subxt::backend::rpc::RpcClient;
use subxt::backend::BlockRef;
use subxt::config::{DefaultExtrinsicParamsBuilder, Header};
use subxt::utils::{AccountId32, H256};
use subxt::{OnlineClient, SubstrateConfig};
use subxt_signer::sr25519::Keypair;

pub use medconsent_shared::AccountId;
pub use subxt_signer::sr25519::Keypair as Signer;

/// A message of one of the contracts, as its call builder makes it.
pub type Message<Args, R> = CallBuilder<
    DefaultEnvironment,
    Set<Call<DefaultEnvironment>>,
    Set<ExecutionInput<Args>>,
    Set<ReturnType<R>>,
>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach the node: {0}")]
    Rpc(#[from] subxt::Error),
    #[error("the contract call failed: {0}")]
    Exec(#[from] ExecError),
    #[error("cannot decode what the node returned: {0}")]
    Decode(#[from] parity_scale_codec::Error),
    #[error("the deployment file: {0}")]
    Deployment(String),
    #[error("the transaction was not finalized: {0}")]
    NotFinalized(String),
    #[error("the chain has no {0}")]
    Missing(&'static str),
    /// Counts and lists that do not agree: the node may be lying.
    #[error("the node's answer does not add up: {0}")]
    Garbled(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// A block the reads are pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub hash: H256,
    pub number: u32,
}

/// A finalized transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Included {
    pub block: Block,
}

/// The SCALE bytes a message's call builder encodes: selector, then arguments.
pub fn input_of<Args: Encode + Clone, R>(message: &Message<Args, R>) -> Vec<u8> {
    message.clone().params().exec_input().encode()
}

/// The account id of a signer, in the contracts' type.
pub fn account_of(signer: &Keypair) -> AccountId {
    AccountId::from(signer.public_key().0)
}

/// A signer from a secret URI (`//Alice`, a mnemonic, a 0x seed).
pub fn signer_from_uri(uri: &str) -> std::result::Result<Keypair, String> {
    let uri: subxt_signer::SecretUri = uri.parse().map_err(|e| format!("{e}"))?;
    Keypair::from_uri(&uri).map_err(|e| format!("{e}"))
}

/// Parses an SS58 address (or 0x-prefixed hex) into an account id.
pub fn parse_account(text: &str) -> std::result::Result<AccountId, String> {
    if let Some(digits) = text.strip_prefix("0x") {
        let bytes: [u8; 32] = hex::decode(digits)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("{text}: not 32 bytes of hex"))?;
        return Ok(AccountId::from(bytes));
    }
    let parsed: AccountId32 = text
        .parse()
        .map_err(|e| format!("{text}: not an SS58 address ({e:?})"))?;
    Ok(AccountId::from(parsed.0))
}

/// Whether a URL (`scheme://host[:port]/...`) names this machine: `localhost` or a
/// loopback address. Plain-text protocols are accepted there only.
pub fn is_loopback_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The SS58 (generic substrate, prefix 42) form of an account id.
pub fn ss58(account: &AccountId) -> String {
    let bytes: &[u8; 32] = account.as_ref();
    AccountId32(*bytes).to_string()
}

#[derive(Clone)]
pub struct Chain {
    api: OnlineClient<SubstrateConfig>,
    rpc: LegacyRpcMethods<SubstrateConfig>,
}

impl Chain {
    pub async fn connect(url: &str) -> Result<Self> {
        let client = RpcClient::from_url(url).await?;
        Ok(Self {
            api: OnlineClient::<SubstrateConfig>::from_rpc_client(client.clone()).await?,
            rpc: LegacyRpcMethods::new(client),
        })
    }

    /// The latest finalized block.
    pub async fn finalized(&self) -> Result<Block> {
        let block = self.api.blocks().at_latest().await?;
        Ok(Block {
            hash: block.hash(),
            number: block.number(),
        })
    }

    /// Block `number` of the node's chain, if it has one. Below the node's finalized block
    /// that is the one canonical block of that height.
    pub async fn block_at(&self, number: u32) -> Result<Option<Block>> {
        let hash = self.rpc.chain_get_block_hash(Some(number.into())).await?;
        Ok(hash.map(|hash| Block { hash, number }))
    }

    /// The node's best block: newer than the finalized one, and it may still be
    /// reorganised away. Only to learn whether something is on its way to finality.
    pub async fn best(&self) -> Result<Block> {
        let header = self
            .rpc
            .chain_get_header(None)
            .await?
            .ok_or(Error::Missing("best block"))?;
        Ok(Block {
            hash: header.hash(),
            number: header.number,
        })
    }

    /// Waits until block `number` (or a later one) is finalized, polling; that latest
    /// finalized block. A dev node finalizes a block or two behind its best one.
    pub async fn wait_finalized(&self, number: u32, timeout: Duration) -> Result<Block> {
        let deadline = tokio::time::Instant::now()
            .checked_add(timeout)
            .ok_or(Error::NotFinalized("the timeout is out of range".into()))?;
        loop {
            let block = self.finalized().await?;
            if block.number >= number {
                return Ok(block);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::NotFinalized(format!(
                    "block {number} within {} s (finalized: {})",
                    timeout.as_secs(),
                    block.number
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The chain's clock (`Timestamp::Now`, ms) at `at`.
    pub async fn now_at(&self, at: Block) -> Result<u64> {
        let address = subxt::dynamic::storage("Timestamp", "Now", ());
        let value = self
            .api
            .storage()
            .at(BlockRef::from_hash(at.hash))
            .fetch(&address)
            .await?
            .ok_or(Error::Missing("timestamp at this block"))?;
        Ok(u64::decode(&mut value.encoded())?)
    }

    /// The code hash a contract runs at `at` (pallet-contracts' `ContractInfoOf`), if
    /// `contract` is one.
    pub async fn code_hash_at(&self, at: Block, contract: &AccountId) -> Result<Option<[u8; 32]>> {
        let bytes: &[u8; 32] = contract.as_ref();
        let address = subxt::dynamic::storage(
            "Contracts",
            "ContractInfoOf",
            vec![subxt::dynamic::Value::from_bytes(bytes)],
        );
        let Some(value) = self
            .api
            .storage()
            .at(BlockRef::from_hash(at.hash))
            .fetch(&address)
            .await?
        else {
            return Ok(None);
        };
        // ContractInfo starts with its trie id (a byte vector), then the code hash.
        let input = &mut value.encoded();
        let _trie_id = Vec::<u8>::decode(input)?;
        Ok(Some(<[u8; 32]>::decode(input)?))
    }

    /// What `message` would return to `origin` at block `at` (the latest best block if
    /// `None`), by dry run: no transaction, no fee.
    pub async fn read<Args: Encode + Clone, R: Decode>(
        &self,
        at: Option<Block>,
        origin: &AccountId,
        contract: &AccountId,
        message: &Message<Args, R>,
    ) -> Result<R> {
        let run = self
            .dry_run(at, origin, contract, input_of(message))
            .await?;
        run.value::<R>()
    }

    /// A raw dry run of `input` against `contract`.
    pub async fn dry_run(
        &self,
        at: Option<Block>,
        origin: &AccountId,
        contract: &AccountId,
        input: Vec<u8>,
    ) -> Result<DryRun> {
        let args = exec::CallRequest::new(origin, contract, input).encode();
        // No block: the node's best block, which may still be reorganised away.
        let bytes = self
            .rpc
            .state_call("ContractsApi_call", Some(&args), at.map(|block| block.hash))
            .await?;
        DryRun::decode_result(&bytes)
    }

    /// Sends `message` signed by `signer` and waits until its block is finalized. The
    /// message is dry-run first: a call that would revert is not sent (no fee), and its
    /// typed error comes back with `None` for the block. Otherwise the dry run's value is
    /// what the message returned at the best block; the caller checks what the
    /// finalized block holds when it matters (another transaction may come first).
    pub async fn submit<Args: Encode + Clone, R: Decode>(
        &self,
        signer: &Keypair,
        contract: &AccountId,
        message: &Message<Args, R>,
    ) -> Result<(R, Option<Included>)> {
        let input = input_of(message);
        let origin = account_of(signer);
        let run = self.dry_run(None, &origin, contract, input.clone()).await?;
        let predicted = run.value::<R>()?;
        if run.reverted {
            return Ok((predicted, None));
        }
        let dest: &[u8; 32] = contract.as_ref();
        // A margin over the dry run's weight: state may move between the two.
        let (ref_time, proof_size) = run.gas_required_with_margin();
        let call = subxt::dynamic::tx(
            "Contracts",
            "call",
            vec![
                subxt::dynamic::Value::unnamed_variant(
                    "Id",
                    vec![subxt::dynamic::Value::from_bytes(dest)],
                ),
                subxt::dynamic::Value::u128(0),
                subxt::dynamic::Value::named_composite(vec![
                    ("ref_time", subxt::dynamic::Value::u128(ref_time.into())),
                    ("proof_size", subxt::dynamic::Value::u128(proof_size.into())),
                ]),
                subxt::dynamic::Value::unnamed_variant("None", vec![]),
                subxt::dynamic::Value::from_bytes(&input),
            ],
        );
        Ok((
            predicted,
            Some(self.sign_and_finalize(signer, &call).await?),
        ))
    }

    /// A `System::remark` signed by `signer`, finalized: a transaction that changes
    /// nothing. A dev node seals a block only for a transaction, so this moves its clock.
    pub async fn remark(&self, signer: &Keypair, bytes: &[u8]) -> Result<Included> {
        let call = subxt::dynamic::tx(
            "System",
            "remark",
            vec![subxt::dynamic::Value::from_bytes(bytes)],
        );
        self.sign_and_finalize(signer, &call).await
    }

    async fn sign_and_finalize(
        &self,
        signer: &Keypair,
        call: &subxt::tx::DynamicPayload,
    ) -> Result<Included> {
        // The nonce from the node's pool (best block and pending), not from the last
        // finalized block: a dev node finalizes behind its best block.
        let nonce = self
            .rpc
            .system_account_next_index(&AccountId32(signer.public_key().0))
            .await?;
        let params = DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new()
            .nonce(nonce)
            .build();
        let events = self
            .api
            .tx()
            .create_signed_offline(call, signer, params)?
            .submit_and_watch()
            .await?
            .wait_for_finalized_success()
            .await
            .map_err(|e| Error::NotFinalized(e.to_string()))?;
        let block = self
            .api
            .blocks()
            .at(BlockRef::from_hash(events.block_hash()))
            .await?;
        Ok(Included {
            block: Block {
                hash: block.hash(),
                number: block.number(),
            },
        })
    }
}
