//! `pods/{name}/log`: the simulated application's log, and the answer of the streaming
//! subresources (`exec`, `attach`, `portforward`) that need a container runtime.
//!
//! cloudbox runs no processes, so a running container's log is a fixed, documented text that
//! says what would have run (one line per fact, see docs/kube-api.md). The errors for
//! containers that cannot have a log follow the kubelet's wording.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/registry/core/pod/rest/log.go`,
//! `pkg/registry/core/pod/strategy.go` (`LogLocation`, `validateContainer`),
//! `pkg/kubelet/kubelet_pods.go` (`validateContainerLogStatus`).
//!
//! Not modelled: `sinceSeconds`, `sinceTime`, `limitBytes` and `follow` (the log is returned at
//! once and the stream ends).

use crate::error::{KubeApiError, KubeResult};
use serde_json::Value;

fn names(pod: &Value, list: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The log text of a container of `pod` for the query parameters `container`, `previous`,
/// `timestamps` and `tailLines`.
pub fn log(
    pod: &Value,
    container: Option<&str>,
    previous: bool,
    timestamps: bool,
    tail: Option<usize>,
) -> KubeResult<String> {
    let pname = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let containers = names(pod, "containers");
    let all: Vec<String> = containers
        .iter()
        .chain(names(pod, "initContainers").iter())
        .chain(names(pod, "ephemeralContainers").iter())
        .cloned()
        .collect();
    let cname = match container {
        Some(c) if !c.is_empty() => {
            if !all.iter().any(|x| x == c) {
                return Err(KubeApiError::bad_request(format!(
                    "container {c} is not valid for pod {pname}"
                )));
            }
            c.to_string()
        }
        _ if containers.len() == 1 => containers[0].clone(),
        _ => {
            return Err(KubeApiError::bad_request(format!(
                "a container name must be specified for pod {pname}, choose one of: [{}]",
                all.join(" ")
            )))
        }
    };
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        return Err(KubeApiError::bad_request(format!(
            "pod {pname} does not have a host assigned"
        )));
    }
    let status = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|l| {
        pod.pointer(&format!("/status/{l}"))
            .and_then(Value::as_array)
    })
    .flatten()
    .find(|s| s.get("name").and_then(Value::as_str) == Some(cname.as_str()));
    if previous {
        let prev = status.and_then(|s| s.pointer("/lastState/terminated"));
        if prev.is_none() {
            return Err(KubeApiError::bad_request(format!(
                "previous terminated container \"{cname}\" in pod \"{pname}\" not found"
            )));
        }
    }
    let started = status.and_then(|s| {
        s.pointer("/state/running/startedAt")
            .or_else(|| s.pointer("/state/terminated/startedAt"))
            .and_then(Value::as_str)
    });
    let Some(started) = started else {
        let reason = status
            .and_then(|s| s.pointer("/state/waiting/reason"))
            .and_then(Value::as_str)
            .unwrap_or("ContainerCreating");
        return Err(KubeApiError::bad_request(format!(
            "container \"{cname}\" in pod \"{pname}\" is waiting to start: {reason}"
        )));
    };
    let image = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|l| pod.pointer(&format!("/spec/{l}")).and_then(Value::as_array))
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(cname.as_str()))
        .and_then(|c| c.get("image").and_then(Value::as_str))
        .unwrap_or("");
    let mut lines = vec![
        format!("cloudbox: simulated container \"{cname}\" of pod {ns}/{pname}"),
        format!("cloudbox: image {image} started at {started} on node {node}"),
        "cloudbox: no process runs in a simulated container, so it writes no output".to_string(),
    ];
    if let Some(done) = status
        .and_then(|s| s.pointer("/state/terminated"))
        .filter(|t| t.is_object())
    {
        lines.push(format!(
            "cloudbox: exited with code {} ({}) at {}",
            done.get("exitCode").and_then(Value::as_i64).unwrap_or(0),
            done.get("reason").and_then(Value::as_str).unwrap_or(""),
            done.get("finishedAt").and_then(Value::as_str).unwrap_or("")
        ));
    }
    if timestamps {
        let ts = started.trim_end_matches('Z');
        lines = lines
            .into_iter()
            .map(|l| format!("{ts}.000000000Z {l}"))
            .collect();
    }
    if let Some(n) = tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}

/// The answer to `pods/{name}/exec|attach|portforward`: 400 naming what is not simulated.
pub fn stream_refused(sub: &str, pod: &str) -> KubeApiError {
    KubeApiError::bad_request(format!(
        "pods/{sub} is not simulated by cloudbox: pod \"{pod}\" has no container runtime behind it (no process runs, so there is nothing to {})",
        match sub {
            "exec" => "execute a command in",
            "attach" => "attach to",
            _ => "forward ports to",
        }
    ))
}
