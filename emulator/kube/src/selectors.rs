//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and field selectors (`=`,
//! `==`, `!=`), parsed from query strings and matched against stored objects or their
//! selectable projection. Which field labels a kind serves is the kind's: its strategy returns
//! a [`FieldLabels`] ([`crate::kinds::strategy::Strategy::field_labels`]) that converts each
//! label (aliases, the kind's error wording) and says where its value lives; [`KindFields`] is
//! the static form built-in kinds use, [`MetaFields`] the default.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apimachinery/pkg/fields/selector.go (parsing),
//! staging/src/k8s.io/apimachinery/pkg/runtime/scheme.go `ConvertFieldLabel` and
//! `DefaultMetaV1FieldSelectorConversion`, pkg/apis/*/v1/conversion.go (field label conversion
//! functions), pkg/registry/*/*/strategy.go (`GetAttrs`, `ToSelectableFields`).
//!
//! Not modelled: field selectors with `in`/`notin` (upstream has none either); escaped commas
//! and `=` in values.

use crate::error::{KubeApiError, KubeResult};
use crate::registry::ResourceDef;
use serde_json::Value;

/// One label requirement.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelReq {
    /// `key=value` / `key==value` / `key in (a,b)`.
    In(String, Vec<String>),
    /// `key!=value` / `key notin (a,b)`.
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    NotExists(String),
}

/// A parsed label selector (all requirements must hold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(pub Vec<LabelReq>);

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_label_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 317
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn parse_set(s: &str) -> Option<Vec<String>> {
    let s = s.trim();
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

impl LabelSelector {
    /// Parses `app=web,tier in (a,b),!legacy`.
    pub fn parse(s: &str) -> KubeResult<LabelSelector> {
        let bad = |part: &str| {
            KubeApiError::bad_request(format!(
                "unable to parse requirement: found '{part}', expected: identifier or operator"
            ))
        };
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if let Some(k) = part.strip_prefix('!') {
                let k = k.trim();
                if !valid_label_key(k) {
                    return Err(bad(part));
                }
                reqs.push(LabelReq::NotExists(k.to_string()));
            } else if let Some((k, v)) = part.split_once("!=") {
                reqs.push(LabelReq::NotIn(
                    k.trim().to_string(),
                    vec![v.trim().to_string()],
                ));
            } else if let Some((k, v)) = part.split_once("==") {
                reqs.push(LabelReq::In(
                    k.trim().to_string(),
                    vec![v.trim().to_string()],
                ));
            } else if let Some((k, v)) = part.split_once('=') {
                reqs.push(LabelReq::In(
                    k.trim().to_string(),
                    vec![v.trim().to_string()],
                ));
            } else if let Some(idx) = part.find(" notin ").or_else(|| part.find(" notin(")) {
                let k = part[..idx].trim();
                let set = parse_set(&part[idx + 6..]).ok_or_else(|| bad(part))?;
                reqs.push(LabelReq::NotIn(k.to_string(), set));
            } else if let Some(idx) = part.find(" in ").or_else(|| part.find(" in(")) {
                let k = part[..idx].trim();
                let set = parse_set(&part[idx + 3..]).ok_or_else(|| bad(part))?;
                reqs.push(LabelReq::In(k.to_string(), set));
            } else if valid_label_key(part) {
                reqs.push(LabelReq::Exists(part.to_string()));
            } else {
                return Err(bad(part));
            }
            if let Some(LabelReq::In(k, _) | LabelReq::NotIn(k, _)) = reqs.last() {
                if !valid_label_key(k) {
                    return Err(bad(part));
                }
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// Builds a selector from a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`).
    pub fn from_object(sel: &Value) -> LabelSelector {
        let mut reqs = Vec::new();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                reqs.push(LabelReq::In(
                    k.clone(),
                    vec![v.as_str().unwrap_or("").to_string()],
                ));
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                match e.get("operator").and_then(Value::as_str) {
                    Some("In") => reqs.push(LabelReq::In(key, values)),
                    Some("NotIn") => reqs.push(LabelReq::NotIn(key, values)),
                    Some("Exists") => reqs.push(LabelReq::Exists(key)),
                    Some("DoesNotExist") => reqs.push(LabelReq::NotExists(key)),
                    _ => {}
                }
            }
        }
        LabelSelector(reqs)
    }

    /// Whether there are no requirements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Matches an object's `metadata.labels`.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.get("metadata").and_then(|m| m.get("labels"));
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            LabelReq::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        })
    }

    /// The selector as a query string (`a=b,c in (d)`), for Scale.status.selector.
    pub fn to_query(&self) -> String {
        self.0
            .iter()
            .map(|r| match r {
                LabelReq::In(k, vs) if vs.len() == 1 => format!("{k}={}", vs[0]),
                LabelReq::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                LabelReq::NotIn(k, vs) if vs.len() == 1 => format!("{k}!={}", vs[0]),
                LabelReq::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                LabelReq::Exists(k) => k.clone(),
                LabelReq::NotExists(k) => format!("!{k}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One field requirement: the kind's (converted) field label, where its value lives in the
/// object's selectable projection, wanted value, equality.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldReq {
    /// Dotted field label after conversion (`spec.nodeName`; `spec.host` arrives as that).
    pub path: String,
    /// Compared value.
    pub value: String,
    /// `=`/`==` (true) or `!=` (false).
    pub equal: bool,
    /// JSON pointer of the value in the stored object (`None`: the kind never sets the label).
    pub pointer: Option<String>,
    /// The value when the object does not have the field (`false` for a boolean, `0` for a
    /// counter, as upstream's `GetAttrs` formats the typed field).
    pub unset: &'static str,
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(pub Vec<FieldReq>);

/// Where a field label's value comes from, as a kind's field label conversion and `GetAttrs`
/// answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSource {
    /// The label after conversion.
    pub label: String,
    /// JSON pointer of the value (`None` when the kind accepts the label but never sets it).
    pub pointer: Option<String>,
    /// The value when the field is absent.
    pub unset: &'static str,
}

/// The field labels a kind serves (upstream: the scheme's field label conversion function of
/// the kind, and its strategy's `GetAttrs` / `SelectableFields`).
pub trait FieldLabels: Sync {
    /// Converts a label, or answers the kind's error text (`field label not supported: x`).
    fn convert(&self, def: &ResourceDef, label: &str) -> Result<FieldSource, String>;
    /// Every JSON pointer the kind's labels read (so the store indexes them).
    fn pointers(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// One field label of a built-in kind.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The label (`spec.nodeName`).
    pub label: &'static str,
    /// The label it converts to (`spec.host` → `spec.nodeName`); `None` for itself.
    pub alias_of: Option<&'static str>,
    /// JSON pointer of the value; `None` when the kind accepts the label but never sets it.
    pub pointer: Option<&'static str>,
    /// The value when the field is absent.
    pub unset: &'static str,
}

/// A string field read from `pointer`, empty when absent.
pub const fn field(label: &'static str, pointer: &'static str) -> Field {
    Field {
        label,
        alias_of: None,
        pointer: Some(pointer),
        unset: "",
    }
}

/// A field whose absent value is `unset` (`false`, `0`).
pub const fn field_or(label: &'static str, pointer: &'static str, unset: &'static str) -> Field {
    Field {
        label,
        alias_of: None,
        pointer: Some(pointer),
        unset,
    }
}

/// A label another label stands for (`spec.host` for `spec.nodeName`).
pub const fn alias(label: &'static str, of: &'static str) -> Field {
    Field {
        label,
        alias_of: Some(of),
        pointer: None,
        unset: "",
    }
}

/// A label the kind's conversion accepts but its `GetAttrs` never sets (always empty).
pub const fn unset_field(label: &'static str) -> Field {
    Field {
        label,
        alias_of: None,
        pointer: None,
        unset: "",
    }
}

const NAME: Field = field("metadata.name", "/metadata/name");
const NAMESPACE: Field = field("metadata.namespace", "/metadata/namespace");

/// How a built-in kind's conversion words an unsupported label.
#[derive(Debug, Clone, Copy)]
pub enum Unsupported {
    /// `field label not supported: x` (the core/v1, certificates and CRD conversions).
    NotSupported,
    /// `field label "x" not supported for batchv1.Job`.
    NotSupportedFor(&'static str),
}

/// The field labels of a built-in kind with a conversion function of its own: `metadata.name`,
/// `metadata.namespace` unless `cluster_scoped`, and `fields`.
pub struct KindFields {
    /// Whether `metadata.namespace` is refused (Node, Namespace, CertificateSigningRequest).
    pub cluster_scoped: bool,
    /// The kind's own labels.
    pub fields: &'static [Field],
    /// The wording of the error.
    pub unsupported: Unsupported,
}

impl KindFields {
    fn find(&self, label: &str) -> Option<&Field> {
        if label == NAME.label {
            return Some(&NAME);
        }
        if label == NAMESPACE.label && !self.cluster_scoped {
            return Some(&NAMESPACE);
        }
        self.fields.iter().find(|f| f.label == label)
    }
}

impl FieldLabels for KindFields {
    fn convert(&self, _def: &ResourceDef, label: &str) -> Result<FieldSource, String> {
        let mut f = self.find(label);
        if let Some(of) = f.and_then(|f| f.alias_of) {
            f = self.find(of);
        }
        match f {
            Some(f) => Ok(FieldSource {
                label: f.label.to_string(),
                pointer: f.pointer.map(str::to_string),
                unset: f.unset,
            }),
            None => Err(match self.unsupported {
                Unsupported::NotSupported => format!("field label not supported: {label}"),
                Unsupported::NotSupportedFor(kind) => {
                    format!("field label {label:?} not supported for {kind}")
                }
            }),
        }
    }
    fn pointers(&self) -> Vec<&'static str> {
        self.fields.iter().filter_map(|f| f.pointer).collect()
    }
}

/// The conversion of built-in kinds without one of their own
/// (`runtime.DefaultMetaV1FieldSelectorConversion`): `metadata.name` and `metadata.namespace`.
pub struct MetaFields;

impl FieldLabels for MetaFields {
    fn convert(&self, _def: &ResourceDef, label: &str) -> Result<FieldSource, String> {
        match [NAME, NAMESPACE].into_iter().find(|f| f.label == label) {
            Some(f) => Ok(FieldSource {
                label: f.label.to_string(),
                pointer: f.pointer.map(str::to_string),
                unset: "",
            }),
            None => Err(format!(
                "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )),
        }
    }
}

/// The default field labels of built-in kinds.
pub static META_FIELDS: MetaFields = MetaFields;

/// The field labels of custom resources (the CRD converter's `ConvertFieldLabel`):
/// `metadata.name`, `metadata.namespace` when namespaced, and the version's `selectableFields`.
pub struct CustomResourceFields;

impl FieldLabels for CustomResourceFields {
    fn convert(&self, def: &ResourceDef, label: &str) -> Result<FieldSource, String> {
        let meta = |f: Field| FieldSource {
            label: f.label.to_string(),
            pointer: f.pointer.map(str::to_string),
            unset: "",
        };
        if label == NAME.label {
            return Ok(meta(NAME));
        }
        if label == NAMESPACE.label && def.namespaced {
            return Ok(meta(NAMESPACE));
        }
        def.selectable_fields
            .iter()
            .find(|p| p.trim_start_matches('.') == label)
            .map(|p| FieldSource {
                label: label.to_string(),
                pointer: Some(json_path_pointer(p)),
                unset: "",
            })
            .ok_or_else(|| format!("field label not supported: {label}"))
    }
}

/// A simple JSONPath (`.spec.color`) as a JSON pointer (`/spec/color`).
pub fn json_path_pointer(path: &str) -> String {
    path.trim_start_matches('.')
        .split('.')
        .map(|seg| format!("/{}", seg.replace('~', "~0").replace('/', "~1")))
        .collect()
}

impl FieldSelector {
    /// Parses `metadata.name=x,spec.nodeName!=` and converts every label with the kind's
    /// field labels; an unsupported label is a 400 with the kind's conversion error.
    pub fn parse(
        s: &str,
        def: &ResourceDef,
        labels: &dyn FieldLabels,
    ) -> KubeResult<FieldSelector> {
        let mut reqs = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (path, value, equal) = if let Some((k, v)) = part.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, v, true)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, v, true)
            } else {
                return Err(KubeApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let source = labels
                .convert(def, path.trim())
                .map_err(KubeApiError::bad_request)?;
            reqs.push(FieldReq {
                path: source.label,
                value: value.trim().to_string(),
                equal,
                pointer: source.pointer,
                unset: source.unset,
            });
        }
        Ok(FieldSelector(reqs))
    }

    /// Whether there are no requirements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The required value of `metadata.name` if the selector pins it.
    pub fn pinned_name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|r| r.equal && r.path == "metadata.name")
            .map(|r| r.value.as_str())
    }

    /// Matches an object or its selectable projection.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|r| {
            let v = r
                .pointer
                .as_deref()
                .and_then(|p| obj.pointer(p))
                .and_then(field_value)
                .unwrap_or_else(|| r.unset.to_string());
            (v == r.value) == r.equal
        })
    }
}

/// A field's value as `GetAttrs` formats it: strings as they are, booleans and numbers in
/// their Go formatting; `null` counts as absent.
fn field_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selector_operators() {
        let o = json!({"metadata": {"labels": {"app": "web", "tier": "fe"}}});
        let m = |s: &str| LabelSelector::parse(s).map(|l| l.matches(&o));
        assert_eq!(m("app=web").ok(), Some(true));
        assert_eq!(m("app==web,tier=fe").ok(), Some(true));
        assert_eq!(m("app!=web").ok(), Some(false));
        assert_eq!(m("app in (db, web)").ok(), Some(true));
        assert_eq!(m("app notin (db,web)").ok(), Some(false));
        assert_eq!(m("tier").ok(), Some(true));
        assert_eq!(m("!tier").ok(), Some(false));
        assert_eq!(m("!missing,x!=y").ok(), Some(true));
        assert!(LabelSelector::parse("a in b").is_err());
        assert!(LabelSelector::parse("@@").is_err());
    }

    static TEST_FIELDS: KindFields = KindFields {
        cluster_scoped: false,
        fields: &[
            field("spec.nodeName", "/spec/nodeName"),
            alias("spec.host", "spec.nodeName"),
            field_or("spec.hostNetwork", "/spec/hostNetwork", "false"),
            unset_field("status.podIPs"),
        ],
        unsupported: Unsupported::NotSupported,
    };

    fn def() -> ResourceDef {
        crate::registry::Registry::builtin()
            .all()
            .find(|d| d.kind == "Pod")
            .map(|d| (**d).clone())
            .unwrap_or_else(|| panic!("no pods"))
    }

    #[test]
    fn field_selector_converts_labels() {
        let d = def();
        let parse = |s: &str| FieldSelector::parse(s, &d, &TEST_FIELDS);
        let p = json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"nodeName": "n1"}});
        assert!(parse("spec.nodeName=n1,metadata.name!=b").is_ok_and(|f| f.matches(&p)));
        assert!(
            parse("spec.host=n1").is_ok_and(|f| f.0[0].path == "spec.nodeName" && f.matches(&p))
        );
        assert!(parse("spec.hostNetwork=false").is_ok_and(|f| f.matches(&p)));
        assert!(parse("status.podIPs=").is_ok_and(|f| f.matches(&p)));
        assert!(parse("spec.nodeName=").is_ok_and(|f| !f.matches(&p)));
        let err = parse("spec.foo=x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("field label not supported: spec.foo"), "{err}");
        let meta = FieldSelector::parse("spec.foo=x", &d, &META_FIELDS)
            .err()
            .map(|e| e.to_string());
        assert!(meta.is_some_and(|e| e.contains(r#""spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace""#)));
    }
}
