//! The Swagger 2.0 document as gnostic's protobuf `openapi.v2.Document`, the encoding kubectl and
//! client-go request (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`)
//! before building their schema models. A hand-written encoder over the few messages needed:
//! Document, Info, Paths/PathItem/Operation (parameters, responses), Definitions/Schema and the
//! `Any`-valued fields (`default`, `enum`, `example`, vendor extensions), which carry their value
//! as YAML text (JSON being YAML).
//!
//! Upstream: google/gnostic-models openapiv2/OpenAPIv2.proto (the field numbers below),
//! staging/src/k8s.io/kube-openapi/pkg/handler/handler.go (served protobuf).
//! Not modelled: `formData` parameters, `headers`/`examples` of responses, `xml`,
//! `externalDocs` (none occur in the served documents).

use serde_json::{Map, Value};

/// A protobuf message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }
    fn message(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }
    fn boolean(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }
    fn int64(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.key(field, 0);
            self.varint(v as u64);
        }
    }
    fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.key(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }
    fn str_of(&mut self, field: u32, m: &Map<String, Value>, key: &str) {
        if let Some(s) = m.get(key).and_then(Value::as_str) {
            self.string(field, s);
        }
    }
    fn strings(&mut self, field: u32, v: Option<&Value>) {
        for s in v.and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = s.as_str() {
                self.bytes(field, s.as_bytes());
            }
        }
    }
}

/// gnostic `Any`: the value as YAML text (field 2).
fn any(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.bytes(2, serde_json::to_string(v).unwrap_or_default().as_bytes());
    m
}

/// `repeated NamedAny vendor_extension` from the `x-` keys of `m`.
fn extensions(out: &mut Msg, field: u32, m: &Map<String, Value>) {
    for (k, v) in m.iter().filter(|(k, _)| k.starts_with("x-")) {
        let mut named = Msg::default();
        named.string(1, k);
        named.message(2, any(v));
        out.message(field, named);
    }
}

fn schema(v: &Value) -> Msg {
    let mut o = Msg::default();
    let Some(m) = v.as_object() else {
        return o;
    };
    let num = |k: &str| m.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let int = |k: &str| m.get(k).and_then(Value::as_i64).unwrap_or(0);
    let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
    o.str_of(1, m, "$ref");
    o.str_of(2, m, "format");
    o.str_of(3, m, "title");
    o.str_of(4, m, "description");
    if let Some(d) = m.get("default") {
        o.message(5, any(d));
    }
    o.double(6, num("multipleOf"));
    o.double(7, num("maximum"));
    o.boolean(8, flag("exclusiveMaximum"));
    o.double(9, num("minimum"));
    o.boolean(10, flag("exclusiveMinimum"));
    o.int64(11, int("maxLength"));
    o.int64(12, int("minLength"));
    o.str_of(13, m, "pattern");
    o.int64(14, int("maxItems"));
    o.int64(15, int("minItems"));
    o.boolean(16, flag("uniqueItems"));
    o.int64(17, int("maxProperties"));
    o.int64(18, int("minProperties"));
    o.strings(19, m.get("required"));
    for e in m
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        o.message(20, any(e));
    }
    match m.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut a = Msg::default();
            a.key(2, 0);
            a.varint(u64::from(*b));
            o.message(21, a);
        }
        Some(s @ Value::Object(_)) => {
            let mut a = Msg::default();
            a.message(1, schema(s));
            o.message(21, a);
        }
        _ => {}
    }
    match m.get("type") {
        Some(Value::String(t)) => {
            let mut t_item = Msg::default();
            t_item.string(1, t);
            o.message(22, t_item);
        }
        Some(ts @ Value::Array(_)) => {
            let mut t_item = Msg::default();
            t_item.strings(1, Some(ts));
            o.message(22, t_item);
        }
        _ => {}
    }
    match m.get("items") {
        Some(s @ Value::Object(_)) => {
            let mut items = Msg::default();
            items.message(1, schema(s));
            o.message(23, items);
        }
        Some(Value::Array(a)) => {
            let mut items = Msg::default();
            a.iter().for_each(|s| items.message(1, schema(s)));
            o.message(23, items);
        }
        _ => {}
    }
    for s in m
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        o.message(24, schema(s));
    }
    if let Some(Value::Object(props)) = m.get("properties") {
        let mut p = Msg::default();
        for (name, s) in props {
            p.message(1, named(name, schema(s)));
        }
        o.message(25, p);
    }
    o.str_of(26, m, "discriminator");
    o.boolean(27, flag("readOnly"));
    if let Some(e) = m.get("example") {
        o.message(30, any(e));
    }
    extensions(&mut o, 31, m);
    o
}

/// A `Named*` pair message: name (1) and value (2).
fn named(name: &str, value: Msg) -> Msg {
    let mut n = Msg::default();
    n.string(1, name);
    n.message(2, value);
    n
}

/// `ParametersItem` of one inlined parameter.
fn parameter(p: &Value) -> Msg {
    let empty = Map::new();
    let m = p.as_object().unwrap_or(&empty);
    let location = m.get("in").and_then(Value::as_str).unwrap_or("");
    let mut param = Msg::default();
    if location == "body" {
        let mut b = Msg::default();
        b.str_of(1, m, "description");
        b.str_of(2, m, "name");
        b.string(3, location);
        b.boolean(
            4,
            m.get("required").and_then(Value::as_bool).unwrap_or(false),
        );
        if let Some(s) = m.get("schema") {
            b.message(5, schema(s));
        }
        param.message(1, b);
    } else {
        // Query (3) has `allow_empty_value` at 5, so its later fields sit one number higher
        // than those of path (4) and header (1) parameters.
        let (oneof, shift) = match location {
            "query" => (3, 1),
            "path" => (4, 0),
            "header" => (1, 0),
            _ => return Msg::default(),
        };
        let mut s = Msg::default();
        s.boolean(
            1,
            m.get("required").and_then(Value::as_bool).unwrap_or(false),
        );
        s.string(2, location);
        s.str_of(3, m, "description");
        s.str_of(4, m, "name");
        s.str_of(5 + shift, m, "type");
        s.str_of(6 + shift, m, "format");
        s.boolean(
            19 + shift,
            m.get("uniqueItems")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        );
        let mut non_body = Msg::default();
        non_body.message(oneof, s);
        param.message(2, non_body);
    }
    let mut item = Msg::default();
    item.message(1, param);
    item
}

fn operation(op: &Value) -> Msg {
    let mut o = Msg::default();
    let Some(m) = op.as_object() else {
        return o;
    };
    o.strings(1, m.get("tags"));
    o.str_of(2, m, "summary");
    o.str_of(3, m, "description");
    o.str_of(5, m, "operationId");
    o.strings(6, m.get("produces"));
    o.strings(7, m.get("consumes"));
    for p in m
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        o.message(8, parameter(p));
    }
    if let Some(Value::Object(rs)) = m.get("responses") {
        let mut responses = Msg::default();
        for (code, r) in rs {
            let mut resp = Msg::default();
            resp.str_of(1, r.as_object().unwrap_or(&Map::new()), "description");
            if let Some(s) = r.get("schema") {
                let mut item = Msg::default();
                item.message(1, schema(s));
                resp.message(2, item);
            }
            let mut value = Msg::default();
            value.message(1, resp);
            responses.message(1, named(code, value));
        }
        o.message(9, responses);
    }
    o.strings(10, m.get("schemes"));
    o.boolean(
        11,
        m.get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    );
    extensions(&mut o, 13, m);
    o
}

fn path_item(item: &Value) -> Msg {
    let mut o = Msg::default();
    let Some(m) = item.as_object() else {
        return o;
    };
    for (field, verb) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        if let Some(op) = m.get(verb) {
            o.message(field, operation(op));
        }
    }
    for p in m
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        o.message(9, parameter(p));
    }
    extensions(&mut o, 10, m);
    o
}

/// Encodes a Swagger 2.0 JSON document as `openapi.v2.Document`.
pub fn document(doc: &Value) -> Vec<u8> {
    let mut d = Msg::default();
    let empty = Map::new();
    let m = doc.as_object().unwrap_or(&empty);
    d.str_of(1, m, "swagger");
    if let Some(Value::Object(info)) = m.get("info") {
        let mut i = Msg::default();
        i.str_of(1, info, "title");
        i.str_of(2, info, "version");
        d.message(2, i);
    }
    if let Some(Value::Object(paths)) = m.get("paths") {
        let mut p = Msg::default();
        for (name, item) in paths {
            p.message(2, named(name, path_item(item)));
        }
        d.message(8, p);
    }
    if let Some(Value::Object(defs)) = m.get("definitions") {
        let mut p = Msg::default();
        for (name, s) in defs {
            p.message(1, named(name, schema(s)));
        }
        d.message(9, p);
    }
    for req in m
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut r = Msg::default();
        for (name, scopes) in req.as_object().into_iter().flatten() {
            let mut arr = Msg::default();
            arr.strings(1, Some(scopes));
            r.message(1, named(name, arr));
        }
        d.message(12, r);
    }
    if let Some(Value::Object(sd)) = m.get("securityDefinitions") {
        let mut defs = Msg::default();
        for (name, s) in sd {
            let sm = s.as_object().unwrap_or(&empty);
            let mut key = Msg::default();
            key.str_of(1, sm, "type");
            key.str_of(2, sm, "name");
            key.str_of(3, sm, "in");
            key.str_of(4, sm, "description");
            let mut item = Msg::default();
            item.message(2, key);
            defs.message(1, named(name, item));
        }
        d.message(13, defs);
    }
    d.0
}
