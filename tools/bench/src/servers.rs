//! The servers under test, each a child process killed when its [`Server`] is dropped (also on
//! errors and panics):
//!
//! - `cloudbox up --aws-port 0 --kube-port 0` (the release binary): the address comes from its
//!   `AWS endpoint listening on http://ADDR` line on stdout;
//! - `moto_server -H 127.0.0.1 -p PORT` on a port picked here; ready once it answers;
//! - the bare server: this binary again with `--serve-bare`, an axum server that answers a fixed
//!   small XML body to every request (and a fixed 365 KiB body, the size of cloudbox's answer, to
//!   `DescribeInstances`), i.e. the loopback ceiling of the machine for this client.
//!
//! [`first_answer`] measures the time from spawn to the first HTTP 200 to
//! `DescribeAvailabilityZones`, polling every few milliseconds (the only sleeps in the tool).

use crate::load::{self, HttpClient};
use anyhow::{bail, Context};
use bytes::Bytes;
use http::StatusCode;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start before the tool gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The body of the call that proves a server is up.
pub const PROBE_BODY: &str = "Action=DescribeAvailabilityZones&Version=2016-11-15";

/// What to start.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `cloudbox up` from this binary path.
    Cloudbox(PathBuf),
    /// `moto_server` from this command.
    Moto(String),
    /// This binary with `--serve-bare`.
    Bare,
}

/// A running server process.
pub struct Server {
    child: Child,
    /// The endpoint, `http://127.0.0.1:PORT/`.
    pub uri: http::Uri,
    /// When the process was spawned.
    pub spawned: Instant,
}

impl Server {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This run's scratch directory (for `cloudbox up`'s kubeconfig); see [`remove_scratch_dir`].
pub fn scratch_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("cloudbox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Removes the scratch directory, if any.
pub fn remove_scratch_dir() {
    let dir = std::env::temp_dir().join(format!("cloudbox-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(dir);
}

/// A free loopback port (bound and released; moto then binds it).
fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn uri_for(addr: &str) -> anyhow::Result<http::Uri> {
    format!("http://{addr}/")
        .parse()
        .with_context(|| format!("bad server address {addr:?}"))
}

/// Spawns `cmd` with stdout piped and waits for its `{marker}ADDR` line.
async fn spawn_announcing(
    mut cmd: Command,
    what: &str,
    marker: &'static str,
) -> anyhow::Result<Server> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    let spawned = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {what} ({cmd:?})"))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        // Keep draining stdout after the address line so the child never blocks on a pipe.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split(marker).nth(1) {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let mut server = Server {
        child,
        uri: http::Uri::from_static("http://127.0.0.1/"),
        spawned,
    };
    let addr = match tokio::time::timeout(START_TIMEOUT, rx).await {
        Ok(Ok(addr)) => addr,
        Ok(Err(_)) => bail!("{what} exited without printing its address"),
        Err(_) => bail!("{what} printed no address within {START_TIMEOUT:?}"),
    };
    let _: SocketAddr = addr
        .parse()
        .with_context(|| format!("{what} printed a bad address {addr:?}"))?;
    server.uri = uri_for(&addr)?;
    Ok(server)
}

/// Starts a server. It may not answer yet: see [`wait_ready`].
pub async fn start(kind: &Kind) -> anyhow::Result<Server> {
    match kind {
        Kind::Cloudbox(bin) => {
            // `cloudbox up` also serves the Kubernetes API: any free port for it, and its
            // kubeconfig in a scratch directory instead of ./.cloudbox.
            let kubeconfig = scratch_dir()?.join("kubeconfig");
            let mut cmd = Command::new(bin);
            cmd.args(["up", "--aws-port", "0", "--kube-port", "0", "--kubeconfig"])
                .arg(kubeconfig)
                .stderr(Stdio::inherit());
            spawn_announcing(cmd, "cloudbox up", "AWS endpoint listening on http://").await
        }
        Kind::Bare => {
            let exe = std::env::current_exe().context("locating this binary")?;
            let mut cmd = Command::new(exe);
            cmd.arg("--serve-bare").stderr(Stdio::inherit());
            spawn_announcing(cmd, "the bare server", "listening on http://").await
        }
        Kind::Moto(command) => {
            let port = free_port()?;
            let spawned = Instant::now();
            let child = Command::new(command)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {command}"))?;
            Ok(Server {
                child,
                uri: uri_for(&format!("127.0.0.1:{port}"))?,
                spawned,
            })
        }
    }
}

/// Polls `server` with `DescribeAvailabilityZones` until it answers HTTP 200; returns the time
/// from spawn to that answer.
pub async fn wait_ready(server: &mut Server) -> anyhow::Result<Duration> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        // A fresh client per attempt: a refused connection must not be pooled or retried.
        let client: HttpClient = load::client();
        let last_err = match load::post(
            &client,
            &server.uri,
            Bytes::from_static(PROBE_BODY.as_bytes()),
        )
        .await
        {
            Ok(r) if r.status == StatusCode::OK => return Ok(server.spawned.elapsed()),
            Ok(r) => format!("HTTP {}", r.status),
            Err(e) => format!("{e:#}"),
        };
        if let Ok(Some(status)) = server.child.try_wait() {
            bail!("the server exited ({status}) before answering: {last_err}");
        }
        if Instant::now() >= deadline {
            bail!("no answer within {START_TIMEOUT:?}: {last_err}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Starts a server and waits until it answers.
pub async fn start_ready(kind: &Kind) -> anyhow::Result<Server> {
    let mut s = start(kind).await?;
    wait_ready(&mut s).await?;
    Ok(s)
}

/// Spawn-to-first-200 times over `runs` fresh starts, sorted.
pub async fn first_answer(kind: &Kind, runs: usize) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut s = start(kind).await?;
        out.push(wait_ready(&mut s).await?);
    }
    out.sort_unstable();
    Ok(out)
}

/// The cloudbox binary: `--cloudbox-bin`, else `cloudbox` next to this binary (both are built
/// into the same `target/release`), else `$CARGO_TARGET_DIR/release/cloudbox`, else the
/// workspace's `target/release/cloudbox`.
pub fn cloudbox_bin(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.is_file() {
            bail!("no cloudbox binary at {}", p.display());
        }
        return Ok(p.to_path_buf());
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(dir.join("cloudbox"));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join("release").join("cloudbox"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/cloudbox"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .with_context(|| {
            format!(
                "no cloudbox binary at any of {candidates:?} (build it with `cargo build --release -p cloudbox`, or pass --cloudbox-bin)"
            )
        })
}

/// The fixed answer of the bare server: a small, well-formed EC2-shaped XML document.
const BARE_BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeAvailabilityZonesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>00000000-0000-0000-0000-000000000000</requestId><availabilityZoneInfo><item><zoneName>us-east-1a</zoneName><zoneState>available</zoneState><regionName>us-east-1</regionName><zoneId>use1-az1</zoneId></item></availabilityZoneInfo></DescribeAvailabilityZonesResponse>";

/// The size of cloudbox's DescribeInstances answer over 100 instances (365 KiB).
const BARE_LARGE_BYTES: usize = 365 * 1024;

/// A fixed XML document of [`BARE_LARGE_BYTES`], built once.
fn bare_large() -> Bytes {
    static BODY: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>00000000-0000-0000-0000-000000000000</requestId><reservationSet>";
        let tail = "</reservationSet></DescribeInstancesResponse>";
        let item = "<item><instanceId>i-0123456789abcdef0</instanceId></item>";
        let mut s = String::with_capacity(BARE_LARGE_BYTES + item.len());
        s.push_str(head);
        while s.len() + item.len() + tail.len() <= BARE_LARGE_BYTES {
            s.push_str(item);
        }
        while s.len() + tail.len() < BARE_LARGE_BYTES {
            s.push(' ');
        }
        s.push_str(tail);
        Bytes::from(s)
    })
    .clone()
}

/// The bare server's only handler: the large body for `DescribeInstances`, else the small one.
async fn bare_answer(body: axum::body::Bytes) -> impl axum::response::IntoResponse {
    let answer = if body.starts_with(b"Action=DescribeInstances&") {
        bare_large()
    } else {
        Bytes::from_static(BARE_BODY.as_bytes())
    };
    (
        [(http::header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        answer,
    )
}

/// Runs the bare server on 127.0.0.1:0 (same runtime shape as `cloudbox up`: multi-thread,
/// one worker per core) until killed; prints its address like `cloudbox up` does.
pub fn serve_bare() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the bare server")?;
        let addr = listener.local_addr()?;
        println!("bare: listening on http://{addr}");
        let app = axum::Router::new().fallback(bare_answer);
        axum::serve(listener, app).await?;
        Ok(())
    })
}
