//! Progress on stderr, only when stderr is a terminal and `--quiet` is off, so cron and CI logs
//! stay clean. Stages are shown one after the other: each finished stage stays on screen with its
//! time ("done reading and validating inputs (0.4 s)"), the running one spins below. Timings appear
//! here, and in summary.json only when asked for (`segment --timings`), so runs stay
//! byte-identical by default.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    current: RefCell<Option<(String, Instant)>>,
    quiet: bool,
    /// Finished stages and their wall time, kept when timings were asked for.
    record: Option<RefCell<Vec<StageTime>>>,
}

/// One stage's wall time, for `--timings`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(spinner_style());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            current: RefCell::new(None),
            quiet,
            record: None,
        }
    }

    /// Also keeps each stage's wall time, for [`Progress::timings`].
    pub fn recording(mut self, on: bool) -> Progress {
        self.record = on.then(|| RefCell::new(Vec::new()));
        self
    }

    fn close_current(&self) {
        if let Some((msg, start)) = self.current.borrow_mut().take() {
            let seconds = start.elapsed().as_secs_f64();
            if let Some(bar) = &self.bar {
                bar.println(format!("  done {msg} ({seconds:.1} s)"));
            }
            if let Some(r) = &self.record {
                r.borrow_mut().push(StageTime {
                    stage: msg,
                    seconds,
                });
            }
        }
    }

    /// Announces the stage now running (the previous one is done).
    pub fn stage(&self, message: &str) {
        if self.bar.is_some() || self.record.is_some() {
            self.close_current();
            if let Some(bar) = &self.bar {
                bar.set_style(spinner_style());
                bar.set_length(0);
                bar.set_position(0);
                bar.set_message(message.to_string());
            }
            *self.current.borrow_mut() = Some((message.to_string(), Instant::now()));
        }
    }

    /// Announces a stage that reads `total` bytes: a bar of bytes read of the total, with rate
    /// and time left (issue 19: a 100M-row read spun for two minutes with no sign of how far it
    /// was). [`Progress::advance`] moves it on.
    pub fn stage_bytes(&self, message: &str, total: u64) {
        // The stage may be running already (a preset's exports read first): it goes on.
        let running = self
            .current
            .borrow()
            .as_ref()
            .is_some_and(|(m, _)| m == message);
        if !running {
            self.stage(message);
        }
        if let Some(bar) = self.bar.as_ref().filter(|_| total > 0) {
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ~{eta} left",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_length(total);
            bar.set_position(0);
        }
    }

    /// Moves a [`Progress::stage_bytes`] bar on by `bytes`.
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// The finished stages' wall times when recording (the running stage is closed first).
    pub fn timings(&self) -> Option<Vec<StageTime>> {
        self.record.as_ref()?;
        self.close_current();
        self.record.as_ref().map(|r| r.borrow().clone())
    }

    /// Prints a warning on stderr (unless quiet), without tearing the spinner.
    pub fn warn(&self, message: &str) {
        self.say("warning", message);
    }

    /// Prints `kind: message` on stderr (unless quiet), without tearing the spinner.
    fn say(&self, kind: &str, message: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{kind}: {message}")),
            None => eprintln!("{kind}: {message}"),
        }
    }

    /// Prints a note on stderr (unless quiet): something the user may want to know that is not
    /// wrong (the first run on a shop without enough history for a propensity).
    pub fn note(&self, message: &str) {
        self.say("note", message);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            self.close_current();
            bar.finish_and_clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template")
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Text a command writes to standard output instead of a file (a query with `--emit-sql`).
pub fn to_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the query to standard output: {e}"))
}
