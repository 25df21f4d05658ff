//! Instances, instance types, launch templates.

use crate::support::*;
use aws_sdk_ec2::types::{
    InstanceNetworkInterfaceSpecification, InstanceStateName, LaunchTemplateSpecification,
    RequestLaunchTemplateData, ResourceType,
};

fn state_of(r: &aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput) -> String {
    r.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn lifecycle_runs_on_the_clock() {
    let w = World::new("cn-northwest-1");
    let v = vpc(&w.ec2, "192.168.192.0/22").await;
    let s = subnet(&w.ec2, &v, "192.168.193.0/24", "cn-northwest-1b").await;
    let run = w
        .ec2
        .run_instances()
        .image_id("ami-0abcdef1234567890")
        .instance_type("c5.large".into())
        .subnet_id(&s)
        .private_ip_address("192.168.193.172")
        .min_count(1)
        .max_count(1)
        .tag_specifications(tags(
            ResourceType::Instance,
            &[("KubernetesCluster", "int32bit-kubernetes")],
        ))
        .send()
        .await
        .expect("run");
    let i = &run.instances()[0];
    let id = i.instance_id().expect("id").to_string();
    assert_eq!(
        i.state().and_then(|s| s.name()),
        Some(&InstanceStateName::Pending)
    );
    assert_eq!(
        i.private_dns_name(),
        Some("ip-192-168-193-172.cn-northwest-1.compute.internal")
    );
    assert_eq!(i.network_interfaces().len(), 1);
    let eni = &i.network_interfaces()[0];
    assert_eq!(eni.attachment().and_then(|a| a.device_index()), Some(0));
    assert_eq!(eni.private_ip_address(), Some("192.168.193.172"));
    assert_eq!(
        i.placement().and_then(|p| p.availability_zone()),
        Some("cn-northwest-1b")
    );
    assert_eq!(
        i.block_device_mappings()[0].device_name(),
        Some("/dev/xvda")
    );

    w.advance(5);
    let d = w
        .ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("describe");
    assert_eq!(state_of(&d), "pending");
    w.advance(30);
    let d = w
        .ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("describe");
    assert_eq!(state_of(&d), "running");
    let st = w
        .ec2
        .describe_instance_status()
        .instance_ids(&id)
        .send()
        .await
        .expect("status");
    assert_eq!(
        st.instance_statuses()[0]
            .instance_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str()),
        Some("initializing")
    );
    w.advance(180);
    let st = w
        .ec2
        .describe_instance_status()
        .instance_ids(&id)
        .send()
        .await
        .expect("status");
    assert_eq!(
        st.instance_statuses()[0]
            .instance_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str()),
        Some("ok")
    );

    let r = w
        .ec2
        .start_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("start running is a no-op");
    assert_eq!(
        r.starting_instances()[0]
            .current_state()
            .and_then(|s| s.name()),
        Some(&InstanceStateName::Running)
    );
    w.ec2
        .stop_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("stop");
    assert_eq!(
        code(
            w.ec2
                .modify_instance_attribute()
                .instance_id(&id)
                .instance_type(
                    aws_sdk_ec2::types::AttributeValue::builder()
                        .value("c5.xlarge")
                        .build()
                )
                .send()
                .await
        ),
        "IncorrectInstanceState"
    );
    w.advance(60);
    w.ec2
        .modify_instance_attribute()
        .instance_id(&id)
        .instance_type(
            aws_sdk_ec2::types::AttributeValue::builder()
                .value("c5.xlarge")
                .build(),
        )
        .send()
        .await
        .expect("resize while stopped");
    w.ec2
        .start_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("start");
    w.advance(60);
    let d = w
        .ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("describe");
    assert_eq!(state_of(&d), "running");
    assert_eq!(
        d.reservations()[0].instances()[0]
            .instance_type()
            .map(|t| t.as_str()),
        Some("c5.xlarge")
    );
    assert_eq!(
        d.reservations()[0].instances()[0].private_ip_address(),
        Some("192.168.193.172"),
        "the address survives stop/start"
    );

    w.ec2
        .terminate_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("terminate");
    let d = w
        .ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("describe");
    assert_eq!(state_of(&d), "shutting-down");
    assert_eq!(
        code(w.ec2.start_instances().instance_ids(&id).send().await),
        "IncorrectInstanceState"
    );
    w.advance(60);
    let d = w
        .ec2
        .describe_instances()
        .filters(filter("instance-state-name", &["terminated"]))
        .send()
        .await
        .expect("describe");
    assert_eq!(d.reservations().len(), 1);
    let eni_gone = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("subnet-id", &[&s]))
        .send()
        .await
        .expect("enis");
    assert!(
        eni_gone.network_interfaces().is_empty(),
        "the primary ENI is deleted on termination"
    );
    w.advance(3600);
    let d = w.ec2.describe_instances().send().await.expect("describe");
    assert!(
        d.reservations().is_empty(),
        "terminated instances disappear after an hour"
    );
}

#[tokio::test]
async fn launch_validation() {
    let w = World::new("us-east-1");
    let (_v, a, b, _i) = basic_world(&w).await;
    let base = || {
        w.ec2
            .run_instances()
            .image_id("ami-0abcdef1234567890")
            .min_count(1)
            .max_count(1)
    };
    assert_eq!(
        code(
            base()
                .instance_type("foo.bar".into())
                .subnet_id(&a)
                .send()
                .await
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(
            w.ec2
                .run_instances()
                .image_id("img-1")
                .min_count(1)
                .max_count(1)
                .subnet_id(&a)
                .send()
                .await
        ),
        "InvalidAMIID.Malformed"
    );
    assert_eq!(
        code(
            w.ec2
                .run_instances()
                .min_count(1)
                .max_count(1)
                .subnet_id(&a)
                .send()
                .await
        ),
        "MissingParameter"
    );
    assert_eq!(
        code(
            base()
                .instance_type("c5.large".into())
                .subnet_id("subnet-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidSubnetID.NotFound"
    );
    assert_eq!(
        code(
            base()
                .instance_type("c5.large".into())
                .subnet_id(&a)
                .security_group_ids("sg-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidGroup.NotFound"
    );
    assert_eq!(
        code(
            base()
                .instance_type("c5.large".into())
                .subnet_id(&a)
                .user_data("not base64!")
                .send()
                .await
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(
            w.ec2
                .run_instances()
                .image_id("ami-0abcdef1234567890")
                .min_count(0)
                .max_count(1)
                .subnet_id(&a)
                .send()
                .await
        ),
        "InvalidParameterValue"
    );
    // Four network interfaces on a c5.large (limit 3).
    let mut req = base().instance_type("c5.large".into());
    for i in 0..4 {
        req = req.network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(i)
                .subnet_id(&a)
                .build(),
        );
    }
    let r = req.send().await;
    let cross_az = message(
        base()
            .instance_type("c5.large".into())
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&a)
                    .build(),
            )
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(1)
                    .subnet_id(&b)
                    .build(),
            )
            .send()
            .await,
    );
    assert!(cross_az.contains("same availability zone"), "{cross_az}");
    assert_eq!(code(r), "AttachmentLimitExceeded");
    // Too many addresses on one interface (c5.large: 10 per ENI).
    let r = base()
        .instance_type("c5.large".into())
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&a)
                .secondary_private_ip_address_count(10)
                .build(),
        )
        .send()
        .await;
    assert_eq!(code(r), "PrivateIpAddressLimitExceeded");
    let ok = base()
        .instance_type("c5.large".into())
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&a)
                .secondary_private_ip_address_count(9)
                .build(),
        )
        .send()
        .await
        .expect("10 addresses fit");
    assert_eq!(
        ok.instances()[0].network_interfaces()[0]
            .private_ip_addresses()
            .len(),
        10
    );
}

#[tokio::test]
async fn subnet_capacity_bounds_launches() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let s = subnet(&w.ec2, &v, "10.0.0.0/28", "us-east-1a").await;
    let r = w
        .ec2
        .run_instances()
        .image_id("ami-0abcdef1234567890")
        .instance_type("t3.medium".into())
        .subnet_id(&s)
        .min_count(12)
        .max_count(14)
        .send()
        .await;
    assert_eq!(code(r), "InsufficientFreeAddressesInSubnet");
    assert_eq!(
        available_ips(&w.ec2, &s).await,
        11,
        "a refused launch takes nothing"
    );
    let r = w
        .ec2
        .run_instances()
        .image_id("ami-0abcdef1234567890")
        .instance_type("t3.medium".into())
        .subnet_id(&s)
        .min_count(1)
        .max_count(14)
        .send()
        .await
        .expect("launch what fits");
    assert_eq!(r.instances().len(), 11);
    assert_eq!(available_ips(&w.ec2, &s).await, 0);
    let r = w
        .ec2
        .run_instances()
        .image_id("ami-0abcdef1234567890")
        .instance_type("t3.medium".into())
        .subnet_id(&s)
        .min_count(1)
        .max_count(1)
        .send()
        .await;
    assert_eq!(code(r), "InsufficientFreeAddressesInSubnet");
    assert_eq!(available_ips(&w.ec2, &s).await, 0, "never negative");
}

#[tokio::test]
async fn describe_filters_and_paging() {
    let w = World::new("us-east-1");
    let (_v, a, _b, first) = basic_world(&w).await;
    let r = w
        .ec2
        .run_instances()
        .image_id("ami-0abcdef1234567890")
        .instance_type("m5.large".into())
        .subnet_id(&a)
        .min_count(7)
        .max_count(7)
        .tag_specifications(tags(
            ResourceType::Instance,
            &[("kubernetes.io/cluster/demo", "owned")],
        ))
        .send()
        .await
        .expect("run");
    assert_eq!(r.instances().len(), 7);
    let f = w
        .ec2
        .describe_instances()
        .filters(filter("tag-key", &["kubernetes.io/cluster/demo"]))
        .filters(filter("instance-type", &["m5.*"]))
        .send()
        .await
        .expect("f");
    assert_eq!(f.reservations()[0].instances().len(), 7);
    assert_eq!(
        code(
            w.ec2
                .describe_instances()
                .instance_ids("i-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidInstanceID.NotFound"
    );
    assert_eq!(
        code(
            w.ec2
                .describe_instances()
                .instance_ids("bogus")
                .send()
                .await
        ),
        "InvalidInstanceID.Malformed"
    );
    assert_eq!(
        code(
            w.ec2
                .describe_instances()
                .instance_ids(&first)
                .max_results(5)
                .send()
                .await
        ),
        "InvalidParameterCombination"
    );
    let mut n = 0;
    let mut token = None;
    loop {
        let p = w
            .ec2
            .describe_instances()
            .max_results(5)
            .set_next_token(token)
            .send()
            .await
            .expect("page");
        n += p
            .reservations()
            .iter()
            .map(|r| r.instances().len())
            .sum::<usize>();
        token = p.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(n, 8);
    let by_ip = w
        .ec2
        .describe_instances()
        .filters(filter("private-dns-name", &["ip-10-0-1-*.ec2.internal"]))
        .send()
        .await
        .expect("f");
    assert_eq!(
        by_ip
            .reservations()
            .iter()
            .map(|r| r.instances().len())
            .sum::<usize>(),
        8
    );
}

#[tokio::test]
async fn instance_types_catalogue() {
    let w = World::new("us-east-1");
    let r = w
        .ec2
        .describe_instance_types()
        .instance_types("c5.large".into())
        .instance_types("c5.xlarge".into())
        .send()
        .await
        .expect("types");
    for t in r.instance_types() {
        let n = t.network_info().expect("network");
        match t.instance_type().map(|t| t.as_str()) {
            Some("c5.large") => {
                assert_eq!(
                    (
                        n.maximum_network_interfaces(),
                        n.ipv4_addresses_per_interface()
                    ),
                    (Some(3), Some(10))
                );
                assert_eq!(t.v_cpu_info().and_then(|v| v.default_v_cpus()), Some(2));
                assert_eq!(t.memory_info().and_then(|m| m.size_in_mib()), Some(4096));
            }
            Some("c5.xlarge") => assert_eq!(
                (
                    n.maximum_network_interfaces(),
                    n.ipv4_addresses_per_interface()
                ),
                (Some(4), Some(15))
            ),
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut all = 0;
    let mut token = None;
    loop {
        let p = w
            .ec2
            .describe_instance_types()
            .set_next_token(token)
            .send()
            .await
            .expect("page");
        assert!(p.instance_types().len() <= 100);
        all += p.instance_types().len();
        token = p.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all, 1108);
    let arm = w
        .ec2
        .describe_instance_types()
        .filters(filter("processor-info.supported-architecture", &["arm64"]))
        .filters(filter("instance-type", &["m6g.*"]))
        .send()
        .await
        .expect("arm");
    assert!(!arm.instance_types().is_empty());
    assert_eq!(
        code(
            w.ec2
                .describe_instance_types()
                .instance_types("foo.bar".into())
                .send()
                .await
        ),
        "InvalidInstanceType"
    );
    let off = w
        .ec2
        .describe_instance_type_offerings()
        .location_type("availability-zone".into())
        .filters(filter("instance-type", &["c5.large"]))
        .send()
        .await
        .expect("offerings");
    assert_eq!(
        off.instance_type_offerings().len(),
        6,
        "us-east-1 has six AZs"
    );
}

#[tokio::test]
async fn launch_templates_drive_run_instances() {
    let w = World::new("cn-northwest-1");
    let v = vpc(&w.ec2, "192.168.192.0/22").await;
    let s = subnet(&w.ec2, &v, "192.168.194.0/24", "cn-northwest-1c").await;
    let data = RequestLaunchTemplateData::builder()
        .image_id("ami-0abcdef1234567890")
        .instance_type("c5.large".into())
        .user_data("IyEvYmluL2Jhc2gKa3ViZWFkbSBqb2lu")
        .iam_instance_profile(
            aws_sdk_ec2::types::LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name("k8s-node")
                .build(),
        )
        .build();
    let lt = w
        .ec2
        .create_launch_template()
        .launch_template_name("k8s-nodes")
        .launch_template_data(data.clone())
        .send()
        .await
        .expect("lt");
    let lt_id = lt
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("id")
        .to_string();
    assert_eq!(
        code(
            w.ec2
                .create_launch_template()
                .launch_template_name("k8s-nodes")
                .launch_template_data(data)
                .send()
                .await
        ),
        "InvalidLaunchTemplateName.AlreadyExistsException"
    );
    let v2 = w
        .ec2
        .create_launch_template_version()
        .launch_template_id(&lt_id)
        .source_version("1")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .instance_type("c5.xlarge".into())
                .build(),
        )
        .send()
        .await
        .expect("v2");
    assert_eq!(
        v2.launch_template_version()
            .and_then(|v| v.version_number()),
        Some(2)
    );
    let versions = w
        .ec2
        .describe_launch_template_versions()
        .launch_template_id(&lt_id)
        .versions("$Latest")
        .send()
        .await
        .expect("versions");
    let latest = versions.launch_template_versions()[0]
        .launch_template_data()
        .expect("data");
    assert_eq!(
        latest.instance_type().map(|t| t.as_str()),
        Some("c5.xlarge")
    );
    assert_eq!(
        latest.image_id(),
        Some("ami-0abcdef1234567890"),
        "source version data is kept"
    );
    let run = w
        .ec2
        .run_instances()
        .min_count(1)
        .max_count(1)
        .subnet_id(&s)
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_name("k8s-nodes")
                .version("$Latest")
                .build(),
        )
        .send()
        .await
        .expect("run from template");
    let i = &run.instances()[0];
    assert_eq!(i.instance_type().map(|t| t.as_str()), Some("c5.xlarge"));
    assert!(i
        .iam_instance_profile()
        .and_then(|p| p.arn())
        .is_some_and(
            |a| a.starts_with("arn:aws-cn:iam::") && a.ends_with(":instance-profile/k8s-node")
        ));
    assert!(i
        .tags()
        .iter()
        .any(|t| t.key() == Some("aws:ec2launchtemplate:id") && t.value() == Some(lt_id.as_str())));
    let missing = w
        .ec2
        .run_instances()
        .min_count(1)
        .max_count(1)
        .subnet_id(&s)
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id("lt-0123456789abcdef0")
                .build(),
        )
        .send()
        .await;
    assert_eq!(code(missing), "InvalidLaunchTemplateId.NotFound");
    let bad_version = w
        .ec2
        .describe_launch_template_versions()
        .launch_template_id(&lt_id)
        .versions("9")
        .send()
        .await;
    assert_eq!(code(bad_version), "InvalidLaunchTemplateId.VersionNotFound");
}
