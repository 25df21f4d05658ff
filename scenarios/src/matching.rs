//! Chainsaw-style matching of an expected partial object (an assertion tree) against an actual
//! JSON value.
//!
//! - A map matches when every expected key matches (keys the expected map does not name are
//!   ignored). A missing actual key matches only an expected `null`.
//! - A key in parentheses, `(length(status.addresses))`, is a JMESPath expression evaluated over
//!   the actual value at that level; its result is matched against the expected value.
//! - A list matches when each expected element matches a distinct actual element (any order;
//!   extra actual elements are allowed).
//! - Scalars are equal: numbers numerically (`3` = `3.0`), strings, booleans and `null` by
//!   value; a string never equals a number (`"30"` ≠ `30`, as kyverno-json's comparison).
//!
//! [`diff`] gives the paths that differ; [`closest`] picks, among candidates, the one with the
//! fewest differences (what a failure message shows).

use serde_json::Value;
use std::fmt;

/// One difference between expected and actual.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where, as `spec.containers[0].image` (expression keys kept in parentheses).
    pub path: String,
    /// What was expected there.
    pub expected: Value,
    /// What was there (`None`: the key is absent).
    pub actual: Option<Value>,
    /// Why, when more than "not equal" (a JMESPath error, no distinct element).
    pub note: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(f, "{path}: expected {}", compact(&self.expected))?;
        match &self.actual {
            Some(a) => write!(f, ", actual {}", compact(a))?,
            None => write!(f, ", actual: absent")?,
        }
        if let Some(n) = &self.note {
            write!(f, " ({n})")?;
        }
        Ok(())
    }
}

/// A value on one line, cut at 200 characters.
pub fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Whether `actual` matches the partial object `expected`.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    diff(expected, actual).is_empty()
}

/// Every difference between `expected` and `actual`; empty when they match.
pub fn diff(expected: &Value, actual: &Value) -> Vec<Mismatch> {
    let mut out = Vec::new();
    walk(expected, Some(actual), "", &mut out);
    out
}

/// Among `candidates`, the one with the fewest differences from `expected`, with them
/// (`None` when there are no candidates).
pub fn closest<'a>(
    expected: &Value,
    candidates: &'a [Value],
) -> Option<(&'a Value, Vec<Mismatch>)> {
    candidates
        .iter()
        .map(|c| (c, diff(expected, c)))
        .min_by_key(|(_, d)| d.len())
}

/// Evaluates a JMESPath expression over `data`.
pub fn jmespath(expr: &str, data: &Value) -> Result<Value, String> {
    let compiled = jmespath::compile(expr).map_err(|e| format!("invalid JMESPath: {e}"))?;
    let result = compiled
        .search(data)
        .map_err(|e| format!("JMESPath error: {e}"))?;
    serde_json::to_value(&*result).map_err(|e| e.to_string())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(expected: &Value, actual: Option<&Value>, path: &str, out: &mut Vec<Mismatch>) {
    let miss = |note: Option<String>| Mismatch {
        path: path.to_string(),
        expected: expected.clone(),
        actual: actual.cloned(),
        note,
    };
    match expected {
        Value::Object(exp) => {
            let Some(Value::Object(act)) = actual else {
                out.push(miss(None));
                return;
            };
            let whole = actual.cloned().unwrap_or(Value::Null);
            for (k, v) in exp {
                let p = join(path, k);
                if k.len() >= 2 && k.starts_with('(') && k.ends_with(')') {
                    match jmespath(&k[1..k.len() - 1], &whole) {
                        Ok(result) => walk(v, Some(&result), &p, out),
                        Err(e) => out.push(Mismatch {
                            path: p,
                            expected: v.clone(),
                            actual: None,
                            note: Some(e),
                        }),
                    }
                } else {
                    walk(v, act.get(k), &p, out);
                }
            }
        }
        Value::Array(exp) => {
            let Some(Value::Array(act)) = actual else {
                out.push(miss(None));
                return;
            };
            let ok: Vec<Vec<bool>> = exp
                .iter()
                .map(|e| act.iter().map(|a| matches(e, a)).collect())
                .collect();
            if assign(&ok, 0, &mut vec![false; act.len()]) {
                return;
            }
            // Report each expected element against its closest actual element; when each has
            // a match but not a distinct one, say so.
            let before = out.len();
            for (i, e) in exp.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if ok[i].iter().any(|b| *b) {
                    continue;
                }
                match closest(e, act) {
                    Some((_, d)) => out.extend(d.into_iter().map(|mut m| {
                        m.path = if m.path.is_empty() || m.path.starts_with('[') {
                            format!("{p}{}", m.path)
                        } else {
                            format!("{p}.{}", m.path)
                        };
                        m
                    })),
                    None => out.push(Mismatch {
                        path: p,
                        expected: e.clone(),
                        actual: None,
                        note: Some("the actual list is empty".to_string()),
                    }),
                }
            }
            if out.len() == before {
                out.push(miss(Some(format!(
                    "{} expected elements need distinct actual elements; {} available",
                    exp.len(),
                    act.len()
                ))));
            }
        }
        Value::Null => {
            if !matches!(actual, None | Some(Value::Null)) {
                out.push(miss(None));
            }
        }
        scalar => {
            if !actual.is_some_and(|a| scalar_eq(scalar, a)) {
                out.push(miss(None));
            }
        }
    }
}

/// Finds a distinct actual element for every expected element from `i` on (backtracking; lists
/// in assertions are short).
fn assign(ok: &[Vec<bool>], i: usize, used: &mut Vec<bool>) -> bool {
    if i == ok.len() {
        return true;
    }
    for j in 0..used.len() {
        if ok[i][j] && !used[j] {
            used[j] = true;
            if assign(ok, i + 1, used) {
                return true;
            }
            used[j] = false;
        }
    }
    false
}

fn scalar_eq(e: &Value, a: &Value) -> bool {
    match (e, a) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_match_partially() {
        let actual = json!({"metadata": {"name": "x", "uid": "u"}, "data": {"k": "v", "o": "p"}});
        assert!(matches(&json!({"data": {"k": "v"}}), &actual));
        assert!(matches(&json!({}), &actual));
        assert!(!matches(&json!({"data": {"k": "w"}}), &actual));
        assert!(!matches(&json!({"data": {"z": "v"}}), &actual));
        assert!(!matches(&json!({"data": "v"}), &actual));
    }

    #[test]
    fn null_matches_absent() {
        assert!(matches(&json!({"a": null}), &json!({})));
        assert!(matches(&json!({"a": null}), &json!({"a": null})));
        assert!(!matches(&json!({"a": null}), &json!({"a": 1})));
    }

    #[test]
    fn lists_match_distinct_elements_in_any_order() {
        let actual = json!({"l": [{"n": 1, "x": "a"}, {"n": 2}, {"n": 3}]});
        assert!(matches(&json!({"l": [{"n": 3}, {"n": 1}]}), &actual));
        assert!(matches(&json!({"l": []}), &actual));
        assert!(!matches(&json!({"l": [{"n": 4}]}), &actual));
        // Two expected elements cannot share one actual element.
        assert!(!matches(&json!({"l": [{"n": 1}, {"n": 1}]}), &actual));
        assert!(matches(&json!({"l": [{}, {}, {}]}), &actual));
        assert!(!matches(&json!({"l": [{}, {}, {}, {}]}), &actual));
        // Backtracking: the first expected element must not take the only match of the second.
        let a = json!([{"a": 1, "b": 1}, {"a": 1}]);
        assert!(matches(&json!([{"a": 1}, {"b": 1}]), &a));
        assert!(!matches(&json!([1]), &json!({"l": 1})));
    }

    #[test]
    fn scalars() {
        assert!(matches(&json!(3), &json!(3.0)));
        assert!(matches(&json!(3.5), &json!(3.5)));
        assert!(!matches(&json!(30), &json!("30")));
        assert!(!matches(&json!("30"), &json!(30)));
        assert!(matches(&json!(true), &json!(true)));
        assert!(!matches(&json!(true), &json!("true")));
        assert!(!matches(&json!(u64::MAX), &json!(-1)));
    }

    #[test]
    fn jmespath_keys() {
        let ev = json!({"message": "0/3 nodes: Insufficient memory.", "status": {"addresses": [1, 2, 3]}});
        assert!(matches(
            &json!({"(contains(message, 'Insufficient memory'))": true}),
            &ev
        ));
        assert!(matches(&json!({"(length(status.addresses))": 3}), &ev));
        assert!(matches(&json!({"status": {"(length(addresses))": 3}}), &ev));
        assert!(!matches(&json!({"(length(status.addresses))": 4}), &ev));
        // The result is matched with the same rules (a partial list).
        assert!(matches(&json!({"(status.addresses[?@ > `1`])": [3]}), &ev));
        let d = diff(&json!({"(length(@)": 1}), &ev);
        assert!(
            d[0].note.as_deref().unwrap_or("").contains("JMESPath"),
            "{d:?}"
        );
    }

    #[test]
    fn diff_paths_and_closest() {
        let exp =
            json!({"metadata": {"name": "a"}, "spec": {"containers": [{"image": "nginx:2"}]}});
        let c1 = json!({"metadata": {"name": "b"}, "spec": {"containers": [{"image": "nginx:1"}]}});
        let c2 = json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}});
        let cands = [c1, c2.clone()];
        let (best, d) = closest(&exp, &cands).unwrap_or((&Value::Null, vec![]));
        assert_eq!(best, &c2);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "spec.containers[0].image");
        assert_eq!(d[0].expected, json!("nginx:2"));
        assert_eq!(d[0].actual, Some(json!("nginx:1")));
        assert!(d[0]
            .to_string()
            .contains("expected \"nginx:2\", actual \"nginx:1\""));
        let d = diff(&json!({"a": {"b": 1}}), &json!({}));
        assert_eq!(d[0].path, "a");
        assert_eq!(d[0].actual, None);
        let d = diff(
            &json!({"l": [{"n": 1}, {"n": 1}]}),
            &json!({"l": [{"n": 1}]}),
        );
        assert!(
            d[0].note.as_deref().unwrap_or("").contains("distinct"),
            "{d:?}"
        );
        assert!(closest(&exp, &[]).is_none());
    }
}
