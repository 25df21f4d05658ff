//! Prepares the vendored AWS service models for embedding: decompresses each `service-2.json.gz`
//! (kept byte-identical to botocore's) and strips the documentation strings, which make up most of
//! the file and are never needed at run time. The emulator then parses a small JSON at start-up.

use std::io::Read;
use std::path::Path;

const MODELS: &[(&str, &str)] = &[("ec2", "2016-11-15")];

fn strip(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for key in [
                "documentation",
                "deprecatedMessage",
                "examples",
                "documentationUrl",
            ] {
                map.remove(key);
            }
            map.values_mut().for_each(strip);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
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
        let mut model: serde_json::Value = serde_json::from_str(&json).expect("model is JSON");
        strip(&mut model);
        let dest = Path::new(&out).join(format!("{service}-{version}.json"));
        std::fs::write(dest, serde_json::to_string(&model).expect("serializes")).expect("writes");
    }
}
