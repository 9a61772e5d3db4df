//! Progress for long work: an indicatif bar with ETA on a terminal, a log line on stderr every
//! few seconds otherwise (CI logs, pipes), and nothing at all with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often the non-terminal reporter prints a line.
const LOG_INTERVAL: Duration = Duration::from_secs(5);

/// A thread-safe progress reporter for one phase at a time.
pub struct Progress {
    inner: Mutex<Inner>,
    mode: Mode,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bar,
    Log,
    Silent,
}

struct Inner {
    bar: Option<ProgressBar>,
    phase: String,
    total: u64,
    started: Instant,
    last_log: Instant,
}

impl Progress {
    /// A reporter writing to stderr: a bar on a terminal, periodic lines otherwise.
    pub fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Log
        };
        let now = Instant::now();
        Progress {
            inner: Mutex::new(Inner {
                bar: None,
                phase: String::new(),
                total: 0,
                started: now,
                last_log: now,
            }),
            mode,
        }
    }

    /// Start (or switch to) a phase with `total` units of work.
    pub fn phase(&self, name: &str, total: u64, unit: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.phase == name && g.total == total {
            return;
        }
        if let Some(bar) = g.bar.take() {
            bar.finish_and_clear();
        }
        g.phase = name.to_string();
        g.total = total;
        g.started = Instant::now();
        g.last_log = Instant::now();
        match self.mode {
            Mode::Bar => {
                let bar = ProgressBar::new(total);
                let template = format!(
                    "{{msg:>14}} [{{bar:36.cyan/blue}}] {{human_pos}}/{{human_len}} {unit} {{per_sec}} ETA {{eta}}"
                );
                bar.set_style(
                    ProgressStyle::with_template(&template)
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_message(name.to_string());
                g.bar = Some(bar);
            }
            Mode::Log => eprintln!("[kadanoff] {name}: 0/{total} {unit}"),
            Mode::Silent => {}
        }
    }

    /// Report the position within the current phase.
    pub fn set(&self, pos: u64) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = &g.bar {
                    bar.set_position(pos);
                }
            }
            Mode::Log => {
                if g.last_log.elapsed() >= LOG_INTERVAL {
                    let elapsed = g.started.elapsed().as_secs_f64();
                    let eta = if pos > 0 && g.total > pos {
                        format!(", ETA {:.0} s", elapsed * (g.total - pos) as f64 / pos as f64)
                    } else {
                        String::new()
                    };
                    let pct = if g.total > 0 { 100.0 * pos as f64 / g.total as f64 } else { 0.0 };
                    eprintln!("[kadanoff] {}: {pos}/{} ({pct:.0}%{eta})", g.phase, g.total);
                    g.last_log = Instant::now();
                }
            }
            Mode::Silent => {}
        }
    }

    /// Show a short message with the current metrics (bar mode) or log it (log mode).
    pub fn message(&self, msg: &str) {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = &g.bar {
                    bar.println(msg);
                }
            }
            Mode::Log => eprintln!("[kadanoff] {msg}"),
            Mode::Silent => {}
        }
    }

    /// End the current phase.
    pub fn finish(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bar) = g.bar.take() {
            bar.finish_and_clear();
        }
        if self.mode == Mode::Log && !g.phase.is_empty() {
            eprintln!("[kadanoff] {}: done in {:.1} s", g.phase, g.started.elapsed().as_secs_f64());
        }
        g.phase.clear();
    }
}
