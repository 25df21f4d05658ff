//! Classic ELB listeners: CreateLoadBalancerListeners, DeleteLoadBalancerListeners, and the
//! listener checks CreateLoadBalancer shares.
//!
//! A listener is a front-end protocol and port (`HTTP`, `HTTPS`, `TCP`, `SSL`; ports 1-65535)
//! forwarded to an instance protocol and port. The instance protocol defaults as AWS does
//! (`HTTP` behind `HTTP`/`HTTPS`, `TCP` behind `TCP`/`SSL`); layer-7 front ends need layer-7
//! back ends. `HTTPS`/`SSL` listeners need an `SSLCertificateId` (not looked up). Adding a
//! listener identical to an existing one succeeds; a different one on a taken port is
//! `DuplicateListener`. Deleting a port without a listener succeeds.

use super::{get_lb, get_lb_mut, Listener};
use crate::aws_err;
use crate::ec2::input::Input;
use crate::error::AwsResult;
use crate::members::elb as m;
use crate::region::RegionState;
use serde_json::{json, Value};

fn port(v: &Value, member: &str) -> AwsResult<i64> {
    let p = v.opt_i64(member).ok_or_else(|| {
        aws_err!(
            ValidationError,
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        )
    })?;
    if !(1..=65535).contains(&p) {
        return Err(aws_err!(
            ValidationError,
            "1 validation error detected: Value '{p}' at '{member}' failed to satisfy constraint: Member must have value between 1 and 65535"
        ));
    }
    Ok(p)
}

fn protocol(raw: &str) -> AwsResult<String> {
    let p = raw.to_ascii_uppercase();
    if ["HTTP", "HTTPS", "TCP", "SSL"].contains(&p.as_str()) {
        Ok(p)
    } else {
        Err(aws_err!(
            ElbUnsupportedProtocol,
            "Protocol '{raw}' is not supported: use HTTP, HTTPS, TCP or SSL"
        ))
    }
}

fn is_layer7(p: &str) -> bool {
    p == "HTTP" || p == "HTTPS"
}

/// Reads and checks one `Listener`.
pub fn parse_listener(v: &Value) -> AwsResult<Listener> {
    let proto = protocol(v.req_str(m::Protocol)?)?;
    let lb_port = port(v, "LoadBalancerPort")?;
    let instance_port = port(v, "InstancePort")?;
    let instance_protocol = match v.opt_str(m::InstanceProtocol) {
        Some(p) => protocol(p)?,
        None if is_layer7(&proto) => "HTTP".to_string(),
        None => "TCP".to_string(),
    };
    if is_layer7(&proto) != is_layer7(&instance_protocol) {
        return Err(aws_err!(
            ValidationError,
            "Listener protocol '{proto}' is not compatible with instance protocol '{instance_protocol}'"
        ));
    }
    let certificate = v.opt_str(m::SSLCertificateId).map(str::to_string);
    if (proto == "HTTPS" || proto == "SSL") && certificate.is_none() {
        return Err(aws_err!(
            ValidationError,
            "SSLCertificateId is required for a listener with protocol {proto}"
        ));
    }
    Ok(Listener {
        protocol: proto,
        port: lb_port,
        instance_protocol,
        instance_port,
        certificate,
        policies: Vec::new(),
    })
}

fn same(a: &Listener, b: &Listener) -> bool {
    a.protocol == b.protocol
        && a.instance_port == b.instance_port
        && a.instance_protocol == b.instance_protocol
        && a.certificate == b.certificate
}

fn duplicate(name: &str, port: i64) -> crate::error::AwsError {
    aws_err!(
        ElbDuplicateListener,
        "A listener already exists for {name} with LoadBalancerPort {port}, but with a different InstancePort, Protocol, or SSLCertificateId"
    )
}

/// Reads a request's listeners; one port twice with different settings is `DuplicateListener`.
pub fn parse_listeners(items: &[Value]) -> AwsResult<Vec<Listener>> {
    let mut out: Vec<Listener> = Vec::new();
    for v in items {
        let l = parse_listener(v)?;
        match out.iter().find(|x| x.port == l.port) {
            Some(x) if same(x, &l) => {}
            Some(_) => {
                return Err(aws_err!(
                    ElbDuplicateListener,
                    "Duplicate LoadBalancerPort {} in the listeners of the request",
                    l.port
                ))
            }
            None => out.push(l),
        }
    }
    Ok(out)
}

/// A listener as the `Listener` shape.
pub fn listener_json(l: &Listener) -> Value {
    let mut v = json!({
        "Protocol": l.protocol,
        "LoadBalancerPort": l.port,
        "InstanceProtocol": l.instance_protocol,
        "InstancePort": l.instance_port,
    });
    if let Some(c) = &l.certificate {
        v["SSLCertificateId"] = json!(c);
    }
    v
}

/// CreateLoadBalancerListeners.
pub fn create_listeners(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let lb = get_lb(st, name)?;
    let listeners = parse_listeners(input.obj_list(m::Listeners))?;
    for l in &listeners {
        if let Some(x) = lb.listeners.get(&l.port) {
            if !same(x, l) {
                return Err(duplicate(name, l.port));
            }
        }
    }
    let lb = get_lb_mut(st, name)?;
    for l in listeners {
        lb.listeners.entry(l.port).or_insert(l);
    }
    Ok(json!({}))
}

/// DeleteLoadBalancerListeners.
pub fn delete_listeners(st: &mut RegionState, input: &Value) -> AwsResult<Value> {
    let name = input.req_str(m::LoadBalancerName)?;
    let ports: Vec<i64> = input
        .get(m::LoadBalancerPorts)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let lb = get_lb_mut(st, name)?;
    for p in ports {
        lb.listeners.remove(&p);
    }
    Ok(json!({}))
}
