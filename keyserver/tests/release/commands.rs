//! The `medconsent` command for consents and the directory, run as a person would:
//! grants in words, refusals in words with a non-zero exit, and nothing changed by a
//! refusal.

use crate::fixtures::*;

/// Runs `medconsent ARGS --deployment <the world's>`: (exit code, stdout, stderr).
pub fn medconsent(w: &World, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(crate::world::medconsent_bin())
        .args(args)
        .arg("--deployment")
        .arg(&w.deployment_file)
        .output()
        .expect("medconsent runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `medconsent ARGS` that must succeed: its stdout.
pub fn run_ok(w: &World, args: &[&str]) -> Result<String, String> {
    let (code, out, err) = medconsent(w, args);
    ensure!(code == 0, "{args:?}: exit {code}: {err}");
    Ok(out)
}

/// Charlie, the patient here: a pair of patient and grantee holds at most 8 active
/// rules, and the other scenarios' grants are Charlie's.
fn charlie_account() -> String {
    let signer = medconsent_chain::signer_from_uri("//Charlie").expect("a dev account");
    medconsent_chain::ss58(&medconsent_chain::account_of(&signer))
}

/// `medconsent consents` of Charlie: the lines listed.
fn listed(w: &World) -> Result<Vec<String>, String> {
    let charlie = charlie_account();
    let (code, out, err) = medconsent(w, &["consents", "--patient", &charlie]);
    ensure!(code == 0, "consents: {code} {err}");
    Ok(out.lines().map(str::to_owned).collect())
}

pub async fn consents_and_the_directory_in_words(w: &World) -> Outcome {
    let dave = medconsent_chain::ss58(&w.doctor.account());
    let charlie = charlie_account();
    let (code, out, err) = medconsent(
        w,
        &[
            "grant",
            "--suri",
            "//Charlie",
            "--to",
            &dave,
            "--scope",
            "category:9",
            "--actions",
            "read",
            "--purposes",
            "treat,hoperat",
            "--until",
            "2099-01-01",
        ],
    );
    ensure!(code == 0, "grant: {code} {err}");
    let id: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("consent=")?.parse().ok())
        .ok_or(format!("no consent= in {out}"))?;
    let line = format!(
        "consent={id} permit to={dave} scope=category:mental-health actions=read purposes=treat,hoperat \
         from=1970-01-01 00:00 UTC until=2099-01-01 00:00 UTC status=active"
    );
    ensure!(listed(w)?.contains(&line), "not listed as {line}");
    let before = listed(w)?;
    // Refusals, each in words with its exit status (1 refused by the chain, 2 a local
    // mistake caught before anything is sent), each leaving the consents as they were.
    let id_text = id.to_string();
    let refusals: [(&[&str], &str, i32); 6] = [
        // Eve is no delegate of Charlie's.
        (
            &[
                "revoke",
                "--suri",
                "//Eve",
                "--consent",
                &id_text,
                "--to",
                &dave,
                "--for",
                &charlie,
            ],
            "the signer is neither the patient nor a delegate in force",
            1,
        ),
        // A permit to anyone is not a thing.
        (
            &[
                "grant",
                "--suri",
                "//Charlie",
                "--to",
                "anyone",
                "--purposes",
                "treat",
            ],
            "\"anyone\" may only be restricted, never granted",
            1,
        ),
        // An unknown purpose is caught before anything is sent.
        (
            &[
                "grant",
                "--suri",
                "//Charlie",
                "--to",
                &dave,
                "--purposes",
                "billing",
            ],
            "purpose \"billing\" is not one of: treat, etreat",
            2,
        ),
        (
            &[
                "grant",
                "--suri",
                "//Charlie",
                "--to",
                &dave,
                "--purposes",
                "treat",
                "--until",
                "2027-02-30",
            ],
            "\"2027-02-30\": a date is YYYY-MM-DD (UTC)",
            2,
        ),
        (
            &[
                "revoke",
                "--suri",
                "//Charlie",
                "--consent",
                "999999",
                "--to",
                &dave,
            ],
            "the patient has no consent with this id",
            1,
        ),
        // Charlie names another grantee than the consent's: caught before anything is sent.
        (
            &[
                "revoke",
                "--suri",
                "//Charlie",
                "--consent",
                &id_text,
                "--to",
                "anyone",
            ],
            "is to 5",
            1,
        ),
    ];
    for (args, said, status) in refusals {
        let (code, _, err) = medconsent(w, args);
        ensure!(
            code == status && err.contains(said) && !err.contains("Error::"),
            "{args:?}: exit {code}, said {err}"
        );
        ensure!(listed(w)? == before, "{args:?} changed the consents");
    }
    // The directory: a non-admin cannot register; an unknown account is said so.
    let (code, _, err) = medconsent(
        w,
        &[
            "admin",
            "register",
            "--suri",
            "//Charlie",
            "--account",
            &charlie,
            "--roles",
            "clinician",
            "--public-key",
            &format!("0x{}", "11".repeat(32)),
        ],
    );
    ensure!(
        code == 1 && err.contains("only the consent manager's admin may do this"),
        "Charlie registering: {code} {err}"
    );
    let (code, _, err) = medconsent(w, &["provider", "--account", &charlie]);
    ensure!(
        code == 1 && err.contains("is not in the provider directory"),
        "Charlie's entry: {code} {err}"
    );
    let (code, out, _) = medconsent(w, &["provider", "--account", &dave]);
    ensure!(
        code == 0 && out.contains("roles=clinician status=active"),
        "Dave's entry: {out}"
    );
    // Ferdie, appointed Charlie's delegate, restricts and revokes for him; removed, he can
    // do neither, and the consents stay as they were.
    let ferdie = medconsent_chain::ss58(&medconsent_chain::account_of(
        &medconsent_chain::signer_from_uri("//Ferdie")?,
    ));
    let (code, out, err) = medconsent(
        w,
        &[
            "delegate",
            "appoint",
            "--suri",
            "//Charlie",
            "--to",
            &ferdie,
            "--until",
            "2099-01-01",
        ],
    );
    ensure!(
        code == 0 && out.trim() == format!("appointed={ferdie}\nuntil=2099-01-01 00:00 UTC"),
        "appoint: {out} {err}"
    );
    let (code, out, err) = medconsent(
        w,
        &[
            "restrict",
            "--suri",
            "//Ferdie",
            "--for",
            &charlie,
            "--to",
            "anyone",
            "--scope",
            "category:9",
            "--purposes",
            "hresch",
        ],
    );
    ensure!(code == 0, "Ferdie's restriction: {err}");
    let restriction = out
        .lines()
        .find_map(|l| l.strip_prefix("consent="))
        .ok_or(format!("no consent= in {out}"))?
        .to_owned();
    ensure!(
        listed(w)?.iter().any(|l| l.starts_with(&format!(
            "consent={restriction} restrict to=anyone scope=category:mental-health actions=read purposes=hresch"
        ))),
        "the restriction is not listed"
    );
    let (code, _, err) = medconsent(
        w,
        &[
            "revoke",
            "--suri",
            "//Ferdie",
            "--for",
            &charlie,
            "--consent",
            &restriction,
            "--to",
            "anyone",
        ],
    );
    ensure!(code == 0, "Ferdie's revocation: {err}");
    let (code, _, err) = medconsent(
        w,
        &["delegate", "remove", "--suri", "//Charlie", "--to", &ferdie],
    );
    ensure!(code == 0, "remove: {err}");
    let before = listed(w)?;
    let (code, _, err) = medconsent(
        w,
        &[
            "grant",
            "--suri",
            "//Ferdie",
            "--for",
            &charlie,
            "--to",
            &dave,
            "--purposes",
            "treat",
        ],
    );
    ensure!(
        code == 1 && err.contains("the signer is neither the patient nor a delegate in force"),
        "a removed delegate's grant: {code} {err}"
    );
    ensure!(
        listed(w)? == before,
        "a removed delegate's grant changed the consents"
    );
    // Break-glass refused, then allowed again (other scenarios rely on it).
    for (choice, said) in [("refuse", "refused"), ("allow", "allowed")] {
        let (code, out, err) = medconsent(w, &["emergency-opt-out", "--suri", "//Charlie", choice]);
        ensure!(
            code == 0 && out.trim() == format!("break_glass={said}\npatient={charlie}"),
            "{choice}: {out} {err}"
        );
    }
    // Charlie revokes: listed as revoked, kept in the history.
    let (code, out, err) = medconsent(
        w,
        &[
            "revoke",
            "--suri",
            "//Charlie",
            "--consent",
            &id_text,
            "--to",
            &dave,
        ],
    );
    ensure!(
        code == 0 && out.starts_with(&format!("revoked=consent={id} ")),
        "{out} {err}"
    );
    let revoked = format!("consent={id} permit to={dave} scope=category:mental-health");
    ensure!(
        listed(w)?
            .iter()
            .any(|l| l.starts_with(&revoked) && l.contains("status=revoked ")),
        "not listed as revoked"
    );
    Ok(())
}
