//! The FHIR REST API as a hospital system meets it: the `medconsent-fhir-server`
//! process on the world's node, searched by a real FHIR client library (fhirpy, each
//! resource parsed strictly by fhir.resources) with the same counts the command gives;
//! bad searches, unknown ids and unknown resource types answered with an
//! OperationOutcome and their status; behind a token, nothing without it.

use crate::commands::medconsent;
use crate::fixtures::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The server binary, next to `medconsent` (scripts/test.sh builds both).
fn server_bin() -> std::path::PathBuf {
    crate::world::medconsent_bin().with_file_name("medconsent-fhir-server")
}

/// A running server and its base URL; killed when dropped.
pub struct Server(pub Child, pub String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(w: &World, extra: &[&str]) -> Result<Server, String> {
    let mut child = Command::new(server_bin())
        .args(["--deployment", w.deployment_file.to_str().unwrap()])
        .args(["--node", &w.node_url, "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{}: {e}", server_bin().display()))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let address = line
        .trim()
        .strip_prefix("listening=")
        .ok_or(format!("the server did not start: {line}"))?;
    let base = format!("http://{address}");
    Ok(Server(child, base))
}

pub async fn get(url: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the FHIR server answers");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, kind, response.json().await.unwrap_or_default())
}

fn fhirpy(base: &str, patient: &str, token: Option<&str>) -> Result<Value, String> {
    let script = crate::world::repo_root().join("fhir-server/tests/search_with_fhirpy.py");
    let out = Command::new("python3")
        .arg(script)
        .args([base, patient])
        .args(token)
        .output()
        .map_err(|e| e.to_string())?;
    ensure!(
        out.status.success(),
        "fhirpy: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

pub async fn a_fhir_client_searches_the_rest_api(w: &World) -> Outcome {
    let s = w.session().await;
    // Something of Bob's in each list: a record (its creation in the trail) and a grant.
    let record = put(w, &s, "rest.txt", "for the FHIR API").await?;
    let bob = medconsent_chain::ss58(&w.patient.account());
    let eve = medconsent_chain::ss58(&w.stranger.account());
    let scope = format!("record:{record}");
    let (code, _, err) = medconsent(
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
        ],
    );
    ensure!(code == 0, "grant: {err}");
    let (_, out, _) = medconsent(w, &["consents", "--patient", &bob, "--json"]);
    let consents =
        serde_json::from_str::<Value>(&out).map_err(|e| e.to_string())?["consents_count"].clone();
    let (_, out, _) = medconsent(w, &["audit", "--patient", &bob, "--json"]);
    let entries = serde_json::from_str::<Value>(&out).map_err(|e| e.to_string())?["verified"]
        ["entries"]
        .clone();

    let server = start(w, &[])?;
    let base = &server.1;
    let (status, kind, capability) = get(&format!("{base}/metadata"), None).await;
    ensure!(
        status == 200
            && kind == "application/fhir+json"
            && capability["resourceType"] == "CapabilityStatement"
            && capability["fhirVersion"] == "5.0.0",
        "metadata: {status} {kind} {capability}"
    );
    // What fhirpy finds is what the command lists.
    let found = fhirpy(base, &bob, None)?;
    ensure!(
        found["consents"] == consents
            && found["audit_events"] == entries
            && found["read"].is_string(),
        "fhirpy found {found}, the command {consents} consents and {entries} entries"
    );
    // The CapabilityStatement, a searchset Bundle and an OperationOutcome are valid R5.
    let mut files = Vec::new();
    for (name, path) in [
        ("capability.json", "/metadata".to_owned()),
        (
            "searchset.json",
            format!("/AuditEvent?patient={bob}&_count=2"),
        ),
        ("outcome.json", "/Consent".to_owned()),
    ] {
        let (_, _, body) = get(&format!("{base}{path}"), None).await;
        let file = w.out_path(name);
        std::fs::write(&file, body.to_string()).unwrap();
        files.push(file);
    }
    let files: Vec<&std::path::Path> = files.iter().map(|f| f.as_path()).collect();
    crate::fhir_commands::validate(&files)?;
    // Refusals: each an OperationOutcome with its status.
    for (path, want, code) in [
        ("/Consent".to_owned(), 400, "invalid"),
        (
            format!("/Consent?patient={bob}&status=active"),
            400,
            "not-supported",
        ),
        (
            format!("/AuditEvent?patient={bob}&date=sa2025-01-01"),
            400,
            "invalid",
        ),
        (
            format!("/AuditEvent?patient={bob}&_count=9999"),
            400,
            "invalid",
        ),
        ("/Consent?patient=Practitioner/1".to_owned(), 400, "invalid"),
        (format!("/Consent/{bob}-999999"), 404, "not-found"),
        ("/Consent/nothing".to_owned(), 404, "not-found"),
        ("/Observation".to_owned(), 404, "not-supported"),
        (format!("/AuditEvent/{bob}-999999"), 404, "not-found"),
    ] {
        let (status, kind, body) = get(&format!("{base}{path}"), None).await;
        ensure!(
            status == want
                && kind == "application/fhir+json"
                && body["resourceType"] == "OperationOutcome"
                && body["issue"][0]["code"] == code,
            "{path}: {status} {kind} {body}"
        );
    }
    // An AuditEvent read by the id its search gave, the same resource; a write is 405.
    let (_, _, page) = get(&format!("{base}/AuditEvent?patient={bob}&_count=1"), None).await;
    let first = page["entry"][0]["resource"].clone();
    let id = first["id"].as_str().unwrap_or_default().to_owned();
    let (status, _, read) = get(&format!("{base}/AuditEvent/{id}"), None).await;
    ensure!(
        status == 200 && read == first,
        "AuditEvent/{id}: {status} {read}"
    );
    // The trail the server kept from the searches above follows the chain: an entry
    // logged since is served at its place, as a server that keeps nothing serves it.
    let total = |page: &Value| page["total"].as_u64().unwrap_or(0);
    let before = total(&page);
    put(w, &s, "rest-later.txt", "logged after the searches").await?;
    let (_, out, _) = medconsent(w, &["audit", "--patient", &bob, "--json"]);
    let now = serde_json::from_str::<Value>(&out).map_err(|e| e.to_string())?["verified"]
        ["entries"]
        .as_u64()
        .unwrap_or(0);
    let last = format!(
        "/AuditEvent?patient={bob}&_count=1&_offset={}",
        now.saturating_sub(1)
    );
    let (_, _, kept) = get(&format!("{base}{last}"), None).await;
    let keeping_nothing = start(w, &["--trail-cache-entries", "0"])?;
    let (_, _, whole) = get(&format!("{}{last}", keeping_nothing.1), None).await;
    ensure!(
        now > before
            && total(&kept) == now
            && total(&whole) == now
            && kept["entry"][0]["resource"] == whole["entry"][0]["resource"]
            && kept["entry"][0]["resource"]["id"] == format!("{bob}-{}", now - 1),
        "after a new entry ({before} then {now}): kept {kept}, read whole {whole}"
    );
    drop(keeping_nothing);
    let posted = reqwest::Client::new()
        .post(format!("{base}/Consent"))
        .body("{}")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = posted.status().as_u16();
    let body: Value = posted.json().await.unwrap_or_default();
    ensure!(
        status == 405 && body["resourceType"] == "OperationOutcome",
        "a POST: {status} {body}"
    );
    drop(server);

    // Behind a token: 401 with an OperationOutcome without it, the same answers with it.
    let token = "a-token-for-this-hospital-only";
    let token_file = w.out_path("fhir.token");
    std::fs::write(&token_file, token).unwrap();
    let guarded = start(w, &["--token-file", token_file.to_str().unwrap()])?;
    // Discovery needs no token.
    let (status, _, capability) = get(&format!("{}/metadata", guarded.1), None).await;
    ensure!(
        status == 200 && capability["resourceType"] == "CapabilityStatement",
        "metadata without the token: {status}"
    );
    let (status, _, body) = get(&format!("{}/Consent?patient={bob}", guarded.1), None).await;
    ensure!(
        status == 401 && body["issue"][0]["code"] == "security",
        "without the token: {status} {body}"
    );
    let (status, _, _) = get(
        &format!("{}/Consent?patient={bob}", guarded.1),
        Some("wrong-token-of-the-same-size"),
    )
    .await;
    ensure!(status == 401, "a wrong token: {status}");
    let found = fhirpy(&guarded.1, &bob, Some(token))?;
    ensure!(found["consents"] == consents, "with the token: {found}");
    Ok(())
}
