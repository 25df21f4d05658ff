//! Runs a scenario in a [`World`]: a manual clock, the AWS endpoint's state, the Kubernetes API
//! server's state, an in-process kube-rs client and an in-process AWS client.
//!
//! Waiting is virtual: when an `assert`, a `refute` or an `aws` step with a `timeout` does not
//! hold yet, the clock moves to the earlier of the next AWS timer and one second later, and the
//! condition is checked again, until the step's timeout. Nothing sleeps.

use crate::format::{
    self, Apply, Assert, AwsStep, Delete, Refute, Scenario, ShowDur, Step, StepSource,
    DEFAULT_TIMEOUT,
};
use crate::matching::{self, compact};
use crate::report::{Failure, Outcome, StepLine};
use crate::topology::{self, Topology};
use anyhow::Context as _;
use cloudbox_aws::{AwsClient, AwsState};
use cloudbox_kube::KubeState;
use cloudbox_sim::{Clock, SimTime};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The field manager of `apply` steps.
pub const FIELD_MANAGER: &str = "cloudbox-scenario";
/// The region of the `empty` topology.
pub const EMPTY_REGION: &str = "us-east-1";
/// The seed when neither the file nor the caller gives one.
pub const DEFAULT_SEED: u64 = 1;
/// The longest single move of the clock while waiting in a world without controllers.
const POLL: Duration = Duration::from_secs(1);
/// The longest single move of the clock while waiting with controllers: between AWS timers and
/// the controllers' requeues nothing is due, and this bounds what a controller without a
/// requeue for a time-based condition (minReadySeconds, say) waits.
pub const IDLE_STEP: Duration = Duration::from_secs(5);
/// Passes at one instant before the clock moves on even though controllers still write.
pub const MAX_PASSES_PER_INSTANT: usize = 20;

/// How to run: overrides from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Overrides `spec.seed`.
    pub seed: Option<u64>,
}

/// Everything one scenario runs against. Cheap parts are public so `cloudbox run --keep` can
/// serve them after a failure.
pub struct World {
    /// The manual simulation clock shared by AWS and Kubernetes.
    pub clock: Clock,
    /// The AWS endpoint's state.
    pub aws: AwsState,
    /// The Kubernetes API server's state.
    pub kube: KubeState,
    /// The region of `aws` steps.
    pub region: String,
    /// The seed in use.
    pub seed: u64,
    /// The topology the world was built from (its cluster and controller settings are data for
    /// controllers).
    pub topology: Topology,
    client: kube::Client,
    aws_client: AwsClient,
    /// The built-in controllers' context, when the topology declares a cluster.
    controllers: Option<cloudbox_integrations::Context>,
    /// The latest controller failures (shown with a failed step).
    controller_errors: std::sync::Mutex<Vec<String>>,
    /// The earliest time a controller asked to run again at (ms).
    requeue: std::sync::Mutex<Option<u64>>,
    start: SimTime,
    dir: PathBuf,
    vars: BTreeMap<String, String>,
}

/// The built-in controllers' context for a topology that declares a cluster (None otherwise).
pub fn controllers_for(
    topology: &Topology,
    kube: kube::Client,
    aws: AwsClient,
    clock: Clock,
    seed: u64,
) -> Option<cloudbox_integrations::Context> {
    topology.spec.cluster.as_ref().map(|c| {
        let mut config = cloudbox_integrations::Config::new(&c.name);
        config.kubernetes_version = c.kubernetes_version.clone();
        config.seed = seed;
        if c.max_pods == topology::MaxPods::Eni {
            config.max_pods = cloudbox_integrations::MaxPods::Eni;
        }
        if topology.spec.cni() == topology::Cni::VpcCni {
            let env = topology.spec.controllers.get("aws-node");
            config.vpc_cni = Some(cloudbox_integrations::vpc_cni::Settings::from_env(
                env.unwrap_or(&BTreeMap::new()),
            ));
        }
        cloudbox_integrations::Context::new(kube, aws, clock, config)
    })
}

/// One pass of each built-in controller, in a fixed order (nodes, then the workload
/// controllers that create pods, the scheduler that binds them, and the kubelets that run them);
/// the failures, if any.
pub async fn controller_pass(ctx: &cloudbox_integrations::Context) -> Vec<String> {
    use cloudbox_integrations::{
        cloud_node, daemonset, ebs, endpoints, job, kubelet_node, kubelet_pods, podgc, scheduler,
        serviceaccounts, statefulset, taint_eviction, vpc_cni, workloads,
    };
    let mut errors = Vec::new();
    macro_rules! run {
        ($module:ident, $what:literal) => {{
            let started = std::time::Instant::now();
            let result = $module::reconcile_once(ctx).await;
            PASS_TIMES.record($what, started.elapsed());
            if let Err(e) = result {
                errors.push(format!("{}: {e}", $what));
            }
        }};
    }
    run!(kubelet_node, "kubelet node registration");
    run!(cloud_node, "cloud node controller");
    run!(serviceaccounts, "serviceaccounts controller");
    run!(taint_eviction, "taint eviction");
    run!(workloads, "deployment/replicaset controllers");
    run!(daemonset, "daemonset controller");
    run!(statefulset, "statefulset controller");
    run!(job, "job controller");
    run!(podgc, "pod garbage collector");
    run!(scheduler, "scheduler");
    run!(vpc_cni, "aws-node (ipamd)");
    run!(ebs, "ebs volumes");
    run!(kubelet_pods, "kubelet pods");
    run!(endpoints, "endpoints controllers");
    errors
}

/// Wall time spent in each controller's passes since the process started (`world_bench` prints
/// it): where a world's time goes.
pub static PASS_TIMES: PassTimes = PassTimes(std::sync::Mutex::new(Vec::new()));

/// Wall time and pass count per controller, in `controller_pass` order.
#[derive(Debug)]
pub struct PassTimes(std::sync::Mutex<Vec<(&'static str, Duration, u64)>>);

impl PassTimes {
    fn record(&self, what: &'static str, d: Duration) {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match all.iter_mut().find(|(w, _, _)| *w == what) {
            Some(e) => {
                e.1 += d;
                e.2 += 1;
            }
            None => all.push((what, d, 1)),
        }
    }

    /// Each controller's total wall time and number of passes so far.
    pub fn snapshot(&self) -> Vec<(&'static str, Duration, u64)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Runs [`controller_pass`] at the current instant until a pass writes nothing to the API
/// server (at most [`MAX_PASSES_PER_INSTANT`]): what one controller wrote (a pod created,
/// bound, started) is acted on by the next at once, as informer-driven controllers do within
/// milliseconds. Returns the last failures and the earliest requeue the controllers asked for.
pub async fn settle(
    ctx: &cloudbox_integrations::Context,
    kube: &KubeState,
) -> (Vec<String>, Option<u64>) {
    let mut errors = Vec::new();
    for _ in 0..MAX_PASSES_PER_INSTANT {
        let before = kube.resource_version();
        errors = controller_pass(ctx).await;
        if kube.resource_version() == before {
            break;
        }
    }
    (errors, ctx.take_requeue())
}

/// The instant to move the clock to from `now`: the earliest of `now + step`, the AWS
/// endpoint's next timer and the controllers' requeue (a requeue already due moves 1 ms).
pub fn next_instant(now: SimTime, step: Duration, aws: &AwsState, requeue: Option<u64>) -> SimTime {
    let mut next = now.plus(step);
    if let Some(t) = aws.regions().next_timer() {
        if t > now && t < next {
            next = t;
        }
    }
    match requeue.map(SimTime) {
        Some(t) if t > now => next.min(t),
        Some(_) => next.min(now.plus(Duration::from_millis(1))),
        None => next,
    }
}

/// How a step ended.
struct StepOk(String);

/// Why a step failed: one line and the details.
struct StepErr {
    message: String,
    details: String,
}

impl StepErr {
    fn new(message: impl Into<String>) -> StepErr {
        StepErr {
            message: message.into(),
            details: String::new(),
        }
    }
}

impl From<anyhow::Error> for StepErr {
    fn from(e: anyhow::Error) -> StepErr {
        StepErr::new(format!("{e:#}"))
    }
}

impl World {
    /// A fresh world for `scenario`: its topology built, its seed and region chosen. Call it
    /// inside a tokio runtime (the in-process kube client spawns its buffer task).
    pub fn new(scenario: &Scenario, options: &Options) -> anyhow::Result<World> {
        let dir = scenario
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let topology = topology::load(&scenario.topology, &dir)?;
        let region = match (&topology.spec.region, &scenario.region) {
            (Some(t), Some(s)) if t != s => anyhow::bail!(
                "spec.region is '{s}' but topology '{}' ({}) is in '{t}'; leave spec.region out \
                 or make them agree",
                scenario.topology,
                topology.path.display()
            ),
            (Some(t), _) => t.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => EMPTY_REGION.to_string(),
        };
        let seed = options.seed.or(scenario.seed).unwrap_or(DEFAULT_SEED);
        let clock = Clock::manual();
        let aws = AwsState::new(clock.clone(), seed);
        let kube = KubeState::new(clock.clone(), seed);
        let client = kube::Client::new(cloudbox_kube::app(kube.clone()), "default");
        let aws_client = AwsClient::new(&aws, &region)
            .map_err(|e| anyhow::anyhow!("region '{region}': {}", e.message))?;
        let realized = topology.realize(&aws_client)?;
        let controllers = controllers_for(
            &topology,
            client.clone(),
            aws_client.clone(),
            clock.clone(),
            seed,
        );
        Ok(World {
            controllers,
            controller_errors: std::sync::Mutex::new(Vec::new()),
            requeue: std::sync::Mutex::new(None),
            start: clock.now(),
            clock,
            aws,
            kube,
            region,
            seed,
            client,
            aws_client,
            dir,
            vars: realized.vars,
            topology,
        })
    }

    /// Virtual time since the world was made.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.clock.now().0.saturating_sub(self.start.0))
    }

    /// The values captured so far by `aws` steps, and the ids the topology created
    /// (`vpc`, `subnet.<name>`, … — `docs/topologies.md`).
    pub fn captured(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// Lets the built-in controllers (the kubelet's node registration and the cloud node
    /// controller, `cloudbox-integrations`) observe the current time: one pass each, in a fixed
    /// order, so a scenario and its seed always give the same result.
    pub async fn run_controllers(&self) {
        let Some(ctx) = &self.controllers else { return };
        let (errors, requeue) = settle(ctx, &self.kube).await;
        if let Ok(mut last) = self.controller_errors.lock() {
            if !errors.is_empty() {
                *last = errors;
            }
        }
        if let (Some(t), Ok(mut r)) = (requeue, self.requeue.lock()) {
            *r = Some(t);
        }
    }

    /// Moves the clock to the next due event before `deadline` (an AWS timer, a controller's
    /// requeue, at most [`IDLE_STEP`] later) and runs the controllers; false when the deadline
    /// has been reached.
    async fn tick(&self, deadline: SimTime) -> bool {
        if !self.advance_one(deadline) {
            return false;
        }
        self.run_controllers().await;
        true
    }

    fn advance_one(&self, deadline: SimTime) -> bool {
        let now = self.clock.now();
        if now >= deadline {
            return false;
        }
        let step = if self.controllers.is_some() {
            IDLE_STEP
        } else {
            POLL
        };
        let requeue = self.requeue.lock().ok().and_then(|mut r| r.take());
        let next = next_instant(now, step, &self.aws, requeue).min(deadline);
        self.clock.advance(Duration::from_millis(next.0 - now.0));
        true
    }

    async fn step(&mut self, step: &Step) -> Result<StepOk, StepErr> {
        match step {
            Step::Apply(a) => self.apply(a).await,
            Step::Delete(d) => self.delete(d).await,
            Step::Assert(a) => self.assert(a).await,
            Step::Refute(r) => self.refute(r).await,
            Step::Aws(a) => self.aws_step(a).await,
            Step::Advance(d) => {
                self.clock.advance(*d);
                self.run_controllers().await;
                Ok(StepOk(String::new()))
            }
        }
    }

    async fn resolve(&self, api_version: &str, kind: &str) -> anyhow::Result<(ApiResource, bool)> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "the API server does not serve {kind} in {api_version}: {}",
                    kube_error(&e)
                )
            })?;
        Ok((ar, caps.scope == Scope::Namespaced))
    }

    async fn apply(&self, a: &Apply) -> Result<StepOk, StepErr> {
        let objects = match (&a.file, &a.object) {
            (Some(file), _) => {
                let path = self.dir.join(file);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let docs = format::yaml_documents(&text)
                    .map_err(|e| StepErr::new(format!("{}: {e}", path.display())))?;
                docs.iter()
                    .map(|d| format::substitute(d, &self.vars))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StepErr::new(format!("{}: {e}", path.display())))?
            }
            (None, Some(o)) => vec![o.clone()],
            (None, None) => Vec::new(),
        };
        let mut done = Vec::new();
        for obj in &objects {
            let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
            let (api_version, kind) = (field("apiVersion"), field("kind"));
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if api_version.is_empty() || kind.is_empty() || name.is_empty() {
                return Err(StepErr::new(format!(
                    "an applied object needs apiVersion, kind and metadata.name: {}",
                    compact(obj)
                )));
            }
            let (ar, namespaced) = self.resolve(api_version, kind).await?;
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default");
            let api: Api<DynamicObject> = if namespaced {
                Api::namespaced_with(self.client.clone(), ns, &ar)
            } else {
                Api::all_with(self.client.clone(), &ar)
            };
            api.patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(obj),
            )
            .await
            .map_err(|e| StepErr::new(format!("apply {kind} {name}: {}", kube_error(&e))))?;
            done.push(format!("{kind} {name}"));
        }
        Ok(StepOk(done.join(", ")))
    }

    async fn delete(&self, d: &Delete) -> Result<StepOk, StepErr> {
        let (ar, namespaced) = self.resolve(&d.api_version, &d.kind).await?;
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(
                self.client.clone(),
                d.namespace.as_deref().unwrap_or("default"),
                &ar,
            )
        } else {
            Api::all_with(self.client.clone(), &ar)
        };
        api.delete(&d.name, &DeleteParams::default())
            .await
            .map_err(|e| {
                StepErr::new(format!("delete {} {}: {}", d.kind, d.name, kube_error(&e)))
            })?;
        Ok(StepOk(String::new()))
    }

    /// The objects of the resource's kind, narrowed by its `metadata.namespace` and
    /// `metadata.name`, as JSON.
    async fn observe(&self, resource: &Value) -> anyhow::Result<Vec<Value>> {
        let s = |p: &str| resource.pointer(p).and_then(Value::as_str);
        let (ar, namespaced) = self
            .resolve(s("/apiVersion").unwrap_or(""), s("/kind").unwrap_or(""))
            .await?;
        let api: Api<DynamicObject> = match s("/metadata/namespace") {
            Some(ns) if namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        };
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| anyhow::anyhow!("listing {}: {}", ar.kind, kube_error(&e)))?;
        let name = s("/metadata/name");
        let mut out = Vec::new();
        for item in list.items {
            if name.is_some() && item.metadata.name.as_deref() != name {
                continue;
            }
            let mut v = serde_json::to_value(&item)?;
            if let Value::Object(m) = &mut v {
                m.insert("apiVersion".into(), json!(ar.api_version));
                m.insert("kind".into(), json!(ar.kind));
            }
            out.push(v);
        }
        Ok(out)
    }

    async fn assert(&self, a: &Assert) -> Result<StepOk, StepErr> {
        let deadline = self
            .clock
            .now()
            .plus(a.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0));
        loop {
            let items = self.observe(&a.resource).await?;
            let matched = items
                .iter()
                .filter(|i| matching::matches(&a.resource, i))
                .count();
            let holds = match a.count {
                Some(n) => matched == n,
                None => matched >= 1,
            };
            if holds {
                return Ok(StepOk(format!("{matched} matched")));
            }
            if !self.tick(deadline).await {
                let kind = kind_of(&a.resource);
                let message = match a.count {
                    Some(n) => format!(
                        "{matched} {kind} matched, expected exactly {n} ({} listed)",
                        items.len()
                    ),
                    None => format!("no {kind} matched ({} listed)", items.len()),
                };
                let mut details = String::new();
                let _ = writeln!(details, "expected (partial object):\n{}", yaml(&a.resource));
                let unmatched: Vec<Value> = items
                    .iter()
                    .filter(|i| !matching::matches(&a.resource, i))
                    .cloned()
                    .collect();
                if matched < a.count.unwrap_or(1) {
                    closest_details(&a.resource, &unmatched, &mut details);
                } else {
                    let _ = writeln!(details, "matching objects: {}", names(&items, &a.resource));
                }
                self.context_details(&mut details).await;
                return Err(StepErr { message, details });
            }
        }
    }

    async fn refute(&self, r: &Refute) -> Result<StepOk, StepErr> {
        let deadline = self
            .clock
            .now()
            .plus(r.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0));
        loop {
            let items = self.observe(&r.resource).await?;
            let matching: Vec<&Value> = items
                .iter()
                .filter(|i| matching::matches(&r.resource, i))
                .collect();
            if matching.is_empty() {
                return Ok(StepOk(format!("none of {} matched", items.len())));
            }
            if !self.tick(deadline).await {
                let kind = kind_of(&r.resource);
                let mut details = String::new();
                let _ = writeln!(
                    details,
                    "must not match (partial object):\n{}",
                    yaml(&r.resource)
                );
                let _ = writeln!(details, "but it matches:\n{}", yaml(matching[0]));
                self.context_details(&mut details).await;
                return Err(StepErr {
                    message: format!(
                        "{} {kind} still match{} ({})",
                        matching.len(),
                        if matching.len() == 1 { "es" } else { "" },
                        names(&items, &r.resource)
                    ),
                    details,
                });
            }
        }
    }

    async fn aws_step(&mut self, a: &AwsStep) -> Result<StepOk, StepErr> {
        let params = a.params.clone().unwrap_or_else(|| json!({}));
        let deadline = a.timeout.map(|t| self.clock.now().plus(t.0));
        loop {
            let result = self.aws_client.call(&a.call, &params);
            let verdict = match (&result, &a.expect_error) {
                (Err(e), Some(code)) if e.code.as_str() == code => {
                    Ok(StepOk(format!("{code} as expected")))
                }
                (Err(e), Some(code)) => Err(StepErr::new(format!(
                    "{} failed with {} ({}), expected {code}",
                    a.call,
                    e.code.as_str(),
                    e.message
                ))),
                (Ok(out), Some(code)) => Err(StepErr {
                    message: format!("{} succeeded, expected the error {code}", a.call),
                    details: format!("output:\n{}", yaml(out)),
                }),
                (Err(e), None) => Err(StepErr::new(format!(
                    "{} failed: {}: {}",
                    a.call,
                    e.code.as_str(),
                    e.message
                ))),
                (Ok(out), None) => match &a.expect {
                    Some(exp) => {
                        let d = matching::diff(exp, out);
                        if d.is_empty() {
                            Ok(StepOk(String::new()))
                        } else {
                            let mut details = format!("expected (partial):\n{}", yaml(exp));
                            let _ = writeln!(details, "actual output:\n{}", yaml(out));
                            let _ = writeln!(details, "differences:");
                            for m in &d {
                                let _ = writeln!(details, "  {m}");
                            }
                            Err(StepErr {
                                message: format!("{} output does not match `expect`", a.call),
                                details,
                            })
                        }
                    }
                    None => Ok(StepOk(String::new())),
                },
            };
            match verdict {
                Ok(ok) => {
                    if let Ok(out) = &result {
                        for (name, expr) in &a.capture {
                            let v = matching::jmespath(expr, out)
                                .map_err(|e| StepErr::new(format!("capture {name}: {e}")))?;
                            let s = match v {
                                Value::String(s) => s,
                                Value::Number(n) => n.to_string(),
                                Value::Bool(b) => b.to_string(),
                                other => {
                                    return Err(StepErr {
                                        message: format!(
                                        "capture {name}: '{expr}' gives {}, not a string or number",
                                        compact(&other)
                                    ),
                                        details: format!("output:\n{}", yaml(out)),
                                    })
                                }
                            };
                            self.vars.insert(name.clone(), s);
                        }
                    }
                    return Ok(ok);
                }
                Err(mut e) => {
                    if let Some(d) = deadline {
                        if self.tick(d).await {
                            continue;
                        }
                    }
                    self.aws_calls(&mut e.details);
                    return Err(e);
                }
            }
        }
    }

    fn aws_calls(&self, out: &mut String) {
        if let Ok(errors) = self.controller_errors.lock() {
            for e in errors.iter() {
                let _ = writeln!(out, "controller error: {e}");
            }
        }
        let calls = self.aws.recent_calls(20);
        let _ = writeln!(out, "recent AWS calls ({}):", calls.len());
        for c in calls {
            let _ = writeln!(
                out,
                "  {} {} {}{}",
                c.time,
                c.operation,
                c.error.as_deref().unwrap_or("ok"),
                c.message.map(|m| format!(": {m}")).unwrap_or_default()
            );
        }
    }

    async fn context_details(&self, out: &mut String) {
        let events: Api<DynamicObject> = Api::all_with(
            self.client.clone(),
            &ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&()),
        );
        match events.list(&ListParams::default()).await {
            Ok(list) => {
                let n = list.items.len();
                let _ = writeln!(out, "recent Kubernetes events ({n}):");
                for e in list.items.iter().skip(n.saturating_sub(10)) {
                    let d = &e.data;
                    let s = |p: &str| d.pointer(p).and_then(Value::as_str).unwrap_or("");
                    let _ = writeln!(
                        out,
                        "  {} {}/{} {} {}: {}",
                        s("/type"),
                        s("/involvedObject/kind"),
                        s("/involvedObject/name"),
                        e.metadata.namespace.as_deref().unwrap_or(""),
                        s("/reason"),
                        s("/message")
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "recent Kubernetes events: unavailable ({})",
                    kube_error(&e)
                );
            }
        }
        self.aws_calls(out);
    }
}

fn closest_details(expected: &Value, candidates: &[Value], out: &mut String) {
    match matching::closest(expected, candidates) {
        Some((best, d)) => {
            let mut shown = best.clone();
            if let Some(Value::Object(m)) = shown.get_mut("metadata") {
                m.remove("managedFields");
            }
            let _ = writeln!(
                out,
                "closest actual object (managedFields left out):\n{}",
                yaml(&shown)
            );
            let _ = writeln!(out, "differences:");
            for m in d {
                let _ = writeln!(out, "  {m}");
            }
        }
        None => {
            let _ = writeln!(out, "closest actual object: none (no object of this kind)");
        }
    }
}

fn names(items: &[Value], resource: &Value) -> String {
    items
        .iter()
        .filter(|i| matching::matches(resource, i))
        .map(|i| {
            let s = |p: &str| i.pointer(p).and_then(Value::as_str).unwrap_or("");
            match s("/metadata/namespace") {
                "" => s("/metadata/name").to_string(),
                ns => format!("{ns}/{}", s("/metadata/name")),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_of(resource: &Value) -> String {
    let kind = resource.get("kind").and_then(Value::as_str).unwrap_or("?");
    match resource.pointer("/metadata/name").and_then(Value::as_str) {
        Some(n) => format!("{kind} {n}"),
        None => kind.to_string(),
    }
}

fn yaml(v: &Value) -> String {
    let text = serde_yaml_ng::to_string(v).unwrap_or_else(|_| v.to_string());
    let lines: Vec<&str> = text.lines().collect();
    let mut out: String = lines
        .iter()
        .take(60)
        .map(|l| format!("    {l}\n"))
        .collect();
    if lines.len() > 60 {
        let _ = writeln!(out, "    … ({} more lines)", lines.len() - 60);
    }
    out
}

fn kube_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    }
}

/// What a step line says the step does (`assert ConfigMap x`, `aws ec2:RunInstances`).
pub fn describe(step: &Step) -> String {
    match step {
        Step::Apply(Apply { file: Some(f), .. }) => format!("apply {f}"),
        Step::Apply(Apply {
            object: Some(o), ..
        }) => format!("apply {}", kind_of(o)),
        Step::Apply(_) => "apply".to_string(),
        Step::Delete(d) => format!("delete {} {}", d.kind, d.name),
        Step::Assert(a) => format!("assert {}", kind_of(&a.resource)),
        Step::Refute(r) => format!("refute {}", kind_of(&r.resource)),
        Step::Aws(a) => match &a.expect_error {
            Some(code) => format!("aws {} (expect {code})", a.call),
            None => format!("aws {}", a.call),
        },
        Step::Advance(d) => format!("advance {}", ShowDur(*d)),
    }
}

/// Runs a scenario in a fresh world, calling `line` with each report line as it goes (step
/// lines, then the scenario line). Returns the outcome and the world (for `--keep`; `None` when
/// the world could not be built).
pub async fn run(
    scenario: &Scenario,
    options: &Options,
    line: &mut dyn FnMut(&str),
) -> (Outcome, Option<World>) {
    let wall = Instant::now();
    let total = scenario.steps.len();
    let mut outcome = Outcome {
        name: scenario.metadata.name.clone(),
        file: scenario.path.clone(),
        passed_steps: 0,
        total_steps: total,
        virtual_elapsed: Duration::ZERO,
        wall: Duration::ZERO,
        failure: None,
    };
    let mut world = match World::new(scenario, options) {
        Ok(w) => {
            w.run_controllers().await;
            w
        }
        Err(e) => {
            outcome.failure = Some(Failure {
                step: 0,
                line: None,
                message: format!("{e:#}"),
                details: String::new(),
            });
            outcome.wall = wall.elapsed();
            line(&outcome.line());
            return (outcome, None);
        }
    };
    for src in &scenario.steps {
        let started = Instant::now();
        let result = run_step(&mut world, src).await;
        let (what, ok, note) = match &result {
            Ok((what, StepOk(note))) => (what.clone(), true, note.clone()),
            Err((what, _)) => (what.clone(), false, String::new()),
        };
        line(
            &StepLine {
                number: src.number,
                total,
                what,
                ok,
                note,
                virtual_at: world.elapsed(),
                wall: started.elapsed(),
            }
            .to_string(),
        );
        match result {
            Ok(_) => outcome.passed_steps += 1,
            Err((_, e)) => {
                outcome.failure = Some(Failure {
                    step: src.number,
                    line: src.line,
                    message: e.message,
                    details: e.details,
                });
                break;
            }
        }
    }
    outcome.virtual_elapsed = world.elapsed();
    outcome.wall = wall.elapsed();
    line(&outcome.line());
    (outcome, Some(world))
}

/// Substitutes captured values into the step as written, then runs it.
async fn run_step(
    world: &mut World,
    src: &StepSource,
) -> Result<(String, StepOk), (String, StepErr)> {
    let fallback = describe(&src.step);
    let step = format::substitute(&src.raw, &world.vars)
        .and_then(|raw| format::parse_step(&raw))
        .map_err(|e| (fallback.clone(), StepErr::new(e)))?;
    let what = describe(&step);
    match world.step(&step).await {
        Ok(ok) => Ok((what, ok)),
        Err(e) => Err((what, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: cloudbox.dev/v1alpha1\nkind: Scenario\nmetadata: {name: t}\nspec:\n  topology: empty\n  steps:\n";

    async fn go(steps: &str) -> (Outcome, Vec<String>) {
        let text = format!("{HEAD}{steps}");
        let scenario = match format::parse(Path::new("t.yaml"), &text) {
            Ok(s) => s,
            Err(e) => panic!("{e:#}"),
        };
        let mut lines = Vec::new();
        let (outcome, _) = run(&scenario, &Options::default(), &mut |l| {
            lines.push(l.to_string())
        })
        .await;
        (outcome, lines)
    }

    #[tokio::test]
    async fn assert_times_out_in_virtual_time_with_closest_and_diff() {
        let (o, lines) = go("  - apply: {object: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {k: v}}}\n  - assert: {timeout: 2m, resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {k: w}}}\n").await;
        let f = o.failure.clone().unwrap_or_else(|| panic!("{lines:?}"));
        assert_eq!(f.step, 2);
        assert_eq!(f.line, Some(8));
        assert_eq!(o.virtual_elapsed, Duration::from_secs(120));
        assert!(
            f.details.contains("data.k: expected \"w\", actual \"v\""),
            "{}",
            f.details
        );
        assert!(f.details.contains("closest actual object"), "{}", f.details);
        assert!(
            f.details.contains("recent Kubernetes events"),
            "{}",
            f.details
        );
        assert!(
            lines[1].starts_with("[2/2] assert ConfigMap x ... FAILED at +2m (virtual)"),
            "{lines:?}"
        );
    }

    #[tokio::test]
    async fn count_refute_delete() {
        let (o, lines) = go("  - apply: {object: {apiVersion: v1, kind: ConfigMap, metadata: {name: a, labels: {t: x}}}}\n  - apply: {object: {apiVersion: v1, kind: ConfigMap, metadata: {name: b, labels: {t: x}}}}\n  - assert: {count: 2, resource: {apiVersion: v1, kind: ConfigMap, metadata: {labels: {t: x}}}}\n  - delete: {apiVersion: v1, kind: ConfigMap, name: a}\n  - refute: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}\n  - assert: {count: 1, resource: {apiVersion: v1, kind: ConfigMap, metadata: {labels: {t: x}}}}\n").await;
        assert!(o.passed(), "{lines:?} {:?}", o.failure_text());
        let (o, _) = go("  - apply: {object: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}\n  - refute: {timeout: 5s, resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}\n").await;
        let f = o.failure.unwrap_or_else(|| panic!("refute should fail"));
        assert!(
            f.message
                .contains("1 ConfigMap a still matches (default/a)"),
            "{}",
            f.message
        );
        assert_eq!(o.virtual_elapsed, Duration::from_secs(5));
        let (o, _) = go("  - delete: {apiVersion: v1, kind: ConfigMap, name: nope}\n").await;
        assert!(o.failure.is_some_and(|f| f.message.contains("404")));
    }

    #[tokio::test]
    async fn aws_capture_expect_and_waiting_for_timers() {
        let (o, lines) = go("  - aws: {call: ec2:CreateVpc, params: {CidrBlock: 10.0.0.0/16}, capture: {vpc: Vpc.VpcId}}\n  - aws: {call: ec2:CreateSubnet, params: {VpcId: \"${vpc}\", CidrBlock: 10.0.1.0/24, AvailabilityZone: us-east-1a}, capture: {s: Subnet.SubnetId}}\n  - aws: {call: ec2:RunInstances, params: {ImageId: ami-0abcdef1234567890, InstanceType: t3.micro, SubnetId: \"${s}\", MinCount: 1, MaxCount: 1}}\n  - aws: {call: ec2:DescribeInstances, timeout: 5m, expect: {Reservations: [{Instances: [{State: {Name: running}}]}]}}\n").await;
        assert!(o.passed(), "{lines:?} {:?}", o.failure_text());
        // Held well before the timeout, at a virtual time, not after it.
        assert!(o.virtual_elapsed > Duration::ZERO && o.virtual_elapsed < Duration::from_secs(300));
        let (o, _) =
            go("  - aws: {call: ec2:DescribeVpcs, expect: {Vpcs: [{IsDefault: false}]}}\n").await;
        let f = o.failure.unwrap_or_else(|| panic!("expect should fail"));
        assert!(
            f.details
                .contains("Vpcs[0].IsDefault: expected false, actual true"),
            "{}",
            f.details
        );
        assert!(f.details.contains("recent AWS calls (1):"), "{}", f.details);
        let (o, _) =
            go("  - aws: {call: ec2:DescribeVpcs, params: {VpcIds: [\"${nope}\"]}}\n").await;
        assert!(o
            .failure
            .is_some_and(|f| f.message.contains("'${nope}' is not captured")));
        let (o, _) =
            go("  - aws: {call: ec2:DescribeVpcs, expectError: InvalidVpcID.NotFound}\n").await;
        assert!(o
            .failure
            .is_some_and(|f| f.message.contains("succeeded, expected the error")));
    }

    #[tokio::test]
    async fn unknown_topology_is_a_clear_error() {
        let text = HEAD.replace("topology: empty", "topology: nope") + "  - advance: 1s\n";
        let scenario = format::parse(Path::new("t.yaml"), &text);
        let Ok(scenario) = scenario else {
            panic!("parse")
        };
        let (o, _) = run(&scenario, &Options::default(), &mut |_| {}).await;
        let f = o.failure.unwrap_or_else(|| panic!("should fail"));
        assert_eq!(f.step, 0);
        assert!(f.message.contains("known: empty, seed"), "{}", f.message);
    }

    #[tokio::test]
    async fn seed_topology_ids_are_variables_and_region_must_agree() {
        let text = HEAD.replace("topology: empty", "topology: seed")
            + "  - aws: {call: ec2:DescribeSubnets, params: {SubnetIds: [\"${subnet.public-a}\"]}, expect: {Subnets: [{VpcId: \"${vpc}\", AvailabilityZone: cn-northwest-1a}]}}\n";
        let Ok(scenario) = format::parse(Path::new("t.yaml"), &text) else {
            panic!("parse")
        };
        let (o, world) = run(&scenario, &Options::default(), &mut |_| {}).await;
        assert!(o.passed(), "{:?}", o.failure_text());
        let world = world.unwrap_or_else(|| panic!("world"));
        assert_eq!(world.region, "cn-northwest-1");
        assert!(world.captured().contains_key("instance.control-plane"));
        let text = text.replace("topology: seed", "topology: seed\n  region: us-east-1");
        let Ok(scenario) = format::parse(Path::new("t.yaml"), &text) else {
            panic!("parse")
        };
        let (o, _) = run(&scenario, &Options::default(), &mut |_| {}).await;
        let f = o.failure.unwrap_or_else(|| panic!("should fail"));
        assert_eq!(f.step, 0);
        assert!(f.message.contains("make them agree"), "{}", f.message);
    }

    #[tokio::test]
    async fn apply_resolves_crds_through_discovery() {
        let crd = r#"  - apply:
      object:
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
          scope: Namespaced
          versions:
          - name: v1
            served: true
            storage: true
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - apply: {object: {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: 3}}}
  - assert: {resource: {apiVersion: example.com/v1, kind: Widget, metadata: {name: w, namespace: default}, spec: {size: 3}}}
"#;
        let (o, lines) = go(crd).await;
        assert!(o.passed(), "{lines:?} {:?}", o.failure_text());
    }

    /// Same scenario, same seed: the same AWS calls at the same virtual times, the same ids, the
    /// same Nodes (names, provider ids, machine ids, timestamps); another seed changes the ids.
    #[tokio::test]
    async fn same_seed_same_world() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/cluster/seed-cluster-up.yaml"
        ));
        let Ok(scenario) = format::load(path) else {
            panic!("scenario loads")
        };
        async fn snapshot(scenario: &Scenario, seed: Option<u64>) -> (Vec<String>, String) {
            let (o, world) = run(scenario, &Options { seed }, &mut |_| {}).await;
            assert!(o.passed(), "{:?}", o.failure_text());
            let Some(world) = world else {
                panic!("the world is returned")
            };
            let calls = world
                .aws
                .recent_calls(1000)
                .into_iter()
                .map(|c| format!("{} {} {:?}", c.time, c.operation, c.error))
                .collect();
            let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(world.client.clone());
            let list = nodes
                .list(&ListParams::default())
                .await
                .unwrap_or_else(|e| panic!("list nodes: {e}"));
            let mut text = String::new();
            for n in list.items {
                let mut v = serde_json::to_value(&n).unwrap_or_default();
                if let Some(m) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                    m.remove("managedFields");
                }
                text.push_str(&v.to_string());
            }
            (calls, text)
        }
        let a = snapshot(&scenario, None).await;
        let b = snapshot(&scenario, None).await;
        assert!(a.0.len() > 20);
        assert_eq!(a.0, b.0, "same AWS calls at the same virtual times");
        assert_eq!(a.1, b.1, "same Nodes");
        let c = snapshot(&scenario, Some(8)).await;
        assert_ne!(a.1, c.1, "another seed gives other ids");
    }
}
