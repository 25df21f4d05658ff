//! kube-scheduler with its default plugins, simplified: every pending Pod of the
//! `default-scheduler` is filtered against the Nodes, the feasible Nodes are scored by
//! NodeResourcesFit's LeastAllocated strategy and the Pod is bound to the best one; a Pod that fits
//! nowhere gets `PodScheduled=False` (reason `Unschedulable`) and a `FailedScheduling` Event worded
//! as kube-scheduler words it.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4
//!
//! Files modelled:
//! - `pkg/scheduler/schedule_one.go` (`schedulePod`, `findNodesThatFitPod`, `selectHost`,
//!   `handleSchedulingFailure`: condition `PodScheduled=False` reason `Unschedulable`, the
//!   `FailedScheduling` event with action `Scheduling`; the `Scheduled` event with action `Binding`,
//!   "Successfully assigned <ns>/<pod> to <node>"; "no nodes available to schedule pods");
//! - `pkg/scheduler/framework/types.go` (`FitError.Error`: "0/N nodes are available: " then the
//!   reasons counted as "<count> <reason>", sorted as strings, joined by ", ", each section closed
//!   by "." with the PostFilter (preemption) message appended the same way);
//! - `pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go` and
//!   `framework/preemption/preemption.go` ("preemption: " + a second FitError where Nodes whose
//!   status is UnschedulableAndUnresolvable count as "Preemption is not helpful for scheduling" and
//!   the others as "No preemption victims found for incoming pod"; "not eligible due to
//!   preemptionPolicy=Never.");
//! - `framework/plugins/nodeunschedulable` ("node(s) were unschedulable", tolerated by a toleration
//!   of `node.kubernetes.io/unschedulable:NoSchedule`);
//! - `framework/plugins/tainttoleration` ("node(s) had untolerated taint {<key>: <value>}", the first
//!   untolerated NoSchedule/NoExecute taint; `v1helper.TolerationsTolerateTaint`);
//! - `framework/plugins/nodeaffinity` ("node(s) didn't match Pod's node affinity/selector":
//!   nodeSelector and required node affinity, `In`/`NotIn`/`Exists`/`DoesNotExist`/`Gt`/`Lt` and
//!   `matchFields` on `metadata.name`);
//! - `framework/plugins/noderesources/fit.go` and `least_allocated.go` ("Too many pods",
//!   "Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage"; a request larger
//!   than the Node's allocatable is UnschedulableAndUnresolvable; LeastAllocated over cpu and
//!   memory with weight 1 each and the non-zero defaults of 100m cpu and 200Mi memory);
//! - `pkg/api/v1/resource/helpers.go` (`PodRequests`: containers summed, max'ed with each init
//!   container plus the restartable (sidecar) init containers before it, plus `overhead`);
//! - `framework/plugins/interpodaffinity/filtering.go` ("node(s) didn't match pod affinity
//!   rules", "node(s) didn't match pod anti-affinity rules", "node(s) didn't satisfy existing pods
//!   anti-affinity rules"; required terms by topologyKey, a first pod of a group may match its own
//!   affinity term);
//! - `framework/plugins/podtopologyspread/filtering.go` (`DoNotSchedule` constraints: skew =
//!   matching pods in the Node's domain + self match − the minimum over the domains of the
//!   eligible Nodes (0 when fewer than `minDomains`), "node(s) didn't match pod topology spread
//!   constraints", and "(missing required label)" for a Node without the key; nodeAffinityPolicy
//!   Honor, nodeTaintsPolicy Ignore);
//! - the queue's `PrioritySort`: higher `spec.priority` first, then creation time.
//!
//! Deviation(upstream): kube-scheduler picks among equally scored Nodes at random (reservoir
//! sampling); here the first by name wins, so a placement is reproducible.
//! Deviation(upstream): kube-scheduler retries an unschedulable Pod after a backoff or a cluster
//! event, and its event recorder folds repeated identical events into one with a `series`; here
//! every pass re-evaluates every pending Pod (reads only) and writes the condition and a new
//! `FailedScheduling` Event only when the message differs from the Pod's current `PodScheduled`
//! condition: at most one Event per distinct outcome, none when nothing changed.
//! Deviation(upstream): only these filters run, in upstream's order (NodeUnschedulable,
//! TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread, InterPodAffinity; NodeName
//! never applies to a Pod without `spec.nodeName`); the first failing filter gives a Node's
//! reasons, as upstream (no `runAllFilters`).
//!
//! The message ends in ".." as upstream's does: the PostFilter message ("preemption: …pod.")
//! ends in "." and `FitError.Error` closes every section with " %v.".
//!
//! Not modelled:
//! - preemption itself (no victim is ever evicted: every Node that might be helped reports "No
//!   preemption victims found for incoming pod"), nominated nodes;
//! - NodePorts, VolumeZone and VolumeRestrictions (VolumeBinding and NodeVolumeLimits for EBS
//!   claims are in `ebs::scheduling`),
//!   DynamicResources, scalar/extended resources and hugepages; `ScheduleAnyway` spread
//!   constraints, `matchLabelKeys`, the non-default node inclusion policies;
//! - the other score plugins (BalancedAllocation, ImageLocality, TaintToleration, NodeAffinity,
//!   PodTopologySpread, InterPodAffinity preferred terms) and score normalisation;
//! - `namespaceSelector` and `matchLabelKeys` of pod (anti-)affinity terms;
//! - `percentageOfNodesToScore` (every Node is evaluated), multiple profiles
//!   (only `default-scheduler`), the 1024-character truncation of event notes;
//! - the `SchedulingGated` condition: a Pod with `spec.schedulingGates` is skipped untouched.

use crate::ebs::scheduling::{select_node, VolumeView};
use crate::node_match::{node_affinity_matches, node_requirement, tolerates};
use crate::{Context, Error};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The scheduler's name (`spec.schedulerName` default, the events' reporting controller).
pub const DEFAULT_SCHEDULER: &str = "default-scheduler";
/// The reporting instance of the events (`default-scheduler-<hostname>` upstream).
pub const REPORTING_INSTANCE: &str = "default-scheduler-cloudbox";
/// Condition reason of a Pod that fits no Node.
pub const UNSCHEDULABLE: &str = "Unschedulable";
/// The taint NodeUnschedulable lets a toleration pass.
pub const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

const ERR_UNSCHEDULABLE: &str = "node(s) were unschedulable";
const ERR_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
const ERR_POD_AFFINITY: &str = "node(s) didn't match pod affinity rules";
const ERR_POD_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
const ERR_EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
const ERR_SPREAD: &str = "node(s) didn't match pod topology spread constraints";
const ERR_SPREAD_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
const NO_NODES: &str = "no nodes available to schedule pods";
/// The non-zero defaults of `pkg/scheduler/util/pod_resources.go` (100m cpu, 200 MiB).
const DEFAULT_MILLI_CPU: i128 = 100;
const DEFAULT_MEMORY: i128 = 200 * 1024 * 1024;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pods bound in this pass, `(namespace/name, node)`, in scheduling order.
    pub bound: Vec<(String, String)>,
    /// Pods found unschedulable whose condition or message changed in this pass
    /// (`namespace/name`, message).
    pub unschedulable: Vec<(String, String)>,
    /// Every write to the API server.
    pub writes: usize,
}

/// Resource amounts in milli-units (cpu in millicores, the others in thousandths of a byte or
/// of a pod).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Resources {
    cpu: i128,
    memory: i128,
    storage: i128,
}

impl Resources {
    fn add(&mut self, o: &Resources) {
        self.cpu += o.cpu;
        self.memory += o.memory;
        self.storage += o.storage;
    }
    fn max(&mut self, o: &Resources) {
        self.cpu = self.cpu.max(o.cpu);
        self.memory = self.memory.max(o.memory);
        self.storage = self.storage.max(o.storage);
    }
}

/// A Node as the scheduler's cache holds it.
struct NodeInfo {
    name: String,
    node: Value,
    allocatable: Resources,
    allowed_pods: i128,
    requested: Resources,
    non_zero: Resources,
    pods: Vec<Arc<Value>>,
    /// The pods of `pods` with required anti-affinity terms (PreFilter's
    /// `existingAntiAffinityCounts` input: usually none, so the check is free).
    anti: Vec<Arc<Value>>,
}

/// How a filter failed (`framework.Code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    Unschedulable,
    UnschedulableAndUnresolvable,
}

/// Parses a Kubernetes quantity into thousandths (rounded up), `None` when malformed.
pub fn parse_quantity_milli(q: &str) -> Option<i128> {
    let q = q.trim();
    let end = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(end);
    let (neg, num) = match num.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = format!("{int}{frac}");
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 30 {
        return None;
    }
    let mantissa: i128 = digits.parse().ok()?;
    // value = mantissa × num / den
    let (mut num_f, mut den_f): (i128, i128) = (1000, 10i128.checked_pow(frac.len() as u32)?);
    let bin = |p: u32| 1024i128.pow(p);
    let dec = |p: u32| 10i128.pow(p);
    match suffix {
        "" => {}
        "m" => den_f *= 1000,
        "k" => num_f *= dec(3),
        "M" => num_f *= dec(6),
        "G" => num_f *= dec(9),
        "T" => num_f *= dec(12),
        "P" => num_f *= dec(15),
        "E" => num_f *= dec(18),
        "Ki" => num_f *= bin(1),
        "Mi" => num_f *= bin(2),
        "Gi" => num_f *= bin(3),
        "Ti" => num_f *= bin(4),
        "Pi" => num_f *= bin(5),
        "Ei" => num_f *= bin(6),
        s => {
            let exp = s.strip_prefix('e').or_else(|| s.strip_prefix('E'))?;
            let e: i32 = exp.parse().ok()?;
            if e >= 0 {
                num_f = num_f.checked_mul(10i128.checked_pow(e as u32)?)?;
            } else {
                den_f = den_f.checked_mul(10i128.checked_pow((-e) as u32)?)?;
            }
        }
    }
    let v = mantissa.checked_mul(num_f)?;
    let r = (v + den_f - 1) / den_f;
    Some(if neg { -r } else { r })
}

fn quantity(v: &Value) -> i128 {
    match v {
        Value::String(s) => parse_quantity_milli(s).unwrap_or(0),
        Value::Number(n) => n.as_f64().map(|f| (f * 1000.0).ceil() as i128).unwrap_or(0),
        _ => 0,
    }
}

fn resources_of(list: &Value) -> Resources {
    Resources {
        cpu: quantity(&list["cpu"]),
        memory: quantity(&list["memory"]),
        storage: quantity(&list["ephemeral-storage"]),
    }
}

/// `resourcehelper.PodRequests`; with `non_zero`, a container without a cpu or memory request
/// counts 100m / 200Mi (`schedutil.GetNonzeroRequests`).
fn pod_requests(pod: &Value, non_zero: bool) -> Resources {
    let container = |c: &Value| {
        let req = &c["resources"]["requests"];
        let mut r = resources_of(req);
        if non_zero {
            if req.get("cpu").is_none() {
                r.cpu = DEFAULT_MILLI_CPU;
            }
            if req.get("memory").is_none() {
                r.memory = DEFAULT_MEMORY * 1000;
            }
        }
        r
    };
    let mut sum = Resources::default();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        sum.add(&container(c));
    }
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let r = container(c);
        if c["restartPolicy"] == "Always" {
            sidecars.add(&r);
            sum.add(&r);
            init_max.max(&sidecars);
        } else {
            let mut t = sidecars;
            t.add(&r);
            init_max.max(&t);
        }
    }
    sum.max(&init_max);
    if let Some(o) = pod["spec"].get("overhead") {
        sum.add(&resources_of(o));
    }
    sum
}

fn str_of<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn pod_key(pod: &Value) -> String {
    format!(
        "{}/{}",
        str_of(pod, "/metadata/namespace"),
        str_of(pod, "/metadata/name")
    )
}

fn terminal(pod: &Value) -> bool {
    matches!(str_of(pod, "/status/phase"), "Succeeded" | "Failed")
}

fn pod_tolerates(pod: &Value, key: &str, value: &str, effect: &str) -> bool {
    pod["spec"]["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| tolerates(t, key, value, effect))
}

fn labels(obj: &Value) -> BTreeMap<String, String> {
    obj["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A `metav1.LabelSelector` against a label set; `None` (absent) matches nothing.
fn selector_matches(sel: &Value, l: &BTreeMap<String, String>) -> bool {
    if !sel.is_object() {
        return false;
    }
    if let Some(ml) = sel["matchLabels"].as_object() {
        for (k, v) in ml {
            if l.get(k).map(String::as_str) != Some(v.as_str().unwrap_or("")) {
                return false;
            }
        }
    }
    sel["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|r| {
            let key = r["key"].as_str().unwrap_or("");
            let op = r["operator"].as_str().unwrap_or("");
            if !matches!(op, "In" | "NotIn" | "Exists" | "DoesNotExist") {
                return false;
            }
            node_requirement(r, l.get(key).map(String::as_str))
        })
}

/// Whether `other` matches a pod (anti-)affinity term of `owner`.
fn term_matches(owner: &Value, term: &Value, other: &Value) -> bool {
    let ns = str_of(other, "/metadata/namespace");
    let namespaces: Vec<&str> = term["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let ns_ok = if namespaces.is_empty() {
        ns == str_of(owner, "/metadata/namespace")
    } else {
        namespaces.contains(&ns)
    };
    ns_ok && selector_matches(&term["labelSelector"], &labels(other))
}

fn required_terms<'a>(pod: &'a Value, kind: &str) -> Vec<&'a Value> {
    pod["spec"]["affinity"][kind]["requiredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn node_label<'a>(nodes: &'a [NodeInfo], name: &str, key: &str) -> Option<&'a str> {
    nodes
        .iter()
        .find(|n| n.name == name)
        .and_then(|n| n.node["metadata"]["labels"][key].as_str())
}

/// InterPodAffinity's Filter for `pod` on `nodes[i]`: its affinity, its anti-affinity, then the
/// existing pods' anti-affinity, in upstream's order.
fn inter_pod_affinity(pod: &Value, nodes: &[NodeInfo], i: usize) -> Option<(Code, &'static str)> {
    let here = &nodes[i];
    let here_labels = labels(&here.node);
    let same_domain = |other_node: &str, key: &str| -> bool {
        match (here_labels.get(key), node_label(nodes, other_node, key)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    };
    let all_pods = || {
        nodes
            .iter()
            .flat_map(|n| n.pods.iter().map(move |p| (n.name.as_str(), p)))
    };
    for term in required_terms(pod, "podAffinity") {
        let key = term["topologyKey"].as_str().unwrap_or("");
        let ok = all_pods().any(|(n, p)| term_matches(pod, term, p) && same_domain(n, key));
        if !ok {
            // The first pod of a group may land anywhere with the key if it matches its own
            // term and no pod matches anywhere (`satisfyPodAffinity`).
            let none_anywhere = !all_pods().any(|(_, p)| term_matches(pod, term, p));
            let self_match = term_matches(pod, term, pod);
            if !(none_anywhere && self_match && here_labels.contains_key(key)) {
                return Some((Code::UnschedulableAndUnresolvable, ERR_POD_AFFINITY));
            }
        }
    }
    for term in required_terms(pod, "podAntiAffinity") {
        let key = term["topologyKey"].as_str().unwrap_or("");
        if all_pods().any(|(n, p)| term_matches(pod, term, p) && same_domain(n, key)) {
            return Some((Code::Unschedulable, ERR_POD_ANTI_AFFINITY));
        }
    }
    // Existing pods' required anti-affinity terms that this pod matches.
    let anti_pods = nodes
        .iter()
        .flat_map(|n| n.anti.iter().map(move |p| (n.name.as_str(), p)));
    for (n, p) in anti_pods {
        for term in required_terms(p, "podAntiAffinity") {
            let key = term["topologyKey"].as_str().unwrap_or("");
            if term_matches(p, term, pod) && same_domain(n, key) {
                return Some((Code::Unschedulable, ERR_EXISTING_ANTI_AFFINITY));
            }
        }
    }
    None
}

/// PodTopologySpread's Filter for the `DoNotSchedule` constraints of `pod` on `nodes[i]`.
fn topology_spread(pod: &Value, nodes: &[NodeInfo], i: usize) -> Option<(Code, &'static str)> {
    let constraints: Vec<&Value> = pod["spec"]["topologySpreadConstraints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["whenUnsatisfiable"] == "DoNotSchedule")
        .collect();
    if constraints.is_empty() {
        return None;
    }
    let keys: Vec<&str> = constraints
        .iter()
        .map(|c| c["topologyKey"].as_str().unwrap_or(""))
        .collect();
    let here = labels(&nodes[i].node);
    if keys.iter().any(|k| !here.contains_key(*k)) {
        return Some((Code::UnschedulableAndUnresolvable, ERR_SPREAD_LABEL));
    }
    let ns = str_of(pod, "/metadata/namespace");
    // Nodes that count: they pass the pod's node affinity (nodeAffinityPolicy Honor) and carry
    // every key (nodeTaintsPolicy Ignore).
    let eligible: Vec<(&NodeInfo, BTreeMap<String, String>)> = nodes
        .iter()
        .map(|n| (n, labels(&n.node)))
        .filter(|(n, l)| {
            node_affinity_matches(&pod["spec"], &n.node) && keys.iter().all(|k| l.contains_key(*k))
        })
        .collect();
    for c in constraints {
        let key = c["topologyKey"].as_str().unwrap_or("");
        let max_skew = c["maxSkew"].as_i64().unwrap_or(1);
        let min_domains = c["minDomains"].as_i64().unwrap_or(1);
        let selector = &c["labelSelector"];
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for (n, l) in &eligible {
            let matched = n
                .pods
                .iter()
                .filter(|p| {
                    str_of(p, "/metadata/namespace") == ns
                        && p["metadata"]
                            .get("deletionTimestamp")
                            .is_none_or(Value::is_null)
                        && selector_matches(selector, &labels(p))
                })
                .count() as i64;
            *counts.entry(l[key].as_str()).or_default() += matched;
        }
        let min_match = if (counts.len() as i64) < min_domains {
            0
        } else {
            counts.values().copied().min().unwrap_or(0)
        };
        let self_match = i64::from(selector_matches(selector, &labels(pod)));
        let here_count = counts.get(here[key].as_str()).copied().unwrap_or(0);
        if here_count + self_match - min_match > max_skew {
            return Some((Code::Unschedulable, ERR_SPREAD));
        }
    }
    None
}

/// The filters in upstream's order; `Ok` when the Node fits, else its status code and reasons.
type Status = (Code, Vec<String>);

/// The filters that depend only on the pod's spec and the node (NodeUnschedulable,
/// TaintToleration, NodeAffinity): computed once per distinct [`static_signature`] and node in a
/// pass, as a Deployment's thousands of identical pods would otherwise repeat them per node.
fn static_filter(pod: &Value, n: &NodeInfo) -> Result<(), Status> {
    let node = &n.node;
    let unresolvable = |r: &str| Err((Code::UnschedulableAndUnresolvable, vec![r.to_string()]));
    // NodeUnschedulable.
    if node["spec"]["unschedulable"] == true
        && !pod_tolerates(pod, UNSCHEDULABLE_TAINT, "", "NoSchedule")
    {
        return unresolvable(ERR_UNSCHEDULABLE);
    }
    // TaintToleration: the first untolerated NoSchedule/NoExecute taint.
    for t in node["spec"]["taints"].as_array().into_iter().flatten() {
        let effect = t["effect"].as_str().unwrap_or("");
        if effect != "NoSchedule" && effect != "NoExecute" {
            continue;
        }
        let key = t["key"].as_str().unwrap_or("");
        let value = t["value"].as_str().unwrap_or("");
        if !pod_tolerates(pod, key, value, effect) {
            return unresolvable(&format!("node(s) had untolerated taint {{{key}: {value}}}"));
        }
    }
    // NodeAffinity.
    if !node_affinity_matches(&pod["spec"], node) {
        return unresolvable(ERR_AFFINITY);
    }
    Ok(())
}

/// Where the next pod's node search starts (`sched.nextStartNodeIndex`).
#[derive(Default)]
struct SearchStart(std::sync::atomic::AtomicUsize);

/// `numFeasibleNodesToFind` with the default `percentageOfNodesToScore` (0: adaptive): every
/// node below 100 nodes, else `50 − nodes/125` percent (at least 5 %), at least 100 nodes.
pub fn feasible_nodes_to_find(total: usize) -> usize {
    const MIN_FEASIBLE: usize = 100;
    if total < MIN_FEASIBLE {
        return total;
    }
    let percentage = (50 - (total / 125) as i64).max(5) as usize;
    (total * percentage / 100).max(MIN_FEASIBLE)
}

/// What [`static_filter`] reads of a pod.
fn static_signature(pod: &Value) -> String {
    let spec = &pod["spec"];
    json!([
        spec["tolerations"],
        spec["nodeSelector"],
        spec["affinity"]["nodeAffinity"]
    ])
    .to_string()
}

/// The filters that depend on what is already placed (NodeResourcesFit, PodTopologySpread,
/// InterPodAffinity), for a pod that passed [`static_filter`] on `nodes[i]`.
fn dynamic_filter(
    pod: &Value,
    request: &Resources,
    nodes: &[NodeInfo],
    i: usize,
    volumes: &VolumeView,
) -> Result<(), Status> {
    let n = &nodes[i];
    let node = &n.node;
    // NodeResourcesFit (`fitsRequest`).
    let mut reasons = Vec::new();
    let mut code = Code::Unschedulable;
    if n.pods.len() as i128 + 1 > n.allowed_pods {
        reasons.push("Too many pods".to_string());
    }
    if *request != Resources::default() {
        let checks = [
            ("cpu", request.cpu, n.allocatable.cpu, n.requested.cpu),
            (
                "memory",
                request.memory,
                n.allocatable.memory,
                n.requested.memory,
            ),
            (
                "ephemeral-storage",
                request.storage,
                n.allocatable.storage,
                n.requested.storage,
            ),
        ];
        for (name, want, alloc, used) in checks {
            if want > 0 && want > alloc - used {
                reasons.push(format!("Insufficient {name}"));
                if want > alloc {
                    code = Code::UnschedulableAndUnresolvable;
                }
            }
        }
    }
    if !reasons.is_empty() {
        return Err((code, reasons));
    }
    // NodeVolumeLimits, VolumeBinding (`ebs::scheduling`).
    if let Some((unresolvable, r)) = volumes.filter(pod, node, &n.pods) {
        let code = if unresolvable {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        };
        return Err((code, vec![r]));
    }
    // PodTopologySpread.
    if let Some((code, r)) = topology_spread(pod, nodes, i) {
        return Err((code, vec![r.to_string()]));
    }
    // InterPodAffinity.
    if let Some((code, r)) = inter_pod_affinity(pod, nodes, i) {
        return Err((code, vec![r.to_string()]));
    }
    Ok(())
}

/// LeastAllocated: `(allocatable − requested) × 100 / allocatable` for cpu and memory, averaged.
fn score(n: &NodeInfo, non_zero: &Resources) -> i128 {
    let one = |alloc: i128, req: i128| {
        if alloc == 0 || req > alloc {
            0
        } else {
            (alloc - req) * 100 / alloc
        }
    };
    let cpu = one(n.allocatable.cpu, n.non_zero.cpu + non_zero.cpu);
    let mem = one(n.allocatable.memory, n.non_zero.memory + non_zero.memory);
    (cpu + mem) / 2
}

/// `FitError.Error()`: "0/N nodes are available: <count> <reason>, ….", reasons sorted as strings.
fn fit_error(total: usize, reasons: &BTreeMap<String, usize>) -> String {
    let mut parts: Vec<String> = reasons.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    let mut msg = format!("0/{total} nodes are available:");
    if !parts.is_empty() {
        msg.push_str(&format!(" {}.", parts.join(", ")));
    }
    msg
}

/// The FailedScheduling message when a PreFilter plugin rejected the pod: its message once, and
/// every Node as one preemption cannot help.
fn pre_filter_message(pod: &Value, total: usize, pre: &str) -> String {
    let post = if pod["spec"]["preemptionPolicy"] == "Never" {
        "preemption: not eligible due to preemptionPolicy=Never.".to_string()
    } else {
        let all = BTreeMap::from([(NOT_HELPFUL.to_string(), total)]);
        format!("preemption: {}", fit_error(total, &all))
    };
    format!("0/{total} nodes are available: {pre}. {post}.")
}

/// The whole FailedScheduling message for per-node statuses (`None`: the Node fit).
fn failure_message(pod: &Value, statuses: &[(Code, Vec<String>)]) -> String {
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut preemption: BTreeMap<String, usize> = BTreeMap::new();
    for (code, rs) in statuses {
        for r in rs {
            *reasons.entry(r.clone()).or_default() += 1;
        }
        let p = match code {
            Code::Unschedulable => NO_VICTIMS,
            Code::UnschedulableAndUnresolvable => NOT_HELPFUL,
        };
        *preemption.entry(p.to_string()).or_default() += 1;
    }
    let mut msg = fit_error(statuses.len(), &reasons);
    let post = if pod["spec"]["preemptionPolicy"] == "Never" {
        "preemption: not eligible due to preemptionPolicy=Never.".to_string()
    } else {
        format!("preemption: {}", fit_error(statuses.len(), &preemption))
    };
    msg.push_str(&format!(" {post}."));
    msg
}

fn build_event(v: Value) -> Result<Event, Error> {
    serde_json::from_value(v).map_err(|source| Error::Build {
        what: "Event",
        source,
    })
}

/// Creates an `events.k8s.io/v1` Event about `pod`, named `<pod>.<hex nanoseconds>` as the
/// events recorder names them.
async fn emit(
    ctx: &Context,
    pod: &Value,
    kind: &str,
    reason: &str,
    action: &str,
    note: &str,
) -> Result<(), Error> {
    let ns = str_of(pod, "/metadata/namespace");
    let name = str_of(pod, "/metadata/name");
    let api: Api<Event> = Api::namespaced(ctx.kube.clone(), ns);
    let now = ctx.clock.now();
    let mut nanos = ctx.event_nanos(now.as_millis());
    loop {
        let ev_name = format!("{name}.{nanos:x}");
        let ev = build_event(json!({
            "metadata": {"name": ev_name, "namespace": ns},
            "eventTime": now.to_iso8601_millis(),
            "reportingController": DEFAULT_SCHEDULER,
            "reportingInstance": REPORTING_INSTANCE,
            "action": action,
            "reason": reason,
            "type": kind,
            "note": note,
            "regarding": {
                "kind": "Pod", "apiVersion": "v1", "namespace": ns, "name": name,
                "uid": pod["metadata"]["uid"], "resourceVersion": pod["metadata"]["resourceVersion"],
            },
        }))?;
        match api.create(&PostParams::default(), &ev).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => nanos = ctx.event_nanos(now.as_millis()),
            Err(source) => {
                return Err(Error::CreateEvent {
                    name: format!("{ns}/{ev_name}"),
                    source: Box::new(source),
                })
            }
        }
    }
}

fn node_info(node: &Value) -> Result<NodeInfo, Error> {
    let v = node.clone();
    let alloc = &v["status"]["allocatable"];
    Ok(NodeInfo {
        name: str_of(&v, "/metadata/name").to_string(),
        allocatable: resources_of(alloc),
        allowed_pods: quantity(&alloc["pods"]) / 1000,
        requested: Resources::default(),
        non_zero: Resources::default(),
        pods: Vec::new(),
        anti: Vec::new(),
        node: v,
    })
}

fn assign(n: &mut NodeInfo, pod: Arc<Value>) {
    n.requested.add(&pod_requests(&pod, false));
    n.non_zero.add(&pod_requests(&pod, true));
    if !required_terms(&pod, "podAntiAffinity").is_empty() {
        n.anti.push(pod.clone());
    }
    n.pods.push(pod);
}

fn pending(pod: &Value) -> bool {
    let scheduler = str_of(pod, "/spec/schedulerName");
    str_of(pod, "/spec/nodeName").is_empty()
        && (scheduler.is_empty() || scheduler == DEFAULT_SCHEDULER)
        && pod["metadata"]
            .get("deletionTimestamp")
            .is_none_or(Value::is_null)
        && !terminal(pod)
        && pod["spec"]["schedulingGates"]
            .as_array()
            .is_none_or(|g| g.is_empty())
}

/// One scheduling pass over every pending Pod.
pub async fn reconcile_once(ctx: &Context) -> Result<Summary, Error> {
    // kube-scheduler's own user (its kubeconfig's client certificate upstream; see
    // `crate::identity` for why it is impersonated here).
    let ctx = &ctx.as_account(&crate::Account::scheduler()).await?;
    let mut summary = Summary::default();
    let mut nodes: Vec<NodeInfo> = ctx
        .cache
        .list::<Node>()
        .await
        .map_err(|e| Error::ListNodes(Box::new(e)))?
        .iter()
        .map(|n| node_info(n))
        .collect::<Result<_, _>>()?;
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let pods = ctx
        .cache
        .list::<Pod>()
        .await
        .map_err(|e| Error::ListPods(Box::new(e)))?;
    let volumes = VolumeView::load(ctx).await?;
    let mut queue = Vec::new();
    let index: std::collections::HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.clone(), i))
        .collect();
    for v in pods {
        let node_name = str_of(&v, "/spec/nodeName");
        if !node_name.is_empty() {
            if !terminal(&v) {
                if let Some(&i) = index.get(node_name) {
                    assign(&mut nodes[i], v);
                }
            }
        } else if pending(&v) {
            queue.push(v);
        }
    }
    // PrioritySort: priority descending, then creation time, then namespace/name.
    queue.sort_by(|a, b| {
        let pa = a["spec"]["priority"].as_i64().unwrap_or(0);
        let pb = b["spec"]["priority"].as_i64().unwrap_or(0);
        pb.cmp(&pa)
            .then_with(|| {
                str_of(a, "/metadata/creationTimestamp")
                    .cmp(str_of(b, "/metadata/creationTimestamp"))
            })
            .then_with(|| pod_key(a).cmp(&pod_key(b)))
    });
    let mut static_results: BTreeMap<String, Vec<Result<(), Status>>> = BTreeMap::new();
    let search = ctx.memory.get::<SearchStart>();
    let mut next_start = search.0.load(std::sync::atomic::Ordering::Relaxed);
    for pod in queue {
        let key = pod_key(&pod);
        // VolumeBinding PreBind: the pod waits while its claims are provisioned and bound.
        if volumes.waiting_for_binding(&pod).is_some() {
            continue;
        }
        let request = pod_requests(&pod, false);
        let non_zero = pod_requests(&pod, true);
        let mut statuses = Vec::new();
        let mut best: Option<(i128, usize)> = None;
        let pre = volumes.pre_filter(&pod);
        let selected = volumes.selected_node(&pod);
        let statics = static_results
            .entry(static_signature(&pod))
            .or_insert_with(|| nodes.iter().map(|n| static_filter(&pod, n)).collect());
        // `numFeasibleNodesToFind`: in a cluster of 100 nodes or more, the search stops after
        // that many feasible nodes and the next pod's search starts where this one stopped.
        let total = nodes.len();
        let to_find = if selected.is_some() {
            total
        } else {
            feasible_nodes_to_find(total)
        };
        let start = if to_find < total {
            next_start % total
        } else {
            0
        };
        let mut feasible = 0;
        let mut processed = 0;
        for k in 0..total {
            if pre.is_some() || feasible >= to_find {
                break;
            }
            let i = (start + k) % total;
            processed += 1;
            let verdict = match &statics[i] {
                Err(st) => Err(st.clone()),
                Ok(()) => dynamic_filter(&pod, &request, &nodes, i, &volumes),
            };
            match verdict {
                Ok(()) => {
                    feasible += 1;
                    let s = score(&nodes[i], &non_zero);
                    if selected.as_deref() == Some(nodes[i].name.as_str()) {
                        best = Some((i128::MAX, i));
                    } else if best.is_none_or(|(b, _)| s > b) {
                        best = Some((s, i));
                    }
                }
                Err(st) => statuses.push(st),
            }
        }
        if to_find < total {
            next_start = (start + processed) % total;
        }
        if let Some((_, i)) = best {
            let node_name = nodes[i].name.clone();
            let delayed = volumes.unbound_delayed(&pod);
            if !delayed.is_empty() {
                summary.writes += select_node(ctx, &delayed, &node_name).await?;
                continue;
            }
            bind(ctx, &pod, &node_name).await?;
            emit(
                ctx,
                &pod,
                "Normal",
                "Scheduled",
                "Binding",
                &format!("Successfully assigned {key} to {node_name}"),
            )
            .await?;
            summary.writes += 2;
            summary.bound.push((key, node_name.clone()));
            let mut placed = (*pod).clone();
            placed["spec"]["nodeName"] = json!(node_name);
            assign(&mut nodes[i], Arc::new(placed));
            continue;
        }
        let message = match &pre {
            _ if nodes.is_empty() => NO_NODES.to_string(),
            Some(p) => pre_filter_message(&pod, nodes.len(), p),
            None => failure_message(&pod, &statuses),
        };
        let conditions = pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let current = conditions.iter().find(|c| c["type"] == "PodScheduled");
        if current.is_some_and(|c| {
            c["status"] == "False" && c["reason"] == UNSCHEDULABLE && c["message"] == message
        }) {
            continue;
        }
        let transition = match current {
            Some(c) if c["status"] == "False" => c["lastTransitionTime"].clone(),
            _ => json!(ctx.clock.now().to_rfc3339_secs()),
        };
        let mut new_conditions: Vec<Value> = conditions
            .iter()
            .filter(|c| c["type"] != "PodScheduled")
            .cloned()
            .collect();
        new_conditions.push(json!({
            "type": "PodScheduled", "status": "False", "reason": UNSCHEDULABLE,
            "message": message, "lastProbeTime": null, "lastTransitionTime": transition,
        }));
        let ns = str_of(&pod, "/metadata/namespace");
        let name = str_of(&pod, "/metadata/name");
        let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), ns);
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"conditions": new_conditions}})),
        )
        .await
        .map_err(|source| Error::PatchPod {
            name: key.clone(),
            source: Box::new(source),
        })?;
        emit(
            ctx,
            &pod,
            "Warning",
            "FailedScheduling",
            "Scheduling",
            &message,
        )
        .await?;
        summary.writes += 2;
        summary.unschedulable.push((key, message));
    }
    search
        .0
        .store(next_start, std::sync::atomic::Ordering::Relaxed);
    Ok(summary)
}

/// POST `pods/<name>/binding` with a `v1.Binding` to `node`.
async fn bind(ctx: &Context, pod: &Value, node: &str) -> Result<(), Error> {
    let ns = str_of(pod, "/metadata/namespace");
    let name = str_of(pod, "/metadata/name");
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), ns);
    let body = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": name, "namespace": ns, "uid": pod["metadata"]["uid"]},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    let data = serde_json::to_vec(&body).map_err(|source| Error::Build {
        what: "Binding",
        source,
    })?;
    api.create_subresource::<Value>("binding", name, &PostParams::default(), data)
        .await
        .map(|_| ())
        .map_err(|source| Error::BindPod {
            name: format!("{ns}/{name}"),
            source: Box::new(source),
        })
}
