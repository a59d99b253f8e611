//! The clinician's and the responder's commands refused as a person meets them: in
//! words, with the exit status of the kind of refusal, and a local mistake caught
//! before any access is spent on chain. Eve is a clinician without consent and no
//! emergency responder; the patient is Bob.

use crate::commands::medconsent;
use crate::fixtures::*;

/// The number of entries in Bob's verified trail (`medconsent audit --json`).
fn trail_length(w: &World, bob: &str) -> Result<u64, String> {
    let (code, out, err) = medconsent(w, &["audit", "--patient", bob, "--json"]);
    ensure!(code == 0, "audit: {code} {err}");
    let audit: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    audit["verified"]["entries"]
        .as_u64()
        .ok_or(format!("no verified.entries in {out}"))
}

pub async fn the_chart_and_break_glass_refuse_in_words_and_local_mistakes_spend_nothing(
    w: &World,
) -> Outcome {
    let s = w.session().await;
    let record = put(w, &s, "chart.txt", "chart of one").await?;
    let bob = medconsent_chain::ss58(&w.patient.account());
    let id = record.to_string();
    let eve_key = w.out_path("eve-chart.sk");
    let (code, _, err) = medconsent(w, &["keygen", "--secret-out", eve_key.to_str().unwrap()]);
    ensure!(code == 0, "keygen: {err}");
    let (store, folder) = (w.out_path("eve-chart-store"), w.out_path("eve-chart"));
    let opening = |which: &str| -> Vec<String> {
        [
            "chart",
            "--suri",
            "//Eve",
            "--patient",
            &bob,
            "--open",
            which,
            "--secret",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([
            eve_key.display().to_string(),
            "--store".into(),
            store.display().to_string(),
            "--folder".into(),
            folder.display().to_string(),
        ])
        .collect()
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        medconsent(w, &args)
    };
    let before = trail_length(w, &bob)?;

    // Listing is a free check: Bob's record is not covered for Eve, and nothing is logged.
    let (code, out, err) = medconsent(w, &["chart", "--suri", "//Eve", "--patient", &bob]);
    ensure!(code == 0, "chart: {code} {err}");
    ensure!(
        out.lines().any(|l| l.starts_with(&format!("record={id} "))
            && l.ends_with("not covered: no consent of the patient's permits it")),
        "Eve's chart: {out}"
    );
    ensure!(out.contains("\ncovered=0\n"), "{out}");
    ensure!(trail_length(w, &bob)? == before, "a listing was logged");
    // Nothing covered to open: refused before anything is sent.
    let (code, _, err) = run(&opening("covered"));
    ensure!(
        code == 1 && err.contains("no records to open"),
        "{code} {err}"
    );
    ensure!(
        trail_length(w, &bob)? == before,
        "an empty chart was logged"
    );

    // A partial file left by an earlier read: a local mistake (2), no access spent.
    std::fs::create_dir_all(&folder).unwrap();
    let partial = folder.join(format!("record-{record}.partial"));
    std::fs::write(&partial, b"half").unwrap();
    let (code, _, err) = run(&opening(&id));
    ensure!(
        code == 2 && err.contains("left over from an earlier read"),
        "leftover: {code} {err}"
    );
    ensure!(
        trail_length(w, &bob)? == before,
        "a local mistake spent an access"
    );
    std::fs::remove_file(&partial).unwrap();

    // Opened for real: the chain denies it (1), the denial is logged, no file written.
    let (code, out, err) = run(&opening(&id));
    ensure!(
        code == 1 && out.contains("refused: access denied on chain: no consent"),
        "denied chart: {code} {out} {err}"
    );
    ensure!(
        trail_length(w, &bob)? == before + 1,
        "the denial is not logged"
    );
    ensure!(
        !folder.join(format!("record-{record}")).exists(),
        "a file was written"
    );

    // Eve is no emergency responder: break-glass is refused in words (1), also as JSON.
    let out_file = w.out_path("eve-glass.txt");
    let (code, out, err) = medconsent(
        w,
        &[
            "break-glass",
            "--suri",
            "//Eve",
            "--record",
            &id,
            "--justification",
            "testing the glass",
            "--secret",
            eve_key.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
            "--json",
        ],
    );
    let said: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    ensure!(
        code == 1 && said["error"]["exit"] == 1 && said["error"]["kind"] == "refused",
        "break-glass: {code} {out} {err}"
    );
    ensure!(!err.contains("Error::") && !out_file.exists(), "{err}");
    // No justification: a usage mistake (2) before anything is sent.
    let (code, _, err) = medconsent(
        w,
        &[
            "break-glass",
            "--suri",
            "//Eve",
            "--record",
            &id,
            "--secret",
            eve_key.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    ensure!(code == 2 && err.contains("say why"), "{code} {err}");
    ensure!(
        trail_length(w, &bob)? == before + 2,
        "the refused break-glass is not logged exactly once"
    );
    Ok(())
}
