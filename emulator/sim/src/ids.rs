//! Seeded ids and random choices.
//!
//! A SplitMix64 stream: tiny, fast and fully determined by its seed, so the same scenario with the
//! same seed produces the same instance ids, IP addresses and request ids.

/// A seeded source of ids and random numbers.
#[derive(Debug, Clone)]
pub struct IdGen {
    state: u64,
}

impl IdGen {
    /// A generator from a seed.
    pub fn new(seed: u64) -> IdGen {
        IdGen { state: seed }
    }

    /// A generator whose seed mixes a base seed with a label (e.g. account and region), so that
    /// independent streams do not share ids.
    pub fn derived(seed: u64, label: &str) -> IdGen {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        IdGen { state: h }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.next_u64() % n
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(n);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..n {
            if left == 0 {
                bits = self.next_u64();
                left = 16;
            }
            s.push(HEX[(bits & 0xf) as usize] as char);
            bits >>= 4;
            left -= 1;
        }
        s
    }

    /// An AWS resource id in the modern 17-hex-digit form, e.g. `i-0a1b2c3d4e5f60718`.
    pub fn aws_id(&mut self, prefix: &str) -> String {
        format!("{prefix}-0{}", self.hex(16))
    }

    /// A UUID-shaped string (version 4 layout), e.g. for request ids and Kubernetes uids.
    pub fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            ["8", "9", "a", "b"][(self.next_u64() % 4) as usize],
            &h[17..20],
            &h[20..32]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        assert_eq!(a.aws_id("i"), b.aws_id("i"));
        assert_eq!(a.uuid(), b.uuid());
        let id = a.aws_id("vpc");
        assert_eq!(id.len(), "vpc-".len() + 17);
        assert!(id.starts_with("vpc-0"));
        assert_ne!(
            IdGen::derived(1, "a").next_u64(),
            IdGen::derived(1, "b").next_u64()
        );
    }

    #[test]
    fn uuid_shape() {
        let u = IdGen::new(3).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
    }
}
