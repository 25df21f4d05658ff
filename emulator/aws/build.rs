//! Prepares the vendored AWS service models for embedding. Each `service-2.json.gz` (kept
//! byte-identical to botocore's) is decompressed and reduced to what the wire codecs need, in a
//! line format that parses in a few milliseconds at start-up (the full JSON took ~25 ms, a
//! quarter of the budget for `cloudbox up` to answer its first call):
//!
//! ```text
//! V <apiVersion> <protocol> <xmlNamespace>
//! S <name> <type> <min|-> <max|->                    one per shape; the n-th S line is shape id n
//! m <name> <shape id> <locationName|-> <queryName|-> <flattened 0|1>   a structure member
//! r <required member>...                             a structure's required members
//! l <shape id> <locationName|-> <list flattened 0|1>  a list's member
//! p <key shape id> <value shape id>                  a map's key and value
//! O <operation> <input shape id|-> <output shape id|-> <resultWrapper|->
//! ```
//! Fields are separated by tabs.

use std::collections::HashMap;
use std::fmt::Write;
use std::io::Read;
use std::path::Path;

const MODELS: &[(&str, &str)] = &[
    ("ec2", "2016-11-15"),
    ("elbv2", "2015-12-01"),
    ("elb", "2012-06-01"),
    ("autoscaling", "2011-01-01"),
    ("sts", "2011-06-15"),
];

fn text(v: &serde_json::Value) -> &str {
    v.as_str().filter(|s| !s.is_empty()).unwrap_or("-")
}

fn compact(model: &serde_json::Value) -> String {
    let mut out = String::new();
    let meta = &model["metadata"];
    let _ = writeln!(
        out,
        "V\t{}\t{}\t{}",
        text(&meta["apiVersion"]),
        text(&meta["protocol"]),
        text(&meta["xmlNamespace"])
    );
    let shapes = model["shapes"].as_object().expect("shapes");
    let ids: HashMap<&str, usize> = shapes
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let id = |v: &serde_json::Value| -> String {
        v.as_str()
            .and_then(|n| ids.get(n))
            .map(|i| i.to_string())
            .unwrap_or_else(|| "-".to_string())
    };
    for (name, s) in shapes {
        let num = |k: &str| {
            s[k].as_i64()
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into())
        };
        let _ = writeln!(
            out,
            "S\t{name}\t{}\t{}\t{}",
            text(&s["type"]),
            num("min"),
            num("max")
        );
        if let Some(members) = s["members"].as_object() {
            for (m, spec) in members {
                let _ = writeln!(
                    out,
                    "m\t{m}\t{}\t{}\t{}\t{}",
                    id(&spec["shape"]),
                    text(&spec["locationName"]),
                    text(&spec["queryName"]),
                    u8::from(spec["flattened"].as_bool().unwrap_or(false))
                );
            }
        }
        if let Some(req) = s["required"].as_array() {
            let names: Vec<&str> = req.iter().filter_map(|r| r.as_str()).collect();
            if !names.is_empty() {
                let _ = writeln!(out, "r\t{}", names.join("\t"));
            }
        }
        if s["type"] == "list" {
            let _ = writeln!(
                out,
                "l\t{}\t{}\t{}",
                id(&s["member"]["shape"]),
                text(&s["member"]["locationName"]),
                u8::from(s["flattened"].as_bool().unwrap_or(false))
            );
        }
        if s["type"] == "map" {
            let _ = writeln!(
                out,
                "p\t{}\t{}",
                id(&s["key"]["shape"]),
                id(&s["value"]["shape"])
            );
        }
    }
    if let Some(ops) = model["operations"].as_object() {
        for (name, op) in ops {
            let _ = writeln!(
                out,
                "O\t{name}\t{}\t{}\t{}",
                id(&op["input"]["shape"]),
                id(&op["output"]["shape"]),
                text(&op["output"]["resultWrapper"])
            );
        }
    }
    out
}

/// One `pub const Name: &str = "Name";` per member name of the model's structures, so handlers
/// name members through constants the compiler checks (`m::VolumeId`), not string literals.
fn member_consts(model: &serde_json::Value) -> String {
    let mut names = std::collections::BTreeSet::new();
    if let Some(shapes) = model["shapes"].as_object() {
        for s in shapes.values() {
            if let Some(members) = s["members"].as_object() {
                names.extend(members.keys().cloned());
            }
        }
    }
    let mut out = String::new();
    for n in names {
        let _ = writeln!(out, "/// `{n}`.\npub const {n}: &str = \"{n}\";");
    }
    out
}

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (service, version) in MODELS {
        let src = format!("models/{service}/{version}/service-2.json.gz");
        println!("cargo:rerun-if-changed={src}");
        let file = std::fs::File::open(&src).expect("vendored model present");
        let mut json = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut json)
            .expect("model decompresses");
        let model: serde_json::Value = serde_json::from_str(&json).expect("model is JSON");
        let dest = Path::new(&out).join(format!("{service}-{version}.model"));
        std::fs::write(dest, compact(&model)).expect("writes");
        let dest = Path::new(&out).join(format!("members-{service}.rs"));
        std::fs::write(dest, member_consts(&model)).expect("writes");
    }
}
