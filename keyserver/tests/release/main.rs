//! Key release end to end: a real node, the deployed contracts, three key-server
//! processes, and the client library doing what `medconsent put/get/rotate/retire` do.
//! Run by scripts/test.sh after the release builds; prints libtest-style lines.
//!
//! `world` starts the node and the servers; `fixtures` holds the steps the scenarios
//! share; each other module is one group of scenarios; `hostile` is a lying server,
//! `lying_node` a lying node;
//! `bench` and `bench_fhir` measure for BENCHMARKS.md.

use futures::future::BoxFuture;
use std::time::Instant;
use world::World;

type Outcome = Result<(), String>;
type Scenario = fn(&'static World) -> BoxFuture<'static, Outcome>;

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// (name, scenario) for each async scenario function named (by path).
macro_rules! scenarios {
    ($($module:ident::$name:ident),* $(,)?) => {
        vec![$((
            stringify!($name),
            (|w: &'static World| -> BoxFuture<'static, Outcome> { Box::pin($module::$name(w)) }) as Scenario,
        )),*]
    };
}

mod admin_commands;
mod authors;
mod availability;
mod bench;
mod bench_fhir;
mod chart_commands;
mod commands;
mod fhir_commands;
mod fhir_server;
mod fixtures;
mod hostile;
mod hostile_servers;
mod justifications;
mod load;
mod lying_node;
mod lying_nodes;
mod names;
mod pinned_contracts;
mod reading;
mod refusals;
mod relayed;
mod retention;
#[path = "../support/s3.rs"]
mod s3;
mod s3_store;
mod suspensions;
mod tls;
mod world;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let scenarios: Vec<(&str, Scenario)> = scenarios![
        reading::no_key_before_the_grant_and_a_key_after_it,
        reading::a_replayed_request_is_refused_as_used,
        reading::sixteen_requests_for_one_entry_release_once,
        reading::another_readers_entry_and_forged_signatures_are_refused,
        reading::an_entry_for_another_record_is_refused,
        refusals::refused_deposits_and_unsealable_releases_change_nothing,
        reading::a_stale_entry_is_refused,
        refusals::malformed_requests_get_4xx_and_the_server_keeps_serving,
        refusals::a_stranger_stores_nothing_and_a_slow_body_is_cut_off,
        availability::one_server_down_still_decrypts_two_down_is_a_clear_error_and_sigkill_loses_nothing,
        reading::rotation_moves_readers_to_the_new_version,
        reading::no_key_after_the_revoke,
        availability::retiring_destroys_every_share,
        availability::a_server_that_missed_a_retirement_deletes_when_it_returns,
        retention::a_retired_or_rotated_records_ciphertext_is_deleted,
        authors::a_clinician_adds_a_result_the_patient_opens,
        commands::consents_and_the_directory_in_words,
        chart_commands::the_chart_and_break_glass_refuse_in_words_and_local_mistakes_spend_nothing,
        relayed::a_signed_consent_is_relayed_once_and_a_changed_or_voided_one_never,
        admin_commands::the_admin_pauses_schedules_and_hands_over_in_words,
        names::providers_go_by_their_names,
        justifications::the_patient_reads_what_the_responder_claimed,
        fhir_commands::consents_and_the_trail_speak_fhir_r5,
        fhir_server::a_fhir_client_searches_the_rest_api,
        retention::a_strangers_copy_of_a_content_hash_deletes_nothing_when_retired,
        availability::sigterm_ends_a_server_cleanly_and_it_comes_back,
        availability::a_directory_change_not_yet_final_is_waited_for,
        availability::a_directory_key_that_is_not_the_pinned_one_is_never_sealed_to,
        lying_nodes::a_lying_node_fools_a_lone_server_never_a_quorum,
        lying_nodes::a_forged_request_costs_no_chain_read,
        lying_nodes::a_block_older_than_the_servers_clock_allows_is_not_acted_on,
        suspensions::a_suspended_reader_or_key_server_gets_and_gives_nothing,
        hostile_servers::a_hostile_key_server_costs_tries_never_a_wrong_key_nor_a_stall,
        hostile_servers::a_server_claiming_another_key_is_sent_no_share,
        pinned_contracts::a_rewired_registry_stops_every_release_until_reviewed,
        tls::a_server_over_tls_is_trusted_through_the_deployments_authority,
        s3_store::a_server_keeps_ciphertext_in_an_s3_store,
        load::load_concurrent_releases_none_lost_none_wrong,
    ];
    let world: &'static World = Box::leak(Box::new(runtime.block_on(World::start())));
    let bench = std::env::args().any(|a| a == "--bench");
    let bench_fhir = std::env::args().any(|a| a == "--bench-fhir");
    if bench || bench_fhir {
        // scripts/bench.sh: the figures for BENCHMARKS.md instead of the scenarios.
        let out = std::env::var_os("MEDCONSENT_BENCH_OUT")
            .map_or_else(|| world::repo_root().join("BENCHMARKS.md"), Into::into);
        let outcome = if bench {
            runtime.block_on(bench::run(world, &out))
        } else {
            runtime.block_on(bench_fhir::run(world, &out))
        };
        world.shutdown();
        if let Err(why) = outcome {
            eprintln!("bench failed: {why}");
            std::process::exit(1);
        }
        return;
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (name, scenario) in scenarios {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let started = Instant::now();
        match runtime.block_on(scenario(world)) {
            Ok(()) => {
                passed += 1;
                println!(
                    "test {name} ... ok ({:.1} s)",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n    {why}");
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("test result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out");
    world.shutdown();
    std::process::exit(i32::from(failed > 0));
}
