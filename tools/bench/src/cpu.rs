//! CPU accounting from `/proc`, so every measured cell says how much CPU the server, the
//! client and everything else on the machine used while it ran. On a shared 2-core machine the
//! last figure ("other CPU") tells a clean measurement from one disturbed by a compile.

use std::time::Duration;

/// Linux reports these in USER_HZ ticks, 100 per second on every mainstream architecture.
const TICK: Duration = Duration::from_millis(10);

/// CPU time (user + system, all threads) used so far by process `pid`, or by this process when
/// `None`, from `/proc/PID/stat`.
pub fn process(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u32 = f.get(11)?.parse().ok()?;
    let stime: u32 = f.get(12)?.parse().ok()?;
    Some(TICK * (utime + stime))
}

/// Busy CPU time of the whole machine so far (all cores; everything but idle and iowait), from
/// the first line of `/proc/stat`.
pub fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|i| v.get(*i)).sum();
    Some(TICK * u32::try_from(busy).ok()?)
}

/// The number of cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A snapshot of the three CPU counters a cell reports.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    server: Option<Duration>,
    client: Option<Duration>,
    machine: Option<Duration>,
}

/// CPU used between two snapshots.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// The server process (when it is a child we started).
    pub server: Option<Duration>,
    /// This process (the load generator).
    pub client: Option<Duration>,
    /// Everything else on the machine, as a percentage of all cores over the interval.
    pub other_percent: Option<f64>,
}

impl Snapshot {
    /// Reads the counters now.
    pub fn take(server_pid: Option<u32>) -> Snapshot {
        Snapshot {
            server: server_pid.and_then(|p| process(Some(p))),
            client: process(None),
            machine: machine_busy(),
        }
    }

    /// The usage from `self` to `later`, over `elapsed` of wall time.
    pub fn usage(&self, later: &Snapshot, elapsed: Duration) -> Usage {
        let d =
            |a: Option<Duration>, b: Option<Duration>| b.zip(a).map(|(b, a)| b.saturating_sub(a));
        let server = d(self.server, later.server);
        let client = d(self.client, later.client);
        let machine = d(self.machine, later.machine);
        let other_percent = machine.zip(client).map(|(m, c)| {
            let other = m
                .saturating_sub(c)
                .saturating_sub(server.unwrap_or_default());
            let total = elapsed.as_secs_f64() * cores() as f64;
            if total > 0.0 {
                100.0 * other.as_secs_f64() / total
            } else {
                0.0
            }
        });
        Usage {
            server,
            client,
            other_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc() {
        assert!(process(None).is_some());
        assert!(machine_busy().is_some());
        let a = Snapshot::take(Some(std::process::id()));
        let b = Snapshot::take(Some(std::process::id()));
        let u = a.usage(&b, Duration::from_secs(1));
        assert!(u.server.is_some() && u.client.is_some());
        assert!(u.other_percent.is_some_and(|p| p >= 0.0));
    }
}
