//! kube-controller-manager's Endpoints and EndpointSlice controllers, one deterministic pass.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/controller/endpoint/endpoints_controller.go` (`syncService`, `addEndpointSubset`,
//!   `podToEndpointAddressForService`, `endpointPortFromServicePort`, `checkLeftoverEndpoints`);
//! - `pkg/controller/endpointslice/endpointslice_controller.go` (`syncService`) and
//!   `staging/src/k8s.io/endpointslice/{reconciler.go, utils.go}` (`podToEndpoint`,
//!   `getEndpointPorts`, `newEndpointSlice`, `setEndpointSliceLabels`, the placeholder slice);
//! - `staging/src/k8s.io/endpointslice/util/controller_utils.go` (`ShouldPodBeInEndpoints`,
//!   `ShouldSetHostname`), `pkg/api/v1/pod/util.go` (`FindPort`, `IsPodReady`);
//! - `pkg/api/v1/endpoints/util.go` (`RepackSubsets`);
//! - `pkg/controller/util/endpoint/trigger_time_tracker.go` (the
//!   `endpoints.kubernetes.io/last-change-trigger-time` annotation).
//!
//! [`reconcile_once`] lists Services, Pods, Nodes, Endpoints and EndpointSlices, computes for
//! every Service with a selector the desired `v1 Endpoints` (same name as the Service) and the
//! desired `discovery.k8s.io/v1` EndpointSlices (`generateName: <svc>-`), and writes only what
//! differs: a second pass with nothing changed writes nothing. Services without a selector and
//! `ExternalName` Services are never touched (their Endpoints / slices are the user's). Slices
//! carry a controller ownerReference to their Service, so the API server's garbage collector
//! removes them with it; the Endpoints of a deleted Service are deleted by the pass (upstream
//! `syncService` on NotFound / `checkLeftoverEndpoints`).
//!
//! Not modelled:
//! - informers, work queues, rate limiting and the EndpointSlice tracker / expectations: each
//!   pass lists from the API server;
//! - the trigger-time tracker's memory: the annotation is the latest of the Service's
//!   creationTimestamp and the selected pods' `Ready` condition lastTransitionTime at the time of
//!   a write (upstream: the earliest of the changes seen since the previous sync);
//! - `RepackSubsets`' hash-based ordering: addresses are sorted by IP then pod uid (as upstream),
//!   ports by name, port and protocol, subsets by their first address;
//! - the 1000-address truncation of Endpoints (`endpoints.kubernetes.io/over-capacity`);
//! - IPv6 and dual-stack (`addressType` is always IPv4), topology-aware hints,
//!   `trafficDistribution`, the EndpointSlice mirroring controller;
//! - upstream's slice packing heuristics (keeping unchanged endpoints in place, filling
//!   partially full slices): here each port set gets slices of up to 100 endpoints in pod-name
//!   order, and existing slices are reused (updated) before new ones are created;
//! - events (`FailedToUpdateEndpoint`, `FailedToCreateEndpointSlices`, ...).

use crate::workloads::{create, delete, list, meta, update};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// `discovery.LabelServiceName`.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// `discovery.LabelManagedBy`.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// The EndpointSlice controller's name (`ControllerName`).
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// `v1.IsHeadlessService`.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
/// `v1.EndpointsLastChangeTriggerTime`.
pub const ANNOTATION_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// `resourcelock.LeaderElectionRecordAnnotationKey`: Endpoints used as leader locks are kept.
const ANNOTATION_LEADER: &str = "control-plane.alpha.kubernetes.io/leader";
/// `maxEndpointsPerSlice` (kube-controller-manager's `--max-endpoints-per-slice` default).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// `v1.LabelTopologyZone`.
const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects created (`Endpoints ns/name`, `EndpointSlice ns/name`).
    pub created: Vec<String>,
    /// Objects updated.
    pub updated: Vec<String>,
    /// Objects deleted.
    pub deleted: Vec<String>,
    /// Every write to the API server.
    pub writes: usize,
}

/// One pass of both controllers over every Service.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    // Two controllers upstream, each under its own account.
    let ep_ctx = &ctx
        .as_account(&crate::Account::controller("endpoint-controller"))
        .await?;
    let slice_ctx = &ctx
        .as_account(&crate::Account::controller("endpointslice-controller"))
        .await?;
    let services = list::<Service>(ctx, "Services").await?;
    let pods = list::<Pod>(ctx, "Pods").await?;
    let endpoints = list::<Endpoints>(ctx, "Endpoints").await?;
    let slices = list::<EndpointSlice>(ctx, "EndpointSlices").await?;
    let nodes: BTreeMap<String, Value> = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?
        .iter()
        .map(|v| (meta(v, "name").to_string(), Value::clone(v)))
        .collect();
    let mut s = Summary::default();
    let svc_keys: BTreeSet<(String, String)> = services
        .iter()
        .map(|v| {
            (
                meta(v, "namespace").to_string(),
                meta(v, "name").to_string(),
            )
        })
        .collect();

    for svc in &services {
        if svc["spec"]["type"] == "ExternalName" || svc["spec"]["selector"].is_null() {
            continue;
        }
        let ns = meta(svc, "namespace");
        let selected: Vec<&Value> = pods
            .iter()
            .filter(|p| meta(p, "namespace") == ns && selects(&svc["spec"]["selector"], p))
            .map(|p| &**p)
            .collect();
        let trigger = trigger_time(svc, &selected);
        let current = endpoints
            .iter()
            .find(|e| meta(e, "namespace") == ns && meta(e, "name") == meta(svc, "name"))
            .map(|e| &**e);
        sync_endpoints(ep_ctx, svc, &selected, current, &trigger, &mut s).await?;
        let mine: Vec<&Value> = slices
            .iter()
            .filter(|e| {
                meta(e, "namespace") == ns
                    && e["metadata"]["labels"][LABEL_SERVICE_NAME] == svc["metadata"]["name"]
                    && e["metadata"]["labels"][LABEL_MANAGED_BY] == CONTROLLER_NAME
            })
            .map(|e| &**e)
            .collect();
        sync_slices(slice_ctx, svc, &selected, &nodes, &mine, &trigger, &mut s).await?;
    }

    // Endpoints left over from a deleted Service (`syncService` on NotFound).
    for ep in &endpoints {
        let key = (
            meta(ep, "namespace").to_string(),
            meta(ep, "name").to_string(),
        );
        if svc_keys.contains(&key) || !ep["metadata"]["annotations"][ANNOTATION_LEADER].is_null() {
            continue;
        }
        delete::<Endpoints>(ep_ctx, ep, "Endpoints").await?;
        s.deleted.push(format!("Endpoints {}/{}", key.0, key.1));
        s.writes += 1;
    }
    // Slices whose Service is gone: the garbage collector removes them through their
    // ownerReference; this only catches slices created without one.
    for sl in &slices {
        let ns = meta(sl, "namespace").to_string();
        let labels = &sl["metadata"]["labels"];
        let Some(svc) = labels[LABEL_SERVICE_NAME].as_str() else {
            continue;
        };
        if labels[LABEL_MANAGED_BY] != CONTROLLER_NAME
            || svc_keys.contains(&(ns.clone(), svc.to_string()))
        {
            continue;
        }
        delete::<EndpointSlice>(slice_ctx, sl, "EndpointSlice").await?;
        s.deleted
            .push(format!("EndpointSlice {ns}/{}", meta(sl, "name")));
        s.writes += 1;
    }
    Ok(s)
}

/// `labels.Set(service.Spec.Selector).AsSelectorPreValidated()` (an empty selector selects
/// every pod of the namespace, as upstream).
fn selects(selector: &Value, pod: &Value) -> bool {
    selector
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| pod["metadata"]["labels"].get(k) == Some(v))
}

/// `podutil.IsPodReady`.
fn is_pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// `ShouldPodBeInEndpoints`: not terminal, has an IP, and (unless `include_terminating`) not
/// being deleted.
fn should_be_in_endpoints(pod: &Value, include_terminating: bool) -> bool {
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return false;
    }
    let no_ip = pod["status"]["podIP"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
        && pod["status"]["podIPs"]
            .as_array()
            .is_none_or(|a| a.is_empty());
    if no_ip {
        return false;
    }
    include_terminating || pod["metadata"]["deletionTimestamp"].is_null()
}

/// The pod's IPv4 address (`status.podIP`, else the first IPv4 of `status.podIPs`).
fn pod_ipv4(pod: &Value) -> Option<String> {
    let ip = pod["status"]["podIP"].as_str().unwrap_or_default();
    if ip.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(ip.to_string());
    }
    pod["status"]["podIPs"]
        .as_array()?
        .iter()
        .filter_map(|i| i["ip"].as_str())
        .find(|i| i.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_string)
}

/// `ShouldSetHostname`: the pod's hostname when its subdomain is the Service's name.
fn hostname(pod: &Value, svc: &Value) -> Option<String> {
    let h = pod["spec"]["hostname"].as_str().filter(|h| !h.is_empty())?;
    (pod["spec"]["subdomain"] == svc["metadata"]["name"]
        && meta(pod, "namespace") == meta(svc, "namespace"))
    .then(|| h.to_string())
}

fn protocol(v: &Value) -> &str {
    v.as_str().unwrap_or("TCP")
}

/// `podutil.FindPort`: a numeric targetPort as is, a named one from the containers' (then the
/// restartable init containers') ports of the same name and protocol.
fn find_port(pod: &Value, svc_port: &Value) -> Option<i64> {
    let target = &svc_port["targetPort"];
    if let Some(n) = target.as_i64() {
        return Some(n);
    }
    let Some(name) = target.as_str() else {
        // Defaulted by the API server to `port`.
        return svc_port["port"].as_i64();
    };
    let proto = protocol(&svc_port["protocol"]);
    let containers = pod["spec"]["containers"].as_array().into_iter().flatten();
    let sidecars = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["restartPolicy"] == "Always");
    containers
        .chain(sidecars)
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .find(|p| p["name"] == name && protocol(&p["protocol"]) == proto)
        .and_then(|p| p["containerPort"].as_i64())
}

fn is_headless(svc: &Value) -> bool {
    svc["spec"]["clusterIP"] == "None"
}

fn svc_ports(svc: &Value) -> Vec<Value> {
    svc["spec"]["ports"].as_array().cloned().unwrap_or_default()
}

fn publish_not_ready(svc: &Value) -> bool {
    svc["spec"]["publishNotReadyAddresses"] == json!(true)
}

/// The trigger time (see the module docs): the latest of the Service's creation and the
/// selected pods' Ready transitions.
fn trigger_time(svc: &Value, pods: &[&Value]) -> String {
    let ms = |v: &Value| {
        v.as_str()
            .and_then(cloudbox_sim::time_fmt::parse_iso8601)
            .unwrap_or(0)
    };
    let mut t = ms(&svc["metadata"]["creationTimestamp"]);
    for p in pods {
        for c in p["status"]["conditions"].as_array().into_iter().flatten() {
            if c["type"] == "Ready" {
                t = t.max(ms(&c["lastTransitionTime"]));
            }
        }
    }
    cloudbox_sim::time_fmt::rfc3339_secs(t)
}

/// Drops nulls, empty arrays and empty objects, so that stored and desired objects compare
/// equal whatever the serializer omitted.
fn norm(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), norm(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
        v => v.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// A merge-patch body that sets `labels` exactly (stale keys of `current` become null).
fn labels_patch(current: &Value, desired: &Map<String, Value>) -> Value {
    let mut out = desired.clone();
    for k in current.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !desired.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    Value::Object(out)
}

fn target_ref(pod: &Value) -> Value {
    json!({
        "kind": "Pod",
        "namespace": meta(pod, "namespace"),
        "name": meta(pod, "name"),
        "uid": meta(pod, "uid"),
    })
}

// ---------------------------------------------------------------------------------------------
// Endpoints controller.

/// `syncService` of the Endpoints controller.
async fn sync_endpoints(
    ctx: &Context,
    svc: &Value,
    pods: &[&Value],
    current: Option<&Value>,
    trigger: &str,
    s: &mut Summary,
) -> Result<(), Error> {
    let tolerate_unready = publish_not_ready(svc);
    // (address, ready, ports) triples before repacking.
    let mut entries: Vec<(Value, bool, Vec<Value>)> = Vec::new();
    for pod in pods {
        if !should_be_in_endpoints(pod, tolerate_unready) {
            continue;
        }
        let Some(ip) = pod_ipv4(pod) else {
            continue;
        };
        let mut addr = json!({
            "ip": ip,
            "nodeName": pod["spec"]["nodeName"].as_str().unwrap_or_default(),
            "targetRef": target_ref(pod),
        });
        if let Some(h) = hostname(pod, svc) {
            addr["hostname"] = json!(h);
        }
        let ready = tolerate_unready || is_pod_ready(pod);
        let ports = svc_ports(svc);
        if ports.is_empty() && is_headless(svc) {
            entries.push((addr, ready, Vec::new()));
            continue;
        }
        for sp in &ports {
            let Some(port) = find_port(pod, sp) else {
                continue;
            };
            let mut epp = json!({"port": port, "protocol": protocol(&sp["protocol"])});
            if let Some(n) = sp["name"].as_str().filter(|n| !n.is_empty()) {
                epp["name"] = json!(n);
            }
            if let Some(a) = sp["appProtocol"].as_str() {
                epp["appProtocol"] = json!(a);
            }
            entries.push((addr.clone(), ready, vec![epp]));
        }
    }
    let subsets = repack(entries);

    let mut labels = svc["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if is_headless(svc) {
        labels.insert(LABEL_HEADLESS.to_string(), json!(""));
    } else {
        labels.remove(LABEL_HEADLESS);
    }
    let (ns, name) = (meta(svc, "namespace"), meta(svc, "name"));
    match current {
        Some(cur) => {
            let same = norm(&cur["subsets"]) == norm(&Value::Array(subsets.clone()))
                && norm(&cur["metadata"]["labels"]) == norm(&Value::Object(labels.clone()));
            if same {
                return Ok(());
            }
            let body = json!({
                "metadata": {
                    "labels": labels_patch(&cur["metadata"]["labels"], &labels),
                    "annotations": {ANNOTATION_TRIGGER_TIME: trigger},
                },
                "subsets": subsets,
            });
            update::<Endpoints>(ctx, cur, &body, false, "Endpoints").await?;
            s.updated.push(format!("Endpoints {ns}/{name}"));
        }
        None => {
            let obj = json!({
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {ANNOTATION_TRIGGER_TIME: trigger},
                },
                "subsets": subsets,
            });
            create::<Endpoints>(ctx, ns, obj, "Endpoints").await?;
            s.created.push(format!("Endpoints {ns}/{name}"));
        }
    }
    s.writes += 1;
    Ok(())
}

/// `RepackSubsets`: maps each port to the addresses offering it, then groups ports served by the
/// same set of (address, ready) pairs into one subset.
fn repack(entries: Vec<(Value, bool, Vec<Value>)>) -> Vec<Value> {
    let addr_key = |a: &Value| {
        let ip: std::net::Ipv4Addr = a["ip"]
            .as_str()
            .and_then(|i| i.parse().ok())
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        (
            ip,
            a["targetRef"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    // port (or the -1 sentinel) → address key → (address, ready)
    type Addrs = BTreeMap<(std::net::Ipv4Addr, String), (Value, bool)>;
    let mut by_port: BTreeMap<String, (Option<Value>, Addrs)> = BTreeMap::new();
    for (addr, ready, ports) in entries {
        let ports: Vec<Option<Value>> = if ports.is_empty() {
            vec![None]
        } else {
            ports.into_iter().map(Some).collect()
        };
        for p in ports {
            let key = p.as_ref().map(port_sort_key).unwrap_or_default();
            let e = by_port
                .entry(key)
                .or_insert_with(|| (p.clone(), BTreeMap::new()));
            e.1.insert(addr_key(&addr), (addr.clone(), ready));
        }
    }
    // address set → ports
    let mut by_addrs: BTreeMap<String, (Addrs, Vec<Value>)> = BTreeMap::new();
    for (_, (port, addrs)) in by_port {
        let key = addrs
            .iter()
            .map(|((ip, uid), (_, r))| format!("{ip}/{uid}/{r}"))
            .collect::<Vec<_>>()
            .join(",");
        let e = by_addrs.entry(key).or_insert_with(|| (addrs, Vec::new()));
        if let Some(p) = port {
            e.1.push(p);
        }
    }
    let mut out: Vec<((std::net::Ipv4Addr, String), Value)> = by_addrs
        .into_values()
        .map(|(addrs, ports)| {
            let first = addrs
                .keys()
                .next()
                .cloned()
                .unwrap_or((std::net::Ipv4Addr::UNSPECIFIED, String::new()));
            let ready: Vec<Value> = addrs
                .values()
                .filter(|(_, r)| *r)
                .map(|(a, _)| a.clone())
                .collect();
            let not_ready: Vec<Value> = addrs
                .values()
                .filter(|(_, r)| !*r)
                .map(|(a, _)| a.clone())
                .collect();
            let mut ss = Map::new();
            if !ready.is_empty() {
                ss.insert("addresses".into(), Value::Array(ready));
            }
            if !not_ready.is_empty() {
                ss.insert("notReadyAddresses".into(), Value::Array(not_ready));
            }
            if !ports.is_empty() {
                ss.insert("ports".into(), Value::Array(ports));
            }
            (first, Value::Object(ss))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, v)| v).collect()
}

fn port_sort_key(p: &Value) -> String {
    format!(
        "{}\u{0}{:05}\u{0}{}",
        p["name"].as_str().unwrap_or_default(),
        p["port"].as_i64().unwrap_or_default(),
        p["protocol"].as_str().unwrap_or_default()
    )
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice controller.

/// `getEndpointPorts`: one EndpointPort per Service port the pod resolves (name always set).
fn endpoint_ports(svc: &Value, pod: &Value) -> Vec<Value> {
    let ports = svc_ports(svc);
    if ports.is_empty() && is_headless(svc) {
        return Vec::new();
    }
    ports
        .iter()
        .filter_map(|sp| {
            let port = find_port(pod, sp)?;
            let mut p = json!({
                "name": sp["name"].as_str().unwrap_or_default(),
                "port": port,
                "protocol": protocol(&sp["protocol"]),
            });
            if let Some(a) = sp["appProtocol"].as_str() {
                p["appProtocol"] = json!(a);
            }
            Some(p)
        })
        .collect()
}

/// `podToEndpoint`.
fn pod_to_endpoint(pod: &Value, node: Option<&Value>, svc: &Value, ip: String) -> Value {
    let serving = is_pod_ready(pod);
    let terminating = !pod["metadata"]["deletionTimestamp"].is_null();
    let ready = publish_not_ready(svc) || (serving && !terminating);
    let mut ep = json!({
        "addresses": [ip],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": target_ref(pod),
    });
    if let Some(n) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        ep["nodeName"] = json!(n);
    }
    if let Some(z) = node
        .and_then(|n| n["metadata"]["labels"][LABEL_ZONE].as_str())
        .filter(|z| !z.is_empty())
    {
        ep["zone"] = json!(z);
    }
    if let Some(h) = hostname(pod, svc) {
        ep["hostname"] = json!(h);
    }
    ep
}

/// `setEndpointSliceLabels`: the Service's labels minus the reserved keys, plus the headless,
/// service-name and managed-by labels.
fn slice_labels(svc: &Value) -> Map<String, Value> {
    let mut labels: Map<String, Value> = svc["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            ![LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if is_headless(svc) {
        labels.insert(LABEL_HEADLESS.into(), json!(""));
    }
    labels.insert(LABEL_SERVICE_NAME.into(), svc["metadata"]["name"].clone());
    labels.insert(LABEL_MANAGED_BY.into(), json!(CONTROLLER_NAME));
    labels
}

/// The EndpointSlice controller's `syncService` + `reconcile` for the IPv4 address type.
async fn sync_slices(
    ctx: &Context,
    svc: &Value,
    pods: &[&Value],
    nodes: &BTreeMap<String, Value>,
    existing: &[&Value],
    trigger: &str,
    s: &mut Summary,
) -> Result<(), Error> {
    // port set (canonical JSON) → (ports, endpoints)
    let mut groups: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for pod in pods {
        if !should_be_in_endpoints(pod, true) {
            continue;
        }
        let node = nodes.get(pod["spec"]["nodeName"].as_str().unwrap_or_default());
        if node.is_none() && !publish_not_ready(svc) {
            // "skipping Pod for Service, Node not found"
            continue;
        }
        let Some(ip) = pod_ipv4(pod) else {
            continue;
        };
        let ports = endpoint_ports(svc, pod);
        let key = Value::Array(ports.clone()).to_string();
        let g = groups.entry(key).or_insert_with(|| (ports, Vec::new()));
        g.1.push(pod_to_endpoint(pod, node, svc, ip));
    }
    let mut desired: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    for (_, (ports, eps)) in groups {
        for chunk in eps.chunks(MAX_ENDPOINTS_PER_SLICE) {
            desired.push((ports.clone(), chunk.to_vec()));
        }
    }
    if desired.is_empty() {
        // The placeholder slice: no ports, no endpoints.
        desired.push((Vec::new(), Vec::new()));
    }
    let labels = slice_labels(svc);
    let owner = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "name": svc["metadata"]["name"],
        "uid": svc["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    });
    let matches = |sl: &Value, ports: &[Value], eps: &[Value]| {
        norm(&sl["ports"]) == norm(&Value::Array(ports.to_vec()))
            && norm(&sl["endpoints"]) == norm(&Value::Array(eps.to_vec()))
            && norm(&sl["metadata"]["labels"]) == norm(&Value::Object(labels.clone()))
            && sl["addressType"] == "IPv4"
    };
    // `ownedBy`: slices of an older Service of the same name are deleted, never reused.
    let owned = |sl: &Value| {
        sl["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["kind"] == "Service" && r["uid"] == svc["metadata"]["uid"])
    };
    let (mut pool, stale): (Vec<&Value>, Vec<&Value>) =
        existing.iter().copied().partition(|sl| owned(sl));
    // Keep the slices already as desired; reuse the others for the rest, then create, then delete.
    let mut todo: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    for (ports, eps) in desired {
        if let Some(i) = pool.iter().position(|sl| matches(sl, &ports, &eps)) {
            pool.remove(i);
        } else {
            todo.push((ports, eps));
        }
    }
    let ns = meta(svc, "namespace");
    for (ports, eps) in todo {
        if !pool.is_empty() {
            let sl = pool.remove(0);
            let body = json!({
                "metadata": {
                    "labels": labels_patch(&sl["metadata"]["labels"], &labels),
                    "annotations": {ANNOTATION_TRIGGER_TIME: trigger},
                },
                "ports": ports,
                "endpoints": eps,
            });
            update::<EndpointSlice>(ctx, sl, &body, false, "EndpointSlice").await?;
            s.updated
                .push(format!("EndpointSlice {ns}/{}", meta(sl, "name")));
        } else if svc["metadata"]["deletionTimestamp"].is_null() {
            // No new slices for a Service pending deletion (the garbage collector race).
            let obj = json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "generateName": format!("{}-", meta(svc, "name")),
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {ANNOTATION_TRIGGER_TIME: trigger},
                    "ownerReferences": [owner],
                },
                "addressType": "IPv4",
                "ports": ports,
                "endpoints": eps,
            });
            let out = create::<EndpointSlice>(ctx, ns, obj, "EndpointSlice").await?;
            s.created
                .push(format!("EndpointSlice {ns}/{}", meta(&out, "name")));
        } else {
            continue;
        }
        s.writes += 1;
    }
    for sl in pool.into_iter().chain(stale) {
        delete::<EndpointSlice>(ctx, sl, "EndpointSlice").await?;
        s.deleted
            .push(format!("EndpointSlice {ns}/{}", meta(sl, "name")));
        s.writes += 1;
    }
    Ok(())
}
