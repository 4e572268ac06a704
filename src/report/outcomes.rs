//! The outcomes readout rendered: outcomes.md, outcomes.html (self-contained, like report.html)
//! and junit.xml (one testcase per gate). Pure: the [`Readout`] in, text out.

use std::fmt::Write;

use minijinja::{context, Environment};
use serde::Serialize;

use super::{charts, junit};
use crate::outcomes::breakdown::Breakdown;
use crate::outcomes::checks::p_text;
use crate::outcomes::readout::{Comparison, Estimate, Verdict};
use crate::outcomes::Readout;
use crate::util::gate::Status;
pub use crate::util::numfmt::pts;
use crate::util::numfmt::{fixed, money, pct1};
use crate::util::text::capital;
use crate::util::text::md_cell;

/// A rate, or "-" without shoppers: two decimals, the precision of the uplift beside it (at
/// rates near 1%, one decimal made 1.4% and 1.0% sit beside "+0.5 pts").
fn rate(r: Option<f64>) -> String {
    r.map_or("-".into(), |x| format!("{}%", fixed(x * 100.0, 2, false)))
}

/// Money with its 95% interval, rounded to what the interval supports: to a unit of a tenth of
/// its half-width's order of magnitude (two significant digits of the half-width; cents at
/// most), so 1,234.56 [-300.12, 2,769.00] reads 1,200 [-300, 2,800].
fn money_interval(e: &Estimate) -> String {
    let (Some(lo), Some(hi)) = (e.ci_low, e.ci_high) else {
        return money(e.estimate);
    };
    let half = (hi - lo) / 2.0;
    let k = if half > 0.0 {
        (half.log10().floor() as i32 - 1).max(-2)
    } else {
        -2
    };
    let f = |x: f64| money_to(x, k);
    format!("{} [{}, {}]", f(e.estimate), f(lo), f(hi))
}

/// Money rounded to 10^k (k >= -2), thousands separated: money_to(1234.5, 2) = "1,200".
fn money_to(x: f64, k: i32) -> String {
    let unit = 10f64.powi(k);
    let v = (x / unit).round() * unit;
    let v = if v == 0.0 { 0.0 } else { v };
    match k {
        k if k >= 0 => money(v).trim_end_matches(".00").to_string(),
        -1 => money(v)[..money(v).len() - 1].to_string(),
        _ => money(v),
    }
}

fn uplift_text(c: &Comparison) -> String {
    match &c.uplift {
        None => "not measured (no holdout)".into(),
        Some(u) => format!(
            "{} [{}, {}]",
            pts(u.absolute),
            pts(u.ci_low),
            pts(u.ci_high)
        ),
    }
}

fn estimate(e: &Option<Estimate>, f: fn(f64) -> String) -> String {
    match e {
        None => "-".into(),
        Some(e) => match (e.ci_low, e.ci_high) {
            (Some(l), Some(h)) => format!("{} [{}, {}]", f(e.estimate), f(l), f(h)),
            _ => f(e.estimate),
        },
    }
}

/// Incremental revenue with its interval, rounded to what the interval supports; "-" without one.
fn revenue(e: &Option<Estimate>) -> String {
    e.as_ref().map_or("-".into(), money_interval)
}

fn count(x: f64) -> String {
    format!("{x:+.1}")
}

fn verdict_text(c: &Comparison) -> String {
    verdict_words(c.verdict, c.mde)
}

/// A verdict in words, with the detectable uplift beside "inconclusive".
fn verdict_words(v: Verdict, mde: Option<f64>) -> String {
    match (v, mde) {
        (Verdict::Inconclusive, Some(m)) => format!(
            "inconclusive (could detect {} or more)",
            pts(m).trim_start_matches('+')
        ),
        (v, _) => v.name().to_string(),
    }
}

fn header(r: &Readout, o: &mut String) {
    let _ = writeln!(o, "# Recovery readout\n");
    if let Some(p) = &r.partial {
        let _ = writeln!(o, "> **Partial readout** (--allow-partial): {p}. Shoppers whose window is not over may still come back.\n");
    }
    let runs: Vec<String> = r
        .runs
        .iter()
        .map(|x| format!("{} (T {}, {} listed)", x.dir, x.as_of, x.listed))
        .collect();
    let _ = writeln!(o, "- Runs: {}", runs.join("; "));
    let _ = writeln!(
        o,
        "- Outcome window: {} after each run's T; attribution window {}",
        r.window, r.attribution_window
    );
    let p = &r.population;
    let _ = writeln!(
        o,
        "- Shoppers counted: {}, each at their first listing since the holdout split began (later listings of them ignored: {})",
        p.counted, p.repeat_listings
    );
    if p.listed_again > 0 {
        let _ = writeln!(o, "- Listed again (first listed by a run not given; not randomized, in no table below but their own): {}", p.listed_again);
    }
    if p.first_listing_unknown > 0 {
        let _ = writeln!(
            o,
            "- **First listing not known** for {} counted shoppers (see the first_exposure gate)",
            p.first_listing_unknown
        );
    }
    if let Some(n) = p.not_in_entries {
        let _ = writeln!(o, "- Listed but never entered the flow (left out): {n}; entries of shoppers no run lists: {}", p.entries_not_listed.unwrap_or(0));
    }
    let share = r.holdout.planned_share.map_or("-".into(), pct1);
    let _ = writeln!(
        o,
        "- Arms from: {}; planned holdout share {share}",
        r.holdout.source.name()
    );
    let _ = writeln!(
        o,
        "- Status: **{}**\n",
        if r.status == Status::Fail {
            "FAIL"
        } else {
            "pass"
        }
    );
}

/// The cells every comparison row shares: each arm's size and rate, the uplift with its
/// interval, the p-values and the verdict, joined as Markdown cells.
fn arm_cells(c: &Comparison) -> String {
    format!(
        "{}, {} | {}, {} | {} | {} | {}",
        c.treatment.n,
        rate(c.treatment.rate),
        c.holdout.n,
        rate(c.holdout.rate),
        uplift_text(c),
        c.uplift.as_ref().map_or("-".into(), |u| format!(
            "{} ({})",
            p_text(u.p_value),
            p_text(u.p_holm)
        )),
        verdict_text(c),
    )
}

fn comparisons(r: &Readout, o: &mut String) {
    let _ = writeln!(
        o,
        "## Did the play recover carts that would not have come back anyway?\n"
    );
    let _ = writeln!(o, "Randomized: treatment against holdout. Uplift = treatment rate - holdout rate, with its 95% Newcombe interval; p-values Holm-adjusted over the {} personas.\n", r.personas.len());
    let _ = writeln!(o, "| persona | treatment (n, rate) | holdout (n, rate) | uplift [95% CI] | p (Holm) | verdict | expected incremental recoveries [95% CI] | incremental revenue [95% CI] | attributed revenue |");
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---|---:|---:|---:|");
    let row = |name: &str, c: &Comparison| {
        format!(
            "| {} | {} | {} | {} | {} |",
            md_cell(name),
            arm_cells(c),
            estimate(&c.incremental_orders, count),
            revenue(&c.incremental_revenue),
            c.attributed_revenue.map_or("-".into(), money),
        )
    };
    for p in &r.personas {
        let _ = writeln!(
            o,
            "{}",
            row(
                &format!("{} {}", p.persona_id, p.persona_name),
                &p.comparison
            )
        );
    }
    let _ = writeln!(o, "{}\n", row("**all**", &r.overall));
    for p in &r.personas {
        if let Some(n) = &p.comparison.note {
            let _ = writeln!(o, "- {}: {n}", p.persona_id);
        }
    }
    if let Some(n) = &r.overall.note {
        let _ = writeln!(o, "- all: {n}");
    }
    let c = &r.overall;
    if let (Some(a), Some(i)) = (c.attributed_revenue, &c.incremental_revenue) {
        let ratio = c
            .attributed_to_incremental
            .map_or("-".into(), |x| format!("{x:.1}x"));
        let _ = writeln!(o, "\nA platform would attribute {} to the messages (orders within {} of a touch); the holdout says {} was incremental ({ratio}).", money(a), r.attribution_window, money_interval(i));
    }
    let d = &c.discount;
    if let Some(amount) = d.amount {
        let _ = writeln!(
            o,
            "Discounts in the window: treatment {} orders, {}; holdout {} orders, {}.",
            d.orders,
            money(amount),
            d.holdout_orders,
            d.holdout_amount.map_or("-".into(), money)
        );
    }
    if d.incremental_revenue_net.is_some() {
        let _ = writeln!(o, "Incremental revenue net of discounts (both arms' discounts taken out, order values {}): {}.", r.order_value_is, revenue(&d.incremental_revenue_net));
    }
    if let Some(cost) = r.incentive_cost {
        let _ = writeln!(o, "Net revenue also takes {} off each recovered shopper of a variant that carries an incentive (--incentive-cost).", money(cost));
    }
    listed_again(r, o);
    balance(r, o);
    let _ = writeln!(o, "\nInconclusive is not \"no effect\": the smallest uplift each comparison could call a win with 80% power, at the level Holm gives its family's first step (5% over the comparisons judged together), is given beside it. Incremental revenue: Welch's 95% interval of the difference in revenue per shopper, times the treated shoppers.");
}

/// Balance where randomization is claimed: each persona's arms against the planned share, and
/// the standardized mean differences of the covariates of the listing counted.
fn balance(r: &Readout, o: &mut String) {
    let rows: Vec<BalanceRow> = balance_rows(r);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n### Balance of the arms within each persona\n");
    let _ = writeln!(o, "Randomized arms differ only by chance: each persona's holdout share against the planned one (chi-square, Holm over the personas), and the standardized mean difference (SMD) of each clustering feature and the propensity between the arms; |SMD| above 0.1 is flagged, beside how many covariates chance alone would flag at these arm sizes; a warning names those beyond chance too (p < 0.001).\n");
    let _ = writeln!(o, "| persona | holdout share (planned) | sample ratio p (Holm) | largest \\|SMD\\| | flagged (by chance) |");
    let _ = writeln!(o, "|---|---:|---:|---|---|");
    for b in rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            md_cell(&b.label),
            b.share,
            b.p,
            b.largest,
            b.flagged
        );
    }
    for w in &r.warnings {
        let _ = writeln!(o, "\n- **Warning**: {w}");
    }
}

/// One persona's balance, as text cells.
#[derive(Serialize)]
struct BalanceRow {
    label: String,
    share: String,
    p: String,
    largest: String,
    flagged: String,
}

fn balance_rows(r: &Readout) -> Vec<BalanceRow> {
    r.personas
        .iter()
        .filter_map(|p| {
            let b = p.balance.as_ref()?;
            let c = &p.comparison;
            let n = c.treatment.n + c.holdout.n;
            let held = if n == 0 {
                0.0
            } else {
                c.holdout.n as f64 / n as f64
            };
            let largest = b
                .smd
                .iter()
                .filter_map(|x| x.smd.map(|v| (v, &x.covariate)))
                .max_by(|a, b| a.0.abs().total_cmp(&b.0.abs()));
            Some(BalanceRow {
                label: format!("{} {}", p.persona_id, p.persona_name),
                share: match &c.sample_ratio {
                    Some(s) => format!("{} ({})", pct1(held), pct1(s.expected_share)),
                    None => pct1(held),
                },
                p: c.sample_ratio.as_ref().map_or("-".into(), |s| {
                    format!("{} ({})", p_text(s.p_value), p_text(s.p_holm))
                }),
                largest: largest.map_or("-".into(), |(v, name)| format!("{v:+.2} ({name})")),
                flagged: format!(
                    "{} ({:.1})",
                    if b.flagged.is_empty() {
                        "none".to_string()
                    } else {
                        b.flagged.join(", ")
                    },
                    b.flagged_by_chance
                ),
            })
        })
        .collect()
}

/// The shoppers listed again, by arm: counts and rates only, said to be not randomized.
fn listed_again(r: &Readout, o: &mut String) {
    let Some(a) = &r.listed_again else { return };
    let _ = writeln!(o, "\n### Listed again (not randomized)\n");
    let _ = writeln!(o, "Shoppers whose earliest listing among the runs given is not their first since the holdout split began: {}.\n", a.note);
    let _ = writeln!(o, "| arm | shoppers | recovered | rate |");
    let _ = writeln!(o, "|---|---:|---:|---:|");
    for (name, x) in [("treatment", &a.treatment), ("holdout", &a.holdout)] {
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} |",
            x.n,
            x.recovered,
            rate(x.rate)
        );
    }
}

fn breakdown(title: &str, b: &Option<Breakdown>, o: &mut String) {
    let Some(b) = b else { return };
    let _ = writeln!(o, "\n## {title} (not randomized)\n");
    let _ = writeln!(
        o,
        "{}. Holdout rate for reference: {}.\n",
        capital(b.note),
        rate(b.holdout_rate)
    );
    let _ = writeln!(
        o,
        "| group | treated shoppers | recovered | rate [95% CI] |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|");
    for g in &b.rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} [{}, {}] |",
            md_cell(&g.group),
            g.n,
            g.recovered,
            rate(g.rate),
            rate(Some(g.ci_low)),
            rate(Some(g.ci_high))
        );
    }
}

fn variants(r: &Readout, o: &mut String) {
    if r.variants.is_empty() && r.overall_variants.is_none() {
        return;
    }
    let _ = writeln!(o, "\n## Variants\n");
    let _ = writeln!(o, "Each variant against the holdout (Holm over the variants of the group), and the variants against each other (Holm over the pairs); \"all\" is every persona's shoppers together, the experiment's headline.\n");
    for v in r.overall_variants.iter().chain(&r.variants) {
        let t = variant_table(v);
        let best = t.best.as_deref().map_or(
            "no variant beats every other after adjustment".into(),
            |b| format!("best: **{b}**"),
        );
        let _ = writeln!(o, "### {} ({best})\n", t.persona);
        let _ = writeln!(
            o,
            "| variant | n | rate | uplift vs holdout [95% CI] | p (Holm) | verdict |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---|");
        for x in &t.rows {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                md_cell(&x.variant),
                x.n,
                x.rate,
                x.uplift,
                x.p,
                x.verdict
            );
        }
        for x in t.rows.iter().filter(|x| x.note.is_some()) {
            let _ = writeln!(o, "- {}: {}", x.variant, x.note.as_deref().unwrap_or(""));
        }
        for p in t.pairs.iter().chain(&t.money) {
            let _ = writeln!(o, "- {p}");
        }
        let _ = writeln!(o);
    }
}

/// One variant row as text cells (outcomes.md and outcomes.html show the same).
#[derive(Serialize)]
struct VariantCells {
    variant: String,
    n: u64,
    rate: String,
    uplift: String,
    p: String,
    verdict: String,
    note: Option<String>,
}

/// A group's variants as outcomes.md and outcomes.html show them.
#[derive(Serialize)]
struct VariantTable {
    persona: String,
    best: Option<String>,
    rows: Vec<VariantCells>,
    pairs: Vec<String>,
    /// Each variant against the reminder, in money (with a `reminder` variant).
    money: Vec<String>,
}

/// A group's variant rows and its pairwise comparisons, as text.
fn variant_table(v: &crate::outcomes::breakdown::Variants) -> VariantTable {
    let rows = v
        .variants
        .iter()
        .map(|x| VariantCells {
            variant: x.variant.clone(),
            n: x.stats.n,
            rate: rate(x.stats.rate),
            uplift: match (x.uplift, x.ci_low, x.ci_high) {
                (Some(u), Some(l), Some(h)) => format!("{} [{}, {}]", pts(u), pts(l), pts(h)),
                _ => "-".into(),
            },
            p: match (x.p_value, x.p_holm) {
                (Some(p), Some(h)) => format!("{} ({})", p_text(p), p_text(h)),
                _ => "-".into(),
            },
            verdict: x.verdict.map_or("not measured (no holdout)".into(), |v| {
                verdict_words(v, x.mde)
            }),
            note: x.note.clone(),
        })
        .collect();
    let pairs = v
        .pairs
        .iter()
        .map(|p| {
            format!(
                "{} - {}: {} [{}, {}], p {} (Holm {})",
                p.a,
                p.b,
                pts(p.difference),
                pts(p.ci_low),
                pts(p.ci_high),
                p_text(p.p_value),
                p_text(p.p_holm)
            )
        })
        .collect();
    VariantTable {
        persona: match v.persona_id.as_str() {
            "all" => "all (every persona)".into(),
            id => id.to_string(),
        },
        best: v.best.clone(),
        rows,
        pairs,
        money: v.against_reminder.iter().map(against_reminder).collect(),
    }
}

/// A variant's verdict against the plain reminder, in words (`mde`: what it could detect).
pub fn incentive_words(verdict: crate::personas::IncentiveVerdict, mde: f64) -> String {
    use crate::personas::IncentiveVerdict;
    match verdict {
        IncentiveVerdict::Pays => "the incentive pays".to_string(),
        IncentiveVerdict::ReminderDoesAsWell => {
            "a plain reminder does as well for less".to_string()
        }
        IncentiveVerdict::Inconclusive => {
            format!(
                "inconclusive (could detect {} per shopper or more)",
                money(mde)
            )
        }
    }
}

/// "incentive against reminder, net revenue per listed shopper ...: the incentive pays".
fn against_reminder(a: &crate::outcomes::breakdown::AgainstReminder) -> String {
    let interval = Estimate {
        estimate: a.net_revenue_per_shopper,
        ci_low: Some(a.ci_low),
        ci_high: Some(a.ci_high),
        method: "welch",
    };
    let words = incentive_words(a.verdict, a.mde);
    format!(
        "{} against reminder: net revenue per listed shopper {}, p {} (Holm {}); recovery {}: {words}",
        a.variant,
        money_interval(&interval),
        p_text(a.p_value),
        p_text(a.p_holm),
        pts(a.recovery_difference),
    )
}

/// Uplift by return-propensity band: the test of the no-discount rule.
fn bands(r: &Readout, o: &mut String) {
    let Some(b) = &r.by_propensity else { return };
    let _ = writeln!(o, "\n## By return-propensity band\n");
    let _ = writeln!(o, "Randomized within each band (the propensity was set before the arms): treatment against holdout. p-values Holm-adjusted over the {} bands; the no-discount group is judged on its own.\n", b.quintiles.len());
    let _ = writeln!(o, "| band | propensity | treatment (n, rate) | holdout (n, rate) | uplift [95% CI] | p (Holm) | verdict | incremental revenue [95% CI] |");
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---|---:|");
    for band in b.quintiles.iter().chain(&b.no_discount) {
        let c = &band.comparison;
        let range = match band.low {
            Some(l) => format!("({l:.3}, {:.3}]", band.high),
            None => format!("up to {:.3}", band.high),
        };
        let _ = writeln!(
            o,
            "| {} | {range} | {} | {} |",
            md_cell(&band.name),
            arm_cells(c),
            revenue(&c.incremental_revenue),
        );
    }
    if b.without_propensity > 0 {
        let _ = writeln!(
            o,
            "\n{} shoppers were listed by runs without a propensity and are not in the bands.",
            b.without_propensity
        );
    }
    let _ = writeln!(o, "\nThe no-discount rule pays when the group above the threshold gains little from a message (its uplift near 0) while the lower bands gain more: those shoppers come back anyway, and an incentive would be spent on them for nothing.");
}

/// The readout directory's files, in the order the command lists them: outcomes.json, .md, .html,
/// junit.xml, and with `runs` (`--uplift-scores`) uplift_scores.csv when an uplift was learned.
pub fn files(
    r: &Readout,
    runs: Option<&crate::outcomes::load::Runs>,
) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut json = serde_json::to_vec_pretty(r)?;
    json.push(b'\n');
    let mut files = vec![
        ("outcomes.json", json),
        ("outcomes.md", markdown(r).into_bytes()),
        ("outcomes.html", html(r)?.into_bytes()),
        ("junit.xml", junit(r).into_bytes()),
    ];
    if let (Some(runs), Some(t)) = (runs, &r.uplift) {
        files.push(("uplift_scores.csv", super::targeting::scores_csv(t, runs)?));
    }
    Ok(files)
}

pub fn markdown(r: &Readout) -> String {
    let mut o = String::new();
    header(r, &mut o);
    comparisons(r, &mut o);
    bands(r, &mut o);
    breakdown("Recovery by first channel", &r.by_channel, &mut o);
    breakdown(
        "Recovery by delay from abandonment to the first touch",
        &r.by_delay,
        &mut o,
    );
    variants(r, &mut o);
    super::targeting::markdown(r, &mut o);
    let _ = writeln!(o, "\n## Gates\n");
    let _ = writeln!(o, "| gate | status | detail |");
    let _ = writeln!(o, "|---|---|---|");
    for (name, c) in r.checks.all() {
        let mark = c.status.mark();
        let _ = writeln!(
            o,
            "| {} | {mark} | {} |",
            md_cell(name),
            md_cell(&c.message)
        );
    }
    o
}

/// junit.xml: one testcase per gate; a failed gate is a `<failure>` with its numbers, one not
/// measured is `<skipped>`.
pub fn junit(r: &Readout) -> String {
    let cases = r
        .checks
        .all()
        .into_iter()
        .map(|(name, c)| junit::Case {
            classname: "cartsona.outcomes".to_string(),
            name: name.to_string(),
            result: junit::Result::of(c.status, &c.message, "gate", &c.message, Some(&c.message)),
        })
        .collect();
    let gates = junit::Suite {
        name: "outcomes.gates".to_string(),
        cases,
    };
    junit::render("cartsona outcomes", &[gates])
}

#[derive(Serialize)]
struct ReadoutRow {
    label: String,
    treatment: String,
    holdout: String,
    uplift: String,
    p: String,
    verdict: &'static str,
    verdict_text: String,
    orders: String,
    revenue: String,
    attributed: String,
    note: Option<String>,
}

fn html_row(label: String, c: &Comparison) -> ReadoutRow {
    ReadoutRow {
        label,
        treatment: format!("{} · {}", c.treatment.n, rate(c.treatment.rate)),
        holdout: format!("{} · {}", c.holdout.n, rate(c.holdout.rate)),
        uplift: uplift_text(c),
        p: c.uplift.as_ref().map_or("-".into(), |u| {
            format!("{} ({})", p_text(u.p_value), p_text(u.p_holm))
        }),
        verdict: c.verdict.name(),
        verdict_text: verdict_text(c),
        orders: estimate(&c.incremental_orders, count),
        revenue: revenue(&c.incremental_revenue),
        attributed: c.attributed_revenue.map_or("-".into(), money),
        note: c.note.clone(),
    }
}

/// outcomes.html: the markdown's content as one self-contained page with three charts (four
/// with the per-shopper uplift's Qini curve).
pub fn html(r: &Readout) -> anyhow::Result<String> {
    let mut env = Environment::new();
    env.add_filter("pct", |v: Option<f64>| rate(v));
    env.add_filter("pts", pts);
    env.add_filter("money", money);
    env.add_filter("p", p_text);
    env.add_template(
        "outcomes.html",
        include_str!("../../templates/outcomes.html"),
    )?;
    let inline = |svg: String| svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    let mut rows: Vec<ReadoutRow> = r
        .personas
        .iter()
        .map(|p| {
            html_row(
                format!("{} {}", p.persona_id, p.persona_name),
                &p.comparison,
            )
        })
        .collect();
    rows.push(html_row("All listed shoppers".into(), &r.overall));
    let gates: Vec<(String, &str, String)> = r
        .checks
        .all()
        .into_iter()
        .map(|(n, c)| (n.replace('_', " "), c.status.name(), c.message.clone()))
        .collect();
    let balance_rows = balance_rows(r);
    let variant_tables: Vec<VariantTable> = r
        .overall_variants
        .iter()
        .chain(&r.variants)
        .map(variant_table)
        .collect();
    let band_rows: Vec<ReadoutRow> = r.by_propensity.as_ref().map_or(Vec::new(), |b| {
        b.quintiles
            .iter()
            .chain(&b.no_discount)
            .map(|band| html_row(band.name.clone(), &band.comparison))
            .collect()
    });
    let html = env.get_template("outcomes.html")?.render(context! {
        r => r,
        rows => rows,
        band_rows => band_rows,
        balance_rows => balance_rows,
        variant_tables => variant_tables,
        targeting => super::targeting::view(r),
        qini_chart => r.uplift.as_ref().map(|t| inline(charts::qini(&t.qini))),
        gates => gates,
        source => r.holdout.source.name(),
        failed => r.status == Status::Fail,
        uplift_chart => inline(charts::uplift_whiskers(r)),
        day_chart => inline(charts::recovery_by_day(&r.by_day)),
        revenue_chart => inline(charts::attributed_vs_incremental(r)),
    })?;
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(estimate: f64, lo: f64, hi: f64) -> Estimate {
        Estimate {
            estimate,
            ci_low: Some(lo),
            ci_high: Some(hi),
            method: "welch",
        }
    }

    /// Issue 31: revenue printed to the cent while its interval spans thousands; now rounded to
    /// two significant digits of the half-width (worked by hand).
    #[test]
    fn money_is_rounded_to_what_its_interval_supports() {
        // (estimate, low, high), what it reads, why.
        let cases = [
            (
                (1234.56, -300.12, 2769.0),
                "1,200 [-300, 2,800]",
                "half-width 1,534.56: unit 100",
            ),
            (
                (45.26, 32.76, 57.76),
                "45 [33, 58]",
                "half-width 12.5: unit 1",
            ),
            (
                (12.34, 7.34, 17.34),
                "12.3 [7.3, 17.3]",
                "half-width 5: unit 0.1",
            ),
            (
                (12.344, 11.84, 12.84),
                "12.34 [11.84, 12.84]",
                "half-width 0.5: cents",
            ),
            (
                (3.456, 3.452, 3.46),
                "3.46 [3.45, 3.46]",
                "half-width 0.004: cents at most",
            ),
            (
                (900.0, -4.0, 1804.0),
                "900 [0, 1,800]",
                "a bound that rounds to 0 reads 0",
            ),
        ];
        for ((estimate, lo, hi), want, why) in cases {
            assert_eq!(money_interval(&interval(estimate, lo, hi)), want, "{why}");
        }
    }

    /// Issue 31: rates at the uplift's precision; no "-0.00".
    #[test]
    fn rates_and_points_share_two_decimals_and_never_read_minus_zero() {
        assert_eq!(rate(Some(0.01416)), "1.42%");
        assert_eq!(rate(Some(0.00966)), "0.97%");
        assert_eq!(pts(0.01416 - 0.00966), "+0.45 pts");
        assert_eq!(pts(-0.000_01), "+0.00 pts");
        assert_eq!(pts(-0.0123), "-1.23 pts");
    }
}
