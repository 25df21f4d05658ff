//! Markdown output: one table per scenario (target, connections, units, errors, rate, p50, p99),
//! the ratios cloudbox/moto and cloudbox/bare per connection count, and the goals.

use crate::load::LoadResult;
use std::fmt::Write;
use std::time::Duration;

/// One measured cell: a target at one connection count.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Target label (`cloudbox`, `moto`, `bare`, or a URL).
    pub target: String,
    /// Concurrent connections (workers).
    pub connections: usize,
    /// The measurement.
    pub result: LoadResult,
    /// What the setup verified.
    pub note: String,
}

/// Milliseconds with three significant digits or so.
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 1.0 {
        format!("{v:.3}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

/// A rate, with thousands separators above 100.
pub fn rate(r: f64) -> String {
    if r < 100.0 {
        return format!("{r:.2}");
    }
    let s = format!("{:.0}", r);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn opt_ms(d: Option<Duration>) -> String {
    d.map(ms).unwrap_or_else(|| "—".into())
}

fn opt_us(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 100.0 => format!("{v:.1}"),
        Some(v) => rate(v),
        None => "—".into(),
    }
}

/// The table of a scenario. `paged`: units are listings of several HTTP requests.
pub fn table(cells: &[&Cell], paged: bool) -> String {
    let mut out = String::new();
    if paged {
        out.push_str("| target | conns | listings ok | errors | cut | listings/s | HTTP req/s | p50 ms (whole listing) | p99 ms | server CPU µs/listing | client CPU µs/listing | other CPU % | setup |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    } else {
        out.push_str("| target | conns | requests ok | errors | cut | req/s | p50 ms | p99 ms | server CPU µs/req | client CPU µs/req | other CPU % | setup |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    }
    for c in cells {
        let r = &c.result;
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            c.target,
            c.connections,
            r.ok,
            r.errors,
            r.cut,
            rate(r.rate())
        );
        if paged {
            let http = if r.elapsed.is_zero() {
                0.0
            } else {
                r.requests as f64 / r.elapsed.as_secs_f64()
            };
            let _ = write!(out, " {} |", rate(http));
        }
        let _ = writeln!(
            out,
            " {} | {} | {} | {} | {} | {} |",
            opt_ms(r.percentile(50.0)),
            opt_ms(r.percentile(99.0)),
            opt_us(r.cpu_per_unit(r.cpu.server)),
            opt_us(r.cpu_per_unit(r.cpu.client)),
            r.cpu
                .other_percent
                .map_or("—".into(), |p| format!("{p:.0}")),
            c.note
        );
    }
    out
}

/// `a`'s rate over `b`'s. When `b` completed nothing, `b`'s rate is below one unit per its
/// elapsed time, so the ratio is at least `a.rate × b.elapsed`.
pub fn ratio(a: &LoadResult, b: &LoadResult) -> String {
    if a.ok == 0 {
        return "—".into();
    }
    if b.ok == 0 {
        return format!("> {}×", rate(a.rate() * b.elapsed.as_secs_f64()));
    }
    let x = a.rate() / b.rate();
    if x < 10.0 {
        format!("{x:.2}×")
    } else {
        format!("{}×", rate(x))
    }
}

/// The ratio as a number (a lower bound when `b` completed nothing).
pub fn ratio_value(a: &LoadResult, b: &LoadResult) -> Option<f64> {
    if a.ok == 0 {
        return None;
    }
    if b.ok == 0 {
        return Some(a.rate() * b.elapsed.as_secs_f64());
    }
    Some(a.rate() / b.rate())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(rate(1234567.4), "1,234,567");
        assert_eq!(rate(123.4), "123");
        assert_eq!(rate(4.256), "4.26");
        assert_eq!(ms(Duration::from_micros(250)), "0.250");
        assert_eq!(ms(Duration::from_micros(12_345)), "12.35");
        assert_eq!(ms(Duration::from_millis(2_100)), "2100");
    }

    #[test]
    fn ratios_bound_when_the_other_side_finished_nothing() {
        let a = LoadResult {
            ok: 1000,
            elapsed: Duration::from_secs(1),
            ..LoadResult::default()
        };
        let b = LoadResult {
            ok: 0,
            elapsed: Duration::from_secs(10),
            ..LoadResult::default()
        };
        assert_eq!(ratio(&a, &b), "> 10,000×");
        let c = LoadResult {
            ok: 2,
            elapsed: Duration::from_secs(1),
            ..LoadResult::default()
        };
        assert_eq!(ratio(&a, &c), "500×");
        assert_eq!(ratio_value(&c, &a), Some(0.002));
    }
}
