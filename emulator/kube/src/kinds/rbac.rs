//! RBAC: the bootstrap policy kube-apiserver writes at start (default ClusterRoles and
//! ClusterRoleBindings, the `kube-system`/`kube-public` Roles and RoleBindings, the two system PriorityClasses), ClusterRole aggregation (what the
//! clusterrole-aggregation controller does) and the RBAC authorizer that answers access reviews.
//!
//! Upstream: kubernetes/kubernetes@v1.32
//! `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go` (roles and bindings),
//! `namespace_policy.go` (the `kube-` namespaces' roles),
//! `plugin/pkg/auth/authorizer/rbac/rbac.go` and `pkg/apis/rbac/v1/evaluation_helpers.go`
//! (rule matching), `pkg/controller/clusterroleaggregation`, `pkg/apis/scheduling/types.go`
//! (system priority classes).
//!
//! The controller roles (`system:controller:*`) are in [`super::controller_roles`].
//!
//! Not modelled: the node authorizer, escalation
//! checks on role writes (`bind`/`escalate` verbs) and impersonation.

use serde_json::{json, Value};

/// The user behind the kubeconfig: kube-apiserver's admin identity.
pub const ADMIN_USER: &str = "kubernetes-admin";

/// The groups of [`ADMIN_USER`].
pub const ADMIN_GROUPS: &[&str] = &["system:masters", "system:authenticated"];

/// A request's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// `system:serviceaccount:ns:name` or a user name.
    pub name: String,
    /// uid (service accounts).
    pub uid: String,
    /// Groups, `system:authenticated` included.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The kubeconfig's cluster-admin user.
    pub fn admin() -> UserInfo {
        UserInfo {
            name: ADMIN_USER.into(),
            uid: String::new(),
            groups: ADMIN_GROUPS.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Whether this is the kubeconfig's cluster-admin user (no allocation, for the hot path).
    pub fn is_admin(&self) -> bool {
        self.name == ADMIN_USER
            && self.groups.len() == ADMIN_GROUPS.len()
            && self.groups.iter().zip(ADMIN_GROUPS).all(|(a, b)| a == b)
    }

    /// A service account's user and groups.
    pub fn service_account(ns: &str, name: &str, uid: &str) -> UserInfo {
        UserInfo {
            name: format!("system:serviceaccount:{ns}:{name}"),
            uid: uid.into(),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{ns}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// The `userInfo` object of reviews.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"username": self.name, "groups": self.groups});
        if !self.uid.is_empty() {
            v["uid"] = json!(self.uid);
        }
        v
    }
}

/// What a request asks to do.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// Verb (`get`, `list`, `create`, ...).
    pub verb: String,
    /// API group.
    pub group: String,
    /// Resource plural.
    pub resource: String,
    /// Subresource.
    pub subresource: String,
    /// Object name.
    pub name: String,
    /// Namespace ("" for cluster scope).
    pub namespace: String,
    /// Non-resource URL (`/healthz`), when not a resource request.
    pub path: Option<String>,
}

const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const READ: &[&str] = &["get", "list", "watch"];

/// `v[a][b]` as a string ("" when missing) — `Value::pointer` unescapes every token with two
/// `replace` calls, which the authorizer paid for every binding of every request.
fn str2<'v>(v: &'v Value, a: &str, b: &str) -> &'v str {
    v.get(a)
        .and_then(|x| x.get(b))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn meta(name: &str, extra_labels: &[(&str, &str)]) -> Value {
    let mut labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    for (k, v) in extra_labels {
        labels[*k] = json!(v);
    }
    json!({"name": name, "labels": labels,
           "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}})
}

/// The default ClusterRoles (admin, edit and view carry aggregation rules; their rules are
/// filled in by [`aggregate`]).
pub fn bootstrap_cluster_roles() -> Vec<Value> {
    let view = vec![
        rule(
            &[""],
            &[
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
            ],
            READ,
        ),
        rule(
            &[""],
            &[
                "bindings",
                "events",
                "limitranges",
                "namespaces/status",
                "pods/log",
                "pods/status",
                "replicationcontrollers/status",
                "resourcequotas",
                "resourcequotas/status",
            ],
            READ,
        ),
        rule(&[""], &["namespaces"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(
            &["apps"],
            &[
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            READ,
        ),
        rule(
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
            READ,
        ),
        rule(
            &["batch"],
            &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
            READ,
        ),
        rule(
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
            READ,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "ingresses/status", "networkpolicies"],
            READ,
        ),
    ];
    let edit = vec![
        rule(
            &[""],
            &[
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "secrets",
                "services/proxy",
            ],
            READ,
        ),
        rule(&[""], &["serviceaccounts"], &["impersonate"]),
        rule(
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
            ],
            WRITE,
        ),
        rule(&[""], &["pods/eviction"], &["create"]),
        rule(
            &[""],
            &[
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            WRITE,
        ),
        rule(&[""], &["serviceaccounts/token"], &["create"]),
        rule(
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            WRITE,
        ),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
        rule(&["batch"], &["cronjobs", "jobs"], WRITE),
        rule(&["policy"], &["poddisruptionbudgets"], WRITE),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            WRITE,
        ),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
        ),
    ];
    let admin = vec![
        rule(
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews"],
            &["create"],
        ),
        rule(
            &["rbac.authorization.k8s.io"],
            &["rolebindings", "roles"],
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
        ),
    ];
    let agg = |to: &str| json!({"clusterRoleSelectors": [{"matchLabels": {format!("rbac.authorization.k8s.io/aggregate-to-{to}"): "true"}}]});
    let mut out = vec![
        json!({"metadata": meta("cluster-admin", &[]), "rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]}),
        json!({"metadata": meta("admin", &[]), "aggregationRule": agg("admin"), "rules": []}),
        json!({"metadata": meta("edit", &[("rbac.authorization.k8s.io/aggregate-to-admin", "true")]),
               "aggregationRule": agg("edit"), "rules": []}),
        json!({"metadata": meta("view", &[("rbac.authorization.k8s.io/aggregate-to-edit", "true")]),
               "aggregationRule": agg("view"), "rules": []}),
        json!({"metadata": meta("system:aggregate-to-admin", &[("rbac.authorization.k8s.io/aggregate-to-admin", "true")]), "rules": admin}),
        json!({"metadata": meta("system:aggregate-to-edit", &[("rbac.authorization.k8s.io/aggregate-to-edit", "true")]), "rules": edit}),
        json!({"metadata": meta("system:aggregate-to-view", &[("rbac.authorization.k8s.io/aggregate-to-view", "true")]), "rules": view}),
        json!({"metadata": meta("system:discovery", &[]), "rules": [
            {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}]}),
        json!({"metadata": meta("system:basic-user", &[]), "rules": [
            rule(&["authorization.k8s.io"], &["selfsubjectaccessreviews", "selfsubjectrulesreviews"], &["create"]),
            rule(&["authentication.k8s.io"], &["selfsubjectreviews"], &["create"])]}),
        json!({"metadata": meta("system:public-info-viewer", &[]), "rules": [
            {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]}),
        json!({"metadata": meta("system:monitoring", &[]), "rules": [
            {"nonResourceURLs": ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"], "verbs": ["get"]}]}),
        json!({"metadata": meta("system:auth-delegator", &[]), "rules": [
            rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            rule(&["authorization.k8s.io"], &["subjectaccessreviews"], &["create"])]}),
        json!({"metadata": meta("system:kube-scheduler", &[]), "rules": [
            rule(&["", "events.k8s.io"], &["events"], &["create", "patch", "update"]),
            rule(&["coordination.k8s.io"], &["leases"], &["create", "get", "update"]),
            rule(&[""], &["nodes", "pods", "namespaces", "persistentvolumeclaims", "persistentvolumes", "replicationcontrollers", "services"], READ),
            rule(&[""], &["pods"], &["delete"]),
            rule(&[""], &["bindings", "pods/binding"], &["create"]),
            rule(&[""], &["pods/status"], &["patch", "update"]),
            rule(&["apps"], &["replicasets", "statefulsets"], READ),
            rule(&["policy"], &["poddisruptionbudgets"], READ),
            rule(&["storage.k8s.io"], &["csinodes", "storageclasses", "csidrivers", "csistoragecapacities"], READ)]}),
        json!({"metadata": meta("system:volume-scheduler", &[]), "rules": [
            rule(&[""], &["persistentvolumes"], &["get", "list", "watch", "update", "patch"]),
            rule(&["storage.k8s.io"], &["storageclasses"], READ),
            rule(&[""], &["persistentvolumeclaims"], &["get", "list", "watch", "update", "patch"])]}),
        json!({"metadata": meta("system:node-proxier", &[]), "rules": [
            rule(&[""], &["endpoints", "services"], &["list", "watch"]),
            rule(&[""], &["nodes"], READ),
            rule(&["", "events.k8s.io"], &["events"], &["create", "patch", "update"]),
            rule(&["discovery.k8s.io"], &["endpointslices"], &["list", "watch"])]}),
    ];
    for r in &mut out {
        r["apiVersion"] = json!("rbac.authorization.k8s.io/v1");
        r["kind"] = json!("ClusterRole");
    }
    out.extend(super::controller_roles::cluster_roles());
    out
}

/// The default ClusterRoleBindings.
pub fn bootstrap_cluster_role_bindings() -> Vec<Value> {
    let b = |name: &str, kind: &str, subject: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": meta(name, &[]),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}]})
    };
    let mut public = b("system:public-info-viewer", "Group", "system:authenticated");
    if let Some(a) = public["subjects"].as_array_mut() {
        a.push(json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:unauthenticated"}));
    }
    let mut out = vec![
        b("cluster-admin", "Group", "system:masters"),
        b("system:basic-user", "Group", "system:authenticated"),
        b("system:discovery", "Group", "system:authenticated"),
        b("system:monitoring", "Group", "system:monitoring"),
        public,
        b("system:kube-scheduler", "User", "system:kube-scheduler"),
        b("system:node-proxier", "User", "system:kube-proxy"),
        b("system:volume-scheduler", "User", "system:kube-scheduler"),
    ];
    out.extend(super::controller_roles::cluster_role_bindings());
    out
}

/// `eventsRule()` of the bootstrap policy: create, update and patch Events in both groups.
fn events_rule() -> Value {
    rule(
        &["", "events.k8s.io"],
        &["events"],
        &["create", "update", "patch"],
    )
}

/// A rule limited to `names` (`resourceNames`).
fn named_rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> Value {
    let mut r = rule(groups, resources, verbs);
    r["resourceNames"] = json!(names);
    r
}

/// The default Roles of the `kube-` namespaces (`namespace_policy.go`): the delegated
/// authentication reader, the leader-locking roles of kube-controller-manager and
/// kube-scheduler, and the bootstrap-signer, cloud-provider and token-cleaner roles.
pub fn bootstrap_roles() -> Vec<Value> {
    let sa = "system:controller:";
    let mut out = [
        (
            "kube-system",
            json!({"metadata": meta("extension-apiserver-authentication-reader", &[]), "rules": [
            named_rule(&[""], &["configmaps"], READ, &["extension-apiserver-authentication"])]}),
        ),
        (
            "kube-system",
            json!({"metadata": meta(&format!("{sa}bootstrap-signer"), &[]), "rules": [
            rule(&[""], &["secrets"], READ)]}),
        ),
        (
            "kube-system",
            json!({"metadata": meta(&format!("{sa}cloud-provider"), &[]), "rules": [
            rule(&[""], &["configmaps"], &["create", "get", "list", "watch"])]}),
        ),
        (
            "kube-system",
            json!({"metadata": meta(&format!("{sa}token-cleaner"), &[]), "rules": [
            rule(&[""], &["secrets"], &["get", "list", "watch", "delete"]), events_rule()]}),
        ),
        (
            "kube-system",
            json!({"metadata": meta("system::leader-locking-kube-controller-manager", &[]), "rules": [
            rule(&[""], &["configmaps"], &["watch"]),
            named_rule(&[""], &["configmaps"], &["get", "update"], &["kube-controller-manager"]),
            rule(&["coordination.k8s.io"], &["leases"], &["get", "watch", "list", "create", "update"])]}),
        ),
        (
            "kube-system",
            json!({"metadata": meta("system::leader-locking-kube-scheduler", &[]), "rules": [
            rule(&[""], &["configmaps"], &["watch"]),
            named_rule(&[""], &["configmaps"], &["get", "update"], &["kube-scheduler"])]}),
        ),
        (
            "kube-public",
            json!({"metadata": meta(&format!("{sa}bootstrap-signer"), &[]), "rules": [
            rule(&[""], &["configmaps"], READ),
            named_rule(&[""], &["configmaps"], &["update"], &["cluster-info"]),
            events_rule()]}),
        ),
    ];
    out.iter_mut()
        .map(|(ns, r)| {
            r["apiVersion"] = json!("rbac.authorization.k8s.io/v1");
            r["kind"] = json!("Role");
            r["metadata"]["namespace"] = json!(ns);
            r.take()
        })
        .collect()
}

/// The default RoleBindings of the `kube-` namespaces, for [`bootstrap_roles`].
pub fn bootstrap_role_bindings() -> Vec<Value> {
    const G: &str = "rbac.authorization.k8s.io";
    let user = |n: &str| json!({"apiGroup": G, "kind": "User", "name": n});
    let sa = |n: &str| json!({"kind": "ServiceAccount", "name": n, "namespace": "kube-system"});
    let b = |ns: &str, name: &str, role: &str, subjects: Vec<Value>| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"namespace": ns, "name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
               "roleRef": {"apiGroup": G, "kind": "Role", "name": role},
               "subjects": subjects})
    };
    let lock_kcm = "system::leader-locking-kube-controller-manager";
    let lock_sched = "system::leader-locking-kube-scheduler";
    vec![
        b(
            "kube-system",
            "system::extension-apiserver-authentication-reader",
            "extension-apiserver-authentication-reader",
            vec![
                user("system:kube-controller-manager"),
                user("system:kube-scheduler"),
            ],
        ),
        b(
            "kube-system",
            lock_kcm,
            lock_kcm,
            vec![
                user("system:kube-controller-manager"),
                sa("kube-controller-manager"),
                sa("leader-election-controller"),
            ],
        ),
        b(
            "kube-system",
            lock_sched,
            lock_sched,
            vec![user("system:kube-scheduler"), sa("kube-scheduler")],
        ),
        b(
            "kube-system",
            "system:controller:bootstrap-signer",
            "system:controller:bootstrap-signer",
            vec![sa("bootstrap-signer")],
        ),
        b(
            "kube-system",
            "system:controller:cloud-provider",
            "system:controller:cloud-provider",
            vec![sa("cloud-provider")],
        ),
        b(
            "kube-system",
            "system:controller:token-cleaner",
            "system:controller:token-cleaner",
            vec![sa("token-cleaner")],
        ),
        b(
            "kube-public",
            "system:controller:bootstrap-signer",
            "system:controller:bootstrap-signer",
            vec![sa("bootstrap-signer")],
        ),
    ]
}

/// Whether a PriorityClass name is one of the two system classes.
pub fn is_system_priority_class(name: &str) -> bool {
    matches!(name, "system-node-critical" | "system-cluster-critical")
}

/// The two system PriorityClasses.
pub fn bootstrap_priority_classes() -> Vec<Value> {
    [
        ("system-node-critical", 2_000_001_000i64, "Used for system critical pods that must not be moved from their current node."),
        ("system-cluster-critical", 2_000_000_000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
    ]
    .into_iter()
    .map(|(name, value, desc)| {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
               "metadata": {"name": name}, "value": value, "globalDefault": false,
               "description": desc, "preemptionPolicy": "PreemptLowerPriority"})
    })
    .collect()
}

/// Rules an aggregated ClusterRole gets: the union (in name order, without duplicates) of the
/// rules of every ClusterRole its selectors match. `None` when the role is not aggregated.
pub fn aggregate(role: &Value, all: &[&Value]) -> Option<Vec<Value>> {
    let selectors = role
        .get("aggregationRule")?
        .get("clusterRoleSelectors")?
        .as_array()?;
    let name = Some(str2(role, "metadata", "name")).filter(|n| !n.is_empty());
    let mut rules: Vec<Value> = Vec::new();
    for other in all {
        if Some(str2(other, "metadata", "name")).filter(|n| !n.is_empty()) == name {
            continue;
        }
        let matched = selectors
            .iter()
            .any(|s| crate::selectors::LabelSelector::from_object(s).matches(other));
        if !matched {
            continue;
        }
        for r in other
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !rules.contains(r) {
                rules.push(r.clone());
            }
        }
    }
    Some(rules)
}

fn has(list: Option<&Value>, want: &str) -> bool {
    list.and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "*" || v == want))
}

/// Whether one PolicyRule allows the request.
pub fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !has(rule.get("verbs"), &a.verb) {
        return false;
    }
    if let Some(path) = &a.path {
        return rule
            .get("nonResourceURLs")
            .and_then(Value::as_array)
            .is_some_and(|urls| {
                urls.iter().filter_map(Value::as_str).any(|u| {
                    u == "*"
                        || u == path
                        || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
                })
            });
    }
    if !has(rule.get("apiGroups"), &a.group) {
        return false;
    }
    // `res`, `res/sub`, `*`, `*/sub`, `res/*`, compared piecewise (no allocation: this runs for
    // every rule of every authorized request).
    let resources_ok = rule
        .get("resources")
        .and_then(Value::as_array)
        .is_some_and(|rs| {
            rs.iter().filter_map(Value::as_str).any(|r| {
                if r == "*" {
                    return true;
                }
                match r.split_once('/') {
                    None => a.subresource.is_empty() && r == a.resource,
                    Some((res, sub)) => {
                        !a.subresource.is_empty()
                            && (res == a.resource || res == "*")
                            && (sub == a.subresource || (sub == "*" && res == a.resource))
                    }
                }
            })
        });
    if !resources_ok {
        return false;
    }
    match rule.get("resourceNames").and_then(Value::as_array) {
        Some(names) if !names.is_empty() => names.iter().any(|n| n == a.name.as_str()),
        _ => true,
    }
}

fn subject_matches(s: &Value, user: &UserInfo, binding_ns: &str) -> bool {
    let name = s.get("name").and_then(Value::as_str).unwrap_or("");
    match s.get("kind").and_then(Value::as_str) {
        Some("User") => name == user.name,
        Some("Group") => user.groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let ns = s
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            user.name
                .strip_prefix("system:serviceaccount:")
                .and_then(|rest| rest.split_once(':'))
                == Some((ns, name))
        }
        _ => false,
    }
}

/// The RBAC objects an authorization decision reads.
pub struct Policy<'a> {
    /// Every ClusterRole.
    pub cluster_roles: Vec<&'a Value>,
    /// Every ClusterRoleBinding.
    pub cluster_role_bindings: Vec<&'a Value>,
    /// Roles of the request's namespace.
    pub roles: Vec<&'a Value>,
    /// RoleBindings of the request's namespace.
    pub role_bindings: Vec<&'a Value>,
}

/// One binding that applies to a user: the binding, its kind, the subject that matched and
/// the role it grants.
struct Grant<'a> {
    binding: &'a Value,
    binding_kind: &'static str,
    subject: &'a Value,
    role_kind: &'a str,
    role_name: &'a str,
    role: &'a Value,
}

impl Grant<'_> {
    fn rules(&self) -> impl Iterator<Item = &Value> {
        self.role
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    /// The text upstream gives as the `allowed by` reason.
    fn reason(&self) -> String {
        let b = self.binding;
        let bns = str2(b, "metadata", "namespace");
        let bname = str2(b, "metadata", "name");
        let skind = self
            .subject
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        let sname = self
            .subject
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let who = if skind == "ServiceAccount" {
            let sns = self
                .subject
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(bns);
            format!("{skind} \"{sns}/{sname}\"")
        } else {
            format!("{skind} \"{sname}\"")
        };
        let binding = if self.binding_kind == "RoleBinding" {
            format!("RoleBinding \"{bname}/{bns}\"")
        } else {
            format!("ClusterRoleBinding \"{bname}\"")
        };
        format!(
            "RBAC: allowed by {binding} of {} \"{}\" to {who}",
            self.role_kind, self.role_name
        )
    }
}

impl<'a> Policy<'a> {
    fn role(&self, kind: &str, name: &str) -> Option<&'a Value> {
        let list = if kind == "ClusterRole" {
            &self.cluster_roles
        } else {
            &self.roles
        };
        list.iter()
            .find(|r| str2(r, "metadata", "name") == name)
            .copied()
    }

    /// The bindings that apply to `user` (cluster-wide ones, then those of the namespace), by
    /// reference.
    fn grants<'p>(
        &'p self,
        user: &'p UserInfo,
        with_namespace: bool,
    ) -> impl Iterator<Item = Grant<'a>> + 'p {
        let bindings = self
            .cluster_role_bindings
            .iter()
            .map(|b| (*b, "ClusterRoleBinding"));
        let ns_bindings = self
            .role_bindings
            .iter()
            .filter(move |_| with_namespace)
            .map(|b| (*b, "RoleBinding"));
        bindings.chain(ns_bindings).filter_map(move |(b, bkind)| {
            let bns = str2(b, "metadata", "namespace");
            let subject = b
                .get("subjects")
                .and_then(Value::as_array)
                .and_then(|ss| ss.iter().find(|s| subject_matches(s, user, bns)))?;
            let role_kind = str2(b, "roleRef", "kind");
            let role_name = str2(b, "roleRef", "name");
            let role = self.role(role_kind, role_name)?;
            Some(Grant {
                binding: b,
                binding_kind: bkind,
                subject,
                role_kind,
                role_name,
                role,
            })
        })
    }

    /// The rules granted to `user` (cluster-wide ones, then those of the namespace), each with
    /// the text upstream uses as the `allowed by` reason.
    pub fn rules_for(&self, user: &UserInfo, with_namespace: bool) -> Vec<(Value, String)> {
        let mut out = Vec::new();
        for g in self.grants(user, with_namespace) {
            let reason = g.reason();
            for r in g.rules() {
                out.push((r.clone(), reason.clone()));
            }
        }
        out
    }

    /// The authorizer's decision: `Some(reason)` when allowed.
    pub fn authorize(&self, user: &UserInfo, a: &Attributes) -> Option<String> {
        self.grants(user, !a.namespace.is_empty())
            .find(|g| g.rules().any(|r| rule_allows(r, a)))
            .map(|g| g.reason())
    }

    /// Whether the request is allowed (the request path's check: nothing is cloned or
    /// formatted).
    pub fn allows(&self, user: &UserInfo, a: &Attributes) -> bool {
        self.grants(user, !a.namespace.is_empty())
            .any(|g| g.rules().any(|r| rule_allows(r, a)))
    }
}

/// Upstream's 403 text for a denied request: `pods is forbidden: User "u" cannot list resource
/// "pods" in API group "" in the namespace "default"`.
pub fn forbidden_message(user: &UserInfo, a: &Attributes) -> String {
    if let Some(path) = &a.path {
        return format!(
            "forbidden: User \"{}\" cannot {} path \"{path}\"",
            user.name, a.verb
        );
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let qualified = if a.group.is_empty() {
        a.resource.clone()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    let subject = if a.name.is_empty() {
        format!("{qualified} is forbidden")
    } else {
        format!("{qualified} \"{}\" is forbidden", a.name)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    format!(
        "{subject}: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
        user.name, a.verb, a.group
    )
}
