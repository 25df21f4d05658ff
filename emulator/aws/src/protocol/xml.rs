//! Shape-driven XML output: walks an output structure of the model alongside a JSON value keyed
//! by member names and writes the elements a client's deserializer expects (member
//! `locationName`s, list element names such as `item` or `member`, ISO 8601 timestamps).

use super::model::{Member, ServiceModel, ShapeId, ShapeKind};
use serde_json::Value;
use std::fmt::Write;

/// Escapes text for XML content.
pub fn escape(out: &mut String, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
}

/// Opens a response document: the XML declaration and `<{Op}Response xmlns="{namespace}">`.
pub fn open_response(op: &str, namespace: &str, trailing_slash: bool) -> String {
    let mut head = String::with_capacity(160);
    head.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    head.push_str(op);
    head.push_str("Response xmlns=\"");
    head.push_str(namespace);
    if trailing_slash {
        head.push('/');
    }
    head.push_str("\">");
    head
}

fn open(out: &mut String, tag: &str) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
}

fn close(out: &mut String, tag: &str) {
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Writes the members of `value` (an object) as the contents of structure `shape`.
/// Members absent from the shape are skipped (see [`unknown_members`] for the test-time check).
pub fn write_members(out: &mut String, model: &ServiceModel, shape: ShapeId, value: &Value) {
    let (ShapeKind::Structure { members, .. }, Value::Object(map)) =
        (&model.shape(shape).kind, value)
    else {
        return;
    };
    for m in members {
        let Some(v) = map.get(&m.name) else { continue };
        if v.is_null() {
            continue;
        }
        let tag = m.location_name.as_deref().unwrap_or(&m.name);
        write_value(out, model, m.shape, m.flattened, tag, v);
    }
}

/// Writes one member (its element, or its items for a flattened list) with value `v`.
pub fn write_member(out: &mut String, model: &ServiceModel, m: &Member, v: &Value) {
    let tag = m.location_name.as_deref().unwrap_or(&m.name);
    write_value(out, model, m.shape, m.flattened, tag, v);
}

fn write_value(
    out: &mut String,
    model: &ServiceModel,
    shape: ShapeId,
    flattened: bool,
    tag: &str,
    v: &Value,
) {
    match &model.shape(shape).kind {
        ShapeKind::Structure { .. } => {
            open(out, tag);
            write_members(out, model, shape, v);
            close(out, tag);
        }
        ShapeKind::List {
            member,
            flattened: list_flat,
        } => {
            let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
            if flattened || *list_flat {
                let item_tag = member.location_name.as_deref().unwrap_or(tag);
                for item in items {
                    write_value(out, model, member.shape, false, item_tag, item);
                }
                return;
            }
            if items.is_empty() {
                out.push('<');
                out.push_str(tag);
                out.push_str("/>");
                return;
            }
            let item_tag = member.location_name.as_deref().unwrap_or("member");
            open(out, tag);
            for item in items {
                write_value(out, model, member.shape, false, item_tag, item);
            }
            close(out, tag);
        }
        ShapeKind::Map { key, value } => {
            open(out, tag);
            if let Value::Object(map) = v {
                for (k, val) in map {
                    out.push_str("<entry>");
                    write_value(out, model, *key, false, "key", &Value::String(k.clone()));
                    write_value(out, model, *value, false, "value", val);
                    out.push_str("</entry>");
                }
            }
            close(out, tag);
        }
        _ => {
            open(out, tag);
            match v {
                Value::String(s) => escape(out, s),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => {
                    let _ = write!(out, "{n}");
                }
                other => escape(out, &other.to_string()),
            }
            close(out, tag);
        }
    }
}

/// Test aid: the dotted paths of members in `value` that structure `shape` does not have, so a
/// handler that misspells an output member fails a test instead of silently dropping data.
pub fn unknown_members(model: &ServiceModel, shape: ShapeId, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_unknown(model, shape, value, "", &mut out);
    out
}

fn walk_unknown(
    model: &ServiceModel,
    shape: ShapeId,
    v: &Value,
    path: &str,
    out: &mut Vec<String>,
) {
    match (&model.shape(shape).kind, v) {
        (ShapeKind::Structure { members, .. }, Value::Object(map)) => {
            for (k, child) in map {
                match members.iter().find(|m| &m.name == k) {
                    Some(m) => walk_unknown(model, m.shape, child, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}")),
                }
            }
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                walk_unknown(model, member.shape, item, &format!("{path}[{i}]"), out);
            }
        }
        (ShapeKind::Structure { .. } | ShapeKind::List { .. }, Value::Null) => {}
        (ShapeKind::Structure { .. }, _) | (ShapeKind::List { .. }, _) => {
            out.push(format!("{path} (wrong JSON type)"))
        }
        _ => {}
    }
}
