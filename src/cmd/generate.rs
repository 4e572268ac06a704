//! `cartsona generate`: seeded carts, orders and engagement with planted archetypes.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::cli::{GenerateArgs, OutFormat};
use crate::io::write::StagedDir;
use crate::synth::experiment::Experiment;
use crate::synth::{output, Mix, SynthParams};
use crate::util::progress::Progress;
use crate::util::timefmt;

fn params(args: &GenerateArgs) -> Result<SynthParams> {
    if args.shoppers == 0 {
        bail!("--shoppers must be at least 1");
    }
    if args.months == 0 || args.months > 120 {
        bail!("--months must be between 1 and 120");
    }
    if args.carryover && !(2..=24).contains(&args.months) {
        // Each month's folder replays every month before it: the work grows with the square.
        bail!("--carryover needs --months between 2 and 24");
    }
    let start = timefmt::parse_timestamp(&args.start)
        .filter(|t| t % timefmt::DAY == 0)
        .ok_or_else(|| anyhow::anyhow!("--start '{}': write a date like 2025-01-01", args.start))?;
    let mix = match &args.mix {
        Some(spec) => Mix::default().with(spec, "--mix")?,
        None => Mix::default(),
    };
    let mut mix_month = BTreeMap::new();
    let mut current = mix.clone();
    let mut specs: Vec<(usize, &str)> = Vec::new();
    for spec in &args.mix_month {
        let Some((m, shares)) = spec.split_once(':') else {
            bail!("--mix-month '{spec}': write it like 3:deal-seeker=0.35");
        };
        let m: usize = m
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("--mix-month '{spec}': '{m}' is not a month number"))?;
        if m < 2 || m > args.months {
            bail!(
                "--mix-month '{spec}': the month must be between 2 and --months ({})",
                args.months
            );
        }
        specs.push((m, shares));
    }
    specs.sort_by_key(|s| s.0);
    for (m, shares) in specs {
        current = current.with(shares, "--mix-month")?;
        mix_month.insert(m, current.clone());
    }
    Ok(SynthParams {
        shoppers: args.shoppers,
        seed: args.seed,
        start,
        months: args.months,
        mix,
        mix_month,
        steady: args.returns,
        carryover: args.carryover,
    })
}

pub fn run(args: &GenerateArgs, quiet: bool) -> Result<u8> {
    let synth_params = params(args)?;
    let staged = StagedDir::new(&args.out, args.force, "--out")?;
    let progress = Progress::new(quiet);
    let format = match args.format {
        OutFormat::Csv => "csv",
        OutFormat::Parquet => "parquet",
    };
    let experiment = match args.holdout {
        None => None,
        Some(share) => {
            let salt = args
                .holdout_salt
                .as_deref()
                .unwrap_or(crate::model::holdout::DEFAULT_SALT);
            // The split begins at the first T the experiment follows.
            let first = if args.carryover {
                0
            } else {
                synth_params.months - 1
            };
            let as_of = timefmt::format_timestamp(
                crate::synth::month_bounds(synth_params.start, synth_params.months)?[first].1,
            );
            let holdout = crate::model::holdout::Holdout::new(share, salt, &as_of)
                .map_err(|e| anyhow::anyhow!("--holdout: {e}"))?;
            let (spec, vsalt) = (args.variants.as_deref(), args.variant_salt.as_deref());
            let variants = crate::synth::experiment::variants(spec, vsalt, salt, &as_of)?;
            let mut e = Experiment::new(holdout, args.uplift.as_deref())?;
            e.with_variants(variants, args.reminder_uplift.as_deref())?;
            e.with_varies(args.uplift_varies)?;
            Some(e)
        }
    };
    let play_since =
        match &args.play_since {
            None => None,
            Some(d) => Some(timefmt::parse_timestamp(d).ok_or_else(|| {
                anyhow::anyhow!("--play-since '{d}': write a date like 2025-04-01")
            })?),
        };
    let plants = output::Plants {
        returns: args.returns,
        play_since,
        experiment: experiment.as_ref(),
        carryover: args.carryover,
    };
    let manifest = output::write_shop(
        &synth_params,
        &staged,
        args.format == OutFormat::Parquet,
        format,
        plants,
        |m| progress.stage(&format!("generating month {m} of {}", synth_params.months)),
    )?;
    let mut bytes = serde_json::to_vec_pretty(&manifest)?;
    bytes.push(b'\n');
    staged.write("generate.json", &bytes)?;
    progress.stage("moving the files into place");
    staged.commit()?;
    progress.finish();
    if !quiet {
        println!(
            "wrote {} shoppers over {} month(s) to {}",
            synth_params.shoppers,
            synth_params.months,
            args.out.display()
        );
    }
    Ok(0)
}
