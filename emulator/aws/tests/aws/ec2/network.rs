//! VPCs, subnets, gateways, route tables, security groups, tags, regions, paging.

use crate::support::*;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType};

#[tokio::test]
async fn regions_azs_and_partitions() {
    let w = World::new("cn-northwest-1");
    let azs = w
        .ec2
        .describe_availability_zones()
        .send()
        .await
        .expect("azs");
    let names: Vec<&str> = azs
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    assert_eq!(
        names,
        ["cn-northwest-1a", "cn-northwest-1b", "cn-northwest-1c"]
    );
    assert_eq!(azs.availability_zones()[0].zone_id(), Some("cnnw1-az1"));
    let regions = w.ec2.describe_regions().send().await.expect("regions");
    let r: Vec<&str> = regions
        .regions()
        .iter()
        .filter_map(|r| r.region_name())
        .collect();
    assert_eq!(
        r,
        ["cn-north-1", "cn-northwest-1"],
        "China regions see only their partition"
    );
    assert_eq!(
        regions.regions()[1].endpoint(),
        Some("ec2.cn-northwest-1.amazonaws.com.cn")
    );
    let bad = w
        .ec2
        .describe_availability_zones()
        .zone_names("cn-northwest-1z")
        .send()
        .await;
    assert_eq!(code(bad), "InvalidParameterValue");

    let us = World::new("us-east-1");
    let n = us
        .ec2
        .describe_availability_zones()
        .send()
        .await
        .expect("azs")
        .availability_zones()
        .len();
    assert!(n >= 3);
    // Subnet ARNs carry the partition.
    let v = vpc(&w.ec2, "192.168.192.0/22").await;
    let s = w
        .ec2
        .create_subnet()
        .vpc_id(&v)
        .cidr_block("192.168.193.0/24")
        .availability_zone("cn-northwest-1a")
        .send()
        .await
        .expect("subnet");
    assert!(s
        .subnet()
        .and_then(|s| s.subnet_arn())
        .expect("arn")
        .starts_with("arn:aws-cn:ec2:cn-northwest-1:"));
}

#[tokio::test]
async fn subnet_cidr_rules_and_reserved_addresses() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let s = subnet(&w.ec2, &v, "10.0.0.0/28", "us-east-1a").await;
    assert_eq!(
        available_ips(&w.ec2, &s).await,
        11,
        "16 addresses minus the 5 AWS reserves"
    );
    let r = w
        .ec2
        .create_subnet()
        .vpc_id(&v)
        .cidr_block("10.0.0.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await;
    assert_eq!(code(r), "InvalidSubnet.Conflict");
    let r = w
        .ec2
        .create_subnet()
        .vpc_id(&v)
        .cidr_block("10.1.0.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await;
    assert_eq!(code(r), "InvalidSubnet.Range");
    let r = w
        .ec2
        .create_subnet()
        .vpc_id(&v)
        .cidr_block("10.0.8.0/29")
        .availability_zone("us-east-1a")
        .send()
        .await;
    assert_eq!(
        code(r),
        "InvalidSubnet.Range",
        "/29 is smaller than AWS allows"
    );
    let r = w
        .ec2
        .create_subnet()
        .vpc_id(&v)
        .cidr_block("10.0.9.0/24")
        .availability_zone("us-east-1z")
        .send()
        .await;
    assert_eq!(code(r), "InvalidParameterValue");
    let r = w
        .ec2
        .create_subnet()
        .vpc_id("vpc-0000000000000000f")
        .cidr_block("10.0.9.0/24")
        .send()
        .await;
    assert_eq!(code(r), "InvalidVpcID.NotFound");
    let r = w.ec2.create_vpc().cidr_block("10.0.0.0/8").send().await;
    assert_eq!(code(r), "InvalidVpc.Range");
    let r = w.ec2.create_vpc().cidr_block("10.0.0.1/16").send().await;
    assert_eq!(code(r), "InvalidParameterValue");
    // A failed create stores nothing.
    let subnets = w
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &[&v]))
        .send()
        .await
        .expect("list");
    assert_eq!(subnets.subnets().len(), 1);
}

#[tokio::test]
async fn dependencies_block_deletes() {
    let w = World::new("us-east-1");
    let (v, a, _b, i) = basic_world(&w).await;
    assert_eq!(
        code(w.ec2.delete_subnet().subnet_id(&a).send().await),
        "DependencyViolation"
    );
    assert_eq!(
        code(w.ec2.delete_vpc().vpc_id(&v).send().await),
        "DependencyViolation"
    );
    w.ec2
        .terminate_instances()
        .instance_ids(&i)
        .send()
        .await
        .expect("terminate");
    w.advance(120);
    w.ec2
        .delete_subnet()
        .subnet_id(&a)
        .send()
        .await
        .expect("subnet free after termination");
    let sg = w
        .ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&v)
        .send()
        .await
        .expect("sg");
    let sg = sg.group_id().expect("id").to_string();
    assert_eq!(
        code(w.ec2.delete_vpc().vpc_id(&v).send().await),
        "DependencyViolation"
    );
    w.ec2
        .delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .expect("delete sg");
    let subnets = w
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &[&v]))
        .send()
        .await
        .expect("list");
    for s in subnets.subnets() {
        w.ec2
            .delete_subnet()
            .subnet_id(s.subnet_id().expect("id"))
            .send()
            .await
            .expect("delete subnet");
    }
    w.ec2
        .delete_vpc()
        .vpc_id(&v)
        .send()
        .await
        .expect("VPC deletes once empty");
    assert_eq!(
        code(w.ec2.describe_vpcs().vpc_ids(&v).send().await),
        "InvalidVpcID.NotFound"
    );
}

#[tokio::test]
async fn internet_and_nat_gateways_and_routes() {
    let w = World::new("cn-northwest-1");
    let v = vpc(&w.ec2, "192.168.192.0/22").await;
    let public = subnet(&w.ec2, &v, "192.168.192.0/24", "cn-northwest-1a").await;
    let private = subnet(&w.ec2, &v, "192.168.193.0/24", "cn-northwest-1a").await;
    let igw = w
        .ec2
        .create_internet_gateway()
        .send()
        .await
        .expect("igw")
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .expect("id")
        .to_string();
    let rt = w
        .ec2
        .create_route_table()
        .vpc_id(&v)
        .send()
        .await
        .expect("rt")
        .route_table()
        .and_then(|r| r.route_table_id())
        .expect("id")
        .to_string();
    let r = w
        .ec2
        .create_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await;
    assert_eq!(
        code(r),
        "InvalidParameterValue",
        "gateway not attached to this VPC"
    );
    w.ec2
        .attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&v)
        .send()
        .await
        .expect("attach");
    assert_eq!(
        code(
            w.ec2
                .attach_internet_gateway()
                .internet_gateway_id(&igw)
                .vpc_id(&v)
                .send()
                .await
        ),
        "Resource.AlreadyAssociated"
    );
    w.ec2
        .create_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .expect("route");
    let r = w
        .ec2
        .create_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await;
    assert_eq!(code(r), "RouteAlreadyExists");
    w.ec2
        .associate_route_table()
        .route_table_id(&rt)
        .subnet_id(&public)
        .send()
        .await
        .expect("associate");
    let r = w
        .ec2
        .associate_route_table()
        .route_table_id(&rt)
        .subnet_id(&public)
        .send()
        .await;
    assert_eq!(code(r), "Resource.AlreadyAssociated");
    assert_eq!(
        code(w.ec2.delete_route_table().route_table_id(&rt).send().await),
        "DependencyViolation"
    );
    assert_eq!(
        code(
            w.ec2
                .delete_internet_gateway()
                .internet_gateway_id(&igw)
                .send()
                .await
        ),
        "DependencyViolation"
    );

    // Public subnets are found the way controllers find them: a 0.0.0.0/0 route to an igw-.
    let found = w
        .ec2
        .describe_route_tables()
        .filters(filter("association.subnet-id", &[&public]))
        .send()
        .await
        .expect("rts");
    let routes = found.route_tables()[0].routes();
    assert!(routes
        .iter()
        .any(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-"))
            && r.destination_cidr_block() == Some("0.0.0.0/0")));
    assert!(routes.iter().any(|r| r.gateway_id() == Some("local")));

    // NAT gateway: needs an Elastic IP, takes an address of its subnet, pending → available.
    assert_eq!(
        code(w.ec2.create_nat_gateway().subnet_id(&public).send().await),
        "MissingParameter"
    );
    let eip = w
        .ec2
        .allocate_address()
        .send()
        .await
        .expect("eip")
        .allocation_id()
        .expect("id")
        .to_string();
    let before = available_ips(&w.ec2, &public).await;
    let nat = w
        .ec2
        .create_nat_gateway()
        .subnet_id(&public)
        .allocation_id(&eip)
        .send()
        .await
        .expect("nat");
    let nat = nat.nat_gateway().expect("nat");
    assert_eq!(nat.state().map(|s| s.as_str()), Some("pending"));
    let nat_id = nat.nat_gateway_id().expect("id").to_string();
    assert_eq!(available_ips(&w.ec2, &public).await, before - 1);
    assert_eq!(
        code(w.ec2.release_address().allocation_id(&eip).send().await),
        "InvalidIPAddress.InUse"
    );
    w.advance(120);
    let d = w
        .ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat_id)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        d.nat_gateways()[0].state().map(|s| s.as_str()),
        Some("available")
    );
    assert!(d.nat_gateways()[0].nat_gateway_addresses()[0]
        .public_ip()
        .is_some_and(|ip| ip.starts_with("52.")));
    let main = w
        .ec2
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
    w.ec2
        .create_route()
        .route_table_id(&main_id)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat_id)
        .send()
        .await
        .expect("nat route");
    let _ = private;
    assert_eq!(
        code(
            w.ec2
                .delete_route()
                .route_table_id(&main_id)
                .destination_cidr_block("192.168.192.0/22")
                .send()
                .await
        ),
        "InvalidParameterValue"
    );
    w.ec2
        .delete_nat_gateway()
        .nat_gateway_id(&nat_id)
        .send()
        .await
        .expect("delete nat");
    w.advance(60);
    let d = w
        .ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat_id)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        d.nat_gateways()[0].state().map(|s| s.as_str()),
        Some("deleted")
    );
    assert_eq!(available_ips(&w.ec2, &public).await, before);
    w.ec2
        .release_address()
        .allocation_id(&eip)
        .send()
        .await
        .expect("release after NAT deletion");
}

#[tokio::test]
async fn security_group_rules() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let sg = w
        .ec2
        .create_security_group()
        .group_name("k8s-nodes")
        .description("nodes")
        .vpc_id(&v)
        .tag_specifications(tags(
            ResourceType::SecurityGroup,
            &[("kubernetes.io/cluster/demo", "owned")],
        ))
        .send()
        .await
        .expect("sg");
    let sg = sg.group_id().expect("id").to_string();
    let dup = w
        .ec2
        .create_security_group()
        .group_name("k8s-nodes")
        .description("again")
        .vpc_id(&v)
        .send()
        .await;
    assert_eq!(code(dup), "InvalidGroup.Duplicate");
    let perm = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(30000)
        .to_port(32767)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    let added = w
        .ec2
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(perm.clone())
        .send()
        .await
        .expect("authorize");
    assert!(added.security_group_rules()[0]
        .security_group_rule_id()
        .is_some_and(|id| id.starts_with("sgr-")));
    let again = w
        .ec2
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(perm.clone())
        .send()
        .await;
    assert_eq!(code(again), "InvalidPermission.Duplicate");
    let no_ports = IpPermission::builder()
        .ip_protocol("tcp")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    assert_eq!(
        code(
            w.ec2
                .authorize_security_group_ingress()
                .group_id(&sg)
                .ip_permissions(no_ports)
                .send()
                .await
        ),
        "InvalidParameterValue"
    );
    let got = w
        .ec2
        .describe_security_groups()
        .filters(filter("tag-key", &["kubernetes.io/cluster/demo"]))
        .send()
        .await
        .expect("describe");
    assert_eq!(
        got.security_groups().len(),
        1,
        "untagged groups are not matched"
    );
    let g = &got.security_groups()[0];
    assert_eq!(g.ip_permissions()[0].from_port(), Some(30000));
    assert_eq!(g.ip_permissions_egress()[0].ip_protocol(), Some("-1"));
    w.ec2
        .revoke_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(perm.clone())
        .send()
        .await
        .expect("revoke");
    assert_eq!(
        code(
            w.ec2
                .revoke_security_group_ingress()
                .group_id(&sg)
                .ip_permissions(perm)
                .send()
                .await
        ),
        "InvalidPermission.NotFound"
    );
    let default = w
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &[&v]))
        .filters(filter("group-name", &["default"]))
        .send()
        .await
        .expect("default");
    let default_id = default.security_groups()[0]
        .group_id()
        .expect("id")
        .to_string();
    assert_eq!(
        code(
            w.ec2
                .delete_security_group()
                .group_id(&default_id)
                .send()
                .await
        ),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(
            w.ec2
                .delete_security_group()
                .group_id("sg-0123456789abcdef0")
                .send()
                .await
        ),
        "InvalidGroup.NotFound"
    );
}

#[tokio::test]
async fn tags_and_filters() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let a = subnet(&w.ec2, &v, "10.0.1.0/24", "us-east-1a").await;
    let b = subnet(&w.ec2, &v, "10.0.2.0/24", "us-east-1b").await;
    w.ec2
        .create_tags()
        .resources(&a)
        .resources(&b)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("kubernetes.io/cluster/demo")
                .value("shared")
                .build(),
        )
        .send()
        .await
        .expect("tag");
    w.ec2
        .create_tags()
        .resources(&a)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("kubernetes.io/role/elb")
                .value("1")
                .build(),
        )
        .send()
        .await
        .expect("tag");
    let r = w
        .ec2
        .describe_subnets()
        .filters(filter("tag:kubernetes.io/role/elb", &["1"]))
        .send()
        .await
        .expect("f");
    assert_eq!(r.subnets().len(), 1);
    let r = w
        .ec2
        .describe_subnets()
        .filters(filter("tag:kubernetes.io/cluster/demo", &["sha*"]))
        .send()
        .await
        .expect("f");
    assert_eq!(r.subnets().len(), 2, "wildcards match values");
    let r = w
        .ec2
        .describe_subnets()
        .filters(filter("tag-key", &["kubernetes.io/cluster/*"]))
        .filters(filter("availability-zone", &["us-east-1b"]))
        .send()
        .await
        .expect("f");
    assert_eq!(r.subnets().len(), 1, "filters are AND-ed");
    let bad = w
        .ec2
        .describe_subnets()
        .filters(filter("no-such-filter", &["x"]))
        .send()
        .await;
    assert_eq!(code(bad), "InvalidParameterValue");
    let missing = w
        .ec2
        .create_tags()
        .resources(&a)
        .resources("subnet-0123456789abcdef0")
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("x")
                .value("y")
                .build(),
        )
        .send()
        .await;
    assert_eq!(code(missing), "InvalidSubnetID.NotFound");
    let t = w
        .ec2
        .describe_tags()
        .filters(filter("resource-id", &[&a]))
        .send()
        .await
        .expect("tags");
    assert_eq!(t.tags().len(), 2, "the failed CreateTags added nothing");
    assert_eq!(
        t.tags()[0].resource_type().map(|r| r.as_str()),
        Some("subnet")
    );
    let reserved = w
        .ec2
        .create_tags()
        .resources(&a)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("aws:foo")
                .value("1")
                .build(),
        )
        .send()
        .await;
    assert_eq!(code(reserved), "InvalidParameterValue");
    w.ec2
        .delete_tags()
        .resources(&a)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("kubernetes.io/role/elb")
                .build(),
        )
        .send()
        .await
        .expect("delete");
    let r = w
        .ec2
        .describe_subnets()
        .filters(filter("tag:kubernetes.io/role/elb", &["1"]))
        .send()
        .await
        .expect("f");
    assert!(r.subnets().is_empty());
    let mut req = w.ec2.create_tags().resources(&b);
    for i in 0..50 {
        req = req.tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(format!("k{i}"))
                .value("v")
                .build(),
        );
    }
    assert_eq!(
        code(req.send().await),
        "TagLimitExceeded",
        "one tag already there + 50 > 50"
    );
}

#[tokio::test]
async fn paging_with_max_results_and_next_token() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    for i in 0..12 {
        subnet(&w.ec2, &v, &format!("10.0.{i}.0/24"), "us-east-1a").await;
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = w
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", &[&v]))
            .max_results(5)
            .set_next_token(token)
            .send()
            .await
            .expect("page");
        assert!(page.subnets().len() <= 5);
        seen.extend(
            page.subnets()
                .iter()
                .filter_map(|s| s.subnet_id().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 12);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 12, "no subnet twice across pages");
    assert_eq!(
        code(w.ec2.describe_subnets().max_results(4).send().await),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(w.ec2.describe_subnets().next_token("garbage").send().await),
        "InvalidPaginationToken"
    );
}
