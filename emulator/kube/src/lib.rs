//! cloudbox's embedded Kubernetes API server.
//!
//! A faithful-enough kube-apiserver for kubectl 1.32 and kube-rs, with no etcd: objects are
//! `serde_json::Value`s in an in-memory [`store`], described by a [`registry`] of kinds, and
//! served over the real REST protocol by an axum [`Router`] ([`app`]). The same router runs
//! in-process as a `tower::Service` (`kube::Client::new(cloudbox_kube::app(state), "default")`)
//! or over HTTP ([`serve`]).
//!
//! Layout: [`handlers`] (HTTP → operations) call [`ops`] (API semantics, split by job: read,
//! create, update, delete, subresources, garbage collection) over [`store`] (objects,
//! resourceVersions, history); a kind's rules live in its strategy ([`kinds::strategy::Strategy`],
//! one file per kind under [`kinds`]), which `ops` looks up instead of naming kinds; [`watch`]
//! streams changes; [`patch`] implements the four patch types; [`typed`], [`defaults`] and
//! [`validation`] decode, default and check built-in kinds; [`discovery`], [`openapi`] and [`table`] answer kubectl's metadata requests;
//! [`convert`] maps legacy versions to stored ones; [`alloc`] hands out Service addresses.

pub mod alloc;
pub mod convert;
pub mod defaults;
pub mod discovery;
pub mod error;
pub mod fanout;
pub mod handlers;
pub mod kinds;
pub mod ledger;
pub mod list;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod patch;
pub mod registry;
pub mod schema;
pub mod selectors;
pub mod store;
pub mod table;
pub mod typed;
pub mod validation;
pub mod watch;

use axum::Router;
use cloudbox_sim::Clock;
use parking_lot::RwLock;
use std::future::Future;
use std::sync::Arc;

pub use error::{KubeApiError, KubeResult};

/// Kubernetes version reported by `/version`.
pub const KUBE_VERSION: &str = "v1.32.4";

/// Default cap on changes kept per resource for watch resumption. The real bound is the byte
/// budget over all resources ([`store::HISTORY_BYTES`]); this cap only matters when set lower
/// (tests use a few changes to reach 410 Expired).
pub const DEFAULT_HISTORY: usize = usize::MAX;

struct Inner {
    db: RwLock<ops::Db>,
    /// The served registry, published by the store on every change ([`KubeState::registry`]).
    registry: Arc<RwLock<Arc<registry::Registry>>>,
    clock: Clock,
    token: Option<String>,
    metrics: metrics::Metrics,
    authorization: Authorization,
}

/// How requests of authenticated service accounts are authorized (the kubeconfig user is
/// `system:masters` and always allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authorization {
    /// kube-apiserver's `--authorization-mode=RBAC`: service-account tokens get what their
    /// Roles and ClusterRoles grant, else 403.
    #[default]
    Rbac,
    /// `--authorization-mode=AlwaysAllow`: every authenticated request is allowed.
    AlwaysAllow,
}

/// The API server's shared state. Cheap to clone; clones share the same objects.
#[derive(Clone)]
pub struct KubeState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KubeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeState").finish_non_exhaustive()
    }
}

impl KubeState {
    /// A fresh cluster (namespaces default, kube-system, kube-public, kube-node-lease and the
    /// `kubernetes` Service) on `clock`, with uids and addresses drawn from `seed`.
    pub fn new(clock: Clock, seed: u64) -> KubeState {
        Self::with_options(clock, seed, None, DEFAULT_HISTORY)
    }

    /// Like [`KubeState::new`], requiring `Authorization: Bearer <token>` when `token` is set,
    /// and keeping at most `history` changes per resource for watches (within the byte budget).
    pub fn with_options(
        clock: Clock,
        seed: u64,
        token: Option<String>,
        history: usize,
    ) -> KubeState {
        Self::with_authorization(clock, seed, token, history, Authorization::Rbac)
    }

    /// Like [`KubeState::with_options`], choosing how service-account requests are authorized.
    pub fn with_authorization(
        clock: Clock,
        seed: u64,
        token: Option<String>,
        history: usize,
        authorization: Authorization,
    ) -> KubeState {
        let db = ops::Db::new(seed, clock.now(), history);
        let registry = db.published_registry();
        KubeState {
            inner: Arc::new(Inner {
                registry,
                db: RwLock::new(db),
                clock,
                token,
                metrics: metrics::Metrics::default(),
                authorization,
            }),
        }
    }

    /// The served resources as of the last committed write, read without the store's lock (a
    /// request resolves its resource before it needs the store).
    pub fn registry(&self) -> Arc<registry::Registry> {
        self.inner.registry.read().clone()
    }

    /// The simulation clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The required bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.inner.token.as_deref()
    }

    /// The authorization mode.
    pub fn authorization(&self) -> Authorization {
        self.inner.authorization
    }

    /// The request counters served at `/metrics`.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn db(&self) -> &RwLock<ops::Db> {
        &self.inner.db
    }

    /// The latest resourceVersion (for tests and diagnostics).
    pub fn resource_version(&self) -> u64 {
        self.inner.db.read().store.rv()
    }
}

/// The API server as an axum `Router` (also a `tower::Service` for in-process clients).
pub fn app(state: KubeState) -> Router {
    handlers::routes(state)
}

/// Serves the API over plain HTTP on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: KubeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A kubeconfig for `server_url` (plain HTTP) with cluster, context and user named `cloudbox`.
pub fn kubeconfig_yaml(server_url: &str, token: Option<&str>) -> String {
    let user = match token {
        Some(t) => format!("    token: {t}\n"),
        None => "    {}\n".to_string(),
    };
    let user = if token.is_some() {
        format!("  user:\n{user}")
    } else {
        "  user: {}\n".to_string()
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: cloudbox\n  cluster:\n    server: {server_url}\ncontexts:\n- name: cloudbox\n  context:\n    cluster: cloudbox\n    user: cloudbox\n    namespace: default\ncurrent-context: cloudbox\nusers:\n- name: cloudbox\n{user}preferences: {{}}\n"
    )
}
