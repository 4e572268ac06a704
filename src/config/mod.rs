//! One checked configuration built from `cartsona.toml` and the flags (flags win), split by what
//! it configures: [`file`] (the file as written and its loading), [`setting`] (the one way a
//! value is layered, flag > file > default, keeping its origin for every message), [`keys`]
//! (every setting's flag and file key), [`inputs`],
//! [`features`], [`segment`], [`propensity`] (and the holdout), [`outcomes`] (and drift), and
//! [`defaults`] (the defaults every help text, template and message shows, from the settings
//! types' own `Default`).

pub mod defaults;
pub mod features;
pub mod file;
pub mod inputs;
pub mod keys;
pub mod outcomes;
pub mod propensity;
pub mod segment;
pub mod setting;

pub use features::{assign_params, feature_params, features_table, sql_spec};
pub use file::{load_file, FileConfig, Loaded};
pub use inputs::{bad_rows, dialect, Inputs};
pub use outcomes::{drift_thresholds, outcomes, OutcomesConfig};
pub use propensity::{holdout, propensity, PropensitySettings};
pub use segment::{cluster_params, segment, Segment};

#[cfg(test)]
mod tests;
