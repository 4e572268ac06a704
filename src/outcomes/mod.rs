//! Outcomes: whether recovering abandoners works, measured against the holdout arm
//! (docs/outcomes.md). `stats` holds the formulas the readout uses, each checked against
//! statsmodels and scipy on fixtures and by simulation. The readout itself (`cartsona
//! outcomes`) is not built yet. May use every stage before it (util, io, ingest, features,
//! cluster, personas, model, drift).
pub mod stats;
