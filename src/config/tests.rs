//! Every checked setting, given a bad value once by its flag and once by cartsona.toml: the
//! message names the flag, or the file's actual path with the `[section] key`, and says what to
//! give instead. And a good file value is taken, a flag over it wins.

use std::path::PathBuf;

use clap::Parser;

use super::file::{FileConfig, Loaded};
use crate::cli::{Cli, Command};

/// The configuration a test file gives, as if read from `conf/shop.toml`.
fn loaded(toml_text: &str) -> Loaded {
    let file: FileConfig = toml::from_str(toml_text).expect("the test's toml parses");
    Loaded {
        file,
        base: PathBuf::from("conf"),
        path: Some(PathBuf::from("conf/shop.toml")),
    }
}

/// Builds the settings of the command line `args` with `file`: the error's message, if any.
fn settle(args: &[&str], file: &str) -> Option<String> {
    let cli = Cli::try_parse_from(std::iter::once("cartsona").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let l = loaded(file);
    let result = match &cli.command {
        Command::Segment(a) => super::segment(a, &l)
            .and_then(|_| super::propensity(&a.propensity, &l))
            .and_then(|_| super::holdout(&a.holdout, &l))
            .and_then(|_| super::Inputs::from(&a.inputs.input, &l))
            .map(|_| ()),
        Command::Outcomes(a) => super::outcomes(a, &l).map(|_| ()),
        Command::Drift(a) => super::drift_thresholds(a, &l).map(|_| ()),
        _ => panic!("not a command these tests cover"),
    };
    result.err().map(|e| format!("{e:#}"))
}

/// One rule: the command, the flag, the file's section and key, a bad value (as a flag's text
/// and as TOML), what the message must say.
type SettingRule = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    (&'static str, &'static str),
    &'static str,
);

const RULES: &[SettingRule] = &[
    (
        "segment",
        "--k-min",
        "segment",
        "k_min",
        ("1", "1"),
        "at least 2 personas are needed",
    ),
    (
        "segment",
        "--k-max",
        "segment",
        "k_max",
        ("21", "21"),
        "at most 20 personas",
    ),
    (
        "segment",
        "--k-max",
        "segment",
        "k_max",
        ("2", "2"),
        "is below the default of --k-min 3",
    ),
    (
        "segment",
        "--k",
        "segment",
        "k",
        ("1", "1"),
        "choose between 2 and 20 personas",
    ),
    (
        "segment",
        "--min-persona-share",
        "segment",
        "min_persona_share",
        ("0.6", "0.6"),
        "give a share from 0 to 0.5",
    ),
    (
        "segment",
        "--min-persona-size",
        "segment",
        "min_persona_size",
        ("0", "0"),
        "give at least 1 shopper",
    ),
    (
        "segment",
        "--minibatch-above",
        "segment",
        "minibatch_above",
        ("100", "100"),
        "give at least 10000",
    ),
    (
        "segment",
        "--restarts",
        "segment",
        "restarts",
        ("0", "0"),
        "give 1 to 1000",
    ),
    (
        "segment",
        "--stability-resamples",
        "segment",
        "stability_resamples",
        ("1001", "1001"),
        "give 0 (off) to 1000",
    ),
    (
        "segment",
        "--max-match-distance",
        "segment",
        "max_match_distance",
        ("-1", "-1.0"),
        "give a distance >= 0",
    ),
    (
        "segment",
        "--cluster-features",
        "segment",
        "cluster_features",
        (" ", "[\" \"]"),
        "the list is empty",
    ),
    (
        "segment",
        "--abandon-after",
        "features",
        "abandon_after",
        ("24", "\"24\""),
        "has no unit",
    ),
    (
        "segment",
        "--lookback",
        "features",
        "lookback",
        ("0d", "\"0d\""),
        "must be longer than zero",
    ),
    (
        "segment",
        "--lookback",
        "features",
        "lookback",
        ("12h", "\"12h\""),
        "must be longer than the default of --abandon-after (1d)",
    ),
    (
        "segment",
        "--history",
        "features",
        "history",
        ("20d", "\"20d\""),
        "must be at least the default of --lookback (30d)",
    ),
    (
        "segment",
        "--as-of",
        "features",
        "as_of",
        ("someday", "\"someday\""),
        "not a timestamp",
    ),
    (
        "segment",
        "--info-pages",
        "features",
        "info_pages",
        ("(", "\"(\""),
        "not a valid regular expression",
    ),
    (
        "segment",
        "--propensity-window",
        "propensity",
        "window",
        ("0h", "\"0h\""),
        "must be longer than zero",
    ),
    (
        "segment",
        "--propensity-history",
        "propensity",
        "history",
        ("2w", "\"2w\""),
        "must be at least three propensity windows",
    ),
    (
        "segment",
        "--propensity-c",
        "propensity",
        "c",
        ("0", "0.0"),
        "give a positive number",
    ),
    (
        "segment",
        "--no-discount-above",
        "propensity",
        "no_discount_above",
        ("1.5", "1.5"),
        "give a probability from 0 to 1",
    ),
    (
        "segment",
        "--holdout",
        "holdout",
        "share",
        ("0.9", "0.9"),
        "give a share of abandoners from 0 to 0.5",
    ),
    (
        "segment",
        "--holdout-salt",
        "holdout",
        "salt",
        ("", "\"\""),
        "the salt is empty",
    ),
    (
        "segment",
        "--variants",
        "variants",
        "split",
        (
            "reminder=0.5,incentive=0.4",
            "\"reminder=0.5,incentive=0.4\"",
        ),
        "the variants' shares must sum to 1",
    ),
    (
        "segment",
        "--variant-salt",
        "variants",
        "salt",
        ("", "\"\""),
        "the salt is empty",
    ),
    (
        "segment",
        "--delimiter",
        "inputs",
        "delimiter",
        ("ab", "\"ab\""),
        "the delimiter must be one ASCII character",
    ),
    (
        "outcomes",
        "--window",
        "outcomes",
        "window",
        ("0d", "\"0d\""),
        "must be longer than zero",
    ),
    (
        "outcomes",
        "--attribution-window",
        "outcomes",
        "attribution_window",
        ("5", "\"5\""),
        "has no unit",
    ),
    (
        "outcomes",
        "--expected-holdout",
        "outcomes",
        "expected_holdout",
        ("0.7", "0.7"),
        "give a share from 0 to 0.5",
    ),
    (
        "outcomes",
        "--max-contamination",
        "outcomes",
        "max_contamination",
        ("2", "2.0"),
        "give a share from 0 to 1",
    ),
    (
        "outcomes",
        "--max-pre-run",
        "outcomes",
        "max_pre_run",
        ("-0.5", "-0.5"),
        "give a share from 0 to 1",
    ),
    (
        "outcomes",
        "--orders-until",
        "outcomes",
        "orders_until",
        ("soon", "\"soon\""),
        "not a time",
    ),
    (
        "drift",
        "--ks-warn",
        "drift",
        "ks_warn",
        ("-1", "-1.0"),
        "give a number >= 0",
    ),
    (
        "drift",
        "--stayed-fail",
        "drift",
        "stayed_fail",
        ("NaN", "nan"),
        "give a number >= 0",
    ),
];

/// The rest of a command line that passes every check but the one tested.
fn base(command: &str) -> Vec<&'static str> {
    match command {
        "segment" => vec!["segment", "--carts", "sample-data/carts.csv", "--out", "x"],
        "outcomes" => vec![
            "outcomes",
            "--run",
            "r",
            "--orders",
            "sample-data/next/orders.csv",
            "--out",
            "x",
        ],
        "drift" => vec!["drift", "--baseline", "a", "--current", "b", "--out", "x"],
        _ => unreachable!(),
    }
}

#[test]
fn each_bad_value_names_the_flag_it_came_from() {
    for &(command, flag, _, _, (bad, _), says) in RULES {
        let mut args = base(command);
        let with_eq = format!("{flag}={bad}");
        args.push(&with_eq);
        let msg = settle(&args, "").unwrap_or_else(|| panic!("{flag} {bad}: accepted"));
        assert!(
            msg.starts_with(&format!("{flag} ")) || msg.starts_with(&format!("{flag}:")),
            "{flag}: {msg}"
        );
        assert!(msg.contains(says), "{flag}: {msg}");
    }
}

#[test]
fn each_bad_value_from_the_file_names_the_file_and_key() {
    for &(command, flag, section, key, (_, bad), says) in RULES {
        let file = format!("[{section}]\n{key} = {bad}\n");
        let msg = settle(&base(command), &file).unwrap_or_else(|| panic!("{file}: accepted"));
        let origin = format!("conf/shop.toml: [{section}] {key}");
        assert!(msg.starts_with(&origin), "{file}: {msg}");
        assert!(msg.contains(says), "{file}: {msg}");
        assert!(!msg.contains(flag), "{file} names the flag: {msg}");
    }
}

#[test]
fn a_good_file_value_is_taken_and_a_flag_wins_over_it() {
    let l = loaded("[segment]\nk_min = 4\nk_max = 5\n[propensity]\nc = 0.25\n");
    let cli = Cli::try_parse_from([
        "cartsona", "segment", "--carts", "c", "--out", "x", "--k-max", "6",
    ])
    .unwrap();
    let Command::Segment(a) = &cli.command else {
        unreachable!()
    };
    let s = super::segment(a, &l).unwrap();
    assert_eq!(
        (s.clustering.select.k_min, s.clustering.select.k_max),
        (4, 6)
    );
    assert_eq!(
        super::propensity(&a.propensity, &l).unwrap().unwrap().c,
        0.25
    );
}

#[test]
fn an_unknown_drift_threshold_names_the_file() {
    let msg = settle(&base("drift"), "[drift]\nks_warm = 0.1\n").unwrap();
    assert!(
        msg.starts_with("conf/shop.toml: [drift] ks_warm: unknown threshold"),
        "{msg}"
    );
}
