//! Invariants under random operation sequences (proptest) and under concurrent requests:
//! no private address handed out twice in a VPC, no ENI or address over its instance type's
//! limit, no volume attached across AZs, subnet counts consistent and never negative, and no
//! lost update.

use crate::support::*;
use aws_sdk_ec2::Client;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
enum Op {
    CreateEni(usize),
    DeleteEni(usize),
    AttachEni(usize, usize, i32),
    DetachEni(usize),
    Assign(usize, i32),
    Unassign(usize),
    Run(usize, usize),
    Terminate(usize),
    CreateVolume(usize),
    AttachVolume(usize, usize, usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(Op::CreateEni),
        (0..8usize).prop_map(Op::DeleteEni),
        (0..8usize, 0..4usize, 1..4i32).prop_map(|(e, i, d)| Op::AttachEni(e, i, d)),
        (0..8usize).prop_map(Op::DetachEni),
        (0..8usize, 1..12i32).prop_map(|(e, n)| Op::Assign(e, n)),
        (0..8usize).prop_map(Op::Unassign),
        (0..3usize, 0..3usize).prop_map(|(s, t)| Op::Run(s, t)),
        (0..4usize).prop_map(Op::Terminate),
        (0..2usize).prop_map(Op::CreateVolume),
        (0..4usize, 0..4usize, 0..3usize).prop_map(|(v, i, d)| Op::AttachVolume(v, i, d)),
        (1..120u64).prop_map(Op::Advance),
    ]
}

const TYPES: [&str; 3] = ["t3.medium", "c5.large", "t2.micro"];
const DEVICES: [&str; 3] = ["/dev/xvdba", "/dev/xvdbb", "/dev/sdf"];

struct Ids {
    subnets: Vec<String>,
    enis: Vec<String>,
    instances: Vec<String>,
    volumes: Vec<String>,
}

fn pick(v: &[String], i: usize) -> Option<String> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

/// Runs one operation; AWS errors are expected outcomes, but each must carry a code.
async fn apply(w: &World, ids: &mut Ids, op: &Op) {
    let ec2 = &w.ec2;
    macro_rules! expect_coded {
        ($r:expr) => {
            match $r {
                Ok(v) => Some(v),
                Err(e) => {
                    let e = aws_sdk_ec2::error::ProvideErrorMetadata::code(&e).map(str::to_string);
                    assert!(
                        e.as_deref().is_some_and(|c| c != "InternalError"),
                        "uncoded failure for {op:?}: {e:?}"
                    );
                    None
                }
            }
        };
    }
    match op {
        Op::CreateEni(s) => {
            if let Some(r) = expect_coded!(
                ec2.create_network_interface()
                    .subnet_id(&ids.subnets[*s])
                    .send()
                    .await
            ) {
                ids.enis.extend(
                    r.network_interface()
                        .and_then(|n| n.network_interface_id())
                        .map(str::to_string),
                );
            }
        }
        Op::DeleteEni(e) => {
            if let Some(id) = pick(&ids.enis, *e) {
                expect_coded!(
                    ec2.delete_network_interface()
                        .network_interface_id(id)
                        .send()
                        .await
                );
            }
        }
        Op::AttachEni(e, i, d) => {
            if let (Some(e), Some(i)) = (pick(&ids.enis, *e), pick(&ids.instances, *i)) {
                expect_coded!(
                    ec2.attach_network_interface()
                        .network_interface_id(e)
                        .instance_id(i)
                        .device_index(*d)
                        .send()
                        .await
                );
            }
        }
        Op::DetachEni(e) => {
            if let Some(id) = pick(&ids.enis, *e) {
                let d = ec2
                    .describe_network_interfaces()
                    .filters(filter("network-interface-id", &[&id]))
                    .send()
                    .await
                    .expect("describe");
                if let Some(att) = d
                    .network_interfaces()
                    .first()
                    .and_then(|n| n.attachment())
                    .and_then(|a| a.attachment_id())
                {
                    expect_coded!(
                        ec2.detach_network_interface()
                            .attachment_id(att)
                            .send()
                            .await
                    );
                }
            }
        }
        Op::Assign(e, n) => {
            if let Some(id) = pick(&ids.enis, *e) {
                expect_coded!(
                    ec2.assign_private_ip_addresses()
                        .network_interface_id(id)
                        .secondary_private_ip_address_count(*n)
                        .send()
                        .await
                );
            }
        }
        Op::Unassign(e) => {
            if let Some(id) = pick(&ids.enis, *e) {
                let d = ec2
                    .describe_network_interfaces()
                    .filters(filter("network-interface-id", &[&id]))
                    .send()
                    .await
                    .expect("describe");
                let sec = d
                    .network_interfaces()
                    .first()
                    .and_then(|n| {
                        n.private_ip_addresses()
                            .iter()
                            .find(|p| p.primary() == Some(false))
                    })
                    .and_then(|p| p.private_ip_address())
                    .map(str::to_string);
                if let Some(ip) = sec {
                    expect_coded!(
                        ec2.unassign_private_ip_addresses()
                            .network_interface_id(id)
                            .private_ip_addresses(ip)
                            .send()
                            .await
                    );
                }
            }
        }
        Op::Run(s, t) => {
            let r = ec2
                .run_instances()
                .image_id("ami-0abcdef1234567890")
                .instance_type(TYPES[*t].into())
                .subnet_id(&ids.subnets[*s])
                .min_count(1)
                .max_count(1)
                .send()
                .await;
            if let Some(r) = expect_coded!(r) {
                ids.instances.extend(
                    r.instances()
                        .iter()
                        .filter_map(|i| i.instance_id().map(str::to_string)),
                );
            }
        }
        Op::Terminate(i) => {
            if let Some(id) = pick(&ids.instances, *i) {
                expect_coded!(ec2.terminate_instances().instance_ids(id).send().await);
            }
        }
        Op::CreateVolume(az) => {
            let az = ["us-east-1a", "us-east-1b"][*az];
            if let Some(r) = expect_coded!(
                ec2.create_volume()
                    .availability_zone(az)
                    .size(10)
                    .send()
                    .await
            ) {
                ids.volumes.extend(r.volume_id().map(str::to_string));
            }
        }
        Op::AttachVolume(v, i, d) => {
            if let (Some(v), Some(i)) = (pick(&ids.volumes, *v), pick(&ids.instances, *i)) {
                expect_coded!(
                    ec2.attach_volume()
                        .volume_id(v)
                        .instance_id(i)
                        .device(DEVICES[*d])
                        .send()
                        .await
                );
            }
        }
        Op::Advance(s) => w.advance(*s),
    }
}

/// Checks every invariant through Describe calls.
async fn check_invariants(ec2: &Client, subnets: &[String]) {
    let enis = ec2
        .describe_network_interfaces()
        .send()
        .await
        .expect("enis");
    let instances = ec2.describe_instances().send().await.expect("instances");
    let types: HashMap<String, String> = instances
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| {
            Some((
                i.instance_id()?.to_string(),
                i.instance_type()?.as_str().to_string(),
            ))
        })
        .collect();
    let azs: HashMap<String, String> = instances
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| {
            Some((
                i.instance_id()?.to_string(),
                i.placement()?.availability_zone()?.to_string(),
            ))
        })
        .collect();
    let mut seen = HashSet::new();
    let mut per_instance: HashMap<String, usize> = HashMap::new();
    let mut per_subnet: HashMap<String, usize> = HashMap::new();
    for n in enis.network_interfaces() {
        let ips: Vec<&str> = n
            .private_ip_addresses()
            .iter()
            .filter_map(|p| p.private_ip_address())
            .collect();
        for ip in &ips {
            assert!(seen.insert(ip.to_string()), "address {ip} handed out twice");
        }
        *per_subnet
            .entry(n.subnet_id().unwrap_or_default().to_string())
            .or_default() += ips.len();
        if let Some(inst) = n.attachment().and_then(|a| a.instance_id()) {
            *per_instance.entry(inst.to_string()).or_default() += 1;
            let ty = instances_type(&types, inst);
            let t = ec2
                .describe_instance_types()
                .instance_types(ty.as_str().into())
                .send()
                .await
                .expect("type");
            let limit = t.instance_types()[0]
                .network_info()
                .and_then(|n| n.ipv4_addresses_per_interface())
                .expect("limit");
            assert!(
                ips.len() as i32 <= limit,
                "{} has {} addresses on a {ty}",
                n.network_interface_id().unwrap_or_default(),
                ips.len()
            );
        }
    }
    for (inst, count) in per_instance {
        let ty = instances_type(&types, &inst);
        let t = ec2
            .describe_instance_types()
            .instance_types(ty.as_str().into())
            .send()
            .await
            .expect("type");
        let limit = t.instance_types()[0]
            .network_info()
            .and_then(|n| n.maximum_network_interfaces())
            .expect("limit");
        assert!(count as i32 <= limit, "{inst} ({ty}) has {count} ENIs");
    }
    for s in subnets {
        let d = ec2
            .describe_subnets()
            .subnet_ids(s)
            .send()
            .await
            .expect("subnet");
        let sub = &d.subnets()[0];
        let prefix: u32 = sub
            .cidr_block()
            .and_then(|c| c.split('/').nth(1))
            .and_then(|p| p.parse().ok())
            .expect("prefix");
        let size = 1i64 << (32 - prefix);
        let used = *per_subnet.get(s).unwrap_or(&0) as i64;
        let avail = i64::from(sub.available_ip_address_count().expect("count"));
        assert!(avail >= 0);
        assert_eq!(
            avail,
            size - 5 - used,
            "AvailableIpAddressCount of {s} is consistent"
        );
    }
    let vols = ec2.describe_volumes().send().await.expect("volumes");
    for v in vols.volumes() {
        for a in v.attachments() {
            let inst = a.instance_id().unwrap_or_default();
            if let Some(az) = azs.get(inst) {
                assert_eq!(
                    Some(az.as_str()),
                    v.availability_zone(),
                    "volume attached across AZs"
                );
            }
        }
        assert!(v.attachments().len() <= 1, "no multi-attach");
    }
}

fn instances_type(types: &HashMap<String, String>, inst: &str) -> String {
    types
        .get(inst)
        .cloned()
        .unwrap_or_else(|| panic!("ENI attached to unknown instance {inst}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn random_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..60), seed in 0u64..1000) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let w = World::with_seed("us-east-1", seed);
            let v = vpc(&w.ec2, "10.0.0.0/16").await;
            let subnets = vec![
                subnet(&w.ec2, &v, "10.0.0.0/28", "us-east-1a").await,
                subnet(&w.ec2, &v, "10.0.1.0/26", "us-east-1a").await,
                subnet(&w.ec2, &v, "10.0.2.0/27", "us-east-1b").await,
            ];
            let mut ids = Ids { subnets: subnets.clone(), enis: vec![], instances: vec![], volumes: vec![] };
            for o in &ops {
                apply(&w, &mut ids, o).await;
            }
            check_invariants(&w.ec2, &subnets).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_assignments_never_share_an_address() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let s = subnet(&w.ec2, &v, "10.0.0.0/24", "us-east-1a").await;
    let mut enis = Vec::new();
    for _ in 0..16 {
        let e = w
            .ec2
            .create_network_interface()
            .subnet_id(&s)
            .send()
            .await
            .expect("eni");
        enis.push(
            e.network_interface()
                .and_then(|n| n.network_interface_id())
                .expect("id")
                .to_string(),
        );
    }
    // 16 ENIs × 20 single-address requests = 320 asks for the 235 addresses left.
    let mut tasks = Vec::new();
    for e in &enis {
        let ec2 = w.ec2.clone();
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            let mut exhausted = 0;
            for _ in 0..20 {
                match ec2
                    .assign_private_ip_addresses()
                    .network_interface_id(&e)
                    .secondary_private_ip_address_count(1)
                    .send()
                    .await
                {
                    Ok(_) => ok += 1,
                    Err(err) => {
                        assert_eq!(
                            aws_sdk_ec2::error::ProvideErrorMetadata::code(&err),
                            Some("InsufficientFreeAddressesInSubnet")
                        );
                        exhausted += 1;
                    }
                }
            }
            (ok, exhausted)
        }));
    }
    let mut granted = 0;
    for t in tasks {
        granted += t.await.expect("task").0;
    }
    assert_eq!(granted, 235, "exactly the free addresses were granted");
    let d = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("subnet-id", &[&s]))
        .send()
        .await
        .expect("enis");
    let mut all: Vec<String> = d
        .network_interfaces()
        .iter()
        .flat_map(|n| n.private_ip_addresses())
        .filter_map(|p| p.private_ip_address().map(str::to_string))
        .collect();
    assert_eq!(all.len(), 251);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 251, "no address twice");
    assert_eq!(available_ips(&w.ec2, &s).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tagging_loses_no_update() {
    let w = World::new("us-east-1");
    let v = vpc(&w.ec2, "10.0.0.0/16").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let ec2 = w.ec2.clone();
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            ec2.create_tags()
                .resources(v)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key(format!("k{i}"))
                        .value(format!("{i}"))
                        .build(),
                )
                .send()
                .await
                .expect("tag");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let d = w
        .ec2
        .describe_tags()
        .filters(filter("resource-id", &[&v]))
        .send()
        .await
        .expect("tags");
    assert_eq!(d.tags().len(), 40);
}

#[tokio::test]
async fn same_seed_same_world() {
    async fn ids(seed: u64) -> Vec<String> {
        let w = World::with_seed("us-east-1", seed);
        let (v, a, b, i) = basic_world(&w).await;
        let d = w
            .ec2
            .describe_instances()
            .instance_ids(&i)
            .send()
            .await
            .expect("describe");
        let ip = d.reservations()[0].instances()[0]
            .private_ip_address()
            .unwrap_or_default()
            .to_string();
        vec![v, a, b, i, ip]
    }
    assert_eq!(ids(7).await, ids(7).await);
    assert_ne!(ids(7).await, ids(8).await);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    /// The codecs round-trip any text: what the SDK form-encodes, cloudbox parses, stores, and
    /// XML-escapes back to the same string (markup characters, `&`, `=`, `+`, `%`, spaces,
    /// non-ASCII).
    #[test]
    fn tag_text_round_trips_through_both_codecs(
        key in "[a-zA-Z0-9 <>&\"'=+%/._:@é漢-]{1,40}",
        value in "[a-zA-Z0-9 <>&\"'=+%/._:@é漢-]{0,60}",
    ) {
        prop_assume!(!key.to_ascii_lowercase().starts_with("aws:"));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let w = World::new("us-east-1");
            let v = vpc(&w.ec2, "10.0.0.0/16").await;
            w.ec2.create_tags().resources(&v)
                .tags(aws_sdk_ec2::types::Tag::builder().key(&key).value(&value).build())
                .send().await.expect("CreateTags");
            let d = w.ec2.describe_vpcs().vpc_ids(&v).send().await.expect("DescribeVpcs");
            let tags = d.vpcs()[0].tags();
            assert_eq!(tags.len(), 1);
            assert_eq!(tags[0].key(), Some(key.as_str()));
            assert_eq!(tags[0].value(), Some(value.as_str()));
            let f = w.ec2.describe_vpcs().filters(filter(&format!("tag:{key}"), &[&value.replace('*', "\\*").replace('?', "\\?")])).send().await.expect("filter");
            assert_eq!(f.vpcs().len(), 1, "the tag filter finds it by exact value");
        });
    }
}

/// Sends a raw form body to the endpoint; returns the status and body.
async fn raw(app: axum::Router, body: String) -> (u16, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = http::Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
        .body(axum::body::Body::from(body))
        .expect("request");
    let resp = app.oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn param() -> impl Strategy<Value = (String, String)> {
    let key = prop_oneof![
        Just("VpcId".to_string()),
        Just("SubnetId".to_string()),
        Just("CidrBlock".to_string()),
        Just("InstanceId.1".to_string()),
        Just("Filter.1.Name".to_string()),
        Just("Filter.1.Value.1".to_string()),
        Just("MaxResults".to_string()),
        Just("NextToken".to_string()),
        Just("MinCount".to_string()),
        Just("MaxCount".to_string()),
        Just("ImageId".to_string()),
        Just("InstanceType".to_string()),
        Just("Size".to_string()),
        Just("AvailabilityZone".to_string()),
        Just("NetworkInterfaceId".to_string()),
        Just("SecondaryPrivateIpAddressCount".to_string()),
        Just("DeviceIndex".to_string()),
        Just("TagSpecification.1.ResourceType".to_string()),
        Just("TagSpecification.1.Tag.1.Key".to_string()),
        "[A-Za-z.0-9]{1,20}",
    ];
    let value = prop_oneof![
        Just("10.0.0.0/16".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("ami-0abcdef1234567890".to_string()),
        Just("c5.large".to_string()),
        Just("us-east-1a".to_string()),
        Just("true".to_string()),
        ".{0,12}",
    ];
    (key, value)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]
    /// Whatever the parameters, every implemented operation answers a coded 4xx or a 200:
    /// never a panic, never a 5xx.
    #[test]
    fn malformed_requests_get_coded_client_errors(
        op in proptest::sample::select(cloudbox_aws::ec2::implemented_operations()),
        params in proptest::collection::vec(param(), 0..6),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let state = cloudbox_aws::AwsState::new(cloudbox_sim::Clock::manual(), 1);
            let app = cloudbox_aws::app(state);
            let mut body = format!("Action={op}&Version=2016-11-15");
            for (k, v) in &params {
                let enc: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
                body.push_str(&format!("&{k}={enc}"));
            }
            let (status, text) = raw(app, body.clone()).await;
            assert!(status == 200 || (400..500).contains(&status), "{status} for {body}: {text}");
            if status != 200 {
                assert!(text.contains("<Response><Errors><Error><Code>"), "not an EC2 error: {text}");
            }
        });
    }
}
