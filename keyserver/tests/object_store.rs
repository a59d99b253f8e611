//! The blob store on an S3 API: a real S3-compatible server (moto, installed by
//! scripts/setup.sh) started by the test, driven through the key server's `BlobStore` as
//! the blob routes drive it. What a folder does (kept only under its hash, nothing left
//! behind otherwise) holds on an object store too.

use axum::body::Bytes;
use futures::StreamExt;
use medconsent_keyrelease::blobs::blake2b_256;
use medconsent_keyserver::blob_store::{BlobStore, PutError};

#[path = "support/s3.rs"]
mod s3;
use s3::S3Server;

/// `bytes` as a body arrives: in chunks.
fn body(bytes: &[u8]) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let chunks: Vec<_> = bytes
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks)
}

async fn read_all(store: &BlobStore, hash: &[u8; 32]) -> Option<(u64, Vec<u8>)> {
    let found = store.get(hash).await.unwrap()?;
    let mut bytes = Vec::new();
    let mut stream = found.body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    Some((found.size, bytes))
}

async fn keys(server: &S3Server, bucket: &str) -> Vec<String> {
    server.keys(bucket).await.unwrap()
}

async fn make_bucket(server: &S3Server, bucket: &str) {
    server.make_bucket(bucket).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_store_keeps_blobs_as_a_folder_does() {
    // Process-wide environment: this file has one test, so one S3 server.
    let server = S3Server::start().await.unwrap();
    a_blob_is_kept_only_under_its_hash_and_nothing_else(&server).await;
    an_upload_a_crash_interrupted_is_removed_at_start(&server).await;
}

async fn a_blob_is_kept_only_under_its_hash_and_nothing_else(server: &S3Server) {
    make_bucket(server, "blobs").await;
    let store = BlobStore::s3("s3://blobs/server-1").unwrap();
    // 7 MiB: more than one part of a multipart upload.
    let ciphertext: Vec<u8> = (0..7 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let hash = blake2b_256(&ciphertext);

    let size = store.put(&hash, body(&ciphertext), 64 << 20).await.unwrap();
    assert_eq!(size, ciphertext.len() as u64);
    assert_eq!(
        read_all(&store, &hash).await,
        Some((size, ciphertext.clone())),
        "the same bytes come back"
    );
    let name = format!("server-1/{}", hex::encode(hash));
    assert_eq!(
        keys(server, "blobs").await,
        vec![name.clone()],
        "under the prefix, by hash, nothing else"
    );

    // Other bytes under that hash: refused, the kept blob unchanged, nothing left over.
    let other = b"not the ciphertext".to_vec();
    match store.put(&hash, body(&other), 64 << 20).await {
        Err(PutError::HashMismatch { actual }) => assert_eq!(actual, blake2b_256(&other)),
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    // Too large: refused before it is all sent, nothing kept.
    let big = vec![7u8; 2048];
    match store.put(&blake2b_256(&big), body(&big), 1024).await {
        Err(PutError::TooLarge(1024)) => {}
        other => panic!("expected too large, got {other:?}"),
    }
    // A body that breaks off midway: nothing kept.
    let broken = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"half")),
        Err(std::io::Error::other("the client went away")),
    ]);
    assert!(matches!(
        store.put(&blake2b_256(b"half a blob"), broken, 1024).await,
        Err(PutError::BadBody(_))
    ));
    assert_eq!(keys(server, "blobs").await, vec![name], "only the one blob");
    assert_eq!(
        read_all(&store, &hash).await.map(|(_, b)| b),
        Some(ciphertext)
    );
    assert!(
        read_all(&store, &[9; 32]).await.is_none(),
        "an unknown hash is none"
    );
    // Deleted (a retired or superseded record's ciphertext): gone, and a second delete
    // finds nothing.
    assert!(store.delete(&hash).await.unwrap());
    assert!(!store.delete(&hash).await.unwrap());
    assert!(keys(server, "blobs").await.is_empty());
    assert!(read_all(&store, &hash).await.is_none());
}

async fn an_upload_a_crash_interrupted_is_removed_at_start(server: &S3Server) {
    make_bucket(server, "leftovers").await;
    // What a server that died mid-upload leaves: an object under incoming/.
    let put = reqwest::Client::new()
        .put(format!("{}/leftovers/incoming/0123", server.url))
        .body("half")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let store = BlobStore::s3("s3://leftovers").unwrap();
    assert_eq!(store.remove_leftovers().await.unwrap(), 1);
    assert!(keys(server, "leftovers").await.is_empty());
    // Not an S3 URL: refused with the URL named.
    let refused = BlobStore::s3("gs://leftovers").err().expect("refused");
    assert!(refused.to_string().contains("gs://leftovers"), "{refused}");
}
