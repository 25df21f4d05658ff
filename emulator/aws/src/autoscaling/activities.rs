//! Scaling activities: the record of every launch and termination a group makes, and
//! `DescribeScalingActivities`.
//!
//! An activity is `InProgress` while its instance is pending (launch) or shutting down
//! (termination) and becomes `Successful` with an `EndTime` and `Progress` 100 when the EC2
//! instance is running / terminated. A launch EC2 refuses (subnet full, no capacity) is a
//! `Failed` activity whose `StatusMessage` is EC2's message followed by "Launching EC2
//! instance failed." Causes use AWS's wording ("At 2026-01-01T00:00:00Z a user request
//! explicitly set group desired capacity changing the desired capacity from 0 to 4.  At … an
//! instance was started in response to a difference between desired and actual capacity,
//! increasing the capacity from 0 to 4."). Listed newest first; activities of deleted groups
//! only with `IncludeDeletedGroups`. Simplified: activities are kept for the life of the
//! region (AWS keeps six weeks).

use super::paging::{self, Limits};
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::autoscaling as m;
use crate::region::RegionState;
use cloudbox_sim::SimTime;
use serde_json::{json, Value};

/// An activity's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Under way.
    InProgress,
    /// Done.
    Successful,
    /// EC2 refused.
    Failed,
}

impl Status {
    /// AWS's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Successful => "Successful",
            Status::Failed => "Failed",
        }
    }
}

/// One scaling activity.
#[derive(Debug, Clone)]
pub struct Activity {
    /// UUID.
    pub id: String,
    /// The group's name.
    pub group: String,
    /// The group's ARN.
    pub group_arn: String,
    /// The group's epoch (to hide activities of deleted groups).
    pub epoch: u64,
    /// "Launching a new EC2 instance: i-…", "Terminating EC2 instance: i-…".
    pub description: String,
    /// Why.
    pub cause: String,
    /// Start.
    pub start: SimTime,
    /// End, once finished.
    pub end: Option<SimTime>,
    /// Status.
    pub status: Status,
    /// EC2's message for failures.
    pub status_message: Option<String>,
    /// 0–100.
    pub progress: i64,
    /// JSON details (subnet and AZ), as AWS gives them.
    pub details: String,
}

/// `At 2026-01-01T00:00:00Z` as AWS starts every clause of a cause.
pub fn at(t: SimTime) -> String {
    format!("At {}", t.to_rfc3339_secs())
}

/// Records an activity; returns its id.
pub fn record(st: &mut RegionState, group: &str, mut a: Activity) -> String {
    a.id = st.ids.uuid();
    a.group = group.to_string();
    if let Some(g) = st.autoscaling.groups.get(group) {
        a.group_arn = g.arn.clone();
        a.epoch = g.epoch;
    }
    let id = a.id.clone();
    st.autoscaling.activities.push(a);
    id
}

/// A blank activity starting now.
pub fn new(st: &RegionState, description: String, cause: String, status: Status) -> Activity {
    Activity {
        id: String::new(),
        group: String::new(),
        group_arn: String::new(),
        epoch: 0,
        description,
        cause,
        start: st.now,
        end: (status != Status::InProgress).then_some(st.now),
        status,
        status_message: None,
        progress: if status == Status::InProgress { 0 } else { 100 },
        details: String::new(),
    }
}

/// Marks an activity finished (`Successful`, progress 100, ended now).
pub fn finish(st: &mut RegionState, id: &str) {
    let now = st.now;
    if let Some(a) = st
        .autoscaling
        .activities
        .iter_mut()
        .rev()
        .find(|a| a.id == id)
    {
        if a.status == Status::InProgress {
            a.status = Status::Successful;
            a.progress = 100;
            a.end = Some(now);
        }
    }
}

/// Whether a group has an activity in progress.
pub fn in_progress(st: &RegionState, group: &str, epoch: u64) -> bool {
    st.autoscaling
        .activities
        .iter()
        .any(|a| a.group == group && a.epoch == epoch && a.status == Status::InProgress)
}

/// An activity as the `Activity` shape.
pub fn to_json(a: &Activity, deleted: bool) -> Value {
    let mut v = json!({
        "ActivityId": a.id,
        "AutoScalingGroupName": a.group,
        "AutoScalingGroupARN": a.group_arn,
        "Description": a.description,
        "Cause": a.cause,
        "StartTime": a.start.to_iso8601_millis(),
        "StatusCode": a.status.name(),
        "Progress": a.progress,
        "Details": a.details,
    });
    if let Some(e) = a.end {
        v["EndTime"] = json!(e.to_iso8601_millis());
    }
    if let Some(m) = &a.status_message {
        v["StatusMessage"] = json!(m);
    }
    if deleted {
        v["AutoScalingGroupState"] = json!("Deleted");
    }
    v
}

/// DescribeScalingActivities.
pub fn describe_scaling_activities(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let pg = paging::check(
        input,
        Limits {
            max: 100,
            default: 100,
        },
    )?;
    let known = |n: &str| n == "StatusCode";
    let filters = paging::filters(input, &known, "StatusCode")?;
    let ids = input.str_list(m::ActivityIds);
    let group = input.opt_str(m::AutoScalingGroupName);
    let include_deleted = input.opt_bool(m::IncludeDeletedGroups).unwrap_or(false);
    let live = |a: &Activity| {
        st.autoscaling
            .groups
            .get(&a.group)
            .is_some_and(|g| g.epoch == a.epoch)
    };
    let mut out = Vec::new();
    for a in st.autoscaling.activities.iter().rev() {
        if group.is_some_and(|g| g != a.group) || (!ids.is_empty() && !ids.contains(&a.id)) {
            continue;
        }
        let deleted = !live(a);
        if deleted && !include_deleted {
            continue;
        }
        if !filters
            .iter()
            .all(|f| f.values.iter().any(|v| v == a.status.name()))
        {
            continue;
        }
        out.push(to_json(a, deleted));
    }
    let (page, next) = paging::page(out, pg);
    Ok(paging::output("Activities", page, next))
}

/// The `Activity` shape of a recorded activity by id.
pub fn by_id(st: &RegionState, id: &str) -> Value {
    st.autoscaling
        .activities
        .iter()
        .rev()
        .find(|a| a.id == id)
        .map(|a| to_json(a, false))
        .unwrap_or_else(|| json!({}))
}
