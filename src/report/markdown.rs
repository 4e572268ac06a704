//! report.md: GitHub-flavoured Markdown, fit for a CI job summary. One function per section, in
//! the order the report shows them.

use std::fmt::Write as _;

use crate::personas::Persona;
use crate::propensity::learn::{LearnedFrom, Measures};
use crate::propensity::shown::Shown;
use crate::report::{money, pct1, Summary};
use crate::util::numfmt::money_or_unknown;
use crate::util::text::md_cell;

pub fn render(s: &Summary) -> String {
    let mut o = String::new();
    overview(&mut o, s);
    if let Some(shown) = &s.propensity {
        propensity(&mut o, shown, &s.personas);
    }
    for p in &s.personas {
        persona(&mut o, p);
        measured(&mut o, p, s.outcomes.as_ref());
    }
    retired_since_readout(&mut o, s);
    baseline(&mut o, s);
    k_table(&mut o, s);
    inputs(&mut o, s);
    if !s.warnings.is_empty() {
        let _ = writeln!(o, "\n## Warnings\n");
        for w in &s.warnings {
            let _ = writeln!(o, "- {w}");
        }
    }
    o
}

/// The title, the headline figures and the table of personas.
fn overview(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "# Cart-abandoner personas as of {}\n", s.as_of);
    let of_customers = match s.customers {
        Some(n) => format!(" of {n} customers"),
        None => " (from a precomputed features table)".to_string(),
    };
    let _ = writeln!(
        o,
        "{} abandoners{of_customers}; **{}** at stake (sum of each abandoner's latest abandoned cart). \
{} personas; {}.\n",
        s.abandoners,
        money_or_unknown(s.value_at_stake),
        s.clustered.chosen_k,
        s.clustered.reason
    );
    if let Some(why) = &s.clustered.indicative {
        let _ = writeln!(o, "> **Indicative personas:** {why}.\n");
    }
    if s.clustered.outliers > 0 || s.clustered.left_out_of_fit > 0 {
        let _ = writeln!(
            o,
            "{} left out of fitting and choosing k as far from the bulk; {} flagged as outliers (`outlier = 1`), each assigned to their nearest persona.\n",
            shoppers(s.clustered.left_out_of_fit, "was", "were"),
            shoppers(s.clustered.outliers, "is", "are")
        );
    }
    if let Some(h) = &s.holdout {
        let held: usize = s.personas.iter().filter_map(|p| p.holdout).sum();
        let _ = writeln!(
            o,
            "**Holdout:** {held} abandoners held out of recovery messages ({} planned; salt `{}`, since {}); the {} others are the treatment arm, listed in `audience.csv` (docs/outcomes.md).\n",
            pct1(h.share),
            h.salt,
            h.since,
            s.abandoners - held
        );
    }
    if let Some(v) = &s.variants {
        let split: Vec<String> = v
            .split
            .iter()
            .map(|x| format!("`{}` {}", x.name, pct1(x.share)))
            .collect();
        let _ = writeln!(
            o,
            "**Variants** of the treatment arm: {} (salt `{}`, since {}); `audience.csv` says each shopper's, and a `reminder` gets the play with no incentive (docs/outcomes.md \"Variants\").\n",
            split.join(", "),
            v.salt,
            v.since
        );
    }
    let _ = writeln!(o, "## Personas\n");
    let _ = writeln!(
        o,
        "| id | persona | shoppers | share | value at stake | value share | outliers | stability |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|---|");
    for p in &s.personas {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            p.id,
            md_cell(&p.name),
            p.size,
            pct1(p.share),
            money_or_unknown(p.value_at_stake),
            p.value_share.map_or_else(|| "unknown".into(), pct1),
            p.outliers,
            stability(p.stability)
        );
    }
    o.push('\n');
}

/// What a propensity of each kind means, in one sentence (shared with report.html).
pub fn kind_text(kind: LearnedFrom) -> &'static str {
    match kind {
        LearnedFrom::Untreated => "the chance that an abandoner orders on their own, with no recovery message (learned only from holdout shoppers)",
        LearnedFrom::AsUsual => "the chance that an abandoner orders under the shop's usual messaging (learned from every abandoner; not causal: it is high for shoppers the messages persuade)",
    }
}

/// The return propensity: what it is and what it learned from, per persona, how well it did on
/// the newest past week (measures, lift and reliability tables).
fn propensity(o: &mut String, shown: &Shown, personas: &[Persona]) {
    let _ = writeln!(
        o,
        "## Return propensity
"
    );
    let (Some(kind), Some(l)) = (shown.kind, &shown.learned) else {
        let why = shown.not_learned.as_deref().unwrap_or("not asked for");
        let _ = writeln!(
            o,
            "Not learned: {why}. There is no `return_propensity` column.
"
        );
        return;
    };
    let sampled = match l.sample_fraction {
        f if f < 1.0 => format!(" (a sample of {} of the customers, by hash)", pct1(f)),
        _ => String::new(),
    };
    let calibrated = match &shown.platt {
        Some(p) => format!(
            "Platt scaling applied (slope {:.3}, intercept {:.3})",
            p.slope, p.intercept
        ),
        None => "no Platt scaling needed".to_string(),
    };
    let in_use = match &l.in_use {
        Some(r) => format!(
            " The scores come from the same model refitted with the calibration and report weeks added ({} rows, {} returns at {} points): the measures below are those of the fit without them.",
            r.rows, r.positives, r.weeks
        ),
        None => " The scores come from the measured fit.".to_string(),
    };
    let _ = writeln!(
        o,
        "**{}** propensity to order within {}: {}. Learned from {} rows ({} returns) at {} weekly as-of points from {} to {}{sampled}; calibrated on {} ({calibrated}); measured on {}.{in_use} The mean over this run's abandoners is {}; {} are above {} (docs/propensity.md).\n",
        kind.name(),
        shown.window,
        kind_text(kind),
        l.train_rows,
        l.train_positives,
        l.train_weeks,
        l.train_from,
        l.train_to,
        l.calibration_week,
        l.report_week,
        shown.mean.map_or("-".into(), pct1),
        shown.above,
        shown.no_discount_above
    );
    let _ = writeln!(
        o,
        "| persona | mean propensity | share above {} | expected returning value |",
        shown.no_discount_above
    );
    let _ = writeln!(o, "|---|---:|---:|---:|");
    for (p, name) in shown.personas.iter().zip(personas.iter().map(|p| &p.name)) {
        let _ = writeln!(
            o,
            "| {} {} | {} | {} | {} |",
            p.id,
            md_cell(name),
            pct1(p.mean),
            pct1(p.share_above),
            money_or_unknown(p.expected_returning_value)
        );
    }
    o.push('\n');
    let _ = writeln!(
        o,
        "**No-discount rule:** {}{}.\n",
        shown.no_discount_rule_why,
        match shown.no_discount_rule {
            true => format!(
                "; {} shoppers in `audience.csv` get their play with no incentive",
                shown.no_discount
            ),
            false => String::new(),
        }
    );
    if let Some(m) = &shown.measures {
        propensity_measures(o, m);
    }
    for n in &shown.notes {
        let _ = writeln!(o, "> {n}\n");
    }
}

/// The measures on the newest past week, its lift table and reliability bins.
fn propensity_measures(o: &mut String, m: &Measures) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    let _ = writeln!(
        o,
        "Measured on {} abandoners of the newest past week ({} returned, base rate {}): AUC {}, Brier score {:.4}, Brier skill {} against the base rate, expected calibration error {:.3}{} (10 quantile bins; {:.3} on the calibration week).\n",
        m.rows,
        m.returned,
        pct1(m.base_rate),
        opt(m.auc),
        m.brier,
        opt(m.brier_skill),
        m.ece_before,
        m.ece_after.map_or(String::new(), |a| format!(" before Platt scaling, {a:.3} after")),
        m.calibration_week_ece
    );
    if let Some(lift) = &m.lift {
        let _ = writeln!(
            o,
            "| decile (highest first) | shoppers | returned | lift | returns captured |"
        );
        let _ = writeln!(o, "|---:|---:|---:|---:|---:|");
        for d in lift {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {:.2} | {} |",
                d.decile,
                d.rows,
                d.returned,
                d.lift,
                pct1(d.captured)
            );
        }
        o.push('\n');
    }
    if !m.reliability.is_empty() {
        let _ = writeln!(o, "| bin | shoppers | mean predicted | observed |");
        let _ = writeln!(o, "|---:|---:|---:|---:|");
        for (i, b) in m.reliability.iter().enumerate() {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                i + 1,
                b.rows,
                pct1(b.mean_predicted),
                pct1(b.observed)
            );
        }
        o.push('\n');
    }
}

/// "1 shopper was", "3 shoppers were".
fn shoppers(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 shopper {one}")
    } else {
        format!("{n} shoppers {many}")
    }
}

/// A persona's stability, figure and word ("0.91 (stable)"), or "not measured".
pub fn stability(s: Option<f64>) -> String {
    match s {
        Some(v) => format!("{v:.2} ({})", crate::cluster::stability::label(v)),
        None => "not measured".to_string(),
    }
}

/// The effect of the persona's play as the previous readout measured it (`--outcomes`).
fn measured(o: &mut String, p: &Persona, previous: Option<&crate::outcomes::previous::Previous>) {
    let Some(prev) = previous else { return };
    let Some(m) = &p.measured else {
        let _ = writeln!(
            o,
            "**Measured effect of the play:** not measured yet: {} is new since the readout {}.\n",
            p.id, prev.dir
        );
        return;
    };
    let _ = writeln!(
        o,
        "**Measured effect of the play** (readout {}{}): {}\n",
        prev.dir,
        if prev.partial { ", partial" } else { "" },
        measured_text(m)
    );
}

/// One line: uplift with interval, verdict, arms, incremental revenue, the winning variant.
pub fn measured_text(m: &crate::personas::Measured) -> String {
    use crate::report::outcomes::pts;
    let uplift = match (m.uplift, m.ci_low, m.ci_high) {
        (Some(u), Some(l), Some(h)) => format!("uplift {} [{}, {}]", pts(u), pts(l), pts(h)),
        _ => "no uplift (no holdout)".into(),
    };
    let verdict = match (m.verdict.as_str(), m.mde) {
        ("inconclusive", Some(mde)) => format!(
            "inconclusive (could detect {} or more)",
            pts(mde).trim_start_matches('+')
        ),
        (v, _) => v.to_string(),
    };
    let revenue = match (m.incremental_revenue, m.revenue_ci_low, m.revenue_ci_high) {
        (Some(r), Some(l), Some(h)) => format!(
            "; incremental revenue {} [{}, {}]",
            money(r),
            money(l),
            money(h)
        ),
        (Some(r), _, _) => format!("; incremental revenue {}", money(r)),
        _ => String::new(),
    };
    let best = m
        .best_variant
        .as_deref()
        .map_or(String::new(), |b| format!("; best variant {b}"));
    let incentive = m.incentive.as_ref().map_or(String::new(), |i| {
        let words = crate::report::outcomes::incentive_words(i.verdict, i.mde);
        format!(
            "; {} against a plain reminder: {words}, net revenue per listed shopper {} [{}, {}]",
            i.variant,
            money(i.net_revenue_per_shopper),
            money(i.ci_low),
            money(i.ci_high)
        )
    });
    format!(
        "{uplift}, {verdict}; {} treated, {} held out{revenue}{best}{incentive}.",
        m.treatment, m.holdout
    )
}

/// Personas the previous readout measured that this run no longer has.
fn retired_since_readout(o: &mut String, s: &Summary) {
    let Some(prev) = &s.outcomes else { return };
    if !prev.retired.is_empty() {
        let _ = writeln!(
            o,
            "Retired since the readout {}: {}.\n",
            prev.dir,
            prev.retired.join("; ")
        );
    }
    if !prev.offers_switched.is_empty() {
        let _ = writeln!(
            o,
            "**Offers switched to a plain reminder** (the readout {} found one does as well for less): {}; `--keep-offers` keeps the incentives.\n",
            prev.dir,
            prev.offers_switched.join(", ")
        );
    }
    if let Some(words) = &prev.uplift {
        let scored = if prev.uplift_model.is_some() {
            "; `assignments` has each shopper's `uplift` by its model"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "**Per-shopper uplift** (the readout {}): {words}{scored}.\n",
            prev.dir
        );
    }
    if let Some(t) = &prev.target {
        let _ = writeln!(
            o,
            "**Audience cut by uplift** (`--target {}`{}): audience.csv lists {} of the {} treated shoppers, highest uplift first; the others stay in the treatment arm unmessaged, so the next readout measures the targeted plays against the holdout.\n",
            t.target,
            if t.forced { ", forced past a gate that found no evidence" } else { "" },
            t.audience,
            t.treated
        );
    }
}

/// One persona's section: why its name, its bullets and its recovery play.
fn persona(o: &mut String, p: &Persona) {
    let _ = writeln!(o, "### {} {}\n", p.id, p.name);
    let outliers = match p.outliers {
        0 => String::new(),
        n => format!(", {n} of them outliers"),
    };
    let _ = writeln!(
        o,
        "{} shoppers ({}{outliers}), {} at stake ({} of it); stability {}.\n",
        p.size,
        pct1(p.share),
        money_or_unknown(p.value_at_stake),
        p.value_share.map_or_else(|| "unknown".into(), pct1),
        stability(p.stability)
    );
    if let (Some(h), Some(t)) = (p.holdout, p.treatment) {
        let _ = writeln!(o, "Arms: {h} in the holdout, {t} in the treatment arm.\n");
    }
    if !p.evidence.is_empty() {
        let _ = writeln!(o, "**Why this name:**\n");
        for e in &p.evidence {
            let _ = writeln!(o, "- {}: {}", e.r#trait, e.text);
        }
        o.push('\n');
    }
    for b in &p.bullets {
        let _ = writeln!(o, "- {b}");
    }
    o.push('\n');
    let pl = &p.play;
    let _ = writeln!(o, "**Recovery play:**\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| channels | {} |", pl.channels.join(" → "));
    let _ = writeln!(o, "| first nudge | {} |", pl.first_nudge);
    let _ = writeln!(o, "| follow-up | {} |", pl.follow_up);
    let _ = writeln!(o, "| last touch | {} |", pl.last_touch);
    let _ = writeln!(o, "| offer | {} |", pl.offer);
    let _ = writeln!(o, "| stop | {} |", pl.exit_rule);
    o.push('\n');
}

/// With `--baseline`: which persona continues which, and which were retired.
fn baseline(o: &mut String, s: &Summary) {
    if let Some(base) = &s.baseline {
        let _ = writeln!(o, "## Compared with the baseline\n");
        let _ = writeln!(o, "Matched against `{base}`.\n");
        let _ = writeln!(o, "| id | persona | continues | distance (sd) |");
        let _ = writeln!(o, "|---|---|---|---:|");
        for l in &s.lineage {
            let name = s
                .personas
                .iter()
                .find(|p| p.id == l.id)
                .map_or("", |p| p.name.as_str());
            let cont = l
                .baseline_id
                .clone()
                .unwrap_or_else(|| "new persona".into());
            let name = md_cell(name);
            let _ = writeln!(o, "| {} | {name} | {cont} | {:.2} |", l.id, l.distance);
        }
        for r in &s.retired_now {
            let _ = writeln!(
                o,
                "| {} | {} | retired (nearest new persona {:.2} sd away) | |",
                r.id,
                md_cell(&r.name),
                r.nearest_distance
            );
        }
        o.push('\n');
    }
}

/// The metrics of every k tried, and the reason for the choice.
fn k_table(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "## Choosing the number of personas\n");
    let _ = writeln!(o, "| k | silhouette | Calinski-Harabasz | Davies-Bouldin | inertia | smallest persona | its value share | eligible | chosen |");
    let _ = writeln!(o, "|---:|---:|---:|---:|---:|---:|---:|:---|:---:|");
    for r in &s.clustered.k_selection {
        let _ = writeln!(
            o,
            "| {} | {:.3} | {:.1} | {:.3} | {:.1} | {} ({}) | {} | {} | {} |",
            r.k,
            r.silhouette,
            r.calinski_harabasz,
            r.davies_bouldin,
            r.inertia,
            pct1(r.smallest_share),
            r.smallest_size,
            r.smallest_value_share
                .map_or_else(|| "unknown".into(), pct1),
            if r.eligible {
                "yes".to_string()
            } else {
                format!("no: {}", r.not_eligible)
            },
            if r.chosen { "**yes**" } else { "" }
        );
    }
    let _ = writeln!(o, "\nChosen: {}.\n", s.clustered.reason);
}

/// The files read, the windows, and what the matrix and the features left out.
fn inputs(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "## Inputs\n");
    let _ = writeln!(o, "| file | kind | rows read | rows rejected |");
    let _ = writeln!(o, "|---|---|---:|---:|");
    for f in &s.inputs {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            f.path, f.kind, f.rows_read, f.rows_rejected
        );
    }
    let _ = writeln!(
        o,
        "\nAs of {} ({}); abandoned after {}, lookback {}, history {}.{} Bad rows: {}.",
        s.as_of,
        s.as_of_source,
        s.windows.abandon_after,
        s.windows.lookback,
        s.windows.history,
        match (s.carts, s.abandoned_carts) {
            (Some(c), Some(a)) => format!(" {c} carts, {a} abandoned."),
            _ => String::new(),
        },
        match s.on_bad_rows {
            crate::ingest::schema::BadRows::Fail => "stop at the first",
            crate::ingest::schema::BadRows::Skip => "skipped and counted",
        }
    );
    let _ = writeln!(
        o,
        "\nClustering features: {}.",
        s.clustered.cluster_features.join(", ")
    );
    for (f, n) in &s.clustered.matrix.filled {
        let _ = writeln!(o, "- {f}: {n} gaps filled with the median");
    }
    for (f, why) in &s.clustered.matrix.dropped {
        let _ = writeln!(o, "- {f} not used: {why}");
    }
    for l in &s.features_left_out {
        let _ = writeln!(o, "- {} left out: {}", l.feature, l.reason);
    }
}
