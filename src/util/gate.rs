//! The status of one check, shared by `drift`'s thresholds and the readout's gates so that CI
//! output, exit codes and the reports word it one way. In: nothing; out: [`Status`], ordered from
//! best to worst (a run's status is the worst of its checks').
//!
//! The checks themselves stay two types (`drift::compare::DriftCheck`, `outcomes::checks::Gate`):
//! they carry different figures, and drift.json and outcomes.json keep their keys.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// Shown, never failed: what the check needs was not given (e.g. touches without --touches).
    NotMeasured,
    Warn,
    Fail,
}

impl Status {
    /// In words: "pass", "not measured", "warn", "fail".
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::NotMeasured => "not measured",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    /// In a Markdown table: as [`Status::name`], with a failure in bold capitals.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Fail => "**FAIL**",
            s => s.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_status_is_the_largest_and_serialises_as_before() {
        let all = [
            Status::Fail,
            Status::Pass,
            Status::Warn,
            Status::NotMeasured,
        ];
        assert_eq!(all.iter().max(), Some(&Status::Fail));
        assert!(Status::NotMeasured < Status::Warn);
        let json: Vec<String> = all
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        assert_eq!(
            json,
            ["\"fail\"", "\"pass\"", "\"warn\"", "\"not_measured\""]
        );
    }
}
