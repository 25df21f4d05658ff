//! Launch configurations: CreateLaunchConfiguration, DescribeLaunchConfigurations,
//! DeleteLaunchConfiguration, and the RunInstances request a configuration stands for.
//!
//! Rules: names are unique (`AlreadyExists`); `ImageId` and `InstanceType` are required unless
//! `InstanceId` is given (then they are copied from that instance); the instance type must
//! exist (`ValidationError`); a configuration a group uses cannot be deleted
//! (`ResourceInUse`); an unknown name is a `ValidationError`. Configurations are immutable, as
//! in AWS. Simplified: no ClassicLink, kernel/ramdisk, spot price or metadata options effect
//! (stored and echoed).

use super::paging::{self, Limits};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::autoscaling as m;
use crate::region::RegionState;
use cloudbox_sim::SimTime;
use serde_json::{json, Value};

/// A launch configuration.
#[derive(Debug, Clone)]
pub struct LaunchConfiguration {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Creation time.
    pub created: SimTime,
    /// The request's members as sent (plus the copied ImageId/InstanceType).
    pub spec: Value,
}

/// The launch configuration or `ValidationError`.
pub fn get<'a>(st: &'a RegionState, name: &str) -> AwsResult<&'a LaunchConfiguration> {
    st.autoscaling
        .launch_configurations
        .get(name)
        .ok_or_else(|| {
            aws_err!(
                ValidationError,
                "Launch configuration name not found - Launch configuration {name} not found"
            )
        })
}

/// CreateLaunchConfiguration.
pub fn create_launch_configuration(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LaunchConfigurationName)?;
    super::check_name(name, "launchConfigurationName")?;
    if st.autoscaling.launch_configurations.contains_key(name) {
        return Err(aws_err!(
            AsgAlreadyExists,
            "Launch Configuration by this name already exists - A launch configuration already exists with the name {name}"
        ));
    }
    let mut spec = input.clone();
    if let Some(iid) = input.opt_str(m::InstanceId) {
        let i = crate::ec2::instances::get_instance(st, iid).map_err(|_| {
            aws_err!(
                ValidationError,
                "Invalid instance id: {iid}. The instance does not exist."
            )
        })?;
        if spec.get(m::ImageId).is_none() {
            spec["ImageId"] = json!(i.image_id);
        }
        if spec.get(m::InstanceType).is_none() {
            spec["InstanceType"] = json!(i.instance_type);
        }
        if spec.get(m::SecurityGroups).is_none() {
            let groups = i
                .enis
                .get(&0)
                .and_then(|e| st.enis.get(e))
                .map(|e| e.groups.clone())
                .unwrap_or_default();
            spec["SecurityGroups"] = json!(groups);
        }
        if let Some(obj) = spec.as_object_mut() {
            obj.remove("InstanceId");
        }
    }
    let Some(image) = spec.opt_str(m::ImageId) else {
        return Err(aws_err!(
            ValidationError,
            "Valid requests must contain either the ImageId parameter or the InstanceId parameter."
        ));
    };
    if !image.starts_with("ami-") {
        return Err(aws_err!(
            ValidationError,
            "AMI {image} is invalid: The image id '[{image}]' does not exist"
        ));
    }
    let Some(ty) = spec.opt_str(m::InstanceType) else {
        return Err(aws_err!(
            ValidationError,
            "Valid requests must contain either the InstanceType parameter or the InstanceId parameter."
        ));
    };
    if RegionState::instance_type(ty).is_none() {
        return Err(aws_err!(
            ValidationError,
            "The instance type '{ty}' is not supported or is invalid."
        ));
    }
    let uuid = st.ids.uuid();
    let arn = st.arn(
        "autoscaling",
        &format!("launchConfiguration:{uuid}:launchConfigurationName/{name}"),
    );
    let lc = LaunchConfiguration {
        name: name.to_string(),
        arn,
        created: st.now,
        spec,
    };
    st.autoscaling
        .launch_configurations
        .insert(name.to_string(), lc);
    Ok(json!({}))
}

fn to_json(lc: &LaunchConfiguration) -> Value {
    let s = &lc.spec;
    let mut v = json!({
        "LaunchConfigurationName": lc.name,
        "LaunchConfigurationARN": lc.arn,
        "ImageId": s.opt_str(m::ImageId),
        "InstanceType": s.opt_str(m::InstanceType),
        "SecurityGroups": s.str_list(m::SecurityGroups),
        "ClassicLinkVPCSecurityGroups": [],
        "UserData": s.opt_str(m::UserData).unwrap_or_default(),
        "KernelId": "",
        "RamdiskId": "",
        "BlockDeviceMappings": s.obj_list(m::BlockDeviceMappings),
        "InstanceMonitoring": {"Enabled": s.obj(m::InstanceMonitoring).and_then(|m| m.opt_bool(m::Enabled)).unwrap_or(true)},
        "CreatedTime": lc.created.to_iso8601_millis(),
        "EbsOptimized": s.opt_bool(m::EbsOptimized).unwrap_or(false),
    });
    for k in [
        "KeyName",
        "IamInstanceProfile",
        "SpotPrice",
        "PlacementTenancy",
        "AssociatePublicIpAddress",
        "MetadataOptions",
    ] {
        if let Some(x) = s.get(k) {
            v[k] = x.clone();
        }
    }
    v
}

/// DescribeLaunchConfigurations (unknown names are left out, as AWS does).
pub fn describe_launch_configurations(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let pg = paging::check(
        input,
        Limits {
            max: 100,
            default: 50,
        },
    )?;
    let names = input.str_list(m::LaunchConfigurationNames);
    let out: Vec<Value> = st
        .autoscaling
        .launch_configurations
        .values()
        .filter(|lc| names.is_empty() || names.contains(&lc.name))
        .map(to_json)
        .collect();
    let (page, next) = paging::page(out, pg);
    Ok(paging::output("LaunchConfigurations", page, next))
}

/// DeleteLaunchConfiguration.
pub fn delete_launch_configuration(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LaunchConfigurationName)?;
    get(st, name)?;
    let user = st.autoscaling.groups.values().find(|g| {
        g.source == super::LaunchSource::Configuration(name.to_string())
            || g.members
                .values()
                .any(|m| m.source == super::LaunchSource::Configuration(name.to_string()))
    });
    if let Some(g) = user {
        return Err(aws_err!(
            AsgResourceInUse,
            "Cannot delete launch configuration {name} because it is attached to AutoScalingGroup {}",
            g.name
        ));
    }
    st.autoscaling.launch_configurations.remove(name);
    Ok(json!({}))
}

/// The RunInstances request (without count or subnet) a launch configuration stands for.
pub fn run_spec(lc: &LaunchConfiguration) -> Value {
    let s = &lc.spec;
    let mut run = json!({
        "ImageId": s.opt_str(m::ImageId),
        "InstanceType": s.opt_str(m::InstanceType),
    });
    let (ids, names): (Vec<String>, Vec<String>) = s
        .str_list(m::SecurityGroups)
        .into_iter()
        .partition(|g| g.starts_with("sg-"));
    if !ids.is_empty() {
        run["SecurityGroupIds"] = json!(ids);
    }
    if !names.is_empty() {
        run["SecurityGroups"] = json!(names);
    }
    for k in ["KeyName", "UserData", "EbsOptimized"] {
        if let Some(x) = s.get(k) {
            run[k] = x.clone();
        }
    }
    if let Some(p) = s.opt_str(m::IamInstanceProfile) {
        run["IamInstanceProfile"] = if p.starts_with("arn:") {
            json!({"Arn": p})
        } else {
            json!({"Name": p})
        };
    }
    let mappings: Vec<Value> = s
        .obj_list(m::BlockDeviceMappings)
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if m.opt_bool(m::NoDevice) == Some(true) {
                m["NoDevice"] = json!("");
            } else if let Some(o) = m.as_object_mut() {
                o.remove("NoDevice");
            }
            m
        })
        .collect();
    if !mappings.is_empty() {
        run["BlockDeviceMappings"] = json!(mappings);
    }
    run
}
