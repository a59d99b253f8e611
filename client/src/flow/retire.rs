//! The end of a record's keys ([`Session::retire`]) and a look at who still holds them
//! ([`Session::holdings`]).

use super::{Holdings, Result, Retired, Session};
use crate::servers::{KeyServer, ServerError};
use crate::store::LocalStore;
use medconsent_chain::{account_of, Signer};
use medconsent_keyrelease::wire::ErrorCode;
use medconsent_shared::{AccountId, RecordId, RecordStatus};

impl Session {
    /// Which usable key servers hold a share of `record_id`'s current version (read at
    /// the finalized block, asked as `origin`).
    pub async fn holdings(&self, origin: &AccountId, record_id: RecordId) -> Result<Holdings> {
        let servers = self.key_servers().await?;
        let at = self.chain.finalized().await?;
        let record = self.record_at(Some(at), origin, record_id).await?;
        let mut at_servers = Vec::with_capacity(servers.len());
        for server in &servers {
            at_servers.push((
                server.endpoint.url.clone(),
                self.servers.versions_held(server, record_id).await,
            ));
        }
        Ok(Holdings {
            record: record_id,
            version: record.version,
            status: record.status,
            threshold: self.deployment.threshold,
            at_servers,
        })
    }

    /// Retires a record: on chain (unless it already is), then every server the
    /// deployment lists is asked at once to delete its shares, then the patient's own key
    /// copies of every version are deleted from `store`. After it no copy of any
    /// version's key is left anywhere this system wrote one, once every server confirmed
    /// (a server that did not deletes by itself when it next sees the retirement).
    pub async fn retire(
        &self,
        patient: &Signer,
        record_id: RecordId,
        store: &LocalStore,
    ) -> Result<Retired> {
        // Every listed server is told, whatever the directory says of it now: deleting
        // is always safe (each server checks the retirement on chain itself).
        let servers: Vec<KeyServer> = self
            .deployment
            .key_servers
            .iter()
            .map(|endpoint| KeyServer {
                endpoint: endpoint.clone(),
                public_key: endpoint.public_key,
            })
            .collect();
        let me = account_of(patient);
        let mut registry = self.contracts().registry();
        // Already retired (an earlier run that a server missed): finish the servers' part.
        let finalized = self.chain.finalized().await?;
        let at = if self
            .record_at(Some(finalized), &me, record_id)
            .await?
            .status
            == RecordStatus::Retired
        {
            finalized
        } else {
            self.say("retiring the record on chain and waiting for its block");
            let retire = registry.retire_record(record_id);
            let (result, included) = self
                .chain
                .submit(patient, &self.contracts().registry, &retire)
                .await?;
            let Some(included) = included else {
                return Err(super::not_included(result));
            };
            included.block
        };
        self.say(&format!(
            "asking {} key servers to delete its shares and ciphertext",
            servers.len()
        ));
        let at_servers = futures::future::join_all(servers.iter().map(|server| async {
            (
                server.endpoint.url.clone(),
                self.retire_at(server, record_id).await,
            )
        }))
        .await;
        let record = self.record_at(Some(at), &me, record_id).await?;
        let mut own_copies_deleted = 0usize;
        for version in 1..=record.version {
            let query = registry.record_version(record_id, version);
            let Some(old) = self
                .chain
                .read(Some(at), &me, &self.contracts().registry, &query)
                .await?
            else {
                continue;
            };
            if store.forget_owner_copy(&old.content_hash)? {
                own_copies_deleted = own_copies_deleted.saturating_add(1);
            }
        }
        Ok(Retired {
            at_servers,
            own_copies_deleted,
        })
    }

    /// Asks one server to delete; a server whose nodes are a block or two behind answers
    /// `not_retired` for a moment, so that answer is asked again a few times.
    async fn retire_at(
        &self,
        server: &KeyServer,
        record_id: RecordId,
    ) -> std::result::Result<u64, ServerError> {
        let mut tries = 0u32;
        loop {
            match self.servers.retire(server, record_id).await {
                Err(e) if e.code() == Some(ErrorCode::NotRetired.as_str()) && tries < 10 => {
                    tries = tries.saturating_add(1);
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    }
}
