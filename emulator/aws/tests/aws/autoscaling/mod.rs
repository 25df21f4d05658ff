//! Auto Scaling through the real aws-sdk-autoscaling client (`w.asg`), with aws-sdk-ec2
//! (`w.ec2`) to check the instances the groups launch: every rule asserts AWS's exact code.

mod activities;
mod groups;
mod properties;
mod scaling;
mod tags;

use crate::support::*;
use aws_sdk_autoscaling::types::{AutoScalingGroup, LaunchTemplateSpecification};
use aws_sdk_ec2::types::RequestLaunchTemplateData;
use std::collections::BTreeMap;

/// docs/autoscaling.md lists every implemented operation.
#[test]
fn docs_list_every_implemented_operation() {
    let doc = include_str!("../../../../../docs/autoscaling.md");
    let ops = cloudbox_aws::autoscaling::implemented_operations();
    for op in &ops {
        assert!(
            doc.contains(op),
            "docs/autoscaling.md does not mention {op}"
        );
    }
    assert_eq!(ops.len(), 18);
}

/// A launch template (c5.large) named `name`; returns its id.
pub async fn template(w: &World, name: &str) -> String {
    w.ec2
        .create_launch_template()
        .launch_template_name(name)
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id("ami-0abcdef1234567890")
                .instance_type("c5.large".into())
                .build(),
        )
        .send()
        .await
        .expect("CreateLaunchTemplate")
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("lt id")
        .to_string()
}

/// A template spec by id at `$Latest`.
pub fn latest(id: &str) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .launch_template_id(id)
        .version("$Latest")
        .build()
}

/// A VPC with /24 subnets in us-east-1a and us-east-1b and a template. Returns (a, b, lt).
pub async fn setup(w: &World) -> (String, String, String) {
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let a = subnet(&w.ec2, &v, "10.0.1.0/24", "us-east-1a").await;
    let b = subnet(&w.ec2, &v, "10.0.2.0/24", "us-east-1b").await;
    let lt = template(w, "workers").await;
    (a, b, lt)
}

/// Creates a group from the template over the subnets.
pub async fn group(
    w: &World,
    name: &str,
    lt: &str,
    subnets: &[&str],
    min: i32,
    max: i32,
    desired: i32,
) {
    w.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name(name)
        .launch_template(latest(lt))
        .vpc_zone_identifier(subnets.join(","))
        .min_size(min)
        .max_size(max)
        .desired_capacity(desired)
        .send()
        .await
        .expect("CreateAutoScalingGroup");
}

/// The group as DescribeAutoScalingGroups shows it.
pub async fn describe(w: &World, name: &str) -> AutoScalingGroup {
    w.asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .expect("DescribeAutoScalingGroups")
        .auto_scaling_groups()
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("group {name} not described"))
}

/// Pending or running EC2 instances tagged with the group, counted per AZ (what EC2 says).
pub async fn ec2_azs(w: &World, name: &str) -> BTreeMap<String, usize> {
    let out = w
        .ec2
        .describe_instances()
        .filters(filter("tag:aws:autoscaling:groupName", &[name]))
        .filters(filter("instance-state-name", &["pending", "running"]))
        .send()
        .await
        .expect("DescribeInstances");
    let mut counts = BTreeMap::new();
    for r in out.reservations() {
        for i in r.instances() {
            let az = i
                .placement()
                .and_then(|p| p.availability_zone())
                .unwrap_or_default()
                .to_string();
            *counts.entry(az).or_insert(0) += 1;
        }
    }
    counts
}

/// Lifecycle states of the group's instances, sorted.
pub async fn lifecycles(w: &World, name: &str) -> Vec<String> {
    let mut v: Vec<String> = describe(w, name)
        .await
        .instances()
        .iter()
        .map(|i| {
            i.lifecycle_state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default()
        })
        .collect();
    v.sort();
    v
}
