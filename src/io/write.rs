//! Writing outputs: renderers turn values into bytes elsewhere; this module puts bytes on disk,
//! atomically. Each file is written to a temporary file in the destination directory and renamed
//! into place only when every file of the set was written, so a crash leaves the old files or
//! none, never half a file. Existing files are never replaced without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use crate::pipeline::features::{FeatureTable, Values};

/// Checks, before any work is done, that `path` may be written.
pub fn check_writable(path: &Path, force: bool, flag: &str) -> Result<()> {
    if path.is_dir() {
        bail!("{flag} {}: is a directory; name a file", path.display());
    }
    if path.exists() && !force {
        bail!(
            "{flag} {}: already exists; pass --force to overwrite it",
            path.display()
        );
    }
    let parent = parent_dir(path);
    if !parent.is_dir() {
        bail!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            parent.display()
        );
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes every `(path, bytes)` to a temporary file beside it, then renames them all into place.
pub fn write_atomic(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let dir = parent_dir(path);
        let mut tmp = tempfile::Builder::new()
            .prefix(".cartsona-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .with_context(|| {
                format!(
                    "{}: cannot create a temporary file in {}",
                    path.display(),
                    dir.display()
                )
            })?;
        tmp.write_all(bytes)
            .and_then(|_| tmp.as_file().sync_all())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        staged.push((tmp, path));
    }
    for (tmp, path) in staged {
        tmp.persist(path).with_context(|| {
            format!(
                "{}: cannot move the finished file into place",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Formats a number the way every CSV output does: shortest round-trip form, empty for a gap.
pub fn fmt_num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Renders the features table as CSV.
pub fn features_csv(table: &FeatureTable) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["customer_id"];
    header.extend(table.columns.iter().map(|c| c.name));
    w.write_record(&header)?;
    for (i, customer) in table.customers.iter().enumerate() {
        let mut rec = vec![customer.clone()];
        for c in &table.columns {
            rec.push(match &c.values {
                Values::Num(v) => fmt_num(v[i]),
                Values::Cat(v) => v[i].unwrap_or_default().to_string(),
            });
        }
        w.write_record(&rec)?;
    }
    Ok(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
}

/// Renders the features table as Parquet (numbers as Float64, categories as String).
pub fn features_parquet(table: &FeatureTable) -> Result<Vec<u8>> {
    let mut cols: Vec<Column> = vec![Column::new("customer_id".into(), table.customers.clone())];
    for c in &table.columns {
        cols.push(match &c.values {
            Values::Num(v) => Column::new(c.name.into(), v.clone()),
            Values::Cat(v) => Column::new(
                c.name.into(),
                v.iter().map(|s| s.map(str::to_string)).collect::<Vec<_>>(),
            ),
        });
    }
    let mut df = DataFrame::new_infer_height(cols)?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(&mut df)?;
    Ok(buf)
}
