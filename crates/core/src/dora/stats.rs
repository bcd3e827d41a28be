//! Percentiles with BigQuery's `PERCENTILE_CONT` semantics (linear
//! interpolation between closest ranks), the function fourkeys uses, so our
//! medians match its dashboards.
use time::Duration;

/// Where percentile `p` falls in `len` sorted values: the two neighbouring
/// indices and the weight of the upper one. `None` when `len` is zero.
fn rank(len: usize, p: f64) -> Option<(usize, usize, f64)> {
    let last = len.checked_sub(1)?;
    let rank = p.clamp(0.0, 1.0) * last as f64;
    let lo = rank.floor() as usize;
    Some((lo, rank.ceil() as usize, rank - lo as f64))
}

/// Percentile of already sorted durations, interpolated to the nanosecond.
pub(crate) fn duration_percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    let (lo, hi, weight) = rank(sorted.len(), p)?;
    let (a, b) = (
        sorted[lo].whole_nanoseconds(),
        sorted[hi].whole_nanoseconds(),
    );
    let nanos = a + ((b - a) as f64 * weight).round() as i128;
    Some(Duration::nanoseconds(
        i64::try_from(nanos).unwrap_or(i64::MAX),
    ))
}

/// Median of already sorted counts.
pub(crate) fn count_median(sorted: &[u64]) -> Option<f64> {
    let (lo, hi, weight) = rank(sorted.len(), 0.5)?;
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    Some(a + (b - a) * weight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(values: &[i64]) -> Vec<Duration> {
        values.iter().map(|&m| Duration::minutes(m)).collect()
    }

    #[test]
    fn median_of_an_even_count_is_the_midpoint() {
        let sorted = minutes(&[20, 200]);
        // (20 + 200) / 2 = 110 min
        assert_eq!(
            duration_percentile(&sorted, 0.5),
            Some(Duration::minutes(110))
        );
    }

    #[test]
    fn p90_interpolates_between_neighbours() {
        let sorted = minutes(&[20, 200]);
        // rank 0.9 * 1 = 0.9 → 20 + 0.9 * 180 = 182 min
        assert_eq!(
            duration_percentile(&sorted, 0.9),
            Some(Duration::minutes(182))
        );
        let sorted = minutes(&[10, 20, 30, 40, 50]);
        // rank 0.9 * 4 = 3.6 → 40 + 0.6 * 10 = 46 min
        assert_eq!(
            duration_percentile(&sorted, 0.9),
            Some(Duration::minutes(46))
        );
    }

    #[test]
    fn a_single_value_is_every_percentile() {
        let sorted = minutes(&[40]);
        assert_eq!(
            duration_percentile(&sorted, 0.5),
            Some(Duration::minutes(40))
        );
        assert_eq!(
            duration_percentile(&sorted, 0.9),
            Some(Duration::minutes(40))
        );
    }

    #[test]
    fn no_values_have_no_percentile() {
        assert_eq!(duration_percentile(&[], 0.5), None);
        assert_eq!(count_median(&[]), None);
    }

    #[test]
    fn count_median_interpolates() {
        assert_eq!(count_median(&[1, 3]), Some(2.0));
        assert_eq!(count_median(&[0, 1, 1]), Some(1.0));
        assert_eq!(count_median(&[0, 1]), Some(0.5));
    }
}
