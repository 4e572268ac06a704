//! Reading exports: expanding paths and globs, recognising the format, and handing each row to a
//! caller-supplied function as text cells.
//!
//! Rows are handed over as text so that one validator (`ingest::load`) checks CSV and Parquet
//! alike and can name the file, line and column of every problem. CSV goes through the `csv` crate
//! (streaming, exact line numbers, BOM and CRLF handled, quoted fields); Parquet through polars.
//! Parquet timestamps are turned into RFC 3339 text so the same timestamp rules apply.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use polars::prelude::*;

use crate::util::timefmt;

/// The format of one input file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    #[serde(rename = "csv.gz")]
    CsvGz,
    Parquet,
    /// Canonical rows a preset derived in memory from an export (`ingest::presets`).
    Derived,
}

/// One input file, or a table a preset derived from some.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub format: Format,
    /// The rows of a [`Format::Derived`] source.
    pub table: Option<Arc<Table>>,
}

/// Canonical rows held in memory: a header of canonical column names and, row after row, one
/// text cell per column (empty text is an empty field).
#[derive(Debug, Default)]
pub struct Table {
    pub columns: Vec<&'static str>,
    cells: Vec<Box<str>>,
}

impl Table {
    pub fn new(columns: Vec<&'static str>) -> Table {
        Table {
            columns,
            cells: Vec::new(),
        }
    }
    /// Appends one row; it must have one cell per column.
    pub fn push<S: Into<Box<str>>>(&mut self, row: impl IntoIterator<Item = S>) {
        let before = self.cells.len();
        self.cells.extend(row.into_iter().map(Into::into));
        assert_eq!(
            self.cells.len() - before,
            self.columns.len(),
            "a derived row must have one cell per column"
        );
    }
    pub fn len(&self) -> usize {
        self.cells.len() / self.columns.len().max(1)
    }
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
    /// The rows, each a slice of cells in column order.
    pub fn rows(&self) -> impl Iterator<Item = &[Box<str>]> {
        self.cells.chunks(self.columns.len().max(1))
    }
}

impl Source {
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }
}

/// Recognises the format of `path` from its extension.
pub fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".csv.gz") {
        Some(Format::CsvGz)
    } else if name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt") {
        Some(Format::Csv)
    } else if name.ends_with(".parquet") || name.ends_with(".pq") {
        Some(Format::Parquet)
    } else {
        None
    }
}

fn is_glob(spec: &str) -> bool {
    spec.contains(['*', '?', '['])
}

/// Expands the paths given to one input flag: plain files, globs (`exports/carts-*.csv`) and
/// directories (every `.parquet` and `.csv` file inside, as Spark writes parts). The result is
/// sorted and free of duplicates, so the read order never depends on the file system.
pub fn expand(specs: &[PathBuf], flag: &str) -> Result<Vec<Source>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for spec in specs {
        let text = spec.to_string_lossy();
        if is_glob(&text) {
            let mut found: Vec<PathBuf> = glob::glob(&text)
                .with_context(|| format!("{flag} {text}: not a valid glob pattern"))?
                .filter_map(|entry| entry.ok())
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                bail!("{flag} {text}: the pattern matches no file");
            }
            found.sort();
            paths.extend(found);
        } else if spec.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(spec)
                .with_context(|| format!("{flag} {}: cannot list the directory", spec.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && format_of(p).is_some())
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(['.', '_']))
                })
                .collect();
            if found.is_empty() {
                bail!(
                    "{flag} {}: the directory holds no .csv, .csv.gz or .parquet file",
                    spec.display()
                );
            }
            found.sort();
            paths.extend(found);
        } else if !spec.exists() {
            bail!("{flag} {}: no such file", spec.display());
        } else {
            paths.push(spec.clone());
        }
    }
    paths.dedup();
    paths
        .into_iter()
        .map(|path| match format_of(&path) {
            Some(format) => Ok(Source {
                path,
                format,
                table: None,
            }),
            None => bail!(
                "{flag} {}: unknown file type; name it .csv, .csv.gz or .parquet",
                path.display()
            ),
        })
        .collect()
}

/// One cell of a row as handed to the validator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Text, as read (CSV) or as converted (Parquet). Empty text is an empty field.
    Text(&'a str),
    /// A Parquet null.
    Null,
    /// Bytes that are not UTF-8 (CSV only).
    BadUtf8,
}

impl<'a> Cell<'a> {
    /// The trimmed text of the cell; `None` for an empty field or a null.
    pub fn text(&self) -> Option<&'a str> {
        match self {
            Cell::Text(s) if !s.trim().is_empty() => Some(s.trim()),
            _ => None,
        }
    }
}

/// One data row: its line (CSV: the physical line it starts on, the header being line 1; Parquet:
/// the 1-based row number), the selected cells, and the field count when it differs from the
/// header's (a ragged CSV row).
pub struct Row<'a> {
    pub line: u64,
    pub cells: &'a [Cell<'a>],
    pub ragged: Option<(usize, usize)>,
}

/// Options that shape how CSV is parsed.
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    pub delimiter: u8,
}

/// Reads `src`, calls `select` once with the header names (it returns, for each column the caller
/// wants, the index of the header column that holds it, or `None`), then `on_row` for each data row.
/// Returns the number of data rows.
pub fn scan<S, F>(src: &Source, csv: CsvOptions, select: S, on_row: F) -> Result<u64>
where
    S: FnOnce(&[String]) -> Result<Vec<Option<usize>>>,
    F: FnMut(Row<'_>) -> Result<()>,
{
    match src.format {
        Format::Csv => {
            let file = open(src)?;
            scan_csv(
                src,
                BufReader::with_capacity(1 << 20, file),
                csv,
                select,
                on_row,
            )
        }
        Format::CsvGz => {
            let file = open(src)?;
            let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
            scan_csv(
                src,
                BufReader::with_capacity(1 << 20, gz),
                csv,
                select,
                on_row,
            )
        }
        Format::Parquet => scan_parquet(src, select, on_row),
        Format::Derived => scan_table(src, select, on_row),
    }
}

fn scan_table<S, F>(src: &Source, select: S, mut on_row: F) -> Result<u64>
where
    S: FnOnce(&[String]) -> Result<Vec<Option<usize>>>,
    F: FnMut(Row<'_>) -> Result<()>,
{
    let table = src
        .table
        .as_ref()
        .expect("a derived source carries its table");
    let names: Vec<String> = table.columns.iter().map(|c| c.to_string()).collect();
    let wanted = select(&names)?;
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(wanted.len());
    let mut rows = 0u64;
    for row in table.rows() {
        rows += 1;
        cells.clear();
        cells.extend(wanted.iter().map(|idx| match idx {
            None => Cell::Text(""),
            Some(i) => Cell::Text(&row[*i]),
        }));
        on_row(Row {
            line: rows,
            cells: &cells,
            ragged: None,
        })?;
    }
    Ok(rows)
}

fn open(src: &Source) -> Result<File> {
    File::open(&src.path).with_context(|| format!("{}: cannot open", src.display()))
}

fn scan_csv<R: Read, S, F>(
    src: &Source,
    reader: R,
    opts: CsvOptions,
    select: S,
    mut on_row: F,
) -> Result<u64>
where
    S: FnOnce(&[String]) -> Result<Vec<Option<usize>>>,
    F: FnMut(Row<'_>) -> Result<()>,
{
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(opts.delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let header = rdr.byte_headers().map_err(|e| csv_error(src, e))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        bail!("{}: the file is empty (no header row)", src.display());
    }
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            std::str::from_utf8(b)
                .map(|s| s.trim().to_string())
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{}: line 1, header column {}: not valid UTF-8",
                        src.display(),
                        i + 1
                    )
                })
        })
        .collect::<Result<_>>()?;
    let wanted = select(&names)?;
    let width = names.len();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        let more = rdr
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(src, e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(rows + 2, |p| p.line());
        // A line with nothing on it (a trailing blank line) is not a row.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        rows += 1;
        // A quote that is never closed swallows the rest of the file into one field.
        if record.len() < width
            && record
                .get(record.len() - 1)
                .is_some_and(|f| f.contains(&b'\n'))
        {
            bail!(
                "{}: line {line}: a quoted field is never closed (unterminated quote), so the rest of the file was read into it; fix the quoting of that line",
                src.display()
            );
        }
        let ragged = (record.len() != width).then_some((record.len(), width));
        // The cells on the stack (no allocation per row) unless there are very many.
        let mut stack = [Cell::Text(""); 16];
        let mut heap = Vec::new();
        let cells: &mut [Cell<'_>] = if wanted.len() <= stack.len() {
            &mut stack[..wanted.len()]
        } else {
            heap.resize(wanted.len(), Cell::Text(""));
            &mut heap
        };
        for (cell, idx) in cells.iter_mut().zip(&wanted) {
            *cell = match idx.and_then(|i| record.get(i)) {
                None => Cell::Text(""),
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(s) => Cell::Text(s),
                    Err(_) => Cell::BadUtf8,
                },
            };
        }
        on_row(Row {
            line,
            cells,
            ragged,
        })?;
    }
    Ok(rows)
}

fn csv_error(src: &Source, e: csv::Error) -> anyhow::Error {
    let at = e
        .position()
        .map(|p| format!(" line {}:", p.line()))
        .unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::Io(io) => anyhow::anyhow!("{}:{at} cannot read: {io}", src.display()),
        _ => anyhow::anyhow!("{}:{at} not readable as CSV: {e}", src.display()),
    }
}

/// The number of rows of a Parquet file, from its metadata (`None` for other formats or when the
/// metadata cannot be read: reading the file then says why).
pub fn row_count(src: &Source) -> Option<usize> {
    if src.format != Format::Parquet {
        return None;
    }
    ParquetReader::new(File::open(&src.path).ok()?)
        .num_rows()
        .ok()
}

/// At most this many Parquet rows are decoded at a time: files are read row group by row group
/// (a larger row group in slices of this size), so memory does not grow with the file (issue 8:
/// 100M rows under 8 GB). Only the columns the caller selects are decoded.
const PARQUET_SLICE: usize = 1 << 18;

fn scan_parquet<S, F>(src: &Source, select: S, mut on_row: F) -> Result<u64>
where
    S: FnOnce(&[String]) -> Result<Vec<Option<usize>>>,
    F: FnMut(Row<'_>) -> Result<()>,
{
    let unreadable =
        |e: PolarsError| anyhow::anyhow!("{}: not a readable Parquet file: {e}", src.display());
    let mut reader = ParquetReader::new(open(src)?);
    let schema = reader.schema().map_err(unreadable)?;
    let metadata = reader.get_metadata().map_err(unreadable)?.clone();
    let names: Vec<String> = schema.iter_names().map(|s| s.to_string()).collect();
    let wanted = select(&names)?;
    // The distinct selected columns, in file order, and where each wanted column is among them.
    let mut projection: Vec<usize> = wanted.iter().flatten().copied().collect();
    projection.sort_unstable();
    projection.dedup();
    let position: Vec<Option<usize>> = wanted
        .iter()
        .map(|w| w.map(|i| projection.binary_search(&i).expect("projected")))
        .collect();
    // Row groups, each cut into slices of at most PARQUET_SLICE rows.
    let mut slices = Vec::new();
    let mut offset = 0usize;
    for rg in &metadata.row_groups {
        let n = rg.num_rows();
        let mut done = 0;
        while done < n {
            let len = (n - done).min(PARQUET_SLICE);
            slices.push((offset + done, len));
            done += len;
        }
        offset += n;
    }
    let mut rows = 0u64;
    for slice in slices {
        let columns: Vec<Vec<Option<String>>> = if projection.is_empty() {
            Vec::new()
        } else {
            let mut part = ParquetReader::new(open(src)?)
                .with_projection(Some(projection.clone()))
                .with_slice(Some(slice));
            part.set_metadata(metadata.clone());
            let df = part.finish().map_err(unreadable)?;
            if df.height() != slice.1 {
                bail!(
                    "{}: not a readable Parquet file: rows {}..{} gave {} rows",
                    src.display(),
                    slice.0 + 1,
                    slice.0 + slice.1,
                    df.height()
                );
            }
            df.columns()
                .iter()
                .map(|c| column_text(src, c))
                .collect::<Result<_>>()?
        };
        let mut cells: Vec<Cell<'_>> = Vec::with_capacity(wanted.len());
        // Row `row` of every selected column at once.
        #[allow(clippy::needless_range_loop)]
        for row in 0..slice.1 {
            rows += 1;
            cells.clear();
            for pos in &position {
                cells.push(match pos {
                    None => Cell::Text(""),
                    Some(p) => match &columns[*p][row] {
                        Some(s) => Cell::Text(s.as_str()),
                        None => Cell::Null,
                    },
                });
            }
            on_row(Row {
                line: rows,
                cells: &cells,
                ragged: None,
            })?;
        }
    }
    Ok(rows)
}

fn column_text(src: &Source, col: &Column) -> Result<Vec<Option<String>>> {
    let name = col.name().to_string();
    let fail =
        |e: PolarsError| anyhow::anyhow!("{}: column {name}: cannot read: {e}", src.display());
    match col.dtype() {
        DataType::Datetime(unit, _) => {
            let per_micro = |v: i64| match unit {
                TimeUnit::Nanoseconds => v.div_euclid(1000),
                TimeUnit::Microseconds => v,
                TimeUnit::Milliseconds => v * 1000,
            };
            let ca = col.datetime().map_err(fail)?;
            Ok(ca
                .physical()
                .iter()
                .map(|v| v.map(|v| timefmt::format_timestamp(per_micro(v))))
                .collect())
        }
        DataType::Date => {
            let ca = col.date().map_err(fail)?;
            Ok(ca
                .physical()
                .iter()
                .map(|v| v.map(|d| timefmt::format_timestamp(d as i64 * timefmt::DAY)))
                .collect())
        }
        DataType::String => Ok(col.str().map_err(fail)?.iter().map(|v| v.map(str::to_string)).collect()),
        DataType::Float32 | DataType::Float64 => {
            let c = col.cast(&DataType::Float64).map_err(fail)?;
            // Rust's shortest round-trip formatting: NaN and inf stay recognisable as such.
            Ok(c.f64().map_err(fail)?.iter().map(|v| v.map(|f| f.to_string())).collect())
        }
        dt if dt.is_primitive_numeric() || matches!(dt, DataType::Boolean) => {
            let c = col.cast(&DataType::String).map_err(fail)?;
            Ok(c.str().map_err(fail)?.iter().map(|v| v.map(str::to_string)).collect())
        }
        other => bail!(
            "{}: column {name} has Parquet type {other}, which cartsona cannot read; store it as text, a number or a timestamp",
            src.display()
        ),
    }
}

/// The whole text of `path` when it is a file, `None` when there is no such file.
pub fn text_if_file(path: &Path) -> std::io::Result<Option<String>> {
    if !path.is_file() {
        return Ok(None);
    }
    std::fs::read_to_string(path).map(Some)
}

/// The whole text of a file (model.json, cartsona.toml); callers add what the file is.
pub fn text(path: &Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// The files of a run directory written by `segment` or `assign`: the path of its model.json and
/// its assignments (CSV or Parquet) as a source to scan.
pub fn run_files(dir: &Path, flag: &str) -> Result<(PathBuf, Source)> {
    if !dir.is_dir() {
        bail!("{flag} {}: no such run directory", dir.display());
    }
    let path = ["assignments.csv", "assignments.parquet"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{flag} {}: no assignments.csv or assignments.parquet in the run",
                dir.display()
            )
        })?;
    let src = Source {
        format: format_of(&path).expect("known name"),
        path,
        table: None,
    };
    Ok((dir.join("model.json"), src))
}

/// A model given as a run directory or as its model.json.
pub fn model_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("model.json")
    } else {
        path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parquet is read row group by row group (issue 8): rows of every group, in order, with
    /// 1-based row numbers running on across groups, nulls and timestamps as the validator sees
    /// them, and only the selected columns.
    #[test]
    fn parquet_is_streamed_row_group_by_row_group_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let part = |ids: &[&str], times: &[i64], notes: &[Option<&str>]| {
            DataFrame::new_infer_height(vec![
                Column::new("note".into(), notes.to_vec()),
                Column::new("id".into(), ids.to_vec()),
                Column::new("at".into(), times.to_vec())
                    .cast(&DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(TimeZone::UTC),
                    ))
                    .unwrap(),
            ])
            .unwrap()
        };
        let parts = [
            part(&["a", "b"], &[0, 1_000_000], &[Some("x"), None]),
            part(&["c"], &[2_000_000], &[None]),
            part(
                &["d", "e", "f"],
                &[3_000_000, 4_000_000, 5_000_000],
                &[None, Some("y"), None],
            ),
        ];
        let mut w = ParquetWriter::new(File::create(&path).unwrap())
            .batched(parts[0].schema())
            .unwrap();
        for p in &parts {
            w.write_batch(p).unwrap();
        }
        w.finish().unwrap();
        let src = Source {
            path: path.clone(),
            format: Format::Parquet,
            table: None,
        };
        assert_eq!(row_count(&src), Some(6));
        let mut seen = Vec::new();
        let n = scan(
            &src,
            CsvOptions { delimiter: b',' },
            |header| {
                assert_eq!(header, ["note", "id", "at"]);
                // id, at, a column the file lacks, note.
                Ok(vec![Some(1), Some(2), None, Some(0)])
            },
            |row| {
                let cell = |c: &Cell<'_>| match c {
                    Cell::Text(s) => s.to_string(),
                    Cell::Null => "NULL".to_string(),
                    Cell::BadUtf8 => "BAD".to_string(),
                };
                seen.push((
                    row.line,
                    row.cells.iter().map(cell).collect::<Vec<_>>().join("|"),
                ));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 6);
        let want = [
            "a|1970-01-01T00:00:00Z||x",
            "b|1970-01-01T00:00:01Z||NULL",
            "c|1970-01-01T00:00:02Z||NULL",
            "d|1970-01-01T00:00:03Z||NULL",
            "e|1970-01-01T00:00:04Z||y",
            "f|1970-01-01T00:00:05Z||NULL",
        ];
        assert_eq!(
            seen,
            want.iter()
                .enumerate()
                .map(|(i, s)| (i as u64 + 1, s.to_string()))
                .collect::<Vec<_>>()
        );
    }
}
