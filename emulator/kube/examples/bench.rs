//! Benchmark of the embedded API server, in-process through the router (no sockets):
//! 100 watchers on pods, 10,000 pod creates from concurrent clients, a status merge patch per
//! pod, then lists by label. Reports writes/s, list latency, events received per watcher
//! (every ADDED and MODIFIED, in resourceVersion order) and RSS.
//!
//! `cargo run --release -p cloudbox-kube --example bench [PODS] [WATCHERS] [quota]` (uses
//! mimalloc); with `quota`, the namespace has a ResourceQuota on `pods`, so every create goes
//! through quota admission and updates the quota's status.

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::Request;
use http_body_util::BodyExt;
use std::time::Instant;
use tower::ServiceExt;

// The server allocates many small JSON nodes per request; glibc's malloc costs about a third
// of the write path here (≈ 14–18k creates/s with it vs ≈ 25k with mimalloc on the 2-core box).
// The `cloudbox` binary gets the same gain by declaring the same global allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/process.rs"]
mod process;
use process::{cpu_secs, rss_kb};

fn pod(i: usize) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("pod-{i:05}"), "labels": {"app": format!("app-{}", i % 10), "bench": "yes"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}
    })
    .to_string()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pods: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let watchers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    let with_quota = args.next().as_deref() == Some("quota");
    let state = KubeState::new(Clock::manual(), 1);
    let router = app(state.clone());
    if with_quota {
        let body = serde_json::json!({"metadata": {"name": "pods"},
            "spec": {"hard": {"pods": (pods + 1).to_string()}}});
        let req = Request::post("/api/v1/namespaces/default/resourcequotas")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?;
        let resp = router.clone().oneshot(req).await?;
        anyhow::ensure!(resp.status() == 201, "quota: {}", resp.status());
    }
    let rss0 = rss_kb();

    // Watchers: each streams /api/v1/pods?watch=true from the current RV and counts ADDED lines.
    let rv = state.resource_version();
    let mut handles = Vec::new();
    for _ in 0..watchers {
        let r = router.clone();
        let uri = format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=600");
        handles.push(tokio::spawn(async move {
            let resp = r.oneshot(Request::get(uri).body(Body::empty())?).await?;
            let mut body = resp.into_body();
            let mut added = 0usize;
            let mut last = 0u64;
            let mut in_order = true;
            let mut carry = Vec::new();
            while added < 2 * pods {
                let Some(frame) = body.frame().await else {
                    break;
                };
                let Ok(data) = frame?.into_data() else {
                    continue;
                };
                carry.extend_from_slice(&data);
                let mut start = 0;
                while let Some(off) = carry[start..].iter().position(|b| *b == b'\n') {
                    let line = &carry[start..start + off];
                    start += off + 1;
                    // Cheap scan instead of a full parse: the consumer's cost is not the server's.
                    if line.starts_with(b"{\"type\":\"ADDED\"")
                        || line.starts_with(b"{\"type\":\"MODIFIED\"")
                    {
                        let text = std::str::from_utf8(line).unwrap_or("");
                        let rv: u64 = text
                            .split("\"resourceVersion\":\"")
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .and_then(|r| r.parse().ok())
                            .unwrap_or(0);
                        if rv <= last {
                            in_order = false;
                        }
                        last = rv;
                        added += 1;
                    }
                }
                carry.drain(..start);
            }
            anyhow::Ok((added, in_order))
        }));
    }

    // Request bodies are built before the clock starts: the client's JSON encoding is not the
    // server's cost.
    let bodies: std::sync::Arc<Vec<bytes::Bytes>> =
        std::sync::Arc::new((0..pods).map(|i| bytes::Bytes::from(pod(i))).collect());
    // Writers: 8 concurrent clients.
    let start = Instant::now();
    let cpu0 = cpu_secs();
    let clients = 8;
    let mut writers = Vec::new();
    for c in 0..clients {
        let r = router.clone();
        let bodies = bodies.clone();
        writers.push(tokio::spawn(async move {
            let mut i = c;
            while i < pods {
                let req = Request::post("/api/v1/namespaces/default/pods")
                    .header("content-type", "application/json")
                    .body(Body::from(bodies[i].clone()))?;
                let resp = r.clone().oneshot(req).await?;
                anyhow::ensure!(resp.status() == 201, "create failed: {}", resp.status());
                i += clients;
            }
            anyhow::Ok(())
        }));
    }
    for w in writers {
        w.await??;
    }
    let write_secs = start.elapsed().as_secs_f64();
    let write_cpu = cpu_secs() - cpu0;

    // Status updates, as a kubelet sends them: a merge patch of /status per pod.
    let status = bytes::Bytes::from_static(br#"{"status":{"phase":"Running","podIP":"10.0.0.1"}}"#);
    let ustart = Instant::now();
    let ucpu0 = cpu_secs();
    let mut updaters = Vec::new();
    for c in 0..clients {
        let r = router.clone();
        let status = status.clone();
        updaters.push(tokio::spawn(async move {
            let mut i = c;
            while i < pods {
                let req =
                    Request::patch(format!("/api/v1/namespaces/default/pods/pod-{i:05}/status"))
                        .header("content-type", "application/merge-patch+json")
                        .body(Body::from(status.clone()))?;
                let resp = r.clone().oneshot(req).await?;
                anyhow::ensure!(resp.status() == 200, "patch failed: {}", resp.status());
                i += clients;
            }
            anyhow::Ok(())
        }));
    }
    for u in updaters {
        u.await??;
    }
    let update_secs = ustart.elapsed().as_secs_f64();
    let update_cpu = cpu_secs() - ucpu0;

    let mut ok_watchers = 0;
    let mut total_events = 0;
    for h in handles {
        let (added, in_order) = h.await??;
        total_events += added;
        if added == 2 * pods && in_order {
            ok_watchers += 1;
        }
    }
    let all_secs = start.elapsed().as_secs_f64();

    // Lists by label (1/10th of the pods each) and a full list.
    let mut lat = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        let uri = format!(
            "/api/v1/namespaces/default/pods?labelSelector=app%3Dapp-{}",
            i % 10
        );
        let resp = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty())?)
            .await?;
        let bytes = resp.into_body().collect().await?.to_bytes();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        // Checked after the clock stops: the client's parse is not the server's latency.
        #[derive(serde::Deserialize)]
        struct Items {
            items: Vec<serde::de::IgnoredAny>,
        }
        let v: Items = serde_json::from_slice(&bytes)?;
        anyhow::ensure!(v.items.len() == pods / 10);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let t = Instant::now();
    let resp = router
        .clone()
        .oneshot(Request::get("/api/v1/pods").body(Body::empty())?)
        .await?;
    let full = resp.into_body().collect().await?.to_bytes();
    let full_ms = t.elapsed().as_secs_f64() * 1000.0;

    println!("pods created:            {pods} by {clients} concurrent clients");
    println!(
        "write throughput:        {:.0} creates/s ({write_secs:.2} s)",
        pods as f64 / write_secs
    );
    println!("CPU per create:          {:.1} µs (process CPU time during the writes, incl. watchers and client side)", write_cpu * 1e6 / pods as f64);
    println!(
        "status patches:          {:.0} patches/s ({update_secs:.2} s), CPU {:.1} µs each",
        pods as f64 / update_secs,
        update_cpu * 1e6 / pods as f64
    );
    println!("watchers complete:       {ok_watchers}/{watchers} ({total_events} events, all delivered {all_secs:.2} s after start)");
    println!(
        "list by label (1000):    p50 {:.1} ms, max {:.1} ms",
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
    println!(
        "list all ({pods}):       {full_ms:.1} ms, {} bytes",
        full.len()
    );
    println!(
        "RSS:                     {} MiB (start {} MiB)",
        rss_kb() / 1024,
        rss0 / 1024
    );
    anyhow::ensure!(ok_watchers == watchers, "a watcher missed events");
    Ok(())
}
