//! The end of a record's keys ([`Session::retire`]) and a look at who still holds them
//! ([`Session::holdings`]).

use super::{Holdings, Result, Retired, Session};
use crate::servers::KeyServer;
use crate::store::LocalStore;
use medconsent_chain::{account_of, Signer};
use medconsent_shared::{AccountId, RecordId};

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

    /// Retires a record: on chain, then every server the deployment lists deletes its
    /// shares, then the
    /// patient's own key copies of every version are deleted from `store`. After it no
    /// copy of any version's key is left anywhere this system wrote one.
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
        let mut registry = self.contracts().registry();
        let retire = registry.retire_record(record_id);
        let (result, included) = self
            .chain
            .submit(patient, &self.contracts().registry, &retire)
            .await?;
        let Some(included) = included else {
            return Err(super::not_included(result));
        };
        let mut at_servers = Vec::new();
        for server in &servers {
            at_servers.push((
                server.endpoint.url.clone(),
                self.servers.retire(server, record_id).await,
            ));
        }
        let me = account_of(patient);
        let record = self.record_at(Some(included.block), &me, record_id).await?;
        let mut own_copies_deleted = 0usize;
        for version in 1..=record.version {
            let query = registry.record_version(record_id, version);
            let Some(old) = self
                .chain
                .read(
                    Some(included.block),
                    &me,
                    &self.contracts().registry,
                    &query,
                )
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
}
