//! Uplift by return-propensity band (issue 20; docs/outcomes.md "By propensity band"): the test
//! of the no-discount rule. In: every counted shopper's outcome with the propensity their run
//! gave them. Out: the treatment-against-holdout comparison within each propensity quintile
//! (Holm over the quintiles) and within the no-discount group (shoppers above the run's
//! threshold, who got a plain reminder when the rule was on).
//!
//! The propensity was set before the arms were drawn, so every band is a randomized comparison,
//! like a persona: its uplift is causal for the shoppers in it.

use serde::Serialize;

use super::bootstrap::percentile;
use super::readout::{self, Comparison, Outcome, ReadoutSettings};

/// One band and its comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Band {
    pub name: String,
    /// The band's propensities: above `low` (or from the lowest, when `None`) up to `high`.
    pub low: Option<f64>,
    pub high: f64,
    pub comparison: Comparison,
}

/// The comparisons by propensity band.
#[derive(Debug, Clone, Serialize)]
pub struct Bands {
    pub quintiles: Vec<Band>,
    /// Shoppers above the no-discount threshold (None: no run has a propensity with one, or no
    /// shopper is above it).
    pub no_discount: Option<Band>,
    /// Shoppers left out because their run had no propensity.
    pub without_propensity: usize,
}

/// The bands of the shoppers with a propensity; `None` when none has one. `threshold`: the
/// no-discount threshold of the runs (the first run's that has one).
pub fn by_propensity(
    all: &[Outcome],
    threshold: Option<f64>,
    with_touches: bool,
    s: &ReadoutSettings,
) -> Option<Bands> {
    let scored: Vec<&Outcome> = all.iter().filter(|o| o.propensity.is_some()).collect();
    if scored.is_empty() {
        return None;
    }
    let p = |o: &Outcome| o.propensity.expect("scored");
    let mut sorted: Vec<f64> = scored.iter().map(|o| p(o)).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut edges: Vec<f64> = [0.2, 0.4, 0.6, 0.8]
        .iter()
        .map(|q| percentile(&sorted, *q))
        .collect();
    edges.dedup();
    let band_of = |x: f64| edges.iter().filter(|e| **e < x).count();
    let mut quintiles: Vec<Band> = (0..=edges.len())
        .map(|k| {
            let group: Vec<&Outcome> = scored
                .iter()
                .copied()
                .filter(|o| band_of(p(o)) == k)
                .collect();
            Band {
                name: format!("band {} of {}", k + 1, edges.len() + 1),
                low: k.checked_sub(1).map(|i| edges[i]),
                high: edges.get(k).copied().unwrap_or(sorted[sorted.len() - 1]),
                comparison: readout::compare(&group, with_touches, s),
            }
        })
        .collect();
    readout::judge(
        quintiles.iter_mut().map(|b| &mut b.comparison),
        "propensity bands",
    );
    let no_discount = threshold.and_then(|above| {
        let group: Vec<&Outcome> = scored.iter().copied().filter(|o| p(o) > above).collect();
        (!group.is_empty()).then(|| {
            let mut comparison = readout::compare(&group, with_touches, s);
            readout::judge([&mut comparison], "group");
            Band {
                name: format!("above {above} (no incentive when the rule was on)"),
                low: Some(above),
                high: sorted[sorted.len() - 1],
                comparison,
            }
        })
    });
    Some(Bands {
        quintiles,
        no_discount,
        without_propensity: all.len() - scored.len(),
    })
}
