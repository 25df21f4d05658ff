//! Listener rules: CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities.
//!
//! Rules as AWS has them: rules belong to ALB listeners; priorities are 1–50000 and unique on a
//! listener (`PriorityInUse`); conditions `host-header`, `path-pattern`, `http-header`,
//! `http-request-method`, `query-string` and `source-ip`, in the legacy `Field`/`Values` form
//! (host-header and path-pattern, one value) or with their `…Config`; at most one host-header,
//! path-pattern, http-request-method and source-ip condition per rule and at most five condition
//! values in all (`ValidationError`); at most 100 rules per load balancer, default rules aside
//! (`TooManyRules`). Every
//! listener has a default rule (`IsDefault`, priority `default`) that cannot be deleted or
//! re-prioritised (`OperationNotPermitted`); unknown rules are `RuleNotFound`.
//!
//! Simplified: `RegexValues` and rule transforms are refused with an error naming them.

use super::actions::read_actions;
use super::tags::{read_tags, set_tags};
use super::{
    check_arn, get_lb, get_listener, get_rule, page, page_window, refresh_usage, validation,
    LbType, Rule,
};
use crate::aws_err;
use crate::ec2::cidr::Cidr;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elbv2 as m;
use crate::region::RegionState;
use serde_json::{json, Value};

/// The most rules (besides default rules) on one load balancer (AWS's default quota).
pub const MAX_RULES: usize = 100;

/// The most condition values in one rule.
pub const MAX_CONDITION_VALUES: usize = 5;

const FIELDS: &str =
    "[http-header, http-request-method, host-header, path-pattern, query-string, source-ip]";

fn check_priority(p: i64) -> AwsResult<()> {
    if (1..=50000).contains(&p) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{p}' at 'priority' failed to satisfy constraint: Member must have value between 1 and 50000"
        )))
    }
}

fn check_value(field: &str, v: &str) -> AwsResult<()> {
    let ok_char = |c: char| match field {
        "host-header" => c.is_ascii_alphanumeric() || "-.*?".contains(c),
        "path-pattern" => c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?;%=".contains(c),
        "http-request-method" => c.is_ascii_uppercase() || "-_".contains(c),
        _ => !c.is_control(),
    };
    let max = if field == "http-request-method" {
        40
    } else {
        128
    };
    if v.is_empty() || v.chars().count() > max || !v.chars().all(ok_char) {
        return Err(validation(format!(
            "The condition value '{v}' is not valid for the field '{field}'"
        )));
    }
    Ok(())
}

fn config_values(c: &Value, config: &str) -> Option<Vec<String>> {
    c.obj(config).map(|o| o.str_list(m::Values))
}

/// Reads and checks a rule's `Conditions`; answers them in AWS's output shape.
pub fn read_conditions(list: &[Value]) -> AwsResult<Vec<Value>> {
    if list.is_empty() {
        return Err(validation("A rule must have at least one condition"));
    }
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut total = 0usize;
    for c in list {
        let field = c
            .opt_str(m::Field)
            .ok_or_else(|| validation("A condition field must be specified"))?;
        if c.get(m::RegexValues).is_some()
            || ["HostHeaderConfig", "PathPatternConfig", "HttpHeaderConfig"]
                .iter()
                .any(|k| c.obj(k).is_some_and(|o| o.get(m::RegexValues).is_some()))
        {
            return Err(validation(
                "Regular expression conditions are not supported by cloudbox",
            ));
        }
        let legacy = c.get(m::Values).map(|_| c.str_list(m::Values));
        let once = matches!(
            field,
            "host-header" | "path-pattern" | "http-request-method" | "source-ip"
        );
        if once && seen.iter().any(|s| s == field) {
            return Err(validation(format!(
                "A rule can have only one '{field}' condition"
            )));
        }
        seen.push(field.to_string());
        let v = match field {
            "host-header" | "path-pattern" => {
                let config = if field == "host-header" {
                    "HostHeaderConfig"
                } else {
                    "PathPatternConfig"
                };
                let values = match (legacy, config_values(c, config)) {
                    (Some(_), Some(_)) => {
                        return Err(validation(format!(
                            "You cannot specify both 'Values' and '{config}' in one condition"
                        )))
                    }
                    (Some(l), None) if l.len() > 1 => {
                        return Err(validation(format!(
                            "A '{field}' condition in the 'Values' form can have only one value; use '{config}' for more"
                        )))
                    }
                    (Some(l), None) | (None, Some(l)) => l,
                    (None, None) => Vec::new(),
                };
                if values.is_empty() {
                    return Err(validation(format!(
                        "A '{field}' condition must have at least one value"
                    )));
                }
                for x in &values {
                    check_value(field, x)?;
                }
                total += values.len();
                let mut v = json!({"Field": field, "Values": values});
                v[config] = json!({"Values": values});
                v
            }
            "http-header" => {
                if legacy.is_some() {
                    return Err(validation(
                        "An 'http-header' condition needs 'HttpHeaderConfig'; 'Values' is for host-header and path-pattern",
                    ));
                }
                let cfg = c.obj(m::HttpHeaderConfig).ok_or_else(|| {
                    validation("An 'http-header' condition needs 'HttpHeaderConfig'")
                })?;
                let name = cfg.opt_str(m::HttpHeaderName).unwrap_or_default();
                if name.is_empty()
                    || name.len() > 40
                    || !name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(ch))
                {
                    return Err(validation(format!(
                        "The HTTP header name '{name}' is not valid"
                    )));
                }
                let values = cfg.str_list(m::Values);
                if values.is_empty() {
                    return Err(validation(
                        "An 'http-header' condition must have at least one value",
                    ));
                }
                for x in &values {
                    check_value(field, x)?;
                }
                total += values.len();
                json!({"Field": field, "HttpHeaderConfig": {"HttpHeaderName": name, "Values": values}})
            }
            "http-request-method" => {
                let values = config_values(c, "HttpRequestMethodConfig").unwrap_or_default();
                if legacy.is_some() || values.is_empty() {
                    return Err(validation(
                        "An 'http-request-method' condition needs 'HttpRequestMethodConfig' with at least one value",
                    ));
                }
                for x in &values {
                    check_value(field, x)?;
                }
                total += values.len();
                json!({"Field": field, "HttpRequestMethodConfig": {"Values": values}})
            }
            "query-string" => {
                let pairs = c
                    .obj(m::QueryStringConfig)
                    .map(|o| o.obj_list(m::Values).to_vec())
                    .unwrap_or_default();
                if legacy.is_some() || pairs.is_empty() {
                    return Err(validation(
                        "A 'query-string' condition needs 'QueryStringConfig' with at least one key/value pair",
                    ));
                }
                let mut vals = Vec::new();
                for p in &pairs {
                    let value = p.opt_str(m::Value).unwrap_or_default();
                    check_value(field, value)?;
                    let mut o = json!({"Value": value});
                    if let Some(k) = p.opt_str(m::Key) {
                        check_value(field, k)?;
                        o["Key"] = json!(k);
                    }
                    vals.push(o);
                }
                total += vals.len();
                json!({"Field": field, "QueryStringConfig": {"Values": vals}})
            }
            "source-ip" => {
                let values = config_values(c, "SourceIpConfig").unwrap_or_default();
                if legacy.is_some() || values.is_empty() {
                    return Err(validation(
                        "A 'source-ip' condition needs 'SourceIpConfig' with at least one CIDR block",
                    ));
                }
                for x in &values {
                    if Cidr::parse(x).is_none() {
                        return Err(validation(format!(
                            "The source IP '{x}' is not a valid IPv4 CIDR block"
                        )));
                    }
                }
                total += values.len();
                json!({"Field": field, "SourceIpConfig": {"Values": values}})
            }
            other => {
                return Err(validation(format!(
                    "Condition field '{other}' must be one of '{FIELDS}'"
                )))
            }
        };
        out.push(v);
    }
    if total > MAX_CONDITION_VALUES {
        return Err(validation(format!(
            "A rule can only have '{MAX_CONDITION_VALUES}' condition values"
        )));
    }
    Ok(out)
}

/// A rule as the `Rule` shape.
pub fn rule_json(r: &Rule) -> Value {
    json!({
        "RuleArn": r.arn,
        "Priority": r.priority.map_or_else(|| "default".to_string(), |p| p.to_string()),
        "Conditions": r.conditions,
        "Actions": r.actions,
        "IsDefault": r.priority.is_none(),
    })
}

fn priority_in_use(p: i64) -> crate::error::AwsError {
    aws_err!(PriorityInUse, "Priority '{p}' is currently in use")
}

fn refuse_transforms(input: &Value) -> AwsResult<()> {
    if !input.obj_list(m::Transforms).is_empty() {
        return Err(validation("Rule transforms are not supported by cloudbox"));
    }
    Ok(())
}

/// CreateRule.
pub fn create_rule(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let listener_arn = input.req_str(m::ListenerArn)?;
    let l = get_listener(st, listener_arn)?;
    let lb = get_lb(st, &l.lb_arn)?;
    if lb.lb_type == LbType::Network {
        return Err(validation(
            "Rules can be added only to listeners of application load balancers",
        ));
    }
    let priority = input
        .opt_i64(m::Priority)
        .ok_or_else(|| validation("A rule priority must be specified"))?;
    check_priority(priority)?;
    refuse_transforms(input)?;
    let conditions = read_conditions(input.obj_list(m::Conditions))?;
    let actions = read_actions(st, input.obj_list(m::Actions), lb, &l.protocol)?;
    let tags = read_tags(input)?;
    if st
        .elbv2
        .rules
        .values()
        .any(|r| r.listener_arn == listener_arn && r.priority == Some(priority))
    {
        return Err(priority_in_use(priority));
    }
    let on_lb = st
        .elbv2
        .rules
        .values()
        .filter(|r| {
            r.priority.is_some()
                && st
                    .elbv2
                    .listeners
                    .get(&r.listener_arn)
                    .is_some_and(|o| o.lb_arn == lb.arn)
        })
        .count();
    if on_lb >= MAX_RULES {
        return Err(aws_err!(
            TooManyRules,
            "You've reached the limit on the number of rules per load balancer"
        ));
    }
    let path = listener_arn
        .split_once(":listener/")
        .map(|(_, p)| p.to_string())
        .unwrap_or_default();
    let id = st.ids.hex(16);
    let arn = st.arn(
        "elasticloadbalancing",
        &format!("listener-rule/{path}/{id}"),
    );
    let seq = st.elbv2.next_seq();
    let rule = Rule {
        arn: arn.clone(),
        listener_arn: listener_arn.to_string(),
        priority: Some(priority),
        conditions,
        actions,
        seq,
    };
    let out = rule_json(&rule);
    st.elbv2.rules.insert(arn.clone(), rule);
    set_tags(st, &arn, tags);
    refresh_usage(st);
    Ok(json!({"Rules": [out]}))
}

fn sort_rules(rules: &mut [&Rule]) {
    rules.sort_by_key(|r| (r.priority.is_none(), r.priority, r.seq));
}

/// DescribeRules: a listener's rules by priority (the default rule last), or rules by ARN.
pub fn describe_rules(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let listener = input.opt_str(m::ListenerArn);
    let arns = input.str_list(m::RuleArns);
    let (offset, size) = page_window(input)?;
    let mut picked: Vec<&Rule> = match (listener, arns.is_empty()) {
        (None, true) => {
            return Err(validation(
                "You must specify either listener rule ARNs or a listener ARN",
            ))
        }
        (Some(_), false) => {
            return Err(validation(
                "Listener rule ARNs and a listener ARN cannot be specified at the same time",
            ))
        }
        (Some(l), true) => {
            get_listener(st, l)?;
            st.elbv2
                .rules
                .values()
                .filter(|r| r.listener_arn == l)
                .collect()
        }
        (None, false) => {
            for a in &arns {
                check_arn(a, "listener-rule", "listener rule")?;
            }
            if arns.iter().any(|a| !st.elbv2.rules.contains_key(a)) {
                return Err(aws_err!(RuleNotFound, "One or more rules not found"));
            }
            st.elbv2
                .rules
                .values()
                .filter(|r| arns.contains(&r.arn))
                .collect()
        }
    };
    sort_rules(&mut picked);
    let items = picked.into_iter().map(rule_json).collect();
    let (items, next) = page(items, offset, size)?;
    let mut out = json!({"Rules": items});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

/// ModifyRule: conditions and/or actions (a default rule's actions only; they are its
/// listener's default actions).
pub fn modify_rule(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::RuleArn)?;
    let rule = get_rule(st, arn)?.clone();
    refuse_transforms(input)?;
    let l = get_listener(st, &rule.listener_arn)?;
    let lb = get_lb(st, &l.lb_arn)?;
    let given_conditions = input.obj_list(m::Conditions);
    let given_actions = input.obj_list(m::Actions);
    if given_conditions.is_empty() && given_actions.is_empty() {
        return Err(validation("Either conditions or actions must be specified"));
    }
    if rule.priority.is_none() && !given_conditions.is_empty() {
        return Err(aws_err!(
            OperationNotPermitted,
            "The conditions of the default rule '{arn}' cannot be modified"
        ));
    }
    let conditions = if given_conditions.is_empty() {
        rule.conditions.clone()
    } else {
        read_conditions(given_conditions)?
    };
    let actions = if given_actions.is_empty() {
        rule.actions.clone()
    } else {
        read_actions(st, given_actions, lb, &l.protocol)?
    };
    let listener_arn = rule.listener_arn.clone();
    let Some(r) = st.elbv2.rules.get_mut(arn) else {
        return Err(aws_err!(RuleNotFound, "One or more rules not found"));
    };
    r.conditions = conditions;
    r.actions = actions.clone();
    let out = rule_json(r);
    if rule.priority.is_none() {
        if let Some(l) = st.elbv2.listeners.get_mut(&listener_arn) {
            l.default_actions = actions;
        }
    }
    refresh_usage(st);
    Ok(json!({"Rules": [out]}))
}

/// DeleteRule (never the default rule).
pub fn delete_rule(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::RuleArn)?;
    if get_rule(st, arn)?.priority.is_none() {
        return Err(aws_err!(
            OperationNotPermitted,
            "Default rule '{arn}' cannot be deleted"
        ));
    }
    st.elbv2.rules.remove(arn);
    st.elbv2.tags.remove(arn);
    refresh_usage(st);
    Ok(json!({}))
}

/// SetRulePriorities: all or nothing.
pub fn set_rule_priorities(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let pairs = input.obj_list(m::RulePriorities);
    if pairs.is_empty() {
        return Err(validation("At least one rule priority must be specified"));
    }
    let mut wanted: Vec<(String, i64)> = Vec::new();
    for p in pairs {
        let arn = p.opt_str(m::RuleArn).unwrap_or_default();
        let priority = p
            .opt_i64(m::Priority)
            .ok_or_else(|| validation("A rule priority must be specified"))?;
        check_priority(priority)?;
        let rule = get_rule(st, arn)?;
        if rule.priority.is_none() {
            return Err(aws_err!(
                OperationNotPermitted,
                "The priority of the default rule '{arn}' cannot be changed"
            ));
        }
        if wanted.iter().any(|(a, _)| a == arn) {
            return Err(validation(format!(
                "Rule '{arn}' was provided multiple times"
            )));
        }
        if wanted.iter().any(|(a, q)| {
            *q == priority
                && st.elbv2.rules.get(a).map(|r| &r.listener_arn) == Some(&rule.listener_arn)
        }) {
            return Err(validation(format!(
                "Priority '{priority}' was provided multiple times"
            )));
        }
        wanted.push((arn.to_string(), priority));
    }
    for (arn, priority) in &wanted {
        let Some(listener) = st.elbv2.rules.get(arn).map(|r| r.listener_arn.clone()) else {
            continue;
        };
        let clash = st.elbv2.rules.values().any(|r| {
            r.listener_arn == listener
                && r.priority == Some(*priority)
                && !wanted.iter().any(|(a, _)| a == &r.arn)
        });
        if clash {
            return Err(priority_in_use(*priority));
        }
    }
    let mut out = Vec::new();
    for (arn, priority) in wanted {
        if let Some(r) = st.elbv2.rules.get_mut(&arn) {
            r.priority = Some(priority);
            out.push(rule_json(r));
        }
    }
    Ok(json!({"Rules": out}))
}
