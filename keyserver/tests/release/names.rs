//! Providers by their display names, through the command as people would use it: the
//! admin names, a patient grants `--to "Dr …"`, the listing shows the name beside the
//! account; a stranger's, a malformed, an unknown and an ambiguous name are each refused
//! in words with their exit code, and nothing changes. The providers here are new ones,
//! so the names show in no other scenario's output.

use crate::commands::{medconsent, run_ok};
use crate::fixtures::*;

fn account_of_uri(uri: &str) -> String {
    let signer = medconsent_chain::signer_from_uri(uri).expect("a dev-style account");
    medconsent_chain::ss58(&medconsent_chain::account_of(&signer))
}

fn directory(w: &World) -> Result<String, String> {
    run_ok(w, &["providers"])
}

fn bobs_consents(w: &World) -> Result<String, String> {
    let bob = medconsent_chain::ss58(&w.patient.account());
    run_ok(w, &["consents", "--patient", &bob])
}

fn register(w: &World, account: &str, name: &str) -> Result<String, String> {
    let key = format!("0x{}", hex::encode([7u8; 32]));
    run_ok(
        w,
        &[
            "admin",
            "register",
            "--suri",
            "//Alice",
            "--account",
            account,
            "--roles",
            "clinician",
            "--public-key",
            &key,
            "--name",
            name,
        ],
    )
}

/// Bob's grant to `to` (genetics, for operations): exit code, stdout, stderr.
fn grant_to(w: &World, to: &str) -> (i32, String, String) {
    medconsent(
        w,
        &[
            "grant",
            "--suri",
            "//Bob",
            "--to",
            to,
            "--scope",
            "category:genetics",
            "--purposes",
            "hoperat",
        ],
    )
}

pub async fn providers_go_by_their_names(w: &World) -> Outcome {
    let nadia = account_of_uri("//NadiaNames");
    let other = account_of_uri("//OtherNadia");
    let out = register(w, &nadia, "Dr Nadia Names")?;
    ensure!(
        out == format!("registered={nadia}\nname=Dr Nadia Names\n"),
        "register: {out}"
    );
    let listed = directory(w)?;
    ensure!(
        listed.lines().any(|l| l.starts_with(&format!(
            "Dr Nadia Names ({nadia}) roles=clinician status=active "
        ))),
        "{listed}"
    );

    // Refusals: a stranger (exit 1), a malformed name (exit 2, nothing sent), an account
    // not in the directory (exit 1); the directory is as it was.
    let (code, _, err) = medconsent(
        w,
        &[
            "admin",
            "name",
            "--suri",
            "//Eve",
            "--account",
            &nadia,
            "--name",
            "Dr Evil",
        ],
    );
    ensure!(
        code == 1 && err.contains("only the consent manager's admin may do this"),
        "a stranger naming: {code} {err}"
    );
    for bad in [
        " Dr Nadia",
        "Dr\tNadia",
        "Dr Nadia\u{202e}",
        "anyone",
        &"N".repeat(65),
    ] {
        let (code, _, err) = medconsent(
            w,
            &[
                "admin",
                "name",
                "--suri",
                "//Alice",
                "--account",
                &nadia,
                "--name",
                bad,
            ],
        );
        ensure!(
            code == 2 && err.contains("a display name is 1 to 64 bytes of Latin letters"),
            "{bad:?}: {code} {err}"
        );
    }
    let (code, _, err) = medconsent(
        w,
        &[
            "admin",
            "name",
            "--suri",
            "//Alice",
            "--account",
            &other,
            "--name",
            "Dr Other",
        ],
    );
    ensure!(
        code == 1 && err.contains("the account is not in the directory"),
        "naming a stranger's account: {code} {err}"
    );
    ensure!(directory(w)? == listed, "a refusal changed the directory");

    // By name, whatever its case: the entry, and a grant that shows it beside the account.
    let out = run_ok(w, &["provider", "--account", "dr nadia names"])?;
    ensure!(
        out.starts_with(&format!(
            "provider=Dr Nadia Names ({nadia}) roles=clinician"
        )),
        "{out}"
    );
    let (code, out, err) = grant_to(w, "Dr Nadia Names");
    ensure!(code == 0, "grant by name: {code} {err}");
    ensure!(
        out.contains(&format!(
            " permit to=Dr Nadia Names ({nadia}) scope=category:genetics"
        )),
        "{out}"
    );
    let consent = out
        .lines()
        .find_map(|l| l.strip_prefix("consent="))
        .ok_or("no consent id")?
        .to_owned();
    let consent_id: u64 = consent.parse().map_err(|_| format!("consent={consent}"))?;
    let bob = medconsent_chain::ss58(&w.patient.account());
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(w, &["consents", "--patient", &bob, "--json"])?)
            .map_err(|e| e.to_string())?;
    let shown = json["consents"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == consent_id))
        .ok_or("the consent is not listed")?;
    ensure!(
        shown["grantee"] == nadia.as_str() && shown["grantee_name"] == "Dr Nadia Names",
        "{shown}"
    );

    // An unknown name lists the names there are; an ambiguous one its candidates with
    // their accounts. Each exits 2 and grants nothing.
    let consents = bobs_consents(w)?;
    let (code, _, err) = grant_to(w, "Dr Who");
    ensure!(
        code == 2
            && err.contains("no provider is named \"Dr Who\"")
            && err.contains(&format!("Dr Nadia Names ({nadia})")),
        "an unknown name: {code} {err}"
    );
    let mut typo = nadia.clone();
    typo.replace_range(5..6, if &nadia[5..6] == "a" { "b" } else { "a" });
    let (code, _, err) = grant_to(w, &typo);
    ensure!(
        code == 2 && !err.contains("no provider is named"),
        "a mistyped address: {code} {err}"
    );
    register(w, &other, "DR NADIA NAMES")?;
    let (code, _, err) = grant_to(w, "Dr Nadia Names");
    ensure!(
        code == 2
            && err.contains("2 providers are named \"Dr Nadia Names\"")
            && err.contains(&format!("Dr Nadia Names ({nadia})"))
            && err.contains(&format!("DR NADIA NAMES ({other})")),
        "an ambiguous name: {code} {err}"
    );
    ensure!(bobs_consents(w)? == consents, "a refused name granted");

    // The account still works where the name is ambiguous.
    let out = run_ok(
        w,
        &[
            "revoke",
            "--suri",
            "//Bob",
            "--consent",
            &consent,
            "--to",
            &nadia,
        ],
    )?;
    ensure!(
        out.starts_with(&format!(
            "revoked=consent={consent} permit to=Dr Nadia Names ({nadia})"
        )),
        "{out}"
    );
    Ok(())
}
