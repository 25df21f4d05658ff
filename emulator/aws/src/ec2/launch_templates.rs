//! Launch templates: Create, CreateVersion, Modify (default version), Delete, Describe,
//! DescribeLaunchTemplateVersions; and version resolution (`$Latest`, `$Default`, a number) for
//! RunInstances and Auto Scaling. Template data is stored as sent (member names of
//! `RequestLaunchTemplateData`) and returned as `ResponseLaunchTemplateData`, whose members
//! share those names.

use super::filter::{self, Filterable, PageLimits};
use super::input::{check_tag_spec_types, tag_specs, Input};
use super::state::{LaunchTemplate, LaunchTemplateVersion, RegionState, Tags};
use crate::aws_err;
use crate::error::{AwsError, AwsResult};
use crate::members::ec2 as m;
use serde_json::{json, Value};

// Re-export for code written against the old path; new code uses ec2::domain.
use super::domain::templates::version;
pub use super::domain::templates::{find, resolve};
use std::collections::BTreeMap;

fn created_by(st: &RegionState) -> String {
    format!("arn:{}:iam::{}:root", st.region.partition, st.account)
}

fn lt_json(st: &RegionState, t: &LaunchTemplate) -> Value {
    json!({
        "LaunchTemplateId": t.id,
        "LaunchTemplateName": t.name,
        "CreateTime": t.created.to_iso8601_millis(),
        "CreatedBy": created_by(st),
        "DefaultVersionNumber": t.default_version,
        "LatestVersionNumber": t.versions.keys().next_back().copied().unwrap_or(1),
        "Tags": filter::tag_list(st.tags.get(&t.id)),
    })
}

fn version_json(st: &RegionState, t: &LaunchTemplate, v: &LaunchTemplateVersion) -> Value {
    json!({
        "LaunchTemplateId": t.id,
        "LaunchTemplateName": t.name,
        "VersionNumber": v.number,
        "VersionDescription": v.description,
        "CreateTime": v.created.to_iso8601_millis(),
        "CreatedBy": created_by(st),
        "DefaultVersion": v.number == t.default_version,
        "LaunchTemplateData": v.data,
    })
}

fn check_data(data: &Value) -> AwsResult<()> {
    if let Some(t) = data.opt_str(m::InstanceType) {
        if RegionState::instance_type(t).is_none() {
            return Err(aws_err!(
                InvalidParameterValue,
                "Invalid value '{t}' for InstanceType."
            ));
        }
    }
    if let Some(image) = data.opt_str(m::ImageId) {
        if !image.starts_with("ami-") && !image.starts_with("resolve:ssm:") {
            return Err(aws_err!(
                InvalidAmiIdMalformed,
                "Invalid id: \"{image}\" (expecting \"ami-...\")"
            ));
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"().-/_".contains(&b))
}

/// CreateLaunchTemplate.
pub fn create_launch_template(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    check_tag_spec_types(input, &["launch-template"])?;
    let name = input.req_str(m::LaunchTemplateName)?;
    if !valid_name(name) {
        return Err(aws_err!(
            InvalidParameterValue,
            "Launch template name must be between 3 and 128 characters, and may contain only letters, numbers, and the following characters: - ( ) . / _"
        ));
    }
    if st.launch_templates.values().any(|t| t.name == name) {
        return Err(aws_err!(
            InvalidLaunchTemplateNameAlreadyExists,
            "Launch template name already in use."
        ));
    }
    let data = input
        .obj(m::LaunchTemplateData)
        .cloned()
        .ok_or_else(|| AwsError::missing("LaunchTemplateData"))?;
    check_data(&data)?;
    let tags = tag_specs(input, "launch-template")?;
    let id = st.new_id("lt");
    let now = st.now;
    let mut versions = BTreeMap::new();
    versions.insert(
        1,
        LaunchTemplateVersion {
            number: 1,
            description: input.opt_str(m::VersionDescription).map(str::to_string),
            data,
            created: now,
        },
    );
    st.launch_templates.insert(
        id.clone(),
        LaunchTemplate {
            id: id.clone(),
            name: name.to_string(),
            default_version: 1,
            versions,
            created: now,
        },
    );
    st.add_tags(&id, tags);
    Ok(json!({"LaunchTemplate": lt_json(st, &st.launch_templates[&id])}))
}

/// CreateLaunchTemplateVersion (`SourceVersion` data is the base the new data is merged over).
pub fn create_launch_template_version(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let t = find(st, input)?;
    let mut data = match input.opt_str(m::SourceVersion) {
        Some(v) => version(t, v)?.data.clone(),
        None => json!({}),
    };
    let new = input
        .obj(m::LaunchTemplateData)
        .cloned()
        .ok_or_else(|| AwsError::missing("LaunchTemplateData"))?;
    if let (Value::Object(base), Value::Object(over)) = (&mut data, new) {
        base.extend(over);
    }
    check_data(&data)?;
    let id = t.id.clone();
    let number = t.versions.keys().next_back().copied().unwrap_or(0) + 1;
    let now = st.now;
    if let Some(t) = st.launch_templates.get_mut(&id) {
        t.versions.insert(
            number,
            LaunchTemplateVersion {
                number,
                description: input.opt_str(m::VersionDescription).map(str::to_string),
                data,
                created: now,
            },
        );
    }
    let t = &st.launch_templates[&id];
    Ok(json!({"LaunchTemplateVersion": version_json(st, t, &t.versions[&number])}))
}

/// ModifyLaunchTemplate (sets the default version).
pub fn modify_launch_template(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let t = find(st, input)?;
    let id = t.id.clone();
    let default = match input.opt_str(m::DefaultVersion) {
        Some(v) => Some(version(t, v)?.number),
        None => None,
    };
    if let (Some(n), Some(t)) = (default, st.launch_templates.get_mut(&id)) {
        t.default_version = n;
    }
    Ok(json!({"LaunchTemplate": lt_json(st, &st.launch_templates[&id])}))
}

/// DeleteLaunchTemplate.
pub fn delete_launch_template(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let t = find(st, input)?;
    let out = lt_json(st, t);
    let id = t.id.clone();
    st.launch_templates.remove(&id);
    st.tags.remove(&id);
    Ok(json!({"LaunchTemplate": out}))
}

struct LtView<'a>(&'a LaunchTemplate, Option<&'a Tags>);

impl Filterable for LtView<'_> {
    fn field(&self, name: &str) -> Option<Vec<String>> {
        Some(vec![match name {
            "launch-template-name" => self.0.name.clone(),
            "create-time" => self.0.created.to_iso8601_millis(),
            _ => return None,
        }])
    }
    fn tags(&self) -> Option<&Tags> {
        self.1
    }
}

/// DescribeLaunchTemplates.
pub fn describe_launch_templates(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let ids = input.str_list(m::LaunchTemplateIds);
    let names = input.str_list(m::LaunchTemplateNames);
    for id in &ids {
        find(st, &json!({"LaunchTemplateId": id}))?;
    }
    for n in &names {
        find(st, &json!({"LaunchTemplateName": n}))?;
    }
    let filters = filter::filters(input)?;
    let mut out = Vec::new();
    for t in st.launch_templates.values() {
        if (!ids.is_empty() && !ids.contains(&t.id))
            || (!names.is_empty() && !names.contains(&t.name))
        {
            continue;
        }
        if filter::matches(&LtView(t, st.tags.get(&t.id)), &filters)? {
            out.push(lt_json(st, t));
        }
    }
    let (page, next) = filter::page(
        out,
        input,
        PageLimits {
            min: 1,
            max: 200,
            default: None,
        },
    )?;
    Ok(filter::page_output("LaunchTemplates", page, next))
}

/// DescribeLaunchTemplateVersions.
pub fn describe_launch_template_versions(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let templates: Vec<&LaunchTemplate> =
        if input.get(m::LaunchTemplateId).is_some() || input.get(m::LaunchTemplateName).is_some() {
            vec![find(st, input)?]
        } else {
            if !input.str_list(m::Versions).is_empty() {
                return Err(AwsError::missing("LaunchTemplateId or LaunchTemplateName"));
            }
            st.launch_templates.values().collect()
        };
    let wanted = input.str_list(m::Versions);
    let min = input
        .opt_str(m::MinVersion)
        .and_then(|v| v.parse::<i64>().ok());
    let max = input
        .opt_str(m::MaxVersion)
        .and_then(|v| v.parse::<i64>().ok());
    let filters = filter::filters(input)?;
    let mut out = Vec::new();
    for t in templates {
        let mut chosen: Vec<&LaunchTemplateVersion> = Vec::new();
        if wanted.is_empty() {
            chosen.extend(t.versions.values());
        } else {
            for w in &wanted {
                let v = version(t, w)?;
                if !chosen.iter().any(|c| c.number == v.number) {
                    chosen.push(v);
                }
            }
        }
        for v in chosen {
            if min.is_some_and(|m| v.number < m) || max.is_some_and(|m| v.number > m) {
                continue;
            }
            struct V<'a>(&'a LaunchTemplateVersion, bool);
            impl Filterable for V<'_> {
                fn field(&self, name: &str) -> Option<Vec<String>> {
                    Some(vec![match name {
                        "is-default-version" => self.1.to_string(),
                        "instance-type" => self
                            .0
                            .data
                            .opt_str(m::InstanceType)
                            .unwrap_or_default()
                            .to_string(),
                        "image-id" => self
                            .0
                            .data
                            .opt_str(m::ImageId)
                            .unwrap_or_default()
                            .to_string(),
                        _ => return None,
                    }])
                }
            }
            if filter::matches(&V(v, v.number == t.default_version), &filters)? {
                out.push(version_json(st, t, v));
            }
        }
    }
    let (page, next) = filter::page(
        out,
        input,
        PageLimits {
            min: 1,
            max: 200,
            default: None,
        },
    )?;
    Ok(filter::page_output("LaunchTemplateVersions", page, next))
}
