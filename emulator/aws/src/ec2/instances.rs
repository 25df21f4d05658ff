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
use super::domain::{
    attachment_limit, check_groups, effective_spec, is_base64, launch, remove_eni, LaunchSpec,
};
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, Input};
use super::instance_output::{block_devices_json, write_reservation};
use super::state::{Instance, InstanceState, RegionState, Tags, Timer};
use crate::aws_err;
use crate::error::{AwsError, AwsResult, Code};
use crate::members::ec2 as m;
use crate::protocol::render::{JsonSink, Sink};
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::lookup::get_instance;
// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::volumes::ROOT_DEVICE;

fn check_ids(st: &RegionState, ids: &[String]) -> AwsResult<()> {
    let mut missing = Vec::new();
    for id in ids {
        match st.instance(id) {
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

/// RunInstances, its answer (the reservation) written straight into the output sink.
pub fn write_run_instances(st: &mut RegionState, input: &Value, s: &mut dyn Sink) -> AwsResult<()> {
    check_tag_spec_types(
        input,
        &[
            "instance",
            "volume",
            "network-interface",
            "spot-instances-request",
        ],
    )?;
    if let Some(token) = input.opt_str(m::ClientToken) {
        let existing: Vec<&Instance> = st
            .instances
            .values()
            .filter(|i| i.client_token.as_deref() == Some(token))
            .collect();
        if let Some(first) = existing.first() {
            write_reservation(st, &first.reservation_id, &existing, s);
            return Ok(());
        }
    }
    let (spec, lt) = effective_spec(st, input)?;
    let done = launch(
        st,
        &LaunchSpec {
            request: &spec,
            launch_template: lt.as_ref(),
            client_token: input.opt_str(m::ClientToken),
        },
    )?;
    let list: Vec<&Instance> = done
        .instance_ids
        .iter()
        .filter_map(|i| st.instances.get(i))
        .collect();
    write_reservation(st, &done.reservation_id, &list, s);
    Ok(())
}

/// RunInstances.
pub fn run_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let mut result = Ok(());
    let v = JsonSink::build(|s| result = write_run_instances(st, input, s));
    result.map(|()| v)
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
    let ids = input.str_list(m::InstanceIds);
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

/// DescribeInstances (pages by instance; instances grouped by reservation), written straight
/// into the output sink: no JSON tree for what can be hundreds of KiB.
pub fn write_describe_instances(
    st: &mut RegionState,
    input: &Value,
    s: &mut dyn Sink,
) -> AwsResult<()> {
    if !input.str_list(m::InstanceIds).is_empty() && input.get(m::MaxResults).is_some() {
        return Err(aws_err!(
            InvalidParameterCombination,
            "The parameter instancesSet cannot be used with the parameter maxResults"
        ));
    }
    let st: &RegionState = st;
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
    let mut reservations: Vec<(&str, Vec<&Instance>)> = Vec::new();
    for i in page {
        match reservations.last_mut() {
            Some((r, v)) if *r == i.reservation_id => v.push(i),
            _ => reservations.push((&i.reservation_id, vec![i])),
        }
    }
    s.objects(m::Reservations, reservations.len(), &mut |s, n| {
        let (r, v) = &reservations[n];
        write_reservation(st, r, v, s)
    });
    s.opt_str(m::NextToken, next.as_deref());
    Ok(())
}

/// DescribeInstances as JSON (the in-process client).
pub fn describe_instances(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let mut result = Ok(());
    let v = JsonSink::build(|s| result = write_describe_instances(st, input, s));
    result.map(|()| v)
}

/// DescribeInstanceStatus (running instances only unless `IncludeAllInstances`; status checks
/// report `initializing` during the first two minutes of running).
pub fn describe_instance_status(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let include_all = input.opt_bool(m::IncludeAllInstances).unwrap_or(false);
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
    let ids = input.str_list(m::InstanceIds);
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
    let ids = input.str_list(m::InstanceIds);
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
    let ids = input.str_list(m::InstanceIds);
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
    input.obj(name).and_then(|v| v.get(m::Value))
}

/// ModifyInstanceAttribute (`InstanceType` and `UserData` only while stopped).
pub fn modify_instance_attribute(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::InstanceId)?;
    let inst = st.instance(id)?;
    let mut new_type = attr_value(input, "InstanceType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut user_data = attr_value(input, "UserData")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(attr), Some(value)) = (input.opt_str(m::Attribute), input.opt_str(m::Value)) {
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
    let groups = input.str_list(m::Groups);
    if !groups.is_empty() {
        check_groups(st, &groups, &inst.vpc_id, &inst.subnet_id)?;
    }
    let legacy = |name: &str| {
        (input.opt_str(m::Attribute) == Some(name)).then(|| input.opt_str(m::Value) == Some("true"))
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
    let id = input.req_str(m::InstanceId)?;
    let i = st.instance(id)?;
    let attr = input.req_str(m::Attribute)?;
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
