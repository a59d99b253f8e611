//! Servers down, killed, retired records and directory changes.

use crate::fixtures::*;

pub async fn one_server_down_still_decrypts_two_down_is_a_clear_error_and_sigkill_loses_nothing(
    w: &World,
) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "down.txt", "down").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let counts = |h: Value| {
        (
            h["shares"].as_u64().unwrap(),
            h["releases"].as_u64().unwrap(),
        )
    };
    let servers = &w.servers;
    // What each server had confirmed when it was killed.
    let mut at_kill = [(0, 0); 3];
    at_kill[2] = counts(health(&servers[2].url).await?);
    servers[2].kill();
    // What `medconsent shares` tells the patient: two of three hold version 1, enough.
    let holdings = s
        .holdings(&w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        holdings.version == 1
            && holdings.holding_current() == 2
            && holdings.enough()
            && holdings.at_servers[..2]
                .iter()
                .all(|(_, held)| held == &Ok(vec![1]))
            && holdings.at_servers[2].1.is_err(),
        "one down: {holdings:?}"
    );
    let out = w.out_path("down.one");
    let opened = read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("one server down: {e}"))?;
    ensure!(
        read(&out) == "down" && opened.shares_used == 2,
        "one down: {opened:?}"
    );
    at_kill[1] = counts(health(&servers[1].url).await?);
    servers[1].kill();
    let holdings = s
        .holdings(&w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        holdings.holding_current() == 1 && !holdings.enough(),
        "two down: {holdings:?}"
    );
    let out = w.out_path("down.two");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::NotEnoughShares {
            got: 1,
            needed: 2,
            refusals,
            unreachable: 2,
        }) => {
            ensure!(
                refusals.iter().all(|r| r.contains("unreachable")),
                "{refusals:?}"
            );
        }
        other => return Err(format!("two servers down: {other:?}")),
    }
    ensure!(!out.exists(), "a plaintext from one share");
    // SIGKILLed servers come back with every share and every release record.
    servers[1].start(&w.deployment_file);
    servers[2].start(&w.deployment_file);
    for (i, server) in w.servers.iter().enumerate().skip(1) {
        let now = counts(health(&server.url).await?);
        ensure!(
            now == at_kill[i],
            "{}: {:?} at the kill, {now:?} after",
            server.url,
            at_kill[i]
        );
    }
    let out = w.out_path("down.back");
    read_as(&s, &w.doctor, record, &out)
        .await
        .map_err(|e| format!("after the restart: {e}"))?;
    ensure!(read(&out) == "down", "after the restart");
    Ok(())
}

pub async fn retiring_destroys_every_share(w: &World) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "retire.txt", "retire").await?;
    grant(w, &s, &w.doctor, Scope::Record(record)).await?;
    let unused = access(w, &s, &w.doctor, record).await?;
    // Before retirement a server refuses to delete anything.
    let early = post_json(
        &w.servers[0].url,
        "/v1/retire",
        &serde_json::json!({"record": record}),
    )
    .await;
    ensure!(early == (409, "not_retired".into()), "early: {early:?}");
    ensure!(
        versions_held(&w.servers[0].url, record).await == vec![1],
        "shares gone early"
    );
    let versioned = s
        .record_at(None, &w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    let owner_copy = w
        .patient
        .store
        .dir()
        .join(format!("{}.owner", hex::encode(versioned.content_hash)));
    ensure!(owner_copy.exists(), "no owner copy before the retirement");
    let retired = s
        .retire(&w.patient.signer, record, &w.patient.store)
        .await
        .map_err(|e| format!("retire: {e}"))?;
    for (url, deleted) in &retired.at_servers {
        ensure!(deleted == &Ok(1), "{url}: {deleted:?}");
    }
    // The patient's own copy of the key went too: no copy of it is left.
    ensure!(
        retired.own_copies_deleted == 1 && !owner_copy.exists(),
        "own copies deleted: {}",
        retired.own_copies_deleted
    );
    for server in &w.servers {
        ensure!(
            versions_held(&server.url, record).await.is_empty(),
            "{} kept a share",
            server.url
        );
    }
    let holdings = s
        .holdings(&w.patient.account(), record)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        holdings.status == medconsent_shared::RecordStatus::Retired
            && holdings.holding_current() == 0
            && holdings
                .at_servers
                .iter()
                .all(|(_, held)| held == &Ok(vec![])),
        "after retirement: {holdings:?}"
    );
    // The unused entry from before the retirement gets nothing.
    let now = chain_now(&s).await;
    let server = &w.servers[0];
    let got = post_release(
        &server.url,
        &signed_by(
            &w.doctor.signer,
            request_for(server.public_key, &unused, 1, &w.doctor, now),
        ),
    )
    .await;
    ensure!(got == (410, "retired".into()), "{got:?}");
    let out = w.out_path("retire.after");
    match read_as(&s, &w.doctor, record, &out).await {
        Err(FlowError::Denied(DenyReason::RecordRetired)) => Ok(()),
        other => Err(format!("after retirement: {other:?}")),
    }
}

/// The admin suspends server 3 and a client asks for the key servers while the
/// suspension is in the best block but not yet final (the dev node finalizes about a
/// second behind): the client waits for finality and leaves server 3 out, rather than
/// deposit to the directory of a block ago. The same wait covers a server just added
/// (the demo's put once spread its shares over two servers, not three).
pub async fn a_directory_change_not_yet_final_is_waited_for(w: &World) -> Outcome {
    let s = w.session().await;
    let admin = medconsent_chain::signer_from_uri("//Alice")?;
    let contracts = w.deployment.contracts();
    let suspended = w.servers[2].account;
    let status_at = |at| {
        let chain = s.chain.clone();
        async move {
            chain
                .read(
                    Some(at),
                    &suspended,
                    &contracts.consents,
                    &contracts.consents().provider(suspended),
                )
                .await
                .map_err(|e| e.to_string())
                .map(|p| p.map(|p| p.status))
        }
    };
    let chain = s.chain.clone();
    let suspend = tokio::spawn(async move {
        let mut consents = contracts.consents();
        chain
            .submit(
                &admin,
                &contracts.consents,
                &consents.suspend_provider(suspended),
            )
            .await
            .map(|(result, included)| (format!("{result:?}"), included.is_some()))
            .map_err(|e| e.to_string())
    });
    // The check, then the reactivation whatever its outcome: the scenarios after this
    // one need server 3.
    let checked = async {
        let started = Instant::now();
        let best = loop {
            let best = s.chain.best().await.map_err(|e| e.to_string())?;
            if status_at(best).await? == Some(ProviderStatus::Suspended) {
                break best;
            }
            ensure!(
                started.elapsed() < Duration::from_secs(30),
                "the suspension never reached a block"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let finalized = s.chain.finalized().await.map_err(|e| e.to_string())?;
        ensure!(
            finalized.number < best.number && status_at(finalized).await? == Some(ProviderStatus::Active),
            "the suspension was final before the client asked (block {}, finalized {}): nothing to wait for",
            best.number,
            finalized.number
        );
        let servers = s.key_servers().await.map_err(|e| e.to_string())?;
        let urls: Vec<&str> = servers.iter().map(|k| k.endpoint.url.as_str()).collect();
        let finalized = s.chain.finalized().await.map_err(|e| e.to_string())?;
        ensure!(
            urls == [w.servers[0].url.as_str(), w.servers[1].url.as_str()]
                && finalized.number >= best.number,
            "key servers {urls:?} with the suspension in block {} and finalized {}",
            best.number,
            finalized.number
        );
        Ok::<(), String>(())
    }
    .await;
    let (result, included) = suspend.await.map_err(|e| e.to_string())??;
    ensure!(included, "suspend_provider: {result}");
    let admin = medconsent_chain::signer_from_uri("//Alice")?;
    let (result, included) = s
        .chain
        .submit(
            &admin,
            &contracts.consents,
            &contracts.consents().reactivate_provider(suspended),
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure!(included.is_some(), "reactivate_provider: {result:?}");
    let servers = s.key_servers().await.map_err(|e| e.to_string())?;
    ensure!(
        servers.len() == 3,
        "{} servers after the reactivation",
        servers.len()
    );
    checked
}

/// The deployment pins each server's X25519 key: a server whose key in the directory is
/// another (a compromised admin, a lying node) is left out, never sealed to; with too few
/// left, nothing is. A file that lists fewer servers than the threshold says so before
/// any chain read.
pub async fn a_directory_key_that_is_not_the_pinned_one_is_never_sealed_to(w: &World) -> Outcome {
    let with_pins = |changed: &[usize]| {
        let mut deployment = w.deployment.clone();
        for &i in changed {
            deployment.key_servers[i].public_key[0] ^= 1;
        }
        deployment
    };
    let session = Session::connect(with_pins(&[2]))
        .await
        .map_err(|e| e.to_string())?;
    let servers = session.key_servers().await.map_err(|e| e.to_string())?;
    let urls: Vec<&str> = servers.iter().map(|s| s.endpoint.url.as_str()).collect();
    ensure!(
        urls == [w.servers[0].url.as_str(), w.servers[1].url.as_str()],
        "server 3's key is not pinned, yet the usable servers are {urls:?}"
    );
    let session = Session::connect(with_pins(&[0, 2]))
        .await
        .map_err(|e| e.to_string())?;
    let refused = session.key_servers().await;
    ensure!(
        matches!(
            refused,
            Err(FlowError::TooFewServers {
                active: 1,
                needed: 2
            })
        ),
        "two keys not pinned: {refused:?}"
    );
    // A put with them refuses before anything is sealed or registered.
    let next_record_id = || async {
        let registry = w.deployment.contracts().registry;
        let query = w.deployment.contracts().registry().next_record_id();
        session
            .chain
            .read(None, &w.patient.account(), &registry, &query)
            .await
            .map_err(|e| e.to_string())
    };
    let next = next_record_id().await?;
    let put = session
        .put(
            &w.patient.signer,
            &w.patient.secret,
            &w.plaintext("unpinned.txt", "never sealed"),
            3,
            &w.patient.store,
        )
        .await;
    ensure!(
        matches!(put, Err(FlowError::TooFewServers { .. })),
        "put: {put:?}"
    );
    let after = next_record_id().await?;
    ensure!(next == after, "a record was registered: {next} -> {after}");
    let mut short = w.deployment.clone();
    short.key_servers.truncate(1);
    let session = Session::connect(short).await.map_err(|e| e.to_string())?;
    let refused = session.key_servers().await;
    ensure!(
        matches!(
            refused,
            Err(FlowError::TooFewListed {
                listed: 1,
                needed: 2
            })
        ),
        "one server listed: {refused:?}"
    );
    Ok(())
}

/// How long a server that missed a retirement may keep its share once it is back: its
/// sweep runs at start and every second here (`--retired-sweep-ms 1000`).
const SWEEP_BOUND: Duration = Duration::from_secs(10);

/// Polls until `server` holds no share of `record`; how long that took.
async fn gone_within(url: &str, record: RecordId, bound: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let held = versions_held(url, record).await;
        if held.is_empty() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > bound {
            return Err(format!("{url} still holds {held:?} after {bound:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn a_server_that_missed_a_retirement_deletes_when_it_returns(w: &World) -> Outcome {
    let s = w.session().await;
    let down = put(w, &s, "missed-down.txt", "missed").await?;
    let suspended = put(w, &s, "missed-suspended.txt", "missed").await?;
    let server = &w.servers[2];
    // Down when the patient retires: the others confirm, it cannot.
    server.kill();
    let retired = s
        .retire(&w.patient.signer, down, &w.patient.store)
        .await
        .map_err(|e| format!("retire: {e}"))?;
    let confirmed: Vec<bool> = retired.at_servers.iter().map(|(_, r)| r.is_ok()).collect();
    ensure!(
        confirmed == [true, true, false],
        "confirmed {:?}",
        retired.at_servers
    );
    server.start(&w.deployment_file);
    let took = gone_within(&server.url, down, SWEEP_BOUND).await?;
    println!("    a returning server deleted a missed record's share {took:.1?} after its start");
    // Asking again finishes the servers' part (the record is already retired on chain).
    let again = s
        .retire(&w.patient.signer, down, &w.patient.store)
        .await
        .map_err(|e| format!("retire again: {e}"))?;
    ensure!(
        again.at_servers.iter().all(|(_, r)| r == &Ok(0)),
        "retire again: {:?}",
        again.at_servers
    );
    // Suspended and down: it deletes by itself all the same.
    set_suspended(w, &s, server.account, true).await?;
    server.kill();
    let retired = s
        .retire(&w.patient.signer, suspended, &w.patient.store)
        .await
        .map_err(|e| format!("retire: {e}"))?;
    server.start(&w.deployment_file);
    let took = gone_within(&server.url, suspended, SWEEP_BOUND).await;
    set_suspended(w, &s, server.account, false).await?;
    ensure!(
        retired.at_servers[2].1.is_err(),
        "a down server confirmed: {:?}",
        retired.at_servers
    );
    took?;
    Ok(())
}

pub async fn sigterm_ends_a_server_cleanly_and_it_comes_back(w: &World) -> Outcome {
    let server = &w.servers[2];
    let before = health(&server.url).await?;
    let status = server.terminate().ok_or("the server was not running")?;
    server.start(&w.deployment_file);
    let log = std::fs::read_to_string(&server.log).map_err(|e| e.to_string())?;
    ensure!(status.success(), "exit status after SIGTERM: {status}");
    ensure!(
        log.contains("shutting down: finishing the requests in flight")
            && log.contains("shut down: every answered request's writes were committed"),
        "no shutdown lines in the log"
    );
    let after = health(&server.url).await?;
    ensure!(
        after["shares"] == before["shares"] && after["releases"] == before["releases"],
        "{before} -> {after}"
    );
    Ok(())
}
