//! The object store: every object once, as its serialized JSON in its stored version (`Bytes`,
//! shared by lists, watch events and history), with a small index beside it (the selectable
//! fields of the resource's kind, owner uids, resourceVersion); keyed by storage key
//! (`group/plural`), namespace and name; one global, monotonically increasing resourceVersion;
//! a watch history bounded in bytes over all resources (oldest dropped first, per-resource
//! `compacted` marks what a watch or list can no longer reach); an owner-uid index for garbage
//! collection; a `spec.nodeName` index of pods; and the watchers of each resource
//! ([`crate::fanout`]), to which every committed change is queued.
//!
//! Reads that need the object tree parse its bytes ([`Store::get`], [`Change::obj`]); nothing
//! keeps a parsed copy, so memory is the JSON plus the index. The store has no HTTP knowledge
//! and no policy: [`crate::ops`] decides what to write.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go (objects
//! as serialized bytes by key, one revision counter), storage/cacher/watch_cache.go (a bounded
//! window of events per resource, `storeElement` with the object's selectable fields and labels,
//! `indexers` on `spec.nodeName` for pods).
//!
//! Not modelled: etcd's compaction schedule (history is dropped by byte budget, not every five
//! minutes); the watch cache's capacity resizing; protobuf storage encoding.

use bytes::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

use crate::fanout::{Subscriber, Watchers};

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

/// One stored state of an object: its serialized JSON (the only copy of its bytes), and the
/// small index selectors, watch routing and garbage collection read without parsing it.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// The selectable projection ([`selectable`]) of the object after the change (for DELETED:
    /// its last state).
    pub fields: Value,
    /// The selectable projection of the object before the change (MODIFIED only), so filtered
    /// watches can turn a change that leaves the selector into DELETED.
    pub prev: Option<Value>,
    /// What the garbage collector reads of the object after the change.
    pub gc: GcIndex,
    json: Bytes,
    /// The parsed object, filled only by [`Store::list_parsed`] (RBAC objects, read on every
    /// authorized request).
    parsed: OnceLock<Arc<Value>>,
}

impl Change {
    fn new(rv: u64, kind: EventType, obj: &Value, prev: Option<Value>, extra: &[String]) -> Change {
        Change {
            rv,
            kind,
            fields: selectable(obj, extra),
            prev,
            gc: GcIndex::of(obj),
            json: serialize(obj),
            parsed: OnceLock::new(),
        }
    }

    /// The stored object serialized, shared by the store, lists and every watcher that needs no
    /// conversion.
    pub fn obj_json(&self) -> &Bytes {
        &self.json
    }

    /// The stored object, parsed from its bytes (a fresh tree on every call).
    pub fn obj(&self) -> Arc<Value> {
        Arc::new(serde_json::from_slice(&self.json).unwrap_or(Value::Null))
    }

    /// `metadata.name`.
    pub fn name(&self) -> Option<&str> {
        meta_str(&self.fields, "name")
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        meta_str(&self.fields, "namespace")
    }

    /// Bytes this change keeps alive in history (its JSON plus a rough fixed overhead).
    fn weight(&self) -> usize {
        self.json.len() + ENTRY_OVERHEAD
    }
}

/// `obj` as JSON in an allocation of exactly its size. Serialized into a per-thread scratch
/// buffer first: growing a fresh `Vec` doubles its way up (each step a copy and, for large
/// objects, fresh pages the kernel must zero) and leaves up to half of it unused for the
/// object's lifetime.
fn serialize(obj: &Value) -> Bytes {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|s| {
        let Ok(mut buf) = s.try_borrow_mut() else {
            return Bytes::from(serde_json::to_vec(obj).unwrap_or_default());
        };
        buf.clear();
        if serde_json::to_writer(&mut *buf, obj).is_err() {
            return Bytes::new();
        }
        let out = Bytes::copy_from_slice(&buf);
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new(); // do not keep a one-off huge object's buffer per thread
        }
        out
    })
}

/// An ownerReference as the garbage collector reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    /// `uid`.
    pub uid: String,
    /// `name`.
    pub name: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `blockOwnerDeletion`.
    pub block_owner_deletion: bool,
}

/// What the garbage collector reads of an object, kept beside its bytes so that checking a
/// written object's owners (on every create of a pod) parses nothing.
#[derive(Debug, Clone, Default)]
pub struct GcIndex {
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// `metadata.finalizers` holds `foregroundDeletion`.
    pub foreground: bool,
    /// `metadata.ownerReferences`.
    pub refs: Vec<OwnerRef>,
}

impl GcIndex {
    /// The index of `obj`.
    pub fn of(obj: &Value) -> GcIndex {
        let Some(meta) = obj.get("metadata") else {
            return GcIndex::default();
        };
        let s = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
        GcIndex {
            deleting: meta.get("deletionTimestamp").is_some_and(|v| !v.is_null()),
            foreground: meta
                .get("finalizers")
                .and_then(Value::as_array)
                .is_some_and(|f| f.iter().any(|f| f.as_str() == Some("foregroundDeletion"))),
            refs: meta
                .get("ownerReferences")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|r| OwnerRef {
                            uid: s(r, "uid"),
                            name: s(r, "name"),
                            api_version: s(r, "apiVersion"),
                            kind: s(r, "kind"),
                            block_owner_deletion: r
                                .get("blockOwnerDeletion")
                                .and_then(Value::as_bool)
                                == Some(true),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The owners' uids.
    pub fn owner_uids(&self) -> impl Iterator<Item = &str> {
        self.refs.iter().map(|r| r.uid.as_str())
    }
}

/// The selectable part of an object: its metadata ([`crate::kinds::catalog::METADATA_POINTERS`])
/// and the resource's field pointers (`fields`: its kind's field labels, or a CRD's
/// `selectableFields`), in a tree of the same shape. On every write, so the pointers are walked
/// by key (no per-path allocation as `Value::pointer` makes).
pub fn selectable(obj: &Value, fields: &[String]) -> Value {
    let mut out = serde_json::Map::new();
    let meta = crate::kinds::catalog::METADATA_POINTERS.iter().copied();
    for p in meta.chain(fields.iter().map(String::as_str)) {
        let mut v = Some(obj);
        for seg in pointer_segments(p) {
            v = v.and_then(|o| o.get(seg.as_ref()));
        }
        if let Some(v) = v {
            insert_at(&mut out, p, v.clone());
        }
    }
    Value::Object(out)
}

/// The unescaped segments of a JSON pointer (`/a/b~1c` → `a`, `b/c`).
fn pointer_segments(p: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
    p.strip_prefix('/').unwrap_or(p).split('/').map(|s| {
        if s.contains('~') {
            std::borrow::Cow::Owned(s.replace("~1", "/").replace("~0", "~"))
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    })
}

/// Sets `value` at pointer `p` in `out`, creating the objects on the way.
fn insert_at(out: &mut serde_json::Map<String, Value>, p: &str, value: Value) {
    let mut segs = pointer_segments(p).peekable();
    let mut cur = out;
    while let Some(seg) = segs.next() {
        if segs.peek().is_none() {
            cur.insert(seg.into_owned(), value);
            return;
        }
        if !cur.contains_key(seg.as_ref()) {
            cur.insert(seg.to_string(), Value::Object(serde_json::Map::new()));
        }
        match cur.get_mut(seg.as_ref()) {
            Some(Value::Object(m)) => cur = m,
            _ => return,
        }
    }
}

/// One entry of a resource's history: the change and the state it replaced (so a list can be
/// rebuilt as it was at an older resourceVersion).
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The change.
    pub change: Arc<Change>,
    /// The object's state before it (`None` when the change created it).
    pub before: Option<Arc<Change>>,
}

/// What a history entry costs beyond its object's bytes (the entry, the index, the order queue).
const ENTRY_OVERHEAD: usize = 256;

impl HistoryEntry {
    /// Bytes this entry keeps alive that the live objects do not: the state it replaced (no
    /// longer stored, shared with the older entry that recorded it, and counted here once), and
    /// a deletion's last state. A created or updated object's own bytes are the live object's
    /// until a later change replaces it, and are counted by that change's entry. So a watch
    /// history of creates costs only its entries, and the budget bounds what history alone holds.
    fn weight(&self) -> usize {
        let own = match self.change.kind {
            EventType::Deleted => self.change.weight(),
            EventType::Added | EventType::Modified => ENTRY_OVERHEAD,
        };
        own + self.before.as_ref().map_or(0, |b| b.weight())
    }
}

/// Objects, history and watchers of one storage key.
#[derive(Debug, Default)]
pub struct ResourceStore {
    /// Objects by (namespace, name), as the change that stored them; cluster-scoped objects use
    /// namespace "".
    pub objects: BTreeMap<(String, String), Arc<Change>>,
    /// Recent changes, oldest first.
    pub history: VecDeque<HistoryEntry>,
    /// Changes with rv ≤ this were dropped from history: a watch from an older RV gets 410.
    pub compacted: u64,
    /// Object keys by `spec.nodeName` ("" when unset); kept for pods only.
    pub by_node: HashMap<String, BTreeSet<(String, String)>>,
    /// Registered watchers.
    pub watchers: Watchers,
    /// Pointers indexed besides metadata: the kind's field labels, or a CRD's
    /// `selectableFields`.
    pub selectable: Arc<[String]>,
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

/// Default budget of the watch history over all resources, in bytes.
pub const HISTORY_BYTES: usize = 256 << 20;

/// All objects.
#[derive(Debug)]
pub struct Store {
    rv: u64,
    resources: HashMap<String, ResourceStore>,
    history_limit: usize,
    history_budget: usize,
    history_bytes: usize,
    history_entries: usize,
    /// Every history entry in resourceVersion order (storage key, rv, weight), so the oldest is
    /// dropped first whatever its resource.
    history_order: VecDeque<(Arc<str>, u64, usize)>,
    /// owner uid → dependents.
    dependents: HashMap<String, BTreeSet<ObjKey>>,
    /// What an object uses, for the namespaces' ledgers.
    usage_fn: Option<crate::ledger::UsageFn>,
    /// The ledgers of the tracked namespaces.
    ledgers: HashMap<String, crate::ledger::Ledger>,
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

fn node_name(fields: &Value) -> &str {
    fields
        .get("spec")
        .and_then(|s| s.get("nodeName"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

const PODS: &str = "pods";

impl Store {
    /// An empty store keeping at most `history_limit` changes per resource, within
    /// [`HISTORY_BYTES`] over all resources, for watch resumption and consistent lists.
    pub fn new(history_limit: usize) -> Store {
        Store::with_budget(history_limit, HISTORY_BYTES)
    }

    /// Like [`Store::new`] with a history budget of `bytes`.
    pub fn with_budget(history_limit: usize, bytes: usize) -> Store {
        Store {
            rv: 1,
            resources: HashMap::new(),
            history_limit: history_limit.max(1),
            history_budget: bytes,
            history_bytes: 0,
            history_entries: 0,
            history_order: VecDeque::new(),
            dependents: HashMap::new(),
            usage_fn: None,
            ledgers: HashMap::new(),
        }
    }

    /// Sets what an object uses in its namespace's ledger ([`crate::ledger`]).
    pub fn set_usage_fn(&mut self, f: crate::ledger::UsageFn) {
        self.usage_fn = Some(f);
    }

    /// Keeps namespace `ns`'s ledger from now on (counting its objects once); no-op when it
    /// is kept already or no usage function is set.
    pub fn track_namespace(&mut self, ns: &str) {
        let Some(f) = self.usage_fn else { return };
        if self.ledgers.contains_key(ns) {
            return;
        }
        let mut ledger = crate::ledger::Ledger::default();
        for k in self.keys_in_namespace(ns) {
            if let Some(o) = self.get(&k.storage, &k.namespace, &k.name) {
                ledger.set(&k.storage, &k.name, f(&k.storage, &o));
            }
        }
        self.ledgers.insert(ns.to_string(), ledger);
    }

    /// Stops keeping namespace `ns`'s ledger.
    pub fn untrack_namespace(&mut self, ns: &str) {
        self.ledgers.remove(ns);
    }

    /// The ledger of a tracked namespace.
    pub fn ledger(&self, ns: &str) -> Option<&crate::ledger::Ledger> {
        self.ledgers.get(ns)
    }

    /// The latest resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Bytes the watch history holds (by [`HistoryEntry`] weight).
    pub fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// The resource store of a key, created on first use.
    pub fn resource(&mut self, storage: &str) -> &mut ResourceStore {
        self.resources
            .entry(storage.to_string())
            .or_insert_with(|| ResourceStore {
                selectable: crate::kinds::catalog::selectable_pointers_for(storage),
                ..Default::default()
            })
    }

    /// The resource store of a key, if anything was ever stored there.
    pub fn resource_ref(&self, storage: &str) -> Option<&ResourceStore> {
        self.resources.get(storage)
    }

    /// A stored object, parsed from its bytes.
    pub fn get(&self, storage: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.get_change(storage, ns, name).map(|c| c.obj())
    }

    /// The change that stored an object (its bytes and index, unparsed).
    pub fn get_change(&self, storage: &str, ns: &str, name: &str) -> Option<&Arc<Change>> {
        self.resources
            .get(storage)?
            .objects
            .get(&(ns.to_string(), name.to_string()))
    }

    /// Objects of a key, optionally of one namespace, in (namespace, name) order, each parsed
    /// from its bytes.
    pub fn list<'a>(
        &'a self,
        storage: &str,
        ns: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = Arc<Value>> + 'a> {
        Box::new(self.list_changes(storage, ns).map(|c| c.obj()))
    }

    /// Like [`Store::list`], keeping each parsed tree beside the object's bytes. Only for small,
    /// hot kinds: the RBAC roles and bindings every authorized request reads (a few hundred
    /// objects in a cluster, so the cache is bounded by what the cluster stores of them).
    pub fn list_parsed<'a>(
        &'a self,
        storage: &str,
        ns: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = &'a Arc<Value>> + 'a> {
        Box::new(
            self.list_changes(storage, ns)
                .map(|c| c.parsed.get_or_init(|| c.obj())),
        )
    }

    /// Like [`Store::get`], keeping the parsed tree beside the object's bytes (for the same
    /// small, hot kinds as [`Store::list_parsed`]).
    pub fn get_parsed(&self, storage: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.get_change(storage, ns, name)
            .map(|c| c.parsed.get_or_init(|| c.obj()).clone())
    }

    /// Like [`Store::list`], as the changes that stored the objects (bytes and index).
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

    fn index_owners(&mut self, key: &ObjKey, old: &GcIndex, new: &GcIndex) {
        for u in old
            .owner_uids()
            .filter(|u| !new.owner_uids().any(|n| n == *u))
        {
            if let Some(s) = self.dependents.get_mut(u) {
                s.remove(key);
                if s.is_empty() {
                    self.dependents.remove(u);
                }
            }
        }
        for u in new
            .owner_uids()
            .filter(|u| !old.owner_uids().any(|o| o == *u))
        {
            self.dependents
                .entry(u.to_string())
                .or_default()
                .insert(key.clone());
        }
    }

    fn index_node(
        r: &mut ResourceStore,
        key: &(String, String),
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        let old = old.map(node_name);
        let new = new.map(node_name);
        if old == new {
            return;
        }
        if let Some(o) = old {
            if let Some(s) = r.by_node.get_mut(o) {
                s.remove(key);
                if s.is_empty() {
                    r.by_node.remove(o);
                }
            }
        }
        if let Some(n) = new {
            r.by_node
                .entry(n.to_string())
                .or_default()
                .insert(key.clone());
        }
    }

    /// Appends a change to its resource's history, queues it to the watchers it matches and
    /// drops the oldest history past the limits.
    fn record(&mut self, storage: &str, change: Arc<Change>, before: Option<Arc<Change>>) {
        let entry = HistoryEntry { change, before };
        let weight = entry.weight();
        let rv = entry.change.rv;
        let limit = self.history_limit;
        let r = self.resource(storage);
        r.watchers.dispatch(&entry.change);
        r.history.push_back(entry);
        let mut dropped = 0;
        let mut dropped_n = 0;
        while r.history.len() > limit {
            if let Some(old) = r.history.pop_front() {
                r.compacted = old.change.rv;
                dropped += old.weight();
                dropped_n += 1;
            }
        }
        self.history_bytes = self.history_bytes + weight - dropped;
        self.history_entries = self.history_entries + 1 - dropped_n;
        self.history_order
            .push_back((Arc::from(storage), rv, weight));
        // Entries dropped by the per-resource limit linger in the order queue until they reach
        // its front; the queue is kept within twice the live history.
        while self.history_bytes > self.history_budget
            || self.history_order.len() > 2 * self.history_entries + 1024
        {
            if !self.drop_oldest() {
                break;
            }
        }
    }

    /// Pops the oldest entry of the order queue, dropping it from its resource's history if it
    /// is still there. `false` when the queue is empty.
    fn drop_oldest(&mut self) -> bool {
        let Some((key, rv, w)) = self.history_order.pop_front() else {
            return false;
        };
        if let Some(r) = self.resources.get_mut(&*key) {
            if r.history.front().is_some_and(|e| e.change.rv == rv) {
                r.history.pop_front();
                r.compacted = rv;
                self.history_bytes -= w;
                self.history_entries -= 1;
            }
        }
        true
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
        if !self.ledgers.is_empty() {
            if let (Some(f), Some(l)) = (self.usage_fn, self.ledgers.get_mut(&ns)) {
                l.set(storage, &name, f(storage, &obj));
            }
        }
        let okey = (ns, name);
        let before = self.resource(storage).objects.get(&okey).cloned();
        let kind = if before.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        let extra = self.resource(storage).selectable.clone();
        let change = Arc::new(Change::new(
            rv,
            kind,
            &obj,
            before.as_ref().map(|b| b.fields.clone()),
            &extra,
        ));
        let key = ObjKey {
            storage: storage.to_string(),
            namespace: okey.0.clone(),
            name: okey.1.clone(),
        };
        let no_owners = GcIndex::default();
        let old_owners = before.as_ref().map_or(&no_owners, |b| &b.gc);
        self.index_owners(&key, old_owners, &change.gc);
        let r = self.resource(storage);
        if storage == PODS {
            Self::index_node(
                r,
                &okey,
                before.as_ref().map(|b| &b.fields),
                Some(&change.fields),
            );
        }
        r.objects.insert(okey, change.clone());
        self.record(storage, change, before);
        Arc::new(obj)
    }

    /// Removes an object; the DELETED event carries the deletion's RV.
    pub fn remove(&mut self, storage: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        let okey = (ns.to_string(), name.to_string());
        let r = self.resources.get_mut(storage)?;
        let old = r.objects.remove(&okey)?;
        if !self.ledgers.is_empty() {
            if let Some(l) = self.ledgers.get_mut(ns) {
                l.remove(storage, name);
            }
        }
        if storage == PODS {
            Self::index_node(r, &okey, Some(&old.fields), None);
        }
        self.rv += 1;
        let rv = self.rv;
        let mut last = (*old.obj()).clone();
        if let Some(m) = last.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let key = ObjKey {
            storage: storage.to_string(),
            namespace: ns.to_string(),
            name: name.to_string(),
        };
        self.index_owners(&key, &old.gc, &GcIndex::default());
        let extra = self.resource(storage).selectable.clone();
        let change = Arc::new(Change::new(rv, EventType::Deleted, &last, None, &extra));
        self.record(storage, change, Some(old));
        Some(Arc::new(last))
    }

    /// The latest change of a key (its serialized object is shared with watchers).
    pub fn last_change(&self, storage: &str) -> Option<Arc<Change>> {
        self.resources
            .get(storage)?
            .history
            .back()
            .map(|e| e.change.clone())
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
        Ok(self
            .history_since(storage, rv)?
            .take(limit)
            .map(|e| e.change.clone())
            .collect())
    }

    /// History entries of a key after `rv`, or `Err(())` if some were compacted away.
    #[allow(clippy::result_unit_err)] // the only failure is "too old"; callers render 410
    pub fn history_since<'a>(
        &'a self,
        storage: &str,
        rv: u64,
    ) -> Result<Box<dyn Iterator<Item = &'a HistoryEntry> + 'a>, ()> {
        let Some(r) = self.resources.get(storage) else {
            return Ok(Box::new(std::iter::empty()));
        };
        if rv < r.compacted {
            return Err(());
        }
        let start = r.history.partition_point(|e| e.change.rv <= rv);
        Ok(Box::new(r.history.range(start..)))
    }

    /// Registers a watcher of a key; it is queued every later change it matches.
    pub fn subscribe(&mut self, storage: &str, sub: &Arc<Subscriber>) {
        self.resource(storage).watchers.add(sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// [`selectable`] by JSON pointer, one path at a time (the definition it must equal).
    fn selectable_by_pointer(obj: &Value, fields: &[String]) -> Value {
        let mut out = json!({});
        let meta = crate::kinds::catalog::METADATA_POINTERS.iter().copied();
        for p in meta.chain(fields.iter().map(String::as_str)) {
            if let Some(v) = obj.pointer(p) {
                let segs: Vec<String> = p[1..]
                    .split('/')
                    .map(|s| s.replace("~1", "/").replace("~0", "~"))
                    .collect();
                let mut cur = &mut out;
                for s in &segs[..segs.len() - 1] {
                    cur = cur
                        .as_object_mut()
                        .map(|m| m.entry(s.clone()).or_insert_with(|| json!({})))
                        .unwrap_or_else(|| unreachable!());
                }
                cur[segs[segs.len() - 1].as_str()] = v.clone();
            }
        }
        out
    }

    #[test]
    fn selectable_walk_equals_the_pointer_definition() {
        let fields: Vec<String> = [
            "/spec/nodeName",
            "/spec/restartPolicy",
            "/spec/hostNetwork",
            "/spec/unschedulable",
            "/status/phase",
            "/status/podIP",
            "/status/replicas",
            "/involvedObject/name",
            "/reason",
            "/type",
            "/spec/deep/er/field",
            "/spec/a~1b",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let samples = [
            json!({"metadata": {"name": "p", "namespace": "d", "labels": {"a": "b"}, "uid": "u"},
                   "spec": {"nodeName": "n1", "restartPolicy": "Always", "hostNetwork": false,
                            "containers": [{"name": "c"}]},
                   "status": {"phase": "Running", "podIP": "10.0.0.1"}}),
            json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
                   "reason": "Scheduled", "source": {"component": "s"}, "type": "Normal"}),
            json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}, "status": {}}),
            json!({"metadata": {"name": "x"}, "spec": null, "status": {"replicas": 3}}),
            json!({"metadata": {"name": "c"}, "spec": {"deep": {"er": {"field": 1}}, "a/b": "s"}}),
            json!({"kind": "ConfigMap", "data": {"k": "v"}}),
        ];
        for o in &samples {
            assert_eq!(
                serde_json::to_string(&selectable(o, &fields)).unwrap_or_default(),
                serde_json::to_string(&selectable_by_pointer(o, &fields)).unwrap_or_default(),
                "{o}"
            );
        }
    }

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

    #[test]
    fn history_is_bounded_in_bytes_oldest_first() {
        let mut s = Store::with_budget(usize::MAX, 4096);
        for i in 0..64 {
            s.put(
                if i % 2 == 0 { "pods" } else { "configmaps" },
                json!({"metadata": {"name": format!("o{i}"), "namespace": "d"}}),
            );
        }
        assert!(s.history_bytes() <= 4096);
        assert!(s.changes_since("pods", 2).is_err());
        assert!(s.changes_since("configmaps", 2).is_err());
        let kept = s.changes_since("pods", s.rv() - 4).unwrap_or_default();
        assert_eq!(kept.len(), 2);
        assert_eq!(s.list("pods", Some("d")).count(), 32);
    }

    #[test]
    fn history_counts_what_only_history_holds() {
        let big = "x".repeat(2048);
        let mut s = Store::with_budget(usize::MAX, 64 << 10);
        // 100 creates of 2 KiB objects: the objects are live, history holds only entries.
        for i in 0..100 {
            s.put(
                "configmaps",
                json!({"metadata": {"name": format!("c{i}"), "namespace": "d"}, "data": {"k": big}}),
            );
        }
        assert_eq!(s.changes_since("configmaps", 1).map(|c| c.len()), Ok(100));
        // 100 updates of one object: each replaced state is history's alone, so the 64 KiB
        // budget keeps about 28 of them.
        let start = s.rv();
        for i in 0..100 {
            s.put(
                "secrets",
                json!({"metadata": {"name": "one", "namespace": "d"}, "data": {"k": big, "i": i}}),
            );
        }
        assert!(s.history_bytes() <= 64 << 10);
        assert!(s.changes_since("secrets", start).is_err());
        let kept = s.changes_since("secrets", s.rv() - 20).map(|c| c.len());
        assert_eq!(kept, Ok(20));
    }

    #[test]
    fn pods_are_indexed_by_node() {
        let mut s = Store::new(100);
        s.put("pods", json!({"metadata": {"name": "a", "namespace": "d"}}));
        s.put(
            "pods",
            json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"nodeName": "n1"}}),
        );
        s.put(
            "pods",
            json!({"metadata": {"name": "b", "namespace": "d"}, "spec": {"nodeName": "n1"}}),
        );
        let r = s.resource_ref("pods");
        let n1 = r.and_then(|r| r.by_node.get("n1")).map(|k| k.len());
        assert_eq!(n1, Some(2));
        assert!(r.is_some_and(|r| !r.by_node.contains_key("")));
        s.remove("pods", "d", "a");
        let n1 = s
            .resource_ref("pods")
            .and_then(|r| r.by_node.get("n1"))
            .map(|k| k.len());
        assert_eq!(n1, Some(1));
        assert_eq!(s.list("pods", Some("e")).count(), 0);
    }
}
