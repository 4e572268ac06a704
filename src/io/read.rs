//! Reading exports: expanding paths and globs, recognising the format, and handing rows to a
//! caller-supplied function in batches ([`scan_batches`]) or one by one ([`scan`]).
//!
//! One validator (`ingest::load`) checks CSV and Parquet alike and names the file, line and column
//! of every problem. CSV cells arrive as text, row by row: the `csv` crate (streaming, BOM and
//! CRLF handled, quoted fields), its records read ahead on a thread of their own, lines counted
//! here (exact for CRLF too). Parquet arrives as columns ([`Batch::columns`], [`Column`]): polars
//! decodes a slice of at most 262,144 rows at a time (only the selected columns) on a thread of
//! its own, one slice ahead, into one Arrow array per column, read in place; a column the caller
//! wants as a timestamp, a number or a whole number ([`ValueType`]) and the file stores as one
//! comes typed, anything else as text: nothing is formatted only to be parsed again. A Parquet
//! batch can be read row by row too ([`Batch::row`]), for callers that want cells. Each batch says
//! how many of the file's stored bytes lie before its end, for a progress bar.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use anyhow::{bail, Context, Result};
use polars::prelude::{Column as PlColumn, *};
use polars_arrow::array::{Array, Utf8ViewArray};
use rayon::prelude::*;

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
    /// Row `i`'s cells in column order.
    pub fn row(&self, i: usize) -> &[Box<str>] {
        let w = self.columns.len().max(1);
        &self.cells[i * w..(i + 1) * w]
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
    /// Text, as read (CSV) or as stored or converted (Parquet). Empty text is an empty field.
    Text(&'a str),
    /// A Parquet null.
    Null,
    /// Bytes that are not UTF-8 (CSV only).
    BadUtf8,
    /// A Parquet timestamp or date, in microseconds since the epoch (UTC); typed scans only.
    Time(i64),
    /// A Parquet float, decimal or integer read where a number is wanted; typed scans only.
    Num(f64),
    /// A Parquet integer read where a whole number or a timestamp is wanted; typed scans only.
    Int(i64),
}

impl<'a> Cell<'a> {
    /// The trimmed text of the cell; `None` for an empty field, a null or a typed value.
    pub fn text(&self) -> Option<&'a str> {
        let Cell::Text(s) = self else { return None };
        // Most cells start and end with a visible ASCII character: nothing to trim (trimming
        // every cell was 9% of a Parquet read).
        let visible = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
        if visible(s.as_bytes().first()) && visible(s.as_bytes().last()) {
            return Some(s);
        }
        let t = s.trim();
        (!t.is_empty()).then_some(t)
    }
}

/// What a typed scan's caller wants of one column, so that Parquet values of that type reach it
/// as they are ([`Cell::Time`], [`Cell::Num`], [`Cell::Int`]) instead of as text to parse again.
/// Values of other types still arrive as text, and CSV always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Time,
    Number,
    Whole,
    /// Text whose values no row uses (only that it is text is checked): a Parquet column stored
    /// as strings, where every value is text, is not decoded at all and reaches the caller as
    /// absent ([`Batch::columns`]); one of any other type is read as [`ValueType::Text`], and so
    /// is CSV.
    Unread,
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
/// Every cell is text ([`Cell::Text`], [`Cell::Null`], [`Cell::BadUtf8`]). Returns the number of
/// data rows.
pub fn scan<S, F>(src: &Source, csv: CsvOptions, select: S, mut on_row: F) -> Result<u64>
where
    S: FnOnce(&[String]) -> Result<Vec<Option<usize>>>,
    F: FnMut(Row<'_>) -> Result<()>,
{
    scan_batches(src, csv, None, select, |batch| {
        let mut cells = Vec::new();
        for i in 0..batch.len() {
            let (line, ragged) = batch.row(i, &mut cells);
            on_row(Row {
                line,
                cells: &cells,
                ragged,
            })?;
        }
        Ok(())
    })
}

/// A run of consecutive data rows handed over at once, so that a caller can check its rows on
/// several threads ([`Batch::row`] takes `&self`) and then keep them in order: CSV records read
/// ahead, or a decoded Parquet slice.
pub struct Batch<'a> {
    rows: BatchRows<'a>,
    /// How much of the file (bytes as stored: compressed for .csv.gz and Parquet) lies before
    /// the end of this batch, for progress.
    pub done: u64,
    /// For each column the caller wants: the header column (CSV, derived tables) or the position
    /// among the decoded columns (Parquet) that holds it.
    wanted: &'a [Option<usize>],
}

enum BatchRows<'a> {
    Csv {
        records: &'a [csv::ByteRecord],
        lines: &'a [u64],
        width: usize,
    },
    Parquet {
        columns: &'a [Column<'a>],
        first: u64,
        len: usize,
    },
    Table {
        table: &'a Table,
        start: usize,
        len: usize,
    },
}

impl<'a> Batch<'a> {
    pub fn len(&self) -> usize {
        match &self.rows {
            BatchRows::Csv { records, .. } => records.len(),
            BatchRows::Parquet { len, .. } => *len,
            BatchRows::Table { len, .. } => *len,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Puts row `i`'s wanted cells into `cells` and returns its line (CSV: the physical line it
    /// starts on, the header being line 1; Parquet and derived tables: the 1-based row number)
    /// and, for a ragged CSV row, its field count and the header's.
    pub fn row(&self, i: usize, cells: &mut Vec<Cell<'a>>) -> (u64, Option<(usize, usize)>) {
        cells.clear();
        match &self.rows {
            BatchRows::Csv {
                records,
                lines,
                width,
            } => {
                let record: &'a csv::ByteRecord = &records[i];
                // The whole record checked once (one call, not one per field: from_utf8 was 7% of
                // a CSV `segment`'s samples, issue 19); fields split at ASCII delimiters, so each
                // range of valid text is text. A record with a bad byte is checked field by field,
                // to name the field.
                let whole = std::str::from_utf8(record.as_slice()).ok();
                cells.extend(self.wanted.iter().map(|idx| {
                    match (idx.and_then(|c| record.range(c)), whole) {
                        (None, _) => Cell::Text(""),
                        (Some(r), Some(text)) => text.get(r).map_or(Cell::BadUtf8, Cell::Text),
                        (Some(r), None) => std::str::from_utf8(&record.as_slice()[r])
                            .map_or(Cell::BadUtf8, Cell::Text),
                    }
                }));
                let ragged = (record.len() != *width).then_some((record.len(), *width));
                (lines[i], ragged)
            }
            BatchRows::Parquet { columns, first, .. } => {
                cells.extend(self.wanted.iter().map(|pos| match pos {
                    None => Cell::Text(""),
                    Some(p) => columns[*p].cell(i),
                }));
                (first + i as u64 + 1, None)
            }
            BatchRows::Table { table, start, .. } => {
                let row = table.row(start + i);
                cells.extend(self.wanted.iter().map(|idx| match idx {
                    None => Cell::Text(""),
                    Some(c) => Cell::Text(&row[*c]),
                }));
                ((start + i) as u64 + 1, None)
            }
        }
    }
}

impl<'a> Batch<'a> {
    /// A decoded Parquet slice's columns, one per wanted column (`None`: the file lacks it), and
    /// the 0-based row number of its first row within the file; `None` for CSV and derived tables,
    /// which come row by row ([`Batch::row`]).
    pub fn columns(&self) -> Option<(Vec<Option<&Column<'a>>>, u64)> {
        let BatchRows::Parquet { columns, first, .. } = &self.rows else {
            return None;
        };
        let wanted = self.wanted.iter().map(|pos| pos.map(|p| &columns[p]));
        Some((wanted.collect(), *first))
    }
}

/// What the batch scanners are given: picks, from a file's header, the index of each column
/// wanted (`None`: absent)...
pub trait Select: FnOnce(&[String]) -> Result<Vec<Option<usize>>> {}
impl<T: FnOnce(&[String]) -> Result<Vec<Option<usize>>>> Select for T {}

/// ...and takes each batch of rows in file order.
pub trait OnBatch: FnMut(&Batch<'_>) -> Result<()> {}
impl<T: FnMut(&Batch<'_>) -> Result<()>> OnBatch for T {}

/// As [`scan`], but rows come in [`Batch`]es, and Parquet columns of the type `wants` names for
/// each selected column (in the order `select` returns them; `None`: text for all) arrive typed:
/// no text is made of a timestamp or a number only to be parsed again (issue 19: Parquet was read
/// at 25x polars' speed that way). Returns the number of data rows.
pub fn scan_batches(
    src: &Source,
    csv: CsvOptions,
    wants: Option<&[ValueType]>,
    select: impl Select,
    on_batch: impl OnBatch,
) -> Result<u64> {
    match src.format {
        Format::Csv => {
            let (file, read) = Counted::new(open(src)?);
            let reader = BufReader::with_capacity(1 << 20, file);
            scan_csv(src, reader, &read, csv, select, on_batch)
        }
        Format::CsvGz => {
            let (file, read) = Counted::new(open(src)?);
            let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
            let reader = BufReader::with_capacity(1 << 20, gz);
            scan_csv(src, reader, &read, csv, select, on_batch)
        }
        Format::Parquet => scan_parquet(src, wants, select, on_batch),
        Format::Derived => scan_table(src, select, on_batch),
    }
}

/// Rows per batch of a derived table or of CSV records read ahead: enough to share among
/// threads, small enough that a batch's records stay in cache-sized memory.
const BATCH_ROWS: usize = 1 << 14;

fn scan_table(src: &Source, select: impl Select, mut on_batch: impl OnBatch) -> Result<u64> {
    let table = src
        .table
        .as_ref()
        .expect("a derived source carries its table");
    let names: Vec<String> = table.columns.iter().map(|c| c.to_string()).collect();
    let wanted = select(&names)?;
    let total = table.len();
    for start in (0..total).step_by(BATCH_ROWS) {
        let rows = BatchRows::Table {
            table,
            start,
            len: BATCH_ROWS.min(total - start),
        };
        on_batch(&Batch {
            rows,
            wanted: &wanted,
            done: 0,
        })?;
    }
    Ok(total as u64)
}

fn open(src: &Source) -> Result<File> {
    File::open(&src.path).with_context(|| format!("{}: cannot open", src.display()))
}

fn scan_csv<R: Read + Send>(
    src: &Source,
    reader: R,
    read: &Bytes,
    opts: CsvOptions,
    select: impl Select,
    mut on_batch: impl OnBatch,
) -> Result<u64> {
    // Records are read ahead on their own thread into one batch while the caller checks the
    // other: two sets of records go back and forth, so reading overlaps checking.
    std::thread::scope(|scope| {
        let (names_tx, names_rx) = mpsc::sync_channel(1);
        let (full_tx, full_rx) = mpsc::sync_channel::<Result<Filled>>(1);
        let (empty_tx, empty_rx) = mpsc::sync_channel(2);
        scope.spawn(move || read_ahead(src, reader, read, opts, names_tx, empty_rx, full_tx));
        let gone = || anyhow::anyhow!("{}: the reading thread stopped", src.display());
        let names: Vec<String> = names_rx.recv().map_err(|_| gone())??;
        let wanted = select(&names)?;
        let width = names.len();
        for _ in 0..2 {
            let set = (
                vec![csv::ByteRecord::new(); BATCH_ROWS],
                vec![0u64; BATCH_ROWS],
            );
            // A short file is read to its end with the first set: the thread is gone already.
            let _ = empty_tx.send(set);
        }
        let mut rows = 0u64;
        loop {
            let f = full_rx.recv().map_err(|_| gone())??;
            rows += f.n as u64;
            on_batch(&Batch {
                rows: BatchRows::Csv {
                    records: &f.records[..f.n],
                    lines: &f.lines[..f.n],
                    width,
                },
                wanted: &wanted,
                done: f.done,
            })?;
            match f.end {
                BatchEnd::Full => {}
                BatchEnd::Eof => return Ok(rows),
                BatchEnd::Unterminated(line) => bail!(
                    "{}: line {line}: a quoted field is never closed (unterminated quote), so the rest of the file was read into it; fix the quoting of that line",
                    src.display()
                ),
            }
            // The thread has stopped only if it failed; that error is the next message.
            let _ = empty_tx.send((f.records, f.lines));
        }
    })
}

/// A batch of records read ahead: `n` records and their lines, why it ended, and the file's bytes
/// read by then.
struct Filled {
    records: Vec<csv::ByteRecord>,
    lines: Vec<u64>,
    n: usize,
    end: BatchEnd,
    done: u64,
}

type RecordSet = (Vec<csv::ByteRecord>, Vec<u64>);

/// The reading thread: the header's names first, then batches into the record sets it is given
/// back, until the end of the file, an error, or the caller hanging up.
fn read_ahead<R: Read>(
    src: &Source,
    reader: R,
    read: &Bytes,
    opts: CsvOptions,
    names_tx: mpsc::SyncSender<Result<Vec<String>>>,
    empty_rx: mpsc::Receiver<RecordSet>,
    full_tx: mpsc::SyncSender<Result<Filled>>,
) {
    // Lines are counted here, not taken from the csv crate: it reports the line of a record that
    // follows a CRLF one too low (it consumes the LF only when the next record starts;
    // BurntSushi/rust-csv#395, open). The reader notes where every line break is (see
    // `read_records`).
    let breaks = Rc::new(RefCell::new(VecDeque::new()));
    let reader = LineBreaks {
        inner: reader,
        offset: 0,
        breaks: Rc::clone(&breaks),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(opts.delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    let names = header_names(src, &mut rdr);
    let width = match &names {
        Ok(n) => n.len(),
        Err(_) => 0,
    };
    if names_tx.send(names).is_err() || width == 0 {
        return;
    }
    let mut counted = 0u64;
    while let Ok((mut records, mut lines)) = empty_rx.recv() {
        let result = read_records(
            src,
            &mut rdr,
            width,
            &breaks,
            &mut counted,
            &mut records,
            &mut lines,
        );
        let (filled, last) = match result {
            Ok((n, end)) => {
                let last = !matches!(end, BatchEnd::Full);
                let done = read.load(Ordering::Relaxed);
                let f = Filled {
                    records,
                    lines,
                    n,
                    end,
                    done,
                };
                (Ok(f), last)
            }
            Err(e) => (Err(e), true),
        };
        if full_tx.send(filled).is_err() || last {
            return;
        }
    }
}

/// The header's column names (trimmed), or why there is none.
fn header_names<R: Read>(src: &Source, rdr: &mut csv::Reader<R>) -> Result<Vec<String>> {
    let header = rdr.byte_headers().map_err(|e| csv_error(src, e))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        bail!("{}: the file is empty (no header row)", src.display());
    }
    header
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
        .collect()
}

/// A reader that notes the byte offset of every line break it passes on (for exact line numbers).
struct LineBreaks<R> {
    inner: R,
    offset: u64,
    breaks: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        breaks.extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| self.offset + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

/// A byte count shared between the reading thread and the code that reports progress.
type Bytes = Arc<AtomicU64>;

/// A reader that counts the bytes read from the file (before any decompression).
struct Counted<R> {
    inner: R,
    read: Bytes,
}

impl<R> Counted<R> {
    fn new(inner: R) -> (Counted<R>, Bytes) {
        let read = Bytes::default();
        (
            Counted {
                inner,
                read: Arc::clone(&read),
            },
            read,
        )
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Why a batch of CSV records ended.
enum BatchEnd {
    Full,
    Eof,
    /// A quote never closed on this line: the rows before it are handed over, then reading stops.
    Unterminated(u64),
}

/// Reads up to `records.len()` data records, skipping lines with nothing on them.
fn read_records<R: Read>(
    src: &Source,
    rdr: &mut csv::Reader<R>,
    width: usize,
    breaks: &RefCell<VecDeque<u64>>,
    counted: &mut u64,
    records: &mut [csv::ByteRecord],
    lines: &mut [u64],
) -> Result<(usize, BatchEnd)> {
    let mut n = 0;
    // The line a record ends on: one plus the breaks before its terminator, whose first byte is
    // the last one read (`end` - 1: the LF, or the CR of a CRLF). The breaks before the records
    // already handed over were counted and dropped.
    let mut last_line = |end: u64| {
        let mut breaks = breaks.borrow_mut();
        while breaks.front().is_some_and(|&b| b + 1 < end) {
            breaks.pop_front();
            *counted += 1;
        }
        *counted + 1
    };
    while n < records.len() {
        let record = &mut records[n];
        if !rdr
            .read_byte_record(record)
            .map_err(|e| csv_error(src, e))?
        {
            return Ok((n, BatchEnd::Eof));
        }
        // The line it starts on: its last line less the line breaks inside its quoted fields
        // (the position csv gives a record's start counts blank lines skipped before it).
        let inside = memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
        let line = last_line(rdr.position().byte()) - inside;
        // A line with nothing on it (a trailing blank line) is not a row.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        // A quote that is never closed swallows the rest of the file into one field.
        if record.len() < width
            && record
                .get(record.len() - 1)
                .is_some_and(|f| f.contains(&b'\n'))
        {
            // It ran to the end of the file: the file's last line break is inside it, not its
            // terminator.
            let last_break_inside = u64::from(record.as_slice().ends_with(b"\n"));
            return Ok((n, BatchEnd::Unterminated(line + last_break_inside)));
        }
        lines[n] = line;
        n += 1;
    }
    Ok((n, BatchEnd::Full))
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

/// The column names of `src` without reading its rows: a CSV file's header, a Parquet file's
/// schema (for `features --emit-sql`, which only needs to know which columns the exports have).
pub fn header(src: &Source, csv: CsvOptions) -> Result<Vec<String>> {
    let mut names = None;
    let stop = "header read";
    let result = scan_batches(
        src,
        csv,
        None,
        |header| {
            names = Some(header.to_vec());
            bail!(stop)
        },
        |_| Ok(()),
    );
    match (names, result) {
        (Some(n), _) => Ok(n),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => bail!("{}: no header", src.display()),
    }
}

/// The bytes of all these files as stored (for a progress bar; derived tables count 0).
pub fn stored_bytes<'a>(sources: impl IntoIterator<Item = &'a Source>) -> u64 {
    sources
        .into_iter()
        .filter(|s| s.format != Format::Derived)
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum()
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

fn scan_parquet(
    src: &Source,
    wants: Option<&[ValueType]>,
    select: impl Select,
    mut on_batch: impl OnBatch,
) -> Result<u64> {
    let mut reader = ParquetReader::new(open(src)?);
    let schema = reader.schema().map_err(|e| unreadable(src, e))?;
    let metadata = reader
        .get_metadata()
        .map_err(|e| unreadable(src, e))?
        .clone();
    let names: Vec<String> = schema.iter_names().map(|s| s.to_string()).collect();
    let mut wanted = select(&names)?;
    // A column wanted only to be unread, stored as strings, is not decoded (issue 33: only the
    // columns a command needs).
    let stored_as_text: Vec<bool> = schema
        .iter_values()
        .map(|f| {
            matches!(
                f.dtype,
                ArrowDataType::Utf8 | ArrowDataType::LargeUtf8 | ArrowDataType::Utf8View
            )
        })
        .collect();
    for (w, at) in wanted.iter_mut().enumerate() {
        let unread = wants.is_some_and(|ws| ws[w] == ValueType::Unread);
        if at.is_some_and(|c| unread && stored_as_text[c]) {
            *at = None;
        }
    }
    // The distinct selected columns, in file order, and where each wanted column is among them.
    let mut projection: Vec<usize> = wanted.iter().flatten().copied().collect();
    projection.sort_unstable();
    projection.dedup();
    let position: Vec<Option<usize>> = wanted
        .iter()
        .map(|w| w.map(|i| projection.binary_search(&i).expect("projected")))
        .collect();
    let want_of = projected_wants(&position, projection.len(), wants);
    // Slices are decoded on a thread of their own, one ahead of the caller's checks: decoding
    // overlaps checking; at most three slices are held at once (the one checked, one decoded and
    // waiting, one being decoded).
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<Prepared>>>(1);
        let slices = slices(&metadata);
        let todo = slices.clone();
        let (projection, want_of) = (&projection, &want_of);
        let metadata = &metadata;
        scope.spawn(move || {
            for slice in todo {
                let decoded = decode(src, metadata, projection, want_of, slice);
                if tx.send(decoded).is_err() {
                    return;
                }
            }
        });
        let mut rows = 0u64;
        for slice in slices {
            let prepared = rx
                .recv()
                .map_err(|_| anyhow::anyhow!("{}: the decoding thread stopped", src.display()))??;
            let columns: Vec<Column<'_>> = prepared.iter().map(Prepared::column).collect();
            on_batch(&Batch {
                rows: BatchRows::Parquet {
                    columns: &columns,
                    first: rows,
                    len: slice.1,
                },
                wanted: &position,
                done: slice.2,
            })?;
            rows += slice.1 as u64;
        }
        Ok(rows)
    })
}

fn unreadable(src: &Source, e: PolarsError) -> anyhow::Error {
    anyhow::anyhow!("{}: not a readable Parquet file: {e}", src.display())
}

/// Decodes one slice's projected columns, each prepared for what is wanted of it.
fn decode(
    src: &Source,
    metadata: &polars::io::parquet::metadata::FileMetadataRef,
    projection: &[usize],
    want_of: &[ValueType],
    slice: (usize, usize, u64),
) -> Result<Vec<Prepared>> {
    if projection.is_empty() {
        return Ok(Vec::new());
    }
    let mut part = ParquetReader::new(open(src)?)
        .with_projection(Some(projection.to_vec()))
        .with_slice(Some((slice.0, slice.1)));
    part.set_metadata(metadata.clone());
    let df = part.finish().map_err(|e| unreadable(src, e))?;
    if df.height() != slice.1 {
        bail!(
            "{}: not a readable Parquet file: rows {}..{} gave {} rows",
            src.display(),
            slice.0 + 1,
            slice.0 + slice.1,
            df.height()
        );
    }
    // One column per thread (rayon keeps the order).
    df.columns()
        .par_iter()
        .zip(want_of)
        .map(|(c, w)| prepare(src, c, *w))
        .collect()
}

/// What is wanted of each projected column: text unless every wanted column it holds agrees (a
/// column still projected when unread is not stored as strings: text).
fn projected_wants(
    position: &[Option<usize>],
    n: usize,
    wants: Option<&[ValueType]>,
) -> Vec<ValueType> {
    (0..n)
        .map(|p| {
            let mut of = position
                .iter()
                .zip(0..)
                .filter(|(pos, _)| **pos == Some(p))
                .map(|(_, w)| match wants.map_or(ValueType::Text, |ws| ws[w]) {
                    ValueType::Unread => ValueType::Text,
                    want => want,
                });
            let first = of.next().unwrap_or(ValueType::Text);
            if of.all(|w| w == first) {
                first
            } else {
                ValueType::Text
            }
        })
        .collect()
}

/// The file's row groups, each cut into slices of at most [`PARQUET_SLICE`] rows: (first row,
/// rows, compressed bytes of the row groups up to the slice's end, pro rata within a group).
fn slices(metadata: &polars::io::parquet::read::FileMetadata) -> Vec<(usize, usize, u64)> {
    let mut slices = Vec::new();
    let mut offset = 0usize;
    let mut bytes = 0u64;
    for rg in &metadata.row_groups {
        let n = rg.num_rows();
        let size = rg.compressed_size() as u64;
        let mut done = 0;
        while done < n {
            let len = (n - done).min(PARQUET_SLICE);
            done += len;
            slices.push((
                offset + done - len,
                len,
                bytes + size * done as u64 / n as u64,
            ));
        }
        offset += n;
        bytes += size;
    }
    slices
}

/// One decoded column of a slice, owned, in one Arrow array (rechunked), in the form it is
/// handed over ([`Column`]).
enum Prepared {
    /// A string column (stored as such, or an integer or dictionary column cast to text).
    Strings(StringChunked),
    /// Text made by cartsona (timestamps as RFC 3339, floats in shortest round-trip form).
    Owned(Vec<Option<String>>),
    /// Microseconds since the epoch.
    Time(Int64Chunked),
    Num(Float64Chunked),
    Int(Int64Chunked),
}

impl Prepared {
    fn column(&self) -> Column<'_> {
        match self {
            Prepared::Strings(c) => Column::Text(Texts::Arrow(c.downcast_as_array())),
            Prepared::Owned(v) => Column::Text(Texts::Owned(v)),
            Prepared::Time(c) => Column::Time(Values::of(c.downcast_as_array())),
            Prepared::Num(c) => Column::Num(Values::of(c.downcast_as_array())),
            Prepared::Int(c) => Column::Int(Values::of(c.downcast_as_array())),
        }
    }
}

/// One column of a decoded Parquet slice, read in place (no copy, no text made of a typed value):
/// the checks of `ingest::load` go down a whole column at a time. Rows are indexed from the
/// slice's start.
pub enum Column<'a> {
    Text(Texts<'a>),
    /// Microseconds since the epoch (UTC): a timestamp of any unit or time zone, or a date.
    Time(Values<'a, i64>),
    Num(Values<'a, f64>),
    Int(Values<'a, i64>),
}

impl<'a> Column<'a> {
    /// Row `i` as a [`Cell`] (what a row-by-row scan sees).
    pub fn cell(&self, i: usize) -> Cell<'a> {
        match self {
            Column::Text(t) => t.get(i).map_or(Cell::Null, Cell::Text),
            Column::Time(v) => v.get(i).map_or(Cell::Null, Cell::Time),
            Column::Num(v) => v.get(i).map_or(Cell::Null, Cell::Num),
            Column::Int(v) => v.get(i).map_or(Cell::Null, Cell::Int),
        }
    }
}

/// A text column: an Arrow string-view array as decoded, or text cartsona made.
pub enum Texts<'a> {
    Arrow(&'a Utf8ViewArray),
    Owned(&'a [Option<String>]),
}

impl<'a> Texts<'a> {
    /// Row `i`'s text as stored (untrimmed); `None` for a null.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Texts::Arrow(a) => {
                if a.validity().is_some_and(|v| !v.get_bit(i)) {
                    return None;
                }
                Some(a.value(i))
            }
            Texts::Owned(v) => v[i].as_deref(),
        }
    }
    /// A key of row `i`'s text such that equal keys mean equal texts (not the converse): the
    /// Arrow view (length and bytes when 12 bytes or fewer, else length, prefix, buffer and
    /// offset: a dictionary page's repeated value shares one). Lets a caller skip the work for a
    /// value the row before had. `None` for a null or made text.
    #[inline]
    pub fn key(&self, i: usize) -> Option<u128> {
        match self {
            Texts::Arrow(a) if a.validity().is_none_or(|v| v.get_bit(i)) => {
                Some(a.views()[i].as_u128())
            }
            _ => None,
        }
    }
}

/// A column of fixed-width values and its nulls, as Arrow holds them.
pub struct Values<'a, T> {
    values: &'a [T],
    validity: Option<&'a polars_arrow::bitmap::Bitmap>,
}

impl<'a, T: Copy + polars_arrow::types::NativeType> Values<'a, T> {
    fn of(a: &'a polars_arrow::array::PrimitiveArray<T>) -> Values<'a, T> {
        Values {
            values: a.values().as_slice(),
            validity: a.validity(),
        }
    }
    /// Row `i`'s value; `None` for a null.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        match self.validity {
            Some(v) if !v.get_bit(i) => None,
            _ => Some(self.values[i]),
        }
    }
}

/// Microseconds since the epoch of a Parquet timestamp of `unit`; nanoseconds are truncated
/// towards the past, as the text path parses them.
fn micros(unit: TimeUnit, v: i64) -> i64 {
    match unit {
        TimeUnit::Nanoseconds => v.div_euclid(1000),
        TimeUnit::Microseconds => v,
        TimeUnit::Milliseconds => v.saturating_mul(1000),
    }
}

/// Decodes one column of a slice for what is wanted of it, into one Arrow array. Timestamps are
/// instants whatever their time zone (Parquet stores UTC; a timestamp without a zone is read as
/// UTC); dates are midnight UTC. Integers wanted as text become their decimal text, dictionary
/// (categorical) strings their text.
fn prepare(src: &Source, col: &PlColumn, want: ValueType) -> Result<Prepared> {
    let name = col.name().to_string();
    let fail =
        |e: PolarsError| anyhow::anyhow!("{}: column {name}: cannot read: {e}", src.display());
    let dtype = col.dtype().clone();
    Ok(match (&dtype, want) {
        (DataType::Datetime(unit, _), ValueType::Time) => {
            let ca = col
                .datetime()
                .map_err(fail)?
                .physical()
                .rechunk()
                .into_owned();
            Prepared::Time(match unit {
                TimeUnit::Microseconds => ca,
                _ => ca.apply_values(|v| micros(*unit, v)),
            })
        }
        (DataType::Date, ValueType::Time) => {
            let ca = col.date().map_err(fail)?;
            let days = ca.physical().cast(&DataType::Int64).map_err(fail)?;
            let days = days.i64().map_err(fail)?.rechunk().into_owned();
            Prepared::Time(days.apply_values(|d| d * timefmt::DAY))
        }
        (dt, ValueType::Number) if dt.is_float() || dt.is_integer() || dt.is_decimal() => {
            let c = col.cast(&DataType::Float64).map_err(fail)?;
            Prepared::Num(c.f64().map_err(fail)?.rechunk().into_owned())
        }
        (dt, ValueType::Whole | ValueType::Time) if dt.is_integer() => {
            let c = col.cast(&DataType::Int64).map_err(fail)?;
            Prepared::Int(c.i64().map_err(fail)?.rechunk().into_owned())
        }
        (DataType::String, _) => Prepared::Strings(col.str().map_err(fail)?.rechunk().into_owned()),
        (dt, _) if dt.is_integer() || dt.is_categorical() || dt.is_enum() || dt.is_bool() => {
            let c = col.cast(&DataType::String).map_err(fail)?;
            Prepared::Strings(c.str().map_err(fail)?.rechunk().into_owned())
        }
        _ => Prepared::Owned(column_text(src, col)?),
    })
}

/// A column as text, the way the text path and the other formats write it.
fn column_text(src: &Source, col: &PlColumn) -> Result<Vec<Option<String>>> {
    let name = col.name().to_string();
    let fail =
        |e: PolarsError| anyhow::anyhow!("{}: column {name}: cannot read: {e}", src.display());
    match col.dtype() {
        DataType::Datetime(unit, _) => {
            let ca = col.datetime().map_err(fail)?;
            Ok(ca
                .physical()
                .iter()
                .map(|v| v.map(|v| timefmt::format_timestamp(micros(*unit, v))))
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
        dt if dt.is_float() || dt.is_decimal() => {
            let c = col.cast(&DataType::Float64).map_err(fail)?;
            // Rust's shortest round-trip formatting: NaN and inf stay recognisable as such.
            Ok(c.f64().map_err(fail)?.iter().map(|v| v.map(|f| f.to_string())).collect())
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

/// `path/name` when `path` is a directory, else `path` itself (a file given directly).
pub fn in_dir_or_file(path: &Path, name: &str) -> PathBuf {
    if path.is_dir() {
        path.join(name)
    } else {
        path.to_path_buf()
    }
}

/// Whether `path` is a directory.
pub fn is_dir(path: &Path) -> bool {
    path.is_dir()
}

/// Whether `path` is a file (the stages ask before reading an optional one).
pub fn is_file(path: &Path) -> bool {
    path.is_file()
}

/// A whole Parquet file as a frame (a features table is converted column by column and each
/// freed once taken; the inputs are streamed by [`scan`] instead).
pub fn parquet_frame(src: &Source) -> Result<DataFrame> {
    ParquetReader::new(open(src)?)
        .finish()
        .map_err(|e| anyhow::anyhow!("{}: not a readable Parquet file: {e}", src.display()))
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
                PlColumn::new("note".into(), notes.to_vec()),
                PlColumn::new("id".into(), ids.to_vec()),
                PlColumn::new("at".into(), times.to_vec())
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
                    typed => panic!("a text scan handed {typed:?}"),
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

    /// A column wanted only to be unread (issue 33) is not decoded when stored as strings: the
    /// caller sees it absent; stored as anything else it is read as text, and a column the file
    /// lacks stays absent.
    #[test]
    fn an_unread_column_of_strings_is_not_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut df = DataFrame::new_infer_height(vec![
            PlColumn::new("id".into(), ["a", "b"]),
            PlColumn::new("words".into(), [Some("x"), None]),
            PlColumn::new("n".into(), [7i64, 8]),
        ])
        .unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let src = Source {
            path,
            format: Format::Parquet,
            table: None,
        };
        let wants = [
            ValueType::Text,
            ValueType::Unread,
            ValueType::Unread,
            ValueType::Unread,
        ];
        let mut texts = Vec::new();
        scan_batches(
            &src,
            CsvOptions { delimiter: b',' },
            Some(&wants),
            |header| {
                assert_eq!(header, ["id", "words", "n"]);
                Ok(vec![Some(0), Some(1), Some(2), None])
            },
            |batch| {
                let (columns, _) = batch.columns().expect("a Parquet batch");
                assert!(columns[1].is_none() && columns[3].is_none());
                for c in [columns[0], columns[2]] {
                    let Some(Column::Text(t)) = c else {
                        panic!("a text column")
                    };
                    texts.push(
                        (0..batch.len())
                            .map(|i| t.get(i).unwrap().to_string())
                            .collect::<Vec<_>>(),
                    );
                }
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(texts, [["a", "b"], ["7", "8"]]);
    }
}
