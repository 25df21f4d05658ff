//! Value validation of a custom resource against its structural schema, as kube-apiserver runs
//! kube-openapi's schema validator on create, update, patch and `/status`: `type` (with
//! `nullable` and `x-kubernetes-int-or-string`), `enum`, `format`, `required`, numeric bounds and
//! `multipleOf`, string lengths and `pattern`, item and property counts, `uniqueItems`,
//! `additionalProperties`, `allOf`/`anyOf`/`oneOf`/`not`, `x-kubernetes-list-type` set/map
//! uniqueness and `x-kubernetes-embedded-resource` apiVersion/kind. Errors carry kube-openapi's
//! wording (`spec.replicas in body must be of type integer: "string"`) wrapped in the field
//! errors `kubeOpenAPIResultToFieldErrors` makes of them.
//!
//! Ratcheting (CRDValidationRatcheting, on by default since 1.30): on update, a node equal to the
//! node at the same place in the old object (object properties by key, `map` lists by their keys,
//! `set` lists by value) is not validated again, so unchanged invalid fields are not reported.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/validation/{validation.go,ratcheting.go},
//! pkg/apiserver/schema/listtype/validation.go, pkg/apiserver/schema/objectmeta/validation.go;
//! k8s.io/kube-openapi/pkg/validation/validate/{schema.go,type.go,object_validator.go,slice_validator.go,validator.go,schema_props.go}
//! and pkg/validation/errors/schema.go.
//! Not modelled: `patternProperties`/`dependencies` (forbidden in structural schemas), ECMA-262
//! regular-expression features RE2 lacks, embedded-resource metadata beyond `name`.

use super::errors::{self, go_float, go_quote};
use super::{cel, format};
use crate::error::Cause;
use parking_lot::Mutex;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Validates `obj` (and, on update, ratchets against `old`). Causes in upstream's order.
///
/// As upstream's `hasBlockingErr`, CEL rules are not reported when a type, required, enum,
/// length or count error is: a notice that some rules were not checked is instead.
pub fn validate(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut v = Validator::default();
    v.root(schema, obj, old);
    let blocking = v.errs.iter().any(|c| {
        matches!(
            c.reason.as_str(),
            "FieldValueNotSupported"
                | "FieldValueRequired"
                | "FieldValueTooLong"
                | "FieldValueTooMany"
                | "FieldValueTypeInvalid"
        )
    });
    if blocking && v.has_rules {
        v.errs.push(errors::invalid(
            "<nil>",
            &Value::Null,
            "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
        ));
    } else {
        v.errs.extend(v.cel_errs);
    }
    v.errs
}

/// Validates one value against one (non-root) schema node, as for a `default`.
pub fn validate_node(schema: &Value, v: &Value, path: &str) -> Vec<Cause> {
    let mut val = Validator::default();
    val.node(schema, v, None, path);
    val.errs
}

#[derive(Default)]
struct Validator {
    errs: Vec<Cause>,
    /// Failures of CEL rules, reported only when no blocking error was found.
    cel_errs: Vec<Cause>,
    /// Whether any node visited carries CEL rules.
    has_rules: bool,
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The JSON type name kube-openapi reports for a value.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if is_integer(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64()
        || n.is_u64()
        || n.as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
}

fn flag(s: &Value, k: &str) -> bool {
    s.get(k).and_then(Value::as_bool) == Some(true)
}

fn num(s: &Value, k: &str) -> Option<f64> {
    s.get(k).and_then(Value::as_f64)
}

fn count(s: &Value, k: &str) -> Option<i64> {
    s.get(k).and_then(Value::as_i64)
}

impl Validator {
    fn root(&mut self, schema: &Value, obj: &Value, old: Option<&Value>) {
        // apiVersion, kind and metadata at the root are the API server's, not the schema's:
        // `object` skips them at the root path (no copy of a large schema per write).
        self.node(schema, obj, old, "");
        // CEL rules at the root see the whole object.
        self.cel(schema, obj, old, "");
    }

    fn node(&mut self, s: &Value, v: &Value, old: Option<&Value>, path: &str) {
        if old == Some(v) {
            return; // ratcheting: an unchanged node is not validated again
        }
        if !s.is_object() {
            return;
        }
        if v.is_null() {
            if flag(s, "nullable") {
                return;
            }
            if let Some(t) = s.get("type").and_then(Value::as_str) {
                let detail = format!("{path} in body must be of type {t}: \"null\"");
                self.errs.push(errors::type_invalid(
                    path,
                    &Value::String("null".into()),
                    &detail,
                ));
            }
            return;
        }
        let before = self.errs.len();
        self.check_type(s, v, path);
        let type_failed = self.errs.len() > before;
        self.schema_props(s, v, path);
        if !type_failed {
            match v {
                Value::String(st) => self.string(s, st, v, path),
                Value::Number(n) => self.number(s, n, v, path),
                Value::Array(a) => self.array(s, a, v, old, path),
                Value::Object(m) => self.object(s, m, old, path),
                _ => {}
            }
        }
        self.enumeration(s, v, path);
        if !path.is_empty() {
            self.cel(s, v, old, path);
        }
    }

    fn check_type(&mut self, s: &Value, v: &Value, path: &str) {
        let actual = type_name(v);
        let (want, ok) = if flag(s, "x-kubernetes-int-or-string") {
            ("integer,string", matches!(actual, "integer" | "string"))
        } else {
            match s.get("type").and_then(Value::as_str) {
                None | Some("") => return,
                Some(t) => (t, t == actual || (t == "number" && actual == "integer")),
            }
        };
        if !ok {
            let detail = format!("{path} in body must be of type {want}: \"{actual}\"");
            self.errs.push(errors::type_invalid(
                path,
                &Value::String(actual.into()),
                &detail,
            ));
        }
    }

    fn string(&mut self, s: &Value, st: &str, v: &Value, path: &str) {
        let len = st.chars().count() as i64;
        if let Some(max) = count(s, "maxLength") {
            if len > max {
                self.errs.push(errors::too_long(path, max));
            }
        }
        if let Some(min) = count(s, "minLength") {
            if len < min {
                let d = format!("{path} in body should be at least {min} chars long");
                self.errs.push(errors::invalid(path, v, &d));
            }
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str) {
            if let Some(re) = compiled(p) {
                if !re.is_match(st) {
                    let d = format!("{path} in body should match '{p}'");
                    self.errs.push(errors::invalid(path, v, &d));
                }
            }
        }
        if let Some(f) = s.get("format").and_then(Value::as_str) {
            if format::check(f, st) == Some(false) {
                let d = format!("{path} in body must be of type {f}: {}", go_quote(st));
                self.errs.push(errors::type_invalid(path, v, &d));
            }
        }
    }

    fn number(&mut self, s: &Value, n: &serde_json::Number, v: &Value, path: &str) {
        let Some(x) = n.as_f64() else { return };
        if let Some(m) = num(s, "multipleOf") {
            if m > 0.0 {
                let q = x / m;
                if (q - q.round()).abs() > 1e-9 * q.abs().max(1.0) {
                    let d = format!("{path} in body should be a multiple of {}", go_float(m));
                    self.errs.push(errors::invalid(path, v, &d));
                }
            }
        }
        if let Some(max) = num(s, "maximum") {
            let exclusive = flag(s, "exclusiveMaximum");
            if x > max || (exclusive && x == max) {
                let rel = if exclusive {
                    "less than"
                } else {
                    "less than or equal to"
                };
                let d = format!("{path} in body should be {rel} {}", go_float(max));
                self.errs.push(errors::invalid(path, v, &d));
            }
        }
        if let Some(min) = num(s, "minimum") {
            let exclusive = flag(s, "exclusiveMinimum");
            if x < min || (exclusive && x == min) {
                let rel = if exclusive {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                let d = format!("{path} in body should be {rel} {}", go_float(min));
                self.errs.push(errors::invalid(path, v, &d));
            }
        }
    }

    fn array(&mut self, s: &Value, a: &[Value], v: &Value, old: Option<&Value>, path: &str) {
        let size = a.len() as i64;
        if let Some(min) = count(s, "minItems") {
            if size < min {
                let d = format!("{path} in body should have at least {min} items");
                self.errs
                    .push(errors::invalid(path, &Value::from(size), &d));
            }
        }
        if let Some(max) = count(s, "maxItems") {
            if size > max {
                self.errs.push(errors::too_many(path, a.len(), max));
            }
        }
        if flag(s, "uniqueItems") && has_duplicates(a) {
            let d = format!("{path} in body shouldn't contain duplicates");
            self.errs
                .push(errors::invalid(path, &Value::String(String::new()), &d));
        }
        let list_type = s.get("x-kubernetes-list-type").and_then(Value::as_str);
        let keys: Vec<&str> = s
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let old_items = old.and_then(Value::as_array);
        if let Some(items) = s.get("items") {
            for (i, e) in a.iter().enumerate() {
                let old_e = old_items.and_then(|o| match list_type {
                    Some("map") => o.iter().find(|x| map_key(x, &keys) == map_key(e, &keys)),
                    Some("set") => o.iter().find(|x| *x == e),
                    _ => None,
                });
                self.node(items, e, old_e, &format!("{path}[{i}]"));
            }
        }
        match list_type {
            Some("set") => {
                for (i, e) in a.iter().enumerate() {
                    if a[..i].contains(e) {
                        self.errs
                            .push(errors::duplicate(&format!("{path}[{i}]"), e));
                    }
                }
            }
            Some("map") if !keys.is_empty() => {
                let mut seen: Vec<Vec<Option<&Value>>> = Vec::new();
                for (i, e) in a.iter().enumerate() {
                    let k = map_key(e, &keys);
                    if seen.contains(&k) {
                        let mut dup = Map::new();
                        for (name, val) in keys.iter().zip(&k) {
                            if let Some(val) = val {
                                dup.insert((*name).to_string(), (*val).clone());
                            }
                        }
                        self.errs.push(errors::duplicate(
                            &format!("{path}[{i}]"),
                            &Value::Object(dup),
                        ));
                    } else {
                        seen.push(k);
                    }
                }
            }
            _ => {}
        }
        let _ = v;
    }

    fn object(&mut self, s: &Value, m: &Map<String, Value>, old: Option<&Value>, path: &str) {
        let n = m.len() as i64;
        if let Some(max) = count(s, "maxProperties") {
            if n > max {
                self.errs.push(errors::too_many(path, m.len(), max));
            }
        }
        if let Some(min) = count(s, "minProperties") {
            if n < min {
                let d = format!("{path} in body should have at least {min} properties");
                self.errs.push(errors::invalid(path, &Value::from(n), &d));
            }
        }
        let root = path.is_empty();
        let server_owned = |k: &str| root && matches!(k, "apiVersion" | "kind" | "metadata");
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                if !m.contains_key(r) && !server_owned(r) {
                    self.errs.push(errors::required(&child(path, r), ""));
                }
            }
        }
        if flag(s, "x-kubernetes-embedded-resource") {
            for k in ["apiVersion", "kind"] {
                if m.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                    self.errs
                        .push(errors::required(&child(path, k), "must not be empty"));
                }
            }
            if let Some(name) = m
                .get("metadata")
                .and_then(|md| md.get("name"))
                .and_then(Value::as_str)
            {
                if !crate::validation::is_dns1123_subdomain(name) {
                    self.errs.push(errors::invalid(
                        &child(path, "metadata.name"),
                        &Value::String(name.into()),
                        DNS1123_SUBDOMAIN,
                    ));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        let additional = s.get("additionalProperties");
        let old_map = old.and_then(Value::as_object);
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in keys {
            if server_owned(k) {
                continue;
            }
            let cv = &m[k.as_str()];
            let old_c = old_map.and_then(|o| o.get(k.as_str()));
            let p = child(path, k);
            match (props.and_then(|p| p.get(k.as_str())), additional) {
                (Some(ps), _) => self.node(ps, cv, old_c, &p),
                (None, Some(Value::Bool(false))) => {
                    let d = format!("{p} in body is a forbidden property");
                    self.errs
                        .push(errors::invalid(path, &Value::String(k.clone()), &d));
                }
                (None, Some(ap)) if ap.is_object() => self.node(ap, cv, old_c, &p),
                _ => {}
            }
        }
    }

    fn enumeration(&mut self, s: &Value, v: &Value, path: &str) {
        let Some(values) = s.get("enum").and_then(Value::as_array) else {
            return;
        };
        if values.is_empty() || values.contains(v) || values.iter().any(|e| num_eq(e, v)) {
            return;
        }
        let supported: Vec<String> = values
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        self.errs.push(errors::not_supported(path, v, &supported));
    }

    fn schema_props(&mut self, s: &Value, v: &Value, path: &str) {
        let subs = |k: &str| -> Vec<Value> {
            s.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let quoted = go_quote(path);
        for sub in subs("allOf") {
            let errs = sub_errors(&sub, v, path);
            if !errs.is_empty() {
                self.composite(&format!("{quoted} must validate all the schemas (allOf)"));
                self.errs.extend(errs);
            }
        }
        let any = subs("anyOf");
        if !any.is_empty() {
            let results: Vec<Vec<Cause>> = any.iter().map(|sub| sub_errors(sub, v, path)).collect();
            if results.iter().all(|e| !e.is_empty()) {
                self.composite(&format!(
                    "{quoted} must validate at least one schema (anyOf)"
                ));
                if let Some(first) = results.into_iter().next() {
                    self.errs.extend(first);
                }
            }
        }
        let one = subs("oneOf");
        if !one.is_empty() {
            let results: Vec<Vec<Cause>> = one.iter().map(|sub| sub_errors(sub, v, path)).collect();
            let valid = results.iter().filter(|e| e.is_empty()).count();
            if valid == 0 {
                self.composite(&format!(
                    "{quoted} must validate one and only one schema (oneOf)"
                ));
                if let Some(first) = results.into_iter().next() {
                    self.errs.extend(first);
                }
            } else if valid > 1 {
                self.composite(&format!(
                    "{quoted} must validate one and only one schema (oneOf). Found {valid} valid alternatives"
                ));
            }
        }
        if let Some(not) = s.get("not") {
            if sub_errors(not, v, path).is_empty() {
                self.composite(&format!("{quoted} must not validate the schema (not)"));
            }
        }
    }

    /// A composite kube-openapi error: not a field error, rendered with a nil path.
    fn composite(&mut self, msg: &str) {
        self.errs
            .push(errors::invalid("<nil>", &Value::String(String::new()), msg));
    }

    fn cel(&mut self, s: &Value, v: &Value, old: Option<&Value>, path: &str) {
        if let Some(rules) = s.get("x-kubernetes-validations").and_then(Value::as_array) {
            self.has_rules = true;
            self.cel_errs.extend(cel::evaluate(rules, v, old, path));
        }
    }
}

/// Errors of one branch of allOf/anyOf/oneOf/not (value validations only, no ratcheting).
fn sub_errors(s: &Value, v: &Value, path: &str) -> Vec<Cause> {
    let mut sub = Validator::default();
    sub.node(s, v, None, path);
    sub.errs
}

fn num_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => false,
    }
}

fn has_duplicates(a: &[Value]) -> bool {
    a.iter().enumerate().any(|(i, e)| a[..i].contains(e))
}

fn map_key<'a>(e: &'a Value, keys: &[&str]) -> Vec<Option<&'a Value>> {
    keys.iter().map(|k| e.get(*k)).collect()
}

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// A schema's `pattern`, compiled once (`None` when it does not compile; such a CRD is refused).
pub fn compiled(pattern: &str) -> Option<Arc<Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut c = cache.lock();
    if let Some(r) = c.get(pattern) {
        return r.clone();
    }
    if c.len() > 4096 {
        c.clear();
    }
    let r = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .ok()
        .map(Arc::new);
    c.insert(pattern.to_string(), r.clone());
    r
}
