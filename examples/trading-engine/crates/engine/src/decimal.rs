//! Exact decimal numbers for the paper-trading protocol.
//!
//! The protocol carries prices, quantities and fees as decimal strings
//! (`"61837.63"`, never an exponent). [`Decimal::parse`] reads such a string
//! exactly into an integer mantissa and a decimal scale (no floating point),
//! [`Decimal::to_steps`] converts it into whole multiples of a step such as a
//! price tick or a quantity lot, and [`write_scaled`] writes an integer number
//! of steps back as a decimal string with the step's number of decimals.

use std::error::Error;
use std::fmt;

/// Largest number of significant decimals a [`Decimal`] may have.
pub const MAX_SCALE: u32 = 30;

/// Largest number of significant digits a [`Decimal`] may have (fits `i128`).
const MAX_DIGITS: u32 = 38;

/// `10^n` for `n` in `0..=38`.
const POW10: [u128; 39] = {
    let mut table = [1u128; 39];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// An exact decimal number: `mantissa * 10^-scale`.
///
/// Parsed values are normalised: trailing zeros of the fraction are dropped,
/// so `"1.500"` and `"1.5"` compare equal and [`Decimal::scale`] is the number
/// of significant decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// How [`Decimal::to_steps`] treats a value that is not a whole number of
/// steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Refuse it ([`DecimalError::TooManyDecimals`] or [`DecimalError::OffStep`]).
    Exact,
    /// Round towards negative infinity.
    Floor,
    /// Round towards positive infinity.
    Ceil,
}

/// Why a decimal string or conversion was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// The string is empty.
    Empty,
    /// The string is not of the form `-?digits(.digits)?`.
    Syntax,
    /// A negative value where only non-negative ones are allowed.
    Negative,
    /// More significant decimals than allowed: more than [`MAX_SCALE`], or,
    /// when converting exactly, more than the step has.
    TooManyDecimals,
    /// The value is not a whole multiple of the step.
    OffStep,
    /// The value (or the number of steps) is too large.
    Overflow,
    /// The step is zero or negative.
    InvalidStep,
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty decimal",
            Self::Syntax => "not a decimal number (expected digits with an optional fraction)",
            Self::Negative => "negative value",
            Self::TooManyDecimals => "too many decimals",
            Self::OffStep => "not a whole multiple of the step",
            Self::Overflow => "value too large",
            Self::InvalidStep => "step is not positive",
        })
    }
}

impl Error for DecimalError {}

impl Decimal {
    /// Zero.
    pub const ZERO: Self = Self {
        mantissa: 0,
        scale: 0,
    };

    /// Creates `mantissa * 10^-scale`, normalised.
    ///
    /// # Errors
    ///
    /// [`DecimalError::TooManyDecimals`] if the normalised scale exceeds
    /// [`MAX_SCALE`].
    pub fn new(mantissa: i128, scale: u32) -> Result<Self, DecimalError> {
        let (mut mantissa, mut scale) = (mantissa, scale);
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > MAX_SCALE {
            return Err(DecimalError::TooManyDecimals);
        }
        Ok(Self { mantissa, scale })
    }

    /// Parses `-?digits(.digits)?` exactly.
    ///
    /// Leading zeros are accepted; exponents, `+`, a bare `.` and whitespace
    /// are not.
    ///
    /// # Errors
    ///
    /// [`DecimalError::Empty`], [`DecimalError::Syntax`],
    /// [`DecimalError::TooManyDecimals`] (more than [`MAX_SCALE`] significant
    /// decimals) or [`DecimalError::Overflow`] (more than 38 significant
    /// digits).
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(DecimalError::Empty);
        }
        let (negative, digits) = match bytes {
            [b'-', rest @ ..] => (true, rest),
            _ => (false, bytes),
        };
        let mut mantissa: u128 = 0;
        let mut significant: u32 = 0;
        let mut scale: u32 = 0;
        // Zeros seen in the fraction but not yet applied: trailing zeros never
        // are, which normalises the value without dividing.
        let mut pending_zeros: u32 = 0;
        let mut int_digits = 0usize;
        let mut frac_digits = 0usize;
        let mut in_fraction = false;
        for &byte in digits {
            match byte {
                b'0'..=b'9' => {
                    let digit = u128::from(byte - b'0');
                    if in_fraction {
                        frac_digits += 1;
                        if digit == 0 {
                            pending_zeros += 1;
                            continue;
                        }
                        let shift = pending_zeros + 1;
                        if mantissa != 0 {
                            significant += shift;
                        } else {
                            significant = 1;
                        }
                        scale += shift;
                        if significant > MAX_DIGITS || scale > MAX_SCALE {
                            return Err(if scale > MAX_SCALE {
                                DecimalError::TooManyDecimals
                            } else {
                                DecimalError::Overflow
                            });
                        }
                        mantissa = mantissa * POW10[shift as usize] + digit;
                        pending_zeros = 0;
                    } else {
                        int_digits += 1;
                        if mantissa != 0 || digit != 0 {
                            significant += 1;
                            if significant > MAX_DIGITS {
                                return Err(DecimalError::Overflow);
                            }
                            mantissa = mantissa * 10 + digit;
                        }
                    }
                }
                b'.' if !in_fraction => in_fraction = true,
                _ => return Err(DecimalError::Syntax),
            }
        }
        if int_digits == 0 || (in_fraction && frac_digits == 0) {
            return Err(DecimalError::Syntax);
        }
        // At most 38 significant digits: below 10^38 < i128::MAX.
        let magnitude = i128::try_from(mantissa).map_err(|_| DecimalError::Overflow)?;
        Ok(Self {
            mantissa: if negative { -magnitude } else { magnitude },
            scale,
        })
    }

    /// Parses a value that must not be negative (see [`Decimal::parse`]).
    ///
    /// # Errors
    ///
    /// As [`Decimal::parse`], plus [`DecimalError::Negative`].
    pub fn parse_non_negative(text: &str) -> Result<Self, DecimalError> {
        let value = Self::parse(text)?;
        if value.mantissa < 0 {
            return Err(DecimalError::Negative);
        }
        Ok(value)
    }

    /// The integer mantissa.
    #[must_use]
    pub const fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// The number of significant decimals.
    #[must_use]
    pub const fn scale(&self) -> u32 {
        self.scale
    }

    /// `true` if the value is greater than zero.
    #[must_use]
    pub const fn is_positive(&self) -> bool {
        self.mantissa > 0
    }

    /// The value as a whole number of `step`s, e.g. a price in ticks or a
    /// quantity in lots.
    ///
    /// # Errors
    ///
    /// [`DecimalError::InvalidStep`] if `step` is not positive;
    /// with [`Rounding::Exact`], [`DecimalError::TooManyDecimals`] if the
    /// value has more decimals than the step and [`DecimalError::OffStep`] if
    /// it is otherwise not a whole multiple of it;
    /// [`DecimalError::Overflow`] if the result does not fit an `i64`.
    pub fn to_steps(self, step: Self, rounding: Rounding) -> Result<i64, DecimalError> {
        if step.mantissa <= 0 {
            return Err(DecimalError::InvalidStep);
        }
        // Fast path: a power-of-ten step (tick "0.01", lot "0.00001") and a
        // value with no more decimals than the step: one multiplication.
        if step.mantissa == 1 && self.scale <= step.scale {
            let shift = step.scale - self.scale;
            let value = i64::try_from(self.mantissa).map_err(|_| DecimalError::Overflow)?;
            if value == 0 {
                return Ok(0);
            }
            let factor = POW10
                .get(shift as usize)
                .and_then(|p| i64::try_from(*p).ok())
                .ok_or(DecimalError::Overflow)?;
            return value.checked_mul(factor).ok_or(DecimalError::Overflow);
        }
        let steps = self.to_steps_i128(step, rounding)?;
        i64::try_from(steps).map_err(|_| DecimalError::Overflow)
    }

    /// The value as a whole number of units of `10^-scale`.
    ///
    /// # Errors
    ///
    /// As [`Decimal::to_steps`]; [`DecimalError::Overflow`] if the result
    /// does not fit an `i128`.
    pub fn to_units(self, scale: u32, rounding: Rounding) -> Result<i128, DecimalError> {
        if scale > MAX_SCALE {
            return Err(DecimalError::TooManyDecimals);
        }
        self.to_steps_i128(Self { mantissa: 1, scale }, rounding)
    }

    fn to_steps_i128(self, step: Self, rounding: Rounding) -> Result<i128, DecimalError> {
        if step.mantissa <= 0 {
            return Err(DecimalError::InvalidStep);
        }
        let common = self.scale.max(step.scale);
        let value = scale_up(self.mantissa, common - self.scale)?;
        let step_m = scale_up(step.mantissa, common - step.scale)?;
        let quotient = value.div_euclid(step_m);
        let remainder = value.rem_euclid(step_m);
        if remainder == 0 {
            return Ok(quotient);
        }
        match rounding {
            Rounding::Exact if self.scale > step.scale => Err(DecimalError::TooManyDecimals),
            Rounding::Exact => Err(DecimalError::OffStep),
            Rounding::Floor => Ok(quotient),
            Rounding::Ceil => quotient.checked_add(1).ok_or(DecimalError::Overflow),
        }
    }
}

fn scale_up(value: i128, shift: u32) -> Result<i128, DecimalError> {
    if value == 0 {
        return Ok(0);
    }
    let factor = POW10
        .get(shift as usize)
        .and_then(|p| i128::try_from(*p).ok())
        .ok_or(DecimalError::Overflow)?;
    value.checked_mul(factor).ok_or(DecimalError::Overflow)
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(48);
        write_scaled(&mut out, self.mantissa, self.scale);
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// Appends `mantissa * 10^-scale` to `out` as a decimal string with exactly
/// `scale` decimals (e.g. `6_183_700, 2` gives `61837.00`).
pub fn write_scaled(out: &mut Vec<u8>, mantissa: i128, scale: u32) {
    if mantissa < 0 {
        out.push(b'-');
    }
    let mut magnitude = mantissa.unsigned_abs();
    let mut digits = [b'0'; 80];
    let mut start = digits.len();
    // Fast path for values that fit 64 bits (prices and quantities do).
    if let Ok(mut small) = u64::try_from(magnitude) {
        while small > 0 {
            start -= 1;
            digits[start] = b'0' + (small % 10) as u8;
            small /= 10;
        }
    } else {
        while magnitude > 0 {
            start -= 1;
            digits[start] = b'0' + (magnitude % 10) as u8;
            magnitude /= 10;
        }
    }
    // At least one integer digit before the point: zero-pad on the left.
    let scale = (scale as usize).min(digits.len() - 1);
    let min_start = digits.len() - scale - 1;
    start = start.min(min_start);
    let point = digits.len() - scale;
    out.extend_from_slice(&digits[start..point]);
    if scale > 0 {
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    }
}

/// Appends the decimal representation of `value` to `out`.
pub fn write_u64(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    fn scaled(mantissa: i128, scale: u32) -> String {
        let mut out = Vec::new();
        write_scaled(&mut out, mantissa, scale);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn parses_exactly_and_normalises() {
        assert_eq!(dec("61837.63"), Decimal::new(6_183_763, 2).unwrap());
        assert_eq!(dec("61837.63000000"), dec("61837.63"));
        assert_eq!(dec("0.00001").scale(), 5);
        assert_eq!(dec("0.00001").mantissa(), 1);
        assert_eq!(dec("1000"), Decimal::new(1000, 0).unwrap());
        assert_eq!(dec("007.50"), Decimal::new(75, 1).unwrap());
        assert_eq!(dec("-0.06183764").mantissa(), -6_183_764);
        assert_eq!(dec("0.000"), Decimal::ZERO);
        assert_eq!(dec("-0"), Decimal::ZERO);
        assert_eq!(dec("10.01").mantissa(), 1001);
        assert_eq!(dec("10.0010").mantissa(), 10_001);
        // 38 significant digits still fit.
        let max = "9".repeat(38);
        assert_eq!(dec(&max).mantissa(), 10i128.pow(38) - 1);
        assert_eq!(dec(&format!("0.{}", "0".repeat(29))), Decimal::ZERO);
    }

    #[test]
    fn rejects_malformed_decimals() {
        assert_eq!(Decimal::parse(""), Err(DecimalError::Empty));
        for bad in [
            "-", ".", "1.", ".5", "1e5", "1E5", "+1", " 1", "1 ", "1.2.3", "1,5", "0x10", "--1",
            "NaN", "inf", "1_000",
        ] {
            assert_eq!(Decimal::parse(bad), Err(DecimalError::Syntax), "{bad:?}");
        }
        assert_eq!(
            Decimal::parse_non_negative("-1"),
            Err(DecimalError::Negative)
        );
        assert_eq!(Decimal::parse_non_negative("0"), Ok(Decimal::ZERO));
    }

    #[test]
    fn rejects_huge_and_overly_precise_decimals() {
        assert_eq!(Decimal::parse(&"9".repeat(39)), Err(DecimalError::Overflow));
        assert_eq!(
            Decimal::parse(&format!("1{}", "0".repeat(38))),
            Err(DecimalError::Overflow)
        );
        // 31 significant decimals.
        assert_eq!(
            Decimal::parse(&format!("0.{}1", "0".repeat(30))),
            Err(DecimalError::TooManyDecimals)
        );
        // Leading zeros do not count as significant digits.
        assert!(Decimal::parse(&format!("{}1", "0".repeat(60))).is_ok());
    }

    #[test]
    fn converts_to_ticks_and_lots_exactly() {
        let tick = dec("0.01");
        assert_eq!(
            dec("61837.63").to_steps(tick, Rounding::Exact),
            Ok(6_183_763)
        );
        assert_eq!(dec("61837").to_steps(tick, Rounding::Exact), Ok(6_183_700));
        assert_eq!(
            dec("61837.6").to_steps(tick, Rounding::Exact),
            Ok(6_183_760)
        );
        assert_eq!(dec("0").to_steps(tick, Rounding::Exact), Ok(0));
        let lot = dec("0.00001");
        assert_eq!(dec("3.78826").to_steps(lot, Rounding::Exact), Ok(378_826));
        assert_eq!(dec("0.001").to_steps(lot, Rounding::Exact), Ok(100));
        // Non power-of-ten steps.
        let half = dec("0.5");
        assert_eq!(dec("2.5").to_steps(half, Rounding::Exact), Ok(5));
        assert_eq!(dec("3").to_steps(dec("0.25"), Rounding::Exact), Ok(12));
        assert_eq!(dec("50").to_steps(dec("5"), Rounding::Exact), Ok(10));
        assert_eq!(dec("-1.5").to_steps(tick, Rounding::Exact), Ok(-150));
    }

    #[test]
    fn off_tick_and_too_many_decimals_are_rejected() {
        let tick = dec("0.01");
        assert_eq!(
            dec("61837.005").to_steps(tick, Rounding::Exact),
            Err(DecimalError::TooManyDecimals)
        );
        assert_eq!(
            dec("0.000001").to_steps(dec("0.00001"), Rounding::Exact),
            Err(DecimalError::TooManyDecimals)
        );
        assert_eq!(
            dec("1.02").to_steps(dec("0.05"), Rounding::Exact),
            Err(DecimalError::OffStep)
        );
        assert_eq!(
            dec("7").to_steps(dec("5"), Rounding::Exact),
            Err(DecimalError::OffStep)
        );
        assert_eq!(
            dec("1").to_steps(Decimal::ZERO, Rounding::Exact),
            Err(DecimalError::InvalidStep)
        );
        assert_eq!(
            dec("1").to_steps(dec("-0.01"), Rounding::Floor),
            Err(DecimalError::InvalidStep)
        );
    }

    #[test]
    fn rounding_modes() {
        let tick = dec("0.01");
        assert_eq!(dec("1.005").to_steps(tick, Rounding::Floor), Ok(100));
        assert_eq!(dec("1.005").to_steps(tick, Rounding::Ceil), Ok(101));
        assert_eq!(dec("-1.005").to_steps(tick, Rounding::Floor), Ok(-101));
        assert_eq!(dec("-1.005").to_steps(tick, Rounding::Ceil), Ok(-100));
        assert_eq!(dec("7").to_steps(dec("5"), Rounding::Floor), Ok(1));
        assert_eq!(dec("7").to_steps(dec("5"), Rounding::Ceil), Ok(2));
        assert_eq!(dec("0.06183764").to_units(7, Rounding::Ceil), Ok(618_377));
        assert_eq!(dec("0.06183764").to_units(7, Rounding::Floor), Ok(618_376));
        assert_eq!(
            dec("100000").to_units(7, Rounding::Exact),
            Ok(1_000_000_000_000)
        );
    }

    #[test]
    fn huge_values_overflow_instead_of_wrapping() {
        let tick = dec("0.01");
        // 9.2e16 ticks fit an i64, 1e17 do not.
        assert_eq!(
            dec("92233720368547758.07").to_steps(tick, Rounding::Exact),
            Ok(i64::MAX)
        );
        assert_eq!(
            dec("92233720368547758.08").to_steps(tick, Rounding::Exact),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            dec("1000000000000000000").to_steps(tick, Rounding::Exact),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            dec(&"9".repeat(38)).to_steps(dec("0.3"), Rounding::Floor),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            dec(&"9".repeat(30)).to_steps(dec("0.00001"), Rounding::Exact),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            dec("1").to_units(MAX_SCALE + 1, Rounding::Exact),
            Err(DecimalError::TooManyDecimals)
        );
    }

    #[test]
    fn writes_exact_decimal_strings() {
        assert_eq!(scaled(6_183_700, 2), "61837.00");
        assert_eq!(scaled(6_183_763, 2), "61837.63");
        assert_eq!(scaled(100, 5), "0.00100");
        assert_eq!(scaled(1, 5), "0.00001");
        assert_eq!(scaled(0, 2), "0.00");
        assert_eq!(scaled(42, 0), "42");
        assert_eq!(scaled(-5, 3), "-0.005");
        assert_eq!(scaled(i128::MAX, 0), i128::MAX.to_string());
        assert_eq!(dec("61837.63").to_string(), "61837.63");
        let mut out = Vec::new();
        write_u64(&mut out, 0);
        out.push(b' ');
        write_u64(&mut out, u64::MAX);
        assert_eq!(out, format!("0 {}", u64::MAX).as_bytes());
    }

    #[test]
    fn ticks_round_trip_through_strings() {
        let tick = dec("0.01");
        for text in ["0.01", "1.00", "61837.63", "99999.99", "123456789.10"] {
            let ticks = dec(text).to_steps(tick, Rounding::Exact).unwrap();
            assert_eq!(
                scaled(i128::from(ticks) * tick.mantissa(), tick.scale()),
                text
            );
        }
    }
}
