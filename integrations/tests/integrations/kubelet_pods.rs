//! The kubelet's pod lifecycle, pass by pass on a manual clock against the in-process API server.

use anyhow::{anyhow, Result};
use cloudbox_integrations::{kubelet_pods, Context};
use cloudbox_kube::KubeState;
use cloudbox_sim::Clock;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

const NODE_A: &str = "ip-192-168-193-10.cn-northwest-1.compute.internal";
const NODE_B: &str = "ip-192-168-193-11.cn-northwest-1.compute.internal";

struct World {
    _kube: KubeState,
    clock: Clock,
    ctx: Context,
}

fn world() -> Result<World> {
    let w = super::support::world_in("cn-northwest-1", "c")?;
    Ok(World {
        _kube: w.kube,
        clock: w.clock,
        ctx: w.ctx,
    })
}

impl World {
    fn advance_ms(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }

    async fn node(&self, name: &str, ip: &str, pod_cidr: Option<&str>, ready: bool) -> Result<()> {
        let mut spec = json!({"providerID": format!("aws:///cn-northwest-1a/i-{}", &ip[12..])});
        if let Some(c) = pod_cidr {
            spec["podCIDR"] = json!(c);
            spec["podCIDRs"] = json!([c]);
        }
        let node: Node = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name},
            "spec": spec,
            "status": {
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "Unknown" },
                    "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            },
        }))?;
        Api::<Node>::all(self.ctx.kube.clone())
            .create(&PostParams::default(), &node)
            .await?;
        Ok(())
    }

    async fn pod(&self, name: &str, node: &str, extra: Value) -> Result<()> {
        let mut container = json!({"name": "nginx", "image": "nginx"});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                container[k] = v;
            }
        }
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "containers": [container]},
        }))?;
        Api::<Pod>::namespaced(self.ctx.kube.clone(), "default")
            .create(&PostParams::default(), &pod)
            .await?;
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Value> {
        let p = Api::<Pod>::namespaced(self.ctx.kube.clone(), "default")
            .get(name)
            .await?;
        Ok(serde_json::to_value(p)?)
    }

    async fn exists(&self, name: &str) -> Result<bool> {
        Ok(Api::<Pod>::namespaced(self.ctx.kube.clone(), "default")
            .get_opt(name)
            .await?
            .is_some())
    }

    /// A pod on `node` taken to Running (accepted, then started after its 2 s pull).
    async fn running_pod(&self, name: &str, node: &str) -> Result<()> {
        self.pod(name, node, json!({})).await?;
        self.pass().await?;
        self.advance_ms(2000);
        self.pass().await?;
        Ok(())
    }

    async fn pass(&self) -> Result<kubelet_pods::Summary> {
        Ok(kubelet_pods::reconcile_once(&self.ctx).await?)
    }

    /// The pod's events as (reason, message, fieldPath, firstTimestamp), in creation order.
    async fn events(&self, pod: &str) -> Result<Vec<(String, String)>> {
        let list = Api::<Event>::namespaced(self.ctx.kube.clone(), "default")
            .list(&ListParams::default().fields(&format!("involvedObject.name={pod}")))
            .await?;
        let mut items: Vec<Value> = list
            .items
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        items.sort_by_key(|e| {
            let name = e["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let hex = name.rsplit('.').next().unwrap_or_default().to_string();
            u128::from_str_radix(&hex, 16).unwrap_or(0)
        });
        for e in &items {
            assert_eq!(e["source"]["component"], "kubelet");
            assert_eq!(e["reportingComponent"], "kubelet");
            assert_eq!(e["involvedObject"]["kind"], "Pod");
            assert_eq!(e["involvedObject"]["fieldPath"], "spec.containers{nginx}");
            assert_eq!(e["type"], "Normal");
            assert_eq!(e["source"]["host"], e["reportingInstance"]);
        }
        Ok(items
            .iter()
            .map(|e| {
                (
                    e["reason"].as_str().unwrap_or_default().to_string(),
                    e["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }
}

fn cond(pod: &Value, ty: &str) -> String {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == ty)
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
        .to_string()
}

fn ev(reason: &str, message: &str) -> (String, String) {
    (reason.to_string(), message.to_string())
}

fn in_range(ip: &str, cidr: &str) -> Result<bool> {
    let (base, p) = cidr.split_once('/').ok_or_else(|| anyhow!("cidr"))?;
    let base = u32::from(base.parse::<Ipv4Addr>()?);
    let p: u32 = p.parse()?;
    let ip = u32::from(ip.parse::<Ipv4Addr>()?);
    Ok(ip >> (32 - p) == base >> (32 - p))
}

#[tokio::test]
async fn pod_is_pulled_started_and_ready() -> Result<()> {
    let w = world()?;
    w.node(NODE_A, "192.168.193.10", Some("10.244.1.0/24"), true)
        .await?;
    w.pod("web", NODE_A, json!({})).await?;

    let s = w.pass().await?;
    assert_eq!(s.accepted, vec!["default/web"]);
    let p = w.get("web").await?;
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["status"]["hostIP"], "192.168.193.10");
    assert_eq!(p["status"]["hostIPs"], json!([{"ip": "192.168.193.10"}]));
    assert_eq!(p["status"]["podIP"], "10.244.1.2");
    assert_eq!(p["status"]["podIPs"], json!([{"ip": "10.244.1.2"}]));
    assert!(p["status"]["startTime"].is_string());
    assert_eq!(cond(&p, "PodScheduled"), "True");
    assert_eq!(cond(&p, "Initialized"), "True");
    assert_eq!(cond(&p, "Ready"), "False");
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "ContainerCreating");
    assert_eq!(cs["ready"], false);
    assert_eq!(
        w.events("web").await?,
        vec![ev("Pulling", "Pulling image \"nginx\"")]
    );

    // Nothing due: no writes.
    w.advance_ms(1000);
    assert_eq!(w.pass().await?.writes, 0);

    // The pull takes 2 s.
    w.advance_ms(1000);
    let s = w.pass().await?;
    assert_eq!(s.started, vec!["default/web"]);
    assert_eq!(s.ready, vec!["default/web"]);
    let p = w.get("web").await?;
    assert_eq!(p["status"]["phase"], "Running");
    assert_eq!(cond(&p, "ContainersReady"), "True");
    assert_eq!(cond(&p, "Ready"), "True");
    let cs = &p["status"]["containerStatuses"][0];
    let parse = |v: &Value| v.as_str().and_then(cloudbox_sim::time_fmt::parse_iso8601);
    assert_eq!(
        parse(&cs["state"]["running"]["startedAt"]),
        parse(&p["status"]["startTime"]).map(|t| t + 2000)
    );
    assert_eq!(cs["ready"], true);
    assert_eq!(cs["started"], true);
    assert!(cs["containerID"]
        .as_str()
        .is_some_and(|c| c.starts_with("containerd://")));
    assert_eq!(
        w.events("web").await?,
        vec![
            ev("Pulling", "Pulling image \"nginx\""),
            ev(
                "Pulled",
                "Successfully pulled image \"nginx\" in 2s (2s including waiting). Image size: 72188133 bytes."
            ),
            ev("Created", "Created container: nginx"),
            ev("Started", "Started container nginx"),
        ]
    );
    // The node now has the image.
    let n = Api::<Node>::all(w.ctx.kube.clone()).get(NODE_A).await?;
    let n = serde_json::to_value(n)?;
    assert_eq!(
        n["status"]["images"][0]["names"],
        json!(["docker.io/library/nginx:latest"])
    );

    // Steady: a second pass writes nothing.
    w.advance_ms(5000);
    assert_eq!(w.pass().await?.writes, 0);
    assert_eq!(w.pass().await?.writes, 0);

    // A later IfNotPresent pod finds the image already present and starts at once.
    w.pod("web2", NODE_A, json!({"imagePullPolicy": "IfNotPresent"}))
        .await?;
    let s = w.pass().await?;
    assert_eq!(s.started, vec!["default/web2"]);
    let p = w.get("web2").await?;
    assert_eq!(p["status"]["phase"], "Running");
    assert_eq!(p["status"]["podIP"], "10.244.1.3");
    assert_eq!(
        w.events("web2").await?,
        vec![
            ev(
                "Pulled",
                "Container image \"nginx\" already present on machine"
            ),
            ev("Created", "Created container: nginx"),
            ev("Started", "Started container nginx"),
        ]
    );
    // An Always pod pulls again, but only the manifest (1 s).
    w.pod("web3", NODE_A, json!({})).await?;
    w.pass().await?;
    w.advance_ms(1000);
    w.pass().await?;
    let e = w.events("web3").await?;
    assert_eq!(
        e[1],
        ev(
            "Pulled",
            "Successfully pulled image \"nginx\" in 1s (1s including waiting). Image size: 72188133 bytes."
        )
    );
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn readiness_waits_for_initial_delay() -> Result<()> {
    let w = world()?;
    w.node(NODE_A, "192.168.193.10", None, true).await?;
    w.pod(
        "slow",
        NODE_A,
        json!({"readinessProbe": {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 10}}),
    )
    .await?;
    w.pass().await?;
    w.advance_ms(2000);
    let s = w.pass().await?;
    assert_eq!(s.started, vec!["default/slow"]);
    assert!(s.ready.is_empty());
    let p = w.get("slow").await?;
    assert_eq!(p["status"]["phase"], "Running");
    assert_eq!(cond(&p, "Ready"), "False");
    let ready = p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "ContainersReady")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ready["reason"], "ContainersNotReady");
    assert_eq!(ready["message"], "containers with unready status: [nginx]");
    w.advance_ms(9000);
    assert_eq!(w.pass().await?.writes, 0);
    w.advance_ms(1000);
    let s = w.pass().await?;
    assert_eq!(s.ready, vec!["default/slow"]);
    let p = w.get("slow").await?;
    assert_eq!(cond(&p, "Ready"), "True");
    assert_eq!(cond(&p, "ContainersReady"), "True");
    assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn ips_are_unique_per_node_and_inside_its_range() -> Result<()> {
    let w = world()?;
    w.node(NODE_A, "192.168.193.10", Some("10.244.7.0/24"), true)
        .await?;
    w.node(NODE_B, "192.168.193.11", None, true).await?;
    for i in 0..5 {
        w.pod(&format!("a{i}"), NODE_A, json!({})).await?;
        w.pod(&format!("b{i}"), NODE_B, json!({})).await?;
    }
    w.pass().await?;
    w.advance_ms(2000);
    w.pass().await?;
    let mut b_range = None;
    for (prefix, node) in [("a", NODE_A), ("b", NODE_B)] {
        let mut seen = BTreeSet::new();
        for i in 0..5 {
            let p = w.get(&format!("{prefix}{i}")).await?;
            assert_eq!(p["status"]["phase"], "Running");
            assert_eq!(p["spec"]["nodeName"], node);
            let ip = p["status"]["podIP"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if prefix == "a" {
                assert!(in_range(&ip, "10.244.7.0/24")?, "{ip}");
            } else {
                assert!(in_range(&ip, "10.244.0.0/16")?, "{ip}");
                let third = ip.split('.').nth(2).unwrap_or_default().to_string();
                let r = b_range.get_or_insert(third.clone());
                assert_eq!(*r, third, "one /24 per node");
            }
            assert!(seen.insert(ip), "unique");
        }
    }
    Ok(())
}

#[tokio::test]
async fn graceful_deletion_and_ip_release() -> Result<()> {
    let w = world()?;
    w.node(NODE_A, "192.168.193.10", Some("10.244.1.0/24"), true)
        .await?;
    w.running_pod("web", NODE_A).await?;
    let api = Api::<Pod>::namespaced(w.ctx.kube.clone(), "default");
    let dp = DeleteParams {
        grace_period_seconds: Some(5),
        ..DeleteParams::default()
    };
    api.delete("web", &dp).await?;
    let p = w.get("web").await?;
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    let s = w.pass().await?;
    assert_eq!(s.killing, vec!["default/web"]);
    assert!(s.deleted.is_empty());
    assert_eq!(
        w.events("web").await?.last().cloned(),
        Some(ev("Killing", "Stopping container nginx"))
    );
    w.advance_ms(4000);
    assert_eq!(w.pass().await?.writes, 0);
    assert!(w.exists("web").await?);
    w.advance_ms(1000);
    let s = w.pass().await?;
    assert_eq!(s.deleted, vec!["default/web"]);
    assert!(!w.exists("web").await?);
    // Its address is free again.
    w.pod("next", NODE_A, json!({})).await?;
    w.pass().await?;
    assert_eq!(w.get("next").await?["status"]["podIP"], "10.244.1.2");
    Ok(())
}

#[tokio::test]
async fn unmanaged_and_not_ready_nodes_are_left_alone() -> Result<()> {
    let w = world()?;
    w.node(NODE_A, "192.168.193.10", None, false).await?;
    w.pod("stuck", NODE_A, json!({})).await?;
    w.advance_ms(10_000);
    let s = w.pass().await?;
    assert_eq!(s.writes, 0);
    let p = w.get("stuck").await?;
    assert_eq!(p["status"]["phase"], "Pending");
    assert!(p["status"]["hostIP"].is_null());
    // Becomes Ready: the pod is accepted.
    Api::<Node>::all(w.ctx.kube.clone())
        .patch_status(
            NODE_A,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})),
        )
        .await?;
    let s = w.pass().await?;
    assert_eq!(s.accepted, vec!["default/stuck"]);
    Ok(())
}

#[tokio::test]
async fn unstarted_pod_is_deleted_at_once_and_other_providers_ignored() -> Result<()> {
    let w = world()?;
    w.node(NODE_A, "192.168.193.10", None, true).await?;
    // A node of another provider: not this model's.
    let other: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "kind-worker"},
        "spec": {"providerID": "kind://docker/kind/kind-worker"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}]},
    }))?;
    Api::<Node>::all(w.ctx.kube.clone())
        .create(&PostParams::default(), &other)
        .await?;
    w.pod("elsewhere", "kind-worker", json!({})).await?;
    w.pod("early", NODE_A, json!({})).await?;
    w.pass().await?;
    assert!(w.get("elsewhere").await?["status"]["hostIP"].is_null());
    assert!(w.events("elsewhere").await?.is_empty());
    // Deleted while still pulling: nothing runs, so it goes at the next pass.
    Api::<Pod>::namespaced(w.ctx.kube.clone(), "default")
        .delete("early", &DeleteParams::default())
        .await?;
    assert!(w.exists("early").await?);
    let s = w.pass().await?;
    assert_eq!(s.deleted, vec!["default/early"]);
    assert!(s.killing.is_empty());
    assert!(!w.exists("early").await?);
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn an_ephemeral_container_is_pulled_started_and_stopped_with_the_pod() -> Result<()> {
    // `kubectl debug web --image=busybox` adds an ephemeral container through the
    // `ephemeralcontainers` subresource; the kubelet pulls busybox, starts it and reports it.
    let w = world()?;
    w.node(NODE_A, "192.168.193.10", Some("10.244.1.0/24"), true)
        .await?;
    w.running_pod("web", NODE_A).await?;
    assert_eq!(w.get("web").await?["status"]["phase"], "Running");

    let pods: Api<Pod> = Api::namespaced(w.ctx.kube.clone(), "default");
    let debug = json!({"spec": {"ephemeralContainers": [{"name": "debugger-x", "image": "busybox",
        "imagePullPolicy": "Always", "stdin": true, "terminationMessagePolicy": "File"}]}});
    pods.patch_subresource(
        "ephemeralcontainers",
        "web",
        &PatchParams::default(),
        &Patch::Strategic(debug),
    )
    .await?;
    w.pass().await?;
    let p = w.get("web").await?;
    let st = &p["status"]["ephemeralContainerStatuses"][0];
    assert_eq!(st["name"], "debugger-x");
    assert_eq!(st["state"]["waiting"]["reason"], "ContainerCreating");
    // The pod's own container is untouched.
    assert!(p["status"]["containerStatuses"][0]["state"]["running"].is_object());

    w.advance_ms(1000);
    assert_eq!(w.pass().await?.writes, 0, "the pull takes 2 s");
    w.advance_ms(1000);
    w.pass().await?;
    let p = w.get("web").await?;
    let st = &p["status"]["ephemeralContainerStatuses"][0];
    assert!(st["state"]["running"]["startedAt"].is_string(), "{st}");
    assert_eq!(st["ready"], false);
    assert!(st.get("started").is_none(), "{st}");
    assert!(st["containerID"]
        .as_str()
        .is_some_and(|c| c.starts_with("containerd://")));
    assert_eq!(cond(&p, "Ready"), "True");
    // Nothing left to do for it.
    assert_eq!(w.pass().await?.writes, 0);

    let events = Api::<Event>::namespaced(w.ctx.kube.clone(), "default")
        .list(&ListParams::default().fields("involvedObject.name=web"))
        .await?;
    let debugger: Vec<String> = events
        .items
        .iter()
        .filter(|e| {
            e.involved_object.field_path.as_deref() == Some("spec.ephemeralContainers{debugger-x}")
        })
        .map(|e| e.reason.clone().unwrap_or_default())
        .collect();
    assert_eq!(debugger, ["Pulling", "Pulled", "Created", "Started"]);

    // Deleting the pod stops both containers.
    pods.delete("web", &DeleteParams::default()).await?;
    w.pass().await?;
    let events = Api::<Event>::namespaced(w.ctx.kube.clone(), "default")
        .list(&ListParams::default().fields("involvedObject.name=web,reason=Killing"))
        .await?;
    let mut killed: Vec<String> = events
        .items
        .iter()
        .filter_map(|e| e.involved_object.field_path.clone())
        .collect();
    killed.sort();
    assert_eq!(
        killed,
        [
            "spec.containers{nginx}",
            "spec.ephemeralContainers{debugger-x}"
        ]
    );
    Ok(())
}
