//! Holdout arms (docs/outcomes.md, "Holdout arms"): which abandoners get no recovery message, so
//! that `cartsona outcomes` can measure what the messages add.
//!
//! The rule, exact so that any system can recompute it: h = SHA-256 of the UTF-8 text
//! `salt + ":" + customer_id` (the id as cartsona stores it, after a preset's normalisation); the
//! shopper is in the **holdout** when the big-endian unsigned integer of h's first 8 bytes is
//! below ceil(share × 2^64), else in the **treatment** arm. Equivalently h's first 16 lower-case
//! hex digits sort before the threshold written as 16 lower-case hex digits (`threshold_hex`),
//! for engines without unsigned 64-bit integers. A shopper keeps their arm as long as the salt
//! does; raising the share only moves treatment shoppers into the holdout; another salt gives an
//! independent split.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// The largest holdout share.
pub const MAX_SHARE: f64 = 0.5;
/// The salt when none is given.
pub const DEFAULT_SALT: &str = "cartsona";

/// A shopper's arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    Holdout,
    Treatment,
}

impl Arm {
    pub fn name(self) -> &'static str {
        match self {
            Arm::Holdout => "holdout",
            Arm::Treatment => "treatment",
        }
    }
}

/// A holdout, as model.json records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holdout {
    /// The planned share of abandoners held out, in (0, 0.5].
    pub share: f64,
    pub salt: String,
    /// ceil(share × 2^64) as 16 lower-case hex digits.
    pub threshold_hex: String,
    /// The as-of time of the run that began this split (same share and salt since).
    pub since: String,
}

use crate::util::salted::salt_or;
pub use crate::util::salted::{hash_prefix, threshold};

impl Holdout {
    /// A holdout of `share` with `salt`, begun at `since`. The share must be in (0, 0.5].
    pub fn new(share: f64, salt: &str, since: &str) -> Result<Holdout> {
        if !(share > 0.0 && share <= MAX_SHARE) {
            bail!("a holdout share must be above 0 and at most {MAX_SHARE}, not {share}");
        }
        Ok(Holdout {
            share,
            salt: salt.to_string(),
            threshold_hex: format!("{:016x}", threshold(share)),
            since: since.to_string(),
        })
    }

    /// The arm of a shopper.
    pub fn arm(&self, customer_id: &str) -> Arm {
        if hash_prefix(&self.salt, customer_id) < threshold(self.share) {
            Arm::Holdout
        } else {
            Arm::Treatment
        }
    }

    /// Checks a holdout read from a model file.
    pub fn check(&self) -> Result<()> {
        if !(self.share > 0.0 && self.share <= MAX_SHARE) {
            bail!(
                "the holdout share {} is not in (0, {MAX_SHARE}]",
                self.share
            );
        }
        if self.threshold_hex != format!("{:016x}", threshold(self.share)) {
            bail!(
                "the holdout threshold {} does not match its share {}",
                self.threshold_hex,
                self.share
            );
        }
        Ok(())
    }
}

impl crate::propensity::learn::HeldOut for Holdout {
    fn held_out(&self, customer_id: &str) -> bool {
        self.arm(customer_id) == Arm::Holdout
    }
}

impl Holdout {
    /// The untreated propensity learns from this holdout's arm, from when it began (never when
    /// the start does not parse).
    pub fn untreated(&self) -> crate::propensity::learn::Untreated<'_> {
        crate::propensity::learn::Untreated {
            holdout: self,
            since: crate::util::timefmt::parse_timestamp(&self.since).unwrap_or(i64::MAX),
        }
    }
}

/// The holdout a run asks for (flags, then cartsona.toml), checked by `config::holdout`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HoldoutAsked {
    /// `Some(0.0)` ends an inherited holdout.
    pub share: Option<f64>,
    pub salt: Option<String>,
    /// The salt came from `--holdout-salt` (alone, without any share, it is refused; a salt in
    /// cartsona.toml without a share just waits for one).
    pub salt_from_flag: bool,
    /// The variants inside the treatment arm asked for (`model::variants`).
    pub variants: super::variants::VariantsAsked,
}

/// The holdout of a run: what it asks for, else the one `inherited` from the baseline or the
/// model, so a monthly run cannot end an experiment by omission. Returns it and, when an
/// inherited holdout ends or changes, a note saying so. `as_of` dates a new split.
pub fn resolve(
    asked: &HoldoutAsked,
    inherited: Option<&Holdout>,
    as_of: &str,
) -> Result<(Option<Holdout>, Option<String>)> {
    let describe = |h: &Holdout| format!("{} (salt {}, since {})", h.share, h.salt, h.since);
    match (asked.share, inherited) {
        (Some(0.0), Some(old)) => Ok((
            None,
            Some(format!(
                "--holdout 0 ends the holdout of {}: every abandoner is in the treatment arm",
                describe(old)
            )),
        )),
        (Some(0.0), _) => Ok((None, None)),
        (share, old) => {
            let Some(share) = share.or(old.map(|h| h.share)) else {
                if asked.salt_from_flag {
                    bail!("--holdout-salt without a holdout: give --holdout SHARE too (or [holdout] share)");
                }
                return Ok((None, None));
            };
            let salt = salt_or(&asked.salt, old.map(|h| h.salt.as_str()), DEFAULT_SALT);
            let same = old.filter(|h| h.share == share && h.salt == salt);
            let since = same.map_or(as_of, |h| h.since.as_str());
            let new = Holdout::new(share, &salt, since)?;
            let note = match (old, same) {
                (Some(old), None) => Some(format!(
                    "the holdout changes from {} to {}: arms are compared from {as_of} on",
                    describe(old),
                    describe(&new)
                )),
                _ => None,
            };
            Ok((Some(new), note))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPECTED_0_2: [&str; 12] = [
        "treatment",
        "treatment",
        "treatment",
        "holdout",
        "treatment",
        "treatment",
        "holdout",
        "treatment",
        "treatment",
        "treatment",
        "treatment",
        "treatment",
    ];
    const PREFIX_1: &str = "e7739e50123f8691";

    /// Expected arms computed independently (Python: int.from_bytes(hashlib.sha256(
    /// b"cartsona:" + id).digest()[:8], "big") < math.ceil(0.2 * 2**64)).
    #[test]
    fn arms_match_an_independent_computation() {
        let h = Holdout::new(0.2, "cartsona", "2025-01-31T00:00:00Z").unwrap();
        // 0.2 as a double is 3602879701896397 / 2^54; times 2^64 that is 0x3333333333333400.
        assert_eq!(h.threshold_hex, "3333333333333400");
        let got: Vec<&str> = (1..=12)
            .map(|i| h.arm(&format!("cus_{i:07}")).name())
            .collect();
        assert_eq!(got, EXPECTED_0_2);
        assert_eq!(
            format!("{:016x}", hash_prefix("cartsona", "cus_0000001")),
            PREFIX_1
        );
    }

    /// The hex text comparison gives the same arms as the integer comparison.
    #[test]
    fn hex_text_comparison_equals_integer_comparison() {
        for share in [0.01, 0.1, 0.25, 0.5] {
            let h = Holdout::new(share, "s", "t").unwrap();
            for i in 0..2000 {
                let id = format!("c{i}");
                let text = format!("{:016x}", hash_prefix("s", &id));
                let by_text = text.as_str() < h.threshold_hex.as_str();
                assert_eq!(by_text, h.arm(&id) == Arm::Holdout, "{share} {id}");
            }
        }
        assert_eq!(threshold(0.5), 1u64 << 63);
        assert!(Holdout::new(0.0, "s", "t").is_err());
        assert!(Holdout::new(0.51, "s", "t").is_err());
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    fn asked(share: Option<f64>, salt: Option<&str>) -> HoldoutAsked {
        HoldoutAsked {
            share,
            salt: salt.map(str::to_string),
            salt_from_flag: salt.is_some(),
            ..HoldoutAsked::default()
        }
    }

    #[test]
    fn a_monthly_run_inherits_the_holdout_and_ends_it_only_when_told() {
        let old = Holdout::new(0.1, "s1", "2025-01-31T00:00:00Z").unwrap();
        let t = "2025-02-28T00:00:00Z";
        // Nothing asked: inherited as it is, same since.
        let (h, note) = resolve(&HoldoutAsked::default(), Some(&old), t).unwrap();
        assert_eq!(h.as_ref(), Some(&old));
        assert_eq!(note, None);
        // The same share and salt asked again (cartsona.toml every month): unchanged.
        let (h, note) = resolve(&asked(Some(0.1), None), Some(&old), t).unwrap();
        assert_eq!(h.as_ref(), Some(&old));
        assert_eq!(note, None);
        // --holdout 0 ends it, and says so.
        let (h, note) = resolve(&asked(Some(0.0), None), Some(&old), t).unwrap();
        assert_eq!(h, None);
        assert!(note.unwrap().contains("ends the holdout of 0.1 (salt s1"));
        // A larger share keeps the salt, starts a new split, and says so.
        let (h, note) = resolve(&asked(Some(0.2), None), Some(&old), t).unwrap();
        let h = h.unwrap();
        assert_eq!((h.share, h.salt.as_str(), h.since.as_str()), (0.2, "s1", t));
        assert!(note.unwrap().contains("changes from 0.1"));
        // No holdout anywhere: none; a salt alone is refused.
        assert_eq!(
            resolve(&HoldoutAsked::default(), None, t).unwrap(),
            (None, None)
        );
        assert!(resolve(&asked(None, Some("x")), None, t).is_err());
        let from_file = HoldoutAsked {
            salt_from_flag: false,
            ..asked(None, Some("x"))
        };
        assert_eq!(resolve(&from_file, None, t).unwrap(), (None, None));
        let (h, _) = resolve(&asked(Some(0.25), None), None, t).unwrap();
        assert_eq!(h.unwrap().salt, DEFAULT_SALT);
    }
}
