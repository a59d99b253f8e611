//! A consent the patient signs into a file and a provider submits (`medconsent sign`,
//! `submit`, `void`): the relayed grant lands as signed; a replay, a voided nonce and a
//! file whose terms were changed are each refused in words with exit 1 and change
//! nothing. Bob signs for Eve, whom no other scenario's consent names.

use crate::commands::medconsent;
use crate::fixtures::*;

pub async fn a_signed_consent_is_relayed_once_and_a_changed_or_voided_one_never(
    w: &World,
) -> Outcome {
    let bob = medconsent_chain::ss58(&w.patient.account());
    let eve = medconsent_chain::ss58(&w.stranger.account());
    let consents = || -> Result<String, String> {
        let (code, out, err) = medconsent(w, &["consents", "--patient", &bob]);
        ensure!(code == 0, "consents: {err}");
        Ok(out)
    };
    let sign = |file: &std::path::Path| {
        medconsent(
            w,
            &[
                "sign",
                "--suri",
                "//Bob",
                "--to",
                &eve,
                "--scope",
                "category:genetics",
                "--purposes",
                "hresch",
                "--out",
                file.to_str().unwrap(),
            ],
        )
    };
    let submit = |file: &std::path::Path| {
        medconsent(
            w,
            &[
                "submit",
                "--suri",
                "//Eve",
                "--signed",
                file.to_str().unwrap(),
            ],
        )
    };

    let file = w.out_path("bob-for-eve.json");
    let unsigned = consents()?;
    let (code, out, err) = sign(&file);
    ensure!(
        code == 0 && out.contains("nonce="),
        "sign: {code} {out} {err}"
    );
    let relay: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
        .map_err(|e| e.to_string())?;
    ensure!(
        relay["grantee"] == eve.as_str() && relay["purposes"] == "hresch",
        "the file says what was signed: {relay}"
    );
    // Signing sent nothing.
    ensure!(consents()? == unsigned, "signing sent a consent");

    let (code, out, err) = submit(&file);
    ensure!(code == 0, "submit: {code} {out} {err}");
    let id: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("consent=")?.parse().ok())
        .ok_or(format!("no consent= in {out}"))?;
    let listed = consents()?;
    ensure!(
        listed.contains(&format!(
            "consent={id} permit to={eve} scope=category:genetics actions=read purposes=hresch"
        )),
        "the relayed consent: {listed}"
    );

    // Replayed: the nonce is spent.
    let (code, _, err) = submit(&file);
    ensure!(
        code == 1 && err.contains("nonce was already used or voided"),
        "replay: {code} {err}"
    );
    ensure!(consents()? == listed, "the replay changed the consents");

    // A second signature, its file's terms changed: refused as not the patient's.
    let second = w.out_path("bob-for-eve-2.json");
    let (code, _, err) = sign(&second);
    ensure!(code == 0, "second sign: {err}");
    let signed: Value = serde_json::from_str(&std::fs::read_to_string(&second).unwrap())
        .map_err(|e| e.to_string())?;
    let mut changed = signed.clone();
    changed["purposes"] = "treat".into();
    let changed_file = w.out_path("bob-for-eve-changed.json");
    std::fs::write(&changed_file, changed.to_string()).unwrap();
    let (code, _, err) = submit(&changed_file);
    ensure!(
        code == 1 && err.contains("not the patient's over exactly these terms"),
        "changed terms: {code} {err}"
    );
    ensure!(consents()? == listed, "changed terms changed the consents");

    // Voided by Bob before Eve submits it.
    let nonce = signed["nonce"].as_u64().ok_or("no nonce")?.to_string();
    let (code, out, err) = medconsent(w, &["void", "--suri", "//Bob", "--nonce", &nonce]);
    ensure!(
        code == 0 && out.contains(&format!("voided={nonce}")),
        "void: {code} {err}"
    );
    let (code, _, err) = submit(&second);
    ensure!(
        code == 1 && err.contains("nonce was already used or voided"),
        "voided: {code} {err}"
    );
    ensure!(
        consents()? == listed,
        "a voided signature changed the consents"
    );

    // Leave Eve without consent, as the other scenarios expect.
    let (code, _, err) = medconsent(
        w,
        &[
            "revoke",
            "--suri",
            "//Bob",
            "--consent",
            &id.to_string(),
            "--to",
            &eve,
        ],
    );
    ensure!(code == 0, "revoke: {err}");
    Ok(())
}
