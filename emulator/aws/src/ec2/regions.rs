//! Catalogue operations: DescribeRegions, DescribeAvailabilityZones, DescribeInstanceTypes,
//! DescribeInstanceTypeOfferings, DescribeAccountAttributes.
//!
//! As in AWS, a region lists only the regions of its own partition (China regions see only
//! China regions). Every instance type is offered in every AZ (a simplification: real offerings
//! vary by AZ). `DescribeInstanceTypes` pages at most 100 types per call, as AWS does.

use super::catalog::{instance_types, regions, InstanceType};
use super::filter::{self, Filterable, PageLimits};
use super::input::Input;
use super::state::RegionState;
use crate::aws_err;
use crate::error::AwsResult;
use crate::members::ec2 as m;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// DescribeRegions.
pub fn describe_regions(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let names = input.str_list(m::RegionNames);
    let partition = st.region.partition;
    let filters = filter::filters(input)?;
    for n in &names {
        if !regions()
            .iter()
            .any(|r| r.name == n && r.partition == partition)
        {
            return Err(aws_err!(InvalidParameterValue, "Invalid region: {n}"));
        }
    }
    struct R<'a>(&'a super::catalog::Region);
    impl Filterable for R<'_> {
        fn field(&self, name: &str) -> Option<Vec<String>> {
            Some(match name {
                "region-name" => vec![self.0.name.to_string()],
                "endpoint" => vec![self.0.ec2_endpoint()],
                "opt-in-status" => vec!["opt-in-not-required".into()],
                _ => return None,
            })
        }
    }
    let mut out = Vec::new();
    for r in regions().iter().filter(|r| r.partition == partition) {
        if !names.is_empty() && !names.iter().any(|n| n == r.name) {
            continue;
        }
        if filter::matches(&R(r), &filters)? {
            out.push(json!({"RegionName": r.name, "Endpoint": r.ec2_endpoint(), "OptInStatus": "opt-in-not-required"}));
        }
    }
    Ok(json!({"Regions": out}))
}

/// DescribeAvailabilityZones.
pub fn describe_availability_zones(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let names = input.str_list(m::ZoneNames);
    let ids = input.str_list(m::ZoneIds);
    let region = st.region;
    for n in &names {
        if region.az(n).is_none() {
            return Err(aws_err!(
                InvalidParameterValue,
                "The zone '{n}' does not exist."
            ));
        }
    }
    for n in &ids {
        if region.az_by_id(n).is_none() {
            return Err(aws_err!(
                InvalidParameterValue,
                "The zone ID '{n}' does not exist."
            ));
        }
    }
    struct Z<'a>(&'a super::catalog::Az);
    impl Filterable for Z<'_> {
        fn field(&self, name: &str) -> Option<Vec<String>> {
            Some(match name {
                "zone-name" => vec![self.0.name.clone()],
                "zone-id" => vec![self.0.id.clone()],
                "region-name" | "group-name" | "network-border-group" => {
                    vec![self.0.region.to_string()]
                }
                "state" => vec!["available".into()],
                "zone-type" => vec!["availability-zone".into()],
                "opt-in-status" => vec!["opt-in-not-required".into()],
                _ => return None,
            })
        }
    }
    let filters = filter::filters(input)?;
    let mut out = Vec::new();
    for az in &region.azs {
        if (!names.is_empty() && !names.contains(&az.name))
            || (!ids.is_empty() && !ids.contains(&az.id))
        {
            continue;
        }
        if filter::matches(&Z(az), &filters)? {
            out.push(json!({
                "ZoneName": az.name,
                "ZoneId": az.id,
                "State": "available",
                "OptInStatus": "opt-in-not-required",
                "Messages": [],
                "RegionName": region.name,
                "GroupName": region.name,
                "GroupLongName": "",
                "NetworkBorderGroup": region.name,
                "ZoneType": "availability-zone",
            }));
        }
    }
    Ok(json!({"AvailabilityZones": out}))
}

fn previous_generation(t: &InstanceType) -> bool {
    let family = t.name.split('.').next().unwrap_or_default();
    matches!(
        family,
        "t1" | "m1"
            | "m2"
            | "m3"
            | "c1"
            | "c3"
            | "cc2"
            | "cg1"
            | "cr1"
            | "g2"
            | "hi1"
            | "hs1"
            | "i2"
            | "r3"
    )
}

fn burstable(t: &InstanceType) -> bool {
    t.name.starts_with('t')
}

fn info_json(t: &InstanceType) -> Value {
    let nitro = t.hypervisor == "nitro" || t.bare_metal;
    let threads = if t.arch == "arm64" || t.vcpu == 1 || t.name.starts_with("t2") {
        1
    } else {
        2
    };
    let cards: Vec<Value> = (0..t.network_cards.max(1))
        .map(|i| json!({"NetworkCardIndex": i, "MaximumNetworkInterfaces": t.max_enis}))
        .collect();
    let mut v = json!({
        "InstanceType": t.name,
        "CurrentGeneration": !previous_generation(t),
        "FreeTierEligible": t.name == "t2.micro" || t.name == "t3.micro",
        "SupportedUsageClasses": ["on-demand", "spot"],
        "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm"],
        "BareMetal": t.bare_metal,
        "ProcessorInfo": {"SupportedArchitectures": [t.arch]},
        "VCpuInfo": {
            "DefaultVCpus": t.vcpu,
            "DefaultCores": (t.vcpu / threads).max(1),
            "DefaultThreadsPerCore": threads,
        },
        "MemoryInfo": {"SizeInMiB": t.memory_mib},
        "InstanceStorageSupported": false,
        "EbsInfo": {
            "EbsOptimizedSupport": if nitro { "default" } else { "supported" },
            "EncryptionSupport": "supported",
            "NvmeSupport": if nitro { "required" } else { "unsupported" },
        },
        "NetworkInfo": {
            "MaximumNetworkInterfaces": t.max_enis * t.network_cards.max(1),
            "MaximumNetworkCards": t.network_cards.max(1),
            "DefaultNetworkCardIndex": 0,
            "NetworkCards": cards,
            "Ipv4AddressesPerInterface": t.ipv4_per_eni,
            "Ipv6AddressesPerInterface": t.ipv4_per_eni,
            "Ipv6Supported": nitro,
            "EnaSupport": if nitro { "required" } else { "unsupported" },
            "EfaSupported": false,
            "EncryptionInTransitSupported": nitro,
        },
        "PlacementGroupInfo": {"SupportedStrategies": ["cluster", "partition", "spread"]},
        "HibernationSupported": false,
        "BurstablePerformanceSupported": burstable(t),
        "DedicatedHostsSupported": !burstable(t),
        "AutoRecoverySupported": !t.bare_metal,
        "SupportedBootModes": if t.arch == "arm64" { json!(["uefi"]) } else { json!(["legacy-bios", "uefi"]) },
    });
    if !t.bare_metal {
        v["Hypervisor"] = json!(t.hypervisor);
    }
    if t.gpu > 0 {
        v["GpuInfo"] = json!({"Gpus": [{"Count": t.gpu}]});
    }
    v
}

fn infos() -> &'static [Value] {
    static I: OnceLock<Vec<Value>> = OnceLock::new();
    I.get_or_init(|| instance_types().all.iter().map(info_json).collect())
}

struct TypeView<'a>(&'a InstanceType);

impl Filterable for TypeView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let t = self.0;
        let nitro = t.hypervisor == "nitro" || t.bare_metal;
        Some(vec![match name {
            "instance-type" => t.name.clone(),
            "current-generation" => (!previous_generation(t)).to_string(),
            "bare-metal" => t.bare_metal.to_string(),
            "hypervisor" => t.hypervisor.clone(),
            "processor-info.supported-architecture" => t.arch.clone(),
            "vcpu-info.default-vcpus" => t.vcpu.to_string(),
            "memory-info.size-in-mib" => t.memory_mib.to_string(),
            "network-info.maximum-network-interfaces" => {
                (t.max_enis * t.network_cards.max(1)).to_string()
            }
            "network-info.ipv4-addresses-per-interface" => t.ipv4_per_eni.to_string(),
            "network-info.ipv6-supported" => nitro.to_string(),
            "network-info.ena-support" => {
                (if nitro { "required" } else { "unsupported" }).to_string()
            }
            "burstable-performance-supported" => burstable(t).to_string(),
            "free-tier-eligible" => (t.name == "t2.micro" || t.name == "t3.micro").to_string(),
            "instance-storage-supported" => "false".to_string(),
            "supported-root-device-type" => "ebs".to_string(),
            "supported-virtualization-type" => "hvm".to_string(),
            "supported-usage-class" => return Some(vec!["on-demand".into(), "spot".into()]),
            _ => return None,
        }])
    }
}

/// DescribeInstanceTypes.
pub fn describe_instance_types(_st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let cat = instance_types();
    let names = input.str_list(m::InstanceTypes);
    let missing: Vec<&String> = names.iter().filter(|n| cat.get(n).is_none()).collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(aws_err!(
            InvalidInstanceType,
            "The following supplied instance types do not exist: [{}]",
            list.join(", ")
        ));
    }
    let filters = filter::filters(input)?;
    let mut out: Vec<&Value> = Vec::new();
    for (t, info) in cat.all.iter().zip(infos()) {
        if !names.is_empty() && !names.contains(&t.name) {
            continue;
        }
        if filters.is_empty() || filter::matches(&TypeView(t), &filters)? {
            out.push(info);
        }
    }
    let (page, next) = filter::page(
        out,
        input,
        PageLimits {
            min: 5,
            max: 100,
            default: Some(100),
        },
    )?;
    Ok(filter::page_output(
        "InstanceTypes",
        page.into_iter().cloned().collect(),
        next,
    ))
}

/// DescribeInstanceTypeOfferings.
pub fn describe_instance_type_offerings(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let location_type = input.opt_str(m::LocationType).unwrap_or("region");
    let region = st.region;
    let locations: Vec<String> = match location_type {
        "region" => vec![region.name.to_string()],
        "availability-zone" => region.azs.iter().map(|a| a.name.clone()).collect(),
        "availability-zone-id" => region.azs.iter().map(|a| a.id.clone()).collect(),
        other => {
            return Err(aws_err!(
                InvalidParameterValue,
                "Value ({other}) for parameter locationType is invalid."
            ))
        }
    };
    struct O<'a>(&'a str, &'a str);
    impl Filterable for O<'_> {
        fn field(&self, name: &str) -> Option<Vec<String>> {
            Some(match name {
                "instance-type" => vec![self.0.to_string()],
                "location" => vec![self.1.to_string()],
                _ => return None,
            })
        }
    }
    let filters = filter::filters(input)?;
    let mut out = Vec::new();
    for t in &instance_types().all {
        for loc in &locations {
            if filter::matches(&O(&t.name, loc), &filters)? {
                out.push(
                    json!({"InstanceType": t.name, "LocationType": location_type, "Location": loc}),
                );
            }
        }
    }
    let (page, next) = filter::page(
        out,
        input,
        PageLimits {
            min: 5,
            max: 1000,
            default: Some(1000),
        },
    )?;
    Ok(filter::page_output("InstanceTypeOfferings", page, next))
}

/// DescribeAccountAttributes.
pub fn describe_account_attributes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let default_vpc = st
        .vpcs
        .values()
        .find(|v| v.is_default)
        .map(|v| v.id.clone())
        .unwrap_or_else(|| "none".into());
    let all = [
        ("supported-platforms", vec!["VPC".to_string()]),
        ("default-vpc", vec![default_vpc]),
        ("max-instances", vec!["1000".into()]),
        ("max-elastic-ips", vec!["5".into()]),
        ("vpc-max-elastic-ips", vec!["5".into()]),
        ("vpc-max-security-groups-per-interface", vec!["5".into()]),
    ];
    let wanted = input.str_list(m::AttributeNames);
    let out: Vec<Value> = all
        .iter()
        .filter(|(n, _)| wanted.is_empty() || wanted.iter().any(|w| w == n))
        .map(|(n, vals)| {
            json!({
                "AttributeName": n,
                "AttributeValues": vals.iter().map(|v| json!({"AttributeValue": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({"AccountAttributes": out}))
}
