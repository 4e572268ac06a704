//! One way to layer a setting: the flag, else the key of cartsona.toml, else the default. The
//! value keeps where it came from ([`Origin`]), and every check words its message from there, so
//! an error names the flag the user passed or the file and key they wrote, never a flag they did
//! not pass.
//!
//! In: a [`Key`] (the flag and the file's `[section] key`), the flag's value, the file's value,
//! the default. Out: a [`Setting`] (value and origin), and `Result`s whose messages read
//! `ORIGIN VALUE: what to give instead`.

use std::fmt;

use anyhow::{bail, Result};

use super::file::Loaded;
use crate::util::timefmt;

/// Where a setting can be given: its flag and its key in cartsona.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Like `--k-min`.
    pub flag: &'static str,
    /// The table of cartsona.toml, like `segment`.
    pub section: &'static str,
    /// The key in that table, like `k_min`.
    pub key: &'static str,
}

impl Key {
    pub const fn new(flag: &'static str, section: &'static str, key: &'static str) -> Key {
        Key { flag, section, key }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The flag, like `--k-min`.
    Flag(&'static str),
    /// cartsona.toml (its actual path, as given or found) and the key.
    File {
        path: String,
        section: &'static str,
        key: &'static str,
    },
    /// Neither was given: the default, named by its flag.
    Default(&'static str),
    /// A model's recorded setting (`assign` applies the model's windows).
    Model { path: String, key: &'static str },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::File { path, section, key } => write!(f, "{path}: [{section}] {key}"),
            Origin::Default(flag) => write!(f, "the default of {flag}"),
            Origin::Model { path, key } => write!(f, "{path}: {key} in the model"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

impl Loaded {
    /// The flag's value, else the file's, else `None`.
    pub fn layer<T>(&self, key: Key, flag: Option<T>, file: Option<T>) -> Option<Setting<T>> {
        match (flag, file) {
            (Some(value), _) => Some(Setting {
                value,
                origin: Origin::Flag(key.flag),
            }),
            (None, Some(value)) => Some(Setting {
                value,
                origin: Origin::File {
                    path: self.name(),
                    section: key.section,
                    key: key.key,
                },
            }),
            (None, None) => None,
        }
    }

    /// The flag's value, else the file's, else the default.
    pub fn layer_or<T>(
        &self,
        key: Key,
        flag: Option<T>,
        file: Option<T>,
        default: T,
    ) -> Setting<T> {
        self.layer(key, flag, file).unwrap_or(Setting {
            value: default,
            origin: Origin::Default(key.flag),
        })
    }

    /// A duration written as text (flag, else file, else `default` in microseconds), parsed and
    /// checked by [`Setting::duration`].
    pub fn duration_or(
        &self,
        key: Key,
        flag: &Option<String>,
        file: &Option<String>,
        default: i64,
        positive: bool,
    ) -> Result<Setting<i64>> {
        self.layer_or(key, flag.clone(), file.clone(), shown_duration(default))
            .duration(positive)
    }
}

impl<T: fmt::Display> Setting<T> {
    /// The setting when `ok` holds for its value, else the error `ORIGIN VALUE: why`.
    pub fn check(self, ok: impl FnOnce(&T) -> bool, why: impl fmt::Display) -> Result<Setting<T>> {
        if ok(&self.value) {
            Ok(self)
        } else {
            bail!("{} {}: {why}", self.origin, self.value)
        }
    }
}

impl Setting<String> {
    /// A duration (`90m`, `24h`, `7d`, `26w`) in microseconds; `positive`: it must be longer than
    /// zero. Errors: `ORIGIN: the parser's message`, `ORIGIN 'VALUE': must be longer than zero`.
    pub fn duration(self, positive: bool) -> Result<Setting<i64>> {
        let d = timefmt::parse_duration(&self.value)
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.origin))?;
        if positive && d <= 0 {
            bail!("{} '{}': must be longer than zero", self.origin, self.value);
        }
        Ok(Setting {
            value: d,
            origin: self.origin,
        })
    }
}

/// A duration as a person writes it, for shown defaults: whole weeks from two weeks on, whole
/// days from two days on, then hours, minutes, seconds (`24h`, `30d`, `26w`).
pub fn shown_duration(micros: i64) -> String {
    let units = [
        (7 * timefmt::DAY, "w", 2),
        (timefmt::DAY, "d", 2),
        (timefmt::HOUR, "h", 1),
        (timefmt::MINUTE, "m", 1),
        (timefmt::SECOND, "s", 1),
    ];
    for (per, unit, from) in units {
        if micros % per == 0 && micros / per >= from {
            return format!("{}{unit}", micros / per);
        }
    }
    timefmt::format_duration(micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const K: Key = Key::new("--k-min", "segment", "k_min");

    fn loaded(path: Option<&str>) -> Loaded {
        Loaded {
            file: Default::default(),
            base: PathBuf::from("."),
            path: path.map(PathBuf::from),
        }
    }

    #[test]
    fn the_flag_wins_then_the_file_then_the_default() {
        let l = loaded(Some("conf/other.toml"));
        let s = l.layer_or(K, Some(4), Some(5), 3);
        assert_eq!((s.value, s.origin.to_string()), (4, "--k-min".into()));
        let s = l.layer_or(K, None, Some(5), 3);
        assert_eq!(
            (s.value, s.origin.to_string()),
            (5, "conf/other.toml: [segment] k_min".into())
        );
        let s = l.layer_or(K, None, None, 3);
        assert_eq!(
            (s.value, s.origin.to_string()),
            (3, "the default of --k-min".into())
        );
        assert!(l.layer::<usize>(K, None, None).is_none());
    }

    #[test]
    fn a_failed_check_names_the_origin_and_the_value() {
        let l = loaded(None);
        let e = l
            .layer_or(K, None, Some(1), 3)
            .check(|k| *k >= 2, "at least 2");
        assert_eq!(
            e.unwrap_err().to_string(),
            "cartsona.toml: [segment] k_min 1: at least 2"
        );
        let ok = l
            .layer_or(K, Some(3), None, 3)
            .check(|k| *k >= 2, "at least 2");
        assert_eq!(ok.unwrap().value, 3);
    }

    #[test]
    fn durations_parse_and_say_where_they_came_from() {
        let l = loaded(Some("x.toml"));
        let w = Key::new("--window", "outcomes", "window");
        let s = l.layer_or(w, None, Some("7d".to_string()), String::new());
        assert_eq!(s.duration(true).unwrap().value, 7 * timefmt::DAY);
        let e = l.layer_or(w, None, Some("0h".to_string()), String::new());
        assert_eq!(
            e.duration(true).unwrap_err().to_string(),
            "x.toml: [outcomes] window '0h': must be longer than zero"
        );
        let e = l.layer_or(w, Some("soon".to_string()), None, String::new());
        assert!(e
            .duration(true)
            .unwrap_err()
            .to_string()
            .starts_with("--window: "));
    }

    #[test]
    fn shown_durations_read_as_written() {
        let shown: Vec<String> = [
            24 * timefmt::HOUR,
            30 * timefmt::DAY,
            365 * timefmt::DAY,
            7 * timefmt::DAY,
            26 * 7 * timefmt::DAY,
            90 * timefmt::MINUTE,
        ]
        .into_iter()
        .map(shown_duration)
        .collect();
        assert_eq!(shown, ["24h", "30d", "365d", "7d", "26w", "90m"]);
    }
}
