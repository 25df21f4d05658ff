//! Text forms Go's `encoding/json` gives Kubernetes 1.35 (apimachinery) values: standard base64
//! for `[]byte`, RFC 3339 for `metav1.Time` (seconds) and `metav1.MicroTime` (microseconds), Go's
//! `time.Duration.String()` for `metav1.Duration`, and Go's shortest float64 formatting.
//!
//! Small enough to own rather than pull in `base64` and `chrono` for three functions.

use serde_json::{Number, Value};

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (Go's `base64.StdEncoding`, what `encoding/json` uses for `[]byte`).
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch; `time.Time{}` (Go's zero time, which
/// `metav1.Time` writes as JSON `null`) is this many seconds before 1970.
pub(crate) const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// `YYYY-MM-DDTHH:MM:SSZ`, or with `micros`, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (Go's RFC3339 and
/// `RFC3339Micro` layouts in UTC). Years outside 0..=9999 print as Go prints them (`-0001`, `10000`).
pub(crate) fn rfc3339(seconds: i64, micros: Option<u32>) -> String {
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    let year = if year < 0 {
        format!("-{:04}", year.unsigned_abs())
    } else {
        format!("{year:04}")
    };
    match micros {
        Some(us) => format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{us:06}Z"),
        None => format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's
/// `civil_from_days`). Exact over the whole i64 seconds range, as days fit easily.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Go's `time.Duration(nanos).String()`: `1h0m0s`, `1.5s`, `300ms`, `2µs`, `0s`.
pub(crate) fn go_duration(nanos: i64) -> String {
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".to_string(),
            1..=999 => (0, "ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        let frac = fraction(&mut u, prec);
        out.push_str(&u.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let frac = fraction(&mut u, 9);
        let secs = u % 60;
        u /= 60;
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{mins}m"));
        }
        out.push_str(&format!("{secs}{frac}s"));
    }
    if nanos < 0 {
        out.insert(0, '-');
    }
    out
}

/// Splits off the last `prec` decimal digits of `v` as `.ddd` without trailing zeros (Go's `fmtFrac`).
fn fraction(v: &mut u64, prec: u32) -> String {
    let mut digits = Vec::new();
    let mut print = false;
    for _ in 0..prec {
        let digit = (*v % 10) as u8;
        print = print || digit != 0;
        if print {
            digits.push(b'0' + digit);
        }
        *v /= 10;
    }
    if !print {
        return String::new();
    }
    digits.push(b'.');
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

/// A float64 as `encoding/json` writes it, read back as a JSON number: integral values below
/// 1e21 are written without a fraction (`3`, not `3.0`), so they become integers. `None` for
/// NaN and infinities, which Go refuses to marshal.
pub(crate) fn go_float(v: f64) -> Option<Value> {
    if !v.is_finite() {
        return None;
    }
    if v.fract() == 0.0 && v.abs() < 1e21 {
        if v >= i64::MIN as f64 && v < i64::MAX as f64 {
            return Some(Value::from(v as i64));
        }
        if v >= 0.0 && v < u64::MAX as f64 {
            return Some(Value::from(v as u64));
        }
    }
    Number::from_f64(v).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_go_std_encoding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(&[0, 1, 2, 0xfe, 0xff, 0x80]), "AAEC/v+A");
    }

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600, None), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, None), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1, None), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(GO_ZERO_TIME_UNIX, None), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799, None), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800, None), "10000-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(GO_ZERO_TIME_UNIX - 86_400 * 366, None),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339(1_767_225_600, Some(120)),
            "2026-01-01T00:00:00.000120Z"
        );
        // Never panics, whatever the input.
        let _ = rfc3339(i64::MIN, Some(999_999));
        let _ = rfc3339(i64::MAX, None);
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1), "1ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(300_000_000), "300ms");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(60_000_000_000), "1m0s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(-90_000_000_000), "-1m30s");
        assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
        assert_eq!(go_duration(i64::MAX), "2562047h47m16.854775807s");
    }

    #[test]
    fn floats_like_encoding_json() {
        assert_eq!(go_float(3.0), Some(Value::from(3)));
        assert_eq!(go_float(-0.5), Number::from_f64(-0.5).map(Value::Number));
        assert_eq!(
            go_float(1e19),
            Some(Value::from(10_000_000_000_000_000_000u64))
        );
        assert_eq!(go_float(1e21), Number::from_f64(1e21).map(Value::Number));
        assert_eq!(go_float(f64::NAN), None);
        assert_eq!(go_float(f64::INFINITY), None);
    }
}
