//! Timestamp formatting without a calendar dependency (Howard Hinnant's civil-from-days).

fn civil(ms: u64) -> (i64, u32, u32, u64, u64, u64, u64) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60, ms % 1000)
}

/// Appends `n` as exactly `width` decimal digits (zero-padded; higher digits dropped).
fn digits(out: &mut String, n: u64, width: u32) {
    for i in (0..width).rev() {
        let d = (n / 10u64.pow(i)) % 10;
        out.push(char::from(b'0' + d as u8));
    }
}

/// `2026-01-01T00:00:00.000Z` (written digit by digit: timestamps fill Describe answers, and
/// `format!` made them a tenth of a DescribeInstances).
pub fn iso8601_millis(ms: u64) -> String {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z");
    }
    let mut out = String::with_capacity(24);
    digits(&mut out, y as u64, 4);
    out.push('-');
    digits(&mut out, u64::from(mo), 2);
    out.push('-');
    digits(&mut out, u64::from(d), 2);
    out.push('T');
    digits(&mut out, h, 2);
    out.push(':');
    digits(&mut out, mi, 2);
    out.push(':');
    digits(&mut out, s, 2);
    out.push('.');
    digits(&mut out, milli, 3);
    out.push('Z');
    out
}

/// `2026-01-01T00:00:00Z`
pub fn rfc3339_secs(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (or with `+00:00`) into Unix milliseconds.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut millis = 0;
    let rest = &s[19..];
    let rest = if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
        let mut m = digits.chars().take(3).collect::<String>();
        while m.len() < 3 {
            m.push('0');
        }
        millis = m.parse().ok()?;
        &frac[digits.len()..]
    } else {
        rest
    };
    if !(rest.is_empty() || rest == "Z" || rest == "+00:00") || !(1..=12).contains(&mo) {
        return None;
    }
    let (y, mo) = (y as i64, mo as i64);
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + (h * 3600 + mi * 60 + sec) as i64;
    u64::try_from(secs).ok().map(|s| s * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601_millis(1_767_225_600_000),
            "2026-01-01T00:00:00.000Z"
        );
        assert_eq!(rfc3339_secs(1_709_251_199_000), "2024-02-29T23:59:59Z");
        for ms in [0, 1_767_225_600_123, 1_709_251_199_000, 951_782_400_000] {
            assert_eq!(parse_iso8601(&iso8601_millis(ms)), Some(ms));
        }
        assert_eq!(parse_iso8601("nope"), None);
    }
}

#[cfg(test)]
mod fast_path_tests {
    #[test]
    fn iso8601_fast_path_agrees_with_format() {
        for ms in [
            0u64,
            1_767_225_600_000,
            1_767_225_600_123,
            4_102_444_799_999,
            951_782_400_007,
        ] {
            let (y, mo, d, h, mi, s, milli) = super::civil(ms);
            let slow = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z");
            assert_eq!(super::iso8601_millis(ms), slow);
        }
    }
}
