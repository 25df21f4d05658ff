//! Watch: a chunked stream of JSON lines (`{"type":"ADDED","object":{...}}`), fed from the
//! store's per-resource history so no change is missed however slow the client is. Supports
//! resuming from a resourceVersion (an in-stream `ERROR` 410 Expired when it is older than the
//! kept history), `allowWatchBookmarks` (periodic BOOKMARK events), `timeoutSeconds` (on tokio
//! time, so paused-time tests work), label and field selectors (an object leaving the selection
//! is sent as DELETED, one entering it as ADDED), and `sendInitialEvents=true` (synthetic ADDED
//! events, then a BOOKMARK annotated `k8s.io/initial-events-end`).

use crate::convert;
use crate::error::KubeApiError;
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
    rx: tokio::sync::watch::Receiver<u64>,
    cursor: u64,
    pending: Option<Bytes>,
    deadline: Instant,
    next_bookmark: Instant,
    done: bool,
    /// Column definitions were sent (Table watches send them once, like upstream).
    columns_sent: bool,
    /// The last drain stopped at [`MAX_BATCH`]: drain again before waiting.
    more: bool,
}

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
    fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.req.ns {
            if meta_str(obj, "namespace") != Some(ns.as_str()) {
                return false;
            }
        }
        self.req.labels.matches(obj) && self.req.fields.matches(obj)
    }

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
            return self.table_bytes(&change.obj);
        }
        if convert::needs_conversion(&self.req.def) {
            Bytes::from(
                serde_json::to_vec(&convert::from_storage(&self.req.def, &change.obj))
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

    /// Drains changes after the cursor. `None` when nothing matched.
    fn drain(&mut self) -> Option<Bytes> {
        let db = self.state.db().read();
        let changes =
            match db
                .store
                .changes_since_limited(&self.req.def.storage, self.cursor, MAX_BATCH)
            {
                Ok(c) => {
                    self.more = c.len() == MAX_BATCH;
                    c
                }
                Err(()) => {
                    self.done = true;
                    let oldest = db
                        .store
                        .resource_ref(&self.req.def.storage)
                        .map(|r| r.compacted)
                        .unwrap_or(0);
                    return Some(expired_line(self.cursor, oldest));
                }
            };
        drop(db);
        let mut buf = BytesMut::new();
        for c in &changes {
            self.cursor = c.rv;
            let now_in = self.matches(&c.obj);
            let ty = match c.kind {
                EventType::Added if now_in => "ADDED",
                EventType::Deleted if now_in => "DELETED",
                EventType::Modified => {
                    let was_in = c.prev.as_ref().is_some_and(|p| self.matches(p));
                    match (was_in, now_in) {
                        (true, true) => "MODIFIED",
                        (false, true) => "ADDED",
                        (true, false) => "DELETED",
                        (false, false) => continue,
                    }
                }
                _ => continue,
            };
            let bytes = self.obj_bytes(c);
            push_line(&mut buf, ty, &bytes);
        }
        if buf.is_empty() {
            None
        } else {
            Some(buf.freeze())
        }
    }
}

/// Starts a watch: takes the initial snapshot (if any) under the lock and returns the stream.
pub fn start(
    state: KubeState,
    req: WatchRequest,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    let now = Instant::now();
    let mut w = {
        let mut db = state.db().write();
        let mut rx = db.store.subscribe(&req.def.storage);
        // Changes between the requested RV and now were published before this subscription:
        // make the first poll drain the history.
        rx.mark_changed();
        let current = db.store.rv();
        let mut pending = None;
        let mut done = false;
        let cursor = match req.rv {
            Some(rv) if !req.send_initial => {
                if let Err(()) = db.store.changes_since(&req.def.storage, rv) {
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
        let mut w = W {
            state: state.clone(),
            req,
            rx,
            cursor,
            pending,
            deadline: now + Duration::ZERO,
            next_bookmark: now + BOOKMARK_INTERVAL,
            done,
            columns_sent: false,
            more: false,
        };
        if w.req.rv.is_none() || w.req.send_initial {
            let mut buf = BytesMut::new();
            let ns = w.req.ns.clone();
            let items: Vec<Arc<Change>> = db
                .store
                .list_changes(&w.req.def.storage, ns.as_deref())
                .filter(|c| w.matches(&c.obj))
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
            if w.more {
                if let Some(b) = w.drain() {
                    return Some((Ok(b), w));
                }
                continue;
            }
            let bookmarks = w.req.bookmarks;
            tokio::select! {
                biased;
                changed = w.rx.changed() => {
                    if changed.is_err() {
                        return None;
                    }
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
                        let bm = w.bookmark(w.cursor, false);
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
