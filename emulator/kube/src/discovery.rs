//! API discovery: legacy `APIVersions` / `APIGroupList` / `APIResourceList` documents and the
//! aggregated `apidiscovery.k8s.io/v2` (and v2beta1) `APIGroupDiscoveryList`, which clients
//! select with their Accept header and recognise by the response Content-Type.

use crate::registry::{Registry, ResourceDef};
use serde_json::{json, Value};

/// Content-Type of an aggregated discovery answer (`v2` or `v2beta1`).
pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// Which aggregated discovery version an Accept header asks for, if any (first match wins,
/// as clients list them in preference order).
pub fn wants_aggregated(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        let p = part.replace(' ', "");
        if p.contains("as=APIGroupDiscoveryList") && p.contains("g=apidiscovery.k8s.io") {
            if p.contains("v=v2beta1") {
                return Some("v2beta1");
            }
            if p.contains("v=v2") {
                return Some("v2");
            }
        }
        if p.starts_with("application/json") && !p.contains("as=") {
            return None;
        }
    }
    None
}

/// `/api`.
pub fn api_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]
    })
}

/// `/apis`.
pub fn api_group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, versions)| group_json(&g, &versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn group_json(g: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({
        "name": g,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis/{group}`.
pub fn api_group(reg: &Registry, group: &str) -> Option<Value> {
    reg.groups()
        .into_iter()
        .find(|(g, _)| g == group && !g.is_empty())
        .map(|(g, versions)| {
            let mut v = group_json(&g, &versions);
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            v
        })
}

fn sub_verbs() -> Value {
    json!(["get", "patch", "update"])
}

/// Subresources other than status and scale, in name order, from the kind's strategy:
/// (name, group, version, kind, verbs).
fn extra_subresources(d: &ResourceDef) -> Vec<(&'static str, String, String, String, Value)> {
    let mut out: Vec<_> = crate::kinds::strategy::for_kind(d)
        .subresources()
        .iter()
        .map(|(name, sub)| {
            let (g, v, kind, verbs) = sub.discovery();
            match kind {
                Some(k) => (
                    *name,
                    g.to_string(),
                    v.to_string(),
                    k.to_string(),
                    json!(verbs),
                ),
                None => (
                    *name,
                    d.group.clone(),
                    d.version.clone(),
                    d.kind.clone(),
                    json!(verbs),
                ),
            }
        })
        .collect();
    out.sort_by_key(|s| s.0);
    out
}

/// `/api/v1` or `/apis/{group}/{version}`.
pub fn api_resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs = reg.resources_of(group, version);
    if defs.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut resources = Vec::new();
    for d in &defs {
        let mut r = json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced,
            "kind": d.kind,
            "verbs": d.verbs,
        });
        if !d.short_names.is_empty() {
            r["shortNames"] = json!(d.short_names);
        }
        if !d.categories.is_empty() {
            r["categories"] = json!(d.categories);
        }
        resources.push(r);
        if d.status {
            resources.push(json!({"name": format!("{}/status", d.plural), "singularName": "", "namespaced": d.namespaced, "kind": d.kind, "verbs": sub_verbs()}));
        }
        if d.scale.is_some() {
            resources.push(json!({"name": format!("{}/scale", d.plural), "singularName": "", "namespaced": d.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": sub_verbs()}));
        }
        for (sub, g, v, kind, verbs) in extra_subresources(d) {
            let mut r = json!({"name": format!("{}/{sub}", d.plural), "singularName": "", "namespaced": d.namespaced, "kind": kind, "verbs": verbs});
            if g != d.group {
                r["group"] = json!(g);
                r["version"] = json!(v);
            }
            resources.push(r);
        }
    }
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn discovery_resource(d: &ResourceDef) -> Value {
    let mut r = json!({
        "resource": d.plural,
        "responseKind": {"group": d.group, "version": d.version, "kind": d.kind},
        "scope": if d.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": d.singular,
        "verbs": d.verbs,
    });
    if !d.short_names.is_empty() {
        r["shortNames"] = json!(d.short_names);
    }
    if !d.categories.is_empty() {
        r["categories"] = json!(d.categories);
    }
    let mut subs = Vec::new();
    if d.status {
        subs.push(json!({"subresource": "status", "responseKind": {"group": d.group, "version": d.version, "kind": d.kind}, "verbs": sub_verbs()}));
    }
    if d.scale.is_some() {
        subs.push(json!({"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": sub_verbs()}));
    }
    for (sub, g, v, kind, verbs) in extra_subresources(d) {
        subs.push(json!({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": kind}, "verbs": verbs}));
    }
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

/// Aggregated discovery of `/api` (core = true) or `/apis`.
pub fn aggregated(reg: &Registry, core: bool, version: &str) -> Value {
    let items: Vec<Value> = reg
        .groups()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, versions)| {
            let vs: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = reg
                        .resources_of(&g, v)
                        .iter()
                        .map(|d| discovery_resource(d))
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let meta = if g.is_empty() {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": g, "creationTimestamp": null})
            };
            json!({"metadata": meta, "versions": vs})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let a = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(wants_aggregated(a), Some("v2"));
        assert_eq!(wants_aggregated("application/json"), None);
        let reg = Registry::builtin();
        let agg = aggregated(&reg, false, "v2");
        let names: Vec<&str> = agg["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["metadata"]["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert!(names.contains(&"apps") && names.contains(&"extensions"));
        assert!(api_resource_list(&reg, "apps", "v1").is_some());
    }

    #[test]
    fn subresources_come_from_the_kinds_strategies() {
        let reg = Registry::builtin();
        let core = api_resource_list(&reg, "", "v1").unwrap_or_default();
        let find = |name: &str| {
            core["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["name"] == name)
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(find("pods/eviction")["group"], "policy");
        assert_eq!(find("pods/eviction")["kind"], "Eviction");
        assert_eq!(find("pods/log")["kind"], "Pod");
        assert_eq!(find("pods/log")["verbs"], json!(["get"]));
        assert_eq!(find("pods/exec")["kind"], "PodExecOptions");
        assert!(find("pods/binding").get("group").is_none());
        assert_eq!(
            find("serviceaccounts/token")["group"],
            "authentication.k8s.io"
        );
        let certs = api_resource_list(&reg, "certificates.k8s.io", "v1").unwrap_or_default();
        assert!(certs["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["name"] == "certificatesigningrequests/approval"
                && r["verbs"] == json!(["get", "patch", "update"])));
        let agg = aggregated(&reg, true, "v2");
        let pods = &agg["items"][0]["versions"][0]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["resource"] == "pods")
            .cloned()
            .unwrap_or_default();
        let subs: Vec<&str> = pods["subresources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["subresource"].as_str())
            .collect();
        assert_eq!(
            subs,
            [
                "status",
                "attach",
                "binding",
                "ephemeralcontainers",
                "eviction",
                "exec",
                "log",
                "portforward"
            ]
        );
    }
}
