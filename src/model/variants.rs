//! Variants inside the treatment arm (docs/outcomes.md "Variants"): which treated abandoners get
//! the play with its incentive and which a plain reminder (or any other split the user names), so
//! that a readout can tell whether the incentive pays.
//!
//! The rule, exact so that any system can recompute it, is the holdout's with its own salt: u =
//! the big-endian unsigned integer of the first 8 bytes of SHA-256 of the UTF-8 text
//! `salt + ":" + customer_id`; with the variants' shares s_1..s_m in the order given and c_j =
//! s_1 + ... + s_j summed left to right in double precision, a treated shopper gets the first
//! variant j < m with u < ceil(c_j × 2^64), else variant m. `thresholds_hex` writes those
//! thresholds as 16 lower-case hex digits, so an engine without unsigned 64-bit integers compares
//! hex text instead (as for the arm). Holdout shoppers have no variant. The salt must differ from
//! the holdout's: the same hash would tie the variant to the arm (with a 20% holdout, a 50/50
//! split would give the first variant only 3/8 of the treated shoppers).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::util::salted::{hash_prefix, salt_or, threshold};

/// The salt when none is given.
pub const DEFAULT_SALT: &str = "cartsona-variants";
/// The variant that carries no incentive: the play's channels and timing only.
pub const REMINDER: &str = "reminder";
/// The smallest share of a variant.
pub const MIN_SHARE: f64 = 0.01;

/// One variant and its share of the treatment arm.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariantShare {
    pub name: String,
    pub share: f64,
}

/// The variants of a run, as model.json records them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Variants {
    /// The variants in the order the rule walks them; the shares sum to 1.
    pub split: Vec<VariantShare>,
    pub salt: String,
    /// ceil(c_j × 2^64) for every variant but the last, as 16 lower-case hex digits.
    pub thresholds_hex: Vec<String>,
    /// The as-of time of the run that began this split (same split and salt since).
    pub since: String,
}

/// Reads `name=share,name=share,...` (the `--variants` and `[variants] split` syntax); the
/// message says what is wrong, for the caller to prefix with where the text came from.
pub fn parse(spec: &str) -> std::result::Result<Vec<VariantShare>, String> {
    let mut split = Vec::new();
    for part in spec.split(',').map(str::trim) {
        let Some((name, share)) = part.split_once('=') else {
            return Err(format!("`{part}` is not name=share"));
        };
        let (name, share) = (name.trim(), share.trim());
        let share: f64 = share
            .parse()
            .map_err(|_| format!("the share of `{name}` is not a number: `{share}`"))?;
        split.push(VariantShare {
            name: name.to_string(),
            share,
        });
    }
    check_split(&split)?;
    Ok(split)
}

/// At least two variants, each named with letters, digits, `-` or `_` and named once, each with
/// at least [`MIN_SHARE`], all summing to 1.
fn check_split(split: &[VariantShare]) -> std::result::Result<(), String> {
    if split.len() < 2 {
        return Err("give at least two variants, e.g. reminder=0.5,incentive=0.5".into());
    }
    for (i, v) in split.iter().enumerate() {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if v.name.is_empty() || !v.name.chars().all(word) {
            return Err(format!(
                "a variant's name takes letters, digits, - and _ only, not `{}`",
                v.name
            ));
        }
        if split[..i].iter().any(|w| w.name == v.name) {
            return Err(format!("the variant `{}` is named twice", v.name));
        }
        if !(v.share.is_finite() && v.share >= MIN_SHARE) {
            return Err(format!(
                "the share of `{}` must be at least {MIN_SHARE}, not {}",
                v.name, v.share
            ));
        }
    }
    let total: f64 = split.iter().map(|v| v.share).sum();
    if (total - 1.0).abs() > 1e-9 {
        return Err(format!("the variants' shares must sum to 1, not {total}"));
    }
    Ok(())
}

/// The thresholds of `split`: ceil(c_j × 2^64) for every variant but the last.
fn thresholds(split: &[VariantShare]) -> Vec<u64> {
    let mut c = 0.0;
    split[..split.len() - 1]
        .iter()
        .map(|v| {
            c += v.share;
            threshold(c)
        })
        .collect()
}

impl Variants {
    /// Variants of `split` (checked) with `salt`, begun at `since`.
    pub fn new(split: Vec<VariantShare>, salt: &str, since: &str) -> Result<Variants> {
        check_split(&split).map_err(anyhow::Error::msg)?;
        let thresholds_hex = thresholds(&split)
            .iter()
            .map(|t| format!("{t:016x}"))
            .collect();
        Ok(Variants {
            split,
            salt: salt.to_string(),
            thresholds_hex,
            since: since.to_string(),
        })
    }

    /// The index of a treated shopper's variant in `split`.
    pub fn of(&self, customer_id: &str) -> usize {
        self.assigner()(customer_id)
    }

    /// [`Variants::of`] with the thresholds worked out once, for many shoppers.
    pub fn assigner(&self) -> impl Fn(&str) -> usize + '_ {
        let t = thresholds(&self.split);
        move |customer_id| {
            let u = hash_prefix(&self.salt, customer_id);
            t.iter().position(|t| u < *t).unwrap_or(t.len())
        }
    }

    /// The variant's name at `index`.
    pub fn name(&self, index: usize) -> &str {
        &self.split[index].name
    }

    /// `name=share,...`: what `--variants` takes.
    pub fn spec(&self) -> String {
        let parts: Vec<String> = self
            .split
            .iter()
            .map(|v| format!("{}={}", v.name, v.share))
            .collect();
        parts.join(",")
    }

    /// Checks variants read from a model file.
    pub fn check(&self) -> Result<()> {
        check_split(&self.split).map_err(anyhow::Error::msg)?;
        let expected: Vec<String> = thresholds(&self.split)
            .iter()
            .map(|t| format!("{t:016x}"))
            .collect();
        if self.thresholds_hex != expected {
            bail!(
                "the variants' thresholds {:?} do not match their shares {}",
                self.thresholds_hex,
                self.spec()
            );
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("{} (salt {}, since {})", self.spec(), self.salt, self.since)
    }
}

/// The variants a run asks for (flags, then cartsona.toml), checked by `config::holdout`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantsAsked {
    /// `Some(None)`: `none`, which ends inherited variants.
    pub split: Option<Option<Vec<VariantShare>>>,
    pub salt: Option<String>,
}

/// The variants of a run: what it asks for, else those inherited from the baseline or the model,
/// as the holdout is (`holdout::resolve`). Variants split the treatment arm, so they need the
/// run's holdout (`holdout_salt`: its salt): asked for without one they are refused; inherited
/// without one they end, with a note. Returns them and, when inherited variants end or change, a
/// note saying so.
pub fn resolve(
    asked: &VariantsAsked,
    inherited: Option<&Variants>,
    holdout_salt: Option<&str>,
    as_of: &str,
) -> Result<(Option<Variants>, Option<String>)> {
    let ended =
        |old: &Variants, why: &str| Some(format!("{why} ends the variants {}", old.describe()));
    let split = match (&asked.split, inherited) {
        (Some(None), old) => return Ok((None, old.and_then(|o| ended(o, "--variants none")))),
        (Some(Some(split)), _) => split.clone(),
        (None, Some(old)) => old.split.clone(),
        (None, None) => return Ok((None, None)),
    };
    let Some(holdout_salt) = holdout_salt else {
        if asked.split.is_some() {
            bail!(
                "--variants split the treatment arm: give --holdout SHARE too (or [holdout] share)"
            );
        }
        return Ok((
            None,
            inherited.and_then(|o| ended(o, "the end of the holdout")),
        ));
    };
    let salt = salt_or(
        &asked.salt,
        inherited.map(|v| v.salt.as_str()),
        DEFAULT_SALT,
    );
    if salt == holdout_salt {
        bail!("the variants' salt `{salt}` is the holdout's: give --variant-salt another (the same hash would tie each shopper's variant to their arm)");
    }
    // The same split goes on from its start; another begins now, and says so.
    let kept = inherited.filter(|v| v.split == split && v.salt == salt);
    let new = Variants::new(split, &salt, kept.map_or(as_of, |v| v.since.as_str()))?;
    let changed = inherited.filter(|_| kept.is_none());
    let note = changed.map(|old| {
        let (old, now) = (old.describe(), new.describe());
        format!("the variants change from {old} to {now}: variants are compared from {as_of} on")
    });
    Ok((Some(new), note))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(spec: &str) -> Vec<VariantShare> {
        parse(spec).unwrap()
    }

    /// Expected variants computed independently (Python: u = int.from_bytes(hashlib.sha256(
    /// b"cartsona-variants:" + id).digest()[:8], "big"); thresholds math.ceil(c * 2**64) for c in
    /// the running sums 0.5, 0.5 + 0.3; the first threshold above u, else the last variant).
    #[test]
    fn variants_match_an_independent_computation() {
        let v = Variants::new(
            split("reminder=0.5,incentive=0.3,late=0.2"),
            DEFAULT_SALT,
            "t",
        )
        .unwrap();
        assert_eq!(v.thresholds_hex, ["8000000000000000", "ccccccccccccd000"]);
        let got: Vec<&str> = (1..=12)
            .map(|i| v.name(v.of(&format!("cus_{i:07}"))))
            .collect();
        let expected = [
            "late",
            "reminder",
            "late",
            "incentive",
            "reminder",
            "reminder",
            "incentive",
            "reminder",
            "reminder",
            "late",
            "reminder",
            "late",
        ];
        assert_eq!(got, expected);
        v.check().unwrap();
    }

    /// The hex text comparison gives the same variants as the integer one, and the shares come
    /// out as planned over 20,000 ids (each within 1.5 points: 5 standard errors at most).
    #[test]
    fn hex_text_comparison_and_shares_hold() {
        let v = Variants::new(split("a=0.6,b=0.25,c=0.15"), "s", "t").unwrap();
        let mut counts = [0usize; 3];
        for i in 0..20_000 {
            let id = format!("c{i}");
            let text = format!("{:016x}", hash_prefix("s", &id));
            let by_text = v
                .thresholds_hex
                .iter()
                .position(|t| text.as_str() < t.as_str())
                .unwrap_or(2);
            assert_eq!(by_text, v.of(&id), "{id}");
            counts[by_text] += 1;
        }
        for (n, want) in counts.iter().zip([0.6, 0.25, 0.15]) {
            assert!((*n as f64 / 20_000.0 - want).abs() < 0.015, "{counts:?}");
        }
    }

    #[test]
    fn a_bad_split_says_what_is_wrong() {
        for (spec, says) in [
            ("reminder=1", "at least two variants"),
            ("reminder=0.5,incentive", "is not name=share"),
            ("reminder=0.5,incentive=half", "not a number"),
            ("reminder=0.5,reminder=0.5", "named twice"),
            ("a b=0.5,c=0.5", "letters, digits"),
            ("a=0.995,b=0.005", "at least 0.01"),
            ("a=0.5,b=0.4", "sum to 1"),
            ("a=0.5,b=NaN", "at least 0.01"),
        ] {
            let e = parse(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn a_monthly_run_inherits_the_variants_and_a_change_starts_a_new_split() {
        let h = crate::model::holdout::Holdout::new(0.2, "cartsona", "2025-01-31").unwrap();
        let old = Variants::new(split("reminder=0.5,incentive=0.5"), "v", "2025-01-31").unwrap();
        let t = "2025-02-28";
        let none = VariantsAsked::default();
        // Nothing asked: inherited as they are.
        assert_eq!(
            resolve(&none, Some(&old), Some(h.salt.as_str()), t).unwrap(),
            (Some(old.clone()), None)
        );
        // The same asked again: unchanged, same since.
        let same = VariantsAsked {
            split: Some(Some(old.split.clone())),
            salt: None,
        };
        assert_eq!(
            resolve(&same, Some(&old), Some(h.salt.as_str()), t)
                .unwrap()
                .0,
            Some(old.clone())
        );
        // Another split: a new one from this as-of time, and a note.
        let other = VariantsAsked {
            split: Some(Some(split("reminder=0.3,incentive=0.7"))),
            salt: None,
        };
        let (v, note) = resolve(&other, Some(&old), Some(h.salt.as_str()), t).unwrap();
        let v = v.unwrap();
        assert_eq!((v.since.as_str(), v.salt.as_str()), (t, "v"));
        assert!(note.unwrap().contains("variants change from reminder=0.5"));
        // `none` ends them, and says so.
        let end = VariantsAsked {
            split: Some(None),
            salt: None,
        };
        let (v, note) = resolve(&end, Some(&old), Some(h.salt.as_str()), t).unwrap();
        assert_eq!(v, None);
        assert!(note.unwrap().contains("--variants none ends the variants"));
        // Without a holdout: asked is refused, inherited ends with a note.
        assert!(resolve(&other, None, None, t).is_err());
        let (v, note) = resolve(&none, Some(&old), None, t).unwrap();
        assert_eq!(v, None);
        assert!(note.unwrap().contains("end of the holdout"));
        // The holdout's salt is refused; the default salt is not the holdout's default.
        let clash = VariantsAsked {
            salt: Some("cartsona".into()),
            ..other.clone()
        };
        assert!(resolve(&clash, None, Some(h.salt.as_str()), t).is_err());
        let (v, _) = resolve(&other, None, Some(h.salt.as_str()), t).unwrap();
        assert_eq!(v.unwrap().salt, DEFAULT_SALT);
    }
}
