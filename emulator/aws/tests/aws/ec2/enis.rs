//! ENIs and private IPv4 addresses: the limits the VPC CNI lives by.

use crate::support::*;

async fn eni(w: &World, subnet: &str) -> String {
    w.ec2
        .create_network_interface()
        .subnet_id(subnet)
        .send()
        .await
        .expect("eni")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn eni_count_device_index_and_az_rules() {
    let w = World::new("us-east-1");
    let (_v, a, b, i) = basic_world(&w).await;
    let e1 = eni(&w, &a).await;
    let e2 = eni(&w, &a).await;
    let e3 = eni(&w, &a).await;
    let other_az = eni(&w, &b).await;
    let r = w
        .ec2
        .attach_network_interface()
        .network_interface_id(&other_az)
        .instance_id(&i)
        .device_index(1)
        .send()
        .await;
    assert_eq!(
        code(r),
        "InvalidParameterCombination",
        "ENI and instance must share an AZ"
    );
    let r = w
        .ec2
        .attach_network_interface()
        .network_interface_id(&e1)
        .instance_id(&i)
        .device_index(0)
        .send()
        .await;
    assert_eq!(
        code(r),
        "InvalidParameterValue",
        "device index 0 holds the primary ENI"
    );
    let att1 = w
        .ec2
        .attach_network_interface()
        .network_interface_id(&e1)
        .instance_id(&i)
        .device_index(1)
        .send()
        .await
        .expect("attach 1");
    let r = w
        .ec2
        .attach_network_interface()
        .network_interface_id(&e1)
        .instance_id(&i)
        .device_index(2)
        .send()
        .await;
    assert_eq!(code(r), "InvalidNetworkInterface.InUse");
    w.ec2
        .attach_network_interface()
        .network_interface_id(&e2)
        .instance_id(&i)
        .device_index(2)
        .send()
        .await
        .expect("attach 2");
    let r = w
        .ec2
        .attach_network_interface()
        .network_interface_id(&e3)
        .instance_id(&i)
        .device_index(3)
        .send()
        .await;
    assert_eq!(
        code_msg(r),
        (
            "AttachmentLimitExceeded".into(),
            "Interface count 4 exceeds the limit for c5.large".into()
        )
    );
    assert_eq!(
        code(
            w.ec2
                .delete_network_interface()
                .network_interface_id(&e1)
                .send()
                .await
        ),
        "InvalidNetworkInterface.InUse"
    );
    let d = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("attachment.instance-id", &[&i]))
        .send()
        .await
        .expect("enis");
    assert_eq!(d.network_interfaces().len(), 3);
    let primary_attachment = d
        .network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
        .and_then(|n| n.attachment())
        .and_then(|a| a.attachment_id())
        .expect("primary")
        .to_string();
    let r = w
        .ec2
        .detach_network_interface()
        .attachment_id(&primary_attachment)
        .send()
        .await;
    assert_eq!(code(r), "OperationNotPermitted");
    w.ec2
        .detach_network_interface()
        .attachment_id(att1.attachment_id().expect("id"))
        .send()
        .await
        .expect("detach");
    w.ec2
        .attach_network_interface()
        .network_interface_id(&e3)
        .instance_id(&i)
        .device_index(1)
        .send()
        .await
        .expect("slot free again");
    w.ec2
        .delete_network_interface()
        .network_interface_id(&e1)
        .send()
        .await
        .expect("delete detached ENI");
    assert_eq!(
        code(
            w.ec2
                .describe_network_interfaces()
                .network_interface_ids(&e1)
                .send()
                .await
        ),
        "InvalidNetworkInterfaceID.NotFound"
    );
    assert_eq!(
        code(
            w.ec2
                .detach_network_interface()
                .attachment_id("eni-attach-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidAttachmentID.NotFound"
    );
}

#[tokio::test]
async fn ips_per_eni_follow_the_instance_type() {
    let w = World::new("us-east-1");
    let (_v, a, _b, i) = basic_world(&w).await;
    let d = w
        .ec2
        .describe_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("describe");
    let primary = d.reservations()[0].instances()[0].network_interfaces()[0]
        .network_interface_id()
        .expect("eni")
        .to_string();
    let r = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&primary)
        .secondary_private_ip_address_count(10)
        .send()
        .await;
    assert_eq!(
        code(r),
        "PrivateIpAddressLimitExceeded",
        "c5.large: 10 addresses per ENI including the primary"
    );
    let ok = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&primary)
        .secondary_private_ip_address_count(9)
        .send()
        .await
        .expect("9 secondaries");
    assert_eq!(ok.assigned_private_ip_addresses().len(), 9);
    let r = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&primary)
        .secondary_private_ip_address_count(1)
        .send()
        .await;
    assert_eq!(code(r), "PrivateIpAddressLimitExceeded");
    let primary_ip = d.reservations()[0].instances()[0]
        .private_ip_address()
        .expect("ip")
        .to_string();
    let r = w
        .ec2
        .unassign_private_ip_addresses()
        .network_interface_id(&primary)
        .private_ip_addresses(&primary_ip)
        .send()
        .await;
    assert_eq!(code(r), "InvalidParameterValue");
    let sec = ok.assigned_private_ip_addresses()[0]
        .private_ip_address()
        .expect("ip")
        .to_string();
    w.ec2
        .unassign_private_ip_addresses()
        .network_interface_id(&primary)
        .private_ip_addresses(&sec)
        .send()
        .await
        .expect("unassign");
    let r = w
        .ec2
        .unassign_private_ip_addresses()
        .network_interface_id(&primary)
        .private_ip_addresses(&sec)
        .send()
        .await;
    assert_eq!(code(r), "InvalidParameterValue", "no longer assigned");

    // Specific addresses: in use, outside the subnet, reserved.
    let other = eni(&w, &a).await;
    let r = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&other)
        .private_ip_addresses(&primary_ip)
        .send()
        .await;
    assert_eq!(code(r), "InvalidIPAddress.InUse");
    let r = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&other)
        .private_ip_addresses("10.0.9.9")
        .send()
        .await;
    assert_eq!(code(r), "InvalidParameterValue");
    let r = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&other)
        .private_ip_addresses("10.0.1.1")
        .send()
        .await;
    assert_eq!(
        code(r),
        "InvalidParameterValue",
        "the VPC router address is reserved"
    );
    let moved = ok.assigned_private_ip_addresses()[1]
        .private_ip_address()
        .expect("ip")
        .to_string();
    let r = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&other)
        .private_ip_addresses(&moved)
        .send()
        .await;
    assert_eq!(code(r), "InvalidIPAddress.InUse");
    w.ec2
        .assign_private_ip_addresses()
        .network_interface_id(&other)
        .private_ip_addresses(&moved)
        .allow_reassignment(true)
        .send()
        .await
        .expect("reassign");
    let p = w
        .ec2
        .describe_network_interfaces()
        .network_interface_ids(&primary)
        .send()
        .await
        .expect("eni");
    assert!(!p.network_interfaces()[0]
        .private_ip_addresses()
        .iter()
        .any(|x| x.private_ip_address() == Some(moved.as_str())));
    // An ENI with more addresses than the type allows cannot be attached.
    w.ec2
        .assign_private_ip_addresses()
        .network_interface_id(&other)
        .secondary_private_ip_address_count(10)
        .send()
        .await
        .expect("unattached ENIs are not type-bound");
    let r = w
        .ec2
        .attach_network_interface()
        .network_interface_id(&other)
        .instance_id(&i)
        .device_index(1)
        .send()
        .await;
    assert_eq!(code(r), "PrivateIpAddressLimitExceeded");
}

#[tokio::test]
async fn subnet_exhaustion_is_exact_and_atomic() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let s = subnet(&w.ec2, &v, "10.0.0.0/28", "us-east-1a").await;
    let e = eni(&w, &s).await;
    assert_eq!(available_ips(&w.ec2, &s).await, 10);
    let r = w
        .ec2
        .assign_private_ip_addresses()
        .network_interface_id(&e)
        .secondary_private_ip_address_count(11)
        .send()
        .await;
    assert_eq!(code(r), "InsufficientFreeAddressesInSubnet");
    assert_eq!(available_ips(&w.ec2, &s).await, 10, "all or nothing");
    w.ec2
        .assign_private_ip_addresses()
        .network_interface_id(&e)
        .secondary_private_ip_address_count(10)
        .send()
        .await
        .expect("fill");
    assert_eq!(available_ips(&w.ec2, &s).await, 0);
    assert_eq!(
        code(w.ec2.create_network_interface().subnet_id(&s).send().await),
        "InsufficientFreeAddressesInSubnet"
    );
    assert_eq!(available_ips(&w.ec2, &s).await, 0);
    let d = w
        .ec2
        .describe_network_interfaces()
        .network_interface_ids(&e)
        .send()
        .await
        .expect("eni");
    let ips: Vec<String> = d.network_interfaces()[0]
        .private_ip_addresses()
        .iter()
        .filter_map(|p| p.private_ip_address().map(str::to_string))
        .collect();
    assert_eq!(ips.len(), 11);
    for ip in &ips {
        let last: u32 = ip
            .rsplit('.')
            .next()
            .and_then(|x| x.parse().ok())
            .expect("octet");
        assert!((4..=14).contains(&last), "{ip} is not reserved");
    }
    w.ec2
        .delete_network_interface()
        .network_interface_id(&e)
        .send()
        .await
        .expect("delete");
    assert_eq!(available_ips(&w.ec2, &s).await, 11);
}

#[tokio::test]
async fn vpc_cni_style_discovery_filters() {
    let w = World::new("us-east-1");
    let (_v, a, _b, i) = basic_world(&w).await;
    let e = w
        .ec2
        .create_network_interface()
        .subnet_id(&a)
        .description("aws-K8S-i-x")
        .tag_specifications(tags(
            aws_sdk_ec2::types::ResourceType::NetworkInterface,
            &[
                ("cluster.k8s.amazonaws.com/name", "demo"),
                ("node.k8s.amazonaws.com/instance_id", &i),
            ],
        ))
        .secondary_private_ip_address_count(5)
        .send()
        .await
        .expect("eni");
    let id = e
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("id")
        .to_string();
    let f = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("tag:cluster.k8s.amazonaws.com/name", &["demo"]))
        .filters(filter("status", &["available"]))
        .send()
        .await
        .expect("leaked ENIs");
    assert_eq!(f.network_interfaces().len(), 1);
    w.ec2
        .attach_network_interface()
        .network_interface_id(&id)
        .instance_id(&i)
        .device_index(1)
        .send()
        .await
        .expect("attach");
    let f = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("status", &["available"]))
        .filters(filter("tag:cluster.k8s.amazonaws.com/name", &["demo"]))
        .send()
        .await
        .expect("f");
    assert!(f.network_interfaces().is_empty());
    let f = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("attachment.instance-id", &[&i]))
        .filters(filter("attachment.device-index", &["1"]))
        .send()
        .await
        .expect("f");
    assert_eq!(f.network_interfaces()[0].private_ip_addresses().len(), 6);
    assert!(f.network_interfaces()[0]
        .mac_address()
        .is_some_and(|m| m.len() == 17));
    w.ec2
        .modify_network_interface_attribute()
        .network_interface_id(&id)
        .attachment(
            aws_sdk_ec2::types::NetworkInterfaceAttachmentChanges::builder()
                .attachment_id(
                    f.network_interfaces()[0]
                        .attachment()
                        .and_then(|a| a.attachment_id())
                        .expect("att"),
                )
                .delete_on_termination(true)
                .build(),
        )
        .send()
        .await
        .expect("modify");
    let d = w
        .ec2
        .describe_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        d.reservations()[0].instances()[0]
            .network_interfaces()
            .len(),
        2
    );
    w.ec2
        .terminate_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("terminate");
    w.advance(120);
    assert_eq!(
        code(
            w.ec2
                .describe_network_interfaces()
                .network_interface_ids(&id)
                .send()
                .await
        ),
        "InvalidNetworkInterfaceID.NotFound"
    );
}
