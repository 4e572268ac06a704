//! Outcomes: whether recovering abandoners works, measured against the holdout arm
//! (docs/outcomes.md). In: the runs that listed the abandoners, the orders after them, and
//! optionally the touches a messaging platform sent and the flow's entries. Out: a [`Readout`]
//! (outcomes.json; the report module renders it), whose gates decide the exit code.
//!
//! `load` reads the runs, touches and entries (`previous`: an earlier readout, for the next run); `readout` turns each shopper into an outcome and
//! compares the arms; `breakdown` holds the observational breakdowns and the variants; `checks`
//! the gates; `bootstrap` the interval of the incremental revenue; `uplift` learns each shopper's
//! uplift and `targeting` tests it (the Qini curve, the policies, the gate); `stats` the formulas, each
//! checked against statsmodels and scipy on fixtures and by simulation. May use every stage
//! before it (util, io, ingest, features, cluster, personas, model, drift). `assemble` puts them
//! together into the [`Readout`] ([`build`]); this file only declares and re-exports.

mod assemble;
pub mod balance;
pub mod bands;
pub mod bootstrap;
pub mod breakdown;
pub mod checks;
pub mod load;
pub mod previous;
pub mod readout;
pub mod stats;
pub mod targeting;
pub mod uplift;
#[cfg(test)]
mod uplift_tests;

pub use assemble::{build, HoldoutInfo, ListedAgain, PersonaReadout, Readout, ReadoutInputs};
