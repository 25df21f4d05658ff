//! EBS volumes: Create, Delete, Describe, Attach, Detach, ModifyVolume,
//! DescribeVolumesModifications.
//!
//! States move on the clock: creating → available, attaching → attached, detaching →
//! available, modification modifying → optimizing → completed (the new size is visible from
//! `optimizing`, as in AWS). Rules: size and IOPS limits per volume type; a volume attaches only to
//! an instance in its own AZ (`InvalidVolume.ZoneMismatch`) and to one instance at a time
//! (`VolumeInUse`); device names must be valid and free on the instance; an attached volume
//! cannot be deleted (`VolumeInUse`); at most four modifications per rolling 24 hours
//! (`VolumeModificationRateExceeded`, AWS's rule since January 2026), and none while one is in
//! progress. Not modelled: snapshots, multi-attach (io1/io2).

use super::domain::{performance, ROOT_DEVICE};
use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{
    InstanceState, RegionState, Tags, Timer, Volume, VolumeAttachment, VolumeModification,
};
use crate::aws_err;
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
pub use super::domain::volumes::{insert_volume, valid_device, volume_spec, VolumeSpec};

/// The volume or `InvalidVolume.NotFound`.
pub fn get_volume<'a>(st: &'a RegionState, id: &str) -> AwsResult<&'a Volume> {
    if !id.starts_with("vol-") {
        return Err(aws_err!(
            InvalidParameterValue,
            "Invalid id: \"{id}\" (expecting \"vol-...\")"
        ));
    }
    st.volumes
        .get(id)
        .ok_or_else(|| aws_err!(InvalidVolumeNotFound, "The volume '{id}' does not exist."))
}

fn attachment_json(v: &Volume, a: &VolumeAttachment) -> Value {
    json!({
        "VolumeId": v.id,
        "InstanceId": a.instance_id,
        "Device": a.device,
        "State": a.state,
        "AttachTime": a.time.to_iso8601_millis(),
        "DeleteOnTermination": a.delete_on_termination,
    })
}

fn volume_json(st: &RegionState, v: &Volume) -> Value {
    json!({
        "VolumeId": v.id,
        "Size": v.size,
        "SnapshotId": v.snapshot_id.clone().unwrap_or_default(),
        "AvailabilityZone": v.az,
        "AvailabilityZoneId": st.az(&v.az).map(|a| a.id.clone()),
        "State": v.state,
        "CreateTime": v.create_time.to_iso8601_millis(),
        "Attachments": v.attachment.iter().map(|a| attachment_json(v, a)).collect::<Vec<_>>(),
        "VolumeType": v.volume_type,
        "Iops": v.iops,
        "Throughput": v.throughput,
        "Encrypted": v.encrypted,
        "KmsKeyId": v.kms_key_id,
        "MultiAttachEnabled": false,
        "Tags": filter::tag_list(st.tags.get(&v.id)),
    })
}

struct VolView<'a>(&'a Volume, Option<&'a Tags>);

impl Filterable for VolView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        let v = self.0;
        let a = v.attachment.as_ref();
        let one = |s: String| vec![s];
        Some(match name {
            "volume-id" => one(v.id.clone()),
            "status" => one(v.state.to_string()),
            "availability-zone" => one(v.az.clone()),
            "size" => one(v.size.to_string()),
            "volume-type" => one(v.volume_type.clone()),
            "encrypted" => one(v.encrypted.to_string()),
            "snapshot-id" => one(v.snapshot_id.clone().unwrap_or_default()),
            "create-time" => one(v.create_time.to_iso8601_millis()),
            "multi-attach-enabled" => one("false".into()),
            "attachment.instance-id" => a.map(|a| a.instance_id.clone()).into_iter().collect(),
            "attachment.device" => a.map(|a| a.device.clone()).into_iter().collect(),
            "attachment.status" => a.map(|a| a.state.to_string()).into_iter().collect(),
            "attachment.attach-time" => a.map(|a| a.time.to_iso8601_millis()).into_iter().collect(),
            "attachment.delete-on-termination" => a
                .map(|a| a.delete_on_termination.to_string())
                .into_iter()
                .collect(),
            _ => return None,
        })
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

/// CreateVolume.
pub fn create_volume(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["volume"])?;
    let az = match (
        input.opt_str(m::AvailabilityZone),
        input.opt_str(m::AvailabilityZoneId),
    ) {
        (Some(n), _) => st
            .az(n)
            .map(|a| a.name.clone())
            .ok_or_else(|| aws_err!(InvalidParameterValue, "Invalid availability zone: [{n}]"))?,
        (None, Some(i)) => st
            .region
            .az_by_id(i)
            .map(|a| a.name.clone())
            .ok_or_else(|| {
                aws_err!(InvalidParameterValue, "Invalid availability zone ID: [{i}]")
            })?,
        (None, None) => return Err(AwsError::missing("AvailabilityZone")),
    };
    if input.opt_bool(m::MultiAttachEnabled) == Some(true) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Multi-attach volumes are not supported by cloudbox."
        ));
    }
    if let Some(token) = input.opt_str(m::ClientToken) {
        if let Some(v) = st
            .volumes
            .values()
            .find(|v| v.client_token.as_deref() == Some(token))
        {
            return Ok(volume_json(st, v));
        }
    }
    let spec = volume_spec(input, None)?;
    let tags = tag_specs(input, "volume")?;
    let id = insert_volume(st, spec, &az, "creating");
    if let (Some(v), Some(t)) = (st.volumes.get_mut(&id), input.opt_str(m::ClientToken)) {
        v.client_token = Some(t.to_string());
    }
    st.add_tags(&id, tags);
    let d = st.delays.volume_create;
    st.schedule(d, Timer::VolumeAvailable(id.clone()));
    Ok(volume_json(st, &st.volumes[&id]))
}

/// DeleteVolume.
pub fn delete_volume(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::VolumeId)?;
    let v = get_volume(st, id)?;
    if let Some(a) = &v.attachment {
        return Err(aws_err!(
            VolumeInUse,
            "Volume {id} is currently attached to {}",
            a.instance_id
        ));
    }
    if v.state != "available" {
        return Err(aws_err!(
            IncorrectState,
            "The volume '{id}' is in the '{}' state.",
            v.state
        ));
    }
    if let Some(v) = st.volumes.get_mut(id) {
        v.state = "deleting";
    }
    let d = st.delays.volume_delete;
    st.schedule(d, Timer::VolumeDeleted(id.to_string()));
    Ok(json!({}))
}

/// DescribeVolumes.
pub fn describe_volumes(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::VolumeIds);
    for id in &ids {
        get_volume(st, id)?;
    }
    if !ids.is_empty() && input.get(m::MaxResults).is_some() {
        return Err(aws_err!(
            InvalidParameterCombination,
            "The parameter volumeSet cannot be used with the parameter maxResults"
        ));
    }
    filter::describe(
        input,
        "Volumes",
        PageLimits {
            min: 5,
            max: 500,
            default: None,
        },
        st.volumes.values().filter(|v| filter::wanted(&ids, &v.id)),
        |v| VolView(v, st.tags.get(&v.id)),
        |v| volume_json(st, v),
    )
}

/// Attachments a Nitro instance shares between ENIs and EBS volumes.
const NITRO_ATTACHMENT_LIMIT: usize = 28;

/// AttachVolume.
pub fn attach_volume(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let vol_id = input.req_str(m::VolumeId)?;
    let instance_id = input.req_str(m::InstanceId)?;
    let device = input.req_str(m::Device)?;
    let v = get_volume(st, vol_id)?;
    let inst = st.instance(instance_id)?;
    if let Some(a) = &v.attachment {
        return Err(aws_err!(
            VolumeInUse,
            "{vol_id} is already attached to an instance ({})",
            a.instance_id
        ));
    }
    if v.state != "available" {
        return Err(aws_err!(IncorrectState, "{vol_id} is not 'available'."));
    }
    if v.modification
        .as_ref()
        .is_some_and(|m| m.state == "modifying")
    {
        return Err(aws_err!(
            OperationNotPermitted,
            "Cannot attach volume {vol_id} when it is in modification state: MODIFYING"
        ));
    }
    if !matches!(inst.state, InstanceState::Running | InstanceState::Stopped) {
        return Err(aws_err!(
            IncorrectInstanceState,
            "Instance '{instance_id}' is not 'running'."
        ));
    }
    if v.az != inst.az {
        return Err(aws_err!(
            InvalidVolumeZoneMismatch,
            "The volume '{vol_id}' is not in the same availability zone as instance '{instance_id}'"
        ));
    }
    if !valid_device(device) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name."
        ));
    }
    if inst.devices.contains_key(device) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Invalid value '{device}' for unixDevice. Attachment point {device} is already in use"
        ));
    }
    let nitro =
        RegionState::instance_type(&inst.instance_type).is_some_and(|t| t.hypervisor == "nitro");
    if nitro && inst.devices.len() + inst.enis.len() >= NITRO_ATTACHMENT_LIMIT {
        return Err(aws_err!(
            AttachmentLimitExceeded,
            "Instance '{instance_id}' has reached the maximum number of attachments."
        ));
    }
    let now = st.now;
    let attachment = VolumeAttachment {
        instance_id: instance_id.to_string(),
        device: device.to_string(),
        state: "attaching",
        time: now,
        delete_on_termination: false,
    };
    if let Some(v) = st.volumes.get_mut(vol_id) {
        v.attachment = Some(attachment);
        v.state = "in-use";
    }
    if let Some(i) = st.instances.get_mut(instance_id) {
        i.devices.insert(device.to_string(), vol_id.to_string());
    }
    let d = st.delays.volume_attach;
    st.schedule(d, Timer::VolumeAttached(vol_id.to_string()));
    let v = &st.volumes[vol_id];
    Ok(v.attachment
        .as_ref()
        .map(|a| attachment_json(v, a))
        .unwrap_or_default())
}

/// DetachVolume.
pub fn detach_volume(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let vol_id = input.req_str(m::VolumeId)?;
    let v = get_volume(st, vol_id)?;
    let Some(a) = &v.attachment else {
        return Err(aws_err!(
            IncorrectState,
            "Volume '{vol_id}' is in the '{}' state.",
            v.state
        ));
    };
    if let Some(i) = input.opt_str(m::InstanceId) {
        if i != a.instance_id {
            return Err(aws_err!(
                InvalidAttachmentNotFound,
                "The volume '{vol_id}' is not attached to instance '{i}'"
            ));
        }
    }
    if let Some(d) = input.opt_str(m::Device) {
        if d != a.device {
            return Err(aws_err!(
                InvalidAttachmentNotFound,
                "The volume '{vol_id}' is not attached at device '{d}'"
            ));
        }
    }
    if a.state == "detaching" {
        return Ok(attachment_json(v, a));
    }
    let is_root_running = a.device == ROOT_DEVICE
        && st
            .instances
            .get(&a.instance_id)
            .is_some_and(|i| i.state != InstanceState::Stopped);
    if is_root_running {
        return Err(aws_err!(
            IncorrectState,
            "Unable to detach root volume '{vol_id}' from instance '{}'",
            a.instance_id
        ));
    }
    if let Some(a) = st
        .volumes
        .get_mut(vol_id)
        .and_then(|v| v.attachment.as_mut())
    {
        a.state = "detaching";
    }
    let d = st.delays.volume_detach;
    st.schedule(d, Timer::VolumeDetached(vol_id.to_string()));
    let v = &st.volumes[vol_id];
    Ok(v.attachment
        .as_ref()
        .map(|a| attachment_json(v, a))
        .unwrap_or_default())
}

/// detaching → available.
pub fn on_detached(st: &mut RegionState, id: &str) {
    let Some(v) = st.volumes.get_mut(id) else {
        return;
    };
    let detaching = v
        .attachment
        .as_ref()
        .is_some_and(|a| a.state == "detaching");
    if !detaching {
        return;
    }
    if let Some(a) = v.attachment.take() {
        v.state = "available";
        if let Some(i) = st.instances.get_mut(&a.instance_id) {
            i.devices.remove(&a.device);
        }
    }
}

/// modifying → optimizing: the new size, type and performance take effect.
pub fn on_optimizing(st: &mut RegionState, id: &str) {
    let Some(v) = st.volumes.get_mut(id) else {
        return;
    };
    let Some(m) = v.modification.as_mut() else {
        return;
    };
    if m.state != "modifying" {
        return;
    }
    m.state = "optimizing";
    v.size = m.target_size;
    v.volume_type = m.target_type.clone();
    v.iops = m.target_iops;
    v.throughput = m.target_throughput;
    let d = st.delays.modify_completed;
    st.schedule(d, Timer::ModificationCompleted(id.to_string()));
}

fn modification_json(v: &Volume, m: &VolumeModification) -> Value {
    json!({
        "VolumeId": v.id,
        "ModificationState": m.state,
        "TargetSize": m.target_size,
        "TargetIops": m.target_iops,
        "TargetVolumeType": m.target_type,
        "TargetThroughput": m.target_throughput,
        "TargetMultiAttachEnabled": false,
        "OriginalSize": m.original_size,
        "OriginalIops": m.original_iops,
        "OriginalVolumeType": m.original_type,
        "OriginalThroughput": m.original_throughput,
        "OriginalMultiAttachEnabled": false,
        "Progress": match m.state { "modifying" => 0, "optimizing" => 50, _ => 100 },
        "StartTime": m.start.to_iso8601_millis(),
        "EndTime": m.end.map(|e| e.to_iso8601_millis()),
    })
}

/// ModifyVolume.
pub fn modify_volume(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let id = input.req_str(m::VolumeId)?;
    let v = get_volume(st, id)?;
    if !matches!(v.state, "available" | "in-use") {
        return Err(aws_err!(
            IncorrectState,
            "The volume '{id}' is in the '{}' state.",
            v.state
        ));
    }
    if let Some(m) = &v.modification {
        if m.state != "completed" {
            return Err(aws_err!(
                IncorrectModificationState,
                "Cannot modify volume {id} because a modification is in the '{}' state.",
                m.state
            ));
        }
    }
    let window_start = st
        .now
        .0
        .saturating_sub(st.delays.modify_window.as_millis() as u64);
    if v.modification_starts
        .iter()
        .filter(|t| t.0 > window_start)
        .count()
        >= 4
    {
        return Err(aws_err!(
            VolumeModificationRateExceeded,
            "You've reached the maximum modification rate per volume limit. Up to four modifications are allowed per EBS volume in a 24-hour period."
        ));
    }
    if input.opt_bool(m::MultiAttachEnabled) == Some(true) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Multi-attach volumes are not supported by cloudbox."
        ));
    }
    let size = input.opt_i64(m::Size).unwrap_or(v.size);
    if size < v.size {
        return Err(aws_err!(
            InvalidParameterValue,
            "New size cannot be smaller than existing size"
        ));
    }
    let ty = input
        .opt_str(m::VolumeType)
        .unwrap_or(&v.volume_type)
        .to_string();
    let type_changed = ty != v.volume_type;
    let iops_in = input.opt_i64(m::Iops).or(
        if type_changed || !matches!(ty.as_str(), "io1" | "io2" | "gp3") {
            None
        } else {
            v.iops
        },
    );
    let tp_in = input
        .opt_i64(m::Throughput)
        .or(if ty == "gp3" && !type_changed {
            v.throughput
        } else {
            None
        });
    let (iops, throughput) = performance(&ty, size, iops_in, tp_in)?;
    if size == v.size && ty == v.volume_type && iops == v.iops && throughput == v.throughput {
        return Err(aws_err!(
            InvalidParameterValue,
            "New parameters must differ from the current parameters of volume {id}."
        ));
    }
    let m = VolumeModification {
        state: "modifying",
        target_size: size,
        target_type: ty,
        target_iops: iops,
        target_throughput: throughput,
        original_size: v.size,
        original_type: v.volume_type.clone(),
        original_iops: v.iops,
        original_throughput: v.throughput,
        start: st.now,
        end: None,
    };
    let now = st.now;
    if let Some(v) = st.volumes.get_mut(id) {
        v.modification = Some(m);
        v.modification_starts.push(now);
    }
    let d = st.delays.modify_optimizing;
    st.schedule(d, Timer::ModificationOptimizing(id.to_string()));
    let v = &st.volumes[id];
    Ok(json!({"VolumeModification": v.modification.as_ref().map(|m| modification_json(v, m))}))
}

/// DescribeVolumesModifications.
pub fn describe_volumes_modifications(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::VolumeIds);
    for id in &ids {
        if get_volume(st, id)?.modification.is_none() {
            return Err(aws_err!(
                InvalidVolumeModificationNotFound,
                "Modification for volume '{id}' does not exist."
            ));
        }
    }
    struct M<'a>(&'a Volume, &'a VolumeModification);
    impl Filterable for M<'_> {
        fn field(&self, name: &str) -> Option<Vec<String>> {
            let m = self.1;
            Some(vec![match name {
                "volume-id" => self.0.id.clone(),
                "modification-state" => m.state.to_string(),
                "target-size" => m.target_size.to_string(),
                "target-volume-type" => m.target_type.clone(),
                "original-size" => m.original_size.to_string(),
                "original-volume-type" => m.original_type.clone(),
                "start-time" => m.start.to_iso8601_millis(),
                _ => return None,
            }])
        }
    }
    let filters = filter::filters(input)?;
    let mut out = Vec::new();
    for v in st.volumes.values() {
        let Some(m) = &v.modification else { continue };
        if !ids.is_empty() && !ids.contains(&v.id) {
            continue;
        }
        if filter::matches(&M(v, m), &filters)? {
            out.push(modification_json(v, m));
        }
    }
    let (page, next) = filter::page(
        out,
        input,
        PageLimits {
            min: 5,
            max: 500,
            default: None,
        },
    )?;
    Ok(filter::page_output("VolumesModifications", page, next))
}
