//! `kubectl get` columns of the built-in kinds served since issue 3: Pod, Node, Deployment,
//! ReplicaSet, DaemonSet, StatefulSet, Service, Endpoints, PersistentVolumeClaim,
//! PersistentVolume, CSIDriver, StorageClass, Ingress, IngressClass, Event (core and
//! events.k8s.io), Namespace, ConfigMap, Secret, ServiceAccount, Lease and
//! CustomResourceDefinition. Each is a [`Printer`] a kind's strategy returns from
//! [`crate::kinds::strategy::Strategy::table`].
//!
//! Upstream: kubernetes v1.32, pkg/printers/internalversion/printers.go (`AddHandlers`: the
//! column definitions and `printPod`, `printNode`, `printDeployment`, ... row functions),
//! staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition (CRD table).
//!
//! Not modelled: the legacy `kubernetes.io/ingress.class` annotation in the Ingress CLASS
//! column (kubectl's printer shows `spec.ingressClassName` only, as here); pod readiness gates
//! are counted, not evaluated (`0/N`).

use crate::registry::ResourceDef;
use crate::table::{
    age, age_cell, arr, column as c, containers_images, i, map_selector, name, or_none, s,
    selector_string, Printer,
};
use serde_json::{json, Value};

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

/// Pods (`printPod`).
pub static POD: Printer = Printer {
    columns: &[
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
    row: pod_row,
};

fn pod_row(_: &ResourceDef, o: &Value, now: u64) -> Vec<Value> {
    let (ready, status, restarts) = pod_status(o);
    let gates = arr(o, "/spec/readinessGates");
    vec![
        name(o),
        json!(ready),
        json!(status),
        json!(restarts.to_string()),
        age_cell(o, now),
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

/// Nodes (`printNode`).
pub static NODE: Printer = Printer {
    columns: &[
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
    row: |_, o, now| {
        vec![
            name(o),
            json!(node_status(o)),
            json!(node_roles(o)),
            age_cell(o, now),
            json!(s(o, "/status/nodeInfo/kubeletVersion")),
            json!(node_address(o, "InternalIP")),
            json!(node_address(o, "ExternalIP")),
            json!(or_none(s(o, "/status/nodeInfo/osImage"))),
            json!(or_none(s(o, "/status/nodeInfo/kernelVersion"))),
            json!(or_none(s(o, "/status/nodeInfo/containerRuntimeVersion"))),
        ]
    },
};

/// Deployments (`printDeployment`).
pub static DEPLOYMENT: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Ready", "string", 0),
        c("Up-to-date", "integer", 0),
        c("Available", "integer", 0),
        c("Age", "string", 0),
        c("Containers", "string", 1),
        c("Images", "string", 1),
        c("Selector", "string", 1),
    ],
    row: |_, o, now| {
        let (cn, im) = containers_images(o, "/spec/template/spec/containers");
        vec![
            name(o),
            json!(format!(
                "{}/{}",
                i(o, "/status/readyReplicas"),
                i(o, "/spec/replicas")
            )),
            json!(i(o, "/status/updatedReplicas")),
            json!(i(o, "/status/availableReplicas")),
            age_cell(o, now),
            json!(cn),
            json!(im),
            json!(selector_string(o.pointer("/spec/selector"))),
        ]
    },
};

/// ReplicaSets (`printReplicaSet`).
pub static REPLICA_SET: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Desired", "integer", 0),
        c("Current", "integer", 0),
        c("Ready", "integer", 0),
        c("Age", "string", 0),
        c("Containers", "string", 1),
        c("Images", "string", 1),
        c("Selector", "string", 1),
    ],
    row: |_, o, now| {
        let (cn, im) = containers_images(o, "/spec/template/spec/containers");
        vec![
            name(o),
            json!(i(o, "/spec/replicas")),
            json!(i(o, "/status/replicas")),
            json!(i(o, "/status/readyReplicas")),
            age_cell(o, now),
            json!(cn),
            json!(im),
            json!(selector_string(o.pointer("/spec/selector"))),
        ]
    },
};

/// DaemonSets (`printDaemonSet`).
pub static DAEMON_SET: Printer = Printer {
    columns: &[
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
    row: |_, o, now| {
        let (cn, im) = containers_images(o, "/spec/template/spec/containers");
        vec![
            name(o),
            json!(i(o, "/status/desiredNumberScheduled")),
            json!(i(o, "/status/currentNumberScheduled")),
            json!(i(o, "/status/numberReady")),
            json!(i(o, "/status/updatedNumberScheduled")),
            json!(i(o, "/status/numberAvailable")),
            json!(map_selector(o.pointer("/spec/template/spec/nodeSelector"))),
            age_cell(o, now),
            json!(cn),
            json!(im),
            json!(selector_string(o.pointer("/spec/selector"))),
        ]
    },
};

/// StatefulSets (`printStatefulSet`).
pub static STATEFUL_SET: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Ready", "string", 0),
        c("Age", "string", 0),
        c("Containers", "string", 1),
        c("Images", "string", 1),
    ],
    row: |_, o, now| {
        let (cn, im) = containers_images(o, "/spec/template/spec/containers");
        vec![
            name(o),
            json!(format!(
                "{}/{}",
                i(o, "/status/readyReplicas"),
                i(o, "/spec/replicas")
            )),
            age_cell(o, now),
            json!(cn),
            json!(im),
        ]
    },
};

/// Services (`printService`).
pub static SERVICE: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Type", "string", 0),
        c("Cluster-IP", "string", 0),
        c("External-IP", "string", 0),
        c("Port(s)", "string", 0),
        c("Age", "string", 0),
        c("Selector", "string", 1),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(s(o, "/spec/type")),
            json!(or_none(s(o, "/spec/clusterIP"))),
            json!(service_external(o)),
            json!(service_ports(o)),
            age_cell(o, now),
            json!(map_selector(o.pointer("/spec/selector"))),
        ]
    },
};

/// Endpoints (`printEndpoints`).
pub static ENDPOINTS: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Endpoints", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| vec![name(o), json!(endpoints(o)), age_cell(o, now)],
};

fn volume_attributes_class(o: &Value) -> String {
    let v = s(o, "/spec/volumeAttributesClassName");
    if v.is_empty() {
        "<unset>".into()
    } else {
        v
    }
}

/// PersistentVolumeClaims (`printPersistentVolumeClaim`).
pub static PERSISTENT_VOLUME_CLAIM: Printer = Printer {
    columns: &[
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
    row: |_, o, now| {
        let phase = if o.pointer("/metadata/deletionTimestamp").is_some() {
            "Terminating".into()
        } else {
            s(o, "/status/phase")
        };
        vec![
            name(o),
            json!(phase),
            json!(s(o, "/spec/volumeName")),
            json!(s(o, "/status/capacity/storage")),
            json!(access_modes(arr(o, "/status/accessModes"))),
            json!(s(o, "/spec/storageClassName")),
            json!(volume_attributes_class(o)),
            age_cell(o, now),
            json!(s(o, "/spec/volumeMode")),
        ]
    },
};

/// PersistentVolumes (`printPersistentVolume`).
pub static PERSISTENT_VOLUME: Printer = Printer {
    columns: &[
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
    row: |_, o, now| {
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
            name(o),
            json!(s(o, "/spec/capacity/storage")),
            json!(access_modes(arr(o, "/spec/accessModes"))),
            json!(s(o, "/spec/persistentVolumeReclaimPolicy")),
            json!(s(o, "/status/phase")),
            json!(claim),
            json!(s(o, "/spec/storageClassName")),
            json!(volume_attributes_class(o)),
            json!(s(o, "/status/reason")),
            age_cell(o, now),
            json!(s(o, "/spec/volumeMode")),
        ]
    },
};

/// CSIDrivers (`printCSIDriver`): booleans as stored (defaulted), audiences and modes joined.
pub static CSI_DRIVER: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("AttachRequired", "boolean", 0),
        c("PodInfoOnMount", "boolean", 0),
        c("StorageCapacity", "boolean", 0),
        c("TokenRequests", "string", 0),
        c("RequiresRepublish", "boolean", 0),
        c("Modes", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
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
            name(o),
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
            age_cell(o, now),
        ]
    },
};

/// StorageClasses (`printStorageClass`): the default class is marked `(default)`.
pub static STORAGE_CLASS: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Provisioner", "string", 0),
        c("ReclaimPolicy", "string", 0),
        c("VolumeBindingMode", "string", 0),
        c("AllowVolumeExpansion", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        let n = s(o, "/metadata/name");
        let default = s(
            o,
            "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
        ) == "true";
        let n = if default { format!("{n} (default)") } else { n };
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
            age_cell(o, now),
        ]
    },
};

/// Ingresses (`printIngress`): `spec.ingressClassName` only.
pub static INGRESS: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Class", "string", 0),
        c("Hosts", "string", 0),
        c("Address", "string", 0),
        c("Ports", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
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
            name(o),
            json!(class),
            json!(hosts),
            json!(addr.join(",")),
            json!(ports),
            age_cell(o, now),
        ]
    },
};

/// IngressClasses (`printIngressClass`).
pub static INGRESS_CLASS: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Controller", "string", 0),
        c("Parameters", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(s(o, "/spec/controller")),
            json!(or_none(s(o, "/spec/parameters/name"))),
            age_cell(o, now),
        ]
    },
};

/// Events of both groups (`printEvent`; events.k8s.io objects are served from the core form's
/// fields).
pub static EVENT: Printer = Printer {
    columns: &[
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
    row: |_, o, now| {
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
            name(o),
        ]
    },
};

/// Namespaces (`printNamespace`).
pub static NAMESPACE: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Status", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| vec![name(o), json!(s(o, "/status/phase")), age_cell(o, now)],
};

fn map_len(o: &Value, key: &str) -> usize {
    o.get(key).and_then(Value::as_object).map_or(0, |m| m.len())
}

/// ConfigMaps (`printConfigMap`): DATA counts `data` and `binaryData`.
pub static CONFIG_MAP: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Data", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        let n = map_len(o, "data") + map_len(o, "binaryData");
        vec![name(o), json!(n), age_cell(o, now)]
    },
};

/// Secrets (`printSecret`).
pub static SECRET: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Type", "string", 0),
        c("Data", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(s(o, "/type")),
            json!(map_len(o, "data")),
            age_cell(o, now),
        ]
    },
};

/// ServiceAccounts (`printServiceAccount`).
pub static SERVICE_ACCOUNT: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Secrets", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| vec![name(o), json!(arr(o, "/secrets").len()), age_cell(o, now)],
};

/// Leases (`printLease`).
pub static LEASE: Printer = Printer {
    columns: &[
        c("Name", "string", 0),
        c("Holder", "string", 0),
        c("Age", "string", 0),
    ],
    row: |_, o, now| {
        vec![
            name(o),
            json!(s(o, "/spec/holderIdentity")),
            age_cell(o, now),
        ]
    },
};

/// CustomResourceDefinitions (the apiextensions default table: NAME, CREATED AT).
pub static CUSTOM_RESOURCE_DEFINITION: Printer = Printer {
    columns: &[c("Name", "string", 0), c("Created At", "date", 0)],
    row: |_, o, _| vec![name(o), json!(s(o, "/metadata/creationTimestamp"))],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TableConvertor;

    fn def(kind: &str) -> ResourceDef {
        crate::registry::Registry::builtin()
            .all()
            .into_iter()
            .find(|d| d.kind == kind)
            .map(|d| (**d).clone())
            .unwrap_or_else(|| panic!("no kind {kind}"))
    }

    /// Each printer has one cell per column.
    fn check(p: &Printer, kind: &str, obj: Value) -> Vec<Value> {
        let d = def(kind);
        let cells = p.cells(&d, &obj, 0);
        assert_eq!(cells.len(), p.columns(&d).len(), "{kind}");
        cells
    }

    #[test]
    fn service_ports_and_external() {
        let svc = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 8080, "nodePort": 31905, "protocol": "TCP"}]}});
        assert_eq!(service_ports(&svc), "8080:31905/TCP");
        assert_eq!(service_external(&svc), "<pending>");
        let cells = check(&SERVICE, "Service", svc);
        assert_eq!(cells[4], json!("8080:31905/TCP"));
    }

    #[test]
    fn pod_row_counts_ready_and_restarts() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [{"ready": true, "restartCount": 2}, {"ready": false, "restartCount": 1}]}});
        let cells = check(&POD, "Pod", pod);
        assert_eq!(cells[1..4], [json!("1/2"), json!("Running"), json!("3")]);
        assert_eq!(cells[5..7], [json!("10.0.0.5"), json!("n1")]);
    }

    #[test]
    fn node_row_status_and_roles() {
        let node = json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}});
        let cells = check(&NODE, "Node", node);
        assert_eq!(
            cells[1..3],
            [json!("Ready,SchedulingDisabled"), json!("control-plane")]
        );
        assert_eq!(cells[5..7], [json!("10.0.0.1"), json!("<none>")]);
    }

    #[test]
    fn workload_rows() {
        let dep = json!({"metadata": {"name": "d"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "w"}},
            "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}, "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        let cells = check(&DEPLOYMENT, "Deployment", dep.clone());
        assert_eq!(cells[1..4], [json!("2/3"), json!(3), json!(2)]);
        assert_eq!(cells[5..8], [json!("c"), json!("nginx"), json!("app=w")]);
        assert_eq!(check(&REPLICA_SET, "ReplicaSet", dep.clone())[1], json!(3));
        assert_eq!(check(&STATEFUL_SET, "StatefulSet", dep)[1], json!("2/3"));
        let ds = json!({"spec": {"template": {"spec": {"nodeSelector": {"os": "linux"}}}}, "status": {"desiredNumberScheduled": 4}});
        let cells = check(&DAEMON_SET, "DaemonSet", ds);
        assert_eq!(
            (cells[1].clone(), cells[6].clone()),
            (json!(4), json!("os=linux"))
        );
    }

    #[test]
    fn storage_rows() {
        let pvc = json!({"metadata": {"name": "c"}, "spec": {"volumeName": "pv1", "storageClassName": "gp3"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}});
        let cells = check(&PERSISTENT_VOLUME_CLAIM, "PersistentVolumeClaim", pvc);
        assert_eq!(
            cells[1..7],
            [
                json!("Bound"),
                json!("pv1"),
                json!("1Gi"),
                json!("RWO"),
                json!("gp3"),
                json!("<unset>")
            ]
        );
        let pv = json!({"spec": {"claimRef": {"namespace": "d", "name": "c"}, "accessModes": ["ReadWriteMany"]}});
        let cells = check(&PERSISTENT_VOLUME, "PersistentVolume", pv);
        assert_eq!(
            (cells[2].clone(), cells[5].clone()),
            (json!("RWX"), json!("d/c"))
        );
        let sc = json!({"metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "ebs.csi.aws.com"});
        assert_eq!(
            check(&STORAGE_CLASS, "StorageClass", sc)[0],
            json!("gp3 (default)")
        );
        let csi = json!({"spec": {"tokenRequests": [{"audience": "sts"}]}});
        let cells = check(&CSI_DRIVER, "CSIDriver", csi);
        assert_eq!(
            (cells[1].clone(), cells[4].clone()),
            (json!(true), json!("sts"))
        );
    }

    #[test]
    fn network_and_config_rows() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "1.1.1.1"}, {"ip": "2.2.2.2"}], "ports": [{"port": 80}, {"port": 443}]}]});
        assert_eq!(
            check(&ENDPOINTS, "Endpoints", ep)[1],
            json!("1.1.1.1:80,1.1.1.1:443,2.2.2.2:80 + 1 more...")
        );
        let ing = json!({"spec": {"ingressClassName": "alb", "rules": [{"host": "a.example"}], "tls": [{}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "lb.aws"}]}}});
        let cells = check(&INGRESS, "Ingress", ing);
        assert_eq!(
            cells[1..5],
            [
                json!("alb"),
                json!("a.example"),
                json!("lb.aws"),
                json!("80, 443")
            ]
        );
        assert_eq!(
            check(
                &INGRESS_CLASS,
                "IngressClass",
                json!({"spec": {"controller": "x"}})
            )[2],
            json!("<none>")
        );
        let cm = json!({"data": {"a": "1"}, "binaryData": {"b": ""}});
        assert_eq!(check(&CONFIG_MAP, "ConfigMap", cm)[1], json!(2));
        let sec = json!({"type": "Opaque", "data": {"a": "", "b": ""}});
        assert_eq!(
            check(&SECRET, "Secret", sec)[1..3],
            [json!("Opaque"), json!(2)]
        );
        assert_eq!(
            check(&SERVICE_ACCOUNT, "ServiceAccount", json!({"secrets": [{}]}))[1],
            json!(1)
        );
        assert_eq!(
            check(&LEASE, "Lease", json!({"spec": {"holderIdentity": "me"}}))[1],
            json!("me")
        );
        assert_eq!(
            check(
                &NAMESPACE,
                "Namespace",
                json!({"status": {"phase": "Active"}})
            )[1],
            json!("Active")
        );
    }

    #[test]
    fn event_and_crd_rows() {
        let ev = json!({"metadata": {"name": "e"}, "type": "Warning", "reason": "BackOff", "message": "m", "count": 3,
            "involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "kubelet"}});
        let cells = check(&EVENT, "Event", ev);
        assert_eq!(
            cells[1..7],
            [
                json!("Warning"),
                json!("BackOff"),
                json!("pod/p"),
                json!(""),
                json!("kubelet"),
                json!("m")
            ]
        );
        assert_eq!(cells[8], json!("3"));
        let crd = json!({"metadata": {"name": "w.example.com", "creationTimestamp": "2024-01-01T00:00:00Z"}});
        assert_eq!(
            check(&CUSTOM_RESOURCE_DEFINITION, "CustomResourceDefinition", crd)[1],
            json!("2024-01-01T00:00:00Z")
        );
    }
}
