//! Property tests: whatever the bytes, `decode` returns `Ok` or `Err`, never panics — random
//! bodies, random payloads behind a valid envelope, mutated kubectl captures, and random but
//! well-formed protobuf messages under every kind of the schema (k8s-pb 0.9.0 / Kubernetes 1.35.0).

use cloudbox_kube_protobuf::{decode, kinds};
use proptest::prelude::*;
use std::path::PathBuf;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    for (field, s) in [(1u64, api_version), (2, kind)] {
        varint(&mut type_meta, field << 3 | 2);
        varint(&mut type_meta, s.len() as u64);
        type_meta.extend_from_slice(s.as_bytes());
    }
    let mut out = b"k8s\0".to_vec();
    out.push(0x0a);
    varint(&mut out, type_meta.len() as u64);
    out.extend_from_slice(&type_meta);
    out.push(0x12);
    varint(&mut out, raw.len() as u64);
    out.extend_from_slice(raw);
    out
}

/// A well-formed protobuf message with random fields (numbers 1..=45, all wire types, nested
/// messages), so decoding gets past the wire level into types, maps and specials.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop::collection::vec(field_leaf(), 0..8).prop_map(|fs| fs.concat());
    leaf.prop_recursive(6, 256, 8, |inner| {
        prop::collection::vec(
            prop_oneof![
                field_leaf(),
                (1u64..=45, inner).prop_map(|(n, m)| len_field(n, &m)),
            ],
            0..8,
        )
        .prop_map(|fs| fs.concat())
    })
}

fn len_field(number: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, number << 3 | 2);
    varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

fn field_leaf() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1u64..=45, any::<u64>()).prop_map(|(n, v)| {
            let mut out = Vec::new();
            varint(&mut out, n << 3);
            varint(&mut out, v);
            out
        }),
        (1u64..=45, prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(n, b)| len_field(n, &b)),
        (1u64..=45, "[a-z0-9%./-]{0,12}").prop_map(|(n, s)| len_field(n, s.as_bytes())),
        (1u64..=45, any::<u64>()).prop_map(|(n, v)| {
            let mut out = Vec::new();
            varint(&mut out, n << 3 | 1);
            out.extend_from_slice(&v.to_le_bytes());
            out
        }),
        (1u64..=45, any::<u32>()).prop_map(|(n, v)| {
            let mut out = Vec::new();
            varint(&mut out, n << 3 | 5);
            out.extend_from_slice(&v.to_le_bytes());
            out
        }),
    ]
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|e| e == "pb") {
            out.extend(std::fs::read(entry.path()).ok());
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&body);
        let mut with_magic = b"k8s\0".to_vec();
        with_magic.extend_from_slice(&body);
        let _ = decode(&with_magic);
    }

    #[test]
    fn random_payloads_of_every_kind_never_panic(
        kind in prop::sample::select(kinds()),
        raw in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let api_version = if kind.0 == "*" { "v1" } else { kind.0 };
        let _ = decode(&envelope(api_version, kind.1, &raw));
    }

    #[test]
    fn well_formed_messages_of_every_kind_never_panic(
        kind in prop::sample::select(kinds()),
        raw in message(),
    ) {
        let api_version = if kind.0 == "*" { "v1" } else { kind.0 };
        let _ = decode(&envelope(api_version, kind.1, &raw));
    }

    #[test]
    fn mutated_kubectl_bodies_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let all = fixtures();
        let mut body = all[which.index(all.len())].clone();
        for (at, byte, op) in edits {
            let i = at.index(body.len().max(1));
            match op {
                0 if i < body.len() => body[i] = byte,
                1 => body.insert(i.min(body.len()), byte),
                _ if i < body.len() => { body.remove(i); }
                _ => {}
            }
        }
        let _ = decode(&body);
    }
}
