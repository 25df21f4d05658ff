//! Server-side `meta.k8s.io/v1` Table output (what `kubectl get` prints): the Table builder, the
//! [`TableConvertor`] a kind's strategy returns ([`crate::kinds::strategy::Strategy::table`]), the
//! [`Printer`] form of upstream's table row handlers, the default convertor (NAME, AGE) and the
//! custom resources' convertor (`additionalPrinterColumns`, simple `.a.b` paths), plus the cell
//! helpers the printers share. The per-kind columns live with the kinds
//! ([`crate::kinds::core_printers`], [`crate::kinds::printers`]).
//!
//! Upstream: kubernetes v1.32, staging/src/k8s.io/apiserver/pkg/registry/rest/table.go (the
//! default convertor), pkg/printers/tablegenerator.go (handlers of columns and a row function),
//! pkg/registry/core/pod/storage/storage.go and siblings (`TableConvertor` per kind),
//! staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor.
//!
//! Not modelled: JSONPath expressions in printer columns beyond `.a.b`; the default convertor's
//! `Created At` column (built-in kinds without a printer show NAME and AGE, as custom resources
//! without printer columns do).

use crate::registry::ResourceDef;
use serde_json::{json, Value};

/// Whether an Accept header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.replace(' ', "").contains("as=Table"))
}

/// kubectl's short duration (`5s`, `3m10s`, `17h`, `2d`).
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 120 {
        return format!("{s}s");
    }
    let m = s / 60;
    if m < 10 {
        let rs = s % 60;
        return if rs == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{rs}s")
        };
    }
    if m < 180 {
        return format!("{m}m");
    }
    let h = m / 60;
    if h < 8 {
        let rm = m % 60;
        return if rm == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{rm}m")
        };
    }
    if h < 48 {
        return format!("{h}h");
    }
    let d = h / 24;
    if d < 8 {
        let rh = h % 24;
        return if rh == 0 {
            format!("{d}d")
        } else {
            format!("{d}d{rh}h")
        };
    }
    if d < 365 * 2 {
        return format!("{d}d");
    }
    format!("{}y{}d", d / 365, d % 365)
}

pub(crate) fn age(obj: &Value, now_ms: u64, field: &str) -> String {
    match obj
        .pointer(field)
        .and_then(Value::as_str)
        .and_then(cloudbox_sim::time_fmt::parse_iso8601)
    {
        Some(t) => human_duration(((now_ms as i64) - (t as i64)) / 1000),
        None => "<unknown>".into(),
    }
}

pub(crate) fn s(obj: &Value, ptr: &str) -> String {
    match obj.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

pub(crate) fn i(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

pub(crate) fn or_none(v: String) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v
    }
}

pub(crate) fn arr<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(crate) fn col(name: &str, ty: &str, priority: i64) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": name, "priority": priority})
}

pub(crate) fn containers_images(obj: &Value, base: &str) -> (String, String) {
    let cs = arr(obj, base);
    let names: Vec<String> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<String> = cs.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

pub(crate) fn selector_string(sel: Option<&Value>) -> String {
    match sel {
        Some(sel) => {
            let q = crate::selectors::LabelSelector::from_object(sel).to_query();
            if q.is_empty() {
                "<none>".into()
            } else {
                q
            }
        }
        None => "<none>".into(),
    }
}

pub(crate) fn map_selector(sel: Option<&Value>) -> String {
    sel.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into())
}

/// One column definition: name, type (`string`, `integer`, `boolean`, `date`), priority (0 is
/// shown by default, 1 with `-o wide`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name as kubectl prints it (upper-cased by kubectl).
    pub name: &'static str,
    /// OpenAPI type of the cells.
    pub ty: &'static str,
    /// 0: always shown; 1: `-o wide`.
    pub priority: i64,
}

/// A column, for the printers' static column lists.
pub const fn column(name: &'static str, ty: &'static str, priority: i64) -> Column {
    Column { name, ty, priority }
}

impl Column {
    fn definition(&self) -> Value {
        col(self.name, self.ty, self.priority)
    }
}

/// Turns stored objects of a kind into Table columns and rows (upstream `rest.TableConvertor`).
pub trait TableConvertor: Sync {
    /// The column definitions.
    fn columns(&self, def: &ResourceDef) -> Vec<Value>;
    /// The cells of one object (served form), one per column.
    fn cells(&self, def: &ResourceDef, obj: &Value, now_ms: u64) -> Vec<Value>;
}

/// A kind's printer: its columns and a row function (upstream `TableRowHandler`s registered in
/// `printers.go` `AddHandlers`).
pub struct Printer {
    /// The column definitions.
    pub columns: &'static [Column],
    /// The cells of one object (served form, the resource definition it is served as, the
    /// simulated time in milliseconds).
    pub row: fn(&ResourceDef, &Value, u64) -> Vec<Value>,
}

impl TableConvertor for Printer {
    fn columns(&self, _def: &ResourceDef) -> Vec<Value> {
        self.columns.iter().map(Column::definition).collect()
    }
    fn cells(&self, def: &ResourceDef, obj: &Value, now_ms: u64) -> Vec<Value> {
        (self.row)(def, obj, now_ms)
    }
}

/// The name cell of an object.
pub(crate) fn name(obj: &Value) -> Value {
    json!(s(obj, "/metadata/name"))
}

/// The age cell of an object (from `metadata.creationTimestamp`).
pub(crate) fn age_cell(obj: &Value, now_ms: u64) -> Value {
    json!(age(obj, now_ms, "/metadata/creationTimestamp"))
}

/// The convertor of kinds without a printer: NAME and AGE.
pub static DEFAULT_TABLE: Printer = Printer {
    columns: &[column("Name", "string", 0), column("Age", "string", 0)],
    row: |_, o, now| vec![name(o), age_cell(o, now)],
};

/// The convertor of custom resources: NAME, the version's `additionalPrinterColumns`, and AGE
/// unless a printer column is named Age.
pub struct CustomColumns;

/// additionalPrinterColumns of a custom resource: (name, type, jsonPath, priority).
fn custom_columns(def: &ResourceDef) -> Vec<(String, String, String, i64)> {
    def.printer_columns
        .iter()
        .filter_map(|c| {
            Some((
                c.get("name")?.as_str()?.to_string(),
                c.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("string")
                    .to_string(),
                c.get("jsonPath")?.as_str()?.to_string(),
                c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            ))
        })
        .collect()
}

impl TableConvertor for CustomColumns {
    fn columns(&self, def: &ResourceDef) -> Vec<Value> {
        let cols = custom_columns(def);
        let mut v = vec![col("Name", "string", 0)];
        for (n, ty, _, prio) in &cols {
            v.push(
                json!({"name": n, "type": ty, "format": "", "description": n, "priority": prio}),
            );
        }
        if !cols.iter().any(|c| c.0 == "Age") {
            v.push(col("Age", "string", 0));
        }
        v
    }
    fn cells(&self, def: &ResourceDef, o: &Value, now: u64) -> Vec<Value> {
        let mut v = vec![name(o)];
        let cols = custom_columns(def);
        for (n, _, path, _) in &cols {
            let ptr = format!("/{}", path.trim_start_matches('.').replace('.', "/"));
            if n == "Age" {
                v.push(json!(age(o, now, &ptr)));
            } else {
                v.push(o.pointer(&ptr).cloned().unwrap_or(Value::Null));
            }
        }
        if !cols.iter().any(|c| c.0 == "Age") {
            v.push(age_cell(o, now));
        }
        v
    }
}

/// Builds a Table of `items` (served form) with the kind's convertor. `include_object` is
/// `None`, `Metadata` or `Object`.
pub fn table(
    def: &ResourceDef,
    items: &[Value],
    rv: u64,
    cont: Option<&str>,
    now_ms: u64,
    include_object: &str,
) -> Value {
    let convertor = crate::kinds::strategy::for_kind(def).table();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let object = match include_object {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
                }),
            };
            json!({"cells": convertor.cells(def, o, now_ms), "object": object})
        })
        .collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": convertor.columns(def),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_accept() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(190), "3m10s");
        assert_eq!(human_duration(17 * 3600 + 5), "17h");
        assert_eq!(human_duration(3 * 86400), "3d");
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
    }
}
