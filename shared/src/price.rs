//! Exact prices as integer cents.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A price in integer cents (hundredths of the quote currency).
///
/// Every price on the wire is an integer count of cents, so a price is exact from the simulator
/// to the screen: there is no floating-point drift, and formatting is integer arithmetic. Every
/// symbol's tick size is a whole number of cents (see [`crate::SymbolInfo::tick_size`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Price(pub i64);

impl Price {
    /// Number of decimal places a price has when shown in currency units.
    pub const DECIMALS: u32 = 2;
    /// Cents in one currency unit.
    pub const CENTS_PER_UNIT: i64 = 100;
    /// One cent, the smallest price increment.
    pub const CENT: Price = Price(1);

    /// A price from whole cents.
    pub const fn from_cents(cents: i64) -> Self {
        Price(cents)
    }

    /// The price in whole cents.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// The price as a floating-point number of currency units, for drawing only.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / Self::CENTS_PER_UNIT as f64
    }

    /// The change from `reference` to `self` in basis points (hundredths of a percent),
    /// rounded half away from zero; `None` when `reference` is not positive.
    pub fn change_bps_from(self, reference: Price) -> Option<i64> {
        if reference.0 <= 0 {
            return None;
        }
        let scaled = i128::from(self.0 - reference.0) * 10_000;
        let reference = i128::from(reference.0);
        let rounded = (scaled + scaled.signum() * reference / 2) / reference;
        i64::try_from(rounded).ok()
    }
}

impl std::ops::Sub for Price {
    type Output = Price;

    fn sub(self, rhs: Price) -> Price {
        Price(self.0 - rhs.0)
    }
}

impl std::ops::Add for Price {
    type Output = Price;

    fn add(self, rhs: Price) -> Price {
        Price(self.0 + rhs.0)
    }
}

/// Formats as currency units with two decimals: `Price(18734)` is `187.34`, `Price(-5)` is
/// `-0.05`. With `{:+}` a positive price gets a leading `+`.
impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 {
            "-"
        } else if f.sign_plus() {
            "+"
        } else {
            ""
        };
        let abs = self.0.unsigned_abs();
        let per_unit = Self::CENTS_PER_UNIT.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / per_unit, abs % per_unit)
    }
}

/// Formats a change in basis points as a percentage with two decimals and a sign: `123` is
/// `+1.23%`, `-5` is `-0.05%`.
pub fn format_bps(bps: i64) -> String {
    let sign = if bps < 0 { "-" } else { "+" };
    let abs = bps.unsigned_abs();
    format!("{sign}{}.{:02}%", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_exact_to_the_cent() {
        assert_eq!(Price(18734).to_string(), "187.34");
        assert_eq!(Price(5).to_string(), "0.05");
        assert_eq!(Price(-5).to_string(), "-0.05");
        assert_eq!(Price(-12345).to_string(), "-123.45");
        assert_eq!(Price(0).to_string(), "0.00");
        assert_eq!(format!("{:+}", Price(250)), "+2.50");
        assert_eq!(format!("{:+}", Price(-250)), "-2.50");
        assert_eq!(Price(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn change_in_basis_points_rounds_half_away_from_zero() {
        assert_eq!(Price(10_100).change_bps_from(Price(10_000)), Some(100));
        assert_eq!(Price(9_900).change_bps_from(Price(10_000)), Some(-100));
        // 1 cent on 30,000 cents is 0.333 bp: rounds to 0; 2 cents is 0.667 bp: rounds to 1.
        assert_eq!(Price(30_001).change_bps_from(Price(30_000)), Some(0));
        assert_eq!(Price(30_002).change_bps_from(Price(30_000)), Some(1));
        assert_eq!(Price(29_998).change_bps_from(Price(30_000)), Some(-1));
        assert_eq!(Price(1).change_bps_from(Price(0)), None);
    }

    #[test]
    fn basis_points_format_as_signed_percent() {
        assert_eq!(format_bps(123), "+1.23%");
        assert_eq!(format_bps(-5), "-0.05%");
        assert_eq!(format_bps(0), "+0.00%");
    }
}
