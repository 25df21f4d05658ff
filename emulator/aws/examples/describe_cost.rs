//! Where DescribeInstances spends its time: handler (JSON) vs serialization (XML), in process.
//! `cargo run --release -p cloudbox-aws --example describe_cost`

use cloudbox_aws::protocol::{ec2 as codec, model};
use cloudbox_aws::AwsClient;
use cloudbox_sim::Clock;
use serde_json::json;
use std::time::Instant;

fn main() {
    let t = Instant::now();
    let _ = model::ec2();
    println!("model parse: {:?}", t.elapsed());
    let t = Instant::now();
    let _ = cloudbox_aws::ec2::catalog::instance_types();
    println!("instance types: {:?}", t.elapsed());
    let ec2 = AwsClient::new(
        &cloudbox_aws::AwsState::new(Clock::manual(), 1),
        "us-east-1",
    )
    .expect("region");
    let run = json!({"ImageId": "ami-0abcdef1234567890", "InstanceType": "c5.large", "MinCount": 100, "MaxCount": 100});
    ec2.call("ec2:RunInstances", &run).expect("run");
    let m = model::ec2();
    let op = &m.operations["DescribeInstances"];
    let input = json!({});
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let t = Instant::now();
    let mut out = None;
    for _ in 0..n {
        out = Some(ec2.call("ec2:DescribeInstances", &input).expect("describe"));
    }
    let handler = t.elapsed() / n;
    let out = out.expect("output");
    let t = Instant::now();
    let mut len = 0;
    for _ in 0..n {
        len = codec::serialize(m, op, &out, "req").len();
    }
    let ser = t.elapsed() / n;
    println!("DescribeInstances x100: handler {handler:?}, serialize {ser:?}, body {len} bytes");
}
