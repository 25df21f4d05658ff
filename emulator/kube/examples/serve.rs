//! Serves the embedded API server alone, for `ci/kubectl.sh` and manual use:
//! `cargo run -p cloudbox-kube --example serve -- [PORT] [KUBECONFIG_PATH]`.
//! Prints `ready <url>` once the kubeconfig is written and the port listens.

use cloudbox_kube::{kubeconfig_yaml, serve, KubeState};
use cloudbox_sim::Clock;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(0);
    let kubeconfig = args.next();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    if let Some(path) = kubeconfig {
        std::fs::write(&path, kubeconfig_yaml(&url, None))?;
    }
    println!("ready {url}");
    let state = KubeState::new(Clock::wall(1.0), 1);
    serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
