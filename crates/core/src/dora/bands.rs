//! DORA performance bands, exactly as dora-team/fourkeys buckets its
//! dashboards (METRICS.md, "Calculating the bucket" for each key, after the
//! 2019 State of DevOps report). fourkeys names buckets by their range, not
//! "elite/high/medium/low", and so do we: `None` means insufficient data.
use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use super::stats::count_median;

/// fourkeys' deployment frequency bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrequencyBand {
    /// Median days with a deployment per week is at least 3.
    Daily,
    /// Most weeks have a deployment (median of "week had one" is 1).
    Weekly,
    /// Median deployments per month is at least 1.
    Monthly,
    /// Anything slower.
    Yearly,
}

/// fourkeys' bucket for lead time and time to restore (both use the same
/// thresholds: 24 h, 168 h, 730 h, 6 × 730 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationBand {
    OneDay,
    OneWeek,
    OneMonth,
    SixMonths,
    OneYear,
}

/// fourkeys' change failure rate bucket: `<= 15%`, `< 46%`, else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureRateBand {
    UpTo15,
    From16To45,
    /// fourkeys labels this "46-60%" (the 2019 report's low performers); a
    /// 100% rate lands here too, so we name the whole range.
    Above45,
}

/// The band of each key; `None` where there is nothing to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    pub deployment_frequency: Option<FrequencyBand>,
    pub lead_time: Option<DurationBand>,
    pub change_failure_rate: Option<FailureRateBand>,
    pub time_to_restore: Option<DurationBand>,
}

/// How a missing band reads.
pub const INSUFFICIENT_DATA: &str = "insufficient data";

const DAY: Duration = Duration::DAY;
const WEEK: Duration = Duration::WEEK;
/// fourkeys' month for frequency windows; its duration bands use 730 h.
const MONTH: Duration = Duration::days(30);

impl FrequencyBand {
    /// Buckets deploys over the period the fourkeys way, with weeks and months
    /// as consecutive 7- and 30-day windows from `start` (the last one may be
    /// partial, as fourkeys' calendar weeks are at the edges) and days as
    /// 24-hour slices from `start`. `None` without deploys.
    pub fn classify(
        deployed_at: &[OffsetDateTime],
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Option<Self> {
        if deployed_at.is_empty() || end <= start {
            return None;
        }
        let total = (end - start).whole_seconds();
        // Consecutive windows covering the period, the last possibly partial;
        // at least one, even for a sub-second period.
        let windows = |size: Duration| -> usize {
            let size = size.whole_seconds();
            (((total + size - 1) / size) as usize).max(1)
        };
        let day_of =
            |at: OffsetDateTime| ((at - start).whole_seconds() / DAY.whole_seconds()) as usize;

        let weeks = windows(WEEK);
        let mut days_per_week = vec![BTreeSet::new(); weeks];
        let months = windows(MONTH);
        let mut deploys_per_month = vec![0u64; months];
        for &at in deployed_at.iter().filter(|&&at| start <= at && at < end) {
            let day = day_of(at);
            // Clamped: with a sub-second remainder, whole seconds can put a
            // deploy one window past the (whole-second) window count.
            days_per_week[(day / 7).min(weeks - 1)].insert(day);
            let month = ((at - start).whole_seconds() / MONTH.whole_seconds()) as usize;
            deploys_per_month[month.min(months - 1)] += 1;
        }

        let mut days: Vec<u64> = days_per_week.iter().map(|d| d.len() as u64).collect();
        let mut deployed_weeks: Vec<u64> = days.iter().map(|&d| u64::from(d > 0)).collect();
        days.sort_unstable();
        deployed_weeks.sort_unstable();
        deploys_per_month.sort_unstable();

        Some(if count_median(&days)? >= 3.0 {
            Self::Daily
        } else if count_median(&deployed_weeks)? >= 1.0 {
            Self::Weekly
        } else if count_median(&deploys_per_month)? >= 1.0 {
            Self::Monthly
        } else {
            Self::Yearly
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Daily => "Daily",
            Self::Weekly => "Weekly",
            Self::Monthly => "Monthly",
            Self::Yearly => "Yearly",
        }
    }
}

impl DurationBand {
    /// Buckets a median duration (fourkeys compares minutes for lead time and
    /// whole hours for restore time; we compare the exact duration).
    pub fn classify(median: Duration) -> Self {
        let month = Duration::hours(730);
        if median < DAY {
            Self::OneDay
        } else if median < WEEK {
            Self::OneWeek
        } else if median < month {
            Self::OneMonth
        } else if median < month * 6 {
            Self::SixMonths
        } else {
            Self::OneYear
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OneDay => "One day",
            Self::OneWeek => "One week",
            Self::OneMonth => "One month",
            Self::SixMonths => "Six months",
            Self::OneYear => "One year",
        }
    }
}

impl FailureRateBand {
    /// Buckets `failed / judged` in integer arithmetic, so exactly 15% is
    /// "0-15%" as in fourkeys' `<= .15`. `None` when nothing was judged.
    pub fn classify(failed: u64, judged: u64) -> Option<Self> {
        if judged == 0 {
            return None;
        }
        let (failed, judged) = (u128::from(failed) * 100, u128::from(judged));
        Some(if failed <= 15 * judged {
            Self::UpTo15
        } else if failed < 46 * judged {
            Self::From16To45
        } else {
            Self::Above45
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::UpTo15 => "0-15%",
            Self::From16To45 => "16-45%",
            Self::Above45 => "46-100%",
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const START: OffsetDateTime = datetime!(2024-03-04 00:00 UTC);

    /// Deploys at the given (day, hour) offsets from `START`.
    fn at(offsets: &[(i64, i64)]) -> Vec<OffsetDateTime> {
        offsets
            .iter()
            .map(|&(d, h)| START + Duration::days(d) + Duration::hours(h))
            .collect()
    }

    #[test]
    fn three_deploy_days_in_most_weeks_is_daily() {
        // Two full weeks: week 0 deploys on days 0, 1, 2 (twice on day 2);
        // week 1 on days 7, 9, 11 → median days per week = 3 → Daily.
        let deploys = at(&[(0, 9), (1, 9), (2, 9), (2, 15), (7, 9), (9, 9), (11, 9)]);
        let band = FrequencyBand::classify(&deploys, START, START + Duration::days(14));
        assert_eq!(band, Some(FrequencyBand::Daily));
    }

    #[test]
    fn many_deploys_on_one_day_a_week_is_weekly() {
        // Five deploys, all on day 0 and day 7 → days per week [1, 1]: not
        // Daily; both weeks deployed → Weekly.
        let deploys = at(&[(0, 1), (0, 2), (0, 3), (7, 1), (7, 2)]);
        let band = FrequencyBand::classify(&deploys, START, START + Duration::days(14));
        assert_eq!(band, Some(FrequencyBand::Weekly));
    }

    #[test]
    fn a_deploy_in_most_months_is_monthly() {
        // 60 days = 9 weeks (8 full + 1 partial) and 2 months; deploys on
        // days 3 and 40 → 2 of 9 weeks deployed (median 0); months [1, 1]
        // → median 1 → Monthly.
        let deploys = at(&[(3, 0), (40, 0)]);
        let band = FrequencyBand::classify(&deploys, START, START + Duration::days(60));
        assert_eq!(band, Some(FrequencyBand::Monthly));
    }

    #[test]
    fn one_deploy_in_three_months_is_yearly() {
        // 90 days = 3 months with deploys [1, 0, 0] → median 0 → Yearly.
        let deploys = at(&[(3, 0)]);
        let band = FrequencyBand::classify(&deploys, START, START + Duration::days(90));
        assert_eq!(band, Some(FrequencyBand::Yearly));
    }

    #[test]
    fn a_deploy_in_a_sub_second_period_tail_lands_in_the_last_week() {
        // 7 days + 0.5 s is one whole-second week; a deploy 0.2 s into the
        // tail belongs to it: days per week [2] → median 2; week deployed → Weekly.
        let end = START + Duration::WEEK + Duration::milliseconds(500);
        let deploys = vec![START, START + Duration::WEEK + Duration::milliseconds(200)];
        let band = FrequencyBand::classify(&deploys, START, end);
        assert_eq!(band, Some(FrequencyBand::Weekly));

        // A half-second period is one partial week with one deploy day.
        let end = START + Duration::milliseconds(500);
        let band = FrequencyBand::classify(&[START], START, end);
        assert_eq!(band, Some(FrequencyBand::Weekly));
    }

    #[test]
    fn no_deploys_is_insufficient_data() {
        let band = FrequencyBand::classify(&[], START, START + Duration::days(30));
        assert_eq!(band, None);
    }

    #[test]
    fn duration_bands_switch_at_fourkeys_thresholds() {
        let cases = [
            (Duration::minutes(40), DurationBand::OneDay),
            (Duration::hours(24) - Duration::SECOND, DurationBand::OneDay),
            (Duration::hours(24), DurationBand::OneWeek),
            (Duration::hours(168), DurationBand::OneMonth),
            (Duration::hours(730), DurationBand::SixMonths),
            (Duration::hours(4380), DurationBand::OneYear),
        ];
        for (median, band) in cases {
            assert_eq!(DurationBand::classify(median), band, "{median}");
        }
    }

    #[test]
    fn failure_rate_bands_switch_at_fourkeys_thresholds() {
        let cases = [
            ((0, 4), Some(FailureRateBand::UpTo15)),
            ((3, 20), Some(FailureRateBand::UpTo15)), // exactly 15%
            ((4, 25), Some(FailureRateBand::From16To45)), // 16%
            ((9, 20), Some(FailureRateBand::From16To45)), // 45%
            ((23, 50), Some(FailureRateBand::Above45)), // exactly 46%
            ((2, 2), Some(FailureRateBand::Above45)),
            ((0, 0), None),
        ];
        for ((failed, judged), band) in cases {
            assert_eq!(
                FailureRateBand::classify(failed, judged),
                band,
                "{failed}/{judged}"
            );
        }
    }
}
