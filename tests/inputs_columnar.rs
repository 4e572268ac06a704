//! Parquet checked column by column (issue 33): every kind of column a warehouse writes reaches the
//! same values as its CSV text, problems are named by the row within the file and the column
//! wherever they lie (a later row group, the second slice of a row group larger than one slice),
//! columns cartsona does not read are ignored, and runs are byte-identical between CSV and
//! Parquet and on 1 and 2 threads. Fixtures: tests/data/parquet/make.py (pyarrow; the CSV text is
//! worked out there) and, for the large row group, polars here.

mod common;

use common::{cartsona, fixture};
use polars::prelude::*;

fn columnar(name: &str) -> String {
    fixture("parquet/columnar").join(name).display().to_string()
}

fn features(dir: &std::path::Path, carts: &str, out: &str) -> Vec<u8> {
    let out = dir.join(out);
    cartsona()
        .current_dir(dir)
        .args(["features", "--carts", carts, "--as-of", "2025-02-01"])
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    std::fs::read(out).unwrap()
}

/// LARGE_STRING ids, a dictionary column with nulls, blanks around an enumeration, seconds in a
/// time zone, zone-less nanoseconds (truncated) with nulls, FLOAT32 amounts, INT16 counts with
/// nulls, row groups of 5, and four columns cartsona does not read: the features equal those of
/// the CSV twin byte for byte.
#[test]
fn every_kind_of_parquet_column_gives_what_its_csv_text_gives() {
    let dir = tempfile::tempdir().unwrap();
    let csv = features(dir.path(), &columnar("carts-wide.csv"), "csv.csv");
    let parquet = features(dir.path(), &columnar("carts-wide.parquet"), "pq.csv");
    assert_eq!(
        String::from_utf8(csv.clone()).unwrap(),
        String::from_utf8(parquet).unwrap()
    );
    // 9 customers with carts, one row each (none ordered: all abandoned).
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 10);
    let out = cartsona()
        .args(["validate", "--carts", &columnar("carts-wide.parquet")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("(carts): 23 rows read, 0 rejected"), "{text}");
}

/// Three bad values in the third row group, each named by its row within the file, its column
/// and its value, with the CSV path's messages; the first stops a run, `skip` drops the three.
#[test]
fn bad_values_in_the_third_row_group_are_named_by_row_and_column() {
    let bad = columnar("carts-bad.parquet");
    let out = cartsona()
        .args(["validate", "--carts", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "(carts): 15 rows read, 3 rejected",
        "line 11, column device: 'phone' is not a device",
        "line 13, column item_count: '-2' is negative",
        "line 15, column cart_value: cart_value is empty; it is required",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", &bad, "--as-of", "2025-01-03"])
        .args(["--out", "f.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("carts-bad.parquet: line 11, column device: 'phone' is not a device"),
        "{err}"
    );
    let out = cartsona()
        .current_dir(dir.path())
        .args(["features", "--carts", &bad, "--as-of", "2025-01-03"])
        .args(["--out", "f.csv", "--on-bad-rows", "skip"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // c0..c14 less the three dropped rows' customers.
    let table = std::fs::read_to_string(dir.path().join("f.csv")).unwrap();
    assert_eq!(table.lines().count(), 1 + 12);
    assert!(!table.contains("\nc10,") && !table.contains("\nc12,") && !table.contains("\nc14,"));
}

/// Rows of the Parquet slices in src/io/read.rs (PARQUET_SLICE).
const SLICE: usize = 1 << 18;

/// One row group of 300,000 rows is decoded in two slices; a negative amount in the second slice
/// is named by its row within the file on 1 and 2 threads, and every row is counted.
#[test]
fn a_row_group_larger_than_a_slice_names_its_rows_within_the_file() {
    let n = 300_000usize;
    let bad = SLICE + 7_855; // 0-based: row 270,000 of the file, line 270,000 + 1
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carts.parquet");
    let values: Vec<f64> = (0..n)
        .map(|i| {
            if i == bad {
                -1.0
            } else {
                5.0 + (i % 40) as f64
            }
        })
        .collect();
    let times: Vec<i64> = (0..n)
        .map(|i| 1_735_689_600_000_000 + (i as i64 % 86_400) * 1_000_000)
        .collect();
    let mut df = DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            (0..n)
                .map(|i| format!("c{}", i % 5_000))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "cart_id".into(),
            (0..n).map(|i| format!("k{i}")).collect::<Vec<_>>(),
        ),
        Column::new("updated_at".into(), times)
            .cast(&DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            ))
            .unwrap(),
        Column::new("cart_value".into(), values),
    ])
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .with_row_group_size(Some(n))
        .finish(&mut df)
        .unwrap();
    for threads in ["1", "2"] {
        let out = cartsona()
            .env("RAYON_NUM_THREADS", threads)
            .args(["validate", "--carts"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("(carts): 300000 rows read, 1 rejected"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "line {}, column cart_value: '-1' is negative",
                bad + 1
            )),
            "{text}"
        );
    }
}

/// A generated shop (3 files, several row groups of engagement) as CSV and as Parquet, segmented
/// on 1 and 2 threads: assignments, model and personas byte-identical across all four runs.
#[test]
fn csv_and_parquet_runs_are_byte_identical_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    for (format, out) in [("csv", "shop-csv"), ("parquet", "shop-pq")] {
        cartsona()
            .current_dir(dir.path())
            .args(["generate", "--shoppers", "6000", "--seed", "7", "--quiet"])
            .args(["--format", format, "--out", out])
            .assert()
            .success();
    }
    let run = |shop: &str, ext: &str, threads: &str| {
        let out = format!("run-{ext}-{threads}");
        let file = |name: &str| format!("{shop}/{name}.{ext}");
        cartsona()
            .current_dir(dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .env("POLARS_MAX_THREADS", threads)
            .args(["segment", "--quiet", "--carts", &file("carts")])
            .args([
                "--orders",
                &file("orders"),
                "--engagement",
                &file("engagement"),
            ])
            .args(["--out", &out])
            .assert()
            .success();
        dir.path().join(out)
    };
    let first = run("shop-csv", "csv", "1");
    let others = [
        run("shop-csv", "csv", "2"),
        run("shop-pq", "parquet", "1"),
        run("shop-pq", "parquet", "2"),
    ];
    for f in ["assignments.csv", "model.json", "personas.csv"] {
        let a = std::fs::read(first.join(f)).unwrap();
        assert!(a.len() > 1_000, "{f}");
        for other in &others {
            assert!(
                a == std::fs::read(other.join(f)).unwrap(),
                "{f} differs: {}",
                other.display()
            );
        }
    }
}

/// Regression (issue 33): a count stored as INT16 (a warehouse's SMALLINT) or UINT8 (TINYINT
/// UNSIGNED) was refused with "cannot create series from Int16": polars was built without its
/// small integer types. Now read as the count it holds, with the usual checks.
#[test]
fn smallint_and_tinyint_counts_are_read_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, count) in [
        ("i16", Column::new("item_count".into(), [3i16, -1, 7])),
        ("u8", Column::new("item_count".into(), [3u8, 200, 7])),
    ] {
        let path = dir.path().join(format!("carts-{name}.parquet"));
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("customer_id".into(), ["c1", "c2", "c3"]),
            Column::new("cart_id".into(), ["k1", "k2", "k3"]),
            Column::new(
                "updated_at".into(),
                [
                    "2025-01-01T00:00:00Z",
                    "2025-01-01T01:00:00Z",
                    "2025-01-01T02:00:00Z",
                ],
            ),
            Column::new("cart_value".into(), [10.0, 20.0, 30.0]),
            count,
        ])
        .unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let out = cartsona()
            .args(["validate", "--carts"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        if name == "i16" {
            assert_eq!(out.status.code(), Some(1), "{text}{err}");
            assert!(text.contains("3 rows read, 1 rejected"), "{text}");
            assert!(
                text.contains("line 2, column item_count: '-1' is negative"),
                "{text}"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{text}{err}");
            assert!(text.contains("3 rows read, 0 rejected"), "{text}");
        }
    }
}
