//! Scale benchmark of the embedded API server (issue 7 §5), in-process through the router:
//!
//! 1. 5,010 watchers on pods: 5,000 each selecting one node (`fieldSelector=spec.nodeName=node-N`)
//!    and 10 cluster-wide;
//! 2. 5,000 nodes and 150,000 pods created (already bound to their node, 30 per node) by 8
//!    concurrent clients: writes/s with the watchers attached, and every watcher checked to get
//!    exactly its events (ADDED, its node's pods only, resourceVersions increasing);
//! 3. RSS with everything stored, and bytes per pod;
//! 4. the 150,000 pods listed in pages of 500, total time.
//!
//! `cargo run --release -p cloudbox-kube --example scale [PODS] [NODES]` (uses mimalloc).

use axum::body::Body;
use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use http::Request;
use http_body_util::BodyExt;
use std::time::Instant;
use tower::ServiceExt;

// Same allocator as the `cloudbox` binary (see examples/bench.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/process.rs"]
mod process;
use process::{cpu_secs, rss_kb};

/// A pod as a ReplicaSet would create it and the scheduler bind it (its owner exists: the
/// garbage collector deletes pods whose owner reference is dangling, as upstream's does).
fn pod(i: usize, nodes: usize, owners: &[String]) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("web-{i:06}"),
            "labels": {"app": format!("app-{}", i % 100), "pod-template-hash": "5d8f7c9b6"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-{}", i % 100),
                                 "uid": owners[i % owners.len()], "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "nodeName": format!("node-{}", i % nodes),
            "containers": [{"name": "app", "image": "registry.k8s.io/nginx:1.25",
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}}]
        }
    })
    .to_string()
}

fn node(i: usize) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": format!("node-{i}"), "labels": {"kubernetes.io/hostname": format!("node-{i}")}},
        "status": {"capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"}}
    })
    .to_string()
}

/// What a watch client checks of each event line: ADDED, resourceVersions increasing, and
/// (for a node's watcher) the pod on that node.
struct Checker {
    seen: usize,
    last: u64,
    ok: bool,
    node: Option<memchr::memmem::Finder<'static>>,
    rv: memchr::memmem::Finder<'static>,
}

impl Checker {
    fn check(&mut self, line: &[u8]) {
        if !line.starts_with(b"{\"type\":\"ADDED\"") {
            self.ok = false;
            return;
        }
        let rv: u64 = self
            .rv
            .find(line)
            .map(|i| &line[i + self.rv.needle().len()..])
            .and_then(|r| memchr::memchr(b'"', r).map(|e| &r[..e]))
            .and_then(|r| std::str::from_utf8(r).ok())
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        self.ok &= rv > self.last;
        self.last = rv;
        if let Some(f) = &self.node {
            self.ok &= f.find(line).is_some();
        }
        self.seen += 1;
    }
}

/// Counts a watcher's ADDED events with a [`Checker`]. Cheap scans of the bytes, not parses:
/// the client is not the server, and it shares the process's two cores with it.
async fn consume(body: Body, want: usize, node: Option<String>) -> anyhow::Result<bool> {
    let mut body = body;
    let mut carry: Vec<u8> = Vec::new();
    let mut c = Checker {
        seen: 0,
        last: 0,
        ok: true,
        node: node.map(|n| {
            memchr::memmem::Finder::new(format!("\"nodeName\":\"{n}\"").as_bytes()).into_owned()
        }),
        rv: memchr::memmem::Finder::new(b"\"resourceVersion\":\"").into_owned(),
    };
    while c.seen < want {
        let Some(frame) = body.frame().await else {
            break;
        };
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        // Whole lines straight from the frame; only a line split across frames is copied.
        let mut rest: &[u8] = &data;
        if !carry.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                carry.extend_from_slice(rest);
                continue;
            };
            carry.extend_from_slice(&rest[..end]);
            c.check(&carry);
            carry.clear();
            rest = &rest[end + 1..];
        }
        while let Some(end) = memchr::memchr(b'\n', rest) {
            c.check(&rest[..end]);
            rest = &rest[end + 1..];
        }
        carry.extend_from_slice(rest);
    }
    Ok(c.ok && c.seen == want)
}

async fn create_all(
    router: &axum::Router,
    uri: &'static str,
    bodies: std::sync::Arc<Vec<bytes::Bytes>>,
    clients: usize,
) -> anyhow::Result<()> {
    let mut writers = Vec::new();
    for c in 0..clients {
        let r = router.clone();
        let bodies = bodies.clone();
        writers.push(tokio::spawn(async move {
            let mut i = c;
            while i < bodies.len() {
                let req = Request::post(uri)
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
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pods: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(150_000);
    let nodes: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5_000);
    let wide = 10;
    let clients = 8;
    let rss0 = rss_kb();
    let state = KubeState::new(Clock::manual(), 1);
    let router = app(state.clone());

    let node_bodies =
        std::sync::Arc::new((0..nodes).map(|i| bytes::Bytes::from(node(i))).collect());
    let t = Instant::now();
    create_all(&router, "/api/v1/nodes", node_bodies, clients).await?;
    let node_secs = t.elapsed().as_secs_f64();

    // The 100 ReplicaSets the pods name as their owners.
    let mut owners = Vec::new();
    for n in 0..100 {
        let rs = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("web-{n}")},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": format!("app-{n}")}},
                     "template": {"metadata": {"labels": {"app": format!("app-{n}")}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/nginx:1.25"}]}}}
        });
        let req = Request::post("/apis/apps/v1/namespaces/default/replicasets")
            .header("content-type", "application/json")
            .body(Body::from(rs.to_string()))?;
        let resp = router.clone().oneshot(req).await?;
        anyhow::ensure!(
            resp.status() == 201,
            "replicaset create failed: {}",
            resp.status()
        );
        let body = resp.into_body().collect().await?.to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        owners.push(
            v["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }

    let rv = state.resource_version();
    let mut handles = Vec::new();
    for n in 0..nodes + wide {
        let (uri, want, node) = if n < nodes {
            let per = pods / nodes + usize::from(n < pods % nodes);
            (
                format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=3600&fieldSelector=spec.nodeName%3Dnode-{n}"),
                per,
                Some(format!("node-{n}")),
            )
        } else {
            (
                format!("/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=3600"),
                pods,
                None,
            )
        };
        let resp = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty())?)
            .await?;
        handles.push(tokio::spawn(consume(resp.into_body(), want, node)));
    }
    let rss_watchers = rss_kb();

    let bodies = std::sync::Arc::new(
        (0..pods)
            .map(|i| bytes::Bytes::from(pod(i, nodes, &owners)))
            .collect(),
    );
    let t = Instant::now();
    let cpu0 = cpu_secs();
    create_all(&router, "/api/v1/namespaces/default/pods", bodies, clients).await?;
    let write_secs = t.elapsed().as_secs_f64();
    let write_cpu = cpu_secs() - cpu0;
    let mut complete = 0;
    for h in handles {
        if h.await?? {
            complete += 1;
        }
    }
    let delivered_secs = t.elapsed().as_secs_f64();
    let delivered_cpu = cpu_secs() - cpu0;
    let rss_stored = rss_kb();

    // Pages of 500 over all pods.
    let t = Instant::now();
    let mut listed = 0usize;
    let mut uri = "/api/v1/pods?limit=500".to_string();
    let mut pages = 0;
    loop {
        let resp = router
            .clone()
            .oneshot(Request::get(uri.as_str()).body(Body::empty())?)
            .await?;
        let bytes = resp.into_body().collect().await?.to_bytes();
        #[derive(serde::Deserialize)]
        struct Meta {
            #[serde(rename = "continue")]
            cont: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Page {
            metadata: Meta,
            items: Vec<serde::de::IgnoredAny>,
        }
        let p: Page = serde_json::from_slice(&bytes)?;
        listed += p.items.len();
        pages += 1;
        match p.metadata.cont {
            Some(c) => uri = format!("/api/v1/pods?limit=500&continue={c}"),
            None => break,
        }
    }
    let list_secs = t.elapsed().as_secs_f64();

    println!("nodes created:           {nodes} in {node_secs:.2} s");
    println!(
        "watchers:                {nodes} by node + {wide} cluster-wide (RSS with watchers {} MiB)",
        rss_watchers / 1024
    );
    println!(
        "pod creates:             {pods} by {clients} clients, {:.0} writes/s ({write_secs:.2} s)",
        pods as f64 / write_secs
    );
    println!(
        "process CPU:             {:.0} µs per create while writing, {:.0} µs per create until every watcher had its events ({:.2} CPUs while writing)",
        write_cpu * 1e6 / pods as f64,
        delivered_cpu * 1e6 / pods as f64,
        write_cpu / write_secs
    );
    println!("watchers complete:       {complete}/{} (all delivered {delivered_secs:.2} s after the first write)", nodes + wide);
    println!(
        "RSS stored:              {} MiB (start {} MiB); {:.1} KB per pod (RSS growth from before the watchers / pods)",
        rss_stored / 1024,
        rss0 / 1024,
        (rss_stored.saturating_sub(rss_watchers)) as f64 / pods as f64
    );
    println!(
        "paged list:              {listed} pods in {pages} pages of 500, {:.0} ms",
        list_secs * 1000.0
    );
    anyhow::ensure!(complete == nodes + wide, "a watcher missed events");
    anyhow::ensure!(listed == pods, "the paged list missed pods");
    Ok(())
}
