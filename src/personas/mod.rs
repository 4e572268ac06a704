//! Personas: the features table and each abandoner's cluster in; one named, explained persona per
//! cluster out (docs/personas.md).
//!
//! `profile` describes each cluster (statistics, z-scores, lifecycle, devices); `names` picks its
//! name from the traits that apply; `evidence` says why, in the card's sentences and bullets;
//! `plays` chooses the recovery play. [`build`] (in `describe`, with the [`Persona`] type) runs
//! them in that order. May use `util`,
//! `features` and `cluster`.

mod describe;
pub mod evidence;
pub mod names;
pub mod plays;
pub mod profile;

pub use describe::{
    attach, attach_arms, build, differences, from_clusters, IncentiveMeasured, IncentiveVerdict,
    Measured, Persona, Personified,
};
