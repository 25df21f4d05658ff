//! The controllers' integration tests, one module per controller, in one test binary (one link
//! instead of eleven): each module starts from the world of `support` (in-process AWS and Kubernetes
//! APIs on a manual clock) and talks to them through `AwsClient` and `kube::Client`.

mod addons;
mod daemonset;
mod ebs;
mod endpoints;
mod identity;
mod jobs;
mod kubelet_pods;
mod nodes;
mod podgc;
mod scheduler;
mod statefulset;
mod support;
mod vpc_cni;
mod workloads;
