//! Nothing is ever lost (issue 9): a run killed with SIGKILL at any moment leaves the previous
//! complete run or none, never a partial one; an escaped panic exits 2 with a message.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cartsona;
use predicates::str::contains;

/// Every file of a run directory, by name.
fn snapshot(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    if !dir.exists() {
        return None;
    }
    Some(
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().to_string(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect(),
    )
}

fn segment_cmd(data: &Path, out: &Path, seed: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("cartsona"));
    cmd.args(["segment", "--quiet", "--force", "--seed", seed, "--carts"])
        .arg(data.join("carts.csv"))
        .arg("--orders")
        .arg(data.join("orders.csv"))
        .arg("--engagement")
        .arg(data.join("engagement.csv"))
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn complete_run(data: &Path, out: &Path, seed: &str) -> Duration {
    let start = Instant::now();
    let status = segment_cmd(data, out, seed).status().unwrap();
    assert!(status.success());
    start.elapsed()
}

#[test]
fn sigkill_at_any_moment_leaves_the_previous_run_or_none_never_a_partial_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cartsona()
        .args([
            "generate",
            "--quiet",
            "--shoppers",
            "8000",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&data)
        .assert()
        .success();
    let run = dir.path().join("run");
    // The two complete states: the previous run (seed 42) and the new one (seed 43).
    complete_run(&data, &run, "43");
    let new = snapshot(&run).unwrap();
    let took = complete_run(&data, &run, "42");
    let old = snapshot(&run).unwrap();
    assert_ne!(
        old, new,
        "the two runs must differ for the test to mean anything"
    );
    let mut outcomes = BTreeMap::new();
    // Kill points across the whole run, denser near the end where the files are written and
    // the directory is swapped.
    for frac in [
        0.02, 0.1, 0.25, 0.4, 0.55, 0.7, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98, 1.0, 1.03,
    ] {
        let mut child = segment_cmd(&data, &run, "43").spawn().unwrap();
        std::thread::sleep(took.mul_f64(frac));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let state = match snapshot(&run) {
            None => "none",
            Some(s) if s == old => "previous",
            Some(s) if s == new => "new",
            Some(s) => panic!(
                "killed at {frac} of the run: a partial run directory with {:?}",
                s.keys().collect::<Vec<_>>()
            ),
        };
        *outcomes.entry(state).or_insert(0) += 1;
        if state != "previous" {
            complete_run(&data, &run, "42");
        }
        // Whatever was left behind is hidden beside the run, never mistaken for a run.
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            assert!(
                ["data", "run"].contains(&name.as_str()) || name.starts_with(".run."),
                "unexpected {name}"
            );
        }
    }
    eprintln!("kill outcomes: {outcomes:?}");
    assert!(
        outcomes.get("previous").copied().unwrap_or(0) >= 5,
        "most kills land before the swap: {outcomes:?}"
    );
    // A rerun without --force into the existing run is refused and leaves it intact.
    cartsona()
        .args(["segment", "--carts"])
        .arg(data.join("carts.csv"))
        .arg("--out")
        .arg(&run)
        .assert()
        .code(2)
        .stderr(contains("already exists and is not empty; pass --force"));
    assert_eq!(snapshot(&run).unwrap(), old);
}

#[test]
fn an_escaped_panic_exits_2_with_a_message() {
    cartsona()
        .env("CARTSONA_TEST_PANIC", "1")
        .args(["init", "--out", "-"])
        .assert()
        .code(2)
        .stderr(contains(
            "error: internal error (this is a bug in cartsona, please report it)",
        ))
        .stderr(contains("CARTSONA_TEST_PANIC is set"));
}
