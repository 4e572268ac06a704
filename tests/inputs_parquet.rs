//! Typed Parquet (issue 19): values read as the types a warehouse writes (timestamps of any unit and
//! zone, dates, integer epochs, integer ids, DECIMAL amounts, dictionary strings, nulls, several
//! row groups) give exactly what their text gives through the CSV path, and bad values are named
//! by file, row within the file and column. The fixtures and their CSV twins are written by
//! tests/data/parquet/make.py (pyarrow): the text is worked out there, not by cartsona.

mod common;

use common::{cartsona, fixture};

fn typed(name: &str) -> String {
    fixture("parquet/typed").join(name).display().to_string()
}

fn features(dir: &std::path::Path, ext: &str, config: Option<&str>) -> Vec<u8> {
    let out = dir.join(format!("features-{ext}.csv"));
    let mut cmd = cartsona();
    cmd.current_dir(dir).args([
        "features",
        "--carts",
        &typed(&format!("carts.{ext}")),
        "--orders",
        &typed(&format!("orders.{ext}")),
        "--engagement",
        &typed(&format!("engagement.{ext}")),
        "--as-of",
        "2025-03-05",
        "--out",
        out.to_str().unwrap(),
    ]);
    if let Some(c) = config {
        cmd.args(["--config", c]);
    }
    cmd.assert().success();
    std::fs::read(out).unwrap()
}

/// Time zones (America/New_York), nanoseconds truncated, zone-less milliseconds read as UTC,
/// DATE, Unix milliseconds under `[columns] epochs`, INT64 ids, DECIMAL and INT64 amounts,
/// INT32 counts with nulls, dictionary strings, row groups of 5: the features of the Parquet
/// files equal those of their CSV twins byte for byte.
#[test]
fn typed_parquet_gives_the_features_of_its_csv_text() {
    let dir = tempfile::tempdir().unwrap();
    let config = typed("cartsona.toml");
    let from_csv = features(dir.path(), "csv", Some(&config));
    let from_parquet = features(dir.path(), "parquet", Some(&config));
    let text = String::from_utf8(from_csv.clone()).unwrap();
    // 14 customers with carts; the file is not trivially empty.
    assert!(text.lines().count() > 5, "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with("10"), "{text}");
    assert_eq!(String::from_utf8(from_parquet).unwrap(), text);
}

/// The validator sees every row: nothing rejected, every row counted, in both forms.
#[test]
fn typed_parquet_validates_every_row() {
    for ext in ["csv", "parquet"] {
        let out = cartsona()
            .args([
                "validate",
                "--config",
                &typed("cartsona.toml"),
                "--carts",
                &typed(&format!("carts.{ext}")),
                "--orders",
                &typed(&format!("orders.{ext}")),
                "--engagement",
                &typed(&format!("engagement.{ext}")),
            ])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.contains("(carts): 40 rows read, 0 rejected"), "{text}");
        assert!(
            text.contains("(orders): 30 rows read, 0 rejected"),
            "{text}"
        );
        assert!(
            text.contains("(engagement): 60 rows read, 0 rejected"),
            "{text}"
        );
    }
}

fn bad(name: &str) -> String {
    fixture("parquet/bad").join(name).display().to_string()
}

fn carts_only(extra: &[&str], carts: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let orders = dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        "customer_id,order_id,ordered_at,order_value\nc1,o1,2025-01-02,5\n",
    )
    .unwrap();
    // `features` stops at the first bad row (exit 2); `validate` would list them all (exit 1).
    let out = cartsona()
        .current_dir(dir.path())
        .args([
            "features",
            "--carts",
            carts,
            "--orders",
            orders.to_str().unwrap(),
        ])
        .args(["--as-of", "2025-03-01", "--out", "features.csv"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A negative DECIMAL amount in the second row group: named by its row within the file (8),
/// its column and its value; `--on-bad-rows skip` drops that row only.
#[test]
fn a_bad_parquet_decimal_names_its_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let carts = dir.path().join("carts.csv");
    std::fs::write(
        &carts,
        "customer_id,cart_id,updated_at,cart_value\nc1,k1,2025-01-02,5\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        cartsona()
            .current_dir(dir.path())
            .args([
                "validate",
                "--carts",
                carts.to_str().unwrap(),
                "--orders",
                &bad("orders-negative.parquet"),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    // validate lists every problem (exit 1): the one bad row, with its row and column.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(orders): 12 rows read, 1 rejected"),
        "{text}"
    );
    assert!(text.contains("line 8"), "{text}");
    assert!(text.contains("order_value"), "{text}");
    // features stops at it (exit 2) and names file, row, column and value.
    let (code, err) = carts_only(&[], carts.to_str().unwrap());
    assert_eq!(code, 0, "{err}");
    let features = cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", carts.to_str().unwrap()])
        .args(["--orders", &bad("orders-negative.parquet")])
        .args(["--as-of", "2025-03-01", "--out", "f.csv"])
        .output()
        .unwrap();
    assert_eq!(features.status.code(), Some(2));
    let err = String::from_utf8_lossy(&features.stderr);
    assert!(
        err.contains("orders-negative.parquet: line 8, column order_value: '-5' is negative"),
        "{err}"
    );
}

/// A placeholder timestamp (1970-01-01, zone-less microseconds) in the third row group.
#[test]
fn a_placeholder_parquet_timestamp_names_its_row() {
    let (code, err) = carts_only(&[], &bad("carts-placeholder.parquet"));
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "carts-placeholder.parquet: line 11, column updated_at: '1970-01-01T00:00:00Z' is before 1990"
        ),
        "{err}"
    );
}

/// Integer timestamps are refused until `[columns] epochs` names their unit, and then read.
#[test]
fn integer_timestamps_need_their_unit() {
    let (code, err) = carts_only(&[], &bad("carts-epochs.parquet"));
    assert_eq!(code, 2);
    assert!(
        err.contains("carts-epochs.parquet: line 1, column updated_at: '1735689600' is an integer, not a timestamp")
            && err.contains("[columns] epochs"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cartsona.toml");
    std::fs::write(&config, "[columns]\nepochs = \"s\"\n").unwrap();
    let (code, err) = carts_only(
        &["--config", config.to_str().unwrap()],
        &bad("carts-epochs.parquet"),
    );
    assert_eq!(code, 0, "{err}");
    std::fs::write(&config, "[columns]\nepochs = \"minutes\"\n").unwrap();
    let (code, err) = carts_only(
        &["--config", config.to_str().unwrap()],
        &bad("carts-epochs.parquet"),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("[columns] epochs 'minutes': not a unit"),
        "{err}"
    );
}

/// CSV digits in a timestamp column: the same rule (refused without a unit, read with one).
#[test]
fn csv_digits_in_a_timestamp_column_need_their_unit() {
    let dir = tempfile::tempdir().unwrap();
    let carts = dir.path().join("carts.csv");
    std::fs::write(
        &carts,
        "customer_id,cart_id,updated_at,cart_value\nc1,k1,1735689600000,5\n",
    )
    .unwrap();
    let (code, err) = carts_only(&[], carts.to_str().unwrap());
    assert_eq!(code, 2);
    assert!(
        err.contains("line 2, column updated_at: '1735689600000' is a number, not a timestamp"),
        "{err}"
    );
    let config = dir.path().join("cartsona.toml");
    std::fs::write(&config, "[columns]\nepochs = \"ms\"\n").unwrap();
    let (code, err) = carts_only(
        &["--config", config.to_str().unwrap()],
        carts.to_str().unwrap(),
    );
    assert_eq!(code, 0, "{err}");
}
