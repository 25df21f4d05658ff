//! `x-kubernetes-validations` CEL rules, evaluated with the `cel` crate (cel-rust): `rule` with
//! `self` bound to the node (and `oldSelf` to the correlated old node for transition rules, which
//! run only on update when an old value exists), `message`, `messageExpression`, `reason`
//! (FieldValueInvalid, FieldValueForbidden, FieldValueRequired, FieldValueDuplicate) and
//! `fieldPath`. Failures read as upstream's: `spec: Invalid value: "object": <message>` or
//! `failed rule: <rule>`. A rule that does not parse is refused at CRD creation with
//! `compilation failed: …`.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/{validation.go,compilation.go},
//! staging/src/k8s.io/apiserver/pkg/cel/library/.
//! Not modelled: type checking at compile time (cel-rust parses; an unknown function or field
//! fails at evaluation, reported as `rule evaluation error`), cost estimation and the runtime
//! cost budget, `optionalOldSelf` (optional types), Kubernetes' CEL libraries (quantity, url,
//! ip/cidr, format, sets, lists, regex `find`, authz), `timestamp`/`duration`.

use super::errors::{self, go_quote};
use crate::error::Cause;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The program of `src`, parsed once; `Err` carries the parser's message.
fn program(src: &str) -> Result<Arc<cel::Program>, String> {
    type Cache = Mutex<HashMap<String, Result<Arc<cel::Program>, String>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(p) = cache.lock().get(src) {
        return p.clone();
    }
    // The parser is third-party code: a panic on odd input must not take the request down.
    let parsed = std::panic::catch_unwind(|| cel::Program::compile(src))
        .map_err(|_| "internal parser error".to_string())
        .and_then(|r| r.map(Arc::new).map_err(|e| e.to_string()));
    let mut c = cache.lock();
    if c.len() > 4096 {
        c.clear();
    }
    c.insert(src.to_string(), parsed.clone());
    parsed
}

/// Compile errors of a rule list, as `(index, field, message)` for the CRD checks.
pub fn compile_errors(rules: &[Value]) -> Vec<(usize, &'static str, String)> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        match r.get("rule").and_then(Value::as_str) {
            None | Some("") => out.push((i, "rule", String::new())),
            Some(src) => {
                if let Err(e) = program(src) {
                    out.push((i, "rule", format!("compilation failed: {e}")));
                }
            }
        }
        if let Some(src) = r.get("messageExpression").and_then(Value::as_str) {
            if let Err(e) = program(src) {
                out.push((
                    i,
                    "messageExpression",
                    format!("messageExpression compilation failed: {e}"),
                ));
            }
        }
    }
    out
}

enum Outcome {
    Pass,
    Fail,
    Error(String),
}

fn run(src: &str, this: &Value, old: Option<&Value>) -> Result<cel::Value, String> {
    let prog = program(src)?;
    let mut ctx = cel::Context::default();
    let bind = |v: &Value| cel::to_value(v).map_err(|e| e.to_string());
    ctx.add_variable_from_value("self", bind(this)?);
    if let Some(o) = old {
        ctx.add_variable_from_value("oldSelf", bind(o)?);
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| prog.execute(&ctx)))
        .map_err(|_| "internal evaluation error".to_string())?
        .map_err(|e| e.to_string())
}

fn check(src: &str, this: &Value, old: Option<&Value>) -> Outcome {
    match run(src, this, old) {
        Ok(cel::Value::Bool(true)) => Outcome::Pass,
        Ok(cel::Value::Bool(false)) => Outcome::Fail,
        Ok(_) => Outcome::Error("rule did not evaluate to a bool".into()),
        Err(e) => Outcome::Error(e),
    }
}

fn is_transition(src: &str) -> bool {
    src.contains("oldSelf")
}

/// Evaluates the rules of one node; `path` is the node's field path.
pub fn evaluate(rules: &[Value], this: &Value, old: Option<&Value>, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    let ty = Value::String(super::validate::type_name(this).to_string());
    for r in rules {
        let Some(src) = r.get("rule").and_then(Value::as_str) else {
            continue;
        };
        if is_transition(src) && old.is_none() {
            continue; // transition rules run only on update
        }
        let field = match r.get("fieldPath").and_then(Value::as_str) {
            Some(fp) if !fp.is_empty() => {
                let fp = fp.trim_start_matches('.');
                if path.is_empty() {
                    fp.to_string()
                } else {
                    format!("{path}.{fp}")
                }
            }
            _ => path.to_string(),
        };
        match check(src, this, old.filter(|_| is_transition(src))) {
            Outcome::Pass => {}
            Outcome::Error(e) => out.push(errors::invalid(
                &field,
                &ty,
                &format!("rule evaluation error: {e}"),
            )),
            Outcome::Fail => {
                let msg = message(r, src, this, old);
                let reason = r.get("reason").and_then(Value::as_str).unwrap_or("");
                out.push(match reason {
                    "FieldValueForbidden" => errors::forbidden(&field, &msg),
                    "FieldValueRequired" => errors::required(&field, &msg),
                    "FieldValueDuplicate" => errors::duplicate(&field, &ty),
                    _ => errors::invalid(&field, &ty, &msg),
                });
            }
        }
    }
    out
}

fn message(r: &Value, src: &str, this: &Value, old: Option<&Value>) -> String {
    if let Some(me) = r.get("messageExpression").and_then(Value::as_str) {
        if let Ok(cel::Value::String(s)) = run(me, this, old) {
            if !s.trim().is_empty() && !s.contains('\n') {
                return s.to_string();
            }
        }
    }
    match r.get("message").and_then(Value::as_str) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => format!("failed rule: {src}"),
    }
}

/// A rule as upstream prints an `apiextensions.ValidationRule` in CRD errors.
pub fn go_rule(r: &Value) -> String {
    let s = |k: &str| go_quote(r.get(k).and_then(Value::as_str).unwrap_or(""));
    format!(
        "apiextensions.ValidationRule{{Rule:{}, Message:{}, MessageExpression:{}, Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:{}, OptionalOldSelf:(*bool)(nil)}}",
        s("rule"),
        s("message"),
        s("messageExpression"),
        s("fieldPath")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_pass_fail_and_transition() {
        let rules = vec![
            json!({"rule": "self.min <= self.max", "message": "min must not exceed max"}),
            json!({"rule": "self.max == oldSelf.max || self.max > oldSelf.max", "message": "max may only grow"}),
        ];
        assert!(evaluate(&rules, &json!({"min": 1, "max": 2}), None, "spec").is_empty());
        let e = evaluate(&rules, &json!({"min": 3, "max": 2}), None, "spec");
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].message,
            "Invalid value: \"object\": min must not exceed max"
        );
        let e = evaluate(
            &rules,
            &json!({"min": 1, "max": 2}),
            Some(&json!({"min": 1, "max": 5})),
            "spec",
        );
        assert_eq!(e[0].message, "Invalid value: \"object\": max may only grow");
        let e = evaluate(&[json!({"rule": "self > 1"})], &json!(0), None, "spec.n");
        assert_eq!(
            e[0].message,
            "Invalid value: \"integer\": failed rule: self > 1"
        );
        assert_eq!(compile_errors(&[json!({"rule": "self.x >"})]).len(), 1);
    }
}
