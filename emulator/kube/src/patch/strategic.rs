//! Strategic merge patch for the built-in kinds, with the upstream merge keys
//! (`patchMergeKey`/`patchStrategy` of k8s.io/api): containers, initContainers,
//! ephemeralContainers, volumes, env, imagePullSecrets by `name`; container ports by
//! `containerPort` and Service ports by `port`; volumeMounts by `mountPath`; conditions and node
//! addresses by `type`; ownerReferences by `uid`; finalizers merged as a set. Lists without a
//! merge key (tolerations, args, ...) are replaced. Directives: `$patch: replace|delete|merge`,
//! `$retainKeys`, `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`.

use serde_json::{Map, Value};

/// How a list field is patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStrategy {
    /// Merge elements by this key.
    MergeKey(&'static str),
    /// Union of primitive values.
    MergePrimitive,
    /// Replace the whole list.
    Replace,
}

/// The strategy of list field `field` whose parent path (field names from the root, no
/// indices) is `parents`.
pub fn list_strategy(kind: &str, parents: &[String], field: &str) -> ListStrategy {
    list_strategy_in(
        kind,
        parents.last().map(String::as_str).unwrap_or(""),
        field,
    )
}

/// [`list_strategy`] given only the parent field's name.
pub fn list_strategy_in(kind: &str, parent: &str, field: &str) -> ListStrategy {
    use ListStrategy::*;
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => MergeKey("name"),
        "volumeMounts" => MergeKey("mountPath"),
        "volumeDevices" => MergeKey("devicePath"),
        "hostAliases" | "podIPs" | "hostIPs" => MergeKey("ip"),
        "conditions" => MergeKey("type"),
        "addresses" if parent == "status" && kind == "Node" => MergeKey("type"),
        "ownerReferences" => MergeKey("uid"),
        "finalizers" if parent == "metadata" => MergePrimitive,
        "topologySpreadConstraints" => MergeKey("topologyKey"),
        "ports" => {
            if kind == "Service" && parent == "spec" {
                MergeKey("port")
            } else if matches!(
                parent,
                "containers" | "initContainers" | "ephemeralContainers"
            ) {
                MergeKey("containerPort")
            } else {
                Replace
            }
        }
        _ => Replace,
    }
}

/// Applies a strategic merge patch to `target` (a built-in object of `kind`).
pub fn strategic_patch(kind: &str, target: &mut Value, patch: &Value) {
    let mut parents = Vec::new();
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            if let Some(v) = merge_map(kind, &mut parents, std::mem::take(t), p) {
                *t = v;
            }
        }
        _ => *target = strip(patch),
    }
}

/// Removes `$`-directives from a patch fragment that is inserted as a whole.
pub fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|e| !is_directive_only(e))
                .map(strip)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_directive_only(e: &Value) -> bool {
    e.as_object()
        .is_some_and(|m| !m.is_empty() && m.keys().all(|k| k.starts_with('$')))
}

fn merge_map(
    kind: &str,
    parents: &mut Vec<String>,
    mut orig: Map<String, Value>,
    patch: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => return strip(&Value::Object(patch.clone())).as_object().cloned(),
        Some("delete") => return None,
        _ => {}
    }
    let mut orders: Vec<(String, Vec<Value>)> = Vec::new();
    for (k, pv) in patch {
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            if let Some(a) = pv.as_array() {
                orders.push((field.to_string(), a.clone()));
            }
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(del)) = (orig.get_mut(field), pv.as_array()) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if pv.is_null() {
            orig.remove(k);
            continue;
        }
        match pv {
            Value::Object(pm) => {
                let existing = orig.remove(k);
                let base = match existing {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                parents.push(k.clone());
                let merged = merge_map(kind, parents, base, pm);
                parents.pop();
                if let Some(m) = merged {
                    orig.insert(k.clone(), Value::Object(m));
                }
            }
            Value::Array(pa) => {
                let strategy = list_strategy(kind, parents, k);
                let existing = match orig.remove(k) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                parents.push(k.clone());
                let merged = merge_list(kind, parents, strategy, existing, pa);
                parents.pop();
                orig.insert(k.clone(), Value::Array(merged));
            }
            other => {
                orig.insert(k.clone(), other.clone());
            }
        }
    }
    for (field, order) in orders {
        if let (Some(Value::Array(list)), ListStrategy::MergeKey(key)) =
            (orig.get_mut(&field), list_strategy(kind, parents, &field))
        {
            reorder(list, &order, key);
        }
    }
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        orig.retain(|k, _| keep.contains(&k.as_str()));
    }
    Some(orig)
}

fn reorder(list: &mut Vec<Value>, order: &[Value], key: &str) {
    let mut out = Vec::with_capacity(list.len());
    for o in order {
        if let Some(pos) = list.iter().position(|e| e.get(key) == o.get(key)) {
            out.push(list.remove(pos));
        }
    }
    out.append(list);
    *list = out;
}

fn merge_list(
    kind: &str,
    parents: &mut Vec<String>,
    strategy: ListStrategy,
    mut orig: Vec<Value>,
    patch: &[Value],
) -> Vec<Value> {
    let replace = patch.iter().any(|e| {
        e.get("$patch").and_then(Value::as_str) == Some("replace") && is_directive_only(e)
    });
    match strategy {
        ListStrategy::Replace => patch
            .iter()
            .filter(|e| !is_directive_only(e))
            .map(strip)
            .collect(),
        _ if replace => patch
            .iter()
            .filter(|e| !is_directive_only(e))
            .map(strip)
            .collect(),
        ListStrategy::MergePrimitive => {
            for e in patch {
                if !orig.contains(e) {
                    orig.push(e.clone());
                }
            }
            orig
        }
        ListStrategy::MergeKey(key) => {
            for pe in patch {
                let Some(pm) = pe.as_object() else {
                    if !orig.contains(pe) {
                        orig.push(pe.clone());
                    }
                    continue;
                };
                let kv = pm.get(key);
                let pos = kv.and_then(|kv| orig.iter().position(|e| e.get(key) == Some(kv)));
                if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(kv) = kv {
                        orig.retain(|e| e.get(key) != Some(kv));
                    }
                    continue;
                }
                match pos {
                    Some(i) => {
                        let base = match std::mem::take(&mut orig[i]) {
                            Value::Object(m) => m,
                            _ => Map::new(),
                        };
                        match merge_map(kind, parents, base, pm) {
                            Some(m) => orig[i] = Value::Object(m),
                            None => {
                                orig.remove(i);
                            }
                        }
                    }
                    None => orig.push(strip(pe)),
                }
            }
            orig
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_and_env_by_name() {
        let mut pod = json!({"spec": {"containers": [
            {"name": "a", "image": "x", "env": [{"name": "E", "value": "1"}], "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "y"}],
            "tolerations": [{"key": "k"}]}});
        strategic_patch(
            "Pod",
            &mut pod,
            &json!({"spec": {
            "containers": [{"name": "a", "image": "x2", "env": [{"name": "F", "value": "2"}],
                            "ports": [{"containerPort": 80, "name": "http"}]},
                           {"name": "b", "$patch": "delete"}],
            "tolerations": [{"key": "t"}]}}),
        );
        assert_eq!(
            pod,
            json!({"spec": {"containers": [
            {"name": "a", "image": "x2", "env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}],
             "ports": [{"containerPort": 80, "name": "http"}]}],
            "tolerations": [{"key": "t"}]}})
        );
    }

    #[test]
    fn directives() {
        let mut o = json!({"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        strategic_patch(
            "Deployment",
            &mut o,
            &json!({
            "metadata": {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"], "labels": {"$patch": "replace", "z": "3"}},
            "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(
            o,
            json!({"metadata": {"finalizers": ["b"], "labels": {"z": "3"}},
            "spec": {"strategy": {"type": "Recreate"}}})
        );
    }

    #[test]
    fn service_ports_by_port() {
        let mut s = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
        strategic_patch(
            "Service",
            &mut s,
            &json!({"spec": {"ports": [{"port": 80, "name": "web"}, {"port": 443}],
            "$setElementOrder/ports": [{"port": 443}, {"port": 80}]}}),
        );
        assert_eq!(
            s,
            json!({"spec": {"ports": [{"port": 443}, {"port": 80, "targetPort": 8080, "name": "web"}]}})
        );
    }
}
