//! The `ec2` wire protocol (EC2 API 2016-11-15).
//!
//! Requests: form-encoded `Action=…&Version=…` with members named by `queryName`, else the
//! capitalised `locationName`, else the member name, and lists numbered `Name.N` with no
//! `member` segment. Responses: `<{Op}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`
//! with a lowercase `<requestId>` first and no `Result` wrapper; lists as `<xxxSet><item>`.
//! Errors differ from the Query protocol in two named places (see [`serialize_error`]).

use super::model::{Operation, ServiceModel};
use super::params::{parse_input, ParamNode, WireNames};
use super::xml;
use crate::error::{AwsError, AwsResult};
use serde_json::Value;

/// Parameters every request carries that are not members of the input shape.
const ENVELOPE_PARAMS: &[&str] = &["Action", "Version"];

/// Parses the request parameters of `op` into a JSON object keyed by member names.
pub fn parse(model: &ServiceModel, op: &Operation, params: &ParamNode) -> AwsResult<Value> {
    match op.input {
        Some(shape) => parse_input(model, WireNames::Ec2, shape, params, ENVELOPE_PARAMS),
        None => Ok(Value::Object(Default::default())),
    }
}

/// Serializes a successful response. Operations without an output shape answer
/// `<return>true</return>`, as EC2 does.
///
/// ```xml
/// <DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
///   <requestId>…</requestId><vpcSet><item>…</item></vpcSet>
/// </DescribeVpcsResponse>
/// ```
pub fn serialize(model: &ServiceModel, op: &Operation, output: &Value, request_id: &str) -> String {
    envelope(model, op, &serialize_members(model, op, output), request_id)
}

/// The members of a response (everything inside the `{Op}Response` element after `requestId`).
pub fn serialize_members(model: &ServiceModel, op: &Operation, output: &Value) -> String {
    let mut out = String::with_capacity(256);
    match op.output {
        Some(shape) => xml::write_members(&mut out, model, shape, output),
        None => out.push_str("<return>true</return>"),
    }
    out
}

/// Wraps serialized members in the `{Op}Response` element with the request id.
pub fn envelope(model: &ServiceModel, op: &Operation, members: &str, request_id: &str) -> String {
    let (head, tail) = envelope_parts(model, op, request_id);
    let mut out = String::with_capacity(head.len() + members.len() + tail.len());
    out.push_str(&head);
    out.push_str(members);
    out.push_str(&tail);
    out
}

/// The text before and after the members of a response, so that shared (cached) members can be
/// sent between them without being copied.
pub fn envelope_parts(model: &ServiceModel, op: &Operation, request_id: &str) -> (String, String) {
    // EC2's model names the namespace without the trailing slash its responses carry.
    let mut head = xml::open_response(&op.name, &model.xml_namespace, true);
    head.push_str("<requestId>");
    xml::escape(&mut head, request_id);
    head.push_str("</requestId>");
    (head, format!("</{}Response>", op.name))
}

/// Serializes an error. Differs from the Query protocol's `<ErrorResponse>`: the root is
/// `<Response>` with an `<Errors>` list, and the id element is `RequestID` (capital D).
///
/// ```xml
/// <Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>
/// <Message>The instance ID 'i-1' does not exist</Message></Error></Errors>
/// <RequestID>…</RequestID></Response>
/// ```
pub fn serialize_error(err: &AwsError, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>");
    out.push_str(err.code.as_str());
    out.push_str("</Code><Message>");
    xml::escape(&mut out, &err.message);
    out.push_str("</Message></Error></Errors><RequestID>");
    xml::escape(&mut out, request_id);
    out.push_str("</RequestID></Response>");
    out
}
