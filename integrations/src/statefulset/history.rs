//! A StatefulSet's ControllerRevisions: the current and update revisions, rollback by
//! renumbering an equal revision, and the history limit.
//!
//! Upstream: kubernetes/kubernetes@v1.32.4 `pkg/controller/statefulset/stateful_set_control.go`
//! (`getStatefulSetRevisions`, `truncateHistory`), `stateful_set_utils.go` (`getPatch`,
//! `newRevision`, `ApplyRevision`, `nextRevision`) and `pkg/controller/history/controller_history.go`
//! (`NewControllerRevision`, `HashControllerRevision`, `ControllerRevisionName`,
//! `EqualRevision`, `SortControllerRevisions`).
//!
//! A revision's `data` is the patch `{"spec":{"template":{…,"$patch":"replace"}}}`; its name is
//! `<set>-<hash>`, the hash being FNV-1 (32-bit) over the data's JSON followed by the decimal
//! collision count, rendered with `rand.SafeEncodeString`, as upstream. The JSON is serde's
//! rendering of the stored template rather than Go's encoding of the typed object, so the hash
//! has upstream's shape and algorithm but not necessarily a real cluster's value.

use super::identity::{created_ms, revision_of};
use super::Summary;
use crate::workloads::{controller_ref, controller_uid, int, meta, safe_encode};
use crate::{Context, Error};
use k8s_openapi::api::apps::v1::ControllerRevision;
use serde_json::{json, Value};

/// The revisions a sync works with.
#[derive(Debug, Clone)]
pub struct Revisions {
    /// The revision pods below the partition (or all, until a rollout completes) are made from.
    pub current: Value,
    /// The revision of the set's template as it is now.
    pub update: Value,
}

impl Revisions {
    /// The current revision's name.
    pub fn current_name(&self) -> &str {
        meta(&self.current, "name")
    }

    /// The update revision's name.
    pub fn update_name(&self) -> &str {
        meta(&self.update, "name")
    }
}

/// `getPatch`: the data of a revision of `set`.
pub fn revision_data(set: &Value) -> Value {
    let mut template = set["spec"]["template"].clone();
    if let Some(t) = template.as_object_mut() {
        t.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": template}})
}

/// `ApplyRevision` reduced to what a revision holds: its pod template.
pub fn template_of(revision: &Value) -> Value {
    let mut t = revision["data"]["spec"]["template"].clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("$patch");
    }
    t
}

/// `HashControllerRevision`: FNV-1 32 over the data and the collision count.
pub fn hash(data: &Value, collision_count: i64) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let bytes = data.to_string().into_bytes();
    for b in bytes
        .iter()
        .chain(collision_count.to_string().as_bytes().iter())
    {
        h = h.wrapping_mul(0x0100_0193);
        h ^= u32::from(*b);
    }
    safe_encode(&h.to_string())
}

/// `ControllerRevisionName`: `<prefix>-<hash>`, the prefix cut to 223 characters.
pub fn revision_name(set_name: &str, hash: &str) -> String {
    let prefix: String = set_name.chars().take(223).collect();
    format!("{prefix}-{hash}")
}

/// The set's revisions (controller reference to it), sorted as `SortControllerRevisions`:
/// revision number, then creation time, then name.
pub fn owned(set: &Value, all: &[std::sync::Arc<Value>]) -> Vec<Value> {
    let uid = meta(set, "uid");
    let mut out: Vec<Value> = all
        .iter()
        .filter(|r| controller_uid(r) == Some(uid))
        .map(|r| (**r).clone())
        .collect();
    out.sort_by(|a, b| {
        (int(&a["revision"]), created_ms(a), meta(a, "name")).cmp(&(
            int(&b["revision"]),
            created_ms(b),
            meta(b, "name"),
        ))
    });
    out
}

/// `getStatefulSetRevisions`: the update revision is the last revision if it equals the set's
/// template, an older equal revision renumbered to the next number (a rollback), or a new one.
pub async fn revisions(
    ctx: &Context,
    set: &Value,
    history: &[Value],
    s: &mut Summary,
) -> Result<Revisions, Error> {
    let ns = meta(set, "namespace");
    let collision = int(&set["status"]["collisionCount"]);
    let data = revision_data(set);
    let next = history.last().map_or(1, |r| int(&r["revision"]) + 1);
    let equal = history.iter().rposition(|r| r["data"] == data);
    let update = match equal {
        Some(i) if i + 1 == history.len() => history[i].clone(),
        Some(i) => {
            let body = json!({"revision": next});
            let r = crate::workloads::patch::<ControllerRevision>(
                ctx,
                &history[i],
                &body,
                false,
                "ControllerRevision",
            )
            .await?;
            s.updated
                .push(format!("ControllerRevision {ns}/{}", meta(&r, "name")));
            s.writes += 1;
            r
        }
        None => {
            let name = revision_name(meta(set, "name"), &hash(&data, collision));
            let mut m = serde_json::Map::new();
            m.insert("name".into(), json!(name));
            m.insert("namespace".into(), json!(ns));
            if let Some(l) = set["spec"]["template"]["metadata"].get("labels") {
                m.insert("labels".into(), l.clone());
            }
            if let Some(a) = set["metadata"].get("annotations") {
                m.insert("annotations".into(), a.clone());
            }
            m.insert(
                "ownerReferences".into(),
                json!([controller_ref(set, "apps/v1", "StatefulSet")]),
            );
            let cr = json!({
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": m,
                "data": data,
                "revision": next,
            });
            let r =
                crate::workloads::create::<ControllerRevision>(ctx, ns, cr, "ControllerRevision")
                    .await?;
            s.created.push(format!("ControllerRevision {ns}/{name}"));
            s.writes += 1;
            r
        }
    };
    let current_name = set["status"]["currentRevision"]
        .as_str()
        .unwrap_or_default();
    let current = history
        .iter()
        .find(|r| meta(r, "name") == current_name && meta(r, "name") != meta(&update, "name"))
        .cloned()
        .unwrap_or_else(|| update.clone());
    Ok(Revisions { current, update })
}

/// `truncateHistory`: delete the oldest revisions no pod uses beyond `revisionHistoryLimit`.
pub async fn truncate(
    ctx: &Context,
    set: &Value,
    history: &[Value],
    pods: &[Value],
    revs: &Revisions,
    s: &mut Summary,
) -> Result<(), Error> {
    let limit = set["spec"]["revisionHistoryLimit"]
        .as_i64()
        .unwrap_or(10)
        .max(0) as usize;
    let dead: Vec<&Value> = history
        .iter()
        .filter(|r| {
            let name = meta(r, "name");
            name != revs.current_name()
                && name != revs.update_name()
                && !pods.iter().any(|p| revision_of(p) == name)
        })
        .collect();
    if dead.len() <= limit {
        return Ok(());
    }
    for r in &dead[..dead.len() - limit] {
        crate::workloads::delete::<ControllerRevision>(ctx, r, "ControllerRevision").await?;
        s.deleted.push(format!(
            "ControllerRevision {}/{}",
            meta(r, "namespace"),
            meta(r, "name")
        ));
        s.writes += 1;
    }
    Ok(())
}
