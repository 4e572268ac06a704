//! What every command leaves on disk, whatever it writes: ordinary permissions, and no
//! configuration that stops the command meant to repair it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{cartsona, fixture};

/// The mode bits of `path` (permission bits only).
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and directory under `path` (itself included) with its mode.
fn modes(path: &Path) -> Vec<(String, u32)> {
    let mut out = vec![(path.display().to_string(), mode(path))];
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            out.extend(modes(&e));
        }
    }
    out
}

/// Regression: `features --out` wrote its file 0600 and run directories were 0700 (the modes of
/// the temporary file and directory renamed into place). Under the umask 022 the tests run with,
/// every output of every writing command must be 0644 (files) or 0755 (directories).
#[test]
fn features_out_was_written_0600_every_output_has_ordinary_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    let carts = data.join("carts.csv");
    let orders = data.join("orders.csv");
    let engagement = data.join("engagement.csv");
    let inputs = |cmd: &mut assert_cmd::Command| {
        cmd.arg("--carts")
            .arg(&carts)
            .arg("--orders")
            .arg(&orders)
            .arg("--engagement")
            .arg(&engagement);
    };
    let run = |args: &[&str], with_inputs: bool| {
        let mut cmd = cartsona();
        cmd.current_dir(d).arg("--quiet").args(args);
        if with_inputs {
            inputs(&mut cmd);
        }
        cmd.assert().success();
    };
    run(&["features", "--out", "f/features.csv"], true);
    run(
        &[
            "features",
            "--emit-sql",
            "duckdb",
            "--as-of",
            "2025-01-31",
            "--out",
            "q.sql",
        ],
        false,
    );
    run(&["segment", "--k", "2", "--out", "run"], true);
    run(
        &["assign", "--model", "run/model.json", "--out", "assigned"],
        true,
    );
    run(
        &[
            "drift",
            "--baseline",
            "run",
            "--current",
            "assigned",
            "--out",
            "drift",
        ],
        false,
    );
    run(
        &[
            "generate",
            "--shoppers",
            "20",
            "--months",
            "2",
            "--out",
            "gen",
        ],
        false,
    );
    run(&["init", "--out", "init/cartsona.toml"], false);
    let events = fixture("real").join("rees46-2019-10-01-head.csv");
    cartsona()
        .current_dir(d)
        .args(["--quiet", "convert", "--preset", "rees46", "--events"])
        .arg(&events)
        .args(["--out", "converted"])
        .assert()
        .success();
    let mut wrong = Vec::new();
    let mut seen = 0;
    for top in [
        "f",
        "q.sql",
        "run",
        "assigned",
        "drift",
        "gen",
        "init",
        "converted",
    ] {
        for (path, m) in modes(&d.join(top)) {
            seen += 1;
            let want = if Path::new(&path).is_dir() {
                0o755
            } else {
                0o644
            };
            if m != want {
                wrong.push(format!("{path}: {m:o}, not {want:o}"));
            }
        }
    }
    assert!(seen > 25, "only {seen} outputs checked");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Regression: a broken cartsona.toml in the working directory stopped every command, even
/// `cartsona init --force`, the one that rewrites it.
#[test]
fn init_force_rewrote_nothing_with_a_broken_config_now_it_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("cartsona.toml");
    std::fs::write(&toml, "[segment]\nk_mni = 3\n").unwrap();
    // Other commands still refuse the broken file, naming it.
    cartsona()
        .current_dir(dir.path())
        .args(["validate", "--carts"])
        .arg(fixture("features").join("carts.csv"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cartsona.toml"))
        .stderr(predicates::str::contains("k_mni"));
    cartsona()
        .current_dir(dir.path())
        .args(["--quiet", "init", "--force"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(!text.contains("k_mni"), "{text}");
    assert!(text.contains("[segment]"), "{text}");
    // The rewritten file is valid: validate reads it without complaint.
    cartsona()
        .current_dir(dir.path())
        .args(["--quiet", "validate", "--carts"])
        .arg(fixture("features").join("carts.csv"))
        .assert()
        .success();
}
