//! The one JUnit XML writer, shared by `drift` (a suite per group of checks) and `outcomes` (one
//! suite of gates): suites of test cases, each passed (with or without output), skipped, or failed
//! with a message, a type and its numbers. Every text is XML-escaped here.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use crate::util::gate::Status;

/// How one check ended.
pub enum Result {
    /// Passed, with nothing to say.
    Pass,
    /// Passed, with what to show (`<system-out>`).
    Out(String),
    /// Not measured (`<skipped message>`).
    Skipped(String),
    /// Failed: its message, the failure's type, the numbers behind it.
    Failure {
        message: String,
        kind: &'static str,
        detail: String,
    },
}

impl Result {
    /// How a check with `status` ends in JUnit, the same for every report: a pass shows
    /// `on_pass` when given, a warning shows `warning: DETAIL`, a check not measured is skipped
    /// with its message, a failure carries its message, `kind` and `detail`.
    pub fn of(
        status: Status,
        message: &str,
        kind: &'static str,
        detail: &str,
        on_pass: Option<&str>,
    ) -> Result {
        match status {
            Status::Pass => on_pass.map_or(Result::Pass, |t| Result::Out(t.to_string())),
            Status::NotMeasured => Result::Skipped(message.to_string()),
            Status::Warn => Result::Out(format!("warning: {detail}")),
            Status::Fail => Result::Failure {
                message: message.to_string(),
                kind,
                detail: detail.to_string(),
            },
        }
    }
}

/// One check.
pub struct Case {
    pub classname: String,
    pub name: String,
    pub result: Result,
}

/// A named group of checks.
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

/// The document: `<testsuites name=NAME>` with each suite's counts and cases.
pub fn render(name: &str, suites: &[Suite]) -> String {
    let count = |cases: &mut dyn Iterator<Item = &Case>, failed: bool| {
        cases
            .filter(|c| match c.result {
                Result::Failure { .. } => failed,
                Result::Skipped(_) => !failed,
                _ => false,
            })
            .count()
    };
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures = count(&mut suites.iter().flat_map(|s| &s.cases), true);
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"{name}\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\">"
    );
    for s in suites {
        let (f, skipped) = (
            count(&mut s.cases.iter(), true),
            count(&mut s.cases.iter(), false),
        );
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"{skipped}\">",
            s.name,
            s.cases.len()
        );
        for c in &s.cases {
            let _ = write!(
                o,
                "    <testcase classname=\"{}\" name=\"{}\"",
                c.classname,
                escape(&c.name)
            );
            let inner = match &c.result {
                Result::Pass => {
                    let _ = writeln!(o, " />");
                    continue;
                }
                Result::Out(text) => format!("<system-out>{}</system-out>", escape(text)),
                Result::Skipped(message) => format!("<skipped message=\"{}\" />", escape(message)),
                Result::Failure {
                    message,
                    kind,
                    detail,
                } => format!(
                    "<failure message=\"{}\" type=\"{kind}\">{}</failure>",
                    escape(message),
                    escape(detail)
                ),
            };
            let _ = writeln!(o, ">\n      {inner}\n    </testcase>");
        }
        let _ = writeln!(o, "  </testsuite>");
    }
    o.push_str("</testsuites>\n");
    o
}
