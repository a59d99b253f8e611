//! The hospital system's FHIR commands on a real chain: a patient's consents and audit
//! trail export as FHIR R5 Bundles that an independent implementation (Python's
//! fhir.resources) accepts, the audit export holds every entry of its window once, an
//! exported consent imports back to the same terms and is granted with --submit, and
//! what medconsent cannot express is refused by element before anything is sent. The
//! patient who submits is a new one (//Alice//stash), so no other scenario's consent
//! counts change.

use crate::commands::{medconsent, run_ok};
use crate::fixtures::*;

/// The validator the fhir crate's tests use too.
pub fn validate(files: &[&std::path::Path]) -> Result<String, String> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fhir/tests/validate_r5.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(files)
        .output()
        .map_err(|e| e.to_string())?;
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure!(
        out.status.success(),
        "not valid FHIR R5: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(said)
}

fn json_of(path: &std::path::Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn resources(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|entries| entries.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

pub async fn consents_and_the_trail_speak_fhir_r5(w: &World) -> Outcome {
    let bob = medconsent_chain::ss58(&w.patient.account());
    // Of Bob's own: a record Eve is denied, then granted for that record alone.
    let s = w.session().await;
    let record = put(w, &s, "fhir.txt", "for the FHIR export").await?;
    let denied = s
        .get(
            &w.stranger.signer,
            &w.stranger.secret,
            record,
            Purpose::Treat,
            &w.stranger.store,
            &w.out_path("fhir.denied"),
        )
        .await;
    ensure!(matches!(denied, Err(FlowError::Denied(_))), "{denied:?}");
    let eve = medconsent_chain::ss58(&w.stranger.account());
    let scope = format!("record:{record}");
    run_ok(
        w,
        &[
            "grant",
            "--suri",
            "//Bob",
            "--to",
            &eve,
            "--scope",
            &scope,
            "--actions",
            "read",
            "--purposes",
            "treat",
            "--until",
            "2099-01-01",
        ],
    )?;
    let (consents_file, audit_file) = (
        w.out_path("bob-consents.json"),
        w.out_path("bob-audit.json"),
    );

    // Bob's consents: one Consent each, revoked ones too, every one valid R5.
    run_ok(
        w,
        &[
            "fhir",
            "consents",
            "--patient",
            &bob,
            "--out",
            consents_file.to_str().unwrap(),
        ],
    )?;
    let listed: Value =
        serde_json::from_str(&run_ok(w, &["consents", "--patient", &bob, "--json"])?)
            .map_err(|e| e.to_string())?;
    let consents = resources(&json_of(&consents_file)?);
    ensure!(
        Some(consents.len() as u64) == listed["consents_count"].as_u64() && !consents.is_empty(),
        "{} Consents for {listed}",
        consents.len()
    );
    // The trail: one AuditEvent per verified entry, each seq once.
    run_ok(
        w,
        &[
            "fhir",
            "audit",
            "--patient",
            &bob,
            "--out",
            audit_file.to_str().unwrap(),
        ],
    )?;
    let events = resources(&json_of(&audit_file)?);
    let verified: Value =
        serde_json::from_str(&run_ok(w, &["audit", "--patient", &bob, "--json"])?)
            .map_err(|e| e.to_string())?;
    let entries = verified["verified"]["entries"].as_u64().unwrap_or(0);
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    // The trail may have grown between the two reads (other scenarios run before only).
    ensure!(
        ids.len() == events.len() && events.len() as u64 == entries,
        "{} AuditEvents ({} distinct) for {entries} entries",
        events.len(),
        ids.len()
    );
    let said = validate(&[&consents_file, &audit_file])?;
    ensure!(said.matches(" resources valid").count() == 2, "{said}");
    // A denial is a failure with its reason; an access names its purpose.
    ensure!(
        events
            .iter()
            .any(|e| e["code"]["coding"][0]["code"] == "denied"
                && e["outcome"]["code"]["code"] == "4"
                && e["outcome"]["detail"][0]["text"].is_string()),
        "no denial with its reason"
    );
    // A window before the chain began holds nothing.
    let empty = run_ok(
        w,
        &[
            "fhir",
            "audit",
            "--patient",
            &bob,
            "--from",
            "2000-01-01",
            "--until",
            "2000-01-02",
        ],
    )?;
    let empty: Value = serde_json::from_str(&empty).map_err(|e| format!("{e}: {empty}"))?;
    ensure!(resources(&empty).is_empty(), "{empty}");

    // Export then import: an active permit of Bob's reads back to the same terms.
    let permit = consents
        .iter()
        // R5: the base is deny, the provision the exception; a restriction's provision
        // carries the restriction modifier.
        .find(|c| {
            c["status"] == "active"
                && c["decision"] == "deny"
                && c["provision"][0].get("modifierExtension").is_none()
        })
        .ok_or("no active permit of Bob's")?;
    let one = w.out_path("one-consent.json");
    std::fs::write(&one, permit.to_string()).unwrap();
    let imported: Value = serde_json::from_str(&run_ok(
        w,
        &["fhir", "import", one.to_str().unwrap(), "--json"],
    )?)
    .map_err(|e| e.to_string())?;
    let id: u64 = permit["id"]
        .as_str()
        .and_then(|id| id.rsplit('-').next()?.parse().ok())
        .ok_or("an id")?;
    let original = listed["consents"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == id))
        .ok_or("the original")?;
    for field in [
        "decision", "grantee", "scope", "actions", "purposes", "from", "until",
    ] {
        ensure!(
            imported["terms"][field] == original[field],
            "{field}: imported {} original {}",
            imported["terms"][field],
            original[field]
        );
    }
    ensure!(
        imported["maps_to"] == "grant" && imported["patient"] == bob.as_str(),
        "{imported}"
    );

    // `resource` imported and submitted by Alice//stash: (exit code, stdout, stderr).
    let submit_as_alice = |resource: &Value| {
        std::fs::write(&one, resource.to_string()).unwrap();
        medconsent(
            w,
            &[
                "fhir",
                "import",
                one.to_str().unwrap(),
                "--submit",
                "--suri",
                "//Alice//stash",
            ],
        )
    };
    // Submitted by another patient than its subject: refused before anything is sent.
    let (code, _, err) = submit_as_alice(permit);
    ensure!(code == 2 && err.contains("subject"), "{code} {err}");
    let alice = medconsent_chain::ss58(&medconsent_chain::account_of(
        &medconsent_chain::signer_from_uri("//Alice//stash").map_err(|e| e.to_string())?,
    ));
    // A Consent without a subject is not granted for whoever signs: refused in words.
    let mut nobodys = permit.clone();
    nobodys.as_object_mut().unwrap().remove("subject");
    let (code, _, err) = submit_as_alice(&nobodys);
    ensure!(
        code == 2 && err.contains("names no subject"),
        "{code} {err}"
    );
    // Like terms with Alice//stash as their subject: granted, and listed as such.
    let mut hers = permit.clone();
    hers["subject"]["identifier"]["value"] = alice.as_str().into();
    // Her records, not Bob's: every record of hers.
    hers["provision"][0].as_object_mut().unwrap().remove("data");
    let (code, granted, err) = submit_as_alice(&hers);
    ensure!(code == 0, "her grant: exit {code}: {err}");
    ensure!(
        granted.contains("consent=0\n") && granted.contains("status=active"),
        "{granted}"
    );
    let hers_listed = run_ok(w, &["consents", "--patient", &alice])?;
    ensure!(
        hers_listed.contains("consent=0 permit to=") && hers_listed.contains("consents_count=1"),
        "{hers_listed}"
    );

    // A nested provision and a use medconsent has no action for: exit 2, each named,
    // and nothing granted.
    let mut nested = permit.clone();
    nested["provision"][0]["provision"] = serde_json::json!([{ "purpose": [] }]);
    nested["provision"][0]["action"][0]["coding"][0]["code"] = "disclose".into();
    nested["subject"]["identifier"]["value"] = alice.as_str().into();
    let (code, _, err) = submit_as_alice(&nested);
    ensure!(
        code == 2
            && err.contains("Consent.provision[0].provision: nested provisions beyond one level")
            && err.contains("Consent.provision[0].action[0]: unsupported action"),
        "{code} {err}"
    );
    ensure!(
        run_ok(w, &["consents", "--patient", &alice])? == hers_listed,
        "something was granted"
    );
    Ok(())
}
