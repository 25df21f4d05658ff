//! Launching instances: the validate-then-mutate core of RunInstances, usable by Auto Scaling
//! to launch into a chosen subnet without going through the handler.
//!
//! [`launch`] first builds a `LaunchPlan` from a RunInstances-shaped request (members as in
//! the model: `ImageId`, `InstanceType`, `MinCount`, `MaxCount`, `SubnetId`,
//! `NetworkInterfaces`, `BlockDeviceMappings`, `TagSpecifications`, ...), checking everything
//! (instance type, AMI id form, ENI count and addresses per ENI of the type, security groups
//! in the subnet's VPC, subnet capacity, device names), and only then creates, per instance, the
//! ENIs (primary at device index 0), public addresses, root and mapped EBS volumes, and the
//! instance in `pending` with its boot timer. [`effective_spec`] merges a request over its
//! launch template's data first.

use crate::aws_err;
use crate::ec2::cidr::ip_to_string;
use crate::ec2::input::{tag_specs, Input};
use crate::ec2::state::{
    EniAttachment, Instance, InstanceState, RegionState, Timer, VolumeAttachment,
};
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::addresses::{check_free_ip, new_public_ip};
use super::enis::{
    attachment_limit, check_groups, default_group, insert_eni, ip_limit, requested_addresses,
    EniAddresses,
};
use super::templates::resolve;
use super::volumes::{insert_volume, valid_device, volume_spec, VolumeSpec, ROOT_DEVICE};

/// Whether user data is valid base64 (padding at most two `=`; whitespace ignored).
pub fn is_base64(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = t.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    t.len().is_multiple_of(4)
        && t.len() - body <= 2
        && t[..body]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// The request merged over its launch template's data (request members win), and the
/// template's (id, version number) when the request names one.
pub fn effective_spec(
    st: &RegionState,
    input: &Value,
) -> AwsResult<(Value, Option<(String, String)>)> {
    let Some(lt) = input.obj(m::LaunchTemplate) else {
        return Ok((input.clone(), None));
    };
    let (tpl, version) = resolve(st, lt)?;
    let mut spec = version.data.clone();
    if let (Value::Object(base), Value::Object(over)) = (&mut spec, input) {
        for (k, v) in over {
            if k == "TagSpecifications" {
                let mut merged = base
                    .get(k)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                merged.extend(v.as_array().cloned().unwrap_or_default());
                base.insert(k.clone(), Value::Array(merged));
            } else {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    if spec.get(m::IamInstanceProfile).is_none() {
        if let Some(p) = version.data.get(m::IamInstanceProfile) {
            spec["IamInstanceProfile"] = p.clone();
        }
    }
    Ok((spec, Some((tpl.id.clone(), version.number.to_string()))))
}

/// One ENI to create at launch.
struct NicPlan {
    device_index: i64,
    subnet_id: String,
    groups: Vec<String>,
    addrs: EniAddresses,
    existing: Option<String>,
    delete_on_termination: bool,
    public_ip: bool,
    description: String,
}

/// The plan of one RunInstances call, fully checked before anything is created.
struct LaunchPlan {
    instance_type: String,
    image_id: String,
    az: String,
    vpc_id: String,
    nics: Vec<NicPlan>,
    volumes: Vec<(String, VolumeSpec, bool)>,
    count: usize,
}

fn plan_launch(st: &RegionState, spec: &Value) -> AwsResult<LaunchPlan> {
    let min = spec
        .opt_i64(m::MinCount)
        .ok_or_else(|| AwsError::missing("MinCount"))?;
    let max = spec
        .opt_i64(m::MaxCount)
        .ok_or_else(|| AwsError::missing("MaxCount"))?;
    if min < 1 {
        return Err(aws_err!(
            InvalidParameterValue,
            "Value ({min}) for parameter minCount is invalid. Expecting a value greater than 0."
        ));
    }
    if max < min {
        return Err(aws_err!(InvalidParameterValue, "Value ({max}) for parameter maxCount is invalid. Expecting a value greater than or equal to minCount."));
    }
    let image_id = spec
        .opt_str(m::ImageId)
        .ok_or_else(|| AwsError::missing("ImageId"))?;
    let hex_ok = image_id
        .strip_prefix("ami-")
        .is_some_and(|h| (8..=17).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !hex_ok {
        return Err(aws_err!(
            InvalidAmiIdMalformed,
            "Invalid id: \"{image_id}\" (expecting \"ami-...\")"
        ));
    }
    let instance_type = spec.opt_str(m::InstanceType).unwrap_or("m1.small");
    let ty = RegionState::instance_type(instance_type).ok_or_else(|| {
        aws_err!(
            InvalidParameterValue,
            "Invalid value '{instance_type}' for InstanceType."
        )
    })?;
    if let Some(ud) = spec.opt_str(m::UserData) {
        if !is_base64(ud) {
            return Err(aws_err!(
                InvalidParameterValue,
                "Invalid BASE64 encoding of user data."
            ));
        }
        if ud.len() > 21_848 {
            return Err(aws_err!(
                InvalidParameterValue,
                "User data is limited to 16384 bytes"
            ));
        }
    }
    let nis = spec.obj_list(m::NetworkInterfaces);
    let sg_ids = spec.str_list(m::SecurityGroupIds);
    let sg_names = spec.str_list(m::SecurityGroups);
    if !nis.is_empty()
        && (spec.opt_str(m::SubnetId).is_some() || !sg_ids.is_empty() || !sg_names.is_empty())
    {
        return Err(aws_err!(
            InvalidParameterCombination,
            "Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request"
        ));
    }
    let placement_az = spec
        .obj(m::Placement)
        .and_then(|p| p.opt_str(m::AvailabilityZone));
    if let Some(az) = placement_az {
        if st.az(az).is_none() {
            return Err(aws_err!(
                InvalidParameterValue,
                "Invalid availability zone: [{az}]"
            ));
        }
    }
    let default_subnet = |az: Option<&str>| -> AwsResult<String> {
        st.subnets
            .values()
            .find(|s| s.default_for_az && az.is_none_or(|a| a == s.az))
            .map(|s| s.id.clone())
            .ok_or_else(|| aws_err!(InvalidParameterValue, "No default subnet for availability zone: '{}'. (VPCIdNotSpecified: No default VPC for this user.)", az.unwrap_or("any")))
    };
    let mut nics = Vec::new();
    if nis.is_empty() {
        let subnet_id = match spec.opt_str(m::SubnetId) {
            Some(s) => s.to_string(),
            None => default_subnet(placement_az)?,
        };
        let subnet = st.subnet(&subnet_id)?;
        let mut groups = sg_ids.clone();
        for n in &sg_names {
            match st
                .security_groups
                .values()
                .find(|g| g.vpc_id == subnet.vpc_id && &g.name == n)
            {
                Some(g) => groups.push(g.id.clone()),
                None => {
                    return Err(aws_err!(
                        InvalidGroupNotFound,
                        "The security group '{n}' does not exist in VPC '{}'",
                        subnet.vpc_id
                    ))
                }
            }
        }
        if groups.is_empty() {
            groups = default_group(st, &subnet.vpc_id);
        }
        let addrs = EniAddresses {
            explicit: spec
                .opt_str(m::PrivateIpAddress)
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
            secondary_count: 0,
        };
        nics.push(NicPlan {
            device_index: 0,
            subnet_id,
            groups,
            addrs,
            existing: None,
            delete_on_termination: true,
            public_ip: subnet.map_public_ip,
            description: String::new(),
        });
    } else {
        for (i, ni) in nis.iter().enumerate() {
            let device_index = ni.opt_i64(m::DeviceIndex).unwrap_or(i as i64);
            if nics
                .iter()
                .any(|n: &NicPlan| n.device_index == device_index)
            {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Each network interface requires a unique device index."
                ));
            }
            if let Some(eni_id) = ni.opt_str(m::NetworkInterfaceId) {
                let e = st.eni(eni_id)?;
                if e.attachment.is_some() {
                    return Err(aws_err!(
                        InvalidNetworkInterfaceInUse,
                        "Interface: [{eni_id}] in use."
                    ));
                }
                if max > 1 {
                    return Err(aws_err!(InvalidParameterCombination, "Cannot specify an existing network interface when launching more than one instance"));
                }
                nics.push(NicPlan {
                    device_index,
                    subnet_id: e.subnet_id.clone(),
                    groups: e.groups.clone(),
                    addrs: EniAddresses {
                        explicit: e.ips.iter().map(|ip| ip_to_string(*ip)).collect(),
                        secondary_count: 0,
                    },
                    existing: Some(eni_id.to_string()),
                    delete_on_termination: ni.opt_bool(m::DeleteOnTermination).unwrap_or(false),
                    public_ip: false,
                    description: e.description.clone(),
                });
                continue;
            }
            let subnet_id = match ni.opt_str(m::SubnetId) {
                Some(s) => s.to_string(),
                None if device_index == 0 => default_subnet(placement_az)?,
                None => return Err(AwsError::missing("NetworkInterface.N.SubnetId")),
            };
            let subnet = st.subnet(&subnet_id)?;
            let mut groups = ni.str_list(m::Groups);
            if groups.is_empty() {
                groups = default_group(st, &subnet.vpc_id);
            }
            nics.push(NicPlan {
                device_index,
                public_ip: ni
                    .opt_bool(m::AssociatePublicIpAddress)
                    .unwrap_or(subnet.map_public_ip && device_index == 0),
                subnet_id,
                groups,
                addrs: requested_addresses(ni)?,
                existing: None,
                delete_on_termination: ni.opt_bool(m::DeleteOnTermination).unwrap_or(true),
                description: ni.opt_str(m::Description).unwrap_or_default().to_string(),
            });
        }
        nics.sort_by_key(|n| n.device_index);
        if nics.first().map(|n| n.device_index) != Some(0) {
            return Err(aws_err!(
                InvalidParameterValue,
                "A network interface at device index 0 is required."
            ));
        }
    }
    if nics.len() > ty.max_enis as usize {
        return Err(attachment_limit(nics.len(), &ty.name));
    }
    let primary_subnet = st.subnet(&nics[0].subnet_id)?;
    let (az, vpc_id) = (primary_subnet.az.clone(), primary_subnet.vpc_id.clone());
    if let Some(p) = placement_az {
        if p != az {
            return Err(aws_err!(
                InvalidParameterValue,
                "Value ({p}) for parameter availabilityZone is invalid. Subnet '{}' is in the availability zone {az}",
                nics[0].subnet_id
            ));
        }
    }
    for n in &nics {
        let s = st.subnet(&n.subnet_id)?;
        if s.az != az {
            return Err(aws_err!(
                InvalidParameterCombination,
                "You may not attach a network interface to an instance if they are not in the same availability zone"
            ));
        }
        if s.vpc_id != vpc_id {
            return Err(aws_err!(
                InvalidParameterValue,
                "All network interfaces of an instance must be in the same VPC."
            ));
        }
        check_groups(st, &n.groups, &vpc_id, &n.subnet_id)?;
        if n.addrs.total() > ty.ipv4_per_eni as usize {
            return Err(ip_limit());
        }
    }
    let has_fixed_ip = nics
        .iter()
        .any(|n| n.existing.is_none() && !n.addrs.explicit.is_empty());
    if has_fixed_ip && max > 1 {
        return Err(aws_err!(
            InvalidParameterCombination,
            "Cannot specify a private IP address when launching more than one instance"
        ));
    }
    for n in nics.iter().filter(|n| n.existing.is_none()) {
        for ip in &n.addrs.explicit {
            check_free_ip(st, &n.subnet_id, ip)?;
        }
    }
    // How many instances the subnets can hold.
    let mut need: BTreeMap<&str, usize> = BTreeMap::new();
    for n in nics.iter().filter(|n| n.existing.is_none()) {
        *need.entry(n.subnet_id.as_str()).or_default() += n.addrs.total();
    }
    let mut fits = max as usize;
    for (subnet_id, per) in &need {
        let avail = st.subnet(subnet_id)?.available() as usize;
        fits = fits.min(avail / per);
    }
    if fits < min as usize {
        return Err(aws_err!(
            InsufficientFreeAddressesInSubnet,
            "There are not enough free addresses in subnet '{}' to satisfy the requested number of instances.",
            nics[0].subnet_id
        ));
    }
    // Volumes: the root device, then the mappings.
    let mut volumes = Vec::new();
    let mut root_seen = false;
    for m in spec.obj_list(m::BlockDeviceMappings) {
        let device = m
            .opt_str(m::DeviceName)
            .ok_or_else(|| AwsError::missing("BlockDeviceMapping.N.DeviceName"))?;
        if m.get(m::VirtualName).is_some() || m.get(m::NoDevice).is_some() {
            continue;
        }
        if !valid_device(device) {
            return Err(aws_err!(InvalidParameterValue, "Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name."));
        }
        if volumes
            .iter()
            .any(|(d, _, _): &(String, _, bool)| d == device)
        {
            return Err(aws_err!(
                InvalidParameterValue,
                "The device '{device}' is used in more than one block-device mapping"
            ));
        }
        let ebs = m.obj(m::Ebs).cloned().unwrap_or_else(|| json!({}));
        let is_root = device == ROOT_DEVICE;
        root_seen |= is_root;
        let spec = volume_spec(&ebs, Some(8))?;
        volumes.push((
            device.to_string(),
            spec,
            ebs.opt_bool(m::DeleteOnTermination).unwrap_or(true),
        ));
    }
    if !root_seen {
        let root = volume_spec(&json!({"VolumeSize": 8, "VolumeType": "gp2"}), None)?;
        volumes.insert(0, (ROOT_DEVICE.to_string(), root, true));
    }
    Ok(LaunchPlan {
        instance_type: ty.name.clone(),
        image_id: image_id.to_string(),
        az,
        vpc_id,
        nics,
        volumes,
        count: fits,
    })
}

/// `MetadataOptions.HttpTokens` of a launch: `optional` (the default) or `required`.
fn http_tokens(spec: &Value) -> AwsResult<String> {
    match spec
        .obj(m::MetadataOptions)
        .and_then(|o| o.opt_str(m::HttpTokens))
    {
        None => Ok("optional".into()),
        Some(t @ ("optional" | "required")) => Ok(t.to_string()),
        Some(t) => Err(aws_err!(
            InvalidParameterValue,
            "Value ({t}) for parameter HttpTokens is invalid. Valid values: optional, required."
        )),
    }
}

fn profile_arn(st: &RegionState, spec: &Value) -> Option<String> {
    let p = spec.obj(m::IamInstanceProfile)?;
    if let Some(arn) = p.opt_str(m::Arn) {
        return Some(arn.to_string());
    }
    p.opt_str(m::Name).map(|n| {
        format!(
            "arn:{}:iam::{}:instance-profile/{n}",
            st.region.partition, st.account
        )
    })
}

/// What [`launch`] launches.
#[derive(Debug, Clone, Copy)]
pub struct LaunchSpec<'a> {
    /// The RunInstances members (after [`effective_spec`] when a launch template is used).
    pub request: &'a Value,
    /// The launch template (id, version number) the instances record and are tagged with.
    pub launch_template: Option<&'a (String, String)>,
    /// The idempotency token the instances record.
    pub client_token: Option<&'a str>,
}

/// What [`launch`] created: one reservation of instances, in launch order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launched {
    /// The reservation id.
    pub reservation_id: String,
    /// The new instances.
    pub instance_ids: Vec<String>,
}

/// Checks a launch, then creates its instances (as many as the subnets hold, between MinCount
/// and MaxCount) with their ENIs and volumes; a failed check leaves the state as it was.
pub fn launch(st: &mut RegionState, req: &LaunchSpec<'_>) -> AwsResult<Launched> {
    let spec = req.request;
    let plan = plan_launch(st, spec)?;
    let http_tokens = http_tokens(spec)?;
    let instance_tags = tag_specs(spec, "instance")?;
    let volume_tags = tag_specs(spec, "volume")?;
    let eni_tags = tag_specs(spec, "network-interface")?;
    let reservation_id = st.new_id("r");
    let profile = profile_arn(st, spec);
    let now = st.now;
    let mut ids = Vec::new();
    for launch_index in 0..plan.count {
        let id = st.new_id("i");
        let mut enis = BTreeMap::new();
        let mut public_ip = None;
        for n in &plan.nics {
            let eni_id = match &n.existing {
                Some(e) => e.clone(),
                None => insert_eni(st, &n.subnet_id, &n.description, n.groups.clone(), &n.addrs)?,
            };
            let attach_id = st.new_id("eni-attach");
            let pip = if n.public_ip {
                Some(new_public_ip(st))
            } else {
                None
            };
            if let Some(ip) = &pip {
                st.public_ips.insert(ip.clone(), eni_id.clone());
                if n.device_index == 0 {
                    public_ip = Some(ip.clone());
                }
            }
            if let Some(e) = st.enis.get_mut(&eni_id) {
                e.attachment = Some(EniAttachment {
                    id: attach_id,
                    instance_id: id.clone(),
                    device_index: n.device_index,
                    status: "attached",
                    time: now,
                    delete_on_termination: n.delete_on_termination,
                });
                if pip.is_some() {
                    e.public_ip = pip;
                }
            }
            if n.existing.is_none() {
                st.add_tags(&eni_id, eni_tags.clone());
            }
            enis.insert(n.device_index, eni_id);
        }
        let mut devices = BTreeMap::new();
        for (device, vspec, dot) in &plan.volumes {
            let copy = VolumeSpec {
                size: vspec.size,
                volume_type: vspec.volume_type.clone(),
                iops: vspec.iops,
                throughput: vspec.throughput,
                encrypted: vspec.encrypted,
                kms_key_id: vspec.kms_key_id.clone(),
            };
            let vol_id = insert_volume(st, copy, &plan.az, "in-use");
            if let Some(v) = st.volumes.get_mut(&vol_id) {
                v.attachment = Some(VolumeAttachment {
                    instance_id: id.clone(),
                    device: device.clone(),
                    state: "attached",
                    time: now,
                    delete_on_termination: *dot,
                });
            }
            st.add_tags(&vol_id, volume_tags.clone());
            devices.insert(device.clone(), vol_id);
        }
        let primary_subnet = plan.nics[0].subnet_id.clone();
        st.launch_seq += 1;
        let arch = RegionState::instance_type(&plan.instance_type)
            .map(|t| t.arch.clone())
            .unwrap_or_default();
        st.instances.insert(
            id.clone(),
            Instance {
                id: id.clone(),
                image_id: plan.image_id.clone(),
                instance_type: plan.instance_type.clone(),
                az: plan.az.clone(),
                subnet_id: primary_subnet,
                vpc_id: plan.vpc_id.clone(),
                state: InstanceState::Pending,
                state_reason: String::new(),
                launch_time: now,
                key_name: spec.opt_str(m::KeyName).map(str::to_string),
                user_data: spec.opt_str(m::UserData).map(str::to_string),
                iam_profile_arn: profile.clone(),
                reservation_id: reservation_id.clone(),
                launch_index: launch_index as i64,
                enis,
                devices,
                source_dest_check: true,
                disable_api_termination: spec.opt_bool(m::DisableApiTermination).unwrap_or(false),
                ebs_optimized: spec.opt_bool(m::EbsOptimized).unwrap_or(false),
                public_ip,
                launch_template: req.launch_template.cloned(),
                client_token: req.client_token.map(str::to_string),
                architecture: arch,
                seq: st.launch_seq,
                running_since: None,
                http_tokens: http_tokens.clone(),
            },
        );
        let mut tags = instance_tags.clone();
        if let Some((lt_id, version)) = req.launch_template {
            tags.insert("aws:ec2launchtemplate:id".into(), lt_id.clone());
            tags.insert("aws:ec2launchtemplate:version".into(), version.clone());
        }
        st.add_tags(&id, tags);
        let d = st.delays.instance_boot;
        st.schedule(d, Timer::InstanceRunning(id.clone()));
        ids.push(id);
    }
    Ok(Launched {
        reservation_id,
        instance_ids: ids,
    })
}
