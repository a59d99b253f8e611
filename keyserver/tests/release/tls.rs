//! A key server serving HTTPS itself, with a certificate the deployment's own authority
//! signed: the client trusts it through the deployment file, and without that authority
//! it does not talk to the server at all.

use crate::fixtures::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A certificate authority and a certificate for `localhost` it signed: (CA PEM, server
/// certificate PEM, server key PEM).
fn certificates() -> Result<(String, String, String), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "medconsent test authority");
    let ca = ca.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let server =
        CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &ca, &ca_key)?;
    Ok((ca.pem(), server.pem(), key.serialize_pem()))
}

pub async fn a_server_over_tls_is_trusted_through_the_deployments_authority(w: &World) -> Outcome {
    let (ca, cert, key) = certificates().map_err(|e| e.to_string())?;
    let (cert_file, key_file) = (w.out_path("tls-cert.pem"), w.out_path("tls-key.pem"));
    std::fs::write(&cert_file, cert).map_err(|e| e.to_string())?;
    std::fs::write(&key_file, key).map_err(|e| e.to_string())?;
    let server = &w.servers[2];
    let port = server.url.rsplit(':').next().unwrap_or_default().to_owned();
    server.kill();
    server.start_reading(
        &w.deployment_file,
        &[
            "--node".into(),
            w.node_url.clone(),
            "--tls-cert".into(),
            cert_file.display().to_string(),
            "--tls-key".into(),
            key_file.display().to_string(),
        ],
    );
    let mut deployment = w.deployment.clone();
    deployment.key_servers[2].url = format!("https://localhost:{port}");
    deployment.key_server_ca = Some(ca);
    let outcome = async {
        let trusting = Session::connect(deployment.clone())
            .await
            .map_err(|e| e.to_string())?;
        // Three shares deposited: one of them over TLS.
        let record = put(w, &trusting, "tls.txt", "sealed, and carried over TLS").await?;
        let holdings = trusting
            .holdings(&w.patient.account(), record)
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            holdings.at_servers[2].1 == Ok(vec![1]),
            "over TLS: {:?}",
            holdings.at_servers[2]
        );
        // Without the deployment's authority the certificate is not trusted.
        deployment.key_server_ca = None;
        let untrusting = Session::connect(deployment)
            .await
            .map_err(|e| e.to_string())?;
        let holdings = untrusting
            .holdings(&w.patient.account(), record)
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            matches!(
                holdings.at_servers[2].1,
                Err(medconsent_client::servers::ServerError::Unreachable { .. })
            ),
            "an untrusted certificate: {:?}",
            holdings.at_servers[2]
        );
        Ok(())
    }
    .await;
    server.kill();
    server.start_reading(&w.deployment_file, &["--node".into(), w.node_url.clone()]);
    outcome
}
