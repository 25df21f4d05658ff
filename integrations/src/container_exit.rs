//! The kubelet's view of containers that exit. Simulated containers run forever unless the pod
//! says how long they run: the annotation `cloudbox.dev/run-for` (a Go duration, `10s`, `1m30s`,
//! `500ms`) makes every container exit that long after it started, with the exit code of
//! `cloudbox.dev/exit-code` (0 by default). Used by [`crate::kubelet_pods`].
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 `pkg/kubelet/kubelet_pods.go` (`getPhase`: all
//! containers terminated with `restartPolicy: Never` → Succeeded when every exit code is 0, else
//! Failed; with `OnFailure`, all exit codes 0 → Succeeded) and `pkg/kubelet/status/generate.go`
//! (Ready and ContainersReady False with reason `PodCompleted` for a terminal pod), container
//! states `terminated` with reason `Completed` (exit 0) or `Error`.
//!
//! Not modelled: exits under `restartPolicy: Always` (the annotation is ignored: such containers
//! would be restarted), restarts under `OnFailure` (a non-zero exit fails the pod as `Never`
//! would), per-container run times, `Killing`/`BackOff` events.

use cloudbox_sim::time_fmt::{parse_iso8601, rfc3339_secs};
use serde_json::{json, Value};

/// How long the pod's containers run (`10s`, `2m`, `1h30m`, `250ms`).
pub const RUN_FOR_ANNOTATION: &str = "cloudbox.dev/run-for";
/// The containers' exit code (`0` by default).
pub const EXIT_CODE_ANNOTATION: &str = "cloudbox.dev/exit-code";

/// A Go duration (`time.ParseDuration` without fractions or signs) in milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "0" {
        return Some(0);
    }
    let mut total: u64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(ms)?)?;
    }
    Some(total)
}

fn annotation<'a>(pod: &'a Value, key: &str) -> Option<&'a str> {
    pod["metadata"]["annotations"][key].as_str()
}

/// When the pod's containers exit (ms), if it runs for a set time and may exit.
pub fn exit_at(pod: &Value) -> Option<u64> {
    let policy = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always");
    if policy == "Always" {
        return None;
    }
    let run_for = parse_duration_ms(annotation(pod, RUN_FOR_ANNOTATION)?)?;
    let started = pod["status"]["containerStatuses"]
        .as_array()?
        .iter()
        .map(|c| {
            c["state"]["running"]["startedAt"]
                .as_str()
                .and_then(parse_iso8601)
        })
        .collect::<Option<Vec<u64>>>()?;
    Some(started.into_iter().max()? + run_for)
}

/// The status of a pod whose containers exited at `now`: phase Succeeded or Failed, containers
/// terminated, Ready and ContainersReady False (`PodCompleted`), the sandbox gone
/// (`PodReadyToStartContainers` False). `None` when the exit is not yet due.
pub fn exited_status(pod: &Value, now: u64) -> Option<Value> {
    let at = exit_at(pod)?;
    if at > now {
        return None;
    }
    let code: i64 = annotation(pod, EXIT_CODE_ANNOTATION)
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    let t = rfc3339_secs(at);
    let (phase, reason) = if code == 0 {
        ("Succeeded", "Completed")
    } else {
        ("Failed", "Error")
    };
    let statuses: Vec<Value> = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let mut c = c.clone();
            c["ready"] = json!(false);
            c["started"] = json!(false);
            c["state"] = json!({"terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": c["state"]["running"]["startedAt"],
                "finishedAt": t,
                "containerID": c["containerID"],
            }});
            c
        })
        .collect();
    let conditions: Vec<Value> = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let mut c = c.clone();
            let ty = c["type"].as_str().unwrap_or_default().to_string();
            let (status, reason) = match ty.as_str() {
                "PodReadyToStartContainers" => ("False", None),
                "Initialized" => ("True", Some("PodCompleted")),
                "Ready" | "ContainersReady" => ("False", Some("PodCompleted")),
                _ => return c,
            };
            if c["status"] != status {
                c["lastTransitionTime"] = json!(t);
            }
            c["status"] = json!(status);
            if let Some(o) = c.as_object_mut() {
                o.remove("message");
                match reason {
                    Some(r) => {
                        o.insert("reason".into(), json!(r));
                    }
                    None => {
                        o.remove("reason");
                    }
                }
            }
            c
        })
        .collect();
    Some(json!({
        "phase": phase,
        "conditions": conditions,
        "containerStatuses": statuses,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration_ms("10s"), Some(10_000));
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("10"), None);
        assert_eq!(parse_duration_ms("s"), None);
        assert_eq!(parse_duration_ms(""), None);
        assert_eq!(parse_duration_ms("5d"), None);
    }

    #[test]
    fn exits_only_when_due_and_not_under_always() {
        let pod = |policy: &str| {
            json!({"metadata": {"annotations": {RUN_FOR_ANNOTATION: "10s"}},
                "spec": {"restartPolicy": policy},
                "status": {"conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "c", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}})
        };
        let start = parse_iso8601("2026-01-01T00:00:00Z").unwrap_or(0);
        assert!(exited_status(&pod("Always"), start + 60_000).is_none());
        assert!(exited_status(&pod("Never"), start + 9_000).is_none());
        let s = exited_status(&pod("Never"), start + 10_000).unwrap_or_default();
        assert_eq!(s["phase"], "Succeeded");
        assert_eq!(
            s["containerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
        assert_eq!(s["conditions"][0]["reason"], "PodCompleted");
    }
}
