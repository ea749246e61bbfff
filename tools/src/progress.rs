//! Progress of a long operation on standard error: a bar with throughput on a terminal, a
//! line every few seconds otherwise, nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a line is printed when standard error is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Reports bytes done out of a known total.
#[derive(Debug)]
pub struct Progress {
    /// The bar, on a terminal.
    bar: Option<ProgressBar>,
    /// What is being done, for the plain lines.
    what: String,
    /// The total.
    total: u64,
    /// When the last plain line was printed (`None` when quiet or on a terminal).
    last_line: Option<Instant>,
    /// Counting records, not bytes.
    records: bool,
    /// The unit of a count with a known total (`None`: bytes).
    unit: Option<&'static str>,
}

impl Progress {
    /// Starts reporting `what` over `total` bytes.
    pub fn bytes(what: &str, total: u64, quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let bar = ProgressBar::new(total);
            let style =
                ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}")
                    .map(|s| s.progress_chars("#>-"))
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what.to_string());
            bar
        });
        let last_line = (!quiet && !tty).then(Instant::now);
        Progress { bar, what: what.to_string(), total, last_line, records: false, unit: None }
    }

    /// Starts reporting `what` over `total` items counted in `unit` (say, "entries").
    pub fn count(what: &str, total: u64, unit: &'static str, quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let bar = ProgressBar::new(total);
            let template = format!("{{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}");
            let style = ProgressStyle::with_template(&template)
                .map(|s| s.progress_chars("#>-"))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what.to_string());
            bar
        });
        let last_line = (!quiet && !tty).then(Instant::now);
        Progress { bar, what: what.to_string(), total, last_line, records: false, unit: Some(unit) }
    }

    /// Starts reporting `what` as a count of records with no known total (an export's
    /// records, read from a compressed stream).
    pub fn records(what: &str, quiet: bool) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {msg} {pos} records, {per_sec}, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(what.to_string());
            bar
        });
        let last_line = (!quiet && !tty).then(Instant::now);
        Progress { bar, what: what.to_string(), total: 0, last_line, records: true, unit: None }
    }

    /// Sets the bytes done.
    pub fn set(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if let Some(last) = self.last_line {
            if last.elapsed() >= LINE_EVERY {
                if self.records {
                    eprintln!("{}: {done} records", self.what);
                } else {
                    let pct = if self.total > 0 { done as f64 * 100.0 / self.total as f64 } else { 100.0 };
                    let unit = self.unit.unwrap_or("bytes");
                    eprintln!("{}: {pct:.1}% ({done} of {} {unit})", self.what, self.total);
                }
                self.last_line = Some(Instant::now());
            }
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
