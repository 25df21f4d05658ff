//! Every account's regions: one [`RegionState`] per (account, region), created on first use with
//! the account's default VPC, and the one place that runs an operation of any service against
//! it (settle the clock, check `DryRun`, run the handler, reuse cached read-only answers).
//!
//! Both doors into the endpoint — HTTP (`server.rs`) and the in-process client (`client.rs`) —
//! call [`Regions::call`] or [`Regions::call_rendered`].

use crate::ec2::catalog::Region;
use crate::error::{AwsError, AwsResult, Code};
use crate::region::RegionState;
use crate::service::{self, Service};
use crate::sts::{Caller, SharedSessions};
use cloudbox_sim::{Clock, IdGen, SimTime};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Rendered read-only outputs kept per region.
const READ_CACHE_ENTRIES: usize = 256;

/// (account, region).
pub type RegionKey = (String, &'static str);
/// One region's state behind its lock.
pub type SharedRegion = Arc<Mutex<RegionState>>;

/// Every (account, region) in existence.
#[derive(Debug)]
pub struct Regions {
    clock: Clock,
    seed: u64,
    map: Mutex<HashMap<RegionKey, SharedRegion>>,
    sessions: SharedSessions,
}

impl Regions {
    /// No regions yet, on a clock, with a seed for ids.
    pub fn new(clock: Clock, seed: u64) -> Regions {
        Regions {
            clock,
            seed,
            map: Mutex::new(HashMap::new()),
            sessions: SharedSessions::default(),
        }
    }

    /// The simulation clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The STS sessions (temporary credentials) of every account.
    pub fn sessions(&self) -> &SharedSessions {
        &self.sessions
    }

    /// Who an access key is: an STS session's assumed role, or the account's root identity.
    pub fn caller(&self, access_key: &str, region: &'static Region) -> Caller {
        self.sessions.caller(access_key, region)
    }

    /// The state of one account in one region.
    pub fn region_state(&self, account: &str, region: &'static Region) -> SharedRegion {
        let mut map = self.map.lock();
        map.entry((account.to_string(), region.name))
            .or_insert_with(|| {
                let ids = IdGen::derived(self.seed, &format!("{account}/{}", region.name));
                let mut st =
                    RegionState::new(region, account, ids, self.clock.now(), self.clock.scale());
                st.sessions = self.sessions.clone();
                crate::ec2::vpcs::create_default_vpc(&mut st);
                Arc::new(Mutex::new(st))
            })
            .clone()
    }

    fn locked_call<T>(
        &self,
        svc: &dyn Service,
        caller: &Caller,
        region: &'static Region,
        op: &str,
        input: &Value,
        then: impl FnOnce(&mut RegionState, service::Handler) -> AwsResult<T>,
    ) -> AwsResult<T> {
        let handler = svc
            .handler(op)
            .ok_or_else(|| service::not_implemented(svc, op))?;
        let state = self.region_state(&caller.account, region);
        let mut st = state.lock();
        st.settle(self.clock.now());
        if caller
            .expires_ms
            .is_some_and(|e| self.clock.now().as_millis() >= e)
        {
            return Err(AwsError::new(
                Code::ExpiredToken,
                "The security token included in the request is expired",
            ));
        }
        if input.get("DryRun").and_then(Value::as_bool) == Some(true) {
            return Err(AwsError::new(
                Code::DryRunOperation,
                "Request would have succeeded, but DryRun flag is set.",
            ));
        }
        st.caller = caller.clone();
        then(&mut st, handler)
    }

    /// Runs one operation and returns its output structure.
    pub fn call(
        &self,
        svc: &dyn Service,
        caller: &Caller,
        region: &'static Region,
        op: &str,
        input: &Value,
    ) -> AwsResult<Value> {
        self.locked_call(svc, caller, region, op, input, |st, handler| {
            if !svc.read_only(op) {
                st.generation += 1;
            }
            handler(st, input)
        })
    }

    /// Runs one operation and renders its output with `render` (the protocol codec), which is
    /// given either the output JSON or, for operations with a [`service::RenderHandler`], a
    /// writer to run into its sink. The
    /// rendered output of a read-only operation is reused while nothing in the region changed
    /// (no mutating request, no timer fired), so controllers polling `Describe*` cost little.
    /// `DescribeInstanceStatus` and `DescribeTargetHealth`-like answers that depend on the time
    /// itself are always recomputed.
    pub fn call_rendered(
        &self,
        svc: &dyn Service,
        caller: &Caller,
        region: &'static Region,
        op: &str,
        input: &Value,
        render: impl FnOnce(Output<'_>) -> AwsResult<String>,
    ) -> AwsResult<Arc<String>> {
        let typed = svc.render_handler(op);
        self.locked_call(svc, caller, region, op, input, |st, handler| {
            let run =
                |st: &mut RegionState, render: &mut dyn FnMut(Output<'_>) -> AwsResult<String>| {
                    match typed {
                        Some(t) => render(Output::Typed(&mut |sink| t(st, input, sink))),
                        None => {
                            let out = handler(st, input)?;
                            render(Output::Json(&out))
                        }
                    }
                };
            let mut render = Some(render);
            let mut render_once = |o: Output<'_>| match render.take() {
                Some(r) => r(o),
                None => Err(AwsError::new(Code::InternalError, "rendered twice")),
            };
            if !svc.read_only(op) {
                st.generation += 1;
                return run(st, &mut render_once).map(Arc::new);
            }
            if TIME_DEPENDENT.contains(&op) {
                return run(st, &mut render_once).map(Arc::new);
            }
            let key = (format!("{}:{op}", svc.name()), input.to_string());
            let generation = st.generation;
            if let Some((g, body)) = st.read_cache.get(&key) {
                if *g == generation {
                    return Ok(body.clone());
                }
            }
            let body = Arc::new(run(st, &mut render_once)?);
            if st.read_cache.len() >= READ_CACHE_ENTRIES {
                st.read_cache.clear();
            }
            st.read_cache.insert(key, (generation, body.clone()));
            Ok(body)
        })
    }

    /// The earliest pending timer of any region, if any.
    pub fn next_timer(&self) -> Option<SimTime> {
        self.all_states()
            .iter()
            .filter_map(|(_, st)| st.lock().next_timer())
            .min()
    }

    /// Forgets every account and region (and every STS session).
    pub fn reset(&self) {
        self.map.lock().clear();
        self.sessions.clear();
    }

    /// Every region state in existence, sorted (for the admin state dump and IMDS).
    pub fn all_states(&self) -> Vec<(RegionKey, SharedRegion)> {
        let mut v: Vec<_> = self
            .map
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// What an operation produced, for the codec to render.
pub enum Output<'a> {
    /// The output structure as JSON.
    Json(&'a Value),
    /// A writer of the output structure: run it into the codec's sink. It fails before
    /// writing anything if the request is refused.
    Typed(&'a mut dyn FnMut(&mut dyn crate::protocol::render::Sink) -> AwsResult<()>),
}

/// Read-only operations whose answer depends on the time itself, not only on the region's
/// generation, and so are never served from the read cache.
const TIME_DEPENDENT: &[&str] = &[
    "DescribeInstanceStatus",
    "DescribeTargetHealth",
    "DescribeInstanceHealth",
    "DescribeScalingActivities",
];
