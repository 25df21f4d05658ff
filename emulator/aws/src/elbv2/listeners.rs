//! Listeners: CreateListener, DescribeListeners, ModifyListener, DeleteListener,
//! DescribeListenerCertificates.
//!
//! Rules as AWS has them: one listener per port of a load balancer (`DuplicateListener`; the
//! same request twice answers the existing listener; ModifyListener onto a taken port is
//! `ValidationError` "Listener port '80' is already in use"); the protocol must fit the load balancer
//! (ALB: HTTP, HTTPS; NLB: TCP, TLS, UDP, TCP_UDP — otherwise `ValidationError` "Listener
//! protocol 'TCP' must be one of 'HTTPS, HTTP'", as AWS answers); HTTPS and
//! TLS need one certificate (`ValidationError`), an ACM or IAM certificate ARN
//! (`CertificateNotFound`), and a known SSL policy (`SSLPolicyNotFound`, default
//! `ELBSecurityPolicy-2016-08`); at most 50 listeners per load balancer (`TooManyListeners`).
//! Each listener has a default rule carrying its default actions; deleting a listener deletes
//! its rules.
//!
//! AddListenerCertificates/RemoveListenerCertificates manage the extra (SNI) certificates of
//! HTTPS/TLS listeners (at most 25; the default certificate is changed only by ModifyListener);
//! DescribeListeners shows the default certificate only, DescribeListenerCertificates all.
//!
//! Simplified: a certificate ARN of the right form is taken as existing (cloudbox has no ACM);
//! mutual TLS is refused.

use super::actions::read_actions;
use super::tags::{read_tags, set_tags};
use super::{
    get_lb, get_listener, page, page_window, refresh_usage, validation, LbType, Listener, Rule,
};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elbv2 as m;
use crate::region::RegionState;
use serde_json::{json, Value};

/// The most listeners on one load balancer.
pub const MAX_LISTENERS: usize = 50;

/// The SSL policy HTTPS and TLS listeners get unless told otherwise.
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

const SSL_POLICIES: &[&str] = &[
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-2015-05",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
];

const ALPN_POLICIES: &[&str] = &[
    "HTTP1Only",
    "HTTP2Only",
    "HTTP2Optional",
    "HTTP2Preferred",
    "None",
];

fn secure(protocol: &str) -> bool {
    matches!(protocol, "HTTPS" | "TLS")
}

fn check_protocol(protocol: &str, t: LbType) -> AwsResult<()> {
    match protocol {
        "HTTP" | "HTTPS" | "TCP" | "TLS" | "UDP" | "TCP_UDP" => {}
        "GENEVE" | "QUIC" | "TCP_QUIC" => {}
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE, QUIC, TCP_QUIC]"
            )))
        }
    }
    let allowed = match t {
        LbType::Application => "HTTPS, HTTP",
        LbType::Network => "TLS, TCP, TCP_UDP, UDP",
    };
    if allowed.split(", ").any(|a| a == protocol) {
        Ok(())
    } else {
        Err(validation(format!(
            "Listener protocol '{protocol}' must be one of '{allowed}'"
        )))
    }
}

fn check_port(port: i64) -> AwsResult<()> {
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{port}' at 'port' failed to satisfy constraint: Member must have value between 1 and 65535"
        )))
    }
}

/// Whether an ARN has the form of an ACM or IAM server certificate.
fn certificate_form(arn: &str) -> bool {
    let p: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6
        && p[0] == "arn"
        && ((p[2] == "acm" && p[5].starts_with("certificate/") && p[5].len() > 12)
            || (p[2] == "iam" && p[5].starts_with("server-certificate/") && p[5].len() > 19))
}

/// Reads `Certificates`, `SslPolicy` and `AlpnPolicy` for a listener of `protocol`; `current`
/// is the listener being modified.
fn tls_settings(
    input: &Value,
    protocol: &str,
    current: Option<&Listener>,
) -> AwsResult<(Vec<String>, Option<String>, Vec<String>)> {
    let given: Vec<String> = input
        .obj_list(m::Certificates)
        .iter()
        .filter_map(|c| c.opt_str(m::CertificateArn).map(str::to_string))
        .collect();
    let given_policy = input.opt_str(m::SslPolicy);
    let alpn = input.str_list(m::AlpnPolicy);
    if !secure(protocol) {
        if !given.is_empty() {
            return Err(validation(format!(
                "A certificate cannot be specified for {protocol} listeners"
            )));
        }
        if given_policy.is_some() {
            return Err(validation(format!(
                "An SSL policy cannot be specified for {protocol} listeners"
            )));
        }
        if !alpn.is_empty() {
            return Err(validation(
                "An ALPN policy can be specified only for TLS listeners",
            ));
        }
        return Ok((Vec::new(), None, Vec::new()));
    }
    if given.len() > 1 {
        return Err(aws_err!(
            TooManyCertificates,
            "You can specify only one certificate, the default certificate"
        ));
    }
    for c in &given {
        if !certificate_form(c) {
            return Err(aws_err!(CertificateNotFound, "Certificate '{c}' not found"));
        }
    }
    // The request's certificate becomes the default; extra (SNI) certificates stay.
    let mut certs: Vec<String> = given;
    if let Some(l) = current {
        for c in &l.certificates {
            if certs.is_empty() || (!certs.contains(c) && l.certificates.first() != Some(c)) {
                certs.push(c.clone());
            }
        }
    }
    if certs.is_empty() {
        return Err(validation(format!(
            "A certificate must be specified for {protocol} listeners"
        )));
    }
    let policy = match given_policy {
        Some(p) if !SSL_POLICIES.contains(&p) => {
            return Err(aws_err!(SSLPolicyNotFound, "SSL policy '{p}' not found"))
        }
        Some(p) => p.to_string(),
        None => current
            .and_then(|l| l.ssl_policy.clone())
            .unwrap_or_else(|| DEFAULT_SSL_POLICY.to_string()),
    };
    let alpn = if alpn.is_empty() {
        current.map(|l| l.alpn.clone()).unwrap_or_default()
    } else {
        if protocol != "TLS" {
            return Err(validation(
                "An ALPN policy can be specified only for TLS listeners",
            ));
        }
        if alpn.len() > 1 || !ALPN_POLICIES.contains(&alpn[0].as_str()) {
            return Err(validation(format!(
                "ALPN policy '{}' is not valid; it must be one of [{}]",
                alpn.join(", "),
                ALPN_POLICIES.join(", ")
            )));
        }
        alpn
    };
    Ok((certs, Some(policy), alpn))
}

/// A listener as the `Listener` shape.
pub fn listener_json(l: &Listener) -> Value {
    let mut v = json!({
        "ListenerArn": l.arn,
        "LoadBalancerArn": l.lb_arn,
        "Port": l.port,
        "Protocol": l.protocol,
        "DefaultActions": l.default_actions,
    });
    if let Some(c) = l.certificates.first() {
        // DescribeListeners shows the default certificate only.
        v["Certificates"] = json!([{"CertificateArn": c}]);
    }
    if let Some(p) = &l.ssl_policy {
        v["SslPolicy"] = json!(p);
    }
    if !l.alpn.is_empty() {
        v["AlpnPolicy"] = json!(l.alpn);
    }
    v
}

fn refuse_mtls(input: &Value) -> AwsResult<()> {
    if let Some(m) = input.obj(m::MutualAuthentication) {
        if m.opt_str(m::Mode).is_some_and(|x| x != "off") {
            return Err(validation(
                "Mutual TLS authentication is not supported by cloudbox",
            ));
        }
    }
    Ok(())
}

/// CreateListener (with its default rule).
pub fn create_listener(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb_arn = input.req_str(m::LoadBalancerArn)?;
    let lb = get_lb(st, lb_arn)?;
    let protocol = input
        .opt_str(m::Protocol)
        .ok_or_else(|| validation("A listener protocol must be specified"))?;
    check_protocol(protocol, lb.lb_type)?;
    let port = input
        .opt_i64(m::Port)
        .ok_or_else(|| validation("A listener port must be specified"))?;
    check_port(port)?;
    refuse_mtls(input)?;
    let (certs, policy, alpn) = tls_settings(input, protocol, None)?;
    let actions = read_actions(st, input.obj_list(m::DefaultActions), lb, protocol)?;
    let tags = read_tags(input)?;
    if let Some(existing) = st
        .elbv2
        .listeners
        .values()
        .find(|l| l.lb_arn == lb_arn && l.port == port)
    {
        if existing.protocol == protocol
            && existing.certificates.first() == certs.first()
            && existing.default_actions == actions
        {
            return Ok(json!({"Listeners": [listener_json(existing)]}));
        }
        return Err(aws_err!(
            DuplicateListener,
            "A listener already exists on this port for this load balancer '{lb_arn}'"
        ));
    }
    if st
        .elbv2
        .listeners
        .values()
        .filter(|l| l.lb_arn == lb_arn)
        .count()
        >= MAX_LISTENERS
    {
        return Err(aws_err!(
            TooManyListeners,
            "You've reached the limit on the number of listeners per load balancer"
        ));
    }
    let lb_path = lb_arn
        .split_once(":loadbalancer/")
        .map(|(_, p)| p.to_string())
        .unwrap_or_default();
    let id = st.ids.hex(16);
    let arn = st.arn("elasticloadbalancing", &format!("listener/{lb_path}/{id}"));
    let rule_id = st.ids.hex(16);
    let rule_arn = st.arn(
        "elasticloadbalancing",
        &format!("listener-rule/{lb_path}/{id}/{rule_id}"),
    );
    let seq = st.elbv2.next_seq();
    let listener = Listener {
        arn: arn.clone(),
        lb_arn: lb_arn.to_string(),
        port,
        protocol: protocol.to_string(),
        certificates: certs,
        ssl_policy: policy,
        alpn,
        default_actions: actions.clone(),
        attributes: super::attributes::listener_defaults(protocol),
        seq,
    };
    let out = listener_json(&listener);
    st.elbv2.listeners.insert(arn.clone(), listener);
    let rseq = st.elbv2.next_seq();
    st.elbv2.rules.insert(
        rule_arn.clone(),
        Rule {
            arn: rule_arn,
            listener_arn: arn.clone(),
            priority: None,
            conditions: Vec::new(),
            actions,
            seq: rseq,
        },
    );
    set_tags(st, &arn, tags);
    refresh_usage(st);
    Ok(json!({"Listeners": [out]}))
}

/// DescribeListeners: by load balancer or by ARNs, in creation order, paged.
pub fn describe_listeners(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let lb = input.opt_str(m::LoadBalancerArn);
    let arns = input.str_list(m::ListenerArns);
    let (offset, size) = page_window(input)?;
    let mut all: Vec<&Listener> = st.elbv2.listeners.values().collect();
    all.sort_by_key(|l| l.seq);
    let picked: Vec<&Listener> = match (lb, arns.is_empty()) {
        (None, true) => {
            return Err(validation(
                "You must specify either listener ARNs or a load balancer ARN",
            ))
        }
        (Some(_), false) => {
            return Err(validation(
                "Listener ARNs and a load balancer ARN cannot be specified at the same time",
            ))
        }
        (Some(lb), true) => {
            get_lb(st, lb)?;
            all.into_iter().filter(|l| l.lb_arn == lb).collect()
        }
        (None, false) => {
            for a in &arns {
                super::check_arn(a, "listener", "listener")?;
            }
            if arns.iter().any(|a| !st.elbv2.listeners.contains_key(a)) {
                return Err(aws_err!(
                    ListenerNotFound,
                    "One or more listeners not found"
                ));
            }
            all.into_iter().filter(|l| arns.contains(&l.arn)).collect()
        }
    };
    let items = picked.into_iter().map(listener_json).collect();
    let (items, next) = page(items, offset, size)?;
    let mut out = json!({"Listeners": items});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

/// ModifyListener: port, protocol, certificate, SSL policy and default actions; what is not
/// given stays, and stays valid for the new protocol.
pub fn modify_listener(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::ListenerArn)?;
    let current = get_listener(st, arn)?.clone();
    let lb = get_lb(st, &current.lb_arn)?;
    let protocol = input
        .opt_str(m::Protocol)
        .unwrap_or(&current.protocol)
        .to_string();
    check_protocol(&protocol, lb.lb_type)?;
    let port = input.opt_i64(m::Port).unwrap_or(current.port);
    check_port(port)?;
    refuse_mtls(input)?;
    let (certs, policy, alpn) = tls_settings(input, &protocol, Some(&current))?;
    let given = input.obj_list(m::DefaultActions);
    let actions = if given.is_empty() {
        read_actions(st, &current.default_actions, lb, &protocol)?
    } else {
        read_actions(st, given, lb, &protocol)?
    };
    if st
        .elbv2
        .listeners
        .values()
        .any(|l| l.lb_arn == current.lb_arn && l.port == port && l.arn != arn)
    {
        return Err(validation(format!(
            "Listener port '{port}' is already in use"
        )));
    }
    let Some(l) = st.elbv2.listeners.get_mut(arn) else {
        return Err(aws_err!(ListenerNotFound, "Listener '{arn}' not found"));
    };
    l.port = port;
    if l.protocol != protocol {
        let mut attrs = super::attributes::listener_defaults(&protocol);
        for (k, v) in attrs.iter_mut() {
            if let Some(old) = l.attributes.get(k) {
                v.clone_from(old);
            }
        }
        l.attributes = attrs;
    }
    l.protocol = protocol;
    l.certificates = certs;
    l.ssl_policy = policy;
    l.alpn = alpn;
    l.default_actions = actions.clone();
    let out = listener_json(l);
    for r in st.elbv2.rules.values_mut() {
        if r.listener_arn == arn && r.priority.is_none() {
            r.actions = actions.clone();
        }
    }
    refresh_usage(st);
    Ok(json!({"Listeners": [out]}))
}

/// Removes a listener, its rules and their tags (no checks; usage not refreshed).
pub fn remove_listener(st: &mut RegionState, arn: &str) {
    st.elbv2.listeners.remove(arn);
    st.elbv2.tags.remove(arn);
    let rules: Vec<String> = st
        .elbv2
        .rules
        .values()
        .filter(|r| r.listener_arn == arn)
        .map(|r| r.arn.clone())
        .collect();
    for r in rules {
        st.elbv2.rules.remove(&r);
        st.elbv2.tags.remove(&r);
    }
}

/// DeleteListener (and its rules).
pub fn delete_listener(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::ListenerArn)?;
    get_listener(st, arn)?;
    remove_listener(st, arn);
    refresh_usage(st);
    Ok(json!({}))
}

/// DescribeListenerCertificates.
pub fn describe_listener_certificates(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let l = get_listener(st, input.req_str(m::ListenerArn)?)?;
    let (offset, size) = page_window(input)?;
    let items = l
        .certificates
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"CertificateArn": c, "IsDefault": i == 0}))
        .collect();
    let (items, next) = page(items, offset, size)?;
    let mut out = json!({"Certificates": items});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

/// The most certificates on one listener (default included).
pub const MAX_CERTIFICATES: usize = 25;

fn listed_certificates(input: &Value) -> AwsResult<Vec<String>> {
    let list: Vec<String> = input
        .obj_list(m::Certificates)
        .iter()
        .filter_map(|c| c.opt_str(m::CertificateArn).map(str::to_string))
        .collect();
    if list.is_empty() {
        return Err(validation("At least one certificate must be specified"));
    }
    Ok(list)
}

/// AddListenerCertificates: extra certificates of an HTTPS or TLS listener.
pub fn add_listener_certificates(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::ListenerArn)?;
    let l = get_listener(st, arn)?;
    if !secure(&l.protocol) {
        return Err(validation(format!(
            "Certificates cannot be added to {} listeners",
            l.protocol
        )));
    }
    let list = listed_certificates(input)?;
    for c in &list {
        if !certificate_form(c) {
            return Err(aws_err!(CertificateNotFound, "Certificate '{c}' not found"));
        }
    }
    let mut certs = l.certificates.clone();
    for c in list {
        if !certs.contains(&c) {
            certs.push(c);
        }
    }
    if certs.len() > MAX_CERTIFICATES {
        return Err(aws_err!(
            TooManyCertificates,
            "You've reached the limit on the number of certificates per load balancer"
        ));
    }
    let out: Vec<Value> = certs
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"CertificateArn": c, "IsDefault": i == 0}))
        .collect();
    if let Some(l) = st.elbv2.listeners.get_mut(arn) {
        l.certificates = certs;
    }
    Ok(json!({"Certificates": out}))
}

/// RemoveListenerCertificates: never the default certificate.
pub fn remove_listener_certificates(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let arn = input.req_str(m::ListenerArn)?;
    let l = get_listener(st, arn)?;
    let list = listed_certificates(input)?;
    if list.iter().any(|c| l.certificates.first() == Some(c)) {
        return Err(validation(
            "The default certificate of a listener cannot be removed; use ModifyListener to replace it",
        ));
    }
    if let Some(l) = st.elbv2.listeners.get_mut(arn) {
        l.certificates.retain(|c| !list.contains(c));
    }
    Ok(json!({}))
}
