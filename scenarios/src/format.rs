//! The scenario file format (DESIGN.md "Scenario files"; `docs/scenarios.md` for users): serde
//! types, duration parsing, `${name}` substitution, and errors that name the file and the step.
//!
//! A file is parsed in two passes: the envelope (`apiVersion`, `kind`, `metadata`, `spec`) with
//! steps kept as raw JSON, then each step by its single kind key. The raw JSON of each step is
//! kept so that captured values (`${vpc}`) can be substituted when the step runs.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The only `apiVersion` a scenario file may have.
pub const API_VERSION: &str = "cloudbox.dev/v1alpha1";
/// The only `kind` a scenario file may have.
pub const KIND: &str = "Scenario";
/// Step kinds this runner knows.
pub const STEP_KINDS: &[&str] = &["apply", "delete", "assert", "refute", "aws", "advance"];
/// Step kinds reserved for later versions of the runner.
pub const RESERVED_STEP_KINDS: &[&str] = &["http", "fault"];
/// How long `assert` and `refute` wait when the step sets no `timeout` (chainsaw's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Envelope {
    /// Must be [`API_VERSION`].
    api_version: String,
    /// Must be [`KIND`].
    kind: String,
    /// Name of the scenario.
    metadata: Metadata,
    /// What the scenario does.
    spec: RawSpec,
}

/// `metadata` of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The scenario's name (reports, JUnit test case name).
    pub name: String,
    /// Free text for people; ignored by the runner.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    topology: String,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    region: Option<String>,
    steps: Vec<Value>,
}

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it was read from (relative paths in steps resolve against its folder).
    pub path: PathBuf,
    /// `metadata`.
    pub metadata: Metadata,
    /// `spec.topology`: a name under `fixtures/topologies/` or a path relative to the file.
    /// See `docs/topologies.md`.
    pub topology: String,
    /// `spec.seed`: seed of every id and random choice (default 1; `--seed` overrides).
    pub seed: Option<u64>,
    /// `spec.region`: region of `aws` steps (default: the topology's; `us-east-1` for `empty`).
    pub region: Option<String>,
    /// `spec.steps`, in order.
    pub steps: Vec<StepSource>,
}

/// One step as written: its raw JSON (for `${name}` substitution at run time), its 1-based
/// number, the line of the file where it starts (when found), and the parsed step.
#[derive(Debug, Clone)]
pub struct StepSource {
    /// 1-based step number.
    pub number: usize,
    /// 1-based line in the file where the step's `- ` starts, when it could be located.
    pub line: Option<usize>,
    /// The step as written (one-key map, plus an optional `name`).
    pub raw: Value,
    /// The step parsed without substitution (validates the file up front).
    pub step: Step,
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// Server-side apply of objects.
    Apply(Apply),
    /// Delete one object.
    Delete(Delete),
    /// Wait until objects matching a partial object exist.
    Assert(Assert),
    /// Wait until no object matches a partial object.
    Refute(Refute),
    /// Call an AWS operation.
    Aws(AwsStep),
    /// Move the virtual clock.
    Advance(Duration),
}

impl Step {
    /// The step's kind key (`apply`, `assert`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Apply(_) => "apply",
            Step::Delete(_) => "delete",
            Step::Assert(_) => "assert",
            Step::Refute(_) => "refute",
            Step::Aws(_) => "aws",
            Step::Advance(_) => "advance",
        }
    }
}

/// `apply`: exactly one of `file` and `object`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    /// A YAML file of one or more documents (`---`), relative to the scenario file.
    #[serde(default)]
    pub file: Option<String>,
    /// One object inline.
    #[serde(default)]
    pub object: Option<Value>,
}

/// `delete`: one object by kind and name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Delete {
    /// `v1`, `apps/v1`, `example.com/v1`.
    pub api_version: String,
    /// `Pod`, `Deployment`, a CRD's kind.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// Namespace of a namespaced kind (default `default`).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `assert`: waits until the partial object matches (at least one object, or exactly `count`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assert {
    /// The partial object (chainsaw assertion tree); `apiVersion` and `kind` are required,
    /// `metadata.name` and `metadata.namespace` narrow the listing.
    pub resource: Value,
    /// How long to wait in virtual time (default 30s).
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Exactly this many objects must match (default: at least one).
    #[serde(default)]
    pub count: Option<usize>,
}

/// `refute`: waits until no object matches the partial object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refute {
    /// The partial object, as in `assert`.
    pub resource: Value,
    /// How long to wait in virtual time (default 30s).
    #[serde(default)]
    pub timeout: Option<Dur>,
}

/// `aws`: one operation of the in-process AWS client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsStep {
    /// `service:Operation`, e.g. `ec2:DescribeInstances`.
    pub call: String,
    /// Input in the model's member names (the aws CLI's JSON shape); default `{}`.
    #[serde(default)]
    pub params: Option<Value>,
    /// The output must match this partial object (same rules as `assert`).
    #[serde(default)]
    pub expect: Option<Value>,
    /// The call must fail with exactly this error code.
    #[serde(default)]
    pub expect_error: Option<String>,
    /// Repeat (in virtual time) until the expectation holds, up to this long. Without it the
    /// call is made once.
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Names bound to JMESPath expressions over the output (`vpc: Vpc.VpcId`), usable as
    /// `${vpc}` in any string of later steps.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

/// A duration written `250ms`, `90s`, `5m`, `1h`, `1d`, or combined (`1m30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::String(s) => parse_duration(s).map(Dur).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom(format!(
                "a duration is a string like 90s, 5m, 1h, 250ms, not {v}"
            ))),
        }
    }
}

/// Parses `250ms`, `90s`, `5m`, `1h`, `1d` and sums of them (`1m30s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration (like 90s, 5m, 1h, 250ms)");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(digits);
        let n: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let secs = match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86400.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(secs);
        rest = next;
    }
    Ok(total)
}

/// Shows a duration the way scenario files write them (`90s`, `5m`, `1h2m`, `250ms`).
pub struct ShowDur(pub Duration);

impl fmt::Display for ShowDur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return write!(f, "0s");
        }
        if ms / 1000 * 1000 != ms {
            return write!(f, "{ms}ms");
        }
        let s = ms / 1000;
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if sec > 0 {
            write!(f, "{sec}s")?;
        }
        Ok(())
    }
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> anyhow::Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    parse(path, &text)
}

/// Parses a scenario from its text; `path` names the file in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> anyhow::Result<Scenario> {
    let file = path.display();
    let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let env: Envelope = serde_json::from_value(doc).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    if env.api_version != API_VERSION {
        anyhow::bail!(
            "{file}: apiVersion is '{}', expected '{API_VERSION}'",
            env.api_version
        );
    }
    if env.kind != KIND {
        anyhow::bail!("{file}: kind is '{}', expected '{KIND}'", env.kind);
    }
    let lines = step_lines(text);
    let mut steps = Vec::with_capacity(env.spec.steps.len());
    for (i, raw) in env.spec.steps.into_iter().enumerate() {
        let number = i + 1;
        let line = lines.get(i).copied();
        let at = match line {
            Some(l) => format!("{file}:{l}: step {number}"),
            None => format!("{file}: step {number}"),
        };
        let step = parse_step(&raw).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
        steps.push(StepSource {
            number,
            line,
            raw,
            step,
        });
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        metadata: env.metadata,
        topology: env.spec.topology,
        seed: env.spec.seed,
        region: env.spec.region,
        steps,
    })
}

/// Parses one step: a map with exactly one kind key (and optionally `name`, free text).
pub fn parse_step(raw: &Value) -> Result<Step, String> {
    let known = STEP_KINDS.join(", ");
    let Value::Object(map) = raw else {
        return Err(format!(
            "a step is a map with one of the keys {known}, not {raw}"
        ));
    };
    let kinds: Vec<&String> = map.keys().filter(|k| k.as_str() != "name").collect();
    if let Some(Value::String(_)) | None = map.get("name") {
    } else {
        return Err("a step's `name` is a string".to_string());
    }
    let kind = match kinds.as_slice() {
        [one] => one.as_str(),
        [] => return Err(format!("the step has no kind; known kinds: {known}")),
        many => {
            return Err(format!(
                "the step has several kinds ({}); write one step per kind ({known})",
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let body = map.get(kind).cloned().unwrap_or(Value::Null);
    let err = |e: serde_json::Error| format!("{kind}: {e}");
    match kind {
        "apply" => {
            let a: Apply = serde_json::from_value(body).map_err(err)?;
            if a.file.is_some() == a.object.is_some() {
                return Err("apply: give exactly one of `file` and `object`".to_string());
            }
            Ok(Step::Apply(a))
        }
        "delete" => Ok(Step::Delete(serde_json::from_value(body).map_err(err)?)),
        "assert" => {
            let a: Assert = serde_json::from_value(body).map_err(err)?;
            check_resource(&a.resource).map_err(|e| format!("assert: {e}"))?;
            Ok(Step::Assert(a))
        }
        "refute" => {
            let r: Refute = serde_json::from_value(body).map_err(err)?;
            check_resource(&r.resource).map_err(|e| format!("refute: {e}"))?;
            Ok(Step::Refute(r))
        }
        "aws" => {
            let a: AwsStep = serde_json::from_value(body).map_err(err)?;
            if a.expect.is_some() && a.expect_error.is_some() {
                return Err("aws: give at most one of `expect` and `expectError`".to_string());
            }
            if !a.call.contains(':') {
                return Err(format!(
                    "aws: call '{}' is not of the form service:Operation (ec2:DescribeVpcs)",
                    a.call
                ));
            }
            if a.expect_error.is_some() && !a.capture.is_empty() {
                return Err("aws: `capture` needs a successful call, not `expectError`".into());
            }
            Ok(Step::Aws(a))
        }
        "advance" => {
            let d: Dur = serde_json::from_value(body).map_err(err)?;
            Ok(Step::Advance(d.0))
        }
        other if RESERVED_STEP_KINDS.contains(&other) => Err(format!(
            "the step kind '{other}' is reserved for a later version of cloudbox and not run yet; known kinds: {known}"
        )),
        other => Err(format!(
            "unknown step kind '{other}'; known kinds: {known} ({} are reserved for later)",
            RESERVED_STEP_KINDS.join(", ")
        )),
    }
}

fn check_resource(r: &Value) -> Result<(), String> {
    let ok = |k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if !ok("apiVersion") || !ok("kind") {
        return Err("`resource` needs `apiVersion` and `kind`".to_string());
    }
    Ok(())
}

/// 1-based lines where the items of the top-level `spec.steps` list start (a best effort over
/// the block style; flow-style lists give none).
fn step_lines(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(start) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("steps:") && indent(l) > 0)
    else {
        return Vec::new();
    };
    let steps_indent = indent(lines[start]);
    let mut item_indent = None;
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = indent(l);
        if ind < steps_indent || (ind == steps_indent && !t.starts_with('-')) {
            break;
        }
        if t.starts_with("- ") || t == "-" {
            let want = *item_indent.get_or_insert(ind);
            if ind == want {
                out.push(i + 1);
            }
        }
    }
    out
}

/// Replaces `${name}` in every string of `v` by the bound value; an unbound name is an error.
/// `$${` writes a literal `${`.
pub fn substitute(v: &Value, vars: &BTreeMap<String, String>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(substitute_str(s, vars)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                out.insert(substitute_str(k, vars)?, substitute(x, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn substitute_str(s: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    if !s.contains("${") {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("'{s}': `${{` without a closing `}}`"))?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            let known: Vec<&str> = vars.keys().map(String::as_str).collect();
            format!(
                "'${{{name}}}' is not captured by an earlier step (captured: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The documents of a multi-document YAML text, empty documents skipped.
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> anyhow::Result<Scenario> {
        parse(Path::new("x.yaml"), text)
    }

    const HEAD: &str = "apiVersion: cloudbox.dev/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n  topology: empty\n  steps:\n";

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert_eq!(ShowDur(Duration::from_secs(90)).to_string(), "1m30s");
        assert_eq!(ShowDur(Duration::from_millis(250)).to_string(), "250ms");
    }

    #[test]
    fn parses_every_step_kind() -> anyhow::Result<()> {
        let s = p(&format!(
            "{HEAD}  - apply: {{file: m.yaml}}\n  - delete: {{apiVersion: v1, kind: Pod, name: x}}\n  - assert: {{timeout: 2m, count: 1, resource: {{apiVersion: v1, kind: Pod}}}}\n  - refute: {{resource: {{apiVersion: v1, kind: Pod}}}}\n  - aws: {{call: ec2:DescribeVpcs, capture: {{v: 'Vpcs[0].VpcId'}}}}\n  - advance: 5m\n"
        ))?;
        let kinds: Vec<_> = s.steps.iter().map(|s| s.step.kind()).collect();
        assert_eq!(kinds, STEP_KINDS);
        assert_eq!(s.steps[0].line, Some(7));
        assert_eq!(s.steps[5].line, Some(12));
        Ok(())
    }

    #[test]
    fn unknown_kind_names_file_step_and_known_kinds() {
        let e = p(&format!("{HEAD}  - advance: 1s\n  - wait: {{}}\n"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("x.yaml:8: step 2"), "{e}");
        assert!(
            e.contains("apply, delete, assert, refute, aws, advance"),
            "{e}"
        );
        let e = p(&format!("{HEAD}  - http: {{}}\n"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("reserved"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = p(&format!(
            "{HEAD}  - assert: {{resource: {{apiVersion: v1, kind: Pod}}, timout: 1s}}\n"
        ))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("step 1") && e.contains("timout"), "{e}");
        let e = p(&HEAD.replace("topology: empty", "topology: empty\n  sed: 1"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("x.yaml") && e.contains("sed"), "{e}");
    }

    #[test]
    fn substitution() {
        let vars: BTreeMap<String, String> = [("vpc".to_string(), "vpc-1".to_string())].into();
        let v = serde_json::json!({"VpcId": "${vpc}", "n": ["a-${vpc}-b", "$${vpc}"]});
        assert_eq!(
            substitute(&v, &vars),
            Ok(serde_json::json!({"VpcId": "vpc-1", "n": ["a-vpc-1-b", "${vpc}"]}))
        );
        assert!(substitute(&serde_json::json!("${nope}"), &vars).is_err());
    }

    #[test]
    fn multi_document() {
        let docs = yaml_documents("a: 1\n---\n---\nb: 2\n").unwrap_or_default();
        assert_eq!(docs.len(), 2);
    }
}
