//! Return propensity: how likely an abandoner is to order again within a window on their own
//! (issue 20, docs/propensity.md). Sits beside clustering in the flow: it learns from the same
//! features, and personas, the model and the reports show it.
//!
//! Built so far: `logistic`, the L2-regularised logistic regression (Newton's method, the same
//! bits on any thread count); `metrics`, the measures of a propensity on rows with known outcomes
//! (AUC, Brier score and skill, calibration error and its bins, the lift table, Platt scaling),
//! both checked against scikit-learn and numpy on fixtures (tests/propensity_stats.rs); `weeks`,
//! which past as-of points to learn from, their split in time and their labels; and `explain`, a
//! shopper's largest contributions in words. Not built yet: the point-in-time features of each
//! week, the design matrix, the command-line and report wiring (issue 20's note says what is
//! left). May use util, io, ingest, features and cluster.

pub mod explain;
pub mod history;
pub mod learn;
pub mod logistic;
pub mod metrics;
pub mod shown;
pub mod weeks;
