//! Input formats: CSV and Parquet give identical features; column mapping; BOM, CRLF and quoted
//! fields; globs and directories; gzip.

mod common;

use std::path::Path;

use common::{cartsona, fixture};
use polars::prelude::*;
use tempfile::TempDir;

const AS_OF: &str = "2025-03-01T00:00:00Z";

/// Runs `features` on the given inputs and returns the output bytes.
fn features(
    dir: &Path,
    carts: &[&Path],
    orders: &[&Path],
    engagement: &[&Path],
    extra: &[&str],
) -> Vec<u8> {
    let out = dir.join(format!(
        "out-{}.csv",
        std::process::id() as u64 + rand_suffix()
    ));
    let mut cmd = cartsona();
    cmd.current_dir(dir)
        .arg("features")
        .arg("--carts")
        .args(carts);
    if !orders.is_empty() {
        cmd.arg("--orders").args(orders);
    }
    if !engagement.is_empty() {
        cmd.arg("--engagement").args(engagement);
    }
    cmd.args(["--as-of", AS_OF, "--out"])
        .arg(&out)
        .args(extra)
        .assert()
        .success();
    std::fs::read(&out).unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn reference(dir: &Path) -> Vec<u8> {
    let d = fixture("features");
    features(
        dir,
        &[&d.join("carts.csv")],
        &[&d.join("orders.csv")],
        &[&d.join("engagement.csv")],
        &[],
    )
}

/// Converts a CSV fixture to Parquet with polars' own CSV reader and date inference: timestamps
/// it recognises become Datetime columns, numbers become numeric columns. An independent path to
/// typed Parquet inputs.
fn to_parquet(csv: &Path, parquet: &Path) {
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .map_parse_options(|p| p.with_try_parse_dates(true))
        .try_into_reader_with_file_path(Some(csv.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap();
    let file = std::fs::File::create(parquet).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
}

#[test]
fn csv_and_parquet_give_identical_features() {
    let dir = TempDir::new().unwrap();
    let d = fixture("features");
    let mut pq = Vec::new();
    for name in ["carts", "orders", "engagement"] {
        let p = dir.path().join(format!("{name}.parquet"));
        to_parquet(&d.join(format!("{name}.csv")), &p);
        pq.push(p);
    }
    // The orders and engagement files have uniform RFC 3339 timestamps: make sure they really
    // arrived as typed Datetime columns, so the typed path is what is tested.
    let df = ParquetReader::new(std::fs::File::open(&pq[1]).unwrap())
        .finish()
        .unwrap();
    assert!(
        matches!(
            df.column("ordered_at").unwrap().dtype(),
            DataType::Datetime(_, _)
        ),
        "{:?}",
        df.schema()
    );
    assert!(df
        .column("order_value")
        .unwrap()
        .dtype()
        .is_primitive_numeric());
    let from_parquet = features(dir.path(), &[&pq[0]], &[&pq[1]], &[&pq[2]], &[]);
    assert_eq!(
        String::from_utf8(from_parquet).unwrap(),
        String::from_utf8(reference(dir.path())).unwrap()
    );
}

#[test]
fn parquet_output_holds_the_same_table() {
    let dir = TempDir::new().unwrap();
    let d = fixture("features");
    let out = dir.path().join("f.parquet");
    cartsona()
        .args(["features", "--as-of", AS_OF, "--carts"])
        .arg(d.join("carts.csv"))
        .arg("--orders")
        .arg(d.join("orders.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let df = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 4);
    let ids: Vec<&str> = df
        .column("customer_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["alice", "bob", "gina", "hank"]);
    let aov: Vec<Option<f64>> = df.column("aov").unwrap().f64().unwrap().iter().collect();
    assert_eq!(aov, [Some(200.0), Some(70.0), Some(60.0), Some(40.0)]);
    assert!(dir.path().join("f.summary.json").exists());
}

#[test]
fn column_mapping_from_the_config_file() {
    let dir = TempDir::new().unwrap();
    let d = fixture("features");
    let want = reference(TempDir::new().unwrap().path());
    // The same carts with a store's own header names.
    let carts = std::fs::read_to_string(d.join("carts.csv")).unwrap();
    let renamed = carts.replacen(
        "customer_id,cart_id,created_at,updated_at,cart_value",
        "Email,Checkout ID,Created,Last Activity,Total",
        1,
    );
    std::fs::write(dir.path().join("store-carts.csv"), renamed).unwrap();
    std::fs::write(
        dir.path().join("cartsona.toml"),
        "[columns.carts]\ncustomer_id = \"Email\"\ncart_id = \"Checkout ID\"\ncreated_at = \"Created\"\n\
updated_at = \"Last Activity\"\ncart_value = \"Total\"\n",
    )
    .unwrap();
    // cartsona.toml in the working directory is picked up by default.
    let mapped = features(
        dir.path(),
        &[Path::new("store-carts.csv")],
        &[&d.join("orders.csv")],
        &[&d.join("engagement.csv")],
        &[],
    );
    assert_eq!(mapped, want);
}

#[test]
fn bom_crlf_quoted_fields_and_semicolons() {
    let dir = TempDir::new().unwrap();
    let d = fixture("features");
    let carts = std::fs::read_to_string(d.join("carts.csv")).unwrap();
    // BOM, CRLF line ends, every field quoted, a quoted delimiter inside a field, a quoted quote.
    let mut messy = String::from("\u{feff}");
    for (i, line) in carts.lines().enumerate() {
        let fields: Vec<String> = line
            .split(',')
            .enumerate()
            .map(|(j, f)| {
                let f = if i > 0 && j == 9 {
                    format!("{f}; \"promo\", spring")
                } else {
                    f.to_string()
                };
                format!("\"{}\"", f.replace('"', "\"\""))
            })
            .collect();
        messy.push_str(&fields.join(";"));
        messy.push_str("\r\n");
    }
    std::fs::write(dir.path().join("messy.csv"), messy).unwrap();
    // --delimiter applies to every CSV input, so the others are converted too.
    for name in ["orders", "engagement"] {
        let text = std::fs::read_to_string(d.join(format!("{name}.csv"))).unwrap();
        std::fs::write(
            dir.path().join(format!("{name}.csv")),
            text.replace(',', ";"),
        )
        .unwrap();
    }
    let got = features(
        dir.path(),
        &[&dir.path().join("messy.csv")],
        &[&dir.path().join("orders.csv")],
        &[&dir.path().join("engagement.csv")],
        &["--delimiter", ";"],
    );
    assert_eq!(got, reference(dir.path()));
}

#[test]
fn globs_directories_and_gzip() {
    let dir = TempDir::new().unwrap();
    let d = fixture("features");
    let carts = std::fs::read_to_string(d.join("carts.csv")).unwrap();
    let mut lines = carts.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    // Split the carts over two monthly files, one of them gzipped, matched by a glob.
    std::fs::create_dir(dir.path().join("exports")).unwrap();
    std::fs::write(
        dir.path().join("exports/carts-2025-01.csv"),
        format!("{header}\n{}\n", rows[..6].join("\n")),
    )
    .unwrap();
    let gz = std::fs::File::create(dir.path().join("exports/carts-2025-02.csv.gz")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::default());
    std::io::Write::write_all(
        &mut enc,
        format!("{header}\n{}\n", rows[6..].join("\n")).as_bytes(),
    )
    .unwrap();
    enc.finish().unwrap();
    // Orders as a directory of parts.
    std::fs::create_dir(dir.path().join("orders")).unwrap();
    std::fs::copy(d.join("orders.csv"), dir.path().join("orders/part-0.csv")).unwrap();
    let got = features(
        dir.path(),
        &[Path::new("exports/carts-*")],
        &[Path::new("orders")],
        &[&d.join("engagement.csv")],
        &[],
    );
    assert_eq!(got, reference(dir.path()));
}
