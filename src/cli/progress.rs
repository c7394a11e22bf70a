//! The one place progress bars are made: indicatif on stderr, drawn only when stderr is a
//! terminal. [`bar`] for one task; [`RunBars`] for a training run, an epoch's bar over the whole
//! run's, each with its ETA.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wgvae::train::{EpochReport, Event, TrainObserver};

use crate::cli::interrupt;

fn target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn styled(bar: ProgressBar, template: &str, prefix: &str) -> ProgressBar {
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    bar
}

const TASK: &str = "{prefix:<11} [{bar:30}] {pos}/{len} {msg} ({elapsed}, ETA {eta})";

pub fn bar(len: u64, prefix: &str) -> ProgressBar {
    styled(
        ProgressBar::with_draw_target(Some(len), target()),
        TASK,
        prefix,
    )
}

/// A training run's two lines: the current epoch's steps (with the loss in its message) above
/// the whole run's steps, whose ETA counts every epoch still to come.
pub struct RunBars {
    multi: MultiProgress,
    overall: ProgressBar,
}

impl RunBars {
    /// `steps` in all the epochs this run will train.
    pub fn new(steps: u64) -> RunBars {
        let multi = MultiProgress::with_draw_target(target());
        let overall = multi.add(styled(
            ProgressBar::new(steps),
            "{prefix:<11} [{bar:30}] {pos}/{len} steps ({elapsed}, ETA {eta})",
            "all epochs",
        ));
        RunBars { multi, overall }
    }

    /// The bar of one epoch, drawn above the overall one.
    pub fn epoch(&self, len: u64, prefix: &str) -> ProgressBar {
        self.multi
            .insert_before(&self.overall, styled(ProgressBar::new(len), TASK, prefix))
    }

    /// `n` more steps done in the run.
    pub fn advance(&self, n: u64) {
        self.overall.inc(n);
    }

    /// Runs `f` (which prints) with the bars off the screen.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
    }
}

/// A training run as the command line shows it: [`RunBars`] drawn from the run's events, notes
/// on stderr, each epoch's report handed to `report` (which prints) with the bars off the
/// screen, and a stop asked for by the first SIGINT or SIGTERM (interrupt.rs).
pub struct TrainProgress<F: FnMut(&EpochReport)> {
    bars: Option<RunBars>,
    epoch: Option<ProgressBar>,
    report: F,
}

impl<F: FnMut(&EpochReport)> TrainProgress<F> {
    pub fn new(report: F) -> Self {
        TrainProgress {
            bars: None,
            epoch: None,
            report,
        }
    }

    /// Runs `f` (which prints) with the bars, if any, off the screen.
    fn suspend(&self, f: impl FnOnce()) {
        match &self.bars {
            Some(bars) => bars.suspend(f),
            None => f(),
        }
    }
}

impl<F: FnMut(&EpochReport)> TrainObserver for TrainProgress<F> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            // stderr whatever the format: notes are for the person, not the pipe
            Event::Note(note) => self.suspend(|| eprintln!("note: {note}")),
            Event::Run { steps } => self.bars = Some(RunBars::new(steps)),
            Event::EpochStarted {
                epoch,
                epochs,
                steps,
                first,
            } => {
                if let Some(bars) = &self.bars {
                    let bar = bars.epoch(steps, &format!("epoch {epoch}/{epochs}"));
                    bar.set_position(first);
                    self.epoch = Some(bar);
                }
            }
            Event::Steps { done, advanced } => {
                if let Some(bar) = &self.epoch {
                    bar.set_position(done);
                }
                if let Some(bars) = &self.bars {
                    bars.advance(advanced);
                }
            }
            Event::Loss {
                loss,
                samples_per_sec,
            } => {
                if let Some(bar) = &self.epoch {
                    bar.set_message(format!("loss {loss:.2}, {samples_per_sec:.0} samples/s"));
                }
            }
            Event::EpochTrained => {
                if let Some(bar) = self.epoch.take() {
                    bar.finish_and_clear();
                }
            }
            Event::Epoch(r) => match &self.bars {
                Some(bars) => bars.suspend(|| (self.report)(r)),
                None => (self.report)(r),
            },
            Event::Finished => {
                if let Some(bars) = &self.bars {
                    bars.finish();
                }
            }
        }
    }

    fn stop_requested(&mut self) -> Option<i32> {
        interrupt::requested()
    }
}
