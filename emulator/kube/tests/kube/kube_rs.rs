//! kube-rs against the embedded API server, in-process (tower Service) and over HTTP: typed
//! `Api` CRUD with every patch type, watcher, reflector and a small Controller.

use cloudbox_kube::{app, KubeState};
use cloudbox_sim::Clock;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{reflector, watcher, Controller, WatchStreamExt};
use kube::Client;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn in_process() -> (KubeState, Client) {
    let st = KubeState::new(Clock::manual(), 7);
    let client = Client::new(app(st.clone()), "default");
    (st, client)
}

async fn over_http() -> anyhow::Result<(KubeState, Client, tokio::sync::oneshot::Sender<()>)> {
    let st = KubeState::new(Clock::manual(), 7);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let s2 = st.clone();
    tokio::spawn(async move {
        let _ = cloudbox_kube::serve(listener, s2, async move {
            let _ = rx.await;
        })
        .await;
    });
    let config = kube::Config::new(format!("http://{addr}").parse()?);
    let client = Client::try_from(config)?;
    Ok((st, client, tx))
}

fn code(e: &kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        _ => 0,
    }
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app": "x"}}, "data": {"k": "v"}}),
    )
    .unwrap_or_default()
}

async fn crud(client: Client) -> anyhow::Result<()> {
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let created = cms.create(&PostParams::default(), &cm("one")).await?;
    let rv = created
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    let e = cms.create(&PostParams::default(), &cm("one")).await.err();
    assert_eq!(e.as_ref().map(code), Some(409));
    let got = cms.get("one").await?;
    assert_eq!(
        got.data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("v")
    );
    let listed = cms.list(&ListParams::default().labels("app=x")).await?;
    assert_eq!(listed.items.len(), 1);
    assert!(cms
        .list(&ListParams::default().labels("app!=x"))
        .await?
        .items
        .is_empty());

    // replace with the current RV works; with a stale one is a 409 Conflict
    let mut next = got.clone();
    next.data = Some([("k".to_string(), "w".to_string())].into());
    let replaced = cms.replace("one", &PostParams::default(), &next).await?;
    assert_ne!(
        replaced
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default(),
        rv
    );
    let e = cms
        .replace("one", &PostParams::default(), &next)
        .await
        .err();
    assert_eq!(e.as_ref().map(code), Some(409));

    // the four patch types
    let pp = PatchParams::default();
    cms.patch("one", &pp, &Patch::Merge(json!({"data": {"m": "1"}})))
        .await?;
    cms.patch("one", &pp, &Patch::Strategic(json!({"data": {"s": "1"}})))
        .await?;
    let jp: json_patch_shim::Patch =
        serde_json::from_value(json!([{"op": "add", "path": "/data/j", "value": "1"}]))?;
    cms.patch("one", &pp, &Patch::<()>::Json(jp)).await?;
    let ssa = PatchParams::apply("tester").force();
    let applied = cms
        .patch("one", &ssa, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}, "data": {"a": "1"}})))
        .await?;
    let data = applied.data.unwrap_or_default();
    for k in ["k", "m", "s", "j", "a"] {
        assert!(data.contains_key(k), "missing {k} in {data:?}");
    }
    assert!(
        applied
            .metadata
            .managed_fields
            .unwrap_or_default()
            .iter()
            .any(|m| m.manager.as_deref() == Some("tester")
                && m.operation.as_deref() == Some("Apply"))
    );
    // apply creates missing objects
    cms.patch(
        "two",
        &ssa,
        &Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}}),
        ),
    )
    .await?;
    cms.delete("one", &DeleteParams::default()).await?;
    assert_eq!(cms.get("one").await.err().as_ref().map(code), Some(404));
    Ok(())
}

// kube's Patch::Json takes json_patch::Patch from kube's own json-patch dependency; the
// `jsonpatch` feature is off in these tests, so send it as a merge patch-free raw JSON patch.
mod json_patch_shim {
    pub type Patch = json_patch::Patch;
}

#[tokio::test]
async fn typed_crud_in_process() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    tokio::time::timeout(T, crud(client)).await?
}

#[tokio::test]
async fn typed_crud_over_http() -> anyhow::Result<()> {
    let (_st, client, stop) = over_http().await?;
    tokio::time::timeout(T, crud(client)).await??;
    let _ = stop.send(());
    Ok(())
}

#[tokio::test]
async fn pods_are_defaulted_and_validated() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let pods: Api<Pod> = Api::default_namespaced(client);
    let p: Pod = serde_json::from_value(json!({"metadata": {"generateName": "web-"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}))?;
    let p = pods.create(&PostParams::default(), &p).await?;
    let name = p.metadata.name.clone().unwrap_or_default();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    let spec = p.spec.unwrap_or_default();
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(spec.dns_policy.as_deref(), Some("ClusterFirst"));
    assert_eq!(spec.termination_grace_period_seconds, Some(30));
    assert_eq!(spec.scheduler_name.as_deref(), Some("default-scheduler"));
    assert_eq!(
        spec.containers[0].image_pull_policy.as_deref(),
        Some("Always")
    );
    assert_eq!(
        spec.containers[0]
            .ports
            .as_ref()
            .map(|p| p[0].protocol.clone()),
        Some(Some("TCP".into()))
    );
    assert_eq!(p.status.and_then(|s| s.phase).as_deref(), Some("Pending"));

    let bad: Pod = serde_json::from_value(
        json!({"metadata": {"name": "Bad_Name"}, "spec": {"containers": []}}),
    )?;
    let e = pods.create(&PostParams::default(), &bad).await.err();
    match e {
        Some(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
            assert!(
                s.message
                    .contains("metadata.name: Invalid value: \"Bad_Name\""),
                "{}",
                s.message
            );
            assert!(
                s.message.contains("spec.containers: Required value"),
                "{}",
                s.message
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn deployments_generation_scale_and_gc() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}))?;
    let d = deploys.create(&PostParams::default(), &d).await?;
    let spec = d.spec.clone().unwrap_or_default();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(spec.revision_history_limit, Some(10));
    assert_eq!(spec.progress_deadline_seconds, Some(600));
    assert_eq!(
        spec.strategy.and_then(|s| s.type_).as_deref(),
        Some("RollingUpdate")
    );
    assert_eq!(d.metadata.generation, Some(1));
    let d = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await?;
    assert_eq!(d.metadata.generation, Some(1));
    let d = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await?;
    assert_eq!(d.metadata.generation, Some(2));
    let scale = deploys.get_scale("web").await?;
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(3));
    deploys
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await?;
    assert_eq!(
        deploys.get("web").await?.spec.and_then(|s| s.replicas),
        Some(5)
    );

    // an owned ConfigMap is garbage-collected with its owner (Background)
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let owned: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "owned", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": uid, "controller": true}]}}),
    )?;
    cms.create(&PostParams::default(), &owned).await?;
    let kept: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "kept", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": uid}]}}))?;
    cms.create(&PostParams::default(), &kept).await?;
    deploys.delete("web", &DeleteParams::background()).await?;
    assert_eq!(cms.get("owned").await.err().as_ref().map(code), Some(404));
    assert_eq!(cms.get("kept").await.err().as_ref().map(code), Some(404));

    // Orphan keeps dependents and drops their owner reference
    let d2: Deployment = serde_json::from_value(json!({"metadata": {"name": "w2"},
        "spec": {"selector": {"matchLabels": {"app": "w"}},
                 "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))?;
    let d2 = deploys.create(&PostParams::default(), &d2).await?;
    let orphan: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "orphan", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w2", "uid": d2.metadata.uid}]}}))?;
    cms.create(&PostParams::default(), &orphan).await?;
    deploys.delete("w2", &DeleteParams::orphan()).await?;
    let o = cms.get("orphan").await?;
    assert!(o.metadata.owner_references.unwrap_or_default().is_empty());
    Ok(())
}

#[tokio::test]
async fn services_get_cluster_ips_and_node_ports() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let svcs: Api<Service> = Api::default_namespaced(client);
    let k = svcs.get("kubernetes").await?;
    assert_eq!(
        k.spec.and_then(|s| s.cluster_ip).as_deref(),
        Some("10.96.0.1")
    );
    let s: Service = serde_json::from_value(json!({"metadata": {"name": "lb"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 8080}]}}))?;
    let s = svcs.create(&PostParams::default(), &s).await?;
    let spec = s.spec.unwrap_or_default();
    let ip = spec.cluster_ip.clone().unwrap_or_default();
    assert!(ip.starts_with("10.") && ip != "10.96.0.1", "{ip}");
    let port = &spec.ports.unwrap_or_default()[0];
    let np = port.node_port.unwrap_or(0);
    assert!((30000..=32767).contains(&np));
    assert_eq!(
        port.target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8080))
    );
    let clash: Service = serde_json::from_value(json!({"metadata": {"name": "np"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": np}]}}))?;
    match svcs.create(&PostParams::default(), &clash).await.err() {
        Some(kube::Error::Api(s)) => {
            assert_eq!(s.code, 422);
            assert!(
                s.message.contains("provided port is already allocated"),
                "{}",
                s.message
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn namespace_deletion_removes_contents() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "tmp"}}))?,
    )
    .await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "tmp");
    cms.create(&PostParams::default(), &cm("a")).await?;
    nss.delete("tmp", &DeleteParams::default()).await?;
    assert_eq!(nss.get("tmp").await.err().as_ref().map(code), Some(404));
    assert_eq!(cms.get("a").await.err().as_ref().map(code), Some(404));
    let missing: Api<ConfigMap> = Api::namespaced(client, "nope");
    assert_eq!(
        missing
            .create(&PostParams::default(), &cm("a"))
            .await
            .err()
            .as_ref()
            .map(code),
        Some(404)
    );
    Ok(())
}

#[tokio::test]
async fn finalizers_hold_deletion() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let c: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "f", "finalizers": ["example.com/x"]}}),
    )?;
    cms.create(&PostParams::default(), &c).await?;
    cms.delete("f", &DeleteParams::default()).await?;
    let held = cms.get("f").await?;
    assert!(held.metadata.deletion_timestamp.is_some());
    cms.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    assert_eq!(cms.get("f").await.err().as_ref().map(code), Some(404));
    Ok(())
}

#[tokio::test]
async fn watcher_and_reflector_follow_changes() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.create(&PostParams::default(), &cm("pre")).await?;
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream = reflector::reflector(writer, watcher(cms.clone(), watcher::Config::default()))
        .applied_objects();
    let mut stream = Box::pin(stream);
    let first = tokio::time::timeout(T, stream.try_next()).await??;
    assert_eq!(first.and_then(|c| c.metadata.name).as_deref(), Some("pre"));
    for i in 0..5 {
        cms.create(&PostParams::default(), &cm(&format!("c{i}")))
            .await?;
    }
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let next = tokio::time::timeout(T, stream.try_next()).await??;
        if let Some(c) = next {
            seen.push(c.metadata.name.unwrap_or_default());
        }
    }
    assert_eq!(seen, vec!["c0", "c1", "c2", "c3", "c4"]);
    assert_eq!(reader.state().len(), 6);
    Ok(())
}

#[tokio::test]
async fn watcher_over_http() -> anyhow::Result<()> {
    let (_st, client, stop) = over_http().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut stream = Box::pin(watcher(cms.clone(), watcher::Config::default()).touched_objects());
    cms.create(&PostParams::default(), &cm("h")).await?;
    let got = tokio::time::timeout(T, stream.try_next()).await??;
    assert_eq!(got.and_then(|c| c.metadata.name).as_deref(), Some("h"));
    let _ = stop.send(());
    Ok(())
}

#[derive(Debug, thiserror_shim::Error)]
#[error("kube: {0}")]
struct ReconcileError(#[from] kube::Error);

mod thiserror_shim {
    pub use thiserror::Error;
}

async fn reconcile(
    cm: Arc<ConfigMap>,
    client: Arc<Client>,
) -> Result<kube::runtime::controller::Action, ReconcileError> {
    let api: Api<ConfigMap> = Api::default_namespaced((*client).clone());
    let name = cm.metadata.name.clone().unwrap_or_default();
    if cm
        .metadata
        .annotations
        .as_ref()
        .is_none_or(|a| !a.contains_key("reconciled"))
    {
        api.patch(&name, &PatchParams::apply("test-controller"), &Patch::Apply(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "annotations": {"reconciled": "yes"}}})))
            .await?;
    }
    Ok(kube::runtime::controller::Action::await_change())
}

fn error_policy(
    _: Arc<ConfigMap>,
    _: &ReconcileError,
    _: Arc<Client>,
) -> kube::runtime::controller::Action {
    kube::runtime::controller::Action::requeue(Duration::from_secs(1))
}

#[tokio::test]
async fn controller_reconciles() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    run_controller(client).await
}

#[tokio::test]
async fn controller_and_reflector_over_http() -> anyhow::Result<()> {
    let (_st, client, stop) = over_http().await?;
    run_controller(client.clone()).await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let (reader, writer) = reflector::store::<ConfigMap>();
    let mut stream = Box::pin(
        reflector::reflector(writer, watcher(cms.clone(), watcher::Config::default()))
            .applied_objects(),
    );
    tokio::time::timeout(T, async {
        loop {
            tokio::select! {
                ready = reader.wait_until_ready() => { ready?; break; }
                next = stream.try_next() => { next?; }
            }
        }
        anyhow::Ok(())
    })
    .await??;
    cms.create(&PostParams::default(), &cm("via-http")).await?;
    loop {
        let next = tokio::time::timeout(T, stream.try_next()).await??;
        if next.and_then(|c| c.metadata.name).as_deref() == Some("via-http") {
            break;
        }
    }
    let key = kube::runtime::reflector::ObjectRef::new("via-http").within("default");
    assert!(reader.get(&key).is_some());
    assert!(reader.state().len() >= 2);
    let _ = stop.send(());
    Ok(())
}

async fn run_controller(client: Client) -> anyhow::Result<()> {
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let ctl = Controller::new(cms.clone(), watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(client.clone()))
        .for_each(|_| async {});
    let handle = tokio::spawn(ctl);
    cms.create(&PostParams::default(), &cm("target")).await?;
    let cond = |c: Option<&ConfigMap>| {
        c.and_then(|c| c.metadata.annotations.as_ref())
            .is_some_and(|a| a.get("reconciled").map(String::as_str) == Some("yes"))
    };
    tokio::time::timeout(
        T,
        kube::runtime::wait::await_condition(cms.clone(), "target", cond),
    )
    .await??;
    handle.abort();
    Ok(())
}

#[tokio::test]
async fn recorder_events_are_visible_as_core_events() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    use kube::Resource;
    let (_st, client) = in_process();
    let svcs: Api<Service> = Api::default_namespaced(client.clone());
    let svc = svcs.get("kubernetes").await?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "cloudbox-test".into(),
            instance: None,
        },
    );
    let ev = Event {
        type_: EventType::Normal,
        reason: "EnsuredLoadBalancer".into(),
        note: Some("Ensured load balancer".into()),
        action: "Ensure".into(),
        secondary: None,
    };
    let reference = svc.object_ref(&());
    recorder.publish(&ev, &reference).await?;
    recorder.publish(&ev, &reference).await?; // the second one patches the series
                                              // kubectl describe's query: core v1 events by involvedObject fields
    let events: Api<CoreEvent> = Api::default_namespaced(client);
    let found = events
        .list(
            &ListParams::default()
                .fields("involvedObject.name=kubernetes,involvedObject.kind=Service"),
        )
        .await?;
    assert_eq!(found.items.len(), 1);
    let e = &found.items[0];
    assert_eq!(e.reason.as_deref(), Some("EnsuredLoadBalancer"));
    assert_eq!(e.message.as_deref(), Some("Ensured load balancer"));
    assert_eq!(e.reporting_component.as_deref(), Some("cloudbox-test"));
    Ok(())
}

#[tokio::test]
async fn binding_and_eviction_subresources() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let pods: Api<Pod> = Api::default_namespaced(client);
    let p: Pod = serde_json::from_value(
        json!({"metadata": {"name": "b"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    )?;
    pods.create(&PostParams::default(), &p).await?;
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"}, "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}});
    let _: kube::core::Status = pods
        .create_subresource(
            "binding",
            "b",
            &PostParams::default(),
            serde_json::to_vec(&binding)?,
        )
        .await?;
    let bound = pods.get("b").await?;
    assert_eq!(
        bound.spec.and_then(|s| s.node_name).as_deref(),
        Some("node-1")
    );
    let conds = bound.status.and_then(|s| s.conditions).unwrap_or_default();
    assert!(conds
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.status == "True"));
    let again = pods
        .create_subresource::<kube::core::Status>(
            "binding",
            "b",
            &PostParams::default(),
            serde_json::to_vec(&binding)?,
        )
        .await
        .err();
    assert_eq!(again.as_ref().map(code), Some(409));
    // eviction of a bound pod is a graceful delete
    pods.evict("b", &kube::api::EvictParams::default()).await?;
    assert!(pods.get("b").await?.metadata.deletion_timestamp.is_some());
    Ok(())
}

fn owned_cm(name: &str, refs: serde_json::Value) -> anyhow::Result<ConfigMap> {
    Ok(serde_json::from_value(
        json!({"metadata": {"name": name, "ownerReferences": refs}}),
    )?)
}

fn owner_ref(name: &str, uid: &str, block: bool) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid, "blockOwnerDeletion": block})
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let pods: Api<Pod> = Api::default_namespaced(client);
    let owner = cms.create(&PostParams::default(), &cm("owner")).await?;
    let uid = owner.metadata.uid.unwrap_or_default();
    // a bound pod waits 30 s for its kubelet, and blocks its owner meanwhile
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "blocker",
        "ownerReferences": [owner_ref("owner", &uid, true)]},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]}}))?;
    pods.create(&PostParams::default(), &pod).await?;
    cms.create(
        &PostParams::default(),
        &owned_cm("loose", json!([owner_ref("owner", &uid, false)]))?,
    )
    .await?;
    cms.delete("owner", &DeleteParams::foreground()).await?;
    let waiting = cms.get("owner").await?;
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert_eq!(
        waiting.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_string()])
    );
    assert_eq!(cms.get("loose").await.err().as_ref().map(code), Some(404));
    assert!(pods
        .get("blocker")
        .await?
        .metadata
        .deletion_timestamp
        .is_some());
    // the kubelet's final delete removes the pod, and with it the owner
    pods.delete("blocker", &DeleteParams::default().grace_period(0))
        .await?;
    assert_eq!(
        pods.get("blocker").await.err().as_ref().map(code),
        Some(404)
    );
    assert_eq!(cms.get("owner").await.err().as_ref().map(code), Some(404));
    Ok(())
}

#[tokio::test]
async fn dependents_of_owners_that_never_existed_are_collected() -> anyhow::Result<()> {
    let (_st, client) = in_process();
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let real = cms.create(&PostParams::default(), &cm("real")).await?;
    let uid = real.metadata.uid.unwrap_or_default();
    let ghost = "0b9a4c1e-0000-4000-8000-000000000000";
    // an owner uid that is not stored
    cms.create(
        &PostParams::default(),
        &owned_cm("dangling", json!([owner_ref("ghost", ghost, false)]))?,
    )
    .await?;
    assert_eq!(
        cms.get("dangling").await.err().as_ref().map(code),
        Some(404)
    );
    // the owner's name is stored, with another uid
    cms.create(
        &PostParams::default(),
        &owned_cm("stale", json!([owner_ref("real", ghost, false)]))?,
    )
    .await?;
    assert_eq!(cms.get("stale").await.err().as_ref().map(code), Some(404));
    // a live owner keeps the dependent; only the dangling reference goes
    cms.create(
        &PostParams::default(),
        &owned_cm(
            "mixed",
            json!([
                owner_ref("real", &uid, false),
                owner_ref("ghost", ghost, false)
            ]),
        )?,
    )
    .await?;
    let refs = cms
        .get("mixed")
        .await?
        .metadata
        .owner_references
        .unwrap_or_default();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].uid, uid);
    // an update that makes the only reference dangling collects the object too
    cms.patch(
        "mixed",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"ownerReferences": [owner_ref("real", ghost, false)]}})),
    )
    .await?;
    assert_eq!(cms.get("mixed").await.err().as_ref().map(code), Some(404));
    // a cluster-scoped dependent naming a namespaced owner kind is an invalid reference: left alone
    let nss: Api<Namespace> = Api::all(client);
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "gc-cluster-scoped",
        "ownerReferences": [owner_ref("real", &uid, false)]}}))?;
    nss.create(&PostParams::default(), &ns).await?;
    assert!(nss.get("gc-cluster-scoped").await.is_ok());
    Ok(())
}

#[tokio::test]
async fn replication_controllers_orphan_by_default() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ReplicationController;
    let (_st, client) = in_process();
    let rcs: Api<ReplicationController> = Api::default_namespaced(client.clone());
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let rc = |name: &str| -> anyhow::Result<ReplicationController> {
        Ok(serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))?)
    };
    for (name, params, kept) in [
        ("rc-default", DeleteParams::default(), true),
        ("rc-background", DeleteParams::background(), false),
    ] {
        let created = rcs.create(&PostParams::default(), &rc(name)?).await?;
        let uid = created.metadata.uid.unwrap_or_default();
        let dep = format!("{name}-dep");
        cms.create(
            &PostParams::default(),
            &owned_cm(
                &dep,
                json!([{"apiVersion": "v1", "kind": "ReplicationController", "name": name, "uid": uid}]),
            )?,
        )
        .await?;
        rcs.delete(name, &params).await?;
        assert_eq!(rcs.get(name).await.err().as_ref().map(code), Some(404));
        match cms.get(&dep).await {
            Ok(o) => {
                assert!(kept, "{dep} should have been collected");
                assert!(o.metadata.owner_references.unwrap_or_default().is_empty());
            }
            Err(e) => {
                assert!(!kept, "{dep} should have been orphaned");
                assert_eq!(code(&e), 404);
            }
        }
    }
    Ok(())
}
