//! String formats of a structural schema, as the go-openapi `strfmt.Default` registry that
//! kube-apiserver validates custom resources with. A format outside the registry (and the
//! numeric formats `int32`, `int64`, `float`, `double`) is ignored, as upstream does.
//!
//! Upstream: kubernetes v1.32, vendor/k8s.io/kube-openapi/pkg/validation/strfmt/{default.go,date.go,time.go,duration.go},
//! k8s.io/kube-openapi/pkg/validation/validate/format.go.
//! Not modelled: `uri`, `email`, `isbn*`, `creditcard`, `ssn` are checked loosely (shape only).

/// Whether `s` is valid for `format`; `None` when the format is not in the registry.
pub fn check(format: &str, s: &str) -> Option<bool> {
    let ok = match format {
        "byte" => is_base64(s),
        "date" => is_date(s),
        "date-time" | "datetime" => is_date_time(s),
        "uuid" => is_uuid(s, None),
        "uuid3" => is_uuid(s, Some(b'3')),
        "uuid4" => is_uuid(s, Some(b'4')),
        "uuid5" => is_uuid(s, Some(b'5')),
        "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
        "cidr" => is_cidr(s),
        "mac" => is_mac(s),
        "hostname" => is_hostname(s),
        "email" => is_email(s),
        "uri" => is_uri(s),
        "duration" => is_duration(s),
        "bsonobjectid" => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "hexcolor" => {
            let b = s.as_bytes();
            b.first() == Some(&b'#')
                && (b.len() == 4 || b.len() == 7)
                && b[1..].iter().all(u8::is_ascii_hexdigit)
        }
        "rgbcolor" => is_rgb(s),
        "password" => true,
        _ => return None,
    };
    Some(ok)
}

fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn is_date(s: &str) -> bool {
    let mut it = s.split('-');
    let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn is_time(s: &str) -> bool {
    let (hms, frac) = match s.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    let mut it = hms.split(':');
    let (Some(h), Some(m), Some(sec), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return false;
    };
    matches!((digits(h, 2), digits(m, 2), digits(sec, 2)), (Some(h), Some(m), Some(sec)) if h < 24 && m < 60 && sec < 61)
}

/// RFC 3339 date-times (`2006-01-02T15:04:05.999Z07:00`), as strfmt.ParseDateTime accepts.
fn is_date_time(s: &str) -> bool {
    let Some(t) = s.find(['T', 't', ' ']) else {
        return false;
    };
    let (date, rest) = (&s[..t], &s[t + 1..]);
    if !is_date(date) {
        return false;
    }
    if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        return is_time(time);
    }
    match rest.rfind(['+', '-']) {
        Some(i) => {
            let (time, off) = (&rest[..i], &rest[i + 1..]);
            let mut o = off.split(':');
            is_time(time)
                && matches!((o.next().and_then(|h| digits(h, 2)), o.next().and_then(|m| digits(m, 2)), o.next()), (Some(h), Some(m), None) if h < 24 && m < 60)
        }
        None => false,
    }
}

fn is_uuid(s: &str, version: Option<u8>) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    shape && version.is_none_or(|v| b[14] == v)
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    if ip.parse::<std::net::Ipv4Addr>().is_ok() {
        bits <= 32
    } else {
        ip.parse::<std::net::Ipv6Addr>().is_ok() && bits <= 128
    }
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    matches!(parts.len(), 6 | 8 | 20)
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.trim_end_matches('.').split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn is_email(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && is_hostname(domain),
        None => false,
    }
}

fn is_uri(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            let b = scheme.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphabetic()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        }
        None => false,
    }
}

/// Go durations (`1h30m`, `1.5s`) and strfmt's `<n> <unit>` form (`3 days`).
fn is_duration(s: &str) -> bool {
    const UNITS: [&str; 22] = [
        "ns", "us", "µs", "ms", "s", "m", "h", "d", "w", "sec", "secs", "second", "seconds", "min",
        "mins", "minute", "minutes", "hour", "hours", "day", "days", "weeks",
    ];
    let s = s.trim();
    if let Some((n, unit)) = s.split_once(' ') {
        return n.parse::<i64>().is_ok() && UNITS.contains(&unit.trim());
    }
    let mut rest = s.strip_prefix(['-', '+']).unwrap_or(s);
    if rest.is_empty() {
        return false;
    }
    if rest == "0" {
        return true;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 || rest[..n].parse::<f64>().is_err() {
            return false;
        }
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if !["ns", "us", "µs", "ms", "s", "m", "h"].contains(&&rest[..u]) {
            return false;
        }
        rest = &rest[u..];
    }
    true
}

fn is_rgb(s: &str) -> bool {
    let Some(inner) = s.strip_prefix("rgb(").and_then(|r| r.strip_suffix(')')) else {
        return false;
    };
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    parts.len() == 3 && parts.iter().all(|p| p.parse::<u8>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn registry_formats() {
        assert_eq!(check("date-time", "2024-01-02T03:04:05Z"), Some(true));
        assert_eq!(
            check("date-time", "2024-01-02T03:04:05.123+02:00"),
            Some(true)
        );
        assert_eq!(check("date-time", "2024-13-02T03:04:05Z"), Some(false));
        assert_eq!(check("date", "2024-02-29"), Some(true));
        assert_eq!(check("date", "2023-02-29"), Some(false));
        assert_eq!(
            check("uuid", "123e4567-e89b-12d3-a456-426614174000"),
            Some(true)
        );
        assert_eq!(check("uuid", "nope"), Some(false));
        assert_eq!(check("byte", "aGVsbG8="), Some(true));
        assert_eq!(check("byte", "a"), Some(false));
        assert_eq!(check("duration", "1h30m"), Some(true));
        assert_eq!(check("duration", "soon"), Some(false));
        assert_eq!(check("cidr", "10.0.0.0/8"), Some(true));
        assert_eq!(check("int32", "x"), None);
        assert_eq!(check("my-format", "x"), None);
    }
}
