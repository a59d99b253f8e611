//! An S3 API server for tests: moto's (installed by scripts/setup.sh), on a free port,
//! killed when dropped. Shared by tests/object_store.rs and the release suite.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct S3Server {
    child: Child,
    pub url: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts it, waits until it answers, and points the process's AWS_* environment
    /// (which `BlobStore::s3` and a key server started from here read) at it.
    pub async fn start() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("python3 -m moto.server (scripts/setup.sh installs moto): {e}"))?;
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(&server.url).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::env::set_var("AWS_ENDPOINT", &server.url);
        std::env::set_var("AWS_ALLOW_HTTP", "true");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        Ok(server)
    }

    pub async fn make_bucket(&self, bucket: &str) -> Result<(), String> {
        let made = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .map_err(|e| format!("the S3 server: {e}"))?;
        if made.status().is_success() {
            Ok(())
        } else {
            Err(format!("bucket {bucket}: {}", made.status()))
        }
    }

    /// Every object key in `bucket`, as the S3 API lists them.
    pub async fn keys(&self, bucket: &str) -> Result<Vec<String>, String> {
        let listing = reqwest::get(format!("{}/{bucket}?list-type=2", self.url))
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Ok(listing
            .split("<Key>")
            .skip(1)
            .filter_map(|part| part.split("</Key>").next())
            .map(str::to_owned)
            .collect())
    }
}
