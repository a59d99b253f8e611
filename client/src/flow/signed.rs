//! Consent signed by the patient and relayed by someone else (a provider with a chain
//! account and fees): the patient signs a grant or restriction offline into a file,
//! the relayer submits it with `grant_signed`, and the patient can void an unused
//! signature by its nonce. The signed bytes are built here from the deployment file's
//! pinned consent manager and genesis hash, never asked of a node.

use super::{FlowError, Result, Session};
use medconsent_chain::{account_of, parse_account, ss58, Signer};
use medconsent_shared::{
    signing_message, AccountId, ConsentId, ConsentTerms, Decision, SignedAction, SigningDomain,
    Timestamp,
};
use serde::{Deserialize, Serialize};

/// A signed grant or restriction as the patient hands it to the relayer: the terms in
/// words, so the relayer (and anyone) can read what was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relay {
    pub patient: String,
    pub grantee: String,
    /// `permit` or `restrict`.
    pub decision: String,
    pub scope: String,
    pub actions: String,
    pub purposes: String,
    /// Chain time (ms) from which the terms apply.
    pub valid_from: Timestamp,
    /// Chain time (ms) from which they no longer apply; none: until revoked.
    pub valid_until: Option<Timestamp>,
    pub nonce: u64,
    /// Chain time (ms) after which the signature is refused.
    pub deadline: Timestamp,
    /// sr25519 signature of the patient, 0x-hex.
    pub signature: String,
}

impl Relay {
    fn of(
        patient: &AccountId,
        grantee: &medconsent_shared::Grantee,
        terms: &ConsentTerms,
        nonce: u64,
        deadline: Timestamp,
        signature: [u8; 64],
    ) -> Self {
        use crate::words::*;
        Self {
            patient: ss58(patient),
            // The account itself: the file is parsed back, names are not.
            grantee: describe_grantee(grantee, &Names::default()),
            decision: match terms.decision {
                Decision::Permit => "permit",
                Decision::Deny => "restrict",
            }
            .to_owned(),
            scope: describe_scope(&terms.scope),
            actions: describe_actions(terms.actions),
            purposes: describe_purposes(terms.purposes),
            valid_from: terms.valid_from,
            valid_until: terms.valid_until,
            nonce,
            deadline,
            signature: format!("0x{}", hex::encode(signature)),
        }
    }

    /// The on-chain arguments it stands for; a field that does not parse is named.
    pub fn parts(
        &self,
    ) -> std::result::Result<
        (
            AccountId,
            medconsent_shared::Grantee,
            ConsentTerms,
            [u8; 64],
        ),
        String,
    > {
        use crate::words::*;
        let words = |e: WordsError| e.to_string();
        let decision = match self.decision.as_str() {
            "permit" => Decision::Permit,
            "restrict" => Decision::Deny,
            other => return Err(format!("decision {other:?} is not permit or restrict")),
        };
        let terms = ConsentTerms {
            decision,
            scope: parse_scope(&self.scope).map_err(words)?,
            actions: parse_actions(&self.actions).map_err(words)?,
            purposes: parse_purposes(&self.purposes).map_err(words)?,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        };
        let signature = self
            .signature
            .strip_prefix("0x")
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .ok_or("the signature is not 64 bytes of 0x-hex")?;
        Ok((
            parse_account(&self.patient)?,
            parse_grantee(&self.grantee).map_err(words)?,
            terms,
            signature,
        ))
    }
}

impl Session {
    fn signing_domain(&self) -> SigningDomain {
        SigningDomain {
            contract: self.deployment.contracts().consents,
            genesis_hash: self.deployment.genesis_hash,
        }
    }

    /// The patient signs `terms` for `grantee` under a fresh nonce, valid for
    /// `valid_for_ms` of chain time: nothing is sent, the chain is only read (the time).
    pub async fn sign_consent(
        &self,
        patient: &Signer,
        grantee: medconsent_shared::Grantee,
        terms: ConsentTerms,
        valid_for_ms: u64,
    ) -> Result<Relay> {
        let me = account_of(patient);
        let at = self.chain.finalized().await?;
        let deadline = self.chain.now_at(at).await?.saturating_add(valid_for_ms);
        let nonce = loop {
            let mut bytes = [0u8; 8];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
            let nonce = u64::from_le_bytes(bytes);
            let used = self.contracts().consents().nonce_used(me, nonce);
            if !self
                .chain
                .read(Some(at), &me, &self.contracts().consents, &used)
                .await?
            {
                break nonce;
            }
        };
        let action = SignedAction::Grant { grantee, terms };
        let message = signing_message(&self.signing_domain(), &me, &action, nonce, deadline);
        let signature = patient.sign(&message).0;
        Ok(Relay::of(&me, &grantee, &terms, nonce, deadline, signature))
    }

    /// The relayer submits a patient's signed consent and pays for it; the consent's id
    /// once the finalized block holds it.
    pub async fn submit_signed(&self, relayer: &Signer, relay: &Relay) -> Result<ConsentId> {
        let (patient, grantee, terms, signature) = relay.parts().map_err(FlowError::BadRelay)?;
        let mut consents = self.contracts().consents();
        let message = consents.grant_signed(
            patient,
            grantee,
            terms,
            relay.nonce,
            relay.deadline,
            signature,
        );
        let submitted = self
            .chain
            .submit(relayer, &self.contracts().consents, &message)
            .await?;
        self.created_consent(submitted, patient, &grantee, &terms)
            .await
    }

    /// The patient (or a delegate) voids the signature with `nonce` before anyone
    /// submits it.
    pub async fn void_signature(
        &self,
        signer: &Signer,
        patient: AccountId,
        nonce: u64,
    ) -> Result<()> {
        let mut consents = self.contracts().consents();
        let message = consents.void_signature(patient, nonce);
        let (result, included) = self
            .chain
            .submit(signer, &self.contracts().consents, &message)
            .await?;
        match (result, included) {
            (Ok(()), Some(_)) => Ok(()),
            (Err(e), _) => Err(FlowError::ConsentRefused(e)),
            (Ok(()), None) => Err(FlowError::Reverted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medconsent_shared::{ActionSet, Grantee, PurposeSet, Scope};

    #[test]
    fn a_relay_reads_back_as_what_was_signed() {
        let patient = AccountId::from([1; 32]);
        let grantee = Grantee::Account(AccountId::from([2; 32]));
        let terms = ConsentTerms {
            decision: Decision::Permit,
            scope: Scope::Category(3),
            actions: ActionSet(1),
            purposes: PurposeSet(1),
            valid_from: 5,
            valid_until: Some(9),
        };
        let relay = Relay::of(&patient, &grantee, &terms, 7, 11, [3; 64]);
        assert_eq!(relay.parts(), Ok((patient, grantee, terms, [3; 64])));
        let text = serde_json::to_string(&relay).unwrap();
        let back: Relay = serde_json::from_str(&text).unwrap();
        assert_eq!(back, relay);
        let mut bad = relay.clone();
        bad.signature = "0x00".into();
        assert!(bad.parts().unwrap_err().contains("64 bytes"));
        let mut bad = relay;
        bad.purposes = "billing".into();
        assert!(bad.parts().unwrap_err().contains("billing"));
    }
}
