//! `/metrics` in the Prometheus text format: kube-apiserver's request counter
//! `apiserver_request_total` (labels `code`, `component`, `dry_run`, `group`, `resource`,
//! `scope`, `subresource`, `verb`, `version`, as upstream names them), the stored-object gauge
//! `apiserver_storage_objects` and `kubernetes_build_info`.
//!
//! Upstream: kubernetes/kubernetes@v1.32
//! `staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go` (`requestCounter`,
//! `CleanVerb`, `CleanScope`) and `staging/src/k8s.io/apiserver/pkg/storage/etcd3/metrics`.
//!
//! Not modelled: latency histograms, inflight gauges and every other apiserver metric; the
//! `dry_run` label is always empty.

use crate::ops::Db;
use http::Method;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Label values of one request counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    code: u16,
    group: String,
    resource: String,
    scope: &'static str,
    subresource: String,
    verb: &'static str,
    version: String,
}

/// The request counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<Labels, u64>>,
}

fn classify(method: &Method, path: &str, code: u16) -> Option<Labels> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (rest, watch_path) = match rest {
        ["watch", r @ ..] => (r, true),
        r => (r, false),
    };
    let (ns, rest) = match rest {
        ["namespaces", ns, r @ ..] if !r.is_empty() => (Some(*ns), r),
        r => (None, r),
    };
    let (resource, name, sub) = match rest {
        [r] => (*r, None, ""),
        [r, n] => (*r, Some(*n), ""),
        [r, n, s] => (*r, Some(*n), *s),
        _ => return None,
    };
    let scope = match (ns, name) {
        (_, Some(_)) => "resource",
        (Some(_), None) => "namespace",
        (None, None) => "cluster",
    };
    let verb = match *method {
        Method::GET if watch_path => "WATCH",
        Method::GET if name.is_none() => "LIST",
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE if name.is_none() => "DELETECOLLECTION",
        Method::DELETE => "DELETE",
        _ => return None,
    };
    let (scope, resource) = if resource == "namespaces" && ns.is_none() && name.is_some() {
        ("resource", resource)
    } else {
        (scope, resource)
    };
    Some(Labels {
        code,
        group: group.to_string(),
        resource: resource.to_string(),
        scope,
        subresource: sub.to_string(),
        verb,
        version: version.to_string(),
    })
}

impl Metrics {
    /// Counts one answered request (watches are counted when they end, like upstream).
    pub fn record(&self, method: &Method, path: &str, code: u16) {
        if let Some(l) = classify(method, path, code) {
            *self.requests.lock().entry(l).or_insert(0) += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self, db: &Db) -> String {
        let mut out = String::new();
        out.push_str("# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n# TYPE apiserver_request_total counter\n");
        for (l, n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{}\",component=\"apiserver\",dry_run=\"\",group=\"{}\",resource=\"{}\",scope=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"}} {n}",
                l.code, l.group, l.resource, l.scope, l.subresource, l.verb, l.version
            );
        }
        out.push_str("# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.\n# TYPE apiserver_storage_objects gauge\n");
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for d in db.registry.all().filter(|d| d.preferred) {
            let n = db.store.list_changes(&d.storage, None).count();
            let name = if d.group.is_empty() {
                d.plural.clone()
            } else {
                format!("{}.{}", d.plural, d.group)
            };
            counts.insert(name, n);
        }
        for (r, n) in counts {
            let _ = writeln!(out, "apiserver_storage_objects{{resource=\"{r}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP kubernetes_build_info [ALPHA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.\n# TYPE kubernetes_build_info gauge\nkubernetes_build_info{{build_date=\"2026-01-01T00:00:00Z\",compiler=\"gc\",git_commit=\"cloudbox\",git_tree_state=\"clean\",git_version=\"{}\",go_version=\"go1.23.6\",major=\"1\",minor=\"32\",platform=\"linux/amd64\"}} 1",
            crate::KUBE_VERSION
        );
        out
    }
}
