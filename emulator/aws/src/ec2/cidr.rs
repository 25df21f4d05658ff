//! IPv4 addresses and CIDR blocks as plain integers.

use std::fmt;

/// An IPv4 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    /// Network address.
    pub base: u32,
    /// Prefix length.
    pub prefix: u8,
}

/// Parses a dotted-quad address.
pub fn parse_ip(s: &str) -> Option<u32> {
    let mut out = 0u32;
    let mut n = 0;
    for part in s.split('.') {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = part.parse().ok()?;
        if v > 255 {
            return None;
        }
        out = (out << 8) | v;
        n += 1;
    }
    (n == 4).then_some(out)
}

/// Formats an address as a dotted quad.
pub fn ip_to_string(ip: u32) -> String {
    let mut out = String::with_capacity(15);
    push_ip(&mut out, ip, '.');
    out
}

/// Appends an address's four octets joined by `sep` (`.` for the address, `-` for DNS names).
pub fn push_ip(out: &mut String, ip: u32, sep: char) {
    for (i, shift) in [24u32, 16, 8, 0].into_iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        let o = (ip >> shift) & 0xff;
        if o >= 100 {
            out.push(char::from(b'0' + (o / 100) as u8));
        }
        if o >= 10 {
            out.push(char::from(b'0' + (o / 10 % 10) as u8));
        }
        out.push(char::from(b'0' + (o % 10) as u8));
    }
}

impl Cidr {
    /// Parses `a.b.c.d/n`; the address must be the network address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, p) = s.split_once('/')?;
        let prefix: u8 = p.parse().ok()?;
        if prefix > 32 {
            return None;
        }
        let base = parse_ip(ip)?;
        let c = Cidr { base, prefix };
        (base & c.mask() == base).then_some(c)
    }
    /// The netmask.
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }
    /// Number of addresses.
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix)
    }
    /// The last address.
    pub fn last(&self) -> u32 {
        self.base | !self.mask()
    }
    /// Whether an address is inside.
    pub fn contains_ip(&self, ip: u32) -> bool {
        ip & self.mask() == self.base
    }
    /// Whether another block is wholly inside this one.
    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains_ip(other.base)
    }
    /// Whether two blocks share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains_ip(other.base) || other.contains_ip(self.base)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", ip_to_string(self.base), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_arithmetic() {
        let vpc = Cidr::parse("192.168.192.0/22").expect("cidr");
        let a = Cidr::parse("192.168.193.0/24").expect("cidr");
        assert!(vpc.contains(&a));
        assert_eq!(vpc.size(), 1024);
        assert_eq!(ip_to_string(vpc.last()), "192.168.195.255");
        assert!(Cidr::parse("192.168.193.1/24").is_none());
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(a.overlaps(&vpc) && vpc.overlaps(&a));
        assert!(!a.overlaps(&Cidr::parse("192.168.194.0/24").expect("cidr")));
        assert_eq!(parse_ip("1.2.3.256"), None);
        assert_eq!(
            parse_ip("01.2.3.4").map(ip_to_string),
            Some("1.2.3.4".into())
        );
    }
}
