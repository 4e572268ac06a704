//! The return propensity's settings (`[propensity]`) and the holdout and its variants asked for
//! (`[holdout]`, `[variants]`), from the flags and the file (flags win). Out: [`Propensity`] (`None`: off) and
//! `model::holdout::HoldoutAsked`, checked; what a run does not ask for it inherits later.

use anyhow::{bail, Result};

use super::file::Loaded;
use super::setting::{shown_duration, Key};
use crate::cli::{HoldoutArgs, PropensityArgs};
use crate::features::compute::FeatureParams;
use crate::model::holdout::{self, HoldoutAsked};
use crate::model::variants::{self, VariantsAsked};
use crate::propensity::learn::Untreated;
use crate::propensity::run::PropensityAsked;
use crate::util::timefmt;

pub use super::keys::propensity::*;

/// The propensity settings of a segment run (`None`: off), from flags and `[propensity]` (flags
/// win), checked: W > 0, a history of at least 3 W (train, calibration, report), C > 0.
pub fn propensity(args: &PropensityArgs, loaded: &Loaded) -> Result<Option<PropensitySettings>> {
    let f = &loaded.file.propensity;
    let d = PropensitySettings::default();
    let window = loaded.duration_or(WINDOW, &args.propensity_window, &f.window, d.window, true)?;
    let history = loaded.layer_or(
        HISTORY,
        args.propensity_history.clone(),
        f.history.clone(),
        shown_duration(d.history),
    );
    let raw = history.value.clone();
    let history = history.duration(true)?;
    if history.value < 3 * window.value {
        bail!(
            "{} {raw}: must be at least three propensity windows ({}): one to train on, one to calibrate, one to report",
            history.origin,
            timefmt::format_duration(3 * window.value)
        );
    }
    let c = loaded.layer_or(C, args.propensity_c, f.c, d.c).check(
        |c| c.is_finite() && *c > 0.0,
        "give a positive number (scikit-learn's C; 1 by default)",
    )?;
    let no_discount_above = loaded
        .layer_or(
            NO_DISCOUNT_ABOVE,
            args.no_discount_above,
            f.no_discount_above,
            d.no_discount_above,
        )
        .check(
            |p| (0.0..=1.0).contains(p),
            "give a probability from 0 to 1",
        )?;
    let off = args.no_propensity || f.enabled == Some(false);
    Ok((!off).then_some(PropensitySettings {
        window: window.value,
        history: history.value,
        c: c.value,
        no_discount_above: no_discount_above.value,
        force_no_discount: args.force_no_discount || f.force_no_discount == Some(true),
    }))
}

/// The propensity settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct PropensitySettings {
    pub window: i64,
    pub history: i64,
    pub c: f64,
    pub no_discount_above: f64,
    /// Apply the no-discount rule with an as-usual propensity too.
    pub force_no_discount: bool,
}

impl PropensitySettings {
    /// What the propensity stage is asked for, these settings with the run's clustering
    /// features, the baseline holdout's arm to learn the untreated kind from, the windows.
    pub fn asked<'a>(
        &self,
        cluster_features: &'a [String],
        holdout: Option<Untreated<'a>>,
        params: &'a FeatureParams,
    ) -> PropensityAsked<'a> {
        PropensityAsked {
            window: self.window,
            c: self.c,
            no_discount_above: self.no_discount_above,
            force_no_discount: self.force_no_discount,
            cluster_features,
            holdout,
            params,
        }
    }
}

/// The defaults every help text, `cartsona init` and the config show (docs/propensity.md).
impl Default for PropensitySettings {
    fn default() -> PropensitySettings {
        PropensitySettings {
            window: 7 * timefmt::DAY,
            history: 26 * 7 * timefmt::DAY,
            c: 1.0,
            no_discount_above: 0.5,
            force_no_discount: false,
        }
    }
}

/// The holdout asked for by `--holdout`/`--holdout-salt` or `[holdout]` (flags win), checked;
/// what is not asked for is inherited from the baseline or the model (`model::holdout::resolve`).
pub fn holdout(args: &HoldoutArgs, loaded: &Loaded) -> Result<HoldoutAsked> {
    let f = &loaded.file.holdout;
    let share = match loaded.layer(SHARE, args.holdout, f.share) {
        Some(s) => Some(
            s.check(
                |v| v.is_finite() && (0.0..=holdout::MAX_SHARE).contains(v),
                format!(
                    "give a share of abandoners from 0 to {} (0 ends a holdout)",
                    holdout::MAX_SHARE
                ),
            )?
            .value,
        ),
        None => None,
    };
    Ok(HoldoutAsked {
        share,
        salt: salt(loaded, SALT, &args.holdout_salt, &f.salt)?,
        salt_from_flag: args.holdout_salt.is_some(),
        variants: variants(args, loaded)?,
    })
}

/// The variants asked for by `--variants`/`--variant-salt` or `[variants]` (flags win), checked.
fn variants(args: &HoldoutArgs, loaded: &Loaded) -> Result<VariantsAsked> {
    let f = &loaded.file.variants;
    let split = match loaded.layer(VARIANTS, args.variants.clone(), f.split.clone()) {
        Some(s) if s.value.trim() == "none" => Some(None),
        Some(s) => {
            Some(Some(variants::parse(&s.value).map_err(|e| {
                anyhow::anyhow!("{} {}: {e}", s.origin, s.value)
            })?))
        }
        None => None,
    };
    Ok(VariantsAsked {
        split,
        salt: salt(loaded, VARIANT_SALT, &args.variant_salt, &f.salt)?,
    })
}

/// A hash salt from its flag, else the file; refused when empty.
fn salt(
    loaded: &Loaded,
    key: Key,
    flag: &Option<String>,
    file: &Option<String>,
) -> Result<Option<String>> {
    let salt = loaded.layer(key, flag.clone(), file.clone());
    if let Some(s) = salt.as_ref().filter(|s| s.value.is_empty()) {
        bail!("{}: the salt is empty", s.origin);
    }
    Ok(salt.map(|s| s.value))
}
