//! The Endpoints and EndpointSlice controllers driven pass by pass against the in-process API
//! server. No kubelet runs here: the tests set pod IPs and Ready conditions by patching status.

use anyhow::{anyhow, Result};
use cloudbox_integrations::endpoints::{self, Summary};
use cloudbox_integrations::Context;
use cloudbox_sim::Clock;
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::time::Duration;

const NS: &str = "default";
const ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

struct World {
    clock: Clock,
    ctx: Context,
}

fn world() -> Result<World> {
    let w = super::support::world()?;
    Ok(World {
        clock: w.clock,
        ctx: w.ctx,
    })
}

fn to_value<K: k8s_openapi::serde::Serialize>(k: &K) -> Result<Value> {
    Ok(serde_json::to_value(k)?)
}

impl World {
    async fn pass(&self) -> Result<Summary> {
        Ok(endpoints::reconcile_once(&self.ctx).await?)
    }

    async fn node(&self, name: &str, zone: &str) -> Result<()> {
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
        }))?;
        Api::<Node>::all(self.ctx.kube.clone())
            .create(&PostParams::default(), &n)
            .await?;
        Ok(())
    }

    async fn service(&self, svc: Value) -> Result<Value> {
        let s: Service = serde_json::from_value(svc)?;
        let out = Api::<Service>::namespaced(self.ctx.kube.clone(), NS)
            .create(&PostParams::default(), &s)
            .await?;
        to_value(&out)
    }

    /// A pod of `app` on `node` with a container port named `http` (8080).
    async fn pod(&self, name: &str, app: &str, node: &str) -> Result<Value> {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": NS, "labels": {"app": app}},
            "spec": {
                "nodeName": node,
                "containers": [{
                    "name": "app",
                    "image": "nginx",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                }],
            },
        }))?;
        let out = Api::<Pod>::namespaced(self.ctx.kube.clone(), NS)
            .create(&PostParams::default(), &p)
            .await?;
        to_value(&out)
    }

    /// The kubelet's part: Running with `ip`, Ready or not.
    async fn set_status(&self, name: &str, ip: &str, ready: bool) -> Result<()> {
        let s = if ready { "True" } else { "False" };
        let t = self.clock.now().to_rfc3339_secs();
        let body = json!({"status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [
                {"type": "Ready", "status": s, "lastTransitionTime": t},
                {"type": "ContainersReady", "status": s, "lastTransitionTime": t},
            ],
        }});
        Api::<Pod>::namespaced(self.ctx.kube.clone(), NS)
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
            .await?;
        Ok(())
    }

    async fn endpoints(&self, name: &str) -> Result<Option<Value>> {
        let e = Api::<Endpoints>::namespaced(self.ctx.kube.clone(), NS)
            .get_opt(name)
            .await?;
        e.as_ref().map(to_value).transpose()
    }

    async fn slices(&self, svc: &str) -> Result<Vec<Value>> {
        let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={svc}"));
        let l = Api::<EndpointSlice>::namespaced(self.ctx.kube.clone(), NS)
            .list(&lp)
            .await?;
        l.items.iter().map(to_value).collect()
    }

    async fn slice(&self, svc: &str) -> Result<Value> {
        let mut s = self.slices(svc).await?;
        if s.len() != 1 {
            return Err(anyhow!("{} slices for {svc}", s.len()));
        }
        Ok(s.remove(0))
    }
}

fn web_service() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": NS, "labels": {"tier": "front"}},
        "spec": {
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                {"name": "metrics", "port": 9090, "targetPort": 9091, "protocol": "TCP"},
            ],
        },
    })
}

fn addr(ip: &str, pod: &Value, node: &str) -> Value {
    json!({
        "ip": ip,
        "nodeName": node,
        "targetRef": {
            "kind": "Pod",
            "namespace": NS,
            "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"],
        },
    })
}

fn slice_endpoint(ip: &str, pod: &Value, node: &str, zone: &str, ready: bool) -> Value {
    json!({
        "addresses": [ip],
        "conditions": {"ready": ready, "serving": ready, "terminating": false},
        "nodeName": node,
        "zone": zone,
        "targetRef": {
            "kind": "Pod",
            "namespace": NS,
            "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"],
        },
    })
}

#[tokio::test]
async fn service_gets_endpoints_and_a_slice_field_by_field() -> Result<()> {
    let w = world()?;
    w.clock.advance(Duration::from_secs(100));
    w.node("n1", "us-east-1a").await?;
    w.node("n2", "us-east-1b").await?;
    let svc = w.service(web_service()).await?;
    let a = w.pod("web-a", "web", "n1").await?;
    let b = w.pod("web-b", "web", "n2").await?;
    let pending = w.pod("web-c", "web", "n2").await?; // no podIP yet: skipped
    let _other = w.pod("db-a", "db", "n1").await?; // not selected
    w.set_status("web-a", "10.0.1.5", true).await?;
    w.set_status("web-b", "10.0.2.6", false).await?;

    let s = w.pass().await?;
    assert_eq!(s.writes, 2, "{s:?}");
    assert_eq!(s.created.len(), 2);

    // The legacy Endpoints: same name as the Service, its labels, one subset with both ports.
    let ep = w
        .endpoints("web")
        .await?
        .ok_or_else(|| anyhow!("no Endpoints"))?;
    assert_eq!(ep["metadata"]["labels"], json!({"tier": "front"}));
    assert_eq!(
        ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"],
        json!(w.clock.now().to_rfc3339_secs())
    );
    let ports = json!([
        {"name": "http", "port": 8080, "protocol": "TCP"},
        {"name": "metrics", "port": 9091, "protocol": "TCP"},
    ]);
    assert_eq!(
        ep["subsets"],
        json!([{
            "addresses": [addr("10.0.1.5", &a, "n1")],
            "notReadyAddresses": [addr("10.0.2.6", &b, "n2")],
            "ports": ports,
        }])
    );

    // The slice: generateName, labels, owner, ports resolved (named and numbered), endpoints.
    let sl = w.slice("web").await?;
    let name = sl["metadata"]["name"].as_str().unwrap_or_default();
    let suffix = name.strip_prefix("web-").unwrap_or_default();
    assert_eq!(suffix.len(), 5, "{name}");
    assert!(suffix.chars().all(|c| ALPHABET.contains(c)), "{name}");
    assert_eq!(
        sl["metadata"]["labels"],
        json!({
            "tier": "front",
            "kubernetes.io/service-name": "web",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
        })
    );
    assert_eq!(
        sl["metadata"]["ownerReferences"],
        json!([{
            "apiVersion": "v1",
            "kind": "Service",
            "name": "web",
            "uid": svc["metadata"]["uid"],
            "controller": true,
            "blockOwnerDeletion": true,
        }])
    );
    assert_eq!(sl["addressType"], json!("IPv4"));
    assert_eq!(sl["ports"], ports);
    assert_eq!(
        sl["endpoints"],
        json!([
            slice_endpoint("10.0.1.5", &a, "n1", "us-east-1a", true),
            slice_endpoint("10.0.2.6", &b, "n2", "us-east-1b", false),
        ])
    );
    assert!(!sl["endpoints"]
        .to_string()
        .contains(pending["metadata"]["uid"].as_str().unwrap_or("?")));

    // A second pass with nothing changed writes nothing.
    assert_eq!(w.pass().await?, Summary::default());
    Ok(())
}

#[tokio::test]
async fn ready_to_not_ready_moves_the_address_and_back() -> Result<()> {
    let w = world()?;
    w.node("n1", "us-east-1a").await?;
    w.service(web_service()).await?;
    let a = w.pod("web-a", "web", "n1").await?;
    w.set_status("web-a", "10.0.1.5", true).await?;
    w.pass().await?;
    let ep = w.endpoints("web").await?.unwrap_or_default();
    assert_eq!(
        ep["subsets"][0]["addresses"],
        json!([addr("10.0.1.5", &a, "n1")])
    );
    assert!(ep["subsets"][0]["notReadyAddresses"].is_null());

    w.clock.advance(Duration::from_secs(30));
    w.set_status("web-a", "10.0.1.5", false).await?;
    let s = w.pass().await?;
    assert_eq!(s.updated.len(), 2, "{s:?}");
    let ep = w.endpoints("web").await?.unwrap_or_default();
    assert!(ep["subsets"][0]["addresses"].is_null());
    assert_eq!(
        ep["subsets"][0]["notReadyAddresses"],
        json!([addr("10.0.1.5", &a, "n1")])
    );
    assert_eq!(
        ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"],
        json!(w.clock.now().to_rfc3339_secs())
    );
    let sl = w.slice("web").await?;
    assert_eq!(
        sl["endpoints"][0]["conditions"],
        json!({"ready": false, "serving": false, "terminating": false})
    );
    assert_eq!(w.pass().await?.writes, 0);

    w.set_status("web-a", "10.0.1.5", true).await?;
    w.pass().await?;
    let ep = w.endpoints("web").await?.unwrap_or_default();
    assert_eq!(
        ep["subsets"][0]["addresses"],
        json!([addr("10.0.1.5", &a, "n1")])
    );
    assert!(ep["subsets"][0]["notReadyAddresses"].is_null());
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn terminating_pod_leaves_endpoints_but_stays_in_the_slice_as_terminating() -> Result<()> {
    let w = world()?;
    w.node("n1", "us-east-1a").await?;
    w.service(web_service()).await?;
    w.pod("web-a", "web", "n1").await?;
    w.set_status("web-a", "10.0.1.5", true).await?;
    w.pass().await?;
    // A graceful delete: the pod stays with a deletionTimestamp (no kubelet finishes it).
    Api::<Pod>::namespaced(w.ctx.kube.clone(), NS)
        .delete("web-a", &DeleteParams::default().grace_period(30))
        .await?;
    let pod = Api::<Pod>::namespaced(w.ctx.kube.clone(), NS)
        .get_opt("web-a")
        .await?;
    assert!(pod.is_some(), "a pod bound to a node is deleted gracefully");
    w.pass().await?;
    let ep = w.endpoints("web").await?.unwrap_or_default();
    assert!(
        ep["subsets"].as_array().is_none_or(|a| a.is_empty()),
        "{ep}"
    );
    let sl = w.slice("web").await?;
    assert_eq!(
        sl["endpoints"][0]["conditions"],
        json!({"ready": false, "serving": true, "terminating": true})
    );
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn publish_not_ready_addresses_lists_unready_pods_as_ready() -> Result<()> {
    let w = world()?;
    w.node("n1", "us-east-1a").await?;
    let mut svc = web_service();
    svc["spec"]["publishNotReadyAddresses"] = json!(true);
    svc["spec"]["clusterIP"] = json!("None");
    w.service(svc).await?;
    let a = w.pod("web-a", "web", "n1").await?;
    w.set_status("web-a", "10.0.1.5", false).await?;
    w.pass().await?;
    let ep = w.endpoints("web").await?.unwrap_or_default();
    assert_eq!(
        ep["subsets"][0]["addresses"],
        json!([addr("10.0.1.5", &a, "n1")])
    );
    assert_eq!(
        ep["metadata"]["labels"]["service.kubernetes.io/headless"],
        json!("")
    );
    let sl = w.slice("web").await?;
    assert_eq!(
        sl["endpoints"][0]["conditions"],
        json!({"ready": true, "serving": false, "terminating": false})
    );
    assert_eq!(
        sl["metadata"]["labels"]["service.kubernetes.io/headless"],
        json!("")
    );
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}

#[tokio::test]
async fn selectorless_service_is_never_touched() -> Result<()> {
    let w = world()?;
    w.service(json!({
        "metadata": {"name": "external-db", "namespace": NS},
        "spec": {"ports": [{"port": 5432, "protocol": "TCP"}]},
    }))
    .await?;
    let user: Endpoints = serde_json::from_value(json!({
        "metadata": {"name": "external-db", "namespace": NS},
        "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 5432}]}],
    }))?;
    let api = Api::<Endpoints>::namespaced(w.ctx.kube.clone(), NS);
    let before = to_value(&api.create(&PostParams::default(), &user).await?)?;
    let s = w.pass().await?;
    assert_eq!(s.writes, 0, "{s:?}");
    let after = w.endpoints("external-db").await?.unwrap_or_default();
    assert_eq!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    assert_eq!(after["subsets"], before["subsets"]);
    assert!(w.slices("external-db").await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn service_without_pods_gets_a_placeholder_slice_and_deleted_service_cleans_up() -> Result<()>
{
    let w = world()?;
    w.service(web_service()).await?;
    let s = w.pass().await?;
    assert_eq!(s.created.len(), 2, "{s:?}");
    let ep = w.endpoints("web").await?.unwrap_or_default();
    assert!(ep["subsets"].as_array().is_none_or(|a| a.is_empty()));
    let sl = w.slice("web").await?;
    assert!(sl["endpoints"].as_array().is_none_or(|a| a.is_empty()));
    assert!(sl["ports"].as_array().is_none_or(|a| a.is_empty()));
    assert_eq!(w.pass().await?.writes, 0);

    Api::<Service>::namespaced(w.ctx.kube.clone(), NS)
        .delete("web", &DeleteParams::default())
        .await?;
    // The garbage collector removes the slice through its ownerReference.
    assert!(w.slices("web").await?.is_empty());
    let s = w.pass().await?;
    assert_eq!(s.deleted, vec!["Endpoints default/web".to_string()]);
    assert!(w.endpoints("web").await?.is_none());
    assert_eq!(w.pass().await?.writes, 0);
    Ok(())
}
