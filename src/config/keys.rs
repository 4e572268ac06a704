//! Every setting's key in one table: the flag that sets it and where cartsona.toml gives it
//! (`[section] key`), grouped by what the setting configures. Each group is re-exported by its
//! settings module (`config::segment::K_MIN` is `keys::segment::K_MIN`); messages word a
//! setting's origin from its key (`config::setting`).

/// Where each input setting is given.
pub mod inputs {
    use crate::config::setting::Key;

    pub const CARTS: Key = Key::new("--carts", "inputs", "carts");
    pub const ORDERS: Key = Key::new("--orders", "inputs", "orders");
    pub const ENGAGEMENT: Key = Key::new("--engagement", "inputs", "engagement");
    pub const EVENTS: Key = Key::new("--events", "inputs", "events");
    pub const PRESET: Key = Key::new("--preset", "inputs", "preset");
    pub const DELIMITER: Key = Key::new("--delimiter", "inputs", "delimiter");
    pub const ON_BAD_ROWS: Key = Key::new("--on-bad-rows", "inputs", "on_bad_rows");
}

/// Where each feature setting is given.
pub mod features {
    use crate::config::setting::Key;

    pub const AS_OF: Key = Key::new("--as-of", "features", "as_of");
    pub const ABANDON_AFTER: Key = Key::new("--abandon-after", "features", "abandon_after");
    pub const LOOKBACK: Key = Key::new("--lookback", "features", "lookback");
    pub const HISTORY: Key = Key::new("--history", "features", "history");
    pub const INFO_PAGES: Key = Key::new("--info-pages", "features", "info_pages");
}

/// Where each clustering setting is given.
pub mod segment {
    use crate::config::setting::Key;

    pub const K_MIN: Key = Key::new("--k-min", "segment", "k_min");
    pub const K_MAX: Key = Key::new("--k-max", "segment", "k_max");
    pub const K: Key = Key::new("--k", "segment", "k");
    pub const MIN_PERSONA_SHARE: Key =
        Key::new("--min-persona-share", "segment", "min_persona_share");
    pub const MIN_PERSONA_SIZE: Key = Key::new("--min-persona-size", "segment", "min_persona_size");
    pub const SEED: Key = Key::new("--seed", "segment", "seed");
    pub const RESTARTS: Key = Key::new("--restarts", "segment", "restarts");
    pub const MINIBATCH_ABOVE: Key = Key::new("--minibatch-above", "segment", "minibatch_above");
    pub const CLUSTER_FEATURES: Key = Key::new("--cluster-features", "segment", "cluster_features");
    pub const MAX_MATCH_DISTANCE: Key =
        Key::new("--max-match-distance", "segment", "max_match_distance");
    pub const STABILITY_RESAMPLES: Key =
        Key::new("--stability-resamples", "segment", "stability_resamples");
}

/// Where each propensity and holdout setting is given.
pub mod propensity {
    use crate::config::setting::Key;

    pub const WINDOW: Key = Key::new("--propensity-window", "propensity", "window");
    pub const HISTORY: Key = Key::new("--propensity-history", "propensity", "history");
    pub const C: Key = Key::new("--propensity-c", "propensity", "c");
    pub const NO_DISCOUNT_ABOVE: Key =
        Key::new("--no-discount-above", "propensity", "no_discount_above");
    pub const SHARE: Key = Key::new("--holdout", "holdout", "share");
    pub const SALT: Key = Key::new("--holdout-salt", "holdout", "salt");
    pub const VARIANTS: Key = Key::new("--variants", "variants", "split");
    pub const VARIANT_SALT: Key = Key::new("--variant-salt", "variants", "salt");
}

/// Where each readout setting is given.
pub mod outcomes {
    use crate::config::setting::Key;

    pub const WINDOW: Key = Key::new("--window", "outcomes", "window");
    pub const ATTRIBUTION_WINDOW: Key =
        Key::new("--attribution-window", "outcomes", "attribution_window");
    pub const SEED: Key = Key::new("--seed", "outcomes", "seed");
    pub const EXPECTED_HOLDOUT: Key =
        Key::new("--expected-holdout", "outcomes", "expected_holdout");
    pub const MAX_CONTAMINATION: Key =
        Key::new("--max-contamination", "outcomes", "max_contamination");
    pub const MAX_PRE_RUN: Key = Key::new("--max-pre-run", "outcomes", "max_pre_run");
    pub const ORDERS_UNTIL: Key = Key::new("--orders-until", "outcomes", "orders_until");
    pub const VALUE_IS: Key = Key::new("--order-value-is", "orders", "value_is");
    pub const INCENTIVE_COST: Key = Key::new("--incentive-cost", "outcomes", "incentive_cost");
}

/// The thresholds of `drift` (`[drift]`), in the order of its flags, each with what it means:
/// the flag's help (capitalised, by `config::defaults::command`) and the comment of `init`'s
/// template.
pub mod drift {
    use crate::config::setting::Key;

    pub const ALL: [(Key, &str); 11] = [
        (
            Key::new("--share-psi-warn", "drift", "share_psi_warn"),
            "PSI of the persona shares: warn above",
        ),
        (
            Key::new("--share-psi-fail", "drift", "share_psi_fail"),
            "PSI of the persona shares: fail above",
        ),
        (
            Key::new("--share-change-warn", "drift", "share_change_warn"),
            "change of one persona's share (absolute): warn above",
        ),
        (
            Key::new("--share-change-fail", "drift", "share_change_fail"),
            "change of one persona's share (absolute): fail above",
        ),
        (
            Key::new("--centroid-shift-warn", "drift", "centroid_shift_warn"),
            "centroid shift in baseline standard deviations: warn above",
        ),
        (
            Key::new("--centroid-shift-fail", "drift", "centroid_shift_fail"),
            "centroid shift in baseline standard deviations: fail above",
        ),
        (
            Key::new("--feature-psi-warn", "drift", "feature_psi_warn"),
            "PSI of a clustering feature against the baseline deciles: warn above",
        ),
        (
            Key::new("--feature-psi-fail", "drift", "feature_psi_fail"),
            "PSI of a clustering feature against the baseline deciles: fail above",
        ),
        (
            Key::new("--ks-warn", "drift", "ks_warn"),
            "Kolmogorov-Smirnov statistic of a feature: warn above",
        ),
        (
            Key::new("--stayed-warn", "drift", "stayed_warn"),
            "share of shoppers in both runs who kept their persona: warn below",
        ),
        (
            Key::new("--stayed-fail", "drift", "stayed_fail"),
            "share of shoppers in both runs who kept their persona: fail below",
        ),
    ];
}
