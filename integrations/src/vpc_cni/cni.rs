//! The CNI plugin `aws-cni` as the kubelet calls it when it creates a pod's sandbox: ADD asks
//! ipamd for an address of the node's datastore; with none free the sandbox fails and the
//! kubelet records `FailedCreatePodSandBox` and retries on later passes. DEL happens when the
//! pod is gone ([`super::ipamd`] releases the address into its cooldown).
//!
//! Upstream: aws/amazon-vpc-cni-k8s@v1.19.6 `cmd/routed-eni-cni-plugin/cni.go` (`add`: "add cmd:
//! failed to assign an IP address to container"), `pkg/ipamd/rpc_handler.go` (`AddNetwork`);
//! kubernetes/kubernetes@v1.32.4 `pkg/kubelet/kuberuntime/kuberuntime_manager.go`
//! (`FailedCreatePodSandBox` "Failed to create pod sandbox: %v") and containerd 1.7's
//! `failed to setup network for sandbox "<id>": plugin type="aws-cni" name="aws-cni" failed
//! (add): …`.
//!
//! Simplified: the event is recorded once per pod (the kubelet records one per retry, which
//! the event recorder folds into `count`).

use super::datastore::PodRef;
use super::ipamd::Ipamd;
use crate::{Context, Error};
use cloudbox_sim::time_fmt::rfc3339_secs;
use cloudbox_sim::IdGen;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, PostParams};
use serde_json::{json, Value};
use std::net::Ipv4Addr;

/// The event reason of a failed sandbox.
pub const FAILED_SANDBOX: &str = "FailedCreatePodSandBox";

/// Whether the cluster runs the VPC CNI (pod addresses come from ENIs).
pub fn enabled(ctx: &Context) -> bool {
    ctx.config.vpc_cni.is_some()
}

use crate::json::str_at;

/// CNI ADD for `pod` on `node`: its address (the same again for a pod that has one), None when
/// ipamd has no free address on the node (or has not set the node up yet).
pub fn add(ctx: &Context, node: &str, pod: &Value) -> Option<Ipv4Addr> {
    let pod = PodRef {
        uid: str_at(pod, "/metadata/uid").to_string(),
        namespace: str_at(pod, "/metadata/namespace").to_string(),
        name: str_at(pod, "/metadata/name").to_string(),
    };
    let now = ctx.clock.now().as_millis();
    let ipamd = ctx.memory.get::<Ipamd>();
    let mut nodes = ipamd.lock();
    let st = nodes.get_mut(node)?;
    st.ds.assign(&pod, now).map(|(ip, _)| ip)
}

/// The sandbox id containerd gives the pod (64 hex digits, derived from the seed and uid).
pub fn sandbox_id(ctx: &Context, uid: &str) -> String {
    IdGen::derived(ctx.config.seed, &format!("sandbox/{uid}")).hex(64)
}

/// The kubelet's event message when ADD finds no address.
pub fn no_address_message(sandbox: &str) -> String {
    format!(
        "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network \
         for sandbox \"{sandbox}\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add \
         cmd: failed to assign an IP address to container"
    )
}

/// The pods (uids) that got their `FailedCreatePodSandBox` event.
#[derive(Default)]
struct ReportedNoAddress(std::sync::Mutex<std::collections::BTreeSet<String>>);

/// Records the kubelet's Warning `FailedCreatePodSandBox` for `pod` on `node` unless the pod
/// has one already; true when an event was created.
pub async fn record_no_address(ctx: &Context, node: &str, pod: &Value) -> Result<bool, Error> {
    let ns = str_at(pod, "/metadata/namespace");
    let name = str_at(pod, "/metadata/name");
    let uid = str_at(pod, "/metadata/uid");
    let key = format!("{ns}/{name}");
    let api: Api<Event> = Api::namespaced(ctx.kube.clone(), ns);
    // The kubelet's own memory of the pods it already reported (listing Events per waiting pod
    // and pass would grow with the square of a burst).
    let reported = ctx.memory.get::<ReportedNoAddress>();
    {
        let mut seen = reported
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !seen.insert(uid.to_string()) {
            return Ok(false);
        }
    }
    let now = ctx.clock.now().as_millis();
    let t = rfc3339_secs(now);
    let ev = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{name}.{:x}", ctx.event_nanos(now)), "namespace": ns},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "namespace": ns,
            "name": name,
            "uid": uid,
            "resourceVersion": str_at(pod, "/metadata/resourceVersion"),
        },
        "reason": FAILED_SANDBOX,
        "message": no_address_message(&sandbox_id(ctx, uid)),
        "source": {"component": "kubelet", "host": node},
        "firstTimestamp": t,
        "lastTimestamp": t,
        "count": 1,
        "type": "Warning",
        "reportingComponent": "kubelet",
        "reportingInstance": node,
    });
    let ev: Event = serde_json::from_value(ev).map_err(|source| Error::Build {
        what: "Event",
        source,
    })?;
    match api.create(&PostParams::default(), &ev).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(source) => Err(Error::Event {
            name: key,
            source: Box::new(source),
        }),
    }
}
