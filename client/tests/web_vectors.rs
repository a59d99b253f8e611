//! The page's sealing (web/src/sealing.js) against this client's, both ways, through
//! known-answer vectors kept in web/test/vectors/:
//! - rust.json, made here (`MEDCONSENT_WRITE_VECTORS=1 cargo test -p medconsent-client
//!   --test web_vectors`): records sealed by `seal::seal`, shares split by
//!   `shamir::split`, envelopes sealed by `envelope::seal`, and the exact context bytes.
//!   The page's test opens each and rebuilds each context; this test checks that they
//!   still open here and that the contexts are still what the code builds.
//! - page.json, made by the page's test (`node --test web/test/`): opened here.
//!
//! Plaintexts are a byte pattern (`pattern(len)`), so the files hold only sealed bytes
//! (records in base64, the rest in hex).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use medconsent_client::seal;
use medconsent_client::Binding;
use medconsent_keyrelease::blobs::blake2b_256;
use medconsent_keyrelease::envelope;
use medconsent_keyrelease::justification::{
    claim, claim_hash, open_text, seal_text, JustificationDeposit, JustificationRequest,
    ReleasedJustification, SignedJustificationDeposit, SignedJustificationRequest,
};
use medconsent_keyrelease::request::{
    Deposit, ReleaseRequest, ReleasedShare, SignedDeposit, SignedRequest,
};
use medconsent_keyrelease::shamir::{self, Share};
use parity_scale_codec::{Decode, Encode};
use serde_json::{json, Value};
use std::path::PathBuf;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/test/vectors")
}

/// The plaintext of a vector of `len` bytes: byte i is i mod 251.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("a hex string")).expect("hex")
}

fn array32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().expect("32 bytes")
}

fn open_record(blob: &[u8], key: [u8; 32], record_id: u64, version: u32) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    seal::open(
        blob,
        &mut out,
        &Zeroizing::new(key),
        Binding { record_id, version },
        &mut |_| {},
    )
    .ok()
    .map(|()| out)
}

/// The contexts both sides must build byte for byte.
fn contexts() -> Value {
    let server = [0x51; 32];
    let patient = [0x0b; 32];
    let requester = [0x0d; 32];
    let hash = [0xc4; 32];
    json!([
        {
            "kind": "deposit", "server": hex::encode(server), "record": 7, "version": 2,
            "content_hash": hex::encode(hash), "index": 3,
            "bytes": hex::encode(envelope::deposit_context(&server, 7, 2, &hash, 3)),
        },
        {
            "kind": "release", "server": hex::encode(server), "patient": hex::encode(patient),
            // Past JSON's safe integers: as strings, so the page reads them exactly.
            "record": u64::MAX.to_string(), "version": 65_537, "log_seq": (1_u64 << 40).to_string(),
            "requester": hex::encode(requester), "index": 1,
            "bytes": hex::encode(envelope::release_context(
                &server, &patient.into(), u64::MAX, 65_537, 1 << 40, &requester.into(), 1)),
        },
        {
            "kind": "owner", "record": 12, "version": 1, "content_hash": hex::encode(hash),
            "bytes": hex::encode(envelope::owner_context(12, 1, &hash)),
        },
        {
            "kind": "justification", "server": hex::encode(server), "patient": hex::encode(patient),
            "log_seq": (1_u64 << 40).to_string(), "index": 2,
            "bytes": hex::encode(envelope::justification_context(&server, &patient.into(), 1 << 40, 2)),
        },
        {
            "kind": "justification-release", "server": hex::encode(server),
            "patient": hex::encode(patient), "log_seq": "5", "requester": hex::encode(requester),
            "index": 1,
            "bytes": hex::encode(envelope::justification_release_context(
                &server, &patient.into(), 5, &requester.into(), 1)),
        },
    ])
}

/// A release request, a deposit and a released share with fixed fields: the bytes a
/// wallet signs and the SCALE the server decodes, which the page must build alike.
fn wire() -> Value {
    let request = ReleaseRequest {
        server: [0x51; 32],
        patient: [0x0b; 32].into(),
        record: 9,
        version: 3,
        log_seq: 77,
        requester: [0x0d; 32].into(),
        reply_key: [0xee; 32],
        expires_at: 1_790_000_000_000,
    };
    let deposit = Deposit {
        server: [0x51; 32],
        patient: [0x0b; 32].into(),
        depositor: [0x0d; 32].into(),
        record: 9,
        version: 3,
        content_hash: [0xc4; 32],
        index: 2,
        share: [0xab; envelope::SEALED_LEN],
        expires_at: 1_790_000_000_000,
    };
    let released = ReleasedShare {
        index: 2,
        share: [0xcd; envelope::SEALED_LEN],
    };
    let justification = JustificationDeposit {
        server: [0x51; 32],
        patient: [0x0b; 32].into(),
        log_seq: 4,
        responder: [0x0e; 32].into(),
        index: 3,
        share: [0xab; envelope::SEALED_LEN],
        text: vec![0x7e; 70],
        expires_at: 1_790_000_000_000,
    };
    let asked = JustificationRequest {
        server: [0x51; 32],
        patient: [0x0b; 32].into(),
        log_seq: 4,
        requester: [0x0d; 32].into(),
        reply_key: [0xee; 32],
        expires_at: 1_790_000_000_000,
    };
    let handed = ReleasedJustification {
        index: 3,
        share: [0xcd; envelope::SEALED_LEN],
        text: vec![0x6d; 45],
    };
    json!({
        "justification_deposit": {
            "server": hex::encode(justification.server), "patient": hex::encode(justification.patient),
            "log_seq": justification.log_seq, "responder": hex::encode(justification.responder),
            "index": justification.index, "share": hex::encode(justification.share),
            "text": hex::encode(&justification.text), "expires_at": justification.expires_at,
            "signing_message": hex::encode(justification.signing_message()),
            "signed": hex::encode(SignedJustificationDeposit { deposit: justification.clone(), signature: [0x5a; 64] }.encode()),
        },
        "justification_request": {
            "server": hex::encode(asked.server), "patient": hex::encode(asked.patient),
            "log_seq": asked.log_seq, "requester": hex::encode(asked.requester),
            "reply_key": hex::encode(asked.reply_key), "expires_at": asked.expires_at,
            "signing_message": hex::encode(asked.signing_message()),
            "signed": hex::encode(SignedJustificationRequest { request: asked.clone(), signature: [0x5a; 64] }.encode()),
        },
        "released_justification": {
            "index": handed.index, "share": hex::encode(handed.share), "text": hex::encode(&handed.text),
            "encoded": hex::encode(handed.encode()),
        },
        "release_request": {
            "server": hex::encode(request.server), "patient": hex::encode(request.patient),
            "record": request.record, "version": request.version, "log_seq": request.log_seq,
            "requester": hex::encode(request.requester), "reply_key": hex::encode(request.reply_key),
            "expires_at": request.expires_at,
            "signing_message": hex::encode(request.signing_message()),
            "signed": hex::encode(SignedRequest { request: request.clone(), signature: [0x5a; 64] }.encode()),
        },
        "deposit": {
            "server": hex::encode(deposit.server), "patient": hex::encode(deposit.patient),
            "depositor": hex::encode(deposit.depositor), "record": deposit.record,
            "version": deposit.version, "content_hash": hex::encode(deposit.content_hash),
            "index": deposit.index, "share": hex::encode(deposit.share),
            "expires_at": deposit.expires_at,
            "signing_message": hex::encode(deposit.signing_message()),
            "signed": hex::encode(SignedDeposit { deposit: deposit.clone(), signature: [0x5a; 64] }.encode()),
        },
        "released": {
            "index": released.index, "share": hex::encode(released.share),
            "encoded": hex::encode(released.encode()),
        },
    })
}

fn make_rust_vectors() -> Value {
    let key = [0x42; 32];
    let records: Vec<Value> = [0usize, 5, seal::CHUNK, seal::CHUNK + 4]
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let (record_id, version) = (1000 + i as u64, 1 + i as u32);
            let mut blob = Vec::new();
            seal::seal(
                pattern(len).as_slice(),
                &mut blob,
                &Zeroizing::new(key),
                Binding { record_id, version },
                &mut |_| {},
            )
            .unwrap();
            json!({
                "key": hex::encode(key), "record_id": record_id, "version": version,
                "plain_len": len, "sealed": STANDARD.encode(&blob),
                "content_hash": hex::encode(blake2b_256(&blob)),
            })
        })
        .collect();
    let shares = shamir::split(&key, 2, 3, &mut rand_core::OsRng).unwrap();
    let recipient = StaticSecret::from([0x77; 32]);
    let ctx = envelope::deposit_context(&[0x51; 32], 7, 2, &[0xc4; 32], 3);
    let sealed = envelope::seal(&[0x33; 32], &PublicKey::from(&recipient), &ctx).unwrap();
    json!({
        "records": records,
        "shamir": {
            "key": hex::encode(key), "threshold": 2,
            "shares": shares.iter().map(|s| json!({"index": s.index, "value": hex::encode(s.value)})).collect::<Vec<_>>(),
        },
        "envelope": {
            "recipient_secret": hex::encode(recipient.to_bytes()),
            "recipient_public": hex::encode(PublicKey::from(&recipient).as_bytes()),
            "context": hex::encode(&ctx), "secret": hex::encode([0x33; 32]),
            "sealed": hex::encode(sealed),
        },
        "contexts": contexts(),
        "wire": wire(),
        "justification_text": justification_text(),
    })
}

/// A justification sealed as a responder leaves it: salt ++ text under a whole key,
/// bound to the patient and the entry; its salted hash is what the log keeps.
fn justification_text() -> Value {
    let (key, patient, seq, salt) = ([0x61; 32], [0x0b; 32], 6u64, [0x5e; 16]);
    let text = "Unconscious on arrival; allergy history needed.";
    let sealed = seal_text(&key, &claim(&salt, text.as_bytes()), &patient.into(), seq).unwrap();
    json!({
        "key": hex::encode(key), "patient": hex::encode(patient), "log_seq": seq,
        "salt": hex::encode(salt), "text": text,
        "claim_hash": hex::encode(claim_hash(&salt, text.as_bytes())),
        "sealed": hex::encode(sealed),
    })
}

fn read(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

#[test]
fn rust_vectors_still_open_and_contexts_are_unchanged() {
    if std::env::var_os("MEDCONSENT_WRITE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&make_rust_vectors()).unwrap();
        std::fs::write(vectors_dir().join("rust.json"), text + "\n").unwrap();
    }
    let v = read("rust.json");
    assert_eq!(v["contexts"], contexts(), "a context's bytes changed");
    assert_eq!(v["wire"], wire(), "a request's bytes changed");
    check_opens(&v);
}

#[test]
fn what_the_page_sealed_opens_here() {
    let v = read("page.json");
    check_opens(&v);
    // The page built the same contexts.
    assert_eq!(v["contexts"], contexts());
    // A release request the page signed as a wallet's signRaw signs it: the server's
    // check takes it, and takes nothing changed.
    let signed = bytes(&v["signed_request"]);
    let request = SignedRequest::decode(&mut signed.as_slice()).expect("a SignedRequest");
    assert!(request.is_signed_by_requester());
    let mut other = request.clone();
    other.request.log_seq += 1;
    assert!(!other.is_signed_by_requester());
}

/// Every record opens to its pattern (and to nothing under another binding or with a
/// flipped byte), the shares give the key, the envelope opens under its context only.
fn check_opens(v: &Value) {
    let records = v["records"].as_array().expect("records");
    assert!(records.len() >= 4);
    for r in records {
        let blob = STANDARD
            .decode(r["sealed"].as_str().expect("base64"))
            .expect("base64");
        let key = array32(&r["key"]);
        let (id, version) = (
            r["record_id"].as_u64().unwrap(),
            r["version"].as_u64().unwrap() as u32,
        );
        assert_eq!(blake2b_256(&blob), array32(&r["content_hash"]));
        let len = r["plain_len"].as_u64().unwrap() as usize;
        assert_eq!(open_record(&blob, key, id, version), Some(pattern(len)));
        assert_eq!(open_record(&blob, key, id + 1, version), None);
        assert_eq!(open_record(&blob, key, id, version + 1), None);
        let mut flipped = blob.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(open_record(&flipped, key, id, version), None);
    }
    let shares: Vec<Share> = v["shamir"]["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Share {
            index: s["index"].as_u64().unwrap() as u8,
            value: array32(&s["value"]),
        })
        .collect();
    let key = array32(&v["shamir"]["key"]);
    for pair in [[0, 1], [1, 2], [0, 2]] {
        let two = [shares[pair[0]].clone(), shares[pair[1]].clone()];
        assert_eq!(*shamir::combine(&two, 2).unwrap(), key);
    }
    let e = &v["envelope"];
    let secret = StaticSecret::from(array32(&e["recipient_secret"]));
    let sealed: envelope::Sealed = bytes(&e["sealed"]).try_into().unwrap();
    let ctx = bytes(&e["context"]);
    assert_eq!(
        *envelope::open(&sealed, &secret, &ctx).unwrap(),
        array32(&e["secret"])
    );
    let mut other = ctx.clone();
    other.push(0);
    assert!(envelope::open(&sealed, &secret, &other).is_err());
    let j = &v["justification_text"];
    let (key, patient) = (array32(&j["key"]), array32(&j["patient"]).into());
    let seq = j["log_seq"].as_u64().unwrap();
    let salt: [u8; 16] = bytes(&j["salt"]).try_into().unwrap();
    let text = j["text"].as_str().unwrap().as_bytes();
    assert_eq!(claim_hash(&salt, text), array32(&j["claim_hash"]));
    let sealed = bytes(&j["sealed"]);
    assert_eq!(
        open_text(&key, &sealed, &patient, seq).unwrap(),
        claim(&salt, text)
    );
    assert!(open_text(&key, &sealed, &patient, seq + 1).is_err());
}
