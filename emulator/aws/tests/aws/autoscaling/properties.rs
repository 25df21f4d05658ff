//! Invariants under random sequences of Create/Update/SetDesiredCapacity/Terminate/EC2
//! termination/time (proptest, through the in-process client): every request answers a
//! result or a coded 4xx (never a 5xx), every group stays within min..max, and once the clock
//! has moved on each group has exactly its desired capacity in service, balanced across its
//! AZs within one.

use crate::support::*;
use cloudbox_aws::AwsClient;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Create(usize, i64, i64, i64),
    Update(usize, Option<i64>, Option<i64>, Option<i64>),
    SetDesired(usize, i64),
    Terminate(usize, usize, bool),
    Ec2Terminate(usize, usize),
    Protect(usize, usize),
    Delete(usize, bool),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..4i64, 0..8i64, 0..8i64).prop_map(|(g, a, b, c)| Op::Create(g, a, b, c)),
        valid_create(),
        (
            0..3usize,
            proptest::option::of(-1..5i64),
            proptest::option::of(0..9i64),
            proptest::option::of(0..9i64)
        )
            .prop_map(|(g, a, b, c)| Op::Update(g, a, b, c)),
        (0..3usize, -1..10i64).prop_map(|(g, d)| Op::SetDesired(g, d)),
        (0..3usize, 0..8usize, any::<bool>()).prop_map(|(g, i, d)| Op::Terminate(g, i, d)),
        (0..3usize, 0..8usize).prop_map(|(g, i)| Op::Ec2Terminate(g, i)),
        (0..3usize, 0..8usize).prop_map(|(g, i)| Op::Protect(g, i)),
        (0..3usize, any::<bool>()).prop_map(|(g, f)| Op::Delete(g, f)),
        (1..90u64).prop_map(Op::Advance),
    ]
}

/// A create that passes the size rules (min <= desired <= max).
fn valid_create() -> impl Strategy<Value = Op> {
    (0..3usize, 0..3i64, 0..6i64, 0..6i64)
        .prop_map(|(g, min, span, d)| Op::Create(g, min, min + span, min + d.min(span)))
}

const NAMES: [&str; 3] = ["alpha", "beta", "gamma"];

fn call(aws: &AwsClient, op: &str, input: Value) -> Option<Value> {
    match aws.call(op, &input) {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(e.status() < 500, "{op} {input} answered {e}");
            None
        }
    }
}

fn groups(aws: &AwsClient) -> Vec<Value> {
    call(
        aws,
        "autoscaling:DescribeAutoScalingGroups",
        json!({"MaxRecords": 100}),
    )
    .and_then(|v| v["AutoScalingGroups"].as_array().cloned())
    .unwrap_or_default()
}

fn member(aws: &AwsClient, g: usize, i: usize) -> Option<String> {
    let gs = groups(aws);
    let grp = gs.iter().find(|x| x["AutoScalingGroupName"] == NAMES[g])?;
    let inst = grp["Instances"].as_array()?;
    if inst.is_empty() {
        return None;
    }
    inst[i % inst.len()]["InstanceId"]
        .as_str()
        .map(str::to_string)
}

fn apply(w: &World, subnets: &str, op: &Op) {
    let aws = &w.aws;
    match op {
        Op::Create(g, min, max, desired) => {
            call(
                aws,
                "autoscaling:CreateAutoScalingGroup",
                json!({"AutoScalingGroupName": NAMES[*g], "LaunchTemplate": {"LaunchTemplateName": "workers", "Version": "$Latest"},
                       "VPCZoneIdentifier": subnets, "MinSize": min, "MaxSize": max, "DesiredCapacity": desired}),
            );
        }
        Op::Update(g, min, max, desired) => {
            let mut input = json!({"AutoScalingGroupName": NAMES[*g]});
            if let Some(v) = min {
                input["MinSize"] = json!(v);
            }
            if let Some(v) = max {
                input["MaxSize"] = json!(v);
            }
            if let Some(v) = desired {
                input["DesiredCapacity"] = json!(v);
            }
            call(aws, "autoscaling:UpdateAutoScalingGroup", input);
        }
        Op::SetDesired(g, d) => {
            call(
                aws,
                "autoscaling:SetDesiredCapacity",
                json!({"AutoScalingGroupName": NAMES[*g], "DesiredCapacity": d}),
            );
        }
        Op::Terminate(g, i, dec) => {
            let id = member(aws, *g, *i).unwrap_or_else(|| "i-0123456789abcdef0".into());
            call(
                aws,
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                json!({"InstanceId": id, "ShouldDecrementDesiredCapacity": dec}),
            );
        }
        Op::Ec2Terminate(g, i) => {
            if let Some(id) = member(aws, *g, *i) {
                call(aws, "ec2:TerminateInstances", json!({"InstanceIds": [id]}));
            }
        }
        Op::Protect(g, i) => {
            if let Some(id) = member(aws, *g, *i) {
                call(
                    aws,
                    "autoscaling:SetInstanceProtection",
                    json!({"AutoScalingGroupName": NAMES[*g], "InstanceIds": [id], "ProtectedFromScaleIn": false}),
                );
            }
        }
        Op::Delete(g, force) => {
            call(
                aws,
                "autoscaling:DeleteAutoScalingGroup",
                json!({"AutoScalingGroupName": NAMES[*g], "ForceDelete": force}),
            );
        }
        Op::Advance(s) => w.advance(*s),
    }
}

fn check_bounds(aws: &AwsClient) {
    for g in groups(aws) {
        let (min, max, d) = (
            g["MinSize"].as_i64().unwrap_or(-1),
            g["MaxSize"].as_i64().unwrap_or(-1),
            g["DesiredCapacity"].as_i64().unwrap_or(-1),
        );
        assert!(0 <= min && min <= d && d <= max, "{g}");
    }
}

fn check_converged(aws: &AwsClient) {
    for g in groups(aws) {
        let desired = g["DesiredCapacity"].as_i64().unwrap_or(-1) as usize;
        let inst = g["Instances"].as_array().cloned().unwrap_or_default();
        let in_service: Vec<&Value> = inst
            .iter()
            .filter(|i| i["LifecycleState"] == "InService")
            .collect();
        assert_eq!(in_service.len(), inst.len(), "all settled: {g}");
        assert_eq!(in_service.len(), desired, "converged: {g}");
        let mut per_az: BTreeMap<String, usize> = BTreeMap::new();
        for az in g["AvailabilityZones"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            per_az.insert(az.as_str().unwrap_or_default().to_string(), 0);
        }
        for i in &in_service {
            *per_az
                .entry(
                    i["AvailabilityZone"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
                .or_default() += 1;
        }
        let hi = per_az.values().max().copied().unwrap_or(0);
        let lo = per_az.values().min().copied().unwrap_or(0);
        assert!(hi - lo <= 1, "balanced within one: {per_az:?} {g}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn groups_converge_to_desired_balanced_and_never_5xx(
        creates in proptest::collection::vec(valid_create(), 1..4),
        ops in proptest::collection::vec(op(), 1..25),
    ) {
        let w = World::new("us-east-1");
        let aws = &w.aws;
        let vpc = call(aws, "ec2:CreateVpc", json!({"CidrBlock": "10.0.0.0/16"})).expect("vpc");
        let vpc = vpc["Vpc"]["VpcId"].as_str().unwrap_or_default().to_string();
        let mut subnets = Vec::new();
        for (i, az) in ["us-east-1a", "us-east-1b", "us-east-1c"].iter().enumerate() {
            let s = call(aws, "ec2:CreateSubnet", json!({"VpcId": vpc, "CidrBlock": format!("10.0.{i}.0/24"), "AvailabilityZone": az})).expect("subnet");
            subnets.push(s["Subnet"]["SubnetId"].as_str().unwrap_or_default().to_string());
        }
        call(aws, "ec2:CreateLaunchTemplate", json!({"LaunchTemplateName": "workers", "LaunchTemplateData": {"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.medium"}})).expect("lt");
        let subnets = subnets.join(",");
        for op in creates.iter().chain(&ops) {
            apply(&w, &subnets, op);
            check_bounds(aws);
        }
        // Let every launch boot, every termination finish and health checks replace losses.
        for _ in 0..6 {
            w.advance(60);
            check_bounds(aws);
        }
        check_converged(aws);
    }
}
