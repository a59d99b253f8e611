//! The world the key-release tests run in: a substrate-contracts-node of their own, the
//! three contracts deployed by `scripts/deploy.sh` (release artifacts in target/ink),
//! three key servers as real processes registered in the directory, a patient (//Bob),
//! a clinician with consent to come (//Dave) and one without (//Eve).

use medconsent_chain::{account_of, signer_from_uri, Chain, Deployment, KeyServerEndpoint, Signer};
use medconsent_client::flow::Session;
use medconsent_client::store::LocalStore;
use medconsent_shared::{AccountId, Role, RoleSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use x25519_dalek::{PublicKey, StaticSecret};

pub const THRESHOLD: u8 = 2;
/// How long an announced rewiring or upgrade waits in this world.
pub const CHANGE_DELAY_MS: u64 = 3_000;

pub struct Person {
    pub signer: Signer,
    pub secret: StaticSecret,
    pub store: LocalStore,
}

impl Person {
    pub fn account(&self) -> AccountId {
        account_of(&self.signer)
    }
    pub fn public_key(&self) -> [u8; 32] {
        *PublicKey::from(&self.secret).as_bytes()
    }
}

pub struct ServerProcess {
    pub url: String,
    /// Its `/metrics`, on an address of its own (`--metrics-listen`).
    pub metrics_url: String,
    pub account: AccountId,
    pub public_key: [u8; 32],
    pub db: PathBuf,
    /// Its stderr (one line per request), appended to across restarts.
    pub log: PathBuf,
    secret_file: PathBuf,
    extra: Vec<String>,
    /// The `--node` options of its next start: the world's node unless a scenario says.
    nodes: std::sync::Mutex<Vec<String>>,
    child: std::sync::Mutex<Option<Child>>,
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub deployment_file: PathBuf,
    pub deployment: Deployment,
    /// The world's node, which every server reads unless a scenario says otherwise.
    pub node_url: String,
    pub servers: Vec<ServerProcess>,
    /// A server outside the deployment with a 3 s entry-age window (stale-entry test).
    pub strict: ServerProcess,
    node: std::sync::Mutex<Child>,
    pub patient: Person,
    pub doctor: Person,
    pub stranger: Person,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `medconsent` command that deploy.sh writes the deployment file with: built by
/// scripts/test.sh (or bench.sh) next to this suite (`cargo build -p medconsent-client`).
pub fn medconsent_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("MEDCONSENT_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/release-<hash> -> <target>/<profile>/medconsent
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("medconsent");
    assert!(
        path.exists(),
        "{} missing: cargo build -p medconsent-client first (with the same target and profile)",
        path.display()
    );
    path
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn person(dir: &Path, uri: &str, name: &str) -> Person {
    Person {
        signer: signer_from_uri(uri).unwrap(),
        secret: StaticSecret::random_from_rng(rand_core::OsRng),
        store: LocalStore::new(dir.join(name)).unwrap(),
    }
}

impl ServerProcess {
    /// Starts the server (again, on the same database and port, reading the nodes it read
    /// last) and waits until it listens.
    pub fn start(&self, deployment_file: &Path) {
        let nodes = self.nodes.lock().unwrap().clone();
        self.start_reading(deployment_file, &nodes)
    }

    /// Starts the server reading `nodes` (each a `--node`; `--node-quorum` and the like
    /// may follow), from now on.
    pub fn start_reading(&self, deployment_file: &Path, nodes: &[String]) {
        *self.nodes.lock().unwrap() = nodes.to_vec();
        let port = self.url.rsplit(':').next().unwrap().to_owned();
        let mut child = Command::new(env!("CARGO_BIN_EXE_medconsent-keyserver"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--db")
            .arg(&self.db)
            .arg("--secret")
            .arg(&self.secret_file)
            .args(["--account", &medconsent_chain::ss58(&self.account)])
            .arg("--deployment")
            .arg(deployment_file)
            .args(&self.extra)
            .args([
                "--metrics-listen",
                self.metrics_url.trim_start_matches("http://"),
            ])
            .args(nodes)
            .stdout(Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            )
            .spawn()
            .expect("the key server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        assert!(
            first.starts_with("listening="),
            "the server did not start: {first}\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        // Keep reading what it prints: a closed pipe would kill it at its next line.
        std::thread::spawn(move || lines.for_each(drop));
        *self.child.lock().unwrap() = Some(child);
    }

    /// SIGTERM, then waits for the process: its exit status.
    pub fn terminate(&self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.lock().unwrap().take()?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .ok()?;
        assert!(sent.success(), "kill -TERM failed");
        child.wait().ok()
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl World {
    /// Stops every process the world started.
    pub fn shutdown(&self) {
        for server in self.servers.iter().chain([&self.strict]) {
            server.kill();
        }
        let mut node = self.node.lock().unwrap();
        let _ = node.kill();
        let _ = node.wait();
    }
}

fn new_server(dir: &Path, node_url: &str, index: usize, extra: Vec<String>) -> ServerProcess {
    let secret = StaticSecret::random_from_rng(rand_core::OsRng);
    let secret_file = dir.join(format!("server{index}.sk"));
    medconsent_keyrelease::keyfile::write_secret(&secret_file, &secret).unwrap();
    let signer = signer_from_uri(&format!("//Alice//keyserver{index}")).unwrap();
    ServerProcess {
        url: format!("http://127.0.0.1:{}", free_port()),
        metrics_url: format!("http://127.0.0.1:{}", free_port()),
        account: account_of(&signer),
        public_key: *PublicKey::from(&secret).as_bytes(),
        db: dir.join(format!("server{index}.redb")),
        log: dir.join(format!("server{index}.log")),
        secret_file,
        extra,
        nodes: std::sync::Mutex::new(vec!["--node".into(), node_url.into()]),
        child: std::sync::Mutex::new(None),
    }
}

impl World {
    pub async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let node_bin = std::env::var("CONTRACTS_NODE")
            .unwrap_or_else(|_| "substrate-contracts-node".to_owned());
        let log = std::fs::File::create(dir.path().join("node.log")).unwrap();
        let node = Command::new(node_bin)
            .args(["--dev", "--tmp", "--rpc-port", &port.to_string()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("substrate-contracts-node starts (scripts/setup.sh installs it)");
        let url = format!("ws://127.0.0.1:{port}");
        let started = Instant::now();
        let chain = loop {
            match Chain::connect(&url).await {
                Ok(chain) => break chain,
                Err(_) if started.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(300)).await
                }
                Err(e) => panic!("the node did not come up: {e}"),
            }
        };
        let first_file = dir.path().join("contracts.json");
        let deployed = Command::new("bash")
            .current_dir(repo_root())
            .env("MEDCONSENT_BIN", medconsent_bin())
            // Later rewiring waits CHANGE_DELAY_MS (the default is two days).
            .args(["scripts/deploy.sh", "--url", &url, "--no-build"])
            .args(["--change-delay-ms", &CHANGE_DELAY_MS.to_string(), "--out"])
            .arg(&first_file)
            .stdout(Stdio::null())
            .status()
            .expect("deploy.sh runs");
        assert!(deployed.success(), "scripts/deploy.sh failed");

        let servers: Vec<ServerProcess> = (1..=3)
            .map(|i| {
                // Retired records are looked for every second (the default is a minute),
                // and a request may take 5 s (the default is 30).
                let extra = ["--retired-sweep-ms", "1000", "--request-timeout-ms", "5000"];
                new_server(dir.path(), &url, i, extra.map(String::from).to_vec())
            })
            .collect();
        let strict = new_server(
            dir.path(),
            &url,
            4,
            vec!["--max-entry-age-ms".into(), "3000".into()],
        );
        // The deployment file the clients and servers use: the contracts, and the three
        // servers in share order with their keys pinned.
        let mut deployment = Deployment::load(&first_file).unwrap();
        for server in &servers {
            deployment
                .add_key_server(KeyServerEndpoint {
                    account: server.account,
                    url: server.url.clone(),
                    public_key: server.public_key,
                })
                .unwrap();
        }
        deployment.set_threshold(THRESHOLD).unwrap();
        let deployment_file = dir.path().join("deployment.json");
        deployment.save(&deployment_file).unwrap();

        let admin = signer_from_uri("//Alice").unwrap();
        let patient = person(dir.path(), "//Bob", "bob");
        let doctor = person(dir.path(), "//Dave", "dave");
        let stranger = person(dir.path(), "//Eve", "eve");
        let mut consents = deployment.contracts().consents();
        let clinician = RoleSet::from([Role::Clinician]);
        let key_server = RoleSet::from([Role::KeyServer]);
        let mut registrations = vec![
            (doctor.account(), clinician, doctor.public_key()),
            (stranger.account(), clinician, stranger.public_key()),
        ];
        // The strict server too: a server acts only while the directory lists it.
        for server in servers.iter().chain([&strict]) {
            registrations.push((server.account, key_server, server.public_key));
        }
        for (account, roles, key) in registrations {
            let (result, included) = chain
                .submit(
                    &admin,
                    &deployment.contracts().consents,
                    &consents.register_provider(account, roles, key),
                )
                .await
                .unwrap();
            assert!(included.is_some(), "register_provider: {result:?}");
        }
        for server in &servers {
            server.start(&deployment_file);
        }
        strict.start(&deployment_file);
        World {
            dir,
            deployment_file,
            deployment,
            node_url: url,
            servers,
            strict,
            node: std::sync::Mutex::new(node),
            patient,
            doctor,
            stranger,
        }
    }

    pub async fn session(&self) -> Session {
        Session::connect(self.deployment.clone()).await.unwrap()
    }

    /// A new plaintext file with `text`.
    pub fn plaintext(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn out_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
