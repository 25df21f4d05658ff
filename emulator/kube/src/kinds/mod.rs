//! The kinds added by issue 7 §2 and their rules, one job per module, as kube-apiserver keeps
//! them in `pkg/registry/<group>/<kind>/strategy.go`, `pkg/apis/<group>/v1/defaults.go`,
//! `pkg/printers/internalversion/printers.go` and the admission plugins.
//!
//! Upstream: kubernetes/kubernetes@v1.32 — `pkg/registry/{core,apps,batch,policy,autoscaling,
//! rbac,scheduling,node,networking,certificates,admissionregistration}`,
//! `pkg/apis/{batch,autoscaling,networking,scheduling,admissionregistration}/v1/defaults.go`,
//! `plugin/pkg/admission/resourcequota`, `pkg/registry/core/pod/storage/eviction.go`,
//! `plugin/pkg/auth/authorizer/rbac`, `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`.
//!
//! - [`strategy`]: the per-kind [`strategy::Strategy`] trait (rules, Table convertor, field
//!   labels, subresources), plus the defaults, generated Job selectors and validation rules of
//!   the added kinds.
//! - [`catalog`]: the registry of strategies by (group, kind), the data-only strategies, and the
//!   store's selectable projection.
//! - Per-kind strategies: [`pods`], [`services`], [`namespaces`], [`nodes`], [`volumes`],
//!   [`replication`], [`jobs`], [`events`], [`crd`], [`certificates`].
//! - [`core_printers`]: `kubectl get` columns of the kinds served since issue 3.
//! - [`printers`]: `kubectl get` columns of the added kinds.
//! - [`hpa`]: `autoscaling/v1` ⇄ `autoscaling/v2` HorizontalPodAutoscaler conversion.
//! - [`quota`]: ResourceQuota usage and admission (`exceeded quota: …`).
//! - [`limits`]: LimitRange admission of pods (defaults, `min`/`max`).
//! - [`disruption`]: PodDisruptionBudget status and eviction admission (429).
//! - [`rbac`]: the bootstrap roles and priority classes, ClusterRole aggregation and the RBAC
//!   authorizer behind `kubectl auth can-i`.
//! - [`controller_roles`]: the `system:controller:*` roles and bindings of the bootstrap policy.
//! - [`reviews`]: the virtual, create-only review resources and `serviceaccounts/token`.
//!
//! Not modelled: LimitRange items of type Pod and PersistentVolumeClaim, quota scopes
//! and scope selectors, the CronJob and HPA controllers, CSR signing, webhook calls and
//! ValidatingAdmissionPolicy evaluation (stored only), NetworkPolicy enforcement.

pub mod admission;
pub mod catalog;
pub mod certificates;
pub mod controller_roles;
pub mod core_printers;
pub mod crd;
pub mod disruption;
pub mod events;
pub mod hpa;
pub mod jobs;
pub mod limits;
pub mod namespaces;
pub mod nodes;
pub mod pod_log;
pub mod pods;
pub mod printers;
pub mod quota;
pub mod rbac;
pub mod replication;
pub mod reviews;
pub mod services;
pub mod strategy;
pub mod volumes;
