//! The per-shopper uplift section of outcomes.md and outcomes.html (outcomes::targeting): the
//! gate's words first, then how it was tested, the Qini area, the measured uplift of the top
//! shares and the policy table. One [`View`] of text cells feeds both renderers, so they say the
//! same thing.

use std::fmt::Write;

use serde::Serialize;

use crate::outcomes::checks::p_text;
use crate::outcomes::targeting::{Interval, Targeting};
use crate::outcomes::uplift::HonestTest;
use crate::outcomes::Readout;
use crate::util::numfmt::pts;
use crate::util::text::{capital, md_cell};

/// One policy row as text.
#[derive(Debug, Serialize)]
pub struct PolicyCells {
    pub name: String,
    pub messaged: String,
    pub recoveries: String,
    pub net_revenue: String,
    pub against_everyone: String,
    pub p: String,
}

/// The section as text cells.
#[derive(Debug, Serialize)]
pub struct View {
    pub passed: bool,
    pub words: String,
    pub test: String,
    pub qini: String,
    /// (share, treated n, held-out n, uplift with its interval).
    pub top: Vec<[String; 4]>,
    pub policies: Vec<PolicyCells>,
}

/// Money per shopper with its interval, two decimals.
fn money(i: &Interval) -> String {
    format!("{:+.2} [{:+.2}, {:+.2}]", i.estimate, i.ci_low, i.ci_high)
}

/// Recoveries per listed shopper as points, with the interval.
fn points(i: &Interval) -> String {
    format!(
        "{} [{}, {}]",
        pts(i.estimate),
        pts(i.ci_low),
        pts(i.ci_high)
    )
}

fn test_text(t: &Targeting) -> String {
    let how = match &t.test {
        HonestTest::OutOfTime {
            learned_on,
            tested_on,
        } => format!(
            "out of time: learned on the {} shoppers of the runs of {}, tested on the {} of {tested_on}",
            t.learned_on,
            learned_on.join(", "),
            t.tested_on
        ),
        HonestTest::SampleSplit => format!(
            "on a sample split: learned on {} shoppers drawn by the seed, tested on the other {}",
            t.learned_on, t.tested_on
        ),
        HonestTest::CrossFit { folds } => format!(
            "by {folds}-fold cross-fitting over {} shoppers (one T: each fold scored by the model learned on the others)",
            t.tested_on
        ),
    };
    format!(
        "Tested {how}; arm probability {} (inverse-probability weights). Method: {}.",
        t.treatment_probability, t.method
    )
}

/// The section's cells, or None when there is nothing to say (no holdout).
pub fn view(r: &Readout) -> Option<View> {
    let Some(t) = &r.uplift else {
        return r.uplift_not_learned.as_ref().map(|why| View {
            passed: false,
            words: format!(
                "{}: no per-shopper uplift was learned ({why})",
                crate::outcomes::targeting::NO_EVIDENCE
            ),
            test: String::new(),
            qini: String::new(),
            top: Vec::new(),
            policies: Vec::new(),
        });
    };
    let q = &t.qini;
    Some(View {
        passed: t.gate.passed,
        words: t.gate.words.clone(),
        test: test_text(t),
        qini: format!(
            "Qini area {} [{}, {}] ({} resamples): the incremental recoveries per listed shopper above random targeting, averaged over the share messaged; an interval above zero means the ranking beats picking shoppers at random.",
            pts(q.area),
            pts(q.ci_low),
            pts(q.ci_high),
            q.resamples
        ),
        top: t
            .top
            .iter()
            .map(|s| {
                [
                    format!("{:.0}%", s.share * 100.0),
                    s.treatment_n.to_string(),
                    s.holdout_n.to_string(),
                    format!("{} [{}, {}]", pts(s.uplift), pts(s.ci_low), pts(s.ci_high)),
                ]
            })
            .collect(),
        policies: t
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| PolicyCells {
                name: p.name.clone(),
                messaged: format!("{:.0}%", p.messaged * 100.0),
                recoveries: points(&p.incremental_recoveries),
                net_revenue: money(&p.incremental_net_revenue),
                // The first policy is everyone: nothing to compare with itself.
                against_everyone: if i == 0 {
                    "-".into()
                } else {
                    money(&p.net_revenue_against_everyone)
                },
                p: match (p.p_value, p.p_holm) {
                    (Some(raw), Some(holm)) => format!("{} ({})", p_text(raw), p_text(holm)),
                    _ => "-".into(),
                },
            })
            .collect(),
    })
}

/// The section in outcomes.md.
pub fn markdown(r: &Readout, o: &mut String) {
    let Some(v) = view(r) else {
        return;
    };
    let _ = writeln!(o, "\n## Whom to message: per-shopper uplift\n");
    let _ = writeln!(o, "**{}**\n", capital(&v.words));
    if v.test.is_empty() {
        return;
    }
    let _ = writeln!(o, "{}\n\n{}\n", v.test, v.qini);
    let _ = writeln!(
        o,
        "| top by uplift | treated | held out | uplift [95% CI] |"
    );
    let _ = writeln!(o, "|---:|---:|---:|---:|");
    for [share, nt, nh, u] in &v.top {
        let _ = writeln!(o, "| {share} | {nt} | {nh} | {u} |");
    }
    let _ = writeln!(o, "\nEach policy per listed shopper (inverse-probability weighted, paired 95% intervals; p of net revenue against everyone, Holm over the four uplift policies):\n");
    let _ = writeln!(
        o,
        "| policy | messaged | incremental recoveries | incremental net revenue | net revenue vs everyone | p (Holm) |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
    for p in &v.policies {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            md_cell(&p.name),
            p.messaged,
            p.recoveries,
            p.net_revenue,
            p.against_everyone,
            p.p
        );
    }
}

/// `outcomes --uplift-scores`: uplift_scores.csv, each test shopper's out-of-sample uplift with
/// what the Qini curve and the policies weigh (arm, P(treated), recovery, net revenue), highest
/// uplift first (ties in listing order, as the curve ranks them), so an analyst can redo the
/// curve or a policy's value from the file alone.
pub fn scores_csv(t: &Targeting, runs: &crate::outcomes::load::Runs) -> anyhow::Result<Vec<u8>> {
    let mut order: Vec<&crate::outcomes::uplift::ScoredShopper> = t.tested.iter().collect();
    order.sort_by(|a, b| {
        b.uplift
            .total_cmp(&a.uplift)
            .then(a.listing.cmp(&b.listing))
    });
    let mut w = csv::Writer::from_writer(Vec::with_capacity(order.len() * 72));
    w.write_record([
        "customer_id",
        "as_of",
        "persona_id",
        "arm",
        "p_treated",
        "uplift",
        "recovered",
        "net_revenue",
    ])?;
    for s in order {
        let listed = &runs.shoppers[s.listing];
        w.write_record([
            listed.customer_id.as_str(),
            runs.runs[listed.run].as_of.as_str(),
            runs.personas[s.persona].0.as_str(),
            if s.treated { "treatment" } else { "holdout" },
            &s.p_treated.to_string(),
            &s.uplift.to_string(),
            if s.recovered { "1" } else { "0" },
            &s.net_revenue.to_string(),
        ])?;
    }
    Ok(w.into_inner()?)
}
