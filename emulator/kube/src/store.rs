//! The object store: every object as a `serde_json::Value` in its stored version, keyed by
//! storage key (`group/plural`), namespace and name; one global, monotonically increasing
//! resourceVersion; a bounded per-resource event history that watches resume from; and an
//! owner-uid index for garbage collection.
//!
//! Objects are kept behind `Arc` so lists and watch events share them without deep copies. The
//! store has no HTTP knowledge and no policy: [`crate::ops`] decides what to write.

use bytes::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

/// Watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// Wire name (`ADDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, kept in a resource's history.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (for DELETED: the last state, with the deletion's RV).
    pub obj: Arc<Value>,
    /// The selectable fields (labels, name, namespace, field-selector fields) of the object before
    /// the change (MODIFIED only), so filtered watches can turn a change that leaves the selector
    /// into DELETED. A projection, not the whole object, to keep history memory small.
    pub prev: Option<Value>,
    json: OnceLock<Bytes>,
}

impl Change {
    /// The stored object serialized once, shared by every watcher that needs no conversion.
    pub fn obj_json(&self) -> &Bytes {
        self.json
            .get_or_init(|| Bytes::from(serde_json::to_vec(&*self.obj).unwrap_or_default()))
    }
}

/// Paths field selectors can use (see [`crate::selectors`]); kept for the previous version of a
/// changed object.
const SELECTABLE: &[&str] = &[
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/labels",
    "/spec/nodeName",
    "/spec/restartPolicy",
    "/spec/schedulerName",
    "/spec/serviceAccountName",
    "/spec/hostNetwork",
    "/spec/unschedulable",
    "/status/phase",
    "/status/podIP",
    "/status/nominatedNodeName",
    "/status/replicas",
    "/involvedObject",
    "/reason",
    "/reportingComponent",
    "/source",
    "/type",
];

/// The selectable part of an object.
pub fn selectable(obj: &Value) -> Value {
    let mut out = Value::Object(Default::default());
    for p in SELECTABLE {
        if let Some(v) = obj.pointer(p) {
            let mut cur = &mut out;
            let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            for (i, s) in segs.iter().enumerate() {
                let Some(m) = cur.as_object_mut() else { break };
                if i + 1 == segs.len() {
                    m.insert((*s).to_string(), v.clone());
                    break;
                }
                cur = m
                    .entry((*s).to_string())
                    .or_insert_with(|| Value::Object(Default::default()));
            }
        }
    }
    out
}

/// Objects, history and change notifier of one storage key.
#[derive(Debug)]
pub struct ResourceStore {
    /// Objects by (namespace, name), as the change that stored them (which caches their JSON);
    /// cluster-scoped objects use namespace "".
    pub objects: BTreeMap<(String, String), Arc<Change>>,
    /// Recent changes, oldest first.
    pub history: VecDeque<Arc<Change>>,
    /// Changes with rv ≤ this were dropped from history: a watch from an older RV gets 410.
    pub compacted: u64,
    /// Publishes the RV of the latest change.
    pub tx: tokio::sync::watch::Sender<u64>,
}

impl ResourceStore {
    fn new(rv: u64) -> ResourceStore {
        ResourceStore {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            compacted: 0,
            tx: tokio::sync::watch::channel(rv).0,
        }
    }
}

/// Reference to a stored object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    /// Storage key (`apps/deployments`).
    pub storage: String,
    /// Namespace ("" when cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// All objects.
#[derive(Debug)]
pub struct Store {
    rv: u64,
    resources: HashMap<String, ResourceStore>,
    history_limit: usize,
    /// owner uid → dependents.
    dependents: HashMap<String, BTreeSet<ObjKey>>,
}

/// Reads `metadata.<field>` as a string.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// Owner uids of an object.
pub fn owner_uids(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| o.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Store {
    /// An empty store keeping `history_limit` changes per resource for watch resumption.
    pub fn new(history_limit: usize) -> Store {
        Store {
            rv: 1,
            resources: HashMap::new(),
            history_limit: history_limit.max(1),
            dependents: HashMap::new(),
        }
    }

    /// The latest resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// The resource store of a key, created on first use.
    pub fn resource(&mut self, storage: &str) -> &mut ResourceStore {
        let rv = self.rv;
        self.resources
            .entry(storage.to_string())
            .or_insert_with(|| ResourceStore::new(rv))
    }

    /// The resource store of a key, if anything was ever stored there.
    pub fn resource_ref(&self, storage: &str) -> Option<&ResourceStore> {
        self.resources.get(storage)
    }

    /// A stored object.
    pub fn get(&self, storage: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.resources
            .get(storage)?
            .objects
            .get(&(ns.to_string(), name.to_string()))
            .map(|c| c.obj.clone())
    }

    /// Objects of a key, optionally of one namespace, in (namespace, name) order.
    pub fn list<'a>(
        &'a self,
        storage: &str,
        ns: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = &'a Arc<Value>> + 'a> {
        Box::new(self.list_changes(storage, ns).map(|c| &c.obj))
    }

    /// Like [`Store::list`], as the changes that stored the objects (with their cached JSON).
    pub fn list_changes<'a>(
        &'a self,
        storage: &str,
        ns: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = &'a Arc<Change>> + 'a> {
        let Some(r) = self.resources.get(storage) else {
            return Box::new(std::iter::empty());
        };
        match ns {
            Some(ns) => Box::new(
                r.objects
                    .range((ns.to_string(), String::new())..)
                    .take_while(move |((n, _), _)| n == ns)
                    .map(|(_, v)| v),
            ),
            None => Box::new(r.objects.values()),
        }
    }

    /// Number of objects in a namespace across all keys (namespace deletion).
    pub fn keys_in_namespace(&self, ns: &str) -> Vec<ObjKey> {
        let mut out = Vec::new();
        for (storage, r) in &self.resources {
            for ((n, name), _) in r
                .objects
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
            {
                out.push(ObjKey {
                    storage: storage.clone(),
                    namespace: n.clone(),
                    name: name.clone(),
                });
            }
        }
        out.sort();
        out
    }

    /// Dependents (by ownerReference uid) of an owner.
    pub fn dependents_of(&self, uid: &str) -> Vec<ObjKey> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn index_owners(&mut self, key: &ObjKey, old: Option<&Value>, new: Option<&Value>) {
        let old_uids = old.map(owner_uids).unwrap_or_default();
        let new_uids = new.map(owner_uids).unwrap_or_default();
        for u in old_uids.iter().filter(|u| !new_uids.contains(u)) {
            if let Some(s) = self.dependents.get_mut(u) {
                s.remove(key);
                if s.is_empty() {
                    self.dependents.remove(u);
                }
            }
        }
        for u in new_uids.iter().filter(|u| !old_uids.contains(u)) {
            self.dependents
                .entry(u.clone())
                .or_default()
                .insert(key.clone());
        }
    }

    fn record(&mut self, storage: &str, change: Arc<Change>) {
        let limit = self.history_limit;
        let rv = change.rv;
        let r = self.resource(storage);
        r.history.push_back(change);
        while r.history.len() > limit {
            if let Some(old) = r.history.pop_front() {
                r.compacted = old.rv;
            }
        }
        r.tx.send_replace(rv);
    }

    /// Stores an object (its `metadata.resourceVersion` is set to a new RV) and records the change.
    pub fn put(&mut self, storage: &str, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let ns = meta_str(&obj, "namespace").unwrap_or("").to_string();
        let name = meta_str(&obj, "name").unwrap_or("").to_string();
        let key = ObjKey {
            storage: storage.to_string(),
            namespace: ns.clone(),
            name: name.clone(),
        };
        let obj = Arc::new(obj);
        let prev = self
            .resource(storage)
            .objects
            .get(&(ns.clone(), name.clone()))
            .map(|c| c.obj.clone());
        self.index_owners(&key, prev.as_deref(), Some(&obj));
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        let change = Arc::new(Change {
            rv,
            kind,
            obj: obj.clone(),
            prev: prev.as_deref().map(selectable),
            json: OnceLock::new(),
        });
        self.resource(storage)
            .objects
            .insert((ns, name), change.clone());
        self.record(storage, change);
        obj
    }

    /// Removes an object; the DELETED event carries the deletion's RV.
    pub fn remove(&mut self, storage: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        let old = self
            .resources
            .get_mut(storage)?
            .objects
            .remove(&(ns.to_string(), name.to_string()))?
            .obj
            .clone();
        self.rv += 1;
        let rv = self.rv;
        let mut last = (*old).clone();
        if let Some(m) = last.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let last = Arc::new(last);
        let key = ObjKey {
            storage: storage.to_string(),
            namespace: ns.to_string(),
            name: name.to_string(),
        };
        self.index_owners(&key, Some(&old), None);
        self.record(
            storage,
            Arc::new(Change {
                rv,
                kind: EventType::Deleted,
                obj: last.clone(),
                prev: None,
                json: OnceLock::new(),
            }),
        );
        Some(last)
    }

    /// The latest change of a key (its serialized object is shared with watchers).
    pub fn last_change(&self, storage: &str) -> Option<Arc<Change>> {
        self.resources.get(storage)?.history.back().cloned()
    }

    /// Changes of a key after `rv`, or `Err(())` if some were compacted away.
    #[allow(clippy::result_unit_err)] // the only failure is "too old"; callers render 410
    pub fn changes_since(&self, storage: &str, rv: u64) -> Result<Vec<Arc<Change>>, ()> {
        self.changes_since_limited(storage, rv, usize::MAX)
    }

    /// At most `limit` changes of a key after `rv`, or `Err(())` if some were compacted away.
    #[allow(clippy::result_unit_err)] // the only failure is "too old"; callers render 410
    pub fn changes_since_limited(
        &self,
        storage: &str,
        rv: u64,
        limit: usize,
    ) -> Result<Vec<Arc<Change>>, ()> {
        let Some(r) = self.resources.get(storage) else {
            return Ok(Vec::new());
        };
        if rv < r.compacted {
            return Err(());
        }
        let start = r.history.partition_point(|c| c.rv <= rv);
        Ok(r.history.range(start..).take(limit).cloned().collect())
    }

    /// A receiver notified on every change of a key.
    pub fn subscribe(&mut self, storage: &str) -> tokio::sync::watch::Receiver<u64> {
        self.resource(storage).tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_is_bounded_and_reports_compaction() {
        let mut s = Store::new(2);
        for i in 0..4 {
            s.put(
                "pods",
                json!({"metadata": {"name": format!("p{i}"), "namespace": "d"}}),
            );
        }
        assert!(s.changes_since("pods", 1).is_err());
        let tail = s.changes_since("pods", 3).unwrap_or_default();
        assert_eq!(tail.len(), 2);
        assert_eq!(s.list("pods", Some("d")).count(), 4);
        assert_eq!(s.list("pods", Some("e")).count(), 0);
    }
}
