//! Writing outputs: renderers turn values into bytes elsewhere; this module puts bytes on disk,
//! atomically. Each file is written to a temporary file in the destination directory and renamed
//! into place only when every file of the set was written, so a crash leaves the old files or
//! none, never half a file. Existing files are never replaced without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use polars::prelude::*;

/// Modes asked for when creating outputs; the process umask narrows them, as for any file a
/// program creates (0644 and 0755 under the common umask 022). tempfile's defaults (0600, 0700)
/// would leave a run readable by its owner only (a regression test checks every command).
const FILE_MODE: u32 = 0o666;
const DIR_MODE: u32 = 0o777;

/// A tempfile builder whose file or directory is created with `mode` (narrowed by the umask).
fn builder<'a, 'b>(mode: u32) -> tempfile::Builder<'a, 'b> {
    let mut b = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    b
}

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
    make_parent(path, flag)
}

/// Creates the missing parent directories of an output, like `mkdir -p`.
fn make_parent(path: &Path, flag: &str) -> Result<()> {
    let parent = parent_dir(path);
    if !parent.is_dir() {
        std::fs::create_dir_all(&parent).with_context(|| {
            format!(
                "{flag} {}: cannot create the directory {}",
                path.display(),
                parent.display()
            )
        })?;
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A derived canonical table as CSV.
pub fn table_csv(table: &crate::io::read::Table) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&table.columns)?;
    for row in table.rows() {
        w.write_record(row.iter().map(|c| c.as_bytes()))?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes every `(path, bytes)` to a temporary file beside it, then renames them all into place.
/// One file written atomically at `path`, refused if it exists unless `force` (`--out`).
pub fn text_to(path: &Path, force: bool, bytes: Vec<u8>) -> Result<()> {
    check_writable(path, force, "--out")?;
    write_atomic(&[(path.to_path_buf(), bytes)])
}

pub fn write_atomic(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let dir = parent_dir(path);
        let mut tmp = builder(FILE_MODE)
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

/// A directory of outputs written atomically: everything goes into a temporary directory beside the
/// destination, which replaces the destination only in [`StagedDir::commit`]. A crash before then
/// leaves the previous run (or nothing) in place, never a partial one.
pub struct StagedDir {
    tmp: tempfile::TempDir,
    dest: PathBuf,
}

impl StagedDir {
    /// Checks that `dest` may be written (absent, an empty directory, or `force`) and creates the
    /// temporary directory beside it.
    pub fn new(dest: &Path, force: bool, flag: &str) -> Result<StagedDir> {
        if dest.is_file() {
            bail!("{flag} {}: is a file; name a directory", dest.display());
        }
        if dest.is_dir() && !force {
            let non_empty = std::fs::read_dir(dest)
                .with_context(|| format!("{flag} {}: cannot list the directory", dest.display()))?
                .next()
                .is_some();
            if non_empty {
                bail!(
                    "{flag} {}: already exists and is not empty; pass --force to replace it",
                    dest.display()
                );
            }
        }
        make_parent(dest, flag)?;
        let parent = parent_dir(dest);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "run".into());
        let tmp = builder(DIR_MODE)
            .prefix(&format!(".{name}.partial-"))
            .tempdir_in(&parent)
            .with_context(|| {
                format!(
                    "{flag} {}: cannot create a temporary directory in {}",
                    dest.display(),
                    parent.display()
                )
            })?;
        Ok(StagedDir {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// Where to write the files.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Creates (if needed) and returns a folder inside the staging directory; `""` is the
    /// staging directory itself.
    pub fn subdir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create {name}", self.dest.display()))?;
        Ok(dir)
    }

    /// Writes one file into the staging directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.tmp.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)
            .with_context(|| format!("{}: cannot write {name}", self.dest.display()))
    }

    /// Moves the finished directory into place, replacing what was there.
    pub fn commit(self) -> Result<()> {
        let dest = &self.dest;
        let staged = self.tmp.keep();
        // Make the files durable before they become visible.
        if let Ok(entries) = std::fs::read_dir(&staged) {
            for e in entries.flatten() {
                if let Ok(f) = std::fs::File::open(e.path()) {
                    let _ = f.sync_all();
                }
            }
        }
        let mut old = None;
        if dest.exists() {
            let name = dest
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let aside = tempfile::Builder::new()
                .prefix(&format!(".{name}.old-"))
                .tempdir_in(parent_dir(dest))?
                .keep();
            std::fs::remove_dir(&aside)?;
            std::fs::rename(dest, &aside).with_context(|| {
                format!("{}: cannot move the previous run aside", dest.display())
            })?;
            old = Some(aside);
        }
        if let Err(e) = std::fs::rename(&staged, dest) {
            if let Some(o) = &old {
                let _ = std::fs::rename(o, dest);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e).with_context(|| {
                format!(
                    "{}: cannot move the finished run into place",
                    dest.display()
                )
            });
        }
        if let Some(o) = old {
            let _ = std::fs::remove_dir_all(o);
        }
        Ok(())
    }
}

/// A column type of a streamed table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    Text,
    Time,
    Float,
    Int,
}

/// One value of a streamed row.
#[derive(Debug, Clone)]
pub enum Field<'a> {
    Text(&'a str),
    Time(i64),
    Float(Option<f64>),
    Int(i64),
}

/// Writes a table row by row as CSV, or as Parquet in row groups of bounded size.
pub enum TableSink {
    Csv(Box<csv::Writer<std::io::BufWriter<std::fs::File>>>),
    Parquet(Box<ParquetSink>),
}

pub struct ParquetSink {
    names: Vec<&'static str>,
    kinds: Vec<ColKind>,
    text: Vec<Vec<Option<String>>>,
    nums: Vec<Vec<Option<f64>>>,
    ints: Vec<Vec<i64>>,
    rows: usize,
    writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>>,
    file: Option<std::fs::File>,
}

const ROW_GROUP: usize = 250_000;

impl TableSink {
    pub fn create(
        path: &Path,
        parquet: bool,
        columns: &[(&'static str, ColKind)],
    ) -> Result<TableSink> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        if !parquet {
            let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
            w.write_record(columns.iter().map(|c| c.0))?;
            return Ok(TableSink::Csv(Box::new(w)));
        }
        let n = columns.len();
        Ok(TableSink::Parquet(Box::new(ParquetSink {
            names: columns.iter().map(|c| c.0).collect(),
            kinds: columns.iter().map(|c| c.1).collect(),
            text: vec![Vec::new(); n],
            nums: vec![Vec::new(); n],
            ints: vec![Vec::new(); n],
            rows: 0,
            writer: None,
            file: Some(file),
        })))
    }

    pub fn row(&mut self, fields: &[Field<'_>]) -> Result<()> {
        match self {
            TableSink::Csv(w) => {
                for f in fields {
                    match f {
                        Field::Text(s) => w.write_field(s)?,
                        Field::Time(t) => {
                            w.write_field(crate::util::timefmt::format_timestamp(*t))?
                        }
                        Field::Float(Some(x)) => w.write_field(format!("{x:.2}"))?,
                        Field::Float(None) => w.write_field("")?,
                        Field::Int(i) => w.write_field(i.to_string())?,
                    }
                }
                w.write_record(None::<&[u8]>)?;
                Ok(())
            }
            TableSink::Parquet(p) => {
                for (i, f) in fields.iter().enumerate() {
                    match f {
                        Field::Text(s) => p.text[i].push((!s.is_empty()).then(|| s.to_string())),
                        Field::Time(t) => p.ints[i].push(*t),
                        Field::Float(x) => p.nums[i].push(*x),
                        Field::Int(x) => p.ints[i].push(*x),
                    }
                }
                p.rows += 1;
                if p.rows >= ROW_GROUP {
                    p.flush()?;
                }
                Ok(())
            }
        }
    }

    pub fn finish(self) -> Result<()> {
        match self {
            TableSink::Csv(mut w) => {
                w.flush()?;
                let inner = w
                    .into_inner()
                    .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
                inner
                    .into_inner()
                    .map_err(|e| anyhow::anyhow!("{}", e.error()))?
                    .sync_all()?;
                Ok(())
            }
            TableSink::Parquet(mut p) => {
                if p.rows > 0 || p.writer.is_none() {
                    p.flush()?;
                }
                if let Some(w) = p.writer.take() {
                    w.finish()?;
                }
                Ok(())
            }
        }
    }
}

impl ParquetSink {
    fn flush(&mut self) -> Result<()> {
        let mut cols = Vec::with_capacity(self.names.len());
        for (i, (name, kind)) in self.names.iter().zip(&self.kinds).enumerate() {
            let name: PlSmallStr = (*name).into();
            cols.push(match kind {
                ColKind::Text => Column::new(name, std::mem::take(&mut self.text[i])),
                ColKind::Float => Column::new(name, std::mem::take(&mut self.nums[i])),
                ColKind::Int => Column::new(name, std::mem::take(&mut self.ints[i])),
                ColKind::Time => Column::new(name, std::mem::take(&mut self.ints[i])).cast(
                    &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
                )?,
            });
        }
        self.rows = 0;
        let df = DataFrame::new_infer_height(cols)?;
        if self.writer.is_none() {
            let file = self.file.take().expect("file until the first flush");
            self.writer = Some(ParquetWriter::new(file).batched(df.schema())?);
        }
        self.writer.as_mut().expect("writer").write_batch(&df)?;
        Ok(())
    }
}
