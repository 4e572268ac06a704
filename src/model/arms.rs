//! A run's arms: the holdout it asks for or inherits (`holdout::resolve`), each shopper's arm,
//! the arm counts on the personas, and with a holdout each shopper's first listing since the
//! split began, carried on from the run before (`listing`). Out: [`Arms`], with the warnings to
//! give; nothing here prints.

use std::path::Path;

use anyhow::Result;

use super::holdout::{self, Arm, Holdout, HoldoutAsked};
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
    let before = before
        .map(|(m, file)| {
            listing::Before::of(&m.as_of, m.holdout.as_ref(), m.first_listing.as_ref(), file)
        })
        .transpose()?;
    let inherited = before.as_ref().and_then(|b| b.holdout);
    let (holdout, mut note) = holdout::resolve(asked, inherited, as_of)?;
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
    Ok(Arms {
        holdout,
        arms,
        note,
        listing,
        said,
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
    /// The warnings to give, in order (the holdout's note, then a broken listing chain's).
    pub said: Vec<String>,
}

impl Arms {
    /// Whether each shopper is in the treatment arm (with a holdout).
    pub fn treated(&self) -> Option<Vec<bool>> {
        self.arms
            .as_ref()
            .map(|a| a.iter().map(|x| *x == Arm::Treatment).collect())
    }
}
