//! The patient's sealed copies of break-glass justifications: a responder leaves one
//! share of the text's key and the sealed text here for its Emergency entry; the patient
//! or a delegate in force gets them back, the share sealed to its reply key. Kept for
//! good, like the release marks: they are the patient's record of what was claimed, and
//! a record's retirement does not take back an access already made. The rules are
//! `medconsent_keyrelease::decide::justification_rules` and
//! `justification_request_rules`.
//!
//! Table `justifications`: (patient, log seq) -> responder, index, share sealed to this
//! server, sealed text.

use crate::http::{decode_hex, ok, Answer, ApiError, ServerState};
use crate::share_db::{self, release_key, ShareDb};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use medconsent_keyrelease::decide::{self, Refusal};
use medconsent_keyrelease::envelope::{
    self, justification_context, justification_release_context, Sealed,
};
use medconsent_keyrelease::justification::{
    ReleasedJustification, SignedJustificationDeposit, SignedJustificationRequest,
};
use medconsent_keyrelease::wire::{
    self, ErrorCode, JustificationReceipt, ReleasedBody, SignedBody,
};
use medconsent_shared::{AccountId, LogSeq};
use parity_scale_codec::{Decode, Encode};
use redb::{ReadableTable, TableDefinition};
use std::sync::Arc;

const JUSTIFICATIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("justifications");

/// A justification's copy as the server keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredJustification {
    pub responder: AccountId,
    pub index: u8,
    /// The share, still sealed to this server.
    pub share: Sealed,
    pub text: Vec<u8>,
}

impl ShareDb {
    /// Keeps `stored` for entry `seq` of `patient` if `replaces` says yes of what is
    /// held (None: nothing), in one transaction; whether it was kept.
    pub fn put_justification_if(
        &self,
        patient: &AccountId,
        seq: LogSeq,
        stored: &StoredJustification,
        replaces: impl FnOnce(Option<&StoredJustification>) -> bool,
    ) -> share_db::Result<bool> {
        let txn = self.database().begin_write()?;
        {
            let mut table = txn.open_table(JUSTIFICATIONS)?;
            let key = release_key(patient, seq);
            let held = match table.get(key.as_slice())? {
                Some(value) => Some(StoredJustification::decode(&mut value.value())?),
                None => None,
            };
            if !replaces(held.as_ref()) {
                return Ok(false);
            }
            table.insert(key.as_slice(), stored.encode().as_slice())?;
        }
        txn.commit()?;
        Ok(true)
    }

    pub fn justification(
        &self,
        patient: &AccountId,
        seq: LogSeq,
    ) -> share_db::Result<Option<StoredJustification>> {
        let txn = self.database().begin_read()?;
        let table = match txn.open_table(JUSTIFICATIONS) {
            Ok(table) => table,
            // Nothing was ever deposited here.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(value) = table.get(release_key(patient, seq).as_slice())? else {
            return Ok(None);
        };
        Ok(Some(StoredJustification::decode(&mut value.value())?))
    }
}

/// `POST /v1/justifications`: the responder of an Emergency entry leaves its share of
/// the justification's key and the sealed text. Once: another copy for the same entry
/// is refused (409 `share_held`), the same one again is taken.
pub async fn deposit(
    State(server): State<Arc<ServerState>>,
    body: Result<Json<SignedBody>, JsonRejection>,
) -> Answer<JustificationReceipt> {
    let Json(body) = body?;
    let signed: SignedJustificationDeposit = decode_hex(&body.signed)?;
    let deposit = &signed.deposit;
    decide::authentic_justification(&signed, &server.public)?;
    let (block, now) = server.acting_block().await?;
    let (entry, _) = server
        .reader
        .entry_and_delegate(block, now, deposit.patient, deposit.log_seq, None)
        .await?;
    decide::justification_rules(deposit, entry.as_ref(), now, &server.policy)?;
    let context =
        |index| justification_context(&server.public, &deposit.patient, deposit.log_seq, index);
    let share = envelope::open(&deposit.share, &server.secret, &context(deposit.index))
        .map_err(|_| Refusal::BadShare)?;
    let stored = StoredJustification {
        responder: deposit.responder,
        index: deposit.index,
        share: deposit.share,
        text: deposit.text.clone(),
    };
    let same = |held: &StoredJustification| {
        held.index == stored.index
            && held.text == stored.text
            && envelope::open(&held.share, &server.secret, &context(held.index))
                .is_ok_and(|opened| opened == share)
    };
    let kept = tokio::task::block_in_place(|| {
        server
            .shares
            .put_justification_if(&deposit.patient, deposit.log_seq, &stored, |held| {
                held.is_none_or(same)
            })
    })?;
    if !kept {
        return Err(Refusal::JustificationHeld.into());
    }
    ok(
        StatusCode::CREATED,
        JustificationReceipt {
            log_seq: deposit.log_seq,
            index: deposit.index,
        },
    )
}

/// `POST /v1/justifications/release`: the patient or a delegate in force gets this
/// server's share of a justification's key, sealed to the reply key, and the sealed
/// text. Not one-time: the patient may review an access again.
pub async fn release(
    State(server): State<Arc<ServerState>>,
    body: Result<Json<SignedBody>, JsonRejection>,
) -> Answer<ReleasedBody> {
    let Json(body) = body?;
    let signed: SignedJustificationRequest = decode_hex(&body.signed)?;
    let request = &signed.request;
    decide::authentic_justification_request(&signed, &server.public)?;
    let (block, now) = server.acting_block().await?;
    let asker = (request.requester != request.patient).then_some(request.requester);
    let (entry, delegate) = server
        .reader
        .entry_and_delegate(block, now, request.patient, request.log_seq, asker)
        .await?;
    decide::justification_request_rules(request, entry.as_ref(), delegate, now, &server.policy)?;
    let stored = tokio::task::block_in_place(|| {
        server
            .shares
            .justification(&request.patient, request.log_seq)
    })?
    .ok_or_else(|| {
        ApiError::new(
            ErrorCode::NoShare,
            "this server holds no justification for this entry",
        )
    })?;
    let sealed = server.reseal(
        &stored.share,
        &justification_context(
            &server.public,
            &request.patient,
            request.log_seq,
            stored.index,
        ),
        request.reply_key,
        &justification_release_context(
            &server.public,
            &request.patient,
            request.log_seq,
            &request.requester,
            stored.index,
        ),
    )?;
    let released = ReleasedJustification {
        index: stored.index,
        share: sealed,
        text: stored.text,
    };
    ok(
        StatusCode::OK,
        ReleasedBody {
            released: wire::to_hex(&released),
        },
    )
}
