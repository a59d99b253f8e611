//! The patient's sealed copy of a break-glass justification: the responder leaves the
//! text at the key servers right after its Emergency entry is final (the text under a
//! fresh key, the key split like a record key), and the patient's review reads it back
//! and checks it against the hash in the log (`medconsent_keyrelease::justification`).

use super::rebuild::open_with_shares;
use super::{FlowError, Result, Session, REQUEST_LIFETIME_MS};
use crate::servers::{KeyServer, ServerError};
use medconsent_chain::{account_of, Signer};
use medconsent_keyrelease::envelope::{self, justification_context, justification_release_context};
use medconsent_keyrelease::justification::{
    claim, logged_text, open_text, seal_text, JustificationDeposit, JustificationRequest,
    SignedJustificationDeposit, SignedJustificationRequest, MAX_JUSTIFICATION_LEN, SALT_LEN,
};
use medconsent_keyrelease::shamir::{self, Share};
use medconsent_keyrelease::wire::ErrorCode;
use medconsent_shared::{AccountId, Hash32, LogSeq};
use rand_core::RngCore;
use x25519_dalek::{PublicKey, StaticSecret};

/// A justification the sealed copy can hold: at most MAX_JUSTIFICATION_LEN bytes.
/// Checked before the glass is broken, so a text too long spends nothing.
pub fn check_justification(text: &str) -> Result<()> {
    if text.len() > MAX_JUSTIFICATION_LEN {
        return Err(FlowError::JustificationTooLong(text.len()));
    }
    Ok(())
}

impl Session {
    /// Leaves `text` (with the `salt` under the logged hash), the justification of
    /// break-glass entry `seq` of `patient`, with `servers`: one key share and the
    /// sealed claim each. A server that has not seen the entry final yet is asked again
    /// with the same deposit (a copy is left once: another would be refused). How many
    /// took it.
    pub(super) async fn leave_justification(
        &self,
        responder: &Signer,
        servers: &[KeyServer],
        patient: AccountId,
        seq: LogSeq,
        salt: &[u8; SALT_LEN],
        text: &str,
    ) -> Result<usize> {
        check_justification(text)?;
        let threshold = self.deployment.threshold;
        let count = u8::try_from(servers.len()).map_err(|_| FlowError::TooFewServers {
            active: servers.len(),
            needed: threshold,
        })?;
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        rand_core::OsRng.fill_bytes(key.as_mut());
        let sealed_text = seal_text(&key, &claim(salt, text.as_bytes()), &patient, seq)
            .map_err(|_| FlowError::JustificationTooLong(text.len()))?;
        let shares = shamir::split(&key, threshold, count, &mut rand_core::OsRng)?;
        self.say(&format!(
            "leaving the justification for the patient with {count} key servers"
        ));
        let at = self.chain.finalized().await?;
        let now = self.chain.now_at(at).await?;
        let mut deposits = Vec::with_capacity(servers.len());
        for (server, share) in servers.iter().zip(shares.iter()) {
            let context = justification_context(&server.public_key, &patient, seq, share.index);
            let deposit = JustificationDeposit {
                server: server.public_key,
                patient,
                log_seq: seq,
                responder: account_of(responder),
                index: share.index,
                share: envelope::seal(&share.value, &PublicKey::from(server.public_key), &context)?,
                text: sealed_text.clone(),
                expires_at: now.saturating_add(REQUEST_LIFETIME_MS),
            };
            let signature = responder.sign(&deposit.signing_message()).0;
            let signed = SignedJustificationDeposit { deposit, signature };
            const BEHIND: [ErrorCode; 3] = [
                ErrorCode::NoSuchEntry,
                ErrorCode::ChainBehind,
                ErrorCode::Busy,
            ];
            deposits.push(async move {
                let signed = &signed;
                let answer = super::write::while_refused_with(&BEHIND, || {
                    self.servers.deposit_justification(server, signed)
                })
                .await;
                (server, answer)
            });
        }
        let mut kept = 0usize;
        for (server, answer) in futures::future::join_all(deposits).await {
            match answer {
                Ok(()) => kept = kept.saturating_add(1),
                Err(e) => self.warn(&format!(
                    "{} did not keep the justification: {e}",
                    server.endpoint.url
                )),
            }
        }
        Ok(kept)
    }

    /// The justification the responder left for break-glass entry `seq` of `patient`,
    /// asked by the patient or a delegate (`asker`), checked against `logged`, the hash
    /// in the patient's log: no server, and no responder, can pass another text for it.
    /// Text that is not UTF-8 is shown with replacement characters.
    pub async fn justification(
        &self,
        asker: &Signer,
        patient: AccountId,
        seq: LogSeq,
        logged: &Hash32,
    ) -> Result<String> {
        let servers = self.key_servers().await?;
        let at = self.chain.finalized().await?;
        let now = self.chain.now_at(at).await?;
        // A key for this reading only: the shares come sealed to it.
        let reply = StaticSecret::random_from_rng(rand_core::OsRng);
        let requests = servers.iter().map(|server| {
            let request = JustificationRequest {
                server: server.public_key,
                patient,
                log_seq: seq,
                requester: account_of(asker),
                reply_key: *PublicKey::from(&reply).as_bytes(),
                expires_at: now.saturating_add(REQUEST_LIFETIME_MS),
            };
            let signature = asker.sign(&request.signing_message()).0;
            let signed = SignedJustificationRequest { request, signature };
            async move { (server, self.servers.justification(server, &signed).await) }
        });
        let mut shares = Vec::new();
        let mut texts = Vec::new();
        let mut refusals = Vec::new();
        let mut unreachable = 0usize;
        for (server, answer) in futures::future::join_all(requests).await {
            let released = match answer {
                Ok(released) => released,
                Err(e) => {
                    if matches!(e, ServerError::Unreachable { .. }) {
                        unreachable = unreachable.saturating_add(1);
                    }
                    refusals.push(e.to_string());
                    continue;
                }
            };
            let context = justification_release_context(
                &server.public_key,
                &patient,
                seq,
                &account_of(asker),
                released.index,
            );
            match envelope::open(&released.share, &reply, &context) {
                Ok(value) => {
                    shares.push(Share {
                        index: released.index,
                        value: *value,
                    });
                    if !texts.contains(&released.text) {
                        texts.push(released.text);
                    }
                }
                Err(e) => refusals.push(format!("{}: {e}", server.endpoint.url)),
            }
        }
        let threshold = self.deployment.threshold;
        if shares.len() < usize::from(threshold) {
            return Err(FlowError::NotEnoughShares {
                got: shares.len(),
                needed: threshold,
                refusals,
                unreachable,
            });
        }
        // Any text a rebuilt key opens, whichever server kept it, and that hashes to
        // what the log holds.
        let mut found = None;
        let opened = open_with_shares(&shares, threshold, |key| {
            let text = texts
                .iter()
                .filter_map(|sealed| open_text(key, sealed, &patient, seq).ok())
                .find_map(|claim| logged_text(&claim, logged).map(<[u8]>::to_vec))
                .ok_or(crate::Error::DecryptionFailed)?;
            found = Some(text);
            Ok(())
        });
        match (opened, found) {
            (Ok(_), Some(text)) => Ok(String::from_utf8_lossy(&text).into_owned()),
            _ => Err(FlowError::JustificationMismatch(seq)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_too_long_for_the_copy_is_refused_before_anything() {
        assert!(check_justification(&"a".repeat(MAX_JUSTIFICATION_LEN)).is_ok());
        assert!(matches!(
            check_justification(&"a".repeat(MAX_JUSTIFICATION_LEN + 1)),
            Err(FlowError::JustificationTooLong(n)) if n == MAX_JUSTIFICATION_LEN + 1
        ));
    }
}
