//! The operations the other modules do not exercise, each once through the SDK with the strict
//! output check on, so every implemented operation round-trips through the real client.

use crate::support::*;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, IpRange, RequestLaunchTemplateData, VpcAttributeName,
};

#[tokio::test]
async fn remaining_operations_round_trip() {
    let w = World::new("eu-west-1");
    let ec2 = &w.ec2;
    let attrs = ec2
        .describe_account_attributes()
        .send()
        .await
        .expect("account attributes");
    assert!(attrs
        .account_attributes()
        .iter()
        .any(|a| a.attribute_name() == Some("default-vpc")));

    let v = vpc(ec2, "10.20.0.0/16").await;
    ec2.modify_vpc_attribute()
        .vpc_id(&v)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("modify vpc");
    let a = ec2
        .describe_vpc_attribute()
        .vpc_id(&v)
        .attribute(VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .expect("vpc attr");
    assert_eq!(a.enable_dns_hostnames().and_then(|x| x.value()), Some(true));
    let both = ec2
        .modify_vpc_attribute()
        .vpc_id(&v)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .enable_dns_support(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await;
    assert_eq!(code(both), "InvalidParameterCombination");

    let s = subnet(ec2, &v, "10.20.1.0/24", "eu-west-1a").await;
    ec2.modify_subnet_attribute()
        .subnet_id(&s)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("modify subnet");
    let d = ec2
        .describe_subnets()
        .subnet_ids(&s)
        .send()
        .await
        .expect("subnet");
    assert_eq!(d.subnets()[0].map_public_ip_on_launch(), Some(true));

    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("igw")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .expect("id")
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&v)
        .send()
        .await
        .expect("attach");
    let g = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", &[&v]))
        .send()
        .await
        .expect("igws");
    assert_eq!(
        g.internet_gateways()[0].attachments()[0].vpc_id(),
        Some(v.as_str())
    );
    let i = instance(ec2, &s, "m5.large").await;
    let d = ec2
        .describe_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("describe");
    let public = d.reservations()[0].instances()[0]
        .public_ip_address()
        .expect("public ip on a public subnet")
        .to_string();
    assert!(d.reservations()[0].instances()[0]
        .public_dns_name()
        .is_some_and(|n| n.ends_with(".eu-west-1.compute.amazonaws.com")));
    let r = ec2
        .detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&v)
        .send()
        .await;
    assert_eq!(code(r), "DependencyViolation", "{public} is mapped");
    ec2.terminate_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("terminate");
    w.advance(60);
    ec2.detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&v)
        .send()
        .await
        .expect("detach");
    assert_eq!(
        code(
            ec2.detach_internet_gateway()
                .internet_gateway_id(&igw)
                .vpc_id(&v)
                .send()
                .await
        ),
        "Gateway.NotAttached"
    );
    ec2.delete_internet_gateway()
        .internet_gateway_id(&igw)
        .send()
        .await
        .expect("delete igw");

    let eip = ec2.allocate_address().send().await.expect("eip");
    let addrs = ec2
        .describe_addresses()
        .allocation_ids(eip.allocation_id().expect("id"))
        .send()
        .await
        .expect("addresses");
    assert_eq!(addrs.addresses()[0].public_ip(), eip.public_ip());

    let rt = ec2
        .create_route_table()
        .vpc_id(&v)
        .send()
        .await
        .expect("rt")
        .route_table()
        .and_then(|r| r.route_table_id())
        .expect("id")
        .to_string();
    let assoc = ec2
        .associate_route_table()
        .route_table_id(&rt)
        .subnet_id(&s)
        .send()
        .await
        .expect("assoc")
        .association_id()
        .expect("id")
        .to_string();
    let eni = ec2
        .create_network_interface()
        .subnet_id(&s)
        .send()
        .await
        .expect("eni")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("id")
        .to_string();
    ec2.create_route()
        .route_table_id(&rt)
        .destination_cidr_block("10.99.0.0/16")
        .network_interface_id(&eni)
        .send()
        .await
        .expect("route");
    ec2.replace_route()
        .route_table_id(&rt)
        .destination_cidr_block("10.99.0.0/16")
        .network_interface_id(&eni)
        .send()
        .await
        .expect("replace");
    assert_eq!(
        code(
            ec2.replace_route()
                .route_table_id(&rt)
                .destination_cidr_block("10.98.0.0/16")
                .network_interface_id(&eni)
                .send()
                .await
        ),
        "InvalidRoute.NotFound"
    );
    ec2.delete_route()
        .route_table_id(&rt)
        .destination_cidr_block("10.99.0.0/16")
        .send()
        .await
        .expect("delete route");
    let main = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &[&v]))
        .filters(filter("association.main", &["true"]))
        .send()
        .await
        .expect("main");
    let main_id = main.route_tables()[0]
        .route_table_id()
        .expect("id")
        .to_string();
    let new_assoc = ec2
        .replace_route_table_association()
        .association_id(&assoc)
        .route_table_id(&main_id)
        .send()
        .await
        .expect("replace assoc");
    ec2.disassociate_route_table()
        .association_id(new_assoc.new_association_id().expect("id"))
        .send()
        .await
        .expect("disassociate");
    assert_eq!(
        code(
            ec2.disassociate_route_table()
                .association_id("rtbassoc-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidAssociationID.NotFound"
    );
    ec2.delete_route_table()
        .route_table_id(&rt)
        .send()
        .await
        .expect("delete rt");

    let sg = ec2
        .create_security_group()
        .group_name("egress-test")
        .description("t")
        .vpc_id(&v)
        .send()
        .await
        .expect("sg")
        .group_id()
        .expect("id")
        .to_string();
    let perm = IpPermission::builder()
        .ip_protocol("udp")
        .from_port(53)
        .to_port(53)
        .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
        .build();
    ec2.authorize_security_group_egress()
        .group_id(&sg)
        .ip_permissions(perm.clone())
        .send()
        .await
        .expect("egress");
    let rules = ec2
        .describe_security_group_rules()
        .filters(filter("group-id", &[&sg]))
        .send()
        .await
        .expect("rules");
    assert_eq!(
        rules.security_group_rules().len(),
        2,
        "default all-traffic egress plus udp/53"
    );
    assert!(rules
        .security_group_rules()
        .iter()
        .all(|r| r.is_egress() == Some(true)));
    ec2.revoke_security_group_egress()
        .group_id(&sg)
        .ip_permissions(perm)
        .send()
        .await
        .expect("revoke egress");
    ec2.modify_network_interface_attribute()
        .network_interface_id(&eni)
        .groups(&sg)
        .send()
        .await
        .expect("eni groups");
    assert_eq!(
        code(ec2.delete_security_group().group_id(&sg).send().await),
        "DependencyViolation"
    );

    let lt = ec2
        .create_launch_template()
        .launch_template_name("tpl")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .instance_type("t3.medium".into())
                .build(),
        )
        .send()
        .await
        .expect("lt");
    let lt_id = lt
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("id")
        .to_string();
    ec2.create_launch_template_version()
        .launch_template_id(&lt_id)
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .instance_type("c5.large".into())
                .build(),
        )
        .send()
        .await
        .expect("v2");
    let m = ec2
        .modify_launch_template()
        .launch_template_id(&lt_id)
        .default_version("2")
        .send()
        .await
        .expect("modify lt");
    assert_eq!(
        m.launch_template().and_then(|t| t.default_version_number()),
        Some(2)
    );
    let d = ec2
        .describe_launch_templates()
        .launch_template_names("tpl")
        .send()
        .await
        .expect("describe lt");
    assert_eq!(d.launch_templates()[0].latest_version_number(), Some(2));
    ec2.delete_launch_template()
        .launch_template_id(&lt_id)
        .send()
        .await
        .expect("delete lt");
    assert_eq!(
        code(
            ec2.describe_launch_templates()
                .launch_template_names("tpl")
                .send()
                .await
        ),
        "InvalidLaunchTemplateName.NotFoundException"
    );

    let i = instance(ec2, &s, "t3.medium").await;
    let a = ec2
        .describe_instance_attribute()
        .instance_id(&i)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::InstanceType)
        .send()
        .await
        .expect("attr");
    assert_eq!(a.instance_type().and_then(|t| t.value()), Some("t3.medium"));
    ec2.modify_instance_attribute()
        .instance_id(&i)
        .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("protect");
    assert_eq!(
        code(ec2.terminate_instances().instance_ids(&i).send().await),
        "OperationNotPermitted"
    );
}
