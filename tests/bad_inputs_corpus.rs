//! The bad-input corpus (issue 9): every directory in tests/bad_inputs/ is one case, with its
//! input files and a case.toml giving the arguments, the documented exit code and the words its
//! message must contain. Each case runs the real binary in a fresh directory holding the case's
//! files, and must also: never panic; on exit 2, print exactly one `error:` line; leave none of
//! the outputs named in `absent` and no hidden partial directory behind.
//!
//! Files that are better made than stored (a 10 MB field, Parquet) come from `make` below.

mod common;

use std::path::{Path, PathBuf};

use common::cartsona;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    args: Vec<String>,
    exit: i32,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    setup: Vec<Vec<String>>,
    make: Option<String>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

const HEADER: &str = "customer_id,cart_id,updated_at,cart_value,device,checkout_step";

fn make(what: &str, dir: &Path) {
    use polars::prelude::*;
    match what {
        "ten_mb_field" => {
            let big = "9".repeat(5 * 1024 * 1024) + &"x".repeat(5 * 1024 * 1024);
            std::fs::write(
                dir.join("carts.csv"),
                format!("{HEADER}\nc1,k1,2025-02-01T00:00:00Z,{big},mobile,cart\n"),
            )
            .unwrap();
        }
        "parquet_int_timestamp" | "truncated_parquet" => {
            let mut df = df!(
                "customer_id" => ["c1", "c2"],
                "cart_id" => ["k1", "k2"],
                "updated_at" => [1_738_368_000i64, 1_738_368_060],
                "cart_value" => [10.0, 12.5],
            )
            .unwrap();
            let path = dir.join("carts.parquet");
            ParquetWriter::new(std::fs::File::create(&path).unwrap())
                .finish(&mut df)
                .unwrap();
            if what == "truncated_parquet" {
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
            }
        }
        other => panic!("unknown make step {other}"),
    }
}

fn copy_files(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "case.toml" {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn run_case(name: &str, case_dir: &Path) -> Result<(), String> {
    let case: Case = toml::from_str(&std::fs::read_to_string(case_dir.join("case.toml")).unwrap())
        .map_err(|e| format!("case.toml: {e}"))?;
    let dir = tempfile::tempdir().unwrap();
    copy_files(case_dir, dir.path());
    if let Some(m) = &case.make {
        make(m, dir.path());
    }
    let repo = env!("CARGO_MANIFEST_DIR");
    let fill = |args: &[String]| -> Vec<String> {
        args.iter().map(|a| a.replace("{repo}", repo)).collect()
    };
    for step in &case.setup {
        let out = cartsona()
            .current_dir(dir.path())
            .args(fill(step))
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(format!(
                "setup {step:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let before: Vec<String> = common::list_dir(dir.path());
    let out = cartsona()
        .current_dir(dir.path())
        .args(fill(&case.args))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = out.status.code();
    if code != Some(case.exit) {
        return Err(format!(
            "exit {code:?}, expected {}; stderr: {stderr}",
            case.exit
        ));
    }
    if stderr.contains("panicked") || stderr.contains("internal error") {
        return Err(format!("a panic: {stderr}"));
    }
    for w in &case.stderr {
        if !stderr.contains(w.as_str()) {
            return Err(format!("stderr lacks '{w}': {stderr}"));
        }
    }
    for w in &case.stdout {
        if !stdout.contains(w.as_str()) {
            return Err(format!("stdout lacks '{w}': {stdout}"));
        }
    }
    if case.exit == 2 {
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        if errors.len() != 1 || !stderr.trim_end().ends_with(errors[0]) {
            return Err(format!("expected one error line, last: {stderr}"));
        }
        if errors[0].len() > 1_000 {
            return Err(format!("the message is {} bytes long", errors[0].len()));
        }
    }
    for a in &case.absent {
        if dir.path().join(a).exists() {
            return Err(format!("{a} was left behind"));
        }
    }
    let after = common::list_dir(dir.path());
    for f in after.iter().filter(|f| !before.contains(f)) {
        if f.starts_with('.') {
            return Err(format!("a hidden file or directory was left behind: {f}"));
        }
    }
    let _ = name;
    Ok(())
}

#[test]
fn every_bad_input_gets_its_documented_exit_code_and_message() {
    let mut names: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| corpus().join(n).join("case.toml").is_file())
        .collect();
    names.sort();
    assert!(names.len() >= 30, "the corpus has {} cases", names.len());
    let failures: Vec<String> = names
        .iter()
        .filter_map(|n| {
            run_case(n, &corpus().join(n))
                .err()
                .map(|e| format!("{n}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
