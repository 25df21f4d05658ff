//! ResourceQuota: usage computed for a namespace (what the resourcequota controller writes to
//! `status`) and the admission check on create (`plugin/pkg/admission/resourcequota`), with
//! upstream's `exceeded quota: <name>, requested: …, used: …, limited: …` and
//! `failed quota: <name>: must specify …` messages.
//!
//! Tracked resources: `pods`, `cpu`/`requests.cpu`, `memory`/`requests.memory`, `limits.cpu`,
//! `limits.memory` (sums over the containers of non-terminal pods), `requests.storage` (claims),
//! `services`, `services.loadbalancers`, `services.nodeports`, `configmaps`, `secrets`,
//! `persistentvolumeclaims`, `replicationcontrollers`, `resourcequotas`, and object counts
//! `count/<resource>[.<group>]`.
//!
//! Upstream: kubernetes/kubernetes@v1.32 `pkg/quota/v1/evaluator/core/{pods,services,
//! persistent_volume_claims}.go`, `pkg/quota/v1/generic/evaluator.go`,
//! `staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go`.
//!
//! Not modelled: quota scopes and scopeSelector, init-container maxima (containers are summed),
//! extended resources, the controller's resync delay (usage is up to date after every write:
//! the store keeps each namespace with a quota in a ledger, [`crate::ledger`], updated by the
//! one object a write changes).

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A quantity in thousandths of its unit, remembering whether it was written with a binary
/// suffix (so `used` prints as `128Mi` like the hard limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quantity {
    /// Value × 1000.
    pub milli: i128,
    /// Written with Ki/Mi/Gi/... suffix.
    pub binary: bool,
}

/// Parses a Kubernetes quantity (`500m`, `2`, `1.5`, `128Mi`, `1G`).
pub fn parse_quantity(s: &str) -> Option<Quantity> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let (mult_num, mult_den, binary): (i128, i128, bool) = match suffix {
        "" => (1000, 1, false),
        "n" => (1, 1_000_000, false),
        "u" => (1, 1000, false),
        "m" => (1, 1, false),
        "k" => (1_000_000, 1, false),
        "M" => (1_000_000_000, 1, false),
        "G" => (1_000_000_000_000, 1, false),
        "T" => (1_000_000_000_000_000, 1, false),
        "P" => (1_000_000_000_000_000_000, 1, false),
        "Ki" => (1000 << 10, 1, true),
        "Mi" => (1000 << 20, 1, true),
        "Gi" => (1000 << 30, 1, true),
        "Ti" => (1000 << 40, 1, true),
        "Pi" => (1000 << 50, 1, true),
        _ => return None,
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let neg = int.starts_with('-');
    let int: i128 = int.trim_start_matches(['+', '-']).parse().ok().or(
        if int.is_empty() || int == "-" || int == "+" {
            Some(0)
        } else {
            None
        },
    )?;
    let mut milli = int * mult_num / mult_den;
    if !frac.is_empty() {
        let digits: i128 = frac.parse().ok()?;
        let scale = 10i128.checked_pow(frac.len() as u32)?;
        milli += digits * mult_num / mult_den / scale;
    }
    Some(Quantity {
        milli: if neg { -milli } else { milli },
        binary,
    })
}

/// Formats a quantity canonically: `0`, `500m`, `2`, `128Mi`, `1500k`.
pub fn format_quantity(q: Quantity) -> String {
    let m = q.milli;
    if m == 0 {
        return "0".into();
    }
    if m % 1000 != 0 {
        return format!("{m}m");
    }
    let v = m / 1000;
    if q.binary {
        for (suffix, shift) in [
            ("Ei", 60),
            ("Pi", 50),
            ("Ti", 40),
            ("Gi", 30),
            ("Mi", 20),
            ("Ki", 10),
        ] {
            let unit = 1i128 << shift;
            if v % unit == 0 {
                return format!("{}{suffix}", v / unit);
            }
        }
        return v.to_string();
    }
    for (suffix, unit) in [
        ("E", 1_000_000_000_000_000_000i128),
        ("P", 1_000_000_000_000_000),
        ("T", 1_000_000_000_000),
        ("G", 1_000_000_000),
        ("M", 1_000_000),
        ("k", 1000),
    ] {
        if v % unit == 0 {
            return format!("{}{suffix}", v / unit);
        }
    }
    v.to_string()
}

fn count(n: i128) -> Quantity {
    Quantity {
        milli: n * 1000,
        binary: false,
    }
}

fn add(usage: &mut BTreeMap<String, Quantity>, k: &str, q: Quantity) {
    let e = usage.entry(k.to_string()).or_default();
    e.milli += q.milli;
    e.binary |= q.binary;
}

/// Whether a pod counts against quota (not Succeeded/Failed).
fn pod_counts(pod: &Value) -> bool {
    !matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// The quota resources one object uses: its kind's counters and, for pods and claims, their
/// compute and storage requests. `storage` is the storage key (`pods`, `apps/deployments`).
pub fn object_usage(storage: &str, obj: &Value) -> BTreeMap<String, Quantity> {
    let mut u = BTreeMap::new();
    let (group, plural) = storage.split_once('/').unwrap_or(("", storage));
    let count_key = if group.is_empty() {
        format!("count/{plural}")
    } else {
        format!("count/{plural}.{group}")
    };
    if storage == "pods" && !pod_counts(obj) {
        return u;
    }
    add(&mut u, &count_key, count(1));
    if group.is_empty()
        && matches!(
            plural,
            "pods"
                | "services"
                | "configmaps"
                | "secrets"
                | "persistentvolumeclaims"
                | "replicationcontrollers"
                | "resourcequotas"
        )
    {
        add(&mut u, plural, count(1));
    }
    match storage {
        "pods" => {
            let cs = obj
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for c in cs {
                for (section, prefix) in [("requests", "requests"), ("limits", "limits")] {
                    for res in ["cpu", "memory", "ephemeral-storage"] {
                        let q = c
                            .pointer(&format!("/resources/{section}/{res}"))
                            .and_then(Value::as_str)
                            .and_then(parse_quantity);
                        // A limit without a request is also the request (upstream defaulting).
                        let q = q.or_else(|| {
                            (section == "requests")
                                .then(|| {
                                    c.pointer(&format!("/resources/limits/{res}"))
                                        .and_then(Value::as_str)
                                        .and_then(parse_quantity)
                                })
                                .flatten()
                        });
                        if let Some(q) = q {
                            add(&mut u, &format!("{prefix}.{res}"), q);
                            if section == "requests" {
                                add(&mut u, res, q);
                            }
                        }
                    }
                }
            }
        }
        "services" => {
            match obj.pointer("/spec/type").and_then(Value::as_str) {
                Some("LoadBalancer") => {
                    add(&mut u, "services.loadbalancers", count(1));
                }
                Some("NodePort") => {}
                _ => return u,
            }
            let ports = obj
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            add(&mut u, "services.nodeports", count(ports as i128));
        }
        "persistentvolumeclaims" => {
            if let Some(q) = obj
                .pointer("/spec/resources/requests/storage")
                .and_then(Value::as_str)
                .and_then(parse_quantity)
            {
                add(&mut u, "requests.storage", q);
            }
        }
        _ => {}
    }
    u
}

/// [`object_usage`] as a [`crate::ledger::Usage`] (what the store's namespace ledgers sum).
pub fn ledger_usage(storage: &str, obj: &Value) -> crate::ledger::Usage {
    object_usage(storage, obj)
        .into_iter()
        .map(|(k, q)| (k, q.milli, q.binary))
        .collect()
}

/// The usage of `hard`'s resources from a namespace ledger's totals (what [`used_for`]
/// computes from every object).
pub fn used_from_ledger(
    hard: &Map<String, Value>,
    totals: &BTreeMap<String, crate::ledger::Total>,
) -> BTreeMap<String, Quantity> {
    hard.keys()
        .map(|k| {
            let t = totals.get(k).copied().unwrap_or_default();
            let hard_binary = hard
                .get(k)
                .and_then(Value::as_str)
                .and_then(parse_quantity)
                .is_some_and(|q| q.binary);
            let q = Quantity {
                milli: t.milli,
                binary: t.binary > 0 || hard_binary,
            };
            (k.clone(), q)
        })
        .collect()
}

/// Whether a pod lacks a request or limit a quota constrains (`must specify …`).
fn missing_compute(pod: &Value, hard: &Map<String, Value>) -> Vec<String> {
    let cs = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut missing = Vec::new();
    for key in hard.keys() {
        let (section, res) = match key.as_str() {
            "cpu" | "requests.cpu" => ("requests", "cpu"),
            "memory" | "requests.memory" => ("requests", "memory"),
            "limits.cpu" => ("limits", "cpu"),
            "limits.memory" => ("limits", "memory"),
            _ => continue,
        };
        let lacks = cs.iter().any(|c| {
            c.pointer(&format!("/resources/{section}/{res}")).is_none()
                && c.pointer(&format!("/resources/limits/{res}")).is_none()
        });
        if lacks && !missing.contains(key) {
            missing.push(key.clone());
        }
    }
    missing.sort();
    missing
}

/// The usage of `hard`'s resources in a namespace, given every object there.
pub fn used_for<'a>(
    hard: &Map<String, Value>,
    objects: impl Iterator<Item = (&'a str, &'a Value)>,
) -> BTreeMap<String, Quantity> {
    let mut total = BTreeMap::new();
    for (storage, o) in objects {
        for (k, q) in object_usage(storage, o) {
            if hard.contains_key(&k) {
                add(&mut total, &k, q);
            }
        }
    }
    for k in hard.keys() {
        let binary = hard
            .get(k)
            .and_then(Value::as_str)
            .and_then(parse_quantity)
            .is_some_and(|q| q.binary);
        let e = total.entry(k.clone()).or_default();
        e.binary |= binary;
    }
    total
}

/// The quota's status from its spec and the computed usage.
pub fn status(quota: &Value, used: &BTreeMap<String, Quantity>) -> Value {
    let hard = quota.pointer("/spec/hard").cloned().unwrap_or(json!({}));
    let used: Map<String, Value> = used
        .iter()
        .map(|(k, q)| (k.clone(), json!(format_quantity(*q))))
        .collect();
    json!({"hard": hard, "used": used})
}

fn pretty(m: &BTreeMap<String, Quantity>) -> String {
    m.iter()
        .map(|(k, q)| format!("{k}={}", format_quantity(*q)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Admission of a new object against one quota: `Err(reason)` when it would exceed it (the
/// reason is the text after `is forbidden: `).
pub fn admit(
    quota: &Value,
    used: &BTreeMap<String, Quantity>,
    storage: &str,
    obj: &Value,
) -> Result<(), String> {
    let qname = quota
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(hard) = quota.pointer("/spec/hard").and_then(Value::as_object) else {
        return Ok(());
    };
    if storage == "pods" && pod_counts(obj) {
        let missing = missing_compute(obj, hard);
        if !missing.is_empty() {
            return Err(format!(
                "failed quota: {qname}: must specify {}",
                missing.join(",")
            ));
        }
    }
    let delta = object_usage(storage, obj);
    let (mut req, mut cur, mut lim) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (k, d) in &delta {
        let Some(h) = hard.get(k).and_then(Value::as_str).and_then(parse_quantity) else {
            continue;
        };
        let u = used.get(k).copied().unwrap_or_default();
        if u.milli + d.milli > h.milli {
            req.insert(k.clone(), *d);
            cur.insert(
                k.clone(),
                Quantity {
                    binary: h.binary || u.binary,
                    ..u
                },
            );
            lim.insert(k.clone(), h);
        }
    }
    if req.is_empty() {
        return Ok(());
    }
    Err(format!(
        "exceeded quota: {qname}, requested: {}, used: {}, limited: {}",
        pretty(&req),
        pretty(&cur),
        pretty(&lim)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_round_trip() {
        let q = |s: &str| parse_quantity(s).map(format_quantity);
        assert_eq!(q("500m").as_deref(), Some("500m"));
        assert_eq!(q("1.5").as_deref(), Some("1500m"));
        assert_eq!(q("128Mi").as_deref(), Some("128Mi"));
        assert_eq!(q("2").as_deref(), Some("2"));
        assert_eq!(q("1G").as_deref(), Some("1G"));
        assert_eq!(q("x"), None);
    }
}
