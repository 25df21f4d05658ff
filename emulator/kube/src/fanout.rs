//! Watch fan-out: the watchers of one resource, indexed so a committed change is queued only to
//! the watchers it can match. A watcher whose field selector pins `spec.nodeName` (a kubelet) is
//! found by node, one pinning `metadata.name` by name, one scoped to a namespace by namespace;
//! the rest are cluster-wide. A pod moving between nodes reaches both nodes' watchers (DELETED for
//! the old one, ADDED for the new one), like the cacher's per-watcher filtering.
//!
//! Each watcher owns a bounded queue. A watcher that falls [`QUEUE_CAP`] events behind is not
//! allowed to grow memory: its queue is dropped and it is marked *lagging*, and the watch stream
//! catches up from the resource's history (the same path a watch resuming from an old
//! resourceVersion takes) until it reaches the present, when queueing resumes. If the history it
//! needs was compacted meanwhile, the stream ends with 410 Expired, as a real client sees.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiserver/pkg/storage/cacher/cacher.go
//! (`watchersBuffer`, `triggerFunc`/`indexedTrigger`: pods are indexed by `spec.nodeName`),
//! cache_watcher.go (per-watcher buffered channel, `add` with a blocking timeout).
//!
//! Not modelled: upstream closes a watcher whose buffer stays full past a timeout (the client
//! re-lists); here it falls back to history instead, so no event is lost while history lasts
//! and memory stays bounded either way. Dispatch runs inside the store's write lock (no
//! separate dispatcher goroutine), which keeps delivery order deterministic.

use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Change, EventType};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};

/// Most events queued to one watcher before it falls back to reading history.
pub const QUEUE_CAP: usize = 16_384;

/// Which objects a watcher wants.
#[derive(Debug, Clone, Default)]
pub struct WatchFilter {
    /// Namespace, if scoped.
    pub ns: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl WatchFilter {
    /// Whether an object (or its selectable projection, [`crate::store::selectable`]) matches.
    pub fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.ns {
            let ons = obj
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str);
            if ons != Some(ns.as_str()) {
                return false;
            }
        }
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    /// The event a watcher with this filter sees for a change (`None`: nothing).
    pub fn event_for(&self, c: &Change) -> Option<EventType> {
        let now_in = self.matches(&c.fields);
        match c.kind {
            EventType::Added if now_in => Some(EventType::Added),
            EventType::Deleted if now_in => Some(EventType::Deleted),
            EventType::Modified => {
                let was_in = c.prev.as_ref().is_some_and(|p| self.matches(p));
                match (was_in, now_in) {
                    (true, true) => Some(EventType::Modified),
                    (false, true) => Some(EventType::Added),
                    (true, false) => Some(EventType::Deleted),
                    (false, false) => None,
                }
            }
            _ => None,
        }
    }

    fn pinned(&self, path: &str) -> Option<&str> {
        self.fields
            .0
            .iter()
            .find(|r| r.equal && r.path == path)
            .map(|r| r.value.as_str())
    }
}

/// A watcher's queue, shared by the store (producer) and the watch stream (consumer).
#[derive(Debug, Default)]
pub struct Queue {
    /// Events not yet sent.
    pub events: VecDeque<(EventType, Arc<Change>)>,
    /// The watcher reads history from `cursor` instead of its queue (it starts that way, and
    /// returns to it when the queue overflows).
    pub lagging: bool,
    /// resourceVersion of the last change the stream consumed (or skipped as not matching).
    pub cursor: u64,
}

/// One registered watcher.
#[derive(Debug)]
pub struct Subscriber {
    /// What it selects.
    pub filter: WatchFilter,
    /// Its pending events.
    pub queue: Mutex<Queue>,
    /// Woken on every queued event (and on overflow).
    pub notify: tokio::sync::Notify,
}

impl Subscriber {
    /// A lagging subscriber starting after `cursor` (its first poll reads history).
    pub fn new(filter: WatchFilter, cursor: u64) -> Arc<Subscriber> {
        Arc::new(Subscriber {
            filter,
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                lagging: true,
                cursor,
            }),
            notify: tokio::sync::Notify::new(),
        })
    }

    fn offer(&self, c: &Arc<Change>) {
        let Some(ty) = self.filter.event_for(c) else {
            return;
        };
        {
            let mut q = self.queue.lock();
            if q.lagging {
                // It reads history: nothing to queue.
            } else if q.events.len() >= QUEUE_CAP {
                q.events.clear();
                q.lagging = true;
            } else {
                q.events.push_back((ty, c.clone()));
            }
        }
        self.notify.notify_one();
    }
}

type Bucket = Vec<Weak<Subscriber>>;

/// The watchers of one resource, by what they pin.
#[derive(Debug, Default)]
pub struct Watchers {
    by_node: HashMap<String, Bucket>,
    by_name: HashMap<String, Bucket>,
    by_ns: HashMap<String, Bucket>,
    all: Bucket,
    added: usize,
}

fn visit(bucket: Option<&mut Bucket>, c: &Arc<Change>) {
    let Some(b) = bucket else { return };
    b.retain(|w| match w.upgrade() {
        Some(s) => {
            s.offer(c);
            true
        }
        None => false,
    });
}

fn node_of(fields: &Value) -> &str {
    fields
        .get("spec")
        .and_then(|s| s.get("nodeName"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

impl Watchers {
    /// Registers a watcher (dropped watchers are forgotten lazily).
    pub fn add(&mut self, sub: &Arc<Subscriber>) {
        let w = Arc::downgrade(sub);
        let f = &sub.filter;
        if let Some(node) = f.pinned("spec.nodeName") {
            self.by_node.entry(node.to_string()).or_default().push(w);
        } else if let Some(name) = f.pinned("metadata.name") {
            self.by_name.entry(name.to_string()).or_default().push(w);
        } else if let Some(ns) = &f.ns {
            self.by_ns.entry(ns.clone()).or_default().push(w);
        } else {
            self.all.push(w);
        }
        self.added += 1;
        if self.added.is_power_of_two() {
            self.sweep();
        }
    }

    fn sweep(&mut self) {
        for m in [&mut self.by_node, &mut self.by_name, &mut self.by_ns] {
            m.retain(|_, b| {
                b.retain(|w| w.strong_count() > 0);
                !b.is_empty()
            });
        }
        self.all.retain(|w| w.strong_count() > 0);
    }

    /// Queues a committed change to every watcher it can match.
    pub fn dispatch(&mut self, c: &Arc<Change>) {
        if self.added == 0 {
            return;
        }
        let node = node_of(&c.fields);
        let old_node = c.prev.as_ref().map(node_of).filter(|n| *n != node);
        visit(self.by_node.get_mut(node), c);
        if let Some(old) = old_node {
            visit(self.by_node.get_mut(old), c);
        }
        if let Some(name) = c.name() {
            visit(self.by_name.get_mut(name), c);
        }
        if let Some(ns) = c.namespace() {
            visit(self.by_ns.get_mut(ns), c);
        }
        visit(Some(&mut self.all), c);
    }
}
