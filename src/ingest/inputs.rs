//! The inputs of a command read and validated together: a preset's exports first (turned into
//! canonical tables, `presets::derive`), then the canonical files and those tables
//! (`load::load`); the preset named on the files it derived, and what its exports
//! cannot tell (unknown features) kept unless a canonical engagement file supplies it. Out: the
//! [`Dataset`] and the [`ValidationReport`] of every file.

use anyhow::Result;

use super::load::{self as loader, ValidationReport};
use super::presets::{self, Preset};
use super::schema::{Dataset, ReadSettings, TableKind};
use crate::io::read::{self, Format, Source};

/// What to read: canonical files by kind, a preset's exports, how to read them.
pub struct Exports<'a> {
    pub files: &'a [(TableKind, Vec<Source>)],
    pub preset: Option<&'a Preset>,
    pub read: &'a ReadSettings,
}

/// Who is told how far reading got: the total bytes (as stored) of the canonical files, then the
/// bytes read batch by batch.
pub struct ReadProgress<'a> {
    pub total: &'a dyn Fn(u64),
    pub advance: &'a dyn Fn(u64),
}

/// Reads and validates `exports`, telling `progress` how far it got when given.
pub fn read(
    exports: Exports,
    progress: Option<ReadProgress>,
) -> Result<(Dataset, ValidationReport)> {
    let settings = exports.read;
    let mut files = exports.files.to_vec();
    let mut preset_reports = Vec::new();
    let mut preset_name = None;
    let mut unknown = Vec::new();
    if let Some(p) = exports.preset {
        let derived = presets::derive(p, settings.bad_rows, settings.csv.delimiter)?;
        preset_reports = derived.reports;
        unknown = derived.unknown;
        preset_name = Some(p.name());
        presets::add_tables(&mut files, p.name(), derived.tables);
    }
    let (mut ds, mut report) = match progress {
        None => loader::load(&files, settings, &|_| {})?,
        Some(p) => {
            (p.total)(read::stored_bytes(files.iter().flat_map(|(_, s)| s)));
            loader::load(&files, settings, p.advance)?
        }
    };
    // A canonical engagement file may supply what the preset's exports cannot.
    if !exports
        .files
        .iter()
        .any(|(k, _)| *k == TableKind::Engagement)
    {
        ds.present.unknown = unknown;
    }
    for f in &mut report.files {
        if f.format == Format::Derived {
            f.preset = preset_name;
        }
    }
    report.files.splice(0..0, preset_reports);
    Ok((ds, report))
}
