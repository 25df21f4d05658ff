//! One account's world in one region, shared by every service: EC2's resources, the load
//! balancers of ELBv2 and classic ELB, Auto Scaling groups, one tag index, one seeded id stream,
//! and one timer queue that moves resources through their states on the simulation clock.
//!
//! All mutation happens under one lock per (account, region) (see [`crate::regions::Regions`]), so
//! each request is atomic and requests are linearizable even across services: an Auto Scaling
//! group launches instances and a load balancer takes ENIs and addresses from subnets in the
//! same step as the request that asked. Before a request runs, [`RegionState::settle`] fires
//! every timer that is due, in time order: state changes are observed exactly when the clock
//! says they happened, with no background task.

use crate::ec2::catalog::{Az, InstanceType, Region};
use crate::ec2::state::*;
use cloudbox_sim::{IdGen, SimTime};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Duration;

/// A scheduled state change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// pending → running.
    InstanceRunning(String),
    /// stopping → stopped.
    InstanceStopped(String),
    /// shutting-down → terminated.
    InstanceTerminated(String),
    /// A terminated instance disappears from Describe output.
    InstanceForgotten(String),
    /// creating → available.
    VolumeAvailable(String),
    /// attaching → attached.
    VolumeAttached(String),
    /// detaching → available.
    VolumeDetached(String),
    /// deleting → gone.
    VolumeDeleted(String),
    /// modifying → optimizing.
    ModificationOptimizing(String),
    /// optimizing → completed.
    ModificationCompleted(String),
    /// NAT pending → available.
    NatAvailable(String),
    /// NAT deleting → deleted.
    NatDeleted(String),
    /// A timer of the ELBv2 service.
    Elbv2(crate::elbv2::Timer),
    /// A timer of the classic ELB service.
    Elb(crate::elb::Timer),
    /// A timer of the Auto Scaling service.
    AutoScaling(crate::autoscaling::Timer),
}

/// AWS-like durations of state changes (divided by the clock's time scale).
#[derive(Debug, Clone, Copy)]
pub struct Delays {
    /// Instance pending → running.
    pub instance_boot: Duration,
    /// Instance stopping → stopped.
    pub instance_stop: Duration,
    /// Instance shutting-down → terminated.
    pub instance_terminate: Duration,
    /// How long a terminated instance stays visible.
    pub terminated_visible: Duration,
    /// Volume creating → available.
    pub volume_create: Duration,
    /// Volume attaching → attached.
    pub volume_attach: Duration,
    /// Volume detaching → available.
    pub volume_detach: Duration,
    /// Volume deleting → gone.
    pub volume_delete: Duration,
    /// Modification modifying → optimizing.
    pub modify_optimizing: Duration,
    /// Modification optimizing → completed.
    pub modify_completed: Duration,
    /// The rolling window in which at most four modifications of a volume may start
    /// (AWS since January 2026; before, a fixed 6-hour cooldown).
    pub modify_window: Duration,
    /// NAT gateway pending → available.
    pub nat_create: Duration,
    /// NAT gateway deleting → deleted.
    pub nat_delete: Duration,
}

impl Default for Delays {
    fn default() -> Delays {
        let s = Duration::from_secs;
        Delays {
            instance_boot: s(20),
            instance_stop: s(30),
            instance_terminate: s(30),
            terminated_visible: s(3600),
            volume_create: s(5),
            volume_attach: s(3),
            volume_detach: s(5),
            volume_delete: s(2),
            modify_optimizing: s(10),
            modify_completed: s(60),
            modify_window: s(24 * 3600),
            nat_create: s(60),
            nat_delete: s(30),
        }
    }
}

/// Everything EC2 holds for one account in one region.
#[derive(Debug)]
pub struct RegionState {
    /// The region.
    pub region: &'static Region,
    /// The account id.
    pub account: String,
    /// Seeded ids and choices.
    pub ids: IdGen,
    /// Current simulation time (set by `settle`).
    pub now: SimTime,
    /// Clock time scale, for timers.
    pub time_scale: f64,
    /// State-change durations.
    pub delays: Delays,
    /// VPCs.
    pub vpcs: BTreeMap<String, Vpc>,
    /// Subnets.
    pub subnets: BTreeMap<String, Subnet>,
    /// Internet gateways.
    pub igws: BTreeMap<String, InternetGateway>,
    /// Elastic IPs.
    pub addresses: BTreeMap<String, Address>,
    /// NAT gateways.
    pub nat_gateways: BTreeMap<String, NatGateway>,
    /// Route tables.
    pub route_tables: BTreeMap<String, RouteTable>,
    /// Security groups.
    pub security_groups: BTreeMap<String, SecurityGroup>,
    /// Instances.
    pub instances: BTreeMap<String, Instance>,
    /// ENIs.
    pub enis: BTreeMap<String, Eni>,
    /// Volumes.
    pub volumes: BTreeMap<String, Volume>,
    /// Launch templates.
    pub launch_templates: BTreeMap<String, LaunchTemplate>,
    /// Tags by resource id.
    pub tags: HashMap<String, Tags>,
    /// Public addresses in use.
    pub public_ips: BTreeMap<String, String>,
    /// Launch counter for instance ordering.
    pub launch_seq: u64,
    /// Bumped by every change (mutating request or timer); rendered read-only outputs are
    /// reused only while it stays the same.
    pub generation: u64,
    /// Who made the request being run (set before each handler).
    pub caller: crate::sts::Caller,
    /// STS sessions of every account (shared by all regions).
    pub sessions: crate::sts::SharedSessions,
    /// ELBv2 load balancers, target groups, listeners and rules.
    pub elbv2: crate::elbv2::Elbv2State,
    /// Classic load balancers.
    pub elb: crate::elb::ElbState,
    /// Auto Scaling groups and launch configurations.
    pub autoscaling: crate::autoscaling::AutoScalingState,
    /// Rendered outputs of read-only requests: (operation, input) → (generation, body).
    pub read_cache: HashMap<(String, String), (u64, std::sync::Arc<String>)>,
    timers: BinaryHeap<Reverse<(SimTime, u64, Timer)>>,
    timer_seq: u64,
}

impl RegionState {
    /// An empty region (no default VPC; see `ec2::defaults`).
    pub fn new(
        region: &'static Region,
        account: &str,
        ids: IdGen,
        now: SimTime,
        time_scale: f64,
    ) -> RegionState {
        RegionState {
            region,
            account: account.to_string(),
            ids,
            now,
            time_scale,
            delays: Delays::default(),
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            igws: BTreeMap::new(),
            addresses: BTreeMap::new(),
            nat_gateways: BTreeMap::new(),
            route_tables: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            instances: BTreeMap::new(),
            enis: BTreeMap::new(),
            volumes: BTreeMap::new(),
            launch_templates: BTreeMap::new(),
            tags: HashMap::new(),
            public_ips: BTreeMap::new(),
            launch_seq: 0,
            caller: Default::default(),
            sessions: Default::default(),
            elbv2: Default::default(),
            elb: Default::default(),
            autoscaling: Default::default(),
            generation: 0,
            read_cache: HashMap::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
        }
    }

    /// An AZ of this region.
    pub fn az(&self, name: &str) -> Option<&'static Az> {
        self.region.az(name)
    }

    /// An ARN in this region's partition.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.region.partition, self.region.name, self.account
        )
    }

    /// A new resource id.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.ids.aws_id(prefix)
    }

    /// Schedules a timer `d` (real-world duration, scaled by the clock) from now.
    pub fn schedule(&mut self, d: Duration, t: Timer) {
        let scaled = if self.time_scale == 1.0 {
            d
        } else {
            Duration::from_secs_f64(d.as_secs_f64() / self.time_scale)
        };
        self.timer_seq += 1;
        self.timers
            .push(Reverse((self.now.plus(scaled), self.timer_seq, t)));
    }

    /// The earliest pending timer, if any.
    pub fn next_timer(&self) -> Option<SimTime> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Moves to `now`, firing due timers in order. Each timer sees `self.now` at its own due time.
    pub fn settle(&mut self, now: SimTime) {
        while let Some(Reverse((due, _, _))) = self.timers.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((due, _, timer))) = self.timers.pop() else {
                break;
            };
            if due > self.now {
                self.now = due;
            }
            self.generation += 1;
            self.fire(timer);
        }
        if now > self.now {
            self.now = now;
        }
    }

    fn fire(&mut self, t: Timer) {
        match t {
            Timer::InstanceRunning(id) => crate::ec2::instances::on_running(self, &id),
            Timer::InstanceStopped(id) => crate::ec2::instances::on_stopped(self, &id),
            Timer::InstanceTerminated(id) => {
                crate::ec2::instances::on_terminated(self, &id);
                // ELBv2 deregisters a terminated instance from its target groups (draining).
                crate::elbv2::targets::on_instance_terminated(self, &id);
            }
            Timer::InstanceForgotten(id) => {
                if self
                    .instances
                    .get(&id)
                    .is_some_and(|i| i.state == InstanceState::Terminated)
                {
                    self.instances.remove(&id);
                    self.tags.remove(&id);
                }
            }
            Timer::VolumeAvailable(id) => {
                if let Some(v) = self.volumes.get_mut(&id) {
                    if v.state == "creating" {
                        v.state = "available";
                    }
                }
            }
            Timer::VolumeAttached(id) => {
                if let Some(a) = self
                    .volumes
                    .get_mut(&id)
                    .and_then(|v| v.attachment.as_mut())
                {
                    if a.state == "attaching" {
                        a.state = "attached";
                    }
                }
            }
            Timer::VolumeDetached(id) => crate::ec2::volumes::on_detached(self, &id),
            Timer::VolumeDeleted(id) => {
                if self.volumes.get(&id).is_some_and(|v| v.state == "deleting") {
                    self.volumes.remove(&id);
                    self.tags.remove(&id);
                }
            }
            Timer::ModificationOptimizing(id) => crate::ec2::volumes::on_optimizing(self, &id),
            Timer::ModificationCompleted(id) => {
                let now = self.now;
                if let Some(m) = self
                    .volumes
                    .get_mut(&id)
                    .and_then(|v| v.modification.as_mut())
                {
                    if m.state == "optimizing" {
                        m.state = "completed";
                        m.end = Some(now);
                    }
                }
            }
            Timer::NatAvailable(id) => {
                if let Some(n) = self.nat_gateways.get_mut(&id) {
                    if n.state == "pending" {
                        n.state = "available";
                    }
                }
            }
            Timer::NatDeleted(id) => crate::ec2::gateways::on_nat_deleted(self, &id),
            Timer::Elbv2(t) => crate::elbv2::fire(self, t),
            Timer::Elb(t) => crate::elb::fire(self, t),
            Timer::AutoScaling(t) => crate::autoscaling::fire(self, t),
        }
    }

    /// The instance type record of an instance type name (validated at launch).
    pub fn instance_type(name: &str) -> Option<&'static InstanceType> {
        crate::ec2::catalog::instance_types().get(name)
    }

    /// Whether a resource id names an existing resource.
    pub fn exists(&self, id: &str) -> bool {
        self.vpcs.contains_key(id)
            || self.subnets.contains_key(id)
            || self.igws.contains_key(id)
            || self.addresses.contains_key(id)
            || self.nat_gateways.contains_key(id)
            || self.route_tables.contains_key(id)
            || self.security_groups.contains_key(id)
            || self.instances.contains_key(id)
            || self.enis.contains_key(id)
            || self.volumes.contains_key(id)
            || self.launch_templates.contains_key(id)
            || self.dhcp_option_ids().any(|d| d == id)
    }

    fn dhcp_option_ids(&self) -> impl Iterator<Item = &str> {
        self.vpcs.values().map(|v| v.dhcp_options_id.as_str())
    }

    /// Sets tags on a resource (merging).
    pub fn add_tags(&mut self, id: &str, tags: Tags) {
        if !tags.is_empty() {
            self.tags.entry(id.to_string()).or_default().extend(tags);
        }
    }
}
