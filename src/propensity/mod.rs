//! Return propensity: how likely an abandoner is to order again within a window on their own
//! (issue 20, docs/propensity.md). Sits beside clustering in the flow: it learns from the same
//! features, and personas, the model and the reports show it.
//!
//! The parts, in the order a run uses them: `weeks`, which past as-of points to learn from,
//! their split in time and their labels; `history`, each point's abandoners with their features
//! as of it (the features stage's own code) and a customer sample by hash; `learn`, the design
//! matrix, the two kinds (untreated, as usual), calibration and scoring; `logistic`, the
//! L2-regularised logistic regression (Newton's method, the same bits on any thread count);
//! `metrics`, the measures on rows with known outcomes (AUC, Brier score and skill, calibration
//! error and bins, the lift table, Platt scaling); `explain`, a shopper's largest contributions
//! in words; `shown`, what the reports show; `past`, the rows a run sets aside to learn from;
//! `run`, one run's propensity end to end (learned and scored, or the model's applied, with the
//! note or warning to give). Plain functions: no printing, no flags, no files.
//! May use util, io, ingest, features and cluster.

pub mod explain;
pub mod history;
pub mod learn;
pub mod logistic;
pub mod metrics;
pub mod past;
pub mod run;
pub mod shown;
pub mod weeks;
