//! Service address allocation: ClusterIPs from the service CIDR (default 10.96.0.0/12, with
//! 10.96.0.1 kept for the `kubernetes` Service) and NodePorts from 30000–32767. Choices are
//! pseudo-random like upstream's allocators but drawn from the seeded generator, so a run is
//! reproducible. Explicit requests that are taken or out of range are refused with upstream's
//! messages (`provided IP is already allocated`, `provided port is already allocated`).

use crate::error::Cause;
use cloudbox_sim::IdGen;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// NodePort range (inclusive).
pub const NODE_PORT_RANGE: (u16, u16) = (30000, 32767);

/// Allocators of one cluster.
#[derive(Debug)]
pub struct ServiceAlloc {
    base: u32,
    size: u32,
    ips: BTreeSet<u32>,
    ports: BTreeSet<u16>,
    rng: IdGen,
}

impl ServiceAlloc {
    /// Allocators for `cidr` (e.g. `10.96.0.0/12`).
    pub fn new(cidr: &str, seed: u64) -> ServiceAlloc {
        let (ip, bits) = cidr.split_once('/').unwrap_or(("10.96.0.0", "12"));
        let base = ip.parse::<Ipv4Addr>().map(u32::from).unwrap_or(0x0A60_0000);
        let bits: u32 = bits.parse().unwrap_or(12).clamp(8, 30);
        let size = 1u32 << (32 - bits);
        ServiceAlloc {
            base: base & !(size - 1),
            size,
            ips: BTreeSet::new(),
            ports: BTreeSet::new(),
            rng: IdGen::derived(seed, "kube-service-alloc"),
        }
    }

    /// The first usable address (the `kubernetes` Service's).
    pub fn first_ip(&self) -> String {
        Ipv4Addr::from(self.base + 1).to_string()
    }

    fn in_range(&self, ip: u32) -> bool {
        ip > self.base && ip < self.base + self.size - 1
    }

    /// Allocates a requested or random ClusterIP.
    pub fn allocate_ip(&mut self, requested: Option<&str>) -> Result<String, Cause> {
        if let Some(r) = requested.filter(|r| !r.is_empty()) {
            let ip = r.parse::<Ipv4Addr>().map(u32::from).map_err(|_| {
                Cause::new(
                    "FieldValueInvalid",
                    "spec.clusterIPs",
                    format!("Invalid value: []string{{\"{r}\"}}: must be a valid IP address"),
                )
            })?;
            if !self.in_range(ip) {
                return Err(Cause::new("FieldValueInvalid", "spec.clusterIPs", format!("Invalid value: []string{{\"{r}\"}}: failed to allocate IP {r}: the provided IP ({r}) is not in the valid range. The range of valid IPs is {}/{}", Ipv4Addr::from(self.base), 32 - self.size.trailing_zeros())));
            }
            if !self.ips.insert(ip) {
                return Err(Cause::new(
                    "FieldValueInvalid",
                    "spec.clusterIPs",
                    format!("Invalid value: []string{{\"{r}\"}}: failed to allocate IP {r}: provided IP is already allocated"),
                ));
            }
            return Ok(r.to_string());
        }
        let usable = u64::from(self.size - 2);
        let start = self.rng.below(usable) as u32;
        for i in 0..self.size - 2 {
            let ip = self.base + 1 + (start + i) % (self.size - 2);
            if self.ips.insert(ip) {
                return Ok(Ipv4Addr::from(ip).to_string());
            }
        }
        Err(Cause::new(
            "FieldValueInvalid",
            "spec.clusterIPs",
            "Internal error: failed to allocate a serviceIP: range is full",
        ))
    }

    /// Frees a ClusterIP.
    pub fn release_ip(&mut self, ip: &str) {
        if let Ok(ip) = ip.parse::<Ipv4Addr>() {
            self.ips.remove(&u32::from(ip));
        }
    }

    /// Allocates a requested or random NodePort; `field` names the port in errors.
    pub fn allocate_port(&mut self, requested: Option<u16>, field: &str) -> Result<u16, Cause> {
        let (lo, hi) = NODE_PORT_RANGE;
        if let Some(p) = requested.filter(|p| *p != 0) {
            if !(lo..=hi).contains(&p) {
                return Err(Cause::new("FieldValueInvalid", field, format!("Invalid value: {p}: provided port is not in the valid range. The range of valid ports is {lo}-{hi}")));
            }
            if !self.ports.insert(p) {
                return Err(Cause::new(
                    "FieldValueInvalid",
                    field,
                    format!("Invalid value: {p}: provided port is already allocated"),
                ));
            }
            return Ok(p);
        }
        let n = u64::from(hi - lo + 1);
        let start = self.rng.below(n) as u16;
        for i in 0..(hi - lo + 1) {
            let p = lo + (start + i) % (hi - lo + 1);
            if self.ports.insert(p) {
                return Ok(p);
            }
        }
        Err(Cause::new(
            "FieldValueInvalid",
            field,
            "Internal error: failed to allocate a nodePort: range is full",
        ))
    }

    /// Frees a NodePort.
    pub fn release_port(&mut self, p: u16) {
        self.ports.remove(&p);
    }

    /// Marks a port as taken without checks (rollback helpers).
    pub fn is_port_taken(&self, p: u16) -> bool {
        self.ports.contains(&p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_unique_and_conflicts_refused() {
        let mut a = ServiceAlloc::new("10.96.0.0/12", 1);
        assert_eq!(a.first_ip(), "10.96.0.1");
        assert!(a.allocate_ip(Some("10.96.0.1")).is_ok());
        assert!(a.allocate_ip(Some("10.96.0.1")).is_err());
        assert!(a.allocate_ip(Some("192.168.0.1")).is_err());
        let x = a.allocate_ip(None).unwrap_or_default();
        assert!(x.starts_with("10."));
        assert_eq!(a.allocate_port(Some(30080), "p").ok(), Some(30080));
        let e = a.allocate_port(Some(30080), "spec.ports[0].nodePort").err();
        assert!(e.is_some_and(|c| c.message.contains("provided port is already allocated")));
        assert!(a.allocate_port(Some(80), "p").is_err());
    }
}
