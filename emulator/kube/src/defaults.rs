//! Defaulting of built-in kinds, as kube-apiserver's `SetDefaults_*` functions, the declarative
//! `+default` markers of k8s.io/api and the admission plugins it enables by default
//! (ServiceAccount, DefaultTolerationSeconds, Priority) do.
//!
//! Upstream: kubernetes v1.32, pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go,
//! pkg/apis/batch/v1/defaults.go, pkg/apis/rbac/v1/defaults.go, pkg/apis/storage/v1/defaults.go,
//! pkg/apis/discovery/v1/defaults.go and their generated `zz_generated.defaults.go` (which apply
//! the same container/volume/probe defaults inside every pod template).
//!
//! Covered: Pod spec (restartPolicy, dnsPolicy, terminationGracePeriodSeconds, schedulerName,
//! securityContext, enableServiceLinks, priority, service account, default tolerations),
//! containers, init and ephemeral containers (imagePullPolicy by image tag, termination message,
//! port protocol, probes' timeout/period/thresholds, httpGet path and scheme, gRPC service,
//! lifecycle handlers, `fieldRef.apiVersion`), requests from limits and host-network host ports
//! (Pods only, not templates), volumes (no source ⇒ `emptyDir: {}`, file modes 420, projected
//! token expiry 3600 s, hostPath type, iSCSI/RBD/Azure Disk/ScaleIO markers, ephemeral claim
//! volume mode), Service (type, sessionAffinity and its ClientIP timeout 10800 s, targetPort,
//! traffic policies, ipFamilies), Endpoints and EndpointSlice ports, Node allocatable from
//! capacity, workloads (replicas, strategies, revisionHistoryLimit, progressDeadlineSeconds,
//! StatefulSet claim templates), volumes and claims, storage classes, CSIDriver, RBAC bindings'
//! apiGroups, namespaces and secrets (`stringData` folded into `data`); other kinds in
//! [`crate::kinds::strategy::default`].
//!
//! Not modelled: rounding of resource quantities to milli scale (`SetDefaults_ResourceList`),
//! alpha features' defaults (pod-level resources, image volumes' pull policy).

use serde_json::{json, Map, Value};

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let m = v.as_object_mut()?;
    let e = m.entry(key.to_string()).or_insert_with(|| json!({}));
    if e.is_null() {
        *e = json!({});
    }
    e.as_object_mut()
}

pub(crate) fn set_default(m: &mut Map<String, Value>, key: &str, v: Value) {
    match m.get(key) {
        None | Some(Value::Null) => {
            m.insert(key.to_string(), v);
        }
        Some(_) => {}
    }
}

/// Applies defaults to a stored-form built-in object (after the typed round trip).
pub fn apply(group: &str, kind: &str, obj: &mut Value) {
    match (group, kind) {
        ("", "Pod") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                pod_spec(spec, true);
            }
        }
        ("", "Service") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                service_spec(spec);
            }
        }
        ("apps", "Deployment") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "replicas", json!(1));
                set_default(spec, "revisionHistoryLimit", json!(10));
                set_default(spec, "progressDeadlineSeconds", json!(600));
                let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
                if let Some(s) = strategy.as_object_mut() {
                    set_default(s, "type", json!("RollingUpdate"));
                    if s.get("type") == Some(&json!("RollingUpdate")) {
                        let ru = s.entry("rollingUpdate").or_insert_with(|| json!({}));
                        if let Some(ru) = ru.as_object_mut() {
                            set_default(ru, "maxSurge", json!("25%"));
                            set_default(ru, "maxUnavailable", json!("25%"));
                        }
                    }
                }
                template(spec);
            }
        }
        ("apps", "ReplicaSet") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "replicas", json!(1));
                template(spec);
            }
        }
        ("apps", "DaemonSet") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "revisionHistoryLimit", json!(10));
                let us = spec.entry("updateStrategy").or_insert_with(|| json!({}));
                if let Some(s) = us.as_object_mut() {
                    set_default(s, "type", json!("RollingUpdate"));
                    if s.get("type") == Some(&json!("RollingUpdate")) {
                        let ru = s.entry("rollingUpdate").or_insert_with(|| json!({}));
                        if let Some(ru) = ru.as_object_mut() {
                            set_default(ru, "maxUnavailable", json!(1));
                            set_default(ru, "maxSurge", json!(0));
                        }
                    }
                }
                template(spec);
            }
        }
        ("apps", "StatefulSet") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "replicas", json!(1));
                set_default(spec, "podManagementPolicy", json!("OrderedReady"));
                set_default(spec, "revisionHistoryLimit", json!(10));
                set_default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                );
                set_default(
                    spec,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
                template(spec);
                // The claim templates get the PersistentVolumeClaim defaults (spec and status).
                if let Some(ts) = spec
                    .get_mut("volumeClaimTemplates")
                    .and_then(Value::as_array_mut)
                {
                    for t in ts.iter_mut() {
                        if let Some(ts) = obj_mut(t, "spec") {
                            set_default(ts, "volumeMode", json!("Filesystem"));
                        }
                        if let Some(st) = obj_mut(t, "status") {
                            set_default(st, "phase", json!("Pending"));
                        }
                    }
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "volumeMode", json!("Filesystem"));
            }
        }
        ("", "PersistentVolume") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                set_default(spec, "volumeMode", json!("Filesystem"));
                if let Some(h) = spec.get_mut("hostPath").and_then(Value::as_object_mut) {
                    set_default(h, "type", json!(""));
                }
                volume_source_declarative(spec);
            }
        }
        ("", "Endpoints") => {
            if let Some(subsets) = obj.get_mut("subsets").and_then(Value::as_array_mut) {
                for ss in subsets.iter_mut() {
                    if let Some(ports) = ss.get_mut("ports").and_then(Value::as_array_mut) {
                        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                            set_default(p, "protocol", json!("TCP"));
                        }
                    }
                }
            }
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            // discovery/v1 SetDefaults_EndpointPort.
            if let Some(ports) = obj.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    set_default(p, "name", json!(""));
                    set_default(p, "protocol", json!("TCP"));
                }
            }
        }
        ("", "Node") => {
            // SetDefaults_NodeStatus: allocatable is the capacity when not reported.
            if let Some(st) = obj.get_mut("status").and_then(Value::as_object_mut) {
                let unset = st.get("allocatable").is_none_or(Value::is_null);
                if unset {
                    if let Some(cap) = st.get("capacity").filter(|c| c.is_object()).cloned() {
                        st.insert("allocatable".into(), cap);
                    }
                }
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            // rbac/v1 SetDefaults_RoleBinding / SetDefaults_Subject.
            if let Some(rr) = obj.get_mut("roleRef").and_then(Value::as_object_mut) {
                if rr
                    .get("apiGroup")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    rr.insert("apiGroup".into(), json!("rbac.authorization.k8s.io"));
                }
            }
            if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
                for sub in subjects.iter_mut().filter_map(Value::as_object_mut) {
                    let unset = sub
                        .get("apiGroup")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty);
                    let group = match sub.get("kind").and_then(Value::as_str) {
                        Some("User" | "Group") => "rbac.authorization.k8s.io",
                        _ => "",
                    };
                    if unset && !group.is_empty() {
                        sub.insert("apiGroup".into(), json!(group));
                    }
                }
            }
        }
        ("storage.k8s.io", "CSIDriver") => {
            // storage/v1 SetDefaults_CSIDriver.
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "attachRequired", json!(true));
                set_default(spec, "podInfoOnMount", json!(false));
                set_default(spec, "storageCapacity", json!(false));
                set_default(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
                set_default(spec, "volumeLifecycleModes", json!(["Persistent"]));
                set_default(spec, "requiresRepublish", json!(false));
                set_default(spec, "seLinuxMount", json!(false));
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "reclaimPolicy", json!("Delete"));
                set_default(m, "volumeBindingMode", json!("Immediate"));
            }
        }
        ("", "Namespace") => {
            let name = obj
                .get("metadata")
                .and_then(|m| m.get("name"))
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(meta) = obj_mut(obj, "metadata") {
                if let Some(labels) = obj_mut_map(meta, "labels") {
                    labels.insert("kubernetes.io/metadata.name".into(), name);
                }
            }
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "finalizers", json!(["kubernetes"]));
            }
            if let Some(status) = obj_mut(obj, "status") {
                set_default(status, "phase", json!("Active"));
            }
        }
        ("", "Secret") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "type", json!("Opaque"));
                if let Some(Value::Object(sd)) = m.remove("stringData") {
                    let data = m.entry("data").or_insert_with(|| json!({}));
                    if let Some(d) = data.as_object_mut() {
                        for (k, v) in sd {
                            let s = v.as_str().unwrap_or_default();
                            d.insert(k, Value::String(base64(s.as_bytes())));
                        }
                    }
                }
            }
        }
        _ => crate::kinds::strategy::default(group, kind, obj),
    }
}

fn obj_mut_map<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let e = m.entry(key.to_string()).or_insert_with(|| json!({}));
    if e.is_null() {
        *e = json!({});
    }
    e.as_object_mut()
}

pub(crate) fn template(spec: &mut Map<String, Value>) {
    if let Some(t) = spec.get_mut("template").and_then(Value::as_object_mut) {
        if let Some(ps) = obj_mut_map(t, "spec") {
            pod_spec(ps, false);
        }
    }
}

/// `imagePullPolicy` default: `Always` for `:latest` or untagged images, else `IfNotPresent`.
pub fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent";
    }
    match last.split_once(':') {
        None => "Always",
        Some((_, "latest")) => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn pod_spec(spec: &mut Map<String, Value>, is_pod: bool) {
    // SetDefaults_PodSpec (Pods and pod templates alike).
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    if is_pod {
        set_default(spec, "enableServiceLinks", json!(true));
        set_default(spec, "priority", json!(0));
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
        let sa = spec
            .get("serviceAccountName")
            .or_else(|| spec.get("serviceAccount"))
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        spec.insert("serviceAccountName".into(), json!(sa));
        spec.insert("serviceAccount".into(), json!(sa));
        let tols = spec.entry("tolerations").or_insert_with(|| json!([]));
        if let Some(tols) = tols.as_array_mut() {
            for key in [
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable",
            ] {
                let has = tols.iter().any(|t| {
                    t.get("key").and_then(Value::as_str) == Some(key)
                        || (t.get("operator").and_then(Value::as_str) == Some("Exists")
                            && t.get("key").is_none())
                });
                if !has {
                    tols.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
                }
            }
        }
    }
    let host_network = spec.get("hostNetwork") == Some(&Value::Bool(true));
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
                // SetDefaults_Pod only (not templates): requests default to limits, and with
                // host networking every container port is also a host port.
                if is_pod && list != "ephemeralContainers" {
                    requests_from_limits(c);
                    if host_network {
                        host_network_ports(c);
                    }
                }
            }
        }
    }
    if let Some(vs) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in vs.iter_mut().filter_map(Value::as_object_mut) {
            volume(v);
        }
    }
}

/// `SetDefaults_Container` (also ephemeral containers) and the defaults of what a container
/// holds: ports (`protocol: TCP`), probes, lifecycle handlers, `fieldRef.apiVersion`.
fn container(c: &mut Map<String, Value>) {
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    set_default(c, "imagePullPolicy", json!(pull_policy(&image)));
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    set_default(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            // SetDefaults_Probe.
            set_default(p, "timeoutSeconds", json!(1));
            set_default(p, "periodSeconds", json!(10));
            set_default(p, "successThreshold", json!(1));
            set_default(p, "failureThreshold", json!(3));
            handler(p);
            if let Some(g) = p.get_mut("grpc").and_then(Value::as_object_mut) {
                // `GRPCAction.Service` is declared `+default=""`.
                set_default(g, "service", json!(""));
            }
        }
    }
    if let Some(lc) = c.get_mut("lifecycle").and_then(Value::as_object_mut) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = lc.get_mut(hook).and_then(Value::as_object_mut) {
                handler(h);
            }
        }
    }
    if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
        for e in env.iter_mut() {
            if let Some(fr) = e
                .pointer_mut("/valueFrom/fieldRef")
                .and_then(Value::as_object_mut)
            {
                set_default(fr, "apiVersion", json!("v1"));
            }
        }
    }
}

/// `SetDefaults_HTTPGetAction` inside a probe or lifecycle handler.
fn handler(h: &mut Map<String, Value>) {
    if let Some(g) = h.get_mut("httpGet").and_then(Value::as_object_mut) {
        if g.get("path")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            g.insert("path".into(), json!("/"));
        }
        set_default(g, "scheme", json!("HTTP"));
    }
}

/// `SetDefaults_Pod`: a resource with a limit but no request is requested at its limit.
fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(res) = c.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if let Some(req) = obj_mut_map(res, "requests") {
        for (k, v) in limits {
            req.entry(k).or_insert(v);
        }
    }
}

/// `defaultHostNetworkPorts`: with `hostNetwork: true` a container port is also its host port.
fn host_network_ports(c: &mut Map<String, Value>) {
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            let unset = p
                .get("hostPort")
                .is_none_or(|v| v.is_null() || v == &json!(0));
            if unset {
                if let Some(cp) = p.get("containerPort").cloned() {
                    p.insert("hostPort".into(), cp);
                }
            }
        }
    }
}

/// Volume source keys of `v1.VolumeSource`: a volume with none of them is an `emptyDir`.
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `SetDefaults_Volume` and the defaults of the volume sources (file modes 0644, token
/// expiry one hour, host path type, the declarative defaults of iSCSI, RBD, Azure Disk and
/// ScaleIO, and the ephemeral claim template's volume mode).
fn volume(v: &mut Map<String, Value>) {
    let has_source = VOLUME_SOURCES
        .iter()
        .any(|k| v.get(*k).is_some_and(|s| !s.is_null()));
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = v.get_mut(src).and_then(Value::as_object_mut) {
            set_default(s, "defaultMode", json!(420));
            downward_items(s);
        }
    }
    if let Some(sources) = v
        .get_mut("projected")
        .and_then(|p| p.get_mut("sources"))
        .and_then(Value::as_array_mut)
    {
        for s in sources.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(t) = s
                .get_mut("serviceAccountToken")
                .and_then(Value::as_object_mut)
            {
                set_default(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = s.get_mut("downwardAPI").and_then(Value::as_object_mut) {
                downward_items(d);
            }
        }
    }
    if let Some(h) = v.get_mut("hostPath").and_then(Value::as_object_mut) {
        set_default(h, "type", json!(""));
    }
    volume_source_declarative(v);
    if let Some(spec) = v
        .get_mut("ephemeral")
        .and_then(|e| e.pointer_mut("/volumeClaimTemplate/spec"))
        .and_then(Value::as_object_mut)
    {
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
}

/// The `+default` markers of volume sources shared by Pod volumes and PersistentVolumes.
fn volume_source_declarative(v: &mut Map<String, Value>) {
    if let Some(s) = v.get_mut("iscsi").and_then(Value::as_object_mut) {
        set_default(s, "iscsiInterface", json!("default"));
    }
    if let Some(s) = v.get_mut("rbd").and_then(Value::as_object_mut) {
        set_default(s, "pool", json!("rbd"));
        set_default(s, "user", json!("admin"));
        set_default(s, "keyring", json!("/etc/ceph/keyring"));
    }
    if let Some(s) = v.get_mut("azureDisk").and_then(Value::as_object_mut) {
        set_default(s, "cachingMode", json!("ReadWrite"));
        set_default(s, "fsType", json!("ext4"));
        set_default(s, "readOnly", json!(false));
        set_default(s, "kind", json!("Shared"));
    }
    if let Some(s) = v.get_mut("scaleIO").and_then(Value::as_object_mut) {
        set_default(s, "storageMode", json!("ThinProvisioned"));
        set_default(s, "fsType", json!("xfs"));
    }
}

/// `SetDefaults_ObjectFieldSelector` on downward API items.
fn downward_items(s: &mut Map<String, Value>) {
    if let Some(items) = s.get_mut("items").and_then(Value::as_array_mut) {
        for i in items.iter_mut() {
            if let Some(fr) = i.get_mut("fieldRef").and_then(Value::as_object_mut) {
                set_default(fr, "apiVersion", json!("v1"));
            }
        }
    }
}

fn service_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.pointer("/clientIP/timeoutSeconds"))
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if ty != "ExternalName" {
        set_default(spec, "ipFamilies", json!(["IPv4"]));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
            let unset = p
                .get("targetPort")
                .is_none_or(|t| t.is_null() || t == &json!(0) || t == &json!(""));
            if unset {
                if let Some(port) = p.get("port").cloned() {
                    p.insert("targetPort".into(), port);
                }
            }
        }
    }
}

/// Pod status on creation: phase Pending and the QoS class from container resources.
pub fn pod_initial_status(pod: &Value) -> Value {
    let containers: &[Value] = pod
        .get("spec")
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in containers {
        let req = c.get("resources").and_then(|r| r.get("requests"));
        let lim = c.get("resources").and_then(|r| r.get("limits"));
        let has = |v: Option<&Value>| v.and_then(Value::as_object).is_some_and(|m| !m.is_empty());
        if has(req) || has(lim) {
            any = true;
        }
        for r in ["cpu", "memory"] {
            let l = lim.and_then(|l| l.get(r));
            let q = req.and_then(|q| q.get(r)).or(l);
            if l.is_none() || q != l {
                guaranteed = false;
            }
        }
    }
    let qos = if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    };
    json!({"phase": "Pending", "qosClass": qos})
}

/// Standard base64 (with padding), for Secret `stringData`.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_follows_tag() {
        assert_eq!(pull_policy("nginx"), "Always");
        assert_eq!(pull_policy("nginx:latest"), "Always");
        assert_eq!(pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(base64(b"hello"), "aGVsbG8=");
    }
}
