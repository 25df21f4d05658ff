//! Per-namespace sums the store keeps up to date on every write, for the namespaces that ask
//! for them: what the ResourceQuota evaluators count (`pods`, `requests.cpu`, `count/…`),
//! so quota admission and status read a namespace's usage instead of re-reading every object
//! in it on each write (kube-apiserver's quota admission asks the evaluators for the delta of
//! one object the same way, `pkg/quota/v1/evaluator/core`).
//!
//! The store does not know what an object uses: the owner of the ledger gives it a
//! [`UsageFn`] (the quota module's `object_usage`). A namespace is tracked from the moment it
//! gets its first ResourceQuota (its objects are then counted once) until it has none.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// What one object adds to its namespace: (resource name, thousandths, written with a binary
/// suffix).
pub type Usage = Vec<(String, i128, bool)>;

/// Computes an object's [`Usage`] from its storage key and body.
pub type UsageFn = fn(&str, &Value) -> Usage;

/// A resource's total in a namespace: thousandths, and how many contributions were written
/// with a binary suffix (so `used` prints like `128Mi` while any is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Total {
    /// Sum, in thousandths.
    pub milli: i128,
    /// Contributions with a binary suffix.
    pub binary: u32,
}

/// One namespace's ledger: each object's usage and their sums.
#[derive(Debug, Default)]
pub struct Ledger {
    per_object: HashMap<(String, String), Usage>,
    totals: BTreeMap<String, Total>,
}

impl Ledger {
    /// Sets the usage of object `name` of `storage` (replacing what it used before).
    pub fn set(&mut self, storage: &str, name: &str, usage: Usage) {
        let key = (storage.to_string(), name.to_string());
        if let Some(old) = self.per_object.remove(&key) {
            self.apply(&old, -1);
        }
        if !usage.is_empty() {
            self.apply(&usage, 1);
            self.per_object.insert(key, usage);
        }
    }

    /// Forgets object `name` of `storage`.
    pub fn remove(&mut self, storage: &str, name: &str) {
        if let Some(old) = self
            .per_object
            .remove(&(storage.to_string(), name.to_string()))
        {
            self.apply(&old, -1);
        }
    }

    fn apply(&mut self, usage: &Usage, sign: i128) {
        for (k, milli, binary) in usage {
            let t = self.totals.entry(k.clone()).or_default();
            t.milli += sign * milli;
            if *binary {
                if sign > 0 {
                    t.binary += 1;
                } else {
                    t.binary = t.binary.saturating_sub(1);
                }
            }
            if t.milli == 0 && t.binary == 0 {
                self.totals.remove(k);
            }
        }
    }

    /// The namespace's totals by resource name.
    pub fn totals(&self) -> &BTreeMap<String, Total> {
        &self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_follow_every_change() {
        let mut l = Ledger::default();
        l.set(
            "pods",
            "a",
            vec![
                ("pods".into(), 1000, false),
                ("requests.memory".into(), 128 << 20, true),
            ],
        );
        l.set("pods", "b", vec![("pods".into(), 1000, false)]);
        assert_eq!(l.totals()["pods"].milli, 2000);
        // a finished: it counts no more.
        l.set("pods", "a", vec![]);
        assert_eq!(l.totals()["pods"].milli, 1000);
        assert!(!l.totals().contains_key("requests.memory"));
        l.remove("pods", "b");
        l.remove("pods", "b");
        assert!(l.totals().is_empty());
    }
}
