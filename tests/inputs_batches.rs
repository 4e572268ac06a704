//! Parallel reading (issue 19): CSV records are read ahead in batches of 16,384 and checked on all
//! cores, then kept in file order. Edge cases at the batch boundary: a quoted line break inside
//! the record that ends the first batch, CRLF line ends, and a bad row in the second batch named
//! by its true physical line; outputs byte-identical on 1 and 2 threads.

mod common;

use common::cartsona;

/// Rows per batch in src/io/read.rs (BATCH_ROWS).
const BATCH: usize = 16_384;

/// 40,000 cart rows with CRLF line ends; row BATCH (the last of the first batch) holds a quoted
/// line break; row `bad` (if any) has a negative value. Returns the file's text.
fn carts(bad: Option<usize>) -> String {
    let mut s = String::from("customer_id,cart_id,updated_at,cart_value,discount_code\r\n");
    for i in 1..=40_000usize {
        let value = if Some(i) == bad {
            "-3".to_string()
        } else {
            format!("{}.5", i % 300)
        };
        let code = if i == BATCH {
            "\"TWO\r\nLINES\""
        } else if i % 7 == 0 {
            "SAVE"
        } else {
            ""
        };
        let day = 1 + i % 27;
        let hour = i % 24;
        s.push_str(&format!(
            "c{},k{i},2025-01-{day:02}T{hour:02}:00:00Z,{value},{code}\r\n",
            i % 9_000
        ));
    }
    s
}

fn run(dir: &std::path::Path, threads: &str, out: &str) -> std::process::Output {
    cartsona()
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads)
        .args(["features", "--carts", "carts.csv", "--orders", "orders.csv"])
        .args(["--as-of", "2025-02-01", "--out", out])
        .output()
        .unwrap()
}

fn shop(bad: Option<usize>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("carts.csv"), carts(bad)).unwrap();
    std::fs::write(
        dir.path().join("orders.csv"),
        "customer_id,order_id,ordered_at,order_value\r\nc1,o1,2025-01-02T00:00:00Z,5\r\n",
    )
    .unwrap();
    dir
}

/// The same features on 1 and 2 threads, every row read (the quoted line break did not split a
/// record), and the shoppers those rows name.
#[test]
fn batches_give_the_same_features_on_one_and_two_threads() {
    let dir = shop(None);
    let one = run(dir.path(), "1", "one.csv");
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let two = run(dir.path(), "2", "two.csv");
    assert!(two.status.success());
    let a = std::fs::read(dir.path().join("one.csv")).unwrap();
    let b = std::fs::read(dir.path().join("two.csv")).unwrap();
    assert_eq!(a, b);
    // 9,000 customers c0..c8999 with carts; c1 ordered before its later carts, so all of them
    // have an abandoned cart in the default lookback: one row each plus the header.
    let text = String::from_utf8(a).unwrap();
    assert_eq!(text.lines().count(), 9_001, "{}", &text[..200]);
    let out = cartsona()
        .current_dir(dir.path())
        .args(["validate", "--carts", "carts.csv", "--orders", "orders.csv"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(carts): 40000 rows read, 0 rejected"),
        "{text}"
    );
}

/// A bad row in the second batch: its physical line counts the header and the extra line of the
/// quoted line break (row 30,000 is on line 30,002), on any thread count.
#[test]
fn a_bad_row_in_the_second_batch_names_its_true_line() {
    let dir = shop(Some(30_000));
    for threads in ["1", "2"] {
        let out = run(dir.path(), threads, "f.csv");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("carts.csv: line 30002, column cart_value: '-3' is negative"),
            "{err}"
        );
    }
    let out = cartsona()
        .current_dir(dir.path())
        .args(["validate", "--carts", "carts.csv", "--orders", "orders.csv"])
        .args(["--on-bad-rows", "skip"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(carts): 40000 rows read, 1 rejected"),
        "{text}"
    );
}

/// The first bad row in file order is the one reported, even when a later batch also has one
/// and the rows are checked on several threads.
#[test]
fn the_first_bad_row_wins_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = carts(Some(20_000));
    // A second problem, later, in the third batch.
    text = text.replace(
        "c8000,k35000,2025-01-09T08:00:00Z",
        "c8000,k35000,not-a-time",
    );
    assert!(text.contains("not-a-time"));
    std::fs::write(dir.path().join("carts.csv"), text).unwrap();
    std::fs::write(
        dir.path().join("orders.csv"),
        "customer_id,order_id,ordered_at,order_value\nc1,o1,2025-01-02T00:00:00Z,5\n",
    )
    .unwrap();
    let out = run(dir.path(), "2", "f.csv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 20002, column cart_value"), "{err}");
}

/// Regression: in a CRLF file every line number was one too low (the csv crate counts the LF of a
/// CRLF only when the next record starts; BurntSushi/rust-csv#395): the second data row, on line
/// 3, was reported on line 2. A quoted CRLF inside a field still counts as a line.
#[test]
fn regression_crlf_files_reported_every_line_one_too_low() {
    let dir = tempfile::tempdir().unwrap();
    let orders = "customer_id,order_id,ordered_at,order_value\r\nc1,o1,2025-01-02,5\r\n";
    std::fs::write(dir.path().join("orders.csv"), orders).unwrap();
    let cases = [
        ("c1,k1,2025-01-02,-1,\r\n", 2),
        ("c1,k1,2025-01-02,5,\r\nc2,k2,2025-01-02,-1,\r\n", 3),
        (
            "c1,k1,2025-01-02,5,\"A\r\nB\"\r\n\r\nc2,k2,2025-01-02,-1,\r\n",
            5,
        ),
        // LF files were right, and stay so.
        ("c1,k1,2025-01-02,5,\"A\nB\"\nc2,k2,2025-01-02,-1,\n", 4),
    ];
    for (rows, line) in cases {
        let sep = if rows.contains("\r\n") { "\r\n" } else { "\n" };
        let text = format!("customer_id,cart_id,updated_at,cart_value,discount_code{sep}{rows}");
        std::fs::write(dir.path().join("carts.csv"), text).unwrap();
        let out = run(dir.path(), "2", "f.csv");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("carts.csv: line {line}, column cart_value")),
            "{rows:?}: {err}"
        );
    }
}

/// A quoted line break on both sides of the batch boundary (issue 33: the trap of parallel CSV
/// readers that cut a file into chunks at line breaks): the last record of the first batch and
/// the first of the second each hold one (LF and CRLF). No row is lost or split on 1 and 2
/// threads, and a bad row after them is named by its physical line (row 16,390 of the data is on
/// line 16,393: one for the header, one per quoted line break before it).
#[test]
fn quoted_line_breaks_on_both_sides_of_a_batch_boundary_keep_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("customer_id,cart_id,updated_at,cart_value,discount_code\n");
    let n = BATCH + 10;
    for i in 1..=n {
        let code = match i {
            i if i == BATCH => "\"END OF\nBATCH\"",
            i if i == BATCH + 1 => "\"START OF\r\nBATCH\"",
            _ => "",
        };
        let value = if i == BATCH + 6 { "-1" } else { "4.5" };
        s.push_str(&format!("c{i},k{i},2025-01-02T00:00:00Z,{value},{code}\n"));
    }
    std::fs::write(dir.path().join("carts.csv"), s).unwrap();
    for threads in ["1", "2"] {
        let out = cartsona()
            .current_dir(dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .args(["validate", "--carts", "carts.csv"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains(&format!("(carts): {n} rows read, 1 rejected")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "line {}, column cart_value: '-1' is negative",
                BATCH + 6 + 1 + 2
            )),
            "{text}"
        );
    }
}
