//! Rendered reports: report.html is self-contained and says what summary.json says; report.md is
//! pinned by a snapshot.

mod common;

use std::path::Path;

use common::{cartsona, segment};
use scraper::{Html, Selector};
use tempfile::TempDir;

fn sample_run(dir: &Path) -> std::path::PathBuf {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    segment(dir, &data, "run", &["--quiet"])
}

fn parse_money(s: &str) -> f64 {
    s.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("'{s}' is not money"))
}

#[test]
fn html_is_self_contained_and_matches_the_summary() {
    let dir = TempDir::new().unwrap();
    let run = sample_run(dir.path());
    let text = std::fs::read_to_string(run.join("report.html")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let doc = Html::parse_document(&text);
    assert!(doc.errors.len() < 5, "HTML5 parse errors: {:?}", doc.errors);

    // Nothing to fetch: no script, no stylesheet link, no external URL in any attribute or style.
    assert_eq!(doc.select(&Selector::parse("script").unwrap()).count(), 0);
    assert_eq!(doc.select(&Selector::parse("link").unwrap()).count(), 0);
    for el in doc.select(&Selector::parse("*").unwrap()) {
        for (name, value) in el.value().attrs() {
            let v = value.trim().to_ascii_lowercase();
            assert!(
                !(v.starts_with("http:")
                    || v.starts_with("https:")
                    || v.starts_with("//")
                    || v.contains("url(http")),
                "external reference in {name}={value}"
            );
        }
    }
    assert!(!text.contains("@import"), "no CSS import");
    // Charts are inline SVG.
    assert!(doc.select(&Selector::parse("svg").unwrap()).count() >= 5);

    // The numbers on the page are summary.json's.
    let one = |key: &str| -> String {
        let sel = Selector::parse(&format!("[data-key=\"{key}\"]")).unwrap();
        doc.select(&sel)
            .next()
            .unwrap_or_else(|| panic!("no {key}"))
            .text()
            .collect::<String>()
    };
    assert_eq!(one("abandoners"), summary["abandoners"].to_string());
    assert_eq!(one("customers"), summary["customers"].to_string());
    assert_eq!(one("chosen_k"), summary["chosen_k"].to_string());
    assert_eq!(
        one("abandoned_carts"),
        summary["abandoned_carts"].to_string()
    );
    assert!(
        (parse_money(&one("value_at_stake")) - summary["value_at_stake"].as_f64().unwrap()).abs()
            < 0.005
    );
    for p in summary["personas"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let get = |key: &str| -> String {
            let sel =
                Selector::parse(&format!("[data-key=\"{key}\"][data-persona=\"{id}\"]")).unwrap();
            doc.select(&sel)
                .next()
                .unwrap_or_else(|| panic!("no {key} for {id}"))
                .text()
                .collect::<String>()
        };
        assert_eq!(get("size"), p["size"].to_string());
        let share: f64 = get("share").trim_end_matches('%').parse().unwrap();
        assert!(
            (share - p["share"].as_f64().unwrap() * 100.0).abs() <= 0.05 + 1e-9,
            "{id} share"
        );
        assert!(
            (parse_money(&get("persona_value_at_stake")) - p["value_at_stake"].as_f64().unwrap())
                .abs()
                < 0.005
        );
        // Every persona has a card with its name, evidence and play.
        let card = doc
            .select(&Selector::parse(&format!("article#{id}")).unwrap())
            .next()
            .expect("card");
        let card_text: String = card.text().collect();
        assert!(card_text.contains(p["name"].as_str().unwrap()));
        assert!(card_text.contains(p["play"]["offer"].as_str().unwrap()));
    }
    for (i, f) in summary["inputs"].as_array().unwrap().iter().enumerate() {
        let sel = Selector::parse(&format!("[data-key=\"rows_read\"][data-file=\"{i}\"]")).unwrap();
        assert_eq!(
            doc.select(&sel).next().unwrap().text().collect::<String>(),
            f["rows_read"].to_string()
        );
    }
}

#[test]
fn markdown_report_snapshot() {
    // The planted three-group fixture of tests/segment.rs, as of a fixed date: every number is fixed.
    let dir = TempDir::new().unwrap();
    common::planted(dir.path());
    let data = dir.path().to_path_buf();
    let run = dir.path().join("run");
    cartsona()
        .current_dir(&data)
        .args([
            "segment",
            "--quiet",
            "--carts",
            "carts.csv",
            "--orders",
            "orders.csv",
            "--engagement",
            "engagement.csv",
        ])
        .args(["--as-of", "2025-03-01T00:00:00Z", "--out"])
        .arg(&run)
        .assert()
        .success();
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    insta::assert_snapshot!("report_md_planted", md);
}

#[test]
fn no_progress_when_stderr_is_not_a_terminal() {
    // As under cron: stderr is a pipe. Nothing on stderr for a clean run; stdout ends with the files.
    let dir = TempDir::new().unwrap();
    common::planted(dir.path());
    let out = cartsona()
        .current_dir(dir.path())
        .args([
            "segment",
            "--carts",
            "carts.csv",
            "--orders",
            "orders.csv",
            "--engagement",
            "engagement.csv",
        ])
        .args(["--as-of", "2025-03-01", "--out", "run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("warning: ") || l.starts_with("note: ")),
        "{stderr}"
    );
    assert!(!stderr.contains("done "), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().last().unwrap(),
        "wrote assignments.csv, personas.csv, model.json, summary.json, report.md, report.html to run"
    );
}
