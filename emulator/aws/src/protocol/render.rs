//! Typed output: a handler writes its answer member by member into a [`Sink`] straight from the
//! state records, instead of building a JSON tree that a codec then walks.
//!
//! Two sinks implement it:
//! - [`XmlSink`] writes the wire XML directly, taking every element name from the model (the
//!   member's `locationName`, a list's `item`/`member` element, flattened lists) — for the HTTP
//!   path, where a `DescribeInstances` over 100 instances is 365 KiB of XML;
//! - [`JsonSink`] builds the model-shaped JSON value — for the in-process client, which gives
//!   controllers JSON.
//!
//! So one rendering function serves both doors, and the names a handler writes are still checked
//! against the model: a member the output shape does not have is recorded in
//! [`XmlSink::unknown`] (the strict mode of tests fails the call on it), exactly as
//! `xml::unknown_members` does for JSON outputs.

use super::model::{Member, ServiceModel, ShapeId, ShapeKind};
use super::xml;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;

/// A scalar value of a member.
#[derive(Debug, Clone, Copy)]
pub enum Scalar<'a> {
    /// A string (also enums and ISO 8601 timestamps).
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// Where a handler writes one structure of its output.
pub trait Sink {
    /// A scalar member.
    fn scalar(&mut self, member: &'static str, v: Scalar<'_>);
    /// A structure member; `f` writes its members.
    fn object(&mut self, member: &'static str, f: &mut dyn FnMut(&mut dyn Sink));
    /// A list of structures with `n` elements; `f(sink, i)` writes element `i`'s members.
    fn objects(&mut self, member: &'static str, n: usize, f: &mut dyn FnMut(&mut dyn Sink, usize));
    /// A list of strings.
    fn strings(&mut self, member: &'static str, items: &mut dyn Iterator<Item = &str>);
    /// A member whose value was built as model-shaped JSON (small, rarely used parts).
    fn json(&mut self, member: &'static str, v: Value);

    /// A string member.
    fn str(&mut self, member: &'static str, v: &str) {
        self.scalar(member, Scalar::Str(v));
    }
    /// A string member, if present.
    fn opt_str(&mut self, member: &'static str, v: Option<&str>) {
        if let Some(v) = v {
            self.scalar(member, Scalar::Str(v));
        }
    }
    /// An integer member.
    fn int(&mut self, member: &'static str, v: i64) {
        self.scalar(member, Scalar::Int(v));
    }
    /// A boolean member.
    fn bool(&mut self, member: &'static str, v: bool) {
        self.scalar(member, Scalar::Bool(v));
    }
}

/// FNV-1a: member names are short, and this lookup runs for every element written (about a
/// hundred per instance), where SipHash cost a quarter of a DescribeInstances.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Finds a member of a structure shape by name, through a per-shape index.
pub struct Members {
    by_shape: Vec<OnceLock<FnvMap<&'static str, usize>>>,
}

impl Members {
    fn new(model: &ServiceModel) -> Members {
        Members {
            by_shape: (0..model.shapes.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    fn find(
        &self,
        model: &'static ServiceModel,
        shape: ShapeId,
        name: &str,
    ) -> Option<&'static Member> {
        let ShapeKind::Structure { members, .. } = &model.shape(shape).kind else {
            return None;
        };
        let index = self.by_shape.get(shape)?.get_or_init(|| {
            members
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect()
        });
        index.get(name).map(|&i| &members[i])
    }
}

/// The member index of a model (one per model, built lazily shape by shape).
pub fn members_of(model: &'static ServiceModel) -> &'static Members {
    static INDEXES: OnceLock<parking_lot::Mutex<Vec<(usize, &'static Members)>>> = OnceLock::new();
    let key = model as *const ServiceModel as usize;
    let mut list = INDEXES.get_or_init(Default::default).lock();
    if let Some((_, m)) = list.iter().find(|(k, _)| *k == key) {
        return m;
    }
    let m: &'static Members = Box::leak(Box::new(Members::new(model)));
    list.push((key, m));
    m
}

/// Slots of the per-answer lookup cache (a power of two).
const CACHE_SLOTS: usize = 1024;

/// (name pointer, name length, shape) → member, direct-mapped. Member names are `&'static str`,
/// so a pointer and length identify the text; an answer writes the same few hundred
/// (shape, member) pairs for every item, so after the first item nearly every lookup is a hit.
type LookupCache = Vec<(usize, usize, ShapeId, Option<&'static Member>)>;

/// Writes XML for one structure shape of a model into `out`.
pub struct XmlSink<'a> {
    model: &'static ServiceModel,
    members: &'static Members,
    shape: ShapeId,
    out: &'a mut String,
    /// Members written that the shape does not have (a defect the strict mode reports).
    pub unknown: &'a mut Vec<String>,
    cache: Option<Box<LookupCache>>,
    parent_cache: Option<&'a mut LookupCache>,
}

impl<'a> XmlSink<'a> {
    /// A sink for the members of structure `shape`.
    pub fn new(
        model: &'static ServiceModel,
        shape: ShapeId,
        out: &'a mut String,
        unknown: &'a mut Vec<String>,
    ) -> XmlSink<'a> {
        XmlSink {
            model,
            members: members_of(model),
            shape,
            out,
            unknown,
            cache: Some(Box::new(vec![(0, 0, 0, None); CACHE_SLOTS])),
            parent_cache: None,
        }
    }

    fn cache(&mut self) -> Option<&mut LookupCache> {
        match (&mut self.cache, &mut self.parent_cache) {
            (Some(c), _) => Some(c),
            (None, Some(c)) => Some(c),
            (None, None) => None,
        }
    }

    /// A sink for a nested structure of shape `shape`, writing into the same buffer.
    fn child(&mut self, shape: ShapeId) -> XmlSink<'_> {
        let (model, members) = (self.model, self.members);
        let cache = match (&mut self.cache, &mut self.parent_cache) {
            (Some(c), _) => Some(&mut **c),
            (None, Some(c)) => Some(&mut **c),
            (None, None) => None,
        };
        XmlSink {
            model,
            members,
            shape,
            out: &mut *self.out,
            unknown: &mut *self.unknown,
            cache: None,
            parent_cache: cache,
        }
    }

    fn member(&mut self, name: &'static str) -> Option<&'static Member> {
        let (ptr, len, shape) = (name.as_ptr() as usize, name.len(), self.shape);
        let mixed =
            (ptr as u64 ^ (shape as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (mixed >> 54) as usize & (CACHE_SLOTS - 1);
        if let Some(&(p, l, s, Some(m))) = self.cache().and_then(|c| c.get(slot)) {
            if p == ptr && l == len && s == shape {
                return Some(m);
            }
        }
        let m = self.members.find(self.model, self.shape, name);
        if m.is_some() {
            if let Some(e) = self.cache().and_then(|c| c.get_mut(slot)) {
                *e = (ptr, len, shape, m);
            }
        }
        if m.is_none() {
            let shape = &self.model.shape(self.shape).name;
            self.unknown.push(format!("{shape}.{name}"));
        }
        m
    }

    fn tag(m: &Member) -> &str {
        m.location_name.as_deref().unwrap_or(&m.name)
    }

    fn open(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
    }

    fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    fn write_scalar(&mut self, tag: &str, v: Scalar<'_>) {
        if let Scalar::Str(s) = v {
            self.out.reserve(2 * tag.len() + s.len() + 5);
        }
        self.open(tag);
        match v {
            Scalar::Str(s) => xml::escape(self.out, s),
            Scalar::Int(n) => {
                let _ = write!(self.out, "{n}");
            }
            Scalar::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
        }
        self.close(tag);
    }

    /// The list shape of a member: (item tag, item shape, flattened).
    fn list_of(&self, m: &'static Member) -> Option<(&'static str, ShapeId, bool)> {
        match &self.model.shape(m.shape).kind {
            ShapeKind::List { member, flattened } => {
                let flat = *flattened || m.flattened;
                let item_tag = member.location_name.as_deref().unwrap_or(if flat {
                    Self::tag(m)
                } else {
                    "member"
                });
                Some((item_tag, member.shape, flat))
            }
            _ => None,
        }
    }
}

impl Sink for XmlSink<'_> {
    fn scalar(&mut self, member: &'static str, v: Scalar<'_>) {
        if let Some(m) = self.member(member) {
            self.write_scalar(Self::tag(m), v);
        }
    }

    fn object(&mut self, member: &'static str, f: &mut dyn FnMut(&mut dyn Sink)) {
        let Some(m) = self.member(member) else { return };
        let tag = Self::tag(m);
        self.open(tag);
        f(&mut self.child(m.shape));
        self.close(tag);
    }

    fn objects(&mut self, member: &'static str, n: usize, f: &mut dyn FnMut(&mut dyn Sink, usize)) {
        let Some(m) = self.member(member) else { return };
        let Some((item_tag, item_shape, flat)) = self.list_of(m) else {
            self.unknown.push(format!("{member} (not a list)"));
            return;
        };
        let tag = Self::tag(m);
        if n == 0 {
            if !flat {
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push_str("/>");
            }
            return;
        }
        if !flat {
            self.open(tag);
        }
        for i in 0..n {
            self.open(item_tag);
            f(&mut self.child(item_shape), i);
            self.close(item_tag);
        }
        if !flat {
            self.close(tag);
        }
    }

    fn strings(&mut self, member: &'static str, items: &mut dyn Iterator<Item = &str>) {
        let Some(m) = self.member(member) else { return };
        let Some((item_tag, _, flat)) = self.list_of(m) else {
            self.unknown.push(format!("{member} (not a list)"));
            return;
        };
        let tag = Self::tag(m);
        let mut any = false;
        for s in items {
            if !any && !flat {
                self.open(tag);
            }
            any = true;
            self.write_scalar(item_tag, Scalar::Str(s));
        }
        match (any, flat) {
            (true, false) => self.close(tag),
            (false, false) => {
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push_str("/>");
            }
            _ => {}
        }
    }

    fn json(&mut self, member: &'static str, v: Value) {
        let Some(m) = self.member(member) else { return };
        if v.is_null() {
            return;
        }
        self.unknown.extend(
            xml::unknown_members(self.model, m.shape, &v)
                .into_iter()
                .map(|p| format!("{member}{p}")),
        );
        xml::write_member(self.out, self.model, m, &v);
    }
}

/// Builds the model-shaped JSON value of one structure.
#[derive(Debug, Default)]
pub struct JsonSink {
    map: Map<String, Value>,
}

impl JsonSink {
    /// Runs `f` on a fresh sink and returns the object it built.
    pub fn build(f: impl FnOnce(&mut dyn Sink)) -> Value {
        let mut s = JsonSink::default();
        f(&mut s);
        Value::Object(s.map)
    }
}

impl Sink for JsonSink {
    fn scalar(&mut self, member: &'static str, v: Scalar<'_>) {
        let v = match v {
            Scalar::Str(s) => Value::String(s.to_string()),
            Scalar::Int(n) => Value::from(n),
            Scalar::Bool(b) => Value::Bool(b),
        };
        self.map.insert(member.to_string(), v);
    }

    fn object(&mut self, member: &'static str, f: &mut dyn FnMut(&mut dyn Sink)) {
        let mut child = JsonSink::default();
        f(&mut child);
        self.map
            .insert(member.to_string(), Value::Object(child.map));
    }

    fn objects(&mut self, member: &'static str, n: usize, f: &mut dyn FnMut(&mut dyn Sink, usize)) {
        let items = (0..n)
            .map(|i| {
                let mut child = JsonSink::default();
                f(&mut child, i);
                Value::Object(child.map)
            })
            .collect();
        self.map.insert(member.to_string(), Value::Array(items));
    }

    fn strings(&mut self, member: &'static str, items: &mut dyn Iterator<Item = &str>) {
        let items = items.map(|s| Value::String(s.to_string())).collect();
        self.map.insert(member.to_string(), Value::Array(items));
    }

    fn json(&mut self, member: &'static str, v: Value) {
        if !v.is_null() {
            self.map.insert(member.to_string(), v);
        }
    }
}
