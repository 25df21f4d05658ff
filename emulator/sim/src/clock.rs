//! The simulation clock.
//!
//! Two modes:
//! - **manual** (scenarios and tests): time starts at a fixed instant and moves only when
//!   [`Clock::advance`] is called, so waits cost nothing and runs are reproducible;
//! - **wall** (`cloudbox up`): time follows the wall clock, and the AWS-like delays of resource
//!   state machines are divided by a time scale (`--time-scale N`).
//!
//! In both modes [`Clock::advance`] moves the clock forward (the admin API exposes it), which lets
//! a script skip a 5-minute node boot without sleeping.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point on the simulation clock: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// This instant plus a duration.
    pub fn plus(self, d: Duration) -> SimTime {
        SimTime(self.0.saturating_add(d.as_millis() as u64))
    }
    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }
    /// ISO 8601 with milliseconds and `Z`, as AWS XML and Kubernetes micro-times use.
    pub fn to_iso8601_millis(self) -> String {
        crate::time_fmt::iso8601_millis(self.0)
    }
    /// RFC 3339 to the second (`2026-01-01T00:00:00Z`), as Kubernetes `metav1.Time` uses.
    pub fn to_rfc3339_secs(self) -> String {
        crate::time_fmt::rfc3339_secs(self.0)
    }
}

/// The fixed start of a manual clock: 2026-01-01T00:00:00Z.
pub const MANUAL_EPOCH_MS: u64 = 1_767_225_600_000;

#[derive(Debug)]
enum Mode {
    Manual,
    Wall { started: Instant, started_ms: u64 },
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    scale: f64,
    /// Manual advances (both modes) in milliseconds.
    offset_ms: Mutex<u64>,
}

/// The one simulation clock. Cheap to clone; clones share the same time.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

impl Clock {
    /// A clock that stands still until advanced, starting at [`MANUAL_EPOCH_MS`].
    pub fn manual() -> Clock {
        Clock {
            inner: Arc::new(Inner {
                mode: Mode::Manual,
                scale: 1.0,
                offset_ms: Mutex::new(0),
            }),
        }
    }

    /// A clock that follows the wall clock; resource delays are divided by `scale` (≥ 1 speeds up).
    pub fn wall(scale: f64) -> Clock {
        let started_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(MANUAL_EPOCH_MS);
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        Clock {
            inner: Arc::new(Inner {
                mode: Mode::Wall {
                    started: Instant::now(),
                    started_ms,
                },
                scale,
                offset_ms: Mutex::new(0),
            }),
        }
    }

    /// The current simulation time.
    pub fn now(&self) -> SimTime {
        let offset = *self.inner.offset_ms.lock();
        match &self.inner.mode {
            Mode::Manual => SimTime(MANUAL_EPOCH_MS + offset),
            Mode::Wall {
                started,
                started_ms,
            } => SimTime(started_ms + started.elapsed().as_millis() as u64 + offset),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut off = self.inner.offset_ms.lock();
        *off = off.saturating_add(d.as_millis() as u64);
    }

    /// Whether the clock only moves when advanced.
    pub fn is_manual(&self) -> bool {
        matches!(self.inner.mode, Mode::Manual)
    }

    /// The time scale (1 for a manual clock).
    pub fn scale(&self) -> f64 {
        self.inner.scale
    }

    /// A real-world delay (e.g. "an instance boots in 30 s") as it passes on this clock: divided
    /// by the time scale.
    pub fn delay(&self, d: Duration) -> Duration {
        if self.inner.scale == 1.0 {
            d
        } else {
            Duration::from_secs_f64(d.as_secs_f64() / self.inner.scale)
        }
    }

    /// The instant a real-world delay from now ends.
    pub fn after(&self, d: Duration) -> SimTime {
        self.now().plus(self.delay(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = Clock::manual();
        let t0 = c.now();
        assert_eq!(t0, c.now());
        c.advance(Duration::from_secs(90));
        assert_eq!(c.now().0 - t0.0, 90_000);
        assert_eq!(c.clone().now(), c.now());
    }

    #[test]
    fn time_scale_divides_delays() {
        let c = Clock::wall(10.0);
        assert_eq!(c.delay(Duration::from_secs(30)), Duration::from_secs(3));
        assert_eq!(
            Clock::manual().delay(Duration::from_secs(30)),
            Duration::from_secs(30)
        );
        assert_eq!(Clock::wall(-1.0).scale(), 1.0);
    }
}
