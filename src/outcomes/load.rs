//! The readout's inputs, read back through `io::read::scan`: the runs that listed the abandoners
//! (model.json for T, the holdout and the persona names; assignments for each shopper's persona,
//! arm and latest abandoned cart), the touches a messaging platform sent and the flow's entries.
//!
//! A bad row in the touches or the entries stops the readout (exit 2) naming the file, line and
//! column: a readout that silently dropped messages would under-count contamination.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use crate::io::read::{self, CsvOptions, Row, Source};
use crate::model::format::id_number;
use crate::model::holdout::{Arm, Holdout};
use crate::model::run_dir;
use crate::util::timefmt;

/// One run directory as the readout sees it.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub dir: String,
    pub as_of: String,
    #[serde(skip)]
    pub t: i64,
    pub holdout: Option<Holdout>,
    /// The no-discount threshold of the run's propensity, when the run applied the rule.
    pub no_discount_above: Option<f64>,
    /// Shoppers the run lists.
    pub listed: usize,
    /// Of them, counted from this run (not listed by an earlier run given).
    pub counted: usize,
    /// Whether the run carries each shopper's first listing since the split began (runs written
    /// before cartsona kept them do not; docs/outcomes.md "First exposure").
    pub first_listing: FirstListingKnown,
    /// The variants the run split its treatment arm into, if any (`model::variants`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<crate::model::variants::Variants>,
}

/// What a run knows of its shoppers' first listings since the holdout split began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstListingKnown {
    /// The run has no holdout: there is no split to have been exposed to.
    NoSplit,
    /// The run began the split: every shopper it lists is listed for the first time.
    BeganTheSplit,
    /// The run carries `first_listed` through an unbroken chain of runs since the split began.
    Carried,
    /// The chain of runs is broken, or the run was written before cartsona kept first listings.
    NotKnown,
    /// Not carried, but `--every-run` says every run since the split began was given.
    EveryRunGiven,
}

impl FirstListingKnown {
    pub fn describe(self) -> &'static str {
        match self {
            FirstListingKnown::NoSplit => "no holdout",
            FirstListingKnown::BeganTheSplit => "began the split",
            FirstListingKnown::Carried => "carried from the runs before",
            FirstListingKnown::NotKnown => "not known",
            FirstListingKnown::EveryRunGiven => "every run given (--every-run)",
        }
    }
}

/// Whether a counted shopper's listing is their first since the holdout split began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Their first listing since the split began: their persona, features and propensity were
    /// fixed before either arm could touch them, so the arms are randomized within persona.
    First,
    /// Listed before by a run of the split that was not given: already messaged or held out, so
    /// whether and how they are listed now is a consequence of their arm. Not randomized within
    /// persona; reported apart as "listed again".
    Again,
    /// Not known (see [`FirstListingKnown::NotKnown`]); counted as first listings, and the
    /// readout's first_exposure gate fails.
    Unknown,
}

/// A listed shopper, counted once: from the earliest run that lists them.
#[derive(Debug, Clone)]
pub struct Listed {
    pub customer_id: String,
    pub run: usize,
    /// T of that run.
    pub t: i64,
    /// Index into [`Runs::personas`].
    pub persona: usize,
    /// The arm the run wrote (None when the run has no holdout).
    pub arm: Option<Arm>,
    /// The latest abandoned cart's `updated_at` (None for runs written before it existed).
    pub abandoned_at: Option<i64>,
    /// The run's return propensity for the shopper (None: the run has none).
    pub propensity: Option<f64>,
    /// Whether this listing is their first since the holdout split began.
    pub exposure: Exposure,
    /// Their values of [`Runs::covariates`] at this listing (NaN: unknown).
    pub covariates: Box<[f32]>,
}

/// Every run's shoppers, each counted once.
#[derive(Debug, Default)]
pub struct Runs {
    pub runs: Vec<RunInfo>,
    pub shoppers: Vec<Listed>,
    /// customer id -> index in `shoppers` (foldhash: SipHash was 3% of a 1M-shopper readout).
    pub index: HashMap<String, usize, foldhash::fast::FixedState>,
    /// (persona id, name), in id order (the name from the latest run that has the persona).
    pub personas: Vec<(String, String)>,
    /// Listings of a shopper already counted from an earlier run.
    pub repeats: usize,
    /// The columns whose balance between the arms is checked: every run's clustering features
    /// (in the order first met) and `return_propensity` when a run has one.
    pub covariates: Vec<String>,
}

/// The covariates of the runs' models: their clustering features, then the propensity.
fn covariates<'a>(models: impl Iterator<Item = &'a crate::model::Model>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut propensity = false;
    for m in models {
        for f in m.feature_names() {
            if !names.contains(&f) {
                names.push(f);
            }
        }
        propensity |= m.propensity.is_some();
    }
    if propensity {
        names.push("return_propensity".to_string());
    }
    names
}

/// Reads the runs, earliest as-of first (ties in the order given). `every_run`: the user says the
/// runs are every run since their split began (`--every-run`), so a shopper first seen by one of
/// them is first listed there; refused when the earliest run of a split did not begin it.
pub fn runs(dirs: &[PathBuf], every_run: bool) -> Result<Runs> {
    let mut data = Vec::new();
    for dir in dirs {
        let model = run_dir::model(&run_dir::model_path(dir))
            .map_err(|e| anyhow!("--run {}: {e:#}", dir.display()))?;
        let as_of = run_as_of(dir, &model)?;
        let t = timefmt::parse_timestamp(&as_of).ok_or_else(|| {
            anyhow!(
                "--run {}: the run's as_of '{as_of}' is not a time",
                dir.display()
            )
        })?;
        data.push((dir, model, t, as_of));
    }
    data.sort_by_key(|(_, _, t, _)| *t);
    let mut out = Runs {
        covariates: covariates(data.iter().map(|d| &d.1)),
        ..Runs::default()
    };
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut persona_ids: Vec<String> = Vec::new();
    for (run, (dir, model, t, as_of)) in data.iter().enumerate() {
        for p in &model.personas {
            names.insert(p.id.clone(), p.name.clone());
        }
        let rows = assignments(dir, &out.covariates)?;
        if model.holdout.is_some() && rows.iter().any(|r| r.arm.is_none()) {
            bail!(
                "--run {}: the model has a holdout but the assignments have no arm column",
                dir.display()
            );
        }
        let earlier: Vec<(&crate::model::Model, i64)> =
            data[..run].iter().map(|(_, m, bt, _)| (m, *bt)).collect();
        let known = match first_listing_known(model, *t) {
            FirstListingKnown::NotKnown if every_run => every_run_given(model, &earlier)
                .map_err(|since| anyhow!("--every-run: the run of {as_of} ({}) belongs to the holdout split begun at {since}, but no run given began it: give every run since then", dir.display()))?,
            known => known,
        };
        out.runs.push(RunInfo {
            dir: dir.display().to_string(),
            as_of: as_of.clone(),
            t: *t,
            holdout: model.holdout.clone(),
            // Only where the run applied the rule: an as-usual run gave everyone their offer.
            no_discount_above: model
                .propensity
                .as_ref()
                .filter(|p| p.rule_applied())
                .map(|p| p.no_discount_above),
            listed: rows.len(),
            counted: 0,
            first_listing: known,
            variants: model.variants.clone(),
        });
        for r in rows {
            if out.index.contains_key(&r.customer_id) {
                out.repeats += 1;
                continue;
            }
            let exposure = exposure(known, r.first_listed, *t);
            out.runs[run].counted += 1;
            names
                .entry(r.persona_id.clone())
                .or_insert_with(|| r.persona_id.clone());
            out.index.insert(r.customer_id.clone(), out.shoppers.len());
            persona_ids.push(r.persona_id);
            out.shoppers.push(Listed {
                customer_id: r.customer_id,
                run,
                t: *t,
                persona: 0,
                arm: r.arm,
                abandoned_at: r.abandoned_at,
                propensity: r.propensity,
                exposure,
                covariates: r.covariates,
            });
        }
    }
    out.personas = names.into_iter().collect();
    out.personas
        .sort_by(|a, b| (id_number(&a.0), &a.0).cmp(&(id_number(&b.0), &b.0)));
    let order: HashMap<&str, usize> = out
        .personas
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    for (s, id) in out.shoppers.iter_mut().zip(&persona_ids) {
        s.persona = order[id.as_str()];
    }
    Ok(out)
}

/// With `--every-run`, a run that does not carry first listings knows them when an earlier run
/// given began its split; else the split's start, for the message.
fn every_run_given(
    model: &crate::model::Model,
    earlier: &[(&crate::model::Model, i64)],
) -> std::result::Result<FirstListingKnown, String> {
    let since = model.holdout.as_ref().map_or("", |h| h.since.as_str());
    let began = earlier.iter().any(|(m, t)| {
        m.holdout.as_ref().map(|h| h.since.as_str()) == Some(since)
            && timefmt::parse_timestamp(since) == Some(*t)
    });
    if began {
        Ok(FirstListingKnown::EveryRunGiven)
    } else {
        Err(since.to_string())
    }
}

/// The run's own as-of (summary.json's `as_of`): an `assign` run keeps its model's as-of in
/// model.json, so a daily run read from there would start its windows at the model's T (issue 31
/// found it). model.json's as-of for a run without summary.json.
fn run_as_of(dir: &std::path::Path, model: &crate::model::Model) -> Result<String> {
    let path = dir.join("summary.json");
    let Some(text) = read::text_if_file(&path)
        .map_err(|e| anyhow!("--run {}: cannot read summary.json: {e}", dir.display()))?
    else {
        return Ok(model.as_of.clone());
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "--run {}: summary.json is not valid JSON: {e}",
            dir.display()
        )
    })?;
    Ok(v["as_of"]
        .as_str()
        .map_or_else(|| model.as_of.clone(), str::to_string))
}

/// What a run knows of first listings: its as-of `t` began the split, or its record is complete.
fn first_listing_known(model: &crate::model::Model, t: i64) -> FirstListingKnown {
    let Some(h) = &model.holdout else {
        return FirstListingKnown::NoSplit;
    };
    if timefmt::parse_timestamp(&h.since) == Some(t) {
        return FirstListingKnown::BeganTheSplit;
    }
    match &model.first_listing {
        Some(f) if f.complete && f.since == h.since => FirstListingKnown::Carried,
        _ => FirstListingKnown::NotKnown,
    }
}

/// A shopper's exposure at their earliest listing among the runs given (run as-of `t`): an
/// earlier first listing is known whatever the chain (the run saw it), a first listing at `t`
/// only when the run knows every listing since the split began.
fn exposure(known: FirstListingKnown, first_listed: Option<i64>, t: i64) -> Exposure {
    match (known, first_listed) {
        (_, Some(f)) if f < t => Exposure::Again,
        (
            FirstListingKnown::NoSplit
            | FirstListingKnown::BeganTheSplit
            | FirstListingKnown::EveryRunGiven,
            _,
        ) => Exposure::First,
        (FirstListingKnown::Carried, Some(_)) => Exposure::First,
        _ => Exposure::Unknown,
    }
}

struct AssignedRow {
    customer_id: String,
    persona_id: String,
    arm: Option<Arm>,
    abandoned_at: Option<i64>,
    propensity: Option<f64>,
    first_listed: Option<i64>,
    covariates: Box<[f32]>,
}

/// A run's assignments: customer, persona, arm and latest abandoned cart.
/// `covariates`: the columns to keep for the balance of the arms (absent ones read as NaN).
fn assignments(dir: &std::path::Path, covariates: &[String]) -> Result<Vec<AssignedRow>> {
    let (_, src) = run_dir::assignments(dir, "--run")?;
    let file = src.display();
    let mut rows = Vec::new();
    read::scan(
        &src,
        CsvOptions { delimiter: b',' },
        |header| {
            let pos = |w: &str| header.iter().position(|h| h == w);
            for w in ["customer_id", "persona_id"] {
                if pos(w).is_none() {
                    bail!("{file}: column {w} is missing; is this a cartsona run?");
                }
            }
            let mut wanted = vec![
                pos("customer_id"),
                pos("persona_id"),
                pos("arm"),
                pos("abandoned_at"),
                pos("return_propensity"),
                pos("first_listed"),
            ];
            wanted.extend(covariates.iter().map(|c| pos(c)));
            Ok(wanted)
        },
        |row| {
            let text = |i: usize| row.cells[i].text().unwrap_or_default();
            let arm = match row.cells[2].text() {
                None => None,
                Some("holdout") => Some(Arm::Holdout),
                Some("treatment") => Some(Arm::Treatment),
                Some(other) => bail!(
                    "{file}: line {}, column arm: '{other}' is neither holdout nor treatment",
                    row.line
                ),
            };
            let abandoned_at = match row.cells[3].text() {
                None => None,
                Some(s) => Some(time(s, &file, row.line, "abandoned_at")?),
            };
            let propensity = match row.cells[4].text() {
                None => None,
                Some(s) => Some(s.parse::<f64>().ok().filter(|p| (0.0..=1.0).contains(p)).ok_or_else(|| {
                    anyhow!("{file}: line {}, column return_propensity: '{s}' is not a probability", row.line)
                })?),
            };
            let first_listed = match row.cells[5].text() {
                None => None,
                Some(s) => Some(time(s, &file, row.line, "first_listed")?),
            };
            let mut values = Vec::with_capacity(covariates.len());
            for (name, cell) in covariates.iter().zip(&row.cells[6..]) {
                values.push(match cell.text() {
                    None => f32::NAN,
                    Some(s) => s.parse::<f32>().map_err(|_| {
                        anyhow!(
                            "{file}: line {}, column {name}: '{s}' is not a number",
                            row.line
                        )
                    })?,
                });
            }
            rows.push(AssignedRow {
                customer_id: text(0).to_string(),
                persona_id: text(1).to_string(),
                arm,
                abandoned_at,
                propensity,
                first_listed,
                covariates: values.into_boxed_slice(),
            });
            Ok(())
        },
    )?;
    Ok(rows)
}

/// A time in one of the accepted text forms, or (as Braze's tables hold it) Unix seconds, or
/// Unix milliseconds (13 digits).
fn time(s: &str, file: &str, line: u64, column: &str) -> Result<i64> {
    let unix = || -> Option<i64> {
        if !(s.len() >= 9 && s.len() <= 13 && s.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let n: i64 = s.parse().ok()?;
        let micros = if s.len() >= 12 {
            n * 1_000
        } else {
            n * 1_000_000
        };
        timefmt::plausible(micros).then_some(micros)
    };
    timefmt::parse_timestamp(s)
        .filter(|t| timefmt::plausible(*t))
        .or_else(unix)
        .ok_or_else(|| anyhow!("{file}: line {line}, column {column}: '{s}' is not a time (write it like 2025-02-01T09:30:00Z, or Unix seconds)"))
}

/// A messaging channel of a touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Email,
    Sms,
    Push,
    Ads,
    OnSite,
    Other,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::Ads,
        Channel::OnSite,
        Channel::Other,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Ads => "ads",
            Channel::OnSite => "on-site",
            Channel::Other => "other",
        }
    }
    /// A channel by name, case-insensitive; also as platforms name it in their exports
    /// (Klaviyo's event types `Received Email`, `Received SMS`; `E-mail`, `in-app`, `WhatsApp`):
    /// the value is matched by the word it contains (docs/outcomes.md lists them).
    pub fn parse(s: &str) -> Option<Channel> {
        let s = s.trim().to_ascii_lowercase();
        if let Some(c) = Channel::ALL.into_iter().find(|c| c.name() == s) {
            return Some(c);
        }
        let words: Vec<&str> = s
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .filter(|w| !w.is_empty())
            .collect();
        let has = |options: &[&str]| words.iter().any(|w| options.contains(w));
        [
            (Channel::Email, &["email", "e-mail", "mail"][..]),
            (Channel::Sms, &["sms", "mms", "text"][..]),
            (Channel::Push, &["push", "pushnotification"][..]),
            (Channel::Ads, &["ads", "ad", "paid"][..]),
            (
                Channel::OnSite,
                &["on-site", "onsite", "in-app", "inapp", "web", "webpush"][..],
            ),
            (
                Channel::Other,
                &[
                    "other",
                    "whatsapp",
                    "viber",
                    "rcs",
                    "messenger",
                    "telegram",
                    "line",
                    "voice",
                    "mail-piece",
                ][..],
            ),
        ]
        .into_iter()
        .find(|(_, options)| has(options))
        .map(|(c, _)| c)
    }
}

/// One message sent to a listed shopper.
#[derive(Debug, Clone)]
pub struct Touch {
    pub sent_at: i64,
    pub channel: Channel,
}

/// The touches of listed shoppers, by shopper (sorted by time), and what was not theirs.
#[derive(Debug, Default)]
pub struct Touches {
    pub by_shopper: Vec<Vec<Touch>>,
    pub rows: u64,
    /// Touches of shoppers no run lists.
    pub unlisted: u64,
}

/// The canonical touches columns: (name, required).
pub const TOUCH_COLUMNS: &[(&str, bool)] = &[
    ("customer_id", true),
    ("sent_at", true),
    ("channel", true),
    ("flow", false),
    ("step", false),
    ("variant", false),
    ("opened_at", false),
    ("clicked_at", false),
    ("discount_code", false),
    ("cost", false),
];

/// The canonical entries columns: (name, required).
pub const ENTRY_COLUMNS: &[(&str, bool)] = &[
    ("customer_id", true),
    ("arm", true),
    ("variant", false),
    ("entered_at", false),
];

/// Finds the wanted columns in a header, through the mapping (canonical -> the file's name).
fn select(
    header: &[String],
    wanted: &[&str],
    spec: &[(&str, bool)],
    mapping: &BTreeMap<String, String>,
    file: &str,
) -> Result<Vec<Option<usize>>> {
    wanted
        .iter()
        .map(|w| {
            let name = mapping.get(*w).map_or(*w, String::as_str);
            let pos = header.iter().position(|h| h.trim() == name);
            let required = spec.iter().any(|(c, r)| c == w && *r);
            if pos.is_none() && required {
                let mapped = if name != *w {
                    format!(" (mapped from {w})")
                } else {
                    String::new()
                };
                bail!(
                    "{file}: the required column {name}{mapped} is missing; the header is: {}",
                    header.join(", ")
                );
            }
            Ok(pos)
        })
        .collect()
}

/// Reads the touches files, keeping those of listed shoppers.
pub fn touches(
    sources: &[Source],
    csv: CsvOptions,
    mapping: &BTreeMap<String, String>,
    runs: &Runs,
) -> Result<Touches> {
    let mut out = Touches {
        by_shopper: vec![Vec::new(); runs.shoppers.len()],
        ..Touches::default()
    };
    let wanted = ["customer_id", "sent_at", "channel"];
    for src in sources {
        let file = src.display();
        read::scan(
            src,
            csv,
            |h| select(h, &wanted, TOUCH_COLUMNS, mapping, &file),
            |row| {
                out.rows += 1;
                let (id, sent, channel) = (cell(&row, 0), cell(&row, 1), cell(&row, 2));
                let col = |c: &str| mapping.get(c).map_or(c.to_string(), String::clone);
                if id.is_empty() {
                    bail!(
                        "{file}: line {}, column {}: the customer id is empty",
                        row.line,
                        col("customer_id")
                    );
                }
                let sent_at = time(sent, &file, row.line, &col("sent_at"))?;
                let channel = Channel::parse(channel).ok_or_else(|| {
                    anyhow!("{file}: line {}, column {}: '{channel}' is not a channel (email, sms, push, ads, on-site or other)", row.line, col("channel"))
                })?;
                match runs.index.get(id) {
                    Some(&i) => out.by_shopper[i].push(Touch { sent_at, channel }),
                    None => out.unlisted += 1,
                }
                Ok(())
            },
        )?;
    }
    for t in &mut out.by_shopper {
        t.sort_by_key(|t| (t.sent_at, t.channel));
    }
    Ok(out)
}

fn cell<'a>(row: &Row<'a>, i: usize) -> &'a str {
    row.cells[i].text().unwrap_or_default().trim()
}

/// One shopper's entry into the flow, as the messaging platform records it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub arm: Arm,
    pub variant: Option<String>,
}

/// The flow's entries of listed shoppers, and what did not match.
#[derive(Debug, Default)]
pub struct Entries {
    pub by_shopper: Vec<Option<Entry>>,
    pub rows: u64,
    /// Entries of shoppers no run lists.
    pub unlisted: u64,
    /// Repeated entries of one shopper (the first counts).
    pub repeats: u64,
    /// Whether any entry carries a variant.
    pub has_variants: bool,
}

/// `treatment`, or `holdout` (also `control`, `control_group`, and Braze's `in_control_group`
/// true/false).
fn parse_arm(s: &str, braze: bool) -> Option<Arm> {
    let s = s.trim().to_ascii_lowercase();
    if braze {
        return match s.as_str() {
            "true" | "1" | "yes" => Some(Arm::Holdout),
            "false" | "0" | "no" => Some(Arm::Treatment),
            _ => None,
        };
    }
    match s.as_str() {
        "treatment" => Some(Arm::Treatment),
        "holdout" | "control" | "control_group" => Some(Arm::Holdout),
        _ => None,
    }
}

/// Reads the entries files. The arm column may be named `in_control_group` (Braze: true means
/// holdout) when no mapping names it.
pub fn entries(
    sources: &[Source],
    csv: CsvOptions,
    mapping: &BTreeMap<String, String>,
    runs: &Runs,
) -> Result<Entries> {
    let mut out = Entries {
        by_shopper: vec![None; runs.shoppers.len()],
        ..Entries::default()
    };
    for src in sources {
        let file = src.display();
        let braze = std::cell::Cell::new(false);
        let arm_col = std::cell::RefCell::new(String::from("arm"));
        read::scan(
            src,
            csv,
            |h| {
                let mut map = mapping.clone();
                if !map.contains_key("arm")
                    && !h.iter().any(|c| c.trim() == "arm")
                    && h.iter().any(|c| c.trim() == "in_control_group")
                {
                    map.insert("arm".into(), "in_control_group".into());
                }
                let col = map.get("arm").cloned().unwrap_or_else(|| "arm".into());
                // Braze's column holds true (held out) or false, whether found or mapped.
                braze.set(col.eq_ignore_ascii_case("in_control_group"));
                *arm_col.borrow_mut() = col;
                select(
                    h,
                    &["customer_id", "arm", "variant"],
                    ENTRY_COLUMNS,
                    &map,
                    &file,
                )
            },
            |row| {
                out.rows += 1;
                let (id, arm) = (cell(&row, 0), cell(&row, 1));
                let arm = parse_arm(arm, braze.get()).ok_or_else(|| {
                    let allowed = if braze.get() {
                        "true or false"
                    } else {
                        "treatment, holdout, control or control_group"
                    };
                    anyhow!(
                        "{file}: line {}, column {}: '{arm}' is not an arm ({allowed})",
                        row.line,
                        arm_col.borrow()
                    )
                })?;
                let variant = row.cells[2].text().map(str::trim).filter(|v| !v.is_empty());
                match runs.index.get(id) {
                    Some(&i) if out.by_shopper[i].is_some() => out.repeats += 1,
                    Some(&i) => {
                        out.has_variants |= variant.is_some();
                        out.by_shopper[i] = Some(Entry {
                            arm,
                            variant: variant.map(str::to_string),
                        })
                    }
                    None => out.unlisted += 1,
                }
                Ok(())
            },
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_as_platforms_name_them() {
        for (raw, c) in [
            ("EMAIL", Channel::Email),
            ("Received Email", Channel::Email),
            ("Received SMS", Channel::Sms),
            ("Received Push", Channel::Push),
            ("on-site", Channel::OnSite),
            ("In-App", Channel::OnSite),
            ("WhatsApp", Channel::Other),
            ("ads", Channel::Ads),
        ] {
            assert_eq!(Channel::parse(raw), Some(c), "{raw}");
        }
        assert_eq!(Channel::parse("pigeon"), None);
        assert_eq!(Channel::parse("Received Pigeon"), None);
    }

    #[test]
    fn times_as_text_or_unix_seconds_or_milliseconds() {
        let t = 1_738_368_000_000_000; // 2025-02-01T00:00:00Z
        assert_eq!(time("2025-02-01T00:00:00Z", "f", 2, "sent_at").unwrap(), t);
        assert_eq!(time("1738368000", "f", 2, "time").unwrap(), t);
        assert_eq!(time("1738368000000", "f", 2, "time").unwrap(), t);
        let e = time("12", "f.csv", 7, "time").unwrap_err().to_string();
        assert!(e.contains("f.csv: line 7, column time: '12'"), "{e}");
        assert!(time("9999999999999", "f", 2, "time").is_err());
    }
}
