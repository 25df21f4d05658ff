//! The reconciler: AZ balance, lifecycle on the clock, tags on instances, termination,
//! protection, health-check replacement, detach and attach.

use super::*;
use aws_sdk_autoscaling::types::Tag;
use std::collections::BTreeMap;

fn counts(v: &[(&str, usize)]) -> BTreeMap<String, usize> {
    v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

#[tokio::test]
async fn two_azs_at_desired_4_are_2_and_2_and_stay_balanced() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    group(&w, "nodes", &lt, &[&a, &b], 0, 10, 4).await;
    // The group acts at the next tick: instances exist, Pending.
    assert_eq!(lifecycles(&w, "nodes").await, ["Pending"; 4]);
    assert_eq!(
        ec2_azs(&w, "nodes").await,
        counts(&[("us-east-1a", 2), ("us-east-1b", 2)])
    );
    // EC2 says which subnet each is in.
    let out = w
        .ec2
        .describe_instances()
        .filters(filter("tag:aws:autoscaling:groupName", &["nodes"]))
        .send()
        .await
        .expect("DescribeInstances");
    let mut subnets: Vec<String> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.subnet_id().map(str::to_string))
        .collect();
    subnets.sort();
    let mut want = vec![a.clone(), a.clone(), b.clone(), b.clone()];
    want.sort();
    assert_eq!(subnets, want);
    w.advance(19);
    assert_eq!(lifecycles(&w, "nodes").await, ["Pending"; 4]);
    w.advance(1);
    assert_eq!(lifecycles(&w, "nodes").await, ["InService"; 4]);
    let g = describe(&w, "nodes").await;
    assert!(g.instances().iter().all(
        |i| i.health_status() == Some("Healthy") && i.protected_from_scale_in() == Some(false)
    ));
    // Scale to 5: one AZ gets three.
    w.asg
        .set_desired_capacity()
        .auto_scaling_group_name("nodes")
        .desired_capacity(5)
        .send()
        .await
        .expect("set 5");
    w.advance(1);
    let c = ec2_azs(&w, "nodes").await;
    assert_eq!(c.values().sum::<usize>(), 5);
    assert_eq!(c, counts(&[("us-east-1a", 3), ("us-east-1b", 2)]));
    // Scale to 3: terminates from the fuller AZ first, balanced within one.
    w.asg
        .set_desired_capacity()
        .auto_scaling_group_name("nodes")
        .desired_capacity(3)
        .send()
        .await
        .expect("set 3");
    w.advance(1);
    let c = ec2_azs(&w, "nodes").await;
    assert_eq!(c.values().sum::<usize>(), 3);
    let (hi, lo) = (c.values().max().copied(), c.values().min().copied());
    assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1), "{c:?}");
    assert_eq!(
        lifecycles(&w, "nodes")
            .await
            .iter()
            .filter(|s| *s == "Terminating")
            .count(),
        2
    );
    w.advance(31);
    assert_eq!(describe(&w, "nodes").await.instances().len(), 3);
}

#[tokio::test]
async fn instances_carry_the_group_name_and_propagated_tags() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    w.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("tagged")
        .launch_template(latest(&lt))
        .vpc_zone_identifier(&a)
        .min_size(1)
        .max_size(1)
        .tags(
            Tag::builder()
                .key("k8s.io/cluster-autoscaler/enabled")
                .value("true")
                .propagate_at_launch(true)
                .build(),
        )
        .tags(
            Tag::builder()
                .key("team")
                .value("infra")
                .propagate_at_launch(false)
                .build(),
        )
        .send()
        .await
        .expect("create");
    w.advance(1);
    let id = describe(&w, "tagged").await.instances()[0]
        .instance_id()
        .expect("id")
        .to_string();
    let tags = w
        .ec2
        .describe_tags()
        .filters(filter("resource-id", &[&id]))
        .send()
        .await
        .expect("DescribeTags");
    let kv: BTreeMap<String, String> = tags
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kv.get("aws:autoscaling:groupName").map(String::as_str),
        Some("tagged")
    );
    assert_eq!(
        kv.get("k8s.io/cluster-autoscaler/enabled")
            .map(String::as_str),
        Some("true")
    );
    assert!(!kv.contains_key("team"), "not propagated: {kv:?}");
    assert!(kv.contains_key("aws:ec2launchtemplate:id"));
}

#[tokio::test]
async fn terminate_instance_in_group_decrements_or_replaces() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a, &b], 1, 5, 3).await;
    w.advance(30);
    let ids: Vec<String> = describe(&w, "g")
        .await
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    let unknown = w
        .asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id("i-0123456789abcdef0")
        .should_decrement_desired_capacity(false)
        .send()
        .await;
    assert_eq!(
        code_msg(unknown),
        (
            "ValidationError".into(),
            "Instance Id not found - No managed instance found for instance ID: i-0123456789abcdef0".into()
        )
    );
    let out = w
        .asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(&ids[0])
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("terminate with decrement");
    let act = out.activity().expect("activity");
    assert_eq!(
        act.description(),
        Some(format!("Terminating EC2 instance: {}", ids[0]).as_str())
    );
    assert_eq!(act.status_code().map(|s| s.as_str()), Some("InProgress"));
    assert_eq!(
        act.cause(),
        Some(format!("At 2026-01-01T00:00:30Z instance {} was taken out of service in response to a user request, shrinking the capacity from 3 to 2.", ids[0]).as_str())
    );
    assert_eq!(describe(&w, "g").await.desired_capacity(), Some(2));
    w.advance(31);
    let g = describe(&w, "g").await;
    assert_eq!(g.instances().len(), 2);
    let next = g.instances()[0].instance_id().expect("id").to_string();
    // Without decrement the group replaces the instance.
    w.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(&next)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .expect("terminate without decrement");
    w.advance(1);
    let g = describe(&w, "g").await;
    assert_eq!(g.desired_capacity(), Some(2));
    assert_eq!(ec2_azs(&w, "g").await.values().sum::<usize>(), 2);
    assert!(g
        .instances()
        .iter()
        .any(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("Pending")));
    // Down to min: decrementing further is refused.
    w.advance(60);
    w.asg
        .set_desired_capacity()
        .auto_scaling_group_name("g")
        .desired_capacity(1)
        .send()
        .await
        .expect("to 1");
    w.advance(40);
    let last = describe(&w, "g").await.instances()[0]
        .instance_id()
        .expect("id")
        .to_string();
    let refused = w
        .asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(&last)
        .should_decrement_desired_capacity(true)
        .send()
        .await;
    assert_eq!(
        code_msg(refused),
        (
            "ValidationError".into(),
            "Currently, desiredSize equals minSize (1). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.".into()
        )
    );
}

#[tokio::test]
async fn protected_instances_are_never_scaled_in() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a], 0, 5, 3).await;
    w.advance(30);
    let ids: Vec<String> = describe(&w, "g")
        .await
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    w.asg
        .set_instance_protection()
        .auto_scaling_group_name("g")
        .instance_ids(&ids[0])
        .instance_ids(&ids[1])
        .protected_from_scale_in(true)
        .send()
        .await
        .expect("protect");
    let bad = w
        .asg
        .set_instance_protection()
        .auto_scaling_group_name("g")
        .instance_ids("i-0123456789abcdef0")
        .protected_from_scale_in(true)
        .send()
        .await;
    assert_eq!(
        code_msg(bad),
        (
            "ValidationError".into(),
            "The instance i-0123456789abcdef0 is not part of Auto Scaling group g.".into()
        )
    );
    w.asg
        .set_desired_capacity()
        .auto_scaling_group_name("g")
        .desired_capacity(0)
        .send()
        .await
        .expect("to 0");
    w.advance(31);
    let left: Vec<String> = describe(&w, "g")
        .await
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    assert_eq!(left, [ids[0].clone(), ids[1].clone()]);
    let det = w
        .asg
        .describe_auto_scaling_instances()
        .instance_ids(&ids[0])
        .send()
        .await
        .expect("DescribeAutoScalingInstances");
    let d = &det.auto_scaling_instances()[0];
    assert_eq!(d.auto_scaling_group_name(), Some("g"));
    assert_eq!(d.protected_from_scale_in(), Some(true));
    assert_eq!(d.health_status(), Some("HEALTHY"));
    assert_eq!(d.lifecycle_state(), Some("InService"));
}

#[tokio::test]
async fn an_instance_terminated_through_ec2_is_replaced_after_the_health_check() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a, &b], 2, 2, 2).await;
    w.advance(25);
    let victim = describe(&w, "g").await.instances()[0]
        .instance_id()
        .expect("id")
        .to_string();
    w.ec2
        .terminate_instances()
        .instance_ids(&victim)
        .send()
        .await
        .expect("TerminateInstances");
    w.advance(40);
    let g = describe(&w, "g").await;
    assert!(
        !g.instances()
            .iter()
            .any(|i| i.instance_id() == Some(victim.as_str())),
        "taken out of service"
    );
    assert_eq!(g.instances().len(), 2, "replaced");
    assert_eq!(
        ec2_azs(&w, "g").await,
        counts(&[("us-east-1a", 1), ("us-east-1b", 1)])
    );
    let acts = w
        .asg
        .describe_scaling_activities()
        .auto_scaling_group_name("g")
        .send()
        .await
        .expect("activities");
    let health = acts
        .activities()
        .iter()
        .find(|a| a.description() == Some(format!("Terminating EC2 instance: {victim}").as_str()))
        .expect("termination activity");
    assert!(health
        .cause()
        .is_some_and(|c| c.ends_with("an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.")));
    assert_eq!(
        acts.activities().len(),
        4,
        "2 launches, 1 termination, 1 replacement"
    );
}

#[tokio::test]
async fn detach_and_attach_move_instances_and_capacity() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a], 0, 3, 2).await;
    w.advance(30);
    let id = describe(&w, "g").await.instances()[0]
        .instance_id()
        .expect("id")
        .to_string();
    let out = w
        .asg
        .detach_instances()
        .auto_scaling_group_name("g")
        .instance_ids(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("DetachInstances");
    assert_eq!(
        out.activities()[0].description(),
        Some(format!("Detaching EC2 instance: {id}").as_str())
    );
    let g = describe(&w, "g").await;
    assert_eq!((g.desired_capacity(), g.instances().len()), (Some(1), 1));
    let again = w
        .asg
        .detach_instances()
        .auto_scaling_group_name("g")
        .instance_ids(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await;
    assert_eq!(code(again), "ValidationError");
    w.asg
        .attach_instances()
        .auto_scaling_group_name("g")
        .instance_ids(&id)
        .send()
        .await
        .expect("AttachInstances");
    let g = describe(&w, "g").await;
    assert_eq!((g.desired_capacity(), g.instances().len()), (Some(2), 2));
    let other = instance(&w.ec2, &a, "c5.large").await;
    w.asg
        .attach_instances()
        .auto_scaling_group_name("g")
        .instance_ids(&other)
        .send()
        .await
        .expect("attach to 3");
    let extra = instance(&w.ec2, &a, "c5.large").await;
    let over = w
        .asg
        .attach_instances()
        .auto_scaling_group_name("g")
        .instance_ids(&extra)
        .send()
        .await;
    assert_eq!(code(over), "ValidationError");
}

#[tokio::test]
async fn moving_the_group_to_other_subnets_replaces_its_instances() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a], 2, 2, 2).await;
    w.advance(30);
    w.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("g")
        .vpc_zone_identifier(&b)
        .send()
        .await
        .expect("update subnets");
    // One pair per pass: each pass (request, boot, termination, health check) moves one.
    for _ in 0..6 {
        w.advance(30);
    }
    assert_eq!(ec2_azs(&w, "g").await, counts(&[("us-east-1b", 2)]));
    assert_eq!(lifecycles(&w, "g").await, ["InService", "InService"]);
    let empty = w
        .asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("")
        .launch_template(latest(&lt))
        .vpc_zone_identifier(&a)
        .min_size(0)
        .max_size(1)
        .send()
        .await;
    assert_eq!(code(empty), "ValidationError");
}
