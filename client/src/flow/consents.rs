//! Consents and the provider directory: what a patient (or a delegate, acting for one)
//! grants, restricts and revokes, whom it appoints as delegate, whether it refuses
//! break-glass, and what the admin registers, suspends and reactivates. Each call is dry-run first: a refusal is the contract's typed error,
//! in words, and nothing is submitted.

use super::{FlowError, Result, Session};
use medconsent_chain::{ConsentError, Included, Signer};
use medconsent_shared::{
    AccountId, Consent, ConsentId, ConsentTerms, Grantee, Provider, RoleSet, Timestamp,
};

impl Session {
    /// Grants (or, with a Deny decision, restricts) `terms` to `grantee` for `patient`,
    /// signed by the patient or a delegate in force; the consent's id, once included.
    pub async fn grant(
        &self,
        signer: &Signer,
        patient: AccountId,
        grantee: Grantee,
        terms: ConsentTerms,
    ) -> Result<ConsentId> {
        let mut consents = self.contracts().consents();
        let message = consents.grant(patient, grantee, terms);
        let submitted = self
            .chain
            .submit(signer, &self.contracts().consents, &message)
            .await?;
        self.created_consent(submitted, patient, &grantee, &terms)
            .await
    }

    /// The id of the consent a grant (direct or signed) created, once included. The id
    /// is the dry run's prediction: what the including block holds under it must be
    /// this grant (another may have come first).
    pub(super) async fn created_consent(
        &self,
        (result, included): (
            std::result::Result<ConsentId, ConsentError>,
            Option<Included>,
        ),
        patient: AccountId,
        grantee: &Grantee,
        terms: &ConsentTerms,
    ) -> Result<ConsentId> {
        let (id, included) = match (result, included) {
            (Ok(id), Some(included)) => (id, included),
            (Err(e), _) => return Err(FlowError::ConsentRefused(e)),
            (Ok(_), None) => return Err(FlowError::Reverted),
        };
        let message = self.contracts().consents().consent(patient, id);
        let stored = self
            .chain
            .read(
                Some(included.block),
                &patient,
                &self.contracts().consents,
                &message,
            )
            .await?;
        match stored {
            Some(consent) if &consent.grantee == grantee && &consent.terms == terms => Ok(id),
            _ => Err(FlowError::ConsentNotFound(id)),
        }
    }

    /// Revokes consent `id` of `patient`, which the revoker says is to `grantee`: the
    /// consent is read at the finalized block and revoked only if it is to that
    /// grantee, naming the grantee and terms read (the contract refuses if the id holds
    /// other ones), so a node that shows ids of other consents cannot make the patient
    /// revoke the wrong one. The consent as it was revoked.
    pub async fn revoke(
        &self,
        signer: &Signer,
        patient: AccountId,
        id: ConsentId,
        grantee: Grantee,
    ) -> Result<Consent> {
        let at = self.chain.finalized().await?;
        let message = self.contracts().consents().consent(patient, id);
        let shown = self
            .chain
            .read(Some(at), &patient, &self.contracts().consents, &message)
            .await?
            .ok_or(FlowError::ConsentRefused(ConsentError::ConsentNotFound))?;
        if shown.grantee != grantee {
            return Err(FlowError::OtherGrantee {
                id,
                listed: crate::words::describe_grantee(&shown.grantee, &Default::default()),
            });
        }
        let mut consents = self.contracts().consents();
        let message = consents.revoke(patient, id, shown.shown());
        let (result, included) = self
            .chain
            .submit(signer, &self.contracts().consents, &message)
            .await?;
        match (result, included) {
            (Ok(()), Some(_)) => Ok(shown),
            (Err(e), _) => Err(FlowError::ConsentRefused(e)),
            (Ok(()), None) => Err(FlowError::Reverted),
        }
    }

    pub async fn consent(&self, patient: AccountId, id: ConsentId) -> Result<Option<Consent>> {
        let message = self.contracts().consents().consent(patient, id);
        Ok(self
            .chain
            .read(None, &patient, &self.contracts().consents, &message)
            .await?)
    }

    /// Every consent of `patient`, revoked ones included, oldest first, at the
    /// finalized block.
    pub async fn consents(&self, patient: AccountId) -> Result<Vec<Consent>> {
        let at = self.chain.finalized().await?;
        Ok(medconsent_chain::reads::consents(&self.chain, &self.contracts(), at, patient).await?)
    }

    /// `account` in the provider directory, at the finalized block.
    pub async fn provider(&self, account: AccountId) -> Result<Option<Provider>> {
        let at = self.chain.finalized().await?;
        let message = self.contracts().consents().provider(account);
        Ok(self
            .chain
            .read(Some(at), &account, &self.contracts().consents, &message)
            .await?)
    }

    /// The admin registers `account` with `roles` and its X25519 `public_key`.
    pub async fn register_provider(
        &self,
        admin: &Signer,
        account: AccountId,
        roles: RoleSet,
        public_key: [u8; 32],
    ) -> Result<()> {
        let mut consents = self.contracts().consents();
        let message = consents.register_provider(account, roles, public_key);
        self.directory_change(admin, &message).await
    }

    /// The admin suspends (or, with `suspended` false, reactivates) `account`.
    pub async fn set_provider_suspended(
        &self,
        admin: &Signer,
        account: AccountId,
        suspended: bool,
    ) -> Result<()> {
        let mut consents = self.contracts().consents();
        let message = if suspended {
            consents.suspend_provider(account)
        } else {
            consents.reactivate_provider(account)
        };
        self.directory_change(admin, &message).await
    }

    /// The patient appoints `delegate` (until `until`, or until removed) or, with
    /// `appoint` None, removes it.
    pub async fn set_delegate(
        &self,
        patient: &Signer,
        delegate: AccountId,
        appoint: Option<Option<Timestamp>>,
    ) -> Result<()> {
        let mut consents = self.contracts().consents();
        match appoint {
            Some(until) => {
                let message = consents.appoint_delegate(delegate, until);
                self.directory_change(patient, &message).await
            }
            None => {
                let message = consents.remove_delegate(delegate);
                self.directory_change(patient, &message).await
            }
        }
    }

    /// The patient (or a delegate) refuses break-glass access to the patient's records
    /// (`opted_out`), or allows it again.
    pub async fn set_emergency_opt_out(
        &self,
        signer: &Signer,
        patient: AccountId,
        opted_out: bool,
    ) -> Result<()> {
        let mut consents = self.contracts().consents();
        let message = consents.set_emergency_opt_out(patient, opted_out);
        self.directory_change(signer, &message).await
    }

    /// A consent-manager call that returns nothing: included, or its refusal.
    pub(super) async fn directory_change<Args: parity_scale_codec::Encode + Clone>(
        &self,
        admin: &Signer,
        message: &medconsent_chain::Message<Args, std::result::Result<(), ConsentError>>,
    ) -> Result<()> {
        let (result, included) = self
            .chain
            .submit(admin, &self.contracts().consents, message)
            .await?;
        match (result, included) {
            (Ok(()), Some(_)) => Ok(()),
            (Err(e), _) => Err(FlowError::ConsentRefused(e)),
            (Ok(()), None) => Err(FlowError::Reverted),
        }
    }
}
