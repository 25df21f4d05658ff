//! Server-side `meta.k8s.io/v1` Table output (what `kubectl get` prints), with the columns of
//! kube-apiserver's printers for Pod, Node, Deployment, ReplicaSet, DaemonSet, StatefulSet,
//! Service, Endpoints, PersistentVolumeClaim, PersistentVolume, StorageClass, Ingress,
//! IngressClass, Event, Namespace, ConfigMap, Secret, ServiceAccount, Lease and
//! CustomResourceDefinition; custom resources use their `additionalPrinterColumns`
//! (simple `.a.b` paths); anything else gets NAME and AGE.

use crate::registry::ResourceDef;
use serde_json::{json, Value};

/// Whether an Accept header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.replace(' ', "").contains("as=Table"))
}

/// kubectl's short duration (`5s`, `3m10s`, `17h`, `2d`).
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 120 {
        return format!("{s}s");
    }
    let m = s / 60;
    if m < 10 {
        let rs = s % 60;
        return if rs == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{rs}s")
        };
    }
    if m < 180 {
        return format!("{m}m");
    }
    let h = m / 60;
    if h < 8 {
        let rm = m % 60;
        return if rm == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{rm}m")
        };
    }
    if h < 48 {
        return format!("{h}h");
    }
    let d = h / 24;
    if d < 8 {
        let rh = h % 24;
        return if rh == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{rh}h")
        };
    }
    if d < 365 * 2 {
        return format!("{d}d");
    }
    format!("{}y{}d", d / 365, d % 365)
}

pub(crate) fn age(obj: &Value, now_ms: u64, field: &str) -> String {
    match obj
        .pointer(field)
        .and_then(Value::as_str)
        .and_then(cloudbox_sim::time_fmt::parse_iso8601)
    {
        Some(t) => human_duration(((now_ms as i64) - (t as i64)) / 1000),
        None => "<unknown>".into(),
    }
}

pub(crate) fn s(obj: &Value, ptr: &str) -> String {
    match obj.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

pub(crate) fn i(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

pub(crate) fn or_none(v: String) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v
    }
}

pub(crate) fn arr<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(crate) fn col(name: &str, ty: &str, priority: i64) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": name, "priority": priority})
}

pub(crate) fn containers_images(obj: &Value, base: &str) -> (String, String) {
    let cs = arr(obj, base);
    let names: Vec<String> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<String> = cs.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

pub(crate) fn selector_string(sel: Option<&Value>) -> String {
    match sel {
        Some(sel) => {
            let q = crate::selectors::LabelSelector::from_object(sel).to_query();
            if q.is_empty() {
                "<none>".into()
            } else {
                q
            }
        }
        None => "<none>".into(),
    }
}

pub(crate) fn map_selector(sel: Option<&Value>) -> String {
    sel.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into())
}

fn access_modes(modes: &[Value]) -> String {
    modes
        .iter()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn pod_status(p: &Value) -> (String, String, i64) {
    let cs = arr(p, "/status/containerStatuses");
    let total = arr(p, "/spec/containers").len();
    let ready = cs
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = cs.iter().map(|c| i(c, "/restartCount")).sum();
    let mut reason = s(p, "/status/reason");
    if reason.is_empty() {
        reason = s(p, "/status/phase");
    }
    for c in cs {
        let w = s(c, "/state/waiting/reason");
        let t = s(c, "/state/terminated/reason");
        if !w.is_empty() {
            reason = w;
        } else if !t.is_empty() {
            reason = t;
        }
    }
    if p.pointer("/metadata/deletionTimestamp").is_some() {
        reason = if s(p, "/status/reason") == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    (format!("{ready}/{total}"), reason, restarts)
}

fn service_ports(svc: &Value) -> String {
    let ports: Vec<String> = arr(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let port = i(p, "/port");
            let proto = s(p, "/protocol");
            let proto = if proto.is_empty() {
                "TCP".into()
            } else {
                proto
            };
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) => format!("{port}:{np}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    or_none(ports.join(","))
}

fn service_external(svc: &Value) -> String {
    let ty = s(svc, "/spec/type");
    let mut ext: Vec<String> = arr(svc, "/spec/externalIPs")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    match ty.as_str() {
        "LoadBalancer" => {
            for ing in arr(svc, "/status/loadBalancer/ingress") {
                let h = s(ing, "/hostname");
                let ip = s(ing, "/ip");
                if !ip.is_empty() {
                    ext.push(ip);
                } else if !h.is_empty() {
                    ext.push(h);
                }
            }
            if ext.is_empty() {
                "<pending>".into()
            } else {
                ext.join(",")
            }
        }
        "ExternalName" => s(svc, "/spec/externalName"),
        _ => or_none(ext.join(",")),
    }
}

fn endpoints(ep: &Value) -> String {
    let mut list = Vec::new();
    for ss in arr(ep, "/subsets") {
        for a in arr(ss, "/addresses") {
            let ports = arr(ss, "/ports");
            if ports.is_empty() {
                list.push(s(a, "/ip"));
            }
            for p in ports {
                list.push(format!("{}:{}", s(a, "/ip"), i(p, "/port")));
            }
        }
    }
    if list.is_empty() {
        return "<none>".into();
    }
    if list.len() > 3 {
        let more = list.len() - 3;
        return format!("{} + {more} more...", list[..3].join(","));
    }
    list.join(",")
}

fn node_status(n: &Value) -> String {
    let mut st = "Unknown".to_string();
    for c in arr(n, "/status/conditions") {
        if s(c, "/type") == "Ready" {
            st = if s(c, "/status") == "True" {
                "Ready".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if n.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        st.push_str(",SchedulingDisabled");
    }
    st
}

fn node_roles(n: &Value) -> String {
    let mut roles: Vec<String> = n
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                        Some(r.to_string())
                    } else if k == "kubernetes.io/role" {
                        v.as_str().map(str::to_string)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    or_none(roles.join(","))
}

fn node_address(n: &Value, ty: &str) -> String {
    arr(n, "/status/addresses")
        .iter()
        .find(|a| s(a, "/type") == ty)
        .map(|a| s(a, "/address"))
        .unwrap_or_else(|| "<none>".into())
}

fn event_object(e: &Value) -> String {
    format!(
        "{}/{}",
        s(e, "/involvedObject/kind").to_lowercase(),
        s(e, "/involvedObject/name")
    )
}

fn last_seen(e: &Value, now: u64) -> String {
    for f in [
        "/lastTimestamp",
        "/eventTime",
        "/series/lastObservedTime",
        "/firstTimestamp",
    ] {
        if e.pointer(f).and_then(Value::as_str).is_some() {
            return age(e, now, f);
        }
    }
    age(e, now, "/metadata/creationTimestamp")
}

/// Columns and row builder for a kind.
fn columns(def: &ResourceDef) -> Vec<Value> {
    let c = col;
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => vec![
            c("Name", "string", 0),
            c("Ready", "string", 0),
            c("Status", "string", 0),
            c("Restarts", "string", 0),
            c("Age", "string", 0),
            c("IP", "string", 1),
            c("Node", "string", 1),
            c("Nominated Node", "string", 1),
            c("Readiness Gates", "string", 1),
        ],
        ("", "Node") => vec![
            c("Name", "string", 0),
            c("Status", "string", 0),
            c("Roles", "string", 0),
            c("Age", "string", 0),
            c("Version", "string", 0),
            c("Internal-IP", "string", 1),
            c("External-IP", "string", 1),
            c("OS-Image", "string", 1),
            c("Kernel-Version", "string", 1),
            c("Container-Runtime", "string", 1),
        ],
        ("apps", "Deployment") => vec![
            c("Name", "string", 0),
            c("Ready", "string", 0),
            c("Up-to-date", "integer", 0),
            c("Available", "integer", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ],
        ("apps", "ReplicaSet") => vec![
            c("Name", "string", 0),
            c("Desired", "integer", 0),
            c("Current", "integer", 0),
            c("Ready", "integer", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ],
        ("apps", "DaemonSet") => vec![
            c("Name", "string", 0),
            c("Desired", "integer", 0),
            c("Current", "integer", 0),
            c("Ready", "integer", 0),
            c("Up-to-date", "integer", 0),
            c("Available", "integer", 0),
            c("Node Selector", "string", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ],
        ("apps", "StatefulSet") => vec![
            c("Name", "string", 0),
            c("Ready", "string", 0),
            c("Age", "string", 0),
            c("Containers", "string", 1),
            c("Images", "string", 1),
        ],
        ("", "Service") => vec![
            c("Name", "string", 0),
            c("Type", "string", 0),
            c("Cluster-IP", "string", 0),
            c("External-IP", "string", 0),
            c("Port(s)", "string", 0),
            c("Age", "string", 0),
            c("Selector", "string", 1),
        ],
        ("", "Endpoints") => vec![
            c("Name", "string", 0),
            c("Endpoints", "string", 0),
            c("Age", "string", 0),
        ],
        ("", "PersistentVolumeClaim") => vec![
            c("Name", "string", 0),
            c("Status", "string", 0),
            c("Volume", "string", 0),
            c("Capacity", "string", 0),
            c("Access Modes", "string", 0),
            c("StorageClass", "string", 0),
            c("VolumeAttributesClass", "string", 0),
            c("Age", "string", 0),
            c("VolumeMode", "string", 1),
        ],
        ("", "PersistentVolume") => vec![
            c("Name", "string", 0),
            c("Capacity", "string", 0),
            c("Access Modes", "string", 0),
            c("Reclaim Policy", "string", 0),
            c("Status", "string", 0),
            c("Claim", "string", 0),
            c("StorageClass", "string", 0),
            c("VolumeAttributesClass", "string", 0),
            c("Reason", "string", 0),
            c("Age", "string", 0),
            c("VolumeMode", "string", 1),
        ],
        ("storage.k8s.io", "CSIDriver") => vec![
            c("Name", "string", 0),
            c("AttachRequired", "boolean", 0),
            c("PodInfoOnMount", "boolean", 0),
            c("StorageCapacity", "boolean", 0),
            c("TokenRequests", "string", 0),
            c("RequiresRepublish", "boolean", 0),
            c("Modes", "string", 0),
            c("Age", "string", 0),
        ],
        ("storage.k8s.io", "StorageClass") => vec![
            c("Name", "string", 0),
            c("Provisioner", "string", 0),
            c("ReclaimPolicy", "string", 0),
            c("VolumeBindingMode", "string", 0),
            c("AllowVolumeExpansion", "string", 0),
            c("Age", "string", 0),
        ],
        ("networking.k8s.io", "Ingress") => vec![
            c("Name", "string", 0),
            c("Class", "string", 0),
            c("Hosts", "string", 0),
            c("Address", "string", 0),
            c("Ports", "string", 0),
            c("Age", "string", 0),
        ],
        ("networking.k8s.io", "IngressClass") => vec![
            c("Name", "string", 0),
            c("Controller", "string", 0),
            c("Parameters", "string", 0),
            c("Age", "string", 0),
        ],
        ("", "Event") | ("events.k8s.io", "Event") => vec![
            c("Last Seen", "string", 0),
            c("Type", "string", 0),
            c("Reason", "string", 0),
            c("Object", "string", 0),
            c("Subobject", "string", 1),
            c("Source", "string", 1),
            c("Message", "string", 0),
            c("First Seen", "string", 1),
            c("Count", "string", 1),
            c("Name", "string", 1),
        ],
        ("", "Namespace") => vec![
            c("Name", "string", 0),
            c("Status", "string", 0),
            c("Age", "string", 0),
        ],
        ("", "ConfigMap") => vec![
            c("Name", "string", 0),
            c("Data", "string", 0),
            c("Age", "string", 0),
        ],
        ("", "Secret") => vec![
            c("Name", "string", 0),
            c("Type", "string", 0),
            c("Data", "string", 0),
            c("Age", "string", 0),
        ],
        ("", "ServiceAccount") => vec![
            c("Name", "string", 0),
            c("Secrets", "string", 0),
            c("Age", "string", 0),
        ],
        ("coordination.k8s.io", "Lease") => vec![
            c("Name", "string", 0),
            c("Holder", "string", 0),
            c("Age", "string", 0),
        ],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![c("Name", "string", 0), c("Created At", "date", 0)]
        }
        _ if crate::kinds::printers::columns(def).is_some() => {
            crate::kinds::printers::columns(def).unwrap_or_default()
        }
        _ => {
            let mut v = vec![c("Name", "string", 0)];
            for pc in custom_columns(def) {
                v.push(json!({"name": pc.0, "type": pc.1, "format": "", "description": pc.0, "priority": pc.3}));
            }
            if !custom_columns(def).iter().any(|c| c.0 == "Age") {
                v.push(c("Age", "string", 0));
            }
            v
        }
    }
}

/// additionalPrinterColumns of a custom resource: (name, type, jsonPath, priority).
fn custom_columns(def: &ResourceDef) -> Vec<(String, String, String, i64)> {
    def.printer_columns
        .iter()
        .filter_map(|c| {
            Some((
                c.get("name")?.as_str()?.to_string(),
                c.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("string")
                    .to_string(),
                c.get("jsonPath")?.as_str()?.to_string(),
                c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            ))
        })
        .collect()
}

fn cells(def: &ResourceDef, o: &Value, now: u64) -> Vec<Value> {
    let name = s(o, "/metadata/name");
    let ag = age(o, now, "/metadata/creationTimestamp");
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => {
            let (ready, status, restarts) = pod_status(o);
            let gates = arr(o, "/spec/readinessGates");
            vec![
                json!(name),
                json!(ready),
                json!(status),
                json!(restarts.to_string()),
                json!(ag),
                json!(or_none(s(o, "/status/podIP"))),
                json!(or_none(s(o, "/spec/nodeName"))),
                json!(or_none(s(o, "/status/nominatedNodeName"))),
                json!(if gates.is_empty() {
                    "<none>".to_string()
                } else {
                    format!("0/{}", gates.len())
                }),
            ]
        }
        ("", "Node") => vec![
            json!(name),
            json!(node_status(o)),
            json!(node_roles(o)),
            json!(ag),
            json!(s(o, "/status/nodeInfo/kubeletVersion")),
            json!(node_address(o, "InternalIP")),
            json!(node_address(o, "ExternalIP")),
            json!(or_none(s(o, "/status/nodeInfo/osImage"))),
            json!(or_none(s(o, "/status/nodeInfo/kernelVersion"))),
            json!(or_none(s(o, "/status/nodeInfo/containerRuntimeVersion"))),
        ],
        ("apps", "Deployment") => {
            let (cn, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                json!(name),
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    i(o, "/spec/replicas")
                )),
                json!(i(o, "/status/updatedReplicas")),
                json!(i(o, "/status/availableReplicas")),
                json!(ag),
                json!(cn),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "ReplicaSet") => {
            let (cn, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                json!(name),
                json!(i(o, "/spec/replicas")),
                json!(i(o, "/status/replicas")),
                json!(i(o, "/status/readyReplicas")),
                json!(ag),
                json!(cn),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "DaemonSet") => {
            let (cn, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                json!(name),
                json!(i(o, "/status/desiredNumberScheduled")),
                json!(i(o, "/status/currentNumberScheduled")),
                json!(i(o, "/status/numberReady")),
                json!(i(o, "/status/updatedNumberScheduled")),
                json!(i(o, "/status/numberAvailable")),
                json!(map_selector(o.pointer("/spec/template/spec/nodeSelector"))),
                json!(ag),
                json!(cn),
                json!(im),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "StatefulSet") => {
            let (cn, im) = containers_images(o, "/spec/template/spec/containers");
            vec![
                json!(name),
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    i(o, "/spec/replicas")
                )),
                json!(ag),
                json!(cn),
                json!(im),
            ]
        }
        ("", "Service") => vec![
            json!(name),
            json!(s(o, "/spec/type")),
            json!(or_none(s(o, "/spec/clusterIP"))),
            json!(service_external(o)),
            json!(service_ports(o)),
            json!(ag),
            json!(map_selector(o.pointer("/spec/selector"))),
        ],
        ("", "Endpoints") => vec![json!(name), json!(endpoints(o)), json!(ag)],
        ("", "PersistentVolumeClaim") => {
            let phase = if o.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating".into()
            } else {
                s(o, "/status/phase")
            };
            vec![
                json!(name),
                json!(phase),
                json!(s(o, "/spec/volumeName")),
                json!(s(o, "/status/capacity/storage")),
                json!(access_modes(arr(o, "/status/accessModes"))),
                json!(s(o, "/spec/storageClassName")),
                json!(if s(o, "/spec/volumeAttributesClassName").is_empty() {
                    "<unset>".into()
                } else {
                    s(o, "/spec/volumeAttributesClassName")
                }),
                json!(ag),
                json!(s(o, "/spec/volumeMode")),
            ]
        }
        ("", "PersistentVolume") => {
            let claim = if o.pointer("/spec/claimRef").is_some() {
                format!(
                    "{}/{}",
                    s(o, "/spec/claimRef/namespace"),
                    s(o, "/spec/claimRef/name")
                )
            } else {
                String::new()
            };
            vec![
                json!(name),
                json!(s(o, "/spec/capacity/storage")),
                json!(access_modes(arr(o, "/spec/accessModes"))),
                json!(s(o, "/spec/persistentVolumeReclaimPolicy")),
                json!(s(o, "/status/phase")),
                json!(claim),
                json!(s(o, "/spec/storageClassName")),
                json!(if s(o, "/spec/volumeAttributesClassName").is_empty() {
                    "<unset>".into()
                } else {
                    s(o, "/spec/volumeAttributesClassName")
                }),
                json!(s(o, "/status/reason")),
                json!(ag),
                json!(s(o, "/spec/volumeMode")),
            ]
        }
        ("storage.k8s.io", "CSIDriver") => {
            // printCSIDriver: booleans as stored (defaulted), audiences and modes joined.
            let flag = |p: &str, d: bool| o.pointer(p).and_then(Value::as_bool).unwrap_or(d);
            let tokens: Vec<String> = arr(o, "/spec/tokenRequests")
                .iter()
                .map(|t| s(t, "/audience"))
                .collect();
            let modes: Vec<String> = arr(o, "/spec/volumeLifecycleModes")
                .iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect();
            vec![
                json!(name),
                json!(flag("/spec/attachRequired", true)),
                json!(flag("/spec/podInfoOnMount", false)),
                json!(flag("/spec/storageCapacity", false)),
                json!(if tokens.is_empty() {
                    "<unset>".to_string()
                } else {
                    tokens.join(",")
                }),
                json!(flag("/spec/requiresRepublish", false)),
                json!(modes.join(",")),
                json!(ag),
            ]
        }
        ("storage.k8s.io", "StorageClass") => {
            let default = s(
                o,
                "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
            ) == "true";
            let n = if default {
                format!("{name} (default)")
            } else {
                name
            };
            let exp = o
                .pointer("/allowVolumeExpansion")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            vec![
                json!(n),
                json!(s(o, "/provisioner")),
                json!(s(o, "/reclaimPolicy")),
                json!(s(o, "/volumeBindingMode")),
                json!(exp.to_string()),
                json!(ag),
            ]
        }
        ("networking.k8s.io", "Ingress") => {
            // As kubectl's printer (printIngress): spec.ingressClassName only; the legacy
            // `kubernetes.io/ingress.class` annotation is not shown.
            let class = or_none(s(o, "/spec/ingressClassName"));
            let hosts: Vec<String> = arr(o, "/spec/rules")
                .iter()
                .map(|r| s(r, "/host"))
                .filter(|h| !h.is_empty())
                .collect();
            let hosts = if hosts.is_empty() {
                "*".into()
            } else {
                hosts.join(",")
            };
            let addr: Vec<String> = arr(o, "/status/loadBalancer/ingress")
                .iter()
                .map(|a| {
                    let ip = s(a, "/ip");
                    if ip.is_empty() {
                        s(a, "/hostname")
                    } else {
                        ip
                    }
                })
                .collect();
            let ports = if arr(o, "/spec/tls").is_empty() {
                "80"
            } else {
                "80, 443"
            };
            vec![
                json!(name),
                json!(class),
                json!(hosts),
                json!(addr.join(",")),
                json!(ports),
                json!(ag),
            ]
        }
        ("networking.k8s.io", "IngressClass") => vec![
            json!(name),
            json!(s(o, "/spec/controller")),
            json!(or_none(s(o, "/spec/parameters/name"))),
            json!(ag),
        ],
        ("", "Event") | ("events.k8s.io", "Event") => {
            let count = o.get("count").and_then(Value::as_i64).unwrap_or(1);
            vec![
                json!(last_seen(o, now)),
                json!(s(o, "/type")),
                json!(s(o, "/reason")),
                json!(event_object(o)),
                json!(s(o, "/involvedObject/fieldPath")),
                json!(s(o, "/source/component")),
                json!(s(o, "/message")),
                json!(age(o, now, "/firstTimestamp")),
                json!(count.to_string()),
                json!(name),
            ]
        }
        ("", "Namespace") => vec![json!(name), json!(s(o, "/status/phase")), json!(ag)],
        ("", "ConfigMap") => {
            let n = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            vec![json!(name), json!(n), json!(ag)]
        }
        ("", "Secret") => {
            let n = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len());
            vec![json!(name), json!(s(o, "/type")), json!(n), json!(ag)]
        }
        ("", "ServiceAccount") => vec![json!(name), json!(arr(o, "/secrets").len()), json!(ag)],
        ("coordination.k8s.io", "Lease") => {
            vec![json!(name), json!(s(o, "/spec/holderIdentity")), json!(ag)]
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![json!(name), json!(s(o, "/metadata/creationTimestamp"))]
        }
        _ if crate::kinds::printers::columns(def).is_some() => {
            crate::kinds::printers::cells(def, o, now)
        }
        _ => {
            let mut v = vec![json!(name)];
            let cols = custom_columns(def);
            for (n, _, path, _) in &cols {
                let ptr = format!("/{}", path.trim_start_matches('.').replace('.', "/"));
                if n == "Age" {
                    v.push(json!(age(o, now, &ptr)));
                } else {
                    v.push(o.pointer(&ptr).cloned().unwrap_or(Value::Null));
                }
            }
            if !cols.iter().any(|c| c.0 == "Age") {
                v.push(json!(ag));
            }
            v
        }
    }
}

/// Builds a Table of `items` (served form). `include_object` is `None`, `Metadata` or `Object`.
pub fn table(
    def: &ResourceDef,
    items: &[Value],
    rv: u64,
    cont: Option<&str>,
    now_ms: u64,
    include_object: &str,
) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let object = match include_object {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
                }),
            };
            json!({"cells": cells(def, o, now_ms), "object": object})
        })
        .collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns(def),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_ports() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(190), "3m10s");
        assert_eq!(human_duration(17 * 3600 + 5), "17h");
        assert_eq!(human_duration(3 * 86400), "3d");
        let svc = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 8080, "nodePort": 31905, "protocol": "TCP"}]}});
        assert_eq!(service_ports(&svc), "8080:31905/TCP");
        assert_eq!(service_external(&svc), "<pending>");
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
    }
}
