//! Models of the real controllers that join Kubernetes and AWS, one module per upstream component.
//!
//! Each controller exposes `reconcile_once(&Context) -> Result<Summary, Error>`: one deterministic
//! pass that reads AWS through [`cloudbox_aws::AwsClient`] and Kubernetes through [`kube::Client`]
//! and writes only what differs. There are no background tasks and no sleeps: a driver (the
//! scenario runner) calls each pass on every virtual-time step. Kubernetes objects are read from
//! the shared informer caches ([`cache`], `ctx.cache.list::<Pod>()`), written through
//! `ctx.kube`; a controller's own in-process state lives in `ctx.memory`.
//!
//! - [`kubelet_node`]: the kubelet's node registration, node status and Lease heartbeats;
//! - [`cloud_node`]: cloud-provider-aws's node lifecycle controller (stopped and terminated
//!   instances);
//! - [`kubelet_pods`]: the kubelet's pod lifecycle (accept, pull, start, ready, graceful delete).
//! - [`node_match`]: node selector, node affinity and toleration predicates they share.
//! - [`scheduler`]: kube-scheduler's default plugins (filters, LeastAllocated score, binding,
//!   FailedScheduling events).
//! - [`workloads`]: kube-controller-manager's Deployment and ReplicaSet controllers.
//! - [`daemonset`]: kube-controller-manager's DaemonSet controller.
//! - [`ebs`]: EBS volumes for PersistentVolumeClaims (PV controller, external-provisioner,
//!   attach/detach, external-attacher, the kubelet's volume manager, expansion, and the
//!   scheduler's volume filters) with the aws-ebs-csi-driver.
//! - [`taint_eviction`]: kube-controller-manager's NoExecute taint eviction controller.
//! - [`statefulset`]: kube-controller-manager's StatefulSet controller.
//! - [`podgc`]: kube-controller-manager's pod garbage collector.
//! - [`job`]: kube-controller-manager's Job and TTL-after-finished controllers; containers exit
//!   as [`container_exit`] says.
//! - [`serviceaccounts`]: kube-controller-manager's ServiceAccounts controller (`default` in
//!   every namespace).
//! - [`vpc_cni`]: the Amazon VPC CNI (ipamd's warm pool of ENIs and addresses, the CNI plugin).
//! - [`identity`]: who each controller calls the API as (kube-controller-manager's
//!   `--use-service-account-credentials`: a bound token per kube-system ServiceAccount, renewed on
//!   the simulation clock; the scheduler as `system:kube-scheduler`), through
//!   [`Context::as_account`]; [`update`]: the PUT-with-conflict-retry writes their roles allow;
//!   [`charts`]: the add-ons' Helm chart RBAC (cloud-controller-manager, the EBS CSI controller,
//!   aws-node) their controllers call under ([`Context::as_addon`]).

pub mod cache;
pub mod charts;
pub mod cloud_node;
pub mod container_exit;
mod context;
pub mod daemonset;
pub mod ebs;
pub mod endpoints;
pub mod identity;
mod instances;
pub mod job;
pub mod json;
pub mod kubelet_node;
pub mod kubelet_pods;
pub mod node_match;
pub mod podgc;
pub mod scheduler;
pub mod serviceaccounts;
pub mod statefulset;
pub mod taint_eviction;
pub mod update;
pub mod vpc_cni;
pub mod workloads;

pub use context::{Config, Context, Error, MaxPods, Memory};
pub use identity::Account;
