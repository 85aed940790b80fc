//! Text for numbers on screen.

/// A share count in compact form: `950`, `12.3K`, `4.56M`, `1.20B`.
pub fn volume(shares: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")];
    for (size, suffix) in UNITS {
        if shares >= size {
            let scaled = shares as f64 / size as f64;
            let decimals = if scaled >= 100.0 { 1 } else { 2 };
            return format!("{scaled:.decimals$}{suffix}");
        }
    }
    shares.to_string()
}

/// A latency in milliseconds with sensible precision: `0.4 ms`, `12 ms`.
pub fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_are_compact() {
        assert_eq!(volume(950), "950");
        assert_eq!(volume(12_345), "12.35K");
        assert_eq!(volume(4_560_000), "4.56M");
        assert_eq!(volume(123_456_789), "123.5M");
        assert_eq!(volume(1_200_000_000), "1.20B");
    }

    #[test]
    fn latencies_keep_one_decimal_below_ten() {
        assert_eq!(millis(0.44), "0.4 ms");
        assert_eq!(millis(12.4), "12 ms");
    }
}
