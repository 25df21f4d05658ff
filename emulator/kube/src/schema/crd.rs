//! Validation of a CustomResourceDefinition (apiextensions.k8s.io/v1) on create and update:
//! `metadata.name` is `<plural>.<group>`, the group is a domain with a dot, scope, names
//! (plural/singular DNS labels, kind and listKind shape, kind ≠ listKind), versions (at least
//! one, unique DNS-1035 names, exactly one storage version, at least one served), and each
//! version's schema present and structural (see `structural`).
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go
//! (ValidateCustomResourceDefinition, ValidateCustomResourceDefinitionSpec, ValidateCustomResourceDefinitionNames).
//! Not modelled: top-level `spec.validation`/`spec.subresources` (v1beta1 only), conversion
//! webhook configuration, `status.storedVersions` checks on update, `selectableFields`, scale
//! subresource JSON paths, printer-column JSON paths.

use super::errors;
use super::structural;
use crate::error::Cause;
use crate::validation::{is_dns1123_label, is_dns1123_subdomain};
use serde_json::Value;

const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const KIND_SHAPE: &str =
    "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?";
const VERSIONS_VALUE: &str = "[]apiextensions.CustomResourceDefinitionVersion{...}";

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn text(v: &str) -> Value {
    Value::String(v.into())
}

fn is_dns1035_label(n: &str) -> bool {
    is_dns1123_label(n) && n.as_bytes()[0].is_ascii_lowercase()
}

/// Whether `k` is a kind: a DNS-1035 label once lowercased.
fn is_kind(k: &str) -> bool {
    is_dns1035_label(&k.to_ascii_lowercase())
}

/// The causes a CRD is refused with (empty when it is valid).
pub fn validate(crd: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let name = s(crd, "/metadata/name");
    let group = s(crd, "/spec/group");
    let plural = s(crd, "/spec/names/plural");
    if !name.is_empty() && name != format!("{plural}.{group}") {
        out.push(errors::invalid(
            "metadata.name",
            &text(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        out.push(errors::required("spec.group", ""));
    } else if !is_dns1123_subdomain(group) {
        out.push(errors::invalid(
            "spec.group",
            &text(group),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ));
    } else if !group.contains('.') {
        out.push(errors::invalid(
            "spec.group",
            &text(group),
            "should be a domain with at least one dot",
        ));
    }
    match s(crd, "/spec/scope") {
        "" => out.push(errors::required("spec.scope", "")),
        "Cluster" | "Namespaced" => {}
        other => out.push(errors::not_supported(
            "spec.scope",
            &text(other),
            &["Cluster".into(), "Namespaced".into()],
        )),
    }
    names(crd, &mut out);
    versions(crd, &mut out);
    out
}

fn names(crd: &Value, out: &mut Vec<Cause>) {
    let plural = s(crd, "/spec/names/plural");
    if plural.is_empty() {
        out.push(errors::required("spec.names.plural", ""));
    } else if !is_dns1123_label(plural) {
        out.push(errors::invalid(
            "spec.names.plural",
            &text(plural),
            DNS1123_LABEL,
        ));
    }
    let singular = s(crd, "/spec/names/singular");
    if !singular.is_empty() && !is_dns1123_label(singular) {
        out.push(errors::invalid(
            "spec.names.singular",
            &text(singular),
            DNS1123_LABEL,
        ));
    }
    let kind = s(crd, "/spec/names/kind");
    if kind.is_empty() {
        out.push(errors::required("spec.names.kind", ""));
    } else if !is_kind(kind) {
        out.push(errors::invalid("spec.names.kind", &text(kind), KIND_SHAPE));
    }
    let list_kind = s(crd, "/spec/names/listKind");
    if !list_kind.is_empty() {
        if !is_kind(list_kind) {
            out.push(errors::invalid(
                "spec.names.listKind",
                &text(list_kind),
                KIND_SHAPE,
            ));
        } else if list_kind == kind {
            out.push(errors::invalid(
                "spec.names.listKind",
                &text(list_kind),
                "kind and listKind must be different",
            ));
        }
    }
    if let Some(shorts) = crd
        .pointer("/spec/names/shortNames")
        .and_then(Value::as_array)
    {
        for (i, sn) in shorts.iter().enumerate() {
            let sn = sn.as_str().unwrap_or("");
            if !is_dns1123_label(sn) {
                out.push(errors::invalid(
                    &format!("spec.names.shortNames[{i}]"),
                    &text(sn),
                    DNS1123_LABEL,
                ));
            }
        }
    }
}

fn versions(crd: &Value, out: &mut Vec<Cause>) {
    let Some(versions) = crd.pointer("/spec/versions").and_then(Value::as_array) else {
        out.push(errors::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
        return;
    };
    if versions.is_empty() {
        out.push(errors::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
        return;
    }
    let mut storage = 0;
    let mut served = 0;
    let mut seen: Vec<&str> = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let p = format!("spec.versions[{i}]");
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            out.push(errors::required(&format!("{p}.name"), ""));
        } else if !is_dns1035_label(name) {
            out.push(errors::invalid(
                &format!("{p}.name"),
                &text(name),
                DNS1035_LABEL,
            ));
        } else if seen.contains(&name) {
            out.push(errors::invalid(
                &format!("{p}.name"),
                &text(name),
                "must be unique",
            ));
        }
        seen.push(name);
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage += 1;
        }
        if v.get("served").and_then(Value::as_bool) == Some(true) {
            served += 1;
        }
        match v.pointer("/schema/openAPIV3Schema") {
            None => out.push(errors::required(
                &format!("{p}.schema.openAPIV3Schema"),
                "schemas are required",
            )),
            Some(schema) => out.extend(structural::check(
                schema,
                &format!("{p}.schema.openAPIV3Schema"),
            )),
        }
    }
    if storage != 1 {
        out.push(versions_invalid(
            "must have exactly one version marked as storage version",
        ));
    }
    if served == 0 {
        out.push(versions_invalid(
            "must have at least one version marked as served",
        ));
    }
}

/// An error on `spec.versions` as a whole; upstream prints the Go slice, abbreviated here.
fn versions_invalid(detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        "spec.versions",
        format!("Invalid value: {VERSIONS_VALUE}: {detail}"),
    )
}
