//! Lists: the `resourceVersion` / `resourceVersionMatch` semantics of kube-apiserver, paging by
//! `limit` / `continue` from the continue key (a `BTreeMap` range, no rescan), and consistent
//! pages: every page is served at the resourceVersion of the first one, rebuilt from the watch
//! history when writes happened in between, like an etcd read at a revision.
//!
//! - unset `resourceVersion`: the most recent state; `"0"`: any state (we serve the latest).
//! - `resourceVersion=N` (unset or `NotOlderThan` match): the latest state when N ≤ current, else
//!   504 `Timeout` "Too large resource version" with cause `ResourceVersionTooLarge`.
//! - `resourceVersionMatch=Exact`: the list as it was at N, or 410 `Expired` when N is older
//!   than the kept history.
//! - continue tokens are upstream's base64url JSON `{"v":"meta.k8s.io/v1","rv":N,"start":key}`;
//!   a token whose resourceVersion was compacted is 410 `Expired`.
//! - pods listed with `spec.nodeName=X` are served from the store's node index.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go
//! (`GetList`), storage/continue.go (`EncodeContinue`/`DecodeContinue`), storage/errors.go
//! (`NewTooLargeResourceVersionError`), storage/cacher/cacher.go (`GetList`, delegation rules),
//! apimachinery/pkg/apis/meta/internalversion/validation/validation.go (`ValidateListOptions`).
//!
//! Not modelled: upstream waits up to 3 s for a too-large resourceVersion to arrive before the
//! 504; this server is in-process and deterministic, so it answers at once. `remainingItemCount`
//! is not reported (counting the rest of a resource is O(n), which paging must not cost);
//! upstream omits it too whenever a selector is set. The 410 for a stale continue token carries
//! no fresh continue token in its metadata.

use crate::error::{Cause, KubeApiError, KubeResult};
use crate::ops::Listed;
use crate::registry::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Change, Store};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// Message of the 410 for a continue token older than the kept history.
pub const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to get the next page.";

/// Message of the 410 for an `Exact` list older than the kept history.
pub const EXACT_EXPIRED: &str = "The resourceVersion for the provided list is too old.";

/// The paging and resourceVersion options of a list request.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `limit` (0 or unset: everything).
    pub limit: Option<usize>,
    /// `continue`.
    pub cont: Option<String>,
    /// `resourceVersion`.
    pub rv: Option<String>,
    /// `resourceVersionMatch`.
    pub rv_match: Option<String>,
}

impl ListOptions {
    /// Validates the options as `ValidateListOptions` does (422 on `ListOptions.meta.k8s.io`).
    pub fn validate(&self) -> KubeResult<()> {
        let mut causes = Vec::new();
        let rv = self.rv.as_deref().unwrap_or("");
        let forbidden = |msg: &str| {
            Cause::new(
                "FieldValueForbidden",
                "resourceVersionMatch",
                format!("Forbidden: {msg}"),
            )
        };
        if let Some(m) = self.rv_match.as_deref().filter(|m| !m.is_empty()) {
            if rv.is_empty() {
                causes.push(forbidden(
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if self.cont.as_deref().is_some_and(|c| !c.is_empty()) {
                causes.push(forbidden(
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if m != "Exact" && m != "NotOlderThan" {
                causes.push(Cause::new(
                    "FieldValueNotSupported",
                    "resourceVersionMatch",
                    format!(
                        "Unsupported value: {m:?}: supported values: \"Exact\", \"NotOlderThan\", \"\""
                    ),
                ));
            }
            if m == "Exact" && rv == "0" {
                causes.push(forbidden(
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(KubeApiError::invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                causes,
            ))
        }
    }
}

/// 504 Timeout for a resourceVersion newer than the store's (`NewTooLargeResourceVersionError`).
pub fn too_large(rv: u64, current: u64) -> KubeApiError {
    KubeApiError {
        code: 504,
        reason: "Timeout",
        message: format!("Too large resource version: {rv}, current: {current}"),
        details: Some(json!({
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1
        })),
    }
}

fn parse_rv(s: &str) -> KubeResult<u64> {
    s.parse::<u64>()
        .map_err(|_| KubeApiError::bad_request(format!("invalid resource version: {s:?}")))
}

/// Encodes a continue token: the list's resourceVersion and the key after the last item.
pub fn encode_continue(rv: u64, ns: &str, name: &str, namespaced: bool) -> String {
    let start = if namespaced {
        format!("{ns}/{name}\u{0}")
    } else {
        format!("{name}\u{0}")
    };
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64url::encode(token.to_string().as_bytes())
}

/// Decodes a continue token into (resourceVersion, namespace, name of the last item).
pub fn decode_continue(token: &str, namespaced: bool) -> KubeResult<(u64, String, String)> {
    let invalid =
        |why: &str| KubeApiError::bad_request(format!("continue key is not valid: {why}"));
    let bytes = base64url::decode(token).ok_or_else(|| invalid("illegal base64 data"))?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(&format!("invalid JSON: {e}")))?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return Err(invalid(&format!(
            "server does not recognize this encoded version {:?}",
            v.get("v").and_then(Value::as_str).unwrap_or("")
        )));
    }
    let rv = v.get("rv").and_then(Value::as_u64).unwrap_or(0);
    if rv == 0 {
        return Err(invalid(
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    let start = v.get("start").and_then(Value::as_str).unwrap_or("");
    if start.is_empty() {
        return Err(invalid("encoded start key empty (version meta.k8s.io/v1)"));
    }
    let key = start.strip_suffix('\u{0}').unwrap_or(start);
    if key.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(invalid(start));
    }
    let (ns, name) = if namespaced {
        key.split_once('/').ok_or_else(|| invalid(start))?
    } else {
        ("", key)
    };
    Ok((rv, ns.to_string(), name.to_string()))
}

/// What a page reads: the resourceVersion it is served at, and where it starts.
struct Read {
    rv: u64,
    after: Option<(String, String)>,
}

fn resolve(store: &Store, def: &ResourceDef, opts: &ListOptions) -> KubeResult<Read> {
    opts.validate()?;
    let current = store.rv();
    let compacted = store
        .resource_ref(&def.storage)
        .map(|r| r.compacted)
        .unwrap_or(0);
    if let Some(token) = opts.cont.as_deref().filter(|c| !c.is_empty()) {
        if opts
            .rv
            .as_deref()
            .is_some_and(|r| !r.is_empty() && r != "0")
        {
            return Err(KubeApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let (rv, ns, name) = decode_continue(token, def.namespaced)?;
        if rv < compacted {
            return Err(KubeApiError::expired(CONTINUE_EXPIRED));
        }
        if rv > current {
            return Err(too_large(rv, current));
        }
        return Ok(Read {
            rv,
            after: Some((ns, name)),
        });
    }
    let rv = match opts.rv.as_deref().filter(|r| !r.is_empty()) {
        None | Some("0") => current,
        Some(s) => {
            let n = parse_rv(s)?;
            if n > current {
                return Err(too_large(n, current));
            }
            if opts.rv_match.as_deref() == Some("Exact") {
                if n < compacted {
                    return Err(KubeApiError::expired(EXACT_EXPIRED));
                }
                n
            } else {
                current
            }
        }
    };
    Ok(Read { rv, after: None })
}

/// The state of objects changed after `rv`: the state each had at `rv` (`None`: absent).
type Overrides = BTreeMap<(String, String), Option<Arc<Change>>>;

fn overrides(store: &Store, storage: &str, rv: u64) -> KubeResult<Overrides> {
    let mut out = Overrides::new();
    let entries = store
        .history_since(storage, rv)
        .map_err(|()| KubeApiError::expired(EXACT_EXPIRED))?;
    for e in entries {
        let c = &e.change;
        let key = (
            c.namespace().unwrap_or("").to_string(),
            c.name().unwrap_or("").to_string(),
        );
        out.entry(key).or_insert_with(|| e.before.clone());
    }
    Ok(out)
}

/// An object key and its state at the list's resourceVersion (`None`: absent then).
type Candidate<'a> = (&'a (String, String), Option<&'a Arc<Change>>);

/// Lists objects (stored form) matching the selectors, per `opts`.
pub fn list(
    store: &Store,
    def: &ResourceDef,
    ns: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
    opts: &ListOptions,
) -> KubeResult<Listed> {
    let read = resolve(store, def, opts)?;
    let limit = opts.limit.filter(|l| *l > 0);
    let empty = Listed {
        items: Vec::new(),
        rv: read.rv,
        cont: None,
        remaining: None,
    };
    let Some(r) = store.resource_ref(&def.storage) else {
        return Ok(empty);
    };
    let ov = if read.rv < store.rv() {
        overrides(store, &def.storage, read.rv)?
    } else {
        Overrides::new()
    };
    let lower = match &read.after {
        Some(k) if ns.is_some_and(|n| k.0.as_str() < n) => {
            Bound::Included((ns.unwrap_or("").to_string(), String::new()))
        }
        Some(k) => Bound::Excluded(k.clone()),
        None => match ns {
            Some(n) => Bound::Included((n.to_string(), String::new())),
            None => Bound::Unbounded,
        },
    };
    let in_scope = |k: &(String, String)| ns.is_none_or(|n| k.0 == n);
    let wanted = |c: &Change| labels.matches(&c.fields) && fields.matches(&c.fields);
    // Candidates in key order: the node index when the selector pins a pod's node and the
    // state is the latest, else the resource's objects merged with the older states.
    let node = fields
        .0
        .iter()
        .find(|f| f.equal && f.path == "spec.nodeName")
        .map(|f| f.value.as_str());
    let candidates: Box<dyn Iterator<Item = Candidate<'_>>> =
        match (node, def.storage.as_str(), ov.is_empty()) {
            (Some(node), "pods", true) => match r.by_node.get(node) {
                Some(keys) => Box::new(
                    keys.range((lower, Bound::Unbounded))
                        .map(|k| (k, r.objects.get(k))),
                ),
                None => Box::new(std::iter::empty()),
            },
            _ => Box::new(merge(
                r.objects.range((lower.clone(), Bound::Unbounded)),
                ov.range((lower, Bound::Unbounded)),
            )),
        };
    let mut items: Vec<Arc<Change>> = Vec::new();
    let mut cont = None;
    for (key, c) in candidates {
        if !in_scope(key) {
            break;
        }
        let Some(c) = c else { continue };
        if !wanted(c) {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            // One more matching item exists: the page ends at the previous one.
            if let Some(last) = items.last().cloned() {
                cont = Some(encode_continue(
                    read.rv,
                    last.namespace().unwrap_or(""),
                    last.name().unwrap_or(""),
                    def.namespaced,
                ));
            }
            break;
        }
        items.push(c.clone());
    }
    Ok(Listed {
        items,
        rv: read.rv,
        cont,
        remaining: None,
    })
}

/// Merges the current objects with the states at an older resourceVersion (which win), in key
/// order.
fn merge<'a>(
    cur: impl Iterator<Item = (&'a (String, String), &'a Arc<Change>)> + 'a,
    old: impl Iterator<Item = (&'a (String, String), &'a Option<Arc<Change>>)> + 'a,
) -> impl Iterator<Item = (&'a (String, String), Option<&'a Arc<Change>>)> + 'a {
    let mut cur = cur.peekable();
    let mut old = old.peekable();
    std::iter::from_fn(move || match (cur.peek(), old.peek()) {
        (None, None) => None,
        (Some(_), None) => cur.next().map(|(k, c)| (k, Some(c))),
        (None, Some(_)) => old.next().map(|(k, c)| (k, c.as_ref())),
        (Some((ck, _)), Some((ok, _))) => {
            if ck < ok {
                cur.next().map(|(k, c)| (k, Some(c)))
            } else {
                if ck == ok {
                    cur.next();
                }
                old.next().map(|(k, c)| (k, c.as_ref()))
            }
        }
    })
}

/// Unpadded base64url (`base64.RawURLEncoding`), the encoding of continue tokens.
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out
    }

    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let vals: Option<Vec<u32>> = s
            .bytes()
            .map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
            .collect();
        let vals = vals?;
        if vals.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(vals.len() * 3 / 4);
        for chunk in vals.chunks(4) {
            let mut n = 0u32;
            for (i, v) in chunk.iter().enumerate() {
                n |= v << (18 - 6 * i);
            }
            for i in 0..chunk.len() - 1 {
                out.push((n >> (16 - 8 * i)) as u8);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for s in ["", "a", "ab", "abc", "abcd", "{\"v\":\"meta.k8s.io/v1\"}"] {
            let e = base64url::encode(s.as_bytes());
            assert!(!e.contains('='));
            assert_eq!(base64url::decode(&e).as_deref(), Some(s.as_bytes()));
        }
        assert_eq!(base64url::encode(b"hello?"), "aGVsbG8_");
        assert_eq!(base64url::decode("zz!"), None);
    }

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = encode_continue(42, "ns", "a.b", true);
        assert_eq!(
            decode_continue(&t, true).ok(),
            Some((42, "ns".into(), "a.b".into()))
        );
        let t = encode_continue(7, "", "node-1", false);
        assert_eq!(
            decode_continue(&t, false).ok(),
            Some((7, String::new(), "node-1".into()))
        );
        assert_eq!(decode_continue("zz", true).map_err(|e| e.code), Err(400));
        let bad = base64url::encode(br#"{"v":"meta.k8s.io/v1","rv":0,"start":"a/b"}"#);
        assert_eq!(decode_continue(&bad, true).map_err(|e| e.code), Err(400));
    }
}
