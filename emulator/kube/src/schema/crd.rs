//! Validation of a CustomResourceDefinition (apiextensions.k8s.io/v1) on create and update:
//! `metadata.name` is `<plural>.<group>`, the group is a domain with a dot, scope, names
//! (plural/singular DNS labels, kind and listKind shape, kind ≠ listKind), versions (at least
//! one, unique DNS-1035 names, exactly one storage version, at least one served), each
//! version's schema present and structural (see `structural`), and its `selectableFields`.
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go
//! (ValidateCustomResourceDefinition, ValidateCustomResourceDefinitionSpec, ValidateCustomResourceDefinitionNames).
//! Not modelled: top-level `spec.validation`/`spec.subresources` (v1beta1 only), conversion
//! webhook configuration, `status.storedVersions` checks on update, scale subresource JSON
//! paths, printer-column JSON paths. Each version's `selectableFields` are checked as
//! `ValidateCustomResourceSelectableFields` does (path in the schema, not in metadata, scalar
//! type, unique, at most 8).

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
        if let Some(fields) = v
            .get("selectableFields")
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty())
        {
            match v.pointer("/schema/openAPIV3Schema") {
                None => out.push(errors::invalid(
                    &format!("{p}.selectableFields"),
                    &text(""),
                    "selectableFields may only be set when version.schema.openAPIV3Schema is not included",
                )),
                Some(schema) => selectable_fields(fields, schema, &format!("{p}.selectableFields"), out),
            }
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

/// `MaxSelectableFields`.
const MAX_SELECTABLE_FIELDS: i64 = 8;

/// `ValidateCustomResourceSelectableFields`: each `jsonPath` a field path of the schema (dots
/// only, no array notation), not in `metadata`, of type string, boolean or integer, unique; at
/// most [`MAX_SELECTABLE_FIELDS`].
fn selectable_fields(fields: &[Value], schema: &Value, path: &str, out: &mut Vec<Cause>) {
    let mut unique: Vec<String> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let fp = format!("{path}[{i}].jsonPath");
        let json_path = s(f, "/jsonPath");
        if json_path.is_empty() {
            out.push(errors::required(&fp, ""));
            continue;
        }
        let (segments, found) = match field_path(json_path, schema) {
            Ok(r) => r,
            Err(why) => {
                out.push(errors::invalid(
                    &fp,
                    &text(json_path),
                    &format!("is an invalid path: {why}"),
                ));
                continue;
            }
        };
        if segments.first().map(String::as_str) == Some("metadata") {
            out.push(errors::invalid(
                &fp,
                &text(json_path),
                "must not point to fields in metadata",
            ));
        }
        if !matches!(s(found, "/type"), "string" | "boolean" | "integer") {
            out.push(errors::invalid(
                &fp,
                &text(json_path),
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        let key = segments.join(".");
        if unique.contains(&key) {
            out.push(errors::duplicate(&fp, &text(json_path)));
        } else {
            unique.push(key);
        }
    }
    if unique.len() as i64 > MAX_SELECTABLE_FIELDS {
        out.push(errors::too_many(path, unique.len(), MAX_SELECTABLE_FIELDS));
    }
}

/// `cel.ValidFieldPath` without array notation: the segments of `.a.b` and the schema they
/// reach, or upstream's reason.
fn field_path<'a>(json_path: &str, schema: &'a Value) -> Result<(Vec<String>, &'a Value), String> {
    let mut node = schema;
    let mut segments = Vec::new();
    let mut rest = json_path;
    while !rest.is_empty() {
        let Some(after) = rest.strip_prefix('.') else {
            if rest.starts_with('[') {
                return Err("array notation is not allowed".into());
            }
            let tok: String = rest
                .chars()
                .take_while(|c| !matches!(c, '.' | '[' | ']'))
                .collect();
            let tok = if tok.is_empty() {
                rest[..1].to_string()
            } else {
                tok
            };
            return Err(format!("expected [ or . but got: {tok}"));
        };
        let end = after.find(['.', '[', ']']).unwrap_or(after.len());
        let tok = &after[..end];
        if tok.is_empty() {
            return match after.chars().next() {
                None => Err("unexpected end of JSON path".into()),
                // `..` or `.[`: the delimiter is taken as the field name.
                Some(_) => Err("does not refer to a valid field".into()),
            };
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            node = props.get(tok).ok_or("does not refer to a valid field")?;
        } else if let Some(ap) = node.get("additionalProperties").filter(|a| a.is_object()) {
            node = ap;
        } else {
            return Err("does not refer to a valid field".into());
        }
        segments.push(tok.to_string());
        rest = &after[end..];
    }
    Ok((segments, node))
}

/// An error on `spec.versions` as a whole; upstream prints the Go slice, abbreviated here.
fn versions_invalid(detail: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        "spec.versions",
        format!("Invalid value: {VERSIONS_VALUE}: {detail}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd_with(fields: Value) -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "selectableFields": fields,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "color": {"type": "string", "enum": ["red", "blue"]},
                        "size": {"type": "integer"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}}]}})
    }

    fn messages(fields: Value) -> Vec<String> {
        validate(&crd_with(fields))
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn selectable_fields_are_scalar_schema_paths() {
        assert!(messages(
            json!([{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.size"},
                                {"jsonPath": ".spec.labels.team"}])
        )
        .is_empty());
        let f = "spec.versions[0].selectableFields";
        assert_eq!(
            messages(json!([{"jsonPath": ".spec.colour"}])),
            [format!("{f}[0].jsonPath: Invalid value: \".spec.colour\": is an invalid path: does not refer to a valid field")]
        );
        assert_eq!(
            messages(json!([{"jsonPath": ".spec.tags"}])),
            [format!("{f}[0].jsonPath: Invalid value: \".spec.tags\": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.")]
        );
        assert_eq!(
            messages(json!([{"jsonPath": ".spec.labels['x']"}])),
            [format!("{f}[0].jsonPath: Invalid value: \".spec.labels['x']\": is an invalid path: array notation is not allowed")]
        );
        assert_eq!(
            messages(json!([{"jsonPath": "spec.color"}])),
            [format!("{f}[0].jsonPath: Invalid value: \"spec.color\": is an invalid path: expected [ or . but got: spec")]
        );
        assert_eq!(
            messages(json!([{"jsonPath": ".spec.color"}, {"jsonPath": ".spec.color"}])),
            [format!("{f}[1].jsonPath: Duplicate value: \".spec.color\"")]
        );
        assert_eq!(
            messages(json!([{"jsonPath": ""}])),
            [format!("{f}[0].jsonPath: Required value")]
        );
        let many: Vec<Value> = (0..9)
            .map(|i| json!({"jsonPath": format!(".spec.labels.k{i}")}))
            .collect();
        assert_eq!(
            messages(json!(many)),
            [format!("{f}: Too many: 9: must have at most 8 items")]
        );
    }
}
