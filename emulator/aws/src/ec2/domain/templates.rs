//! Launch templates as RunInstances and Auto Scaling read them: finding a template by id or
//! name and resolving a version (`$Latest`, `$Default`, a number).

use crate::aws_err;
use crate::ec2::input::Input;
use crate::ec2::state::{LaunchTemplate, LaunchTemplateVersion, RegionState};
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::Value;

/// Finds a template by `LaunchTemplateId` or `LaunchTemplateName` in a request or spec.
pub fn find<'a>(st: &'a RegionState, spec: &Value) -> AwsResult<&'a LaunchTemplate> {
    match (
        spec.opt_str(m::LaunchTemplateId),
        spec.opt_str(m::LaunchTemplateName),
    ) {
        (Some(_), Some(_)) => Err(aws_err!(
            InvalidParameterCombination,
            "Only one of LaunchTemplateId or LaunchTemplateName may be specified."
        )),
        (Some(id), None) => st.launch_templates.get(id).ok_or_else(|| {
            aws_err!(
                InvalidLaunchTemplateIdNotFound,
                "The specified launch template, with template ID {id}, does not exist."
            )
        }),
        (None, Some(name)) => st
            .launch_templates
            .values()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                aws_err!(
                    InvalidLaunchTemplateNameNotFound,
                    "The specified launch template, with template name {name}, does not exist."
                )
            }),
        (None, None) => Err(AwsError::missing("LaunchTemplateId or LaunchTemplateName")),
    }
}

/// A version of a template: `$Latest`, `$Default` or a number.
pub fn version<'a>(t: &'a LaunchTemplate, v: &str) -> AwsResult<&'a LaunchTemplateVersion> {
    let n = match v {
        "$Latest" => t.versions.keys().next_back().copied().unwrap_or(1),
        "$Default" => t.default_version,
        other => other.parse::<i64>().map_err(|_| {
            aws_err!(
                InvalidParameterValue,
                "Invalid launch template version: {other}"
            )
        })?,
    };
    t.versions.get(&n).ok_or_else(|| {
        aws_err!(
            InvalidLaunchTemplateIdVersionNotFound,
            "Could not find launch template version {n} for launch template {}",
            t.id
        )
    })
}

/// Resolves a `LaunchTemplateSpecification` (id or name, and `Version`, default `$Default`).
pub fn resolve<'a>(
    st: &'a RegionState,
    spec: &Value,
) -> AwsResult<(&'a LaunchTemplate, &'a LaunchTemplateVersion)> {
    let t = find(st, spec)?;
    let v = version(t, spec.opt_str(m::Version).unwrap_or("$Default"))?;
    Ok((t, v))
}
