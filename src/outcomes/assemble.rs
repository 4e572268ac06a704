//! The readout assembled: the runs' listed shoppers and their outcomes in, a [`Readout`] out (per
//! persona and overall: the comparison, balance, breakdowns, variants, bands, gates; what was
//! listed again and what the window could not see; the per-shopper uplift and its test).

use anyhow::Result;
use serde::Serialize;

use super::breakdown::{Breakdown, ByDay, Variants};
use super::checks::Gates;
use super::load::{Entries, Exposure, RunInfo, Runs, Touches};
use super::readout::{ArmSource, Comparison, OrderIn, Outcome, Population, ReadoutSettings};
use super::{balance, bands, breakdown, checks, readout, targeting, uplift};
use crate::model::holdout::Arm;
use crate::util::gate::Status;

/// Where the arms came from and the share planned.
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutInfo {
    pub source: ArmSource,
    /// The planned share of the counted shoppers held out (the runs' share, or --expected-holdout).
    pub planned_share: Option<f64>,
    pub salt: Option<String>,
}

/// One persona's readout.
#[derive(Debug, Clone, Serialize)]
pub struct PersonaReadout {
    pub persona_id: String,
    pub persona_name: String,
    #[serde(flatten)]
    pub comparison: Comparison,
    /// The arms' balance on the covariates of the listing counted (None without a holdout).
    pub balance: Option<balance::Balance>,
}

/// Everything outcomes.json holds.
#[derive(Debug, Clone, Serialize)]
pub struct Readout {
    pub format_version: u32,
    pub tool: String,
    pub window: String,
    pub attribution_window: String,
    pub seed: u64,
    pub resamples: usize,
    /// `gross` or `net`: what order_value held (the net revenue's definition).
    pub order_value_is: &'static str,
    /// `--incentive-cost`: taken off each recovered incentive shopper's net revenue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incentive_cost: Option<f64>,
    /// Set with --allow-partial when the orders stop before some window ends: what is missing.
    pub partial: Option<String>,
    pub latest_order: Option<String>,
    /// `--orders-until`: how far the user says the orders reach.
    pub orders_until: Option<String>,
    pub holdout: HoldoutInfo,
    pub runs: Vec<RunInfo>,
    pub population: Population,
    pub overall: Comparison,
    pub personas: Vec<PersonaReadout>,
    /// Shoppers listed before by a run of the split not given: by arm, not randomized.
    pub listed_again: Option<ListedAgain>,
    pub checks: Gates,
    pub by_channel: Option<Breakdown>,
    pub by_delay: Option<Breakdown>,
    pub by_day: Vec<ByDay>,
    /// Each variant against the holdout over every persona (`persona_id` "all"), when there are
    /// variants.
    pub overall_variants: Option<Variants>,
    pub variants: Vec<Variants>,
    /// Uplift by return-propensity band, when the runs have a propensity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_propensity: Option<bands::Bands>,
    /// Per-shopper uplift, tested on shoppers its model did not learn from (outcomes::targeting),
    /// when the arms were randomized and each arm has enough recoveries to learn from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplift: Option<targeting::Targeting>,
    /// Why no per-shopper uplift was learned, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplift_not_learned: Option<String>,
    /// `fail` when a gate failed (exit 1), else `pass`.
    pub status: Status,
    /// What the reader must know that no gate fails on (covariates out of balance).
    pub warnings: Vec<String>,
}

/// Shoppers whose earliest listing among the runs given is not their first since the holdout
/// split began. Their arm was fixed by the hash, but whether they abandoned again (and so are
/// here at all), their persona and their propensity came after their arm could act: a
/// comparison of these arms is not randomized, so it has no uplift, verdict or gate.
#[derive(Debug, Clone, Serialize)]
pub struct ListedAgain {
    pub treatment: readout::ArmStats,
    pub holdout: readout::ArmStats,
    pub note: &'static str,
}

impl ListedAgain {
    fn of(again: &[Outcome]) -> ListedAgain {
        let arm = |a: Arm| readout::ArmStats::of(again.iter().filter(|o| o.arm == a));
        ListedAgain {
            treatment: arm(Arm::Treatment),
            holdout: arm(Arm::Holdout),
            note: "listed before by a run of the split that was not given: already messaged or held out, so whether they abandoned again depends on their arm; not randomized, in no persona, band or variant",
        }
    }
}

/// The inputs of a readout, read.
pub struct ReadoutInputs<'a> {
    pub runs: &'a Runs,
    pub touches: Option<&'a Touches>,
    pub entries: Option<&'a Entries>,
    /// Each listed shopper's orders (by index in `runs.shoppers`).
    pub orders: &'a [Vec<OrderIn>],
    pub latest_order: Option<i64>,
}

/// Reads out. Fails (exit 2) when there is no holdout without --no-holdout, and when the orders
/// stop before a window ends without --allow-partial.
pub fn build(inp: &ReadoutInputs<'_>, s: &ReadoutSettings) -> Result<Readout> {
    let fmt = crate::util::timefmt::format_timestamp;
    let partial = partial_text(inp, s);
    if let (Some(p), false) = (&partial, s.allow_partial) {
        anyhow::bail!("the orders stop too early: {p}. Read out when the orders cover every window, say how far the export reaches with --orders-until TIME when it is complete beyond its last order, or pass --allow-partial (every output then says so)");
    }
    let (arms, variant_names, source) = readout::arms(inp.runs, inp.entries, s.no_holdout)?;
    let reminder = crate::model::variants::REMINDER;
    let costly: Vec<bool> = variant_names.iter().map(|v| v != reminder).collect();
    // Only first listings since the split began are randomized within persona, band and
    // variant (docs/outcomes.md "First exposure"); the others are reported apart.
    let (all, again): (Vec<Outcome>, Vec<Outcome>) =
        readout::outcomes(inp.runs, &arms, inp.orders, inp.touches, s, &costly)
            .into_iter()
            .partition(|o| o.exposure != Exposure::Again);
    let with_touches = inp.touches.is_some();
    // The uplift is learned and scored beside the personas' comparisons (both on every thread).
    let learn = source != ArmSource::None && !s.no_uplift;
    let (personas, scored) = rayon::join(
        || persona_comparisons(inp.runs, &all, with_touches, source, s),
        || learn.then(|| uplift::score(&all, inp.runs, s.seed)),
    );
    let mut overall = readout::compare(&all.iter().collect::<Vec<_>>(), with_touches, s);
    readout::judge([&mut overall], "comparison");
    let (overall_variants, variants) = variant_readouts(inp.runs, &all, &variant_names);
    let by_propensity = bands::by_propensity(
        &all,
        inp.runs.runs.iter().find_map(|r| r.no_discount_above),
        with_touches,
        s,
    );
    let checks = gates(
        &all,
        &Judged {
            personas: &personas,
            overall: &overall,
            bands: by_propensity.as_ref(),
        },
        source,
        with_touches,
        s,
    );
    let (uplift, uplift_not_learned) = match (source, scored) {
        (ArmSource::None, _) => (None, None),
        (_, None) => (None, Some("not asked: --no-uplift".to_string())),
        (_, Some(scored)) => per_shopper(inp.runs, scored, &personas, s),
    };
    let status = if checks.failed().is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    Ok(Readout {
        format_version: readout::FORMAT_VERSION,
        tool: format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        window: readout::window_text(s.window),
        attribution_window: readout::window_text(s.attribution_window),
        seed: s.seed,
        resamples: s.resamples,
        order_value_is: if s.value_is_net { "net" } else { "gross" },
        incentive_cost: (s.incentive_cost > 0.0).then_some(s.incentive_cost),
        partial,
        latest_order: inp.latest_order.map(fmt),
        orders_until: s.orders_until.map(fmt),
        holdout: HoldoutInfo {
            source,
            planned_share: overall.sample_ratio.as_ref().map(|r| r.expected_share),
            salt: inp
                .runs
                .runs
                .iter()
                .find_map(|r| r.holdout.as_ref().map(|h| h.salt.clone())),
        },
        runs: inp.runs.runs.clone(),
        population: population(inp, &arms, &all, again.len()),
        listed_again: (!again.is_empty()).then(|| ListedAgain::of(&again)),
        by_channel: with_touches.then(|| breakdown::by_channel(&all)),
        by_delay: with_touches.then(|| breakdown::by_delay(&all)),
        by_day: breakdown::by_day(&all, s.window),
        by_propensity,
        warnings: [
            balance_warnings(&personas),
            cost_warning(s, &costly),
            uncovered_runs(inp.runs, &all, &again, s.window),
        ]
        .concat(),
        overall,
        personas,
        checks,
        overall_variants,
        variants,
        uplift,
        uplift_not_learned,
        status,
    })
}

/// Each variant against the holdout over every persona (the experiment's headline), and per
/// persona (none without variants).
fn variant_readouts(
    runs: &Runs,
    all: &[Outcome],
    variant_names: &[String],
) -> (Option<Variants>, Vec<Variants>) {
    if variant_names.is_empty() {
        return (None, Vec::new());
    }
    let overall = breakdown::variants("all", &all.iter().collect::<Vec<_>>(), variant_names);
    let per_persona = runs
        .personas
        .iter()
        .enumerate()
        .filter_map(|(i, (id, _))| {
            let group: Vec<&Outcome> = all.iter().filter(|o| o.persona == i).collect();
            breakdown::variants(id, &group, variant_names)
        })
        .collect();
    (overall, per_persona)
}

/// Shoppers a run must count before [`uncovered_runs`] reads its zero recoveries as orders
/// missing rather than chance (at a 1% recovery rate, 100 shoppers all miss with odds 0.37; at
/// 5%, 0.006: the warning says to check, not that the orders are wrong).
const UNCOVERED_MIN: usize = 100;

/// One warning per run of [`UNCOVERED_MIN`] counted shoppers or more none of whom has an order in
/// their window: most likely the orders given do not cover that run's window (e.g. only the newest
/// month's export, when reading out every run so far), which would count all its shoppers as
/// not recovered. The latest-order rule (`partial`) cannot see this: the newest run's orders are
/// late enough.
fn uncovered_runs(runs: &Runs, all: &[Outcome], again: &[Outcome], window: i64) -> Vec<String> {
    let mut n = vec![0usize; runs.runs.len()];
    let mut back = vec![0usize; runs.runs.len()];
    for o in all.iter().chain(again) {
        let r = runs.shoppers[o.listing].run;
        n[r] += 1;
        back[r] += usize::from(o.recovered);
    }
    let fmt = crate::util::timefmt::format_timestamp;
    (runs.runs.iter().enumerate())
        .filter(|(r, _)| n[*r] >= UNCOVERED_MIN && back[*r] == 0)
        .map(|(r, info)| {
            format!(
                "run {} (as of {}): none of its {} counted shoppers has an order in their window up to {}: do the orders given cover it? (give every month's orders export when reading out earlier runs)",
                info.dir,
                info.as_of,
                n[r],
                fmt(info.t + window)
            )
        })
        .collect()
}

/// `--incentive-cost` without a variant that carries an incentive counts nothing: said.
fn cost_warning(s: &ReadoutSettings, costly: &[bool]) -> Vec<String> {
    match s.incentive_cost > 0.0 && !costly.contains(&true) {
        true => vec![format!(
            "--incentive-cost {} is not counted: no run (or entry) splits its treatment arm into a variant other than reminder",
            s.incentive_cost
        )],
        false => Vec::new(),
    }
}

/// The per-shopper uplift and its test, or why it could not be learned.
fn per_shopper(
    runs: &Runs,
    scored: Result<uplift::Scored>,
    personas: &[PersonaReadout],
    s: &ReadoutSettings,
) -> (Option<targeting::Targeting>, Option<String>) {
    let wins: Vec<bool> = runs
        .personas
        .iter()
        .map(|(id, _)| {
            personas
                .iter()
                .any(|p| &p.persona_id == id && p.comparison.verdict == readout::Verdict::Win)
        })
        .collect();
    match scored {
        Ok(scored) => (
            Some(targeting::evaluate(scored, &wins, s.resamples, s.seed)),
            None,
        ),
        Err(e) => (None, Some(format!("{e:#}"))),
    }
}

/// One warning per persona whose arms differ by more than 0.1 standard deviations, and by more
/// than chance gives, in a covariate (outcomes::balance).
fn balance_warnings(personas: &[PersonaReadout]) -> Vec<String> {
    personas
        .iter()
        .filter_map(|p| {
            let b = p.balance.as_ref().filter(|b| !b.beyond_chance.is_empty())?;
            let shown: Vec<String> = b
                .smd
                .iter()
                .filter(|x| b.beyond_chance.contains(&x.covariate))
                .map(|x| format!("{} ({:+.2})", x.covariate, x.smd.unwrap_or(0.0)))
                .collect();
            Some(format!(
                "{} {}: the arms differ by more than 0.1 standard deviations, beyond chance (p < 0.001), in {}: was the persona fixed before treatment? (chance alone would put about {:.1} of {} covariates above 0.1 at these arm sizes)",
                p.persona_id,
                p.persona_name,
                shown.join(", "),
                b.flagged_by_chance,
                b.smd.iter().filter(|x| x.smd.is_some()).count()
            ))
        })
        .collect()
}

/// What is missing when the orders (or `--orders-until`) stop before the last window ends.
fn partial_text(inp: &ReadoutInputs<'_>, s: &ReadoutSettings) -> Option<String> {
    let fmt = crate::util::timefmt::format_timestamp;
    let reach = inp.latest_order.max(s.orders_until);
    readout::partial(inp.runs, reach, s.window).map(|(end, latest)| {
        let latest = latest.map_or("there are no orders".to_string(), |l| {
            match s.orders_until {
                Some(u) if u == l => format!("the orders reach {} (--orders-until)", fmt(l)),
                _ => format!("the latest order is at {}", fmt(l)),
            }
        });
        format!(
            "{latest}, before the end of the last window ({}: T {} + --window {})",
            fmt(end),
            fmt(end - s.window),
            readout::window_text(s.window)
        )
    })
}

/// Each persona's comparison (personas without counted shoppers left out), judged as one family.
fn persona_comparisons(
    runs: &Runs,
    all: &[Outcome],
    with_touches: bool,
    source: ArmSource,
    s: &ReadoutSettings,
) -> Vec<PersonaReadout> {
    use rayon::prelude::*;
    // Personas side by side on every thread (each a plain function of its group: the result
    // does not depend on the thread count).
    let mut personas: Vec<PersonaReadout> = runs
        .personas
        .par_iter()
        .enumerate()
        .map(|(i, (id, name))| {
            let group: Vec<&Outcome> = all.iter().filter(|o| o.persona == i).collect();
            PersonaReadout {
                persona_id: id.clone(),
                persona_name: name.clone(),
                comparison: readout::compare(&group, with_touches, s),
                balance: (source != ArmSource::None).then(|| {
                    balance::of(&group, &runs.covariates, |o| {
                        &runs.shoppers[o.listing].covariates
                    })
                }),
            }
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|p| p.comparison.treatment.n + p.comparison.holdout.n > 0)
        .collect();
    readout::judge(personas.iter_mut().map(|p| &mut p.comparison), "personas");
    personas
}

/// The comparisons the gates judge.
struct Judged<'a> {
    personas: &'a [PersonaReadout],
    overall: &'a Comparison,
    bands: Option<&'a bands::Bands>,
}

/// The gates.
fn gates(
    all: &[Outcome],
    judged: &Judged<'_>,
    source: ArmSource,
    with_touches: bool,
    s: &ReadoutSettings,
) -> Gates {
    let (personas, bands) = (judged.personas, judged.bands);
    let verdicts: Vec<(String, readout::Verdict)> = personas
        .iter()
        .map(|p| {
            (
                format!("{} {}", p.persona_id, p.persona_name),
                p.comparison.verdict,
            )
        })
        .collect();
    Gates {
        sample_ratio: if source == ArmSource::None {
            checks::Gate::no_holdout()
        } else {
            checks::sample_ratio(judged.overall)
        },
        contamination: checks::contamination(all, with_touches, s.max_contamination),
        messaged_before_run: checks::messaged_before_run(all, with_touches, s.max_pre_run),
        loss: checks::loss(&verdicts, judged.overall.verdict),
        first_exposure: checks::first_exposure(all, source),
        sample_ratio_personas: checks::sample_ratio_groups(
            personas
                .iter()
                .map(|p| (p.persona_id.as_str(), &p.comparison)),
            "personas",
            source,
        ),
        sample_ratio_bands: checks::sample_ratio_groups(
            bands
                .map_or(&[][..], |b| &b.quintiles[..])
                .iter()
                .map(|b| (b.name.as_str(), &b.comparison)),
            "propensity bands",
            source,
        ),
    }
}

fn population(
    inp: &ReadoutInputs<'_>,
    arms: &[readout::ArmOf],
    counted: &[Outcome],
    again: usize,
) -> Population {
    let runs = inp.runs;
    let e = inp.entries;
    Population {
        listings: runs.runs.iter().map(|r| r.listed).sum(),
        counted: counted.len(),
        repeat_listings: runs.repeats,
        listed_again: again,
        first_listing_unknown: counted
            .iter()
            .filter(|o| o.exposure == Exposure::Unknown)
            .count(),
        not_in_entries: e.map(|_| arms.iter().filter(|a| a.is_none()).count()),
        entries_not_listed: e.map(|e| e.unlisted),
        entries_repeated: e.map(|e| e.repeats),
        arm_differs_from_run: e.map(|e| {
            runs.shoppers
                .iter()
                .zip(&e.by_shopper)
                .filter(|(l, x)| matches!((l.arm, x), (Some(a), Some(x)) if a != x.arm))
                .count()
        }),
        touches: inp.touches.map(|t| t.rows),
        touches_not_listed: inp.touches.map(|t| t.unlisted),
    }
}
