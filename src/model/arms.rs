//! A run's arms: the holdout it asks for or inherits (`holdout::resolve`), each shopper's arm,
//! the arm counts on the personas, with a holdout each shopper's first listing since the split
//! began, carried on from the run before (`listing`), and the variants inside the treatment arm
//! with each treated shopper's (`variants::resolve`). Out: [`Arms`], with the warnings to
//! give; nothing here prints.

use std::path::Path;

use anyhow::Result;

use super::holdout::{self, Arm, Holdout, HoldoutAsked};
use super::variants::{self, Variants};
use super::{listing, Model};
use crate::personas::{self, Persona};

/// The run's holdout (what it asks for, else the one inherited from the baseline or the model),
/// each shopper's arm, and the arm counts on the personas (`labels[i]`: shopper i's persona). A
/// note on an inherited holdout that ends or changes is warned and returned for the summary.
/// With a holdout, each shopper's first listing since the split began, carried on from the run
/// before (`before`: its model and model.json; model::listing); a broken chain is warned and
/// returned too; both are in [`Arms::said`], in order, for the command to warn.
pub fn arms(
    asked: &HoldoutAsked,
    before: Option<(&Model, &Path)>,
    as_of: &str,
    customers: &[String],
    labels: &[usize],
    personas: &mut [Persona],
) -> Result<Arms> {
    let before_model = before.map(|(m, _)| m);
    let before = before
        .map(|(m, file)| {
            listing::Before::of(&m.as_of, m.holdout.as_ref(), m.first_listing.as_ref(), file)
        })
        .transpose()?;
    let inherited = before.as_ref().and_then(|b| b.holdout);
    let (holdout, mut note) = holdout::resolve(asked, inherited, as_of)?;
    let inherited_variants = before_model.and_then(|m| m.variants.as_ref());
    let (variants, variants_note) = variants::resolve(
        &asked.variants,
        inherited_variants,
        holdout.as_ref().map(|h| h.salt.as_str()),
        as_of,
    )?;
    if let Some(v) = variants_note {
        note = Some(note.map_or(v.clone(), |n| format!("{n}; {v}")));
    }
    let mut said: Vec<String> = note.iter().cloned().collect();
    let listing = holdout
        .as_ref()
        .map(|h| listing::carry(before, h, as_of, customers))
        .transpose()?;
    if let Some(w) = listing.as_ref().and_then(|l| l.warning.clone()) {
        said.push(w.clone());
        note = Some(note.map_or(w.clone(), |n| format!("{n}; {w}")));
    }
    let arms: Option<Vec<Arm>> = holdout
        .as_ref()
        .map(|h| customers.iter().map(|c| h.arm(c)).collect());
    if let Some(a) = &arms {
        let held: Vec<bool> = a.iter().map(|a| *a == Arm::Holdout).collect();
        personas::attach_arms(personas, labels, &held);
    }
    let variant = variants.as_ref().zip(arms.as_ref()).map(|(v, arms)| {
        let variant_of = v.assigner();
        let treated = customers.iter().zip(arms);
        let of = |(c, arm): (&String, &Arm)| (*arm == Arm::Treatment).then(|| variant_of(c));
        treated.map(of).collect()
    });
    Ok(Arms {
        holdout,
        arms,
        note,
        listing,
        said,
        variants,
        variant,
    })
}

/// What [`arms`] decided.
pub struct Arms {
    pub holdout: Option<Holdout>,
    /// Each shopper's arm, when there is a holdout.
    pub arms: Option<Vec<Arm>>,
    pub note: Option<String>,
    /// With a holdout: first listings since the split began.
    pub listing: Option<listing::Carried>,
    /// The warnings to give, in order (the holdout's and the variants' notes, then a broken
    /// listing chain's).
    pub said: Vec<String>,
    /// The variants inside the treatment arm, if any (they need a holdout).
    pub variants: Option<Variants>,
    /// With variants: each shopper's variant (an index into its split); `None` for the held out.
    pub variant: Option<Vec<Option<usize>>>,
}

/// Each shopper's variant, by name.
pub struct VariantRows<'a> {
    pub variants: &'a Variants,
    /// An index into `variants.split`; `None` for the held out.
    pub of: &'a [Option<usize>],
}

impl<'a> VariantRows<'a> {
    /// Each shopper's variant name, empty for the held out.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        let v = self.variants;
        self.of.iter().map(move |i| i.map_or("", |i| v.name(i)))
    }
}

impl Arms {
    /// Each shopper's variant, with variants.
    pub fn variant_rows(&self) -> Option<VariantRows<'_>> {
        let (variants, of) = (self.variants.as_ref()?, self.variant.as_ref()?);
        Some(VariantRows { variants, of })
    }

    /// Whether each shopper is in the treatment arm (with a holdout).
    pub fn treated(&self) -> Option<Vec<bool>> {
        self.arms
            .as_ref()
            .map(|a| a.iter().map(|x| *x == Arm::Treatment).collect())
    }
}
