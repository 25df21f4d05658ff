//! Instances: RunInstances, DescribeInstances, DescribeInstanceStatus, Terminate/Stop/
//! StartInstances, Modify/DescribeInstanceAttribute.
//!
//! Launch creates, per instance, a primary ENI at device index 0 with an address of the subnet
//! (plus any requested secondary ENIs and addresses), a root EBS volume (`/dev/xvda`, 8 GiB gp2
//! unless mapped otherwise) and requested block-device volumes, all deleted on termination.
//! Instances move pending → running, stopping → stopped, shutting-down → terminated on the
//! clock; a terminated instance stays visible for an hour. The private DNS name is
//! `ip-a-b-c-d.<region>.compute.internal` (`ec2.internal` in us-east-1).
//!
//! Rules: unknown instance type (`InvalidParameterValue`), malformed AMI id, ENI count and IPs
//! per ENI of the type, subnet capacity (`InsufficientFreeAddressesInSubnet`: launches up to
//! MaxCount, fails below MinCount), security groups in the subnet's VPC, state preconditions
//! (`IncorrectInstanceState`), termination protection (`OperationNotPermitted`).
//! Not modelled: AMI catalogue (any well-formed `ami-` id boots), spot, placement groups, IPv6.

use super::cidr::ip_to_string;
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::network_interfaces::{
    attachment_limit, check_groups, default_group, insert_eni, instance_eni_json, ip_limit,
    remove_eni, requested_addresses, EniAddresses,
};
use super::state::{
    EniAttachment, Instance, InstanceState, RegionState, Tags, Timer, VolumeAttachment,
};
use super::subnets::get_subnet;
use super::volumes::{insert_volume, valid_device, volume_spec};
use crate::aws_err;
use crate::error::{AwsError, AwsResult, Code};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Root device name of every instance.
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// The instance or `InvalidInstanceID.NotFound` / `.Malformed`.
pub fn get_instance<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Instance> {
    if !id.starts_with("i-") || id.len() < 4 {
        return Err(aws_err!(InvalidInstanceIdMalformed, "Invalid id: \"{id}\""));
    }
    st.instances.get(id).ok_or_else(|| {
        aws_err!(
            InvalidInstanceIdNotFound,
            "The instance ID '{id}' does not exist"
        )
    })
}

fn check_ids(st: &RegionState, ids: &[String]) -> AwsResult<()> {
    let mut missing = Vec::new();
    for id in ids {
        match get_instance(st, id) {
            Ok(_) => {}
            Err(e) if e.code == Code::InvalidInstanceIdNotFound => missing.push(id.as_str()),
            Err(e) => return Err(e),
        }
    }
    match missing.len() {
        0 => Ok(()),
        1 => Err(aws_err!(
            InvalidInstanceIdNotFound,
            "The instance ID '{}' does not exist",
            missing[0]
        )),
        _ => Err(aws_err!(
            InvalidInstanceIdNotFound,
            "The instance IDs '{}' do not exist",
            missing.join(", ")
        )),
    }
}

fn is_base64(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = t.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    t.len().is_multiple_of(4)
        && t.len() - body <= 2
        && t[..body]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// The request merged over its launch template's data (request members win).
fn effective_spec(st: &RegionState, input: &Value) -> AwsResult<(Value, Option<(String, String)>)> {
    let Some(lt) = input.obj("LaunchTemplate") else {
        return Ok((input.clone(), None));
    };
    let (tpl, version) = super::launch_templates::resolve(st, lt)?;
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
    if spec.get("IamInstanceProfile").is_none() {
        if let Some(p) = version.data.get("IamInstanceProfile") {
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
    volumes: Vec<(String, super::volumes::VolumeSpec, bool)>,
    count: usize,
}

fn plan_launch(st: &RegionState, spec: &Value) -> AwsResult<LaunchPlan> {
    let min = spec
        .opt_i64("MinCount")
        .ok_or_else(|| AwsError::missing("MinCount"))?;
    let max = spec
        .opt_i64("MaxCount")
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
        .opt_str("ImageId")
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
    let instance_type = spec.opt_str("InstanceType").unwrap_or("m1.small");
    let ty = RegionState::instance_type(instance_type).ok_or_else(|| {
        aws_err!(
            InvalidParameterValue,
            "Invalid value '{instance_type}' for InstanceType."
        )
    })?;
    if let Some(ud) = spec.opt_str("UserData") {
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
    let nis = spec.obj_list("NetworkInterfaces");
    let sg_ids = spec.str_list("SecurityGroupIds");
    let sg_names = spec.str_list("SecurityGroups");
    if !nis.is_empty()
        && (spec.opt_str("SubnetId").is_some() || !sg_ids.is_empty() || !sg_names.is_empty())
    {
        return Err(aws_err!(
            InvalidParameterCombination,
            "Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request"
        ));
    }
    let placement_az = spec
        .obj("Placement")
        .and_then(|p| p.opt_str("AvailabilityZone"));
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
        let subnet_id = match spec.opt_str("SubnetId") {
            Some(s) => s.to_string(),
            None => default_subnet(placement_az)?,
        };
        let subnet = get_subnet(st, &subnet_id)?;
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
                .opt_str("PrivateIpAddress")
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
            let device_index = ni.opt_i64("DeviceIndex").unwrap_or(i as i64);
            if nics
                .iter()
                .any(|n: &NicPlan| n.device_index == device_index)
            {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Each network interface requires a unique device index."
                ));
            }
            if let Some(eni_id) = ni.opt_str("NetworkInterfaceId") {
                let e = super::network_interfaces::get_eni(st, eni_id)?;
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
                    delete_on_termination: ni.opt_bool("DeleteOnTermination").unwrap_or(false),
                    public_ip: false,
                    description: e.description.clone(),
                });
                continue;
            }
            let subnet_id = match ni.opt_str("SubnetId") {
                Some(s) => s.to_string(),
                None if device_index == 0 => default_subnet(placement_az)?,
                None => return Err(AwsError::missing("NetworkInterface.N.SubnetId")),
            };
            let subnet = get_subnet(st, &subnet_id)?;
            let mut groups = ni.str_list("Groups");
            if groups.is_empty() {
                groups = default_group(st, &subnet.vpc_id);
            }
            nics.push(NicPlan {
                device_index,
                public_ip: ni
                    .opt_bool("AssociatePublicIpAddress")
                    .unwrap_or(subnet.map_public_ip && device_index == 0),
                subnet_id,
                groups,
                addrs: requested_addresses(ni)?,
                existing: None,
                delete_on_termination: ni.opt_bool("DeleteOnTermination").unwrap_or(true),
                description: ni.opt_str("Description").unwrap_or_default().to_string(),
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
    let primary_subnet = get_subnet(st, &nics[0].subnet_id)?;
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
        let s = get_subnet(st, &n.subnet_id)?;
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
            super::subnets::check_free_ip(st, &n.subnet_id, ip)?;
        }
    }
    // How many instances the subnets can hold.
    let mut need: BTreeMap<&str, usize> = BTreeMap::new();
    for n in nics.iter().filter(|n| n.existing.is_none()) {
        *need.entry(n.subnet_id.as_str()).or_default() += n.addrs.total();
    }
    let mut fits = max as usize;
    for (subnet_id, per) in &need {
        let avail = get_subnet(st, subnet_id)?.available() as usize;
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
    for m in spec.obj_list("BlockDeviceMappings") {
        let device = m
            .opt_str("DeviceName")
            .ok_or_else(|| AwsError::missing("BlockDeviceMapping.N.DeviceName"))?;
        if m.get("VirtualName").is_some() || m.get("NoDevice").is_some() {
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
        let ebs = m.obj("Ebs").cloned().unwrap_or_else(|| json!({}));
        let is_root = device == ROOT_DEVICE;
        root_seen |= is_root;
        let spec = volume_spec(&ebs, Some(8))?;
        volumes.push((
            device.to_string(),
            spec,
            ebs.opt_bool("DeleteOnTermination").unwrap_or(true),
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

fn profile_arn(st: &RegionState, spec: &Value) -> Option<String> {
    let p = spec.obj("IamInstanceProfile")?;
    if let Some(arn) = p.opt_str("Arn") {
        return Some(arn.to_string());
    }
    p.opt_str("Name").map(|n| {
        format!(
            "arn:{}:iam::{}:instance-profile/{n}",
            st.region.partition, st.account
        )
    })
}

/// `MetadataOptions.HttpTokens` of a launch: `optional` (the default) or `required`.
fn http_tokens(spec: &Value) -> AwsResult<String> {
    match spec
        .obj("MetadataOptions")
        .and_then(|m| m.opt_str("HttpTokens"))
    {
        None => Ok("optional".into()),
        Some(t @ ("optional" | "required")) => Ok(t.to_string()),
        Some(t) => Err(aws_err!(
            InvalidParameterValue,
            "Value ({t}) for parameter HttpTokens is invalid. Valid values: optional, required."
        )),
    }
}

/// RunInstances.
pub fn run_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(
        input,
        &[
            "instance",
            "volume",
            "network-interface",
            "spot-instances-request",
        ],
    )?;
    if let Some(token) = input.opt_str("ClientToken") {
        let existing: Vec<&Instance> = st
            .instances
            .values()
            .filter(|i| i.client_token.as_deref() == Some(token))
            .collect();
        if let Some(first) = existing.first() {
            let rid = first.reservation_id.clone();
            return Ok(reservation_json(st, &rid, &existing));
        }
    }
    let (spec, lt) = effective_spec(st, input)?;
    let plan = plan_launch(st, &spec)?;
    let http_tokens = http_tokens(&spec)?;
    let instance_tags = tag_specs(&spec, "instance")?;
    let volume_tags = tag_specs(&spec, "volume")?;
    let eni_tags = tag_specs(&spec, "network-interface")?;
    let reservation_id = st.new_id("r");
    let profile = profile_arn(st, &spec);
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
                Some(super::gateways::new_public_ip(st))
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
            let copy = super::volumes::VolumeSpec {
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
                key_name: spec.opt_str("KeyName").map(str::to_string),
                user_data: spec.opt_str("UserData").map(str::to_string),
                iam_profile_arn: profile.clone(),
                reservation_id: reservation_id.clone(),
                launch_index: launch_index as i64,
                enis,
                devices,
                source_dest_check: true,
                disable_api_termination: spec.opt_bool("DisableApiTermination").unwrap_or(false),
                ebs_optimized: spec.opt_bool("EbsOptimized").unwrap_or(false),
                public_ip,
                launch_template: lt.clone(),
                client_token: input.opt_str("ClientToken").map(str::to_string),
                architecture: arch,
                seq: st.launch_seq,
                running_since: None,
                http_tokens: http_tokens.clone(),
            },
        );
        let mut tags = instance_tags.clone();
        if let Some((lt_id, version)) = &lt {
            tags.insert("aws:ec2launchtemplate:id".into(), lt_id.clone());
            tags.insert("aws:ec2launchtemplate:version".into(), version.clone());
        }
        st.add_tags(&id, tags);
        let d = st.delays.instance_boot;
        st.schedule(d, Timer::InstanceRunning(id.clone()));
        ids.push(id);
    }
    let list: Vec<&Instance> = ids.iter().filter_map(|i| st.instances.get(i)).collect();
    Ok(reservation_json(st, &reservation_id, &list))
}

fn reservation_json(st: &RegionState, reservation_id: &str, instances: &[&Instance]) -> Value {
    let mut v = json!({
        "ReservationId": reservation_id,
        "OwnerId": st.account,
        "Groups": [],
    });
    v["Instances"] = Value::Array(instances.iter().map(|i| instance_json(st, i)).collect());
    v
}

/// pending → running.
pub fn on_running(st: &mut RegionState, id: &str) {
    let now = st.now;
    if let Some(i) = st.instances.get_mut(id) {
        if i.state == InstanceState::Pending {
            i.state = InstanceState::Running;
            i.running_since = Some(now);
        }
    }
}

/// stopping → stopped.
pub fn on_stopped(st: &mut RegionState, id: &str) {
    if let Some(i) = st.instances.get_mut(id) {
        if i.state == InstanceState::Stopping {
            i.state = InstanceState::Stopped;
            if let Some(ip) = i.public_ip.take() {
                st.public_ips.remove(&ip);
                if let Some(e) = i.enis.get(&0).and_then(|e| st.enis.get_mut(e)) {
                    e.public_ip = None;
                }
            }
        }
    }
}

/// shutting-down → terminated: ENIs and volumes marked delete-on-termination go, the others are
/// detached; the instance stays visible for an hour.
pub fn on_terminated(st: &mut RegionState, id: &str) {
    let Some(i) = st.instances.get_mut(id) else {
        return;
    };
    if i.state != InstanceState::ShuttingDown {
        return;
    }
    i.state = InstanceState::Terminated;
    let enis: Vec<String> = std::mem::take(&mut i.enis).into_values().collect();
    let devices: Vec<String> = std::mem::take(&mut i.devices).into_values().collect();
    if let Some(ip) = i.public_ip.take() {
        st.public_ips.remove(&ip);
    }
    for e in enis {
        let dot = st
            .enis
            .get(&e)
            .and_then(|e| e.attachment.as_ref())
            .is_some_and(|a| a.delete_on_termination);
        if dot {
            remove_eni(st, &e);
        } else if let Some(eni) = st.enis.get_mut(&e) {
            eni.attachment = None;
        }
    }
    for v in devices {
        let Some(vol) = st.volumes.get_mut(&v) else {
            continue;
        };
        let dot = vol
            .attachment
            .as_ref()
            .is_some_and(|a| a.delete_on_termination);
        vol.attachment = None;
        if dot {
            st.volumes.remove(&v);
            st.tags.remove(&v);
        } else {
            vol.state = "available";
        }
    }
    let d = st.delays.terminated_visible;
    st.schedule(d, Timer::InstanceForgotten(id.to_string()));
}

fn block_devices_json(st: &RegionState, i: &Instance) -> Vec<Value> {
    i.devices
        .iter()
        .filter_map(|(device, vol_id)| {
            let v = st.volumes.get(vol_id)?;
            let a = v.attachment.as_ref()?;
            Some(json!({
                "DeviceName": device,
                "Ebs": {
                    "VolumeId": vol_id,
                    "Status": a.state,
                    "AttachTime": a.time.to_iso8601_millis(),
                    "DeleteOnTermination": a.delete_on_termination,
                },
            }))
        })
        .collect()
}

/// An instance as the `Instance` shape.
pub fn instance_json(st: &RegionState, i: &Instance) -> Value {
    let terminated = i.state == InstanceState::Terminated;
    let primary = i.enis.get(&0).and_then(|e| st.enis.get(e));
    let private_ip = primary
        .and_then(|e| e.ips.first())
        .map(|ip| ip_to_string(*ip));
    let groups: Vec<Value> = primary
        .map(|e| {
            e.groups
                .iter()
                .map(|g| json!({"GroupId": g, "GroupName": st.security_groups.get(g).map(|s| s.name.clone()).unwrap_or_default()}))
                .collect()
        })
        .unwrap_or_default();
    let ty = RegionState::instance_type(&i.instance_type);
    let threads = if i.architecture == "arm64" || ty.is_some_and(|t| t.vcpu == 1) {
        1
    } else {
        2
    };
    let vcpu = ty.map_or(1, |t| t.vcpu);
    let state_reason = match i.state {
        InstanceState::Pending => Some(json!({"Code": "pending", "Message": "pending"})),
        InstanceState::ShuttingDown
        | InstanceState::Terminated
        | InstanceState::Stopping
        | InstanceState::Stopped => Some(
            json!({"Code": "Client.UserInitiatedShutdown", "Message": "Client.UserInitiatedShutdown: User initiated shutdown"}),
        ),
        InstanceState::Running => None,
    };
    let mut v = json!({
        "InstanceId": i.id,
        "ImageId": i.image_id,
        "State": {"Code": i.state.code(), "Name": i.state.name()},
        "PrivateDnsName": if terminated { String::new() } else { private_ip.as_ref().map(|p| st.region.private_dns(p)).unwrap_or_default() },
        "PublicDnsName": i.public_ip.as_ref().map(|p| st.region.public_dns(p)).unwrap_or_default(),
        "StateTransitionReason": i.state_reason,
        "KeyName": i.key_name,
        "AmiLaunchIndex": i.launch_index,
        "ProductCodes": [],
        "InstanceType": i.instance_type,
        "LaunchTime": i.launch_time.to_iso8601_millis(),
        "Placement": {"AvailabilityZone": i.az, "AvailabilityZoneId": st.az(&i.az).map(|a| a.id.clone()), "GroupName": "", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"},
        "SubnetId": if terminated { None } else { Some(i.subnet_id.clone()) },
        "VpcId": if terminated { None } else { Some(i.vpc_id.clone()) },
        "PrivateIpAddress": if terminated { None } else { private_ip },
        "PublicIpAddress": i.public_ip,
        "Architecture": i.architecture,
        "RootDeviceType": "ebs",
        "RootDeviceName": ROOT_DEVICE,
        "VirtualizationType": "hvm",
        "ClientToken": i.client_token.clone().unwrap_or_default(),
        "SourceDestCheck": i.source_dest_check,
        "Hypervisor": "xen",
        "EbsOptimized": i.ebs_optimized,
        "EnaSupport": true,
        "CpuOptions": {"CoreCount": (vcpu / threads).max(1), "ThreadsPerCore": threads},
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": false},
        "MetadataOptions": {
            "State": "applied",
            "HttpTokens": i.http_tokens,
            "HttpPutResponseHopLimit": 1,
            "HttpEndpoint": "enabled",
            "HttpProtocolIpv6": "disabled",
            "InstanceMetadataTags": "disabled",
        },
        "EnclaveOptions": {"Enabled": false},
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "UsageOperationUpdateTime": i.launch_time.to_iso8601_millis(),
        "PrivateDnsNameOptions": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": false, "EnableResourceNameDnsAAAARecord": false},
        "MaintenanceOptions": {"AutoRecovery": "default"},
        "CurrentInstanceBootMode": "legacy-bios",
    });
    // Nested values are moved in, not copied through `json!`'s `to_value`.
    v["StateReason"] = state_reason.unwrap_or(Value::Null);
    v["BlockDeviceMappings"] = Value::Array(block_devices_json(st, i));
    v["Tags"] = filter::tag_list(st.tags.get(&i.id));
    v["SecurityGroups"] = Value::Array(groups);
    v["NetworkInterfaces"] = Value::Array(
        i.enis
            .values()
            .filter_map(|e| st.enis.get(e))
            .map(|e| instance_eni_json(st, e))
            .collect(),
    );
    if let Some(arn) = &i.iam_profile_arn {
        v["IamInstanceProfile"] =
            json!({"Arn": arn, "Id": format!("AIPA{}", i.id[2..].to_uppercase())});
    }
    v
}
struct InstView<'a>(&'a Instance, Option<&'a Tags>, &'a RegionState);

impl Filterable for InstView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let i = self.0;
        let st = self.2;
        let enis: Vec<&super::state::Eni> =
            i.enis.values().filter_map(|e| st.enis.get(e)).collect();
        let primary_ip = enis
            .first()
            .and_then(|e| e.ips.first())
            .map(|ip| ip_to_string(*ip));
        let one = |s: String| vec![s];
        Some(match name {
            "instance-id" => one(i.id.clone()),
            "instance-state-name" => one(i.state.name().into()),
            "instance-state-code" => one(i.state.code().to_string()),
            "instance-type" => one(i.instance_type.clone()),
            "availability-zone" => one(i.az.clone()),
            "subnet-id" => one(i.subnet_id.clone()),
            "vpc-id" => one(i.vpc_id.clone()),
            "image-id" => one(i.image_id.clone()),
            "reservation-id" => one(i.reservation_id.clone()),
            "architecture" => one(i.architecture.clone()),
            "launch-time" => one(i.launch_time.to_iso8601_millis()),
            "key-name" => i.key_name.iter().cloned().collect(),
            "private-ip-address" => primary_ip.into_iter().collect(),
            "private-dns-name" => enis
                .first()
                .and_then(|e| e.ips.first())
                .map(|ip| st.region.private_dns(&ip_to_string(*ip)))
                .into_iter()
                .collect(),
            "ip-address" => i.public_ip.iter().cloned().collect(),
            "dns-name" => i
                .public_ip
                .iter()
                .map(|p| st.region.public_dns(p))
                .collect(),
            "iam-instance-profile.arn" => i.iam_profile_arn.iter().cloned().collect(),
            "instance.group-id" | "group-id" => {
                enis.first().map(|e| e.groups.clone()).unwrap_or_default()
            }
            "instance.group-name" | "group-name" => enis
                .first()
                .map(|e| {
                    e.groups
                        .iter()
                        .filter_map(|g| st.security_groups.get(g).map(|s| s.name.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            "network-interface.network-interface-id" => enis.iter().map(|e| e.id.clone()).collect(),
            "network-interface.subnet-id" => enis.iter().map(|e| e.subnet_id.clone()).collect(),
            "network-interface.vpc-id" => enis.iter().map(|e| e.vpc_id.clone()).collect(),
            "network-interface.addresses.private-ip-address"
            | "network-interface.private-ip-address" => enis
                .iter()
                .flat_map(|e| e.ips.iter().map(|ip| ip_to_string(*ip)))
                .collect(),
            "network-interface.private-dns-name" => enis
                .iter()
                .filter_map(|e| e.ips.first())
                .map(|ip| st.region.private_dns(&ip_to_string(*ip)))
                .collect(),
            "block-device-mapping.volume-id" => i.devices.values().cloned().collect(),
            "block-device-mapping.device-name" => i.devices.keys().cloned().collect(),
            "root-device-name" => one(ROOT_DEVICE.into()),
            "root-device-type" => one("ebs".into()),
            "tenancy" => one("default".into()),
            "hypervisor" => one("xen".into()),
            "virtualization-type" => one("hvm".into()),
            "owner-id" => one(st.account.clone()),
            "client-token" => i.client_token.iter().cloned().collect(),
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

fn selected<'a>(st: &'a RegionState, input: &Value) -> AwsResult<Vec<&'a Instance>> {
    let ids = input.str_list("InstanceIds");
    check_ids(st, &ids)?;
    let filters = filter::filters(input)?;
    let mut out: Vec<&Instance> = Vec::new();
    for i in st.instances.values() {
        if !ids.is_empty() && !ids.contains(&i.id) {
            continue;
        }
        if filter::matches(&InstView(i, st.tags.get(&i.id), st), &filters)? {
            out.push(i);
        }
    }
    out.sort_by_key(|i| i.seq);
    Ok(out)
}

/// DescribeInstances (pages by instance; instances grouped by reservation).
pub fn describe_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    if !input.str_list("InstanceIds").is_empty() && input.get("MaxResults").is_some() {
        return Err(aws_err!(
            InvalidParameterCombination,
            "The parameter instancesSet cannot be used with the parameter maxResults"
        ));
    }
    let list = selected(st, input)?;
    let (page, next) = filter::page(
        list,
        input,
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
    )?;
    let mut reservations: Vec<(String, Vec<&Instance>)> = Vec::new();
    for i in page {
        match reservations.last_mut() {
            Some((r, v)) if *r == i.reservation_id => v.push(i),
            _ => reservations.push((i.reservation_id.clone(), vec![i])),
        }
    }
    let out: Vec<Value> = reservations
        .iter()
        .map(|(r, v)| reservation_json(st, r, v))
        .collect();
    Ok(filter::page_output("Reservations", out, next))
}

/// DescribeInstanceStatus (running instances only unless `IncludeAllInstances`; status checks
/// report `initializing` during the first two minutes of running).
pub fn describe_instance_status(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let include_all = input.opt_bool("IncludeAllInstances").unwrap_or(false);
    let now = st.now;
    let list: Vec<&Instance> = selected(st, input)?
        .into_iter()
        .filter(|i| include_all || i.state == InstanceState::Running)
        .collect();
    let (page, next) = filter::page(
        list,
        input,
        PageLimits {
            min: 5,
            max: 1000,
            default: None,
        },
    )?;
    let out: Vec<Value> = page
        .iter()
        .map(|i| {
            let check = match (i.state, i.running_since) {
                (InstanceState::Running, Some(t)) if now.0.saturating_sub(t.0) >= 120_000 => ("ok", "passed"),
                (InstanceState::Running, _) => ("initializing", "initializing"),
                _ => ("not-applicable", "not-applicable"),
            };
            let summary = json!({"Status": check.0, "Details": [{"Name": "reachability", "Status": check.1}]});
            json!({
                "InstanceId": i.id,
                "AvailabilityZone": i.az,
                "InstanceState": {"Code": i.state.code(), "Name": i.state.name()},
                "InstanceStatus": summary,
                "SystemStatus": summary,
                "AttachedEbsStatus": summary,
            })
        })
        .collect();
    Ok(filter::page_output("InstanceStatuses", out, next))
}

fn state_change(id: &str, prev: InstanceState, cur: InstanceState) -> Value {
    json!({
        "InstanceId": id,
        "PreviousState": {"Code": prev.code(), "Name": prev.name()},
        "CurrentState": {"Code": cur.code(), "Name": cur.name()},
    })
}

fn user_initiated(st: &RegionState) -> String {
    let t = st
        .now
        .to_rfc3339_secs()
        .replace('T', " ")
        .replace('Z', " GMT");
    format!("User initiated ({t})")
}

/// TerminateInstances.
pub fn terminate_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list("InstanceIds");
    if ids.is_empty() {
        return Err(AwsError::missing("InstanceId"));
    }
    check_ids(st, &ids)?;
    for id in &ids {
        if st.instances[id].disable_api_termination {
            return Err(aws_err!(
                OperationNotPermitted,
                "The instance '{id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again."
            ));
        }
    }
    let reason = user_initiated(st);
    let mut out = Vec::new();
    for id in ids {
        let Some(i) = st.instances.get_mut(&id) else {
            continue;
        };
        let prev = i.state;
        if !matches!(
            prev,
            InstanceState::ShuttingDown | InstanceState::Terminated
        ) {
            i.state = InstanceState::ShuttingDown;
            i.state_reason = reason.clone();
            let d = st.delays.instance_terminate;
            st.schedule(d, Timer::InstanceTerminated(id.clone()));
        }
        let cur = st.instances.get(&id).map_or(prev, |i| i.state);
        out.push(state_change(&id, prev, cur));
    }
    Ok(json!({"TerminatingInstances": out}))
}

/// StopInstances.
pub fn stop_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list("InstanceIds");
    check_ids(st, &ids)?;
    for id in &ids {
        let s = st.instances[id].state;
        if !matches!(
            s,
            InstanceState::Running | InstanceState::Stopping | InstanceState::Stopped
        ) {
            return Err(aws_err!(
                IncorrectInstanceState,
                "This instance '{id}' is not in a state from which it can be stopped."
            ));
        }
    }
    let reason = user_initiated(st);
    let mut out = Vec::new();
    for id in ids {
        let Some(i) = st.instances.get_mut(&id) else {
            continue;
        };
        let prev = i.state;
        if prev == InstanceState::Running {
            i.state = InstanceState::Stopping;
            i.state_reason = reason.clone();
            i.running_since = None;
            let d = st.delays.instance_stop;
            st.schedule(d, Timer::InstanceStopped(id.clone()));
        }
        let cur = st.instances.get(&id).map_or(prev, |i| i.state);
        out.push(state_change(&id, prev, cur));
    }
    Ok(json!({"StoppingInstances": out}))
}

/// StartInstances.
pub fn start_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list("InstanceIds");
    check_ids(st, &ids)?;
    for id in &ids {
        let s = st.instances[id].state;
        if !matches!(
            s,
            InstanceState::Stopped | InstanceState::Pending | InstanceState::Running
        ) {
            return Err(aws_err!(
                IncorrectInstanceState,
                "The instance '{id}' is not in a state from which it can be started."
            ));
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let Some(i) = st.instances.get_mut(&id) else {
            continue;
        };
        let prev = i.state;
        if prev == InstanceState::Stopped {
            i.state = InstanceState::Pending;
            i.state_reason = String::new();
            let d = st.delays.instance_boot;
            st.schedule(d, Timer::InstanceRunning(id.clone()));
        }
        let cur = st.instances.get(&id).map_or(prev, |i| i.state);
        out.push(state_change(&id, prev, cur));
    }
    Ok(json!({"StartingInstances": out}))
}

fn attr_value<'a>(input: &'a Value, name: &str) -> Option<&'a Value> {
    input.obj(name).and_then(|v| v.get("Value"))
}

/// ModifyInstanceAttribute (`InstanceType` and `UserData` only while stopped).
pub fn modify_instance_attribute(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str("InstanceId")?;
    let inst = get_instance(st, id)?;
    let mut new_type = attr_value(input, "InstanceType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut user_data = attr_value(input, "UserData")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(attr), Some(value)) = (input.opt_str("Attribute"), input.opt_str("Value")) {
        match attr {
            "instanceType" => new_type = Some(value.to_string()),
            "userData" => user_data = Some(value.to_string()),
            "sourceDestCheck" | "disableApiTermination" | "ebsOptimized" => {}
            other => {
                return Err(aws_err!(
                    InvalidParameterValue,
                    "Value ({other}) for parameter attribute is invalid."
                ))
            }
        }
    }
    if (new_type.is_some() || user_data.is_some()) && inst.state != InstanceState::Stopped {
        return Err(aws_err!(
            IncorrectInstanceState,
            "The instance '{id}' is not in the 'stopped' state."
        ));
    }
    if let Some(t) = &new_type {
        let ty = RegionState::instance_type(t).ok_or_else(|| {
            aws_err!(
                InvalidParameterValue,
                "Invalid value '{t}' for InstanceType."
            )
        })?;
        if inst.enis.len() > ty.max_enis as usize {
            return Err(attachment_limit(inst.enis.len(), t));
        }
    }
    if let Some(ud) = &user_data {
        if !is_base64(ud) {
            return Err(aws_err!(
                InvalidParameterValue,
                "Invalid BASE64 encoding of user data."
            ));
        }
    }
    let groups = input.str_list("Groups");
    if !groups.is_empty() {
        check_groups(st, &groups, &inst.vpc_id, &inst.subnet_id)?;
    }
    let legacy = |name: &str| {
        (input.opt_str("Attribute") == Some(name)).then(|| input.opt_str("Value") == Some("true"))
    };
    let bool_attr = |member: &str, name: &str| {
        attr_value(input, member)
            .and_then(Value::as_bool)
            .or_else(|| legacy(name))
    };
    let sdc = bool_attr("SourceDestCheck", "sourceDestCheck");
    let dat = bool_attr("DisableApiTermination", "disableApiTermination");
    let ebs = bool_attr("EbsOptimized", "ebsOptimized");
    let primary = inst.enis.get(&0).cloned();
    let Some(i) = st.instances.get_mut(id) else {
        return Ok(json!({}));
    };
    if let Some(t) = new_type {
        i.architecture = RegionState::instance_type(&t)
            .map(|t| t.arch.clone())
            .unwrap_or_default();
        i.instance_type = t;
    }
    if let Some(ud) = user_data {
        i.user_data = Some(ud);
    }
    if let Some(v) = sdc {
        i.source_dest_check = v;
    }
    if let Some(v) = dat {
        i.disable_api_termination = v;
    }
    if let Some(v) = ebs {
        i.ebs_optimized = v;
    }
    if let Some(e) = primary.and_then(|p| st.enis.get_mut(&p)) {
        if let Some(v) = sdc {
            e.source_dest_check = v;
        }
        if !groups.is_empty() {
            e.groups = groups;
        }
    }
    Ok(json!({}))
}

/// DescribeInstanceAttribute.
pub fn describe_instance_attribute(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str("InstanceId")?;
    let i = get_instance(st, id)?;
    let attr = input.req_str("Attribute")?;
    let mut out = json!({"InstanceId": id});
    match attr {
        "instanceType" => out["InstanceType"] = json!({"Value": i.instance_type}),
        "userData" => out["UserData"] = json!({"Value": i.user_data}),
        "disableApiTermination" => {
            out["DisableApiTermination"] = json!({"Value": i.disable_api_termination})
        }
        "sourceDestCheck" => out["SourceDestCheck"] = json!({"Value": i.source_dest_check}),
        "ebsOptimized" => out["EbsOptimized"] = json!({"Value": i.ebs_optimized}),
        "rootDeviceName" => out["RootDeviceName"] = json!({"Value": ROOT_DEVICE}),
        "blockDeviceMapping" => out["BlockDeviceMappings"] = json!(block_devices_json(st, i)),
        "groupSet" => {
            let groups = i
                .enis
                .get(&0)
                .and_then(|e| st.enis.get(e))
                .map(|e| e.groups.clone())
                .unwrap_or_default();
            out["Groups"] = json!(groups
                .iter()
                .map(|g| json!({"GroupId": g, "GroupName": st.security_groups.get(g).map(|s| s.name.clone())}))
                .collect::<Vec<_>>());
        }
        other => {
            return Err(aws_err!(
                InvalidParameterValue,
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            ))
        }
    }
    Ok(out)
}
