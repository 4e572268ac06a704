//! Progress on stderr, only when stderr is a terminal and `--quiet` is off, so cron and CI logs
//! stay clean. Stages are shown one after the other: each finished stage stays on screen with its
//! time ("done reading and validating inputs (0.4 s)"), the running one spins below. Timings appear
//! only here, never in output files, so runs stay byte-identical.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    current: RefCell<Option<(String, Instant)>>,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            current: RefCell::new(None),
            quiet,
        }
    }

    fn close_current(&self) {
        if let (Some(bar), Some((msg, start))) = (&self.bar, self.current.borrow_mut().take()) {
            bar.println(format!(
                "  done {msg} ({:.1} s)",
                start.elapsed().as_secs_f64()
            ));
        }
    }

    /// Announces the stage now running (the previous one is done).
    pub fn stage(&self, message: &str) {
        if let Some(bar) = &self.bar {
            self.close_current();
            bar.set_message(message.to_string());
            *self.current.borrow_mut() = Some((message.to_string(), Instant::now()));
        }
    }

    /// Prints a warning on stderr (unless quiet), without tearing the spinner.
    pub fn warn(&self, message: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            self.close_current();
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
