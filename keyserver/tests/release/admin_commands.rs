//! The admin's commands for governance, run as the admin would: pause and resume,
//! schedule and cancel a change, offer the role and take it back; a stranger is refused
//! each in words with exit 1, and a paused consent manager refuses a grant in words.

use crate::commands::medconsent;
use crate::fixtures::*;

/// `medconsent admin changes`: one line per contract.
fn changes(w: &World) -> Result<String, String> {
    let (code, out, err) = medconsent(w, &["admin", "changes"]);
    ensure!(code == 0, "changes: {code} {err}");
    Ok(out)
}

fn line_of<'a>(changes: &'a str, contract: &str) -> &'a str {
    changes
        .lines()
        .find(|l| l.starts_with(contract))
        .unwrap_or_default()
}

pub async fn the_admin_pauses_schedules_and_hands_over_in_words(w: &World) -> Outcome {
    let alice = medconsent_chain::ss58(&medconsent_chain::account_of(
        &medconsent_chain::signer_from_uri("//Alice").expect("a dev account"),
    ));
    let bob = medconsent_chain::ss58(&w.patient.account());
    let before = changes(w)?;
    ensure!(
        line_of(&before, "consent_manager").starts_with(&format!(
            "consent_manager admin={alice} successor=none running "
        )),
        "{before}"
    );

    // A stranger is refused each, in words, and nothing changes.
    for args in [
        &[
            "admin",
            "pause",
            "--suri",
            "//Eve",
            "--contract",
            "consents",
        ][..],
        &[
            "admin",
            "cancel",
            "--suri",
            "//Eve",
            "--contract",
            "registry",
        ][..],
        &[
            "admin",
            "propose",
            "--suri",
            "//Eve",
            "--contract",
            "log",
            "--to",
            &bob,
        ][..],
    ] {
        let (code, _, err) = medconsent(w, args);
        ensure!(
            code == 1 && err.contains("admin may do this") && !err.contains("Error::"),
            "{args:?}: {code} {err}"
        );
    }
    ensure!(changes(w)? == before, "a stranger changed something");

    // Paused: a grant is refused in words; resumed: the state is as before.
    let (code, out, err) = medconsent(
        w,
        &[
            "admin",
            "pause",
            "--suri",
            "//Alice",
            "--contract",
            "consents",
        ],
    );
    ensure!(
        code == 0 && out.trim() == "paused=consent_manager",
        "pause: {err}"
    );
    ensure!(
        line_of(&changes(w)?, "consent_manager").contains(" paused "),
        "not shown as paused"
    );
    let (code, _, err) = medconsent(
        w,
        &[
            "grant",
            "--suri",
            "//Bob",
            "--to",
            &alice,
            "--scope",
            "category:genetics",
            "--purposes",
            "hoperat",
        ],
    );
    ensure!(
        code == 1 && err.contains("the consent manager is paused"),
        "a grant while paused: {code} {err}"
    );
    let (code, _, err) = medconsent(
        w,
        &[
            "admin",
            "resume",
            "--suri",
            "//Alice",
            "--contract",
            "consents",
        ],
    );
    ensure!(code == 0, "resume: {err}");
    ensure!(changes(w)? == before, "resumed, the state differs");

    // A change announced waits for its delay; cancelled, nothing is scheduled.
    let wiring = format!(
        "{},{}",
        medconsent_chain::ss58(&w.deployment.contracts().registry),
        medconsent_chain::ss58(&w.deployment.contracts().consents)
    );
    let (code, out, err) = medconsent(
        w,
        &[
            "admin",
            "schedule",
            "--suri",
            "//Alice",
            "--contract",
            "log",
            "--peers",
            &wiring,
        ],
    );
    ensure!(
        code == 0 && out.starts_with("scheduled=access_log\neffective="),
        "schedule: {code} {out} {err}"
    );
    ensure!(
        line_of(&changes(w)?, "access_log").contains(&format!("scheduled=peers {wiring} from ")),
        "the scheduled change is not shown"
    );
    let (code, _, err) = medconsent(
        w,
        &["admin", "cancel", "--suri", "//Alice", "--contract", "log"],
    );
    ensure!(code == 0, "cancel: {err}");
    ensure!(changes(w)? == before, "cancelled, the state differs");

    // The role offered to Bob: only Bob could accept; offered back, Alice keeps it.
    let (code, _, err) = medconsent(
        w,
        &[
            "admin",
            "propose",
            "--suri",
            "//Alice",
            "--contract",
            "log",
            "--to",
            &bob,
        ],
    );
    ensure!(code == 0, "propose: {err}");
    ensure!(
        line_of(&changes(w)?, "access_log").contains(&format!("successor={bob} ")),
        "the successor is not shown"
    );
    let (code, _, err) = medconsent(
        w,
        &["admin", "accept", "--suri", "//Eve", "--contract", "log"],
    );
    ensure!(
        code == 1 && err.contains("only the account the admin role was offered to"),
        "Eve accepting: {code} {err}"
    );
    for args in [
        &[
            "admin",
            "propose",
            "--suri",
            "//Alice",
            "--contract",
            "log",
            "--to",
            &alice,
        ][..],
        &["admin", "accept", "--suri", "//Alice", "--contract", "log"][..],
    ] {
        let (code, _, err) = medconsent(w, args);
        ensure!(code == 0, "{args:?}: {err}");
    }
    ensure!(changes(w)? == before, "the role came back changed");
    Ok(())
}
