//! Watch: a chunked stream of JSON lines (`{"type":"ADDED","object":{...}}`), fed from the
//! watcher's own queue, to which the store queues only the changes it matches
//! ([`crate::fanout`]); a watcher that resumes from an older resourceVersion, or falls too far
//! behind, reads the store's history until it reaches the present, so no change is missed
//! however slow the client is and memory stays bounded. Supports
//! resuming from a resourceVersion (an in-stream `ERROR` 410 Expired when it is older than the
//! kept history), `allowWatchBookmarks` (periodic BOOKMARK events), `timeoutSeconds` (on tokio
//! time, so paused-time tests work), label and field selectors (an object leaving the selection
//! is sent as DELETED, one entering it as ADDED), and `sendInitialEvents=true` (synthetic ADDED
//! events, then a BOOKMARK annotated `k8s.io/initial-events-end`).

use crate::convert;
use crate::error::KubeApiError;
use crate::fanout::{Subscriber, WatchFilter};
use crate::registry::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{meta_str, Change, EventType};
use crate::KubeState;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Most changes sent in one chunk: a watcher far behind catches up in bounded pieces, so memory
/// stays bounded and other watchers get their turn.
pub const MAX_BATCH: usize = 256;

/// Interval between BOOKMARK events when bookmarks are allowed.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

/// A parsed watch request.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// Resource watched.
    pub def: Arc<ResourceDef>,
    /// Namespace filter.
    pub ns: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
    /// Start after this RV; `None` (unset or "0") starts with the current objects as ADDED.
    pub rv: Option<u64>,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// `sendInitialEvents=true`.
    pub send_initial: bool,
    /// Send each object as a one-row `meta.k8s.io/v1` Table (`kubectl get -w`), with this
    /// `includeObject` policy.
    pub table: Option<String>,
}

struct W {
    state: KubeState,
    req: WatchRequest,
    sub: Arc<Subscriber>,
    pending: Option<Bytes>,
    deadline: Instant,
    next_bookmark: Instant,
    done: bool,
    /// Column definitions were sent (Table watches send them once, like upstream).
    columns_sent: bool,
}

/// Bytes [`push_line`] adds around the type and the object.
const LINE_OVERHEAD: usize = r#"{"type":"","object":}"#.len() + 1;

fn push_line(buf: &mut BytesMut, ty: &str, obj: &[u8]) {
    buf.put_slice(b"{\"type\":\"");
    buf.put_slice(ty.as_bytes());
    buf.put_slice(b"\",\"object\":");
    buf.put_slice(obj);
    buf.put_slice(b"}\n");
}

fn expired_line(rv: u64, oldest: u64) -> Bytes {
    let e = KubeApiError::expired(format!("too old resource version: {rv} ({oldest})"));
    let mut buf = BytesMut::new();
    push_line(
        &mut buf,
        "ERROR",
        &serde_json::to_vec(&e.to_status()).unwrap_or_default(),
    );
    buf.freeze()
}

impl W {
    fn table_bytes(&mut self, obj: &Value) -> Bytes {
        let include = self.req.table.clone().unwrap_or_default();
        let served = convert::from_storage(&self.req.def, obj);
        let rv = meta_str(obj, "resourceVersion")
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        let now = self.state.clock().now().as_millis();
        let mut t = crate::table::table(&self.req.def, &[served], rv, None, now, &include);
        if self.columns_sent {
            t["columnDefinitions"] = json!([]);
        }
        self.columns_sent = true;
        Bytes::from(serde_json::to_vec(&t).unwrap_or_default())
    }

    fn obj_bytes(&mut self, change: &Change) -> Bytes {
        if self.req.table.is_some() {
            return self.table_bytes(&change.obj());
        }
        if convert::needs_conversion(&self.req.def) {
            Bytes::from(
                serde_json::to_vec(&convert::from_storage(&self.req.def, &change.obj()))
                    .unwrap_or_default(),
            )
        } else {
            change.obj_json().clone()
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.req.def.kind, "apiVersion": self.req.def.api_version(), "metadata": meta});
        let mut buf = BytesMut::new();
        push_line(
            &mut buf,
            "BOOKMARK",
            &serde_json::to_vec(&obj).unwrap_or_default(),
        );
        buf.freeze()
    }

    /// The next chunk of events: from the watcher's queue, or from history while it lags.
    /// `None` when nothing is pending.
    fn drain(&mut self) -> Option<Bytes> {
        let mut events = Vec::new();
        {
            let mut q = self.sub.queue.lock();
            if !q.lagging {
                let n = q.events.len().min(MAX_BATCH);
                events.extend(q.events.drain(..n));
                if let Some((_, c)) = events.last() {
                    q.cursor = c.rv;
                }
            }
        }
        if events.is_empty() {
            events = self.catch_up()?;
        }
        if events.is_empty() {
            return None;
        }
        if events.len() == MAX_BATCH {
            // More may be waiting: poll again before sleeping.
            self.sub.notify.notify_one();
        }
        // One allocation of the batch's size (a growing buffer copies itself at each doubling).
        let lines: Vec<(EventType, Bytes)> = events
            .iter()
            .map(|(ty, c)| (*ty, self.obj_bytes(c)))
            .collect();
        let size: usize = lines
            .iter()
            .map(|(ty, b)| b.len() + ty.as_str().len() + LINE_OVERHEAD)
            .sum();
        let mut buf = BytesMut::with_capacity(size);
        for (ty, bytes) in &lines {
            push_line(&mut buf, ty.as_str(), bytes);
        }
        Some(buf.freeze())
    }

    /// A lagging watcher reads up to [`MAX_BATCH`] changes of history after its cursor; when
    /// that reaches the present it switches to its queue (under the store's read lock, so no
    /// write falls between). `None` after queueing the 410 line when history was compacted.
    fn catch_up(&mut self) -> Option<Vec<(EventType, Arc<Change>)>> {
        let state = self.state.clone();
        let sub = self.sub.clone();
        let db = state.db().read();
        let mut q = sub.queue.lock();
        if !q.lagging {
            return Some(Vec::new());
        }
        let Ok(changes) =
            db.store
                .changes_since_limited(&self.req.def.storage, q.cursor, MAX_BATCH)
        else {
            let oldest = db
                .store
                .resource_ref(&self.req.def.storage)
                .map(|r| r.compacted)
                .unwrap_or(0);
            self.done = true;
            self.pending = Some(expired_line(q.cursor, oldest));
            return None;
        };
        if changes.len() < MAX_BATCH {
            q.lagging = false;
            q.events.clear();
        } else {
            self.sub.notify.notify_one();
        }
        if let Some(c) = changes.last() {
            q.cursor = c.rv;
        }
        Some(
            changes
                .into_iter()
                .filter_map(|c| self.sub.filter.event_for(&c).map(|ty| (ty, c)))
                .collect(),
        )
    }

    /// The resourceVersion a BOOKMARK may report: the store's when nothing is pending for this
    /// watcher (every change up to it was seen), else the last one consumed.
    fn bookmark_rv(&self) -> u64 {
        let db = self.state.db().read();
        let q = self.sub.queue.lock();
        if !q.lagging && q.events.is_empty() {
            db.store.rv()
        } else {
            q.cursor
        }
    }
}

/// Starts a watch: registers the watcher and takes the initial snapshot (if any) under the
/// write lock, and returns the stream.
pub fn start(
    state: KubeState,
    req: WatchRequest,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    let now = Instant::now();
    let mut w = {
        let mut db = state.db().write();
        let current = db.store.rv();
        let mut pending = None;
        let mut done = false;
        let cursor = match req.rv {
            Some(rv) if !req.send_initial => {
                if db.store.history_since(&req.def.storage, rv).is_err() {
                    let oldest = db
                        .store
                        .resource_ref(&req.def.storage)
                        .map(|r| r.compacted)
                        .unwrap_or(0);
                    pending = Some(expired_line(rv, oldest));
                    done = true;
                }
                rv
            }
            _ => current,
        };
        let filter = WatchFilter {
            ns: req.ns.clone(),
            labels: req.labels.clone(),
            fields: req.fields.clone(),
        };
        // The subscriber starts lagging: its first poll reads history after the cursor (the
        // backlog of a resumed watch), then switches to its queue.
        let sub = Subscriber::new(filter, cursor);
        if !done {
            db.store.subscribe(&req.def.storage, &sub);
        }
        sub.notify.notify_one();
        let mut w = W {
            state: state.clone(),
            req,
            sub,
            pending,
            deadline: now + Duration::ZERO,
            next_bookmark: now + BOOKMARK_INTERVAL,
            done,
            columns_sent: false,
        };
        if w.req.rv.is_none() || w.req.send_initial {
            let mut buf = BytesMut::new();
            let ns = w.req.ns.clone();
            let items: Vec<Arc<Change>> = db
                .store
                .list_changes(&w.req.def.storage, ns.as_deref())
                .filter(|c| w.sub.filter.matches(&c.fields))
                .cloned()
                .collect();
            for c in items {
                let bytes = w.obj_bytes(&c);
                push_line(&mut buf, "ADDED", &bytes);
            }
            if w.req.send_initial {
                buf.put_slice(&w.bookmark(current, true));
            }
            if !buf.is_empty() {
                w.pending = Some(buf.freeze());
            }
        }
        w
    };
    w.deadline = now + w.req.timeout;
    futures_util::stream::unfold(w, |mut w| async move {
        loop {
            if let Some(p) = w.pending.take() {
                return Some((Ok(p), w));
            }
            if w.done {
                return None;
            }
            let bookmarks = w.req.bookmarks;
            let sub = w.sub.clone();
            tokio::select! {
                biased;
                _ = sub.notify.notified() => {
                    if let Some(b) = w.drain() {
                        return Some((Ok(b), w));
                    }
                }
                _ = tokio::time::sleep_until(w.deadline) => {
                    return None;
                }
                _ = tokio::time::sleep_until(w.next_bookmark), if bookmarks => {
                    w.next_bookmark = Instant::now() + BOOKMARK_INTERVAL;
                    if let Some(b) = w.drain() {
                        w.pending = Some(b);
                    }
                    if !w.done {
                        let bm = w.bookmark(w.bookmark_rv(), false);
                        match w.pending.take() {
                            Some(p) => {
                                let mut buf = BytesMut::from(&p[..]);
                                buf.put_slice(&bm);
                                return Some((Ok(buf.freeze()), w));
                            }
                            None => return Some((Ok(bm), w)),
                        }
                    }
                }
            }
        }
    })
}
