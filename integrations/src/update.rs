//! Upstream's `Update` (PUT) of an object or its status, for the writes the controllers' RBAC
//! roles grant only `update` on (`replicasets/status`, `deployments`, `endpoints`,
//! `persistentvolumeclaims`, …): the object the controller read, with the change merged in and
//! its `resourceVersion` kept, is sent back; on 409 Conflict the object is read again and the
//! change re-applied, as `retry.RetryOnConflict` and the controllers' status updaters
//! (`updateReplicaSetStatus`: get the latest copy and try again) do. A conflict that outlasts
//! the retries fails the pass, and the next pass starts from the new object (the workqueue's
//! requeue).
//!
//! Upstream: kubernetes v1.32 `staging/src/k8s.io/client-go/util/retry/util.go`
//! (`RetryOnConflict`, `DefaultRetry` of 5 steps), `pkg/controller/replicaset/replica_set_utils.go`
//! (`updateReplicaSetStatus`).
//!
//! Not modelled: the backoff between attempts (there is no time between them in a pass).

use crate::context::Error;
use kube::api::{Api, PostParams};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// `DefaultRetry.Steps`.
const ATTEMPTS: usize = 5;

/// RFC 7386 JSON merge patch of `patch` into `target` (null removes a key).
pub fn merge(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Some(t) = target.as_object_mut() {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// PUTs `current` with `change` merged in (to `/status` when `status`), retrying on conflict
/// from a fresh read; the object the server answered.
pub async fn update<K>(
    api: &Api<K>,
    current: &Value,
    change: &Value,
    status: bool,
    what: &str,
) -> Result<Value, Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let name = current
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let fail = |source: kube::Error| Error::Workload {
        what: format!("update {what} {name}"),
        source: Box::new(source),
    };
    let mut base = current.clone();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut desired = base.clone();
        merge(&mut desired, change);
        let pp = PostParams::default();
        let answer = if status {
            let bytes = serde_json::to_vec(&desired).map_err(|source| Error::Build {
                what: "status update",
                source,
            })?;
            api.replace_status(&name, &pp, bytes).await
        } else {
            let typed: K = serde_json::from_value(desired).map_err(|source| Error::Build {
                what: "update",
                source,
            })?;
            api.replace(&name, &pp, &typed).await
        };
        match answer {
            Ok(obj) => {
                return serde_json::to_value(&obj).map_err(|source| Error::Build {
                    what: "updated object",
                    source,
                })
            }
            Err(kube::Error::Api(e)) if e.code == 409 && attempt < ATTEMPTS => {
                let fresh = api.get(&name).await.map_err(fail)?;
                base = serde_json::to_value(&fresh).map_err(|source| Error::Build {
                    what: "re-read object",
                    source,
                })?;
            }
            Err(e) => return Err(fail(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merge;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        merge(
            &mut t,
            &json!({"b": {"c": null, "e": 4}, "l": [3], "n": {"x": 1}}),
        );
        assert_eq!(
            t,
            json!({"a": 1, "b": {"d": 3, "e": 4}, "l": [3], "n": {"x": 1}})
        );
    }
}
