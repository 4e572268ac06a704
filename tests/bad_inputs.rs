//! Bad inputs: each gets its own clear message naming the file, line and column where they apply,
//! exit code 2, and no output file.

mod common;

use std::path::Path;

use common::{cartsona, fixture, list_dir};
use predicates::str::contains;
use tempfile::TempDir;

const CARTS_HEADER: &str = "customer_id,cart_id,updated_at,cart_value,device,checkout_step";

/// Writes `carts.csv` with the given body, runs `features` with `args`, and checks exit 2, the
/// message parts, and that no output was written.
fn fails_with(carts_body: &str, args: &[&str], expected: &[&str]) {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.csv"), carts_body).unwrap();
    let mut cmd = cartsona();
    cmd.current_dir(dir.path())
        .args(["features", "--carts", "carts.csv", "--out", "out.csv"])
        .args(args);
    let mut assert = cmd.assert().code(2);
    for e in expected {
        assert = assert.stderr(contains(*e));
    }
    let out = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert_eq!(out.lines().count(), 1, "one line of error: {out}");
    assert!(!out.contains("panicked"), "{out}");
    let files = list_dir(dir.path());
    assert_eq!(
        files,
        ["carts.csv"],
        "no output file may be left: {files:?}"
    );
}

fn carts(rows: &[&str]) -> String {
    format!("{CARTS_HEADER}\n{}\n", rows.join("\n"))
}

const GOOD: &str = "c1,k1,2025-02-01T00:00:00Z,10,mobile,cart";

#[test]
fn missing_file() {
    fails_with(
        &carts(&[GOOD]),
        &["--orders", "nope.csv"],
        &["--orders nope.csv: no such file"],
    );
}

#[test]
fn empty_file() {
    fails_with("", &[], &["carts.csv", "empty"]);
}

#[test]
fn missing_required_column() {
    fails_with(
        "customer_id,cart_id,updated_at\nc1,k1,2025-02-01\n",
        &[],
        &[
            "carts.csv: required carts column 'cart_value' is missing",
            "[columns.carts] cart_value",
        ],
    );
}

#[test]
fn negative_value() {
    fails_with(
        &carts(&[GOOD, "c2,k2,2025-02-01T00:00:00Z,-3,mobile,cart"]),
        &[],
        &["carts.csv: line 3, column cart_value: '-3' is negative"],
    );
}

#[test]
fn unparsable_timestamp() {
    fails_with(
        &carts(&[GOOD, "c2,k2,02/01/2025,3,mobile,cart"]),
        &[],
        &["carts.csv: line 3, column updated_at: '02/01/2025' is not a timestamp"],
    );
}

#[test]
fn non_numeric_value() {
    fails_with(
        &carts(&["c2,k2,2025-02-01,\"12,50\",mobile,cart"]),
        &[],
        &["line 2, column cart_value: '12,50' is not a number"],
    );
}

#[test]
fn nan_and_infinity() {
    fails_with(
        &carts(&["c2,k2,2025-02-01,NaN,mobile,cart"]),
        &[],
        &["line 2, column cart_value: 'NaN' is not a finite number"],
    );
    fails_with(
        &carts(&["c2,k2,2025-02-01,inf,mobile,cart"]),
        &[],
        &["line 2, column cart_value: 'inf' is not a finite number"],
    );
}

#[test]
fn unknown_device() {
    fails_with(
        &carts(&["c2,k2,2025-02-01,5,phone,cart"]),
        &[],
        &["line 2, column device: 'phone' is not a device"],
    );
}

#[test]
fn unknown_checkout_step() {
    fails_with(
        &carts(&["c2,k2,2025-02-01,5,mobile,confirm"]),
        &[],
        &["line 2, column checkout_step: 'confirm' is not a checkout step"],
    );
}

#[test]
fn empty_customer_id() {
    fails_with(
        &carts(&[GOOD, ",k2,2025-02-01,5,mobile,cart"]),
        &[],
        &["line 3, column customer_id: customer_id is empty"],
    );
}

#[test]
fn ragged_row() {
    fails_with(
        &carts(&[GOOD, "c2,k2,2025-02-01,5"]),
        &[],
        &["line 3", "the row has 4 fields but the header has 6"],
    );
}

/// Writes `body` (bytes, not text) as carts.csv, runs `features`, and checks exit 2 and `message`.
fn bytes_fail_with(body: Vec<u8>, message: &str) -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.csv"), body).unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", "carts.csv", "--out", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains(message));
    dir
}

#[test]
fn not_utf8() {
    let mut body = carts(&[GOOD]).into_bytes();
    body.extend_from_slice(b"c\xff2,k2,2025-02-01,5,mobile,cart\n");
    let dir = bytes_fail_with(
        body,
        "carts.csv: line 3, column customer_id: the value is not valid UTF-8",
    );
    assert!(!dir.path().join("out.csv").exists());
}

/// Records are checked for UTF-8 whole (issue 19): a character whose bytes are split by a
/// delimiter makes the record's bytes valid as one run, yet neither field is text. The first
/// field is named; a record of valid non-ASCII text still reads.
#[test]
fn a_character_split_across_two_fields_is_not_utf8() {
    let mut body = carts(&[GOOD, "c\u{e9}3,k\u{fc}3,2025-02-01,5,mobile,cart"]).into_bytes();
    body.extend_from_slice(b"c2\xc3,\xa9k2,2025-02-01,5,mobile,cart\n");
    assert!(std::str::from_utf8(
        &body
            .iter()
            .copied()
            .filter(|b| *b != b',')
            .collect::<Vec<_>>()
    )
    .is_ok());
    bytes_fail_with(
        body,
        "carts.csv: line 4, column customer_id: the value is not valid UTF-8",
    );
}

#[test]
fn duplicate_order_id_with_different_contents() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("orders.csv"), "customer_id,order_id,ordered_at,order_value\nc1,o1,2025-01-01,10\nc1,o1,2025-01-01,10\nc1,o1,2025-01-02,12\n").unwrap();
    let body = carts(&[GOOD]);
    std::fs::write(dir.path().join("carts.csv"), body).unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", "carts.csv", "--orders", "orders.csv", "--out", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains(
            "orders.csv: line 4, column order_id: order_id 'o1' appears again with different contents (first at orders.csv line 2)",
        ));
    assert!(!dir.path().join("out.csv").exists());
}

/// The order ids seen are kept in a table of cartsona's own since issue 33 (`ingest::seen`):
/// enough orders, over three files read without a row count, that it grows several times and
/// its lookups run in many windows; an identical repeat of the first file's order is counted
/// once, a conflicting repeat of the second file's names that file and line (expected by hand:
/// o4500 is the second file's 1,501st row, on line 1,502).
#[test]
fn repeated_order_ids_across_three_files_name_their_first_place() {
    let dir = TempDir::new().unwrap();
    let order = |i: usize, value: usize| format!("c{},o{i},2025-01-01,{value}\n", i % 50);
    let file = |rows: &[String]| {
        format!(
            "customer_id,order_id,ordered_at,order_value\n{}",
            rows.concat()
        )
    };
    let a: Vec<String> = (0..3000).map(|i| order(i, i)).collect();
    let b: Vec<String> = (3000..6000).map(|i| order(i, i)).collect();
    let mut c = vec![order(10, 10), order(4500, 1)];
    c.extend((6000..7000).map(|i| order(i, i)));
    for (name, rows) in [
        ("orders-a.csv", &a),
        ("orders-b.csv", &b),
        ("orders-c.csv", &c),
    ] {
        std::fs::write(dir.path().join(name), file(rows)).unwrap();
    }
    std::fs::write(dir.path().join("carts.csv"), carts(&[GOOD])).unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["validate", "--carts", "carts.csv"])
        .args(["--orders", "orders-a.csv", "--orders", "orders-b.csv", "--orders", "orders-c.csv"])
        .assert()
        .code(1)
        .stdout(contains("orders-a.csv (orders): 3000 rows read, 0 rejected"))
        .stdout(contains("orders-b.csv (orders): 3000 rows read, 0 rejected"))
        .stdout(contains("orders-c.csv (orders): 1002 rows read, 1 rejected"))
        .stdout(contains(
            "line 3, column order_id: order_id 'o4500' appears again with different contents (first at orders-b.csv line 1502)",
        ))
        .stdout(contains(
            "1 rows repeat an order_id with identical contents and were counted once",
        ));
}

#[test]
fn glob_that_matches_nothing() {
    fails_with(
        &carts(&[GOOD]),
        &["--orders", "orders-*.csv"],
        &["--orders orders-*.csv: the pattern matches no file"],
    );
}

#[test]
fn wrong_delimiter() {
    fails_with(
        &carts(&[GOOD]).replace(',', ";"),
        &[],
        &[
            "carts.csv: the header has one column 'customer_id;cart_id;",
            "pass --delimiter (now ',')",
        ],
    );
}

#[test]
fn unknown_file_type() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.xlsx"), "x").unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", "carts.xlsx", "--out", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains(
            "--carts carts.xlsx: unknown file type; name it .csv, .csv.gz or .parquet",
        ));
}

#[test]
fn bad_duration_flag() {
    fails_with(
        &carts(&[GOOD]),
        &["--abandon-after", "24"],
        &["--abandon-after: '24' has no unit"],
    );
    fails_with(
        &carts(&[GOOD]),
        &["--lookback", "1h"],
        &["--lookback (1h) must be longer than the default of --abandon-after (1d)"],
    );
}

#[test]
fn bad_as_of() {
    fails_with(
        &carts(&[GOOD]),
        &["--as-of", "last month"],
        &["--as-of 'last month': not a timestamp"],
    );
}

#[test]
fn truncated_parquet() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.parquet"), b"PAR1\x00\x00garbage").unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", "carts.parquet", "--out", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains("carts.parquet: not a readable Parquet file"));
    assert!(!dir.path().join("out.csv").exists());
}

#[test]
fn config_with_an_unknown_key() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.csv"), carts(&[GOOD])).unwrap();
    std::fs::write(
        dir.path().join("cartsona.toml"),
        "[features]\nlookbak = \"30d\"\n",
    )
    .unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", "carts.csv", "--out", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains("cartsona.toml"))
        .stderr(contains("unknown field `lookbak`"));
    assert!(!dir.path().join("out.csv").exists());
}

#[test]
fn mapping_names_an_unknown_canonical_column() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.csv"), carts(&[GOOD])).unwrap();
    std::fs::write(
        dir.path().join("cartsona.toml"),
        "[columns.carts]\ncustomer = \"Email\"\n",
    )
    .unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", "carts.csv", "--out", "out.csv"])
        .assert()
        .code(2)
        .stderr(contains("[columns.carts] customer: not a carts column"));
}

#[test]
fn out_under_a_file() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.csv"), carts(&[GOOD])).unwrap();
    cartsona()
        .current_dir(dir.path())
        .args([
            "features",
            "--carts",
            "carts.csv",
            "--out",
            "carts.csv/out.csv",
        ])
        .assert()
        .code(2)
        .stderr(contains(
            "--out carts.csv/out.csv: cannot create the directory carts.csv",
        ));
    assert_eq!(list_dir(dir.path()), ["carts.csv"]);
}

#[test]
fn out_in_a_missing_directory_is_created() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.csv"), carts(&[GOOD])).unwrap();
    cartsona()
        .current_dir(dir.path())
        .args([
            "features",
            "--carts",
            "carts.csv",
            "--as-of",
            "2025-03-01",
            "--out",
            "new/dir/out.csv",
        ])
        .assert()
        .success();
    assert!(dir.path().join("new/dir/out.csv").is_file());
}

#[test]
fn empty_sum_is_not_negative_zero() {
    // Regression: an empty f64 sum is -0.0 in Rust, which printed "value at stake -0.00".
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("carts.csv"),
        carts(&["c1,k1,2025-02-28T12:00:00Z,10,mobile,cart"]),
    )
    .unwrap();
    cartsona()
        .current_dir(dir.path())
        .args([
            "features",
            "--carts",
            "carts.csv",
            "--as-of",
            "2025-03-01",
            "--out",
            "out.csv",
        ])
        .assert()
        .success()
        .stdout(contains(
            "0 abandoners of 1 customers, value at stake 0.00;",
        ));
    let summary = std::fs::read_to_string(dir.path().join("out.summary.json")).unwrap();
    assert!(summary.contains("\"value_at_stake\": 0.0,"), "{summary}");
}

#[test]
fn usage_error_exits_2() {
    cartsona().args(["features", "--carts"]).assert().code(2);
    cartsona().args(["frobnicate"]).assert().code(2);
}

#[test]
fn skip_drops_bad_rows_counts_them_and_says_so() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("carts.csv"),
        carts(&[
            GOOD,
            "c2,k2,2025-02-01,-3,mobile,cart",
            "c3,k3,yesterday,5,mobile,cart",
            "c4,k4,2025-02-01,5,mobile,cart",
        ]),
    )
    .unwrap();
    cartsona()
        .current_dir(dir.path())
        .args([
            "features",
            "--carts",
            "carts.csv",
            "--out",
            "out.csv",
            "--on-bad-rows",
            "skip",
            "--as-of",
            "2025-03-01",
        ])
        .assert()
        .success()
        .stderr(contains(
            "carts.csv: skipped 2 of 4 rows (1 bad_timestamp, 1 negative)",
        ));
    let rows = common::read_csv(&dir.path().join("out.csv"));
    assert_eq!(rows.len(), 2);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out.summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["rows_rejected"], 2);
    assert_eq!(summary["on_bad_rows"], "skip");
    assert_eq!(summary["inputs"][0]["problems"][1]["reason"], "negative");
    assert_eq!(
        summary["inputs"][0]["problems"][1]["examples"][0]["line"],
        3
    );
}

#[test]
fn validate_lists_every_problem_and_exits_1() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("carts.csv"),
        carts(&[
            GOOD,
            "c2,k2,2025-02-01,-3,mobile,cart",
            "c3,k3,yesterday,5,mobile,cart",
            "c4,k4,2025-02-01,5,phone,cart",
        ]),
    )
    .unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["validate", "--carts", "carts.csv"])
        .assert()
        .code(1)
        .stdout(contains("carts.csv (carts): 4 rows read, 3 rejected"))
        .stdout(contains("line 3, column cart_value: '-3' is negative"))
        .stdout(contains(
            "line 4, column updated_at: 'yesterday' is not a timestamp",
        ))
        .stdout(contains("line 5, column device: 'phone' is not a device"))
        .stdout(contains("problems: 3 bad rows in 1 of 1 files"));
    let out = cartsona()
        .current_dir(dir.path())
        .args(["validate", "--json", "--carts", "carts.csv"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["rows_rejected"], 3);
    assert_eq!(json["files"][0]["problems"].as_array().unwrap().len(), 3);
}

#[test]
fn validate_clean_inputs_exit_0() {
    let d = fixture("features");
    cartsona()
        .arg("validate")
        .arg("--carts")
        .arg(d.join("carts.csv"))
        .arg("--orders")
        .arg(d.join("orders.csv"))
        .arg("--engagement")
        .arg(d.join("engagement.csv"))
        .assert()
        .success()
        .stdout(contains("ok: no problems in 3 files"))
        .stdout(contains(
            "note: 1 rows with unknown event_type 'wishlist_add'",
        ));
}

#[test]
fn validate_cannot_run_exits_2() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("carts.csv"), "customer_id,cart_id\nc1,k1\n").unwrap();
    cartsona()
        .current_dir(dir.path())
        .args(["validate", "--carts", "carts.csv"])
        .assert()
        .code(2)
        .stderr(contains("required carts column 'updated_at' is missing"));
    let _ = Path::new(".");
}
