//! Many concurrent releases: none lost, none wrong.

use crate::fixtures::*;

/// At least 500 releases from concurrent clients: every one answered 200, every share
/// opens for its entry, and every pair of shares rebuilds the same key, which decrypts
/// the record. Prints latency percentiles per server for BENCHMARKS.md.
pub async fn load_concurrent_releases_none_lost_none_wrong(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "load.txt", "load").await?;
    // Eve reads: Dave's rules with Bob (at most 8 per pair) went to the earlier scenarios.
    grant(w, &s, &w.stranger, Scope::Record(record)).await?;
    let entries = chart_entries(w, &s, &w.stranger, record, 6).await?;
    let patient = w.patient.account();
    let now = chain_now(&s).await;
    let doctor = &w.stranger;
    let mut jobs = Vec::new();
    for entry in &entries {
        for (i, server) in w.servers.iter().enumerate() {
            let signed = signed_by(
                &doctor.signer,
                request_for(server.public_key, entry, 1, doctor, now),
            );
            jobs.push((i, entry.seq, signed));
        }
    }
    let total = jobs.len();
    ensure!(total >= 500, "only {total} releases planned");
    let servers = &s.servers;
    let started = Instant::now();
    // 16 clients in flight at a time.
    let results: Vec<_> =
        futures::stream::StreamExt::collect(futures::stream::StreamExt::buffer_unordered(
            futures::stream::iter(jobs.into_iter().map(|(i, seq, signed)| {
                let ks = key_server(w, i);
                async move {
                    let t = Instant::now();
                    let answer = servers.release(&ks, &signed).await;
                    (i, seq, t.elapsed(), answer)
                }
            })),
            16,
        ))
        .await;
    let elapsed = started.elapsed();
    let mut by_entry: std::collections::BTreeMap<u64, Vec<medconsent_keyrelease::shamir::Share>> =
        Default::default();
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); 3];
    for (i, seq, latency, answer) in results {
        let released = answer.map_err(|e| format!("a release failed: {e}"))?;
        let context = medconsent_keyrelease::envelope::release_context(
            &w.servers[i].public_key,
            &patient,
            record,
            1,
            seq,
            &doctor.account(),
            released.index,
        );
        let value =
            medconsent_keyrelease::envelope::open(&released.share, &doctor.secret, &context)
                .map_err(|e| format!("a released share does not open: {e}"))?;
        by_entry
            .entry(seq)
            .or_default()
            .push(medconsent_keyrelease::shamir::Share {
                index: released.index,
                value: *value,
            });
        latencies[i].push(latency);
    }
    let mut key = None;
    for (seq, shares) in &by_entry {
        ensure!(shares.len() == 3, "entry {seq}: {} shares", shares.len());
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let chosen = [shares[pair[0]].clone(), shares[pair[1]].clone()];
            let rebuilt =
                *medconsent_keyrelease::shamir::combine(&chosen, 2).map_err(|e| e.to_string())?;
            ensure!(
                *key.get_or_insert(rebuilt) == rebuilt,
                "entry {seq}: shares rebuild another key"
            );
        }
    }
    // The key they all rebuild decrypts the record.
    let record_now = s
        .record_at(None, &doctor.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    let blob = w.patient.store.blob_path(&record_now.content_hash);
    let out = w.out_path("load.opened");
    let key = zeroize::Zeroizing::new(key.ok_or("no key")?);
    medconsent_client::store::open_verified(
        std::fs::File::open(blob).map_err(|e| e.to_string())?,
        &record_now.content_hash,
        &key,
        medconsent_client::Binding {
            record_id: record,
            version: 1,
        },
        &out,
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    ensure!(read(&out) == "load", "the rebuilt key opens another text");
    println!(
        "    load: {total} releases, 16 in flight, {:.1} s, {:.0} releases/s overall",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    for (i, mut list) in latencies.into_iter().enumerate() {
        list.sort();
        println!(
            "    load: server {} release latency p50 {:.1} ms, p95 {:.1} ms ({} releases)",
            i + 1,
            percentile_ms(&list, 50),
            percentile_ms(&list, 95),
            list.len()
        );
    }
    Ok(())
}
