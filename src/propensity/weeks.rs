//! Which past as-of points the propensity learns from, and their labels (issue 20,
//! docs/propensity.md "Weeks and split").
//!
//! In: the run's as-of time T, the label window W, how far back to learn (the history), when the
//! data starts and up to when the orders reach. Out: the as-of points `t = T - W, T - 2W, ...`,
//! split in time: the newest covered point reports, the next one calibrates, the older ones
//! train. Label windows `(t, t + W]` of consecutive points meet but never overlap, and none
//! reaches past T. Plain arithmetic on microseconds, so each rule can be tested by hand.

use serde::Serialize;

/// The as-of points of one run, newest first within `train`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekPlan {
    /// Points whose rows fit the model, newest first.
    pub train: Vec<i64>,
    /// The point whose rows fit the calibration (Platt scaling, when needed).
    pub calibration: i64,
    /// The newest point: the measures the reports show are taken on its rows.
    pub report: i64,
    /// Points left out because the orders end before their label window does.
    pub uncovered: usize,
}

/// Why there is no plan: too few points with a complete label window.
#[derive(Debug, Clone, PartialEq)]
pub struct TooShort {
    pub covered: usize,
    pub uncovered: usize,
}

/// The as-of points for a run at `t` (see the module docs): every `t - k w` (k = 1, 2, ...) no
/// further back than `history` and after `data_start`; a point whose label window ends after
/// `orders_end` is left out and counted. At least three points are needed (train, calibration,
/// report).
pub fn plan(
    t: i64,
    w: i64,
    history: i64,
    data_start: i64,
    orders_end: i64,
) -> Result<WeekPlan, TooShort> {
    assert!(w > 0 && history >= 0, "checked by the configuration");
    let mut covered = Vec::new();
    let mut uncovered = 0;
    let mut k = 1;
    while k * w <= history && t - k * w > data_start {
        let point = t - k * w;
        if point + w <= orders_end {
            covered.push(point);
        } else {
            uncovered += 1;
        }
        k += 1;
    }
    if covered.len() < 3 {
        return Err(TooShort {
            covered: covered.len(),
            uncovered,
        });
    }
    Ok(WeekPlan {
        report: covered[0],
        calibration: covered[1],
        train: covered[2..].to_vec(),
        uncovered,
    })
}

/// Whether a shopper with these order times (sorted) ordered in `(t, t + w]`.
pub fn returned(order_times: &[i64], t: i64, w: i64) -> bool {
    let first_after = order_times.partition_point(|&x| x <= t);
    order_times.get(first_after).is_some_and(|&x| x <= t + w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;
    const WEEK: i64 = 7 * DAY;

    /// T = day 200, weekly points back over 4 weeks: days 193, 186, 179, 172. The data starts on
    /// day 0 and the orders reach T: all four covered; 193 reports, 186 calibrates, 179 and 172
    /// train.
    #[test]
    fn four_weeks_back_split_in_time() {
        let p = plan(200 * DAY, WEEK, 4 * WEEK, 0, 200 * DAY).unwrap();
        assert_eq!(p.report, 193 * DAY);
        assert_eq!(p.calibration, 186 * DAY);
        assert_eq!(p.train, vec![179 * DAY, 172 * DAY]);
        assert_eq!(p.uncovered, 0);
    }

    /// Orders end on day 190: the point of day 193 (window to day 200) and of day 186 (window
    /// to 193) are not covered; 179 reports, 172 calibrates, 165 and 158 train.
    #[test]
    fn weeks_the_orders_do_not_cover_are_left_out_and_counted() {
        let p = plan(200 * DAY, WEEK, 6 * WEEK, 0, 190 * DAY).unwrap();
        assert_eq!(p.uncovered, 2);
        assert_eq!((p.report, p.calibration), (179 * DAY, 172 * DAY));
        assert_eq!(p.train, vec![165 * DAY, 158 * DAY]);
    }

    /// The data starts on day 180: only days 193 and 186 lie after it: too few.
    #[test]
    fn too_little_history_is_said() {
        let e = plan(200 * DAY, WEEK, 26 * WEEK, 180 * DAY, 200 * DAY).unwrap_err();
        assert_eq!(
            e,
            TooShort {
                covered: 2,
                uncovered: 0
            }
        );
    }

    /// Label windows are half-open: an order exactly at t belongs to the week before, one
    /// exactly at t + w to this one.
    #[test]
    fn labels_count_orders_in_the_half_open_window() {
        let t = 100 * DAY;
        assert!(!returned(&[t], t, WEEK));
        assert!(returned(&[t, t + WEEK], t, WEEK));
        assert!(!returned(&[t - 1, t + WEEK + 1], t, WEEK));
        assert!(returned(&[t + 1], t, WEEK));
        assert!(!returned(&[], t, WEEK));
    }
}
