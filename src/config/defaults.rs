//! The defaults as the user sees them, from the settings types' own `Default` (one place each):
//! [`shown`] lists every setting's flag, file key and default text; [`command`] is the command
//! line with each flag's help ending in `[default: X]` from that list, so `--help`, the man page
//! and the completions never restate a default by hand; `cartsona init` writes the same values.
//! The version it shows is build.rs's: the package version and the commit built from, when known.

use clap::CommandFactory;

use super::features::{ABANDON_AFTER, HISTORY, INFO_PAGES, LOOKBACK};
use super::inputs::{DELIMITER, ON_BAD_ROWS};
use super::outcomes::{
    ATTRIBUTION_WINDOW, MAX_CONTAMINATION, MAX_PRE_RUN, SEED as OUTCOMES_SEED, WINDOW,
};
use super::propensity::WINDOW as P_WINDOW;
use super::propensity::{PropensitySettings, C, HISTORY as P_HISTORY, NO_DISCOUNT_ABOVE};
use super::segment::{
    Segment, K_MAX, K_MIN, MAX_MATCH_DISTANCE, MINIBATCH_ABOVE, MIN_PERSONA_SHARE, RESTARTS, SEED,
    STABILITY_RESAMPLES,
};
use super::setting::{shown_duration, Key};
use crate::cli::Cli;
use crate::drift::compare::Thresholds;
use crate::features::compute::FeatureParams;
use crate::outcomes::readout::ReadoutSettings;

/// Every setting with a plain default: its key and the default as the user writes it.
pub fn shown() -> Vec<(Key, String)> {
    let features = FeatureParams::default();
    let segment = Segment::default();
    let select = &segment.clustering.select;
    let propensity = PropensitySettings::default();
    let outcomes = ReadoutSettings::default();
    let mut out = vec![
        (DELIMITER, ",".to_string()),
        (ON_BAD_ROWS, "fail".to_string()),
        (ABANDON_AFTER, shown_duration(features.abandon_after)),
        (LOOKBACK, shown_duration(features.lookback)),
        (HISTORY, shown_duration(features.history)),
        (INFO_PAGES, info_pages(&features)),
        (K_MIN, select.k_min.to_string()),
        (K_MAX, select.k_max.to_string()),
        (MIN_PERSONA_SHARE, select.min_share.to_string()),
        (STABILITY_RESAMPLES, segment.stability_resamples.to_string()),
        (SEED, select.seed.to_string()),
        (RESTARTS, select.restarts.to_string()),
        (MINIBATCH_ABOVE, select.minibatch_above.to_string()),
        (MAX_MATCH_DISTANCE, segment.max_match_distance.to_string()),
        (P_WINDOW, shown_duration(propensity.window)),
        (P_HISTORY, shown_duration(propensity.history)),
        (C, propensity.c.to_string()),
        (NO_DISCOUNT_ABOVE, propensity.no_discount_above.to_string()),
        (WINDOW, shown_duration(outcomes.window)),
        (
            ATTRIBUTION_WINDOW,
            shown_duration(outcomes.attribution_window),
        ),
        (OUTCOMES_SEED, outcomes.seed.to_string()),
        (MAX_CONTAMINATION, outcomes.max_contamination.to_string()),
        (MAX_PRE_RUN, outcomes.max_pre_run.to_string()),
    ];
    let drift = toml::Table::try_from(Thresholds::default()).expect("thresholds serialise");
    for (key, _) in super::keys::drift::ALL {
        let value = drift.get(key.key).expect("every drift key is a threshold");
        out.push((key, value.to_string()));
    }
    out
}

/// The information-page pattern as the user writes it (without the case-insensitive flag).
pub fn info_pages(features: &FeatureParams) -> String {
    let p = features.info_pages.as_str();
    p.strip_prefix("(?i)").unwrap_or(p).to_string()
}

/// The command line, each flag of [`shown`] with `[default: X]` at the end of its help, and the
/// drift thresholds' help from `config::keys::drift`.
pub fn command() -> clap::Command {
    let shown = shown();
    let drift_help = |arg: clap::Arg| {
        let long = arg.get_long().map(|l| format!("--{l}"));
        match super::keys::drift::ALL
            .iter()
            .find(|(k, _)| Some(k.flag) == long.as_deref())
        {
            Some((_, meaning)) => arg.help(capitalised(meaning)),
            None => arg,
        }
    };
    Cli::command()
        .version(env!("CARTSONA_VERSION"))
        .mut_subcommand("drift", |drift| drift.mut_args(drift_help))
        .mut_subcommands(|sub| {
            sub.mut_args(|arg| {
                let long = arg.get_long().map(|l| format!("--{l}"));
                let default = shown.iter().find(|(k, _)| Some(k.flag) == long.as_deref());
                match (default, arg.get_help().cloned()) {
                    (Some((_, value)), Some(help)) if arg.get_default_values().is_empty() => {
                        arg.help(format!("{help} [default: {value}]"))
                    }
                    _ => arg,
                }
            })
        })
}

/// `text` with its first letter a capital, as a flag's help starts.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The parsed command line (as `Cli::parse`, with the defaults shown in its help).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One default per flag: where a flag serves two commands (`--seed`), both show the same.
    #[test]
    fn each_flag_has_one_default() {
        let shown = shown();
        for (k, v) in &shown {
            for (k2, v2) in &shown {
                if k.flag == k2.flag {
                    assert_eq!(v, v2, "{} has two defaults", k.flag);
                }
            }
        }
    }

    /// Every flag of the list is a flag of some command, and its help shows the default.
    #[test]
    fn every_shown_default_reaches_a_flag_help() {
        let cmd = command();
        for (key, value) in shown() {
            let helps: Vec<String> = cmd
                .get_subcommands()
                .flat_map(|s| s.get_arguments())
                .filter(|a| a.get_long().map(|l| format!("--{l}")).as_deref() == Some(key.flag))
                .filter(|a| a.get_default_values().is_empty())
                .filter_map(|a| a.get_help().map(|h| h.to_string()))
                .collect();
            assert!(!helps.is_empty(), "{} is no flag", key.flag);
            for h in helps {
                assert!(
                    h.ends_with(&format!("[default: {value}]")),
                    "{}: {h}",
                    key.flag
                );
                assert_eq!(h.matches("[default:").count(), 1, "{}: {h}", key.flag);
            }
        }
    }
}
