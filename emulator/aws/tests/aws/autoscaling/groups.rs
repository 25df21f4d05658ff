//! Groups and launch configurations: the create/update/delete rules and their exact codes.

use super::*;
use aws_sdk_autoscaling::types::{LaunchTemplate, LaunchTemplateOverrides, MixedInstancesPolicy};

#[tokio::test]
async fn create_needs_exactly_one_launch_source() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    let none = w
        .asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("g")
        .vpc_zone_identifier(&a)
        .min_size(0)
        .max_size(1)
        .send()
        .await;
    assert_eq!(
        code_msg(none),
        (
            "ValidationError".to_string(),
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.".to_string()
        )
    );
    w.asg
        .create_launch_configuration()
        .launch_configuration_name("lc")
        .image_id("ami-0abcdef1234567890")
        .instance_type("t3.medium")
        .send()
        .await
        .expect("CreateLaunchConfiguration");
    let both = w
        .asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("g")
        .launch_template(latest(&lt))
        .launch_configuration_name("lc")
        .vpc_zone_identifier(&a)
        .min_size(0)
        .max_size(1)
        .send()
        .await;
    assert_eq!(code(both), "ValidationError");
    let unknown_lt = w
        .asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("g")
        .launch_template(latest("lt-0123456789abcdef0"))
        .vpc_zone_identifier(&a)
        .min_size(0)
        .max_size(1)
        .send()
        .await;
    let (c, m) = code_msg(unknown_lt);
    assert_eq!(c, "ValidationError");
    assert!(
        m.starts_with("You must use a valid fully-formed launch template."),
        "{m}"
    );
    // Nothing was created by the failed requests.
    let all = w
        .asg
        .describe_auto_scaling_groups()
        .send()
        .await
        .expect("describe");
    assert!(all.auto_scaling_groups().is_empty());
}

#[tokio::test]
async fn sizes_subnets_and_names_follow_aws_rules() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    let create = |min: i32, max: i32, desired: Option<i32>, zones: String| {
        w.asg
            .create_auto_scaling_group()
            .auto_scaling_group_name("g")
            .launch_template(latest(&lt))
            .vpc_zone_identifier(zones)
            .min_size(min)
            .max_size(max)
            .set_desired_capacity(desired)
            .send()
    };
    assert_eq!(
        code_msg(create(1, 3, Some(5), a.clone()).await),
        (
            "ValidationError".into(),
            "Desired capacity:5 must be between the specified min size:1 and max size:3".into()
        )
    );
    assert_eq!(
        code_msg(create(2, 1, None, a.clone()).await),
        (
            "ValidationError".into(),
            "Max bound, 1, must be greater than or equal to min bound, 2".into()
        )
    );
    assert_eq!(
        code_msg(create(0, 1, None, format!("{a},subnet-0123456789abcdef0")).await),
        (
            "ValidationError".into(),
            "The subnet ID 'subnet-0123456789abcdef0' does not exist".into()
        )
    );
    let no_place = w
        .asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("g")
        .launch_template(latest(&lt))
        .min_size(0)
        .max_size(1)
        .send()
        .await;
    assert_eq!(
        code_msg(no_place).1,
        "At least one Availability Zone or VPC Subnet is required."
    );
    create(1, 3, None, format!("{a}, {b}"))
        .await
        .expect("create");
    let g = describe(&w, "g").await;
    assert_eq!(g.desired_capacity(), Some(1), "desired defaults to min");
    assert_eq!(g.availability_zones(), ["us-east-1a", "us-east-1b"]);
    assert_eq!(g.vpc_zone_identifier(), Some(format!("{a},{b}").as_str()));
    assert_eq!(g.health_check_type(), Some("EC2"));
    assert_eq!(g.default_cooldown(), Some(300));
    assert_eq!(
        g.launch_template().and_then(|t| t.launch_template_name()),
        Some("workers")
    );
    assert_eq!(
        code_msg(create(1, 3, None, a.clone()).await),
        (
            "AlreadyExists".into(),
            "AutoScalingGroup by this name already exists - A group with the name g already exists"
                .into()
        )
    );
    // SetDesiredCapacity bounds.
    let set = |d: i32| {
        w.asg
            .set_desired_capacity()
            .auto_scaling_group_name("g")
            .desired_capacity(d)
            .send()
    };
    assert_eq!(
        code_msg(set(40).await),
        (
            "ValidationError".into(),
            "New SetDesiredCapacity value 40 is above max value 3 for the AutoScalingGroup.".into()
        )
    );
    assert_eq!(
        code_msg(set(0).await).1,
        "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup."
    );
    // Unknown groups are ValidationError, never a 500.
    let missing = w
        .asg
        .set_desired_capacity()
        .auto_scaling_group_name("nope")
        .desired_capacity(1)
        .send()
        .await;
    assert_eq!(
        code_msg(missing),
        (
            "ValidationError".into(),
            "AutoScalingGroup name not found - AutoScalingGroup nope not found".into()
        )
    );
    let upd = w
        .asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("nope")
        .max_size(3)
        .send()
        .await;
    assert_eq!(code(upd), "ValidationError");
    let del = w
        .asg
        .delete_auto_scaling_group()
        .auto_scaling_group_name("nope")
        .send()
        .await;
    assert_eq!(code(del), "ValidationError");
    // Unknown names in Describe are simply absent.
    let d = w
        .asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("nope")
        .send()
        .await
        .expect("describe");
    assert!(d.auto_scaling_groups().is_empty());
}

#[tokio::test]
async fn update_moves_desired_with_new_bounds_and_checks_them() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a], 0, 5, 1).await;
    w.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("g")
        .min_size(3)
        .send()
        .await
        .expect("update min");
    let g = describe(&w, "g").await;
    assert_eq!((g.min_size(), g.desired_capacity()), (Some(3), Some(3)));
    w.asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("g")
        .min_size(0)
        .max_size(2)
        .send()
        .await
        .expect("update max");
    let g = describe(&w, "g").await;
    assert_eq!((g.max_size(), g.desired_capacity()), (Some(2), Some(2)));
    let bad = w
        .asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("g")
        .desired_capacity(7)
        .send()
        .await;
    assert_eq!(
        code_msg(bad).1,
        "Desired capacity:7 must be between the specified min size:0 and max size:2"
    );
    let bad = w
        .asg
        .update_auto_scaling_group()
        .auto_scaling_group_name("g")
        .min_size(4)
        .send()
        .await;
    assert_eq!(
        code_msg(bad).1,
        "Max bound, 2, must be greater than or equal to min bound, 4"
    );
    assert_eq!(describe(&w, "g").await.desired_capacity(), Some(2));
}

#[tokio::test]
async fn launch_configurations_are_unique_and_in_use_while_a_group_uses_them() {
    let w = World::new("us-east-1");
    let (a, _, _) = setup(&w).await;
    let create = || {
        w.asg
            .create_launch_configuration()
            .launch_configuration_name("lc")
            .image_id("ami-0abcdef1234567890")
            .instance_type("t3.medium")
            .send()
    };
    create().await.expect("create");
    assert_eq!(code(create().await), "AlreadyExists");
    let lcs = w
        .asg
        .describe_launch_configurations()
        .send()
        .await
        .expect("describe");
    assert_eq!(lcs.launch_configurations().len(), 1);
    let lc = &lcs.launch_configurations()[0];
    assert_eq!(lc.instance_type(), Some("t3.medium"));
    assert!(lc
        .launch_configuration_arn()
        .is_some_and(|a| a.starts_with("arn:aws:autoscaling:us-east-1:")
            && a.ends_with(":launchConfigurationName/lc")));
    w.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("g")
        .launch_configuration_name("lc")
        .vpc_zone_identifier(&a)
        .min_size(1)
        .max_size(1)
        .send()
        .await
        .expect("group from lc");
    w.advance(1);
    let g = describe(&w, "g").await;
    assert_eq!(g.launch_configuration_name(), Some("lc"));
    assert_eq!(g.instances().len(), 1);
    assert_eq!(g.instances()[0].instance_type(), Some("t3.medium"));
    let del = w
        .asg
        .delete_launch_configuration()
        .launch_configuration_name("lc")
        .send()
        .await;
    assert_eq!(
        code_msg(del),
        (
            "ResourceInUse".into(),
            "Cannot delete launch configuration lc because it is attached to AutoScalingGroup g"
                .into()
        )
    );
    let unknown = w
        .asg
        .delete_launch_configuration()
        .launch_configuration_name("zz")
        .send()
        .await;
    assert_eq!(
        code_msg(unknown),
        (
            "ValidationError".into(),
            "Launch configuration name not found - Launch configuration zz not found".into()
        )
    );
    let bad_type = w
        .asg
        .create_launch_configuration()
        .launch_configuration_name("lc2")
        .image_id("ami-0abcdef1234567890")
        .instance_type("c9.huge")
        .send()
        .await;
    assert_eq!(code(bad_type), "ValidationError");
}

#[tokio::test]
async fn delete_refuses_while_instances_remain_and_force_delete_drains() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    group(&w, "g", &lt, &[&a, &b], 0, 4, 2).await;
    let del = || {
        w.asg
            .delete_auto_scaling_group()
            .auto_scaling_group_name("g")
            .send()
    };
    // Launches are in progress right after creation.
    assert_eq!(code(del().await), "ScalingActivityInProgress");
    w.advance(30);
    assert_eq!(
        code_msg(del().await),
        (
            "ResourceInUse".into(),
            "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.".into()
        )
    );
    w.asg
        .delete_auto_scaling_group()
        .auto_scaling_group_name("g")
        .force_delete(true)
        .send()
        .await
        .expect("force delete");
    w.advance(1);
    let g = describe(&w, "g").await;
    assert_eq!(g.status(), Some("Delete in progress"));
    assert_eq!(lifecycles(&w, "g").await, ["Terminating", "Terminating"]);
    assert!(ec2_azs(&w, "g").await.is_empty(), "instances shutting down");
    w.advance(31);
    let all = w
        .asg
        .describe_auto_scaling_groups()
        .send()
        .await
        .expect("describe");
    assert!(
        all.auto_scaling_groups().is_empty(),
        "gone once its instances are"
    );
    // The name is free again; an empty group deletes at once.
    group(&w, "g", &lt, &[&a], 0, 1, 0).await;
    del().await.expect("delete empty group");
}

#[tokio::test]
async fn describe_pages_with_max_records_and_next_token() {
    let w = World::new("us-east-1");
    let (a, _, lt) = setup(&w).await;
    for i in 0..5 {
        group(&w, &format!("g{i}"), &lt, &[&a], 0, 1, 0).await;
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = w
            .asg
            .describe_auto_scaling_groups()
            .max_records(2)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        names.extend(
            out.auto_scaling_groups()
                .iter()
                .filter_map(|g| g.auto_scaling_group_name().map(str::to_string)),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["g0", "g1", "g2", "g3", "g4"]);
    let bad = w
        .asg
        .describe_auto_scaling_groups()
        .next_token("garbage")
        .send()
        .await;
    assert_eq!(code(bad), "InvalidNextToken");
    let big = w
        .asg
        .describe_auto_scaling_groups()
        .max_records(101)
        .send()
        .await;
    assert_eq!(code(big), "ValidationError");
}

#[tokio::test]
async fn mixed_instances_policy_launches_the_first_override_type() {
    let w = World::new("us-east-1");
    let (a, b, lt) = setup(&w).await;
    let policy = MixedInstancesPolicy::builder()
        .launch_template(
            LaunchTemplate::builder()
                .launch_template_specification(latest(&lt))
                .overrides(
                    LaunchTemplateOverrides::builder()
                        .instance_type("m5.large")
                        .build(),
                )
                .overrides(
                    LaunchTemplateOverrides::builder()
                        .instance_type("c5.xlarge")
                        .build(),
                )
                .build(),
        )
        .build();
    w.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("mixed")
        .mixed_instances_policy(policy)
        .vpc_zone_identifier(format!("{a},{b}"))
        .min_size(2)
        .max_size(2)
        .send()
        .await
        .expect("create mixed");
    w.advance(1);
    let g = describe(&w, "mixed").await;
    assert!(g.mixed_instances_policy().is_some());
    let types: Vec<_> = g
        .instances()
        .iter()
        .filter_map(|i| i.instance_type())
        .collect();
    assert_eq!(types, ["m5.large", "m5.large"]);
}

#[tokio::test]
async fn availability_zones_only_groups_use_the_default_subnets() {
    let w = World::new("us-east-1");
    let lt = template(&w, "workers").await;
    w.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("classic")
        .launch_template(latest(&lt))
        .availability_zones("us-east-1a")
        .availability_zones("us-east-1b")
        .min_size(2)
        .max_size(2)
        .send()
        .await
        .expect("create");
    w.advance(1);
    let c = ec2_azs(&w, "classic").await;
    assert_eq!(c.get("us-east-1a"), Some(&1));
    assert_eq!(c.get("us-east-1b"), Some(&1));
    let g = describe(&w, "classic").await;
    assert_eq!(g.vpc_zone_identifier(), None);
    let bad = w
        .asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("bad")
        .launch_template(latest(&lt))
        .availability_zones("us-east-1z")
        .min_size(0)
        .max_size(1)
        .send()
        .await;
    assert_eq!(code(bad), "ValidationError");
}

#[tokio::test]
async fn a_group_from_an_instance_gets_a_launch_configuration_of_its_name() {
    let w = World::new("us-east-1");
    let (a, _, _) = setup(&w).await;
    let seed = instance(&w.ec2, &a, "m5.large").await;
    w.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("cloned")
        .instance_id(&seed)
        .min_size(1)
        .max_size(2)
        .send()
        .await
        .expect("create from instance");
    w.advance(1);
    let g = describe(&w, "cloned").await;
    assert_eq!(g.launch_configuration_name(), Some("cloned"));
    assert_eq!(g.vpc_zone_identifier(), Some(a.as_str()));
    assert_eq!(g.instances()[0].instance_type(), Some("m5.large"));
    let missing = w
        .asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("ghost")
        .instance_id("i-0123456789abcdef0")
        .min_size(1)
        .max_size(2)
        .send()
        .await;
    assert_eq!(code(missing), "ValidationError");
}

#[tokio::test]
async fn mixed_instances_policy_falls_back_to_the_next_type_ec2_accepts() {
    use aws_sdk_ec2::types::{
        LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, RequestLaunchTemplateData,
    };
    let w = World::new("us-east-1");
    let (a, _, _) = setup(&w).await;
    // Ten addresses on the primary ENI: more than a t3.medium allows (6), fine for c5.large.
    let lt = w
        .ec2
        .create_launch_template()
        .launch_template_name("wide")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id("ami-0abcdef1234567890")
                .network_interfaces(
                    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
                        .device_index(0)
                        .secondary_private_ip_address_count(9)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateLaunchTemplate")
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("id")
        .to_string();
    let policy = MixedInstancesPolicy::builder()
        .launch_template(
            LaunchTemplate::builder()
                .launch_template_specification(latest(&lt))
                .overrides(
                    LaunchTemplateOverrides::builder()
                        .instance_type("t3.medium")
                        .build(),
                )
                .overrides(
                    LaunchTemplateOverrides::builder()
                        .instance_type("c5.large")
                        .build(),
                )
                .build(),
        )
        .build();
    w.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name("wide")
        .mixed_instances_policy(policy)
        .vpc_zone_identifier(&a)
        .min_size(1)
        .max_size(1)
        .send()
        .await
        .expect("create");
    w.advance(1);
    let g = describe(&w, "wide").await;
    assert_eq!(g.instances().len(), 1);
    assert_eq!(g.instances()[0].instance_type(), Some("c5.large"));
    assert_eq!(available_ips(&w.ec2, &a).await, 251 - 10);
}
