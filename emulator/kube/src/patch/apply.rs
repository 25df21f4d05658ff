//! Server-side apply and field ownership (`metadata.managedFields`, `FieldsV1`).
//!
//! Owned fields are sets of leaf paths (`f:spec`, `f:containers`, `k:{"name":"nginx"}`,
//! `f:image`), built with the same merge keys as the strategic merge patch. An apply by manager M
//! conflicts with every other manager owning a field M sets to a different value (409 listing the
//! fields) unless `force=true`, which moves ownership to M. Fields M applied before and no longer
//! applies are removed when nobody else owns them. Ordinary writes (create, update, patch)
//! record an `Update` entry for their manager holding the fields they changed.
//!
//! Simplified: keyed lists use the single strategic merge key (upstream SSA uses list-map keys,
//! e.g. `containerPort`+`protocol`); maps carry no `.` ownership marker; atomic lists are leaves.

use super::strategic::{list_strategy, list_strategy_in, ListStrategy};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A leaf path in FieldsV1 notation.
pub type FieldPath = Vec<String>;
/// A set of owned leaf paths.
pub type FieldSet = BTreeSet<FieldPath>;

const SKIP_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The leaf paths of an object (apiVersion, kind and server-set metadata excluded). With
/// `status` false the status stanza is excluded too.
pub fn fields_of(kind: &str, obj: &Value, status: bool) -> FieldSet {
    let mut out = FieldSet::new();
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            if k == "apiVersion" || k == "kind" || (k == "status" && !status) || v.is_null() {
                continue;
            }
            let mut path = vec![format!("f:{k}")];
            let mut parents = vec![k.clone()];
            if k == "metadata" {
                if let Some(mm) = v.as_object() {
                    for (mk, mv) in mm {
                        if SKIP_META.contains(&mk.as_str()) || mv.is_null() {
                            continue;
                        }
                        path.push(format!("f:{mk}"));
                        walk(kind, &mut parents, mk, mv, &mut path, &mut out);
                        path.pop();
                    }
                }
                continue;
            }
            parents.pop();
            walk(kind, &mut parents, k, v, &mut path, &mut out);
        }
    }
    out
}

fn walk(
    kind: &str,
    parents: &mut Vec<String>,
    field: &str,
    v: &Value,
    path: &mut FieldPath,
    out: &mut FieldSet,
) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            parents.push(field.to_string());
            for (k, cv) in m {
                if cv.is_null() {
                    continue;
                }
                path.push(format!("f:{k}"));
                walk(kind, parents, k, cv, path, out);
                path.pop();
            }
            parents.pop();
        }
        Value::Array(a) if !a.is_empty() => match list_strategy(kind, parents, field) {
            ListStrategy::MergeKey(key) if a.iter().all(|e| e.get(key).is_some()) => {
                parents.push(field.to_string());
                for e in a {
                    let kv = e.get(key).cloned().unwrap_or(Value::Null);
                    path.push(key_field(key, &kv));
                    path.push(".".to_string());
                    out.insert(path.clone());
                    path.pop();
                    if let Some(m) = e.as_object() {
                        for (k, cv) in m {
                            if cv.is_null() || k == key {
                                continue;
                            }
                            path.push(format!("f:{k}"));
                            walk(kind, parents, k, cv, path, out);
                            path.pop();
                        }
                    }
                    path.pop();
                }
                parents.pop();
            }
            ListStrategy::MergePrimitive => {
                for e in a {
                    path.push(value_field(e));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

/// `FieldsV1` of every field of an object, built directly (same rules as [`fields_of`]); the
/// create path's hot spot, so keys are built without `format!` and parents are borrowed.
pub fn fields_v1_of(kind: &str, obj: &Value, status: bool) -> Value {
    let mut root = Map::new();
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            if k == "apiVersion" || k == "kind" || (k == "status" && !status) || v.is_null() {
                continue;
            }
            if k == "metadata" {
                let mut meta = Map::new();
                if let Some(mm) = v.as_object() {
                    for (mk, mv) in mm {
                        if SKIP_META.contains(&mk.as_str()) || mv.is_null() {
                            continue;
                        }
                        meta.insert(prefixed("f:", mk), build(kind, "metadata", mk, mv));
                    }
                }
                if !meta.is_empty() {
                    root.insert("f:metadata".into(), Value::Object(meta));
                }
                continue;
            }
            root.insert(prefixed("f:", k), build(kind, "", k, v));
        }
    }
    Value::Object(root)
}

/// A list element's FieldsV1 key by its merge key, `k:{"name":"app"}` (the element's key map as
/// compact JSON), written directly: building the map and formatting it costs far more.
fn key_field(key: &str, kv: &Value) -> String {
    let v = serde_json::to_string(kv).unwrap_or_default();
    let k = serde_json::to_string(key).unwrap_or_default();
    let mut s = String::with_capacity(4 + k.len() + v.len());
    s.push_str("k:{");
    s.push_str(&k);
    s.push(':');
    s.push_str(&v);
    s.push('}');
    s
}

/// A set element's FieldsV1 key, `v:"value"` (the value as compact JSON).
fn value_field(e: &Value) -> String {
    prefixed("v:", &serde_json::to_string(e).unwrap_or_default())
}

/// `prefix` + `name` (`f:spec`), in one allocation.
fn prefixed(prefix: &str, name: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + name.len());
    s.push_str(prefix);
    s.push_str(name);
    s
}

fn empty_set() -> Value {
    Value::Object(Map::new())
}

fn build(kind: &str, parent: &str, field: &str, v: &Value) -> Value {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut out = Map::new();
            for (k, cv) in m {
                if !cv.is_null() {
                    out.insert(prefixed("f:", k), build(kind, field, k, cv));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) if !a.is_empty() => match list_strategy_in(kind, parent, field) {
            ListStrategy::MergeKey(key) if a.iter().all(|e| e.get(key).is_some()) => {
                let mut out = Map::new();
                for e in a {
                    let kv = e.get(key).cloned().unwrap_or(Value::Null);
                    let mut item = Map::new();
                    item.insert(".".into(), empty_set());
                    if let Some(m) = e.as_object() {
                        for (k, cv) in m {
                            if !cv.is_null() && k != key {
                                item.insert(prefixed("f:", k), build(kind, field, k, cv));
                            }
                        }
                    }
                    out.insert(key_field(key, &kv), Value::Object(item));
                }
                Value::Object(out)
            }
            ListStrategy::MergePrimitive => {
                let mut out = Map::new();
                for e in a {
                    out.insert(value_field(e), empty_set());
                }
                Value::Object(out)
            }
            _ => empty_set(),
        },
        _ => empty_set(),
    }
}

/// Leaf paths that differ between `old` and `new` (present in `new` with another value) and
/// those only `old` has, descending only into subtrees that differ.
pub fn diff_fields(kind: &str, old: &Value, new: &Value) -> (FieldSet, FieldSet) {
    let mut changed = FieldSet::new();
    let mut removed = FieldSet::new();
    let empty = Map::new();
    let om = old.as_object().unwrap_or(&empty);
    let nm = new.as_object().unwrap_or(&empty);
    let keys = nm.keys().chain(om.keys().filter(|k| !nm.contains_key(*k)));
    for k in keys {
        if k == "apiVersion" || k == "kind" {
            continue;
        }
        let (ov, nv) = (
            om.get(k).filter(|v| !v.is_null()),
            nm.get(k).filter(|v| !v.is_null()),
        );
        if ov == nv {
            continue;
        }
        let mut path = vec![format!("f:{k}")];
        let mut parents = vec![k.clone()];
        if k == "metadata" {
            let om2 = ov.and_then(Value::as_object).unwrap_or(&empty);
            let nm2 = nv.and_then(Value::as_object).unwrap_or(&empty);
            let mkeys = nm2
                .keys()
                .chain(om2.keys().filter(|x| !nm2.contains_key(*x)));
            for mk in mkeys {
                if SKIP_META.contains(&mk.as_str()) {
                    continue;
                }
                path.push(format!("f:{mk}"));
                diff_walk(
                    kind,
                    &mut parents,
                    mk,
                    om2.get(mk),
                    nm2.get(mk),
                    &mut path,
                    &mut changed,
                    &mut removed,
                );
                path.pop();
            }
            continue;
        }
        parents.pop();
        diff_walk(
            kind,
            &mut parents,
            k,
            ov,
            nv,
            &mut path,
            &mut changed,
            &mut removed,
        );
    }
    (changed, removed)
}

#[allow(clippy::too_many_arguments)] // recursive walker state
fn diff_walk(
    kind: &str,
    parents: &mut Vec<String>,
    field: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    path: &mut FieldPath,
    changed: &mut FieldSet,
    removed: &mut FieldSet,
) {
    let old = old.filter(|v| !v.is_null());
    let new = new.filter(|v| !v.is_null());
    if old == new {
        return;
    }
    let leaves = |v: &Value, parents: &mut Vec<String>, path: &mut FieldPath| {
        let mut out = FieldSet::new();
        walk(kind, parents, field, v, path, &mut out);
        out
    };
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) if !o.is_empty() && !n.is_empty() => {
            parents.push(field.to_string());
            for k in n.keys().chain(o.keys().filter(|k| !n.contains_key(*k))) {
                path.push(format!("f:{k}"));
                diff_walk(kind, parents, k, o.get(k), n.get(k), path, changed, removed);
                path.pop();
            }
            parents.pop();
        }
        (Some(Value::Array(o)), Some(Value::Array(n)))
            if !o.is_empty()
                && !n.is_empty()
                && matches!(list_strategy(kind, parents, field), ListStrategy::MergeKey(key) if o.iter().chain(n.iter()).all(|e| e.get(key).is_some())) =>
        {
            let ListStrategy::MergeKey(key) = list_strategy(kind, parents, field) else {
                return;
            };
            parents.push(field.to_string());
            for ne in n {
                let kv = ne.get(key).cloned().unwrap_or(Value::Null);
                path.push(key_field(key, &kv));
                let oe = o.iter().find(|e| e.get(key) == Some(&kv));
                if oe.is_none() {
                    path.push(".".to_string());
                    changed.insert(path.clone());
                    path.pop();
                }
                let empty = Map::new();
                let om = oe.and_then(Value::as_object).unwrap_or(&empty);
                let nm = ne.as_object().unwrap_or(&empty);
                for k in nm.keys().chain(om.keys().filter(|k| !nm.contains_key(*k))) {
                    if k == key {
                        continue;
                    }
                    path.push(format!("f:{k}"));
                    diff_walk(
                        kind,
                        parents,
                        k,
                        om.get(k),
                        nm.get(k),
                        path,
                        changed,
                        removed,
                    );
                    path.pop();
                }
                path.pop();
            }
            for oe in o {
                let kv = oe.get(key).cloned().unwrap_or(Value::Null);
                if n.iter().any(|e| e.get(key) == Some(&kv)) {
                    continue;
                }
                path.push(key_field(key, &kv));
                path.push(".".to_string());
                removed.insert(path.clone());
                path.pop();
                if let Some(m) = oe.as_object() {
                    for (k, cv) in m {
                        if k == key || cv.is_null() {
                            continue;
                        }
                        path.push(format!("f:{k}"));
                        walk(kind, parents, k, cv, path, removed);
                        path.pop();
                    }
                }
                path.pop();
            }
            parents.pop();
        }
        _ => {
            let base = path.len();
            let old_leaves = old.map(|v| leaves(v, parents, path)).unwrap_or_default();
            let new_leaves = new.map(|v| leaves(v, parents, path)).unwrap_or_default();
            for p in &new_leaves {
                let rel = &p[base..];
                let ov = old.and_then(|v| value_at(v, rel));
                let nv = new.and_then(|v| value_at(v, rel));
                if ov != nv || !old_leaves.contains(p) {
                    changed.insert(p.clone());
                }
            }
            for p in old_leaves {
                if !new_leaves.contains(&p) {
                    removed.insert(p);
                }
            }
        }
    }
}

fn step<'a>(cur: &'a Value, seg: &str) -> Option<&'a Value> {
    if let Some(f) = seg.strip_prefix("f:") {
        cur.get(f)
    } else if let Some(k) = seg.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(k).ok()?;
        cur.as_array()?
            .iter()
            .find(|e| key.iter().all(|(kk, kv)| e.get(kk) == Some(kv)))
    } else if let Some(v) = seg.strip_prefix("v:") {
        let val: Value = serde_json::from_str(v).ok()?;
        cur.as_array()?.iter().find(|e| **e == val)
    } else if seg == "." {
        Some(cur)
    } else {
        None
    }
}

/// The value at a leaf path.
pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path {
        cur = step(cur, seg)?;
    }
    Some(cur)
}

/// Removes the node at a leaf path (a `.` leaf removes the keyed element).
pub fn remove_at(obj: &mut Value, path: &[String]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    if last == "." {
        remove_at(obj, parent);
        return;
    }
    let mut cur = obj;
    for seg in parent {
        let next = if let Some(f) = seg.strip_prefix("f:") {
            cur.get_mut(f)
        } else if let Some(k) = seg.strip_prefix("k:") {
            let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else {
                return;
            };
            cur.as_array_mut().and_then(|a| {
                a.iter_mut()
                    .find(|e| key.iter().all(|(kk, kv)| e.get(kk) == Some(kv)))
            })
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        if let (Ok(key), Some(a)) = (
            serde_json::from_str::<Map<String, Value>>(k),
            cur.as_array_mut(),
        ) {
            a.retain(|e| !key.iter().all(|(kk, kv)| e.get(kk) == Some(kv)));
        }
    } else if let Some(v) = last.strip_prefix("v:") {
        if let (Ok(val), Some(a)) = (serde_json::from_str::<Value>(v), cur.as_array_mut()) {
            a.retain(|e| *e != val);
        }
    }
}

/// `FieldsV1` JSON of a set.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for seg in path {
            let e = cur.entry(seg.clone()).or_insert_with(|| json!({}));
            match e.as_object_mut() {
                Some(m) => cur = m,
                None => break,
            }
        }
    }
    Value::Object(root)
}

/// Parses `FieldsV1` JSON into a set.
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn rec(v: &Value, path: &mut FieldPath, out: &mut FieldSet) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, c) in m {
                    path.push(k.clone());
                    rec(c, path, out);
                    path.pop();
                }
            }
            _ => {
                if !path.is_empty() {
                    out.insert(path.clone());
                }
            }
        }
    }
    let mut out = FieldSet::new();
    rec(v, &mut Vec::new(), &mut out);
    out
}

/// Human form of a path as kubectl prints conflicts: `.spec.containers[name="nginx"].image`.
pub fn path_string(path: &[String]) -> String {
    let mut s = String::new();
    for seg in path {
        if let Some(f) = seg.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = seg.strip_prefix("k:") {
            if let Ok(m) = serde_json::from_str::<Map<String, Value>>(k) {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("[{}]", parts.join(",")));
            }
        } else if let Some(v) = seg.strip_prefix("v:") {
            s.push_str(&format!("[{v}]"));
        }
    }
    s
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Field manager.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the fields were written in.
    pub api_version: String,
    /// Write time.
    pub time: String,
    /// Subresource (`status`) or "".
    pub subresource: String,
    /// Owned fields.
    pub fields: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }
}

/// Reads `metadata.managedFields`.
pub fn entries(obj: &Value) -> Vec<Entry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    Entry {
                        manager: s("manager"),
                        operation: s("operation"),
                        api_version: s("apiVersion"),
                        time: s("time"),
                        subresource: s("subresource"),
                        fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One managedFields entry. Built by hand: `json!` would serialize `fields` into a second tree.
fn entry_value(
    manager: &str,
    operation: &str,
    api_version: &str,
    time: &str,
    subresource: &str,
    fields: Value,
) -> Value {
    let mut e = Map::new();
    e.insert("manager".into(), Value::from(manager));
    e.insert("operation".into(), Value::from(operation));
    e.insert("apiVersion".into(), Value::from(api_version));
    e.insert("time".into(), Value::from(time));
    e.insert("fieldsType".into(), Value::from("FieldsV1"));
    e.insert("fieldsV1".into(), fields);
    if !subresource.is_empty() {
        e.insert("subresource".into(), Value::from(subresource));
    }
    Value::Object(e)
}

/// Writes `metadata.managedFields`.
pub fn set_entries(obj: &mut Value, entries: &[Entry]) {
    let arr: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            entry_value(
                &e.manager,
                &e.operation,
                &e.api_version,
                &e.time,
                &e.subresource,
                to_fields_v1(&e.fields),
            )
        })
        .collect();
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if arr.is_empty() {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), Value::Array(arr));
        }
    }
}

/// Who owns what, and who wrote it, for one write.
pub struct Writer<'a> {
    /// Kind of the object.
    pub kind: &'a str,
    /// Field manager.
    pub manager: &'a str,
    /// apiVersion of the request.
    pub api_version: &'a str,
    /// Current time (RFC 3339).
    pub time: &'a str,
    /// Subresource written ("" or "status").
    pub subresource: &'a str,
}

/// Records an `Update` by `w.manager`: the fields that changed between `old` and `new` move to
/// its entry. `new`'s managedFields are rewritten from `old`'s.
pub fn track_update(w: &Writer<'_>, old: Option<&Value>, new: &mut Value) {
    if old.is_none() {
        // Create: the writer owns every field; build FieldsV1 in one pass (hot path).
        let fields = fields_v1_of(w.kind, new, true);
        let has = fields.as_object().is_some_and(|m| !m.is_empty());
        if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            if has {
                // Built by hand: `json!` would serialize `fields` into a second tree.
                let e = entry_value(
                    w.manager,
                    "Update",
                    w.api_version,
                    w.time,
                    w.subresource,
                    fields,
                );
                m.insert("managedFields".into(), Value::Array(vec![e]));
            } else {
                m.remove("managedFields");
            }
        }
        return;
    }
    let status = w.subresource == "status";
    let (mut changed, removed) = match old {
        Some(o) => diff_fields(w.kind, o, new),
        None => (fields_of(w.kind, new, true), FieldSet::new()),
    };
    if !status {
        changed.retain(|p| p.first().map(String::as_str) != Some("f:status"));
    }
    let explicit_reset = new
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|a| a.is_empty());
    let mut es = if explicit_reset {
        Vec::new()
    } else {
        old.map(entries).unwrap_or_default()
    };
    if changed.is_empty() && removed.is_empty() {
        set_entries(new, &es);
        return;
    }
    for e in &mut es {
        e.fields
            .retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    match es
        .iter_mut()
        .find(|e| e.same_owner(w.manager, "Update", w.subresource))
    {
        Some(e) => {
            e.fields.extend(changed);
            e.time = w.time.to_string();
            e.api_version = w.api_version.to_string();
        }
        None => es.push(Entry {
            manager: w.manager.to_string(),
            operation: "Update".into(),
            api_version: w.api_version.to_string(),
            time: w.time.to_string(),
            subresource: w.subresource.to_string(),
            fields: changed,
        }),
    }
    es.retain(|e| !e.fields.is_empty());
    set_entries(new, &es);
}

/// Whether two objects disagree at a leaf; an element's `.` (its existence) agrees when both
/// have the element.
fn differs(a: &Value, b: &Value, p: &[String]) -> bool {
    if p.last().map(String::as_str) == Some(".") {
        value_at(a, p).is_some() != value_at(b, p).is_some()
    } else {
        value_at(a, p) != value_at(b, p)
    }
}

/// A conflict: (manager, apiVersion, field).
pub type Conflict = (String, String, String);

/// Server-side apply of `applied` onto `current` (an empty object for a create). Returns the new
/// object with managedFields set, or the conflicts.
pub fn apply(
    w: &Writer<'_>,
    current: &Value,
    applied: &Value,
    force: bool,
) -> Result<Value, Vec<Conflict>> {
    let status = w.subresource == "status";
    let applied_fields = fields_of(w.kind, applied, status);
    let mut es = entries(current);
    let mut conflicts = Vec::new();
    for e in es.iter() {
        if e.same_owner(w.manager, "Apply", w.subresource) {
            continue;
        }
        for p in e.fields.intersection(&applied_fields) {
            if differs(current, applied, p) {
                conflicts.push((e.manager.clone(), e.api_version.clone(), path_string(p)));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    if force {
        for e in es.iter_mut() {
            if !e.same_owner(w.manager, "Apply", w.subresource) {
                e.fields
                    .retain(|p| !applied_fields.contains(p) || !differs(current, applied, p));
            }
        }
    }
    let previous: FieldSet = es
        .iter()
        .find(|e| e.same_owner(w.manager, "Apply", w.subresource))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others: FieldSet = es
        .iter()
        .filter(|e| !e.same_owner(w.manager, "Apply", w.subresource))
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    let mut out = current.clone();
    for p in previous.difference(&applied_fields) {
        if !others.contains(p) {
            remove_at(&mut out, p);
        }
    }
    let mut parents = Vec::new();
    ssa_merge(w.kind, &mut parents, &mut out, applied, status);
    es.retain(|e| !e.same_owner(w.manager, "Apply", w.subresource));
    es.push(Entry {
        manager: w.manager.to_string(),
        operation: "Apply".into(),
        api_version: w.api_version.to_string(),
        time: w.time.to_string(),
        subresource: w.subresource.to_string(),
        fields: applied_fields,
    });
    // Keep upstream's order: entries in the order they were first written.
    set_entries(&mut out, &es);
    Ok(out)
}

fn ssa_merge(
    kind: &str,
    parents: &mut Vec<String>,
    cur: &mut Value,
    applied: &Value,
    status: bool,
) {
    let (Some(c), Some(a)) = (cur.as_object_mut(), applied.as_object()) else {
        *cur = applied.clone();
        return;
    };
    for (k, av) in a {
        if parents.is_empty() && k == "status" && !status {
            continue;
        }
        if parents.is_empty() && k == "metadata" {
            if let Some(am) = av.as_object() {
                let cm = c.entry("metadata").or_insert_with(|| json!({}));
                for (mk, mv) in am {
                    if matches!(
                        mk.as_str(),
                        "managedFields"
                            | "resourceVersion"
                            | "uid"
                            | "creationTimestamp"
                            | "generation"
                    ) {
                        continue;
                    }
                    if let Some(cmm) = cm.as_object_mut() {
                        let slot = cmm.entry(mk.clone()).or_insert(Value::Null);
                        parents.push("metadata".into());
                        merge_field(kind, parents, mk, slot, mv, status);
                        parents.pop();
                    }
                }
            }
            continue;
        }
        let slot = c.entry(k.clone()).or_insert(Value::Null);
        merge_field(kind, parents, k, slot, av, status);
    }
}

fn merge_field(
    kind: &str,
    parents: &mut Vec<String>,
    field: &str,
    slot: &mut Value,
    av: &Value,
    status: bool,
) {
    match av {
        Value::Object(_) => {
            if !slot.is_object() {
                *slot = json!({});
            }
            parents.push(field.to_string());
            ssa_merge(kind, parents, slot, av, status);
            parents.pop();
        }
        Value::Array(items) => match list_strategy(kind, parents, field) {
            ListStrategy::MergeKey(key) if slot.is_array() => {
                parents.push(field.to_string());
                let mut merged: Vec<Value> = Vec::new();
                let existing = slot.as_array().cloned().unwrap_or_default();
                let mut by_key: BTreeMap<String, Value> = BTreeMap::new();
                for e in &existing {
                    by_key.insert(
                        e.get(key).map(Value::to_string).unwrap_or_default(),
                        e.clone(),
                    );
                }
                for e in items {
                    let k = e.get(key).map(Value::to_string).unwrap_or_default();
                    let mut base = by_key.remove(&k).unwrap_or_else(|| json!({}));
                    ssa_merge(kind, parents, &mut base, e, status);
                    merged.push(base);
                }
                for e in existing {
                    let k = e.get(key).map(Value::to_string).unwrap_or_default();
                    if by_key.contains_key(&k) {
                        merged.push(e);
                    }
                }
                parents.pop();
                *slot = Value::Array(merged);
            }
            ListStrategy::MergePrimitive if slot.is_array() => {
                if let Some(s) = slot.as_array_mut() {
                    for e in items {
                        if !s.contains(e) {
                            s.push(e.clone());
                        }
                    }
                }
            }
            _ => *slot = av.clone(),
        },
        other => *slot = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w<'a>(m: &'a str) -> Writer<'a> {
        Writer {
            kind: "Deployment",
            manager: m,
            api_version: "apps/v1",
            time: "2026-01-01T00:00:00Z",
            subresource: "",
        }
    }

    #[test]
    fn apply_conflicts_and_force() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}});
        let cur = apply(&w("one"), &json!({}), &a, false).unwrap_or_default();
        assert_eq!(cur.pointer("/spec/replicas"), Some(&json!(2)));
        let b = json!({"metadata": {"name": "d"}, "spec": {"replicas": 3}});
        let e = apply(&w("two"), &cur, &b, false).err().unwrap_or_default();
        assert_eq!(
            e,
            vec![(
                "one".to_string(),
                "apps/v1".to_string(),
                ".spec.replicas".to_string()
            )]
        );
        let forced = apply(&w("two"), &cur, &b, true).unwrap_or_default();
        assert_eq!(forced.pointer("/spec/replicas"), Some(&json!(3)));
        // "one" re-applies without the container image list change; "one" no longer owns replicas.
        let es = entries(&forced);
        assert_eq!(es.len(), 2);
        assert!(!es[0]
            .fields
            .contains(&vec!["f:spec".to_string(), "f:replicas".to_string()]));
    }

    #[test]
    fn diff_matches_full_set_comparison() {
        let old = json!({"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
            "spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "E", "value": "1"}]},
                                    {"name": "d", "image": "j"}], "args": ["a"], "nodeName": "n"},
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}});
        let new = json!({"metadata": {"name": "p", "labels": {"a": "1", "c": "3"}, "finalizers": ["x", "y"]},
            "spec": {"containers": [{"name": "c", "image": "i2", "env": [{"name": "E", "value": "1"}]},
                                    {"name": "e", "image": "k"}], "args": ["b"], "nodeName": "n"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "podIP": "1.2.3.4"}});
        let (changed, removed) = diff_fields("Pod", &old, &new);
        let nf = fields_of("Pod", &new, true);
        let of = fields_of("Pod", &old, true);
        // An element's "." (its existence) changes only when the element is new.
        let want_changed: FieldSet = nf
            .iter()
            .filter(|p| {
                if p.last().map(String::as_str) == Some(".") {
                    value_at(&old, p).is_none()
                } else {
                    value_at(&old, p) != value_at(&new, p)
                }
            })
            .cloned()
            .collect();
        let want_removed: FieldSet = of.difference(&nf).cloned().collect();
        assert_eq!(changed, want_changed);
        assert_eq!(removed, want_removed);
    }

    #[test]
    fn direct_fields_v1_matches_the_path_set() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a": "b"}, "finalizers": ["x"], "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                     "args": ["a"]}], "tolerations": [], "securityContext": {}},
            "status": {"phase": "Pending"}});
        assert_eq!(
            fields_v1_of("Pod", &pod, true),
            to_fields_v1(&fields_of("Pod", &pod, true))
        );
        assert_eq!(
            fields_v1_of("Pod", &pod, false),
            to_fields_v1(&fields_of("Pod", &pod, false))
        );
    }

    #[test]
    fn apply_removes_fields_no_longer_applied() {
        let a = json!({"metadata": {"name": "d", "labels": {"a": "1", "b": "2"}}});
        let cur = apply(&w("m"), &json!({}), &a, false).unwrap_or_default();
        let b = json!({"metadata": {"name": "d", "labels": {"a": "1"}}});
        let next = apply(&w("m"), &cur, &b, false).unwrap_or_default();
        assert_eq!(next.pointer("/metadata/labels"), Some(&json!({"a": "1"})));
        let fs = to_fields_v1(&fields_of(
            "Pod",
            &json!({"spec": {"containers": [{"name": "n", "image": "i"}]}}),
            false,
        ));
        assert_eq!(
            fs,
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"n\"}": {".": {}, "f:image": {}}}}})
        );
    }
}
