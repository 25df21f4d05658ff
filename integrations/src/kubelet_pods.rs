//! The kubelet's pod lifecycle: every Pod bound to a Ready Node of this model (provider id
//! `aws:///…`) is accepted, has its images pulled, its containers created and started, becomes
//! Ready, and is removed after its grace period once deleted — pass by pass on the simulation clock.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/kubelet/kubelet_pods.go` (`generateAPIPodStatus`: phase, hostIP/hostIPs, podIP/podIPs,
//!   startTime; the condition order PodReadyToStartContainers, Initialized, Ready,
//!   ContainersReady, PodScheduled);
//! - `pkg/kubelet/status/generate.go` (`GenerateContainersReadyCondition`,
//!   `GeneratePodReadyCondition`: reason `ContainersNotReady`, message
//!   "containers with unready status: [nginx]");
//! - `pkg/kubelet/images/image_manager.go` (`EnsureImageExists`: `Pulling` "Pulling image \"nginx\"",
//!   `Pulled` "Successfully pulled image \"nginx\" in 2s (2s including waiting). Image size: N bytes."
//!   and "Container image \"nginx\" already present on machine"; `shouldPullImage` by
//!   `imagePullPolicy`);
//! - `pkg/kubelet/kuberuntime/kuberuntime_container.go` (`Created` "Created container: nginx",
//!   `Started` "Started container nginx", `Killing` "Stopping container nginx", all with
//!   `involvedObject.fieldPath` `spec.containers{nginx}`);
//! - `pkg/kubelet/prober` (a container is ready once its readiness probe's `initialDelaySeconds`
//!   have passed, at once without a probe);
//! - `pkg/kubelet/kubelet_node_status.go` (`status.images` of the Node, used as the image cache);
//! - `staging/src/k8s.io/client-go/tools/record/event.go` (Event name `<pod>.<hex nanos>`,
//!   `source.component: kubelet`, `source.host`, `reportingComponent`, `reportingInstance`).
//!
//! Stages (kwok's `pod-ready` / `pod-delete` stages are the reference), with [`PodTiming`]:
//! 1. accept (first pass after binding): phase Pending, containers waiting `ContainerCreating`,
//!    hostIP, podIP, startTime; `Pulling` for each image to pull, `Pulled` ("already present") for
//!    a cached `IfNotPresent`/`Never` image;
//! 2. after [`PodTiming::image_pull`] (2 s; [`PodTiming::cached_pull`] 1 s for an `Always` image
//!    that is already on the node): `Pulled`, `Created`, `Started` per container, phase Running,
//!    containers running with `startedAt`; a pod with nothing to pull does 1 and 2 in one pass;
//! 3. `initialDelaySeconds` of the readiness probes after start: `ContainersReady`/`Ready` True;
//! 4. deletion: `Killing` at the first pass that sees the `deletionTimestamp` (the API server sets
//!    it to request time + grace), the final delete with `gracePeriodSeconds=0` once the clock
//!    reaches it (the containers are modelled as taking their whole grace period to stop); a pod
//!    whose containers never started is deleted at once.
//!
//! Pod IPs: the lowest free address (from `.2`) of the node's `spec.podCIDR`, else of a /24 picked
//! from [`PodConfig::cluster_pod_cidr`] by a hash of the node name (distinct nodes can share a /24
//! with probability 1/256 per pair for a /16). With the VPC CNI on ([`crate::vpc_cni`]) the
//! address comes from the CNI ADD instead: an address of one of the node's ENIs, or none, and
//! then the pod stays ContainerCreating (hostIP, no podIP) with `FailedCreatePodSandBox` and
//! is retried each pass. A `hostNetwork` pod gets the node's InternalIP.
//!
//! Not modelled:
//! - init containers and sidecars (Initialized is True at once); ephemeral containers
//!   (`kubectl debug`) are pulled, created and started in a running pod (stage 2's timing) and
//!   stopped with it, but run nothing (`attach`/`exec` answer that they are not simulated);
//! - container commands, exits, restarts and `restartPolicy` (containers run forever unless the
//!   pod sets `cloudbox.dev/run-for`, see [`crate::container_exit`]);
//! - liveness/startup probes, readiness failures, `periodSeconds` (ready exactly at the delay);
//! - per-container interleaving of pulls and starts: every container's `Pulled`/`Created`/`Started`
//!   comes when the slowest pull ends; concurrent pulls of one image are not serialised;
//!   image pull failures, pull secrets, image digests (imageID is derived);
//! - volumes (a pod waits only for its EBS claims, gated by `ebs::kubelet`), sandbox failures,
//!   `PodReadyToStartContainers` False (the sandbox is instant);
//! - the terminal phase before the final delete (the pod is deleted while Running);
//! - pods on NotReady nodes keep their status (eviction is the node lifecycle controller's);
//! - timestamps have the API's one-second resolution, so stages are measured from whole seconds.

use crate::{vpc_cni, Context, Error};
use cloudbox_sim::time_fmt::{parse_iso8601, rfc3339_secs};
use cloudbox_sim::IdGen;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// How long each stage takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodTiming {
    /// Pulling an image the node does not have (2 s).
    pub image_pull: Duration,
    /// Pulling an `imagePullPolicy: Always` image the node already has (only the manifest; 1 s).
    pub cached_pull: Duration,
    /// The size reported in `Pulled` and in the Node's `status.images` (nginx:latest, ~72 MB).
    pub image_size_bytes: u64,
}

impl Default for PodTiming {
    fn default() -> PodTiming {
        PodTiming {
            image_pull: Duration::from_secs(2),
            cached_pull: Duration::from_secs(1),
            image_size_bytes: 72_188_133,
        }
    }
}

/// The pod lifecycle's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodConfig {
    /// Stage durations.
    pub timing: PodTiming,
    /// The cluster's pod CIDR (kubeadm `--pod-network-cidr`; `10.244.0.0/16` by default), split
    /// into a /24 per node that has no `spec.podCIDR`. Replaced by the VPC CNI model later.
    pub cluster_pod_cidr: String,
}

impl Default for PodConfig {
    fn default() -> PodConfig {
        PodConfig {
            timing: PodTiming::default(),
            cluster_pod_cidr: "10.244.0.0/16".to_string(),
        }
    }
}

/// What one pass did (pods as `namespace/name`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pods accepted (Pending, ContainerCreating) in this pass.
    pub accepted: Vec<String>,
    /// Pods whose containers started (Running).
    pub started: Vec<String>,
    /// Pods that became Ready.
    pub ready: Vec<String>,
    /// Pods whose containers are being stopped (first seen with a deletionTimestamp).
    pub killing: Vec<String>,
    /// Pods finally deleted.
    pub deleted: Vec<String>,
    /// Events created.
    pub events: usize,
    /// Every write to the API server.
    pub writes: usize,
}

/// A managed, Ready node.
struct NodeInfo {
    ip: String,
    range: (u32, u32),
    images: BTreeSet<String>,
    images_live: Value,
    images_changed: bool,
    used: BTreeSet<u32>,
}

/// One pass with the default [`PodConfig`].
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    reconcile_with(ctx, &PodConfig::default()).await
}

/// One pass: move every pod on a managed Ready node to its next due stage.
pub async fn reconcile_with(ctx: &Context, cfg: &PodConfig) -> Result<Summary, Error> {
    let now = ctx.clock.now().as_millis();
    let mut summary = Summary::default();
    let nodes_api: Api<Node> = Api::all(ctx.kube.clone());
    let mut nodes: BTreeMap<String, NodeInfo> = BTreeMap::new();
    for n in ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?
    {
        if let Some((name, info)) = node_info(&n, cfg) {
            nodes.insert(name, info);
        }
    }
    if nodes.is_empty() {
        return Ok(summary);
    }
    let mut by_node = ctx
        .cache
        .pods_by_node()
        .await
        .map_err(|source| Error::Pod {
            name: "*".into(),
            source: Box::new(source),
        })?;
    let mut pods: Vec<Arc<Value>> = Vec::new();
    for (name, info) in nodes.iter_mut() {
        let Some(on_node) = by_node.remove(name) else {
            continue;
        };
        for p in on_node {
            // Addresses in use, terminating pods included (released by the final delete).
            if p["spec"]["hostNetwork"] != true {
                if let Ok(ip) = str_at(&p, "/status/podIP").parse::<Ipv4Addr>() {
                    info.used.insert(u32::from(ip));
                }
            }
            if needs_work(&p) {
                pods.push(p);
            }
        }
    }
    // Oldest first; the keys are read once per pod, not once per comparison.
    let keys: Vec<(&str, &str, &str)> = pods.iter().map(|p| creation_key(p)).collect();
    let mut order: Vec<usize> = (0..pods.len()).collect();
    order.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
    let memory = ctx.memory.get::<KubeletMemory>();
    for &i in &order {
        let pod: &Value = &pods[i];
        let Some(node) = nodes.get_mut(str_at(pod, "/spec/nodeName")) else {
            continue;
        };
        let deleting = pod["metadata"]["deletionTimestamp"].is_string();
        let mut p = PodCtx::new(ctx, pod, now, &memory);
        if deleting {
            terminate(&mut p, &mut summary).await?;
        } else if str_at(pod, "/status/hostIP").is_empty() || awaits_ip(pod) {
            // The volume manager (`ebs::kubelet`) holds the pod until its claims are mounted;
            // then the sandbox gets its address from the CNI.
            if crate::ebs::kubelet::volumes_ready(ctx, pod).await? {
                accept(&mut p, node, &mut summary).await?;
            }
        } else if !all_running(pod) {
            start(&mut p, node, cfg, &mut summary).await?;
        } else if let Some(status) = crate::container_exit::exited_status(pod, now) {
            p.patch_status(status).await?;
        } else {
            if !pending_ephemeral(pod).is_empty() {
                start_ephemeral(&mut p, node, cfg).await?;
            }
            if let Some(t) = crate::container_exit::exit_at(pod) {
                ctx.requeue_at(t);
            }
            if !is_ready(pod) {
                let started = started_at(pod);
                match started {
                    Some(s) if s + ready_delay_ms(pod) <= now => {
                        let status = desired_status(pod, node, None, started, true, now);
                        p.patch_status(status).await?;
                        summary.ready.push(p.key.clone());
                    }
                    Some(s) => ctx.requeue_at(s + ready_delay_ms(pod)),
                    None => {}
                }
            }
        }
        summary.events += p.events;
        summary.writes += p.writes;
    }
    for (name, node) in &nodes {
        if node.images_changed {
            let mut images = node.images_live.as_array().cloned().unwrap_or_default();
            for img in &node.images {
                if !images.iter().any(|i| image_names(i).contains(img)) {
                    images.push(json!({"names": [img], "sizeBytes": cfg.timing.image_size_bytes}));
                }
            }
            nodes_api
                .patch_status(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"status": {"images": images}})),
                )
                .await
                .map_err(|source| Error::PatchNode {
                    name: name.clone(),
                    source: Box::new(source),
                })?;
            summary.writes += 1;
        }
    }
    Ok(summary)
}

fn creation_key(p: &Value) -> (&str, &str, &str) {
    let meta = |k: &str| {
        p.get("metadata")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    (meta("creationTimestamp"), meta("namespace"), meta("name"))
}

/// Whether a pod on a managed node has a stage left: being deleted (a terminal pod that is
/// deleted goes at once), or not terminal and not yet Running and Ready, or due to exit
/// ([`crate::container_exit`]).
fn needs_work(pod: &Value) -> bool {
    if pod["metadata"]["deletionTimestamp"].is_string() {
        return true;
    }
    let phase = str_at(pod, "/status/phase");
    if phase == "Succeeded" || phase == "Failed" {
        return false;
    }
    !(all_running(pod) && is_ready(pod))
        || pod["metadata"]["annotations"][crate::container_exit::RUN_FOR_ANNOTATION].is_string()
        || !pending_ephemeral(pod).is_empty()
}

/// What the kubelet remembers between passes (its in-memory pod workers): the containers whose
/// image it started pulling and those it began to stop, per pod uid. Rebuilt from the pod's
/// Events when missing (a restarted kubelet).
#[derive(Default)]
struct KubeletMemory {
    seen: std::sync::Mutex<BTreeMap<(String, &'static str), BTreeSet<String>>>,
    /// When the image pull of an ephemeral container began (pod uid, container) → ms.
    ephemeral_pulls: std::sync::Mutex<BTreeMap<(String, String), u64>>,
}

impl KubeletMemory {
    fn get(&self, uid: &str, reason: &'static str) -> Option<BTreeSet<String>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(uid.to_string(), reason))
            .cloned()
    }

    fn put(&self, uid: &str, reason: &'static str, containers: BTreeSet<String>) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((uid.to_string(), reason), containers);
    }

    fn forget(&self, uid: &str) {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(u, _), _| u != uid);
        self.ephemeral_pulls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(u, _), _| u != uid);
    }

    /// When the pull of ephemeral container `name` began, recording `now` if it had not.
    fn ephemeral_pull(&self, uid: &str, name: &str, now: u64) -> (u64, bool) {
        let mut pulls = self
            .ephemeral_pulls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match pulls.get(&(uid.to_string(), name.to_string())) {
            Some(t) => (*t, false),
            None => {
                pulls.insert((uid.to_string(), name.to_string()), now);
                (now, true)
            }
        }
    }
}

/// The name and settings of a Ready node with an `aws:///` provider id.
fn node_info(n: &Value, cfg: &PodConfig) -> Option<(String, NodeInfo)> {
    let name = str_at(n, "/metadata/name").to_string();
    if !str_at(n, "/spec/providerID").starts_with("aws:///") {
        return None;
    }
    let ready = n["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    if !ready {
        return None;
    }
    let ip = n["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
        .unwrap_or_default()
        .to_string();
    let range = match parse_cidr(str_at(n, "/spec/podCIDR")) {
        Some(r) => r,
        None => node_range(&cfg.cluster_pod_cidr, &name)?,
    };
    let images_live = n["status"]["images"].clone();
    let images = images_live
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(image_names)
        .collect();
    Some((
        name,
        NodeInfo {
            ip,
            range,
            images,
            images_live,
            images_changed: false,
            used: BTreeSet::new(),
        },
    ))
}

fn image_names(i: &Value) -> Vec<String> {
    i["names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// `a.b.c.d/p` → (first address, prefix length) for an IPv4 CIDR of prefix ≤ 30.
fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    let (ip, p) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let p: u32 = p.parse().ok()?;
    if p > 30 {
        return None;
    }
    let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    Some((u32::from(ip) & mask, p))
}

/// The /24 of the cluster pod CIDR picked by an FNV-1a hash of the node name.
fn node_range(cluster: &str, node: &str) -> Option<(u32, u32)> {
    let (base, p) = parse_cidr(cluster)?;
    if p >= 24 {
        return Some((base, p));
    }
    let count = 1u64 << (24 - p);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Some((base + (((h % count) as u32) << 8), 24))
}

/// The lowest free address of the range, from `.2` (`.1` is the bridge's), or None when full.
fn allocate(node: &mut NodeInfo) -> Option<String> {
    let (base, p) = node.range;
    let size = 1u32 << (32 - p);
    let ip = (2..size - 1)
        .map(|i| base + i)
        .find(|ip| !node.used.contains(ip))?;
    node.used.insert(ip);
    Some(Ipv4Addr::from(ip).to_string())
}

use crate::json::str_at;

fn time_at(v: &Value, ptr: &str) -> Option<u64> {
    crate::json::at(v, ptr)
        .and_then(Value::as_str)
        .and_then(parse_iso8601)
}

fn containers(pod: &Value) -> Vec<Value> {
    pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The ephemeral containers (`kubectl debug`) the kubelet has not started yet.
fn pending_ephemeral(pod: &Value) -> Vec<&Value> {
    let statuses = pod["status"]["ephemeralContainerStatuses"].as_array();
    pod["spec"]["ephemeralContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            !statuses.into_iter().flatten().any(|st| {
                st["name"] == c["name"]
                    && (st["state"]["running"].is_object() || st["state"]["terminated"].is_object())
            })
        })
        .collect()
}

/// Accepted, but its sandbox has no address yet (the VPC CNI had none free).
fn awaits_ip(pod: &Value) -> bool {
    pod["spec"]["hostNetwork"] != true && str_at(pod, "/status/podIP").is_empty()
}

fn all_running(pod: &Value) -> bool {
    let statuses = pod["status"]["containerStatuses"].as_array();
    let n = containers(pod).len();
    statuses.is_some_and(|s| s.len() == n && s.iter().all(|c| c["state"]["running"].is_object()))
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn started_at(pod: &Value) -> Option<u64> {
    pod["status"]["containerStatuses"]
        .as_array()?
        .iter()
        .filter_map(|c| time_at(c, "/state/running/startedAt"))
        .max()
}

/// The longest readiness `initialDelaySeconds` of the pod's containers, in ms.
fn ready_delay_ms(pod: &Value) -> u64 {
    containers(pod)
        .iter()
        .filter_map(|c| c["readinessProbe"]["initialDelaySeconds"].as_u64())
        .max()
        .unwrap_or(0)
        * 1000
}

/// `nginx` → `docker.io/library/nginx:latest` (the name the runtime reports in `status.images`).
pub fn normalize_image(image: &str) -> String {
    let (name, suffix) = match image.split_once('@') {
        Some((n, d)) => (n.to_string(), format!("@{d}")),
        None => {
            let last = image.rsplit('/').next().unwrap_or(image);
            if last.contains(':') {
                (image.to_string(), String::new())
            } else {
                (image.to_string(), ":latest".to_string())
            }
        }
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_domain =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let full = if has_domain {
        name
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    format!("{full}{suffix}")
}

/// Go's `time.Duration` String for whole milliseconds (`2s`, `1.5s`, `500ms`, `1m0s`).
fn go_duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = |ms: u64| {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        format!("{s}s")
    };
    if ms < 60_000 {
        return secs(ms);
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    if h > 0 {
        format!("{h}h{m}m{}", secs(rest))
    } else {
        format!("{m}m{}", secs(rest))
    }
}

/// One pod's pass: its identity and the writes made for it.
struct PodCtx<'a> {
    ctx: &'a Context,
    memory: &'a KubeletMemory,
    pod: &'a Value,
    key: String,
    ns: String,
    name: String,
    uid: String,
    node: String,
    now: u64,
    seq: u64,
    events: usize,
    writes: usize,
}

impl<'a> PodCtx<'a> {
    fn new(ctx: &'a Context, pod: &'a Value, now: u64, memory: &'a KubeletMemory) -> PodCtx<'a> {
        let ns = str_at(pod, "/metadata/namespace").to_string();
        let name = str_at(pod, "/metadata/name").to_string();
        PodCtx {
            ctx,
            memory,
            pod,
            key: format!("{ns}/{name}"),
            ns,
            name,
            uid: str_at(pod, "/metadata/uid").to_string(),
            node: str_at(pod, "/spec/nodeName").to_string(),
            now,
            seq: 0,
            events: 0,
            writes: 0,
        }
    }

    fn pod_err(&self, source: kube::Error) -> Error {
        Error::Pod {
            name: self.key.clone(),
            source: Box::new(source),
        }
    }

    async fn patch_status(&mut self, status: Value) -> Result<(), Error> {
        let api: Api<Pod> = Api::namespaced(self.ctx.kube.clone(), &self.ns);
        api.patch_status(
            &self.name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await
        .map_err(|e| self.pod_err(e))?;
        self.writes += 1;
        Ok(())
    }

    fn build_event(
        &self,
        field_path: &str,
        reason: &str,
        message: &str,
        at: u64,
        nanos: u128,
    ) -> Result<Event, Error> {
        let t = rfc3339_secs(at);
        let ev = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": format!("{}.{nanos:x}", self.name), "namespace": self.ns},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": self.ns,
                "name": self.name,
                "uid": self.uid,
                "resourceVersion": str_at(self.pod, "/metadata/resourceVersion"),
                "fieldPath": field_path,
            },
            "reason": reason,
            "message": message,
            "source": {"component": "kubelet", "host": self.node},
            "firstTimestamp": t,
            "lastTimestamp": t,
            "count": 1,
            "type": "Normal",
            "reportingComponent": "kubelet",
            "reportingInstance": self.node,
        });
        serde_json::from_value(ev).map_err(|source| Error::Build {
            what: "Event",
            source,
        })
    }

    /// Records a Normal event about container `container` at `at` (ms).
    async fn event(
        &mut self,
        container: &str,
        reason: &str,
        message: String,
        at: u64,
    ) -> Result<(), Error> {
        self.event_at(
            &format!("spec.containers{{{container}}}"),
            reason,
            message,
            at,
        )
        .await
    }

    /// Records a Normal event about the pod's field `field_path` at `at` (ms).
    async fn event_at(
        &mut self,
        field_path: &str,
        reason: &str,
        message: String,
        at: u64,
    ) -> Result<(), Error> {
        let api: Api<Event> = Api::namespaced(self.ctx.kube.clone(), &self.ns);
        loop {
            // The recorder names events `<pod>.<hex UnixNano>`.
            let nanos = self.ctx.event_nanos(at);
            self.seq += 1;
            let ev = self.build_event(field_path, reason, &message, at, nanos)?;
            match api.create(&PostParams::default(), &ev).await {
                Ok(_) => break,
                Err(kube::Error::Api(e)) if e.code == 409 && self.seq < 1_000 => continue,
                Err(source) => {
                    return Err(Error::Event {
                        name: self.key.clone(),
                        source: Box::new(source),
                    })
                }
            }
        }
        self.events += 1;
        self.writes += 1;
        Ok(())
    }

    /// The containers named in this pod's events of `reason`: from the kubelet's memory, else
    /// from the API.
    async fn event_containers(&self, reason: &'static str) -> Result<BTreeSet<String>, Error> {
        if let Some(known) = self.memory.get(&self.uid, reason) {
            return Ok(known);
        }
        if reason == "Killing" {
            // Nothing remembered: no container was told to stop by this kubelet yet.
            return Ok(BTreeSet::new());
        }
        let found = self.listed_event_containers(reason).await?;
        self.memory.put(&self.uid, reason, found.clone());
        Ok(found)
    }

    /// Remembers that `container` got an event of `reason` (`Pulling`, `Killing`).
    fn remember(&self, reason: &'static str, container: &str) {
        let mut set = self.memory.get(&self.uid, reason).unwrap_or_default();
        set.insert(container.to_string());
        self.memory.put(&self.uid, reason, set);
    }

    /// The containers named in this pod's events of `reason`, listed from the API.
    async fn listed_event_containers(&self, reason: &str) -> Result<BTreeSet<String>, Error> {
        let api: Api<Event> = Api::namespaced(self.ctx.kube.clone(), &self.ns);
        let lp = ListParams::default()
            .fields(&format!("involvedObject.uid={},reason={reason}", self.uid));
        let list = api.list(&lp).await.map_err(|source| Error::Event {
            name: self.key.clone(),
            source: Box::new(source),
        })?;
        Ok(list
            .items
            .iter()
            .filter_map(|e| e.involved_object.field_path.as_deref())
            .filter_map(|f| f.strip_prefix("spec.containers{"))
            .map(|f| f.trim_end_matches('}').to_string())
            .collect())
    }
}

/// The pull policy says to pull (`Always`, or not present).
fn must_pull(c: &Value, present: bool) -> bool {
    match c["imagePullPolicy"].as_str() {
        Some("Always") => true,
        Some("Never") => false,
        _ => !present,
    }
}

/// Stage 1: accept the pod; with nothing to pull, stage 2 at once.
async fn accept(
    p: &mut PodCtx<'_>,
    node: &mut NodeInfo,
    summary: &mut Summary,
) -> Result<(), Error> {
    let pod = p.pod;
    let ip = if pod["spec"]["hostNetwork"] == true {
        Some(node.ip.clone())
    } else if vpc_cni::cni::enabled(p.ctx) {
        // The sandbox's CNI ADD (aws-cni); with no address the pod waits, ContainerCreating.
        let ip = vpc_cni::cni::add(p.ctx, &p.node, pod).map(|ip| ip.to_string());
        if ip.is_none() {
            if str_at(pod, "/status/hostIP").is_empty() {
                let mut status = desired_status(pod, node, Some(""), None, false, p.now);
                if let Some(s) = status.as_object_mut() {
                    s.remove("podIP");
                    s.remove("podIPs");
                }
                p.patch_status(status).await?;
            }
            if vpc_cni::cni::record_no_address(p.ctx, &p.node, pod).await? {
                p.events += 1;
                p.writes += 1;
            }
        }
        ip
    } else {
        allocate(node)
    };
    let Some(ip) = ip else {
        return Ok(()); // no address: the pod waits
    };
    let cs = containers(pod);
    let pulls: Vec<bool> = cs
        .iter()
        .map(|c| {
            must_pull(
                c,
                node.images.contains(&normalize_image(str_at(c, "/image"))),
            )
        })
        .collect();
    let now = p.now;
    if pulls.iter().any(|&x| x) {
        let status = desired_status(pod, node, Some(&ip), None, false, now);
        p.patch_status(status).await?;
        summary.accepted.push(p.key.clone());
        for (c, pull) in cs.iter().zip(&pulls) {
            let (name, image) = (str_at(c, "/name"), str_at(c, "/image"));
            if *pull {
                p.event(name, "Pulling", format!("Pulling image {image:?}"), now)
                    .await?;
                p.remember("Pulling", name);
            } else {
                p.event(name, "Pulled", already_present(image), now).await?;
            }
        }
        return Ok(());
    }
    let ready = ready_delay_ms(pod) == 0;
    let status = desired_status(pod, node, Some(&ip), Some(now), ready, now);
    p.patch_status(status).await?;
    summary.accepted.push(p.key.clone());
    summary.started.push(p.key.clone());
    if ready {
        summary.ready.push(p.key.clone());
    }
    for c in &cs {
        let (name, image) = (str_at(c, "/name"), str_at(c, "/image"));
        p.event(name, "Pulled", already_present(image), now).await?;
        created_started(p, name, now).await?;
    }
    Ok(())
}

fn already_present(image: &str) -> String {
    format!("Container image {image:?} already present on machine")
}

async fn created_started(p: &mut PodCtx<'_>, name: &str, at: u64) -> Result<(), Error> {
    p.event(name, "Created", format!("Created container: {name}"), at)
        .await?;
    p.event(name, "Started", format!("Started container {name}"), at)
        .await
}

/// Stage 2: the pulls are done, the containers start.
async fn start(
    p: &mut PodCtx<'_>,
    node: &mut NodeInfo,
    cfg: &PodConfig,
    summary: &mut Summary,
) -> Result<(), Error> {
    let pod = p.pod;
    let Some(start) = time_at(pod, "/status/startTime") else {
        return Ok(());
    };
    let pulling = p.event_containers("Pulling").await?;
    let cs = containers(pod);
    let mut pull_ms = 0u64;
    for c in cs.iter().filter(|c| pulling.contains(str_at(c, "/name"))) {
        let present = node.images.contains(&normalize_image(str_at(c, "/image")));
        let d = if present {
            cfg.timing.cached_pull
        } else {
            cfg.timing.image_pull
        };
        pull_ms = pull_ms.max(d.as_millis() as u64);
    }
    let due = start + pull_ms;
    if due > p.now {
        p.ctx.requeue_at(due);
        return Ok(());
    }
    let ready = ready_delay_ms(pod) == 0;
    let status = desired_status(pod, node, None, Some(due), ready, p.now);
    p.patch_status(status).await?;
    summary.started.push(p.key.clone());
    if ready {
        summary.ready.push(p.key.clone());
    }
    for c in &cs {
        let (name, image) = (str_at(c, "/name"), str_at(c, "/image"));
        if pulling.contains(name) {
            let d = go_duration(pull_ms);
            let msg = format!(
                "Successfully pulled image {image:?} in {d} ({d} including waiting). Image size: {} bytes.",
                cfg.timing.image_size_bytes
            );
            p.event(name, "Pulled", msg, due).await?;
            if node.images.insert(normalize_image(image)) {
                node.images_changed = true;
            }
        }
        created_started(p, name, due).await?;
    }
    Ok(())
}

/// An ephemeral container added to a running pod (`kubectl debug`): its image pulled as
/// the pod's own are (`waiting: ContainerCreating` meanwhile), then created and started, with
/// the events' `fieldPath` `spec.ephemeralContainers{name}`; reported in
/// `status.ephemeralContainerStatuses` (never ready, no `started`: the prober does not watch it).
async fn start_ephemeral(
    p: &mut PodCtx<'_>,
    node: &mut NodeInfo,
    cfg: &PodConfig,
) -> Result<(), Error> {
    let pod = p.pod;
    let mut statuses: Vec<Value> = pod["status"]["ephemeralContainerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for c in pending_ephemeral(pod) {
        let (name, image) = (str_at(c, "/name"), str_at(c, "/image"));
        let field = format!("spec.ephemeralContainers{{{name}}}");
        let normalized = normalize_image(image);
        let present = node.images.contains(&normalized);
        let pull = must_pull(c, present);
        let (began, first) = p.memory.ephemeral_pull(&p.uid, name, p.now);
        let took = if !pull {
            0
        } else if present {
            cfg.timing.cached_pull.as_millis() as u64
        } else {
            cfg.timing.image_pull.as_millis() as u64
        };
        let status = if first && took > 0 {
            let now = p.now;
            p.event_at(&field, "Pulling", format!("Pulling image {image:?}"), now)
                .await?;
            p.ctx.requeue_at(began + took);
            json!({"name": name, "image": image, "imageID": "", "ready": false,
                   "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}},
                   "lastState": {}})
        } else if began + took > p.now {
            p.ctx.requeue_at(began + took);
            continue;
        } else {
            let at = began + took;
            if pull {
                let d = go_duration(took);
                let msg = format!(
                    "Successfully pulled image {image:?} in {d} ({d} including waiting). Image size: {} bytes.",
                    cfg.timing.image_size_bytes
                );
                p.event_at(&field, "Pulled", msg, at).await?;
                if node.images.insert(normalized) {
                    node.images_changed = true;
                }
            } else {
                p.event_at(&field, "Pulled", already_present(image), at)
                    .await?;
            }
            p.event_at(&field, "Created", format!("Created container: {name}"), at)
                .await?;
            p.event_at(&field, "Started", format!("Started container {name}"), at)
                .await?;
            running_status(pod, name, image, at, false, false)
        };
        match statuses.iter_mut().find(|s| s["name"] == name) {
            Some(s) => *s = status,
            None => statuses.push(status),
        }
        changed = true;
    }
    if changed {
        p.patch_status(json!({"ephemeralContainerStatuses": statuses}))
            .await?;
    }
    Ok(())
}

/// Stage 4: stop the containers, then delete the pod once its grace period has passed.
async fn terminate(p: &mut PodCtx<'_>, summary: &mut Summary) -> Result<(), Error> {
    let pod = p.pod;
    // (name, the events' fieldPath) of every running container, ephemeral ones included.
    let running: Vec<(String, String)> = ["containerStatuses", "ephemeralContainerStatuses"]
        .iter()
        .zip(["containers", "ephemeralContainers"])
        .flat_map(|(statuses, spec)| {
            pod["status"][*statuses]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["state"]["running"].is_object())
                .map(move |c| {
                    let name = str_at(c, "/name").to_string();
                    let field = format!("spec.{spec}{{{name}}}");
                    (name, field)
                })
        })
        .collect();
    let deadline = time_at(pod, "/metadata/deletionTimestamp").unwrap_or(0);
    if !running.is_empty() {
        let killed = p.event_containers("Killing").await?;
        let mut first = false;
        for (name, field) in running.iter().filter(|(n, _)| !killed.contains(n)) {
            let now = p.now;
            p.event_at(field, "Killing", format!("Stopping container {name}"), now)
                .await?;
            p.remember("Killing", name);
            first = true;
        }
        if first {
            summary.killing.push(p.key.clone());
        }
        if deadline > p.now {
            p.ctx.requeue_at(deadline);
            return Ok(());
        }
    }
    let api: Api<Pod> = Api::namespaced(p.ctx.kube.clone(), &p.ns);
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(p.uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&p.name, &dp).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {
            p.memory.forget(&p.uid);
            return Ok(());
        }
        Err(e) => return Err(p.pod_err(e)),
    }
    p.memory.forget(&p.uid);
    p.writes += 1;
    summary.deleted.push(p.key.clone());
    Ok(())
}

/// A running container's status (ids derived from the pod uid, container and image names);
/// `started` is reported for the pod's containers, not for ephemeral ones (the prober sets it).
fn running_status(
    pod: &Value,
    name: &str,
    image: &str,
    t: u64,
    ready: bool,
    started: bool,
) -> Value {
    let mut ids = IdGen::derived(0, &format!("container/{}/{name}", pod["metadata"]["uid"]));
    let mut digest = IdGen::derived(0, &format!("image/{}", normalize_image(image)));
    let repo = normalize_image(image);
    let repo = repo
        .rsplit_once('@')
        .map(|(r, _)| r.to_string())
        .unwrap_or_else(|| {
            let (head, last) = repo.rsplit_once('/').unwrap_or(("", &repo));
            let last = last.split(':').next().unwrap_or(last);
            format!("{head}/{last}")
        });
    let mut status = json!({
        "name": name,
        "image": image,
        "imageID": format!("{repo}@sha256:{}", digest.hex(64)),
        "containerID": format!("containerd://{}", ids.hex(64)),
        "ready": ready,
        "started": true,
        "restartCount": 0,
        "state": {"running": {"startedAt": rfc3339_secs(t)}},
        "lastState": {},
    });
    if !started {
        if let Some(o) = status.as_object_mut() {
            o.remove("started");
        }
    }
    status
}

/// The pod's status: accepted (`ip` given) or as live, containers running from `started`
/// (ms), ready or not. Conditions keep their live `lastTransitionTime` while unchanged.
fn desired_status(
    pod: &Value,
    node: &NodeInfo,
    ip: Option<&str>,
    started: Option<u64>,
    ready: bool,
    now: u64,
) -> Value {
    let live = &pod["status"];
    let ip = ip.unwrap_or_else(|| str_at(pod, "/status/podIP"));
    let start_time = match live["startTime"].as_str() {
        Some(t) => json!(t),
        None => json!(rfc3339_secs(now)),
    };
    let cs = containers(pod);
    let statuses: Vec<Value> = cs
        .iter()
        .map(|c| {
            let name = str_at(c, "/name");
            let image = str_at(c, "/image");
            match started {
                Some(t) => running_status(pod, name, image, t, ready, true),
                None => json!({
                    "name": name,
                    "image": image,
                    "imageID": "",
                    "ready": false,
                    "started": false,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                    "lastState": {},
                }),
            }
        })
        .collect();
    let names: Vec<&str> = cs.iter().map(|c| str_at(c, "/name")).collect();
    let not_ready = format!("containers with unready status: [{}]", names.join(" "));
    let t = rfc3339_secs(now);
    let cond = |ty: &str, ok: bool, reason: Option<&str>, msg: Option<&str>| {
        let old = live["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == ty);
        let status = if ok { "True" } else { "False" };
        let transition = match old {
            Some(o) if o["status"] == status => o["lastTransitionTime"].clone(),
            _ => json!(t),
        };
        let mut c = json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": transition});
        if let Some(r) = reason {
            c["reason"] = json!(r);
        }
        if let Some(m) = msg {
            c["message"] = json!(m);
        }
        c
    };
    let (reason, msg) = if ready {
        (None, None)
    } else {
        (Some("ContainersNotReady"), Some(not_ready.as_str()))
    };
    let scheduled = live["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "PodScheduled")
        .cloned()
        .unwrap_or_else(|| cond("PodScheduled", true, None, None));
    let conditions = json!([
        cond("PodReadyToStartContainers", true, None, None),
        cond("Initialized", true, None, None),
        cond("Ready", ready, reason, msg),
        cond("ContainersReady", ready, reason, msg),
        scheduled,
    ]);
    let host_ip = if node.ip.is_empty() {
        str_at(pod, "/status/hostIP").to_string()
    } else {
        node.ip.clone()
    };
    json!({
        "phase": if started.is_some() { "Running" } else { "Pending" },
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": start_time,
        "containerStatuses": statuses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_normalize_like_containerd() {
        assert_eq!(normalize_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            normalize_image("nginx:1.27"),
            "docker.io/library/nginx:1.27"
        );
        assert_eq!(
            normalize_image("bitnami/redis"),
            "docker.io/bitnami/redis:latest"
        );
        assert_eq!(
            normalize_image("public.ecr.aws/eks/coredns:v1.11"),
            "public.ecr.aws/eks/coredns:v1.11"
        );
        assert_eq!(
            normalize_image("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(2000), "2s");
        assert_eq!(go_duration(1500), "1.5s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(go_duration(90_000), "1m30s");
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_cidr("10.244.3.0/24"),
            Some((u32::from(Ipv4Addr::new(10, 244, 3, 0)), 24))
        );
        let (base, p) = node_range("10.244.0.0/16", "ip-1").unwrap_or((0, 0));
        assert_eq!(p, 24);
        assert_eq!(base >> 16, u32::from(Ipv4Addr::new(10, 244, 0, 0)) >> 16);
        assert_eq!(base & 0xff, 0);
    }
}
