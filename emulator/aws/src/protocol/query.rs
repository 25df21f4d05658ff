//! The `query` wire protocol (Elastic Load Balancing v2 and classic, Auto Scaling, STS).
//!
//! Requests: form-encoded `Action=…&Version=…` like EC2, but members are named by their
//! `locationName` or member name as is (no capitalisation), and list elements sit under
//! `member`: `Subnets.member.1=subnet-a`. Responses wrap the members in the operation's
//! `resultWrapper` and put the request id in `ResponseMetadata` after it:
//!
//! ```xml
//! <CreateLoadBalancerResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
//!   <CreateLoadBalancerResult><LoadBalancers><member>…</member></LoadBalancers></CreateLoadBalancerResult>
//!   <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//! </CreateLoadBalancerResponse>
//! ```
//! Errors use `<ErrorResponse>` with a `Type` (see [`serialize_error`]), where EC2 uses
//! `<Response><Errors>`.

use super::model::{Operation, ServiceModel};
use super::params::{parse_input, ParamNode, WireNames};
use super::xml;
use crate::error::{AwsError, AwsResult, Code};
use serde_json::Value;

/// Parameters every request carries that are not members of the input shape.
const ENVELOPE_PARAMS: &[&str] = &["Action", "Version"];

/// Parses the request parameters of `op` into a JSON object keyed by member names.
pub fn parse(model: &ServiceModel, op: &Operation, params: &ParamNode) -> AwsResult<Value> {
    match op.input {
        Some(shape) => parse_input(model, WireNames::Query, shape, params, ENVELOPE_PARAMS)
            .map_err(missing_as_validation),
        None => Ok(Value::Object(Default::default())),
    }
}

/// The query-protocol services answer a missing required member with their service framework's
/// `ValidationError`, not EC2's `MissingParameter`:
/// `1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null`
/// (the member named in lower camel case).
pub fn missing_as_validation(e: AwsError) -> AwsError {
    if e.code != Code::MissingParameter {
        return e;
    }
    let path = e
        .message
        .strip_prefix("The request must contain the parameter ")
        .unwrap_or(&e.message);
    let member = path
        .rsplit('.')
        .find(|seg| !seg.is_empty() && *seg != "member" && !seg.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(path);
    let mut camel = String::with_capacity(member.len());
    let mut chars = member.chars();
    if let Some(c) = chars.next() {
        camel.extend(c.to_lowercase());
    }
    camel.push_str(chars.as_str());
    AwsError::new(
        Code::ValidationError,
        format!("1 validation error detected: Value null at '{camel}' failed to satisfy constraint: Member must not be null"),
    )
}

/// The members of a response: everything inside the `resultWrapper` element (empty for
/// operations without an output shape).
pub fn serialize_members(model: &ServiceModel, op: &Operation, output: &Value) -> String {
    let mut out = String::with_capacity(256);
    if let Some(shape) = op.output {
        xml::write_members(&mut out, model, shape, output);
    }
    out
}

/// The text before and after the members of a response, so that shared (cached) members can be
/// sent between them without being copied. Operations without an output shape answer only
/// `ResponseMetadata`, as AWS does:
///
/// ```xml
/// <DeleteLoadBalancerResponse xmlns="…"><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></DeleteLoadBalancerResponse>
/// ```
pub fn envelope_parts(model: &ServiceModel, op: &Operation, request_id: &str) -> (String, String) {
    let mut head = xml::open_response(&op.name, &model.xml_namespace, false);
    let wrapper = op
        .result_wrapper
        .clone()
        .unwrap_or_else(|| format!("{}Result", op.name));
    let has_result = op.output.is_some();
    if has_result {
        head.push('<');
        head.push_str(&wrapper);
        head.push('>');
    }
    let mut tail = String::with_capacity(120);
    if has_result {
        tail.push_str("</");
        tail.push_str(&wrapper);
        tail.push('>');
    }
    tail.push_str("<ResponseMetadata><RequestId>");
    xml::escape(&mut tail, request_id);
    tail.push_str("</RequestId></ResponseMetadata></");
    tail.push_str(&op.name);
    tail.push_str("Response>");
    (head, tail)
}

/// Serializes a whole successful response.
pub fn serialize(model: &ServiceModel, op: &Operation, output: &Value, request_id: &str) -> String {
    let (head, tail) = envelope_parts(model, op, request_id);
    head + &serialize_members(model, op, output) + &tail
}

/// Serializes an error. Differs from EC2's `<Response><Errors>`: the root is `<ErrorResponse>`
/// with one `<Error>` carrying a `Type` (`Sender` for the client's fault, `Receiver` for the
/// service's), and the id element is `RequestId`.
///
/// ```xml
/// <ErrorResponse xmlns="…"><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code>
/// <Message>One or more load balancers not found</Message></Error>
/// <RequestId>…</RequestId></ErrorResponse>
/// ```
pub fn serialize_error(namespace: Option<&str>, err: &AwsError, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse");
    if let Some(ns) = namespace {
        out.push_str(" xmlns=\"");
        out.push_str(ns);
        out.push('"');
    }
    out.push_str("><Error><Type>");
    out.push_str(if err.status() >= 500 {
        "Receiver"
    } else {
        "Sender"
    });
    out.push_str("</Type><Code>");
    out.push_str(err.code.as_str());
    out.push_str("</Code><Message>");
    xml::escape(&mut out, &err.message);
    out.push_str("</Message></Error><RequestId>");
    xml::escape(&mut out, request_id);
    out.push_str("</RequestId></ErrorResponse>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::elbv2;

    #[test]
    fn member_lists_and_wrappers() {
        let m = elbv2();
        let op = &m.operations["CreateLoadBalancer"];
        let params = ParamNode::from_pairs([
            ("Action", "CreateLoadBalancer"),
            ("Version", "2015-12-01"),
            ("Name", "web"),
            ("Subnets.member.1", "subnet-a"),
            ("Subnets.member.2", "subnet-b"),
            ("Tags.member.1.Key", "k"),
            ("Tags.member.1.Value", "v"),
        ]);
        let input = parse(m, op, &params).expect("parses");
        assert_eq!(
            input["Subnets"],
            serde_json::json!(["subnet-a", "subnet-b"])
        );
        assert_eq!(input["Tags"][0]["Key"], "k");
        let body = serialize(
            m,
            op,
            &serde_json::json!({"LoadBalancers": [{"LoadBalancerName": "web"}]}),
            "rid",
        );
        assert!(body.contains("<CreateLoadBalancerResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><CreateLoadBalancerResult><LoadBalancers><member><LoadBalancerName>web</LoadBalancerName></member></LoadBalancers></CreateLoadBalancerResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></CreateLoadBalancerResponse>"), "{body}");
        let missing = parse(
            m,
            op,
            &ParamNode::from_pairs([("Action", "CreateLoadBalancer"), ("Version", "2015-12-01")]),
        )
        .expect_err("Name is required");
        assert_eq!(missing.code, Code::ValidationError);
        assert_eq!(missing.message, "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
        let err = serialize_error(None, &AwsError::invalid("bad"), "rid");
        assert!(err.contains("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>bad</Message></Error><RequestId>rid</RequestId></ErrorResponse>"), "{err}");
    }
}
