//! Deposits and requests a server must refuse, with their codes, changing nothing.

use crate::fixtures::*;

pub async fn refused_deposits_and_unsealable_releases_change_nothing(w: &World) -> Outcome {
    let s = w.session().await;
    let text = "kept as deposited";
    let record = put(w, &s, "keep.txt", text).await?;
    let server = &w.servers[0];
    let hash = s
        .record_at(None, &w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?
        .content_hash;
    let now = chain_now(&s).await;
    let server_key = x25519_dalek::PublicKey::from(server.public_key);
    let deposit = |patient: &Person, version: u32, index: u8, sealed_index: u8| Deposit {
        server: server.public_key,
        patient: patient.account(),
        depositor: patient.account(),
        record,
        version,
        content_hash: hash,
        index,
        share: envelope::seal(
            &[9; 32],
            &server_key,
            &deposit_context(&server.public_key, record, version, &hash, sealed_index),
        )
        .unwrap(),
        expires_at: now + 60_000,
    };
    // A share sealed for another index does not open under the deposit's terms.
    let got = post_deposit(&server.url, &w.patient.signer, deposit(&w.patient, 1, 1, 2)).await;
    ensure!(got == (400, "bad_share".into()), "other index: {got:?}");
    // Eve, signing as herself, cannot plant a share for Bob's record.
    let got = post_deposit(
        &server.url,
        &w.stranger.signer,
        deposit(&w.stranger, 1, 1, 1),
    )
    .await;
    ensure!(
        got == (403, "not_the_patient".into()),
        "Eve's deposit: {got:?}"
    );
    // Nor in Bob's name as its depositor: she is not one of its authors.
    let mut in_bobs_name = deposit(&w.patient, 1, 1, 1);
    in_bobs_name.depositor = w.stranger.account();
    let got = post_deposit(&server.url, &w.stranger.signer, in_bobs_name).await;
    ensure!(
        got == (403, "not_an_author".into()),
        "Eve's deposit as depositor of Bob's record: {got:?}"
    );
    // Bob cannot deposit for a version the chain does not have yet.
    let got = post_deposit(&server.url, &w.patient.signer, deposit(&w.patient, 2, 1, 1)).await;
    ensure!(
        got == (403, "wrong_version".into()),
        "future version: {got:?}"
    );
    // Nothing changed: the server holds version 1 only, and the record still opens with
    // the shares that were deposited at `put`.
    ensure!(
        versions_held(&server.url, record).await == vec![1],
        "the held versions changed"
    );
    // (Bob's own read, PATRQT: Dave's rule budget with Bob belongs to other scenarios.)
    let out = w.out_path("keep.opened");
    s.get(
        &w.patient.signer,
        &w.patient.secret,
        record,
        Purpose::PatientRequest,
        &w.patient.store,
        &out,
    )
    .await
    .map_err(|e| format!("after the refused deposits: {e}"))?;
    ensure!(read(&out) == text, "the record opens to another text");

    // Bob's own (PATRQT) read may name any reply key, but not a low-order one; the refusal
    // does not use up the entry.
    let own = access_for(w, &s, &w.patient, record, Purpose::PatientRequest).await?;
    ensure!(
        own.kind == EntryKind::Access,
        "Bob's own read: {:?}",
        own.kind
    );
    let mut weak = request_for(server.public_key, &own, 1, &w.patient, now);
    weak.reply_key = [0; 32];
    let got = post_release(&server.url, &signed_by(&w.patient.signer, weak)).await;
    ensure!(
        got == (400, "weak_reply_key".into()),
        "weak reply key: {got:?}"
    );
    let proper = signed_by(
        &w.patient.signer,
        request_for(server.public_key, &own, 1, &w.patient, now),
    );
    let got = post_release(&server.url, &proper).await;
    ensure!(got.0 == 200, "after the weak key: {got:?}");
    // A server without a share of the record says so, and keeps the entry unused.
    let strict = &w.strict;
    let request = signed_by(
        &w.patient.signer,
        request_for(strict.public_key, &own, 1, &w.patient, now),
    );
    let got = post_release(&strict.url, &request).await;
    ensure!(got == (404, "no_share".into()), "no share: {got:?}");
    let releases = health(&strict.url).await?["releases"].as_u64();
    ensure!(
        releases == Some(0),
        "the strict server recorded {releases:?} releases"
    );
    Ok(())
}

pub async fn malformed_requests_get_4xx_and_the_server_keeps_serving(w: &World) -> Outcome {
    let url = &w.servers[0].url;
    // A new connection for each request: after refusing a body it did not read (413) the
    // server may close the connection, and a pooled one would race that close.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?;
    let raw = |path: &str, body: Vec<u8>| {
        http.post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let json: Value = r.json().await.unwrap_or_default();
        (
            status,
            listed_code(status, json["error"].as_str().unwrap_or("")),
        )
    };
    let cases: Vec<(&str, Vec<u8>, (u16, &str))> = vec![
        ("/v1/release", b"{".to_vec(), (400, "malformed_json")),
        (
            "/v1/release",
            br#"{"signed": 5}"#.to_vec(),
            (422, "wrong_type"),
        ),
        (
            "/v1/release",
            br#"{"signed": "0x00", "extra": 1}"#.to_vec(),
            (422, "wrong_type"),
        ),
        (
            "/v1/release",
            br#"{"signed": "zz"}"#.to_vec(),
            (400, "bad_encoding"),
        ),
        (
            "/v1/release",
            br#"{"signed": "0x0102"}"#.to_vec(),
            (400, "bad_encoding"),
        ),
        (
            "/v1/deposit",
            br#"{"signed": "0x"}"#.to_vec(),
            (400, "bad_encoding"),
        ),
        (
            "/v1/retire",
            br#"{"record": "seven"}"#.to_vec(),
            (422, "wrong_type"),
        ),
        ("/v1/release", vec![b' '; 64 * 1024], (413, "too_large")),
        ("/v1/nothing-here", b"{}".to_vec(), (404, "not_found")),
    ];
    for (path, body, expected) in cases {
        let got = code(raw(path, body).await.map_err(|e| e.to_string())?).await;
        ensure!(
            got == (expected.0, expected.1.to_owned()),
            "{path}: {got:?}, expected {expected:?}"
        );
    }
    let plain = http
        .post(format!("{url}/v1/release"))
        .body("{}")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let got = code(plain).await;
    ensure!(got == (415, "not_json".into()), "no content type: {got:?}");
    // A wrong method on a known route gets the JSON refusal too.
    for (method, path) in [
        (reqwest::Method::GET, "/v1/release"),
        (reqwest::Method::DELETE, "/v1/health"),
        (reqwest::Method::POST, "/v1/blobs/0x00"),
    ] {
        let wrong = http
            .request(method.clone(), format!("{url}{path}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let got = code(wrong).await;
        ensure!(
            got == (405, "method_not_allowed".into()),
            "{method} {path}: {got:?}"
        );
    }
    // A blob upload that names no record is refused.
    let put = http
        .put(format!("{url}/v1/blobs/0x{}", hex::encode([7u8; 32])))
        .body("not that")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let got = code(put).await;
    ensure!(got == (400, "bad_record_id".into()), "blob: {got:?}");
    health(url).await?;
    // The operator's monitoring sees the refusals by code and the releases, on the
    // operator's own address: the public one does not tell them.
    let public = reqwest::get(format!("{url}/metrics"))
        .await
        .map_err(|e| e.to_string())?;
    let got = code(public).await;
    ensure!(got == (404, "not_found".into()), "public /metrics: {got:?}");
    let metrics = reqwest::get(format!("{}/metrics", w.servers[0].metrics_url))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let count = |name: &str| -> Option<u64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    let releases = health(url).await?["releases"].as_u64();
    for code in [
        "malformed_json",
        "wrong_type",
        "too_large",
        "method_not_allowed",
    ] {
        let name = format!("medconsent_keyserver_refusals_total{{code=\"{code}\"}}");
        ensure!(count(&name) >= Some(1), "{name}: {:?}", count(&name));
    }
    ensure!(
        count("medconsent_keyserver_releases_total") == releases
            && count("medconsent_keyserver_chain_read_seconds_count") >= Some(1),
        "metrics:\n{metrics}"
    );
    // The operator's log has a line for each refusal with its status and code, and none
    // of what the bodies held.
    let log = std::fs::read_to_string(&w.servers[0].log).map_err(|e| e.to_string())?;
    for line in [
        "method=POST path=/v1/release status=400 error=malformed_json ",
        "method=POST path=/v1/release status=422 error=wrong_type ",
        "method=POST path=/v1/retire status=422 error=wrong_type ",
        "method=POST path=/v1/release status=413 error=too_large ",
        "method=POST path=/v1/nothing-here status=404 error=not_found ",
        "method=POST path=/v1/release status=415 error=not_json ",
        "method=GET path=/v1/health status=200 error=- ",
    ] {
        ensure!(log.contains(line), "no log line with {line:?}");
    }
    // Request lines, and the server's own lines about the contracts and its sweeps;
    // never a body.
    // Each line is `<time> <level> <message>`.
    let ours = ["request{", "contracts: ", "sweep: "];
    let message = |l: &str| {
        let mut words = l.trim_start().splitn(2, ' ');
        let rest = words.nth(1).unwrap_or("").trim_start();
        rest.split_once(' ')
            .map_or("", |(_, m)| m.trim_start())
            .to_owned()
    };
    ensure!(
        log.lines()
            .all(|l| ours.iter().any(|p| message(l).starts_with(p))
                && !l.contains("seven")
                && !l.contains("0x0102")),
        "the log holds more than request, contract and sweep lines:\n{log}"
    );
    Ok(())
}

/// The names in a server's blob folder (temporary files included).
fn blob_files(server: &crate::world::ServerProcess) -> Vec<String> {
    let dir = format!("{}.blobs", server.db.display());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub async fn a_stranger_stores_nothing_and_a_slow_body_is_cut_off(w: &World) -> Outcome {
    use medconsent_keyrelease::blobs::blake2b_256;
    let s = w.session().await;
    let record = put(w, &s, "stored.txt", "stored").await?;
    let hash = s
        .record_at(None, &w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?
        .content_hash;
    let server = &w.servers[0];
    let url = &server.url;
    let before = blob_files(server);
    ensure!(
        before.contains(&hex::encode(hash)),
        "the record's ciphertext is not there: {before:?}"
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?;
    let upload = |path: String, body: Vec<u8>| {
        let http = http.clone();
        async move {
            let r = http
                .put(path)
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let json: Value = r.json().await.unwrap_or_default();
            Ok::<_, String>((
                status,
                listed_code(status, json["error"].as_str().unwrap_or("")),
            ))
        }
    };
    // Fifty uploads of a stranger's bytes under their own hash: naming a real record,
    // or none.
    for i in 0..50u32 {
        let bytes = format!("a stranger's bytes {i} ")
            .repeat(1_000)
            .into_bytes();
        let name = hex::encode(blake2b_256(&bytes));
        let (path, expected) = if i % 2 == 0 {
            (
                format!("{url}/v1/blobs/0x{name}?record={record}"),
                (403, "unregistered_blob"),
            )
        } else {
            (format!("{url}/v1/blobs/0x{name}"), (400, "bad_record_id"))
        };
        let got = upload(path, bytes).await?;
        ensure!(
            got == (expected.0, expected.1.to_owned()),
            "upload {i}: {got:?}"
        );
    }
    // Other bytes under the record's own hash; a record that does not exist.
    let got = upload(
        format!("{url}/v1/blobs/0x{}?record={record}", hex::encode(hash)),
        b"other bytes".to_vec(),
    )
    .await?;
    ensure!(got == (400, "hash_mismatch".into()), "other bytes: {got:?}");
    let got = upload(
        format!("{url}/v1/blobs/0x{}?record=999999", hex::encode(hash)),
        b"x".to_vec(),
    )
    .await?;
    ensure!(
        got == (404, "record_not_found".into()),
        "no record: {got:?}"
    );
    ensure!(blob_files(server) == before, "the blob folder changed");

    // A client that announces 100 kB, sends ten bytes and stalls is cut off.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url.trim_start_matches("http://");
    let mut slow = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let head = format!(
        "PUT /v1/blobs/0x{}?record={record} HTTP/1.1\r\nhost: {address}\r\ncontent-length: 100000\r\n\r\n0123456789",
        hex::encode(hash)
    );
    slow.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut answer = vec![0u8; 512];
    let read = tokio::time::timeout(Duration::from_secs(30), slow.read(&mut answer))
        .await
        .map_err(|_| "no answer within 30 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    println!(
        "    a stalled upload was cut off after {:.1?}",
        started.elapsed()
    );
    ensure!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("request_timeout"),
        "the stalled upload: {answer}"
    );
    ensure!(
        blob_files(server) == before,
        "the stalled upload left a file"
    );
    health(url).await?;
    Ok(())
}
