//! ipamd's datastore for one node: the node's ENIs, their secondary IPv4 addresses, which pod
//! holds each address and which were freed less than the cooldown ago.
//!
//! Upstream: aws/amazon-vpc-cni-k8s@v1.19.6 `pkg/ipamd/datastore/data_store.go` (`AddENI`,
//! `AddIPv4CidrToStore`, `DelIPv4CidrFromStore`, `AssignPodIPv4Address`, `UnassignPodIPAddress`,
//! `GetIPStats`, `getDeletableENI`, `isRequiredForWarmIPTarget`,
//! `isRequiredForMinimumIPTarget`, `GetAllocatableENIs`, `FreeableIPs`).
//!
//! Pure data, no I/O: ipamd ([`super::ipamd`]) feeds it what EC2 says and the CNI plugin
//! ([`super::cni`]) takes and returns addresses.
//!
//! Deviation(upstream): the Go datastore keeps ENIs and addresses in maps, so the address a
//! pod gets and the ENI freed first depend on map order; here ENIs are walked by device index
//! and addresses in ascending order, so a seed always gives the same answer.
//!
//! Not modelled: prefix delegation (`/28` prefixes), IPv6, trunk and EFA ENIs, the checkpoint
//! file (the state is rebuilt from EC2 and the pods instead).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The pod holding an address (upstream's `IPAMKey` names the sandbox; the pod's uid stands for
/// it, and its namespace and name give the host veth's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// One secondary address of an ENI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// The pod that holds it.
    pub pod: Option<PodRef>,
    /// When it was last released (ms); it cools down for the cooldown period after that.
    pub unassigned_at: Option<u64>,
}

/// An ENI attached to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eni {
    /// `eni-…`.
    pub id: String,
    /// The attachment's device index (0 for the primary ENI).
    pub device: i64,
    /// `eni-attach-…`.
    pub attachment_id: String,
    /// The ENI's primary private address (never given to a pod).
    pub primary_ip: Ipv4Addr,
    /// The ENI's MAC address.
    pub mac: String,
    /// When ipamd added it (ms); an ENI younger than [`MIN_ENI_LIFETIME_MS`] is not freed.
    pub created_ms: u64,
    /// Secondary addresses, ascending.
    pub addresses: BTreeMap<Ipv4Addr, Address>,
}

/// `minENILifeTime`: a new ENI is kept at least a minute.
pub const MIN_ENI_LIFETIME_MS: u64 = 60_000;

/// `GetIPStats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Secondary addresses in the datastore.
    pub total: usize,
    /// Addresses held by pods.
    pub assigned: usize,
    /// Free addresses still cooling down.
    pub cooldown: usize,
}

impl Stats {
    /// `AvailableAddresses`: total − assigned (cooling addresses count as available, as
    /// upstream).
    pub fn available(&self) -> usize {
        self.total - self.assigned
    }
}

/// The datastore of one node.
#[derive(Debug, Clone, Default)]
pub struct DataStore {
    /// ENIs by device index.
    pub enis: BTreeMap<i64, Eni>,
    /// `IP_COOLDOWN_PERIOD` in ms (30 s).
    pub cooldown_ms: u64,
}

impl Address {
    fn cooling(&self, now: u64, cooldown_ms: u64) -> bool {
        self.pod.is_none() && self.unassigned_at.is_some_and(|t| now < t + cooldown_ms)
    }
}

impl Eni {
    /// Addresses held by pods.
    pub fn assigned(&self) -> usize {
        self.addresses.values().filter(|a| a.pod.is_some()).count()
    }
}

impl DataStore {
    /// An empty datastore with the given cooldown.
    pub fn new(cooldown_ms: u64) -> DataStore {
        DataStore {
            enis: BTreeMap::new(),
            cooldown_ms,
        }
    }

    /// `AddENI`.
    pub fn add_eni(&mut self, eni: Eni) {
        self.enis.insert(eni.device, eni);
    }

    /// The ENI with this id.
    pub fn eni(&self, id: &str) -> Option<&Eni> {
        self.enis.values().find(|e| e.id == id)
    }

    fn eni_mut(&mut self, id: &str) -> Option<&mut Eni> {
        self.enis.values_mut().find(|e| e.id == id)
    }

    /// `AddIPv4CidrToStore` for secondary addresses of ENI `id` (known ones are kept).
    pub fn add_addresses(&mut self, id: &str, ips: impl IntoIterator<Item = Ipv4Addr>) {
        if let Some(e) = self.eni_mut(id) {
            for ip in ips {
                if ip != e.primary_ip {
                    e.addresses.entry(ip).or_default();
                }
            }
        }
    }

    /// `DelIPv4CidrFromStore` without force: removes a free address.
    pub fn remove_address(&mut self, id: &str, ip: Ipv4Addr) -> bool {
        let Some(e) = self.eni_mut(id) else {
            return false;
        };
        if e.addresses.get(&ip).is_some_and(|a| a.pod.is_none()) {
            e.addresses.remove(&ip);
            return true;
        }
        false
    }

    /// Removes an ENI without pods (`RemoveENIFromDataStore`).
    pub fn remove_eni(&mut self, id: &str) -> Option<Eni> {
        let device = self.eni(id)?.device;
        self.enis.remove(&device)
    }

    /// `GetIPStats` at `now`.
    pub fn stats(&self, now: u64) -> Stats {
        let mut s = Stats::default();
        for a in self.enis.values().flat_map(|e| e.addresses.values()) {
            s.total += 1;
            if a.pod.is_some() {
                s.assigned += 1;
            } else if a.cooling(now, self.cooldown_ms) {
                s.cooldown += 1;
            }
        }
        s
    }

    /// The address and ENI device of the pod `uid`.
    pub fn pod_address(&self, uid: &str) -> Option<(Ipv4Addr, i64)> {
        self.enis.values().find_map(|e| {
            e.addresses
                .iter()
                .find(|(_, a)| a.pod.as_ref().is_some_and(|p| p.uid == uid))
                .map(|(ip, _)| (*ip, e.device))
        })
    }

    /// Every held address: (address, device, pod).
    pub fn assignments(&self) -> Vec<(Ipv4Addr, i64, PodRef)> {
        self.enis
            .values()
            .flat_map(|e| {
                e.addresses
                    .iter()
                    .filter_map(move |(ip, a)| a.pod.clone().map(|p| (*ip, e.device, p)))
            })
            .collect()
    }

    /// `AssignPodIPv4Address`: the pod's address (the same one again for a pod that has one),
    /// else the first free address not cooling down; None when there is none.
    pub fn assign(&mut self, pod: &PodRef, now: u64) -> Option<(Ipv4Addr, i64)> {
        if let Some(found) = self.pod_address(&pod.uid) {
            return Some(found);
        }
        let cooldown = self.cooldown_ms;
        for e in self.enis.values_mut() {
            let free = e
                .addresses
                .iter_mut()
                .find(|(_, a)| a.pod.is_none() && !a.cooling(now, cooldown));
            if let Some((ip, a)) = free {
                a.pod = Some(pod.clone());
                a.unassigned_at = None;
                return Some((*ip, e.device));
            }
        }
        None
    }

    /// Puts back the address of an adopted pod (ipamd's restart: the pod already runs with it).
    pub fn adopt(&mut self, pod: &PodRef, ip: Ipv4Addr) -> bool {
        for e in self.enis.values_mut() {
            if let Some(a) = e.addresses.get_mut(&ip) {
                if a.pod.is_none() {
                    a.pod = Some(pod.clone());
                    return true;
                }
            }
        }
        false
    }

    /// `UnassignPodIPAddress`: frees the pod's address, which then cools down.
    pub fn unassign(&mut self, uid: &str, now: u64) -> Option<Ipv4Addr> {
        for e in self.enis.values_mut() {
            for (ip, a) in e.addresses.iter_mut() {
                if a.pod.as_ref().is_some_and(|p| p.uid == uid) {
                    a.pod = None;
                    a.unassigned_at = Some(now);
                    return Some(*ip);
                }
            }
        }
        None
    }

    /// `FreeableIPs`: the ENI's addresses that are neither held nor cooling.
    pub fn freeable(&self, id: &str, now: u64) -> Vec<Ipv4Addr> {
        self.eni(id)
            .map(|e| {
                e.addresses
                    .iter()
                    .filter(|(_, a)| a.pod.is_none() && !a.cooling(now, self.cooldown_ms))
                    .map(|(ip, _)| *ip)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `GetAllocatableENIs`: ENIs with fewer than `max_ips` secondary addresses, with their
    /// count.
    pub fn allocatable(&self, max_ips: usize) -> Vec<(String, usize)> {
        self.enis
            .values()
            .filter(|e| e.addresses.len() < max_ips)
            .map(|e| (e.id.clone(), e.addresses.len()))
            .collect()
    }

    /// `getDeletableENI`: the first secondary ENI old enough, with nothing cooling, no pods and
    /// not needed for `WARM_IP_TARGET` / `MINIMUM_IP_TARGET` (0 = unset).
    pub fn deletable(&self, now: u64, warm_ip: usize, min_ip: usize) -> Option<&Eni> {
        self.enis.values().find(|e| {
            let others = || self.enis.values().filter(|o| o.id != e.id);
            let other_free: usize = others().map(|o| o.addresses.len() - o.assigned()).sum();
            let other_total: usize = others().map(|o| o.addresses.len()).sum();
            e.device != 0
                && now >= e.created_ms + MIN_ENI_LIFETIME_MS
                && !e
                    .addresses
                    .values()
                    .any(|a| a.cooling(now, self.cooldown_ms))
                && e.assigned() == 0
                && !(warm_ip != 0 && other_free < warm_ip)
                && !(min_ip != 0 && other_total < min_ip)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eni(id: &str, device: i64, base: u8, n: u8) -> Eni {
        let mut e = Eni {
            id: id.into(),
            device,
            attachment_id: format!("eni-attach-{device}"),
            primary_ip: Ipv4Addr::new(10, 0, base, 0),
            mac: String::new(),
            created_ms: 0,
            addresses: BTreeMap::new(),
        };
        for i in 1..=n {
            e.addresses
                .insert(Ipv4Addr::new(10, 0, base, i), Address::default());
        }
        e
    }

    fn pod(uid: &str) -> PodRef {
        PodRef {
            uid: uid.into(),
            namespace: "default".into(),
            name: uid.into(),
        }
    }

    #[test]
    fn assigns_in_order_and_cools_down() {
        let mut ds = DataStore::new(30_000);
        ds.add_eni(eni("eni-a", 0, 1, 2));
        ds.add_eni(eni("eni-b", 1, 2, 1));
        assert_eq!(
            ds.assign(&pod("p1"), 0),
            Some((Ipv4Addr::new(10, 0, 1, 1), 0))
        );
        assert_eq!(
            ds.assign(&pod("p1"), 0),
            Some((Ipv4Addr::new(10, 0, 1, 1), 0))
        );
        assert_eq!(
            ds.assign(&pod("p2"), 0),
            Some((Ipv4Addr::new(10, 0, 1, 2), 0))
        );
        assert_eq!(
            ds.assign(&pod("p3"), 0),
            Some((Ipv4Addr::new(10, 0, 2, 1), 1))
        );
        assert_eq!(ds.assign(&pod("p4"), 0), None);
        assert_eq!(ds.unassign("p1", 1_000), Some(Ipv4Addr::new(10, 0, 1, 1)));
        assert_eq!(ds.stats(1_000).cooldown, 1);
        assert_eq!(ds.assign(&pod("p4"), 30_999), None);
        assert_eq!(
            ds.assign(&pod("p4"), 31_000),
            Some((Ipv4Addr::new(10, 0, 1, 1), 0))
        );
    }

    #[test]
    fn deletable_enis() {
        let mut ds = DataStore::new(30_000);
        ds.add_eni(eni("eni-a", 0, 1, 9));
        ds.add_eni(eni("eni-b", 1, 2, 9));
        assert!(ds.deletable(59_999, 0, 0).is_none(), "too young");
        assert_eq!(ds.deletable(60_000, 0, 0).map(|e| e.device), Some(1));
        assert!(
            ds.deletable(60_000, 10, 0).is_none(),
            "needed for the warm target"
        );
        assert!(
            ds.deletable(60_000, 0, 10).is_none(),
            "needed for the minimum"
        );
        ds.assign(&pod("p"), 0);
        ds.assign(&pod("q"), 0);
        assert_eq!(ds.pod_address("q").map(|x| x.1), Some(0));
    }
}
